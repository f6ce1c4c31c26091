//! The answer to one mail: whether it gets one (and why not), and the reply itself.

use time::OffsetDateTime;

use crate::case::Case;
use crate::intake::Facts;
use crate::record::{OutboxEntry, OutboxKind, OutboxState, SeenRecord};
use crate::remark::Remark;
use crate::reply::{compose, Original, Outgoing, ReplyContext, ReplyError, ReplyKind, ReplyMode};
use crate::trust::domain;

use super::rates::cap_reached;
use super::{Content, Judgement, Known, Settings};

/// Why a mail gets no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Withheld {
    /// Its decision gets none (not about MNotify, automatic mail).
    NotWanted,
    /// No address, replies off, or a held sender answering us: noted, filed as usual.
    Noted(Remark),
    /// A cap reached: noted, and the mail is filed for people.
    ToStaff(Remark),
}

/// Why the mail gets no answer, if it gets none.
pub(super) fn withheld(
    judgement: &Judgement,
    facts: &Facts,
    known: &Known,
    joined: bool,
    settings: &Settings<'_>,
) -> Option<Withheld> {
    if !judgement.wants_reply {
        return Some(Withheld::NotWanted);
    }
    if judgement.recipient.is_none() {
        return Some(Withheld::Noted(Remark::NoAddress));
    }
    if settings.mode == ReplyMode::Off {
        return Some(Withheld::Noted(Remark::RepliesOff));
    }
    if judgement.held && refers_to_ours(facts, settings.sender.address) {
        return Some(Withheld::Noted(Remark::AnswersOurs));
    }
    cap_reached(known.counts, joined, judgement.held, settings.caps).map(Withheld::ToStaff)
}

/// What an answer is about.
#[derive(Debug, Clone, Copy)]
pub(super) enum Answering<'a> {
    /// The mail's case, the other cases it opened (further services it named), and
    /// whether the case was there before the mail.
    Case(&'a Case, &'a [Case], bool),
    /// No case (a held sender, an oversized first mail).
    NoCase,
    /// A first mail that names no service: which one?
    WhichService,
}

/// The reply to `to`, in the language of the mail it answers; `seen` says whether
/// staff check something.
pub(super) fn reply(
    content: Content<'_>,
    judgement: &Judgement,
    answering: Answering<'_>,
    seen: &SeenRecord,
    to: &str,
    settings: &Settings<'_>,
    (now, fresh): (OffsetDateTime, &str),
) -> Result<Outgoing, ReplyError> {
    let facts = content.facts();
    let catalogue = settings.procedures;
    let case = match answering {
        Answering::Case(c, _, _) => Some(c),
        _ => None,
    };
    let procedure = case.map_or_else(
        || catalogue.mnotify(),
        |c| catalogue.procedure_of(&c.service),
    );
    let (mut context, token) = match (content, answering) {
        _ if judgement.held => (
            ReplyContext::without_case(ReplyKind::Unverified, procedure, catalogue),
            String::new(),
        ),
        (_, Answering::WhichService) => (
            ReplyContext::without_case(ReplyKind::WhichService, procedure, catalogue),
            String::new(),
        ),
        (Content::Analysed(a), Answering::Case(c, _, _)) => {
            (ReplyContext::for_analysis(a, c, catalogue), c.token.clone())
        }
        (_, Answering::Case(c, _, _)) => (
            ReplyContext::for_case(ReplyKind::Oversized, c, catalogue),
            c.token.clone(),
        ),
        (_, Answering::NoCase) => (
            ReplyContext::without_case(ReplyKind::Oversized, procedure, catalogue),
            String::new(),
        ),
    };
    (context.also, context.mentioned) = other_services(content, answering, catalogue);
    context.brief = nothing_new(content, answering)
        && context
            .next
            .as_ref()
            .is_some_and(|n| n.party == "applicant");
    let received = facts.trace.received_at().unwrap_or(now);
    let mut context = ReplyContext {
        limit_mb: settings.max_message_bytes.div_ceil(1024 * 1024),
        // A staff check without a case (none was opened): say a person looks.
        staff_check: context.staff_check || (case.is_none() && !seen.warnings.is_empty()),
        received_at: received_text(received),
        reference: reference(&seen.identity),
        ..context
    };
    if !judgement.echo {
        context.conceal_free_text();
    }
    let body = settings.templates.render(facts.language, &context)?;
    let original = if judgement.echo {
        Original {
            message_id: facts.message_id.clone(),
            references: facts.references.clone(),
            subject: facts.subject.clone(),
        }
    } else {
        // Nothing the sender wrote, not even their subject: when our server received
        // the mail, and our reference.
        Original {
            message_id: None,
            references: Vec::new(),
            subject: Some(neutral_subject(facts.language, &context)),
        }
    };
    Ok(compose(
        &original,
        &settings.sender_in(facts.language),
        to,
        crate::reply::CaseTag {
            tag: &procedure.tag,
            token: &token,
        },
        &body,
        fresh,
        now,
    ))
}

