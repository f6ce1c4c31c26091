//! Backups: every tree of the store at one consistent moment, as a text file of JSON
//! lines that a person can read and a later version can still restore.
//!
//! ```text
//! {"format":"mnotify-intake store backup","version":1,"schema":1,"created":"…"}
//! {"tree":"seen","key":"<base64>","value":"<base64>"}
//! …
//! {"end":true,"entries":N,"sha256":"<hex of every byte above this line>"}
//! ```
//!
//! Writers hold the store's gate shared, a backup holds it alone while it reads, so the
//! copy is of one moment even while the daemon runs. A backup that was cut short or
//! altered fails its count or checksum and is refused before anything is written.

use std::io::{BufRead, Write};

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::*;
use crate::registry::KnownCertificate;

const FORMAT: &str = "mnotify-intake store backup";
const VERSION: u32 = 1;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSummary {
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Keys in every tree.
    pub entries: u64,
    /// Trees with at least one key.
    pub trees: usize,
    pub sha256: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    schema: u64,
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    tree: String,
    key: String,
    value: String,
}

#[derive(Serialize, Deserialize)]
struct Trailer {
    end: bool,
    entries: u64,
    sha256: String,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn bad(reason: impl Into<String>) -> StoreError {
    StoreError::BadBackup(reason.into())
}

/// Writes lines and hashes them on the way.
struct Hashing<'a> {
    out: &'a mut dyn Write,
    hash: sha2::Sha256,
}

impl Hashing<'_> {
    fn line<T: Serialize>(&mut self, value: &T) -> Result<(), StoreError> {
        let mut line = to_json(value);
        line.push(b'\n');
        self.hash.update(&line);
        self.out.write_all(&line).map_err(StoreError::Write)
    }
}

impl Store {
    /// Writes a backup of every tree to `out`; writers wait meanwhile (reading a store
    /// of 10,000 handled mails takes well under a second).
    pub fn backup(
        &self,
        out: &mut dyn Write,
        now: OffsetDateTime,
    ) -> Result<BackupSummary, StoreError> {
        let _alone = self.gate.write().unwrap_or_else(|p| p.into_inner());
        let mut w = Hashing {
            out,
            hash: sha2::Sha256::new(),
        };
        w.line(&Header {
            format: FORMAT.into(),
            version: VERSION,
            schema: SCHEMA_VERSION,
            created: now,
        })?;
        let (mut entries, mut trees) = (0u64, 0usize);
        for name in self.db.tree_names() {
            // Sessions are signed in again, not restored.
            if name.as_ref() == WEB_TREE.as_bytes() {
                continue;
            }
            let tree = self.db.open_tree(&name)?;
            let tree_name = String::from_utf8_lossy(&name).into_owned();
            let mut any = false;
            for item in tree.iter() {
                let (key, value) = item?;
                w.line(&Entry {
                    tree: tree_name.clone(),
                    key: b64(&key),
                    value: b64(&value),
                })?;
                entries += 1;
                any = true;
            }
            trees += usize::from(any);
        }
        // Held mail's bytes, kept as files, written as the `held` tree they once were.
        let mut any = false;
        for item in self.held_sizes.iter() {
            let (key, _) = item?;
            let identity = String::from_utf8_lossy(&key);
            let file = super::held::held_file(&self.path, &identity);
            let Ok(raw) = std::fs::read(&file) else {
                continue;
            };
            w.line(&Entry {
                tree: HELD_TREE.into(),
                key: b64(&key),
                value: b64(&raw),
            })?;
            entries += 1;
            any = true;
        }
        trees += usize::from(any);
        let sha256 = hex::encode(w.hash.finalize_reset());
        w.line(&Trailer {
            end: true,
            entries,
            sha256: sha256.clone(),
        })?;
        w.out.flush().map_err(StoreError::Write)?;
        Ok(BackupSummary {
            created: now,
            entries,
            trees,
            sha256,
        })
    }
}

