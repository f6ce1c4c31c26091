//! Onboarding procedures as data: one file per platform service (MNotify, MPass, MSign,
//! MLog, MDocs, or one the operator adds), its steps in order, who acts on each, what a
//! mail to the agency's mailbox can complete, the links applicants need and the
//! wording in the three languages. The published procedures are built in
//! (`config/procedures/*.toml`); `[procedures] dir` adds or replaces files, and
//! `[procedures.links.<code>]` overrides links. Pure: reading files is the caller's.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::intake::Language;
use crate::integration::Environment;

pub mod mention;
mod parse;
mod step;

pub use parse::parse;
use parse::{check_catalogue, check_url};
pub use step::{Party, Step};

/// The built-in procedure files, as shipped (and installed as conffiles).
pub const BUILT_IN: [(&str, &str); 5] = [
    (
        "mnotify.toml",
        include_str!("../../../../config/procedures/mnotify.toml"),
    ),
    (
        "mpass.toml",
        include_str!("../../../../config/procedures/mpass.toml"),
    ),
    (
        "msign.toml",
        include_str!("../../../../config/procedures/msign.toml"),
    ),
    (
        "mlog.toml",
        include_str!("../../../../config/procedures/mlog.toml"),
    ),
    (
        "mdocs.toml",
        include_str!("../../../../config/procedures/mdocs.toml"),
    ),
];

/// The service every case opened before services were told apart belongs to.
pub const MNOTIFY: &str = "mnotify";

/// A text in the three languages replies are written in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Texts {
    pub ro: String,
    pub ru: String,
    pub en: String,
}

impl Texts {
    pub fn get(&self, language: Language) -> &str {
        match language {
            Language::Ro => &self.ro,
            Language::Ru => &self.ru,
            Language::En => &self.en,
        }
    }

    fn all(&self) -> [(&'static str, &str); 3] {
        [("ro", &self.ro), ("ru", &self.ru), ("en", &self.en)]
    }
}

/// What part of a step an applicant's mail to the mailbox can bring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailPart {
    /// The system certificate, or the serial of one already registered.
    Certificate,
    /// The integration data the service asks for in a mail.
    IntegrationData,
}

/// One step of a procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedureStep {
    /// Stable name (`cases advance` takes it, cases store it).
    pub code: Step,
    /// The number applicants read (the published procedures' numbering).
    pub number: u32,
    pub party: Party,
    /// Steps that must be done first (the agency configures test access only for a
    /// complete request).
    pub after: Vec<Step>,
    /// What a mail brings to complete it (empty: staff record it).
    pub by_mail: Vec<MailPart>,
    /// The environment the step's certificate is for, when the procedure asks for one
    /// per environment.
    pub environment: Option<Environment>,
    /// The link applicants need for it (a name in [`Procedure::links`]).
    pub link: Option<String>,
    pub text: Texts,
    /// How staff lists name it (the digest, `cases list`).
    pub short: Texts,
    /// How the applicant does it, for a step no link does (who sends the contract,
    /// where the certificate goes).
    pub how: Option<Texts>,
}

/// How mail names a service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    /// Other spellings of the name, matched as whole words in any case.
    #[serde(default)]
    pub names: Vec<String>,
    /// Phrases that mean the service without naming it.
    #[serde(default)]
    pub phrases: Vec<String>,
}

/// One platform service's onboarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure {
    /// `mnotify`, `mpass`, …: lower case, in `inspect --json`'s `services`.
    pub code: String,
    /// How the service is written: in the case token (`[MNotify #…]`) and subjects.
    pub tag: String,
    pub name: Texts,
    pub description: Texts,
    pub reading: Reading,
    /// Links by name (`connection_form`, `integration_form`, `staging`, …).
    pub links: BTreeMap<String, String>,
    pub steps: Vec<ProcedureStep>,
    /// Steps an edit renamed (old code → new) or removed (old code → `None`): cases
    /// that recorded the old code are carried over at start.
    pub renamed: BTreeMap<Step, Option<Step>>,
    /// The file it came from (`built-in mnotify.toml` or a path), for messages.
    pub source: String,
}

impl Procedure {
    pub fn step(&self, code: &str) -> Option<&ProcedureStep> {
        self.steps.iter().find(|s| s.code.code() == code)
    }

    fn of(&self, step: Step) -> Option<&ProcedureStep> {
        self.steps.iter().find(|s| s.code == step)
    }

