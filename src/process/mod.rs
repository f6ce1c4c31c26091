//! What to do with one message of the inbox: a plain function from what was read and
//! what the store already knows to the changes that one store transaction commits. The
//! daemon does the I/O around it (fetch, store, send, move); nothing here touches a
//! server, the disk or the clock.

use sha2::Digest;
use time::OffsetDateTime;

use crate::analysis::Analysis;
use crate::case::{token_for, Case};
use crate::decision::Decision;
use crate::intake::Facts;
use crate::record::Outcome;
use crate::record::{
    AcceptedCertificate, CertificateCase, MessageId, OutboxEntry, OutboxKind, OutboxState,
    SeenRecord,
};
use crate::reply::{
    compose, Original, Outgoing, ReplyContext, ReplyError, ReplyMode, Sender, Templates, UNVERIFIED,
};
use crate::trust::{self, domain, Caps, Policy, SenderRule};

/// The reply template's `decision` for a message over the size limit.
pub const OVERSIZED: &str = "oversized";

/// How the daemon is set up to answer and file mail.
#[derive(Clone)]
pub struct Settings<'a> {
    pub mode: ReplyMode,
    pub sender: Sender<'a>,
    pub processed_folder: &'a str,
    /// `None` leaves mail for people in the inbox.
    pub needs_human_folder: Option<&'a str>,
    pub caps: Caps,
    pub trust: &'a Policy,
    pub max_message_bytes: u64,
    pub templates: &'a Templates,
}

impl<'a> Settings<'a> {
    /// Settings for unit tests: AGE at servicii@egov.md, the default folders, a cap of
    /// two replies a day per recipient (so tests reach it quickly), the default 25 MB
    /// limit, and sender authentication off (`policy` for tests of it).
    #[cfg(test)]
    pub(crate) fn for_tests(
        templates: &'a Templates,
        mode: ReplyMode,
        policy: &'a Policy,
    ) -> Settings<'a> {
        Settings {
            mode,
            sender: Sender {
                name: "AGE",
                address: "servicii@egov.md",
            },
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

/// Automatic replies already counted against each cap (see [`RateKeys`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplyCounts {
    pub recipient_today: u32,
    pub case_today: u32,
    pub domain_today: u32,
    pub this_hour: u32,
    /// Neutral answers to unauthenticated senders this hour (a tenth of the hourly cap).
    pub unverified_this_hour: u32,
}

/// What the store knows that bears on this message.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The case the message names or continues (token, thread), or its authenticated
    /// sender's case; [`plan`] decides whether the message may join it.
    pub case: Option<Case>,
    /// Replies counted for the recipient [`reply_address`] gives and for `case`.
    pub counts: ReplyCounts,
    /// Staff accepted this held message by hand (who): its sender counts as the
    /// institution it claims.
    pub accepted_by: Option<String>,
    /// The cases the certificates of this mail ([`candidates`]) were first accepted in.
    pub certificate_cases: Vec<CertificateCase>,
}

/// Everything the message changes; committed in one transaction.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seen: SeenRecord,
    pub case: Option<Case>,
    pub thread_ids: Vec<MessageId>,
    pub outbox: Option<OutboxEntry>,
    pub rate_keys: Vec<String>,
}

/// The identity of a message across UIDs and UIDVALIDITY changes: its Message-ID, or
/// a digest of its bytes when it has none.
pub fn identity(message_id: Option<&str>, raw: &[u8]) -> String {
    match message_id.map(str::trim).filter(|m| !m.is_empty()) {
        Some(id) => MessageId::parse(id).map_or_else(String::new, |m| m.bare().to_string()),
        None => format!("sha256:{}", hex::encode(sha2::Sha256::digest(raw))),
    }
}

/// Where a reply goes: the `From:` address; a `Reply-To:` only inside the same
/// organizational domain (anything else would let a sender have us mail a stranger).
pub fn reply_address(facts: &Facts) -> Option<String> {
    let clean = |a: &str| Some(a.trim().to_ascii_lowercase()).filter(|a| a.contains('@'));
    let from = facts.from.as_deref().and_then(clean)?;
    let reply_to = facts.reply_to.as_deref().and_then(clean);
    match (reply_to, domain::of_address(&from)) {
        (Some(r), Some(from_domain))
            if domain::of_address(&r).is_some_and(|d| domain::aligned(&d, &from_domain)) =>
        {
            Some(r)
        }
        _ => Some(from),
    }
}

