//! The conversation of each case ([`Letter`]s): written in the transaction that
//! commits the mail, the staff answer or the queued reply it records, read in order
//! for the case page and `cases show`, and pruned with the mail records.

use super::*;
use crate::conversation::Letter;

/// A letter's key: its case, then [`letter_order`], so that a case's letters are read
/// in order and writing the same letter again replaces it.
pub(super) fn letter_key(letter: &Letter) -> Vec<u8> {
    format!("{}/{}", letter.case, letter_order(letter)).into_bytes()
}

/// Where a letter stands among its case's: the moment (nanoseconds, zero-padded so
/// they sort by time), the applicant's mail before our answer to it at the same
/// moment, then its Message-ID.
fn letter_order(letter: &Letter) -> String {
    let nanos = letter.at.unix_timestamp_nanos().max(0);
    let rank = match letter.writer {
        crate::conversation::Writer::Applicant { .. } => 0,
        _ => 1,
    };
    format!(
        "{nanos:024}/{rank}/{}",
        letter.message_id.as_deref().unwrap_or("")
    )
}

/// The moment in a letter's key (nanoseconds), if the key has one.
fn key_nanos(key: &[u8]) -> Option<i128> {
    std::str::from_utf8(key)
        .ok()?
        .split('/')
        .nth(1)?
        .parse()
        .ok()
}

/// Writes `letter` inside a transaction.
pub(super) fn put_letter(
    letters: &TransactionalTree,
    letter: &Letter,
) -> Result<(), ConflictableTransactionError<()>> {
    letters.insert(letter_key(letter), to_json(letter))?;
    Ok(())
}

/// Writes each of `all` inside a transaction.
pub(super) fn put_letters(
    letters: &TransactionalTree,
    all: &[Letter],
) -> Result<(), ConflictableTransactionError<()>> {
    all.iter().try_for_each(|l| put_letter(letters, l))
}

impl Store {
    /// `letters` as their cases keep them: whole within
    /// [`crate::conversation::LETTERS_KEPT_WHOLE`] letters a case, shortened past.
    pub(super) fn letters_kept(&self, letters: &[Letter]) -> Result<Vec<Letter>, StoreError> {
        letters
            .iter()
            .map(|letter| {
                let prefix = format!("{}/", letter.case);
                let kept = self
                    .letters
                    .scan_prefix(prefix.as_bytes())
                    .keys()
                    .take(crate::conversation::LETTERS_KEPT_WHOLE)
                    .count();
                Ok(if kept < crate::conversation::LETTERS_KEPT_WHOLE {
                    letter.clone()
                } else {
                    letter.clone().shortened()
                })
            })
            .collect()
    }

    /// The letters of case `token`, oldest first.
    pub fn letters(&self, token: &str) -> Result<Vec<Letter>, StoreError> {
        let prefix = format!("{token}/");
        Self::all(LETTERS_TREE, self.letters.scan_prefix(prefix.as_bytes()))
    }

    /// The conversation of `case`: its letters and those of the cases staff merged
    /// into it, oldest first.
    pub fn conversation(&self, case: &Case) -> Result<Vec<Letter>, StoreError> {
        let mut all = self.letters(&case.token)?;
        for entry in &case.timeline {
            if let Some(crate::remark::Remark::MergedFrom { case: from, .. }) = &entry.remark {
                all.extend(self.letters(from)?);
            }
        }
        all.sort_by_cached_key(letter_order);
        Ok(all)
    }

    /// Removes the letters older than `before`, and those of the cases `gone`; how many.
    /// The moment and the case are read from the keys: no letter is parsed.
    pub(super) fn prune_letters(
        &self,
        before: OffsetDateTime,
        gone: &std::collections::HashSet<String>,
    ) -> Result<u64, StoreError> {
        let mut removed = 0;
        let before = before.unix_timestamp_nanos();
        for key in self.letters.iter().keys() {
            let key = key?;
            let old = key_nanos(&key).is_none_or(|at| at < before);
            let case = String::from_utf8_lossy(&key);
            let of_gone = case.split('/').next().is_some_and(|t| gone.contains(t));
            if old || of_gone {
                self.letters.remove(&key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Meta key: the highest UID of the Sent folder (of one UIDVALIDITY) looked at.
fn sent_mark_key(validity: u32) -> String {
    format!("sent/mark/{validity}")
}
/// Meta key: copies in Sent the daemon could not tie to a case (left alone).
const SENT_UNTIED_KEY: &str = "sent/untied";

impl Store {
    /// The highest UID of the Sent folder (UIDVALIDITY `validity`) already looked at.
    pub fn sent_mark(&self, validity: u32) -> Result<Option<u32>, StoreError> {
        Ok(self
            .meta
            .get(sent_mark_key(validity))?
            .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes)))
    }

    /// Records that the Sent folder was looked at up to `uid`, and how many copies of
    /// that look could not be tied to a case; durably.
    pub fn set_sent_mark(&self, validity: u32, uid: u32, untied: u64) -> Result<(), StoreError> {
        let _writing = self.writing();
        self.meta
            .insert(sent_mark_key(validity), &uid.to_be_bytes())?;
        if untied > 0 {
            let before = self.sent_untied()?;
            self.meta
                .insert(SENT_UNTIED_KEY, &(before + untied).to_be_bytes())?;
        }
        self.flush()
    }

    /// Copies in Sent left alone because no case was theirs (`status` shows it).
    pub fn sent_untied(&self) -> Result<u64, StoreError> {
        Ok(self
            .meta
            .get(SENT_UNTIED_KEY)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0))
    }

    /// Whether the answer written in the mailbox under `identity` is recorded already.
    pub fn mailbox_answer_recorded(&self, identity: &str) -> Result<bool, StoreError> {
        Ok(self
            .seen
            .contains_key(format!("sent/{identity}").as_bytes())?)
    }

    /// Records an answer staff wrote in the mailbox: the case after it, its letter, its
    /// Message-ID leading to the case (the applicant's answer to it comes back there),
    /// and its identity marked recorded, all or nothing; flushed.
    pub fn commit_mailbox_answer(
        &self,
        identity: &str,
        case: &Case,
        letter: &Letter,
        thread_id: Option<&MessageId>,
    ) -> Result<(), StoreError> {
        let _writing = self.writing();
        let _cases = self.changing_cases();
        let case_json = to_json(case);
        let trees = (&self.seen, &self.cases, &self.case_index, &self.letters);
        let result = trees.transaction(|(seen, cases, index, letters)| {
            seen.insert(format!("sent/{identity}").as_bytes(), &[])?;
            cases.insert(case.token.as_bytes(), case_json.as_slice())?;
            if let Some(id) = thread_id {
                index.insert(thread_key(id).as_bytes(), case.token.as_bytes())?;
            }
            put_letter(letters, letter)?;
            Ok::<(), ConflictableTransactionError<()>>(())
        });
        committed(result)?;
        self.flush()
    }
}
