//! What to do with one message of the inbox: a plain function from what was read and
//! what the store already knows to the changes that one store transaction commits. The
//! daemon does the I/O around it (fetch, store, send, move); nothing here touches a
//! server, the disk or the clock.
//!
//! In order: [`judge`] (who sent it, may they be believed, where would an answer go),
//! the store lookups the daemon makes ([`case_keys`], then the sender's case when
//! [`Judgement::may_use_sender_case`], the reply counters of [`RateKeys`], the
//! certificates' cases of [`candidates`]), then [`plan`].

pub mod answer;
mod certificates;
mod judge;
pub mod lookup;
mod notice;
mod place;
mod rates;
pub mod report;

use crate::remark::Remark;
use sha2::Digest;
use time::OffsetDateTime;

use crate::analysis::Analysis;
use crate::case::{token_for, Case};
use crate::intake::Facts;
use crate::record::{CertificateCase, MessageId, OutboxEntry, SeenRecord};
use crate::reply::{ReplyError, ReplyMode, Sender, Templates};
use crate::trust::{Caps, Policy};

pub use answer::outbox_entry;
use answer::Withheld;
pub use certificates::{candidates, case_certificate_entries};
pub use judge::{judge, reply_address, Judgement};
pub use lookup::{identity_of, known, lookup, recall, Found, Identity, Lookup, Recall, Recalled};
pub use notice::{notice, staff_answer, StaffAnswer};
use place::{place_in_case, Placed};
pub use rates::{rate_key, RateKeys, ReplyCounts};
pub use report::{judge_report, reported_reply, ReportVerdict, Reported};

/// How the daemon is set up to answer and file mail.
#[derive(Clone)]
pub struct Settings<'a> {
    pub mode: ReplyMode,
    /// Who replies, with the Romanian display name.
    pub sender: Sender<'a>,
    /// The display names of Russian and English replies.
    pub sender_names: (&'a str, &'a str),
    pub processed_folder: &'a str,
    /// `None` leaves mail for people in the inbox.
    pub needs_human_folder: Option<&'a str>,
    pub caps: Caps,
    pub trust: &'a Policy,
    pub max_message_bytes: u64,
    pub templates: &'a Templates,
    /// The services' procedures: a case's steps are its service's.
    pub procedures: &'a crate::procedure::Catalogue,
}

impl<'a> Settings<'a> {
    /// Who replies in `language`: each language its own display name.
    pub fn sender_in(&self, language: crate::intake::Language) -> Sender<'a> {
        use crate::intake::Language;
        Sender {
            name: match language {
                Language::Ro => self.sender.name,
                Language::Ru => self.sender_names.0,
                Language::En => self.sender_names.1,
            },
            address: self.sender.address,
            links: self.templates.own_links(self.procedures),
        }
    }

    /// Settings for unit tests: AGE at servicii@egov.md, the default folders, a cap of
    /// two replies a day per recipient (so tests reach it quickly), the default 25 MB
    /// limit, and sender authentication off (`policy` for tests of it).
    #[cfg(any(test, feature = "testkit"))]
    pub fn for_tests(
        templates: &'a Templates,
        mode: ReplyMode,
        policy: &'a Policy,
    ) -> Settings<'a> {
        Settings {
            mode,
            sender: Sender {
                name: "AGE",
                address: "servicii@egov.md",
                links: Vec::new(),
            },
            sender_names: ("AGE (ru)", "AGE (en)"),
            processed_folder: "Processed",
            needs_human_folder: Some("Needs-Human"),
            caps: Caps {
                per_recipient_per_day: 2,
                per_case_per_day: 10,
                per_domain_per_day: 50,
                per_hour: 300,
            },
            trust: policy,
            max_message_bytes: 25 * 1024 * 1024,
            templates,
            procedures: crate::procedure::Catalogue::built_in(),
        }
    }
}

/// What was read of the message.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    Analysed(&'a Analysis),
    /// Over the size limit: only the headers were fetched and read.
    Oversized {
        facts: &'a Facts,
    },
}

impl Content<'_> {
    pub fn facts(&self) -> &Facts {
        match self {
            Content::Analysed(a) => &a.facts,
            Content::Oversized { facts } => facts,
        }
    }
}

/// Where the message is in the mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub uid_validity: u32,
    pub uid: u32,
}

/// One mail to plan for: what was read of it, its identity and where it is.
#[derive(Debug, Clone, Copy)]
pub struct Mail<'a> {
    pub content: Content<'a>,
    pub identity: &'a str,
    /// Its [`content_digest`].
    pub digest: &'a str,
    pub at: Position,
}

