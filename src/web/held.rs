//! Held mail in the console: the list, one mail shown safely (its headers, its text
//! part as plain text and its attachments' names, never its HTML), who looked at it
//! (recorded), and staff's accept or dismiss, each a staff request as in the CLI.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use mail_parser::MimeHeaders;
use minijinja::context;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::auth::{refusal, Signed};
use super::pages::{frame, local, store_failed};
use super::{words, Console};
use crate::staff::{Request, StaffAction, StoreRequest};
use crate::store::Viewing;

/// Text shown of a held mail at most.
const TEXT_SHOWN: usize = 100_000;

#[derive(Serialize)]
struct HeldLine {
    identity: String,
    link: String,
    at: String,
    from: String,
    subject: String,
    why: String,
}

fn link(identity: &str) -> String {
    format!(
        "/held/mail?{}",
        serde_urlencoded::to_string([("id", identity)]).unwrap_or_default()
    )
}

/// `GET /held`.
pub async fn list(State(console): State<Arc<Console>>, signed: Signed) -> Response {
    list_page(&console, &signed, None)
}

fn list_page(console: &Console, signed: &Signed, answer: Option<(bool, String)>) -> Response {
    let t = words::table(console.web.language);
    let held = match console.shared.store.held_records() {
        Ok(h) => h,
        Err(e) => return store_failed(&e),
    };
    let lines: Vec<HeldLine> = held
        .iter()
        .map(|r| HeldLine {
            identity: r.identity.clone(),
            link: link(&r.identity),
            at: local(console, r.at),
            from: r.from.clone().unwrap_or_default(),
            subject: r.subject.clone().unwrap_or_default(),
            why: r.note_in(console.web.language).unwrap_or_default(),
        })
        .collect();
    console.render(
        "held_list.html",
        context! {
            ..frame(console, signed, t["held"]),
            ..context! {
                lines => lines,
                answer => answer.map(|(done, text)| context! { done => done, text => text }),
            }
        },
    )
}

/// A file name with its bidirectional and control characters shown as `[U+202E]`.
fn visible(name: &str) -> String {
    mnotify_core::html::visible(name, false)
}

#[derive(Debug, Deserialize)]
pub struct HeldParams {
    id: String,
}

#[derive(Serialize)]
struct Attachment {
    name: String,
    kind: String,
    bytes: usize,
}

/// `GET /held/mail?id=…`: one held mail, as text; the look is recorded.
pub async fn show(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(params): Query<HeldParams>,
) -> Response {
    let t = words::table(console.web.language);
    let store = &console.shared.store;
    let record = match store.seen_identity(&params.id) {
        Ok(Some(r)) if r.held => r,
        Ok(_) => return refusal(&console, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => return store_failed(&e),
    };
    let now = OffsetDateTime::now_utc();
    if let Err(e) = store.record_held_view(
        &record.identity,
        Viewing {
            by: signed.recorded_as(),
            at: now,
        },
    ) {
        return store_failed(&e);
    }
    let raw = store.held_bytes(&record.identity).ok().flatten();
    let (headers, text, attachments) = raw.as_deref().map(read).unwrap_or_default();
    let notes = store.held_notes(&record.identity).unwrap_or_default();
    let views: Vec<(String, String)> = notes
        .views
        .iter()
        .rev()
        .take(20)
        .map(|v| (local(&console, v.at), v.by.clone()))
        .collect();
    console.render(
        "held_mail.html",
        context! {
            ..frame(&console, &signed, t["held"]),
            ..context! {
                identity => record.identity.clone(),
                at => local(&console, record.at),
                from => record.from.clone().unwrap_or_default(),
                subject => record.subject.clone().unwrap_or_default(),
                why => record.note_in(console.web.language).unwrap_or_default(),
                problems => record.problems.iter().map(|p| p.words(console.web.language).to_string()).collect::<Vec<_>>(),
                kept => raw.is_some(),
                headers => headers,
                text => text,
                attachments => attachments,
                views => views,
                dismissed => notes.dismissed.as_ref().map(|d| format!("{} · {}", local(&console, d.at), d.by)),
            }
        },
    )
}

/// What the console shows of a held mail: some headers as written, the text part,
/// the attachments' names, types and sizes. Never its HTML.
fn read(raw: &[u8]) -> (Vec<(String, String)>, String, Vec<Attachment>) {
    let parsed = mail_parser::MessageParser::default().parse(raw);
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut text = String::new();
    let mut attachments = Vec::new();
    if let Some(m) = &parsed {
        for name in [
            "From",
            "Sender",
            "Reply-To",
            "To",
            "Cc",
            "Date",
            "Subject",
            "Message-ID",
            "Authentication-Results",
        ] {
            for h in m
                .headers()
                .iter()
                .filter(|h| h.name().eq_ignore_ascii_case(name))
            {
                let value = m
                    .raw_message()
                    .get(h.offset_start() as usize..h.offset_end() as usize)
                    .map(|v| String::from_utf8_lossy(v).trim().to_string())
                    .unwrap_or_default();
                headers.push((name.to_string(), value));
            }
        }
        text = m
            .body_text(0)
            .map(|t| t.chars().take(TEXT_SHOWN).collect())
            .unwrap_or_default();
        for a in m.attachments() {
            attachments.push(Attachment {
                name: visible(a.attachment_name().unwrap_or("")),
                kind: a
                    .content_type()
                    .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
                    .unwrap_or_default(),
                bytes: a.contents().len(),
            });
        }
    }
    (headers, text, attachments)
}

#[derive(Debug, Deserialize)]
pub struct DecideForm {
    csrf: Option<String>,
    request: Option<String>,
    id: String,
    decision: String,
}

/// `POST /held/decide`: accept or dismiss one held mail.
pub async fn decide(
    State(console): State<Arc<Console>>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<DecideForm>,
) -> Response {
    if let Some(refused) = signed.refuses_change(&console, &headers, form.csrf.as_deref()) {
        return refused;
    }
    let identity = form.id.clone();
    let action = match form.decision.as_str() {
        "accept" => StoreRequest::AcceptHeld { identity },
        "dismiss" => StoreRequest::DismissHeld { identity },
        _ => return refusal(&console, StatusCode::BAD_REQUEST, "not_found"),
    };
    // Every page's form carries its request id: a change is applied once by it (a
    // form sent twice must not act twice), so one without is refused.
    let Some(id) = form.request.clone().filter(|r| !r.trim().is_empty()) else {
        return refusal(&console, StatusCode::BAD_REQUEST, "no_request");
    };
    let now = OffsetDateTime::now_utc();
    let request = Request {
        id: format!("web-{id}"),
        at: now,
        by: signed.recorded_as(),
        case: String::new(),
        action: StaffAction::Store(action),
    };
    let answer = super::act::apply(&console, &request, now);
    list_page(&console, &signed, Some(answer))
}
