use super::*;
use crate::case::Step;
use crate::case::{Case, Event};

/// What requests need of the config: the test settings, the digest given, backups in
/// the temporary directory.
fn desk<'a>(settings: &Settings<'a>, digest: Option<&'a DigestConfig>) -> Desk<'a> {
    Desk {
        settings: settings.clone(),
        digest,
        backups: std::path::Path::new("/nonexistent/backups"),
        language: Language::En,
        can_send: settings.mode != ReplyMode::Off,
    }
}
use crate::config::ReplyMode;
use crate::intake::Language;
use crate::reply::Templates;
use time::macros::datetime;

use crate::procedure::for_tests::mn;

fn settings(templates: &Templates, mode: ReplyMode) -> Settings<'_> {
    let policy = Box::leak(Box::new(crate::trust::Policy {
        authserv_ids: Vec::new(),
        exchange_tenant: None,
        senders: crate::trust::SenderRule::Off,
    }));
    Settings::for_tests(templates, mode, policy)
}

#[test]
fn advancing_a_step_queues_one_threaded_notice_in_the_case_language() {
    let now = datetime!(2026-11-24 12:00 UTC);
    let mut case = Case::open("ABC123".into(), "ion@x.md", Language::Ru, now);
    case.message_ids.push("first@x.md".into());
    let templates = Templates::embedded();
    let request = Request::new(
        "abc123",
        "ana",
        StaffAction::Case(CaseAction::Advance {
            step: Step::FORM,
            note: Some("form received by post".into()),
            force: false,
        }),
        now,
    )
    .unwrap();
    assert_eq!(request.case, "ABC123");
    let plan = plan_of(&case, &request, &templates);
    assert_eq!(
        plan.case.done[&Step::FORM].evidence,
        "form received by post"
    );
    let entry = plan.outbox.expect("a notice");
    assert_eq!(entry.to, "ion@x.md");
    let raw = entry.raw.clone();
    let facts = crate::intake::read(&raw, &[]);
    assert_eq!(facts.in_reply_to, vec!["first@x.md".to_string()]);
    assert_eq!(facts.case_token.as_deref(), Some("ABC123"));
    assert_eq!(plan.thread_ids.len(), 1);
    assert!(plan
        .case
        .message_ids
        .contains(&plan.thread_ids[0].bare().to_string()));

    let note = Request::new(
        "ABC123",
        "ana",
        StaffAction::Case(CaseAction::Note { text: "x".into() }),
        now,
    )
    .unwrap();
    let plan = plan_of(&case, &note, &templates);
    assert!(plan.outbox.is_none(), "a note tells the applicant nothing");
    let off = plan_with_mode(&case, &request, &templates, ReplyMode::Off);
    assert!(off.outbox.is_none() && off.case.done.contains_key(&Step::FORM));
}

fn plan_of(case: &Case, r: &Request, t: &Templates) -> StaffPlan {
    plan_with_mode(case, r, t, ReplyMode::Send)
}

fn plan_with_mode(case: &Case, r: &Request, t: &Templates, mode: ReplyMode) -> StaffPlan {
    let StaffAction::Case(action) = &r.action else {
        panic!("a case action: {:?}", r.action);
    };
    plan(
        case,
        r,
        action,
        &settings(t, mode),
        datetime!(2026-11-24 12:00 UTC),
    )
    .unwrap()
}

/// The daemon may die after the digest is queued and before the request file is
/// removed: the request comes round again and must not queue a second digest.
#[test]
fn a_step_before_its_prerequisites_is_refused_unless_forced() {
    let now = datetime!(2026-11-24 12:00 UTC);
    let mut case = Case::open("ABC123".into(), "ion@x.md", Language::Ro, now);
    let advance = |step, force| CaseAction::Advance {
        step,
        note: None,
        force,
    };
    let why =
        refusal(&case, mn(), &advance(Step::PRODUCTION, false), Language::En).expect("refused");
    assert!(why.contains("operational_tests"), "{why}");
    // Said in the staff language, the codes staff type back as they are.
    let ro = refusal(&case, mn(), &advance(Step::PRODUCTION, false), Language::Ro).unwrap();
    assert!(
        ro.contains("are nevoie întâi de") && ro.contains("operational_tests"),
        "{ro}"
    );
    let ru = refusal(&case, mn(), &advance(Step::PRODUCTION, false), Language::Ru).unwrap();
    assert!(
        ru.contains("сначала нужно выполнить") && ru.contains("--force"),
        "{ru}"
    );
    assert!(refusal(&case, mn(), &advance(Step::PRODUCTION, true), Language::En).is_none());
    assert!(refusal(&case, mn(), &advance(Step::CONTRACT, false), Language::En).is_none());
    for step in [Step::FORM, Step::CONTRACT, Step::CERTIFICATE] {
        case = crate::case::apply(
            mn(),
            &case,
            Event::StepDone {
                step,
                by: "ana",
                note: None,
            },
            now,
        )
        .0;
    }
    let why = refusal(
        &case,
        mn(),
        &advance(Step::TEST_ACCESS, false),
        Language::En,
    )
    .unwrap();
    assert!(why.contains("needs integration_data done first"), "{why}");
    let bad = CaseAction::Allow {
        member: "not an address".into(),
    };
    assert!(refusal(&case, mn(), &bad, Language::En).is_some());
    let good = CaseAction::Allow {
        member: "it@primaria.md".into(),
    };
    assert!(refusal(&case, mn(), &good, Language::En).is_none());
}

