//! Mail held for staff (its sender not authenticated) and staff's acceptances.

use super::*;
use serde::Deserialize;

pub use crate::config::HeldCeiling;

/// A held mail staff accepted: its record, the acceptance, and its bytes if kept.
pub type AcceptedHeld = (SeenRecord, Acceptance, Option<Vec<u8>>);

/// What is kept of held mail now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeldKept {
    pub messages: u64,
    pub bytes: u64,
}

/// `held_sizes` values: the bytes kept and when (Unix seconds), big-endian.
fn size_entry(bytes: u64, at: OffsetDateTime) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&bytes.to_be_bytes());
    v[8..].copy_from_slice(&at.unix_timestamp().to_be_bytes());
    v
}

fn read_size_entry(v: &[u8]) -> (u64, i64) {
    let bytes = v
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes);
    let at = v
        .get(8..16)
        .and_then(|b| b.try_into().ok())
        .map_or(0, i64::from_be_bytes);
    (bytes, at)
}

/// Who looked at a held mail, and whether staff dismissed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldNotes {
    #[serde(default)]
    pub views: Vec<Viewing>,
    /// Dismissed: it stays in Needs-Human, out of the held list.
    #[serde(default)]
    pub dismissed: Option<Acceptance>,
}

/// One look at a held mail in the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewing {
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Views kept per held mail (the oldest go first).
const VIEWS_KEPT: usize = 200;

/// Held mail's bytes are files in this folder of the store, one a mail, not sled
/// values: sled kept copies of large values long after they were removed (30 held
/// mails of 5 MB grew it by 222 MB under a 100 MB ceiling), while a file's disk is
/// its own and given back when it goes. Older stores' bytes in the `held` tree are
/// still read and removed.
const HELD_FOLDER: &str = "held";

/// The file that keeps the held mail `identity` in the store at `store`.
pub(super) fn held_file(store: &Path, identity: &str) -> PathBuf {
    use sha2::Digest;
    store
        .join(HELD_FOLDER)
        .join(hex::encode(sha2::Sha256::digest(identity.as_bytes())))
}

/// Writes a held mail's file whole or not at all (a temporary name, synced, renamed).
pub(super) fn write_held_file(store: &Path, identity: &str, raw: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let file = held_file(store, identity);
    let folder = store.join(HELD_FOLDER);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&folder)
        .map_err(StoreError::Write)?;
    let temporary = folder.join(".writing");
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(StoreError::Write)?;
    out.write_all(raw).map_err(StoreError::Write)?;
    out.sync_all().map_err(StoreError::Write)?;
    std::fs::rename(&temporary, &file).map_err(StoreError::Write)
}

impl Store {
    /// The notes on a held mail (none yet: the default).
    pub fn held_notes(&self, identity: &str) -> Result<HeldNotes, StoreError> {
        Ok(self
            .held_notes
            .get(identity.as_bytes())?
            .and_then(|v| serde_json::from_slice(&v).ok())
            .unwrap_or_default())
    }

    /// Records that `by` looked at a held mail.
    pub fn record_held_view(&self, identity: &str, viewing: Viewing) -> Result<(), StoreError> {
        let _writing = self.writing();
        let mut notes = self.held_notes(identity)?;
        notes.views.push(viewing);
        if notes.views.len() > VIEWS_KEPT {
            notes.views.remove(0);
        }
        self.held_notes
            .insert(identity.as_bytes(), to_json(&notes))?;
        Ok(())
    }

    /// Staff dismissed a held mail: it leaves the held list, stays in its folder.
    /// `false` when no such mail is held now.
    pub fn dismiss_held(&self, identity: &str, by: &Acceptance) -> Result<bool, StoreError> {
        let _writing = self.writing();
        let held = self.seen_identity(identity)?.is_some_and(|r| r.held)
            && !self.accepted.contains_key(identity.as_bytes())?;
        let mut notes = self.held_notes(identity)?;
        if !held || notes.dismissed.is_some() {
            return Ok(false);
        }
        notes.dismissed = Some(by.clone());
        self.held_notes
            .insert(identity.as_bytes(), to_json(&notes))?;
        self.flush()?;
        Ok(true)
    }

    /// The held mail's bytes, when kept.
    pub fn held_bytes(&self, identity: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match std::fs::read(held_file(&self.path, identity)) {
            Ok(raw) => Ok(Some(raw)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(self.held.get(identity.as_bytes())?.map(|v| v.to_vec()))
            }
            Err(e) => Err(StoreError::Write(e)),
        }
    }

    /// Whether the held mail's bytes are kept.
    fn holds_bytes(&self, identity: &str) -> Result<bool, StoreError> {
        Ok(held_file(&self.path, identity).exists()
            || self.held.contains_key(identity.as_bytes())?)
    }