/// The counters of automatic replies a reply to `to` in case `case` counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateKeys {
    pub recipient: String,
    pub case: Option<String>,
    pub domain: String,
    pub hour: String,
    pub unverified_hour: String,
}

impl RateKeys {
    pub fn new(to: &str, case: Option<&str>, now: OffsetDateTime) -> RateKeys {
        let to = to.to_ascii_lowercase();
        let org = domain::of_address(&to).map_or_else(String::new, |d| domain::organizational(&d));
        RateKeys {
            recipient: rate_key(&to, now),
            case: case.map(|c| format!("case:{c}/{}", now.date())),
            domain: format!("domain:{org}/{}", now.date()),
            hour: format!("hour:{}T{:02}", now.date(), now.hour()),
            unverified_hour: format!("unverified:{}T{:02}", now.date(), now.hour()),
        }
    }

    /// The counters one reply adds to (`unverified`: a neutral answer to an
    /// unauthenticated sender).
    pub fn all(&self, unverified: bool) -> Vec<String> {
        let mut keys = vec![
            self.recipient.clone(),
            self.domain.clone(),
            self.hour.clone(),
        ];
        keys.extend(self.case.clone());
        if unverified {
            keys.push(self.unverified_hour.clone());
        }
        keys
    }
}

/// The counter of automatic replies to `address` on the UTC day of `now`.
pub fn rate_key(address: &str, now: OffsetDateTime) -> String {
    format!("{}/{}", address.to_ascii_lowercase(), now.date())
}

/// Whether a decision gets a reply at all.
fn answers(decision: Decision) -> bool {
    !matches!(
        decision,
        Decision::NotApplicable | Decision::IgnoredAutomatic
    )
}

/// Why a reply would break a cap, if it would.
fn cap_reached(counts: ReplyCounts, joined_case: bool, held: bool, caps: Caps) -> Option<String> {
    let unverified_cap = if held {
        (caps.per_hour / 10).max(1)
    } else {
        u32::MAX
    };
    let checks = [
        (
            counts.unverified_this_hour,
            unverified_cap,
            "to unauthenticated senders in this hour",
            "a tenth of [trust] max_replies_per_hour",
        ),
        (
            counts.recipient_today,
            caps.per_recipient_per_day,
            "to this address today",
            "[reply] max_per_recipient_per_day",
        ),
        (
            if joined_case { counts.case_today } else { 0 },
            caps.per_case_per_day,
            "about this case today",
            "[trust] max_replies_per_case_per_day",
        ),
        (
            counts.domain_today,
            caps.per_domain_per_day,
            "to this domain today",
            "[trust] max_replies_per_domain_per_day",
        ),
        (
            counts.this_hour,
            caps.per_hour,
            "in this hour",
            "[trust] max_replies_per_hour",
        ),
    ];
    checks
        .iter()
        .find(|(count, cap, _, _)| count >= cap)
        .map(|(count, _, what, key)| {
            format!("no reply, left for staff: {count} automatic replies {what} ({key})")
        })
}

