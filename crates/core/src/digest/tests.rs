use super::*;
use crate::intake::Language;
use crate::registry::KnownCertificate;
use time::macros::datetime;

use crate::procedure::for_tests::mn;

const NOW: OffsetDateTime = datetime!(2026-11-25 06:30 UTC);

/// A week to stall, sixty days of expiry warning, mail for people in `folder`.
fn settings(folder: Option<&str>) -> DigestSettings {
    DigestSettings {
        stalled_days: 7,
        expiring_days: 60,
        needs_human_folder: folder.map(str::to_string),
        agency: "AGE".into(),
        language: crate::intake::Language::Ro,
        response: crate::case::clock::Promise::default(),
        procedures: crate::procedure::Catalogue::built_in().clone(),
        service: None,
    }
}

fn record(outcome: &str, at: OffsetDateTime, case: &str) -> SeenRecord {
    SeenRecord {
        identity: format!("{outcome}@x"),
        uid_validity: 1,
        uid: 1,
        outcome: outcome.parse().expect("an outcome code"),
        case: Some(case.into()),
        destination: Some("Processed".into()),
        reply: None,
        note: None,
        at,
        from: Some("ion@primaria.md".into()),
        subject: Some("Certificat <MNotify>".into()),
        problems: Vec::new(),
        accepted: Vec::new(),
        sender: None,
        held: false,
        flagged: false,
        warnings: Vec::new(),
        remarks: Vec::new(),
        warned: Vec::new(),
        digest: None,
    }
}

fn accepted(serial: &str, der: Option<&[u8]>) -> AcceptedCertificate {
    AcceptedCertificate {
        serial: serial.into(),
        sha1: Some("AB".repeat(20)),
        sha256: None,
        subject: Some("CN=SI Primaria".into()),
        issuer: "CN=STISC".into(),
        not_after: Some(datetime!(2028-01-01 0:00 UTC)),
        services: Vec::new(),
        institution: None,
        der: der.map(<[u8]>::to_vec),
        environment: None,
    }
}

