//! The staff console end to end: the daemon serving it, staff signing in through the
//! stack's real OpenID Connect provider (oidc-provider) in a real headless Chromium
//! over WebDriver, mail sent through the real stack, and what each role can do.

use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::Locator;

use crate::browser::{Browser, PAGE_WAIT};
use crate::mail::{body, mail, token_of};
use crate::service::{secure, Setup};
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(60);

/// A daemon with the console on a free loopback port, signing in at the stack's
/// provider; `extra` is more `[web]` settings. The console speaks Romanian, the
/// language staff get by default (the CLI's text the tests read is English).
pub(crate) fn console_setup(stack: &Stack, mailbox: &str, extra: &str) -> Setup {
    let web = format!(
        "[web]\nlisten = \"127.0.0.1:0\"\nlanguage = \"ro\"\n{extra}\n[web.oidc]\nissuer = \"http://127.0.0.1:{}\"\nclient_id = \"mnx-console\"\nclient_secret = {{ file = \"{}\" }}\n",
        stack.oauth_port,
        stack.oauth_dir.join("secret").display()
    );
    secure(stack, mailbox, &web)
}

/// The console's address, once the daemon has logged it.
pub(crate) fn console_url(setup: &Setup) -> String {
    mnotify_intake::testkit::wait::eventually(WAIT, "the console's address in the log", || {
        let log = setup.log();
        log.lines()
            .find(|l| l.contains("staff console ready"))
            .and_then(|l| l.split("url=").nth(1))
            .and_then(|u| u.split_whitespace().next())
            .map(str::to_string)
            .ok_or_else(|| format!("log:\n{log}"))
    })
}

pub(crate) fn password(stack: &Stack) -> String {
    std::fs::read_to_string(stack.password_file())
        .unwrap()
        .trim()
        .to_string()
}

fn as_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

/// A POST from outside the browser with `cookie`, as another site's page would send.
pub(crate) fn post(
    url: &str,
    cookie: &str,
    origin: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut request = agent
        .post(url)
        .header("Cookie", &format!("mnotify_session={cookie}"));
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    let mut answer = request
        .send_form(form.iter().copied())
        .expect("POST to the console");
    let status = answer.status().as_u16();
    (
        status,
        answer.body_mut().read_to_string().unwrap_or_default(),
    )
}

/// An institution's signed certificate mail through the stack; returns the case token
/// from the daemon's reply.
async fn case_from_mail(
    stack: &Stack,
    setup: &Setup,
    from: &str,
    mailbox: &str,
    id: &str,
) -> String {
    let cert = setup.leaf(&[0x5c, 0x01, id.len() as u8]);
    let m = mail(
        from,
        mailbox,
        "Conectare MNotify",
        id,
        "Bună ziua, anexăm certificatul de sistem pentru MNotify.",
    )
    .attach("sistem.cer", "application/pkix-cert", &cert);
    stack.send_from_institution(from, mailbox, &m.build()).await;
    let replies = stack.wait_for(from, "INBOX", 1, WAIT).await;
    token_of(&replies[0])
}

