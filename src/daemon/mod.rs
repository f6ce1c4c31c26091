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
//!
//! Rooms: this file holds the session loop and reconnection; `inbox` the fetch
//! policy (sizes, backlog, failures, set-aside); `message` one message from bytes to
//! commit; `outbox` sending, drafts and Sent copies; `chores` the daily routine.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use time::OffsetDateTime;
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use crate::analysis::{analyse_facts, Context};
use crate::certificate::validate::TrustAnchors;
use crate::config::{Backlog, Config, ImapConfig, ReplyMode, SmtpConfig};
use crate::digest;
use crate::mailbox::{Mailbox, MailboxError, Woken, FETCH_BATCH};
use crate::process::{self, Content, Position, Settings};
use crate::record::{OutboxEntry, OutboxKind, OutboxState};
use crate::registry::Registry;
use crate::reply::Templates;
use crate::routine::{self, RoutineError};
use crate::smtp::{SendError, SmtpSender};
use crate::store::{MessageCommit, Store, StoreError};

mod chores;
mod error;
mod inbox;
mod junk;
mod message;
mod outbox;
mod sent;
mod serve;

pub use error::DaemonError;
pub use outbox::retry_delay;
use outbox::Round;
pub use serve::{serve, ServeError, ServeOptions};

/// IDLE is re-issued before servers drop it (RFC 2177 allows 30 minutes; 29 is the
/// usual server limit).
const IDLE_RENEW: Duration = Duration::from_secs(25 * 60);
/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// `run --once` gives up after this many tries in a row that could not reach the
/// server (1 s, 2 s apart)…
const ONCE_ATTEMPTS: u32 = 3;
/// …or after this many failed passes in all (a server that connects and then fails,
/// as on a message it cannot hand over, which takes a few passes to set aside).
const ONCE_PASSES: u32 = 10;
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

/// Why the stored cases and the procedures do not fit.
#[derive(Debug)]
pub enum Settle {
    /// What [`crate::case::strands_message`] says.
    Stranded(String),
    Store(StoreError),
}

impl From<StoreError> for Settle {
    fn from(e: StoreError) -> Settle {
        Settle::Store(e)
    }
}

/// Before the daemon starts: no open case may be left with a step its procedure lost
/// (or a service no file provides); steps an edit renamed are carried over. Returns
/// how many cases were carried over.
pub fn settle_procedures(
    store: &Store,
    procedures: &crate::procedure::Catalogue,
) -> Result<usize, Settle> {
    let cases = store.cases()?;
    let strands = crate::case::strands(procedures, &cases);
    if strands.is_empty() {
        store.mark_schema_current()?;
    }
    if !strands.is_empty() {
        return Err(Settle::Stranded(crate::case::strands_message(&strands)));
    }
    let mut carried = 0;
    for mut case in cases {
        let Some(procedure) = procedures.get(&case.service) else {
            continue;
        };
        if case.carry_renamed_steps(procedure) {
            store.save_case(&case)?;
            carried += 1;
        }
    }
    if carried > 0 {
        tracing::info!(
            cases = carried,
            "steps renamed in the procedures carried over"
        );
    }
    Ok(carried)
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
    /// The certificates our cases accepted (see
    /// [`crate::analysis::Context::case_certificates`]), kept current as mail commits.
    case_certificates: Registry,
    templates: Templates,
    pub counters: Counters,
    /// Sending: the SMTP sender, its pause and pace, the Sent-copy connections.
    outbox: outbox::Outbox,
    /// The fetch policy's memory: failures, the backlog left, sizes one by one.
    inbox: inbox::Inbox,
    /// When the daily backup and pruning are next due.
    chores: chores::Chores,
    /// The connection's life: logged in, the store proven, systemd told, folders adapted.
    session: Session,
    /// Wakes the daemon from IDLE for staff requests (see [`Daemon::poke_handle`]).
    poke: std::sync::Arc<tokio::sync::Notify>,
    /// Staff imported certificates: reload the registry (see [`Daemon::registry_flag`]).
    registry_changed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Mail that arrived before this is the mailbox's history (`[imap] backlog`).
    first_start: OffsetDateTime,
    /// What the monitoring endpoint and the watchdog read.
    telemetry: std::sync::Arc<crate::metrics::Telemetry>,
    /// The CAs' revocation lists (`[revocation]`), kept current between passes.
    crls: crate::revocation::keeper::Keeper,
}