/// Long on purpose: one day of records and cases, and every section checked against
/// it (a fixture split up would hide which record feeds which section).
#[test]
fn sections_hold_what_the_window_and_the_cases_say() {
    let since = NOW - Duration::days(1);
    let mut new = record("new_certificate", NOW - Duration::hours(3), "AAA111");
    new.accepted = vec![accepted("5A17", Some(b"der-bytes"))];
    let mut rejected = record("rejected", NOW - Duration::hours(2), "BBB222");
    rejected.problems = vec![Problem::Expired];
    let old = record("rejected", NOW - Duration::days(3), "CCC333");
    let mut unrelated = record("not_applicable", NOW - Duration::hours(1), "");
    unrelated.case = None;
    unrelated.destination = Some("Needs-Human".into());
    // The server could not hand it over: no sender, no subject, left in the inbox.
    let mut unreadable = record("unreadable", NOW - Duration::hours(1), "");
    unreadable.case = None;
    unreadable.destination = None;
    unreadable.from = None;

    let fresh = Case::open(
        "AAA111".into(),
        "ion@primaria.md",
        Language::Ro,
        NOW - Duration::hours(3),
    );
    let mut at_age = Case::open(
        "DDD444".into(),
        "a@b.md",
        Language::Ro,
        NOW - Duration::days(20),
    );
    for step in [
        Step::FORM,
        Step::CONTRACT,
        Step::CERTIFICATE,
        Step::INTEGRATION_DATA,
    ] {
        at_age = crate::case::apply(
            mn(),
            &at_age,
            crate::case::Event::StepDone {
                step,
                by: "x",
                note: None,
            },
            NOW - Duration::days(9),
        )
        .0;
    }
    let stalled = Case::open(
        "EEE555".into(),
        "c@d.md",
        Language::Ru,
        NOW - Duration::days(10),
    );

    let soon = KnownCertificate {
        serial: "99".into(),
        issuer: "CN=STISC".into(),
        sha1: None,
        sha256: None,
        subject: Some("CN=SI ASP".into()),
        not_after: Some(NOW + Duration::days(30)),
        status: Status::Active,
        services: ["MPass".to_string()].into_iter().collect(),
        institution: Some("ASP".into()),
        environment: None,
        system: None,
        domain: None,
    };
    let mut later = soon.clone();
    later.serial = "98".into();
    later.not_after = Some(NOW + Duration::days(90));
    let mut revoked = soon.clone();
    revoked.serial = "97".into();
    revoked.status = Status::Revoked;
    let registry = Registry::from_entries([soon, later, revoked]);

    let d = build(
        &[new, rejected, old, unrelated, unreadable],
        &[fresh, at_age, stalled],
        &registry,
        since,
        NOW,
        settings(Some("Needs-Human")),
    )
    .with_junk_left(3);
    assert_eq!(d.new_cases.len(), 1);
    assert_eq!(d.accepted.len(), 1);
    assert_eq!(
        d.rejected.len(),
        1,
        "the old rejection is outside the window"
    );
    assert_eq!(
        d.waiting_on_age
            .iter()
            .map(|c| c.token.as_str())
            .collect::<Vec<_>>(),
        ["DDD444"]
    );
    assert_eq!(
        d.stalled
            .iter()
            .map(|c| c.token.as_str())
            .collect::<Vec<_>>(),
        ["EEE555"]
    );
    assert_eq!(d.expiring.len(), 1);
    assert_eq!(d.unhandled.len(), 2);
    // Nine days (seven working days) waiting on AGE: at the promise's edge.
    assert_eq!(
        d.late.iter().map(|c| c.token.as_str()).collect::<Vec<_>>(),
        ["DDD444"]
    );

    let text = render_text(&d);
    assert!(text.contains("serverul IMAP nu l-a putut da"), "{text}");
    assert!(text.contains("serie 5A17"), "{text}");
    assert!(text.contains("expirat"), "{text}");
    let html = render_html(&d);
    assert!(
        html.contains("Certificat &lt;MNotify&gt;") && !html.contains("<MNotify>"),
        "escaped"
    );
    assert!(html.contains("#DDD444"));
    // One definition, two renderings: every section with its count in both parts.
    let all = sections::sections(&d);
    assert_eq!(all.len(), 14);
    assert!(
        text.contains("Dosarul de mesaje nedorite (Junk) (1)"),
        "{text}"
    );
    for s in &all {
        let count = format!("({})", s.rows.len());
        assert!(
            text.contains(&format!("{} {count}", s.title)),
            "{}",
            s.title
        );
        assert!(
            html.contains(&format!(
                "{} <span style=\"color:#6b7785;font-weight:normal\">{count}</span>",
                s.title
            )),
            "{}",
            s.title
        );
        for row in &s.rows {
            assert_eq!(row.len(), s.columns.len(), "{}", s.title);
        }
    }

    let (id, raw) = compose(&d, "servicii@egov.md", "AGE", &["staff@egov.md".into()]);
    assert!(id.to_string().starts_with("<mnotify.digest."));
    let facts = crate::intake::read(&raw, &[]);
    assert!(facts.automatic.is_some(), "the digest is never answered");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("filename=\"5A17.cer\""));
}

