//! The outbox: sending replies (retries, pauses, give-up), saving drafts and the copies
//! for the Sent folder, once each.

use super::*;
use crate::mailbox::MailboxOps;
use crate::record::MessageId;

impl Daemon {
    /// Sends (or saves as drafts) every outbox entry that is due, then saves the copies
    /// of what was sent in the Sent folder.
    pub(super) async fn deliver(&mut self, round: Round) -> Result<(), DaemonError> {
        let (sends, drafts) = self.due()?;
        if !drafts.is_empty() {
            self.save_drafts(drafts).await?;
        }
        // Copies of what went out before are saved while this round is sent.
        let started = Instant::now();
        let to_copy = match &self.imap.sent_folder {
            Some(_) => self.store.uncopied()?,
            None => Vec::new(),
        };
        let copying = self.prepare_copiers(to_copy.len()).await?;
        let sending = self.sending(!sends.is_empty());
        let sends = match &sending {
            Some((_, cfg)) => self.within_pace(sends, cfg.pace)?,
            None => sends,
        };
        let submitted = if sending.is_some() { sends.len() } else { 0 };
        let before = (self.counters.replies_sent, self.counters.send_failures);
        let paused_before = self.outbox.paused_until;
        let copy_wanted = self.imap.sent_folder.is_some();
        let sent_folder = self.imap.sent_folder.clone().unwrap_or_default();
        let send = async {
            match &sending {
                Some((smtp, cfg)) => {
                    send_all(
                        (&self.store, &self.config.procedures),
                        smtp,
                        cfg,
                        copy_wanted,
                        sends,
                        &mut self.counters,
                        &mut self.outbox.paused_until,
                    )
                    .await
                }
                None => Ok(0),
            }
        };
        let copy = async {
            if to_copy.is_empty() {
                (copying, Ok(()))
            } else {
                save_copies(&self.store, copying, &sent_folder, to_copy).await
            }
        };
        let (sent, (copiers, copied)) = tokio::join!(send, copy);
        // Counted when the round is over, not when let through: each submission's time
        // in the window is then no earlier than the server took it, so no 60 seconds of
        // the server's clock see more than the pace allows, however slow the round.
        let finished = Instant::now();
        for _ in 0..submitted {
            self.outbox.pace.record(finished);
        }
        self.outbox.copiers = copiers;
        self.report_smtp(before, paused_before)?;
        // A reply given up is on its case's timeline now.
        debug!(
            ms = started.elapsed().as_millis() as u64,
            "outbox delivered"
        );
        let recipients = sent?;
        if recipients > 0 {
            self.store.count_recipients(recipients, now())?;
        }
        copied?;
        if round == Round::Last {
            // Nothing else is coming: the copies of this round go now, too.
            self.copy_the_rest(&sent_folder).await?;
        }
        Ok(())
    }

    /// The entries due now: (sends, drafts), each with its bytes.
    #[allow(clippy::type_complexity)]
    fn due(
        &self,
    ) -> Result<(Vec<(OutboxEntry, Vec<u8>)>, Vec<(OutboxEntry, Vec<u8>)>), DaemonError> {
        let mut sends = Vec::new();
        let mut drafts = Vec::new();
        // In draft mode only staff answers are sent (a person wrote and previewed
        // them); automatic replies queued before the mode changed wait.
        let drafting = self.config.reply.mode == crate::config::ReplyMode::Draft;
        for entry in self.store.due(now().unix_timestamp())? {
            let raw = entry.raw.clone();
            match entry.kind {
                OutboxKind::Draft => drafts.push((entry, raw)),
                OutboxKind::Send if drafting && entry.by.is_none() => {}
                OutboxKind::Send => sends.push((entry, raw)),
            }
        }
        Ok((sends, drafts))
    }

    /// The SMTP sender and its settings when sends may go now; `None` with no SMTP (the
    /// mode changed to draft/off with sends queued) or while paused: they wait.
    fn sending(&self, any: bool) -> Option<(SmtpSender, SmtpConfig)> {
        match (&self.outbox.smtp, &self.config.smtp) {
            (Some(smtp), Some(cfg))
                if any && self.outbox.paused_until.is_none_or(|t| Instant::now() >= t) =>
            {
                Some((smtp.clone(), cfg.clone()))
            }
            _ => None,
        }
    }

