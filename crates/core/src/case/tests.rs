use super::*;
use time::macros::datetime;

use crate::procedure::for_tests::mn;

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
    assert_eq!(c.next_step(mn()), Some(Step::FORM));
    c.record_decision(mn(), Decision::SerialNotFound, "<1@x>", "", now);
    assert!(!c.done.contains_key(&Step::CERTIFICATE));
    c.record_decision(mn(), Decision::NewCertificate, "<2@x>", "serial AB", now);
    assert!(c.done.contains_key(&Step::CERTIFICATE));
    assert_eq!(c.next_step(mn()), Some(Step::FORM));
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
    c.record_decision(mn(), Decision::NewCertificate, "<1@x>", "serial AB", at(1));
    let mut told = Vec::new();
    for (i, step) in [
        Step::FORM,
        Step::CONTRACT,
        Step::INTEGRATION_DATA,
        Step::TEST_ACCESS,
        Step::OPERATIONAL_TESTS,
        Step::PRODUCTION,
    ]
    .into_iter()
    .enumerate()
    {
        let (next, actions) = apply(mn(), &c, staff(step), at(2 + i as u8));
        assert!(next.done.contains_key(&step), "{step:?}");
        assert_eq!(next.done[&step].by, "ana");
        told.extend(actions);
        c = next;
    }
    assert_eq!(c.next_step(mn()), None, "all eight done");
    assert_eq!(c.waiting_on(mn()), None);
    assert_eq!(
        told,
        vec![
            Action::TellStepDone(Step::FORM),
            Action::TellStepDone(Step::CONTRACT),
            Action::TellStepDone(Step::INTEGRATION_DATA),
            Action::TellStepDone(Step::TEST_ACCESS),
            Action::TellStepDone(Step::OPERATIONAL_TESTS),
            Action::TellCompleted,
        ]
    );
    assert_eq!(
        c.done[&Step::CERTIFICATE].evidence,
        "serial AB (mail <1@x>)"
    );
}

#[test]
fn waiting_on_follows_the_first_step_not_done() {
    let mut c = Case::open("T".into(), "ion@x.md", Language::Ro, at(0));
    assert_eq!(c.waiting_on(mn()), Some(Party::Applicant));
    for step in [
        Step::FORM,
        Step::CONTRACT,
        Step::CERTIFICATE,
        Step::INTEGRATION_DATA,
    ] {
        c = apply(mn(), &c, staff(step), at(1)).0;
    }
    assert_eq!(c.next_step(mn()), Some(Step::TEST_ACCESS));
    assert_eq!(c.waiting_on(mn()), Some(Party::Age));
}

