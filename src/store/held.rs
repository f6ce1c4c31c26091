//! Mail held for staff (its sender not authenticated) and staff's acceptances.

use super::*;

impl Store {
    /// Keeps a held message's bytes for staff to accept (before its record is
    /// committed: a crash in between leaves bytes no record names, which `held` ignores).
    pub fn keep_held(&self, identity: &str, raw: &[u8]) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.held.insert(identity.as_bytes(), raw)?;
        Ok(())
    }

    /// The messages held for staff and not yet accepted, newest first.
    pub fn held_records(&self) -> Result<Vec<SeenRecord>, StoreError> {
        let mut out: Vec<SeenRecord> = self
            .seen_records()?
            .into_iter()
            .filter(|r| r.held)
            .filter(|r| {
                !self
                    .accepted
                    .contains_key(r.identity.as_bytes())
                    .unwrap_or(false)
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
        if !self.held.contains_key(identity.as_bytes())? {
            return Ok(AcceptHeld::NotKept);
        }
        self.accepted
            .insert(identity.as_bytes(), to_json(acceptance))?;
        self.flush()?;
        Ok(AcceptHeld::Accepted)
    }

    /// Accepted held messages waiting to be handled: record, acceptance, bytes.
    pub fn accepted_held(&self) -> Result<Vec<(SeenRecord, Acceptance, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for item in self.accepted.iter() {
            let (key, value) = item?;
            let identity = String::from_utf8_lossy(&key).into_owned();
            let acceptance: Acceptance =
                serde_json::from_slice(&value).map_err(|source| StoreError::Corrupt {
                    tree: ACCEPTED_TREE,
                    key: identity.clone(),
                    source,
                })?;
            let (Some(record), Some(raw)) =
                (self.seen_identity(&identity)?, self.held.get(key.as_ref())?)
            else {
                continue;
            };
            out.push((record, acceptance, raw.to_vec()));
        }
        Ok(out)
    }

    /// A held message was handled as accepted: its bytes and acceptance go.
    pub fn finish_held(&self, identity: &str) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.held.remove(identity.as_bytes())?;
        self.accepted.remove(identity.as_bytes())?;
        self.flush()
    }
}
