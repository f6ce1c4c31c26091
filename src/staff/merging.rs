//! `cases merge INTO FROM` and `cases split ID`: the two staff changes that touch two
//! cases, committed together with where the mail of the first now goes.

use time::OffsetDateTime;

use super::words::say;
use super::{Answer, CaseAction, Done, Request, StaffAction, StaffError};
use crate::case::{self, Case};
use crate::intake::Language;
use crate::record::MessageId;
use crate::store::Store;

/// Applies a merge or a split to `case` (the request's case, not merged itself).
pub(super) fn execute(
    store: &Store,
    request: &Request,
    case: Case,
    procedure: &crate::procedure::Procedure,
    language: Language,
    now: OffsetDateTime,
) -> Result<Answer, StaffError> {
    match &request.action {
        StaffAction::Case(CaseAction::Merge { from, note }) => merge(
            store,
            request,
            (case, procedure),
            from,
            note.as_deref(),
            (language, now),
        ),
        StaffAction::Case(CaseAction::Split { system, note }) => {
            let token = case::token_for(&format!("split/{}/{}", case.token, request.id));
            let (old, new) = case::merge::split(
                procedure,
                &case,
                token,
                system.as_deref(),
                &request.by,
                note.as_deref(),
                now,
            );
            store.commit_cases(&request.id, &[&old, &new], &[], None, &new.token)?;
            Ok(Answer::Done(Done::Applied {
                said: say(
                    "split_off",
                    language,
                    &[
                        ("new", &new.token),
                        ("old", &old.token),
                        ("by", &request.by),
                    ],
                ),
                notice_queued: false,
            }))
        }
        _ => Ok(Answer::Refused("not a merge or a split".into())),
    }
}

fn merge(
    store: &Store,
    request: &Request,
    (into, procedure): (Case, &crate::procedure::Procedure),
    from: &str,
    note: Option<&str>,
    (language, now): (Language, OffsetDateTime),
) -> Result<Answer, StaffError> {
    let token = from.trim_start_matches('#').to_ascii_uppercase();
    if token == into.token {
        return Ok(Answer::Refused(say(
            "merge_itself",
            language,
            &[("case", &token)],
        )));
    }
    let Some(other) = store.case(&token)? else {
        return Ok(Answer::Refused(say(
            "no_case",
            language,
            &[("case", &token)],
        )));
    };
    if let Some(already) = other.merged() {
        return Ok(Answer::Refused(say(
            "merged_already",
            language,
            &[("case", &token), ("into", already)],
        )));
    }
    if other.owner() != into.owner() {
        return Ok(Answer::Refused(say(
            "merge_owners",
            language,
            &[
                ("case", &token),
                ("owner", &other.owner()),
                ("into", &into.token),
                ("into_owner", &into.owner()),
            ],
        )));
    }
    if other.service != into.service {
        return Ok(Answer::Refused(say(
            "merge_services",
            language,
            &[
                ("case", &token),
                ("service", &other.service),
                ("into", &into.token),
                ("into_service", &into.service),
            ],
        )));
    }
    let (merged, closed) = case::merge::merge(procedure, &into, &other, &request.by, note, now);
    let thread: Vec<MessageId> = closed
        .message_ids
        .iter()
        .filter_map(|m| MessageId::parse(m))
        .collect();
    store.commit_cases(
        &request.id,
        &[&merged, &closed],
        &thread,
        Some(&closed.applicant),
        &merged.token,
    )?;
    Ok(Answer::Done(Done::Applied {
        said: say(
            "merged",
            language,
            &[
                ("closed", &closed.token),
                ("into", &merged.token),
                ("by", &request.by),
            ],
        ),
        notice_queued: false,
    }))
}