#[test]
fn production_needs_the_production_certificate_once_environments_are_named() {
    use crate::case::certificates::{CaseCertificate, Environment};
    let now = datetime!(2026-11-24 12:00 UTC);
    let case = Case::open("ENV123".into(), "ion@x.md", Language::Ro, now);
    let test_only = [CaseCertificate {
        serial: "AA".into(),
        sha1: None,
        environment: Some(Environment::Test),
        at: now,
    }];
    let case = crate::case::apply(mn(), &case, Event::Certificates(&test_only), now).0;
    let advance = |step, force| CaseAction::Advance {
        step,
        note: None,
        force,
    };
    let why =
        refusal(&case, mn(), &advance(Step::PRODUCTION, false), Language::En).expect("refused");
    assert!(
        why.contains("certificate for production") && why.contains("their own"),
        "{why}"
    );
    assert!(
        refusal(&case, mn(), &advance(Step::PRODUCTION, true), Language::En).is_none(),
        "--force"
    );
    // Test access has its certificate: only the missing steps are said.
    let why = refusal(
        &case,
        mn(),
        &advance(Step::TEST_ACCESS, false),
        Language::En,
    )
    .unwrap();
    assert!(
        why.contains("done first") && !why.contains("certificate for"),
        "{why}"
    );
}

/// A command that asks again (its answer was lost with a daemon restart) gets the
/// answer and no second digest.
#[test]
fn a_request_asked_twice_is_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let now = datetime!(2026-11-24 12:00 UTC);
    let templates = Templates::embedded();
    let settings = settings(&templates, ReplyMode::Send);
    let digest = digest_config(Vec::new());
    let r = Request::new(
        "",
        "ana",
        StaffAction::Store(StoreRequest::Digest {
            send: true,
            html: false,
        }),
        now,
    )
    .unwrap();
    let first = execute(&store, &r, &desk(&settings, Some(&digest)), now).unwrap();
    assert_eq!(first, Answer::Done(Done::Said("queued".to_string())));
    let again = execute(&store, &r, &desk(&settings, Some(&digest)), now).unwrap();
    assert_eq!(again, Answer::Done(Done::Said("queued".to_string())));
    assert_eq!(store.outbox().unwrap().len(), 1, "one digest queued");

    // A case change likewise, and a refusal names the reason.
    let mut case = Case::open("ABC123".into(), "ion@x.md", Language::Ro, now);
    case.message_ids.push("first@x.md".into());
    store.save_case(&case).unwrap();
    let note = Request::new(
        "ABC123",
        "ana",
        StaffAction::Case(CaseAction::Note { text: "n".into() }),
        now,
    )
    .unwrap();
    assert!(matches!(
        execute(&store, &note, &desk(&settings, None), now).unwrap(),
        Answer::Done(Done::Applied {
            notice_queued: false,
            ..
        })
    ));
    let Answer::Done(Done::Said(again)) =
        execute(&store, &note, &desk(&settings, None), now).unwrap()
    else {
        panic!("the note is answered again");
    };
    assert!(again.contains("already applied"), "{again}");
    let notes = store.case("ABC123").unwrap().unwrap().timeline.len();
    assert_eq!(notes, 2, "opened + one note");
    let early = Request::new(
        "ABC123",
        "ana",
        StaffAction::Case(CaseAction::Advance {
            step: Step::PRODUCTION,
            note: None,
            force: false,
        }),
        now,
    )
    .unwrap();
    let refused = execute(&store, &early, &desk(&settings, None), now).unwrap();
    assert!(
        matches!(&refused, Answer::Refused(why) if why.contains("operational_tests")),
        "{refused:?}"
    );
    let unknown = Request::new(
        "NOPE12",
        "ana",
        StaffAction::Case(CaseAction::Note { text: "n".into() }),
        now,
    )
    .unwrap();
    assert!(matches!(
        execute(&store, &unknown, &desk(&settings, None), now).unwrap(),
        Answer::Refused(_)
    ));
}

