//! The daemon's side of the control socket.
//!
//! It runs as tasks on the daemon's single-threaded runtime, beside the mail loop, a
//! task per connection: all of them change the store only in synchronous stretches
//! between awaits, so a staff change never interleaves with a message's
//! read-plan-commit, nor with another staff change.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tracing::{info, warn};

use super::{client, peer, recorded_as, ControlReply, ControlRequest, MAX_REQUEST_BYTES};
use crate::config::ControlConfig;
use crate::staff::{self, Request, Service, StaffAction, StoreRequest};

/// A client has this long to send its request (and to take its answer).
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Commands answered at once; one more is told to try again.
const MAX_CONNECTIONS: usize = 16;
/// At shutdown, commands being answered get this long before they are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Requests up to this size are read by any number of connections at once.
const SMALL_REQUEST_BYTES: u64 = 1024 * 1024;

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
    #[error("{why}")]
    Taken { why: String },
    #[error(
        "the control socket's directory {dir} is {what}: anyone who can write there can take \
         the socket's path first and receive staff requests. Put [control] socket in a directory \
         owned by the daemon's user (or root) that others cannot write, e.g. /run/mnotify-intake"
    )]
    UnsafeDirectory { dir: PathBuf, what: String },
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
    safe_directory(&path)?;
    if let Ok(meta) = std::fs::symlink_metadata(&path) {
        if !meta.file_type().is_socket() {
            return Err(ControlError::NotASocket { path });
        }
        let ping = super::ControlRequest {
            id: String::new(),
            case: String::new(),
            display_name: None,
            action: StaffAction::Store(StoreRequest::Ping),
        };
        match client::ask(
            &path,
            client::Server::ourselves(),
            &ping,
            Duration::from_secs(5),
        ) {
            Ok(ControlReply::Done { text, .. }) => {
                return Err(ControlError::AlreadyRunning { path, pid: text })
            }
            Err(e @ client::ClientError::Impostor { .. }) => {
                return Err(ControlError::Taken { why: e.to_string() })
            }
            _ => {}
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

/// The socket's directory must be the daemon's own (or root's) and writable by no one
/// else: in a directory others can write, anyone could bind the path before the daemon
/// and hear staff requests, or keep it from starting.
fn safe_directory(path: &Path) -> Result<(), ControlError> {
    use std::os::unix::fs::MetadataExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(meta) = std::fs::metadata(&dir) else {
        // Binding says that the directory is missing, with the path.
        return Ok(());
    };
    let me = nix::unistd::Uid::current().as_raw();
    let unsafe_dir = |what: String| ControlError::UnsafeDirectory {
        dir: dir.clone(),
        what,
    };
    if meta.uid() != me && meta.uid() != 0 {
        return Err(unsafe_dir(format!(
            "owned by {} (uid {}), not by the daemon's user",
            peer::user_name(meta.uid()),
            meta.uid()
        )));
    }
    let mode = meta.mode();
    if mode & 0o002 != 0 {
        return Err(unsafe_dir(format!(
            "writable by everyone (mode {:o})",
            mode & 0o7777
        )));
    }
    if mode & 0o020 != 0 && meta.gid() != nix::unistd::Gid::current().as_raw() {
        return Err(unsafe_dir(format!(
            "writable by group {} (mode {:o})",
            meta.gid(),
            mode & 0o7777
        )));
    }
    Ok(())
}

impl Bound {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Answers requests until `shutdown`, up to [`MAX_CONNECTIONS`] at once (an idle
    /// connection keeps no one else waiting); removes the socket file then.
    pub async fn serve(self, shared: Arc<Service>, mut shutdown: watch::Receiver<bool>) {
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
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        let large = Arc::new(tokio::sync::Semaphore::new(1));
        let mut answering = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((mut stream, _)) => {
                        let Ok(slot) = slots.clone().try_acquire_owned() else {
                            let busy = ControlReply::Refused { reason: format!("the daemon is answering {MAX_CONNECTIONS} commands already; try again in a moment") };
                            let _ = write_reply(&mut stream, &busy).await;
                            continue;
                        };
                        let (shared, large, gid) = (shared.clone(), large.clone(), self.staff_gid);
                        answering.spawn(async move {
                            answer(stream, &shared, gid, &large).await;
                            drop(slot);
                        });
                    }
                    Err(e) => {
                        warn!("control socket: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                Some(_) = answering.join_next(), if !answering.is_empty() => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
        // Commands being answered get a moment to finish; an idle connection does not
        // hold the stop up (a request not yet read is not applied; one sent again is
        // applied once, by its id).
        let finish = async { while answering.join_next().await.is_some() {} };
        if tokio::time::timeout(SHUTDOWN_GRACE, finish).await.is_err() {
            answering.abort_all();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One connection: check the peer, read its request, apply it, answer.
async fn answer(
    mut stream: UnixStream,
    shared: &Service,
    staff_gid: Option<u32>,
    large: &tokio::sync::Semaphore,
) {
    let reply = match respond(&mut stream, shared, staff_gid, large).await {
        Ok(reply) => reply,
        Err(reason) => ControlReply::Refused { reason },
    };
    if let Err(e) = write_reply(&mut stream, &reply).await {
        warn!("control socket: the command left before its answer: {e}");
    }
}

async fn write_reply(stream: &mut UnixStream, reply: &ControlReply) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(reply).expect("a reply serialises");
    line.push(b'\n');
    tokio::time::timeout(READ_TIMEOUT, stream.write_all(&line))
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

/// The request line, at most [`MAX_REQUEST_BYTES`]; past [`SMALL_REQUEST_BYTES`] only
/// one connection reads at a time (a registry import), so that a few large requests
/// cannot take the daemon's memory.
async fn read_request(
    stream: &mut UnixStream,
    large: &tokio::sync::Semaphore,
) -> Result<Vec<u8>, String> {
    let mut line = Vec::new();
    let mut reader = BufReader::new(&mut *stream);
    let mut first = (&mut reader).take(SMALL_REQUEST_BYTES);
    let small = first.read_until(b'\n', &mut line);
    match tokio::time::timeout(READ_TIMEOUT, small).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(format!("unreadable request: {e}")),
        Err(_) => return Err(format!("no request within {} s", READ_TIMEOUT.as_secs())),
    }
    if line.ends_with(b"\n") || (line.len() as u64) < SMALL_REQUEST_BYTES {
        return Ok(line);
    }
    let _one = large
        .acquire()
        .await
        .map_err(|_| "the daemon is stopping".to_string())?;
    let mut more = (&mut reader).take(MAX_REQUEST_BYTES + 1 - SMALL_REQUEST_BYTES);
    let rest = more.read_until(b'\n', &mut line);
    match tokio::time::timeout(READ_TIMEOUT, rest).await {
        Ok(Ok(_)) if line.len() as u64 > MAX_REQUEST_BYTES => {
            Err(format!("request over {MAX_REQUEST_BYTES} bytes"))
        }
        Ok(Ok(_)) => Ok(line),
        Ok(Err(e)) => Err(format!("unreadable request: {e}")),
        Err(_) => Err(format!("no request within {} s", READ_TIMEOUT.as_secs())),
    }
}

async fn respond(
    stream: &mut UnixStream,
    shared: &Service,
    staff_gid: Option<u32>,
    large: &tokio::sync::Semaphore,
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
    let line = read_request(stream, large).await?;
    let asked: ControlRequest =
        serde_json::from_slice(&line).map_err(|e| format!("unreadable request: {e}"))?;
    drop(line);
    let now = OffsetDateTime::now_utc();
    let request = Request {
        id: asked.id,
        at: now,
        by: recorded_as(&user, uid, asked.display_name.as_deref()).map_err(|e| e.to_string())?,
        case: asked.case.trim_start_matches('#').to_ascii_uppercase(),
        action: asked.action,
    };
    match shared.submit(&request, shared.config.staff_language, now) {
        Ok(staff::Answer::Done(done)) => Ok(ControlReply::Done {
            notice_queued: done.notice_queued(),
            text: done.into_text(),
        }),
        Ok(staff::Answer::Refused(reason)) => Ok(ControlReply::Refused { reason }),
        Err(e) => {
            warn!("control socket: {e}");
            Err(format!("the daemon's store failed: {e}"))
        }
    }
}
