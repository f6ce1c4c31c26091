//! One message: bytes → facts → what the store knows → the pure plan → one commit.
//! Also held mail staff accepted, and delivery reports about our replies.

use super::*;
use crate::mailbox::{Mailbox, Part};
use crate::remark::Remark;

/// Held mail staff accepted: who vouched, and the identity it was held under.
pub(super) struct Accepted {
    by: String,
    identity: String,
}

impl Daemon {
    /// Held mail staff accepted (`held accept`), handled as if its sender were
    /// authenticated (from its bytes kept in the store, or read again from the folder
    /// it was filed in), then filed where its decision puts it (Processed), found in
    /// that folder by its Message-ID.
    pub(super) async fn handle_accepted(&mut self, mb: &mut Mailbox) -> Result<(), DaemonError> {
        let accepted = self.store.accepted_held()?;
        let mut reselect = false;
        let mut refile = Vec::new();
        for (record, acceptance, raw) in accepted {
            if record.held {
                let raw = match raw {
                    Some(raw) => raw,
                    None => {
                        // Not kept whole: read again from where it was filed.
                        reselect = true;
                        match self.read_again(mb, &record).await? {
                            Some(raw) => raw,
                            None => {
                                warn!(identity = %record.identity, "held mail accepted by staff is no longer in {}: ask the institution to send it again", record.destination.as_deref().unwrap_or("the inbox"));
                                self.store.finish_held(&record.identity)?;
                                continue;
                            }
                        }
                    }
                };
                let at = Position {
                    uid_validity: record.uid_validity,
                    uid: record.uid,
                };
                let accepted = Accepted {
                    by: acceptance.by.clone(),
                    identity: record.identity.clone(),
                };
                let destination = match self
                    .handle(raw, at, Part::Whole, None, Some(&accepted))
                    .await?
                {
                    Handled::MoveTo(folder) => Some(folder),
                    Handled::Stays => None,
                    Handled::Unread(unread) => {
                        // Read once before, so this is the deadline on a loaded machine:
                        // the acceptance stays and is tried at the next pass.
                        warn!(identity = %record.identity, "held mail accepted by staff not handled yet: {unread}");
                        continue;
                    }
                };
                info!(identity = %record.identity, by = %acceptance.by, "held mail accepted by staff and handled");
                if let Some(to) = destination.filter(|to| Some(to) != record.destination.as_ref()) {
                    refile.push((record.clone(), to));
                }
            }
            self.store.finish_held(&record.identity)?;
        }
        // Once handled for good (never handled twice): a move that fails leaves the
        // mail where it was, which staff see in the digest's list.
        for (record, to) in refile {
            reselect = true;
            if let Err(e) = self.refile(mb, &record, &to).await {
                warn!(identity = %record.identity, "accepted held mail handled but not moved to {to}: {e}");
            }
        }
        if reselect {
            // IDLE watches the selected folder: the inbox again.
            mb.select(&self.imap.inbox).await?;
        }
        Ok(())
    }

    /// Moves an accepted held mail from the folder it was filed in to `to`, found by
    /// its Message-ID (a mail without one stays where it is: staff find it by the
    /// record).
    async fn refile(
        &mut self,
        mb: &mut Mailbox,
        record: &crate::record::SeenRecord,
        to: &str,
    ) -> Result<(), DaemonError> {
        let (Some(id), Some(from)) = (
            process::message_id_of(&record.identity),
            record.destination.as_deref(),
        ) else {
            return Ok(());
        };
        let uids = mb.uids_with_message_id(from, &id).await?;
        if !uids.is_empty() {
            mb.move_to(&uids, to).await?;
            info!(identity = %record.identity, from, to, "accepted held mail filed");
        }
        Ok(())
    }

    /// A held mail whose bytes were not kept, fetched again by its Message-ID from the
    /// folder it was filed in.
    async fn read_again(
        &mut self,
        mb: &mut Mailbox,
        record: &crate::record::SeenRecord,
    ) -> Result<Option<Vec<u8>>, DaemonError> {
        let Some(id) = process::message_id_of(&record.identity) else {
            return Ok(None);
        };
        let folder = record
            .destination
            .clone()
            .unwrap_or_else(|| self.imap.inbox.clone());
        Ok(mb.fetch_by_message_id(&folder, &id).await?)
    }

