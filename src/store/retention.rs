//! Keeping the store bounded: what is older than the retention period is reduced to
//! what exactly-once needs, and counters of past days go.
//!
//! - a message record keeps its identity, UIDVALIDITY/UID, outcome, folder, case token
//!   and date (so the mail is never handled or answered again); who wrote, the
//!   subject, the problems, the certificates, the sender's verdict and notes go;
//! - replies sent (or given up) leave the outbox; held mail's kept bytes go;
//! - completed cases go, with their index entries (sender, thread);
//! - the letters of a case's conversation go with the mail records (and with the case);
//! - reply counters of days before yesterday go, whatever the retention.

use super::*;

/// What a pruning removed or reduced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    pub records_reduced: u64,
    pub replies_removed: u64,
    pub held_removed: u64,
    pub cases_removed: u64,
    pub counters_removed: u64,
    pub letters_removed: u64,
}

/// The `yyyy-mm-dd` a reply counter counts (its last date in the key).
fn counter_day(key: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    (0..key.len().saturating_sub(9))
        .rev()
        .filter(|&i| key.is_char_boundary(i) && key.is_char_boundary(i + 10))
        .find_map(|i| time::Date::parse(&key[i..i + 10], &format).ok())
}

impl Store {
    /// Reduces or removes what is older than `before`, and counters of days before
    /// `now`'s yesterday.
    pub fn prune(&self, before: OffsetDateTime, now: OffsetDateTime) -> Result<Pruned, StoreError> {
        let _writing = self.writing();
        let _cases = self.changing_cases();
        let mut pruned = Pruned::default();
        // Message records only (`uid/…`, `id/…`); the tree also marks staff requests
        // applied (`request/…`, empty), which exactly-once needs and which hold nothing.
        let records = self
            .seen
            .scan_prefix("uid/")
            .chain(self.seen.scan_prefix("id/"));
        for item in records {
            let (key, value) = item?;
            let record = parse_seen(&key, &value)?;
            if record.at >= before {
                continue;
            }
            if key.starts_with(b"id/") && self.drop_held_bytes(&record.identity)? {
                pruned.held_removed += 1;
            }
            if !record.is_reduced() {
                self.seen.insert(&key, to_json(&record.reduced()))?;
                pruned.records_reduced += u64::from(key.starts_with(b"id/"));
            }
        }
        for item in self.outbox.iter() {
            let (key, value) = item?;
            let Ok(entry) = serde_json::from_slice::<OutboxEntry>(&value) else {
                continue;
            };
            if entry.created_at < before && !entry.open() {
                self.outbox.remove(&key)?;
                self.pending.remove(&key)?;
                pruned.replies_removed += 1;
            }
        }
        let mut gone = std::collections::HashSet::new();
        for case in self.cases()? {
            if case.completed() && case.updated_at < before {
                self.cases.remove(case.token.as_bytes())?;
                gone.insert(case.token);
                pruned.cases_removed += 1;
            }
        }
        if !gone.is_empty() {
            for item in self.case_index.iter() {
                let (key, token) = item?;
                if gone.contains(String::from_utf8_lossy(&token).as_ref()) {
                    self.case_index.remove(&key)?;
                }
            }
        }
        pruned.letters_removed = self.prune_letters(before, &gone)?;
        let yesterday = now.date().previous_day().unwrap_or(now.date());
        for key in self.rates.iter().keys() {
            let key = key?;
            if counter_day(&String::from_utf8_lossy(&key)).is_some_and(|d| d < yesterday) {
                self.rates.remove(&key)?;
                pruned.counters_removed += 1;
            }
        }
        self.flush()?;
        Ok(pruned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_dated_by_their_last_date() {
        let d = |s: &str| counter_day(s).map(|d| d.to_string());
        assert_eq!(d("ion@x.md/2026-11-30").as_deref(), Some("2026-11-30"));
        assert_eq!(d("case:ABC/2026-11-29").as_deref(), Some("2026-11-29"));
        assert_eq!(d("hour:2026-11-28T09").as_deref(), Some("2026-11-28"));
        assert_eq!(d("unverified:2026-11-28T23").as_deref(), Some("2026-11-28"));
        assert_eq!(
            d("2020-01-01@x.md/2026-11-30").as_deref(),
            Some("2026-11-30")
        );
        assert_eq!(d("nothing"), None);
    }
}
