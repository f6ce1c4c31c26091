//! The embedded store. This is the only module that names sled: tree names, key
//! formats and the schema version live here and nowhere else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::registry::{KnownCertificate, Registry};

/// Bumped when the layout of a tree changes; a store written by a newer version is
/// refused rather than misread.
pub const SCHEMA_VERSION: u64 = 1;

const META_TREE: &str = "meta";
const REGISTRY_TREE: &str = "registry";
const SCHEMA_KEY: &str = "schema_version";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot open the store at {path}: {source}; if the daemon is running it holds the store, \
         stop it or use its commands, otherwise check [store] path and its permissions"
    )]
    Open {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("the store failed ({source}); check free disk space and permissions of [store] path")]
    Io {
        #[from]
        source: sled::Error,
    },
    #[error(
        "the store entry {key} in {tree} is damaged ({source}); restore the store from a backup"
    )]
    Corrupt {
        tree: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the store at {path} has schema version {found}, newer than this program's {supported}; \
         run the newer mnotify-intake"
    )]
    NewerSchema {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
}

/// An open store.
pub struct Store {
    db: sled::Db,
    registry: sled::Tree,
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = sled::open(path).map_err(|source| StoreError::Open {
            path: path.into(),
            source,
        })?;
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
            }
            None => {
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            }
        }
        let registry = db.open_tree(REGISTRY_TREE)?;
        Ok(Store { db, registry })
    }

    /// The whole registry of known certificates.
    pub fn load_registry(&self) -> Result<Registry, StoreError> {
        let mut entries = Vec::new();
        for item in self.registry.iter() {
            let (key, value) = item?;
            let entry: KnownCertificate =
                serde_json::from_slice(&value).map_err(|source| StoreError::Corrupt {
                    tree: REGISTRY_TREE,
                    key: String::from_utf8_lossy(&key).into_owned(),
                    source,
                })?;
            entries.push(entry);
        }
        Ok(Registry::from_entries(entries))
    }

    /// Makes the stored registry equal to `registry` in one atomic batch, then flushes.
    /// Returns how many stored entries were written or removed.
    pub fn save_registry(&self, registry: &Registry) -> Result<usize, StoreError> {
        let wanted: BTreeMap<String, Vec<u8>> = registry
            .entries()
            .iter()
            .map(|e| {
                // Serialising plain data with string keys cannot fail.
                let json = serde_json::to_vec(e).expect("registry entries serialise");
                (e.key(), json)
            })
            .collect();
        let mut batch = sled::Batch::default();
        let mut changes = 0;
        for key in self.registry.iter().keys() {
            let key = key?;
            if !wanted.contains_key(String::from_utf8_lossy(&key).as_ref()) {
                batch.remove(key);
                changes += 1;
            }
        }
        for (key, json) in &wanted {
            if self.registry.get(key)?.as_deref() != Some(json.as_slice()) {
                batch.insert(key.as_bytes(), json.as_slice());
                changes += 1;
            }
        }
        self.registry.apply_batch(batch)?;
        self.db.flush()?;
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Status;
    use std::collections::BTreeSet;

    fn entry(serial: &str, service: &str) -> KnownCertificate {
        KnownCertificate {
            serial: serial.into(),
            issuer: "CN=STISC".into(),
            sha1: None,
            sha256: None,
            subject: None,
            not_after: None,
            status: Status::Active,
            services: BTreeSet::from([service.into()]),
            institution: Some("Agenția".into()),
        }
    }

    #[test]
    fn registry_round_trips_and_saving_twice_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db")).expect("open");
        let registry = Registry::from_entries([entry("AB", "MPass"), entry("CD", "MSign")]);
        assert_eq!(store.save_registry(&registry).expect("save"), 2);
        assert_eq!(store.save_registry(&registry).expect("save"), 0);
        let loaded = store.load_registry().expect("load");
        assert_eq!(loaded.entries(), registry.entries());
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db");
        {
            let db = sled::open(&path).expect("open");
            db.open_tree(META_TREE)
                .expect("tree")
                .insert(SCHEMA_KEY, &99u64.to_be_bytes())
                .expect("insert");
            db.flush().expect("flush");
        }
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::NewerSchema { found: 99, .. })
        ));
    }
}
