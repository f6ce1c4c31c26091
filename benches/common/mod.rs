//! What the end-to-end benches share: the daemon as a process of its own, and what
//! `/proc` says of its memory.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts `mnotify-intake run` with `config`, its log (level `DAEMON_LOG`, default
/// warn) in `log`.
pub fn spawn_daemon(config: &Path, log: &Path) -> Child {
    let file = std::fs::File::create(log).expect("the daemon's log file");
    Command::new(env!("CARGO_BIN_EXE_mnotify-intake"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env(
            "RUST_LOG",
            std::env::var("DAEMON_LOG").unwrap_or("warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("start the daemon")
}

/// A memory figure of process `pid` in KiB: `VmRSS:` now, `VmHWM:` its peak.
pub fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
