//! Folders as wholes: made when missing (or made and removed, to prove a name), counted,
//! and asked whether the daemon ran on this mailbox before.

use futures_util::TryStreamExt;

use super::{within, Mailbox, MailboxError};
use crate::config::ImapConfig;

impl Mailbox {
    /// Creates a folder unless it exists.
    pub async fn ensure_folder(&mut self, name: &str) -> Result<(), MailboxError> {
        within(self.deadline, "LIST/CREATE", async {
            // The pattern goes to the server as written: quoted, so that a name with
            // a space (Exchange's "Sent Items") is one argument.
            let exists = {
                let list = self.session().list(Some(""), Some(&quoted(name))).await?;
                let names: Vec<_> = list.try_collect().await?;
                !names.is_empty()
            };
            if !exists {
                match self.session().create(name).await {
                    Ok(()) => {}
                    // Made meanwhile (another client, or a LIST that missed it).
                    Err(e) if e.to_string().contains("ALREADYEXISTS") => {}
                    Err(e) => return Err(MailboxError::from(e).about_folder("CREATE", name)),
                }
            }
            Ok(())
        })
        .await
    }

    /// A command the other methods do not cover, which must answer OK (the tests make
    /// special-use folders with `CREATE "name" (USE (\Sent))`, RFC 6154).
    pub async fn run_command(&mut self, command: &str) -> Result<(), MailboxError> {
        within(self.deadline, "command", async {
            self.session().run_command_and_check_ok(command).await?;
            self.drain_unsolicited();
            Ok(())
        })
        .await
    }

    /// Proves the server lets `name` be made: creates it and deletes it again (for
    /// `check`, on a folder that does not exist).
    pub async fn probe_folder(&mut self, name: &str) -> Result<(), MailboxError> {
        within(self.deadline, "CREATE/DELETE", async {
            self.session()
                .create(name)
                .await
                .map_err(|e| MailboxError::from(e).about_folder("CREATE", name))?;
            self.session()
                .delete(name)
                .await
                .map_err(|e| MailboxError::from(e).about_folder("DELETE", name))?;
            Ok(())
        })
        .await
    }

    /// How many messages `folder` holds (STATUS; the selected folder stays selected).
    pub async fn count(&mut self, folder: &str) -> Result<u32, MailboxError> {
        within(self.deadline, "STATUS", async {
            let status = self.session().status(folder, "(MESSAGES)").await?;
            self.drain_unsolicited();
            Ok(status.exists)
        })
        .await
    }

    /// Messages in `folder` that carry our own marker header (replies, drafts, digests
    /// we made); 0 when the folder does not exist.
    pub async fn count_ours(&mut self, folder: &str, marker: &str) -> Result<u32, MailboxError> {
        match self.select(folder).await {
            Ok(_) => {}
            Err(e) if self.refused(&e).await => return Ok(0),
            Err(e) => return Err(e),
        }
        within(self.deadline, "SEARCH", async {
            let found = self
                .session()
                .uid_search(format!("HEADER {marker} \"\""))
                .await?;
            self.drain_unsolicited();
            Ok(found.len() as u32)
        })
        .await
    }

    /// Signs that the daemon ran on this mailbox before (mail in its Processed folder,
    /// our replies in Sent), in words for the operator; `None` when there are none.
    pub async fn earlier_runs(
        &mut self,
        imap: &ImapConfig,
    ) -> Result<Option<String>, MailboxError> {
        let processed = self.count_if_any(&imap.processed_folder).await?;
        let ours = match &imap.sent_folder {
            Some(sent) => {
                self.count_ours(sent, crate::intake::automatic::OWN_MARKER_HEADER)
                    .await?
            }
            None => 0,
        };
        Ok((processed > 0 || ours > 0).then(|| {
            format!(
                "{processed} message(s) in {}, {ours} of our replies in {}",
                imap.processed_folder,
                imap.sent_folder.as_deref().unwrap_or("(no Sent folder)")
            )
        }))
    }

    /// Messages in `folder`; 0 when the folder does not exist.
    pub async fn count_if_any(&mut self, folder: &str) -> Result<u32, MailboxError> {
        match self.count(folder).await {
            Ok(n) => Ok(n),
            Err(e) if self.refused(&e).await => Ok(0),
            Err(e) => Err(e),
        }
    }
}

/// `name` as an IMAP quoted string (RFC 3501: `\` and `"` escaped).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_folder_name_is_one_quoted_argument() {
        assert_eq!(super::quoted("Sent Items"), "\"Sent Items\"");
        assert_eq!(super::quoted(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
