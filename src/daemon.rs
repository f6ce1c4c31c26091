//! The service loop: watch the inbox, handle each new message exactly once, deliver
//! the outbox, file the mail. All I/O of `run` lives here; every decision is made by
//! [`crate::process::plan`].
//!
//! Crash safety comes from the order of effects for each message:
//! 1. read and decide (nothing written);
//! 2. one store transaction: message seen (UIDVALIDITY+UID and Message-ID), case,
//!    outbox entry, reply counter; flushed to disk before anything is sent;
//! 3. send the reply, then mark the outbox entry sent (flushed at once);
//! 4. move the message to its folder.
//!
//! A crash before 2 leaves the message unseen: it is handled again, nothing was sent.
//! Between 2 and 3 the reply waits in the outbox and goes out on restart. After 3 the
//! message is recognised as seen and only moved. The one window in which a reply can go
//! out twice is between the SMTP server's acceptance and the flush that marks it sent:
//! one sled flush, typically under a millisecond to a few milliseconds.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::StreamExt;
use time::OffsetDateTime;
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use crate::analysis::{analyse_facts, Context};
use crate::certificate::validate::TrustAnchors;
use crate::config::{Backlog, Config, ImapConfig, ReplyMode, SmtpConfig};
use crate::digest;
use crate::mailbox::{Mailbox, MailboxError, Woken, FETCH_BATCH};
use crate::process::{self, Content, Known, Position, Settings};
use crate::registry::Registry;
use crate::reply::{ReplyError, Templates};
use crate::routine::{self, RoutineError};
use crate::smtp::{SendError, SmtpSender, SmtpSetupError};
use crate::staff::StaffError;
use crate::store::{MessageCommit, OutboxEntry, OutboxKind, OutboxState, Store, StoreError};

