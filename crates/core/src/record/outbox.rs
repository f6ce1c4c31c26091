//! Outgoing mail and what became of it: the outbox's records.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::MessageId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    /// Sent over SMTP (and a copy appended to Sent).
    Send,
    /// Appended to Drafts for staff to send.
    Draft,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    Pending,
    Sent,
    /// Permanent failure or retries exhausted; reported, never retried.
    Failed,
}

/// A message waiting to go out, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub message_id: MessageId,
    pub kind: OutboxKind,
    pub from: String,
    pub to: String,
    pub case: Option<String>,
    /// The complete message (kept as base64 in the store's JSON).
    #[serde(rename = "raw_base64", with = "super::base64_bytes")]
    pub raw: Vec<u8>,
    pub attempts: u32,
    /// Unix seconds of the next attempt.
    pub next_attempt: i64,
    pub state: OutboxState,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// A copy is in the mailbox (Sent for a reply sent, Drafts for a draft), or none
    /// is wanted.
    #[serde(default)]
    pub copied: bool,
    /// When it was given up: refused for good, out of attempts, or bounced later.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub failed_at: Option<OffsetDateTime>,
    /// Times the server refused the copy for the Sent folder (over quota, …).
    #[serde(default)]
    pub copy_refusals: u32,
    /// The staff member whose answer this is (`cases reply`, the case page); `None`
    /// for the daemon's own replies, notices and digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

impl OutboxEntry {
    /// How many addresses it goes to (`to` holds several, comma-separated, for the
    /// staff digest).
    pub fn recipient_count(&self) -> u32 {
        self.to.split(',').filter(|a| !a.trim().is_empty()).count() as u32
    }

    /// Gives the message up for good, saying why (shown by `status` and the digest).
    pub fn fail(&mut self, reason: String, at: OffsetDateTime) {
        self.state = OutboxState::Failed;
        self.last_error = Some(reason);
        self.failed_at = Some(at);
    }

    /// Just queued: no attempt made, nothing saved (the moment its letter joins the
    /// case's conversation).
    pub fn fresh(&self) -> bool {
        self.state == OutboxState::Pending && self.attempts == 0 && !self.copied
    }

    /// Still has work to do: sending, or the copy for staff.
    pub fn open(&self) -> bool {
        self.state == OutboxState::Pending || (self.state == OutboxState::Sent && !self.copied)
    }
}