    /// The sends the provider's limits allow now ([`crate::pace`]); the others stay
    /// pending, due when there is room again (not an attempt). Those let through are
    /// counted in the minute's window once their round is over (see `deliver`).
    fn within_pace(
        &mut self,
        sends: Vec<(OutboxEntry, Vec<u8>)>,
        limits: crate::pace::Limits,
    ) -> Result<Vec<(OutboxEntry, Vec<u8>)>, DaemonError> {
        if limits.per_minute == 0 && limits.recipients_per_day == 0 {
            return Ok(sends);
        }
        let now_i = Instant::now();
        let today = if limits.recipients_per_day > 0 {
            self.store.recipients_last_day(now())?
        } else {
            0
        };
        let room = self.outbox.pace.room(limits, today, now_i);
        let (mut messages, mut recipients) = (room.messages, room.recipients);
        // What is held back goes when the window has room again (the round's own
        // submissions are counted only once it is over, so this stays as computed).
        let due = now().unix_timestamp() + room.wait.as_secs().max(1) as i64;
        let mut go = Vec::new();
        let mut wait = 0usize;
        for (mut entry, raw) in sends {
            let count = entry.recipient_count().max(1);
            if messages > 0 && recipients >= count {
                messages -= 1;
                recipients -= count;
                go.push((entry, raw));
            } else {
                entry.next_attempt = due;
                self.store.record_outbox(&entry)?;
                wait += 1;
            }
        }
        if wait > 0 {
            info!(
                waiting = wait,
                per_minute = limits.per_minute,
                recipients_per_day = limits.recipients_per_day,
                "replies wait for the provider's sending limits ([smtp] max_per_minute, max_recipients_per_day)"
            );
        }
        Ok(go)
    }

    /// Saves every copy still to make in `sent`, before the daemon waits.
    async fn copy_the_rest(&mut self, sent: &str) -> Result<(), DaemonError> {
        let to_copy = self.store.uncopied()?;
        if to_copy.is_empty() {
            return Ok(());
        }
        let copying = self.prepare_copiers(to_copy.len()).await?;
        let (copiers, copied) = save_copies(&self.store, copying, sent, to_copy).await;
        self.outbox.copiers = copiers;
        copied
    }

