use super::*;

mod systems;
use crate::analysis::{analyse, Context};
use crate::record::{OutboxKind, Outcome};
use crate::registry::Registry;
use crate::trust::SenderRule;
use time::macros::datetime;

use crate::procedure::for_tests::mn;

const NOW: OffsetDateTime = datetime!(2026-11-24 10:00 UTC);

/// A planner test case, judged as the daemon judges mail and then planned: each test
/// names what differs from the defaults (message 42 of UIDVALIDITY 7, nothing known,
/// at [`NOW`], the seed "seed").
struct Planning<'a> {
    content: Content<'a>,
    identity: &'a str,
    known: Known,
    settings: Option<&'a Settings<'a>>,
    fresh: &'a str,
}

impl<'a> Planning<'a> {
    fn of(content: Content<'a>) -> Planning<'a> {
        Planning {
            content,
            identity: "m@x",
            known: Known::default(),
            settings: None,
            fresh: "seed",
        }
    }

    fn identity(self, identity: &'a str) -> Planning<'a> {
        Planning { identity, ..self }
    }

    fn known(self, known: Known) -> Planning<'a> {
        Planning { known, ..self }
    }

    fn settings(self, settings: &'a Settings<'a>) -> Planning<'a> {
        Planning {
            settings: Some(settings),
            ..self
        }
    }

    fn fresh(self, fresh: &'a str) -> Planning<'a> {
        Planning { fresh, ..self }
    }

    fn plan(self) -> Result<Plan, ReplyError> {
        let settings = self.settings.expect("a planner test names its settings");
        let judgement = judge(self.content, None, settings.trust);
        let mail = Mail {
            content: self.content,
            identity: self.identity,
            digest: "d",
            at: AT,
        };
        super::plan(mail, &judgement, self.known, settings, NOW, self.fresh)
    }
}

fn settings(templates: &Templates, mode: ReplyMode) -> Settings<'_> {
    Settings::for_tests(templates, mode, off())
}

/// Sender authentication off: the rules that do not depend on it.
fn off() -> &'static Policy {
    Box::leak(Box::new(Policy {
        authserv_ids: vec!["mx.egov.test".into()],
        exchange_tenant: None,
        senders: SenderRule::Off,
    }))
}

fn analysed(raw: &str) -> Analysis {
    let registry = Registry::default();
    let own = vec!["servicii@egov.md".to_string()];
    let anchors = crate::certificate::validate::TrustAnchors::new(Vec::new());
    let ctx = Context {
        anchors: &anchors,
        registry: &registry,
        own_addresses: &own,
        revocations: &Default::default(),
        procedures: crate::procedure::Catalogue::built_in(),
        case_certificates: &Default::default(),
    };
    analyse(raw.as_bytes(), &ctx, NOW)
}

const AT: Position = Position {
    uid_validity: 7,
    uid: 42,
};

#[test]
fn applicant_mail_opens_a_case_and_queues_one_threaded_reply() {
    let t = Templates::embedded();
    let a = analysed(
        "From: Ion <ion@primaria.md>\r\nMessage-ID: <m1@primaria.md>\r\nSubject: MNotify\r\n\r\nVrem sa ne conectam la MNotify.\r\n",
    );
    let p = Planning::of(Content::Analysed(&a))
        .identity("m1@primaria.md")
        .settings(&settings(&t, ReplyMode::Send))
        .plan()
        .unwrap();
    let case = p.case.expect("a case");
    assert_eq!(case.applicant, "ion@primaria.md");
    assert_eq!(p.seen.destination.as_deref(), Some("Processed"));
    let entry = p.outbox.expect("a reply");
    assert_eq!(entry.kind, OutboxKind::Send);
    assert_eq!(entry.to, "ion@primaria.md");
    assert_eq!(p.seen.reply.as_ref(), Some(&entry.message_id));
    assert!(p
        .rate_keys
        .contains(&"ion@primaria.md/2026-11-24".to_string()));
    assert!(p
        .rate_keys
        .contains(&format!("case:{}/2026-11-24", case.token)));
    assert_eq!(
        p.thread_ids.len(),
        2,
        "the applicant's and our reply's ids lead to the case"
    );
    let raw = entry.raw.clone();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("In-Reply-To: <m1@primaria.md>"));
    assert!(text.contains(&format!("[MNotify #{}]", case.token)));
}

