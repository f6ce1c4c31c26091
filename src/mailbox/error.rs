//! What can go wrong with the IMAP server, and whether waiting helps.

use crate::secret::SecretError;

#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("cannot connect to IMAP server {host}:{port}: {source}")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS setup for {host} failed: {reason}; check [imap] host and ca_file")]
    Tls { host: String, reason: String },
    #[error(
        "IMAP login as {user} was refused: {reason}; check [imap] user and the password or token"
    )]
    Login { user: String, reason: String },
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("IMAP error: {0}")]
    Protocol(#[from] async_imap::error::Error),
    #[error("IMAP connection timed out")]
    Timeout,
    #[error("the IMAP server did not answer {command} within {seconds} s; reconnecting")]
    Deadline { command: &'static str, seconds: u64 },
    /// A FETCH ended without some of the messages asked for (Dovecot drops the
    /// connection on a message it cannot read; async-imap then ends the answer early,
    /// as if complete). The connection is not trusted further.
    #[error("the IMAP server did not hand over {0} message(s) asked for")]
    Incomplete(usize),
    /// The server refused to create or open a folder the config names: waiting does
    /// not help until someone creates it or names another.
    #[error("the IMAP server refused {command} of folder \"{folder}\": {reason}; create the folder by hand, or name one that exists in [imap] (where folders live under INBOX, as on Cyrus, write \"INBOX.{folder}\")")]
    FolderRefused {
        command: &'static str,
        folder: String,
        reason: String,
    },
}

impl MailboxError {
    /// The server answered NO or BAD to a command (the connection itself is fine);
    /// async-imap reports a refused APPEND as `Append`, without the server's words.
    pub fn is_refusal(&self) -> bool {
        use async_imap::error::Error;
        matches!(
            self,
            MailboxError::Protocol(Error::No(_) | Error::Bad(_) | Error::Append)
        )
    }

    /// A refusal of `command` on `folder` becomes [`MailboxError::FolderRefused`];
    /// anything else stays as it was.
    pub fn about_folder(self, command: &'static str, folder: &str) -> MailboxError {
        if !self.is_refusal() {
            return self;
        }
        let reason = match &self {
            MailboxError::Protocol(async_imap::error::Error::No(r))
            | MailboxError::Protocol(async_imap::error::Error::Bad(r)) => r.clone(),
            other => other.to_string(),
        };
        MailboxError::FolderRefused {
            command,
            folder: folder.to_string(),
            reason,
        }
    }

    /// Worth retrying after a pause (network, server restarts); a refused login or a
    /// missing secret is not, until someone fixes the configuration.
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            MailboxError::Login { .. } | MailboxError::Secret(_) | MailboxError::Tls { .. }
        )
    }
}
