//! What a case action would do, read before it is applied: the refusal it would meet,
//! what would be recorded and the notice the applicant would get. One preview for the
//! CLI's `--dry-run` and the console's preview page, so both say the same.

use time::OffsetDateTime;

use super::{forced_note, plan, refusal, CaseAction, Request, StaffError};
use crate::case::{Case, Step};
use crate::config::Config;
use crate::intake::Language;
use crate::reply::Templates;

/// A case action, previewed.
#[derive(Debug, Clone)]
pub struct Preview {
    /// Why it would be refused, in the staff language.
    pub refused: Option<String>,
    /// The request it would be (the forced note added), under `by`.
    pub request: Request,
    /// What would be recorded, in words.
    pub would: String,
    /// The step the applicant would be told comes next (`None`: completed).
    pub next: Option<Step>,
    /// The notice (or the staff answer) as the applicant will receive it.
    pub notice: Option<Notice>,
}

/// A mail to the applicant, as they will receive it.
#[derive(Debug, Clone)]
pub struct Notice {
    pub to: String,
    pub subject: String,
    /// The applicant's mail it answers (their mail program threads it there).
    pub in_reply_to: Option<String>,
    pub text: String,
}

/// Previews `action` on `case` by `by`, in `language`; nothing is changed.
pub fn preview(
    config: &Config,
    templates: &Templates,
    case: &Case,
    action: CaseAction,
    by: &str,
    language: Language,
    now: OffsetDateTime,
) -> Result<Preview, StaffError> {
    let procedure = config.procedures.procedure_of(&case.service);
    let refused = refusal(case, procedure, &action, language);
    let action = forced_note(case, procedure, action);
    let request = Request::new(&case.token, by, action.clone().into(), now)?;
    let settings = config.plan_settings(templates);
    let planned = plan(case, &request, &action, &settings, now)?;
    let notice = planned.outbox.as_ref().map(|entry| {
        let parsed = mail_parser::MessageParser::default().parse(&entry.raw);
        let header =
            |f: fn(&mail_parser::Message<'_>) -> Option<String>| parsed.as_ref().and_then(f);
        Notice {
            to: entry.to.clone(),
            subject: header(|m| m.subject().map(str::to_string)).unwrap_or_default(),
            in_reply_to: header(|m| m.in_reply_to().as_text().map(|t| format!("<{t}>"))),
            text: header(|m| m.body_text(0).map(|t| t.into_owned())).unwrap_or_default(),
        }
    });
    Ok(Preview {
        refused,
        would: request
            .action
            .said(procedure, language, &templates.agency().short_name),
        next: planned.case.next_step_told(procedure),
        notice,
        request,
    })
}
