//! An in-process mailbox for unit tests of the daemon's policies: folders of messages
//! by UID, and failures injected on demand. Never a substitute for the real-server
//! tests; it makes the failures a real server will not produce at will.

use std::collections::{BTreeMap, VecDeque};

use super::{MailboxError, MailboxOps, Part};
use crate::record::MessageId;

/// A message in a stub folder.
#[derive(Debug, Clone)]
pub struct StubMessage {
    pub raw: Vec<u8>,
    /// INTERNALDATE as Unix seconds.
    pub arrived: i64,
}

/// What the stub does next time, instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// FETCH answers without this UID (as Dovecot does on a message it cannot read).
    Withhold(u32),
    /// APPEND is refused (NO: over quota), the connection stays usable.
    RefuseAppend,
}

/// Folders by name, each UID → message; a log of the commands that changed something.
#[derive(Debug, Default)]
pub struct StubMailbox {
    pub folders: BTreeMap<String, BTreeMap<u32, StubMessage>>,
    pub uid_validity: u32,
    selected: Option<String>,
    next_uid: u32,
    pub faults: VecDeque<Fault>,
    /// Every FETCH asked for, in order (the UIDs of each).
    pub fetches: Vec<Vec<u32>>,
    /// Every APPEND made, by folder.
    pub appends: Vec<String>,
}

impl StubMailbox {
    pub fn new() -> StubMailbox {
        StubMailbox {
            uid_validity: 1,
            next_uid: 1,
            ..StubMailbox::default()
        }
    }

    /// Delivers a message to `folder`; returns its UID.
    pub fn deliver(&mut self, folder: &str, raw: &[u8], arrived: i64) -> u32 {
        let uid = self.next_uid;
        self.next_uid += 1;
        self.folders.entry(folder.into()).or_default().insert(
            uid,
            StubMessage {
                raw: raw.to_vec(),
                arrived,
            },
        );
        uid
    }

    /// The UIDs in `folder`.
    pub fn uids_in(&self, folder: &str) -> Vec<u32> {
        self.folders
            .get(folder)
            .map(|f| f.keys().copied().collect())
            .unwrap_or_default()
    }

    fn current(&mut self) -> &mut BTreeMap<u32, StubMessage> {
        let name = self.selected.clone().unwrap_or_default();
        self.folders.entry(name).or_default()
    }

    fn take_fault(&mut self, matching: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let i = self.faults.iter().position(matching)?;
        self.faults.remove(i)
    }
}

fn refusal() -> MailboxError {
    MailboxError::Protocol(async_imap::error::Error::No("[OVERQUOTA] stub".into()))
}

impl MailboxOps for StubMailbox {
    async fn select(&mut self, folder: &str) -> Result<u32, MailboxError> {
        self.selected = Some(folder.into());
        self.folders.entry(folder.into()).or_default();
        Ok(self.uid_validity)
    }

    async fn uids_since(&mut self, _day: Option<time::Date>) -> Result<Vec<u32>, MailboxError> {
        Ok(self.current().keys().copied().collect())
    }

    async fn sizes(&mut self, uids: &[u32]) -> Result<Vec<(u32, u64, Option<i64>)>, MailboxError> {
        let folder = self.current();
        Ok(uids
            .iter()
            .filter_map(|u| {
                let m = folder.get(u)?;
                Some((*u, m.raw.len() as u64, Some(m.arrived)))
            })
            .collect())
    }

    async fn fetch(
        &mut self,
        uids: &[u32],
        part: Part,
    ) -> Result<Vec<(u32, Vec<u8>)>, MailboxError> {
        let headers_only = part == Part::Header;
        self.fetches.push(uids.to_vec());
        let withheld: Vec<u32> = uids
            .iter()
            .filter(|u| self.faults.iter().any(|f| *f == Fault::Withhold(**u)))
            .copied()
            .collect();
        for u in &withheld {
            self.take_fault(|f| *f == Fault::Withhold(*u));
        }
        let folder = self.current();
        Ok(uids
            .iter()
            .filter(|u| !withheld.contains(u))
            .filter_map(|u| {
                let raw = &folder.get(u)?.raw;
                let bytes = if headers_only {
                    let end = raw
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .map_or(raw.len(), |i| i + 4);
                    raw[..end].to_vec()
                } else {
                    raw.clone()
                };
                Some((*u, bytes))
            })
            .collect())
    }

    async fn move_to(&mut self, uids: &[u32], folder: &str) -> Result<(), MailboxError> {
        let mut moved = Vec::new();
        let current = self.current();
        for u in uids {
            if let Some(m) = current.remove(u) {
                moved.push(m);
            }
        }
        for m in moved {
            let uid = self.next_uid;
            self.next_uid += 1;
            self.folders
                .entry(folder.into())
                .or_default()
                .insert(uid, m);
        }
        Ok(())
    }

    async fn append(&mut self, folder: &str, _flags: &str, raw: &[u8]) -> Result<(), MailboxError> {
        if self.take_fault(|f| *f == Fault::RefuseAppend).is_some() {
            return Err(refusal());
        }
        self.appends.push(folder.into());
        self.deliver(folder, raw, 0);
        Ok(())
    }

    async fn refused(&mut self, e: &MailboxError) -> bool {
        e.is_refusal()
    }

    async fn holds_message_id(&mut self, message_id: &MessageId) -> Result<bool, MailboxError> {
        let wanted = message_id.to_string();
        Ok(self.current().values().any(|m| {
            crate::intake::read(&m.raw, &[])
                .message_id
                .as_deref()
                .and_then(MessageId::parse)
                .is_some_and(|id| id.to_string() == wanted)
        }))
    }
}
