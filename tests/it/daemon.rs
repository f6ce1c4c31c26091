//! End to end on real Dovecot and Postfix: applicants mail the shared mailbox over SMTP,
//! the daemon (the real binary) answers over SMTP, files the mail over IMAP, and the
//! applicants' own mailboxes hold the replies.

use std::time::{Duration, Instant};

use mnotify_intake::intake;
use mnotify_intake::mailbox::Mailbox;
use mnotify_intake::serials::canonical_serial_from_bytes;

use crate::mail::{body, mail, question};
use crate::service::Setup;
use crate::stack::{on_each_server, Stack};

const WAIT: Duration = Duration::from_secs(30);

on_each_server! {
    async fn applicant_conversation_is_answered_threaded_and_filed(stack) {
        let mailbox = "svc-conv@egov.test";
        let ion = "ion-conv@primaria.test";
        let setup = Setup::new(stack, mailbox, "");
        // A certificate already registered for MPass, known by its file.
        let known = setup.leaf(&[0x4A, 0x11, 0x22, 0x33, 0x44]);
        let known_path = setup.dir.path().join("mpass.cer");
        std::fs::write(&known_path, &known).unwrap();
        setup.cli(&[
            "registry",
            "import",
            "--service",
            "MPass",
            "--institution",
            "Primăria Test",
            known_path.to_str().unwrap(),
        ]);
        let daemon = setup.start();

        // `inspect` still works while the daemon holds the store: it reads the registry the
        // daemon loaded (here: the MPass certificate, found by its quoted serial).
        let quoted = setup.dir.path().join("quoted.eml");
        std::fs::write(
            &quoted,
            mail(
                ion,
                mailbox,
                "MNotify",
                "<q0@primaria.test>",
                "Certificatul MPass are seria 4A 11 22 33 44.",
            )
            .build(),
        )
        .unwrap();
        let start = Instant::now();
        let inspected = loop {
            // The daemon answers on its control socket once it has started.
            let out = setup.run_cli(&["inspect", "--json", quoted.to_str().unwrap()]);
            if out.status.success() || start.elapsed() > WAIT {
                break String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr);
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(
            inspected.contains("\"decision\":\"reuse_confirmed\""),
            "{inspected}"
        );

        // 1. A new certificate, attached.
        let leaf = setup.leaf(&[0x5B, 0x01, 0x02, 0x03, 0x04]);
        let first = mail(
            &format!("Ion Popescu <{ion}>"),
            mailbox,
            "Certificat pentru MNotify",
            "<c1@primaria.test>",
            "Bună ziua, anexăm certificatul de sistem pentru conectarea la MNotify.",
        )
        .attach("certificat sistem.cer", "application/pkix-cert", &leaf);
        let sent_at = Instant::now();
        stack.deliver(ion, mailbox, &first.build()).await;
        let replies = stack.wait_for(ion, "INBOX", 1, WAIT).await;
        let latency = sent_at.elapsed();
        assert!(
            latency < Duration::from_secs(10),
            "IDLE should bring the reply within seconds, took {latency:?}"
        );
        let reply = intake::read(&replies[0], &[]);
        assert_eq!(
            reply.in_reply_to,
            vec!["c1@primaria.test".to_string()],
            "threaded to the applicant's mail"
        );
        let token = reply.case_token.clone().expect("case token in the subject");
        assert!(reply
            .subject
            .as_deref()
            .unwrap()
            .starts_with("Re: Certificat pentru MNotify [MNotify #"));
        let raw = String::from_utf8_lossy(&replies[0]).into_owned();
        assert!(raw.contains("Auto-Submitted: auto-replied"), "{raw}");
        assert!(raw.contains("X-Auto-Response-Suppress: All"));
        let text = body(&replies[0]);
        assert!(
            text.contains("nu este încă înregistrat la AGE"),
            "Romanian new-certificate reply: {text}"
        );
        assert!(
            text.contains(&canonical_serial_from_bytes(&[
                0x5B, 0x01, 0x02, 0x03, 0x04
            ])),
            "{text}"
        );

        // 2. A reply to our reply, quoting the serial of the MPass certificate: same case.
        let our_id = reply.message_id.clone().expect("reply has a Message-ID");
        let mut second = mail(
            ion,
            mailbox,
            &format!("Re: Certificat pentru MNotify [MNotify #{token}]"),
            "<c2@primaria.test>",
            "De fapt folosim certificatul din MPass, numărul de serie 4A 11 22 33 44.",
        );
        second = second
            .header("In-Reply-To", &format!("<{our_id}>"))
            .header("References", &format!("<c1@primaria.test> <{our_id}>"));
        stack.deliver(ion, mailbox, &second.build()).await;
        let replies = stack.wait_for(ion, "INBOX", 2, WAIT).await;
        let second_reply = replies
            .iter()
            .map(|r| intake::read(r, &[]))
            .find(|f| f.in_reply_to == vec!["c2@primaria.test".to_string()])
            .expect("reply to the second mail");
        assert_eq!(
            second_reply.case_token.as_deref(),
            Some(token.as_str()),
            "the follow-up joined its case"
        );
        assert!(
            second_reply.references.contains(&our_id),
            "References carry the whole thread"
        );

        // 3. A bounce and an out-of-office: filed, never answered.
        let bounce = mail(
            "MAILER-DAEMON@primaria.test",
            mailbox,
            "Undelivered Mail Returned to Sender",
            "<b1@primaria.test>",
            "Your message about MNotify could not be delivered.",
        );
        stack
            .deliver("MAILER-DAEMON@primaria.test", mailbox, &bounce.build())
            .await;
        let ooo = mail(
            ion,
            mailbox,
            &format!("Automatic reply: Re: Certificat pentru MNotify [MNotify #{token}]"),
            "<o1@primaria.test>",
            "Sunt în concediu până luni.",
        )
        .header("Auto-Submitted", "auto-replied");
        stack.deliver(ion, mailbox, &ooo.build()).await;
        // 4. Mail that is not about MNotify: left for people.
        let other = mail(
            "maria@alt.test",
            mailbox,
            "Întrebare despre MPay",
            "<x1@alt.test>",
            "Cum plătim taxa de stat?",
        );
        stack
            .deliver("maria@alt.test", mailbox, &other.build())
            .await;

        stack.wait_for(mailbox, "Processed", 4, WAIT).await;
        stack.wait_for(mailbox, "Needs-Human", 1, WAIT).await;
        daemon.stop();
        assert!(
            stack.messages(mailbox, "INBOX").await.is_empty(),
            "the inbox is left empty"
        );
        assert_eq!(
            stack.messages(ion, "INBOX").await.len(),
            2,
            "no reply to the bounce or the out-of-office"
        );
        assert!(
            stack.messages("maria@alt.test", "INBOX").await.is_empty(),
            "no reply to unrelated mail"
        );
        assert_eq!(
            stack.messages(mailbox, "Sent").await.len(),
            2,
            "a copy of each reply in Sent"
        );

        let status = setup.status();
        assert_eq!(status["messages"]["new_certificate"], 1, "{status}");
        assert_eq!(status["messages"]["reuse_confirmed"], 1, "{status}");
        assert_eq!(status["messages"]["ignored_automatic"], 2, "{status}");
        assert_eq!(status["messages"]["not_applicable"], 1, "{status}");
        assert_eq!(status["cases"], 1, "{status}");
        assert_eq!(status["outbox"]["sent"], 2, "{status}");
        assert_eq!(status["outbox"]["failed"], 0, "{status}");
    }
}

on_each_server! {
    async fn draft_mode_leaves_replies_for_staff_to_send(stack) {
        let mailbox = "svc-draft@egov.test";
        let ana = "ana-draft@scoala.test";
        let setup = Setup::new(stack, mailbox, "[reply]\nmode = \"draft\"\n");
        let daemon = setup.start();
        let m = mail(
            ana,
            mailbox,
            "Conectare MNotify",
            "<d1@scoala.test>",
            "Vrem să ne conectăm la MNotify. Ce trebuie să trimitem?",
        );
        stack.deliver(ana, mailbox, &m.build()).await;
        let drafts = stack.wait_for(mailbox, "Drafts", 1, WAIT).await;
        stack.wait_for(mailbox, "Processed", 1, WAIT).await;
        daemon.stop();
        let draft = intake::read(&drafts[0], &[]);
        assert_eq!(draft.in_reply_to, vec!["d1@scoala.test".to_string()]);
        assert!(String::from_utf8_lossy(&drafts[0]).contains(&format!("To: <{ana}>")));
        assert!(
            stack.messages(ana, "INBOX").await.is_empty(),
            "nothing is sent in draft mode"
        );
        assert!(stack.messages(mailbox, "Sent").await.is_empty());

        // As after a crash between the APPEND and the store's record of it: the draft is
        // saved again from the outbox, and its Message-ID is already in Drafts.
        {
            let store = mnotify_intake::store::Store::open(&setup.dir.path().join("store")).unwrap();
            let mut entries = store.outbox().unwrap();
            assert_eq!(entries.len(), 1);
            let mut entry = entries.remove(0);
            entry.copied = false;
            entry.state = mnotify_intake::record::OutboxState::Pending;
            store.update_outbox(&entry).unwrap();
            store.flush().unwrap();
        }
        setup.cli(&["run", "--once"]);
        assert_eq!(
            stack.count(mailbox, "Drafts").await,
            1,
            "the draft is there once"
        );
    }
}

on_each_server! {
    async fn reply_cap_and_size_limit(stack) {
        let mailbox = "svc-limits@egov.test";
        let vasile = "vasile-limits@spital.test";
        let setup = Setup::new(
            stack,
            mailbox,
            "[reply]\nmax_per_recipient_per_day = 2\nmax_message_bytes = 200000\n",
        );
        for i in 0..3 {
            let m = mail(
                vasile,
                mailbox,
                "MNotify",
                &format!("<cap{i}@spital.test>"),
                "Conectare la MNotify, vă rog.",
            );
            stack.deliver(vasile, mailbox, &m.build()).await;
        }
        let big = mail(
            "mare-limits@spital.test",
            mailbox,
            "Scanări MNotify",
            "<big@spital.test>",
            "Anexăm documentele.",
        )
        .attach("scan.pdf", "application/pdf", &vec![b'x'; 400_000]);
        stack
            .deliver("mare-limits@spital.test", mailbox, &big.build())
            .await;
        stack.wait_for(mailbox, "INBOX", 4, WAIT).await;
        let daemon = setup.start();
        // The third mail met the cap: it waits for staff with the oversized one.
        stack.wait_for(mailbox, "Processed", 2, WAIT).await;
        stack.wait_for(mailbox, "Needs-Human", 2, WAIT).await;
        let told = stack
            .wait_for("mare-limits@spital.test", "INBOX", 1, WAIT)
            .await;
        stack.wait_for(vasile, "INBOX", 2, WAIT).await;
        daemon.stop();
        assert_eq!(
            stack.messages(vasile, "INBOX").await.len(),
            2,
            "at most 2 automatic replies a day"
        );
        let text = body(&told[0]);
        assert!(
            text.contains("1 MB"),
            "the sender is told the limit: {text}"
        );
        let status = setup.status();
        assert_eq!(status["messages"]["oversized"], 1, "{status}");
    }
}

on_each_server! {
/// The other connection mode and the other wait: STARTTLS on the IMAP port and plain
/// polling with IDLE turned off (servers without IDLE).
    async fn starttls_and_polling_without_idle(stack) {
        let mailbox = "svc-poll@egov.test";
        let dan = "dan-poll@primaria.test";
        let setup = Setup::new(stack, mailbox, "");
        let text = std::fs::read_to_string(&setup.config).unwrap();
        let implicit = format!("port = {}\ntls = \"implicit\"\n", stack.imaps_port);
        assert!(text.contains(&implicit), "config layout changed: {text}");
        let starttls = format!(
            "port = {}\ntls = \"starttls\"\nidle = false\npoll_seconds = 1\n",
            stack.imap_port()
        );
        std::fs::write(&setup.config, text.replace(&implicit, &starttls)).unwrap();
        let daemon = setup.start();
        let m = mail(
            dan,
            mailbox,
            "MNotify",
            "<p1@primaria.test>",
            "Ce trebuie să trimitem pentru conectarea la MNotify?",
        );
        stack.deliver(dan, mailbox, &m.build()).await;
        let replies = stack.wait_for(dan, "INBOX", 1, WAIT).await;
        stack.wait_for(mailbox, "Processed", 1, WAIT).await;
        daemon.stop();
        let log = setup.log();
        assert!(
            log.contains("tls=Starttls") && log.contains("idle=false"),
            "STARTTLS and polling: {log}"
        );
        assert_eq!(
            intake::read(&replies[0], &[]).in_reply_to,
            vec!["p1@primaria.test".to_string()]
        );
    }
}

/// A UIDVALIDITY change renumbers every message: mail already handled comes back under
/// new UIDs and must be recognised (by Message-ID), filed, and not answered again; new
/// mail is still handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uidvalidity_change_answers_nothing_twice() {
    let stack = Stack::get();
    let mailbox = "svc-uidv@egov.test";
    let ana = "ana-uidv@scoala.test";
    let dan = "dan-uidv@scoala.test";
    let setup = Setup::new(stack, mailbox, "");
    let first = question(ana, mailbox, "<u1@scoala.test>").build();
    stack.deliver(ana, mailbox, &first).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    assert_eq!(stack.messages(ana, "INBOX").await.len(), 1, "answered once");
    let handled = stack.messages(mailbox, "Processed").await;
    assert_eq!(handled.len(), 1);

    // The same mail back in the inbox (as after a server migration), new UIDVALIDITY,
    // and one new mail.
    stack.append_all(mailbox, "INBOX", &handled).await;
    let before = stack.uid_validity(mailbox, "INBOX").await;
    stack.set_uid_validity(mailbox, "INBOX", before + 1000);
    assert_eq!(stack.uid_validity(mailbox, "INBOX").await, before + 1000);
    let second = question(dan, mailbox, "<u2@scoala.test>").build();
    stack.deliver(dan, mailbox, &second).await;
    stack.wait_for(mailbox, "INBOX", 2, WAIT).await;
    setup.cli(&["run", "--once"]);

    assert!(
        stack.messages(mailbox, "INBOX").await.is_empty(),
        "both filed"
    );
    assert_eq!(stack.messages(mailbox, "Processed").await.len(), 3);
    assert_eq!(
        stack.messages(dan, "INBOX").await.len(),
        1,
        "new mail answered"
    );
    assert_eq!(
        stack.messages(ana, "INBOX").await.len(),
        1,
        "the renumbered mail is not answered again"
    );
    let status = setup.status();
    assert_eq!(status["messages"]["need_certificate"], 2, "{status}");
    assert_eq!(status["outbox"]["sent"], 2, "{status}");
}

