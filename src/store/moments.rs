//! The store's moments: when the daemon first ran on it and when the last digest went.

use super::*;

impl Store {
    /// When the last staff digest was queued.
    pub fn last_digest(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        self.time(LAST_DIGEST_KEY)
    }

    /// When the daemon first ran on this store: mail older than this is the mailbox's
    /// history (see `[imap] backlog`). Set once, on the first call; returned ever after.
    /// A store that has handled mail already (made before this was recorded) dates
    /// from its first handled message.
    pub fn first_start(&self, now: OffsetDateTime) -> Result<OffsetDateTime, StoreError> {
        let _writing = self.writing();
        if self.meta.get(FIRST_START_KEY)?.is_none() {
            let first = self
                .seen_records()?
                .iter()
                .map(|r| r.at)
                .min()
                .map_or(now, |t| t.min(now));
            let _ = self.meta.compare_and_swap(
                FIRST_START_KEY,
                None as Option<&[u8]>,
                Some(&first.unix_timestamp().to_be_bytes()[..]),
            )?;
        }
        self.flush()?;
        Ok(self.time(FIRST_START_KEY)?.unwrap_or(now))
    }

    /// When the daemon first ran on this store, if it has run.
    pub fn first_started(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        self.time(FIRST_START_KEY)
    }

    fn time(&self, key: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(self
            .meta
            .get(key)?
            .and_then(|v| v.as_ref().try_into().ok().map(i64::from_be_bytes))
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()))
    }

    /// Records the digest of up to `at`, queues its message (if any) and marks the
    /// staff request that asked for it (if any) applied, together.
    pub fn commit_digest(
        &self,
        at: OffsetDateTime,
        messages: &[OutboxEntry],
        request_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let _writing = self.writing();
        let jsons: Vec<Vec<u8>> = messages.iter().map(to_json).collect();
        let trees = (
            &self.meta,
            &self.outbox,
            &self.pending,
            &self.seen,
            &self.letters,
        );
        let result = trees.transaction(|(meta, outbox, pending, seen, letters)| {
            meta.insert(LAST_DIGEST_KEY, &at.unix_timestamp().to_be_bytes())?;
            for (entry, json) in messages.iter().zip(&jsons) {
                put_outbox((outbox, pending, letters), entry, json)?;
            }
            // A staff `digest --send` is applied once even if the daemon dies
            // before it removes the request file.
            if let Some(id) = request_id {
                seen.insert(format!("request/{id}").as_bytes(), &[])?;
            }
            Ok::<(), ConflictableTransactionError<()>>(())
        });
        committed(result)?;
        self.flush()
    }
}
