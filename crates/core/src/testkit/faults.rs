//! Faults injected into the daemon's reading of a mail, for the end-to-end tests of
//! what no real server or mail can make happen any more (every pass is linear): a read
//! that stalls, or one that kills the process. Only in builds with the `testkit`
//! feature, and only when the environment asks:
//!
//! - `MNOTIFY_INTAKE_FAULT_READ=stall:MARKER` or `abort:MARKER`: reading a mail whose
//!   bytes contain MARKER sleeps for an hour, or aborts the process;
//! - `MNOTIFY_INTAKE_FAULT_READ_DEADLINE_MS=N`: the read deadline, shorter for tests.

use std::time::Duration;

/// Called on the reading thread before a mail is read.
pub fn while_reading(raw: &[u8]) {
    let Ok(fault) = std::env::var("MNOTIFY_INTAKE_FAULT_READ") else {
        return;
    };
    let Some((kind, marker)) = fault.split_once(':') else {
        return;
    };
    if memchr::memmem::find(raw, marker.as_bytes()).is_none() {
        return;
    }
    match kind {
        "stall" => std::thread::sleep(Duration::from_secs(3600)),
        "abort" => std::process::abort(),
        _ => {}
    }
}

/// The read deadline the environment sets, if it sets one.
pub fn read_deadline() -> Option<Duration> {
    let ms = std::env::var("MNOTIFY_INTAKE_FAULT_READ_DEADLINE_MS").ok()?;
    ms.parse().ok().map(Duration::from_millis)
}