/// Reads a backup through, checking its header, every line, its count and checksum,
/// and that every record of the trees the program reads is readable; `each` gets
/// every entry (`tree`, `key`, `value`).
fn read_backup(
    input: &mut dyn BufRead,
    mut each: impl FnMut(&str, Vec<u8>, Vec<u8>) -> Result<(), StoreError>,
) -> Result<BackupSummary, StoreError> {
    let mut hash = sha2::Sha256::new();
    let mut line = Vec::new();
    let mut next = |line: &mut Vec<u8>| -> Result<bool, StoreError> {
        line.clear();
        Ok(input.read_until(b'\n', line).map_err(StoreError::Write)? > 0)
    };
    if !next(&mut line)? {
        return Err(bad("the file is empty"));
    }
    let header: Header = serde_json::from_slice(&line)
        .map_err(|_| bad("the first line is not a backup header: not a backup of this program"))?;
    if header.format != FORMAT || header.version > VERSION {
        return Err(bad(format!(
            "format {:?} version {} is not one this program reads",
            header.format, header.version
        )));
    }
    if header.schema > SCHEMA_VERSION {
        return Err(bad(format!(
            "it holds a store of schema version {}, newer than this program's {SCHEMA_VERSION}; restore it with the newer mnotify-intake",
            header.schema
        )));
    }
    hash.update(&line);
    let decode = |what: &str, text: &str, n: u64| {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| bad(format!("line {n}: the {what} is not base64")))
    };
    let mut entries = 0u64;
    let mut trees = std::collections::BTreeSet::new();
    loop {
        if !next(&mut line)? {
            return Err(bad(format!(
                "it ends after {entries} entries without its closing line: the copy was cut short"
            )));
        }
        let n = entries + 2;
        if !line.ends_with(b"\n") {
            return Err(bad(format!(
                "it ends in the middle of line {n}: the copy was cut short"
            )));
        }
        if let Ok(trailer) = serde_json::from_slice::<Trailer>(&line) {
            let sha256 = hex::encode(hash.finalize());
            if !trailer.end || trailer.entries != entries || trailer.sha256 != sha256 {
                return Err(bad(
                    "its count or checksum does not match its content: the file was altered or damaged",
                ));
            }
            return Ok(BackupSummary {
                created: header.created,
                entries,
                trees: trees.len(),
                sha256,
            });
        }
        let entry: Entry =
            serde_json::from_slice(&line).map_err(|_| bad(format!("line {n} is not an entry")))?;
        hash.update(&line);
        let key = decode("key", &entry.key, n)?;
        let value = decode("value", &entry.value, n)?;
        readable(&entry.tree, &key, &value)
            .map_err(|e| bad(format!("line {n} ({} record): {e}", entry.tree)))?;
        trees.insert(entry.tree.clone());
        each(&entry.tree, key, value)?;
        entries += 1;
    }
}

/// Whether a record of a tree the program reads parses as what it should be.
fn readable(tree: &str, key: &[u8], value: &[u8]) -> Result<(), serde_json::Error> {
    match tree {
        SEEN_TREE if is_message_record(key) => {
            serde_json::from_slice::<SeenRecord>(value).map(drop)
        }
        CASES_TREE => serde_json::from_slice::<Case>(value).map(drop),
        OUTBOX_TREE => serde_json::from_slice::<OutboxEntry>(value).map(drop),
        ACCEPTED_TREE => serde_json::from_slice::<Acceptance>(value).map(drop),
        CERTIFICATE_CASES_TREE => serde_json::from_slice::<CertificateCase>(value).map(drop),
        REGISTRY_TREE if key != b"" => serde_json::from_slice::<KnownCertificate>(value).map(drop),
        _ => Ok(()),
    }
}