    /// Decides and commits one message, and says what to do with it: move it, leave
    /// it, or (not read this time) leave it in the inbox with its attempt counted.
    /// `accepted`: staff vouched for the sender of this held message.
    pub(super) async fn handle(
        &mut self,
        raw: Vec<u8>,
        at: Position,
        part: Part,
        size: Option<u64>,
        accepted: Option<&Accepted>,
    ) -> Result<Handled, DaemonError> {
        let (raw, facts) = match read_off_the_loop(raw, self.config.own_addresses.clone()).await {
            Ok(read) => read,
            Err(unread) => return Ok(Handled::Unread(unread)),
        };
        let now = now();
        // A redelivery is found first, from what the sender wrote: it is filed without
        // being analysed again (nor its revocation lists learnt).
        let digest = process::content_digest(&raw, &facts);
        let recall = process::recall(&facts, &digest);
        let recalled = self.store.recall(&recall)?;
        let (identity, reused) = match accepted {
            // Held mail staff accepted keeps the identity it was held under.
            Some(Accepted { identity, .. }) => (identity.clone(), None),
            None => match process::identity_of(&recall, &recalled, &digest) {
                process::Identity::New { identity, reuses } => (identity, reuses),
                process::Identity::Seen(before) => {
                    return self
                        .file_duplicate(process::duplicate(*before, at))
                        .map(Handled::filed)
                }
            },
        };
        let in_thread = recalled.in_thread;
        let read = self.read(facts, part, in_thread.is_some(), now);
        let content = read.content();
        let accepted_by = accepted.map(|a| a.by.clone());
        let judgement = process::judge(content, accepted_by, &self.config.trust);
        let lookup = process::lookup(
            content,
            &judgement,
            in_thread.is_some(),
            &self.config.procedures,
            now,
        );
        let found = self.store.look_up(&lookup, in_thread.as_ref())?;
        let known = process::known(in_thread, found, &lookup);
        let mail = process::Mail {
            content,
            identity: &identity,
            digest: &digest,
            at,
        };
        let settings = self.settings();
        let fresh = crate::record::fresh_id()?;
        let mut plan = process::plan(mail, &judgement, known, &settings, now, &fresh)?;
        if let Some(message_id) = reused {
            plan.seen.warn(Remark::ReusedMessageId { message_id });
        }
        if plan.seen.held {
            self.keep_held(&mut plan.seen, &raw, part, now)?;
        }
        self.commit(plan, size).map(Handled::filed)
    }

    /// Held mail is kept for staff, who may accept it by hand (`held accept`), within
    /// the ceiling; past it (or too large) only its record and header are kept, and an
    /// acceptance reads it again from the folder it was filed in.
    fn keep_held(
        &mut self,
        seen: &mut crate::record::SeenRecord,
        raw: &[u8],
        part: Part,
        now: OffsetDateTime,
    ) -> Result<(), DaemonError> {
        let ceiling = self.config.keeping.held;
        let keepable = part == Part::Whole && raw.len() <= MAX_HELD_BYTES;
        if !(keepable && self.store.keep_held(&seen.identity, raw, ceiling, now)?) {
            self.telemetry.held_not_kept.inc();
            seen.remark(if keepable {
                Remark::NotKeptCeiling {
                    max_messages: ceiling.max_messages,
                    max_mb: ceiling.max_bytes / (1024 * 1024),
                }
            } else {
                Remark::NotKeptLarge
            });
        }
        Ok(())
    }

    /// The analysis of a mail already read into facts (only the header of an oversized
    /// one is analysed as such). A mail in a case's thread is about MNotify
    /// ([`process::continues_case`]).
    fn read(
        &mut self,
        mut facts: crate::intake::Facts,
        part: Part,
        in_a_case: bool,
        now: OffsetDateTime,
    ) -> Read {
        if part == Part::Header {
            return Read::Header(facts);
        }
        if in_a_case {
            process::continues_case(&mut facts);
        }
        // The CRLs of certificates seen for the first time, before deciding.
        self.crls.learn_from(&facts);
        let ctx = Context {
            anchors: &self.anchors,
            registry: &self.registry,
            own_addresses: &self.config.own_addresses,
            revocations: self.crls.revocations(),
            procedures: &self.config.procedures,
            case_certificates: &self.case_certificates,
        };
        Read::Whole(analyse_facts(facts, &ctx, now))
    }

    /// Files a mail handled before under another UID again, without an answer.
    fn file_duplicate(
        &mut self,
        record: crate::record::SeenRecord,
    ) -> Result<Option<String>, DaemonError> {
        self.store.mark_uid(&record)?;
        self.counters.duplicates += 1;
        self.telemetry.handled("duplicate");
        info!(uid = record.uid, identity = %record.identity, "already handled; filing it again without a reply");
        Ok(record.destination)
    }