#[test]
fn scheduled_at_local_time_in_chisinau_across_daylight_saving() {
    let tz = jiff::tz::TimeZone::get("Europe/Chisinau").unwrap();
    // Winter: UTC+2, 08:30 local = 06:30 UTC.
    assert_eq!(
        last_scheduled(datetime!(2026-11-25 06:30 UTC), (8, 30), &tz),
        datetime!(2026-11-25 06:30 UTC)
    );
    assert_eq!(
        last_scheduled(datetime!(2026-11-25 06:29 UTC), (8, 30), &tz),
        datetime!(2026-11-24 06:30 UTC)
    );
    // Summer: UTC+3, 08:30 local = 05:30 UTC.
    assert_eq!(
        last_scheduled(datetime!(2026-07-01 12:00 UTC), (8, 30), &tz),
        datetime!(2026-07-01 05:30 UTC)
    );
    assert!(due(
        datetime!(2026-11-25 06:31 UTC),
        datetime!(2026-11-24 06:30 UTC),
        (8, 30),
        &tz
    ));
    assert!(!due(
        datetime!(2026-11-25 06:31 UTC),
        datetime!(2026-11-25 06:30 UTC),
        (8, 30),
        &tz
    ));
    assert!(!due(
        datetime!(2026-11-25 06:00 UTC),
        datetime!(2026-11-24 06:30 UTC),
        (8, 30),
        &tz
    ));
}

#[test]
fn replies_that_failed_for_good_in_the_window_are_listed() {
    let entry = |state, created_at, to: &str| OutboxEntry {
        message_id: crate::record::MessageId::parse(to).unwrap(),
        kind: crate::record::OutboxKind::Send,
        from: "servicii@egov.md".into(),
        to: to.into(),
        case: Some("AAA111".into()),
        raw: Vec::new(),
        attempts: 10,
        next_attempt: 0,
        state,
        last_error: Some("550 mailbox unavailable".into()),
        created_at,
        copied: false,
        failed_at: None,
        copy_refusals: 0,
        by: None,
    };
    let since = NOW - Duration::days(1);
    let d = build(
        &[],
        &[],
        &Registry::default(),
        since,
        NOW,
        settings(Some("Needs-Human")),
    )
    .with_failed_replies(&[
        entry(
            OutboxState::Failed,
            NOW - Duration::hours(30),
            "recent@x.md",
        ),
        entry(OutboxState::Failed, NOW - Duration::days(5), "old@x.md"),
        entry(OutboxState::Sent, NOW - Duration::hours(2), "fine@x.md"),
        // Sent days ago, bounced today: listed.
        OutboxEntry {
            failed_at: Some(NOW - Duration::hours(2)),
            ..entry(OutboxState::Failed, NOW - Duration::days(4), "bounced@x.md")
        },
    ]);
    let listed: Vec<&str> = d.failed_replies.iter().map(|r| r.to.as_str()).collect();
    assert_eq!(listed, ["recent@x.md", "bounced@x.md"]);
    assert!(!d.is_empty());
    assert!(render_text(&d).contains("550 mailbox unavailable"));
}

/// Mail left for people is found by the folder the config names, whatever its
/// outcome (an unreadable mail about MNotify is `need_certificate`), and the heading
/// tells staff where to look.
#[test]
fn mail_left_for_people_follows_the_configured_folder() {
    let mut unreadable = record("need_certificate", NOW - Duration::hours(1), "AAA111");
    unreadable.destination = Some("Pentru-colegi".into());
    let processed = record("need_certificate", NOW - Duration::hours(1), "BBB222");
    let records = [unreadable, processed];
    let digest_for = |folder| {
        let since = NOW - Duration::days(1);
        build(
            &records,
            &[],
            &Registry::default(),
            since,
            NOW,
            settings(folder),
        )
    };
    let d = digest_for(Some("Pentru-colegi"));
    assert_eq!(d.unhandled.len(), 1);
    assert!(render_text(&d).contains("(dosarul Pentru-colegi)"));
    assert!(render_html(&d).contains("(dosarul Pentru-colegi)"));
    let d = digest_for(None);
    assert!(d.unhandled.is_empty());
    assert!(render_text(&d).contains("(rămase în Inbox)"));
}

#[test]
fn an_empty_day_is_empty() {
    let d = build(
        &[],
        &[],
        &Registry::default(),
        NOW - Duration::days(1),
        NOW,
        settings(Some("Needs-Human")),
    );
    assert!(d.is_empty());
    assert!(render_text(&d).contains("Cazuri noi (0)"));
}

