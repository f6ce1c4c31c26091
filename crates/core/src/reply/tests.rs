use super::*;
use crate::decision::Decision;
use crate::intake::automatic::OWN_MARKER_HEADER;
use time::macros::datetime;

use crate::procedure::for_tests::{cat, mn};

#[test]
fn subjects_keep_one_re_and_one_token() {
    assert_eq!(
        reply_subject("Certificat", mn_tag("ABC123")),
        "Re: Certificat [MNotify #ABC123]"
    );
    assert_eq!(
        reply_subject("RE: Re: Certificat [MNotify #ABC123]", mn_tag("ABC123")),
        "Re: Certificat [MNotify #ABC123]"
    );
    assert_eq!(reply_subject("", mn_tag("ABC123")), "Re: [MNotify #ABC123]");
}

#[test]
fn every_language_renders_every_decision() {
    let rendered = Templates::embedded().render_all().expect("renders");
    assert_eq!(
        rendered.len(),
        3 * (crate::decision::Decision::ALL.len() + 6)
    );
    for (lang, kind, text) in rendered {
        assert!(text.contains("#ABC123"), "{lang:?} {kind}");
        assert!(text.contains("+373 (22) 820 026"), "{lang:?} {kind}");
    }
}

#[test]
fn staff_notices_name_the_step_done_and_the_next() {
    let templates = Templates::embedded();
    let now = datetime!(2026-11-24 12:00 UTC);
    let case = Case::open("ABC123".into(), "a@b.md", Language::En, now);
    let (case, actions) = crate::case::apply(
        mn(),
        &case,
        crate::case::Event::StepDone {
            step: Step::FORM,
            by: "ana",
            note: None,
        },
        now,
    );
    let ctx = ReplyContext::for_staff_action(actions[0], &case, cat());
    let text = templates.render(Language::En, &ctx).unwrap();
    assert!(
        text.contains("step 1 of your MNotify connection as done: The single connection form"),
        "{text}"
    );
    assert!(text.contains("[x] 1."), "{text}");
    assert!(text.contains("Next step: The MNotify contract"), "{text}");
    let done = ReplyContext::for_staff_action(Action::TellCompleted, &case, cat());
    let text = templates.render(Language::Ro, &done).unwrap();
    assert!(
        text.contains("Integrarea sistemului dvs. cu MNotify este finalizată"),
        "{text}"
    );
}

#[test]
fn reply_is_threaded_and_marked_automatic() {
    let original = Original {
        message_id: Some("<orig@x.md>".into()),
        references: vec!["<older@x.md>".into()],
        subject: Some("Certificat".into()),
    };
    let sender = Sender {
        name: "Agenția de Guvernare Electronică",
        address: "servicii@egov.md",
        links: Vec::new(),
    };
    let out = compose(
        &original,
        &sender,
        "ion@x.md",
        mn_tag("ABC123"),
        "Bună ziua",
        "seed",
        datetime!(2026-11-24 12:00 UTC),
    );
    let text = String::from_utf8(out.raw.clone())
        .expect("ascii")
        .replace("\r\n ", " ");
    assert!(text.contains("In-Reply-To: <orig@x.md>"));
    assert!(
        text.contains("References: <older@x.md> <orig@x.md>"),
        "{text}"
    );
    assert!(text.contains("Auto-Submitted: auto-replied"));
    assert!(text.contains("X-Auto-Response-Suppress: All"));
    let again = compose(
        &original,
        &sender,
        "ion@x.md",
        mn_tag("ABC123"),
        "Bună ziua",
        "seed",
        datetime!(2026-11-24 12:00 UTC),
    );
    assert_eq!(out.message_id, again.message_id);
    let parsed = mail_parser::MessageParser::default()
        .parse(&out.raw)
        .expect("parses");
    assert_eq!(parsed.subject(), Some("Re: Certificat [MNotify #ABC123]"));
    assert_eq!(
        parsed.body_text(0).as_deref().map(str::trim),
        Some("Bună ziua")
    );
}

