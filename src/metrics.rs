//! The monitoring endpoint (`[metrics] listen`): `GET /metrics` in the Prometheus
//! (OpenMetrics) text format, `GET /health` (200, or 503 with the reason from
//! [`crate::health::verdict`]). The mail loop updates a [`Telemetry`]; what the store
//! knows (cases by step, replies waiting, its size, the last digest) is read at each
//! scrape. Loopback unless the operator writes another address. Served by the
//! console's HTTP stack (axum over hyper) on a listener of its own, at most 32
//! connections at once, a request head within 5 s and 8 KB.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::case::clock::{Promise, Standing};
use crate::health::{self, Limits, Seen};
use crate::store::Store;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StandingLabel {
    standing: String,
}

impl StandingLabel {
    fn of(standing: Standing) -> StandingLabel {
        StandingLabel {
            standing: standing.code().to_string(),
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CaseLabel {
    service: String,
    step: String,
    waiting_on: String,
}

/// What the mail loop reports as it works; shared with the endpoint.
pub struct Telemetry {
    registry: Registry,
    handled: Family<OutcomeLabel, Counter>,
    pub replies_sent: Counter,
    pub replies_failed: Counter,
    pub reconnects: Counter,
    /// Held mail whose bytes were not kept (ceiling reached, or too large).
    pub held_not_kept: Counter,
    /// Mail found new at the start of the last pass and not handled by its end.
    pub inbox_unhandled: Gauge,
    /// Age in seconds of the oldest of those.
    pub inbox_oldest_seconds: Gauge,
    /// Unix time the `[oauth2]` credential expires; 0 when unknown or none.
    pub credential_expiry: Gauge,
    started: i64,
    /// Unix seconds; 0: none yet.
    imap_ok: AtomicI64,
    smtp_failing_since: AtomicI64,
}

impl Telemetry {
    pub fn new(now: i64) -> Arc<Telemetry> {
        let mut registry = Registry::with_prefix("mnotify_intake");
        let handled = Family::<OutcomeLabel, Counter>::default();
        let (replies_sent, replies_failed, reconnects) =
            (Counter::default(), Counter::default(), Counter::default());
        let (inbox_unhandled, inbox_oldest_seconds) = (Gauge::default(), Gauge::default());
        registry.register(
            "mails_handled",
            "Mails handled since start, by outcome",
            handled.clone(),
        );
        registry.register(
            "replies_sent",
            "Replies accepted by the SMTP server since start",
            replies_sent.clone(),
        );
        registry.register(
            "replies_failed",
            "Replies given up since start (refused, out of attempts, bounced)",
            replies_failed.clone(),
        );
        registry.register(
            "imap_reconnects",
            "Reconnections to the IMAP server since start",
            reconnects.clone(),
        );
        let held_not_kept = Counter::default();
        registry.register(
            "held_not_kept",
            "Held mail whose bytes were not kept since start (the held ceiling reached, or over 5 MB)",
            held_not_kept.clone(),
        );
        registry.register(
            "inbox_unhandled",
            "Mail found new at the start of the last pass and not handled by its end",
            inbox_unhandled.clone(),
        );
        registry.register(
            "inbox_oldest_unhandled_seconds",
            "Age of the oldest unhandled inbox mail",
            inbox_oldest_seconds.clone(),
        );
        let credential_expiry = Gauge::default();
        registry.register(
            "oauth2_credential_expiry_seconds",
            "Unix time the [oauth2] client secret or certificate expires (0: no [oauth2], or a secret whose expiry the config does not give)",
            credential_expiry.clone(),
        );
        Arc::new(Telemetry {
            credential_expiry,
            registry,
            handled,
            replies_sent,
            replies_failed,
            reconnects,
            held_not_kept,
            inbox_unhandled,
            inbox_oldest_seconds,
            started: now,
            imap_ok: AtomicI64::new(0),
            smtp_failing_since: AtomicI64::new(0),
        })
    }

    pub fn handled(&self, outcome: &str) {
        self.handled
            .get_or_create(&OutcomeLabel {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// A successful exchange with the IMAP server.
    pub fn imap_ok(&self, now: i64) {
        self.imap_ok.store(now, Ordering::Relaxed);
    }

    /// A reply went out: SMTP works.
    pub fn smtp_ok(&self) {
        self.smtp_failing_since.store(0, Ordering::Relaxed);
    }

    /// SMTP failed (it is retried later); the first failure since the last success
    /// starts the clock.
    pub fn smtp_failed(&self, now: i64) {
        let _ =
            self.smtp_failing_since
                .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// What the loop last managed, for [`health::verdict`].
    pub fn seen(&self) -> Seen {
        let some = |v: i64| (v != 0).then_some(v);
        Seen {
            started: self.started,
            imap_ok: some(self.imap_ok.load(Ordering::Relaxed)),
            smtp_failing_since: some(self.smtp_failing_since.load(Ordering::Relaxed)),
        }
    }

    /// The exposition: the loop's metrics and what the store knows now.
    pub fn render(
        &self,
        store: &Store,
        limits: Limits,
        (promise, procedures): (&Promise, &crate::procedure::Catalogue),
        now: i64,
    ) -> String {
        let mut live = Registry::with_prefix("mnotify_intake");
        let seen = self.seen();
        live.register(
            "imap_last_ok_age_seconds",
            "Seconds since the last successful IMAP exchange (since start when none)",
            gauge(now - seen.imap_ok.unwrap_or(seen.started)),
        );
        live.register(
            "healthy",
            "1 when /health answers 200",
            gauge(i64::from(health::verdict(seen, limits, now).is_ok())),
        );
        // Read once: every case-based metric comes from the same reading.
        let all = store.cases().unwrap_or_default();
        let (cases, late) = case_families(&all, promise, procedures, now);
        live.register("cases", "Cases by next step and whom they wait on", cases);
        let questions = all
            .iter()
            .filter(|c| c.question.is_some() && c.merged().is_none())
            .count();
        live.register(
            "questions_open",
            "Applicants' questions waiting for a person (cases answered marks one answered)",
            gauge(questions as i64),
        );
        live.register(
            "cases_late",
            "Cases waiting on AGE at risk of its promised response time, or past it",
            late,
        );
        register_store_gauges(&mut live, store);
        let mut out = String::new();
        // Writing to a String does not fail.
        let _ = encode_registry(&mut out, &self.registry);
        let _ = encode_registry(&mut out, &live);
        let _ = encode_eof(&mut out);
        out
    }
}

/// What the store holds: held mail kept, junk left, free disk, replies pending, its
/// size, the last digest. A reading that fails leaves its gauge out.
fn register_store_gauges(live: &mut Registry, store: &Store) {
    if let Ok(kept) = store.held_kept() {
        live.register(
            "held_kept_messages",
            "Held mail kept whole in the store for held accept",
            gauge(kept.messages as i64),
        );
        live.register(
            "held_kept_bytes",
            "Bytes of held mail kept whole in the store",
            gauge(kept.bytes as i64),
        );
    }
    if let Ok(left) = store.junk_left_count(None) {
        live.register(
            "junk_left",
            "Mail in the junk folder looked at and left alone (its sender not authenticated)",
            gauge(left as i64),
        );
    }
    if let Ok(untied) = store.sent_untied() {
        live.register(
            "sent_left_alone",
            "Mail in the Sent folder written from the mailbox that no case was theirs (left alone)",
            gauge(untied.min(i64::MAX as u64) as i64),
        );
    }
    if let Some(free) = crate::store::disk_free(store.path()) {
        live.register(
            "store_disk_free_bytes",
            "Free bytes on the file system of the store",
            gauge(free.min(i64::MAX as u64) as i64),
        );
    }
    if let Ok(pending) = store.pending() {
        let waiting = pending
            .iter()
            .filter(|e| e.state == crate::record::OutboxState::Pending)
            .count();
        live.register(
            "replies_pending",
            "Replies queued and not yet accepted by the SMTP server",
            gauge(waiting as i64),
        );
    }
    if let Ok(bytes) = store.size_on_disk() {
        live.register(
            "store_bytes",
            "Size of the store on disk",
            gauge(bytes as i64),
        );
    }
    if let Ok(Some(at)) = store.last_digest() {
        live.register(
            "digest_last_seconds",
            "Unix time of the last staff digest",
            gauge(at.unix_timestamp()),
        );
    }
}

fn gauge(value: i64) -> Gauge {
    let g: Gauge = Gauge::default();
    g.set(value);
    g
}

/// Cases by next step and party, and those late against `promise`, at `now` (Unix
/// seconds).
fn case_families(
    all: &[crate::case::Case],
    promise: &Promise,
    procedures: &crate::procedure::Catalogue,
    now: i64,
) -> (Family<CaseLabel, Gauge>, Family<StandingLabel, Gauge>) {
    let cases = Family::<CaseLabel, Gauge>::default();
    let late = Family::<StandingLabel, Gauge>::default();
    // Both standings are always exposed, so an alert rule sees a 0 rather than nothing.
    for standing in [Standing::AtRisk, Standing::Overdue] {
        let _ = late.get_or_create(&StandingLabel::of(standing));
    }
    let at =
        time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    for c in all {
        if c.merged().is_some() {
            continue;
        }
        let procedure = procedures.procedure_of(&c.service);
        if let Some(r) = c.response(procedure, promise, at) {
            if r.standing != Standing::OnTime {
                late.get_or_create(&StandingLabel::of(r.standing)).inc();
            }
        }
        let (step, waiting_on) = match c.next_step(procedure) {
            None => ("completed".to_string(), "none".to_string()),
            Some(s) => (
                s.code().to_string(),
                match c.waiting_on(procedure) {
                    Some(crate::case::Party::Age) => "age".into(),
                    _ => "applicant".into(),
                },
            ),
        };
        cases
            .get_or_create(&CaseLabel {
                service: c.service.clone(),
                step,
                waiting_on,
            })
            .inc();
    }
    (cases, late)
}

/// The endpoint, bound before the daemon starts (a taken address is a clear error).
pub struct Endpoint {
    listener: TcpListener,
}

/// Binds `[metrics] listen`.
pub async fn bind(addr: std::net::SocketAddr) -> std::io::Result<Endpoint> {
    if !addr.ip().is_loopback() {
        warn!(%addr, "the metrics endpoint listens beyond loopback ([metrics] listen): restrict it with a firewall");
    }
    let listener = TcpListener::bind(addr).await?;
    info!(addr = %listener.local_addr()?, "metrics and health endpoint listening");
    Ok(Endpoint { listener })
}

/// What the endpoint reads at each request.
#[derive(Clone)]
pub struct Sources {
    pub telemetry: Arc<Telemetry>,
    pub store: Store,
    pub limits: Limits,
    /// `[response_time]`, for the cases at risk and overdue.
    pub promise: Promise,
    /// Each case's steps are its service's.
    pub procedures: crate::procedure::Catalogue,
    /// `[store] min_free_mb`, in bytes: `/health` warns below it.
    pub min_free_bytes: u64,
}

/// Connections answered at once; one past this is closed as soon as it is accepted
/// (a thousand idle connections cannot take the daemon's descriptors or its CPU).
const MAX_CONNECTIONS: usize = 32;
/// A client has this long to send its request head, and the whole exchange twice that.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// Bytes of request head read at most (hyper's smallest buffer); a longer one is
/// refused with 431.
const MAX_HEAD_BYTES: usize = 8192;
/// Pause after a failed accept (out of descriptors), doubling up to a second: an
/// accept retried at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

impl Endpoint {
    /// Answers until `shutdown`, at most [`MAX_CONNECTIONS`] at once.
    pub async fn serve(self, sources: Sources, mut shutdown: watch::Receiver<bool>) {
        let app = routes(sources);
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        let mut backoff = ACCEPT_BACKOFF;
        loop {
            let accepted = tokio::select! {
                _ = shutdown.changed() => return,
                accepted = self.listener.accept() => accepted,
            };
            let stream = match accepted {
                Ok((stream, _)) => {
                    backoff = ACCEPT_BACKOFF;
                    stream
                }
                Err(e) => {
                    warn!(
                        "metrics endpoint: accepting a connection failed ({e}); pausing {} ms",
                        backoff.as_millis()
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                // Over the limit: closed at once, which costs less than holding it
                // and leaves the kernel's backlog free for the next client.
                drop(stream);
                continue;
            };
            let app = app.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(REQUEST_DEADLINE * 2, answer(stream, app)).await;
                drop(slot);
            });
        }
    }
}

/// One connection, served by the console's HTTP stack (axum over hyper's HTTP/1): the
/// request head must come within [`REQUEST_DEADLINE`] and fit in [`MAX_HEAD_BYTES`]
/// (hyper answers 431 past it), one answer, then the connection is closed.
async fn answer(stream: TcpStream, app: axum::Router) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::Service;
    let service = hyper::service::service_fn(move |request| app.clone().call(request));
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(REQUEST_DEADLINE)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// `GET /metrics` and `GET /health`; anything else is 404 (another method, 405).
fn routes(sources: Sources) -> axum::Router {
    use axum::routing::get;
    axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/health", get(health_check))
        .fallback(|| async {
            (
                axum::http::StatusCode::NOT_FOUND,
                "GET /metrics or /health\n",
            )
        })
        .with_state(sources)
}

async fn metrics(
    axum::extract::State(sources): axum::extract::State<Sources>,
) -> impl axum::response::IntoResponse {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let Sources {
        store,
        telemetry,
        limits,
        promise,
        procedures,
        ..
    } = sources;
    // Reading the store is blocking work.
    let body = tokio::task::spawn_blocking(move || {
        telemetry.render(&store, limits, (&promise, &procedures), now)
    })
    .await
    .unwrap_or_default();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
}

async fn health_check(
    axum::extract::State(sources): axum::extract::State<Sources>,
) -> (axum::http::StatusCode, String) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match health::verdict(sources.telemetry.seen(), sources.limits, now) {
        Ok(()) => {
            let free = crate::store::disk_free(sources.store.path());
            match health::disk_warning(free, sources.min_free_bytes) {
                // Still working: a warning, not a restart by the watchdog.
                Some(warning) => (
                    axum::http::StatusCode::OK,
                    format!("ok\nwarning: {warning}\n"),
                ),
                None => (axum::http::StatusCode::OK, "ok\n".to_string()),
            }
        }
        Err(why) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            format!("{why}\n"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_cases_are_counted_by_standing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let now = time::macros::datetime!(2026-11-25 10:00 UTC);
        let complete = |token: &str, days_ago: i64| {
            let at = now - time::Duration::days(days_ago);
            store
                .save_case(&crate::case::for_tests::complete_request(token, at))
                .unwrap();
        };
        complete("OLD111", 20);
        complete("OLD222", 14);
        complete("RSK333", 8);
        complete("NEW444", 1);
        let telemetry = Telemetry::new(now.unix_timestamp());
        let body = telemetry.render(
            &store,
            Limits::for_poll(60),
            (&Promise::default(), crate::procedure::Catalogue::built_in()),
            now.unix_timestamp(),
        );
        assert!(
            body.contains("mnotify_intake_cases_late{standing=\"overdue\"} 2"),
            "{body}"
        );
        assert!(
            body.contains("mnotify_intake_cases_late{standing=\"at_risk\"} 1"),
            "{body}"
        );
        assert!(body.contains("mnotify_intake_questions_open 0"), "{body}");
        assert!(
            body.contains("mnotify_intake_oauth2_credential_expiry_seconds 0"),
            "{body}"
        );
        telemetry.credential_expiry.set(1_814_400_000);
        let body = telemetry.render(
            &store,
            Limits::for_poll(60),
            (&Promise::default(), crate::procedure::Catalogue::built_in()),
            now.unix_timestamp(),
        );
        assert!(
            body.contains("mnotify_intake_oauth2_credential_expiry_seconds 1814400000"),
            "{body}"
        );
        // A question in one of them: it waits on a person, and the metric says so.
        let asked = crate::case::apply(
            crate::procedure::Catalogue::built_in().mnotify(),
            &store.case("NEW444").unwrap().unwrap(),
            crate::case::Event::Asked {
                question: "Când semnăm?",
            },
            now,
        )
        .0;
        store.save_case(&asked).unwrap();
        let body = telemetry.render(
            &store,
            Limits::for_poll(60),
            (&Promise::default(), crate::procedure::Catalogue::built_in()),
            now.unix_timestamp(),
        );
        assert!(body.contains("mnotify_intake_questions_open 1"), "{body}");
    }
}