#[test]
fn automatic_and_unrelated_mail_get_no_reply_and_no_case() {
    let t = Templates::embedded();
    let bounce = analysed("From: MAILER-DAEMON@x.md\r\nAuto-Submitted: auto-replied\r\nSubject: MNotify\r\n\r\nMNotify\r\n");
    let p = Planning::of(Content::Analysed(&bounce))
        .identity("b")
        .settings(&settings(&t, ReplyMode::Send))
        .plan()
        .unwrap();
    assert!(p.outbox.is_none() && p.case.is_none());
    assert_eq!(p.seen.destination.as_deref(), Some("Processed"));
    let other = analysed("From: a@b.md\r\nSubject: salut\r\n\r\nO intrebare despre altceva.\r\n");
    let p = Planning::of(Content::Analysed(&other))
        .identity("o")
        .settings(&settings(&t, ReplyMode::Send))
        .plan()
        .unwrap();
    assert_eq!(
        p.seen.outcome,
        Outcome::Decided(crate::decision::Decision::NotApplicable)
    );
    assert_eq!(p.seen.destination.as_deref(), Some("Needs-Human"));
    assert!(p.outbox.is_none() && p.case.is_none());
}

#[test]
fn reply_cap_and_off_mode_record_why_there_is_no_reply() {
    let t = Templates::embedded();
    let a = analysed("From: ion@primaria.md\r\nSubject: MNotify\r\n\r\nMNotify\r\n");
    let known = Known {
        case: None,
        counts: ReplyCounts {
            recipient_today: 2,
            ..ReplyCounts::default()
        },
        certificate_cases: Vec::new(),
        certificate_case_records: Vec::new(),
        reported: None,
    };
    let p = Planning::of(Content::Analysed(&a))
        .identity("x")
        .known(known)
        .settings(&settings(&t, ReplyMode::Send))
        .plan()
        .unwrap();
    assert!(p.outbox.is_none());
    assert!(p.seen.note.unwrap().contains("max_per_recipient_per_day"));
    assert!(p.case.is_some(), "the case is still recorded");
    let p = Planning::of(Content::Analysed(&a))
        .identity("x")
        .settings(&settings(&t, ReplyMode::Off))
        .plan()
        .unwrap();
    assert!(p.outbox.is_none() && p.rate_keys.is_empty());
}

#[test]
fn draft_mode_queues_a_draft_and_reply_to_is_honoured() {
    let t = Templates::embedded();
    let a = analysed(
        "From: ion@primaria.md\r\nReply-To: it@primaria.md\r\nSubject: MNotify\r\n\r\nMNotify\r\n",
    );
    let p = Planning::of(Content::Analysed(&a))
        .identity("x")
        .settings(&settings(&t, ReplyMode::Draft))
        .plan()
        .unwrap();
    let e = p.outbox.unwrap();
    assert_eq!(e.kind, OutboxKind::Draft);
    assert_eq!(e.to, "it@primaria.md");
}

#[test]
fn oversized_mail_is_for_people_and_the_sender_is_told_the_limit() {
    let t = Templates::embedded();
    let facts = crate::intake::read(
        b"From: ion@primaria.md\r\nSubject: scan\r\nMessage-ID: <big@x>\r\n\r\n",
        &[],
    );
    let p = Planning::of(Content::Oversized { facts: &facts })
        .identity("big@x")
        .settings(&settings(&t, ReplyMode::Send))
        .plan()
        .unwrap();
    assert_eq!(p.seen.outcome, Outcome::Oversized);
    assert_eq!(p.seen.destination.as_deref(), Some("Needs-Human"));
    let raw = p.outbox.unwrap().raw.clone();
    let text = crate::intake::read(&raw, &[]);
    assert_eq!(text.subject.as_deref(), Some("Re: scan"));
    assert!(p.case.is_none());
}

pub(super) fn require() -> &'static Policy {
    Box::leak(Box::new(Policy {
        authserv_ids: vec!["mx.egov.test".into()],
        exchange_tenant: None,
        senders: SenderRule::Require,
    }))
}

