//! The inbox: which messages to fetch (sizes, the backlog rule, failures), fetching them
//! in batches, handing each to [`super::message`], moving them, and setting aside what
//! the server cannot hand over.

use super::message::Handled;
use super::*;
use crate::mailbox::{MailboxOps, Part};

impl Daemon {
    /// One pass over the inbox: every message not yet handled is handled, every handled
    /// one still there is moved.
    pub(super) async fn scan(
        &mut self,
        mb: &mut impl MailboxOps,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<(), DaemonError> {
        let uid_validity = mb.select(&self.imap.inbox).await?;
        // The history left alone is not even listed: SINCE the day before the first
        // start (IMAP counts whole days; the exact cut is made below).
        let since = (self.imap.backlog == Backlog::Leave)
            .then(|| (self.first_start - time::Duration::days(1)).date());
        let uids = mb.uids_since(since).await?;
        let mut fresh = Vec::new();
        let mut leftover: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for uid in uids {
            match self.store.seen_uid(uid_validity, uid)? {
                None => fresh.push(uid),
                Some(seen) => {
                    if let Some(dest) = seen.destination {
                        leftover.entry(dest).or_default().push(uid);
                    }
                }
            }
        }
        for (folder, uids) in &leftover {
            info!(count = uids.len(), folder = %folder, "moving mail handled before");
            mb.move_to(uids, folder).await?;
        }
        // Failed fetches (since start) and reads that never ended in a commit (the
        // store keeps those across crashes) count alike.
        let mut failed: HashMap<u32, (u8, u8)> = HashMap::new();
        for &uid in &fresh {
            let fetches = self.inbox.fetch_failures(uid_validity, uid);
            let reads = self.store.read_attempts(uid_validity, uid)?;
            if fetches.is_some() || reads > 0 {
                failed.insert(uid, (fetches.unwrap_or(0), reads));
            }
        }
        let failures = |uid: &u32| failed.get(uid).map_or(0, |&(f, r)| f.saturating_add(r));
        let (unreadable, fresh): (Vec<u32>, Vec<u32>) = fresh
            .into_iter()
            .partition(|u| failures(u) >= MAX_FETCH_FAILURES);
        if !unreadable.is_empty() {
            let why = |uid: &u32| {
                let (fetches, reads) = failed.get(uid).copied().unwrap_or_default();
                set_aside_reason(fetches, reads)
            };
            let unreadable: Vec<(u32, String)> = unreadable.iter().map(|u| (*u, why(u))).collect();
            self.set_aside_unreadable(mb, uid_validity, &unreadable)
                .await?;
        }
        if fresh.is_empty() {
            return Ok(());
        }
        let listed = self.sizes(mb, uid_validity, &fresh).await?;
        let fresh = self.without_backlog(fresh, &listed);
        self.report_unhandled(&fresh, &listed);
        if fresh.is_empty() {
            return Ok(());
        }
        info!(count = fresh.len(), "new messages");
        let sizes: BTreeMap<u32, u64> = listed.iter().map(|&(u, size, _)| (u, size)).collect();
        // Messages that failed to come before are fetched alone, after the others.
        let (suspect, clean): (Vec<u32>, Vec<u32>) = fresh.iter().partition(|u| failures(u) > 0);
        let mut all = batches(&clean, &sizes, self.config.reply.max_message_bytes);
        all.extend(suspect.into_iter().map(|u| vec![u]));
        for batch in all {
            if self
                .batch(mb, uid_validity, &batch, &sizes, shutdown)
                .await?
                == Pass::Stopped
            {
                info!("shutdown requested: stopping after the current message");
                return Ok(());
            }
        }
        self.report_unhandled(&[], &listed);
        Ok(())
    }

    /// Tells the telemetry how much new mail waits and how old the oldest is.
    fn report_unhandled(&self, fresh: &[u32], listed: &[(u32, u64, Option<i64>)]) {
        let now = now().unix_timestamp();
        let fresh_set: std::collections::HashSet<u32> = fresh.iter().copied().collect();
        let oldest = listed
            .iter()
            .filter(|(uid, _, _)| fresh_set.contains(uid))
            .filter_map(|&(_, _, arrived)| arrived)
            .min();
        self.telemetry.inbox_unhandled.set(fresh.len() as i64);
        self.telemetry
            .inbox_oldest_seconds
            .set(oldest.map_or(0, |t| (now - t).max(0)));
    }

    /// One FETCH batch: fetched (oversized ones as headers only), each message handled,
    /// the decisions made durable, the replies sent, then the messages moved.
    pub(super) async fn batch(
        &mut self,
        mb: &mut impl MailboxOps,
        uid_validity: u32,
        batch: &[u32],
        sizes: &BTreeMap<u32, u64>,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<Pass, DaemonError> {
        let t_fetch = Instant::now();
        let (mut fetched, big) = self.fetch_batch(mb, uid_validity, batch, sizes).await?;
        let missing = self.missing(uid_validity, batch, &fetched);
        fetched.sort_by_key(|(uid, _)| *uid);
        let t_decide = Instant::now();
        let mut moves: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        let mut pass = Pass::Done;
        for (uid, raw) in fetched {
            if *shutdown.borrow() {
                pass = Pass::Stopped;
                break;
            }
            let part = if big.contains(&uid) {
                Part::Header
            } else {
                Part::Whole
            };
            let at = Position { uid_validity, uid };
            // Counted before reading: a mail that crashes or stalls the daemon is set
            // aside after a few attempts instead of being read at every start.
            let attempt = self.store.begin_read(uid_validity, uid)?;
            match self
                .handle(raw, at, part, sizes.get(&uid).copied(), None)
                .await?
            {
                Handled::MoveTo(folder) => moves.entry(folder).or_default().push(uid),
                Handled::Stays => {}
                Handled::Unread(unread) => {
                    error!(uid, attempt, "{unread}; left in the inbox (set aside for people after {MAX_FETCH_FAILURES} attempts)");
                }
            }
        }
        // Durable before anything leaves: a reply is never sent for a decision that
        // could still be lost.
        self.store.flush()?;
        if missing > 0 {
            // What did come is recorded; its replies and moves follow on the next
            // connection (the outbox and `seen` carry them over).
            return Err(MailboxError::Incomplete(missing).into());
        }
        let t_deliver = Instant::now();
        self.deliver(Round::MoreComing).await?;
        let t_move = Instant::now();
        for (folder, uids) in &moves {
            mb.move_to(uids, folder).await?;
        }
        // A long first pass is a stream of good exchanges, not a stall.
        self.telemetry.imap_ok(now().unix_timestamp());
        debug!(
            messages = batch.len(),
            fetch_ms = (t_decide - t_fetch).as_millis() as u64,
            decide_ms = (t_deliver - t_decide).as_millis() as u64,
            deliver_ms = (t_move - t_deliver).as_millis() as u64,
            move_ms = t_move.elapsed().as_millis() as u64,
            "batch done"
        );
        Ok(pass)
    }

    /// The batch's mail: whole when within the size limit, headers only when over it
    /// (those UIDs are returned too). A failure counts against every message of it.
    #[allow(clippy::type_complexity)]
    async fn fetch_batch(
        &mut self,
        mb: &mut impl MailboxOps,
        uid_validity: u32,
        batch: &[u32],
        sizes: &BTreeMap<u32, u64>,
    ) -> Result<(Vec<(u32, Vec<u8>)>, Vec<u32>), DaemonError> {
        let limit = self.config.reply.max_message_bytes;
        let (small, big): (Vec<u32>, Vec<u32>) = batch
            .iter()
            .partition(|u| sizes.get(u).copied().unwrap_or(0) <= limit);
        let fetched = async {
            let mut fetched = if small.is_empty() {
                Vec::new()
            } else {
                mb.fetch(&small, Part::Whole).await?
            };
            if !big.is_empty() {
                fetched.extend(mb.fetch(&big, Part::Header).await?);
            }
            Ok::<_, MailboxError>(fetched)
        }
        .await;
        // Any failure counts against every message of the batch: a network failure
        // rarely hits the same message three times, a broken one always.
        match fetched {
            Ok(fetched) => Ok((fetched, big)),
            Err(e) => {
                self.inbox.fetch_failed(uid_validity, batch);
                warn!(messages = ?batch, "fetching failed: {e}");
                Err(e.into())
            }
        }
    }

    /// How many of `batch` the server answered without. They stay in the inbox and
    /// come round again on a new connection; only the first one missing counts as
    /// failed (as for sizes): it is fetched alone from then on.
    fn missing(&mut self, uid_validity: u32, batch: &[u32], fetched: &[(u32, Vec<u8>)]) -> usize {
        let mut missing = 0;
        for uid in batch {
            if fetched.iter().any(|(u, _)| u == uid) {
                self.inbox.fetched(uid_validity, *uid);
            } else {
                if missing == 0 {
                    self.inbox.fetch_failed(uid_validity, &[*uid]);
                }
                warn!(uid, "the server did not hand this message over");
                missing += 1;
            }
        }
        missing
    }

    /// Size and arrival time of every message of `uids`, or an error. Without its size
    /// a message would be fetched whole however large, and an answer cut short leaves
    /// the connection untrusted. One query asks for all; after one failed or came back
    /// short, the next pass asks message by message, so the one the server chokes on is
    /// known exactly (and set aside after [`MAX_FETCH_FAILURES`]) while the others go on.
    pub(super) async fn sizes(
        &mut self,
        mb: &mut impl MailboxOps,
        uid_validity: u32,
        uids: &[u32],
    ) -> Result<Vec<(u32, u64, Option<i64>)>, DaemonError> {
        let answered =
            |listed: &[(u32, u64, Option<i64>)], uid: u32| listed.iter().any(|&(u, _, _)| u == uid);
        if !self.inbox.size_one_by_one {
            let listed = mb
                .sizes(uids)
                .await
                .inspect_err(|_| self.inbox.size_one_by_one = true)?;
            let missing = uids.iter().filter(|&&u| !answered(&listed, u)).count();
            if missing > 0 {
                self.inbox.size_one_by_one = true;
                return Err(MailboxError::Incomplete(missing).into());
            }
            return Ok(listed);
        }
        let mut listed = Vec::with_capacity(uids.len());
        for &uid in uids {
            let one = mb.sizes(&[uid]).await;
            match one {
                Ok(one) if answered(&one, uid) => listed.extend(one),
                other => {
                    self.inbox.fetch_failed(uid_validity, &[uid]);
                    warn!(uid, "the server did not report this message's size");
                    return Err(other.err().unwrap_or(MailboxError::Incomplete(1)).into());
                }
            }
        }
        self.inbox.size_one_by_one = false;
        Ok(listed)
    }

    /// `fresh` without the mail that arrived before the daemon's first start, when the
    /// config leaves that history alone. A message arrived in the second of the first
    /// start counts as new (INTERNALDATE has whole seconds).
    pub(super) fn without_backlog(
        &mut self,
        fresh: Vec<u32>,
        listed: &[(u32, u64, Option<i64>)],
    ) -> Vec<u32> {
        if self.imap.backlog == Backlog::Handle {
            return fresh;
        }
        let cut = self.first_start.unix_timestamp();
        let old: std::collections::HashSet<u32> = listed
            .iter()
            .filter(|(_, _, arrived)| arrived.is_some_and(|t| t < cut))
            .map(|&(uid, _, _)| uid)
            .collect();
        if self.inbox.backlog_changed(old.len()) {
            info!(
                count = old.len(),
                "messages older than the daemon's first start left in the inbox untouched ([imap] backlog = \"leave\")"
            );
        }
        fresh.into_iter().filter(|u| !old.contains(u)).collect()
    }

    /// Files messages that could not be fetched or read [`MAX_FETCH_FAILURES`] times,
    /// each with why: recorded (the digest lists them), moved to the Needs-Human
    /// folder (or left in the inbox when there is none), never answered. Nothing is
    /// lost: the message stays on the server for people to look at.
    pub(super) async fn set_aside_unreadable(
        &mut self,
        mb: &mut impl MailboxOps,
        uid_validity: u32,
        unreadable: &[(u32, String)],
    ) -> Result<(), DaemonError> {
        let destination = self.imap.needs_human_folder.clone();
        for (uid, why) in unreadable {
            let record = crate::record::SeenRecord {
                note: Some(why.clone()),
                ..crate::record::SeenRecord::unreadable(
                    uid_validity,
                    *uid,
                    destination.clone(),
                    now(),
                )
            };
            self.store.commit(MessageCommit::record(&record))?;
            self.telemetry.handled(record.outcome.code());
            error!(
                uid,
                folder = destination.as_deref().unwrap_or("(left in the inbox)"),
                "set aside for people: {why}"
            );
        }
        self.store.flush()?;
        let uids: Vec<u32> = unreadable.iter().map(|(uid, _)| *uid).collect();
        if let Some(folder) = &destination {
            mb.move_to(&uids, folder).await?;
        }
        for uid in uids {
            self.inbox.fetched(uid_validity, uid);
        }
        Ok(())
    }
}

/// Why a message is set aside, from its failed fetches and unfinished reads.
fn set_aside_reason(fetches: u8, reads: u8) -> String {
    let deadline = super::message::READ_DEADLINE.as_secs();
    match (fetches, reads) {
        (f, 0) => format!("the IMAP server failed {f} times to hand this message over; left for people"),
        (0, r) => format!(
            "reading this message failed {r} times (the daemon stopped while reading it, or reading took longer than {deadline} s); left for people"
        ),
        (f, r) => format!(
            "the IMAP server failed {f} times to hand this message over and reading it failed {r} times; left for people"
        ),
    }
}

/// How a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    Done,
    /// Shutdown was requested: the rest waits for the next start.
    Stopped,
}

/// Splits UIDs into FETCH batches bounded by count and bytes; messages over `limit`
/// are fetched as headers only, so they count as small.
pub(super) fn batches(uids: &[u32], sizes: &BTreeMap<u32, u64>, limit: u64) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0u64;
    for &uid in uids {
        let size = sizes.get(&uid).copied().unwrap_or(0);
        let size = if size > limit { 0 } else { size };
        if !current.is_empty() && (current.len() >= FETCH_BATCH || bytes + size > FETCH_BYTES) {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        current.push(uid);
        bytes += size;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// What the inbox pass remembers between passes.
#[derive(Default)]
pub(super) struct Inbox {
    /// Failed fetches per message (UIDVALIDITY, UID) since start: a message that failed
    /// once is fetched alone, one that failed [`MAX_FETCH_FAILURES`] times is set aside.
    fetch_failures: HashMap<(u32, u32), u8>,
    /// How many messages of the history were last seen and left (logged on change).
    backlog_left: usize,
    /// The last query for sizes failed or came back short: ask message by message.
    pub(super) size_one_by_one: bool,
}

impl Inbox {
    /// Failed fetches of a message since start, if any.
    pub(super) fn fetch_failures(&self, uid_validity: u32, uid: u32) -> Option<u8> {
        self.fetch_failures.get(&(uid_validity, uid)).copied()
    }

    /// Each of `uids` failed to come once more.
    pub(super) fn fetch_failed(&mut self, uid_validity: u32, uids: &[u32]) {
        for &uid in uids {
            *self.fetch_failures.entry((uid_validity, uid)).or_default() += 1;
        }
    }

    /// A message came (or was set aside): its failures are forgotten.
    pub(super) fn fetched(&mut self, uid_validity: u32, uid: u32) {
        self.fetch_failures.remove(&(uid_validity, uid));
    }

    /// Whether the history left in the inbox changed size since last said.
    fn backlog_changed(&mut self, left: usize) -> bool {
        std::mem::replace(&mut self.backlog_left, left) != left
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_count_and_bytes() {
        let uids: Vec<u32> = (1..=130).collect();
        let sizes: BTreeMap<u32, u64> = uids.iter().map(|u| (*u, 1000)).collect();
        let b = batches(&uids, &sizes, 1 << 30);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![64, 64, 2]);
        let sizes: BTreeMap<u32, u64> = uids.iter().map(|u| (*u, 20 << 20)).collect();
        let b = batches(&uids[..3], &sizes, 1 << 30);
        assert_eq!(b.len(), 3, "20 MB messages are fetched one at a time");
        let b = batches(&uids[..3], &sizes, 10 << 20);
        assert_eq!(
            b.len(),
            1,
            "oversized messages are fetched as headers, together"
        );
    }
}
