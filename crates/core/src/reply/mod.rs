//! Replies to applicants: rendered from editable templates (`config/templates/{ro,ru,en}`),
//! built as complete RFC 5322 messages apart from any sending, so the same bytes go to
//! SMTP, to the Sent folder and to Drafts. Every reply is threaded to the applicant's
//! mail, carries the case token, and is marked automatic (RFC 3834) so that no other
//! robot answers it.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use time::OffsetDateTime;

use crate::analysis::{Analysis, Role};
use crate::case::{Action, Case, Party, Step};
use crate::intake::Language;
use crate::integration::IntegrationData;
use crate::procedure::{Catalogue, Procedure, Texts};
use crate::record::MessageId;

/// What happens to replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReplyMode {
    /// Replies are sent over SMTP.
    #[default]
    Send,
    /// Replies are appended to the Drafts folder for staff to review and send.
    Draft,
    /// No replies; decisions are only recorded.
    Off,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error("reply template {name} is broken: {source}; fix the template file")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("the answers staff reuse, {name}, cannot be read: {reason}; fix the file (each [[answer]] has a title and a text)")]
    Answers { name: String, reason: String },
    #[error("cannot read reply templates in {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Templates built into the binary; a templates directory in the config overrides them.
const EMBEDDED: [(&str, &str); 3] = [
    (
        "ro/reply.txt",
        include_str!("../../../../config/templates/ro/reply.txt"),
    ),
    (
        "ru/reply.txt",
        include_str!("../../../../config/templates/ru/reply.txt"),
    ),
    (
        "en/reply.txt",
        include_str!("../../../../config/templates/en/reply.txt"),
    ),
];

pub struct Templates {
    env: minijinja::Environment<'static>,
    /// Who signs: `agency` in every template.
    agency: Agency,
    /// The answers staff reuse, per language ([`saved::slot`]).
    saved: [Vec<SavedAnswer>; 3],
}

impl Templates {
    pub fn embedded() -> Templates {
        let mut env = minijinja::Environment::new();
        for (name, text) in EMBEDDED {
            // The embedded templates are tested to compile; failing here is a build bug.
            env.add_template(name, text)
                .expect("embedded templates compile");
        }
        Templates {
            env,
            agency: Agency::default(),
            saved: saved::EMBEDDED
                .map(|(name, text)| saved::parse(name, text).expect("built-in answers read")),
        }
    }

    /// The answers staff reuse in `language`.
    pub fn saved_answers(&self, language: Language) -> &[SavedAnswer] {
        &self.saved[saved::slot(language)]
    }

    /// Who signs.
    pub fn agency(&self) -> &Agency {
        &self.agency
    }

    /// The addresses a reply's HTML may make links of: the agency's web address and
    /// every procedure's links ([`text_to_html`]).
    pub fn own_links<'a>(&'a self, procedures: &'a crate::procedure::Catalogue) -> Vec<&'a str> {
        std::iter::once(self.agency.web.as_str())
            .chain(procedures.links())
            .collect()
    }

    /// The same templates, signed by `agency`.
    pub fn signed_by(self, agency: Agency) -> Templates {
        Templates { agency, ..self }
    }

