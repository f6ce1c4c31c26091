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

/// The action a form asks for, or what is missing.
fn action_of(console: &Console, service: &str, form: &CaseForm) -> Result<CaseAction, String> {
    let procedure = console.config().procedures.procedure_of(service);
    let step = || {
        let code = text(&form.step).ok_or("choose a step")?;
        procedure
            .step(&code)
            .map(|s| s.code)
            .ok_or_else(|| format!("no step {code} in {}", procedure.tag))
    };
    let note = text(&form.note);
    Ok(match form.kind.as_deref().unwrap_or("") {
        "advance" => CaseAction::Advance {
            step: step()?,
            note,
            force: form.force.is_some(),
        },
        "note" => CaseAction::Note {
            text: note.ok_or("write the note")?,
        },
        "answered" => CaseAction::Answered { note },
        "allow" => CaseAction::Allow {
            member: text(&form.member).ok_or("write the address or domain")?,
        },
        "reopen" => CaseAction::Reopen {
            step: step()?,
            note,
        },
        "merge" => CaseAction::Merge {
            from: text(&form.from)
                .ok_or("write the case to merge")?
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
        other => return Err(format!("unknown action {other:?}")),
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
        Err(why) => return case_page(&console, &signed, &case, Some((false, why)), now),
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
        Err(e) => (None, format!("cannot compose the notice: {e}"), None),
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
                form => context! {
                    request => form.request.clone().unwrap_or_default(),
                    kind => form.kind.clone().unwrap_or_default(),
                    step => form.step.clone().unwrap_or_default(),
                    note => form.note.clone().unwrap_or_default(),
                    text => form.text.clone().unwrap_or_default(),
                    cc => form.cc.clone().unwrap_or_default(),
                    force => form.force.is_some(),
                },
                back => t["back"],
            }
        },
    )
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
        Err(why) => return case_page(&console, &signed, &case, Some((false, why)), now),
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
            (false, format!("the daemon's store failed: {e}"))
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
