//! The console's read pages: the queue, a case, a certificate's file, the registry and
//! the daemon's health. Each reads the store as it is at the request.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{context, Value};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::auth::{refusal, Role, Signed};
use super::{words, Console};
use crate::case::{Case, Party, Step};
use crate::procedure::Procedure;
use crate::queue::{self, Query as QueueQuery};

/// What every page's frame needs.
pub fn frame(console: &Console, signed: &Signed, title: &str) -> Value {
    let t = words::table(console.web.language);
    context! {
        t => t,
        lang => console.web.language.code(),
        title => title,
        who => signed.session.name.clone(),
        role => t[signed.role().code()],
        may_act => signed.role() == Role::Staff,
        csrf => signed.session.csrf.clone(),
        request => form_request_id(&signed.session.csrf),
    }
}

/// A fresh id for the change a page's forms may send (the staff service applies a
/// request id once): unique, not secret, so it never fails for want of randomness.
fn form_request_id(csrf: &str) -> String {
    use sha2::Digest;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let digest = sha2::Sha256::digest(format!("{csrf}/{now}/{n}/{}", std::process::id()));
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A moment in the calendar's time zone, to the minute.
pub fn local(console: &Console, t: OffsetDateTime) -> String {
    console
        .config()
        .response_time
        .calendar
        .local(t, "%Y-%m-%d %H:%M")
}

fn step_label(console: &Console, p: &Procedure, step: Step) -> String {
    let agency = &console.config().reply.agency.short_name;
    format!(
        "{}. {}",
        p.number(step),
        p.short_of(step, console.web.language, agency)
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct QueueParams {
    service: Option<String>,
    step: Option<String>,
    institution: Option<String>,
    q: Option<String>,
    page: Option<usize>,
}

pub(super) fn given(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

#[derive(Serialize)]
struct QueueLine {
    token: String,
    service: String,
    applicant: String,
    waiting: &'static str,
    waiting_code: &'static str,
    on_agency: bool,
    decision: Option<&'static str>,
    next_told: String,
    clock: String,
    updated: String,
}

/// One line of the queue, in words.
fn queue_line(console: &Console, l: &queue::Line<'_>) -> QueueLine {
    let language = console.web.language;
    let t = words::table(language);
    QueueLine {
        token: l.case.token.clone(),
        service: l.procedure.tag.clone(),
        applicant: l.case.applicant.clone(),
        waiting: l.waiting.words(language),
        waiting_code: l.waiting.code(),
        on_agency: l.waiting.on_agency(),
        decision: l.case.decision_words(language),
        next_told: match (l.case.merged(), l.next_told) {
            (Some(into), _) => format!("{} #{into}", t["merged_into"]),
            (None, Some(step)) => step_label(console, l.procedure, step),
            (None, None) => t["completed"].to_string(),
        },
        clock: l.response.as_ref().map_or_else(String::new, |r| {
            if r.left < 0.0 {
                format!("{} {:.1} {}", t["overdue_by"], -r.left, t["working_days"])
            } else {
                format!("{:.1} {}", r.left, t["days_left"])
            }
        }),
        updated: local(console, l.case.updated_at),
    }
}

/// The queue's page as HTML, without the HTTP around it (the bench calls it).
pub fn queue_page(
    console: &Console,
    signed: &Signed,
    cases: &[Case],
    params: QueueParams,
    now: OffsetDateTime,
) -> Response {
    let config = console.config();
    let language = console.web.language;
    let t = words::table(language);
    let query = QueueQuery {
        service: given(params.service),
        step: given(params.step),
        institution: given(params.institution),
        search: given(params.q),
        page: params.page.unwrap_or(1),
    };
    let page = queue::queue(
        cases,
        &config.procedures,
        &config.response_time,
        &query,
        now,
    );
    let lines: Vec<QueueLine> = page.lines.iter().map(|l| queue_line(console, l)).collect();
    let services: Vec<(String, String)> = config
        .procedures
        .iter()
        .map(|p| (p.code.clone(), p.tag.clone()))
        .collect();
    let link = |n: usize| {
        serde_urlencoded::to_string([
            ("service", query.service.as_deref().unwrap_or("")),
            ("step", query.step.as_deref().unwrap_or("")),
            ("institution", query.institution.as_deref().unwrap_or("")),
            ("q", query.search.as_deref().unwrap_or("")),
            ("page", &n.to_string()),
        ])
        .map(|q| format!("/?{q}"))
        .unwrap_or_default()
    };
    let failed = failed_replies(console);
    console.render(
        "queue.html",
        context! {
            ..frame(console, signed, t["queue"]),
            ..context! {
                lines => lines,
                matched => page.matched,
                on_agency => page.on_agency,
                page => page.page,
                pages => page.pages,
                previous => (page.page > 1).then(|| link(page.page - 1)),
                next => (page.page < page.pages).then(|| link(page.page + 1)),
                services => services,
                service => query.service.clone().unwrap_or_default(),
                step => query.step.clone().unwrap_or_default(),
                institution => query.institution.clone().unwrap_or_default(),
                q => query.search.clone().unwrap_or_default(),
                failed_replies => failed,
                // Held mail is found by reading every mail's record: once, here.
                held_count => console.shared.store.held_records().map(|h| h.len()).unwrap_or(0),
            }
        },
    )
}

/// Replies that failed for good.
fn failed_replies(console: &Console) -> usize {
    console
        .shared
        .store
        .outbox()
        .map(|o| {
            o.iter()
                .filter(|e| e.state == crate::record::OutboxState::Failed)
                .count()
        })
        .unwrap_or(0)
}

/// `GET /`: the queue.
pub async fn queue(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(params): Query<QueueParams>,
) -> Response {
    let cases = match console.shared.store.cases_now() {
        Ok(c) => c,
        Err(e) => return store_failed(&e),
    };
    queue_page(&console, &signed, &cases, params, OffsetDateTime::now_utc())
}

pub fn store_failed(e: &dyn std::fmt::Display) -> Response {
    tracing::warn!("console: the store failed: {e}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "the store could not be read; the daemon's log says why",
    )
        .into_response()
}

/// A request that could not be made (the system's random source failed): said in
/// the log and to the browser, nothing changed.
pub fn failed(e: &dyn std::fmt::Display) -> Response {
    tracing::warn!("console: {e}");
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
}

#[derive(Serialize)]
struct StepLine {
    label: String,
    code: &'static str,
    done: bool,
    at: String,
    by: String,
    evidence: String,
    party: &'static str,
}

#[derive(Serialize)]
struct CertificateLine {
    n: usize,
    serial: String,
    sha1: String,
    environment: String,
    subject: String,
    not_after: String,
    registry: Vec<String>,
    downloadable: bool,
}

/// The certificates a case's mail brought (with their files), by serial.
fn accepted_of(console: &Console, case: &Case) -> Vec<crate::record::AcceptedCertificate> {
    let store = &console.shared.store;
    let mut out: Vec<crate::record::AcceptedCertificate> = Vec::new();
    for id in &case.message_ids {
        if let Ok(Some(record)) = store.seen_identity(id) {
            for a in record.accepted {
                if !out
                    .iter()
                    .any(|o| o.serial == a.serial && o.issuer == a.issuer)
                {
                    out.push(a);
                }
            }
        }
    }
    out
}

/// A case's steps in its procedure's order: done (when, by whom, on what) or not.
fn step_lines(console: &Console, p: &Procedure, case: &Case) -> Vec<StepLine> {
    let t = words::table(console.web.language);
    p.order()
        .map(|step| {
            let done = case.done.get(&step);
            StepLine {
                label: step_label(console, p, step),
                code: step.code(),
                done: done.is_some(),
                at: done.map(|d| local(console, d.at)).unwrap_or_default(),
                by: done
                    .map(|d| d.by_said(console.web.language).to_string())
                    .unwrap_or_default(),
                evidence: done
                    .map(|d| d.evidence_said(console.web.language))
                    .unwrap_or_default(),
                party: match case.step_party(p, step) {
                    Party::Age => t["party_age"],
                    Party::Applicant => t["party_applicant"],
                },
            }
        })
        .collect()
}

/// A case's certificates, with what the files and the registry say of them.
fn certificate_lines(console: &Console, case: &Case) -> Vec<CertificateLine> {
    let t = words::table(console.web.language);
    let accepted = accepted_of(console, case);
    let registry = console.shared.store.load_registry().ok();
    let unsaid = match console.config().procedures.procedure_of(&case.service) {
        p if p.environments_apart() => t["not_said"],
        _ => "",
    };
    case.certificates
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let file = accepted.iter().find(|a| a.serial == c.serial);
            CertificateLine {
                n,
                serial: c.serial.clone(),
                sha1: c.sha1.clone().unwrap_or_default(),
                environment: c.environment.map_or(unsaid, |e| e.code()).to_string(),
                subject: file.and_then(|f| f.subject.clone()).unwrap_or_default(),
                not_after: file
                    .and_then(|f| f.not_after)
                    .map(|d| local(console, d))
                    .unwrap_or_default(),
                registry: registry
                    .as_ref()
                    .map(|r| {
                        r.by_serial(&c.serial)
                            .iter()
                            .map(|k| {
                                format!(
                                    "{} · {} · {}",
                                    k.services.iter().cloned().collect::<Vec<_>>().join(", "),
                                    k.institution.as_deref().unwrap_or("-"),
                                    k.status.code()
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                downloadable: file.is_some_and(|f| f.der.is_some()),
            }
        })
        .collect()
}

/// The case page as HTML, with `answer` (what an action just did) on top.
pub fn case_page(
    console: &Console,
    signed: &Signed,
    case: &Case,
    answer: Option<(bool, String)>,
    now: OffsetDateTime,
) -> Response {
    case_page_drafted(console, signed, case, answer, None, now)
}

/// The case page with the answer form holding `draft` (a saved answer chosen, or an
/// answer that was refused: nothing staff wrote is lost).
pub fn case_page_drafted(
    console: &Console,
    signed: &Signed,
    case: &Case,
    answer: Option<(bool, String)>,
    draft: Option<String>,
    now: OffsetDateTime,
) -> Response {
    let config = console.config();
    let language = console.web.language;
    let t = words::table(language);
    let p = config.procedures.procedure_of(&case.service);
    let steps = step_lines(console, p, case);
    let certificates = certificate_lines(console, case);
    let timeline: Vec<(String, String)> = case
        .timeline_said(console.web.language)
        .into_iter()
        .rev()
        .map(|e| (local(console, e.at), e.line()))
        .collect();
    let response = case.response(p, &config.response_time, now).map(|r| {
        format!(
            "{} · {:.1} / {} {} · {}",
            r.owed.code(),
            r.used,
            config.response_time.working_days,
            t["working_days"],
            local(console, r.due)
        )
    });
    let line = queue::place(case, p, &config.response_time, now);
    let steps_open: Vec<(&str, String)> = p
        .order()
        .filter(|s| !case.done.contains_key(s))
        .map(|s| (s.code(), step_label(console, p, s)))
        .collect();
    let steps_done: Vec<(&str, String)> = p
        .order()
        .filter(|s| case.done.contains_key(s))
        .map(|s| (s.code(), step_label(console, p, s)))
        .collect();
    console.render(
        "case.html",
        context! {
            ..frame(console, signed, &format!("#{}", case.token)),
            ..context! {
                case => context! {
                    token => case.token.clone(),
                    service => p.tag.clone(),
                    applicant => case.applicant.clone(),
                    owner => case.owner(),
                    language => case.language.code(),
                    system => case.system().map(str::to_string),
                    opened => local(console, case.opened_at),
                    updated => local(console, case.updated_at),
                    decision => case.decision_words(language),
                    next_told => line.next_told.map_or(t["completed"].to_string(), |s| step_label(console, p, s)),
                    waiting => line.waiting.words(language),
                    on_agency => line.waiting.on_agency(),
                    merged_into => case.merged().map(str::to_string),
                    question => case.question.as_ref().map(|q| q.text.clone()),
                    certificate_check => case.certificate_check.as_ref().map(|q| q.said(console.web.language)),
                    unreachable => case.unreachable,
                    members => case.members.clone(),
                    response => response,
                },
                steps => steps,
                certificates => certificates,
                timeline => timeline,
                steps_open => steps_open,
                steps_done => steps_done,
                answer => answer.map(|(done, text)| context! { done => done, text => text }),
                letters => super::conversation::letter_lines(console, case),
                saved => super::conversation::saved_titles(console, case),
                member_addresses => case.members.iter().filter(|m| m.contains('@')).cloned().collect::<Vec<_>>(),
                draft => draft,
            }
        },
    )
}

/// What `GET /case/{token}` may ask: a saved answer to start the answer from.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CaseQuery {
    /// A number; anything else starts from an empty box.
    answer: Option<String>,
}

/// `GET /case/{token}`.
pub async fn case(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Path(token): Path<String>,
    Query(query): Query<CaseQuery>,
) -> Response {
    let token = token.trim_start_matches('#').to_ascii_uppercase();
    match console.shared.store.case(&token) {
        Ok(Some(case)) => {
            let draft = query
                .answer
                .and_then(|n| n.parse().ok())
                .and_then(|n| super::conversation::saved_text(&console, &case, n));
            case_page_drafted(
                &console,
                &signed,
                &case,
                None,
                draft,
                OffsetDateTime::now_utc(),
            )
        }
        Ok(None) => refusal(&console, StatusCode::NOT_FOUND, "not_found"),
        Err(e) => store_failed(&e),
    }
}

/// `GET /case/{token}/certificate/{n}`: the certificate file as the applicant sent it,
/// always as a download.
pub async fn certificate(
    State(console): State<Arc<Console>>,
    _signed: Signed,
    Path((token, n)): Path<(String, usize)>,
) -> Response {
    let Ok(Some(case)) = console.shared.store.case(&token.to_ascii_uppercase()) else {
        return refusal(&console, StatusCode::NOT_FOUND, "not_found");
    };
    let Some(cert) = case.certificates.get(n) else {
        return refusal(&console, StatusCode::NOT_FOUND, "not_found");
    };
    let der = accepted_of(&console, &case)
        .into_iter()
        .find(|a| a.serial == cert.serial)
        .and_then(|a| a.der);
    let Some(der) = der else {
        return refusal(&console, StatusCode::NOT_FOUND, "not_found");
    };
    let name: String = format!("{}-{}.cer", case.token, cert.serial)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/pkix-cert".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        der,
    )
        .into_response()
}

/// `GET /daemon`: the health verdict, the last exchanges, the outbox, the digest now.
pub async fn daemon(State(console): State<Arc<Console>>, signed: Signed) -> Response {
    let t = words::table(console.web.language);
    let now = OffsetDateTime::now_utc();
    let seen = console.telemetry.seen();
    let verdict =
        crate::health::verdict(seen, console.config().health_limits(), now.unix_timestamp());
    let at = |secs: Option<i64>| {
        secs.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .map_or(t["never"].to_string(), |d| local(&console, d))
    };
    let store = &console.shared.store;
    let outbox = store.outbox().unwrap_or_default();
    use crate::record::OutboxState;
    let count = |state: OutboxState| outbox.iter().filter(|e| e.state == state).count();
    let digest_request = crate::staff::Request::new(
        "",
        &signed.recorded_as(),
        crate::staff::StaffAction::Store(crate::staff::StoreRequest::Digest {
            send: false,
            html: false,
        }),
        now,
    );
    let language = console.config().staff_language;
    let digest = match digest_request
        .map_err(crate::staff::StaffError::from)
        .and_then(|request| console.shared.submit(&request, language, now))
    {
        Ok(crate::staff::Answer::Done(done)) => done.into_text(),
        Ok(crate::staff::Answer::Refused(why)) => why,
        Err(e) => e.to_string(),
    };
    console.render(
        "daemon.html",
        context! {
            ..frame(&console, &signed, t["daemon"]),
            ..context! {
                healthy => verdict.is_ok(),
                why => verdict.err().map(|e| words::unhealthy(e, console.web.language)),
                last_imap => at(seen.imap_ok),
                smtp_failing => seen.smtp_failing_since.map(|s| at(Some(s))),
                pending => count(OutboxState::Pending),
                failed => count(OutboxState::Failed),
                held => store.held_records().map(|h| h.len()).unwrap_or(0),
                sessions => store.session_count(),
                digest => digest,
            }
        },
    )
}
