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
}

/// Sends `request` to the daemon listening on `path` and waits up to `timeout` for
/// its answer.
pub fn ask(
    path: &Path,
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