/// A mail in a case already under way that brings nothing: no certificate, number,
/// finding, integration data or question (a "we will send it soon").
fn nothing_new(content: Content<'_>, answering: Answering<'_>) -> bool {
    let (Content::Analysed(a), Answering::Case(_, opened, true)) = (content, answering) else {
        return false;
    };
    let f = &a.facts;
    opened.is_empty()
        && a.decision == crate::decision::Decision::NeedCertificate
        && a.certificates.is_empty()
        && a.numbers.is_empty()
        && a.findings.is_empty()
        && !f.integration.is_present()
        && f.question.is_none()
}

/// The other cases the mail opened, each with its next step, and the services it
/// names without asking for them (tags): the reply says both, and nothing more is sent.
fn other_services(
    content: Content<'_>,
    answering: Answering<'_>,
    catalogue: &crate::procedure::Catalogue,
) -> (Vec<crate::reply::AlsoView>, Vec<String>) {
    let Answering::Case(case, opened, _) = answering else {
        return (Vec::new(), Vec::new());
    };
    let also = opened
        .iter()
        .map(|o| {
            let procedure = catalogue.procedure_of(&o.service);
            crate::reply::AlsoView {
                tag: procedure.tag.clone(),
                token: o.token.clone(),
                next: o
                    .next_step_told(procedure)
                    .map(|s| crate::reply::StepView::of(procedure, s)),
                // The case was opened by this mail: the certificate steps it holds
                // done, this mail's certificate did.
                done: procedure
                    .certificate_steps()
                    .filter(|s| o.done.contains_key(&s.code))
                    .map(|s| crate::reply::StepView::of(procedure, s.code))
                    .collect(),
            }
        })
        .collect();
    let mentioned = match content {
        Content::Analysed(a) => a
            .mentioned
            .iter()
            .filter(|code| **code != case.service)
            .filter_map(|code| catalogue.get(code))
            .map(|p| p.tag.clone())
            .collect(),
        Content::Oversized { .. } => Vec::new(),
    };
    (also, mentioned)
}

/// Our reference for a mail, as the neutral answer gives it and `held list` shows it:
/// derived from its identity, so staff find the mail the applicant quotes.
pub fn reference(identity: &str) -> String {
    format!(
        "R-{}",
        crate::case::token_for(&format!("reference/{identity}"))
    )
}

/// When our server received a mail, as answers say it (UTC, to the minute).
fn received_text(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}

/// The subject of the neutral answer: the time and our reference, in the mail's
/// language.
fn neutral_subject(language: crate::intake::Language, ctx: &ReplyContext) -> String {
    use crate::intake::Language;
    let (at, reference) = (&ctx.received_at, &ctx.reference);
    match language {
        Language::Ro => format!("Mesajul dvs. primit la {at} (ref. {reference})"),
        Language::Ru => format!("Ваше письмо, полученное {at} (ref. {reference})"),
        Language::En => format!("Your message received {at} (ref. {reference})"),
    }
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
        by: None,
    }
}