/// A mail from `from` as our MX delivers it, with DMARC `result` for its domain.
pub(super) fn stamped(from: &str, dmarc: &str, rest: &str) -> Analysis {
    let domain = from.rsplit_once('@').unwrap().1;
    analysed(&format!(
        "Authentication-Results: mx.egov.test; dmarc={dmarc} header.from={domain}\r\nReceived: from x by mx\r\nFrom: {from}\r\nMessage-ID: <m@{domain}>\r\n{rest}"
    ))
}

pub(super) fn plan_with(a: &Analysis, known: Known, policy: &Policy) -> Plan {
    static SEED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let seed = SEED
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_string();
    let t = Box::leak(Box::new(Templates::embedded()));
    Planning::of(Content::Analysed(a))
        .identity("m@x")
        .known(known)
        .settings(&Settings::for_tests(t, ReplyMode::Send, policy))
        .fresh(&seed)
        .plan()
        .unwrap()
}

fn reply_text(p: &Plan) -> String {
    let raw = p.outbox.as_ref().expect("a reply").raw.clone();
    let f = crate::intake::read(&raw, &[]);
    let body = mail_parser::MessageParser::default()
        .parse(&raw)
        .and_then(|m| m.body_text(0).map(|b| b.into_owned()))
        .unwrap_or_default();
    format!("{}\n{body}", f.subject.unwrap_or_default())
}

#[test]
fn an_unauthenticated_sender_changes_nothing_and_gets_a_neutral_answer() {
    let a = stamped(
        "ion@inst-a.test",
        "fail",
        "Subject: MNotify BUY-PILLS.example\r\n\r\nMNotify, serial 0A1B2C3D, system name BUY-PILLS.example\r\n",
    );
    let p = plan_with(&a, Known::default(), require());
    assert!(p.seen.held && p.case.is_none() && p.seen.accepted.is_empty());
    assert_eq!(p.seen.destination.as_deref(), Some("Needs-Human"));
    assert!(p.seen.note.as_deref().unwrap().contains("DMARC fail"));
    let text = reply_text(&p);
    assert_eq!(p.outbox.as_ref().unwrap().to, "ion@inst-a.test");
    assert!(text.contains("nu a putut fi verificat"), "{text}");
    assert!(
        !text.contains("BUY-PILLS") && !text.contains("0A1B2C3D"),
        "{text}"
    );
    // It names which mail it answers by what our side knows: when our server had it
    // (no Received here: when it was read) and our reference, in the subject too.
    let reference = crate::process::answer::reference(&p.seen.identity);
    assert!(
        text.starts_with(&format!(
            "Re: Mesajul dvs. primit la 2026-11-24 10:00 UTC (ref. {reference})"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("referința noastră {reference}")),
        "{text}"
    );
    assert!(!text.contains("#"), "no case token: {text}");
    // Its answer to our answer gets none.
    let again = stamped(
        "ion@inst-a.test",
        "fail",
        "In-Reply-To: <mnotify.abc@egov.md>\r\nSubject: Re: MNotify\r\n\r\nMNotify?\r\n",
    );
    let p = plan_with(&again, Known::default(), require());
    assert!(p.outbox.is_none() && p.seen.held);
}

#[test]
fn under_flag_an_unauthenticated_sender_is_processed_marked_and_not_echoed() {
    let flag: &'static Policy = Box::leak(Box::new(Policy {
        authserv_ids: vec!["mx.egov.test".into()],
        exchange_tenant: None,
        senders: SenderRule::Flag,
    }));
    let a = stamped(
        "ion@inst-a.test",
        "fail",
        "Subject: MNotify spam.example\r\n\r\nMNotify, Sistemul: spam.example\r\n",
    );
    let p = plan_with(&a, Known::default(), flag);
    assert!(p.seen.flagged && !p.seen.held);
    let case = p.case.as_ref().expect("processed: a case");
    let last = &case.timeline.last().unwrap().what;
    assert!(last.contains("not authenticated: DMARC fail"), "{last}");
    let text = reply_text(&p);
    assert!(!text.contains("spam.example"), "{text}");
    assert!(
        text.contains(&case.token),
        "a real answer, in its case: {text}"
    );
}