#[test]
fn cases_past_the_promised_time_lead_the_subject_and_their_section() {
    use crate::case::clock::Standing;
    let complete = crate::case::for_tests::complete_request;
    // NOW is Wednesday 25 Nov 2026: complete twelve days ago (overdue), six working
    // days ago (one left: at risk) and yesterday (on time).
    let cases = [
        complete("OLD111", NOW - Duration::days(12)),
        complete("RSK222", NOW - Duration::days(8)),
        complete("NEW333", NOW - Duration::days(1)),
    ];
    let d = build(
        &[],
        &cases,
        &Registry::default(),
        NOW - Duration::days(1),
        NOW,
        settings(None),
    );
    let late: Vec<(&str, Standing)> = d
        .late
        .iter()
        .map(|l| (l.token.as_str(), l.standing))
        .collect();
    assert_eq!(
        late,
        [("OLD111", Standing::Overdue), ("RSK222", Standing::AtRisk)]
    );
    assert!(
        subject(&d).ends_with("termen depășit: 1"),
        "{}",
        subject(&d)
    );
    let text = render_text(&d);
    assert!(
        text.contains("Termenul de 7 zile lucrătoare promis: depășit sau aproape (2)"),
        "{text}"
    );
    assert!(text.contains("DEPĂȘIT cu"), "{text}");
    assert!(text.contains("acces în testare"), "{text}");
}

#[test]
fn case_lines_say_the_decision_and_what_the_agency_owes_and_notes_are_in_the_staff_language() {
    let since = NOW - Duration::days(1);
    let mut asked = Case::open(
        "QQQ111".into(),
        "ion@primaria.md",
        Language::Ro,
        NOW - Duration::hours(5),
    );
    asked.last_decision = Some(Decision::Rejected);
    asked.question = Some(crate::case::Question::asked(
        "Cât durează?",
        NOW - Duration::hours(5),
    ));
    let mut held = record("need_certificate", NOW - Duration::hours(1), "");
    held.case = None;
    held.held = true;
    held.set_remarks(vec![crate::remark::Remark::SenderHeld {
        reason: "DMARC fail for x.md".into(),
    }]);
    let mut checked = record("new_certificate", NOW - Duration::hours(2), "QQQ111");
    checked.warned = vec![crate::remark::Remark::AlreadyInCase {
        serial: "0A".into(),
        case: "ZZZ999".into(),
        owner: "y.md".into(),
    }];
    checked.warnings = checked.warned.iter().map(ToString::to_string).collect();
    let build_in = |language| {
        let settings = DigestSettings {
            language,
            ..settings(Some("Needs-Human"))
        };
        build(
            &[held.clone(), checked.clone()],
            std::slice::from_ref(&asked),
            &Registry::default(),
            since,
            NOW,
            settings,
        )
    };
    let ro = render::render_text(&build_in(Language::Ro));
    assert!(
        ro.contains("respins") && ro.contains("răspuns la întrebare"),
        "{ro}"
    );
    assert!(
        !ro.contains("formularul de conectare"),
        "a case owed an answer names the answer: {ro}"
    );
    assert!(
        ro.contains("expeditor neautentificat: DMARC eșuat pentru x.md"),
        "{ro}"
    );
    assert!(
        ro.contains("certificatul 0A este deja în cazul #ZZZ999"),
        "{ro}"
    );
    assert!(
        !ro.contains("sender not authenticated") && !ro.contains("already in case"),
        "{ro}"
    );
    let en = render::render_text(&build_in(Language::En));
    assert!(
        en.contains("sender not authenticated: DMARC fail for x.md"),
        "{en}"
    );
    // The frame is in the staff language too: headings, columns, what is owed.
    for said in [
        "Platform services digest",
        "New cases (1)",
        "Waiting on AGE (1)",
        "an answer to a question",
        "rejected",
        "(folder Needs-Human)",
        "`mnotify-intake cases list` shows every case",
    ] {
        assert!(en.contains(said), "{said:?} in {en}");
    }
    let ru = render::render_text(&build_in(Language::Ru));
    for said in [
        "Сводка: сервисы платформы",
        "Новые дела (1)",
        "Ожидают AGE (1)",
        "ответ на вопрос",
        "отклонён",
    ] {
        assert!(ru.contains(said), "{said:?} in {ru}");
    }
    for other in [&en, &ru] {
        for romanian in [
            "Cazuri noi",
            "Așteaptă",
            "Rezumat",
            "răspuns la",
            "(dosarul",
            "Generat",
        ] {
            assert!(!other.contains(romanian), "{romanian:?} in {other}");
        }
    }
    let html = render::render_html(&build_in(Language::Ru));
    assert!(
        html.contains("<th style") && html.contains(">Дело</th>"),
        "{html}"
    );
    assert!(
        html.contains("С "),
        "the summary starts with a capital: {html}"
    );
    assert!(subject(&build_in(Language::En)).contains("digest"));
    assert!(subject(&build_in(Language::Ru)).contains("новых дел: 1"));
}

