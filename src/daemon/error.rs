//! Why the daemon stopped or could not start, each with what to do next.

use crate::mailbox::MailboxError;
use crate::reply::ReplyError;
use crate::routine::RoutineError;
use crate::smtp::SmtpSetupError;
use crate::staff::StaffError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("config file {config}: `run` needs an [imap] section naming the mailbox to watch")]
    NoImap { config: String },
    #[error(
        "config file {config}: [reply] mode = \"send\" needs an [smtp] section; add one, or use mode = \"draft\" or \"off\""
    )]
    NoSmtp { config: String },
    #[error(transparent)]
    Smtp(#[from] SmtpSetupError),
    #[error(transparent)]
    Mailbox(#[from] MailboxError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Reply(#[from] ReplyError),
    #[error(transparent)]
    Staff(#[from] StaffError),
    #[error(transparent)]
    Routine(#[from] RoutineError),
    #[error(transparent)]
    NoRandomness(#[from] crate::record::NoRandomness),
    #[error("config file {config}: {message}")]
    Stranded { config: String, message: String },
    #[error(
        "the store at {store} is new, but the mailbox shows this daemon ran on it before \
         ({evidence}): starting afresh would answer that mail again or lose its cases. \
         Restore the latest backup (stop here, then `mnotify-intake store restore --replace FILE`; \
         daily backups are in {backups}), or, to start with a new store on purpose, run once \
         with `mnotify-intake run --new-store`"
    )]
    StoreLooksNew {
        store: String,
        evidence: String,
        backups: String,
    },
    #[error("gave up after {attempts} tries ({last}); run again once the server is reachable, or use `run` without --once, which keeps trying")]
    GaveUp {
        attempts: u32,
        /// Said in the message, not as a source: printed once.
        last: Box<DaemonError>,
    },
}

impl DaemonError {
    pub(super) fn is_transient(&self) -> bool {
        match self {
            DaemonError::Mailbox(e) => e.is_transient(),
            _ => false,
        }
    }

    /// The server refused to create or open a configured folder.
    pub(super) fn is_folder_refused(&self) -> bool {
        matches!(
            self,
            DaemonError::Mailbox(MailboxError::FolderRefused { .. })
        )
    }

    /// The server refused our login, or the password or token could not be read.
    pub(super) fn is_credentials(&self) -> bool {
        matches!(
            self,
            DaemonError::Mailbox(MailboxError::Login { .. } | MailboxError::Secret(_))
        )
    }
}
