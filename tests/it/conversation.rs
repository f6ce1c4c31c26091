//! Staff in the conversation, on the real stack: every mail of a case on its page (the
//! applicant's text as text, never markup), an answer written on the case page in
//! Chromium (previewed, sent once through Postfix, threaded in the applicant's mailbox,
//! the question answered), the applicant's answer to it back in the same case, a viewer
//! and a cross-site post refused; `cases reply` from the CLI; and an answer written in
//! the mailbox itself (Outlook: appended to Sent) recorded with nothing sent, on
//! Dovecot and on Cyrus.

use std::time::Duration;

use fantoccini::Locator;

use crate::browser::Browser;
use crate::console::{console_setup, console_url, password, post};
use crate::mail::{body, mail, token_of};
use crate::service::{case_json, Setup};
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(60);

/// The headers of a raw mail, parsed.
fn parsed(raw: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a mail")
}

/// A certificate mail from `from` (through the institutions' signing server), then a
/// question in its thread with markup and a bidi control in it; returns the case token
/// once both are answered.
async fn case_with_question(stack: &Stack, setup: &Setup, from: &str, mailbox: &str) -> String {
    // A serial of its own per applicant: a certificate in two cases is a staff check.
    let own = from
        .bytes()
        .fold(7u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
    let cert = setup.leaf(&[0x6c, 0x01, own, from.len() as u8]);
    let first = mail(
        from,
        mailbox,
        "Conectare MNotify",
        &format!("<q0.{from}>"),
        "Bună ziua, anexăm certificatul de sistem pentru MNotify.",
    )
    .attach("sistem.cer", "application/pkix-cert", &cert);
    stack
        .send_from_institution(from, mailbox, &first.build())
        .await;
    let token = token_of(&stack.wait_for(from, "INBOX", 1, WAIT).await[0]);
    let question = mail(
        from,
        mailbox,
        &format!("Re: [MNotify #{token}] Conectare MNotify"),
        &format!("<q1.{from}>"),
        "Bună ziua. Când semnăm <script>alert(9)</script> contractul?\nFișierul: \u{202E}rec.exe",
    )
    .header("In-Reply-To", &format!("<q0.{from}>"));
    stack
        .send_from_institution(from, mailbox, &question.build())
        .await;
    stack.wait_for(from, "INBOX", 2, WAIT).await;
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_answer_from_the_case_page_once_and_the_applicant_s_answer_comes_back() {
    let stack = Stack::get();
    let mailbox = "svc-dialog@egov.test";
    let ion = "ion-dialog@inst-a.test";
    let setup = console_setup(stack, mailbox, "");
    let daemon = setup.start();
    let base = console_url(&setup);
    let token = case_with_question(stack, &setup, ion, mailbox).await;
    stack.wait_until_delivered(WAIT).await;
    assert_eq!(case_json(&setup, &token)["waiting_on"], "age", "a question");

    let browser = Browser::start().await;
    browser.sign_in(&base, "ana", &password(stack)).await;
    browser.find("#matched").await;
    browser.goto(&format!("{base}/case/{token}")).await;
    // The conversation: both mails of the applicant and both replies, as text.
    let conversation = browser.text_of("#conversation").await;
    assert!(
        conversation.contains("<script>alert(9)</script>")
            && conversation.contains("[U+202E]rec.exe")
            && !conversation.contains('\u{202E}'),
        "{conversation}"
    );
    assert!(conversation.contains("sistem.cer"), "{conversation}");
    assert!(conversation.contains("răspuns automat"), "{conversation}");
    let letters = browser
        .client
        .find_all(Locator::Css("#conversation li.letter"))
        .await
        .unwrap();
    assert_eq!(letters.len(), 4, "{conversation}");
    for css in ["script", "main img"] {
        let found = browser.client.find_all(Locator::Css(css)).await.unwrap();
        assert!(found.is_empty(), "a {css} element on the case page");
    }
    // An empty answer is refused on the case page itself, nothing previewed.
    browser.find("#answer-preview").await.click().await.unwrap();
    let refused = browser.text_of("#answer").await;
    assert!(refused.contains("răspunsul este gol"), "{refused}");
    browser.find("#answer-form").await;
    // A saved answer starts the answer; staff write their own.
    browser.find("a.saved-answer").await.click().await.unwrap();
    let started = browser.value("#answer-text").await;
    assert!(started.starts_with("Bună ziua"), "{started}");
    let field = browser.find("#answer-text").await;
    field.clear().await.unwrap();
    field
        .send_keys("Bună ziua,\n\nContractul se semnează <b>mâine</b>; vă scriem după.")
        .await
        .unwrap();
    let before = stack.count(ion, "INBOX").await;
    browser.find("#answer-preview").await.click().await.unwrap();
    // The preview: as the applicant will get it; nothing sent yet.
    assert_eq!(browser.text_of("#notice-to").await, ion);
    let subject = browser.text_of("#notice-subject").await;
    assert!(
        subject.contains(&format!("[MNotify #{token}]")),
        "{subject}"
    );
    let thread = browser.text_of("#notice-thread").await;
    assert!(thread.contains(&format!("q1.{ion}")), "{thread}");
    let previewed = browser.text_of("#notice").await;
    assert!(
        previewed.contains("Contractul se semnează <b>mâine</b>")
            && previewed.contains("Cu stimă,")
            && !previewed.contains("generat automat"),
        "{previewed}"
    );
    assert_eq!(
        stack.count(ion, "INBOX").await,
        before,
        "a preview sends nothing"
    );
    let mut resent = Vec::new();
    for name in ["csrf", "request", "kind"] {
        resent.push((
            name,
            browser.value(&format!("form input[name={name}]")).await,
        ));
    }
    resent.push(("text", browser.value("form textarea[name=text]").await));
    browser.find("#confirm").await.click().await.unwrap();
    let answer = browser.text_of("#answer").await;
    assert!(answer.contains("răspuns trimis solicitantului"), "{answer}");
    browser.find("#conversation").await;
    // The conversation and the answer form in view, for the docs.
    browser
        .client
        .execute(
            "document.getElementById('conversation-head').scrollIntoView()",
            Vec::new(),
        )
        .await
        .expect("scroll to the conversation");
    browser
        .screenshot(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/console/console-conversation.png"),
        )
        .await;
    // The same form sent again (a double click, a reload): applied once.
    let cookie = browser.cookie("mnotify_session").await.expect("a session");
    let form: Vec<(&str, &str)> = resent.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, page) = post(
        &format!("{base}/case/{token}/act"),
        &cookie,
        Some(&base),
        &form,
    );
    assert_eq!(status, 200);
    assert!(page.contains("deja"), "said applied already: {page}");
    let received = stack.wait_for(ion, "INBOX", before + 1, WAIT).await;
    stack.wait_until_delivered(WAIT).await;
    assert_eq!(stack.count(ion, "INBOX").await, before + 1, "sent once");
    let sent = received
        .iter()
        .find(|r| body(r).contains("Contractul se semnează"))
        .expect("the answer in the applicant's mailbox");
    let m = parsed(sent);
    assert_eq!(
        m.in_reply_to().as_text(),
        Some(format!("q1.{ion}").as_str())
    );
    assert!(m
        .subject()
        .unwrap()
        .contains(&format!("[MNotify #{token}]")));
    assert!(m.header_raw("Auto-Submitted").is_none(), "a person's mail");
    assert_eq!(
        m.from().and_then(|f| f.first()).and_then(|a| a.address()),
        Some(mailbox)
    );
    assert_eq!(
        case_json(&setup, &token)["waiting_on"],
        "applicant",
        "the question is answered"
    );
    let answer_id = m.message_id().unwrap().to_string();

    // The applicant answers it: the same case.
    let again = mail(
        ion,
        mailbox,
        &format!("Re: {}", m.subject().unwrap()),
        &format!("<q2.{ion}>"),
        "Mulțumim, așteptăm.",
    )
    .header("In-Reply-To", &format!("<{answer_id}>"));
    stack
        .send_from_institution(ion, mailbox, &again.build())
        .await;
    setup.wait_for_log(&format!("q2.{ion}"), 1, WAIT);
    // Its brief answer (the step awaited) goes out too.
    stack.wait_until_delivered(WAIT).await;
    let before = stack.count(ion, "INBOX").await;
    mnotify_intake::testkit::wait::eventually_async(
        WAIT,
        "the applicant's answer on the page",
        || async {
            browser.goto(&format!("{base}/case/{token}")).await;
            let text = browser.text_of("#conversation").await;
            text.contains("Mulțumim, așteptăm.")
                .then_some(())
                .ok_or(text)
        },
    )
    .await;
    let cases: Vec<String> = setup
        .cli(&["cases", "list", "--json"])
        .lines()
        .filter(|l| l.contains(ion))
        .map(str::to_string)
        .collect();
    assert_eq!(cases.len(), 1, "one case: {cases:?}");
    browser.close().await;

    // A viewer sees the conversation and no answer form; a cross-site post is refused.
    let viewer = Browser::start().await;
    viewer.sign_in(&base, "vlad", &password(stack)).await;
    viewer.find("#matched").await;
    viewer.goto(&format!("{base}/case/{token}")).await;
    viewer.find("#conversation").await;
    assert!(viewer
        .client
        .find_all(Locator::Css("#answer-form"))
        .await
        .unwrap()
        .is_empty());
    let cookie = viewer.cookie("mnotify_session").await.expect("a session");
    let csrf = viewer.value("input[name=csrf]").await;
    let forged = [
        ("csrf", csrf.as_str()),
        ("request", "viewer-answer-000000001"),
        ("kind", "reply"),
        ("text", "forged"),
    ];
    let (status, _) = post(
        &format!("{base}/case/{token}/act"),
        &cookie,
        Some(&base),
        &forged,
    );
    assert_eq!(status, 403, "a viewer cannot send");
    let (status, _) = post(
        &format!("{base}/case/{token}/act"),
        &cookie,
        Some("http://evil.test"),
        &forged[1..],
    );
    assert_eq!(status, 403, "no form token, another site");
    viewer.close().await;
    daemon.stop();
    stack.wait_until_delivered(WAIT).await;
    assert_eq!(
        stack.count(ion, "INBOX").await,
        before,
        "nothing forged went out"
    );
}

/// `cases reply` from the CLI (hostile text stays text; over 64 KB refused), a 100 KB
/// applicant's mail kept cut, and an answer staff wrote in Outlook: appended to the
/// Sent folder (`sent`: named in the config, as Exchange's "Sent Items"; else the
/// server's own) from the mailbox, in reply to the applicant's question.
async fn answers_from_the_cli_and_from_the_mailbox(stack: &Stack, tag: &str, sent: Option<&str>) {
    let mailbox = format!("svc-dialog-{tag}@egov.test");
    let mailbox = mailbox.as_str();
    let ion = format!("ion-dialog-{tag}@inst-a.test");
    let ion = ion.as_str();
    let dan = format!("dan-dialog-{tag}@inst-b.test");
    let dan = dan.as_str();
    let setup = crate::service::secure(stack, mailbox, "[metrics]\nlisten = \"127.0.0.1:0\"\n");
    if let Some(name) = sent {
        let text = std::fs::read_to_string(&setup.config).unwrap().replace(
            "backlog = \"handle\"\n",
            &format!("backlog = \"handle\"\nsent_folder = \"{name}\"\n"),
        );
        std::fs::write(&setup.config, text).unwrap();
    }
    let sent_folder = sent.unwrap_or("Sent");
    // Staff's sent mail from before the daemon's first start is history.
    let old = format!(
        "From: {mailbox}\r\nTo: {ion}\r\nSubject: Re: [MNotify #OLD000] old\r\nMessage-ID: <old.{tag}@egov.test>\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\nOld answer.\r\n"
    );
    stack
        .append_all(mailbox, sent_folder, &[old.into_bytes()])
        .await;
    // INTERNALDATE counts whole seconds: the first start comes a second later.
    std::thread::sleep(Duration::from_millis(1500));
    let daemon = setup.start();
    let token = case_with_question(stack, &setup, ion, mailbox).await;
    let other = case_with_question(stack, &setup, dan, mailbox).await;
    stack.wait_until_delivered(WAIT).await;

    // From the CLI: the file's text, markup and a bidi control in it, 60 KB long.
    let mut text = String::from("Bună ziua,\n<script>alert(1)</script> \u{202E}txt.exe\n");
    while text.len() < 60_000 {
        text.push_str("Rând de explicații despre contract și pașii următori.\n");
    }
    let file = setup.dir.path().join("answer.txt");
    std::fs::write(&file, &text).unwrap();
    let dry = setup.cli(&[
        "cases",
        "reply",
        &token,
        "--file",
        file.to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(
        dry.contains(&format!("[MNotify #{token}]")) && dry.contains(&format!("q1.{ion}")),
        "{dry}"
    );
    // A copy goes to a colleague staff allowed on the case, never to anyone else.
    let colleague = format!("it-dialog-{tag}@inst-a.test");
    let stranger = setup.run_cli(&[
        "cases",
        "reply",
        &token,
        "--file",
        file.to_str().unwrap(),
        "--cc",
        "someone@evil.test",
    ]);
    assert!(!stranger.status.success());
    assert!(String::from_utf8_lossy(&stranger.stderr).contains("cases allow"));
    setup.cli(&["cases", "allow", &token, &colleague]);
    let before = stack.count(ion, "INBOX").await;
    let out = setup.cli(&[
        "cases",
        "reply",
        &token,
        "--file",
        file.to_str().unwrap(),
        "--cc",
        &colleague,
        "--by",
        "Ana Popescu",
    ]);
    assert!(out.contains("answer sent to the applicant"), "{out}");
    let copy = stack.wait_for(&colleague, "INBOX", 1, WAIT).await;
    assert!(body(&copy[0]).contains("<script>alert(1)</script>"));
    let received = stack.wait_for(ion, "INBOX", before + 1, WAIT).await;
    let sent = body(received.last().unwrap());
    assert!(
        sent.contains("<script>alert(1)</script>") && sent.contains("Cu stimă,"),
        "{sent}"
    );
    let empty = setup.dir.path().join("empty.txt");
    std::fs::write(&empty, "  \n").unwrap();
    let refused = setup.run_cli(&["cases", "reply", &token, "--file", empty.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("empty"));
    let huge = setup.dir.path().join("huge.txt");
    std::fs::write(&huge, text.repeat(2)).unwrap();
    let refused = setup.run_cli(&["cases", "reply", &token, "--file", huge.to_str().unwrap()]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("over 65536 bytes"), "{said}");
    // The applicant writes 100 KB with markup in it: the conversation keeps 16 KB of
    // it, as text, and says the rest is in the mailbox.
    let long = format!(
        "Bună ziua.\n{}",
        "<i>Detalii</i> despre sistem. ".repeat(3500)
    );
    stack
        .send_from_institution(
            ion,
            mailbox,
            &mail(
                ion,
                mailbox,
                &format!("Re: [MNotify #{token}] detalii"),
                &format!("<q5.{ion}>"),
                &long,
            )
            .build(),
        )
        .await;
    setup.wait_for_log(&format!("q5.{ion}"), 1, WAIT);

    // In Outlook: staff answer dan's question from the shared mailbox.
    let before_dan = stack.count(dan, "INBOX").await;
    let outlook = format!(
        "From: AGE <{mailbox}>\r\nTo: {dan}\r\nSubject: RE: [MNotify #{other}] Conectare MNotify\r\nMessage-ID: <outlook.{tag}@egov.test>\r\nIn-Reply-To: <q1.{dan}>\r\nReferences: <q0.{dan}> <q1.{dan}>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBună ziua, contractul vine mâine.\r\n\r\n> Când semnăm contractul?\r\n"
    );
    // A copy tied to no case (an internal note), and ours from before, are left alone.
    let untied = format!(
        "From: {mailbox}\r\nTo: it@egov.test\r\nSubject: Intern\r\nMessage-ID: <intern.{tag}@egov.test>\r\nDate: Mon, 7 Dec 2026 10:01:00 +0000\r\n\r\nNotă internă.\r\n"
    );
    stack
        .append_all(
            mailbox,
            sent_folder,
            &[outlook.into_bytes(), untied.into_bytes()],
        )
        .await;
    // Mail arriving wakes the daemon's pass, which looks at Sent too.
    stack
        .send_from_institution(
            ion,
            mailbox,
            &mail(
                ion,
                mailbox,
                &format!("Re: [MNotify #{token}] x"),
                &format!("<q3.{ion}>"),
                "Mulțumim.",
            )
            .build(),
        )
        .await;
    mnotify_intake::testkit::wait::eventually(WAIT, "the Outlook answer recorded", || {
        let shown = setup.cli(&["cases", "show", &other]);
        shown
            .contains("answer to the applicant written in the mailbox")
            .then_some(())
            .ok_or_else(|| format!("{shown}\n--- the daemon's log\n{}", setup.log()))
    });
    let shown = setup.cli(&["cases", "show", &other]);
    // What staff read (the closing note quotes it).
    println!("{shown}");
    assert!(shown.contains("the question is answered"), "{shown}");
    assert!(
        shown.contains("Bună ziua, contractul vine mâine."),
        "{shown}"
    );
    assert!(
        !shown.contains("> Când semnăm"),
        "quoted mail is not repeated: {shown}"
    );
    assert_eq!(
        case_json(&setup, &other)["waiting_on"],
        "applicant",
        "{shown}"
    );
    let mine = setup.cli(&["cases", "show", &token]);
    assert!(mine.contains("answer by Ana Popescu"), "{mine}");
    assert!(
        mine.contains("| <i>Detalii</i> despre sistem.")
            && mine.contains("the text is longer; the rest is in the mailbox"),
        "{mine}"
    );
    assert!(mine.len() < 200_000, "the 100 KB mail is kept cut");
    assert!(
        mine.contains("[U+202E]txt.exe") && !mine.contains('\u{202E}'),
        "{mine}"
    );
    let status = setup.status();
    assert_eq!(status["sent_left_alone"], 1, "{status}");
    let (_, metrics) = crate::health::get(&setup.metrics_address(), "/metrics");
    assert_eq!(
        crate::health::sample(&metrics, "mnotify_intake_sent_left_alone"),
        Some(1.0),
        "{metrics}"
    );
    daemon.stop();
    stack.wait_until_delivered(WAIT).await;
    assert_eq!(
        stack.count(dan, "INBOX").await,
        before_dan,
        "nothing sent for it"
    );
    // A second run records nothing twice.
    let again = setup.start();
    stack
        .send_from_institution(
            dan,
            mailbox,
            &mail(
                dan,
                mailbox,
                &format!("Re: [MNotify #{other}] y"),
                &format!("<q4.{dan}>"),
                "Bine.",
            )
            .build(),
        )
        .await;
    setup.wait_for_log(&format!("q4.{dan}"), 1, WAIT);
    again.stop();
    let shown = setup.cli(&["cases", "show", &other]);
    assert_eq!(
        shown
            .matches("answer to the applicant written in the mailbox")
            .count(),
        1,
        "{shown}"
    );
    assert!(
        !shown.contains("Old answer."),
        "history is left alone: {shown}"
    );
    assert_eq!(setup.status()["sent_left_alone"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_from_the_cli_and_outlook_on_dovecot() {
    // As on Exchange Online: the folder is "Sent Items", named in the config.
    answers_from_the_cli_and_from_the_mailbox(Stack::get(), "dc", Some("Sent Items")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_from_the_cli_and_outlook_on_cyrus() {
    answers_from_the_cli_and_from_the_mailbox(Stack::cyrus(), "cy", None).await;
}