/// An accepted certificate's environment is said, or its absence, only for a service
/// that takes a certificate per environment (MPass); MNotify's has none to say.
#[test]
fn a_missing_environment_is_said_only_where_environments_are_apart() {
    let since = NOW - Duration::days(1);
    let mut mnotify = record("new_certificate", NOW - Duration::hours(3), "AAA111");
    mnotify.accepted = vec![accepted("5A17", None)];
    let mut mpass = record("new_certificate", NOW - Duration::hours(2), "EEE555");
    mpass.identity = "mpass@x".into();
    mpass.accepted = vec![accepted("6B28", None)];
    let opened = NOW - Duration::hours(3);
    let mnotify_case = Case::open("AAA111".into(), "ion@primaria.md", Language::Ro, opened);
    let mut mpass_case = Case::open("EEE555".into(), "ana@scoala.md", Language::Ro, opened);
    mpass_case.service = "mpass".into();
    assert!(settings(None)
        .procedures
        .procedure_of("mpass")
        .environments_apart());
    let d = build(
        &[mnotify, mpass],
        &[mnotify_case, mpass_case],
        &Registry::default(),
        since,
        NOW,
        settings(None),
    );
    let text = render::render_text(&d);
    let line = |serial: &str| {
        text.lines()
            .find(|l| l.contains(serial))
            .unwrap_or_default()
    };
    assert!(
        !line("5A17").is_empty() && !line("6B28").is_empty(),
        "{text}"
    );
    assert!(line("6B28").contains("mediul nespecificat"), "{text}");
    assert!(!line("5A17").contains("mediul"), "{text}");
}

/// The mailbox application's secret or certificate is said from a month before it
/// expires, and after: the day, and what to do, in the staff language.
#[test]
fn a_credential_near_or_past_its_expiry_is_said() {
    let empty = || {
        build(
            &[],
            &[],
            &Registry::default(),
            NOW - Duration::days(1),
            NOW,
            settings(Some("Needs-Human")),
        )
    };
    let far = Credential {
        expires: NOW + Duration::days(90),
        secret: true,
    };
    assert!(
        empty().with_credential(Some(far)).is_empty(),
        "not yet said"
    );
    let near = Credential {
        expires: NOW + Duration::days(12),
        secret: true,
    };
    let d = empty().with_credential(Some(near));
    assert!(!d.is_empty(), "a day with nothing else still goes out");
    let text = render_text(&d);
    assert!(
        text.contains("Accesul aplicației la cutia poștală (1)")
            && text.contains("2026-12-07")
            && text.contains("client_secret_expires"),
        "{text}"
    );
    let past = Credential {
        expires: NOW - Duration::days(1),
        secret: false,
    };
    let text = render_text(&empty().with_credential(Some(past)));
    assert!(
        text.contains("EXPIRAT") && text.contains("client_certificate"),
        "{text}"
    );
}