/// Decides what one message changes. `fresh` is random text (a new case's token and
/// our Message-ID are made from it, so that no one can derive them from their mail).
pub fn plan(
    content: Content<'_>,
    identity: &str,
    at: Position,
    known: Known,
    settings: &Settings<'_>,
    now: OffsetDateTime,
    fresh: &str,
) -> Result<Plan, ReplyError> {
    let facts = content.facts();
    let sender = trust::assess(&facts.trace, facts.from.as_deref(), settings.trust);
    let rule = settings.trust.senders;
    let vouched = known.accepted_by.is_some();
    let trusted = sender.authenticated || vouched || rule != SenderRule::Require;
    let flagged = !sender.authenticated && !vouched && rule == SenderRule::Flag;
    // The institution the mail speaks for: proven, or (without `require`) claimed.
    let institution = sender.identity().or_else(|| {
        trusted
            .then(|| sender.domain.as_deref().map(domain::organizational))
            .flatten()
    });
    let automatic = facts.automatic.is_some();
    let (outcome, for_people, wants_reply) = match content {
        Content::Analysed(a) => (
            Outcome::from(a.decision),
            a.decision == Decision::NotApplicable || a.facts.unparseable,
            answers(a.decision),
        ),
        Content::Oversized { .. } => (Outcome::Oversized, true, !automatic),
    };
    // Mail that would change a case or get a real answer, from a sender we cannot
    // believe: it changes nothing and waits for staff.
    let held = wants_reply && !trusted;
    let recipient = if held {
        sender.address.clone()
    } else {
        reply_address(facts)
    };

    // The case: an applicant's mail about MNotify belongs to one, but only to a case
    // of its own institution.
    let mut case = known.case;
    let mut notes: Vec<String> = Vec::new();
    let who = match &known.accepted_by {
        Some(by) => format!("{}, accepted by {by}", sender.describe()),
        None => sender.describe(),
    };
    if let Some(by) = &known.accepted_by {
        notes.push(format!(
            "sender not authenticated ({}); accepted by {by}",
            sender.reason
        ));
    }
    if let Some(c) = &case {
        let address = sender.address.as_deref().unwrap_or("");
        if held || !c.admits(institution.as_deref().unwrap_or(""), address) {
            if !held {
                notes.push(format!(
                    "named case #{} of another institution ({}); not joined",
                    c.token,
                    c.owner()
                ));
            }
            case = None;
        }
    }
    let joined = case.is_some();
    let mut ours_new = false;
    match content {
        Content::Analysed(a) if answers(a.decision) && !held => {
            let applicant = recipient.clone().unwrap_or_default();
            let c = case.get_or_insert_with(|| {
                ours_new = true;
                let mut c = Case::open(token_for(fresh), &applicant, facts.language, now);
                c.subject = facts.subject.clone();
                c.identity = institution.clone();
                c
            });
            if ours_new {
                for n in &notes {
                    c.timeline.push(crate::case::TimelineEntry {
                        at: now,
                        what: format!("mail {identity}: {n}"),
                    });
                }
            }
            c.record_mail(a.decision, identity, &evidence(a), &who, now);
            if facts.integration.is_present() {
                *c =
                    crate::case::apply(c, crate::case::Event::Integration(&facts.integration), now)
                        .0;
            }
        }
        // Mail that does not move a case leaves it as it is.
        _ => case = None,
    }

    let destination = if for_people || held {
        settings.needs_human_folder.map(str::to_string)
    } else {
        Some(settings.processed_folder.to_string())
    };
    if held {
        notes.push(format!("sender not authenticated: {}", sender.reason));
    }
    let mut seen = SeenRecord {
        identity: identity.to_string(),
        uid_validity: at.uid_validity,
        uid: at.uid,
        outcome,
        case: case.as_ref().map(|c| c.token.clone()),
        destination,
        reply: None,
        note: None,
        at: now,
        from: recipient.clone(),
        subject: facts.subject.clone(),
        problems: match content {
            Content::Analysed(a) => a.problems.clone(),
            Content::Oversized { .. } => Vec::new(),
        },
        accepted: match content {
            Content::Analysed(a) if !held => accepted(a),
            _ => Vec::new(),
        },
        sender: Some(sender.clone()),
        held,
        flagged: flagged && wants_reply,
        warnings: Vec::new(),
    };
    if let (Content::Analysed(a), Some(c)) = (content, case.as_mut()) {
        seen.warnings = misfits(a, c, &known.certificate_cases);
        for w in &seen.warnings {
            c.timeline.push(crate::case::TimelineEntry {
                at: now,
                what: format!("staff check: {w}"),
            });
        }
    }
    let thread_ids = MessageId::parse(identity).into_iter().collect();
    let done = |mut seen: SeenRecord, notes: Vec<String>, case, thread_ids| {
        if !notes.is_empty() {
            seen.note = Some(notes.join("; "));
        }
        Ok(Plan {
            seen,
            case,
            thread_ids,
            outbox: None,
            rate_keys: Vec::new(),
        })
    };
    if !wants_reply {
        return done(seen, notes, case, thread_ids);
    }
    let Some(to) = recipient else {
        notes.push("no address to reply to".into());
        return done(seen, notes, case, thread_ids);
    };
    if settings.mode == ReplyMode::Off {
        notes.push("replies are off ([reply] mode = \"off\")".into());
        return done(seen, notes, case, thread_ids);
    }
    if held && refers_to_ours(facts, settings.sender.address) {
        notes.push("no reply: it answers a message of ours, and the sender was told once".into());
        return done(seen, notes, case, thread_ids);
    }
    if let Some(why) = cap_reached(known.counts, joined, held, settings.caps) {
        notes.push(why);
        seen.destination = settings.needs_human_folder.map(str::to_string);
        return done(seen, notes, case, thread_ids);
    }

    // The reply follows the language of the mail it answers.
    let language = facts.language;
    let (context, token) = match (content, &case) {
        _ if held => (ReplyContext::without_case(UNVERIFIED), String::new()),
        (Content::Analysed(a), Some(c)) => (ReplyContext::for_analysis(a, c), c.token.clone()),
        (_, Some(c)) => (ReplyContext::for_case(OVERSIZED, c), c.token.clone()),
        (_, None) => (ReplyContext::without_case(OVERSIZED), String::new()),
    };
    let mut context = ReplyContext {
        limit_mb: settings.max_message_bytes.div_ceil(1024 * 1024),
        staff_check: !seen.warnings.is_empty(),
        ..context
    };
    // What the sender wrote goes back only to an authenticated sender (or to anyone,
    // when the operator turned sender authentication off).
    let echo = sender.authenticated || vouched || rule == SenderRule::Off;
    if !echo {
        context.conceal_free_text();
    }
    let body = settings.templates.render(language, &context)?;
    let original = if echo {
        Original {
            message_id: facts.message_id.clone(),
            references: facts.references.clone(),
            subject: facts.subject.clone(),
        }
    } else {
        Original {
            message_id: None,
            references: Vec::new(),
            subject: Some("MNotify".into()),
        }
    };
    let outgoing = compose(&original, &settings.sender, &to, &token, &body, fresh, now);
    let mut thread_ids = thread_ids;
    thread_ids.push(outgoing.message_id.clone());
    seen.reply = Some(outgoing.message_id.clone());
    if !notes.is_empty() {
        seen.note = Some(notes.join("; "));
    }
    let entry = outbox_entry(
        outgoing,
        settings.mode,
        case.as_ref().map(|c| c.token.as_str()),
        now,
    );
    let keys = RateKeys::new(&to, case.as_ref().map(|c| c.token.as_str()), now);
    Ok(Plan {
        seen,
        case,
        thread_ids,
        outbox: Some(entry),
        rate_keys: keys.all(held),
    })
}