/// What the store knows that bears on this message.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The case the message names or continues (token, thread), or its authenticated
    /// sender's case; [`plan`] decides whether the message may join it.
    pub case: Option<Case>,
    /// Replies counted for [`Judgement::recipient`] and for `case` ([`RateKeys`]).
    pub counts: ReplyCounts,
    /// The cases the certificates of this mail ([`candidates`]) were first accepted in.
    pub certificate_cases: Vec<CertificateCase>,
    /// Those cases themselves (but the mail's own), which a doubt may flag.
    pub certificate_case_records: Vec<Case>,
    /// The reply of ours a delivery report names ([`reported_reply`]), if it exists.
    pub reported: Option<Reported>,
}

/// Everything the message changes; committed in one transaction.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seen: SeenRecord,
    pub case: Option<Case>,
    /// Other cases the mail changes: a staff check opened where a certificate of the
    /// mail is held by another institution's case ([`certificates::ownership`]).
    pub also: Vec<Case>,
    /// Other cases the mail opened: one per further service it asks for.
    pub opened: Vec<Case>,
    pub thread_ids: Vec<MessageId>,
    pub outbox: Option<OutboxEntry>,
    pub rate_keys: Vec<String>,
    /// The reply of ours a believed delivery report marks failed (its case's timeline
    /// says so, in `case` or `also`).
    pub reported: Option<OutboxEntry>,
    /// The mail in the conversation of its case and of the cases it opened (our reply
    /// joins them when the store queues it, [`crate::conversation::Letter::ours`]).
    pub letters: Vec<crate::conversation::Letter>,
}

/// The identity of a message across UIDs and UIDVALIDITY changes: its Message-ID when
/// it has a well-formed one (`local@domain`, nothing that could be markup or break a
/// line), otherwise `sha256:` and the [`content_digest`] of what its sender wrote. A
/// second, different mail under a Message-ID already seen is [`identity_beside`] it.
pub fn identity(message_id: Option<&str>, content: &str) -> String {
    match message_id.and_then(MessageId::parse) {
        Some(id) if well_formed(id.bare()) => id.bare().to_string(),
        _ => format!("sha256:{content}"),
    }
}

/// The identity of a mail that reuses the Message-ID `first` of a different mail
/// already seen (a stranger may send one ahead of the genuine mail): both are handled
/// and kept, each on its own. The space keeps the Message-ID readable in front.
pub fn identity_beside(first: &str, content: &str) -> String {
    format!("{first} sha256:{content}")
}

/// The Message-ID that finds the mail of `identity` in a folder: none for a mail
/// without one, nor for one that shares its Message-ID with another mail (the search
/// could find the other).
pub fn message_id_of(identity: &str) -> Option<MessageId> {
    well_formed(identity)
        .then(|| MessageId::parse(identity))
        .flatten()
}

fn well_formed(id: &str) -> bool {
    id.split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && id
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '\\' | '(' | ')'))
}

/// A digest of what the sender wrote: the From, Date and Subject they set and the
/// body as sent (line ends aside), not the fields servers add on the way, so that the
/// same message delivered twice (an alias, a Cc, a second copy) has the same digest
/// and a different message under the same Message-ID does not.
pub fn content_digest(raw: &[u8], facts: &Facts) -> String {
    let body_at = memchr::memmem::find(raw, b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| memchr::memmem::find(raw, b"\n\n").map(|i| i + 2))
        .unwrap_or(raw.len());
    let mut hash = sha2::Sha256::new();
    for field in [
        facts.from.as_deref().unwrap_or(""),
        facts.subject.as_deref().unwrap_or(""),
        &facts
            .date
            .map(|d| d.unix_timestamp().to_string())
            .unwrap_or_default(),
    ] {
        hash.update(field.as_bytes());
        hash.update([0]);
    }
    for chunk in raw[body_at..].split(|b| *b == b'\r') {
        hash.update(chunk);
    }
    hex::encode(hash.finalize())
}

/// A case a mail may lead to, in the order they are tried: the token it names, then
/// the Message-IDs it answers (the latest first). The sender's own case comes last,
/// and only when [`Judgement::may_use_sender_case`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseKey {
    Token(String),
    Thread(MessageId),
}

/// The cases to look for, in order.
pub fn case_keys(facts: &Facts) -> Vec<CaseKey> {
    let token = facts
        .case_token
        .as_deref()
        .map(|t| CaseKey::Token(t.to_ascii_uppercase()));
    let threads = facts
        .in_reply_to
        .iter()
        .chain(facts.references.iter().rev())
        .filter_map(|id| MessageId::parse(id))
        .map(CaseKey::Thread);
    token.into_iter().chain(threads).collect()
}

