use super::*;

/// One of each remark, with what it names.
fn every() -> Vec<Remark> {
    use Remark as R;
    let s = || "0A1B".to_string();
    let by = || "Ana Popa".to_string();
    vec![
        R::CaseOpened,
        R::CertificateFor {
            serial: s(),
            environment: Environment::Test,
        },
        R::CertificateEnvironmentRefused {
            serial: s(),
            was: Environment::Test,
            now: Environment::Production,
        },
        R::MergedFrom {
            case: "AAA111".into(),
            by: by(),
            note: Some("twice".into()),
        },
        R::MergedInto {
            case: "AAA111".into(),
            by: by(),
            note: None,
        },
        R::SplitFrom {
            case: "AAA111".into(),
            system: Some("SIA".into()),
            by: by(),
            note: None,
        },
        R::SplitOff {
            case: "AAA111".into(),
            system: None,
            by: by(),
            note: None,
        },
        R::StaffNote {
            by: by(),
            text: "called".into(),
        },
        R::MemberAdded {
            by: by(),
            member: "ion@a.md".into(),
        },
        R::ReplyFailed {
            to: "ion@a.md".into(),
            reason: "550 5.1.1".into(),
        },
        R::ReminderSent,
        R::QuestionAsked {
            question: "când?".into(),
        },
        R::QuestionAnswered {
            by: by(),
            note: None,
        },
        R::NoQuestionOpen { by: by() },
        R::AnswerSent {
            by: by(),
            in_mailbox: false,
            question: true,
        },
        R::AnswerSent {
            by: "servicii@egov.md".into(),
            in_mailbox: true,
            question: false,
        },
        R::Mail {
            message_id: "<m@a.md>".into(),
            sender: "ion@a.md".into(),
            decision: Some(Decision::Rejected),
            checked: false,
        },
        R::Mail {
            message_id: "<m@a.md>".into(),
            sender: "ion@a.md".into(),
            decision: Some(Decision::NewCertificate),
            checked: true,
        },
        R::Mail {
            message_id: "<m@a.md>".into(),
            sender: String::new(),
            decision: None,
            checked: false,
        },
        R::AnotherCertificate {
            evidence: "serial 1".into(),
            kept: "serial 2".into(),
        },
        R::CertificateCheck {
            why: vec![R::AlreadyInCase {
                serial: s(),
                case: "B".into(),
                owner: "b.md".into(),
            }],
        },
        R::StaffCheck {
            why: Box::new(R::RevocationUnknown {
                serial: s(),
                why: "no CRL".into(),
            }),
        },
        R::StepAgain {
            step: "form".into(),
            by: by(),
        },
        R::CheckClosed { by: by() },
        R::StepDone {
            step: "form".into(),
            by: by(),
            note: Some("signed".into()),
        },
        R::Completed,
        R::Integration {
            summary: "IP 10.0.0.1".into(),
            complete: true,
        },
        R::Integration {
            summary: "IP".into(),
            complete: false,
        },
        R::Reopened {
            step: "form".into(),
            by: by(),
            note: None,
            was_done: false,
        },
        R::MailNote {
            message_id: "<m@a.md>".into(),
            note: Box::new(R::NoServiceNamed),
        },
        R::RegisteredElsewhere {
            serial: s(),
            institution: Some("Primăria".into()),
            domain: "b.md".into(),
            owner: "a.md".into(),
        },
        R::NamesOtherAddresses {
            serial: s(),
            addresses: vec!["x@b.md".into()],
            owner: "a.md".into(),
        },
        R::AlreadyInCase {
            serial: s(),
            case: "B".into(),
            owner: "b.md".into(),
        },
        R::SentAgainByOwner {
            serial: s(),
            owner: "a.md".into(),
            holder: "b.md".into(),
        },
        R::SentByAnotherToo {
            serial: s(),
            owner: "a.md".into(),
        },
        R::RevocationUnknown {
            serial: s(),
            why: "no CRL".into(),
        },
        R::OtherInstitutionsCase {
            case: "B".into(),
            owner: "b.md".into(),
        },
        R::OtherSystem {
            system: "SIA".into(),
            case: "B".into(),
            case_system: "SIB".into(),
        },
        R::NoServiceNamed,
        R::DisputedLater {
            why: vec![R::NoServiceNamed],
        },
        R::AlsoMentions {
            services: vec!["MPass".into(), "MSign".into()],
        },
        R::NoAddress,
        R::RepliesOff,
        R::AnswersOurs,
        R::CapReached {
            count: 5,
            unverified: false,
            cap: Cap::Recipient,
            key: "[reply] max_per_recipient_per_day".into(),
        },
        R::CapReached {
            count: 3,
            unverified: true,
            cap: Cap::Hour,
            key: "a tenth of [trust] max_replies_per_hour".into(),
        },
        R::SenderHeld {
            reason: "DMARC fail for a.md".into(),
        },
        R::SenderVouched {
            reason: "DMARC fail for a.md".into(),
            by: by(),
        },
        R::ReportIgnored {
            message_id: "<r@egov.md>".into(),
            to: "ion@a.md".into(),
            sender: "x@b.md".into(),
        },
        R::Duplicate {
            uid_validity: 7,
            uid: 9,
        },
        R::NotKeptCeiling {
            max_messages: 500,
            max_mb: 200,
        },
        R::NotKeptLarge,
        R::ReusedMessageId {
            message_id: "m@x.md".into(),
        },
    ]
}

