//! The embedded store. This is the only module that names sled: tree names, key
//! formats and the schema version live here and nowhere else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{de::DeserializeOwned, Serialize};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, Transactional, TransactionalTree,
};
use time::OffsetDateTime;

use crate::case::Case;
use crate::record::{Acceptance, CertificateCase, MessageId, OutboxEntry, OutboxState, SeenRecord};
use crate::registry::{KnownCertificate, Registry};

/// Bumped when the layout of a tree changes; a store written by a newer version is
/// refused rather than misread, an older one is read, and marked with this one when
/// the daemon starts (so the older program, which would misread it, refuses it).
///
/// 2: cases carry their service (a case of version 1 is MNotify's), and the sender
/// index has a key per service (`sender/{service}/{address}`; MNotify's unchanged).
pub const SCHEMA_VERSION: u64 = 2;

const META_TREE: &str = "meta";
const REGISTRY_TREE: &str = "registry";
/// Messages handled: `uid/{uidvalidity}/{uid}` and `id/{identity}` → [`SeenRecord`];
/// staff requests applied, `request/{id}` (empty: applied once); a message's read
/// attempts, `reading/{uidvalidity}/{uid}` (see `attempts.rs`).
const SEEN_TREE: &str = "seen";
/// Cases by token → [`Case`].
const CASES_TREE: &str = "cases";
/// `sender/{address}` and `thread/{message-id}` → case token.
const CASE_INDEX_TREE: &str = "case_index";
/// Outgoing mail by Message-ID → [`OutboxEntry`].
const OUTBOX_TREE: &str = "outbox";
/// Message-IDs of outbox entries still pending → empty; keeps `due` cheap when the
/// outbox holds years of sent replies.
const PENDING_TREE: &str = "outbox_pending";
/// Automatic replies per `{address}/{yyyy-mm-dd}` → count (u32 big-endian).
const RATES_TREE: &str = "rates";
/// Mail held for staff (sender not authenticated) by identity → its raw bytes, kept
/// until staff accept it or the daemon has handled it as accepted.
const HELD_TREE: &str = "held";
/// Held mail kept whole, by identity → its size and when it was kept (16 bytes): the
/// ceiling and the held retention read this, not the bytes themselves.
const HELD_SIZES_TREE: &str = "held_sizes";
/// Certificates accepted or confirmed in a case: `{issuer}\0{serial}` → the first
/// [`CertificateCase`], so that the same certificate offered by another institution
/// is shown to staff.
const CERTIFICATE_CASES_TREE: &str = "certificate_cases";
/// Message-IDs of outbox entries whose copy for the mailbox is being appended → empty:
/// after a crash that copy may be there already. A small tree of its own, so that the
/// mark costs a few bytes, not a rewrite of the entry.
const COPY_STARTED_TREE: &str = "copy_started";
/// Held mail staff accepted, by identity → [`Acceptance`]; removed once handled.
const ACCEPTED_TREE: &str = "held_accepted";
/// Held mail staff looked at or dismissed, by identity → [`HeldNotes`].
const HELD_NOTES_TREE: &str = "held_notes";
/// Each case's conversation: `{token}/{nanos}/{message-id}` → [`crate::conversation::Letter`].
const LETTERS_TREE: &str = "letters";
/// The console's sessions and sign-ins under way (see `sessions`); not backed up.
pub(crate) const WEB_TREE: &str = "web_sessions";
const SCHEMA_KEY: &str = "schema_version";

fn certificate_key(issuer: &str, serial: &str) -> Vec<u8> {
    format!("{issuer}\0{serial}").into_bytes()
}

/// What `accept_held` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptHeld {
    /// Recorded; the daemon handles it at its next pass.
    Accepted,
    /// No message with that identity is held.
    NotHeld,
    /// Held, but its bytes were not kept (over the size kept for staff).
    NotKept,
}

