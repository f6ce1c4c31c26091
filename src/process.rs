//! What to do with one message of the inbox: a plain function from what was read and
//! what the store already knows to the changes that one store transaction commits. The
//! daemon does the I/O around it (fetch, store, send, move); nothing here touches a
//! server, the disk or the clock.

use sha2::Digest;
use time::OffsetDateTime;

use crate::analysis::Analysis;
use crate::case::{token_for, Case};
use crate::config::{Config, ReplyMode};
use crate::decision::Decision;
use crate::intake::Facts;
use crate::reply::{compose, Original, Outgoing, ReplyContext, ReplyError, Sender, Templates};
use crate::store::{AcceptedCertificate, OutboxEntry, OutboxKind, OutboxState, SeenRecord};

/// Outcome recorded for a message over the size limit (not a decision: it was not read).
pub const OVERSIZED: &str = "oversized";

/// How the daemon is set up to answer and file mail.
#[derive(Clone)]
pub struct Settings<'a> {
    pub mode: ReplyMode,
    pub sender: Sender<'a>,
    pub processed_folder: &'a str,
    /// `None` leaves mail for people in the inbox.
    pub needs_human_folder: Option<&'a str>,
    pub max_replies_per_day: u32,
    pub max_message_bytes: u64,
    pub templates: &'a Templates,
}