#[test]
fn a_case_of_another_institution_is_never_joined() {
    let owner = stamped(
        "ion@inst-a.test",
        "pass",
        "Subject: MNotify\r\n\r\nMNotify\r\n",
    );
    let theirs = plan_with(&owner, Known::default(), require()).case.unwrap();
    assert_eq!(theirs.identity.as_deref(), Some("inst-a.test"));
    let intruder = stamped(
        "eve@inst-b.test",
        "pass",
        &format!("Subject: [MNotify #{}]\r\n\r\nMNotify\r\n", theirs.token),
    );
    let p = plan_with(
        &intruder,
        Known {
            case: Some(theirs.clone()),
            ..Known::default()
        },
        require(),
    );
    let own = p.case.expect("a case of its own");
    assert_ne!(own.token, theirs.token);
    assert_eq!(own.identity.as_deref(), Some("inst-b.test"));
    assert!(own
        .timeline
        .iter()
        .any(|e| e.what.contains("another institution")));
    // A colleague at the same institution joins it; the timeline names the sender.
    let colleague = stamped(
        "ana@mail.inst-a.test",
        "pass",
        "Subject: MNotify\r\n\r\nMNotify\r\n",
    );
    let p = plan_with(
        &colleague,
        Known {
            case: Some(theirs.clone()),
            ..Known::default()
        },
        require(),
    );
    let joined = p.case.unwrap();
    assert_eq!(joined.token, theirs.token);
    let last = &joined.timeline.last().unwrap().what;
    assert!(
        last.contains("ana@mail.inst-a.test (authenticated: DMARC)"),
        "{last}"
    );
}

#[test]
fn reply_to_is_honoured_only_inside_the_sender_organization() {
    let inside = analysed("From: ion@primaria.md\r\nReply-To: it@mail.primaria.md\r\n\r\nx\r\n");
    assert_eq!(
        reply_address(&inside.facts).as_deref(),
        Some("it@mail.primaria.md")
    );
    let outside = analysed("From: ion@primaria.md\r\nReply-To: victim@elsewhere.test\r\n\r\nx\r\n");
    assert_eq!(
        reply_address(&outside.facts).as_deref(),
        Some("ion@primaria.md")
    );
}

#[test]
fn every_cap_files_the_mail_for_staff() {
    let a = stamped(
        "ion@inst-a.test",
        "pass",
        "Subject: MNotify\r\n\r\nMNotify\r\n",
    );
    for (counts, key) in [
        (
            ReplyCounts {
                domain_today: 50,
                ..ReplyCounts::default()
            },
            "max_replies_per_domain_per_day",
        ),
        (
            ReplyCounts {
                this_hour: 300,
                ..ReplyCounts::default()
            },
            "max_replies_per_hour",
        ),
    ] {
        let p = plan_with(
            &a,
            Known {
                case: None,
                counts,
                ..Known::default()
            },
            require(),
        );
        assert!(p.outbox.is_none());
        assert_eq!(p.seen.destination.as_deref(), Some("Needs-Human"));
        assert!(p.seen.note.as_deref().unwrap().contains(key));
    }
    let owner = plan_with(&a, Known::default(), require()).case.unwrap();
    let p = plan_with(
        &a,
        Known {
            case: Some(owner),
            counts: ReplyCounts {
                case_today: 10,
                ..ReplyCounts::default()
            },
            certificate_cases: Vec::new(),
            certificate_case_records: Vec::new(),
            reported: None,
        },
        require(),
    );
    assert!(p.outbox.is_none());
    assert!(p
        .seen
        .note
        .as_deref()
        .unwrap()
        .contains("max_replies_per_case_per_day"));
    let forged = stamped(
        "x@inst-c.test",
        "fail",
        "Subject: MNotify\r\n\r\nMNotify\r\n",
    );
    let p = plan_with(
        &forged,
        Known {
            case: None,
            counts: ReplyCounts {
                this_hour: 30,
                ..ReplyCounts::default()
            },
            certificate_cases: Vec::new(),
            certificate_case_records: Vec::new(),
            reported: None,
        },
        require(),
    );
    assert!(
        p.outbox.is_none(),
        "neutral answers have their own tenth of the hourly cap"
    );
}