/// `[digest.services]`: a service's staff get a digest of its cases alone, beside the
/// whole one.
#[test]
fn a_service_s_staff_get_its_cases_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let now = datetime!(2026-11-24 12:00 UTC);
    let templates = Templates::embedded();
    let settings = settings(&templates, ReplyMode::Send);
    let earlier = now - time::Duration::hours(1);
    let mut mpass = Case::open("MPA001".into(), "ion@x.md", Language::Ro, earlier);
    mpass.service = "mpass".into();
    store.save_case(&mpass).unwrap();
    store
        .save_case(&Case::open(
            "MNO001".into(),
            "ana@y.md",
            Language::Ro,
            earlier,
        ))
        .unwrap();
    let digest = digest_config(vec![("mpass".into(), vec!["mpass@egov.md".into()])]);
    crate::routine::queue_digest(&store, &digest, &settings, now, None).unwrap();
    let outbox = store.outbox().unwrap();
    assert_eq!(outbox.len(), 2, "the whole digest and MPass's");
    let of_mpass = outbox
        .iter()
        .find(|e| e.to == "mpass@egov.md")
        .expect("MPass's");
    let read = |raw: &[u8]| {
        let m = mail_parser::MessageParser::default().parse(raw).unwrap();
        (
            m.subject().unwrap_or_default().to_string(),
            m.body_text(0).unwrap_or_default().into_owned(),
        )
    };
    let (subject, text) = read(&of_mpass.raw);
    assert!(subject.starts_with("Rezumat: MPass, "), "{subject}");
    assert!(subject.contains("cazuri noi: 1"), "{subject}");
    assert!(
        text.contains("MPA001") && !text.contains("MNO001"),
        "{text}"
    );
    let whole = outbox.iter().find(|e| e.to == "staff@egov.md").unwrap();
    let (subject, text) = read(&whole.raw);
    assert!(subject.contains("cazuri noi: 2"), "{subject}");
    assert!(text.contains("MPA001") && text.contains("MNO001"), "{text}");
}

/// The digest settings of these tests: staff@egov.md, and `services`' own staff.
fn digest_config(services: Vec<(String, Vec<String>)>) -> DigestConfig {
    DigestConfig {
        to: vec!["staff@egov.md".into()],
        at: (8, 0),
        time_zone: crate::calendar::chisinau(),
        stalled_days: 7,
        expiring_days: 60,
        remind_days: 7,
        agency_short: "AGE".into(),
        language: crate::intake::Language::Ro,
        response: Default::default(),
        services,
        credential: None,
    }
}

