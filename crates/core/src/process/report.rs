//! Delivery reports about our replies: which reply a report names, whether it is
//! believed, and what a believed one changes (the reply failed, its case told). A
//! report is mail like any other, written by whoever sent it: it counts only when it
//! names a reply of ours (an unguessable Message-ID) that went out, to the recipient it
//! names, and comes from that recipient's side or from inside our own mail system.

use crate::remark::Remark;
use time::OffsetDateTime;

use super::{Judgement, Settings};
use crate::case::{self, Case, Event};
use crate::intake::bounce::Bounce;
use crate::intake::Facts;
use crate::procedure::Catalogue;
use crate::record::{MessageId, OutboxEntry, OutboxState};
use crate::trust::{self, Policy, Sender};

/// What the store knows of the reply a delivery report names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    pub entry: OutboxEntry,
    /// The reply's case, if it has one.
    pub case: Option<Case>,
}

/// The reply a mail reports on, to be looked up: only a delivery report's.
pub fn reported_reply(facts: &Facts) -> Option<MessageId> {
    let id = facts.bounce.as_ref()?.original_message_id.as_deref()?;
    MessageId::parse(id)
}

/// What a report about one of our replies is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportVerdict {
    /// It marks the reply failed with its reason.
    Believed,
    /// It does not come from the recipient's side; why, for the record.
    Ignored(Remark),
}

/// Judges a report about `entry`; `None` when the reply did not go out (still
/// pending, or failed already: a report read again after a crash changes nothing).
pub fn judge_report(
    bounce: &Bounce,
    entry: &OutboxEntry,
    sender: &Sender,
    trace: &trust::Trace,
    policy: &Policy,
) -> Option<ReportVerdict> {
    if entry.state != OutboxState::Sent {
        return None;
    }
    let recipient_domain = trust::domain::of_address(&entry.to).unwrap_or_default();
    let right_recipient = bounce
        .recipient
        .as_deref()
        .is_none_or(|r| r.trim().eq_ignore_ascii_case(entry.to.trim()));
    let from_their_side = sender.authenticated
        && sender
            .domain
            .as_deref()
            .is_some_and(|d| trust::domain::aligned(d, &recipient_domain));
    // Made by a server of ours: no stamp of our MX and no Exchange Online front door
    // (it did not come from outside), and no hop where a user logged in to submit it
    // (any user of our mail system could otherwise write one, with the Message-ID of a
    // reply they saw).
    let from_our_system = !trust::stamped_by(trace, &policy.authserv_ids)
        && !trace.exchange.front_door
        && !trace.submitted_by_a_user();
    Some(if right_recipient && (from_their_side || from_our_system) {
        ReportVerdict::Believed
    } else {
        ReportVerdict::Ignored(Remark::ReportIgnored {
            message_id: entry.message_id.to_string(),
            to: entry.to.clone(),
            sender: sender.describe(),
        })
    })
}

/// A message of ours that failed for good, on its case's timeline (where `cases show`
/// shows it): the case after it. `None` when the entry names no reason.
pub fn failed_reply_case(
    case: &Case,
    procedures: &Catalogue,
    entry: &OutboxEntry,
    now: OffsetDateTime,
) -> Option<Case> {
    let reason = entry.last_error.as_deref()?;
    let failed = Event::ReplyFailed {
        to: &entry.to,
        reason,
    };
    let procedure = procedures.procedure_of(&case.service);
    let at = entry.failed_at.unwrap_or(now);
    Some(case::apply(procedure, case, failed, at).0)
}