on_each_server! {
/// A wrong password at start is a configuration error: the daemon stops at once and
/// says what to fix (it does not retry forever in silence).
    async fn wrong_password_at_start_stops_with_a_clear_error(stack) {
        let setup = Setup::new(stack, "svc-badpw@egov.test", "");
        let wrong = setup.dir.path().join("wrong-password");
        std::fs::write(&wrong, "not-the-password\n").unwrap();
        let text = std::fs::read_to_string(&setup.config).unwrap();
        let ours = stack.password_file().display().to_string();
        std::fs::write(
            &setup.config,
            text.replace(&ours, &wrong.display().to_string()),
        )
        .unwrap();
        let out = setup.run_cli(&["run", "--once"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "must fail: {stderr}");
        assert!(
            stderr.contains("login as svc-badpw@egov.test was refused")
                && stderr.contains("check [imap] user and the password"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("not-the-password"),
            "secret leaked: {stderr}"
        );
    }
}

on_each_server! {
/// A shared mailbox's inbox holds years of mail: the daemon's first start must not
/// answer it (`[imap] backlog = "leave"`, the default). Mail already there stays
/// untouched; mail arriving from the first start on is handled.
    async fn mail_already_in_the_inbox_at_the_first_start_is_left_alone(stack) {
        let mailbox = "svc-backlog@egov.test";
        let ana = "ana-backlog@scoala.test";
        let dan = "dan-backlog@scoala.test";
        let setup = Setup::new(stack, mailbox, "");
        let text = std::fs::read_to_string(&setup.config).unwrap();
        assert!(text.contains("backlog = \"handle\"\n"), "{text}");
        std::fs::write(&setup.config, text.replace("backlog = \"handle\"\n", "")).unwrap();

        stack
            .deliver(
                ana,
                mailbox,
                &question(ana, mailbox, "<b1@scoala.test>").build(),
            )
            .await;
        stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
        // INTERNALDATE has whole seconds: the first start comes in a later one.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        setup.cli(&["run", "--once"]);
        assert_eq!(
            stack.count(mailbox, "INBOX").await,
            1,
            "history left in place"
        );
        assert_eq!(stack.count(mailbox, "Processed").await, 0);

        stack
            .deliver(
                dan,
                mailbox,
                &question(dan, mailbox, "<b2@scoala.test>").build(),
            )
            .await;
        stack.wait_for(mailbox, "INBOX", 2, WAIT).await;
        setup.cli(&["run", "--once"]);
        stack.wait_for(dan, "INBOX", 1, WAIT).await;
        assert_eq!(
            stack.count(ana, "INBOX").await,
            0,
            "the old mail is not answered"
        );
        assert_eq!(stack.count(mailbox, "INBOX").await, 1);
        assert_eq!(stack.count(mailbox, "Processed").await, 1);
        let status = setup.status();
        assert_eq!(status["messages"]["need_certificate"], 1);
        assert!(
            status["first_start"].is_string(),
            "status shows the first start: {status}"
        );
    }
}

/// An older server without MOVE and UIDPLUS (Dovecot told to announce neither): handled
/// mail is copied to Processed and flagged `\Deleted` but not expunged, since a plain
/// EXPUNGE would also remove what staff flagged; later scans skip it, so nothing is
/// answered or copied twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_server_without_move_or_uidplus() {
    let stack = Stack::private_with(
        "oldimap",
        &[("MAIL_STACK_IMAP_CAPABILITY", "IMAP4rev1 LITERAL+ IDLE")],
    );
    let mailbox = "svc-old@egov.test";
    let ana = "ana-old@scoala.test";
    let setup = Setup::new(&stack, mailbox, "");
    let asked = question(ana, mailbox, "<old1@scoala.test>");
    stack.deliver(ana, mailbox, &asked.build()).await;
    // A message staff flagged deleted but did not expunge: neither handled nor removed.
    let mut flagged = Mailbox::connect(&stack.imap(mailbox)).await.unwrap();
    flagged.ensure_folder("INBOX").await.unwrap();
    flagged
        .append(
            "INBOX",
            "(\\Deleted)",
            &mail(ana, mailbox, "MNotify", "<old0@scoala.test>", "MNotify?").build(),
        )
        .await
        .unwrap();
    flagged.logout().await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;

    setup.cli(&["run", "--once"]);
    stack.wait_for(ana, "INBOX", 1, WAIT).await;
    assert_eq!(stack.count(mailbox, "Processed").await, 1);
    assert_eq!(
        stack.count(mailbox, "INBOX").await,
        0,
        "nothing left undeleted"
    );

    setup.cli(&["run", "--once"]);
    assert_eq!(
        stack.count(mailbox, "Processed").await,
        1,
        "not copied twice"
    );
    assert_eq!(stack.messages(ana, "INBOX").await.len(), 1, "answered once");
    let inbox = stack
        .dir
        .join("mail/egov.test/svc-old/sdbox/mailboxes/INBOX/dbox-Mails");
    let files = std::fs::read_dir(&inbox)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("u."))
        })
        .count();
    assert_eq!(files, 2, "no EXPUNGE: both still in the inbox, flagged");
    assert_eq!(setup.status()["messages"]["need_certificate"], 1);
}