/// Everything one message changes, applied atomically.
#[derive(Debug, Clone, Copy)]
pub struct MessageCommit<'a> {
    pub seen: &'a SeenRecord,
    pub case: Option<&'a Case>,
    /// Other cases the message changes (a staff check opened on a case that holds a
    /// certificate of this mail).
    pub also: &'a [Case],
    /// Other cases the message opened (a second service it asks for), indexed as
    /// their applicant's latest of their service.
    pub opened: &'a [Case],
    /// Message-IDs that should lead to the case (the applicant's and our reply's).
    pub thread_ids: &'a [MessageId],
    pub outbox: Option<&'a OutboxEntry>,
    /// Reply counters (`{address}/{date}`, `case:…`, `domain:…`, `hour:…`) that go up
    /// by one.
    pub rate_keys: &'a [String],
    /// A reply of ours the message (a delivery report) marks failed: in the same
    /// transaction as the report's own record and the reply's case.
    pub reported: Option<&'a OutboxEntry>,
    /// The mail in its cases' conversations.
    pub letters: &'a [crate::conversation::Letter],
}

impl<'a> MessageCommit<'a> {
    /// A mail's record alone: no case, reply, counter or letter changes with it (a
    /// mail set aside unread, a record in tests and benches).
    pub fn record(seen: &'a SeenRecord) -> MessageCommit<'a> {
        MessageCommit {
            seen,
            case: None,
            also: &[],
            opened: &[],
            thread_ids: &[],
            outbox: None,
            rate_keys: &[],
            reported: None,
            letters: &[],
        }
    }
}

/// sled's page cache. Its default (1 GiB) lets a long-running daemon grow without
/// need: the working set is the recent messages and open cases, a few megabytes.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// An open store.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    registry: sled::Tree,
    seen: sled::Tree,
    cases: sled::Tree,
    case_index: sled::Tree,
    outbox: sled::Tree,
    pending: sled::Tree,
    rates: sled::Tree,
    held: sled::Tree,
    held_sizes: sled::Tree,
    accepted: sled::Tree,
    held_notes: sled::Tree,
    web: sled::Tree,
    certificate_cases: sled::Tree,
    copy_started: sled::Tree,
    letters: sled::Tree,
    meta: sled::Tree,
    /// Writers share it, a backup holds it alone: a backup is one consistent moment
    /// of every tree while the daemon goes on.
    gate: Arc<RwLock<()>>,
    /// Bumped after every change of the cases tree: [`Store::cases_now`]'s copy is
    /// good while it stays the same.
    cases_generation: Arc<std::sync::atomic::AtomicU64>,
    cases_copy: Arc<std::sync::Mutex<Option<cases::CasesCopy>>>,
    path: Arc<PathBuf>,
}

/// Meta key: when the last staff digest was queued (unix seconds).
const LAST_DIGEST_KEY: &str = "digest/last";
const FIRST_START_KEY: &str = "daemon/first-start";
/// Registry changes written per sled batch: importing 50,000 certificates in one batch
/// peaked at 397 MB, in batches of this size at 188 MB. An import cut short by a crash
/// is finished by importing again (re-importing changes nothing already there).
const REGISTRY_BATCH: usize = 1000;

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain data with string keys: serialisation cannot fail.
    serde_json::to_vec(value).expect("store records serialise")
}

/// The outcome of one of our transactions, which never abort on their own.
fn committed(result: Result<(), TransactionError<()>>) -> Result<(), StoreError> {
    match result {
        Ok(()) => Ok(()),
        Err(TransactionError::Storage(e)) => Err(StoreError::Io { source: e }),
        Err(TransactionError::Abort(())) => unreachable!("the transaction never aborts"),
    }
}

/// Writes an outbox entry inside a transaction, keeping the pending tree (the index of
/// entries with work left) in step with it.
/// A case's mail just queued joins its conversation here, the one place every reply,
/// notice, reminder and staff answer passes.
fn put_outbox(
    (outbox, pending, letters): (&TransactionalTree, &TransactionalTree, &TransactionalTree),
    entry: &OutboxEntry,
    json: &[u8],
) -> Result<(), ConflictableTransactionError<()>> {
    if entry.fresh() {
        if let Some(letter) = crate::conversation::Letter::ours(entry) {
            conversation::put_letter(letters, &letter)?;
        }
    }
    outbox.insert(outbox_key(&entry.message_id).as_bytes(), json)?;
    if entry.open() {
        pending.insert(outbox_key(&entry.message_id).as_bytes(), &[])?;
    } else {
        pending.remove(outbox_key(&entry.message_id).as_bytes())?;
    }
    Ok(())
}

