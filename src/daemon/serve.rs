//! The daemon as a process runs it (mini-redis's `server::run(listener, shutdown)`
//! shape): [`serve`] opens what the mail loop needs, starts every task beside it (the
//! control socket, the monitoring endpoint, the systemd watchdog) in one set, runs the
//! mail loop until `shutdown`, and stops every task on the same signal before it
//! returns. The binary keeps only logging, the umask, the runtime and the signals; tests
//! and benches start the daemon in-process the same way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{Counters, Daemon, DaemonError, Lifetime};
use crate::certificate::validate::{AnchorError, TrustAnchors};
use crate::config::Config;
use crate::control::server::{self as control, ControlError};
use crate::metrics::{self, Telemetry};
use crate::reply::{ReplyError, Templates};
use crate::store::{Store, StoreError};

/// How long a store a staff command holds for a moment is waited for.
const STORE_WAIT: Duration = Duration::from_secs(15);
/// How long the tasks beside the mail loop get to leave once it stopped.
const TASKS_LEAVE: Duration = Duration::from_secs(5);

/// How `run` was asked to go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServeOptions {
    /// One pass over the inbox and the outbox, then stop (`run --once`).
    pub once: bool,
    /// A new store on a mailbox that shows earlier runs is wanted (`run --new-store`).
    pub new_store: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Anchors(#[from] AnchorError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Reply(#[from] ReplyError),
    #[error(transparent)]
    Daemon(#[from] DaemonError),
    #[error(transparent)]
    Web(#[from] crate::web::WebError),
    #[error("[metrics] listen = \"{listen}\": cannot listen there (is the port taken?); choose another address: {source}")]
    Metrics {
        listen: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// What the config does that the administrator should change, said at every start.
fn warn_of_config(config: &Config) {
    if config.trust.senders == crate::trust::SenderRule::Off {
        tracing::warn!(
            "[trust] senders = \"off\": no sender is authenticated; anyone can change any case and have replies sent; set authserv_id and senders = \"require\" on a public mailbox"
        );
    }
    for said in &config.renamed {
        tracing::warn!("{}: {said}", config.source.display());
    }
}

/// Runs the daemon until `shutdown` turns true (or after one pass with
/// [`ServeOptions::once`]); returns its counters once every task has stopped.
pub async fn serve(
    config: Config,
    options: ServeOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<Counters, ServeError> {
    warn_of_config(&config);
    let anchors = TrustAnchors::load(&config.anchors)?;
    // Before the store: a daemon already running answers here ("already running").
    let control = control::bind(&config.control)?;
    let store_path = config.store_path.clone();
    let made_here = !store_path.exists();
    let store = open_store(&config).await?;
    let templates = Templates::for_config(&config.reply)?;
    let mut daemon = Daemon::new(config.clone(), store.clone(), anchors)?;
    if options.new_store {
        daemon.allow_new_store();
    }
    let web = match &config.web {
        Some(w) => Some(crate::web::bind(w).await?),
        None => None,
    };
    let metrics = match &config.metrics {
        Some(m) => Some((bind_metrics(m.listen).await?, m.limits)),
        None => None,
    };

    // The tasks beside the mail loop answer staff and monitoring also while it
    // reconnects, until it has stopped.
    let (stop_tasks, tasks_stop) = watch::channel(false);
    let mut tasks = JoinSet::new();
    if let Some((endpoint, limits)) = metrics {
        let sources = metrics::Sources {
            telemetry: daemon.telemetry(),
            store: store.clone(),
            limits,
            promise: config.response_time.clone(),
            procedures: config.procedures.clone(),
            min_free_bytes: config.keeping.min_free_bytes,
        };
        tasks.spawn(endpoint.serve(sources, tasks_stop.clone()));
    }
    if let Some(every) = crate::notify::Notifier::watchdog_interval() {
        let limits = config.health_limits();
        tasks.spawn(watchdog(
            daemon.telemetry(),
            limits,
            every,
            tasks_stop.clone(),
        ));
    }
    let shared = Arc::new(crate::staff::Service {
        store,
        templates,
        poke: daemon.poke_handle(),
        registry_changed: daemon.registry_flag(),
        config,
    });
    if let Some(bound) = web {
        if let Some(console) = crate::web::Console::new(shared.clone(), daemon.telemetry(), &bound)
        {
            tasks.spawn(bound.serve(console, tasks_stop.clone()));
        }
    }
    tasks.spawn(control.serve(shared, tasks_stop));
    let lifetime = if options.once {
        Lifetime::Once
    } else {
        Lifetime::Forever
    };
    let result = daemon.run(lifetime, shutdown).await;
    let _ = stop_tasks.send(true);
    leave(tasks).await;
    wind_up(daemon, result, made_here.then_some(&store_path))
}

/// The store flushed, the counters logged; a run refused on a lost store before
/// anything was handled removes the empty store it made (`made`): `status` would read
/// it as "0 cases" and hide that the real one is missing.
fn wind_up(
    daemon: Daemon,
    result: Result<(), DaemonError>,
    made: Option<&std::path::PathBuf>,
) -> Result<Counters, ServeError> {
    daemon.store().flush()?;
    log_stopped(&daemon.counters);
    let counters = daemon.counters.clone();
    if let (Some(path), Err(DaemonError::StoreLooksNew { .. })) = (made, &result) {
        drop(daemon);
        remove_refused_store(path);
    }
    result?;
    Ok(counters)
}

fn remove_refused_store(path: &std::path::Path) {
    if let Err(e) = std::fs::remove_dir_all(path) {
        tracing::warn!(
            "the empty store this run made at {} is left behind ({e}); delete it before restoring",
            path.display()
        );
    }
}

/// Waits up to [`TASKS_LEAVE`] for the tasks told to stop, then stops the rest.
async fn leave(mut tasks: JoinSet<()>) {
    let all_left = tokio::time::timeout(TASKS_LEAVE, async {
        while tasks.join_next().await.is_some() {}
    });
    if all_left.await.is_err() {
        tracing::warn!(
            "a task beside the mail loop did not stop within {} s; stopping it",
            TASKS_LEAVE.as_secs()
        );
        tasks.abort_all();
    }
}

async fn bind_metrics(listen: std::net::SocketAddr) -> Result<metrics::Endpoint, ServeError> {
    metrics::bind(listen)
        .await
        .map_err(|source| ServeError::Metrics { listen, source })
}

/// The store, waiting up to [`STORE_WAIT`] for a staff command that holds it (only
/// that: a damaged store or a wrong path is said at once).
async fn open_store(config: &Config) -> Result<Store, StoreError> {
    let started = Instant::now();
    loop {
        match Store::open(&config.store_path) {
            Ok(store) => return Ok(store),
            Err(e @ StoreError::Busy { .. }) if started.elapsed() < STORE_WAIT => {
                tracing::debug!("store busy, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

fn log_stopped(c: &Counters) {
    tracing::info!(
        handled = c.handled,
        duplicates = c.duplicates,
        replies_sent = c.replies_sent,
        drafts_saved = c.drafts_saved,
        send_failures = c.send_failures,
        reconnects = c.reconnects,
        "stopped"
    );
}

/// `WATCHDOG=1` every `every` while the mail loop is healthy; while it is not, the
/// reason as `STATUS=` and no ping, so that systemd restarts a stalled daemon. Leaves
/// on `stop`.
async fn watchdog(
    telemetry: Arc<Telemetry>,
    limits: crate::health::Limits,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let notifier = crate::notify::Notifier::from_env();
    let mut unhealthy = false;
    while !*stop.borrow() {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        match crate::health::verdict(telemetry.seen(), limits, now) {
            Ok(()) => {
                notifier.send("WATCHDOG=1");
                if unhealthy {
                    notifier.send("STATUS=healthy");
                    unhealthy = false;
                }
            }
            Err(why) => {
                if !unhealthy {
                    tracing::warn!("unhealthy, the watchdog is no longer told: {why}");
                    unhealthy = true;
                }
                notifier.send(&format!("STATUS={why}"));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}