on_each_server! {
/// `check` tries every part on the real servers, changes nothing, and names what to fix.
    async fn check_tries_every_part_and_says_what_to_fix(stack) {
        let mailbox = "svc-check@egov.test";
        let setup = Setup::new(
            stack,
            mailbox,
            "[digest]\nto = [\"staff-check@egov.test\"]\n",
        );
        // The production default: the inbox's mail at the first start is history.
        let config = std::fs::read_to_string(&setup.config).unwrap();
        std::fs::write(&setup.config, config.replace("backlog = \"handle\"\n", "")).unwrap();
        let run = |setup: &Setup| {
            let out = setup.run_cli(&["check"]);
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        };
        let (ok, text) = run(&setup);
        assert!(ok, "{text}");
        for expected in [
            format!("logged in to localhost:{} as {mailbox}", stack.imaps_port),
            "IDLE yes, MOVE yes, UIDPLUS yes".into(),
            "INBOX holds 0 messages: the mailbox's history".into(),
            "do not exist yet".into(),
            format!(
                "logged in to localhost:{} as {mailbox}",
                stack.submission_port
            ),
            "no mail sent".into(),
            "all 42 replies and notices render".into(),
            "all checks passed".into(),
        ] {
            assert!(
                text.contains(&expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        assert_eq!(
            run(&setup).1.matches("do not exist yet").count(),
            1,
            "no folder created"
        );
        assert_eq!(
            stack.count("staff-check@egov.test", "INBOX").await,
            0,
            "no mail sent"
        );

        // A wrong SMTP password is one failed check, with the server's answer.
        let config = std::fs::read_to_string(&setup.config).unwrap();
        let password = format!(
            "password = {{ file = \"{}\" }}",
            stack.password_file().display()
        );
        let (imap_part, smtp_part) = config.split_at(config.rfind(&password).unwrap());
        let wrong = setup.dir.path().join("wrong");
        std::fs::write(&wrong, "wrong\n").unwrap();
        let smtp_part = smtp_part.replacen(
            &password,
            &format!("password = {{ file = \"{}\" }}", wrong.display()),
            1,
        );
        std::fs::write(&setup.config, format!("{imap_part}{smtp_part}")).unwrap();
        let (ok, text) = run(&setup);
        assert!(!ok, "{text}");
        assert!(
            text.contains("FAIL  SMTP") && text.contains("login to localhost refused"),
            "{text}"
        );
        assert!(text.contains("1 check(s) failed"), "{text}");
        assert!(!text.contains("wrong\n"), "the secret is not shown");
    }
}

on_each_server! {
/// Through a relay, a reply to a wrong address fails later: the relay accepts it and
/// the report comes back as mail. That report marks the reply failed, with the remote
/// server's reason, where `status` and the digest show it.
    async fn a_bounced_reply_is_marked_failed_when_the_report_arrives(stack) {
        let mailbox = "svc-bounce@egov.test";
        // The test stack's Postfix bounces everything to nowhere.test.
        let ion = "ion@nowhere.test";
        let setup = Setup::new(stack, mailbox, "");
        let asked = question(ion, mailbox, "<bounce1@nowhere.test>");
        stack.deliver(ion, mailbox, &asked.build()).await;
        stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
        setup.cli(&["run", "--once"]);
        assert_eq!(
            setup.status()["outbox"]["sent"],
            1,
            "the relay took the reply"
        );

        // Postfix's report comes back to the mailbox.
        let report = stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
        let file = setup.dir.path().join("report.eml");
        std::fs::write(&file, &report[0]).unwrap();
        let inspected: serde_json::Value =
            serde_json::from_str(&setup.cli(&["inspect", "--json", file.to_str().unwrap()]))
                .expect("inspect JSON");
        assert_eq!(inspected["decision"], "ignored_automatic");
        assert_eq!(inspected["bounce"]["recipient"], ion, "{inspected}");
        assert_eq!(inspected["bounce"]["status"], "5.1.1", "{inspected}");
        assert!(setup
            .cli(&["inspect", file.to_str().unwrap()])
            .contains("delivery report: message <mnotify."));
        setup.cli(&["run", "--once"]);
        let status = setup.status();
        assert_eq!(status["outbox"]["failed"], 1, "{status}");
        let error = status["failed"][0]["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("ion@nowhere.test") && error.contains("5.1.1"),
            "{error}"
        );
        assert_eq!(
            status["messages"]["ignored_automatic"], 1,
            "the report is not answered"
        );
        assert_eq!(stack.count(mailbox, "INBOX").await, 0);
        // Staff looking at the case see it too.
        let listed = setup.cli(&["cases", "list", "--json"]);
        let case: serde_json::Value = serde_json::from_str(listed.trim()).expect("one case");
        let token = case["id"].as_str().expect("the case").to_string();
        assert_eq!(case["unreachable"], true, "{case}");
        assert!(
            setup
                .cli(&["cases", "list"])
                .contains("1 of them unreachable by mail"),
            "the list says so"
        );
        let shown = setup.cli(&["cases", "show", &token]);
        assert!(
            shown.contains("our message to ion@nowhere.test did not arrive: bounced"),
            "{shown}"
        );
    }
}

/// A reply the SMTP server refuses outright (550 during the dialogue) is failed at once,
/// never retried, and shown by `status` and on the case's timeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_refused_for_good_is_not_retried() {
    let stack = Stack::get();
    let mailbox = "svc-refused@egov.test";
    // The test stack's Postfix refuses every recipient at refused.test.
    let ion = "ion@refused.test";
    let setup = Setup::new(stack, mailbox, "");
    let asked = question(ion, mailbox, "<refused1@refused.test>");
    stack.deliver(ion, mailbox, &asked.build()).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    setup.cli(&["run", "--once"]);
    let status = setup.status();
    assert_eq!(status["outbox"]["failed"], 1, "{status}");
    assert_eq!(status["outbox"]["pending"], 0, "{status}");
    assert_eq!(
        status["failed"][0]["attempts"], 1,
        "never retried: {status}"
    );
    let error = status["failed"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("550") && error.contains("5.1.1"), "{error}");
    let listed = setup.cli(&["cases", "list", "--json"]);
    let case: serde_json::Value = serde_json::from_str(listed.trim()).expect("one case");
    let shown = setup.cli(&["cases", "show", case["id"].as_str().unwrap()]);
    assert!(
        shown.contains("our message to ion@refused.test did not arrive"),
        "{shown}"
    );
}

/// The daemon started in-process by `daemon::serve`, as tests and benches may start it:
/// it answers a certificate, staff reach it through its control socket while it runs,
/// and on shutdown every task it started leaves before it returns: the socket is gone
/// and the store is free for a command to open directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_in_process_answers_and_every_task_leaves_on_shutdown() {
    use mnotify_intake::daemon::{serve, ServeOptions};
    let stack = Stack::get();
    let mailbox = "svc-serve@egov.test";
    let ion = "ion-serve@primaria.test";
    let setup = Setup::new(stack, mailbox, "");
    let config = mnotify_intake::config::Config::load(&setup.config).expect("the test config");
    let socket = config.control.socket.clone();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let serving = tokio::spawn(serve(config, ServeOptions::default(), shutdown));

    let leaf = setup.leaf(&[0x5C, 0x01, 0x02, 0x03]);
    let first = mail(
        ion,
        mailbox,
        "Certificat MNotify",
        "<serve1@primaria.test>",
        "Anexăm certificatul de sistem pentru MNotify.",
    )
    .attach("sistem.cer", "application/pkix-cert", &leaf);
    stack.deliver(ion, mailbox, &first.build()).await;
    let replies = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    assert_eq!(
        intake::read(&replies[0], &[]).in_reply_to,
        ["serve1@primaria.test"],
        "the reply answers the mail"
    );
    // A staff command while it runs goes through its control socket.
    assert!(socket.exists(), "the control socket {}", socket.display());
    let status = {
        let setup_config = setup.config.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(crate::service::BIN)
                .arg("--config")
                .arg(setup_config)
                .args(["status", "--json"])
                .output()
                .expect("status runs")
        })
        .await
        .unwrap()
    };
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    stop.send(true).unwrap();
    let counters = tokio::time::timeout(Duration::from_secs(60), serving)
        .await
        .expect("serve returns within a minute of shutdown")
        .expect("serve did not panic")
        .expect("serve ends without an error");
    assert_eq!(counters.handled, 1, "{counters:?}");
    assert_eq!(counters.replies_sent, 1, "{counters:?}");
    assert!(
        !socket.exists(),
        "the control task left and removed {}",
        socket.display()
    );
    // Nothing holds the store: a command opens it itself (and waits for nobody).
    let status = setup.status();
    assert_eq!(status["outbox"]["pending"], 0, "{status}");
    assert_eq!(status["outbox"]["sent"], 1, "{status}");
}

