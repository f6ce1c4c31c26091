//! `mnotify-intake run`: logging, the umask and the signals that stop the daemon
//! around [`mnotify_intake::daemon::serve`], which owns everything else.

use std::process::ExitCode;

use anyhow::Result;
use mnotify_intake::config::Config;
use mnotify_intake::daemon::{serve, ServeOptions};

pub fn run_daemon(config: Config, once: bool, new_store: bool) -> Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(crate::cli::log_filter())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // Everything the daemon writes (store, control socket) is its own: the store
    // holds applicants' addresses and integration data.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async move {
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested; finishing the current message");
            let _ = stop.send(true);
        });
        serve(config, ServeOptions { once, new_store }, shutdown).await
    });
    // A mail whose reading was abandoned at its deadline may still hold a thread:
    // the daemon stops without waiting for it (a drop of the runtime would).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    outcome?;
    Ok(ExitCode::SUCCESS)
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
