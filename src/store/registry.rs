//! The registry of known certificates, kept in the store.

use super::*;

impl Store {
    /// The whole registry of known certificates.
    pub fn load_registry(&self) -> Result<Registry, StoreError> {
        let entries: Vec<KnownCertificate> = Self::all(REGISTRY_TREE, self.registry.iter())?;
        Ok(Registry::from_entries(entries))
    }

    /// Makes the stored registry equal to `registry` in one atomic batch, then flushes.
    /// Returns how many stored entries were written or removed.
    pub fn save_registry(&self, registry: &Registry) -> Result<usize, StoreError> {
        let _writing = self.writing();
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
        let mut in_batch = 0;
        let mut changes = 0;
        for key in self.registry.iter().keys() {
            let key = key?;
            if !wanted.contains_key(String::from_utf8_lossy(&key).as_ref()) {
                batch.remove(key);
                in_batch += 1;
                changes += 1;
            }
        }
        for (key, json) in &wanted {
            if self.registry.get(key)?.as_deref() != Some(json.as_slice()) {
                batch.insert(key.as_bytes(), json.as_slice());
                in_batch += 1;
                changes += 1;
                if in_batch == REGISTRY_BATCH {
                    self.registry.apply_batch(std::mem::take(&mut batch))?;
                    in_batch = 0;
                }
            }
        }
        self.registry.apply_batch(batch)?;
        self.db.flush()?;
        Ok(changes)
    }
}