    /// Commits everything the plan changes in one store transaction.
    fn commit(
        &mut self,
        plan: process::Plan,
        size: Option<u64>,
    ) -> Result<Option<String>, DaemonError> {
        self.store.commit(MessageCommit {
            seen: &plan.seen,
            case: plan.case.as_ref(),
            also: &plan.also,
            opened: &plan.opened,
            thread_ids: &plan.thread_ids,
            outbox: plan.outbox.as_ref(),
            rate_keys: &plan.rate_keys,
            reported: plan.reported.as_ref(),
            letters: &plan.letters,
        })?;
        if let Some(entry) = &plan.reported {
            self.counters.send_failures += 1;
            let why = entry.last_error.as_deref().unwrap_or_default();
            warn!(to = %entry.to, id = %entry.message_id, "reply bounced: {why}");
        }
        for case in plan.case.iter().chain(&plan.opened) {
            for known in process::case_certificate_entries(
                &plan.seen.accepted,
                case,
                &self.config.procedures,
            ) {
                self.case_certificates.merge(known);
            }
        }
        self.counters.handled += 1;
        self.telemetry.handled(plan.seen.outcome.code());
        let seen = &plan.seen;
        info!(
            uid = seen.uid,
            identity = %seen.identity,
            size = size.unwrap_or(0),
            outcome = %seen.outcome,
            case = seen.case.as_deref().unwrap_or("-"),
            reply = seen.reply.as_ref().map_or_else(|| "-".to_string(), ToString::to_string),
            note = seen.note.as_deref().unwrap_or(""),
            "handled"
        );
        Ok(plan.seen.destination)
    }
}

/// What was read of a mail: all of it, or only the header of an oversized one.
enum Read {
    Whole(crate::analysis::Analysis),
    Header(crate::intake::Facts),
}

impl Read {
    fn content(&self) -> Content<'_> {
        match self {
            Read::Whole(a) => Content::Analysed(a),
            Read::Header(facts) => Content::Oversized { facts },
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Handled {
    /// Recorded: move it to this folder.
    MoveTo(String),
    /// Recorded: it stays where it is.
    Stays,
    /// Not read this time: it stays in the inbox, its attempt counted.
    Unread(Unread),
}

impl Handled {
    fn filed(destination: Option<String>) -> Handled {
        destination.map_or(Handled::Stays, Handled::MoveTo)
    }
}

/// Why a message was not read this time. Its attempt stays counted: after
/// [`MAX_FETCH_FAILURES`] the inbox sets it aside for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum Unread {
    #[error("reading it failed ({0})")]
    Failed(String),
    #[error("reading it took longer than {} s", .0.as_secs_f32())]
    TooLong(Duration),
}

/// The longest one mail may take to be read (MIME, attachments, text passes) before
/// the daemon stops waiting for it. A backstop only: every pass is linear and bounded
/// by the limits in [`crate::intake`], so a 25 MB mail reads in well under a second,
/// and `inspect` and the daemon read alike on every machine. Below systemd's
/// `WatchdogSec` (120 s), which is fed meanwhile.
pub(super) const READ_DEADLINE: Duration = Duration::from_secs(30);

/// Reads a mail's facts on a thread of its own, so that the loop that answers
/// `/health`, the watchdog and staff commands goes on meanwhile; a read that panics or
/// outlasts [`READ_DEADLINE`] is abandoned (its thread finishes alone) and said why.
async fn read_off_the_loop(
    raw: Vec<u8>,
    own_addresses: Vec<String>,
) -> Result<(Vec<u8>, crate::intake::Facts), Unread> {
    let reading = tokio::task::spawn_blocking(move || {
        #[cfg(feature = "testkit")]
        crate::testkit::faults::while_reading(&raw);
        let facts = crate::intake::read(&raw, &own_addresses);
        (raw, facts)
    });
    match tokio::time::timeout(read_deadline(), reading).await {
        Ok(Ok(read)) => Ok(read),
        Ok(Err(failed)) => Err(Unread::Failed(failed.to_string())),
        Err(_) => Err(Unread::TooLong(read_deadline())),
    }
}

fn read_deadline() -> Duration {
    #[cfg(feature = "testkit")]
    if let Some(shorter) = crate::testkit::faults::read_deadline() {
        return shorter;
    }
    READ_DEADLINE
}

/// Held mail is kept in the store for staff to accept up to this size; a larger one
/// must be sent again from the institution's own mail system.
const MAX_HELD_BYTES: usize = 5 * 1024 * 1024;