#[test]
fn identity_prefers_message_id_and_falls_back_to_a_digest() {
    assert_eq!(identity(Some("<a@b>"), "d1"), "a@b");
    assert_eq!(identity(None, "d1"), "sha256:d1");
    assert_eq!(identity(Some("  "), "d1"), identity(None, "d1"));
    // Present but not a Message-ID: what was sent tells the mails apart, never an
    // empty identity they would all share.
    for bad in [
        "<>",
        "<h1\"><i>x</i>@evil.test>",
        "/i",
        "no at sign",
        "<a b@c>",
    ] {
        assert_eq!(identity(Some(bad), "d2"), "sha256:d2", "{bad}");
        assert_ne!(
            identity(Some(bad), "d2"),
            identity(Some(bad), "d3"),
            "{bad}"
        );
    }
    let beside = identity_beside("a@b", "d4");
    assert_ne!(beside, "a@b");
    assert_eq!(
        message_id_of(&beside),
        None,
        "the folder may hold the other"
    );
    assert_eq!(message_id_of("a@b").unwrap().bare(), "a@b");
    assert_eq!(message_id_of("sha256:d1"), None);
}

#[test]
fn the_content_digest_is_what_the_sender_wrote() {
    let digest =
        |raw: &str| content_digest(raw.as_bytes(), &crate::intake::read(raw.as_bytes(), &[]));
    let sent = "From: ion@x.md\r\nSubject: MNotify\r\nDate: Mon, 7 Dec 2026 10:00:00 +0200\r\nMessage-ID: <m@x.md>\r\n\r\nCertificatul.\r\n";
    // Redelivered through another alias: servers' fields on top, LF line ends.
    let again = format!(
        "Received: from mx by imap\r\nDelivered-To: alias@egov.md\r\nAuthentication-Results: mx; dmarc=pass\r\n{sent}"
    )
    .replace("\r\n", "\n");
    assert_eq!(digest(sent), digest(&again));
    for other in [
        sent.replace("Certificatul.", "Alt text."),
        sent.replace("ion@x.md", "eve@evil.test"),
        sent.replace("Subject: MNotify", "Subject: MPass"),
        sent.replace("10:00:00", "10:00:01"),
    ] {
        assert_ne!(digest(sent), digest(&other), "{other}");
    }
}

#[test]
fn cases_are_looked_up_by_token_then_the_latest_thread_id() {
    let facts = crate::intake::read(
        b"From: ion@x.md\r\nSubject: Re: MNotify [MNotify #abc123]\r\nIn-Reply-To: <r@egov.md>\r\nReferences: <first@x.md> <second@x.md>\r\n\r\nok\r\n",
        &[],
    );
    let id = |s: &str| CaseKey::Thread(MessageId::parse(s).unwrap());
    assert_eq!(
        case_keys(&facts),
        [
            CaseKey::Token("ABC123".into()),
            id("r@egov.md"),
            id("second@x.md"),
            id("first@x.md"),
        ]
    );
}

#[test]
fn a_duplicate_keeps_the_first_decision_and_is_never_answered() {
    let t = Templates::embedded();
    let a = analysed("From: ion@primaria.md\r\nMessage-ID: <m9@primaria.md>\r\nSubject: MNotify\r\n\r\nMNotify\r\n");
    let first = Planning::of(Content::Analysed(&a))
        .identity("m9@primaria.md")
        .settings(&settings(&t, ReplyMode::Send))
        .plan()
        .unwrap();
    assert!(first.seen.reply.is_some());
    let again = duplicate(
        first.seen.clone(),
        Position {
            uid_validity: 8,
            uid: 3,
        },
    );
    assert_eq!((again.uid_validity, again.uid), (8, 3));
    assert_eq!(again.reply, None);
    assert_eq!(again.outcome, first.seen.outcome);
    assert_eq!(again.destination, first.seen.destination);
    assert!(again.note.unwrap().contains("duplicate of UID 7/42"));
}

#[test]
fn held_mail_is_answered_at_its_from_address_only() {
    // Reply-To in the same organizational domain is followed for a believed sender,
    // never for one held for staff (nothing of an unverified mail steers our answer).
    let raw = "From: ion@inst-a.test\r\nReply-To: boss@inst-a.test\r\nSubject: MNotify\r\n\r\nMNotify\r\n";
    let believed = analysed(&format!(
        "Authentication-Results: mx.egov.test; dmarc=pass header.from=inst-a.test\r\n{raw}"
    ));
    let j = judge(Content::Analysed(&believed), None, require());
    assert!(!j.held && j.may_use_sender_case());
    assert_eq!(j.recipient.as_deref(), Some("boss@inst-a.test"));
    let forged = analysed(raw);
    let j = judge(Content::Analysed(&forged), None, require());
    assert!(j.held && !j.may_use_sender_case() && !j.echo);
    assert_eq!(j.recipient.as_deref(), Some("ion@inst-a.test"));
    let vouched = judge(Content::Analysed(&forged), Some("ana".into()), require());
    assert!(!vouched.held && vouched.may_use_sender_case());
    assert!(vouched.who().contains("accepted by ana"));
}