/// Staff sign in, find the applicant's case in the queue with the keyboard alone, mark a
/// step done after previewing the notice, and the applicant's mailbox receives it; the
/// timeline records the person from the token; signing out ends the session here and
/// at the provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_advance_a_case_with_its_preview_and_sign_out() {
    let stack = Stack::get();
    let mailbox = "svc-console@egov.test";
    let ion = "ion-console@inst-a.test";
    let setup = console_setup(stack, mailbox, "");
    let daemon = setup.start();
    let base = console_url(&setup);
    let token = case_from_mail(stack, &setup, ion, mailbox, "<c1@inst-a.test>").await;
    let browser = Browser::start().await;
    browser.sign_in(&base, "ana", &password(stack)).await;
    browser.find("#matched").await;
    assert_eq!(browser.text_of("#who").await, "Ana Popescu");
    let row = browser.text_of("#queue tbody").await;
    assert!(
        row.contains(&format!("#{token}")) && row.contains(ion),
        "{row}"
    );
    // The decision and the next step the applicant was told, on the case's line.
    assert!(row.contains("certificat nou"), "{row}");
    browser
        .screenshot(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/console/console-queue.png"),
        )
        .await;

    // The keyboard alone: the skip link first, then into the page, to the case's link.
    let body_el = browser.find("body").await;
    body_el.send_keys(&Key::Tab.to_string()).await.unwrap();
    let first = browser.client.active_element().await.unwrap();
    assert_eq!(first.attr("class").await.unwrap().as_deref(), Some("skip"));
    let mut reached = false;
    for _ in 0..40 {
        let focused = browser.client.active_element().await.unwrap();
        if focused.attr("class").await.unwrap().as_deref() == Some("case-link")
            && focused.text().await.unwrap() == format!("#{token}")
        {
            reached = true;
            focused.send_keys(&Key::Enter.to_string()).await.unwrap();
            break;
        }
        focused.send_keys(&Key::Tab.to_string()).await.unwrap();
    }
    assert!(reached, "Tab never reached the case's link");
    browser.find("#steps").await;
    assert!(browser.url().await.ends_with(&format!("/case/{token}")));
    browser
        .screenshot(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/console/console-case.png"),
        )
        .await;

    // Advance the first open step: the preview shows the notice, nothing changes yet.
    let before = stack.count(ion, "INBOX").await;
    let step = browser.find("#advance-step").await;
    let chosen = step.prop("value").await.unwrap().unwrap_or_default();
    browser
        .find("#advance-note")
        .await
        .send_keys("formular primit pe hârtie")
        .await
        .unwrap();
    browser
        .find("#advance-preview")
        .await
        .click()
        .await
        .unwrap();
    let notice = browser.text_of("#notice").await;
    assert!(!notice.is_empty());
    assert!(browser.text_of("#notice-to").await.contains(ion));
    assert_eq!(
        stack.count(ion, "INBOX").await,
        before,
        "a preview sends nothing"
    );
    let mut resent = Vec::new();
    for name in ["csrf", "request", "kind", "step", "note"] {
        let value = browser.value(&format!("form input[name={name}]")).await;
        resent.push((name.to_string(), value));
    }
    browser.find("#confirm").await.click().await.unwrap();
    let answer = browser.text_of("#answer").await;
    assert!(answer.contains("solicitantul este anunțat"), "{answer}");
    let replies = stack.wait_for(ion, "INBOX", before + 1, WAIT).await;
    assert!(
        replies
            .iter()
            .any(|r| body(r).contains(notice.lines().next().unwrap_or("?"))),
        "the notice previewed is the one received"
    );
    let timeline = browser.text_of("#timeline").await;
    assert!(
        timeline.contains("Ana Popescu <ana@egov.test> (staff, console;")
            && timeline.contains("sub ana"),
        "{timeline}"
    );
    // The same form sent again (a reload, a double click) is applied once.
    let cookie = browser
        .cookie("mnotify_session")
        .await
        .expect("a session cookie");
    let (status, again) = post(
        &format!("{base}/case/{token}/act"),
        &cookie,
        Some(&base),
        &as_refs(&resent),
    );
    assert_eq!(status, 200, "{again}");
    assert!(again.contains("deja aplicat"), "{again}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        stack.count(ion, "INBOX").await,
        before + 1,
        "the notice went once"
    );

    // Sign out: here, then at the provider, which sends the browser back.
    browser.find("#logout").await.click().await.unwrap();
    // The provider asks to confirm; the page may move on between finding its button
    // and clicking it, so: until the console's sign-in page is there, confirm at the
    // provider whenever its page is the one shown.
    let deadline = std::time::Instant::now() + PAGE_WAIT;
    loop {
        let at_console = browser.url().await.starts_with(&base);
        let signed_out = at_console && browser.client.find(Locator::Css("#sign-in")).await.is_ok();
        if signed_out {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not back at the console's sign-in after signing out: {}",
            browser.url().await
        );
        if !at_console {
            let confirm = browser
                .client
                .find(Locator::Css("button[autofocus], button[type=submit]"))
                .await;
            if let Ok(yes) = confirm {
                // A stale button: the page moved on by itself; look again.
                let _ = yes.click().await;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (status, _) = post(
        &format!("{base}/case/{token}/act"),
        &cookie,
        None,
        &[("kind", "note"), ("note", "after logout")],
    );
    assert_eq!(status, 303, "the ended session is sent to sign in");
    browser.close().await;
    daemon.stop();
    let shown = setup.cli(&["cases", "show", &token]);
    assert!(shown.contains(&chosen), "{shown}");
    assert!(!shown.contains("after logout"), "{shown}");
}

/// A viewer reads and cannot change anything; a person without a role is not let in;
/// a change from another origin, or without the session's form token, is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_only_reads_a_stranger_is_refused_and_forged_changes_fail() {
    let stack = Stack::get();
    let mailbox = "svc-console-roles@egov.test";
    let ion = "ion-console-roles@inst-a.test";
    let setup = console_setup(stack, mailbox, "");
    let daemon = setup.start();
    let base = console_url(&setup);
    let token = case_from_mail(stack, &setup, ion, mailbox, "<c2@inst-a.test>").await;

    // `check` tries the console's provider and says which redirect URI to register.
    let checked = setup.run_cli(&["check"]);
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(
        said.contains("console") && said.contains("answers with its keys"),
        "{said}"
    );
    let stranger = Browser::start().await;
    stranger.sign_in(&base, "sam", &password(stack)).await;
    let said = stranger.text_of("#message").await;
    assert!(said.contains("nu are un rol"), "{said}");
    assert!(stranger.cookie("mnotify_session").await.is_none());
    stranger.close().await;

    let viewer = Browser::start().await;
    viewer.sign_in(&base, "vlad", &password(stack)).await;
    viewer.find("#matched").await;
    viewer.goto(&format!("{base}/case/{token}")).await;
    viewer.find("#viewer-note").await;
    assert!(viewer
        .client
        .find_all(Locator::Css(
            "form[action$='/act'], form[action$='/preview']"
        ))
        .await
        .unwrap()
        .is_empty());
    let cookie = viewer
        .cookie("mnotify_session")
        .await
        .expect("the viewer's session");
    let csrf = viewer.value("input[name=csrf]").await;
    // The certificate's file is always a download, never shown as a page.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let file = agent
        .get(&format!("{base}/case/{token}/certificate/0"))
        .header("Cookie", &format!("mnotify_session={cookie}"))
        .call()
        .expect("the certificate's file");
    assert_eq!(file.status().as_u16(), 200);
    let header = |name: &str| {
        file.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert!(header("content-disposition").starts_with("attachment;"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-security-policy").contains("default-src 'none'"));
    let act = format!("{base}/case/{token}/act");
    let note = |csrf: &str, request: &str| {
        vec![
            ("csrf".to_string(), csrf.to_string()),
            ("request".into(), request.into()),
            ("kind".into(), "note".into()),
            ("note".into(), "forged note".into()),
        ]
    };
    // The viewer's own token, from the console's origin: still only a viewer.
    let form = note(&csrf, "viewer-request-000001");
    let (status, page) = post(&act, &cookie, Some(&base), &as_refs(&form));
    assert_eq!(status, 403, "{page}");
    viewer.close().await;

    // Staff's session: without the token, and with it from another origin.
    let staff = Browser::start().await;
    staff.sign_in(&base, "ana", &password(stack)).await;
    staff.find("#matched").await;
    let cookie = staff
        .cookie("mnotify_session")
        .await
        .expect("staff's session");
    let form = note("", "forged-request-0000001");
    let (status, _) = post(&act, &cookie, Some("http://evil.test"), &as_refs(&form));
    assert_eq!(status, 403);
    let form = note("", "forged-request-0000002");
    let (status, _) = post(&act, &cookie, Some(&base), &as_refs(&form));
    assert_eq!(status, 403, "no form token");
    staff.goto(&format!("{base}/case/{token}")).await;
    let csrf = staff.value("input[name=csrf]").await;
    let form = note(&csrf, "forged-request-0000003");
    let (status, _) = post(&act, &cookie, Some("http://evil.test"), &as_refs(&form));
    assert_eq!(status, 403, "the right token from another origin");
    staff.close().await;
    daemon.stop();
    let shown = setup.cli(&["cases", "show", &token]);
    assert!(!shown.contains("forged note"), "{shown}");
}

/// Held mail whose subject, sender name, text and file name carry markup and bidi
/// controls is shown as text; viewing it is recorded; dismissed, it leaves the held
/// list and stays in Needs-Human.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_held_mail_is_shown_as_text_and_dismissed() {
    let stack = Stack::get();
    let mailbox = "svc-console-held@egov.test";
    let from = "eve-console@scoala.test";
    let setup = console_setup(stack, mailbox, "");
    let daemon = setup.start();
    let base = console_url(&setup);
    let cert = setup.leaf(&[0x5c, 0x0e, 0x01]);
    let mut m = mail(
        from,
        mailbox,
        "MNotify <script>alert(1)</script>",
        "<evil@scoala.test>",
        "Certificatul \"><img src=x onerror=alert(2)> pentru MNotify.\n<script>alert(3)</script>",
    )
    .attach(
        "\u{202e}rec<img src=y onerror=alert(4)>.cer",
        "application/pkix-cert",
        &cert,
    );
    m.from = format!("\"\\\"><img src=z onerror=alert(5)>\" <{from}>");
    stack.deliver(from, mailbox, &m.build()).await;
    stack.wait_for(mailbox, "Needs-Human", 1, WAIT).await;

    let browser = Browser::start().await;
    browser.sign_in(&base, "ana", &password(stack)).await;
    browser.find("#matched").await;
    browser.goto(&format!("{base}/held")).await;
    let listed = browser.text_of("#held").await;
    assert!(listed.contains("<script>alert(1)</script>"), "{listed}");
    browser.find("a.held-link").await.click().await.unwrap();
    let subject = browser.text_of("#held-subject").await;
    assert!(subject.contains("<script>alert(1)</script>"), "{subject}");
    let text = browser.text_of("#held-text").await;
    assert!(
        text.contains("<img src=x onerror=alert(2)>") && text.contains("<script>alert(3)</script>"),
        "{text}"
    );
    let files = browser.text_of("#held-attachments").await;
    assert!(files.contains("onerror=alert(4)"), "{files}");
    // A bidirectional control in a file name is shown, not obeyed.
    assert!(
        files.contains("[U+202E]") && !files.contains('\u{202e}'),
        "{files}"
    );
    // Nothing the mail carried became an element.
    for css in ["script", "img", "main iframe"] {
        let found = browser.client.find_all(Locator::Css(css)).await.unwrap();
        assert!(found.is_empty(), "a {css} element on the held mail's page");
    }
    let views = browser.text_of("#held-views").await;
    assert!(views.contains("Ana Popescu"), "{views}");
    browser.find("#dismiss").await.click().await.unwrap();
    let answer = browser.text_of("#answer").await;
    assert!(answer.contains("lăsat deoparte de Ana Popescu"), "{answer}");
    browser.find("#held-none").await;
    browser.close().await;
    daemon.stop();
    assert_eq!(
        stack.count(mailbox, "Needs-Human").await,
        1,
        "it stays for people"
    );
    let listed = setup.cli(&["held", "list"]);
    assert!(listed.contains("no mail held"), "{listed}");
    // The CLI says so too when asked to dismiss it again.
    let again = setup.run_cli(&["held", "dismiss", "evil@scoala.test"]);
    assert!(!again.status.success());
}

/// What an applicant writes reaches the case page inside the timeline's entries and the
/// open question, said in the staff language and shown as text, never as markup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_question_is_text_on_the_case_page() {
    let stack = Stack::get();
    let mailbox = "svc-console-question@egov.test";
    let ion = "ion-console-question@inst-a.test";
    let setup = console_setup(stack, mailbox, "");
    let daemon = setup.start();
    let base = console_url(&setup);
    let token = case_from_mail(stack, &setup, ion, mailbox, "<cq1@inst-a.test>").await;
    let mut follow = mnotify_intake::testkit::mail::Mail::new(
        ion,
        &format!("Re: Conectare MNotify <script>alert(6)</script> [MNotify #{token}]"),
    )
    .message_id("<cq2@inst-a.test>")
    .text("Bună ziua. Când semnăm <script>alert(7)</script> contractul \"><img src=q onerror=alert(8)>?");
    follow.to = mailbox.to_string();
    stack
        .send_from_institution(ion, mailbox, &follow.build())
        .await;
    stack.wait_for(ion, "INBOX", 2, WAIT).await;

    let browser = Browser::start().await;
    browser.sign_in(&base, "ana", &password(stack)).await;
    browser.goto(&format!("{base}/case/{token}")).await;
    let question = browser.text_of("#question").await;
    assert!(
        question.contains("<script>alert(7)</script>") && question.contains("onerror=alert(8)>"),
        "{question}"
    );
    let timeline = browser.text_of("#timeline").await;
    assert!(
        timeline.contains("întrebare pentru un coleg")
            && timeline.contains("<script>alert(7)</script>"),
        "said in Romanian, shown as written: {timeline}"
    );
    for css in ["script", "img", "main iframe"] {
        let found = browser.client.find_all(Locator::Css(css)).await.unwrap();
        assert!(found.is_empty(), "a {css} element on the case page");
    }
    browser.close().await;
    daemon.stop();
}

/// A sign-in link whose `next` hides another site behind a tab or a line break (a
/// browser drops them and reads `//evil.test`) signs staff in and leaves them on the
/// console's queue, in a real browser following the redirect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_link_to_another_site_lands_on_the_console() {
    let stack = Stack::get();
    let mailbox = "svc-console-next@egov.test";
    let setup = console_setup(stack, mailbox, "");
    let daemon = setup.start();
    let base = console_url(&setup);
    for next in [
        "%2F%09%2Fevil.test",
        "%2F%0A%2Fevil.test",
        "%2F%0D%2Fevil.test",
    ] {
        let browser = Browser::start().await;
        browser
            .goto(&format!("{base}/login?go=1&next={next}"))
            .await;
        browser.at_provider("ana", &password(stack)).await;
        browser.find("#matched").await;
        let url = browser.url().await;
        assert!(
            url.starts_with(&format!("{base}/")) && !url.contains("evil"),
            "next={next} left the console for {url}\n{}",
            setup.log()
        );
        assert_eq!(browser.text_of("#who").await, "Ana Popescu");
        browser.close().await;
    }
    daemon.stop();
}

/// A session unused past `[web] idle_minutes` goes back to sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_goes_back_to_sign_in() {
    let stack = Stack::get();
    let mailbox = "svc-console-idle@egov.test";
    let setup = console_setup(stack, mailbox, "idle_minutes = 1");
    let daemon = setup.start();
    let base = console_url(&setup);
    let browser = Browser::start().await;
    browser.sign_in(&base, "ana", &password(stack)).await;
    browser.find("#matched").await;
    tokio::time::sleep(Duration::from_secs(65)).await;
    browser.goto(&format!("{base}/held")).await;
    let said = browser.text_of("#message").await;
    assert!(said.contains("Sesiunea a expirat"), "{said}");
    browser.find("#sign-in").await;
    let url = browser.url().await;
    assert!(url.contains("next=%2Fheld"), "{url}");
    browser.close().await;
    daemon.stop();
}