/// Outbox (and copy mark) keys: the Message-ID with its brackets, as written since
/// the first version.
fn outbox_key(id: &MessageId) -> String {
    id.to_string()
}

/// Thread index keys: the bare Message-ID.
fn thread_key(id: &MessageId) -> String {
    format!("thread/{}", id.bare())
}

/// A key of the seen tree that holds a message record (`uid/…` or `id/…`), not a staff
/// request's mark (`request/…`, empty).
fn is_message_record(key: &[u8]) -> bool {
    key.starts_with(b"uid/") || key.starts_with(b"id/")
}

/// The reply counter of recipients submitted in the clock hour of `at`.
fn recipients_key(at: OffsetDateTime) -> String {
    format!("smtp-recipients:{}T{:02}", at.date(), at.hour())
}

fn uid_key(uid_validity: u32, uid: u32) -> String {
    format!("uid/{uid_validity}/{uid}")
}

/// Free bytes (for an unprivileged user) on the file system holding `path`, or its
/// nearest existing parent; `None` when it cannot be told.
pub fn disk_free(path: &Path) -> Option<u64> {
    let existing = path.ancestors().find(|p| p.exists())?;
    let stat = nix::sys::statvfs::statvfs(existing).ok()?;
    Some(stat.blocks_available().saturating_mul(stat.fragment_size()))
}