/// A follow-up that brings nothing new gets a short answer: what is still awaited,
/// with how to send it, not the whole first reply (its checklist) again.
#[test]
fn a_follow_up_with_nothing_new_is_answered_briefly() {
    let t = Templates::embedded();
    let s = settings(&t, ReplyMode::Send);
    let first = analysed(
        "From: ion@primaria.md\r\nMessage-ID: <b1@primaria.md>\r\nSubject: Conectare MNotify\r\n\r\nSolicitam conectarea la MNotify.\r\n",
    );
    let p = Planning::of(Content::Analysed(&first))
        .identity("b1@primaria.md")
        .settings(&s)
        .fresh("a")
        .plan()
        .unwrap();
    let full = reply_text(&p);
    assert!(full.contains("Situația dosarului"), "{full}");
    let case = p.case.expect("a case");
    let follow = analysed(
        "From: ion@primaria.md\r\nMessage-ID: <b2@primaria.md>\r\nIn-Reply-To: <b1@primaria.md>\r\nSubject: Re: Conectare MNotify\r\n\r\nBuna ziua, revin cu certificatul.\r\n",
    );
    let known = Known {
        case: Some(case.clone()),
        ..Known::default()
    };
    let p = Planning::of(Content::Analysed(&follow))
        .identity("b2@primaria.md")
        .known(known)
        .settings(&s)
        .fresh("b")
        .plan()
        .unwrap();
    let brief = reply_text(&p);
    assert!(
        brief.contains(&format!(
            "Dosarul MNotify #{} așteaptă încă de la dvs. pasul 3: Certificatul de sistem (STISC).",
            case.token
        )),
        "{brief}"
    );
    assert!(brief.contains("Trimiteți fișierul .cer"), "{brief}");
    assert!(!brief.contains("Situația dosarului"), "{brief}");
    assert!(brief.len() < full.len() / 2, "{brief}");
}

#[test]
fn a_question_in_a_case_under_way_waits_for_a_person() {
    let t = Templates::embedded();
    let s = settings(&t, ReplyMode::Send);
    // The first mail's question is what the first answer tells.
    let first = analysed(
        "From: ion@primaria.md\r\nMessage-ID: <q1@primaria.md>\r\nSubject: MNotify\r\n\r\nCe trebuie sa trimitem pentru MNotify?\r\n",
    );
    let p = Planning::of(Content::Analysed(&first))
        .identity("q1@primaria.md")
        .settings(&s)
        .fresh("a")
        .plan()
        .unwrap();
    let case = p.case.expect("a case");
    assert_eq!(case.question, None);
    // A follow-up in the case asking something else waits for a person.
    let follow = analysed(
        "From: ion@primaria.md\r\nMessage-ID: <q2@primaria.md>\r\nIn-Reply-To: <q1@primaria.md>\r\nSubject: Re: MNotify\r\n\r\nBuna ziua. Cand putem semna contractul? Multumim.\r\n",
    );
    let known = Known {
        case: Some(case),
        ..Known::default()
    };
    let p = Planning::of(Content::Analysed(&follow))
        .identity("q2@primaria.md")
        .known(known)
        .settings(&s)
        .fresh("b")
        .plan()
        .unwrap();
    let text = reply_text(&p);
    let case = p.case.expect("the same case");
    assert_eq!(
        case.question.as_ref().map(|q| q.text.as_str()),
        Some("Cand putem semna contractul?")
    );
    assert_eq!(case.waiting_on(mn()), Some(crate::case::Party::Age));
    assert!(text.contains("un coleg vă va răspunde"), "{text}");
    // Staff answered: the case waits on the applicant again.
    let (answered, _) = crate::case::apply(
        mn(),
        &case,
        crate::case::Event::Answered {
            by: "ana",
            note: Some("replied by mail"),
        },
        NOW,
    );
    assert_eq!(answered.question, None);
    assert_eq!(
        answered.waiting_on(mn()),
        Some(crate::case::Party::Applicant)
    );
}

