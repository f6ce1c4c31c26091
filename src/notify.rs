//! systemd's notification protocol (`Type=notify`): `READY=1` once the first pass over
//! the inbox is done, `WATCHDOG=1` every half `WatchdogSec` while
//! [`crate::health::verdict`] says the mail loop is healthy, `STATUS=` with the reason
//! when it is not. Without `NOTIFY_SOCKET` (not under systemd) it does nothing.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Where systemd listens, from `NOTIFY_SOCKET`.
#[derive(Debug, Clone)]
pub struct Notifier {
    socket: Option<String>,
}

impl Notifier {
    pub fn from_env() -> Notifier {
        Notifier {
            socket: std::env::var("NOTIFY_SOCKET")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }

    /// Sends one state line (`READY=1`, `WATCHDOG=1`, `STATUS=…`); failures are
    /// ignored, as systemd's own library does.
    pub fn send(&self, state: &str) {
        let Some(path) = &self.socket else { return };
        let Ok(socket) = UnixDatagram::unbound() else {
            return;
        };
        let _ = match path.strip_prefix('@') {
            // An abstract socket (Linux): the name after '@'.
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                match std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()) {
                    Ok(addr) => socket.send_to_addr(state.as_bytes(), &addr),
                    Err(e) => Err(e),
                }
            }
            None => socket.send_to(state.as_bytes(), path),
        };
    }

    /// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC` (`None`: no watchdog).
    pub fn watchdog_interval() -> Option<Duration> {
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
        (usec > 0).then(|| Duration::from_micros(usec / 2))
    }
}
