//! The console's changes: a case action (previewed first when it sends the applicant
//! a notice), and a registry import (previewed first). Each is a staff request
//! submitted to the staff service ([`crate::staff::Service::submit`]) under the id the
//! page gave its form, so that a form sent twice (a double click, a reload) is applied
//! once.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use minijinja::context;
use serde::Deserialize;
use time::OffsetDateTime;

use super::auth::{refusal, Signed};
use super::pages::{case_page, case_page_drafted, frame, store_failed};
use super::registry::registry_page;
use super::{words, Console};
use crate::staff::{self, Answer, CaseAction, Request, StaffAction, StoreRequest};

#[derive(Debug, Default, Deserialize)]
pub struct CaseForm {
    csrf: Option<String>,
    /// The form's request id (random, made with the page).
    request: Option<String>,
    kind: Option<String>,
    step: Option<String>,
    note: Option<String>,
    force: Option<String>,
    member: Option<String>,
    from: Option<String>,
    system: Option<String>,
    /// A staff answer's text, as written (not trimmed: its lines are the mail's).
    text: Option<String>,
    /// A member's address the answer is copied to (one the case allows).
    cc: Option<String>,
}

fn text(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// What a case form lacks, said in the console's language.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FormFault {
    NoStep,
    NoSuchStep { step: String, service: String },
    NoNote,
    NoMember,
    NoCase,
    Unknown,
}

impl FormFault {
    fn said(&self, language: crate::intake::Language) -> String {
        match self {
            FormFault::NoSuchStep { step, service } => words::say(
                "form_no_such_step",
                language,
                &[("step", step), ("service", service)],
            ),
            other => words::word(
                match other {
                    FormFault::NoStep => "form_choose_step",
                    FormFault::NoNote => "form_write_note",
                    FormFault::NoMember => "form_write_member",
                    FormFault::NoCase => "form_write_case",
                    _ => "form_unknown",
                },
                language,
            )
            .to_string(),
        }
    }
}

/// The action a form asks for, or what is missing.
fn action_of(console: &Console, service: &str, form: &CaseForm) -> Result<CaseAction, FormFault> {
    let procedure = console.config().procedures.procedure_of(service);
    let step = || {
        let code = text(&form.step).ok_or(FormFault::NoStep)?;
        procedure
            .step(&code)
            .map(|s| s.code)
            .ok_or_else(|| FormFault::NoSuchStep {
                step: code.clone(),
                service: procedure.tag.clone(),
            })
    };
    let note = text(&form.note);
    Ok(match form.kind.as_deref().unwrap_or("") {
        "advance" => CaseAction::Advance {
            step: step()?,
            note,
            force: form.force.is_some(),
        },
        "note" => CaseAction::Note {
            text: note.ok_or(FormFault::NoNote)?,
        },
        "answered" => CaseAction::Answered { note },
        "allow" => CaseAction::Allow {
            member: text(&form.member).ok_or(FormFault::NoMember)?,
        },
        "reopen" => CaseAction::Reopen {
            step: step()?,
            note,
        },
        "merge" => CaseAction::Merge {
            from: text(&form.from)
                .ok_or(FormFault::NoCase)?
                .trim_start_matches('#')
                .to_ascii_uppercase(),
            note,
        },
        "split" => CaseAction::Split {
            system: text(&form.system),
            note,
        },
        "reply" => CaseAction::Reply {
            text: form.text.clone().unwrap_or_default().replace("\r\n", "\n"),
            cc: text(&form.cc).into_iter().collect(),
        },
        _ => return Err(FormFault::Unknown),
    })
}