mod services {
    //! Which service's case a first mail opens: the ones it names (two: two cases and
    //! one answer about both), none named: one answer asking which, no case.
    use super::*;

    /// A first mail from an institution, planned with the built-in procedures.
    pub(super) fn first_mail(subject: &str, body: &str) -> Plan {
        let t = Box::leak(Box::new(Templates::embedded()));
        let raw = format!(
            "From: Ion <ion@primaria.md>\r\nMessage-ID: <s1@primaria.md>\r\nSubject: {subject}\r\n\r\n{body}\r\n"
        );
        let a = Box::leak(Box::new(analysed(&raw)));
        Planning::of(Content::Analysed(a))
            .identity("s1@primaria.md")
            .settings(&settings(t, ReplyMode::Send))
            .plan()
            .unwrap()
    }

    #[test]
    fn a_mail_about_mpass_opens_an_mpass_case_answered_with_its_steps() {
        let p = first_mail(
            "Conectare MPass - certificat TEST",
            "Bună ziua, solicităm conectarea la MPass; certificatul urmează.",
        );
        let case = p.case.clone().expect("a case");
        assert_eq!(case.service, "mpass");
        let text = reply_text(&p);
        assert!(text.contains(&format!("[MPass #{}]", case.token)), "{text}");
        assert!(text.contains("Situația dosarului MPass"), "{text}");
        assert!(!text.contains("MNotify #"), "{text}");
        assert!(
            text.contains("10. Notificarea finalizării integrării"),
            "{text}"
        );
        assert!(p.opened.is_empty());
    }

    #[test]
    fn a_mail_naming_two_services_opens_two_cases_and_one_answer_covers_both() {
        let p = first_mail(
            "Conectare MSign și MLog",
            "Solicităm conectarea sistemului nostru la MSign și la MLog.",
        );
        let case = p.case.clone().expect("a case");
        assert_eq!(case.service, "msign");
        assert_eq!(p.opened.len(), 1);
        let other = &p.opened[0];
        assert_eq!(other.service, "mlog");
        assert_ne!(other.token, case.token);
        let text = reply_text(&p);
        assert!(text.contains(&format!("[MSign #{}]", case.token)), "{text}");
        assert!(text.contains(&format!("MLog #{}", other.token)), "{text}");
        assert_eq!(p.outbox.iter().count(), 1, "one answer");
        // The one answer says the other case's next step: no letter is promised that
        // is not queued.
        assert!(text.contains("pasul următor pentru MLog: "), "{text}");
        assert!(!text.contains("separat"), "{text}");
    }

    /// The cases a first mail opens are the services `inspect --json` says it asks
    /// for, one for one and in order, whatever the phrasing.
    #[test]
    fn the_cases_opened_are_the_services_inspect_reports() {
        for (subject, body) in [
            (
                "Conectare MSign și MLog",
                "Solicităm conectarea la MSign și la MLog.",
            ),
            (
                "MNotify - Primaria Balti",
                "Avem certificat pentru MDocs, seria 5C0FFEE5.",
            ),
            ("MNotify - certificat MPass existent", "Seria: 4A3F00127BC9"),
            (
                "MNotify",
                "Serviciu | MPass\nNumăr de serie | 4A 3F 00 12 7B C9",
            ),
            ("Certificat", "MNotify, MPass: atașăm certificatul."),
            ("Подключение", "Просим подключить систему к MLog и MDocs."),
            (
                "Onboarding",
                "We would like to connect to MNotify and MSign.",
            ),
            ("MNotify - Primaria", "Dorim și conectarea la MPass."),
        ] {
            let p = first_mail(subject, body);
            let opened: Vec<String> = p
                .case
                .iter()
                .chain(p.opened.iter())
                .map(|c| c.service.clone())
                .collect();
            let text = format!("{subject}\n{body}");
            let reported = crate::procedure::Catalogue::built_in().read_services(&text);
            assert_eq!(opened, reported.asked, "{subject} / {body}");
        }
    }

