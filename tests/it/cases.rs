//! Onboarding cases end to end on the real mail stack: an applicant's mail opens a case,
//! staff move it through every step with `cases advance` while the daemon runs, and the
//! applicant's mailbox holds the right sequence of notices; staff merge and split
//! cases and the mail follows.

use std::time::Duration;

use mail_parser::MimeHeaders;
use mnotify_intake::intake;
use mnotify_intake::testkit::mail::Mail;

use crate::mail::body;
use crate::mail::{mail, mail_with, token_of};
use crate::security::{shown, signed_then_run};
use crate::service::{case_json, secure, Setup};
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(30);

fn certificate_mail(setup: &Setup, from: &str, to: &str, id: &str) -> Vec<u8> {
    mail_with(&setup.leaf(&[0x6C, 0x01, 0x02, 0x03]), from, to, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_walks_all_eight_steps_while_the_daemon_runs() {
    let stack = Stack::get();
    let mailbox = "svc-steps@egov.test";
    let ion = "ion-steps@primaria.test";
    let setup = Setup::new(stack, mailbox, "");
    let daemon = setup.start();
    stack
        .deliver(
            ion,
            mailbox,
            &certificate_mail(&setup, ion, mailbox, "<s1@primaria.test>"),
        )
        .await;
    let first = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let token = intake::read(&first[0], &[]).case_token.expect("case token");

    // While the daemon holds the store, reads come from its snapshot.
    let listed = setup.cli(&["cases", "list", "--json"]);
    let case: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(case["id"], token.as_str());
    assert_eq!(case["steps_done"], serde_json::json!(["certificate"]));
    assert_eq!(case["next_step"], "form");
    assert_eq!(case["waiting_on"], "applicant");

    let steps = [
        "form",
        "contract",
        "integration_data",
        "test_access",
        "operational_tests",
        "production",
    ];
    for (i, step) in steps.iter().enumerate() {
        let out = setup.cli(&[
            "cases",
            "advance",
            &token.to_lowercase(),
            step,
            "--note",
            &format!("evidence {i}"),
            "--by",
            "ana.staff",
        ]);
        // Applied by the running daemon, under the user the socket saw, with the name.
        assert!(out.contains("(recorded by ana.staff ("), "{out}");
        assert!(!out.contains("daemon is stopped"), "{out}");
        let replies = stack.wait_for(ion, "INBOX", i + 2, WAIT).await;
        assert_eq!(replies.len(), i + 2, "one notice per step, none twice");
    }
    let replies = stack.messages(ion, "INBOX").await;
    daemon.stop();

    let mut notices: Vec<(String, String)> = replies[1..]
        .iter()
        .map(|raw| {
            let facts = intake::read(raw, &[]);
            assert_eq!(facts.case_token.as_deref(), Some(token.as_str()));
            assert!(!facts.in_reply_to.is_empty(), "threaded");
            assert_eq!(
                facts.subject.as_deref(),
                Some(format!("Re: Conectare MNotify [MNotify #{token}]").as_str()),
                "in the conversation the applicant started"
            );
            (facts.message_id.unwrap_or_default(), body(raw))
        })
        .collect();
    notices.sort_by_key(|(_, b)| {
        // Step number in the notice (the completion notice has none: last).
        b.split("pasul ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(99)
    });
    for (n, (_, text)) in [1, 2, 4, 5, 6].iter().zip(&notices) {
        assert!(
            text.contains(&format!("AGE a înregistrat ca realizat pasul {n} ")),
            "notice for step {n}: {text}"
        );
    }
    assert!(
        notices[1].1.contains("Pasul următor: Datele de integrare"),
        "after the contract, the integration data: {}",
        notices[1].1
    );
    let last = &notices.last().unwrap().1;
    assert!(
        last.contains("Integrarea sistemului dvs. cu MNotify este finalizată"),
        "{last}"
    );
    assert!(last.contains("[x] 8."), "{last}");

    // With the daemon stopped, the store itself: every step done, by whom, evidence.
    let shown = setup.cli(&["cases", "show", &token]);
    assert!(shown.contains("completed"), "{shown}");
    assert!(
        shown.contains("2. contract")
            && shown.contains("by ana.staff (")
            && shown.contains("): evidence 1"),
        "{shown}"
    );
    let csv = setup.cli(&["cases", "export", "--csv"]);
    let row = csv.lines().nth(1).expect("one case row");
    assert!(row.starts_with(&format!("{token},{ion},ro,")), "{row}");
    assert_eq!(
        row.split(',').filter(|f| f.starts_with("20")).count(),
        2 + 8
    );
    let waiting = setup.cli(&["cases", "list", "--waiting-on", "applicant"]);
    assert_eq!(waiting.trim(), "no cases match");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_changes_with_the_daemon_stopped_apply_at_once() {
    let stack = Stack::get();
    let mailbox = "svc-steps2@egov.test";
    let ana = "ana-steps2@scoala.test";
    let setup = Setup::new(stack, mailbox, "");
    stack
        .deliver(
            ana,
            mailbox,
            &certificate_mail(&setup, ana, mailbox, "<t1@scoala.test>"),
        )
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let first = stack.wait_for(ana, "INBOX", 1, WAIT).await;
    let token = intake::read(&first[0], &[]).case_token.unwrap();

    let out = setup.cli(&["cases", "advance", &token, "contract"]);
    assert!(
        out.contains("step 2 (contract/annex) done") && out.contains("next: 1. connection form"),
        "out of order is fine, the form is still next: {out}"
    );
    assert!(
        out.contains("the notice goes out when it runs"),
        "the daemon is stopped: {out}"
    );
    setup.cli(&["cases", "note", &token, "called them about the form"]);
    // The notice waits in the outbox until the daemon runs.
    assert_eq!(stack.messages(ana, "INBOX").await.len(), 1);
    setup.cli(&["run", "--once"]);
    let replies = stack.wait_for(ana, "INBOX", 2, WAIT).await;
    assert_eq!(replies.len(), 2, "one notice, the note sends nothing");
    let shown = setup.cli(&["cases", "show", &token]);
    assert!(shown.contains("note by"), "{shown}");

    // Mistakes are explained.
    let bad = setup.run_cli(&["cases", "advance", &token, "contrakt"]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("steps are form, contract"),
        "{err}"
    );
    let unknown = setup.run_cli(&["cases", "advance", "ZZZZZZ", "form"]);
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        !unknown.status.success() && err.contains("no case #ZZZZZZ"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_reaches_staff_with_the_accepted_certificate_attached() {
    let stack = Stack::get();
    let mailbox = "svc-digest@egov.test";
    let staff = "echipa-digest@egov.test";
    let ion = "ion-digest@primaria.test";
    let setup = Setup::new(stack, mailbox, &format!("[digest]\nto = [\"{staff}\"]\n"));
    let daemon = setup.start();
    let leaf = setup.leaf(&[0x6C, 0x01, 0x02, 0x03]);
    let raw = mail_with(&leaf, ion, mailbox, "<g1@primaria.test>");
    stack.deliver(ion, mailbox, &raw).await;
    stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let serial = mnotify_intake::certificate::Certificate::from_der(&leaf)
        .unwrap()
        .serial;

    // On demand, while the daemon runs: printed through the daemon.
    let printed = setup.cli(&["digest", "--print"]);
    assert!(
        printed.contains("Certificates accepted (the .cer files are attached) (1)"),
        "{printed}"
    );
    assert!(printed.contains(&format!("serial {serial}")), "{printed}");
    assert!(printed.contains(ion), "{printed}");

    let out = setup.cli(&["digest", "--send"]);
    assert!(out.contains("queued by the running daemon"), "{out}");
    let got = stack.wait_for(staff, "INBOX", 1, WAIT).await;
    daemon.stop();
    let msg = mail_parser::MessageParser::default()
        .parse(&got[0])
        .unwrap();
    let subject = msg.subject().unwrap();
    // The mailbox's digest covers every service, and says so.
    assert!(
        subject.starts_with("Platform services digest, "),
        "{subject}"
    );
    assert!(msg.body_html(0).unwrap().contains("<table"), "an HTML part");
    assert!(msg.body_text(0).unwrap().contains(&serial), "a text part");
    let cer = msg
        .attachments()
        .find(|a| a.attachment_name() == Some(format!("{serial}.cer").as_str()))
        .expect("the accepted certificate is attached");
    let parsed = mnotify_intake::certificate::Certificate::from_der(cer.contents())
        .expect("the attachment is the certificate");
    assert_eq!(parsed.der, leaf);
    // The digest is ours: never answered, never taken for an applicant's mail.
    assert!(intake::read(&got[0], &[]).automatic.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_data_in_a_reply_completes_step_four_and_is_echoed() {
    let stack = Stack::get();
    let mailbox = "svc-integ@egov.test";
    let ion = "ion-integ@primaria.test";
    let setup = Setup::new(stack, mailbox, "");
    stack
        .deliver(
            ion,
            mailbox,
            &certificate_mail(&setup, ion, mailbox, "<i1@primaria.test>"),
        )
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let first = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let token = intake::read(&first[0], &[]).case_token.unwrap();

    let mut data = Mail::new(ion, &format!("Re: Conectare MNotify [MNotify #{token}]"))
        .message_id("<i2@primaria.test>")
        .text(
            "Bună ziua,\n\nDatele de integrare:\n\
             - Denumirea sistemului în MPass: SIA Evidența Cetățenilor\n\
             - IP pentru mediul de testare: 176.123.4.10\n\
             - IP pentru mediul de producție: 176.123.4.11\n\
             - Canale de notificare: e-mail, SMS\n",
        );
    data.to = mailbox.to_string();
    stack.deliver(ion, mailbox, &data.build()).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let replies = stack.wait_for(ion, "INBOX", 2, WAIT).await;
    let echo = replies
        .iter()
        .map(|r| body(r))
        .find(|b| b.contains("Datele de integrare citite"))
        .expect("the data is echoed back");
    assert!(echo.contains("SIA Evidența Cetățenilor"), "{echo}");
    assert!(echo.contains("mediul de producție: 176.123.4.11"), "{echo}");
    assert!(echo.contains("pasul 4 este realizat"), "{echo}");
    assert!(
        !echo.contains("avem nevoie de certificatul"),
        "no second request for the certificate: {echo}"
    );
    let shown = setup.cli(&["cases", "show", &token]);
    assert!(
        shown.contains("[x] 4. integration_data") && shown.contains("176.123.4.11"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_registry_import_work_while_the_daemon_runs() {
    let stack = Stack::get();
    let mailbox = "svc-live@egov.test";
    let ana = "ana-live@scoala.test";
    let setup = Setup::new(stack, mailbox, "");
    let daemon = setup.start();
    setup.wait_until_connected();
    // The daemon holds the store: staff commands are answered through it.
    let status: serde_json::Value =
        serde_json::from_str(&setup.cli(&["status", "--json"])).expect("status JSON");
    assert_eq!(status["cases"], 0, "{status}");

    // A broken request on the control socket is refused with the reason; the daemon
    // goes on.
    {
        use std::io::{BufRead, Write};
        let mut socket =
            std::os::unix::net::UnixStream::connect(setup.dir.path().join("store.sock")).unwrap();
        socket.write_all(b"{ not json\n").unwrap();
        let mut why = String::new();
        std::io::BufReader::new(socket).read_line(&mut why).unwrap();
        assert!(
            why.contains("refused") && why.contains("unreadable request"),
            "{why}"
        );
    }
    setup.cli(&["status", "--json"]);

    let leaf = setup.leaf(&[0x7E, 0x55, 0x66, 0x77]);
    let file = setup.dir.path().join("msign.cer");
    std::fs::write(&file, &leaf).unwrap();
    let out = setup.cli(&[
        "registry",
        "import",
        "--service",
        "MSign",
        "--institution",
        "Școala Test",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.contains("1 added") && out.contains("through the running daemon"),
        "{out}\ndaemon log:\n{}",
        setup.log()
    );

    let mut m = Mail::new(ana, "MNotify")
        .message_id("<l1@scoala.test>")
        .text("Folosim certificatul existent MSign, numărul de serie 7E 55 66 77.");
    m.to = mailbox.to_string();
    stack.deliver(ana, mailbox, &m.build()).await;
    let replies = stack.wait_for(ana, "INBOX", 1, WAIT).await;
    assert!(
        // Confirmed, and what it is registered for is not said (no registry oracle).
        body(&replies[0]).contains("Am confirmat că certificatul indicat este deja înregistrat")
            && !body(&replies[0]).contains("MSign,"),
        "the certificate imported while running is known: {}",
        body(&replies[0])
    );
    let status: serde_json::Value =
        serde_json::from_str(&setup.cli(&["status", "--json"])).unwrap();
    assert_eq!(status["messages"]["reuse_confirmed"], 1, "{status}");
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_in_the_thread_belongs_to_the_case_without_token_or_mnotify() {
    let stack = Stack::get();
    let mailbox = "svc-thread@egov.test";
    let ion = "ion-thread@primaria.test";
    let setup = Setup::new(stack, mailbox, "");
    stack
        .deliver(
            ion,
            mailbox,
            &certificate_mail(&setup, ion, mailbox, "<t1@primaria.test>"),
        )
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let first = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let ours = intake::read(&first[0], &[]).message_id.unwrap();

    // Outlook-style: new subject, no token, no "MNotify", but In-Reply-To our reply.
    let mut follow = Mail::new(ion, "RE: documente")
        .message_id("<t2@primaria.test>")
        .header("In-Reply-To", &format!("<{ours}>"))
        .text("Bună ziua, formularul a fost trimis prin poștă ieri.");
    follow.to = mailbox.to_string();
    stack.deliver(ion, mailbox, &follow.build()).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    assert_eq!(
        stack.messages(mailbox, "Processed").await.len(),
        2,
        "filed as case mail, not left for people"
    );
    assert!(stack.messages(mailbox, "Needs-Human").await.is_empty());
    let replies = stack.wait_for(ion, "INBOX", 2, WAIT).await;
    let second = replies
        .iter()
        .map(|r| intake::read(r, &[]))
        .find(|f| f.in_reply_to == vec!["t2@primaria.test".to_string()])
        .expect("the follow-up is answered in its thread");
    assert_eq!(
        second.case_token,
        intake::read(&first[0], &[]).case_token,
        "same case"
    );
}

/// A question in a case under way reaches a person: the answer says so, the case waits
/// on the agency (`cases list`, `cases show`) until staff mark it answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applicants_question_waits_for_a_person() {
    let stack = Stack::get();
    let mailbox = "svc-question@egov.test";
    let ana = "ana-question@scoala.test";
    let setup = Setup::new(stack, mailbox, "");
    stack
        .deliver(
            ana,
            mailbox,
            &certificate_mail(&setup, ana, mailbox, "<qa1@scoala.test>"),
        )
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let first = stack.wait_for(ana, "INBOX", 1, WAIT).await;
    let first = intake::read(&first[0], &[]);
    let token = first.case_token.clone().expect("a case");

    let mut follow = Mail::new(ana, &format!("Re: Conectare MNotify [MNotify #{token}]"))
        .message_id("<qa2@scoala.test>")
        .header(
            "In-Reply-To",
            &format!("<{}>", first.message_id.as_deref().unwrap()),
        )
        .text("Bună ziua. Când putem semna contractul? Mulțumim.");
    follow.to = mailbox.to_string();
    stack.deliver(ana, mailbox, &follow.build()).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let replies = stack.wait_for(ana, "INBOX", 2, WAIT).await;
    let answer = replies
        .iter()
        .map(|r| intake::read(r, &[]))
        .find(|f| {
            f.in_reply_to
                .iter()
                .any(|id| id.contains("qa2@scoala.test"))
        })
        .expect("the answer to the question");
    let raw = replies
        .iter()
        .find(|r| intake::read(r, &[]).message_id == answer.message_id)
        .unwrap();
    let text = mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap();
    assert!(text.contains("un coleg vă va răspunde"), "{text}");

    let waiting = setup.cli(&["cases", "list", "--waiting-on", "age"]);
    assert!(
        waiting.contains(&token) && waiting.contains("agency: an answer"),
        "{waiting}"
    );
    let shown = setup.cli(&["cases", "show", &token]);
    assert!(
        shown.contains("open question") && shown.contains("Când putem semna contractul?"),
        "{shown}"
    );
    // `status` shows the question beside the decisions (its mail's stays need_certificate).
    let status = setup.cli(&["status"]);
    assert!(
        status.contains("questions waiting for a person's answer: 1"),
        "{status}"
    );
    assert!(status.contains("cases: 1 (MNotify 1)"), "{status}");
    assert!(
        shown.contains("response time (an answer): 0.") && shown.contains("of 7 working days used"),
        "the question's clock runs from its mail: {shown}"
    );
    // Not late today; in three weeks (fifteen working days at least) overdue.
    assert_eq!(
        setup.cli(&["cases", "list", "--overdue"]).trim(),
        "no cases match"
    );
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(21))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let late = setup.cli(&["cases", "list", "--overdue", "--now", &later]);
    assert!(
        late.contains(&token) && late.contains("OVERDUE by"),
        "{late}"
    );
    let json = setup.cli(&["cases", "list", "--overdue", "--now", &later, "--json"]);
    let line: serde_json::Value = serde_json::from_str(json.trim()).expect("one JSON line");
    assert_eq!(line["response"]["standing"], "overdue", "{json}");
    assert_eq!(line["response"]["owed"], "answer", "{json}");
    let done = setup.cli(&["cases", "answered", &token, "--note", "replied by mail"]);
    assert!(done.contains("question marked answered"), "{done}");
    let waiting = setup.cli(&["cases", "list", "--waiting-on", "age"]);
    assert_eq!(waiting.trim(), "no cases match");
    // Answered: the clock ended, nothing is late however long it waits on the applicant.
    assert_eq!(
        setup
            .cli(&["cases", "list", "--overdue", "--now", &later])
            .trim(),
        "no cases match"
    );
    assert!(setup
        .cli(&["cases", "show", &token])
        .contains("question answered by"));
}

/// Outlook in rich-text mode sends the certificate inside `winmail.dat`: it is found,
/// accepted, and the applicant is not asked for it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_inside_winmail_dat_is_accepted() {
    let stack = Stack::get();
    let mailbox = "svc-tnef@egov.test";
    let ana = "ana-tnef@primaria.test";
    let setup = Setup::new(stack, mailbox, "");
    let leaf = setup.leaf(&[0x6C, 0x0E, 0xF0]);
    let tnef = mnotify_intake::testkit::mail::winmail_dat(&[("sistem.cer", leaf.as_slice())]);
    let mut m = Mail::new(ana, "Conectare MNotify")
        .message_id("<tnef1@primaria.test>")
        .text("Bună ziua, anexăm certificatul de sistem pentru conectarea la MNotify.")
        .attach("winmail.dat", "application/ms-tnef", &tnef);
    m.to = mailbox.to_string();
    stack.deliver(ana, mailbox, &m.build()).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let replies = stack.wait_for(ana, "INBOX", 1, WAIT).await;
    let text = body(&replies[0]);
    assert!(text.contains("Am primit certificatul de sistem"), "{text}");
    let status = setup.status();
    assert_eq!(status["messages"]["new_certificate"], 1, "{status}");
}

/// A certificate per environment: the file names say which is which; production
/// cannot be recorded before its own certificate is in; the digest and `cases show`
/// say which certificate is for what.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_and_production_certificates_are_kept_apart() {
    let stack = Stack::get();
    let mailbox = "svc-env@egov.test";
    let ion = "ion-env@primaria.test";
    let setup = Setup::new(stack, mailbox, "[digest]\nto = [\"staff-env@egov.test\"]\n");
    let send = |id: &str, name: &str, serial: &[u8], subject: String| {
        let leaf = setup.leaf(serial);
        let mut m = Mail::new(ion, &subject)
            .message_id(id)
            .text("Bună ziua, anexăm certificatul pentru conectarea la MNotify.")
            .attach(name, "application/pkix-cert", &leaf);
        m.to = mailbox.to_string();
        m.build()
    };
    let first = send(
        "<env1@primaria.test>",
        "SI_test.cer",
        &[0x7A, 0x01, 0x01],
        "Conectare MNotify".into(),
    );
    stack.deliver(ion, mailbox, &first).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let replies = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let token = intake::read(&replies[0], &[]).case_token.expect("a case");

    let shown = setup.cli(&["cases", "show", &token]);
    assert!(shown.contains("test         serial 7A0101"), "{shown}");
    let refused = setup.run_cli(&["cases", "advance", &token, "production"]);
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && why.contains("certificate for production"),
        "{why}"
    );

    let second = send(
        "<env2@primaria.test>",
        "SI_productie.cer",
        &[0x7A, 0x02, 0x02],
        format!("Re: Conectare MNotify [MNotify #{token}]"),
    );
    stack.deliver(ion, mailbox, &second).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    stack.wait_for(ion, "INBOX", 2, WAIT).await;
    let shown = setup.cli(&["cases", "show", &token]);
    assert!(
        shown.contains("test         serial 7A0101")
            && shown.contains("production   serial 7A0202"),
        "{shown}"
    );
    // Production now waits only on its steps, not on a certificate.
    let refused = setup.run_cli(&["cases", "advance", &token, "production"]);
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("done first") && !why.contains("certificate for"),
        "{why}"
    );
    let digest = setup.cli(&["digest", "--print"]);
    assert!(
        digest.contains("for the test environment")
            && digest.contains("for the production environment"),
        "{digest}"
    );
}

/// The registry says which system and environment a certificate serves: quoting it for
/// another system is refused with that reason; for its own system it is a reuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_certificate_is_reused_only_for_its_own_system() {
    let stack = Stack::get();
    let mailbox = "svc-reuse-system@egov.test";
    let (ana, ion) = ("ana-reuse@primaria.test", "ion-reuse@primaria.test");
    let setup = Setup::new(stack, mailbox, "");
    let csv = setup.dir.path().join("mpass.csv");
    std::fs::write(
        &csv,
        "service,institution,serial,issuer,sha1,not_after,status,environment,system\n\
         MPass,Primăria Test,6E01A2B3C4D5,CN=STISC,,31.12.2030,active,production,SI Registrul\n",
    )
    .unwrap();
    let imported = setup.cli(&["registry", "import", csv.to_str().unwrap()]);
    assert!(imported.contains("1"), "{imported}");
    for (who, id, system) in [
        (ana, "<reuse1@primaria.test>", "SI Cantine"),
        (ion, "<reuse2@primaria.test>", "SI Registrul"),
    ] {
        let mut m = Mail::new(who, "Conectare MNotify")
            .message_id(id)
            .text(&format!(
                "Folosim certificatul existent pentru MNotify, seria 6E 01 A2 B3 C4 D5.\nDenumirea sistemului în MPass: {system}\n"
            ));
        m.to = mailbox.to_string();
        stack.deliver(who, mailbox, &m.build()).await;
    }
    stack.wait_for(mailbox, "INBOX", 2, WAIT).await;
    setup.cli(&["run", "--once"]);
    let refused = body(&stack.wait_for(ana, "INBOX", 1, WAIT).await[0]);
    assert!(
        refused.contains("înregistrat la alt serviciu pentru alt sistem informațional"),
        "{refused}"
    );
    let reused = body(&stack.wait_for(ion, "INBOX", 1, WAIT).await[0]);
    assert!(
        reused.contains("poate fi reutilizat pentru MNotify"),
        "{reused}"
    );
}

/// Staff merge two cases of one system (two employees wrote separately) and split
/// one off for another system: the merged case's thread joins the case that stays;
/// both timelines say who did what; another institution's case is never merged in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_merge_and_split_cases_and_mail_follows() {
    let stack = Stack::get();
    let mailbox = "svc-merge@egov.test";
    let (ion, ana, eve) = (
        "ion-merge@inst-a.test",
        "ana-merge@inst-a.test",
        "eve-merge@inst-b.test",
    );
    let setup = secure(stack, mailbox, "");
    let mut tokens = Vec::new();
    for (n, who) in [ion, ana, eve].into_iter().enumerate() {
        let id = format!("<merge{n}@inst.test>");
        let m = mail(
            who,
            mailbox,
            "Conectare MNotify",
            &id,
            "Dorim conectarea la MNotify.",
        );
        signed_then_run(stack, &setup, who, mailbox, &m.build()).await;
        let replies = stack.wait_for(who, "INBOX", 1, WAIT).await;
        tokens.push(token_of(&replies[0]));
    }
    let (a, b, e) = (&tokens[0], &tokens[1], &tokens[2]);
    assert_ne!(a, b);

    let other = setup.run_cli(&["cases", "merge", a, e]);
    let why = String::from_utf8_lossy(&other.stderr);
    assert!(
        !other.status.success() && why.contains("two institutions"),
        "{why}"
    );
    let done = setup.cli(&["cases", "merge", a, b, "--note", "același sistem"]);
    assert!(
        done.contains(&format!("case #{b} merged into #{a}")),
        "{done}"
    );
    assert!(shown(&setup, b).contains(&format!("merged into case #{a}")));
    assert!(shown(&setup, a).contains(&format!("case #{b} merged into this one")));
    let json = case_json(&setup, b);
    assert_eq!(json["merged_into"], a.as_str(), "{json}");

    // Ana answers in her old case's thread: the mail joins the case that stayed.
    let follow = mail(
        ana,
        mailbox,
        &format!("Re: Conectare MNotify [MNotify #{b}]"),
        "<merge-follow@inst-a.test>",
        "Revenim cu detalii pentru MNotify.",
    );
    signed_then_run(stack, &setup, ana, mailbox, &follow.build()).await;
    let replies = stack.wait_for(ana, "INBOX", 2, WAIT).await;
    let answer = replies
        .iter()
        .find(|r| {
            mnotify_intake::intake::read(r, &[])
                .in_reply_to
                .iter()
                .any(|i| i.contains("merge-follow"))
        })
        .expect("the answer to the follow-up");
    assert_eq!(&token_of(answer), a, "answered in the case that stayed");

    let split = setup.cli(&["cases", "split", a, "--system", "SI Cantine"]);
    assert!(split.contains(&format!("split off #{a}")), "{split}");
    let listed = setup.cli(&["cases", "list", "--json"]);
    let new = listed
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|c| c["id"] != a.as_str() && c["id"] != b.as_str() && c["applicant"] == ion)
        .unwrap_or_else(|| panic!("the new case in {listed}"));
    let c = new["id"].as_str().unwrap().to_string();
    assert!(shown(&setup, &c).contains(&format!("split off case #{a} for SI Cantine")));
    assert!(shown(&setup, a).contains(&format!("case #{c} for SI Cantine split off")));
}
