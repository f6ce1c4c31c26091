//! Why the store failed, each with what to do next.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the store at {path}: check [store] path and that this user may read \
         and write it ({source})"
    )]
    Open {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error(
        "the store at {path} is in use by another mnotify-intake process (the daemon or a \
         staff command): while the daemon runs, use its commands; otherwise wait for the \
         other command to finish and try again"
    )]
    Busy { path: PathBuf },
    #[error(
        "the store at {path} is damaged and cannot be opened: restore the latest backup with \
         `mnotify-intake store restore --replace FILE` (daily backups are in [store] backups; \
         `mnotify-intake store verify FILE` checks one first). The store said: {why}"
    )]
    Damaged { path: PathBuf, why: String },
    #[error("cannot write out the store's data ({0}); check free disk space")]
    Write(std::io::Error),
    #[error("the store failed ({source}); check free disk space and permissions of [store] path")]
    Io {
        #[from]
        source: sled::Error,
    },
    #[error(
        "the store entry {key} in {tree} is damaged ({source}); stop the daemon and restore the \
         latest backup with `mnotify-intake store restore --replace FILE` (daily backups are in \
         [store] backups; `mnotify-intake store verify FILE` checks one first)"
    )]
    Corrupt {
        tree: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the backup cannot be used: {0}")]
    BadBackup(String),
    #[error(
        "the store at {path} has schema version {found}, newer than this program's {supported}; \
         run the newer mnotify-intake"
    )]
    NewerSchema {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
}

impl StoreError {
    /// Why sled would not open the store at `path`, sorted so that each is said once
    /// and plainly: held by another process (worth waiting for), damaged (restore), or
    /// anything else (the path and its permissions).
    pub fn opening(path: &Path, source: sled::Error) -> StoreError {
        match &source {
            sled::Error::Io(e) if e.to_string().starts_with("could not acquire lock") => {
                StoreError::Busy { path: path.into() }
            }
            sled::Error::Corruption { .. } | sled::Error::ReportableBug(_) => StoreError::Damaged {
                path: path.into(),
                why: source.to_string(),
            },
            _ => StoreError::Open {
                path: path.into(),
                source,
            },
        }
    }
}