/// `POST /case/{token}/preview`: what advancing would record and the notice the
/// applicant would get; nothing changes.
pub async fn preview(
    State(console): State<Arc<Console>>,
    signed: Signed,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<CaseForm>,
) -> Response {
    if let Some(refused) = signed.refuses_change(&console, &headers, form.csrf.as_deref()) {
        return refused;
    }
    let t = words::table(console.web.language);
    let now = OffsetDateTime::now_utc();
    let case = match console.shared.store.case(&token.to_ascii_uppercase()) {
        Ok(Some(c)) => c,
        Ok(None) => return refusal(&console, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => return store_failed(&e),
    };
    let action = match action_of(&console, &case.service, &form) {
        Ok(a) => a,
        Err(fault) => {
            let why = fault.said(console.web.language);
            return case_page(&console, &signed, &case, Some((false, why)), now);
        }
    };
    let config = console.config();
    let language = console.web.language;
    let shown = staff::preview(
        config,
        &console.shared.templates,
        &case,
        action,
        &signed.recorded_as(),
        language,
        now,
    );
    let (refused, would, notice) = match shown {
        Ok(p) => (p.refused, p.would, p.notice),
        Err(e) => {
            let error = e.to_string();
            let why = words::say("notice_not_composed", language, &[("error", &error)]);
            (None, why, None)
        }
    };
    // An answer that cannot go is said on the case page, its text kept in the box.
    if let (Some(why), Some("reply")) = (&refused, form.kind.as_deref()) {
        let draft = form.text.clone();
        return case_page_drafted(
            &console,
            &signed,
            &case,
            Some((false, why.clone())),
            draft,
            now,
        );
    }
    let notice = notice.map(|n| {
        context! { to => n.to, subject => n.subject, in_reply_to => n.in_reply_to, text => n.text }
    });
    console.render(
        "preview.html",
        context! {
            ..frame(&console, &signed, &format!("#{}", case.token)),
            ..context! {
                token => case.token.clone(),
                refused => refused,
                would => would,
                notice => notice,
                form => form_kept(&form),
                back => t["back"],
            }
        },
    )
}

/// The form as sent, for the preview page to send again on confirm.
fn form_kept(form: &CaseForm) -> minijinja::Value {
    let kept = |v: &Option<String>| v.clone().unwrap_or_default();
    context! {
        request => kept(&form.request),
        kind => kept(&form.kind),
        step => kept(&form.step),
        note => kept(&form.note),
        text => kept(&form.text),
        cc => kept(&form.cc),
        force => form.force.is_some(),
    }
}

/// `POST /case/{token}/act`: the action, applied once by the form's request id.
pub async fn act(
    State(console): State<Arc<Console>>,
    signed: Signed,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<CaseForm>,
) -> Response {
    if let Some(refused) = signed.refuses_change(&console, &headers, form.csrf.as_deref()) {
        return refused;
    }
    let now = OffsetDateTime::now_utc();
    let store = &console.shared.store;
    let token = token.to_ascii_uppercase();
    let case = match store.case(&token) {
        Ok(Some(c)) => c,
        Ok(None) => return refusal(&console, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => return store_failed(&e),
    };
    let action = match action_of(&console, &case.service, &form) {
        Ok(a) => a,
        Err(fault) => {
            let why = fault.said(console.web.language);
            return case_page(&console, &signed, &case, Some((false, why)), now);
        }
    };
    let procedure = console.config().procedures.procedure_of(&case.service);
    let action = staff::forced_note(&case, procedure, action);
    let Some(id) = text(&form.request).filter(|r| r.len() >= 16 && r.len() <= 64) else {
        return case_page(
            &console,
            &signed,
            &case,
            Some((false, "the form has no request id; reload the page".into())),
            now,
        );
    };
    let request = Request {
        id: format!("web-{id}"),
        at: now,
        by: signed.recorded_as(),
        case: case.token.clone(),
        action: StaffAction::Case(action),
    };
    let answer = apply(&console, &request, now);
    let case = store.case(&token).ok().flatten().unwrap_or(case);
    // An answer refused (empty, too long, replies off) stays in its box.
    let draft = match &request.action {
        StaffAction::Case(CaseAction::Reply { text, .. }) if !answer.0 => Some(text.clone()),
        _ => None,
    };
    case_page_drafted(&console, &signed, &case, Some(answer), draft, now)
}

/// Applies a request as the control socket does, and tells the mail loop.
pub(super) fn apply(console: &Console, request: &Request, now: OffsetDateTime) -> (bool, String) {
    match console.shared.submit(request, console.web.language, now) {
        Ok(Answer::Done(done)) => (true, done.into_text()),
        Ok(Answer::Refused(why)) => (false, why),
        Err(e) => {
            tracing::warn!("console: {e}");
            let error = e.to_string();
            (
                false,
                words::say("store_failed", console.web.language, &[("error", &error)]),
            )
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ImportForm {
    csrf: Option<String>,
    request: Option<String>,
    csv: Option<String>,
    confirm: Option<String>,
}

/// `POST /registry/import`: a registry CSV pasted as text; previewed (what it would
/// add and change) until confirmed.
pub async fn import(
    State(console): State<Arc<Console>>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<ImportForm>,
) -> Response {
    if let Some(refused) = signed.refuses_change(&console, &headers, form.csrf.as_deref()) {
        return refused;
    }
    let csv = form.csv.clone().unwrap_or_default();
    import_csv(
        &console,
        &signed,
        csv,
        form.request.as_deref(),
        form.confirm.is_some(),
    )
}

/// `POST /registry/upload`: a registry CSV file chosen in the browser
/// (`multipart/form-data`), previewed like a pasted one; confirming it posts the
/// previewed text to `/registry/import`.
pub async fn upload(
    State(console): State<Arc<Console>>,
    signed: Signed,
    headers: HeaderMap,
    mut form: axum::extract::Multipart,
) -> Response {
    let (mut csrf, mut csv) = (None, None);
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                return axum::response::IntoResponse::into_response((
                    StatusCode::BAD_REQUEST,
                    e.body_text(),
                ))
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                return axum::response::IntoResponse::into_response((
                    StatusCode::BAD_REQUEST,
                    e.body_text(),
                ))
            }
        };
        match name.as_str() {
            "csrf" => csrf = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "file" => csv = Some(bytes),
            _ => {}
        }
    }
    if let Some(refused) = signed.refuses_change(&console, &headers, csrf.as_deref()) {
        return refused;
    }
    let t = words::table(console.web.language);
    let csv = match csv.map(|b| String::from_utf8(b.to_vec())) {
        Some(Ok(text)) => text,
        Some(Err(_)) => {
            let shown = context! { error => t["import_not_utf8"], csv => "" };
            return registry_page(&console, &signed, None, 1, Some(shown));
        }
        None => String::new(),
    };
    import_csv(&console, &signed, csv, None, false)
}

/// A registry CSV previewed, or imported once confirmed.
fn import_csv(
    console: &Console,
    signed: &Signed,
    csv: String,
    request: Option<&str>,
    confirm: bool,
) -> Response {
    let t = words::table(console.web.language);
    let parsed = crate::import::records(
        std::path::Path::new("console.csv"),
        csv.as_bytes(),
        crate::import::Label::default(),
    );
    let records = match parsed {
        Ok(imported) => imported.records,
        Err(e) => {
            let shown = context! { error => e.to_string(), csv => csv };
            return registry_page(console, signed, None, 1, Some(shown));
        }
    };
    let now = OffsetDateTime::now_utc();
    if confirm {
        // The confirming form carries its request id (applied once by it).
        let Some(id) = text(&request.map(str::to_string)) else {
            return super::auth::refusal(console, StatusCode::BAD_REQUEST, "no_request");
        };
        let request = Request {
            id: format!("web-{id}"),
            at: now,
            by: signed.recorded_as(),
            case: String::new(),
            action: StaffAction::Store(StoreRequest::RegistryImport { records }),
        };
        let (done, answer) = apply(console, &request, now);
        let shown = context! { done => done, answer => answer };
        return registry_page(console, signed, None, 1, Some(shown));
    }
    let mut registry = match console.shared.store.load_registry() {
        Ok(r) => r,
        Err(e) => return store_failed(&e),
    };
    let (mut added, mut updated, mut unchanged) = (Vec::new(), Vec::new(), 0usize);
    for record in records {
        let serial = record.serial.clone();
        match registry.merge(record).0 {
            crate::registry::Change::Added => added.push(serial),
            crate::registry::Change::Updated => updated.push(serial),
            crate::registry::Change::Unchanged => unchanged += 1,
        }
    }
    let shown = context! {
        preview => true,
        added => added,
        updated => updated,
        unchanged => unchanged,
        csv => csv,
        words => format!("{} / {} / {}", t["added"], t["changed"], t["unchanged"]),
    };
    registry_page(console, signed, None, 1, Some(shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a form lacks is said in the console's language, never in English on a
    /// Romanian page.
    #[test]
    fn a_form_s_faults_are_said_in_the_console_s_language() {
        use crate::intake::Language;
        assert_eq!(FormFault::NoStep.said(Language::Ro), "Alegeți un pas.");
        let missing = FormFault::NoSuchStep {
            step: "foo".into(),
            service: "MPass".into(),
        };
        assert_eq!(missing.said(Language::Ro), "MPass nu are pasul foo.");
        assert_eq!(missing.said(Language::Ru), "В MPass нет шага foo.");
        for fault in [
            FormFault::NoNote,
            FormFault::NoMember,
            FormFault::NoCase,
            FormFault::Unknown,
        ] {
            let ro = fault.said(Language::Ro);
            assert!(
                !ro.is_empty() && ro != fault.said(Language::En),
                "{fault:?}"
            );
        }
    }
}
