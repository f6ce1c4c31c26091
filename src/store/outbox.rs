//! The outbox: replies queued, sent, failed, and the marks of copies being saved.

use super::*;

impl Store {
    /// Queues one message outside mail processing, durably.
    pub fn queue(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.update_outbox(entry)
    }

    /// The outbox entry of the message `message_id`, if any.
    pub fn outbox_entry(&self, message_id: &MessageId) -> Result<Option<OutboxEntry>, StoreError> {
        Self::get(&self.outbox, OUTBOX_TREE, &outbox_key(message_id))
    }

    pub fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        Self::all(OUTBOX_TREE, self.outbox.iter())
    }

    fn open_entries(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut out = Vec::new();
        for item in self.pending.iter() {
            let (key, _) = item?;
            let key = String::from_utf8_lossy(&key).into_owned();
            if let Some(entry) = Self::get::<OutboxEntry>(&self.outbox, OUTBOX_TREE, &key)? {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// Entries not yet sent, saved as draft or given up.
    pub fn pending(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        Ok(self
            .open_entries()?
            .into_iter()
            .filter(|e| e.state == OutboxState::Pending)
            .collect())
    }

    /// Replies sent whose copy for the Sent folder is still to be saved.
    pub fn uncopied(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut out: Vec<OutboxEntry> = self
            .open_entries()?
            .into_iter()
            .filter(|e| e.state == OutboxState::Sent && !e.copied)
            .collect();
        out.sort_by_key(|e| e.created_at);
        Ok(out)
    }

    /// Pending entries whose next attempt is due at `now` (unix seconds), oldest first.
    pub fn due(&self, now: i64) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut due: Vec<OutboxEntry> = self
            .pending()?
            .into_iter()
            .filter(|e| e.next_attempt <= now)
            .collect();
        due.sort_by_key(|e| e.created_at);
        Ok(due)
    }

    /// Records what happened to an outbox entry, durably: a reply marked sent must stay
    /// marked after a crash, or it would be sent again.
    pub fn update_outbox(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        self.record_outbox(entry)?;
        self.flush()
    }

    /// Like [`Store::update_outbox`] without the flush, for callers that flush once
    /// after several updates. A reply sent and copied (or a draft saved) is kept
    /// without its text: the mailbox has it; `status`, the digest and the timeline need
    /// only who, when and what became of it.
    pub fn record_outbox(&self, entry: &OutboxEntry) -> Result<(), StoreError> {
        let _writing = self.writing();
        let json = if entry.state == OutboxState::Sent && entry.copied {
            to_json(&OutboxEntry {
                raw: Vec::new(),
                ..entry.clone()
            })
        } else {
            to_json(entry)
        };
        let trees = (&self.outbox, &self.pending, &self.letters);
        let result = trees.transaction(|(outbox, pending, letters)| {
            put_outbox((outbox, pending, letters), entry, &json)?;
            Ok::<(), ConflictableTransactionError<()>>(())
        });
        committed(result)?;
        Ok(())
    }

    /// Marks the copies about to be appended (durably: flushed), and says which were
    /// marked already, by an earlier attempt that may have appended them.
    pub fn start_copies(&self, message_ids: &[&MessageId]) -> Result<Vec<bool>, StoreError> {
        let _writing = self.writing();
        let mut before = Vec::with_capacity(message_ids.len());
        for id in message_ids {
            before.push(
                self.copy_started
                    .insert(outbox_key(id).as_bytes(), &[])?
                    .is_some(),
            );
        }
        self.flush()?;
        Ok(before)
    }

    /// The copy is in the mailbox (or given up): its mark goes.
    pub fn copy_done(&self, message_id: &MessageId) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.copy_started
            .remove(outbox_key(message_id).as_bytes())?;
        Ok(())
    }
}