/// Whether the mail answers one of our messages (`In-Reply-To`/`References` name a
/// Message-ID we made).
fn refers_to_ours(facts: &Facts, our_address: &str) -> bool {
    let our_domain = domain::of_address(our_address).unwrap_or_default();
    facts
        .in_reply_to
        .iter()
        .chain(&facts.references)
        .any(|id| crate::reply::is_our_message_id(id, &our_domain))
}

/// An outbox entry for a composed message: a draft in draft mode, else a send.
pub fn outbox_entry(
    outgoing: Outgoing,
    mode: ReplyMode,
    case: Option<&str>,
    now: OffsetDateTime,
) -> OutboxEntry {
    OutboxEntry {
        message_id: outgoing.message_id,
        kind: match mode {
            ReplyMode::Draft => OutboxKind::Draft,
            _ => OutboxKind::Send,
        },
        from: outgoing.from,
        to: outgoing.to,
        case: case.map(str::to_string),
        raw: outgoing.raw,
        attempts: 0,
        next_attempt: now.unix_timestamp(),
        state: OutboxState::Pending,
        last_error: None,
        created_at: now,
        copied: false,
        failed_at: None,
        copy_refusals: 0,
    }
}

/// What staff should check about the certificates a mail got accepted in `case`: one
/// that names e-mail addresses none of which belong to the case's institution, or one
/// already accepted in another institution's case.
fn misfits(a: &Analysis, case: &Case, first_cases: &[CertificateCase]) -> Vec<String> {
    let owner = case.owner();
    let ours = |e: &str| {
        domain::of_address(e).is_some_and(|d| {
            domain::aligned(&d, &owner) || case.members.iter().any(|m| m == e || *m == d)
        })
    };
    let mut out: Vec<String> = a
        .certificates
        .iter()
        .filter(|c| c.problems.is_empty() && c.role != crate::analysis::Role::Chain)
        .filter(|c| !c.certificate.emails.is_empty())
        .filter(|c| !c.certificate.emails.iter().any(|e| ours(e)))
        .map(|c| {
            format!(
                "certificate {} names {}, not an address of {owner}",
                c.certificate.serial,
                c.certificate.emails.join(", ")
            )
        })
        .collect();
    out.extend(
        first_cases
            .iter()
            .filter(|f| f.case != case.token && f.owner != owner)
            .map(|f| {
                format!(
                    "a certificate of this mail is already in case #{} of {}",
                    f.case, f.owner
                )
            }),
    );
    out
}