    /// Appends replies to the Drafts folder for staff to review and send, each only if
    /// no draft with its Message-ID is there yet: a crash between the APPEND and the
    /// store's record of it must not leave two drafts that staff might both send. On a
    /// connection of its own, so the inbox stays selected on the main one.
    pub(super) async fn save_drafts(
        &mut self,
        drafts: Vec<(OutboxEntry, Vec<u8>)>,
    ) -> Result<(), DaemonError> {
        let folder = self.imap.drafts_folder.clone();
        let mut copiers = self.prepare_copiers(1).await?;
        let result = async {
            let mb = copiers.first_mut().expect("one connection prepared");
            mb.select(&folder).await?;
            for (mut entry, raw) in drafts {
                entry.attempts += 1;
                if mb.holds_message_id(&entry.message_id).await? {
                    info!(id = %entry.message_id, folder = %folder, "draft already saved (before a restart)");
                } else {
                    match mb.append(&folder, "(\\Draft)", &raw).await {
                        Ok(()) => {
                            self.counters.drafts_saved += 1;
                            info!(to = %entry.to, id = %entry.message_id, folder = %folder, "reply saved as draft");
                        }
                        // The server will not take it (over quota, …): tried again on
                        // the next passes, then reported as a reply that failed.
                        Err(e) if mb.refused(&e).await => {
                            entry.copy_refusals += 1;
                            if entry.copy_refusals >= MAX_COPY_REFUSALS {
                                entry.fail(format!("the server refused to save it in {folder}: {e}"), now());
                                self.store.update_outbox(&entry)?;
                                note_failure_on_case(&self.store, &self.config.procedures, &entry)?;
                                self.counters.send_failures += 1;
                                error!(to = %entry.to, id = %entry.message_id, "draft refused {MAX_COPY_REFUSALS} times, given up: {e}");
                            } else {
                                self.store.update_outbox(&entry)?;
                                warn!(to = %entry.to, id = %entry.message_id, "draft refused, tried again later: {e}");
                            }
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                entry.state = OutboxState::Sent;
                entry.copied = true;
                self.store.update_outbox(&entry)?;
            }
            Ok::<(), DaemonError>(())
        }
        .await;
        // A connection that failed is dropped; the next round opens another.
        if result.is_ok() {
            self.outbox.copiers = copiers;
        }
        result
    }

    /// Tells the telemetry what this round of sending did: replies accepted (SMTP
    /// works), given up, or a transient failure that paused sending. The log says
    /// once that sending stopped, with why and how many replies wait, and once that
    /// it resumed: not a line per reply per retry while the server is down.
    fn report_smtp(
        &self,
        (sent, failed): (u64, u64),
        paused_before: Option<Instant>,
    ) -> Result<(), StoreError> {
        let t = &self.telemetry;
        let newly_sent = self.counters.replies_sent - sent;
        t.replies_sent.inc_by(newly_sent);
        t.replies_failed
            .inc_by(self.counters.send_failures - failed);
        let failing = t.seen().smtp_failing_since.is_some();
        if newly_sent > 0 {
            if failing {
                let waiting = self.store.pending()?.len();
                info!(
                    waiting,
                    "sending resumed: the SMTP server takes replies again"
                );
            }
            t.smtp_ok();
        } else if self.outbox.paused_until.is_some() && self.outbox.paused_until != paused_before {
            if !failing {
                let pending = self.store.pending()?;
                let why = pending
                    .iter()
                    .filter_map(|e| e.last_error.as_deref())
                    .next()
                    .unwrap_or("no reason given");
                warn!(
                    waiting = pending.len(),
                    "sending stopped: {why}; the replies wait and are tried again (said again when sending resumes; `mnotify-intake status` shows how many wait)"
                );
            }
            t.smtp_failed(now().unix_timestamp());
        }
        Ok(())
    }

    /// The copy connections, opened as needed (at most [`COPY_CONNECTIONS`]).
    pub(super) async fn prepare_copiers(
        &mut self,
        entries: usize,
    ) -> Result<Vec<Mailbox>, DaemonError> {
        let want = COPY_CONNECTIONS.min(entries);
        while self.outbox.copiers.len() < want {
            self.outbox
                .copiers
                .push(Mailbox::connect(&self.imap).await?);
        }
        Ok(std::mem::take(&mut self.outbox.copiers))
    }
}

/// Whether more mail follows in this pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Round {
    /// More batches follow: copies not finished now are made in a later round.
    MoreComing,
    /// Nothing more for now: every copy is made before waiting.
    Last,
}

/// Submits replies over SMTP, several at a time on pooled connections; each result is
/// recorded as soon as it is known, with one flush for those that finished together,
/// so a reply is marked sent within one flush of its acceptance.
pub(super) async fn send_all(
    (store, procedures): (&Store, &crate::procedure::Catalogue),
    smtp: &impl crate::smtp::Transport,
    cfg: &SmtpConfig,
    copy_wanted: bool,
    sends: Vec<(OutboxEntry, Vec<u8>)>,
    counters: &mut Counters,
    paused_until: &mut Option<Instant>,
) -> Result<u32, StoreError> {
    let mut recipients = 0u32;
    let mut results =
        futures_util::stream::iter(sends.into_iter().map(|(entry, raw)| async move {
            let result = crate::smtp::Transport::send(smtp, &entry.from, &entry.to, &raw).await;
            (entry, result)
        }))
        .buffer_unordered(cfg.connections as usize)
        .ready_chunks(cfg.connections as usize);
    let now_s = now().unix_timestamp();
    while let Some(done) = results.next().await {
        for (mut entry, result) in done {
            entry.attempts += 1;
            match result {
                Ok(()) => {
                    recipients += entry.recipient_count();
                    entry.state = OutboxState::Sent;
                    entry.last_error = None;
                    entry.copied = !copy_wanted;
                    counters.replies_sent += 1;
                    info!(to = %entry.to, id = %entry.message_id, "reply sent");
                }
                Err(SendError::Permanent(reason)) => {
                    entry.fail(reason.clone(), now());
                    counters.send_failures += 1;
                    error!(to = %entry.to, id = %entry.message_id, "reply refused for good: {reason}");
                }
                Err(SendError::Quota(reason)) => {
                    // Over the provider's quota: no attempt counted, the reply waits for
                    // the window to pass, and nothing more is tried until then.
                    entry.attempts -= 1;
                    entry.last_error = Some(reason.clone());
                    entry.next_attempt = now_s + cfg.pace.quota_pause.as_secs() as i64;
                    *paused_until = Some(Instant::now() + cfg.pace.quota_pause);
                    warn!(to = %entry.to, id = %entry.message_id, "the server's sending quota is used up; trying again in {}s: {reason}", cfg.pace.quota_pause.as_secs());
                }
                Err(SendError::Transient(reason)) => {
                    entry.last_error = Some(reason.clone());
                    if entry.attempts >= cfg.max_attempts {
                        entry.fail(reason.clone(), now());
                        counters.send_failures += 1;
                        error!(to = %entry.to, id = %entry.message_id, attempts = entry.attempts, "reply given up: {reason}");
                    } else {
                        let delay = retry_delay(cfg.retry_base, entry.attempts);
                        entry.next_attempt = now_s + delay.as_secs() as i64;
                        // The server is unwell: nothing more is tried for a while.
                        *paused_until = Some(Instant::now() + cfg.retry_base);
                        debug!(to = %entry.to, id = %entry.message_id, attempts = entry.attempts, "sending failed, retry in {}s: {reason}", delay.as_secs());
                    }
                }
            }
            store.record_outbox(&entry)?;
            if entry.state == OutboxState::Failed {
                note_failure_on_case(store, procedures, &entry)?;
            }
        }
        store.flush()?;
    }
    Ok(recipients)
}

/// Puts a message of ours that failed for good on its case's timeline, where
/// `cases show` shows it.
pub(super) fn note_failure_on_case(
    store: &Store,
    procedures: &crate::procedure::Catalogue,
    entry: &OutboxEntry,
) -> Result<(), StoreError> {
    let Some(token) = &entry.case else {
        return Ok(());
    };
    let Some(case) = store.case(token)? else {
        return Ok(());
    };
    match crate::process::report::failed_reply_case(&case, procedures, entry, now()) {
        Some(case) => store.save_case(&case),
        None => Ok(()),
    }
}

/// Appends the copies of replies sent to the Sent folder, on several connections at
/// once (each APPEND waits for the server's fsync). Returns the connections still good
/// and the first failure.
pub(super) async fn save_copies<M: MailboxOps>(
    store: &Store,
    copiers: Vec<M>,
    sent: &str,
    entries: Vec<OutboxEntry>,
) -> (Vec<M>, Result<(), DaemonError>) {
    // Which copies may be there already (an APPEND started before a crash): only those
    // are searched for in Sent first (a search per copy made a 10,000-reply drain
    // quadratic in the size of Sent); the others are marked before their APPEND.
    let ids: Vec<&MessageId> = entries.iter().map(|e| &e.message_id).collect();
    let started = match store.start_copies(&ids) {
        Ok(s) => s,
        Err(err) => return (copiers, Err(err.into())),
    };
    let entries: Vec<(OutboxEntry, bool)> = entries.into_iter().zip(started).collect();
    let lanes = copiers.len().min(entries.len()).max(1);
    let mut chunks: Vec<Vec<(OutboxEntry, bool)>> = vec![Vec::new(); lanes];
    for (i, e) in entries.into_iter().enumerate() {
        chunks[i % lanes].push(e);
    }
    let work = copiers
        .into_iter()
        .zip(chunks)
        .map(|(mb, chunk)| copy_lane(mb, chunk, sent));
    let mut kept = Vec::new();
    let mut failure: Option<DaemonError> = None;
    for (mb, done, error) in futures_util::future::join_all(work).await {
        for entry in done {
            if let Err(e) = store.record_outbox(&entry) {
                failure.get_or_insert(e.into());
            }
            if entry.copied {
                if let Err(e) = store.copy_done(&entry.message_id) {
                    failure.get_or_insert(e.into());
                }
            }
        }
        kept.extend(mb);
        if let Some(e) = error {
            failure.get_or_insert(e.into());
        }
    }
    if let Err(e) = store.flush() {
        failure.get_or_insert(e.into());
    }
    (kept, failure.map_or(Ok(()), Err))
}

/// The copies of one connection: each appended unless a crash may have left it there
/// already (then searched for first); a refusal counts against the copy, not the
/// connection. Returns the connection if still good, the entries done, the failure.
async fn copy_lane<M: MailboxOps>(
    mut mb: M,
    chunk: Vec<(OutboxEntry, bool)>,
    sent: &str,
) -> (Option<M>, Vec<OutboxEntry>, Option<MailboxError>) {
    let mut done = Vec::new();
    // A copy already there (appended just before a crash, not yet recorded) is
    // not appended again: Sent keeps one copy of each reply.
    if chunk.iter().any(|(_, started)| *started) {
        if let Err(e) = mb.select(sent).await {
            return (None, done, Some(e));
        }
    }
    for (mut entry, started) in chunk {
        if started {
            match mb.holds_message_id(&entry.message_id).await {
                Ok(true) => {
                    info!(id = %entry.message_id, folder = %sent, "copy already saved (before a restart)");
                    entry.copied = true;
                    done.push(entry);
                    continue;
                }
                Ok(false) => {}
                Err(e) => return (None, done, Some(e)),
            }
        }
        match mb.append(sent, "(\\Seen)", &entry.raw).await {
            Ok(()) => entry.copied = true,
            // The server will not take it (over quota, …): the reply went out
            // all the same; the copy is tried again a few times, then given up,
            // rather than failing every pass.
            Err(e) if mb.refused(&e).await => {
                entry.copy_refusals += 1;
                if entry.copy_refusals >= MAX_COPY_REFUSALS {
                    entry.copied = true;
                    error!(id = %entry.message_id, folder = %sent, "copy of the reply given up after {MAX_COPY_REFUSALS} refusals: {e}");
                } else {
                    warn!(id = %entry.message_id, folder = %sent, "copy of the reply refused, tried again later: {e}");
                }
            }
            Err(e) => return (None, done, Some(e)),
        }
        done.push(entry);
    }
    (Some(mb), done, None)
}

/// Retry delay after `attempts` failures: base, 2×base, 4×base… at most an hour.
pub fn retry_delay(base: Duration, attempts: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(MAX_RETRY)
}

/// What sending keeps: the SMTP sender, its pause after a failure or a quota refusal,
/// the provider's pace, and the connections that save copies in Sent.
pub(super) struct Outbox {
    pub(super) smtp: Option<SmtpSender>,
    /// No SMTP attempt before this (after a transient failure or a quota refusal).
    pub(super) paused_until: Option<Instant>,
    /// Submissions of the last minute, for the provider's pace (`[smtp] max_per_minute`).
    pub(super) pace: crate::pace::Window,
    /// Extra IMAP connections that save the copies of replies sent.
    pub(super) copiers: Vec<Mailbox>,
}

impl Outbox {
    pub(super) fn new(smtp: Option<SmtpSender>) -> Outbox {
        Outbox {
            smtp,
            paused_until: None,
            pace: crate::pace::Window::default(),
            copiers: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsMode;
    use crate::smtp::Transport;

    /// A transport that answers each submission from a script, and counts them.
    struct Scripted(std::sync::Mutex<Vec<Result<(), SendError>>>);

    impl Transport for Scripted {
        async fn send(&self, _from: &str, _to: &str, _raw: &[u8]) -> Result<(), SendError> {
            self.0.lock().expect("not poisoned").remove(0)
        }
    }

    fn config(max_attempts: u32) -> SmtpConfig {
        SmtpConfig {
            host: "stub".into(),
            port: 0,
            tls: TlsMode::None,
            ca_file: None,
            login: None,
            retry_base: Duration::from_secs(30),
            max_attempts,
            connections: 2,
            pace: crate::pace::Limits::NONE,
        }
    }

    fn entry(id: &str) -> OutboxEntry {
        OutboxEntry {
            message_id: MessageId::parse(id).expect("an id"),
            kind: OutboxKind::Send,
            from: "servicii@egov.md".into(),
            to: "ion@primaria.md".into(),
            case: None,
            raw: Vec::new(),
            attempts: 0,
            next_attempt: 0,
            state: OutboxState::Pending,
            last_error: None,
            created_at: now(),
            copied: false,
            failed_at: None,
            copy_refusals: 0,
            by: None,
        }
    }

    /// Sends `ids` through a transport answering `script`; returns the entries after.
    async fn run(
        ids: &[&str],
        script: Vec<Result<(), SendError>>,
        max_attempts: u32,
        copy_wanted: bool,
    ) -> (Vec<OutboxEntry>, Counters, Option<Instant>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let mut sends = Vec::new();
        for id in ids {
            let e = entry(id);
            store.queue(&e).unwrap();
            sends.push((e, b"raw".to_vec()));
        }
        let (mut counters, mut paused) = (Counters::default(), None);
        let transport = Scripted(std::sync::Mutex::new(script));
        send_all(
            (&store, crate::procedure::Catalogue::built_in()),
            &transport,
            &config(max_attempts),
            copy_wanted,
            sends,
            &mut counters,
            &mut paused,
        )
        .await
        .unwrap();
        let after = ids
            .iter()
            .map(|id| {
                store
                    .outbox_entry(&MessageId::parse(id).unwrap())
                    .unwrap()
                    .unwrap()
            })
            .collect();
        (after, counters, paused)
    }

    #[tokio::test]
    async fn a_sent_reply_waits_for_its_copy_only_when_copies_are_wanted() {
        let (after, counters, paused) = run(&["<a>"], vec![Ok(())], 10, true).await;
        assert_eq!(after[0].state, OutboxState::Sent);
        assert!(!after[0].copied, "the Sent copy is still to make");
        assert_eq!(counters.replies_sent, 1);
        assert!(paused.is_none());
        let (after, ..) = run(&["<b>"], vec![Ok(())], 10, false).await;
        assert!(after[0].copied, "no copy wanted: nothing left to do");
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_later_and_pauses_sending() {
        let before = now().unix_timestamp();
        let (after, counters, paused) = run(
            &["<a>"],
            vec![Err(SendError::Transient("451 busy".into()))],
            10,
            true,
        )
        .await;
        let e = &after[0];
        assert_eq!(e.state, OutboxState::Pending);
        assert_eq!(e.attempts, 1);
        assert_eq!(e.last_error.as_deref(), Some("451 busy"));
        assert!(
            e.next_attempt >= before + 30,
            "retried after the base delay"
        );
        assert!(paused.is_some(), "the server is left alone for a while");
        assert_eq!(counters.send_failures, 0);
    }

    #[tokio::test]
    async fn a_refusal_or_the_last_attempt_gives_the_reply_up() {
        let (after, counters, _) = run(
            &["<a>"],
            vec![Err(SendError::Permanent("550 no such user".into()))],
            10,
            true,
        )
        .await;
        assert_eq!(after[0].state, OutboxState::Failed);
        assert!(after[0].failed_at.is_some());
        assert_eq!(counters.send_failures, 1);
        // A transient failure on the last allowed attempt: given up, not retried.
        let (after, counters, _) = run(
            &["<b>"],
            vec![Err(SendError::Transient("451".into()))],
            1,
            true,
        )
        .await;
        assert_eq!(after[0].state, OutboxState::Failed);
        assert_eq!(counters.send_failures, 1);
    }

    #[tokio::test]
    async fn a_quota_refusal_waits_and_is_never_a_failure() {
        let before = now().unix_timestamp();
        let quota = crate::smtp::refusal(
            "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception".into(),
        );
        assert!(matches!(quota, SendError::Quota(_)), "{quota:?}");
        let (after, counters, paused) = run(&["<q>"], vec![Err(quota)], 1, true).await;
        let e = &after[0];
        assert_eq!(e.state, OutboxState::Pending, "even on its last attempt");
        assert_eq!(e.attempts, 0, "not an attempt");
        assert!(e.next_attempt >= before + 300, "after the quota pause");
        assert!(paused.is_some());
        assert_eq!(counters.send_failures, 0);
        for other in [
            "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
            "554 5.7.1 rejected by policy",
            "550 5.1.901 x",
        ] {
            assert!(
                matches!(crate::smtp::refusal(other.into()), SendError::Permanent(_)),
                "{other}"
            );
        }
        for quota in [
            "550 5.1.90 Your message can't be sent because you've reached your daily limit for message recipients",
            "550 5.7.232 Your message can't be sent because your trial tenant has exceeded its daily limit",
        ] {
            assert!(matches!(crate::smtp::refusal(quota.into()), SendError::Quota(_)), "{quota}");
        }
    }

    #[test]
    fn retries_back_off_and_are_capped() {
        let base = Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1), base);
        assert_eq!(retry_delay(base, 2), base * 2);
        assert_eq!(retry_delay(base, 4), base * 8);
        assert_eq!(retry_delay(base, 40), MAX_RETRY);
    }
}