/// IDLE is re-issued before servers drop it (RFC 2177 allows 30 minutes; 29 is the
/// usual server limit).
const IDLE_RENEW: Duration = Duration::from_secs(25 * 60);
/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Longest pause between SMTP retries of one reply.
const MAX_RETRY: Duration = Duration::from_secs(3600);
/// IMAP connections that save copies of replies in Sent at once.
const COPY_CONNECTIONS: usize = 4;
/// Bytes of mail fetched per FETCH at most (a single larger message goes alone).
const FETCH_BYTES: u64 = 32 * 1024 * 1024;
/// Failed fetches after which a message the server cannot hand over is set aside for
/// people, so that one broken message does not hold the whole inbox up.
const MAX_FETCH_FAILURES: u8 = 3;
/// Refusals of a reply's copy for the Sent folder before it is given up.
const MAX_COPY_REFUSALS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("config file {config}: `run` needs an [imap] section naming the mailbox to watch")]
    NoImap { config: String },
    #[error(
        "config file {config}: [reply] mode = \"send\" needs an [smtp] section; add one, or use mode = \"draft\" or \"off\""
    )]
    NoSmtp { config: String },
    #[error(transparent)]
    Smtp(#[from] SmtpSetupError),
    #[error(transparent)]
    Mailbox(#[from] MailboxError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Reply(#[from] ReplyError),
    #[error(transparent)]
    Staff(#[from] StaffError),
    #[error(transparent)]
    Routine(#[from] RoutineError),
}

impl DaemonError {
    fn is_transient(&self) -> bool {
        match self {
            DaemonError::Mailbox(e) => e.is_transient(),
            _ => false,
        }
    }

    /// The server refused our login, or the password or token could not be read.
    fn is_credentials(&self) -> bool {
        matches!(
            self,
            DaemonError::Mailbox(MailboxError::Login { .. } | MailboxError::Secret(_))
        )
    }
}

/// Counters since start, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub handled: u64,
    /// Messages already handled under another UID (or another copy of one).
    pub duplicates: u64,
    pub replies_sent: u64,
    pub drafts_saved: u64,
    pub send_failures: u64,
    pub reconnects: u64,
}

/// How long `run` keeps going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Until shutdown is signalled.
    Forever,
    /// One pass over the inbox and the outbox, then stop (cron, tests).
    Once,
}

pub struct Daemon {
    config: Config,
    imap: ImapConfig,
    store: Store,
    anchors: TrustAnchors,
    registry: Registry,
    templates: Templates,
    smtp: Option<SmtpSender>,
    /// No SMTP attempt before this (after a transient failure).
    smtp_paused_until: Option<Instant>,
    /// Extra IMAP connections that save the copies of replies sent.
    copiers: Vec<Mailbox>,
    pub counters: Counters,
    /// Logged in at least once since start.
    connected_once: bool,
    /// Wakes the daemon from IDLE for staff requests (see [`Daemon::poke_handle`]).
    poke: std::sync::Arc<tokio::sync::Notify>,
    /// Staff imported certificates: reload the registry (see [`Daemon::registry_flag`]).
    registry_changed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Failed fetches per message (UIDVALIDITY, UID) since start: a message that failed
    /// once is fetched alone, one that failed [`MAX_FETCH_FAILURES`] times is set aside.
    fetch_failures: HashMap<(u32, u32), u8>,
    /// Mail that arrived before this is the mailbox's history (`[imap] backlog`).
    first_start: OffsetDateTime,
    /// How many messages of the history were last seen and left (logged on change).
    backlog_left: usize,
    /// The last query for sizes failed or came back short: ask message by message.
    size_one_by_one: bool,
}

/// Held mail is kept in the store for staff to accept up to this size; a larger one
/// must be sent again from the institution's own mail system.
const MAX_HELD_BYTES: usize = 5 * 1024 * 1024;

/// Random text for what must not be derivable from a mail (case tokens, our
/// Message-IDs).
fn fresh_text() -> String {
    let mut bytes = [0u8; 16];
    // The system's random source fails only on a broken system; the time-based
    // fallback then still differs from message to message.
    if getrandom::getrandom(&mut bytes).is_err() {
        let t = OffsetDateTime::now_utc().unix_timestamp_nanos();
        bytes.copy_from_slice(&t.to_le_bytes());
    }
    hex::encode(bytes)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl Daemon {
    /// Checks the configuration and prepares everything but the IMAP connection.
    pub fn new(config: Config, store: Store, anchors: TrustAnchors) -> Result<Daemon, DaemonError> {
        let source = config.source.display().to_string();
        let imap = config.imap.clone().ok_or(DaemonError::NoImap {
            config: source.clone(),
        })?;
        let smtp = match (&config.smtp, config.reply.mode) {
            (Some(s), ReplyMode::Send) => Some(SmtpSender::new(s)?),
            (None, ReplyMode::Send) => return Err(DaemonError::NoSmtp { config: source }),
            _ => None,
        };
        let templates = Templates::for_config(&config.reply)?;
        let registry = store.load_registry()?;
        Ok(Daemon {
            imap,
            store,
            anchors,
            registry,
            templates,
            smtp,
            smtp_paused_until: None,
            copiers: Vec::new(),
            connected_once: false,
            poke: Default::default(),
            registry_changed: Default::default(),
            fetch_failures: HashMap::new(),
            first_start: now(),
            backlog_left: 0,
            size_one_by_one: false,
            counters: Counters::default(),
            config,
        })
    }

    /// The store, for inspection after `run` returns.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs until shutdown (or one pass), reconnecting after network and server
    /// failures with capped exponential backoff. Returns on shutdown or on an error that
    /// waiting will not fix (a refused login, a broken store).
    pub async fn run(
        &mut self,
        lifetime: Lifetime,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), DaemonError> {
        let mut backoff = Duration::from_secs(1);
        self.first_start = self.store.first_start(now())?;
        // The first digest covers everything from the first start on, mail handled in
        // the very first pass included.
        if self.config.digest.is_some() && self.store.last_digest()?.is_none() {
            self.store.commit_digest(now(), None, None)?;
        }
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            match self.session(lifetime, &mut shutdown, &mut backoff).await {
                Ok(()) => return Ok(()),
                // Once the mailbox has worked, a refused login (or a token helper
                // failing) is most likely a backend having a bad moment: keep trying,
                // loudly. At start it is a configuration error: stop and say so.
                Err(e) if e.is_transient() || (self.connected_once && e.is_credentials()) => {
                    self.counters.reconnects += 1;
                    self.copiers.clear();
                    warn!("{e}; reconnecting in {}s", backoff.as_secs());
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => return Ok(()),
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn session(
        &mut self,
        lifetime: Lifetime,
        shutdown: &mut watch::Receiver<bool>,
        backoff: &mut Duration,
    ) -> Result<(), DaemonError> {
        let mut mb = Mailbox::connect(&self.imap).await?;
        *backoff = Duration::from_secs(1);
        self.connected_once = true;
        // IDLE only when both the config and the server allow it; polling otherwise.
        let idle = self.imap.idle && mb.idle_supported;
        info!(
            host = %self.imap.host,
            tls = ?self.imap.tls,
            idle,
            poll_seconds = self.imap.poll_interval.as_secs(),
            r#move = mb.move_supported,
            "connected to IMAP"
        );
        for folder in self.folders() {
            mb.ensure_folder(&folder).await?;
        }
        loop {
            if self
                .registry_changed
                .swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                // New known certificates count from the next message on.
                self.registry = self.store.load_registry()?;
            }
            self.scan(&mut mb, shutdown).await?;
            self.handle_accepted()?;
            self.daily_routine()?;
            self.deliver(true).await?;
            if *shutdown.borrow() || lifetime == Lifetime::Once {
                self.logout_all(mb).await;
                return Ok(());
            }
            if mb.has_news() {
                // Mail arrived while we were busy: scan again before waiting.
                continue;
            }
            let wait = self.next_wait();
            let poke = self.poke.clone();
            let woken = if idle {
                mb.idle(wait, shutdown, &poke).await?
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => Woken::Timeout,
                    _ = shutdown.changed() => Woken::Shutdown,
                    _ = poke.notified() => Woken::Poked,
                }
            };
            debug!(?woken, "woken");
            if woken == Woken::Shutdown {
                // Replies already committed still go out before we stop.
                self.deliver(true).await?;
                self.logout_all(mb).await;
                return Ok(());
            }
        }
    }

    /// Notifying this wakes the daemon from IDLE: a staff change queued a notice, or
    /// held mail was accepted (the control socket does it).
    pub fn poke_handle(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.poke.clone()
    }

    /// Setting this (and poking) has the daemon reload the registry before the next
    /// message: staff imported certificates through the control socket.
    pub fn registry_flag(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.registry_changed.clone()
    }

    /// How replies are made, from the config.
    fn settings(&self) -> Settings<'_> {
        Settings::from_config(&self.config, &self.templates)
    }

    /// The staff digest and the applicants' reminders, once a day at the configured
    /// local time. The first start only sets the clock (in `run`): no digest of the past.
    fn daily_routine(&mut self) -> Result<(), DaemonError> {
        let Some(cfg) = self.config.digest.clone() else {
            return Ok(());
        };
        let now = now();
        let Some(last) = self.store.last_digest()? else {
            // Set when the daemon starts (see `run`); absent only if [digest] was added
            // to a store made by `registry import` or a test.
            self.store.commit_digest(now, None, None)?;
            return Ok(());
        };
        let Ok(tz) = jiff::tz::TimeZone::get(&cfg.time_zone) else {
            // Checked when the config was read; the zone database is built in.
            return Ok(());
        };
        if !digest::due(now, last, cfg.at, &tz) {
            return Ok(());
        }
        let settings = self.settings();
        let result = routine::queue_digest(&self.store, &cfg, &settings, now, None).and_then(|d| {
            Ok((
                d,
                routine::queue_reminders(&self.store, &cfg, &settings, now)?,
            ))
        });
        let (d, reminders) = match result {
            Ok(done) => done,
            Err(RoutineError::Store(e)) => return Err(e.into()),
            Err(e) => {
                // Skip today's rather than stop the mail or retry every few seconds.
                error!("daily digest or reminders failed, skipped until tomorrow: {e}");
                self.store.commit_digest(now, None, None)?;
                return Ok(());
            }
        };
        info!(
            new_cases = d.new_cases.len(),
            accepted = d.accepted.len(),
            waiting_on_age = d.waiting_on_age.len(),
            reminders,
            "daily staff digest queued"
        );
        Ok(())
    }

    async fn logout_all(&mut self, mb: Mailbox) {
        mb.logout().await;
        for copier in std::mem::take(&mut self.copiers) {
            copier.logout().await;
        }
    }

    fn folders(&self) -> Vec<String> {
        let mut f = vec![self.imap.processed_folder.clone()];
        f.extend(self.imap.needs_human_folder.clone());
        match self.config.reply.mode {
            ReplyMode::Send => f.extend(self.imap.sent_folder.clone()),
            ReplyMode::Draft => f.push(self.imap.drafts_folder.clone()),
            ReplyMode::Off => {}
        }
        f
    }

    /// How long to wait for new mail: the full-scan interval, bounded by IDLE renewal
    /// and by the next reply due for a retry.
    fn next_wait(&self) -> Duration {
        let mut wait = self.imap.poll_interval.min(IDLE_RENEW);
        if let Ok(entries) = self.store.pending() {
            let now = now().unix_timestamp();
            if let Some(next) = entries
                .iter()
                .filter(|e| e.state == OutboxState::Pending)
                .map(|e| e.next_attempt)
                .min()
            {
                wait = wait.min(Duration::from_secs(next.saturating_sub(now).max(1) as u64));
            }
        }
        wait
    }

    /// One pass over the inbox: every message not yet handled is handled, every handled
    /// one still there is moved.
    async fn scan(
        &mut self,
        mb: &mut Mailbox,
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
        let failed: HashMap<u32, u8> = fresh
            .iter()
            .filter_map(|u| Some((*u, *self.fetch_failures.get(&(uid_validity, *u))?)))
            .collect();
        let failures = |uid: &u32| failed.get(uid).copied().unwrap_or(0);
        let (unreadable, fresh): (Vec<u32>, Vec<u32>) = fresh
            .into_iter()
            .partition(|u| failures(u) >= MAX_FETCH_FAILURES);
        if !unreadable.is_empty() {
            self.set_aside_unreadable(mb, uid_validity, &unreadable)
                .await?;
        }
        if fresh.is_empty() {
            return Ok(());
        }
        let listed = self.sizes(mb, uid_validity, &fresh).await?;
        let fresh = self.without_backlog(fresh, &listed);
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
            let limit = self.config.reply.max_message_bytes;
            let (small, big): (Vec<u32>, Vec<u32>) = batch
                .iter()
                .partition(|u| sizes.get(u).copied().unwrap_or(0) <= limit);
            let t_fetch = Instant::now();
            let fetched = async {
                let mut fetched = if small.is_empty() {
                    Vec::new()
                } else {
                    mb.fetch(&small, false).await?
                };
                if !big.is_empty() {
                    fetched.extend(mb.fetch(&big, true).await?);
                }
                Ok::<_, MailboxError>(fetched)
            }
            .await;
            // Any failure counts against every message of the batch: a network
            // failure rarely hits the same message three times, a broken one always.
            let mut fetched = match fetched {
                Ok(fetched) => fetched,
                Err(e) => {
                    self.count_fetch_failure(uid_validity, &batch);
                    warn!(messages = ?batch, "fetching failed: {e}");
                    return Err(e.into());
                }
            };
            let mut missing = 0;
            for uid in &batch {
                if fetched.iter().any(|(u, _)| u == uid) {
                    self.fetch_failures.remove(&(uid_validity, *uid));
                } else {
                    // The server answered without the message: it stays in the inbox
                    // and comes round again on a new connection. Only the first one
                    // missing counts as failed (as for sizes above): it is fetched alone
                    // from then on.
                    if missing == 0 {
                        self.count_fetch_failure(uid_validity, &[*uid]);
                    }
                    warn!(uid, "the server did not hand this message over");
                    missing += 1;
                }
            }
            fetched.sort_by_key(|(uid, _)| *uid);
            let t_decide = Instant::now();
            let mut moves: BTreeMap<String, Vec<u32>> = BTreeMap::new();
            let mut stopped = false;
            for (uid, raw) in fetched {
                if *shutdown.borrow() {
                    stopped = true;
                    break;
                }
                let oversized = big.contains(&uid);
                let at = Position { uid_validity, uid };
                if let Some(dest) = self.handle(&raw, at, oversized, sizes.get(&uid).copied())? {
                    moves.entry(dest).or_default().push(uid);
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
            self.deliver(false).await?;
            let t_move = Instant::now();
            for (folder, uids) in &moves {
                mb.move_to(uids, folder).await?;
            }
            debug!(
                messages = batch.len(),
                fetch_ms = (t_decide - t_fetch).as_millis() as u64,
                decide_ms = (t_deliver - t_decide).as_millis() as u64,
                deliver_ms = (t_move - t_deliver).as_millis() as u64,
                move_ms = t_move.elapsed().as_millis() as u64,
                "batch done"
            );
            if stopped {
                info!("shutdown requested: stopping after the current message");
                break;
            }
        }
        Ok(())
    }

    /// Size and arrival time of every message of `uids`, or an error. Without its size
    /// a message would be fetched whole however large, and an answer cut short leaves
    /// the connection untrusted. One query asks for all; after one failed or came back
    /// short, the next pass asks message by message, so the one the server chokes on is
    /// known exactly (and set aside after [`MAX_FETCH_FAILURES`]) while the others go on.
    async fn sizes(
        &mut self,
        mb: &mut Mailbox,
        uid_validity: u32,
        uids: &[u32],
    ) -> Result<Vec<(u32, u64, Option<i64>)>, DaemonError> {
        let answered =
            |listed: &[(u32, u64, Option<i64>)], uid: u32| listed.iter().any(|&(u, _, _)| u == uid);
        if !self.size_one_by_one {
            let listed = mb
                .sizes(uids)
                .await
                .inspect_err(|_| self.size_one_by_one = true)?;
            let missing = uids.iter().filter(|&&u| !answered(&listed, u)).count();
            if missing > 0 {
                self.size_one_by_one = true;
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
                    self.count_fetch_failure(uid_validity, &[uid]);
                    warn!(uid, "the server did not report this message's size");
                    return Err(other.err().unwrap_or(MailboxError::Incomplete(1)).into());
                }
            }
        }
        self.size_one_by_one = false;
        Ok(listed)
    }

    /// `fresh` without the mail that arrived before the daemon's first start, when the
    /// config leaves that history alone. A message arrived in the second of the first
    /// start counts as new (INTERNALDATE has whole seconds).
    fn without_backlog(&mut self, fresh: Vec<u32>, listed: &[(u32, u64, Option<i64>)]) -> Vec<u32> {
        if self.imap.backlog == Backlog::Handle {
            return fresh;
        }
        let cut = self.first_start.unix_timestamp();
        let old: std::collections::HashSet<u32> = listed
            .iter()
            .filter(|(_, _, arrived)| arrived.is_some_and(|t| t < cut))
            .map(|&(uid, _, _)| uid)
            .collect();
        if old.len() != self.backlog_left {
            self.backlog_left = old.len();
            info!(
                count = old.len(),
                "messages older than the daemon's first start left in the inbox untouched ([imap] backlog = \"leave\")"
            );
        }
        fresh.into_iter().filter(|u| !old.contains(u)).collect()
    }

    /// A report that one of our replies could not be delivered marks that reply failed,
    /// with the remote server's reason, for `status` and the digest. It counts only when
    /// it names a reply of ours (an unguessable Message-ID), to the recipient it names,
    /// and comes from that recipient's side: from its authenticated domain, or made
    /// inside our own mail system (our relay's own report carries no stamp of our MX).
    /// Returns why a report about one of ours was ignored.
    fn record_bounce(
        &mut self,
        bounce: &crate::intake::bounce::Bounce,
        sender: &crate::trust::Sender,
        trace: &crate::trust::Trace,
    ) -> Result<Option<String>, DaemonError> {
        let Some(id) = &bounce.original_message_id else {
            return Ok(None);
        };
        let Some(mut entry) = self.store.outbox_entry(&format!("<{id}>"))? else {
            return Ok(None);
        };
        if entry.state != OutboxState::Sent {
            return Ok(None);
        }
        let recipient_domain = crate::trust::domain::of_address(&entry.to).unwrap_or_default();
        let right_recipient = bounce
            .recipient
            .as_deref()
            .is_none_or(|r| r.trim().eq_ignore_ascii_case(entry.to.trim()));
        let from_their_side = sender.authenticated
            && sender
                .domain
                .as_deref()
                .is_some_and(|d| crate::trust::domain::aligned(d, &recipient_domain));
        let from_our_system = !crate::trust::stamped_by(trace, &self.config.trust.authserv_ids);
        if !right_recipient || !(from_their_side || from_our_system) {
            let why = format!(
                "delivery report about our reply {} ignored: it does not come from {}'s side (sent by {})",
                entry.message_id,
                entry.to,
                sender.describe()
            );
            warn!(id = %entry.message_id, "{why}");
            return Ok(Some(why));
        }
        entry.fail(bounce.describe(), now());
        self.store.update_outbox(&entry)?;
        note_failure_on_case(&self.store, &entry)?;
        self.counters.send_failures += 1;
        warn!(to = %entry.to, id = %entry.message_id, "reply bounced: {}", bounce.describe());
        Ok(None)
    }

    fn count_fetch_failure(&mut self, uid_validity: u32, uids: &[u32]) {
        for &uid in uids {
            *self.fetch_failures.entry((uid_validity, uid)).or_default() += 1;
        }
    }

    /// Files messages the server failed to hand over [`MAX_FETCH_FAILURES`] times:
    /// recorded (the digest lists them), moved to the Needs-Human folder (or left in
    /// the inbox when there is none), never answered. Nothing is lost: the message stays
    /// on the server for people to look at.
    async fn set_aside_unreadable(
        &mut self,
        mb: &mut Mailbox,
        uid_validity: u32,
        uids: &[u32],
    ) -> Result<(), DaemonError> {
        let destination = self.imap.needs_human_folder.clone();
        for &uid in uids {
            let record = crate::store::SeenRecord {
                identity: format!("unreadable:{uid_validity}/{uid}"),
                uid_validity,
                uid,
                outcome: "unreadable".into(),
                case: None,
                destination: destination.clone(),
                reply: None,
                note: Some(format!(
                    "the IMAP server failed {MAX_FETCH_FAILURES} times to hand this message over; left for people"
                )),
                at: now(),
                from: None,
                subject: None,
                problems: Vec::new(),
                accepted: Vec::new(),
                sender: None,
                held: false,
                flagged: false,
                warnings: Vec::new(),
            };
            self.store.commit(MessageCommit {
                seen: &record,
                case: None,
                thread_ids: &[],
                outbox: None,
                rate_keys: &[],
            })?;
            error!(
                uid,
                folder = destination.as_deref().unwrap_or("(left in the inbox)"),
                "the server failed {MAX_FETCH_FAILURES} times to hand this message over: set aside for people"
            );
        }
        self.store.flush()?;
        if let Some(folder) = &destination {
            mb.move_to(uids, folder).await?;
        }
        for &uid in uids {
            self.fetch_failures.remove(&(uid_validity, uid));
        }
        Ok(())
    }

    /// Decides and commits one message; returns the folder to move it to.
    fn handle(
        &mut self,
        raw: &[u8],
        at: Position,
        oversized: bool,
        size: Option<u64>,
    ) -> Result<Option<String>, DaemonError> {
        self.handle_as(raw, at, oversized, size, None)
    }

    /// Held mail staff accepted (`held accept`), handled as if its sender were
    /// authenticated; its bytes were kept in the store. It stays in the folder it was
    /// filed in.
    fn handle_accepted(&mut self) -> Result<(), DaemonError> {
        for (record, acceptance, raw) in self.store.accepted_held()? {
            if record.held {
                let at = Position {
                    uid_validity: record.uid_validity,
                    uid: record.uid,
                };
                self.handle_as(&raw, at, false, None, Some(acceptance.by.clone()))?;
                info!(identity = %record.identity, by = %acceptance.by, "held mail accepted by staff and handled");
            }
            self.store.finish_held(&record.identity)?;
        }
        Ok(())
    }

    /// `accepted_by`: staff vouched for the sender of this held message.
    fn handle_as(
        &mut self,
        raw: &[u8],
        at: Position,
        oversized: bool,
        size: Option<u64>,
        accepted_by: Option<String>,
    ) -> Result<Option<String>, DaemonError> {
        let now = now();
        let analysis;
        let facts;
        let mut read = crate::intake::read(raw, &self.config.own_addresses);
        // The case the message names or whose thread it continues, looked up once.
        let in_thread = self.thread_case(&read)?;
        let content = if oversized {
            facts = read;
            Content::Oversized { facts: &facts }
        } else {
            let ctx = Context {
                anchors: &self.anchors,
                registry: &self.registry,
                own_addresses: &self.config.own_addresses,
            };
            // A reply in the thread of a case is about MNotify even when it does not
            // say so (DESIGN: "or of a case it belongs to"); the sender alone is not
            // enough, institutions write to servicii@ about other things too.
            if in_thread.is_some() {
                read.mentions_mnotify = true;
            }
            analysis = analyse_facts(read, &ctx, now);
            Content::Analysed(&analysis)
        };
        let f = content.facts();
        let identity = process::identity(f.message_id.as_deref(), raw);
        let before = match accepted_by {
            Some(_) => None,
            None => self.store.seen_identity(&identity)?,
        };
        if let Some(before) = before {
            // The same message under a new UID: UIDVALIDITY changed, or it was
            // delivered twice. Never answered twice.
            let record = crate::store::SeenRecord {
                uid_validity: at.uid_validity,
                uid: at.uid,
                note: Some(format!(
                    "duplicate of UID {}/{}",
                    before.uid_validity, before.uid
                )),
                reply: None,
                ..before
            };
            self.store.mark_uid(&record)?;
            self.counters.duplicates += 1;
            info!(uid = at.uid, identity = %identity, "already handled; filing it again without a reply");
            return Ok(record.destination);
        }
        let sender = crate::trust::assess(&f.trace, f.from.as_deref(), &self.config.trust);
        let mut ignored_report = None;
        if let Some(bounce) = &f.bounce {
            // Before the report itself is recorded: after a crash it is read again
            // and marks the reply again, which changes nothing.
            ignored_report = self.record_bounce(bounce, &sender, &f.trace)?;
        }
        // The case it names (token), continues (thread) or, for an authenticated
        // sender only, the sender's own; the planner decides whether it may join it.
        let case = match in_thread {
            Some(c) => Some(c),
            None if sender.authenticated || accepted_by.is_some() => self.sender_case(f)?,
            None => None,
        };
        let counts = match process::reply_address(f) {
            Some(to) => {
                let keys =
                    process::RateKeys::new(&to, case.as_ref().map(|c| c.token.as_str()), now);
                let count = |k: &str| self.store.replies_counted(k);
                process::ReplyCounts {
                    recipient_today: count(&keys.recipient)?,
                    case_today: match &keys.case {
                        Some(k) => count(k)?,
                        None => 0,
                    },
                    domain_today: count(&keys.domain)?,
                    this_hour: count(&keys.hour)?,
                    unverified_this_hour: count(&keys.unverified_hour)?,
                }
            }
            None => process::ReplyCounts::default(),
        };
        let mut certificate_cases = Vec::new();
        if let Content::Analysed(a) = content {
            for (issuer, serial) in process::candidates(a) {
                certificate_cases.extend(self.store.certificate_case(&issuer, &serial)?);
            }
        }
        let settings = self.settings();
        let mut plan = process::plan(
            content,
            &identity,
            at,
            Known {
                case,
                counts,
                accepted_by,
                certificate_cases,
            },
            &settings,
            now,
            &fresh_text(),
        )?;
        if plan.seen.held && !oversized && raw.len() <= MAX_HELD_BYTES {
            // Kept for staff, who may accept it by hand (`held accept`).
            self.store.keep_held(&identity, raw)?;
        }
        if let Some(why) = ignored_report {
            let note = plan
                .seen
                .note
                .take()
                .map_or(why.clone(), |n| format!("{n}; {why}"));
            plan.seen.note = Some(note);
        }
        self.store.commit(MessageCommit {
            seen: &plan.seen,
            case: plan.case.as_ref(),
            thread_ids: &plan.thread_ids,
            outbox: plan.outbox.as_ref(),
            rate_keys: &plan.rate_keys,
        })?;
        self.counters.handled += 1;
        info!(
            uid = at.uid,
            identity = %identity,
            size = size.unwrap_or(0),
            outcome = %plan.seen.outcome,
            case = plan.seen.case.as_deref().unwrap_or("-"),
            reply = plan.seen.reply.as_deref().unwrap_or("-"),
            note = plan.seen.note.as_deref().unwrap_or(""),
            "handled"
        );
        Ok(plan.seen.destination)
    }

    /// The case of the message's sender, for mail that names no case and continues no
    /// case's thread (see [`Daemon::thread_case`], tried first).
    fn sender_case(
        &self,
        f: &crate::intake::Facts,
    ) -> Result<Option<crate::case::Case>, DaemonError> {
        if let Some(from) = process::reply_address(f) {
            if let Some(c) = self.store.case_for_sender(&from)? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// The case a message names by its token or belongs to by its thread headers.
    fn thread_case(
        &self,
        f: &crate::intake::Facts,
    ) -> Result<Option<crate::case::Case>, DaemonError> {
        if let Some(token) = &f.case_token {
            if let Some(c) = self.store.case(&token.to_ascii_uppercase())? {
                return Ok(Some(c));
            }
        }
        for id in f.in_reply_to.iter().chain(f.references.iter().rev()) {
            let id = id.trim_matches(|c| c == '<' || c == '>');
            if let Some(c) = self.store.case_for_thread(id)? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// Sends (or saves as drafts) every outbox entry that is due, then saves the copies
    /// of what was sent in the Sent folder.
    /// `last`: nothing more is coming for now, so copies are not left for the next round.
    async fn deliver(&mut self, last: bool) -> Result<(), DaemonError> {
        let now_s = now().unix_timestamp();
        let mut sends = Vec::new();
        let mut drafts = Vec::new();
        for mut entry in self.store.due(now_s)? {
            let raw = match base64::engine::general_purpose::STANDARD.decode(&entry.raw_base64) {
                Ok(raw) => raw,
                Err(e) => {
                    entry.fail(format!("stored message is damaged: {e}"), now());
                    self.store.update_outbox(&entry)?;
                    error!(id = %entry.message_id, "reply dropped: its stored copy is damaged");
                    continue;
                }
            };
            match entry.kind {
                OutboxKind::Draft => drafts.push((entry, raw)),
                OutboxKind::Send => sends.push((entry, raw)),
            }
        }
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
        let sending = match (&self.smtp, &self.config.smtp) {
            (Some(smtp), Some(cfg))
                if !sends.is_empty()
                    && self.smtp_paused_until.is_none_or(|t| Instant::now() >= t) =>
            {
                Some((smtp.clone(), cfg.clone()))
            }
            // No SMTP (mode changed to draft/off with sends queued), or paused: they wait.
            _ => None,
        };
        let copy_wanted = self.imap.sent_folder.is_some();
        let sent_folder = self.imap.sent_folder.clone().unwrap_or_default();
        let send = async {
            match &sending {
                Some((smtp, cfg)) => {
                    send_all(
                        &self.store,
                        smtp,
                        cfg,
                        copy_wanted,
                        sends,
                        &mut self.counters,
                        &mut self.smtp_paused_until,
                    )
                    .await
                }
                None => Ok(()),
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
        self.copiers = copiers;
        // A reply given up is on its case's timeline now.
        debug!(
            ms = started.elapsed().as_millis() as u64,
            "outbox delivered"
        );
        sent?;
        copied?;
        if last {
            // Nothing else is coming: the copies of this round go now, too.
            let to_copy = self.store.uncopied()?;
            if !to_copy.is_empty() {
                let copying = self.prepare_copiers(to_copy.len()).await?;
                let (copiers, copied) =
                    save_copies(&self.store, copying, &sent_folder, to_copy).await;
                self.copiers = copiers;
                copied?;
            }
        }
        Ok(())
    }

    /// The copy connections, opened as needed (at most [`COPY_CONNECTIONS`]).
    /// Appends replies to the Drafts folder for staff to review and send, each only if
    /// no draft with its Message-ID is there yet: a crash between the APPEND and the
    /// store's record of it must not leave two drafts that staff might both send. On a
    /// connection of its own, so the inbox stays selected on the main one.
    async fn save_drafts(
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
                                note_failure_on_case(&self.store, &entry)?;
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
            self.copiers = copiers;
        }
        result
    }

    async fn prepare_copiers(&mut self, entries: usize) -> Result<Vec<Mailbox>, DaemonError> {
        let want = COPY_CONNECTIONS.min(entries);
        while self.copiers.len() < want {
            self.copiers.push(Mailbox::connect(&self.imap).await?);
        }
        Ok(std::mem::take(&mut self.copiers))
    }
}

/// Submits replies over SMTP, several at a time on pooled connections; each result is
/// recorded as soon as it is known, with one flush for those that finished together,
/// so a reply is marked sent within one flush of its acceptance.
async fn send_all(
    store: &Store,
    smtp: &SmtpSender,
    cfg: &SmtpConfig,
    copy_wanted: bool,
    sends: Vec<(OutboxEntry, Vec<u8>)>,
    counters: &mut Counters,
    paused_until: &mut Option<Instant>,
) -> Result<(), StoreError> {
    let mut results =
        futures_util::stream::iter(sends.into_iter().map(|(entry, raw)| async move {
            let result = smtp.send(&entry.from, &entry.to, &raw).await;
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
                        warn!(to = %entry.to, id = %entry.message_id, attempts = entry.attempts, "sending failed, retry in {}s: {reason}", delay.as_secs());
                    }
                }
            }
            store.record_outbox(&entry)?;
            if entry.state == OutboxState::Failed {
                note_failure_on_case(store, &entry)?;
            }
        }
        store.flush()?;
    }
    Ok(())
}

/// Puts a message of ours that failed for good on its case's timeline, where
/// `cases show` shows it.
fn note_failure_on_case(store: &Store, entry: &OutboxEntry) -> Result<(), StoreError> {
    let (Some(token), Some(reason)) = (&entry.case, &entry.last_error) else {
        return Ok(());
    };
    let Some(case) = store.case(token)? else {
        return Ok(());
    };
    let failed = crate::case::Event::ReplyFailed {
        to: &entry.to,
        reason,
    };
    let (case, _) = crate::case::apply(&case, failed, entry.failed_at.unwrap_or_else(now));
    store.save_case(&case)
}

/// Appends the copies of replies sent to the Sent folder, on several connections at
/// once (each APPEND waits for the server's fsync). Returns the connections still good
/// and the first failure.
async fn save_copies(
    store: &Store,
    copiers: Vec<Mailbox>,
    sent: &str,
    entries: Vec<OutboxEntry>,
) -> (Vec<Mailbox>, Result<(), DaemonError>) {
    let lanes = copiers.len().min(entries.len()).max(1);
    let mut chunks: Vec<Vec<OutboxEntry>> = vec![Vec::new(); lanes];
    for (i, e) in entries.into_iter().enumerate() {
        chunks[i % lanes].push(e);
    }
    let work = copiers
        .into_iter()
        .zip(chunks)
        .map(|(mut mb, chunk)| async move {
            let mut done = Vec::new();
            for mut entry in chunk {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(&entry.raw_base64)
                    .unwrap_or_default();
                match mb.append(sent, "(\\Seen)", &raw).await {
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
        });
    let mut kept = Vec::new();
    let mut failure: Option<DaemonError> = None;
    for (mb, done, error) in futures_util::future::join_all(work).await {
        for entry in done {
            if let Err(e) = store.record_outbox(&entry) {
                failure.get_or_insert(e.into());
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

/// Retry delay after `attempts` failures: base, 2×base, 4×base… at most an hour.
pub fn retry_delay(base: Duration, attempts: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(MAX_RETRY)
}

/// Splits UIDs into FETCH batches bounded by count and bytes; messages over `limit`
/// are fetched as headers only, so they count as small.
fn batches(uids: &[u32], sizes: &BTreeMap<u32, u64>, limit: u64) -> Vec<Vec<u32>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_and_are_capped() {
        let base = Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1), base);
        assert_eq!(retry_delay(base, 2), base * 2);
        assert_eq!(retry_delay(base, 4), base * 8);
        assert_eq!(retry_delay(base, 40), MAX_RETRY);
    }

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