/// Checks a backup file without restoring it.
pub fn verify(input: &mut dyn BufRead) -> Result<BackupSummary, StoreError> {
    read_backup(input, |_, _, _| Ok(()))
}

/// Restores a backup into a new store at `path`, which must not exist yet (or be an
/// empty directory). The backup is checked whole first: nothing is written from a
/// damaged one.
pub fn restore(
    input: &mut (impl BufRead + std::io::Seek),
    path: &Path,
) -> Result<BackupSummary, StoreError> {
    verify(input)?;
    input
        .seek(std::io::SeekFrom::Start(0))
        .map_err(StoreError::Write)?;
    let occupied = std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some());
    if occupied {
        return Err(bad(format!(
            "{} already holds a store; move it aside first (it is never overwritten)",
            path.display()
        )));
    }
    let db = sled::Config::new()
        .path(path)
        .cache_capacity(CACHE_BYTES)
        .open()
        .map_err(|source| StoreError::opening(path, source))?;
    let summary = read_backup(input, |tree, key, value| {
        if tree == HELD_TREE {
            let identity = String::from_utf8_lossy(&key);
            super::held::write_held_file(path, &identity, &value)?;
        } else {
            db.open_tree(tree)?.insert(key, value)?;
        }
        Ok(())
    })?;
    db.flush()?;
    Ok(summary)
}

/// The file name of a backup taken at `at`: `{kind}-YYYYMMDDTHHMMSSZ.backup`, so that
/// names sort by time.
fn file_name(kind: &str, at: OffsetDateTime) -> String {
    format!(
        "{kind}-{:04}{:02}{:02}T{:02}{:02}{:02}Z.backup",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

impl Store {
    /// Writes a backup into `dir` (created, owner only, if missing) as
    /// `{kind}-{time}.backup`. It is written under a temporary name, synced, then
    /// renamed: a file with a backup's name is always whole. Never follows a link or
    /// overwrites a file.
    pub fn write_backup_file(
        &self,
        dir: &Path,
        kind: &str,
        now: OffsetDateTime,
    ) -> Result<(PathBuf, BackupSummary), StoreError> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(StoreError::Write)?;
        let name = file_name(kind, now);
        let path = dir.join(&name);
        let partial = dir.join(format!(".{name}.partial"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&partial)
            .map_err(StoreError::Write)?;
        let written = (|| {
            let mut out = std::io::BufWriter::new(&mut file);
            let summary = self.backup(&mut out, now)?;
            out.flush().map_err(StoreError::Write)?;
            drop(out);
            file.sync_all().map_err(StoreError::Write)?;
            if path.exists() {
                return Err(StoreError::Write(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("{} exists already", path.display()),
                )));
            }
            std::fs::rename(&partial, &path).map_err(StoreError::Write)?;
            Ok(summary)
        })();
        match written {
            Ok(summary) => Ok((path, summary)),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(e)
            }
        }
    }
}

/// Removes the oldest `{kind}-*.backup` files of `dir` beyond the newest `keep`;
/// returns how many went.
pub fn prune_backups(dir: &Path, kind: &str, keep: usize) -> Result<usize, StoreError> {
    let prefix = format!("{kind}-");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(StoreError::Write)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix) && n.ends_with(".backup"))
        .collect();
    names.sort();
    let extra = names.len().saturating_sub(keep);
    for name in &names[..extra] {
        std::fs::remove_file(dir.join(name)).map_err(StoreError::Write)?;
    }
    Ok(extra)
}

/// When the newest `{kind}-*.backup` of `dir` was taken, from its name.
pub fn newest_backup(dir: &Path, kind: &str) -> Option<OffsetDateTime> {
    let prefix = format!("{kind}-");
    let newest = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(&prefix) && n.ends_with(".backup"))
        .max()?;
    let stamp = newest.strip_prefix(&prefix)?.strip_suffix(".backup")?;
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(stamp, &format)
        .ok()
        .map(|t| t.assume_utc())
}
