//! The junk folder (`[imap] junk_folder`, or the folder the server marks `\Junk`):
//! Exchange Online's filters put some institutions' mail in "Junk Email", where a
//! daemon that watches only the inbox never sees it. Mail there from an institution our
//! receiving server authenticated is handled like inbox mail (and filed in Processed);
//! junk from before the first start is history, like the inbox's; everything else is
//! left where it is, counted once (check, the digest, the metrics), never answered.

use super::*;
use crate::mailbox::Part;

impl Daemon {
    /// One pass over the junk folder, before the inbox's (which selects the inbox
    /// again: IDLE watches the selected folder).
    pub(super) async fn scan_junk(
        &mut self,
        mb: &mut Mailbox,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<(), DaemonError> {
        let Some(junk) = self.imap.junk_folder.clone() else {
            return Ok(());
        };
        let inbox_validity = mb.select(&self.imap.inbox.clone()).await?;
        let validity = mb.select(&junk).await?;
        // The inbox pass that follows selects the inbox again.
        self.junk_pass(mb, records_validity(validity, inbox_validity), shutdown)
            .await
    }

    /// `validity`: the junk folder's UIDVALIDITY as its records are keyed
    /// ([`records_validity`]); the UIDs are the folder's own.
    async fn junk_pass(
        &mut self,
        mb: &mut Mailbox,
        validity: u32,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<(), DaemonError> {
        let since = (self.imap.backlog == Backlog::Leave)
            .then(|| (self.first_start - time::Duration::days(1)).date());
        let mut fresh = Vec::new();
        for uid in mb.uids_since(since).await? {
            if self.store.seen_uid(validity, uid)?.is_none()
                && !self.store.junk_left(validity, uid)?
            {
                fresh.push(uid);
            }
        }
        if fresh.is_empty() {
            return Ok(());
        }
        let listed = mb.sizes(&fresh).await?;
        let cut = self.first_start.unix_timestamp();
        let history = |uid: u32| {
            self.imap.backlog == Backlog::Leave
                && listed
                    .iter()
                    .any(|&(u, _, arrived)| u == uid && arrived.is_some_and(|t| t < cut))
        };
        let fresh: Vec<u32> = fresh.into_iter().filter(|&u| !history(u)).collect();
        if fresh.is_empty() {
            return Ok(());
        }
        // Who sent it is in the header: only that is read of mail left alone.
        let mut wanted = Vec::new();
        for (uid, head) in mb.fetch(&fresh, Part::Header).await? {
            let facts = crate::intake::read(&head, &self.config.own_addresses);
            let sender =
                crate::trust::assess(&facts.trace, facts.from.as_deref(), &self.config.trust);
            if sender.authenticated && facts.automatic.is_none() {
                wanted.push(uid);
            } else {
                self.store.mark_junk_left(validity, uid, now())?;
                info!(
                    uid,
                    from = facts.from.as_deref().unwrap_or("-"),
                    "junk left alone: {}",
                    sender.reason
                );
            }
        }
        self.store.flush()?;
        if wanted.is_empty() {
            return Ok(());
        }
        info!(
            count = wanted.len(),
            "mail from authenticated institutions in the junk folder, handled as inbox mail"
        );
        let sizes: BTreeMap<u32, u64> = listed.iter().map(|&(u, size, _)| (u, size)).collect();
        for batch in inbox::batches(&wanted, &sizes, self.config.reply.max_message_bytes) {
            if self.batch(mb, validity, &batch, &sizes, shutdown).await? == inbox::Pass::Stopped {
                break;
            }
        }
        Ok(())
    }
}

/// The UIDVALIDITY the junk folder's records are kept under. Records are keyed by
/// UIDVALIDITY and UID, and servers may give two folders the same UIDVALIDITY (Cyrus
/// does for folders made in the same second): the junk folder's records get a value
/// of their own, derived from its UIDVALIDITY (a new UIDVALIDITY, new records, as for
/// the inbox), in the upper half, never the inbox's.
pub(super) fn records_validity(junk: u32, inbox: u32) -> u32 {
    // FNV-1a of "junk/<validity>".
    let mut hash: u32 = 0x811c_9dc5;
    for byte in format!("junk/{junk}").bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let value = hash | 0x8000_0000;
    if value == inbox {
        value ^ 1
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::records_validity;

    #[test]
    fn junk_records_never_share_the_inbox_s_validity() {
        for (junk, inbox) in [(1_796_151_844, 1_796_151_844), (7, 9), (u32::MAX, 0)] {
            let v = records_validity(junk, inbox);
            assert_ne!(v, inbox);
            assert_eq!(v, records_validity(junk, inbox), "stable");
        }
        assert_ne!(records_validity(1, 5), records_validity(2, 5));
    }
}
