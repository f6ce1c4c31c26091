//! The command's side of the control socket: one request, one answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{ControlReply, ControlRequest};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No daemon listens: the command may open the store itself.
    #[error("no daemon listens on {path}")]
    NotRunning { path: PathBuf },
    #[error(
        "not allowed to use the daemon's control socket {path}; staff commands need the \
         daemon's user, root, or membership of [control] group"
    )]
    Denied { path: PathBuf },
    #[error("the daemon's control socket {path} failed: {source}; is the daemon healthy? (its log says)")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the daemon answered something unreadable on {path}: {what}")]
    Protocol { path: PathBuf, what: String },
    #[error(
        "the control socket {path} is served by uid {uid}, which is neither root nor the owner \
         of the store (uid {owner}): nothing was sent to it. Someone else may have taken the \
         path; stop that process, remove the socket, and put [control] socket in a directory \
         only the daemon's user can write"
    )]
    Impostor { path: PathBuf, uid: u32, owner: u32 },
}

/// Who may serve the control socket: root, or the user that owns the store (the
/// daemon's user). A command never sends a request, with its case data or staff
/// names, to a process of anyone else that took the socket's path first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    owner: u32,
}

impl Server {
    /// The daemon of the store at `store`: its owner, or this process's user while the
    /// store does not exist yet (the daemon that creates it will be ours).
    pub fn of_store(store: &Path) -> Server {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(store)
            .map(|m| m.uid())
            .unwrap_or_else(|_| nix::unistd::Uid::current().as_raw());
        Server { owner }
    }

    /// This process's own user (the daemon checking for another of itself).
    pub fn ourselves() -> Server {
        Server {
            owner: nix::unistd::Uid::current().as_raw(),
        }
    }

    fn trusts(&self, uid: u32) -> bool {
        uid == 0 || uid == self.owner
    }
}

/// Sends `request` to the daemon listening on `path` and waits up to `timeout` for
/// its answer.
pub fn ask(
    path: &Path,
    server: Server,
    request: &ControlRequest,
    timeout: Duration,
) -> Result<ControlReply, ClientError> {
    let io = |source| ClientError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut stream = match UnixStream::connect(path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(ClientError::NotRunning {
                path: path.to_path_buf(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(ClientError::Denied {
                path: path.to_path_buf(),
            })
        }
        Err(e) => return Err(io(e)),
    };
    let cred = nix::sys::socket::getsockopt(&stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(|e| io(e.into()))?;
    if !server.trusts(cred.uid()) {
        return Err(ClientError::Impostor {
            path: path.to_path_buf(),
            uid: cred.uid(),
            owner: server.owner,
        });
    }
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    // A request is plain data: it serialises.
    let mut line = serde_json::to_vec(request).expect("a request serialises");
    line.push(b'\n');
    stream.write_all(&line).map_err(io)?;
    let mut answer = String::new();
    BufReader::new(stream)
        .take(super::MAX_REQUEST_BYTES)
        .read_line(&mut answer)
        .map_err(io)?;
    serde_json::from_str(&answer).map_err(|e| ClientError::Protocol {
        path: path.to_path_buf(),
        what: if answer.is_empty() {
            "nothing (the connection closed)".into()
        } else {
            e.to_string()
        },
    })
}