    /// Templates from `dir/{ro,ru,en}/reply.txt`, so staff can edit wording without a
    /// rebuild.
    pub fn from_dir(dir: &Path) -> Result<Templates, ReplyError> {
        let mut env = minijinja::Environment::new();
        for (name, _) in EMBEDDED {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|source| ReplyError::Read {
                path: path.display().to_string(),
                source,
            })?;
            env.add_template_owned(name.to_string(), text)
                .map_err(|source| ReplyError::Template {
                    name: name.to_string(),
                    source,
                })?;
        }
        // The answers staff reuse are optional in the directory: the built-in ones
        // stand in for a language without its file.
        let mut saved: [Vec<SavedAnswer>; 3] = Default::default();
        for (slot, (name, built_in)) in saved::EMBEDDED.iter().enumerate() {
            let path = dir.join(name);
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => built_in.to_string(),
                Err(source) => {
                    return Err(ReplyError::Read {
                        path: path.display().to_string(),
                        source,
                    })
                }
            };
            saved[slot] = saved::parse(&path.display().to_string(), &text)?;
        }
        Ok(Templates {
            env,
            agency: Agency::default(),
            saved,
        })
    }

    /// The templates the config names (`[reply] templates`), or the built-in ones.
    pub fn for_config(reply: &ReplyConfig) -> Result<Templates, ReplyError> {
        let templates = match &reply.templates {
            Some(dir) => Templates::from_dir(dir)?,
            None => Templates::embedded(),
        };
        Ok(templates.signed_by(reply.agency.clone()))
    }

    pub fn render(&self, language: Language, ctx: &ReplyContext) -> Result<String, ReplyError> {
        let name = format!("{}/reply.txt", language.code());
        let template = self
            .env
            .get_template(&name)
            .map_err(|source| ReplyError::Template {
                name: name.clone(),
                source,
            })?;
        let ctx = ctx.with_agency(&self.agency);
        let values = minijinja::context! {
            agency => self.agency.view(language),
            ..minijinja::Value::from_serialize(&ctx)
        };
        let text = template
            .render(values)
            .map_err(|source| ReplyError::Template { name, source })?;
        Ok(tidy(&text))
    }

    /// Renders every kind of reply and notice in every language for a sample case, as
    /// `check` does before staff's edited templates go live.
    pub fn render_all(&self) -> Result<Vec<(Language, &'static str, String)>, ReplyError> {
        let case = Case::open(
            "ABC123".into(),
            "applicant@example.md",
            Language::Ro,
            OffsetDateTime::UNIX_EPOCH,
        );
        let mut out = Vec::new();
        let catalogue = Catalogue::built_in();
        for language in [Language::Ro, Language::Ru, Language::En] {
            for kind in ReplyKind::all() {
                let mut ctx = ReplyContext::for_case(kind, &case, catalogue);
                let contract = Some(StepView::of(catalogue.mnotify(), Step::CONTRACT));
                ctx.done = contract;
                ctx.done_step = Some("contract".into());
                ctx.done_number = 2;
                ctx.problems = vec!["private_key_sent".into(), "expired".into()];
                ctx.received_at = "2026-11-24 14:00".into();
                ctx.reference = "R-ABC123".into();
                out.push((language, kind.code(), self.render(language, &ctx)?));
            }
        }
        Ok(out)
    }
}

/// Whether `id` is a Message-ID we made (`mnotify.…@our domain`).
pub fn is_our_message_id(id: &str, our_domain: &str) -> bool {
    MessageId::parse(id).is_some_and(|id| {
        !our_domain.is_empty()
            && id.bare().to_ascii_lowercase().starts_with("mnotify.")
            && id
                .domain()
                .is_some_and(|d| d.eq_ignore_ascii_case(our_domain))
    })
}

/// At most one blank line in a row, whatever the template's conditionals left, and
/// one final newline: staff edit templates without counting whitespace.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out += line;
        out.push('\n');
    }
    out
}

mod agency;
mod compose;
mod context;
mod html;
mod kind;
mod saved;

pub use agency::{Agency, AgencyView};
pub use compose::{
    compose, compose_in, one_line, reply_subject, CaseTag, Original, Outgoing, Sender, Voice,
};
pub use context::*;
pub use html::text_to_html;
pub use kind::ReplyKind;
pub use saved::SavedAnswer;

/// `[reply]` and `[agency]` of the configuration, as the replies use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyConfig {
    pub mode: ReplyMode,
    pub from_name: String,
    /// The display names of Russian and English replies.
    pub from_name_ru: String,
    pub from_name_en: String,
    pub max_per_recipient_per_day: u32,
    pub max_message_bytes: u64,
    /// Templates directory; `None` uses the built-in ones.
    pub templates: Option<PathBuf>,
    /// `[agency]`: who signs the replies and the digest.
    pub agency: Agency,
}

#[cfg(test)]
mod tests;