/// A delivery report's changes (the reply failed, the case told) are written in the
/// report's own transaction: a daemon that dies while handling the report leaves the
/// reply sent and the report in the inbox, and the next run handles it once: one
/// failed reply, one line on the case's timeline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_interrupted_by_a_crash_is_handled_once_on_the_next_run() {
    let stack = Stack::get();
    let mailbox = "svc-bounce-crash@egov.test";
    // The test stack's Postfix bounces everything to nowhere.test.
    let ion = "ion-crash@nowhere.test";
    let setup = Setup::new(stack, mailbox, "");
    let asked = question(ion, mailbox, "<crash1@nowhere.test>");
    stack.deliver(ion, mailbox, &asked.build()).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    assert_eq!(setup.status()["outbox"]["sent"], 1);
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;

    // Reading the report kills the daemon.
    let crashed = std::process::Command::new(crate::service::BIN)
        .arg("--config")
        .arg(&setup.config)
        .args(["run", "--once"])
        .env("MNOTIFY_INTAKE_FAULT_READ", "abort:5.1.1")
        .output()
        .expect("run");
    assert!(!crashed.status.success(), "the fault stopped the daemon");
    let status = setup.status();
    assert_eq!(status["outbox"]["sent"], 1, "nothing changed: {status}");
    assert_eq!(status["outbox"]["failed"], 0, "nothing changed: {status}");
    assert_eq!(stack.count(mailbox, "INBOX").await, 1, "the report waits");

    setup.cli(&["run", "--once"]);
    let status = setup.status();
    assert_eq!(status["outbox"]["failed"], 1, "{status}");
    assert_eq!(status["outbox"]["sent"], 0, "{status}");
    assert_eq!(stack.count(mailbox, "INBOX").await, 0);
    let listed = setup.cli(&["cases", "list", "--json"]);
    let case: serde_json::Value = serde_json::from_str(listed.trim()).expect("one case");
    let shown = setup.cli(&["cases", "show", case["id"].as_str().unwrap()]);
    assert_eq!(
        shown
            .matches("our message to ion-crash@nowhere.test did not arrive")
            .count(),
        1,
        "{shown}"
    );
}