/// A delivery report's verdict on the reply it names (none for other mail): a believed
/// one marks the reply failed (returned) and puts that on the reply's case, whichever
/// of the message's cases it is; an ignored one is noted.
pub(super) fn failed_by_report(
    facts: &Facts,
    reported: Option<Reported>,
    judgement: &Judgement,
    (case, also, notes): (&mut Option<Case>, &mut Vec<Case>, &mut Vec<Remark>),
    settings: &Settings<'_>,
    now: OffsetDateTime,
) -> Option<OutboxEntry> {
    let (bounce, reported) = (facts.bounce.as_ref()?, reported?);
    let verdict = judge_report(
        bounce,
        &reported.entry,
        &judgement.sender,
        &facts.trace,
        settings.trust,
    )?;
    if let ReportVerdict::Ignored(why) = verdict {
        notes.push(why);
        return None;
    }
    let mut entry = reported.entry;
    entry.fail(bounce.describe(), now);
    let token = entry.case.clone();
    let target = match case.as_mut().filter(|c| Some(&c.token) == token.as_ref()) {
        Some(own) => Some(own),
        None => also.iter_mut().find(|c| Some(&c.token) == token.as_ref()),
    };
    match target {
        Some(c) => {
            if let Some(next) = failed_reply_case(c, settings.procedures, &entry, now) {
                *c = next;
            }
        }
        None => {
            if let Some(next) = reported
                .case
                .as_ref()
                .and_then(|c| failed_reply_case(c, settings.procedures, &entry, now))
            {
                also.push(next);
            }
        }
    }
    Some(entry)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::case::Case;
    use crate::intake::Language;
    use crate::procedure::for_tests::cat;
    use crate::record::{OutboxKind, OutboxState};
    use crate::trust::{SenderRule, TraceField};

    const NOW: OffsetDateTime = datetime!(2026-11-24 12:00 UTC);

    fn entry(state: OutboxState) -> OutboxEntry {
        OutboxEntry {
            message_id: MessageId::parse("<mnotify.1@egov.md>").unwrap(),
            kind: OutboxKind::Send,
            from: "servicii@egov.md".into(),
            to: "ion@primaria.md".into(),
            case: Some("ABC123".into()),
            raw: Vec::new(),
            attempts: 1,
            next_attempt: 0,
            state,
            last_error: None,
            created_at: NOW,
            copied: true,
            failed_at: None,
            copy_refusals: 0,
            by: None,
        }
    }

    fn bounce(recipient: &str) -> Bounce {
        Bounce {
            original_message_id: Some("mnotify.1@egov.md".into()),
            recipient: Some(recipient.into()),
            status: Some("5.1.1".into()),
            diagnostic: None,
        }
    }

    fn sender(domain: &str, authenticated: bool) -> Sender {
        Sender {
            address: Some(format!("postmaster@{domain}")),
            domain: Some(domain.into()),
            authenticated,
            method: None,
            rule: None,
            reason: "test".into(),
        }
    }

    fn policy() -> Policy {
        Policy {
            authserv_ids: vec!["mx.egov.md".into()],
            exchange_tenant: None,
            senders: SenderRule::Require,
        }
    }

    /// Stamped by our MX: it came from outside.
    fn from_outside() -> trust::Trace {
        trust::Trace {
            fields: vec![TraceField::AuthResults(
                "mx.egov.md; dmarc=pass header.from=primaria.md".into(),
            )],
            ..trust::Trace::default()
        }
    }

    #[test]
    fn a_report_from_the_recipients_side_is_believed() {
        let verdict = judge_report(
            &bounce("ion@primaria.md"),
            &entry(OutboxState::Sent),
            &sender("primaria.md", true),
            &from_outside(),
            &policy(),
        );
        assert_eq!(verdict, Some(ReportVerdict::Believed));
    }

    #[test]
    fn a_report_from_anyone_else_outside_is_ignored_with_the_reason() {
        let verdict = judge_report(
            &bounce("ion@primaria.md"),
            &entry(OutboxState::Sent),
            &sender("evil.md", true),
            &from_outside(),
            &policy(),
        );
        let Some(ReportVerdict::Ignored(why)) = verdict else {
            panic!("{verdict:?}");
        };
        assert!(why.to_string().contains("ion@primaria.md's side"), "{why}");
        // Naming another recipient than the reply's is ignored too.
        let verdict = judge_report(
            &bounce("ana@primaria.md"),
            &entry(OutboxState::Sent),
            &sender("primaria.md", true),
            &from_outside(),
            &policy(),
        );
        assert!(
            matches!(verdict, Some(ReportVerdict::Ignored(_))),
            "{verdict:?}"
        );
    }

    #[test]
    fn our_relays_own_report_is_believed_and_a_reply_not_sent_is_left_alone() {
        // No stamp of our MX, no submission: made inside our mail system.
        let ours = trust::Trace::default();
        let verdict = judge_report(
            &bounce("ion@primaria.md"),
            &entry(OutboxState::Sent),
            &sender("egov.md", false),
            &ours,
            &policy(),
        );
        assert_eq!(verdict, Some(ReportVerdict::Believed));
        for state in [OutboxState::Pending, OutboxState::Failed] {
            let verdict = judge_report(
                &bounce("ion@primaria.md"),
                &entry(state),
                &sender("primaria.md", true),
                &from_outside(),
                &policy(),
            );
            assert_eq!(verdict, None, "{state:?}");
        }
    }

    #[test]
    fn a_failed_reply_goes_on_its_case_timeline_once_it_has_a_reason() {
        let case = Case::open("ABC123".into(), "ion@primaria.md", Language::Ro, NOW);
        let mut failed = entry(OutboxState::Sent);
        assert_eq!(failed_reply_case(&case, cat(), &failed, NOW), None);
        failed.fail("bounced: 5.1.1".into(), NOW);
        let after = failed_reply_case(&case, cat(), &failed, NOW).expect("a change");
        assert!(after.unreachable);
        assert!(
            after
                .timeline
                .iter()
                .any(|e| e.what.contains("did not arrive") && e.what.contains("5.1.1")),
            "{:?}",
            after.timeline
        );
    }
}
