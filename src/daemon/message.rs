//! One message: bytes → facts → what the store knows → the pure plan → one commit.
//! Also held mail staff accepted, and delivery reports about our replies.

use super::*;

impl Daemon {
    /// Decides and commits one message; returns the folder to move it to.
    pub(super) fn handle(
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
    pub(super) fn handle_accepted(&mut self) -> Result<(), DaemonError> {
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
    pub(super) fn handle_as(
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
            let record = crate::record::SeenRecord {
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
            &crate::record::fresh_id(),
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
            reply = plan.seen.reply.as_ref().map_or_else(|| "-".to_string(), ToString::to_string),
            note = plan.seen.note.as_deref().unwrap_or(""),
            "handled"
        );
        Ok(plan.seen.destination)
    }

    /// A report that one of our replies could not be delivered marks that reply failed,
    /// with the remote server's reason, for `status` and the digest. It counts only when
    /// it names a reply of ours (an unguessable Message-ID), to the recipient it names,
    /// and comes from that recipient's side: from its authenticated domain, or made
    /// inside our own mail system (our relay's own report carries no stamp of our MX).
    /// Returns why a report about one of ours was ignored.
    pub(super) fn record_bounce(
        &mut self,
        bounce: &crate::intake::bounce::Bounce,
        sender: &crate::trust::Sender,
        trace: &crate::trust::Trace,
    ) -> Result<Option<String>, DaemonError> {
        let Some(id) = &bounce.original_message_id else {
            return Ok(None);
        };
        let Some(id) = crate::record::MessageId::parse(id) else {
            return Ok(None);
        };
        let Some(mut entry) = self.store.outbox_entry(&id)? else {
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

    /// The case of the message's sender, for mail that names no case and continues no
    /// case's thread (see [`Daemon::thread_case`], tried first).
    pub(super) fn sender_case(
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
    pub(super) fn thread_case(
        &self,
        f: &crate::intake::Facts,
    ) -> Result<Option<crate::case::Case>, DaemonError> {
        if let Some(token) = &f.case_token {
            if let Some(c) = self.store.case(&token.to_ascii_uppercase())? {
                return Ok(Some(c));
            }
        }
        for id in f.in_reply_to.iter().chain(f.references.iter().rev()) {
            let Some(id) = crate::record::MessageId::parse(id) else {
                continue;
            };
            if let Some(c) = self.store.case_for_thread(&id)? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }
}

/// Held mail is kept in the store for staff to accept up to this size; a larger one
/// must be sent again from the institution's own mail system.
const MAX_HELD_BYTES: usize = 5 * 1024 * 1024;