    /// The steps in order.
    pub fn order(&self) -> impl Iterator<Item = Step> + '_ {
        self.steps.iter().map(|s| s.code)
    }

    /// Who performs `step` (a step the procedure no longer has: the applicant's).
    pub fn party(&self, step: Step) -> Party {
        self.of(step).map_or(Party::Applicant, |s| s.party)
    }

    /// The steps that must be done before `step`.
    pub fn after(&self, step: Step) -> &[Step] {
        self.of(step).map_or(&[], |s| s.after.as_slice())
    }

    /// The number applicants read for `step` (0 for a step the procedure lacks).
    pub fn number(&self, step: Step) -> u32 {
        self.of(step).map_or(0, |s| s.number)
    }

    /// Whether `a` comes before `b` in the procedure.
    pub fn position(&self, step: Step) -> Option<usize> {
        self.steps.iter().position(|s| s.code == step)
    }

    /// `step`'s text in `language`, `{agency}` filled in (its code when the procedure
    /// lacks it: a step stored before an edit).
    pub fn text_of(&self, step: Step, language: Language, agency: &str) -> String {
        self.of(step).map_or_else(
            || step.code().to_string(),
            |s| self.step_text(s, language, agency),
        )
    }

    /// `step`'s short name for staff, `{agency}` filled in.
    pub fn short_of(&self, step: Step, language: Language, agency: &str) -> String {
        self.of(step).map_or_else(
            || step.code().to_string(),
            |s| s.short.get(language).replace("{agency}", agency),
        )
    }

    /// The link applicants need for `step`, if any.
    pub fn link_for(&self, step: Step) -> Option<&str> {
        self.of(step).and_then(|s| self.link_of(s))
    }

    /// The step a mail's integration data completes, if the procedure takes it by mail.
    pub fn integration_step(&self) -> Option<Step> {
        self.steps
            .iter()
            .find(|s| s.by_mail.contains(&MailPart::IntegrationData))
            .map(|s| s.code)
    }

    /// The last step: the notice that the integration is complete (`completed` in
    /// every procedure; checked).
    pub fn completion(&self) -> Step {
        Step::COMPLETED
    }

    /// The step before the completion notice: the activation in production, whose
    /// completion the notice announces.
    pub fn activation(&self) -> Option<Step> {
        let n = self.steps.len();
        (n >= 2).then(|| self.steps[n - 2].code)
    }

    /// The link a step names, resolved.
    pub fn link_of(&self, step: &ProcedureStep) -> Option<&str> {
        step.link
            .as_deref()
            .and_then(|name| self.links.get(name))
            .map(String::as_str)
    }

    /// The steps a mail's certificate completes: the one for `environment` when the
    /// procedure asks per environment, else the only one.
    pub fn certificate_steps(&self) -> impl Iterator<Item = &ProcedureStep> {
        self.steps
            .iter()
            .filter(|s| s.by_mail.contains(&MailPart::Certificate))
    }

    /// Whether the procedure takes a certificate per environment (test, production):
    /// only then is a certificate's environment worth saying, or its absence.
    pub fn environments_apart(&self) -> bool {
        self.certificate_steps().count() > 1
    }

    /// A step's text in `language`, with `{agency}` filled in.
    pub fn step_text(&self, step: &ProcedureStep, language: Language, agency: &str) -> String {
        step.text.get(language).replace("{agency}", agency)
    }
}

/// What to do with a first mail (in no case) that names no service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Unnamed {
    /// One reply asks which service; no case is opened.
    #[default]
    Ask,
    /// Take it as a request for this service.
    Service(String),
}

/// Every service the mailbox serves.
#[derive(Debug, Clone)]
pub struct Catalogue {
    procedures: Vec<Procedure>,
    pub unnamed: Unnamed,
    /// One per procedure, compiled once, when a mail is first read (a command that
    /// loads the config without reading mail does not pay for them).
    matchers: std::sync::OnceLock<Vec<mention::Matcher>>,
}

impl PartialEq for Catalogue {
    fn eq(&self, other: &Catalogue) -> bool {
        self.procedures == other.procedures && self.unnamed == other.unnamed
    }
}

impl Eq for Catalogue {}

/// A procedure file that cannot be used, and what to change.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("procedure {source_name}: {what}")]
pub struct ProcedureError {
    pub source_name: String,
    pub what: String,
}

static BUILT_IN_CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    Catalogue::from_files(
        BUILT_IN
            .iter()
            .map(|(name, text)| (format!("built-in {name}"), text.to_string())),
        &BTreeMap::new(),
        Unnamed::Ask,
    )
    .expect("the built-in procedures are valid (tested)")
});

impl Catalogue {
    /// Every procedure's links: the addresses a reply may make links of.
    pub fn links(&self) -> impl Iterator<Item = &str> {
        self.procedures
            .iter()
            .flat_map(|p| p.links.values().map(String::as_str))
    }

