//! Replies to applicants: rendered from editable templates (`config/templates/{ro,ru,en}`),
//! built as complete RFC 5322 messages apart from any sending, so the same bytes go to
//! SMTP, to the Sent folder and to Drafts. Every reply is threaded to the applicant's
//! mail, carries the case token, and is marked automatic (RFC 3834) so that no other
//! robot answers it.

use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::analysis::{Analysis, Role};
use crate::case::{Action, Case, Step};
use crate::config::ReplyConfig;
use crate::intake::Language;
use crate::integration::IntegrationData;
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
        include_str!("../../config/templates/ro/reply.txt"),
    ),
    (
        "ru/reply.txt",
        include_str!("../../config/templates/ru/reply.txt"),
    ),
    (
        "en/reply.txt",
        include_str!("../../config/templates/en/reply.txt"),
    ),
];

pub struct Templates {
    env: minijinja::Environment<'static>,
    /// Who signs: `agency` in every template.
    agency: Agency,
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
        }
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
        Ok(Templates {
            env,
            agency: Agency::default(),
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
        let values = minijinja::context! {
            agency => self.agency.view(language),
            ..minijinja::Value::from_serialize(ctx)
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
        for language in [Language::Ro, Language::Ru, Language::En] {
            for kind in crate::decision::Decision::ALL
                .iter()
                .map(|d| d.code())
                .chain(["oversized", STEP_DONE, COMPLETED, REMINDER, UNVERIFIED])
            {
                let mut ctx = ReplyContext::for_case(kind, &case);
                ctx.done_step = Some("contract".into());
                ctx.done_number = 2;
                ctx.problems = vec!["private_key_sent".into(), "expired".into()];
                out.push((language, kind, self.render(language, &ctx)?));
            }
        }
        Ok(out)
    }
}

/// Template `decision` of a notice that staff completed a step.
pub const STEP_DONE: &str = "step_done";
/// Template `decision` of the completion notice.
pub const COMPLETED: &str = "completed";
/// Template `decision` of a reminder of the step waiting on the applicant.
pub const REMINDER: &str = "reminder";
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

/// The short neutral answer to mail whose sender could not be verified: it says how to
/// write again and repeats nothing of the mail.
pub const UNVERIFIED: &str = "unverified";

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

/// What a reply template sees.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyContext {
    /// A decision code, or `oversized`.
    pub decision: String,
    pub problems: Vec<String>,
    /// Services a reused certificate is registered for.
    pub services: Vec<String>,
    pub certificates: Vec<CertificateView>,
    pub numbers: Vec<NumberView>,
    pub token: String,
    pub checklist: Vec<ChecklistItem>,
    pub next_step: Option<String>,
    pub limit_mb: u64,
    /// The step staff just completed (`step_done`), and its number 1–8.
    pub done_step: Option<String>,
    pub done_number: usize,
    /// Step 3 is done: no need to ask for a certificate again.
    pub certificate_done: bool,
    /// Integration data found in the mail, echoed back for confirmation.
    pub integration: Option<IntegrationView>,
    /// What was accepted does not fit the sender's institution: staff check it first
    /// (the reply names no one).
    pub staff_check: bool,
    /// The case has a question open for a person: the reply says one will answer.
    pub question: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct IntegrationView {
    pub system_name: String,
    pub test: String,
    pub production: String,
    pub channels: String,
    /// Certificate serials named per environment, if any.
    pub test_certificates: String,
    pub production_certificates: String,
    /// `system_name`, `test_addresses`, `production_addresses`, `channels`.
    pub missing: Vec<&'static str>,
    pub problems: Vec<IntegrationProblemView>,
    pub complete: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct IntegrationProblemView {
    pub code: &'static str,
    pub value: String,
}

impl IntegrationView {
    pub fn of(d: &IntegrationData) -> IntegrationView {
        let join = |v: &[std::net::IpAddr]| {
            v.iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        IntegrationView {
            system_name: d.system_name.clone().unwrap_or_default(),
            test: join(&d.test_addresses),
            production: join(&d.production_addresses),
            channels: d.channels.join(", "),
            test_certificates: d.test_certificates.join(", "),
            production_certificates: d.production_certificates.join(", "),
            missing: d.missing(),
            problems: d
                .problems
                .iter()
                .map(|p| IntegrationProblemView {
                    code: p.code(),
                    value: p.value(),
                })
                .collect(),
            complete: d.is_complete(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificateView {
    pub subject: String,
    pub serial: String,
    pub sha1: String,
    pub not_after: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NumberView {
    pub as_written: String,
    pub value: String,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistItem {
    pub step: String,
    pub done: bool,
    /// `applicant` or `age`.
    pub waiting_on: &'static str,
}

/// Replies of these decisions ask the applicant for the certificate (or its number):
/// what was sent cannot be used, matched nothing or several, was too large, or there
/// was none.
fn asks_for_certificate(decision: &str) -> bool {
    use crate::decision::Decision;
    [
        Decision::Rejected,
        Decision::SerialNotFound,
        Decision::Ambiguous,
        Decision::NeedCertificate,
    ]
    .iter()
    .any(|d| d.code() == decision)
        || decision == crate::process::OVERSIZED
}

/// Steps AGE performs; the others wait on the applicant.
pub fn waiting_on(step: Step) -> &'static str {
    step.performed_by().code()
}

impl ReplyContext {
    /// The context for an analysed message in its case.
    pub fn for_analysis(a: &Analysis, case: &Case) -> ReplyContext {
        let mut ctx = ReplyContext::for_case(a.decision.code(), case);
        ctx.problems = a.problems.iter().map(|p| p.code().to_string()).collect();
        ctx.certificates = a
            .certificates
            .iter()
            .filter(|c| c.role != Role::Chain)
            .map(|c| CertificateView {
                subject: c.certificate.subject.clone(),
                serial: c.certificate.serial.clone(),
                sha1: c.certificate.sha1.clone(),
                not_after: c.certificate.not_after.date().to_string(),
            })
            .collect();
        ctx.numbers = a
            .numbers
            .iter()
            .filter(|n| !n.refers_to_attached)
            .map(|n| NumberView {
                as_written: n.number.as_written.clone(),
                value: n.value.clone(),
                kind: serde_json::to_value(n.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            })
            .collect();
        // Only for a certificate the sender attached: what a quoted number is registered
        // for is someone else's business until staff have checked it (no oracle).
        let mut services: Vec<String> = a
            .certificates
            .iter()
            .filter_map(|c| c.known.as_ref())
            .flat_map(|k| k.services.iter().cloned())
            .collect();
        services.sort();
        services.dedup();
        ctx.services = services;
        if a.facts.integration.is_present() {
            ctx.integration = Some(IntegrationView::of(&a.facts.integration));
        }
        ctx
    }

    /// Leaves out what the sender wrote (numbers as written, integration data) and what
    /// a certificate of theirs says of itself: a reply to a sender who is not
    /// authenticated may reach someone else, and must not carry a stranger's text.
    pub fn conceal_free_text(&mut self) {
        for n in &mut self.numbers {
            n.as_written = n.value.clone();
        }
        for c in &mut self.certificates {
            c.subject = "—".into();
        }
        self.integration = None;
    }

    /// A context for mail outside any case (no token, no checklist).
    pub fn without_case(decision: &str) -> ReplyContext {
        ReplyContext {
            decision: decision.to_string(),
            problems: Vec::new(),
            services: Vec::new(),
            certificates: Vec::new(),
            numbers: Vec::new(),
            token: String::new(),
            checklist: Vec::new(),
            next_step: None,
            limit_mb: 0,
            done_step: None,
            done_number: 0,
            certificate_done: false,
            integration: None,
            staff_check: false,
            question: false,
        }
    }

    /// The notice of what staff just did: `step_done` with the step, or `completed`
    /// for the final notice (step 8).
    pub fn for_staff_action(action: Action, case: &Case) -> ReplyContext {
        match action {
            Action::TellStepDone(step) => ReplyContext {
                done_step: Some(step.code().to_string()),
                done_number: step.number(),
                ..ReplyContext::for_case(STEP_DONE, case)
            },
            Action::TellCompleted => ReplyContext::for_case(COMPLETED, case),
            Action::TellReminder => ReplyContext::for_case(REMINDER, case),
        }
    }

    /// A context with only the case filled in. One next step: a reply that asks for
    /// the certificate names the certificate as the next step, whatever else is still
    /// open (a reply asking for it and pointing at the form left applicants unsure
    /// which to do).
    pub fn for_case(decision: &str, case: &Case) -> ReplyContext {
        let certificate_done = case.done.contains_key(&Step::Certificate);
        let next_step = if asks_for_certificate(decision) && !certificate_done {
            Some(Step::Certificate.code().to_string())
        } else {
            case.next_step().map(|s| s.code().to_string())
        };
        ReplyContext {
            decision: decision.to_string(),
            problems: Vec::new(),
            services: Vec::new(),
            certificates: Vec::new(),
            numbers: Vec::new(),
            token: case.token.clone(),
            checklist: Step::ALL
                .iter()
                .map(|s| ChecklistItem {
                    step: s.code().to_string(),
                    done: case.done.contains_key(s),
                    waiting_on: waiting_on(*s),
                })
                .collect(),
            next_step,
            limit_mb: 0,
            done_step: None,
            done_number: 0,
            certificate_done,
            integration: None,
            staff_check: false,
            question: case.question.is_some(),
        }
    }
}

mod agency;
mod compose;
mod html;

pub use agency::{Agency, AgencyView};
pub use compose::{compose, one_line, reply_subject, Original, Outgoing, Sender};
pub use html::text_to_html;

#[cfg(test)]
mod tests;
