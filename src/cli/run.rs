//! `mnotify-intake run`: the daemon with what surrounds it in the process: the store
//! opened (waiting for a staff command that holds it), the control socket, the
//! monitoring endpoint, the systemd watchdog and the signals that stop it.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use mnotify_intake::certificate::validate::TrustAnchors;
use mnotify_intake::config::Config;
use mnotify_intake::daemon::{Daemon, Lifetime};
use mnotify_intake::store::Store;
use time::OffsetDateTime;

pub fn run_daemon(config: Config, once: bool, new_store: bool) -> Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(crate::cli::log_filter())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if config.trust.senders == mnotify_intake::trust::SenderRule::Off {
        tracing::warn!(
            "[trust] senders = \"off\": no sender is authenticated; anyone can change any case and have replies sent; set authserv_id and senders = \"require\" on a public mailbox"
        );
    }
    // Everything the daemon writes (store, control socket) is its own: the store
    // holds applicants' addresses and integration data.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let anchors = TrustAnchors::load(&config.anchors)?;
    // Before the store: a daemon already running answers here ("already running").
    let control = mnotify_intake::control::server::bind(&config.control)?;
    let store = open_store(&config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async move {
        // Inside the runtime: the SMTP connection pool starts a task of its own.
        let shared = mnotify_intake::control::server::Shared {
            store: store.clone(),
            templates: mnotify_intake::reply::Templates::for_config(&config.reply)?,
            config: config.clone(),
            poke: Default::default(),
            registry_changed: Default::default(),
        };
        let metrics_config = config.metrics.clone();
        let (limits, promise) = (config.health_limits(), config.response_time.clone());
        let min_free_bytes = config.keeping.min_free_bytes;
        let procedures = config.procedures.clone();
        let mut daemon = Daemon::new(config, store.clone(), anchors)?;
        if new_store {
            daemon.allow_new_store();
        }
        let metrics = match &metrics_config {
            Some(m) => Some((bind_metrics(m).await?, m.limits)),
            None => None,
        };
        let shared = mnotify_intake::control::server::Shared {
            poke: daemon.poke_handle(),
            registry_changed: daemon.registry_flag(),
            ..shared
        };
        let (tx, rx) = tokio::sync::watch::channel(false);
        // Staff commands are answered beside the mail loop, also while it reconnects,
        // until the mail loop has stopped.
        let (stop_server, server_stop) = tokio::sync::watch::channel(false);
        if let Some((endpoint, limits)) = metrics {
            let sources = mnotify_intake::metrics::Sources {
                telemetry: daemon.telemetry(),
                store,
                limits,
                promise,
                procedures,
                min_free_bytes,
            };
            tokio::spawn(endpoint.serve(sources, server_stop.clone()));
        }
        if let Some(every) = mnotify_intake::notify::Notifier::watchdog_interval() {
            tokio::spawn(watchdog(daemon.telemetry(), limits, every));
        }
        let server = tokio::spawn(control.serve(shared, server_stop));
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested; finishing the current message");
            let _ = tx.send(true);
        });
        let lifetime = if once {
            Lifetime::Once
        } else {
            Lifetime::Forever
        };
        let result = daemon.run(lifetime, rx).await;
        let _ = stop_server.send(true);
        let _ = server.await;
        daemon.store().flush()?;
        log_stopped(&daemon);
        result?;
        Ok(ExitCode::SUCCESS)
    });
    // A mail whose reading was abandoned at its deadline may still hold a thread:
    // the daemon stops without waiting for it (a drop of the runtime would).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    outcome
}

/// The store, waiting up to 15 s for a staff command that holds it for a moment.
fn open_store(config: &Config) -> Result<Store> {
    let started = std::time::Instant::now();
    loop {
        match Store::open(&config.store_path) {
            Ok(store) => return Ok(store),
            Err(e) if started.elapsed() < std::time::Duration::from_secs(15) => {
                tracing::debug!("store busy, retrying: {e}");
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The monitoring endpoint, or what to do when its address is taken.
async fn bind_metrics(
    m: &mnotify_intake::config::MetricsConfig,
) -> Result<mnotify_intake::metrics::Endpoint> {
    mnotify_intake::metrics::bind(m.listen).await.with_context(|| {
        format!(
            "[metrics] listen = \"{}\": cannot listen there (is the port taken?); choose another address",
            m.listen
        )
    })
}

fn log_stopped(daemon: &Daemon) {
    let c = &daemon.counters;
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
/// reason as `STATUS=` and no ping, so that systemd restarts a stalled daemon.
async fn watchdog(
    telemetry: std::sync::Arc<mnotify_intake::metrics::Telemetry>,
    limits: mnotify_intake::health::Limits,
    every: std::time::Duration,
) {
    let notifier = mnotify_intake::notify::Notifier::from_env();
    let mut unhealthy = false;
    loop {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        match mnotify_intake::health::verdict(telemetry.seen(), limits, now) {
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
        tokio::time::sleep(every).await;
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