/// With a certificate of its own the daemon serves the console over HTTPS only: a
/// client that trusts the agency's CA gets the pages with HSTS and a `Secure` cookie,
/// one that does not is refused at the handshake, and plain HTTP gets no page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_its_own_certificate_the_console_speaks_https_only() {
    use std::io::{Read, Write};
    let stack = Stack::get();
    let tls = stack.ca_file.parent().expect("the stack's TLS directory");
    let extra = format!(
        "tls_certificate = \"{}\"\ntls_key = \"{}\"",
        tls.join("server.pem").display(),
        tls.join("server.key").display()
    );
    let setup = console_setup(stack, "svc-console-tls@egov.test", &extra);
    let daemon = setup.start();
    let base = console_url(&setup);
    assert!(base.starts_with("https://"), "{base}");
    let https = |roots: Option<&std::path::Path>| -> ureq::Agent {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = roots {
            let certs: Vec<_> = mnotify_intake::tls::pem_certificates(path)
                .unwrap()
                .iter()
                .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
                .collect();
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into()
    };
    let login = https(Some(&stack.ca_file))
        .get(&format!("{base}/login?go=1"))
        .call()
        .expect("the console over HTTPS with the agency's CA");
    assert_eq!(login.status().as_u16(), 303, "sign-in goes to the provider");
    let header = |name: &str| {
        login
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(header("strict-transport-security"), ["max-age=31536000"]);
    let cookies = header("set-cookie");
    assert!(
        !cookies.is_empty() && cookies.iter().all(|c| c.contains("; Secure")),
        "{cookies:?}"
    );
    // A client that does not trust the agency's CA: no page.
    let untrusted = https(None).get(&format!("{base}/login")).call();
    assert!(untrusted.is_err(), "{untrusted:?}");
    // Plain HTTP on the same port: no page either, nothing of the console said.
    let address = base.trim_start_matches("https://").trim_end_matches('/');
    let mut plain = std::net::TcpStream::connect(address).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    plain
        .write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        !answer.contains("HTTP/1.1 ") && !answer.contains("Location"),
        "{answer}"
    );
    daemon.stop();
}
