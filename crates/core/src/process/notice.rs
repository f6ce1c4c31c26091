//! The notices staff actions and reminders send an applicant: the rendered reply,
//! threaded to the case's latest message, queued in the outbox.

use time::OffsetDateTime;

use super::{outbox_entry, Settings};
use crate::case::{Action, Case};
use crate::record::{MessageId, OutboxEntry};
use crate::reply::{compose_in, Original, Outgoing, ReplyContext, ReplyError, Voice};

/// The notice an action calls for, threaded to the case's latest message, in the
/// case's language; the case learns its Message-ID (returned too) so that a reply to
/// it finds the case. `seed` makes the Message-ID stable for the same notice.
pub fn notice(
    case: &mut Case,
    action: Action,
    settings: &Settings<'_>,
    seed: &str,
    now: OffsetDateTime,
) -> Result<(OutboxEntry, MessageId), ReplyError> {
    let context = ReplyContext::for_staff_action(action, case, settings.procedures);
    let body = settings.templates.render(case.language, &context)?;
    let (outgoing, id) = to_applicant(case, Voice::Automatic, &body, settings, (seed, now));
    Ok((
        outbox_entry(outgoing, settings.mode, Some(&case.token), now),
        id,
    ))
}

/// Mail to the case's applicant in `voice`, threaded to the case's latest message, the
/// case tag in the subject, from the mailbox in the case's language; the case learns
/// its Message-ID (returned too) so that a reply to it finds the case.
fn to_applicant(
    case: &mut Case,
    voice: Voice<'_>,
    body: &str,
    settings: &Settings<'_>,
    (seed, now): (&str, OffsetDateTime),
) -> (Outgoing, MessageId) {
    let procedure = settings.procedures.procedure_of(&case.service);
    let outgoing = compose_in(
        voice,
        &threaded_to(case, procedure),
        &settings.sender_in(case.language),
        &case.applicant,
        crate::reply::CaseTag {
            tag: &procedure.tag,
            token: &case.token,
        },
        body,
        (seed, now),
    );
    let id = outgoing.message_id.clone();
    case.message_ids.push(id.bare().to_string());
    (outgoing, id)
}

/// What mail to the applicant answers: the case's latest message, in the thread of the
/// applicant's first subject.
fn threaded_to(case: &Case, procedure: &crate::procedure::Procedure) -> Original {
    Original {
        message_id: case.message_ids.last().cloned(),
        references: case.message_ids.clone(),
        subject: Some(
            case.subject
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| procedure.tag.clone()),
        ),
    }
}

/// What a staff member wrote to the applicant, who, and the allowed addresses copied.
#[derive(Debug, Clone, Copy)]
pub struct StaffAnswer<'a> {
    pub text: &'a str,
    pub cc: &'a [String],
    pub by: &'a str,
}

/// A staff member's answer to the case's applicant: their text signed by the agency,
/// threaded to the case's latest mail, with the case tag in the subject, from the
/// mailbox; queued under `by` (the conversation shows who wrote it). The case learns its
/// Message-ID, so the applicant's answer to it comes back into the case.
pub fn staff_answer(
    case: &mut Case,
    answer: StaffAnswer<'_>,
    settings: &Settings<'_>,
    seed: &str,
    now: OffsetDateTime,
) -> (OutboxEntry, MessageId) {
    let signature = settings.templates.agency().signature(case.language);
    let body = format!("{}\n\n{signature}\n", answer.text.trim_end());
    let cc: Vec<String> = answer
        .cc
        .iter()
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    let voice = Voice::Person { cc: &cc };
    let (outgoing, id) = to_applicant(case, voice, &body, settings, (seed, now));
    // Sent in draft mode too: a person wrote it and saw it before it went.
    let mut entry = outbox_entry(
        outgoing,
        crate::reply::ReplyMode::Send,
        Some(&case.token),
        now,
    );
    entry.by = Some(answer.by.to_string());
    (entry, id)
}
