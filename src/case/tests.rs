use super::*;
use time::macros::datetime;

#[test]
fn tokens_are_stable_and_readable() {
    let t = token_for("<abc@x>");
    assert_eq!(t, token_for("<abc@x>"));
    assert_ne!(t, token_for("<abd@x>"));
    assert_eq!(t.len(), 6);
    assert!(t.bytes().all(|b| TOKEN_ALPHABET.contains(&b)));
}

#[test]
fn certificate_accepted_completes_its_step_only() {
    let now = datetime!(2026-11-24 12:00 UTC);
    let mut c = Case::open("ABC123".into(), "Ion@X.md", Language::Ro, now);
    assert_eq!(c.next_step(), Some(Step::Form));
    c.record_decision(Decision::SerialNotFound, "<1@x>", "", now);
    assert!(!c.done.contains_key(&Step::Certificate));
    c.record_decision(Decision::NewCertificate, "<2@x>", "serial AB", now);
    assert!(c.done.contains_key(&Step::Certificate));
    assert_eq!(c.next_step(), Some(Step::Form));
    assert_eq!(c.message_ids.len(), 2);
    assert_eq!(c.applicant, "ion@x.md");
}

fn at(hour: u8) -> OffsetDateTime {
    datetime!(2026-11-24 00:00 UTC) + time::Duration::hours(hour.into())
}

fn staff(step: Step) -> Event<'static> {
    Event::StepDone {
        step,
        by: "ana",
        note: None,
    }
}

#[test]
fn every_step_in_order_ends_completed() {
    let mut c = Case::open("T".into(), "ion@x.md", Language::Ro, at(0));
    c.record_decision(Decision::NewCertificate, "<1@x>", "serial AB", at(1));
    let mut told = Vec::new();
    for (i, step) in [
        Step::Form,
        Step::Contract,
        Step::IntegrationData,
        Step::TestAccess,
        Step::OperationalTests,
        Step::Production,
    ]
    .into_iter()
    .enumerate()
    {
        let (next, actions) = apply(&c, staff(step), at(2 + i as u8));
        assert!(next.done.contains_key(&step), "{step:?}");
        assert_eq!(next.done[&step].by, "ana");
        told.extend(actions);
        c = next;
    }
    assert_eq!(c.next_step(), None, "all eight done");
    assert_eq!(c.waiting_on(), None);
    assert_eq!(
        told,
        vec![
            Action::TellStepDone(Step::Form),
            Action::TellStepDone(Step::Contract),
            Action::TellStepDone(Step::IntegrationData),
            Action::TellStepDone(Step::TestAccess),
            Action::TellStepDone(Step::OperationalTests),
            Action::TellCompleted,
        ]
    );
    assert_eq!(
        c.done[&Step::Certificate].evidence,
        "serial AB (mail <1@x>)"
    );
}

#[test]
fn waiting_on_follows_the_first_step_not_done() {
    let mut c = Case::open("T".into(), "ion@x.md", Language::Ro, at(0));
    assert_eq!(c.waiting_on(), Some(Party::Applicant));
    for step in [
        Step::Form,
        Step::Contract,
        Step::Certificate,
        Step::IntegrationData,
    ] {
        c = apply(&c, staff(step), at(1)).0;
    }
    assert_eq!(c.next_step(), Some(Step::TestAccess));
    assert_eq!(c.waiting_on(), Some(Party::Age));
}

#[test]
fn certificate_before_the_form_and_a_second_certificate() {
    let c = Case::open("T".into(), "ion@x.md", Language::Ro, at(0));
    let (c, actions) = apply(
        &c,
        Event::Mail {
            decision: Decision::ReuseConfirmed,
            message_id: "<1@x>",
            evidence: "number 4A3F matched 4A3F",
            sender: "",
        },
        at(1),
    );
    assert!(
        actions.is_empty(),
        "mail gets its own reply, not a step notice"
    );
    assert_eq!(c.next_step(), Some(Step::Form), "out of order is fine");
    let (c, _) = apply(
        &c,
        Event::Mail {
            decision: Decision::NewCertificate,
            message_id: "<2@x>",
            evidence: "certificate serial 77",
            sender: "",
        },
        at(2),
    );
    assert_eq!(
        c.done[&Step::Certificate].evidence,
        "number 4A3F matched 4A3F (mail <1@x>)"
    );
    assert!(c
        .timeline
        .last()
        .unwrap()
        .what
        .contains("another certificate"));
    assert_eq!(c.message_ids, vec!["<1@x>", "<2@x>"]);
}