/// Bytes of the files under `dir` (a store's directory; 0 when it is missing): what
/// `store compact` reports and the store_size bench measures.
pub fn files_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => files_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|source| StoreError::opening(path, source))?;
        let meta = db.open_tree(META_TREE)?;
        match meta.get(SCHEMA_KEY)? {
            Some(v) => {
                let found = u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0xff; 8]));
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema {
                        path: path.into(),
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
                // An older layout reads as it is (new fields have defaults); the
                // daemon marks it current when it starts ([`Store::mark_schema_current`]),
                // `check` and reading commands leave it as it is.
            }
            None => {
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            }
        }
        Ok(Store {
            registry: db.open_tree(REGISTRY_TREE)?,
            seen: db.open_tree(SEEN_TREE)?,
            cases: db.open_tree(CASES_TREE)?,
            case_index: db.open_tree(CASE_INDEX_TREE)?,
            outbox: db.open_tree(OUTBOX_TREE)?,
            pending: db.open_tree(PENDING_TREE)?,
            rates: db.open_tree(RATES_TREE)?,
            held: db.open_tree(HELD_TREE)?,
            held_sizes: db.open_tree(HELD_SIZES_TREE)?,
            accepted: db.open_tree(ACCEPTED_TREE)?,
            held_notes: db.open_tree(HELD_NOTES_TREE)?,
            web: db.open_tree(WEB_TREE)?,
            certificate_cases: db.open_tree(CERTIFICATE_CASES_TREE)?,
            copy_started: db.open_tree(COPY_STARTED_TREE)?,
            letters: db.open_tree(LETTERS_TREE)?,
            meta,
            db,
            gate: Arc::default(),
            cases_generation: Arc::default(),
            cases_copy: Arc::default(),
            path: Arc::new(path.to_path_buf()),
        })
    }

    /// Where the store is on disk.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Held while writing (shared between writers; a backup waits for them).
    fn writing(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        // A writer that panicked left nothing half-done (sled's own transactions):
        // the gate itself holds no data.
        self.gate
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Bytes of what the store holds (keys and values of every tree); the files on
    /// disk are larger, as sled frees space lazily.
    pub fn content_bytes(&self) -> Result<u64, StoreError> {
        let mut total = 0u64;
        for name in self.db.tree_names() {
            for item in self.db.open_tree(&name)?.iter() {
                let (k, v) = item?;
                total += (k.len() + v.len()) as u64;
            }
        }
        Ok(total)
    }

    /// Bytes the store takes on disk, as sled counts them.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    /// Makes everything committed so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    fn get<T: DeserializeOwned>(
        tree: &sled::Tree,
        name: &'static str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        tree.get(key)?
            .map(|bytes| parsed(name, key.as_bytes(), &bytes))
            .transpose()
    }

    /// Every record `entries` yields (a tree, or a prefix of one), parsed.
    fn all<T: DeserializeOwned>(
        name: &'static str,
        entries: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
    ) -> Result<Vec<T>, StoreError> {
        entries
            .map(|item| {
                let (key, value) = item?;
                parsed(name, &key, &value)
            })
            .collect()
    }

    pub fn seen_uid(&self, uid_validity: u32, uid: u32) -> Result<Option<SeenRecord>, StoreError> {
        Self::get(&self.seen, SEEN_TREE, &uid_key(uid_validity, uid))
    }

    pub fn seen_identity(&self, identity: &str) -> Result<Option<SeenRecord>, StoreError> {
        Self::get(&self.seen, SEEN_TREE, &format!("id/{identity}"))
    }

    /// Records a message under a new UID that was already handled under another (a
    /// UIDVALIDITY change, or the same mail delivered twice).
    pub fn mark_uid(&self, record: &SeenRecord) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.seen
            .insert(uid_key(record.uid_validity, record.uid), to_json(record))?;
        self.seen
            .remove(attempts::reading_key(record.uid_validity, record.uid))?;
        Ok(())
    }

    pub fn replies_counted(&self, rate_key: &str) -> Result<u32, StoreError> {
        Ok(self
            .rates
            .get(rate_key)?
            .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes))
            .unwrap_or(0))
    }

    /// Recipients submitted in the 24 clock hours up to `now` (the daily ceiling of
    /// [`crate::pace`]); kept in the reply counters, so a restart does not reset it.
    pub fn recipients_last_day(&self, now: OffsetDateTime) -> Result<u32, StoreError> {
        let mut total = 0u32;
        for hours_ago in 0..24 {
            let at = now - time::Duration::hours(hours_ago);
            total = total.saturating_add(self.replies_counted(&recipients_key(at))?);
        }
        Ok(total)
    }

    /// Adds `n` recipients submitted at `now` to the daily count.
    pub fn count_recipients(&self, n: u32, now: OffsetDateTime) -> Result<(), StoreError> {
        let _writing = self.writing();
        let key = recipients_key(now);
        let count = self.replies_counted(&key)?.saturating_add(n);
        self.rates.insert(key.as_bytes(), &count.to_be_bytes())?;
        Ok(())
    }

    /// Applies one message's changes in a single transaction (not yet flushed).
    pub fn commit(&self, c: MessageCommit<'_>) -> Result<(), StoreError> {
        let _writing = self.writing();
        let _cases = self.changing_cases();
        let seen_json = to_json(c.seen);
        let case_json = c.case.map(to_json);
        let outbox_json = c.outbox.map(to_json);
        let reported_json = c.reported.map(to_json);
        let letters_kept = self.letters_kept(c.letters)?;
        let result = (
            &self.seen,
            &self.cases,
            &self.case_index,
            &self.outbox,
            &self.pending,
            &self.rates,
            &self.certificate_cases,
            &self.letters,
        )
            .transaction(
                |(seen, cases, index, outbox, pending, rates, certificates, letters)| {
                    seen.insert(
                        uid_key(c.seen.uid_validity, c.seen.uid).as_bytes(),
                        seen_json.as_slice(),
                    )?;
                    seen.insert(
                        format!("id/{}", c.seen.identity).as_bytes(),
                        seen_json.as_slice(),
                    )?;
                    seen.remove(attempts::reading_key(c.seen.uid_validity, c.seen.uid).as_bytes())?;
                    if let (Some(case), Some(json)) = (c.case, &case_json) {
                        cases.insert(case.token.as_bytes(), json.as_slice())?;
                        for a in &c.seen.accepted {
                            let key = certificate_key(&a.issuer, &a.serial);
                            if certificates.get(&key)?.is_none() {
                                let first = to_json(&CertificateCase {
                                    case: case.token.clone(),
                                    owner: case.owner(),
                                    serial: Some(a.serial.clone()),
                                    issuer: Some(a.issuer.clone()),
                                });
                                certificates.insert(key, first.as_slice())?;
                            }
                        }
                        index.insert(
                            sender_key(&case.service, &case.applicant).as_bytes(),
                            case.token.as_bytes(),
                        )?;
                        for id in c.thread_ids {
                            index.insert(thread_key(id).as_bytes(), case.token.as_bytes())?;
                        }
                    }
                    for other in c.also {
                        cases.insert(other.token.as_bytes(), to_json(other).as_slice())?;
                    }
                    for opened in c.opened {
                        cases.insert(opened.token.as_bytes(), to_json(opened).as_slice())?;
                        index.insert(
                            sender_key(&opened.service, &opened.applicant).as_bytes(),
                            opened.token.as_bytes(),
                        )?;
                    }
                    conversation::put_letters(letters, &letters_kept)?;
                    if let (Some(entry), Some(json)) = (c.outbox, &outbox_json) {
                        put_outbox((outbox, pending, letters), entry, json)?;
                    }
                    if let (Some(entry), Some(json)) = (c.reported, &reported_json) {
                        put_outbox((outbox, pending, letters), entry, json)?;
                    }
                    for key in c.rate_keys {
                        let count = rates
                            .get(key)?
                            .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes))
                            .unwrap_or(0);
                        rates.insert(key.as_bytes(), &count.saturating_add(1).to_be_bytes())?;
                    }
                    Ok::<(), ConflictableTransactionError<()>>(())
                },
            );
        committed(result)
    }

    /// Whether the staff request `id` was applied already.
    pub fn request_applied(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.seen.contains_key(format!("request/{id}").as_bytes())?)
    }

    /// Applies a staff request: the case, its thread ids, the notice to the applicant
    /// and the request's id, all or nothing; flushed before returning.
    pub fn commit_staff(
        &self,
        request_id: &str,
        case: &Case,
        thread_ids: &[MessageId],
        notice: Option<&OutboxEntry>,
    ) -> Result<(), StoreError> {
        let _writing = self.writing();
        let _cases = self.changing_cases();
        let case_json = to_json(case);
        let notice_json = notice.map(to_json);
        let result = (
            &self.seen,
            &self.cases,
            &self.case_index,
            &self.outbox,
            &self.pending,
            &self.letters,
        )
            .transaction(|(seen, cases, index, outbox, pending, letters)| {
                seen.insert(format!("request/{request_id}").as_bytes(), &[])?;
                cases.insert(case.token.as_bytes(), case_json.as_slice())?;
                for id in thread_ids {
                    index.insert(thread_key(id).as_bytes(), case.token.as_bytes())?;
                }
                if let (Some(entry), Some(json)) = (notice, &notice_json) {
                    put_outbox((outbox, pending, letters), entry, json)?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        committed(result)?;
        self.flush()
    }

    pub fn seen_records(&self) -> Result<Vec<SeenRecord>, StoreError> {
        let mut out = Vec::new();
        for item in self.seen.scan_prefix("id/") {
            let (key, value) = item?;
            out.push(parse_seen(&key, &value)?);
        }
        Ok(out)
    }

    /// Saves a case changed outside mail processing (staff commands).
    /// Marks the store as of this program's schema version (an older one reads as it
    /// is; the mark keeps the older program, which would misread it, from opening it).
    pub fn mark_schema_current(&self) -> Result<(), StoreError> {
        let current = SCHEMA_VERSION.to_be_bytes();
        if self.meta.get(SCHEMA_KEY)?.as_deref() != Some(current.as_slice()) {
            self.meta.insert(SCHEMA_KEY, &current)?;
            self.flush()?;
        }
        Ok(())
    }
}

mod error;
pub use error::StoreError;
mod attempts;
mod backup;
mod cases;
mod conversation;
pub use backup::{newest_backup, prune_backups, restore, verify, BackupSummary};
pub use cases::sender_key;
mod held;
mod sessions;
pub use sessions::{PendingSignIn, WebSession};
mod lookup;
pub use held::{HeldCeiling, HeldKept, HeldNotes, Viewing};
mod merging;
mod moments;
mod outbox;
mod registry;
mod retention;

pub use retention::Pruned;

#[cfg(test)]
mod tests;

/// A record of tree `name` as stored; one that does not read names its tree and key.
fn parsed<T: DeserializeOwned>(
    name: &'static str,
    key: &[u8],
    value: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(value).map_err(|source| StoreError::Corrupt {
        tree: name,
        key: String::from_utf8_lossy(key).into_owned(),
        source,
    })
}

/// A mail's record as stored.
fn parse_seen(key: &[u8], value: &[u8]) -> Result<SeenRecord, StoreError> {
    parsed(SEEN_TREE, key, value)
}