/// Hostile or careless headers of the mail we answer must not shape our reply's
/// header: no injected fields, no line over RFC 5322's 998 characters. Long on
/// purpose: each hostile input and the complete header it must produce, side by side.
#[test]
fn hostile_subject_and_ids_cannot_inject_headers() {
    let hostile = concat!(
        "From: ion@x.md\r\n",
        "To: servicii@egov.md\r\n",
        "Subject: =?us-ascii?Q?Salut=0D=0ABcc:_evil@x.md=0D=0AX-Evil:_1?=\r\n",
        "Message-ID: <a@x.md>\r\n",
        "\r\nMNotify\r\n"
    );
    let facts = crate::intake::read(hostile.as_bytes(), &[]);
    let long = "Certificat ".repeat(300) + &"ș".repeat(400);
    let sender = Sender {
        name: "AGE",
        address: "servicii@egov.md",
        links: Vec::new(),
    };
    let now = datetime!(2026-11-24 12:00 UTC);
    for (subject, ids) in [
        (facts.subject.clone(), vec!["<b@x.md>".to_string()]),
        (
            Some(long.clone()),
            vec![
                "<c@x.md>\r\nX-Evil: 2".into(),
                "d@x.md".into(),
                "<e@x.md> <f@x.md>".into(),
            ],
        ),
    ] {
        let original = Original {
            message_id: Some("<orig@x.md>\r\nX-Evil: 3".into()),
            references: ids,
            subject,
        };
        let out = compose(
            &original,
            &sender,
            "ion@x.md",
            mn_tag("ABC123"),
            "text",
            "s",
            now,
        );
        let raw = String::from_utf8(out.raw.clone()).unwrap();
        let head = &raw[..raw.find("\r\n\r\n").unwrap()];
        let mut fields: Vec<&str> = head
            .split("\r\n")
            .filter(|l| !l.starts_with([' ', '\t']))
            .filter_map(|l| l.split_once(':').map(|(name, _)| name))
            .collect();
        fields.sort_unstable();
        let mut expected = [
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "References",
            "Auto-Submitted",
            "X-Auto-Response-Suppress",
            OWN_MARKER_HEADER,
            "MIME-Version",
            "Content-Type",
        ];
        expected.sort_unstable();
        assert_eq!(fields, expected, "{head}");
        assert!(head.lines().all(|l| l.len() <= 998), "{head}");
        assert!(!head.contains('\n') || head.split("\r\n").all(|l| !l.contains('\n')));
        let parsed = mail_parser::MessageParser::default()
            .parse(&out.raw)
            .unwrap();
        let subject = parsed.subject().unwrap();
        assert!(
            subject.starts_with("Re: ") && subject.ends_with("[MNotify #ABC123]"),
            "{subject}"
        );
        assert!(
            !subject.contains('\r') && !subject.contains('\n'),
            "{subject:?}"
        );
        assert!(!out.subject.contains('\n'), "{:?}", out.subject);
    }
    // Sane identifiers still thread.
    let original = Original {
        message_id: Some("orig@x.md".into()),
        references: vec!["<older@x.md>".into()],
        subject: Some("Salut".into()),
    };
    let out = compose(
        &original,
        &sender,
        "ion@x.md",
        mn_tag("ABC123"),
        "text",
        "s",
        now,
    );
    let raw = String::from_utf8(out.raw).unwrap().replace("\r\n ", " ");
    assert!(raw.contains("In-Reply-To: <orig@x.md>\r\n"), "{raw}");
    assert!(
        raw.contains("References: <older@x.md> <orig@x.md>\r\n"),
        "{raw}"
    );
}

/// The agency has been renamed before: a new name in `[agency]` reaches every reply in
/// every language without a template edit.
#[test]
fn a_renamed_agency_signs_every_reply_without_a_template_edit() {
    let renamed = Agency {
        name: "Agenția Servicii Electronice".into(),
        name_ru: "Агентство электронных услуг".into(),
        name_en: "Electronic Services Agency".into(),
        short_name: "ASE".into(),
        short_name_ru: "АЭУс".into(),
        phone: "+373 22 000 000".into(),
        web: "https://ase.md".into(),
        mailbox: "contact@ase.md".into(),
    };
    let templates = Templates::embedded().signed_by(renamed.clone());
    let all = templates.render_all().expect("every reply renders");
    assert!(all.len() > 30);
    for (language, kind, text) in all {
        let local = match language {
            Language::Ro => &renamed.name,
            Language::Ru => &renamed.name_ru,
            Language::En => &renamed.name_en,
        };
        assert!(
            text.contains(local.as_str())
                && text.contains("+373 22 000 000")
                && text.contains("contact@ase.md"),
            "{kind} ({language:?}) is not signed by the new name:\n{text}"
        );
        assert!(
            !text.contains("AGE")
                && !text.contains("АЭУ ")
                && !text.contains("Guvernare Electronică")
                && !text.contains("820 026"),
            "{kind} ({language:?}) still names the old agency:\n{text}"
        );
        // Russian replies name the agency in Russian, never by the Romanian acronym.
        if language == Language::Ru {
            assert!(!text.contains("ASE"), "{kind}: {text}");
        }
    }
}

/// One next step: a reply asking for the certificate names it as the next step, even
/// when an earlier step (the form) is still open; once the certificate is in, the
/// case's own next step.
#[test]
fn a_reply_asking_for_the_certificate_names_it_as_the_next_step() {
    let case = Case::open(
        "ABC123".into(),
        "ion@x.md",
        Language::Ro,
        datetime!(2026-11-24 12:00 UTC),
    );
    assert_eq!(case.next_step(mn()), Some(Step::FORM));
    for decision in [
        "rejected",
        "serial_not_found",
        "ambiguous",
        "need_certificate",
        "oversized",
    ] {
        let ctx = ReplyContext::for_case(decision.parse().unwrap(), &case, cat());
        assert_eq!(ctx.next_step.as_deref(), Some("certificate"), "{decision}");
    }
    assert_eq!(
        ReplyContext::for_case(Decision::NewCertificate.into(), &case, cat())
            .next_step
            .as_deref(),
        Some("form")
    );
    let text = Templates::embedded()
        .render(
            Language::En,
            &ReplyContext::for_case(Decision::NeedCertificate.into(), &case, cat()),
        )
        .unwrap();
    assert!(text.contains("Next step: The system certificate"), "{text}");
}

fn mn_tag(token: &str) -> CaseTag<'_> {
    CaseTag {
        tag: "MNotify",
        token,
    }
}

#[test]
fn subjects_carry_the_service_tag_and_drop_another_case_s() {
    let tag = CaseTag {
        tag: "MPass",
        token: "XYZ789",
    };
    assert_eq!(
        reply_subject("Re: Conectare [MNotify #ABC123]", tag),
        "Re: Conectare [MPass #XYZ789]"
    );
}
