//! The daemon's side of the control socket.
//!
//! It runs as a task on the daemon's single-threaded runtime, beside the mail loop:
//! both change the store only in synchronous stretches between awaits, so a staff
//! change never interleaves with a message's read-plan-commit.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{watch, Notify};
use tracing::{info, warn};

use super::{client, peer, recorded_as, ControlReply, ControlRequest, MAX_REQUEST_BYTES};
use crate::config::{Config, ControlConfig};
use crate::reply::Templates;
use crate::staff::{self, Request, StaffAction};
use crate::store::Store;

/// A client has this long to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("already running (pid {pid}): its control socket {path} answers; stop it first")]
    AlreadyRunning { path: PathBuf, pid: String },
    #[error(
        "{path} exists and is not a socket; remove it or set [control] socket to another path"
    )]
    NotASocket { path: PathBuf },
    #[error("[control] group {group} does not exist on this system; create it (groupadd) or fix the name")]
    NoGroup { group: String },
    #[error("cannot create the control socket {path}: {source}; check that its directory exists and is writable by the daemon's user")]
    Bind {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The bound socket, not yet serving.
pub struct Bound {
    listener: std::os::unix::net::UnixListener,
    path: PathBuf,
    staff_gid: Option<u32>,
}

/// Creates the socket: refuses when a daemon already answers on it, replaces a stale
/// one left by a crash, and gives it mode 0660 and the staff group (0600 without one).
pub fn bind(config: &ControlConfig) -> Result<Bound, ControlError> {
    let path = config.socket.clone();
    let bind_err = |source| ControlError::Bind {
        path: path.clone(),
        source,
    };
    let staff_gid = match &config.group {
        Some(group) => Some(peer::group_id(group).ok_or_else(|| ControlError::NoGroup {
            group: group.clone(),
        })?),
        None => None,
    };
    if let Ok(meta) = std::fs::symlink_metadata(&path) {
        if !meta.file_type().is_socket() {
            return Err(ControlError::NotASocket { path });
        }
        let ping = super::ControlRequest {
            id: String::new(),
            case: String::new(),
            display_name: None,
            action: StaffAction::Ping,
        };
        if let Ok(ControlReply::Done { text }) = client::ask(&path, &ping, Duration::from_secs(5)) {
            return Err(ControlError::AlreadyRunning { path, pid: text });
        }
        // Left behind by a daemon that died: nobody answers on it.
        std::fs::remove_file(&path).map_err(bind_err)?;
    }
    let listener = std::os::unix::net::UnixListener::bind(&path).map_err(bind_err)?;
    let mode = if let Some(gid) = staff_gid {
        std::os::unix::fs::chown(&path, None, Some(gid)).map_err(bind_err)?;
        0o660
    } else {
        0o600
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(bind_err)?;
    listener.set_nonblocking(true).map_err(bind_err)?;
    Ok(Bound {
        listener,
        path,
        staff_gid,
    })
}

/// What the server shares with the daemon.
pub struct Shared {
    pub store: Store,
    pub config: Config,
    pub templates: Templates,
    /// Wakes the mail loop: a notice to send, a digest queued.
    pub poke: Arc<Notify>,
    /// Set when the registry changed: the mail loop reloads it.
    pub registry_changed: Arc<AtomicBool>,
}

impl Bound {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers requests until `shutdown`; removes the socket file then.
    pub async fn serve(self, shared: Shared, mut shutdown: watch::Receiver<bool>) {
        let listener = match UnixListener::from_std(self.listener) {
            Ok(l) => l,
            Err(e) => {
                warn!(
                    "the control socket {} cannot be served: {e}",
                    self.path.display()
                );
                return;
            }
        };
        info!(socket = %self.path.display(), "control socket ready");
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => answer(stream, &shared, self.staff_gid).await,
                    Err(e) => {
                        warn!("control socket: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One connection: check the peer, read its request, apply it, answer.
async fn answer(mut stream: UnixStream, shared: &Shared, staff_gid: Option<u32>) {
    let reply = match respond(&mut stream, shared, staff_gid).await {
        Ok(reply) => reply,
        Err(reason) => ControlReply::Refused { reason },
    };
    let mut line = serde_json::to_vec(&reply).expect("a reply serialises");
    line.push(b'\n');
    if let Err(e) = stream.write_all(&line).await {
        warn!("control socket: the command left before its answer: {e}");
    }
}

async fn respond(
    stream: &mut UnixStream,
    shared: &Shared,
    staff_gid: Option<u32>,
) -> Result<ControlReply, String> {
    let cred = stream
        .peer_cred()
        .map_err(|e| format!("cannot tell who is asking: {e}"))?;
    let (uid, gid) = (cred.uid(), cred.gid());
    let user = peer::user_name(uid);
    if !peer::allowed(uid, gid, staff_gid) {
        warn!(user = %user, uid, "control socket: refused a user outside the staff group");
        return Err(format!(
            "user {user} (uid {uid}) may not use the daemon: add them to [control] group"
        ));
    }
    let mut line = String::new();
    let mut reader = BufReader::new(&mut *stream).take(MAX_REQUEST_BYTES + 1);
    let read = reader.read_line(&mut line);
    match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(Ok(n)) if n as u64 > MAX_REQUEST_BYTES => {
            return Err(format!("request over {MAX_REQUEST_BYTES} bytes"))
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(format!("unreadable request: {e}")),
        Err(_) => return Err("no request within 30 s".into()),
    }
    let asked: ControlRequest =
        serde_json::from_str(&line).map_err(|e| format!("unreadable request: {e}"))?;
    let now = OffsetDateTime::now_utc();
    let request = Request {
        id: asked.id,
        at: now,
        by: recorded_as(&user, uid, asked.display_name.as_deref()),
        case: asked.case.trim_start_matches('#').to_ascii_uppercase(),
        action: asked.action,
    };
    let desk = staff::Desk::new(&shared.config, &shared.templates);
    let result = staff::execute(&shared.store, &request, &desk, now);
    match result {
        Ok(Ok(text)) => {
            if changes(&request.action) {
                info!(by = %request.by, case = %request.case, action = %request.action.describe(), "staff request applied");
                if matches!(request.action, StaffAction::RegistryImport { .. }) {
                    shared.registry_changed.store(true, Ordering::SeqCst);
                }
                shared.poke.notify_one();
            }
            Ok(ControlReply::Done { text })
        }
        Ok(Err(reason)) => Ok(ControlReply::Refused { reason }),
        Err(e) => {
            warn!("control socket: {e}");
            Err(format!("the daemon's store failed: {e}"))
        }
    }
}

/// Whether a request changes something the mail loop must act on.
fn changes(action: &StaffAction) -> bool {
    !matches!(
        action,
        StaffAction::Cases
            | StaffAction::Registry
            | StaffAction::Ping
            | StaffAction::Status
            | StaffAction::Backup
            | StaffAction::HeldList
            | StaffAction::Digest { send: false, .. }
    )
}