/// A mail in a case's thread is about MNotify even when it does not say so (DESIGN:
/// "or of a case it belongs to"); the sender alone is not enough, institutions write
/// to the mailbox about other things too.
pub fn continues_case(facts: &mut Facts) {
    facts.mentions_mnotify = true;
}

/// Whether a mail whose Message-ID `before` already has is the same message again
/// (the same content digest; a record from before digests were kept counts as the same).
pub fn same_message(before: &SeenRecord, digest: &str) -> bool {
    before.digest.as_deref().is_none_or(|d| d == digest)
}

/// The record of a mail already handled under another UID (UIDVALIDITY changed, or it
/// was delivered twice): filed where the first went, never answered twice.
pub fn duplicate(before: SeenRecord, at: Position) -> SeenRecord {
    let first = Remark::Duplicate {
        uid_validity: before.uid_validity,
        uid: before.uid,
    };
    let mut seen = SeenRecord {
        uid_validity: at.uid_validity,
        uid: at.uid,
        reply: None,
        ..before
    };
    seen.set_remarks(vec![first]);
    seen
}

/// Decides what one message changes. `fresh` is random text (a new case's token and
/// our Message-ID are made from it, so that no one can derive them from their mail).
pub fn plan(
    mail: Mail<'_>,
    judgement: &Judgement,
    known: Known,
    settings: &Settings<'_>,
    now: OffsetDateTime,
    fresh: &str,
) -> Result<Plan, ReplyError> {
    let facts = mail.content.facts();
    let mut notes: Vec<Remark> = judgement.vouched_note().into_iter().collect();
    let Placed {
        case,
        joined,
        ownership,
        opened,
        ask_which,
    } = place_in_case(
        mail,
        judgement,
        (known.case.clone(), &known.certificate_cases),
        settings.procedures,
        &mut notes,
        (now, fresh),
    );
    notes.extend(judgement.held_note());
    let (mut also, disputed) = flagged(
        &ownership,
        &known.certificate_case_records,
        settings.procedures,
        now,
    );
    let doubts = (ownership.doubts, disputed);
    let (mut seen, mut case) = record(mail, judgement, case, doubts, settings, now);
    let mut thread_ids: Vec<MessageId> = MessageId::parse(mail.identity).into_iter().collect();
    let mut outbox = None;
    let mut rate_keys = Vec::new();
    match answer::withheld(judgement, facts, &known, joined, settings) {
        Some(Withheld::NotWanted) => {}
        Some(Withheld::Noted(why)) => notes.push(why),
        Some(Withheld::ToStaff(why)) => {
            notes.push(why);
            seen.destination = settings.needs_human_folder.map(str::to_string);
        }
        None => {
            let answering = match (&case, ask_which) {
                (Some(c), _) => answer::Answering::Case(c, &opened, joined),
                (None, true) => answer::Answering::WhichService,
                (None, false) => answer::Answering::NoCase,
            };
            let queued = queue_answer(
                mail,
                judgement,
                answering,
                &mut seen,
                settings,
                (now, fresh),
            )?;
            thread_ids.push(queued.0.message_id.clone());
            (outbox, rate_keys) = (Some(queued.0), queued.1);
        }
    }
    let changes = (&mut case, &mut also, &mut notes);
    let reported =
        report::failed_by_report(facts, known.reported, judgement, changes, settings, now);
    if !notes.is_empty() {
        seen.set_remarks(notes);
    }
    let letters = letters_of(mail, judgement, case.iter().chain(&opened), now);
    Ok(Plan {
        seen,
        case,
        also,
        opened,
        thread_ids,
        outbox,
        rate_keys,
        reported,
        letters,
    })
}

/// The mail as a letter of each case it belongs to.
fn letters_of<'a>(
    mail: Mail<'_>,
    judgement: &Judgement,
    cases: impl Iterator<Item = &'a Case>,
    now: OffsetDateTime,
) -> Vec<crate::conversation::Letter> {
    let writer = crate::conversation::Writer::Applicant {
        authenticated: judgement.sender.authenticated,
        vouched_by: judgement.vouched_by.clone(),
    };
    cases
        .map(|case| {
            crate::conversation::Letter::incoming(
                mail.content.facts(),
                message_id_of(mail.identity).map(|m| m.bare().to_string()),
                &case.token,
                writer.clone(),
                now,
            )
        })
        .collect()
}