    /// A service named as where the certificate is registered opens no case; one
    /// named without asking opens none either, and the reply says how to ask for it;
    /// no reply promises another letter.
    #[test]
    fn a_service_only_named_opens_no_case_and_no_letter_is_promised() {
        let p = first_mail(
            "MNotify - Primaria Balti",
            "Avem certificat pentru MDocs, seria 5C0FFEE5.",
        );
        assert_eq!(p.case.as_ref().map(|c| c.service.as_str()), Some("mnotify"));
        assert!(p.opened.is_empty(), "no MDocs case");
        let p = first_mail(
            "Certificat MNotify",
            "Bună ziua, lucrăm și cu MPass. Atașăm certificatul.",
        );
        let case = p.case.clone().expect("a case");
        assert_eq!(case.service, "mnotify");
        assert!(p.opened.is_empty(), "no MPass case: {:?}", p.opened);
        let text = reply_text(&p);
        assert!(
            text.contains("Mesajul dvs. pomenește și MPass. Dacă doriți conectarea și la acesta"),
            "{text}"
        );
        assert!(!text.contains("separat"), "{text}");
        let staff = case
            .timeline
            .iter()
            .map(|e| e.said(crate::intake::Language::Ro))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(staff.contains("pomenește și MPass"), "{staff}");
    }

    #[test]
    fn a_first_mail_naming_no_service_is_asked_which_and_opens_no_case() {
        let p = first_mail(
            "Certificat de sistem",
            "Bună ziua, numărul de serie al certificatului: 4A3F00127BC9",
        );
        // The decision stays what the mail is: a number that matches nothing.
        assert_eq!(
            p.seen.outcome,
            Outcome::Decided(crate::decision::Decision::SerialNotFound)
        );
        assert!(p.case.is_none() && p.opened.is_empty());
        let text = reply_text(&p);
        for tag in ["MNotify", "MPass", "MSign", "MLog", "MDocs"] {
            assert!(text.contains(&format!("  - {tag}: ")), "{tag}: {text}");
        }
        assert!(!text.contains('#'), "no case token: {text}");
        assert!(p.seen.note.as_deref().unwrap().contains("asked which one"));
    }
}

#[test]
fn each_language_s_reply_carries_its_own_display_name() {
    let p = services::first_mail("MNotify", "Добрый день, хотим подключиться к MNotify.");
    let raw = String::from_utf8_lossy(&p.outbox.unwrap().raw).into_owned();
    assert!(
        raw.contains("From: \"AGE (ru)\" <servicii@egov.md>"),
        "{raw}"
    );
}

/// What the store recalls before analysis decides whose mail this is: new, the same
/// message again (filed, not answered), or a different mail reusing a Message-ID
/// (handled beside the first, and once only however often it comes).
#[test]
fn a_mail_s_identity_comes_from_one_recall() {
    let now = time::macros::datetime!(2026-12-08 10:00 UTC);
    let raw = b"From: ion@x.md\r\nMessage-ID: <m@x.md>\r\nIn-Reply-To: <ours@egov.md>\r\nSubject: [MNotify #ABC123] Re\r\n\r\nText\r\n";
    let facts = crate::intake::read(raw, &[]);
    let recall = recall(&facts, "d1");
    assert_eq!(recall.identity, "m@x.md");
    assert_eq!(recall.beside, identity_beside("m@x.md", "d1"));
    assert_eq!(
        recall.case_keys,
        case_keys(&facts),
        "the token first, then the thread"
    );
    let record = |digest: &str| {
        let mut r = SeenRecord::unreadable(1, 7, None, now);
        r.digest = Some(digest.to_string());
        r
    };
    let new = Recalled::default();
    assert_eq!(
        identity_of(&recall, &new, "d1"),
        Identity::New {
            identity: "m@x.md".into(),
            reuses: None
        }
    );
    let again = Recalled {
        first: Some(record("d1")),
        ..Recalled::default()
    };
    assert_eq!(
        identity_of(&recall, &again, "d1"),
        Identity::Seen(Box::new(record("d1")))
    );
    let taken = Recalled {
        first: Some(record("other")),
        ..Recalled::default()
    };
    assert_eq!(
        identity_of(&recall, &taken, "d1"),
        Identity::New {
            identity: recall.beside.clone(),
            reuses: Some("m@x.md".into())
        }
    );
    let taken_and_seen = Recalled {
        first: Some(record("other")),
        beside: Some(record("d1")),
        ..Recalled::default()
    };
    assert_eq!(
        identity_of(&recall, &taken_and_seen, "d1"),
        Identity::Seen(Box::new(record("d1")))
    );
}
