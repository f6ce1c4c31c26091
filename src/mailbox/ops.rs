//! The mailbox operations the daemon's policies use (which mail to fetch, moves, the
//! copies of replies in Sent), as a trait: [`super::Mailbox`] talks to the real server;
//! an in-process stub lets the inbox and copy policies have fast unit tests beside the
//! real-server ones (and produce failures a real server will not on demand).

use std::future::Future;

use super::{Mailbox, MailboxError, Part};
use crate::record::MessageId;

/// One IMAP connection, as the daemon's inbox and copy policies see it.
pub trait MailboxOps {
    /// Selects a folder; returns its UIDVALIDITY.
    fn select(&mut self, folder: &str) -> impl Future<Output = Result<u32, MailboxError>>;
    /// UIDs of the selected folder's messages that arrived on `day` or later (all for
    /// `None`), ascending, without those flagged `\Deleted`.
    fn uids_since(
        &mut self,
        day: Option<time::Date>,
    ) -> impl Future<Output = Result<Vec<u32>, MailboxError>>;
    /// `(uid, size, arrival as Unix seconds)` of the given messages.
    fn sizes(
        &mut self,
        uids: &[u32],
    ) -> impl Future<Output = Result<Vec<(u32, u64, Option<i64>)>, MailboxError>>;
    /// Whole messages (or only their headers), without setting `\Seen`.
    fn fetch(
        &mut self,
        uids: &[u32],
        part: Part,
    ) -> impl Future<Output = Result<Vec<(u32, Vec<u8>)>, MailboxError>>;
    /// Moves messages of the selected folder to `folder`.
    fn move_to(
        &mut self,
        uids: &[u32],
        folder: &str,
    ) -> impl Future<Output = Result<(), MailboxError>>;
    /// Appends a message to `folder` with flags like `(\Seen)`.
    fn append(
        &mut self,
        folder: &str,
        flags: &str,
        raw: &[u8],
    ) -> impl Future<Output = Result<(), MailboxError>>;
    /// Whether `e` was the server refusing a command on a connection still usable.
    fn refused(&mut self, e: &MailboxError) -> impl Future<Output = bool>;
    /// Whether the selected folder holds a message with this Message-ID.
    fn holds_message_id(
        &mut self,
        message_id: &MessageId,
    ) -> impl Future<Output = Result<bool, MailboxError>>;
}

impl MailboxOps for Mailbox {
    async fn select(&mut self, folder: &str) -> Result<u32, MailboxError> {
        Mailbox::select(self, folder).await
    }

    async fn uids_since(&mut self, day: Option<time::Date>) -> Result<Vec<u32>, MailboxError> {
        Mailbox::uids_since(self, day).await
    }

    async fn sizes(&mut self, uids: &[u32]) -> Result<Vec<(u32, u64, Option<i64>)>, MailboxError> {
        Mailbox::sizes(self, uids).await
    }

    async fn fetch(
        &mut self,
        uids: &[u32],
        part: Part,
    ) -> Result<Vec<(u32, Vec<u8>)>, MailboxError> {
        Mailbox::fetch(self, uids, part).await
    }

    async fn move_to(&mut self, uids: &[u32], folder: &str) -> Result<(), MailboxError> {
        Mailbox::move_to(self, uids, folder).await
    }

    async fn append(&mut self, folder: &str, flags: &str, raw: &[u8]) -> Result<(), MailboxError> {
        Mailbox::append(self, folder, flags, raw).await
    }

    async fn refused(&mut self, e: &MailboxError) -> bool {
        Mailbox::refused(self, e).await
    }

    async fn holds_message_id(&mut self, message_id: &MessageId) -> Result<bool, MailboxError> {
        Mailbox::holds_message_id(self, message_id).await
    }
}
