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

/// `junk/{uidvalidity}/{uid}` in the seen tree → when it was left (Unix seconds): mail
/// in the junk folder the daemon looked at once and left alone (its sender was not
/// authenticated), so that it is neither read again nor lost from the counts.
fn junk_key(uid_validity: u32, uid: u32) -> String {
    format!("junk/{uid_validity}/{uid}")
}

impl Store {
    /// Records that the junk folder's message was looked at and left alone.
    pub fn mark_junk_left(
        &self,
        uid_validity: u32,
        uid: u32,
        at: time::OffsetDateTime,
    ) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.seen.insert(
            junk_key(uid_validity, uid).as_bytes(),
            &at.unix_timestamp().to_be_bytes(),
        )?;
        Ok(())
    }

    /// Whether the junk folder's message was looked at and left alone before.
    pub fn junk_left(&self, uid_validity: u32, uid: u32) -> Result<bool, StoreError> {
        Ok(self
            .seen
            .contains_key(junk_key(uid_validity, uid).as_bytes())?)
    }

    /// How many junk messages were left alone since `since` (all: `None`).
    pub fn junk_left_count(&self, since: Option<time::OffsetDateTime>) -> Result<u64, StoreError> {
        let mut n = 0;
        for item in self.seen.scan_prefix("junk/") {
            let (_, v) = item?;
            let at = v.as_ref().try_into().map_or(0, i64::from_be_bytes);
            if since.is_none_or(|s| at >= s.unix_timestamp()) {
                n += 1;
            }
        }
        Ok(n)
    }
}
