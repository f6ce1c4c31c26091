//! Read attempts: a message is counted as being read, durably, before the daemon reads
//! it, and the count is cleared by the commit of its decision. A mail that crashes or
//! stalls the daemon while it is read therefore leaves its count behind, and after
//! three the inbox sets it aside for people instead of reading it again at every start.

use super::{Store, StoreError};

/// `reading/{uidvalidity}/{uid}` in the seen tree → attempts (one byte).
pub(super) fn reading_key(uid_validity: u32, uid: u32) -> String {
    format!("reading/{uid_validity}/{uid}")
}

impl Store {
    /// Counts one more attempt at reading the message and flushes it to disk before
    /// returning (so that it survives the crash it may cause); returns the count.
    pub fn begin_read(&self, uid_validity: u32, uid: u32) -> Result<u8, StoreError> {
        let count = self.read_attempts(uid_validity, uid)?.saturating_add(1);
        {
            let _writing = self.writing();
            self.seen
                .insert(reading_key(uid_validity, uid).as_bytes(), &[count])?;
        }
        self.flush()?;
        Ok(count)
    }

    /// Attempts at reading the message that did not end in a commit.
    pub fn read_attempts(&self, uid_validity: u32, uid: u32) -> Result<u8, StoreError> {
        Ok(self
            .seen
            .get(reading_key(uid_validity, uid).as_bytes())?
            .and_then(|v| v.first().copied())
            .unwrap_or(0))
    }
}
