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
    /// An answer to a command read as bytes ([`super::Mailbox::layout`]) went on past
    /// what any sane server sends.
    #[error("the IMAP server's answer to {command} passed {bytes} bytes; not read further")]
    AnswerTooLong { command: String, bytes: usize },
    /// The server refused to create or open a folder the config names: waiting does
    /// not help until someone creates it or names another.
    #[error("the IMAP server refused {command} of folder \"{folder}\": {reason}; create the folder by hand, or name one that exists in [imap]{hint}")]
    FolderRefused {
        command: &'static str,
        folder: String,
        reason: String,
        /// Where folders may live instead, when the name does not say already.
        hint: String,
    },
}

/// The server's own words from async-imap's rendering of a NO or BAD answer
/// (`outcome: Outcome { code: …, information: Some("Mailbox does not exist") }`).
pub(crate) fn server_words(reason: &str) -> String {
    const MARK: &str = "information: Some(\"";
    match reason.find(MARK) {
        Some(at) => {
            let rest = &reason[at + MARK.len()..];
            let end = rest.rfind("\")").unwrap_or(rest.len());
            rest[..end].replace("\\\"", "\"")
        }
        None => reason.to_string(),
    }
}

impl MailboxError {
    /// The server answered NO or BAD to a command (the connection itself is fine);
    /// async-imap reports a refused APPEND as `Append`, without the server's words.
    pub fn is_refusal(&self) -> bool {
        use async_imap::error::Error;
        matches!(
            self,
            MailboxError::Protocol(Error::No(_) | Error::Bad(_) | Error::Append)
                | MailboxError::FolderRefused { .. }
        )
    }

    /// A refusal of `command` on `folder` becomes [`MailboxError::FolderRefused`];
    /// anything else stays as it was.
    pub fn about_folder(self, command: &'static str, folder: &str) -> MailboxError {
        use async_imap::error::Error;
        let reason = match &self {
            MailboxError::Protocol(Error::No(r) | Error::Bad(r)) => server_words(r),
            MailboxError::Protocol(Error::Append) => "refused".to_string(),
            _ => return self,
        };
        let hint = if folder.starts_with("INBOX") {
            String::new()
        } else {
            format!(" (where folders live under INBOX, as on Cyrus, write \"INBOX.{folder}\")")
        };
        MailboxError::FolderRefused {
            command,
            folder: folder.to_string(),
            reason,
            hint,
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

#[cfg(test)]
mod tests {
    use super::*;
    use async_imap::error::Error;

    #[test]
    fn a_refused_folder_says_the_servers_words_and_a_hint_only_where_it_helps() {
        let no = || {
            MailboxError::Protocol(Error::No(
                r#"outcome: Outcome { code: None, information: Some("Mailbox does not exist") }"#
                    .into(),
            ))
        };
        let plain = no().about_folder("SELECT", "Processed").to_string();
        assert!(
            plain.contains("refused SELECT of folder \"Processed\": Mailbox does not exist;"),
            "{plain}"
        );
        assert!(plain.contains("write \"INBOX.Processed\""), "{plain}");
        let prefixed = no().about_folder("SELECT", "INBOX.Sent").to_string();
        assert!(!prefixed.contains("INBOX.INBOX"), "{prefixed}");
        let refused = no().about_folder("SELECT", "INBOX.Sent");
        assert!(
            refused.is_refusal(),
            "a refused folder is a refusal: the connection is fine"
        );
        assert!(matches!(
            MailboxError::Timeout.about_folder("SELECT", "x"),
            MailboxError::Timeout
        ));
        assert_eq!(server_words("plain words"), "plain words");
    }
}