/// The answer to a mail, queued: the outbox entry and the reply counters it adds to;
/// the record learns its Message-ID.
fn queue_answer(
    mail: Mail<'_>,
    judgement: &Judgement,
    answering: answer::Answering<'_>,
    seen: &mut SeenRecord,
    settings: &Settings<'_>,
    (now, fresh): (OffsetDateTime, &str),
) -> Result<(OutboxEntry, Vec<String>), ReplyError> {
    let to = judgement.recipient.clone().unwrap_or_default();
    let token = match &answering {
        answer::Answering::Case(c, _, _) => Some(c.token.clone()),
        _ => None,
    };
    let outgoing = answer::reply(
        mail.content,
        judgement,
        answering,
        seen,
        &to,
        settings,
        (now, fresh),
    )?;
    let rate_keys = RateKeys::new(&to, token.as_deref(), judgement.held, now).all();
    seen.reply = Some(outgoing.message_id.clone());
    let entry = outbox_entry(outgoing, settings.mode, token.as_deref(), now);
    Ok((entry, rate_keys))
}

/// The other cases a mail's certificates flag for a staff check, changed.
fn flagged(
    ownership: &certificates::Ownership,
    cases: &[Case],
    procedures: &crate::procedure::Catalogue,
    now: OffsetDateTime,
) -> (Vec<Case>, Vec<Remark>) {
    let mut out: Vec<Case> = Vec::new();
    let mut disputed = Vec::new();
    for (token, why) in &ownership.flags {
        let Some(case) = out
            .iter()
            .position(|c| &c.token == token)
            .map(|i| out.remove(i))
            .or_else(|| cases.iter().find(|c| &c.token == token).cloned())
        else {
            continue;
        };
        let procedure = procedures.procedure_of(&case.service);
        // A step the applicant was told is done does not silently change: the case
        // keeps it (its timeline says why), and the later mail carries the dispute.
        if case.certificates_done(procedure) {
            disputed.push(why.clone());
        }
        let event = crate::case::Event::CertificateDoubted {
            why: std::slice::from_ref(why),
        };
        out.push(crate::case::apply(procedure, &case, event, now).0);
    }
    (out, disputed)
}

/// What is recorded of the mail (before its answer), and the case with what staff
/// should check about its certificates on the timeline. `disputed`: what a case told
/// done cannot carry, for staff to check with this mail (unless its doubts say it).
fn record(
    mail: Mail<'_>,
    judgement: &Judgement,
    mut case: Option<Case>,
    (doubts, disputed): (Vec<Remark>, Vec<Remark>),
    settings: &Settings<'_>,
    now: OffsetDateTime,
) -> (SeenRecord, Option<Case>) {
    let facts = mail.content.facts();
    let analysis = match mail.content {
        Content::Analysed(a) => Some(a),
        Content::Oversized { .. } => None,
    };
    let destination = if judgement.for_people || judgement.held {
        settings.needs_human_folder.map(str::to_string)
    } else {
        Some(settings.processed_folder.to_string())
    };
    let mut seen = SeenRecord {
        identity: mail.identity.to_string(),
        uid_validity: mail.at.uid_validity,
        uid: mail.at.uid,
        outcome: judgement.outcome,
        case: case.as_ref().map(|c| c.token.clone()),
        destination,
        reply: None,
        note: None,
        at: now,
        from: judgement.recipient.clone(),
        subject: facts.subject.clone(),
        problems: analysis.map(|a| a.problems.clone()).unwrap_or_default(),
        accepted: match analysis {
            Some(a) if !judgement.held => certificates::accepted(a),
            _ => Vec::new(),
        },
        sender: Some(judgement.sender.clone()),
        held: judgement.held,
        flagged: judgement.flagged,
        warnings: Vec::new(),
        remarks: Vec::new(),
        warned: Vec::new(),
        digest: Some(mail.digest.to_string()),
    };
    if let (Some(a), Some(c)) = (analysis, case.as_mut()) {
        // Doubts of ownership are on the timeline with the check they opened.
        let misfits = certificates::misfits(a);
        for w in &misfits {
            c.timeline.push(crate::case::TimelineEntry::new(
                now,
                Remark::StaffCheck {
                    why: Box::new(w.clone()),
                },
            ));
        }
        let disputed = if doubts.is_empty() {
            disputed
        } else {
            Vec::new()
        };
        seen.warned = doubts.into_iter().chain(misfits).chain(disputed).collect();
        seen.warnings = seen.warned.iter().map(Remark::to_string).collect();
    }
    (seen, case)
}

#[cfg(test)]
mod tests;