#[test]
fn every_remark_is_said_in_each_language_with_what_it_names() {
    for r in every() {
        let (en, ro, ru) = (
            r.say(Language::En),
            r.say(Language::Ro),
            r.say(Language::Ru),
        );
        assert!(!en.is_empty() && !ro.is_empty() && !ru.is_empty(), "{r:?}");
        assert_ne!(en, ro, "{r:?}: Romanian is English");
        assert_ne!(en, ru, "{r:?}: Russian is English");
        assert!(ru.chars().any(|c| ('а'..='я').contains(&c)), "{r:?}: {ru}");
        // What it names is in every language.
        for named in [
            "0A1B", "Ana Popa", "AAA111", "ion@a.md", "<m@a.md>", "SIA", "b.md",
        ] {
            if en.contains(named) {
                assert!(
                    ro.contains(named) && ru.contains(named),
                    "{r:?} loses {named}"
                );
            }
        }
    }
}

#[test]
fn english_is_what_records_stored_before_remarks() {
    let r = Remark::AlreadyInCase {
        serial: "0A".into(),
        case: "B".into(),
        owner: "b.md".into(),
    };
    assert_eq!(
        r.to_string(),
        "certificate 0A is already in case #B of b.md, and nothing shows whose it is"
    );
    let r = Remark::CapReached {
        count: 5,
        unverified: false,
        cap: Cap::Recipient,
        key: "[reply] max_per_recipient_per_day".into(),
    };
    assert_eq!(r.to_string(), "no reply, left for staff: 5 automatic replies to this address today ([reply] max_per_recipient_per_day)");
    let r = Remark::Reopened {
        step: "form".into(),
        by: "Ana".into(),
        note: Some("redo".into()),
        was_done: false,
    };
    assert_eq!(
        r.to_string(),
        "form reopened by Ana: redo (it was not done)"
    );
}

#[test]
fn remarks_keep_through_the_store_and_a_later_versions_read_as_unknown() {
    for r in every() {
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Remark>(&json).unwrap(), r, "{json}");
    }
    let later: Remark = serde_json::from_str(r#"{"remark":"from_the_future","x":1}"#).unwrap();
    assert!(!later.is_known());
    let entry: crate::case::TimelineEntry = serde_json::from_str(
        r#"{"at":"2026-12-01T10:00:00Z","what":"as written","remark":{"remark":"from_the_future"}}"#,
    )
    .unwrap();
    assert_eq!(entry.said(Language::Ro), "as written");
    let old: crate::case::TimelineEntry =
        serde_json::from_str(r#"{"at":"2026-12-01T10:00:00Z","what":"case opened"}"#).unwrap();
    assert_eq!(old.remark, None);
    assert_eq!(
        old.said(Language::Ro),
        "case opened",
        "old entries stay as written"
    );
}