#[test]
fn marking_a_step_twice_tells_nobody_twice() {
    let c = Case::open("T".into(), "ion@x.md", Language::Ro, at(0));
    let (c, first) = apply(&c, staff(Step::Form), at(1));
    let (again, second) = apply(&c, staff(Step::Form), at(2));
    assert_eq!(first, vec![Action::TellStepDone(Step::Form)]);
    assert!(second.is_empty());
    assert_eq!(again.done[&Step::Form].at, at(1), "first record kept");
}

#[test]
fn reminders_wait_their_days_and_do_not_repeat_too_soon() {
    let day = |d: i64| at(0) + time::Duration::days(d);
    let c = Case::open("T".into(), "ion@x.md", Language::Ro, day(0));
    assert!(!c.reminder_due(day(6), 7));
    assert!(c.reminder_due(day(7), 7));
    assert!(!c.reminder_due(day(30), 0), "0 disables");
    let (c, actions) = apply(&c, Event::Remind, day(7));
    assert_eq!(actions, vec![Action::TellReminder]);
    assert_eq!(c.updated_at, day(0), "still waiting since day 0");
    assert!(!c.reminder_due(day(13), 7));
    assert!(c.reminder_due(day(14), 7));
    let mut at_age = c.clone();
    for step in [
        Step::Form,
        Step::Contract,
        Step::Certificate,
        Step::IntegrationData,
    ] {
        at_age = apply(&at_age, staff(step), day(1)).0;
    }
    assert!(
        !at_age.reminder_due(day(40), 7),
        "waiting on AGE: no reminder"
    );

    // Our last message bounced: no reminders until the applicant writes again.
    let failed = Event::ReplyFailed {
        to: "ion@x.md",
        reason: "bounced",
    };
    let (bounced, _) = apply(&c, failed, day(14));
    assert!(!bounced.reminder_due(day(60), 7), "it would only bounce");
    let wrote = Event::Mail {
        decision: Decision::NeedCertificate,
        message_id: "<again@x.md>",
        evidence: "",
        sender: "",
    };
    let (back, _) = apply(&bounced, wrote, day(20));
    assert!(back.reminder_due(day(27), 7), "they wrote: reachable again");
}

#[test]
fn reopen_undoes_the_step_and_completion() {
    let mut c = Case::open("T".into(), "ion@x.md", Language::Ro, at(0));
    for step in Step::ALL.into_iter().take(7) {
        c = apply(&c, staff(step), at(1)).0;
    }
    assert!(c.done.contains_key(&Step::Completed));
    let (c, actions) = apply(
        &c,
        Event::Reopen {
            step: Step::Certificate,
            by: "ana",
            note: Some("certificate revoked by STISC"),
        },
        at(3),
    );
    assert!(actions.is_empty());
    assert_eq!(c.next_step(), Some(Step::Certificate));
    assert!(!c.done.contains_key(&Step::Completed));
    assert!(c.timeline.last().unwrap().what.contains("revoked by STISC"));
    let (c, _) = apply(
        &c,
        Event::Note {
            by: "ana",
            text: "called them",
        },
        at(4),
    );
    assert_eq!(c.timeline.last().unwrap().what, "note by ana: called them");
    assert_eq!(c.updated_at, at(4));

    let (after, actions) = apply(
        &c,
        Event::ReplyFailed {
            to: "ion@x.md",
            reason: "bounced: 5.1.1",
        },
        at(5),
    );
    assert!(
        actions.is_empty(),
        "nobody is told: the address does not work"
    );
    assert_eq!(after.done, c.done);
    assert_eq!(
        after.timeline.last().unwrap().what,
        "our message to ion@x.md did not arrive: bounced: 5.1.1"
    );
}