#[test]
fn certificate_before_the_form_and_a_second_certificate() {
    let c = Case::open("T".into(), "ion@x.md", Language::Ro, at(0));
    let (c, actions) = apply(
        mn(),
        &c,
        Event::Mail(MailEvent {
            decision: Decision::ReuseConfirmed,
            message_id: "<1@x>",
            evidence: "number 4A3F matched 4A3F",
            sender: "",
            doubt: None,
            certificates: &[],
        }),
        at(1),
    );
    assert!(
        actions.is_empty(),
        "mail gets its own reply, not a step notice"
    );
    assert_eq!(c.next_step(mn()), Some(Step::FORM), "out of order is fine");
    let (c, _) = apply(
        mn(),
        &c,
        Event::Mail(MailEvent {
            decision: Decision::NewCertificate,
            message_id: "<2@x>",
            evidence: "certificate serial 77",
            sender: "",
            doubt: None,
            certificates: &[],
        }),
        at(2),
    );
    assert_eq!(
        c.done[&Step::CERTIFICATE].evidence,
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
    let (c, first) = apply(mn(), &c, staff(Step::FORM), at(1));
    let (again, second) = apply(mn(), &c, staff(Step::FORM), at(2));
    assert_eq!(first, vec![Action::TellStepDone(Step::FORM)]);
    assert!(second.is_empty());
    assert_eq!(again.done[&Step::FORM].at, at(1), "first record kept");
}

#[test]
fn reminders_wait_their_days_and_do_not_repeat_too_soon() {
    let day = |d: i64| at(0) + time::Duration::days(d);
    let c = Case::open("T".into(), "ion@x.md", Language::Ro, day(0));
    assert!(!c.reminder_due(mn(), day(6), 7));
    assert!(c.reminder_due(mn(), day(7), 7));
    assert!(!c.reminder_due(mn(), day(30), 0), "0 disables");
    let (c, actions) = apply(mn(), &c, Event::Remind, day(7));
    assert_eq!(actions, vec![Action::TellReminder]);
    assert_eq!(c.updated_at, day(0), "still waiting since day 0");
    assert!(!c.reminder_due(mn(), day(13), 7));
    assert!(c.reminder_due(mn(), day(14), 7));
    let mut at_age = c.clone();
    for step in [
        Step::FORM,
        Step::CONTRACT,
        Step::CERTIFICATE,
        Step::INTEGRATION_DATA,
    ] {
        at_age = apply(mn(), &at_age, staff(step), day(1)).0;
    }
    assert!(
        !at_age.reminder_due(mn(), day(40), 7),
        "waiting on AGE: no reminder"
    );

    // Our last message bounced: no reminders until the applicant writes again.
    let failed = Event::ReplyFailed {
        to: "ion@x.md",
        reason: "bounced",
    };
    let (bounced, _) = apply(mn(), &c, failed, day(14));
    assert!(
        !bounced.reminder_due(mn(), day(60), 7),
        "it would only bounce"
    );
    let wrote = Event::Mail(MailEvent {
        decision: Decision::NeedCertificate,
        message_id: "<again@x.md>",
        evidence: "",
        sender: "",
        doubt: None,
        certificates: &[],
    });
    let (back, _) = apply(mn(), &bounced, wrote, day(20));
    assert!(
        back.reminder_due(mn(), day(27), 7),
        "they wrote: reachable again"
    );
}

#[test]
fn reopen_undoes_the_step_and_completion() {
    let mut c = Case::open("T".into(), "ion@x.md", Language::Ro, at(0));
    for step in Step::MNOTIFY.into_iter().take(7) {
        c = apply(mn(), &c, staff(step), at(1)).0;
    }
    assert!(c.done.contains_key(&Step::COMPLETED));
    let (c, actions) = apply(
        mn(),
        &c,
        Event::Reopen {
            step: Step::CERTIFICATE,
            by: "ana",
            note: Some("certificate revoked by STISC"),
        },
        at(3),
    );
    assert!(actions.is_empty());
    assert_eq!(c.next_step(mn()), Some(Step::CERTIFICATE));
    assert!(!c.done.contains_key(&Step::COMPLETED));
    assert!(c.timeline.last().unwrap().what.contains("revoked by STISC"));
    let (c, _) = apply(
        mn(),
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
        mn(),
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

mod clock {
    use super::super::clock::{Owed, Promise, Standing};
    use super::*;

    fn complete_at(t: OffsetDateTime) -> Case {
        crate::case::for_tests::complete_request("CLK", t)
    }

    #[test]
    fn the_clock_runs_only_while_the_case_waits_on_age() {
        let opened = datetime!(2026-11-23 10:00 UTC); // Monday, noon in Chișinău
        let mut c = Case::open("CLK".into(), "ion@x.md", Language::Ro, opened);
        c = apply(mn(), &c, staff(Step::FORM), opened).0;
        assert_eq!(c.owed(mn()), None, "waits on the applicant");
        assert!(c.clocks.is_empty());
        assert!(c.response(mn(), &Promise::default(), opened).is_none());

        let c = complete_at(opened);
        assert_eq!(c.owed(mn()), Some(Owed::Step(Step::TEST_ACCESS)));
        let promise = Promise::default();
        // Wednesday noon: two working days used, five left, due a week from Wednesday.
        let wednesday = datetime!(2026-11-25 10:00 UTC);
        let r = c.response(mn(), &promise, wednesday).unwrap();
        assert!((r.used - 2.0).abs() < 1e-9, "{r:?}");
        assert!((r.left - 5.0).abs() < 1e-9);
        assert_eq!(r.standing, Standing::OnTime);
        assert_eq!(r.due, datetime!(2026-12-02 10:00 UTC));
        // Monday 30 Nov noon: five used, two left: at risk.
        let r = c
            .response(mn(), &promise, datetime!(2026-11-30 10:00 UTC))
            .unwrap();
        assert_eq!(r.standing, Standing::AtRisk);
        // Thursday 3 Dec: eight used, overdue since Wednesday noon.
        let r = c
            .response(mn(), &promise, datetime!(2026-12-03 10:00 UTC))
            .unwrap();
        assert_eq!(r.standing, Standing::Overdue);
        assert!((r.left + 1.0).abs() < 1e-9);
        assert_eq!(r.due, datetime!(2026-12-02 10:00 UTC));
    }

    #[test]
    fn waiting_on_the_applicant_pauses_and_the_step_done_ends_it() {
        let monday = datetime!(2026-11-23 10:00 UTC);
        let c = complete_at(monday);
        // Tuesday noon staff find the certificate unusable: back to the applicant.
        let tuesday = datetime!(2026-11-24 10:00 UTC);
        let reopen = Event::Reopen {
            step: Step::CERTIFICATE,
            by: "ana",
            note: None,
        };
        let c = apply(mn(), &c, reopen, tuesday).0;
        assert_eq!(c.owed(mn()), None);
        assert!(c.response(mn(), &Promise::default(), tuesday).is_none());
        assert_eq!(c.clocks.len(), 1, "paused, not forgotten");
        // A new certificate the Monday after: the clock resumes with one day used.
        let next_monday = datetime!(2026-11-30 10:00 UTC);
        let c = apply(mn(), &c, staff(Step::CERTIFICATE), next_monday).0;
        let r = c
            .response(mn(), &Promise::default(), datetime!(2026-12-01 10:00 UTC))
            .unwrap();
        assert!((r.used - 2.0).abs() < 1e-9, "{r:?}");
        assert_eq!(r.due, datetime!(2026-12-08 10:00 UTC));
        // Test access done: that clock ends; the next one waits on the applicant.
        let c = apply(mn(), &c, staff(Step::TEST_ACCESS), next_monday).0;
        assert!(c.clocks.is_empty());
        assert_eq!(c.owed(mn()), None);
    }

    #[test]
    fn a_question_has_its_own_clock_and_the_step_keeps_its_own() {
        let monday = datetime!(2026-11-23 10:00 UTC);
        let c = complete_at(monday);
        let tuesday = datetime!(2026-11-24 10:00 UTC);
        let asked = Event::Asked {
            question: "When can we sign?",
        };
        let c = apply(mn(), &c, asked, tuesday).0;
        assert_eq!(c.owed(mn()), Some(Owed::Answer));
        let r = c
            .response(mn(), &Promise::default(), datetime!(2026-11-25 10:00 UTC))
            .unwrap();
        assert_eq!(r.owed, Owed::Answer);
        assert!((r.used - 1.0).abs() < 1e-9);
        // Answered Wednesday noon: the test-access clock resumes where it paused.
        let answered = Event::Answered {
            by: "ana",
            note: None,
        };
        let c = apply(mn(), &c, answered, datetime!(2026-11-25 10:00 UTC)).0;
        assert_eq!(c.clocks.len(), 1);
        let r = c
            .response(mn(), &Promise::default(), datetime!(2026-11-26 10:00 UTC))
            .unwrap();
        assert_eq!(r.owed, Owed::Step(Step::TEST_ACCESS));
        assert!((r.used - 2.0).abs() < 1e-9, "{r:?}");
    }

    #[test]
    fn a_case_kept_from_before_clocks_counts_from_its_last_change() {
        let monday = datetime!(2026-11-23 10:00 UTC);
        let mut c = complete_at(monday);
        c.clocks.clear();
        let json = serde_json::to_string(&c)
            .unwrap()
            .replace(",\"clocks\":[]", "");
        assert!(!json.contains("clocks"));
        let old: Case = serde_json::from_str(&json).unwrap();
        let r = old
            .response(mn(), &Promise::default(), datetime!(2026-11-24 10:00 UTC))
            .unwrap();
        assert!((r.used - 1.0).abs() < 1e-9);
    }
}

mod environments {
    use super::super::certificates::{CaseCertificate, Environment};
    use super::*;

    fn cert(serial: &str, environment: Option<Environment>) -> CaseCertificate {
        CaseCertificate {
            serial: serial.into(),
            sha1: Some(format!("SHA1-{serial}")),
            environment,
            at: at(1),
        }
    }

    #[test]
    fn each_environment_keeps_its_own_certificate_and_one_for_both_is_refused() {
        let c = Case::open("ENV".into(), "ion@x.md", Language::Ro, at(0));
        // A certificate for nothing in particular: AGE judges, nothing is required.
        let c = apply(mn(), &c, Event::Certificates(&[cert("AA", None)]), at(1)).0;
        assert_eq!(c.certificate_missing_for(Step::PRODUCTION), None);
        // Then the applicant says it is the test one, and sends another for production.
        let c = apply(
            mn(),
            &c,
            Event::Certificates(&[cert("AA", Some(Environment::Test))]),
            at(2),
        )
        .0;
        assert_eq!(c.certificates.len(), 1);
        assert_eq!(c.certificate_for(Environment::Test).unwrap().serial, "AA");
        assert_eq!(
            c.certificate_missing_for(Step::PRODUCTION),
            Some(Environment::Production)
        );
        assert_eq!(c.certificate_missing_for(Step::TEST_ACCESS), None);
        // The same certificate for production: refused, with the reason.
        let c = apply(
            mn(),
            &c,
            Event::Certificates(&[cert("AA", Some(Environment::Production))]),
            at(3),
        )
        .0;
        assert!(c.certificate_for(Environment::Production).is_none());
        let last = &c.timeline.last().unwrap().what;
        assert!(
            last.contains("refused for production") && last.contains("their own certificate"),
            "{last}"
        );
        let c = apply(
            mn(),
            &c,
            Event::Certificates(&[cert("BB", Some(Environment::Production))]),
            at(4),
        )
        .0;
        assert_eq!(
            c.certificate_for(Environment::Production).unwrap().serial,
            "BB"
        );
        assert_eq!(c.certificate_missing_for(Step::PRODUCTION), None);
    }
}

mod merging {
    use super::super::merge::{merge, split};
    use super::*;

    #[test]
    fn a_merge_moves_what_the_first_case_lacks_and_closes_the_second() {
        let mut a = Case::open("AAAAAA".into(), "ion@x.md", Language::Ro, at(0));
        a.message_ids.push("<a1@x.md>".into());
        let mut b = Case::open("BBBBBB".into(), "ana@x.md", Language::Ro, at(1));
        b.message_ids.push("<b1@x.md>".into());
        b.record_decision(
            mn(),
            Decision::NewCertificate,
            "<b1@x.md>",
            "serial BB",
            at(1),
        );
        let b = apply(mn(), &b, Event::Asked { question: "Când?" }, at(2)).0;
        let (a, b) = merge(mn(), &a, &b, "ana", Some("același sistem"), at(3));
        assert!(a.done[&Step::CERTIFICATE]
            .evidence
            .contains("from case #BBBBBB"));
        assert_eq!(a.message_ids, ["<a1@x.md>", "<b1@x.md>"]);
        assert!(a.question.is_some(), "the open question moved");
        assert_eq!(a.waiting_on(mn()), Some(Party::Age));
        assert!(a
            .timeline
            .last()
            .unwrap()
            .what
            .contains("case #BBBBBB merged into this one by ana: același sistem"));
        assert_eq!(b.merged(), Some("AAAAAA"));
        assert_eq!(b.waiting_on(mn()), None, "closed");
        assert!(b.question.is_none() && b.clocks.is_empty());
        assert!(b
            .timeline
            .last()
            .unwrap()
            .what
            .contains("merged into case #AAAAAA by ana"));
    }

    #[test]
    fn a_split_opens_an_empty_case_of_the_same_institution() {
        let mut a = Case::open("AAAAAA".into(), "ion@x.md", Language::Ru, at(0));
        a.identity = Some("x.md".into());
        a.members.push("it@x.md".into());
        a.record_decision(
            mn(),
            Decision::NewCertificate,
            "<a1@x.md>",
            "serial AA",
            at(1),
        );
        let (a, c) = split(
            mn(),
            &a,
            "CCCCCC".into(),
            Some("SI Cantine"),
            "ana",
            None,
            at(2),
        );
        assert_eq!(c.owner(), "x.md");
        assert_eq!(c.members, ["it@x.md"]);
        assert_eq!(c.language, Language::Ru);
        assert!(c.done.is_empty());
        assert!(c.is_for_system("si  cantine"));
        assert!(a
            .timeline
            .last()
            .unwrap()
            .what
            .contains("case #CCCCCC for SI Cantine split off by ana"));
        assert!(c
            .timeline
            .last()
            .unwrap()
            .what
            .contains("split off case #AAAAAA for SI Cantine"));
    }
}

mod procedures {
    //! The engine follows the case's procedure: MPass asks a certificate per
    //! environment, at steps 4 (TEST) and 8 (PROD).
    use super::*;
    use crate::case::certificates::{CaseCertificate, Environment};

    fn mpass() -> &'static crate::procedure::Procedure {
        crate::procedure::Catalogue::built_in()
            .get("mpass")
            .unwrap()
    }

    fn certificate(serial: &str, environment: Option<Environment>) -> CaseCertificate {
        CaseCertificate {
            serial: serial.into(),
            sha1: None,
            environment,
            at: at(0),
        }
    }

    fn mail<'a>(id: &'a str, certificates: &'a [CaseCertificate]) -> Event<'a> {
        Event::Mail(MailEvent {
            decision: Decision::NewCertificate,
            message_id: id,
            evidence: "certificate",
            sender: "",
            doubt: None,
            certificates,
        })
    }

    #[test]
    fn mpass_takes_the_test_certificate_then_the_production_one() {
        let mut c = Case::open("MP0001".into(), "ion@x.md", Language::Ro, at(0));
        c.service = "mpass".into();
        let test = [certificate("0A", Some(Environment::Test))];
        let (c, _) = apply(mpass(), &c, mail("<t@x>", &test), at(1));
        let test_step = Step::named("certificate_test");
        let prod_step = Step::named("certificate_production");
        assert!(c.done.contains_key(&test_step));
        assert!(!c.done.contains_key(&prod_step));
        assert!(!c.certificates_done(mpass()), "production is still to come");
        // A certificate for no stated environment takes the first step still open.
        let unsaid = [certificate("0B", None)];
        let (c, _) = apply(mpass(), &c, mail("<p@x>", &unsaid), at(2));
        assert!(c.done.contains_key(&prod_step));
        assert!(c.certificates_done(mpass()));
        assert_eq!(mpass().number(prod_step), 8);
    }

    #[test]
    fn the_agency_steps_wait_for_their_own_prerequisites() {
        let mut c = Case::open("MP0002".into(), "ion@x.md", Language::Ro, at(0));
        c.service = "mpass".into();
        assert_eq!(c.next_step(mpass()), Some(Step::FORM));
        assert_eq!(
            c.missing_before(mpass(), Step::TEST_ACCESS),
            [
                Step::FORM,
                Step::CONTRACT,
                Step::INTEGRATION_DATA,
                Step::named("certificate_test")
            ]
        );
        // Activation completes the case with the notice, as in MNotify.
        let (done, actions) = apply(
            mpass(),
            &c,
            Event::StepDone {
                step: Step::PRODUCTION,
                by: "ana",
                note: None,
            },
            at(3),
        );
        assert_eq!(actions, [Action::TellCompleted]);
        assert!(done.completed());
    }

    #[test]
    fn a_case_stored_before_services_is_mnotify_s() {
        let c = Case::open("OLD001".into(), "ion@x.md", Language::Ro, at(0));
        let mut json: serde_json::Value = serde_json::to_value(&c).unwrap();
        json.as_object_mut().unwrap().remove("service");
        let read: Case = serde_json::from_value(json).unwrap();
        assert_eq!(read.service, "mnotify");
    }
}

/// The same line several times in a row reads once, with its count.
#[test]
fn a_timeline_says_a_run_of_the_same_line_once() {
    let now = time::macros::datetime!(2026-11-24 12:00 UTC);
    let mut c = Case::open("RUN001".into(), "ion@x.md", Language::Ro, now);
    c.timeline.clear();
    for _ in 0..5 {
        c.log(now, crate::remark::Remark::NoServiceNamed);
    }
    c.log(now, crate::remark::Remark::NoAddress);
    c.log(now, crate::remark::Remark::NoServiceNamed);
    let said = c.timeline_said(Language::En);
    let lines: Vec<String> = said.iter().map(Said::line).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].ends_with("(×5)"), "{lines:?}");
    assert!(
        !lines[1].contains('×') && !lines[2].contains('×'),
        "{lines:?}"
    );
}