impl<'a> Settings<'a> {
    /// The settings a config gives, for the daemon and for staff commands alike (the
    /// folders only matter to the daemon; without [imap] they are empty).
    pub fn from_config(config: &'a Config, templates: &'a Templates) -> Settings<'a> {
        let imap = config.imap.as_ref();
        Settings {
            mode: config.reply.mode,
            sender: Sender {
                name: &config.reply.from_name,
                address: &config.mailbox_address,
            },
            processed_folder: imap.map_or("", |i| i.processed_folder.as_str()),
            needs_human_folder: imap.and_then(|i| i.needs_human_folder.as_deref()),
            max_replies_per_day: config.reply.max_per_recipient_per_day,
            max_message_bytes: config.reply.max_message_bytes,
            templates,
        }
    }

    /// Settings for unit tests: AGE at servicii@egov.md, the default folders, a cap of
    /// two replies a day (so tests reach it quickly) and the default 25 MB limit.
    #[cfg(test)]
    pub(crate) fn for_tests(templates: &'a Templates, mode: ReplyMode) -> Settings<'a> {
        Settings {
            mode,
            sender: Sender {
                name: "AGE",
                address: "servicii@egov.md",
            },
            processed_folder: "Processed",
            needs_human_folder: Some("Needs-Human"),
            max_replies_per_day: 2,
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

/// What the store knows that bears on this message.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// The case the message belongs to, found by token, thread or sender.
    pub case: Option<Case>,
    /// Automatic replies already sent today to the address we would answer.
    pub replies_today: u32,
}

/// Everything the message changes; committed in one transaction.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seen: SeenRecord,
    pub case: Option<Case>,
    pub thread_ids: Vec<String>,
    pub outbox: Option<OutboxEntry>,
    pub rate_key: Option<String>,
}

/// The identity of a message across UIDs and UIDVALIDITY changes: its Message-ID, or
/// a digest of its bytes when it has none.
pub fn identity(message_id: Option<&str>, raw: &[u8]) -> String {
    match message_id.map(str::trim).filter(|m| !m.is_empty()) {
        Some(id) => id.trim_matches(|c| c == '<' || c == '>').to_string(),
        None => format!("sha256:{}", hex::encode(sha2::Sha256::digest(raw))),
    }
}

/// Where a reply goes: `Reply-To` if the sender set one, else `From`.
pub fn reply_address(facts: &Facts) -> Option<String> {
    facts
        .reply_to
        .as_deref()
        .or(facts.from.as_deref())
        .map(|a| a.trim().to_ascii_lowercase())
        .filter(|a| a.contains('@'))
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

/// Decides what one message changes.
pub fn plan(
    content: Content<'_>,
    identity: &str,
    at: Position,
    known: Known,
    settings: &Settings<'_>,
    now: OffsetDateTime,
) -> Result<Plan, ReplyError> {
    let facts = content.facts();
    let (outcome, for_people) = match content {
        Content::Analysed(a) => (
            a.decision.code().to_string(),
            a.decision == Decision::NotApplicable || a.facts.unparseable,
        ),
        Content::Oversized { .. } => (OVERSIZED.to_string(), true),
    };
    let destination = if for_people {
        settings.needs_human_folder.map(str::to_string)
    } else {
        Some(settings.processed_folder.to_string())
    };
    let automatic = facts.automatic.is_some();
    let wants_reply = match content {
        Content::Analysed(a) => answers(a.decision),
        Content::Oversized { .. } => !automatic,
    };
    let recipient = reply_address(facts);

    // The case: an applicant's mail about MNotify always belongs to one.
    let mut case = known.case;
    if let Content::Analysed(a) = content {
        if answers(a.decision) {
            let applicant = recipient.clone().unwrap_or_default();
            let c = case.get_or_insert_with(|| {
                let mut c = Case::open(token_for(identity), &applicant, facts.language, now);
                c.subject = facts.subject.clone();
                c
            });
            c.record_decision(a.decision, identity, &evidence(a), now);
            if facts.integration.is_present() {
                *c =
                    crate::case::apply(c, crate::case::Event::Integration(&facts.integration), now)
                        .0;
            }
        } else {
            // Mail that does not move a case leaves it as it is.
            case = None;
        }
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
            Content::Analysed(a) => a.problems.iter().map(|p| p.code().to_string()).collect(),
            Content::Oversized { .. } => Vec::new(),
        },
        accepted: match content {
            Content::Analysed(a) => accepted(a),
            Content::Oversized { .. } => Vec::new(),
        },
    };
    let mut thread_ids = vec![identity.to_string()];

    if !wants_reply {
        return Ok(Plan {
            seen,
            case,
            thread_ids,
            outbox: None,
            rate_key: None,
        });
    }
    let Some(to) = recipient else {
        seen.note = Some("no address to reply to".into());
        return Ok(Plan {
            seen,
            case,
            thread_ids,
            outbox: None,
            rate_key: None,
        });
    };
    if settings.mode == ReplyMode::Off {
        seen.note = Some("replies are off ([reply] mode = \"off\")".into());
        return Ok(Plan {
            seen,
            case,
            thread_ids,
            outbox: None,
            rate_key: None,
        });
    }
    if known.replies_today >= settings.max_replies_per_day {
        seen.note = Some(format!(
            "no reply: {to} already had {} automatic replies today ([reply] max_per_recipient_per_day)",
            known.replies_today
        ));
        return Ok(Plan {
            seen,
            case,
            thread_ids,
            outbox: None,
            rate_key: None,
        });
    }

    // The reply follows the language of the mail it answers.
    let language = facts.language;
    let (context, token) = match (content, &case) {
        (Content::Analysed(a), Some(c)) => (ReplyContext::for_analysis(a, c), c.token.clone()),
        (_, Some(c)) => (ReplyContext::for_case(OVERSIZED, c), c.token.clone()),
        (_, None) => (ReplyContext::without_case(OVERSIZED), String::new()),
    };
    let context = ReplyContext {
        limit_mb: settings.max_message_bytes.div_ceil(1024 * 1024),
        ..context
    };
    let body = settings.templates.render(language, &context)?;
    let original = Original {
        message_id: facts.message_id.clone(),
        references: facts.references.clone(),
        subject: facts.subject.clone(),
    };
    let outgoing = compose(
        &original,
        &settings.sender,
        &to,
        &token,
        &body,
        identity,
        now,
    );
    thread_ids.push(
        outgoing
            .message_id
            .trim_matches(|c| c == '<' || c == '>')
            .to_string(),
    );
    seen.reply = Some(outgoing.message_id.clone());
    let entry = outbox_entry(
        outgoing,
        settings.mode,
        case.as_ref().map(|c| c.token.as_str()),
        now,
    );
    Ok(Plan {
        seen,
        case,
        thread_ids,
        outbox: Some(entry),
        rate_key: Some(rate_key(&to, now)),
    })
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
        raw_base64: base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            &outgoing.raw,
        ),
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
                der_base64: Some(base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    &cert.der,
                )),
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
                der_base64: None,
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
mod tests {
    use super::*;
    use crate::analysis::{analyse, Context};
    use crate::registry::Registry;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:00 UTC);

    fn settings(templates: &Templates, mode: ReplyMode) -> Settings<'_> {
        Settings::for_tests(templates, mode)
    }

    fn analysed(raw: &str) -> Analysis {
        let registry = Registry::default();
        let own = vec!["servicii@egov.md".to_string()];
        let anchors = crate::certificate::validate::TrustAnchors::new(Vec::new());
        let ctx = Context {
            anchors: &anchors,
            registry: &registry,
            own_addresses: &own,
        };
        analyse(raw.as_bytes(), &ctx, NOW)
    }

    const AT: Position = Position {
        uid_validity: 7,
        uid: 42,
    };

    #[test]
    fn applicant_mail_opens_a_case_and_queues_one_threaded_reply() {
        let t = Templates::embedded();
        let a = analysed(
            "From: Ion <ion@primaria.md>\r\nMessage-ID: <m1@primaria.md>\r\nSubject: MNotify\r\n\r\nVrem sa ne conectam la MNotify.\r\n",
        );
        let p = plan(
            Content::Analysed(&a),
            "m1@primaria.md",
            AT,
            Known::default(),
            &settings(&t, ReplyMode::Send),
            NOW,
        )
        .unwrap();
        let case = p.case.expect("a case");
        assert_eq!(case.applicant, "ion@primaria.md");
        assert_eq!(p.seen.destination.as_deref(), Some("Processed"));
        let entry = p.outbox.expect("a reply");
        assert_eq!(entry.kind, OutboxKind::Send);
        assert_eq!(entry.to, "ion@primaria.md");
        assert_eq!(p.seen.reply.as_deref(), Some(entry.message_id.as_str()));
        assert_eq!(p.rate_key.as_deref(), Some("ion@primaria.md/2026-11-24"));
        assert_eq!(
            p.thread_ids.len(),
            2,
            "the applicant's and our reply's ids lead to the case"
        );
        let raw = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            &entry.raw_base64,
        )
        .unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("In-Reply-To: <m1@primaria.md>"));
        assert!(text.contains(&format!("[MNotify #{}]", case.token)));
    }

    #[test]
    fn automatic_and_unrelated_mail_get_no_reply_and_no_case() {
        let t = Templates::embedded();
        let bounce = analysed("From: MAILER-DAEMON@x.md\r\nAuto-Submitted: auto-replied\r\nSubject: MNotify\r\n\r\nMNotify\r\n");
        let p = plan(
            Content::Analysed(&bounce),
            "b",
            AT,
            Known::default(),
            &settings(&t, ReplyMode::Send),
            NOW,
        )
        .unwrap();
        assert!(p.outbox.is_none() && p.case.is_none());
        assert_eq!(p.seen.destination.as_deref(), Some("Processed"));
        let other =
            analysed("From: a@b.md\r\nSubject: salut\r\n\r\nO intrebare despre altceva.\r\n");
        let p = plan(
            Content::Analysed(&other),
            "o",
            AT,
            Known::default(),
            &settings(&t, ReplyMode::Send),
            NOW,
        )
        .unwrap();
        assert_eq!(p.seen.outcome, "not_applicable");
        assert_eq!(p.seen.destination.as_deref(), Some("Needs-Human"));
        assert!(p.outbox.is_none() && p.case.is_none());
    }

    #[test]
    fn reply_cap_and_off_mode_record_why_there_is_no_reply() {
        let t = Templates::embedded();
        let a = analysed("From: ion@primaria.md\r\nSubject: MNotify\r\n\r\nMNotify\r\n");
        let known = Known {
            case: None,
            replies_today: 2,
        };
        let p = plan(
            Content::Analysed(&a),
            "x",
            AT,
            known,
            &settings(&t, ReplyMode::Send),
            NOW,
        )
        .unwrap();
        assert!(p.outbox.is_none());
        assert!(p.seen.note.unwrap().contains("max_per_recipient_per_day"));
        assert!(p.case.is_some(), "the case is still recorded");
        let p = plan(
            Content::Analysed(&a),
            "x",
            AT,
            Known::default(),
            &settings(&t, ReplyMode::Off),
            NOW,
        )
        .unwrap();
        assert!(p.outbox.is_none() && p.rate_key.is_none());
    }

    #[test]
    fn draft_mode_queues_a_draft_and_reply_to_is_honoured() {
        let t = Templates::embedded();
        let a = analysed("From: ion@primaria.md\r\nReply-To: it@primaria.md\r\nSubject: MNotify\r\n\r\nMNotify\r\n");
        let p = plan(
            Content::Analysed(&a),
            "x",
            AT,
            Known::default(),
            &settings(&t, ReplyMode::Draft),
            NOW,
        )
        .unwrap();
        let e = p.outbox.unwrap();
        assert_eq!(e.kind, OutboxKind::Draft);
        assert_eq!(e.to, "it@primaria.md");
    }

    #[test]
    fn oversized_mail_is_for_people_and_the_sender_is_told_the_limit() {
        let t = Templates::embedded();
        let facts = crate::intake::read(
            b"From: ion@primaria.md\r\nSubject: scan\r\nMessage-ID: <big@x>\r\n\r\n",
            &[],
        );
        let p = plan(
            Content::Oversized { facts: &facts },
            "big@x",
            AT,
            Known::default(),
            &settings(&t, ReplyMode::Send),
            NOW,
        )
        .unwrap();
        assert_eq!(p.seen.outcome, OVERSIZED);
        assert_eq!(p.seen.destination.as_deref(), Some("Needs-Human"));
        let raw = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            p.outbox.unwrap().raw_base64,
        )
        .unwrap();
        let text = crate::intake::read(&raw, &[]);
        assert_eq!(text.subject.as_deref(), Some("Re: scan"));
        assert!(p.case.is_none());
    }

    #[test]
    fn identity_prefers_message_id_and_falls_back_to_a_digest() {
        assert_eq!(identity(Some("<a@b>"), b"x"), "a@b");
        assert!(identity(None, b"x").starts_with("sha256:"));
        assert_eq!(identity(Some("  "), b"x"), identity(None, b"x"));
    }
}