/// A staff answer: a person's mail (no Auto-Submitted) to the applicant alone, signed
/// by the agency, threaded to their last mail with the case tag; the question is
/// answered and the clock stops; the conversation shows it under the person; sent
/// twice under one request id, it is queued once; empty or with replies off, refused.
#[test]
fn a_staff_answer_is_a_threaded_person_s_mail_queued_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let now = datetime!(2026-11-24 12:00 UTC);
    let templates = Templates::embedded();
    let settings = settings(&templates, ReplyMode::Send);
    let mut case = Case::open("ABC123".into(), "ion@x.md", Language::Ro, now);
    case.message_ids.push("q1@x.md".into());
    case.subject = Some("Conectare MNotify".into());
    let (case, _) = crate::case::apply(
        mn(),
        &case,
        Event::Asked {
            question: "Când semnăm contractul?",
        },
        now,
    );
    assert!(case.question.is_some() && !case.clocks.is_empty());
    store.save_case(&case).unwrap();
    let answer = |text: &str| {
        Request::new(
            "ABC123",
            "ana (uid 1001)",
            StaffAction::Case(CaseAction::Reply {
                text: text.into(),
                cc: Vec::new(),
            }),
            now,
        )
        .unwrap()
    };
    let request = answer("Contractul se semnează mâine.\n");
    let first = execute(&store, &request, &desk(&settings, None), now).unwrap();
    // The answer is the mail itself: no notice besides it.
    assert!(
        matches!(
            first,
            Answer::Done(Done::Applied {
                notice_queued: false,
                ..
            })
        ),
        "{first:?}"
    );
    let again = execute(&store, &request, &desk(&settings, None), now).unwrap();
    assert!(matches!(again, Answer::Done(Done::Said(ref t)) if t.contains("already applied")));
    let outbox = store.outbox().unwrap();
    assert_eq!(outbox.len(), 1, "queued once");
    let entry = &outbox[0];
    assert_eq!(entry.to, "ion@x.md");
    assert_eq!(entry.by.as_deref(), Some("ana (uid 1001)"));
    let parsed = mail_parser::MessageParser::default()
        .parse(&entry.raw)
        .unwrap();
    assert!(
        parsed.header_raw("Auto-Submitted").is_none(),
        "a person's mail"
    );
    assert_eq!(parsed.in_reply_to().as_text(), Some("q1@x.md"));
    assert!(parsed.subject().unwrap().contains("[MNotify #ABC123]"));
    let text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        text.starts_with("Contractul se semnează mâine.\n\nCu stimă,"),
        "{text}"
    );
    assert!(!text.contains("automat"), "{text}");
    let after = store.case("ABC123").unwrap().unwrap();
    assert!(after.question.is_none(), "the question is answered");
    assert!(after.clocks.is_empty(), "the clock stopped");
    assert!(after
        .message_ids
        .contains(&entry.message_id.bare().to_string()));
    let letters = store.letters("ABC123").unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(
        letters[0].writer,
        crate::conversation::Writer::Staff {
            name: "ana (uid 1001)".into()
        }
    );
    assert!(letters[0]
        .text
        .starts_with("Contractul se semnează mâine.\n\nCu stimă,"));

    let empty = execute(&store, &answer("  \n"), &desk(&settings, None), now).unwrap();
    assert!(
        matches!(empty, Answer::Refused(ref t) if t.contains("empty")),
        "{empty:?}"
    );
    let long = "a".repeat(MAX_ANSWER_BYTES + 1);
    let long = execute(&store, &answer(&long), &desk(&settings, None), now).unwrap();
    assert!(
        matches!(long, Answer::Refused(ref t) if t.contains("over the limit")),
        "{long:?}"
    );
    let off = settings_off(&templates);
    let refused = execute(&store, &answer("x"), &desk(&off, None), now).unwrap();
    assert!(
        matches!(refused, Answer::Refused(ref t) if t.contains("nothing can be sent")),
        "{refused:?}"
    );
    assert_eq!(store.outbox().unwrap().len(), 1, "nothing more queued");
    // A copy goes only to an address staff allowed on the case.
    let copied = |to: &str| {
        Request::new(
            "ABC123",
            "ana (uid 1001)",
            StaffAction::Case(CaseAction::Reply {
                text: "Copie pentru colegul IT.".into(),
                cc: vec![to.into()],
            }),
            now,
        )
        .unwrap()
    };
    let stranger = execute(&store, &copied("x@evil.md"), &desk(&settings, None), now).unwrap();
    assert!(
        matches!(stranger, Answer::Refused(ref t) if t.contains("cases allow")),
        "{stranger:?}"
    );
    let mut allowed = store.case("ABC123").unwrap().unwrap();
    allowed.members.push("it@x.md".into());
    store.save_case(&allowed).unwrap();
    let member = execute(&store, &copied("IT@x.md"), &desk(&settings, None), now).unwrap();
    assert!(matches!(member, Answer::Done(_)), "{member:?}");
    let outbox = store.outbox().unwrap();
    let copy = outbox
        .iter()
        .find(|e| e.to.contains("it@x.md"))
        .expect("the answer with its copy");
    assert_eq!(copy.to, "ion@x.md, it@x.md");
    let parsed = mail_parser::MessageParser::default()
        .parse(&copy.raw)
        .unwrap();
    let cc = parsed
        .cc()
        .and_then(|c| c.first())
        .and_then(|a| a.address());
    assert_eq!(cc, Some("it@x.md"));
    // In draft mode a person's answer is sent all the same: they wrote and saw it.
    let drafted = plan_with_mode(&case, &answer("x"), &templates, ReplyMode::Draft);
    assert_eq!(
        drafted.outbox.map(|e| e.kind),
        Some(crate::record::OutboxKind::Send)
    );
}

fn settings_off(templates: &Templates) -> Settings<'_> {
    settings(templates, ReplyMode::Off)
}

/// Whether the applicant is sent a notice is part of the answer, in any staff
/// language: a command tells its user so without reading the words (Romanian, the
/// default, was never recognised when it did).
#[test]
fn the_answer_says_whether_a_notice_was_queued() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let now = datetime!(2026-11-24 12:00 UTC);
    let templates = Templates::embedded();
    for (mode, queued) in [(ReplyMode::Send, true), (ReplyMode::Off, false)] {
        let settings = settings(&templates, mode);
        let token = if queued { "ABC123" } else { "ABC124" };
        let mut case = Case::open(token.into(), "ion@x.md", Language::Ro, now);
        case.message_ids.push(format!("{token}@x.md"));
        store.save_case(&case).unwrap();
        let advance = Request::new(
            token,
            "ana",
            StaffAction::Case(CaseAction::Advance {
                step: Step::FORM,
                note: None,
                force: false,
            }),
            now,
        )
        .unwrap();
        let mut ro = desk(&settings, None);
        ro.language = Language::Ro;
        let answer = execute(&store, &advance, &ro, now).unwrap();
        let Answer::Done(done) = answer else {
            panic!("{answer:?}");
        };
        assert_eq!(done.notice_queued(), queued, "{mode:?}: {done:?}");
        assert_eq!(store.outbox().unwrap().len(), 1, "{mode:?}");
    }
}