/// `(issuer, serial)` of what a mail would get accepted or confirmed: the daemon looks
/// up the cases they are already in before planning.
pub fn candidates(a: &Analysis) -> Vec<(String, String)> {
    accepted(a)
        .into_iter()
        .map(|c| (c.issuer, c.serial))
        .collect()
}

/// The certificates a message got accepted or confirmed, for the staff digest.
fn accepted(a: &Analysis) -> Vec<AcceptedCertificate> {
    if !matches!(
        a.decision,
        Decision::NewCertificate | Decision::ReuseConfirmed
    ) {
        return Vec::new();
    }
    let files = a
        .certificates
        .iter()
        .filter(|c| c.problems.is_empty() && c.role != crate::analysis::Role::Chain)
        .map(|c| {
            let cert = &c.certificate;
            AcceptedCertificate {
                serial: cert.serial.clone(),
                sha1: Some(cert.sha1.clone()),
                sha256: Some(cert.sha256.clone()),
                subject: Some(cert.subject.clone()),
                issuer: cert.issuer.clone(),
                not_after: Some(cert.not_after),
                services: c
                    .known
                    .as_ref()
                    .map(|k| k.services.iter().cloned().collect())
                    .unwrap_or_default(),
                institution: c.known.as_ref().and_then(|k| k.institution.clone()),
                der: Some(cert.der.clone()),
            }
        });
    let numbers = a
        .numbers
        .iter()
        .filter(|n| !n.refers_to_attached && n.matches.len() == 1)
        .map(|n| {
            let k = &n.matches[0];
            AcceptedCertificate {
                serial: k.serial.clone(),
                sha1: k.sha1.clone(),
                sha256: k.sha256.clone(),
                subject: k.subject.clone(),
                issuer: k.issuer.clone(),
                not_after: k.not_after,
                services: k.services.iter().cloned().collect(),
                institution: k.institution.clone(),
                der: None,
            }
        });
    let mut out: Vec<AcceptedCertificate> = files.chain(numbers).collect();
    out.dedup_by(|a, b| a.serial == b.serial && a.issuer == b.issuer);
    out
}

/// What a case step records as evidence: the serial and fingerprint of what was accepted.
fn evidence(a: &Analysis) -> String {
    let mut parts: Vec<String> = a
        .certificates
        .iter()
        .filter(|c| c.problems.is_empty() && c.role != crate::analysis::Role::Chain)
        .map(|c| {
            format!(
                "certificate serial {} sha1 {}",
                c.certificate.serial, c.certificate.sha1
            )
        })
        .collect();
    parts.extend(
        a.numbers
            .iter()
            .filter(|n| n.matches.len() == 1)
            .map(|n| format!("number {} matched {}", n.value, n.matches[0].serial)),
    );
    parts.join("; ")
}

#[cfg(test)]
mod tests;