    /// The published procedures, as built in.
    pub fn built_in() -> &'static Catalogue {
        &BUILT_IN_CATALOGUE
    }

    /// The built-in procedures, then each of `files` (`(name, text)`, a file whose code
    /// is already there replaces it), then `links` (service code → link name → URL)
    /// over them; validated.
    pub fn from_files(
        files: impl IntoIterator<Item = (String, String)>,
        links: &BTreeMap<String, BTreeMap<String, String>>,
        unnamed: Unnamed,
    ) -> Result<Catalogue, ProcedureError> {
        let mut procedures: Vec<Procedure> = Vec::new();
        for (source, text) in files {
            let procedure = parse(&source, &text)?;
            match procedures.iter_mut().find(|p| p.code == procedure.code) {
                Some(old) => *old = procedure,
                None => procedures.push(procedure),
            }
        }
        for (code, overrides) in links {
            let Some(p) = procedures.iter_mut().find(|p| &p.code == code) else {
                return Err(ProcedureError {
                    source_name: "[procedures.links]".into(),
                    what: format!(
                        "no service `{code}` (known: {}); remove the table or add its procedure file",
                        codes(&procedures)
                    ),
                });
            };
            for (name, url) in overrides {
                check_url(&p.source, name, url)?;
                p.links.insert(name.clone(), url.clone());
            }
        }
        check_catalogue(&procedures)?;
        if let Unnamed::Service(code) = &unnamed {
            if !procedures.iter().any(|p| &p.code == code) {
                return Err(ProcedureError {
                    source_name: "[procedures] unnamed".into(),
                    what: format!(
                        "no service `{code}` (known: {}); write \"ask\" or one of those",
                        codes(&procedures)
                    ),
                });
            }
        }
        Ok(Catalogue {
            procedures,
            unnamed,
            matchers: std::sync::OnceLock::new(),
        })
    }

    /// The built-in files followed by the operator's.
    pub fn with_operator_files(
        operator: impl IntoIterator<Item = (String, String)>,
        links: &BTreeMap<String, BTreeMap<String, String>>,
        unnamed: Unnamed,
    ) -> Result<Catalogue, ProcedureError> {
        let built_in = BUILT_IN
            .iter()
            .map(|(name, text)| (format!("built-in {name}"), text.to_string()));
        Catalogue::from_files(built_in.chain(operator), links, unnamed)
    }

    pub fn get(&self, code: &str) -> Option<&Procedure> {
        self.procedures.iter().find(|p| p.code == code)
    }

    /// MNotify's procedure (always there: the mailbox began with it).
    pub fn mnotify(&self) -> &Procedure {
        self.get(MNOTIFY)
            .unwrap_or_else(|| &Catalogue::built_in().procedures[0])
    }

    /// The procedure of `service` (a case's), MNotify's for a service no longer
    /// configured (the daemon refuses to start stranding open cases; this is for the
    /// closed ones).
    pub fn procedure_of(&self, service: &str) -> &Procedure {
        self.get(service).unwrap_or_else(|| self.mnotify())
    }

    /// The procedure whose tag is `tag` (as a case token writes it), any case.
    pub fn by_tag(&self, tag: &str) -> Option<&Procedure> {
        self.procedures
            .iter()
            .find(|p| p.tag.eq_ignore_ascii_case(tag))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Procedure> {
        self.procedures.iter()
    }

    fn matchers(&self) -> &[mention::Matcher] {
        self.matchers
            .get_or_init(|| self.procedures.iter().map(mention::Matcher::new).collect())
    }

    /// The service a registry's free-text `service` column means: its code, tag or
    /// another spelling of its name in any case, spacing and hyphens aside ("M-Pass",
    /// "mpass", "MPASS"); `None` for a name no procedure has.
    pub fn service_named(&self, text: &str) -> Option<&Procedure> {
        let bare = |s: &str| -> String {
            s.chars()
                .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
                .flat_map(char::to_lowercase)
                .collect()
        };
        let wanted = bare(text);
        if wanted.is_empty() {
            return None;
        }
        self.procedures.iter().find(|p| {
            bare(&p.code) == wanted
                || bare(&p.tag) == wanted
                || p.reading.names.iter().any(|n| bare(n) == wanted)
        })
    }

    /// The services `text` asks to connect to (see [`mention::services`]).
    pub fn services_in(&self, text: &str) -> Vec<String> {
        mention::services(self, text)
    }

    /// What `text` says of services: asked for, and only mentioned ([`mention::read`]).
    pub fn read_services(&self, text: &str) -> mention::Reading {
        mention::read(self, text)
    }
}

impl Default for Catalogue {
    fn default() -> Catalogue {
        Catalogue::built_in().clone()
    }
}

fn codes(procedures: &[Procedure]) -> String {
    procedures
        .iter()
        .map(|p| p.code.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The built-in procedures, as unit tests elsewhere (and the daemon crate's) use them.
#[cfg(any(test, feature = "testkit"))]
pub mod for_tests {
    use super::{Catalogue, Procedure};

    /// MNotify's built-in procedure.
    pub fn mn() -> &'static Procedure {
        Catalogue::built_in().mnotify()
    }

    /// Every built-in procedure.
    pub fn cat() -> &'static Catalogue {
        Catalogue::built_in()
    }
}

#[cfg(test)]
mod tests;