    /// Lets go of a held mail's bytes (its file, or an older store's value); whether
    /// there were any.
    pub(super) fn drop_held_bytes(&self, identity: &str) -> Result<bool, StoreError> {
        let file = match std::fs::remove_file(held_file(&self.path, identity)) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(StoreError::Write(e)),
        };
        let value = self.held.remove(identity.as_bytes())?.is_some();
        self.held_sizes.remove(identity.as_bytes())?;
        Ok(file || value)
    }

    /// Keeps a held message's bytes for staff to accept (before its record is
    /// committed: a crash in between leaves bytes no record names, which `held`
    /// ignores), unless that would pass `ceiling`; returns whether it was kept.
    pub fn keep_held(
        &self,
        identity: &str,
        raw: &[u8],
        ceiling: HeldCeiling,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let _writing = self.writing();
        let kept = self.held_kept()?;
        let size = raw.len() as u64;
        if kept.messages + 1 > ceiling.max_messages || kept.bytes + size > ceiling.max_bytes {
            return Ok(false);
        }
        write_held_file(&self.path, identity, raw)?;
        self.held_sizes
            .insert(identity.as_bytes(), &size_entry(size, now))?;
        Ok(true)
    }

    /// How many held messages are kept whole, and their bytes.
    pub fn held_kept(&self) -> Result<HeldKept, StoreError> {
        let mut kept = HeldKept::default();
        for item in self.held_sizes.iter() {
            let (_, v) = item?;
            kept.messages += 1;
            kept.bytes += read_size_entry(&v).0;
        }
        Ok(kept)
    }

    /// Drops the bytes of held mail kept since before `before` (`[store]
    /// held_retention_days`); its records stay (`held accept` reads it again from the
    /// folder it was filed in). Returns how many went.
    pub fn prune_held(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let _writing = self.writing();
        let mut removed = 0;
        for item in self.held_sizes.iter() {
            let (key, v) = item?;
            if read_size_entry(&v).1 < before.unix_timestamp() {
                self.drop_held_bytes(&String::from_utf8_lossy(&key))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The messages held for staff and not yet accepted or dismissed, newest first.
    /// Read on every console page: only the records whose stored JSON says
    /// `"held":true` are parsed (a string inside a record cannot say it: its quotes
    /// are escaped), not a year of mail.
    pub fn held_records(&self) -> Result<Vec<SeenRecord>, StoreError> {
        let marked = memchr::memmem::Finder::new(b"\"held\":true");
        let mut held = Vec::new();
        for item in self.seen.scan_prefix("id/") {
            let (key, value) = item?;
            if marked.find(&value).is_none() {
                continue;
            }
            held.push(parse_seen(&key, &value)?);
        }
        let mut out: Vec<SeenRecord> = held
            .into_iter()
            .filter(|r| r.held)
            .filter(|r| {
                !self
                    .accepted
                    .contains_key(r.identity.as_bytes())
                    .unwrap_or(false)
            })
            .filter(|r| {
                self.held_notes(&r.identity)
                    .map_or(true, |n| n.dismissed.is_none())
            })
            .collect();
        out.sort_by_key(|r| std::cmp::Reverse(r.at));
        Ok(out)
    }

    /// Records that staff accepted a held message.
    pub fn accept_held(
        &self,
        identity: &str,
        acceptance: &Acceptance,
    ) -> Result<AcceptHeld, StoreError> {
        let _writing = self.writing();
        let held = self.seen_identity(identity)?.is_some_and(|r| r.held);
        if !held {
            return Ok(AcceptHeld::NotHeld);
        }
        if !self.holds_bytes(identity)? && crate::process::message_id_of(identity).is_none() {
            // Not kept, and nothing to find it by again in the folder.
            return Ok(AcceptHeld::NotKept);
        }
        self.accepted
            .insert(identity.as_bytes(), to_json(acceptance))?;
        self.flush()?;
        Ok(AcceptHeld::Accepted)
    }

    /// Accepted held messages waiting to be handled: record, acceptance, and the bytes
    /// when they were kept (else the daemon reads the mail again from its folder).
    pub fn accepted_held(&self) -> Result<Vec<AcceptedHeld>, StoreError> {
        let mut out = Vec::new();
        for item in self.accepted.iter() {
            let (key, value) = item?;
            let identity = String::from_utf8_lossy(&key).into_owned();
            let acceptance: Acceptance = parsed(ACCEPTED_TREE, &key, &value)?;
            let Some(record) = self.seen_identity(&identity)? else {
                continue;
            };
            let raw = self.held_bytes(&identity)?;
            out.push((record, acceptance, raw));
        }
        Ok(out)
    }

    /// A held message was handled as accepted: its bytes and acceptance go.
    pub fn finish_held(&self, identity: &str) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.drop_held_bytes(identity)?;
        self.accepted.remove(identity.as_bytes())?;
        self.flush()
    }
}