/// The connection's life across reconnections.
/// The daemon's link to the mailbox: never reached since start (a refused login is a
/// configuration error), reached by the current session (a failure after that is not
/// "unreachable"), or reached before and lost (a refused login is a backend's bad
/// moment: keep trying).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Link {
    Never,
    Connected,
    Lost,
}

struct Session {
    /// Whether the mailbox was ever reached, and by this session.
    pub(super) link: Link,
    /// The store has never run the daemon: the mailbox is asked first whether it has
    /// (see [`Daemon::prove_store_new`]).
    pub(super) store_unproven: bool,
    /// `run --new-store`: a new store on a mailbox that shows earlier runs is wanted.
    pub(super) new_store_allowed: bool,
    pub(super) ready_told: bool,
    /// The folders the config left to defaults were adapted to the server's layout.
    pub(super) folders_adapted: bool,
    /// systemd, told when the first pass is done.
    pub(super) notifier: crate::notify::Notifier,
}

impl Session {
    fn new() -> Session {
        Session {
            link: Link::Never,
            store_unproven: false,
            new_store_allowed: false,
            ready_told: false,
            folders_adapted: false,
            notifier: crate::notify::Notifier::from_env(),
        }
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl Daemon {
    /// Checks the configuration and prepares everything but the IMAP connection.
    pub fn new(
        mut config: Config,
        store: Store,
        anchors: TrustAnchors,
    ) -> Result<Daemon, DaemonError> {
        let source = config.source.display().to_string();
        // One copy: the daemon's own, adapted to the server's layout at the first
        // connection (its `config.imap` is left empty).
        let imap = config.imap.take().ok_or(DaemonError::NoImap {
            config: source.clone(),
        })?;
        // In draft mode the sender is there for staff answers alone (see `outbox::due`).
        let smtp = match (&config.smtp, config.reply.mode) {
            (Some(s), ReplyMode::Send | ReplyMode::Draft) => Some(SmtpSender::new(s)?),
            (None, ReplyMode::Send) => return Err(DaemonError::NoSmtp { config: source }),
            _ => None,
        };
        let templates = Templates::for_config(&config.reply)?;
        settle_procedures(&store, &config.procedures).map_err(|e| match e {
            Settle::Stranded(message) => DaemonError::Stranded {
                config: source.clone(),
                message,
            },
            Settle::Store(e) => DaemonError::Store(e),
        })?;
        crate::analysis::warm_up(&config.procedures);
        let registry = store.load_registry()?;
        let case_certificates = store.case_certificates(&config.procedures)?;
        let crls = crate::revocation::keeper::Keeper::new(
            config.revocation.clone(),
            anchors.clone(),
            now(),
        );
        Ok(Daemon {
            crls,
            imap,
            store,
            anchors,
            registry,
            case_certificates,
            templates,
            poke: Default::default(),
            registry_changed: Default::default(),
            first_start: now(),
            telemetry: {
                let telemetry = crate::metrics::Telemetry::new(now().unix_timestamp());
                if let Some(until) = config.credential_expiry() {
                    telemetry.credential_expiry.set(until.unix_timestamp());
                }
                telemetry
            },
            counters: Counters::default(),
            outbox: outbox::Outbox::new(smtp),
            inbox: inbox::Inbox::default(),
            chores: chores::Chores::default(),
            session: Session::new(),
            config,
        })
    }

    /// `run --new-store`: start with a new store although the mailbox shows that the
    /// daemon ran on it before (the operator decided so; see `Daemon::prove_store_new`).
    pub fn allow_new_store(&mut self) {
        self.session.new_store_allowed = true;
    }

    /// What the loop reports, for the monitoring endpoint.
    pub fn telemetry(&self) -> std::sync::Arc<crate::metrics::Telemetry> {
        self.telemetry.clone()
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
        // `--once`: tries in a row that could not connect, and failed passes in all.
        let (mut unreachable, mut failed): (u32, u32) = (0, 0);
        // A store that never ran the daemon is proven new against the mailbox first
        // (at the first connection); until then its first start is not recorded.
        self.session.store_unproven = self.store.first_started()?.is_none();
        if !self.session.store_unproven {
            self.first_start = self.store.first_start(now())?;
        }
        // The first digest covers everything from the first start on, mail handled in
        // the very first pass included.
        if self.config.digest.is_some() && self.store.last_digest()?.is_none() {
            self.store.commit_digest(now(), &[], None)?;
        }
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            if self.session.link == Link::Connected {
                self.session.link = Link::Lost;
            }
            match self.session(lifetime, &mut shutdown, &mut backoff).await {
                Ok(()) => return Ok(()),
                // Once the mailbox has worked, a refused login (or a token helper
                // failing) is most likely a backend having a bad moment: keep trying,
                // loudly. At start it is a configuration error: stop and say so.
                // `--once` (cron, a first try) gives up after a few tries, and says why.
                Err(e)
                    if lifetime == Lifetime::Once
                        && (e.is_folder_refused()
                            || (self.session.link != Link::Connected
                                && unreachable + 1 >= ONCE_ATTEMPTS)
                            || failed + 1 >= ONCE_PASSES) =>
                {
                    return Err(DaemonError::GaveUp {
                        attempts: failed + 1,
                        last: Box::new(e),
                    })
                }
                Err(e)
                    if e.is_transient()
                        || (self.session.link != Link::Never && e.is_credentials()) =>
                {
                    failed += 1;
                    unreachable = if self.session.link == Link::Connected {
                        0
                    } else {
                        unreachable + 1
                    };
                    self.counters.reconnects += 1;
                    self.telemetry.reconnects.inc();
                    self.outbox.copiers.clear();
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
        let (mut mb, idle) = self.log_in().await?;
        loop {
            if self
                .registry_changed
                .swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                // New known certificates count from the next message on.
                self.registry = self.store.load_registry()?;
            }
            // The junk folder first: the inbox pass after it selects the inbox and sees
            // whatever arrived meanwhile (IDLE would not hear of it).
            self.scan_junk(&mut mb, shutdown).await?;
            self.scan_sent(&mut mb).await?;
            self.scan(&mut mb, shutdown).await?;
            // A whole pass worked: the next failure starts the backoff afresh. (Not at
            // login: a server that lets us in and refuses a folder would be asked again
            // every second.)
            *backoff = Duration::from_secs(1);
            self.telemetry.imap_ok(now().unix_timestamp());
            if !self.session.ready_told {
                self.session.notifier.send("READY=1");
                self.session.ready_told = true;
            }
            self.handle_accepted(&mut mb).await?;
            self.daily_routine()?;
            self.chores.backup(&self.store, &self.config.keeping);
            self.chores.prune(&self.store, &self.config.keeping)?;
            self.crls.refresh(now());
            self.deliver(Round::Last).await?;
            if *shutdown.borrow() || lifetime == Lifetime::Once {
                self.logout_all(mb).await;
                return Ok(());
            }
            if mb.has_news() {
                // Mail arrived while we were busy: scan again before waiting.
                continue;
            }
            let woken = self.wait(&mut mb, idle, shutdown).await?;
            debug!(?woken, "woken");
            self.telemetry.imap_ok(now().unix_timestamp());
            if woken == Woken::Shutdown {
                // Replies already committed still go out before we stop.
                self.deliver(Round::Last).await?;
                self.logout_all(mb).await;
                return Ok(());
            }
        }
    }

    /// Adapts the folders (once), logs in, proves a new store new, and makes sure the
    /// folders exist; the mailbox, and whether it IDLEs.
    async fn log_in(&mut self) -> Result<(Mailbox, bool), DaemonError> {
        if !self.session.folders_adapted {
            // Before the session proper, so that "connected" in the log means both.
            self.adapt_folders().await?;
        }
        let mut mb = Mailbox::connect(&self.imap).await?;
        self.telemetry.imap_ok(now().unix_timestamp());
        self.session.link = Link::Connected;
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
        if self.session.store_unproven {
            self.prove_store_new(&mut mb).await?;
            self.first_start = self.store.first_start(now())?;
            self.session.store_unproven = false;
        }
        for folder in self.folders() {
            mb.ensure_folder(&folder).await?;
        }
        Ok((mb, idle))
    }

    /// Until mail may have arrived: IDLE or the poll interval, a poke, or shutdown.
    async fn wait(
        &mut self,
        mb: &mut Mailbox,
        idle: bool,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Woken, DaemonError> {
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
        Ok(woken)
    }

    /// Reads the server's namespace and special-use folders once, and uses them for the
    /// folders the config did not name (Cyrus keeps folders under `INBOX.`, Exchange
    /// has its own `Sent Items`).
    async fn adapt_folders(&mut self) -> Result<(), DaemonError> {
        let layout = match Mailbox::layout(&self.imap).await {
            Ok(layout) => layout,
            // A server that answers without end is not waited on: the names stay.
            Err(e @ MailboxError::AnswerTooLong { .. }) => {
                warn!("{e}; the folders keep their configured or default names");
                self.session.folders_adapted = true;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let (imap, choices) = layout.adapt(&self.imap);
        for choice in choices.iter().filter(|c| c.folder_changed()) {
            info!(setting = choice.setting, folder = %choice.folder, why = %choice.why, "folder adapted to the server");
        }
        self.imap = imap;
        self.session.folders_adapted = true;
        Ok(())
    }

    /// A store that never ran the daemon, on a mailbox that shows it ran before (mail in
    /// the Processed folder, our replies in Sent): the store was lost or replaced.
    /// Starting afresh would answer handled mail again (`backlog = "handle"`) or lose
    /// track of every case, so the daemon stops and says how to restore, unless the
    /// operator asked for a new store (`run --new-store`).
    async fn prove_store_new(&mut self, mb: &mut Mailbox) -> Result<(), DaemonError> {
        let Some(evidence) = mb.earlier_runs(&self.imap).await? else {
            return Ok(());
        };
        if self.session.new_store_allowed {
            warn!(%evidence, "starting with a new store on a mailbox that was handled before (--new-store)");
            return Ok(());
        }
        Err(DaemonError::StoreLooksNew {
            store: self.config.store_path.display().to_string(),
            evidence,
            backups: self.config.keeping.dir.display().to_string(),
        })
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

    /// How mail is answered and filed: the config's, with the folders adapted to the
    /// server.
    fn settings(&self) -> Settings<'_> {
        Settings {
            processed_folder: &self.imap.processed_folder,
            needs_human_folder: self.imap.needs_human_folder.as_deref(),
            ..self.config.plan_settings(&self.templates)
        }
    }

    async fn logout_all(&mut self, mb: Mailbox) {
        mb.logout().await;
        for copier in std::mem::take(&mut self.outbox.copiers) {
            copier.logout().await;
        }
    }

    fn folders(&self) -> Vec<String> {
        (self.imap.folders_used(self.config.reply.mode).into_iter())
            .map(|(_, folder)| folder.to_string())
            .collect()
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
}

#[cfg(test)]
mod tests;
