//! The trust boundary, attacked on the real stack: OpenDKIM and OpenDMARC stamp every
//! mail that reaches the MX; institutions inst-a.test and inst-b.test send through
//! their own server, which signs; forgers write to the MX directly. Each test checks
//! who received mail, what changed in which case, and what staff see.

use std::time::{Duration, Instant};

use crate::mail::body;
use crate::mail::{delivery_report, mail, mail_with, token_of};
use crate::service::Setup;
use crate::service::{case_json, secure};
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(30);

/// `cases show`: steps, evidence, integration data, timeline.
pub(crate) fn shown(setup: &Setup, token: &str) -> String {
    setup.cli(&["cases", "show", token])
}

/// Runs the daemon once (it handles everything in the inbox, sends, files, exits).
fn run_once(setup: &Setup) {
    setup.cli(&["run", "--once"]);
}

/// `from` sends `raw` through its institution's server (signed); once it is in the
/// inbox, the daemon handles it.
pub(crate) async fn signed_then_run(
    stack: &Stack,
    setup: &Setup,
    from: &str,
    to: &str,
    raw: &[u8],
) {
    stack.send_from_institution(from, to, raw).await;
    stack.wait_for(to, "INBOX", 1, WAIT).await;
    run_once(setup);
}

/// `raw` is written straight to the MX as `from` (a forgery for the test
/// institutions); once it is in the inbox, the daemon handles it.
async fn forged_then_run(stack: &Stack, setup: &Setup, from: &str, to: &str, raw: &[u8]) {
    stack.deliver(from, to, raw).await;
    stack.wait_for(to, "INBOX", 1, WAIT).await;
    run_once(setup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_mail_changes_nothing_and_its_sender_learns_nothing() {
    let stack = Stack::get();
    let mailbox = "svc-forge@egov.test";
    let ion = "ion-forge@inst-a.test";
    let setup = secure(stack, mailbox, "");
    let cert = setup.leaf(&[0x51, 0x01, 0x02, 0x03]);

    // The institution's own mail: authenticated, its certificate accepted.
    let real = mail(
        ion,
        mailbox,
        "Certificat MNotify",
        "<real-forge@inst-a.test>",
        "Certificatul pentru MNotify.",
    )
    .attach("sistem.cer", "application/pkix-cert", &cert);
    signed_then_run(stack, &setup, ion, mailbox, &real.build()).await;
    let replies = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let token = token_of(&replies[0]);
    let before = case_json(&setup, &token);
    let before_shown = shown(&setup, &token);
    assert!(
        before["steps_done"] == serde_json::json!(["certificate"]),
        "{before}"
    );

    // A forger writes to the MX as ion, in the case's thread, with their own
    // certificate, IP addresses, a spam link as system name and a forged stamp.
    let evil = setup.leaf(&[0x66, 0x06]);
    let forged = mail(
        ion,
        mailbox,
        &format!("Re: [MNotify #{token}] visit spam.example"),
        "<forged@evil.test>",
        "Sistemul: spam.example\nIP test: 203.0.113.5\nIP productie: 203.0.113.6\nMNotify",
    )
    .header(
        "Authentication-Results",
        "mx.egov.test; dmarc=pass header.from=inst-a.test",
    )
    .header("Reply-To", "victim@victims.test")
    .attach("nou.cer", "application/pkix-cert", &evil);
    forged_then_run(stack, &setup, ion, mailbox, &forged.build()).await;

    assert_eq!(before_shown, shown(&setup, &token), "the case is unchanged");
    assert_eq!(
        stack.count(mailbox, "Needs-Human").await,
        1,
        "filed for staff"
    );
    assert_eq!(
        stack.count("victim@victims.test", "INBOX").await,
        0,
        "no mail to Reply-To"
    );
    let replies = stack.wait_for(ion, "INBOX", 2, WAIT).await;
    let neutral = replies
        .iter()
        .find(|r| body(r).contains("nu a putut fi verificat"))
        .expect("a neutral answer to the From address");
    let text = String::from_utf8_lossy(neutral);
    for echoed in ["spam.example", "203.0.113", &token, "forged@evil.test"] {
        assert!(
            !text.contains(echoed),
            "the answer repeats {echoed:?}:\n{text}"
        );
    }
    // Staff see it, with the reason.
    let digest = setup.cli(&["digest", "--print"]);
    assert!(digest.contains("DMARC fail"), "{digest}");
    let inspect = setup.cli(&[
        "inspect",
        "--json",
        &save(&setup, neutral_source(stack, mailbox).await),
    ]);
    let report: serde_json::Value = serde_json::from_str(inspect.lines().next().unwrap()).unwrap();
    assert_eq!(report["sender"]["authenticated"], false, "{report}");
    assert_eq!(report["sender"]["address"], ion);
}

/// The message staff find in Needs-Human.
async fn neutral_source(stack: &Stack, mailbox: &str) -> Vec<u8> {
    stack.messages(mailbox, "Needs-Human").await.remove(0)
}

fn save(setup: &Setup, raw: Vec<u8>) -> String {
    let path = setup.dir.path().join("held.eml");
    std::fs::write(&path, raw).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_institution_cannot_join_a_case_by_token_or_thread() {
    let stack = Stack::get();
    let mailbox = "svc-hijack@egov.test";
    let ion = "ion-hijack@inst-a.test";
    let eve = "eve-hijack@inst-b.test";
    let setup = secure(stack, mailbox, "");
    let first = mail(
        ion,
        mailbox,
        "Conectare MNotify",
        "<a1-hijack@inst-a.test>",
        "Ce trebuie pentru MNotify?",
    );
    signed_then_run(stack, &setup, ion, mailbox, &first.build()).await;
    let ours = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let token = token_of(&ours[0]);
    let our_id = mnotify_intake::intake::read(&ours[0], &[])
        .message_id
        .unwrap();
    let before = shown(&setup, &token);

    // Authenticated, but another institution: its token and thread headers name ion's case.
    let cert = setup.leaf(&[0x52, 0x02]);
    let hijack = mail(
        eve,
        mailbox,
        &format!("Re: [MNotify #{token}]"),
        "<b1-hijack@inst-b.test>",
        "Sistemul: EVE\nIP test: 198.51.100.7\nMNotify",
    )
    .header("In-Reply-To", &format!("<{our_id}>"))
    .attach("eve.cer", "application/pkix-cert", &cert);
    signed_then_run(stack, &setup, eve, mailbox, &hijack.build()).await;

    assert_eq!(
        before,
        shown(&setup, &token),
        "nothing written on ion's case"
    );
    let eve_replies = stack.wait_for(eve, "INBOX", 1, WAIT).await;
    let eve_token = token_of(&eve_replies[0]);
    assert_ne!(eve_token, token, "eve gets a case of her own");
    assert!(!String::from_utf8_lossy(&eve_replies[0]).contains(&token));
    assert_eq!(
        case_json(&setup, &eve_token)["steps_done"],
        serde_json::json!(["certificate"])
    );
    let eve_case = shown(&setup, &eve_token);
    assert!(eve_case.contains("another institution"), "{eve_case}");
    assert!(eve_case.contains("authenticated: DMARC"), "{eve_case}");
    assert_eq!(
        stack.count(ion, "INBOX").await,
        1,
        "ion got nothing about eve's mail"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_delivery_report_is_ignored() {
    let stack = Stack::get();
    let mailbox = "svc-dsn@egov.test";
    let ion = "ion-dsn@inst-a.test";
    let setup = secure(stack, mailbox, "");
    let first = mail(
        ion,
        mailbox,
        "MNotify",
        "<q-dsn@inst-a.test>",
        "Intrebare despre MNotify.",
    );
    signed_then_run(stack, &setup, ion, mailbox, &first.build()).await;
    let ours = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let our_id = mnotify_intake::intake::read(&ours[0], &[])
        .message_id
        .unwrap();
    // Even knowing our reply's Message-ID, a report from elsewhere changes nothing.
    let report = delivery_report("evil.test", "mx.inst-a.test", mailbox, ion, &our_id);
    forged_then_run(
        stack,
        &setup,
        "MAILER-DAEMON@evil.test",
        mailbox,
        report.as_bytes(),
    )
    .await;
    let status = setup.status();
    assert_eq!(status["outbox"]["failed"], 0, "{status}");
    let digest = setup.cli(&["digest", "--print"]);
    assert!(
        digest.contains("delivery report about our reply") && digest.contains("ignored"),
        "staff see the ignored report, in the staff language:\n{digest}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quoted_serial_reveals_no_one_elses_registration() {
    let stack = Stack::get();
    let mailbox = "svc-oracle@egov.test";
    let eve = "eve-oracle@inst-b.test";
    let setup = secure(stack, mailbox, "");
    let theirs = setup.leaf(&[0x53, 0x03, 0x33, 0x44]);
    let path = setup.dir.path().join("theirs.cer");
    std::fs::write(&path, &theirs).unwrap();
    setup.cli(&[
        "registry",
        "import",
        "--service",
        "MPass",
        "--institution",
        "Primăria Alta",
        path.to_str().unwrap(),
    ]);
    let probe = mail(
        eve,
        mailbox,
        "MNotify",
        "<o1@inst-b.test>",
        "Seria certificatului pentru MNotify: 53 03 33 44",
    );
    signed_then_run(stack, &setup, eve, mailbox, &probe.build()).await;
    let reply =
        String::from_utf8_lossy(&stack.wait_for(eve, "INBOX", 1, WAIT).await[0]).into_owned();
    let text = body(reply.as_bytes());
    assert!(text.contains("Am confirmat"), "the number is known: {text}");
    assert!(
        !text.contains("pentru MPass") && !text.contains("Primăria Alta"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_to_cannot_relay_to_strangers() {
    let stack = Stack::get();
    let mailbox = "svc-relay@egov.test";
    let eve = "eve-relay@inst-b.test";
    let setup = secure(stack, mailbox, "");
    for i in 0..100 {
        let m = mail(
            eve,
            mailbox,
            "MNotify spam.example",
            &format!("<r{i}@inst-b.test>"),
            "MNotify: cumpara spam.example",
        )
        .header("Reply-To", &format!("victim{i}@victims.test"));
        stack.send_from_institution(eve, mailbox, &m.build()).await;
    }
    stack.wait_for(mailbox, "INBOX", 100, WAIT * 2).await;
    run_once(&setup);
    for i in 0..100 {
        assert_eq!(
            stack
                .count(&format!("victim{i}@victims.test"), "INBOX")
                .await,
            0,
            "victim{i} got mail"
        );
    }
    // The sender itself gets at most the per-recipient cap; the rest waits for staff.
    // Exactly the per-recipient cap went out, all to the sender (the daemon has sent
    // everything it will before `run --once` ends; delivery may lag).
    let status = setup.status();
    assert_eq!(status["outbox"]["sent"], 5, "{status}");
    assert_eq!(stack.wait_for(eve, "INBOX", 5, WAIT).await.len(), 5);
    assert_eq!(
        stack.count(mailbox, "Needs-Human").await + stack.count(mailbox, "Processed").await,
        100
    );
    assert!(stack.count(mailbox, "Needs-Human").await >= 95);
    let digest = setup.cli(&["digest", "--print"]);
    assert!(digest.contains("max_per_recipient_per_day"), "{digest}");
}

/// Replies to every message it receives, each time from a new address: inside its own
/// authenticated domain (keeping the case token) and, unauthenticated, from a new
/// domain each time. Runs for 60 s against the running daemon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_responder_rotating_addresses_is_bounded_by_the_caps() {
    let stack = Stack::get();
    let mailbox = "svc-loop@egov.test";
    let setup = secure(stack, mailbox, "");
    let daemon = setup.start();
    setup.wait_until_connected();
    let first_auth = "loop0@inst-b.test".to_string();
    let first_forged = "loop0@rot0.test".to_string();
    stack
        .send_from_institution(
            &first_auth,
            mailbox,
            &mail(
                &first_auth,
                mailbox,
                "MNotify",
                "<l-a0@inst-b.test>",
                "MNotify?",
            )
            .build(),
        )
        .await;
    stack
        .deliver(
            &first_forged,
            mailbox,
            &mail(
                &first_forged,
                mailbox,
                "MNotify",
                "<l-f0@rot0.test>",
                "MNotify?",
            )
            .build(),
        )
        .await;
    let mut waiting = vec![(first_auth, true), (first_forged, false)];
    let mut sent_back = 0usize;
    let mut received = 0usize;
    let start = Instant::now();
    let mut n = 1;
    while start.elapsed() < Duration::from_secs(60) {
        let mut next = Vec::new();
        for (addr, authenticated) in waiting.drain(..) {
            let got = stack.messages(&addr, "INBOX").await;
            let Some(reply) = got.first() else {
                next.push((addr, authenticated));
                continue;
            };
            received += 1;
            let facts = mnotify_intake::intake::read(reply, &[]);
            let subject = facts.subject.unwrap_or_default();
            let id = facts.message_id.unwrap_or_default();
            let new = if authenticated {
                format!("loop{n}@inst-b.test")
            } else {
                format!("loop{n}@rot{n}.test")
            };
            let answer = mail(
                &new,
                mailbox,
                &format!("Re: {subject}"),
                &format!("<l{n}@x.test>"),
                "MNotify? Inca o intrebare.",
            )
            .header("In-Reply-To", &format!("<{id}>"));
            if authenticated {
                stack
                    .send_from_institution(&new, mailbox, &answer.build())
                    .await;
            } else {
                stack.deliver(&new, mailbox, &answer.build()).await;
            }
            sent_back += 1;
            n += 1;
            next.push((new, authenticated));
        }
        waiting = next;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    daemon.stop();
    let status = setup.status();
    let count = |k: &str| {
        status["outbox"][k]
            .as_u64()
            .unwrap_or_else(|| panic!("outbox {k} in {status}"))
    };
    let replies = count("sent") + count("pending") + count("failed");
    println!("rotating responder, 60 s: {received} replies reached it, it answered {sent_back} times, the daemon sent {replies} replies");
    // One case (10 a day) for the authenticated chain, one neutral answer for the forged.
    assert!(replies <= 11, "replies went out: {replies}\n{status}");
    assert!(received >= 2, "both chains were answered at first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_the_log_at_trace_level() {
    let stack = Stack::get();
    let mailbox = "svc-trace@egov.test";
    let setup = secure(stack, mailbox, "");
    let ion = "ion-trace@inst-a.test";
    let m = mail(ion, mailbox, "MNotify", "<t1@inst-a.test>", "MNotify?");
    stack.send_from_institution(ion, mailbox, &m.build()).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mnotify-intake"))
        .arg("--config")
        .arg(&setup.config)
        .args(["run", "--once"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    let password = std::fs::read_to_string(stack.password_file()).unwrap();
    assert!(log.len() > 1000, "trace logging is on: {log}");
    assert!(
        !log.contains(password.trim()),
        "the password is in the trace log"
    );
    // Base64 of AUTH PLAIN or LOGIN carries it too.
    use base64::Engine;
    let plain = base64::engine::general_purpose::STANDARD
        .encode(format!("\0{mailbox}\0{}", password.trim()));
    assert!(
        !log.contains(&plain),
        "the AUTH PLAIN string is in the trace log"
    );
    // With an OAuth2 token helper, the token is not there either.
    crate::oauth2::use_tokens(stack, &setup, mailbox, 3600);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mnotify-intake"))
        .arg("--config")
        .arg(&setup.config)
        .args(["run", "--once"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains("eyJ"), "a JWT is in the trace log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_guardrails_and_added_members() {
    let stack = Stack::get();
    let mailbox = "svc-guard@egov.test";
    let ion = "ion-guard@inst-a.test";
    let eve = "eve-guard@inst-b.test";
    let setup = secure(stack, mailbox, "");
    let first = mail(
        ion,
        mailbox,
        "MNotify",
        "<g1@inst-a.test>",
        "Conectare MNotify?",
    );
    signed_then_run(stack, &setup, ion, mailbox, &first.build()).await;
    let token = token_of(&stack.wait_for(ion, "INBOX", 1, WAIT).await[0]);

    // Production before the tests: refused, with what is missing.
    let out = setup.run_cli(&["cases", "advance", &token, "production"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("operational_tests"),
        "{stderr}"
    );
    // A dry run shows whose case it is and the notice, and changes nothing.
    let before = shown(&setup, &token);
    let dry = setup.cli(&["cases", "advance", &token, "form", "--dry-run"]);
    assert!(
        dry.contains("institution inst-a.test") && dry.contains(ion),
        "{dry}"
    );
    assert!(
        dry.contains("notice to") && dry.contains("nothing changed"),
        "{dry}"
    );
    assert_eq!(before, shown(&setup, &token));
    // --force needs a note, and the note keeps what was skipped.
    assert!(!setup
        .run_cli(&["cases", "advance", &token, "test_access", "--force"])
        .status
        .success());
    setup.cli(&[
        "cases",
        "advance",
        &token,
        "test_access",
        "--force",
        "--note",
        "urgent, ministry order 5",
    ]);
    let after = shown(&setup, &token);
    assert!(
        after.contains("forced before form, contract, certificate, integration_data: urgent"),
        "{after}"
    );

    // Another institution's mail joins only once staff add it.
    let ask = |n: u32| {
        mail(
            eve,
            mailbox,
            &format!("Re: [MNotify #{token}]"),
            &format!("<g-eve{n}@inst-b.test>"),
            "MNotify, colegii de la inst-a.",
        )
    };
    signed_then_run(stack, &setup, eve, mailbox, &ask(1).build()).await;
    assert!(!shown(&setup, &token).contains(eve));
    setup.cli(&["cases", "allow", &token, "inst-b.test"]);
    signed_then_run(stack, &setup, eve, mailbox, &ask(2).build()).await;
    let joined = shown(&setup, &token);
    assert!(
        joined.contains("added inst-b.test to the institution"),
        "{joined}"
    );
    assert!(
        joined.contains(&format!("from {eve} (authenticated: DMARC)")),
        "{joined}"
    );
}

/// An institution whose mail system signs nothing: its mail waits for staff, who
/// check with the institution and accept it; the daemon then handles it as theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_mail_accepted_by_staff_is_handled_as_the_institution_s() {
    let stack = Stack::get();
    let mailbox = "svc-held@egov.test";
    let ana = "ana-held@scoala.test";
    let setup = secure(stack, mailbox, "");
    let cert = setup.leaf(&[0x54, 0x04, 0x44]);
    let m = mail(
        ana,
        mailbox,
        "Certificat MNotify",
        "<h1@scoala.test>",
        "Certificatul scolii pentru MNotify.",
    )
    .attach("scoala.cer", "application/pkix-cert", &cert);
    stack.deliver(ana, mailbox, &m.build()).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    let daemon = setup.start();
    stack.wait_for(mailbox, "Needs-Human", 1, WAIT).await;
    let neutral = stack.wait_for(ana, "INBOX", 1, WAIT).await;
    assert!(body(&neutral[0]).contains("nu a putut fi verificat"));
    let listed = setup.cli(&["held", "list"]);
    // The reference the applicant was given finds the mail in the list.
    let reference = mnotify_intake::process::answer::reference("h1@scoala.test");
    assert!(body(&neutral[0]).contains(&reference), "{reference}");
    assert!(listed.contains(&format!("(ref. {reference})")), "{listed}");
    assert!(
        listed.contains("h1@scoala.test") && listed.contains(ana),
        "{listed}"
    );
    assert!(
        listed.contains("no Authentication-Results") || listed.contains("no aligned pass"),
        "{listed}"
    );
    let wrong = setup.run_cli(&["held", "accept", "nothing@here"]);
    assert!(!wrong.status.success());

    let accepted = setup.cli(&["held", "accept", "h1@scoala.test", "--by", "ana.staff"]);
    assert!(accepted.contains("accepted by ana.staff"), "{accepted}");
    // Handled now as the institution's own: a case, the certificate step, a real reply.
    let replies = stack.wait_for(ana, "INBOX", 2, WAIT).await;
    let real = replies
        .iter()
        .find(|r| !body(r).contains("nu a putut fi verificat"))
        .expect("the real reply");
    let token = token_of(real);
    // Filed with the handled mail, out of the folder for people.
    stack.wait_for(mailbox, "Processed", 1, WAIT).await;
    assert_eq!(stack.count(mailbox, "Needs-Human").await, 0);
    daemon.stop();
    let case = shown(&setup, &token);
    assert!(case.contains("accepted by ana.staff"), "{case}");
    assert_eq!(
        case_json(&setup, &token)["steps_done"],
        serde_json::json!(["certificate"])
    );
    let listed = setup.cli(&["held", "list"]);
    assert!(listed.contains("no mail held"), "{listed}");
}

/// Certificates that do not fit the institution that sent them are shown to staff:
/// one naming another institution's address, one already in another's case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_that_do_not_fit_are_shown_to_staff() {
    let stack = Stack::get();
    let mailbox = "svc-fit@egov.test";
    let ion = "ion-fit@inst-a.test";
    let eve = "eve-fit@inst-b.test";
    let setup = secure(stack, mailbox, "");
    let mut spec = mnotify_intake::testkit::pki::LeafSpec::valid_at(
        crate::util::NOW,
        "SI Inst A",
        &[0x55, 0x05],
    );
    spec.email = Some("it@inst-a.test".into());
    let ions = setup.pki.leaf(&spec);
    let send = |from: &'static str, id: &'static str, der: Vec<u8>| {
        mail(
            from,
            mailbox,
            "Certificat MNotify",
            id,
            "Certificatul pentru MNotify.",
        )
        .attach("s.cer", "application/pkix-cert", &der)
    };
    let first = send(ion, "<f1@inst-a.test>", ions.clone()).build();
    signed_then_run(stack, &setup, ion, mailbox, &first).await;
    let ion_token = token_of(&stack.wait_for(ion, "INBOX", 1, WAIT).await[0]);
    assert!(
        !shown(&setup, &ion_token).contains("staff check"),
        "ion's own certificate fits"
    );

    // Eve sends ion's certificate: it names ion's institution, so it completes nothing
    // in eve's case, which waits on a staff check.
    signed_then_run(
        stack,
        &setup,
        eve,
        mailbox,
        &send(eve, "<f2@inst-b.test>", ions).build(),
    )
    .await;
    let eve_reply = stack.wait_for(eve, "INBOX", 1, WAIT).await.remove(0);
    let eve_token = token_of(&eve_reply);
    let text = body(&eve_reply);
    assert!(
        text.contains("Un coleg verifică dacă certificatul aparține"),
        "{text}"
    );
    assert!(
        !text.contains("inst-a") && !text.contains(&ion_token),
        "names no one: {text}"
    );
    let eve_case = shown(&setup, &eve_token);
    assert!(
        eve_case.contains("names it@inst-a.test, not an address of inst-b.test"),
        "{eve_case}"
    );
    let eve_json = case_json(&setup, &eve_token);
    assert_eq!(
        eve_json["steps_done"],
        serde_json::json!([]),
        "another institution's certificate completes no step: {eve_json}"
    );
    assert_eq!(eve_json["waiting_on"], "age", "{eve_json}");
    assert!(
        case_json(&setup, &ion_token)["certificate_check"].is_null(),
        "the evidence says it is ion's: her case is not doubted"
    );
    let digest = setup.cli(&["digest", "--print"]);
    assert!(
        digest.contains("Certificates to check") && digest.contains(&format!("#{eve_token}")),
        "{digest}"
    );
}

/// `check` reads the newest inbox headers: a wrong authserv-id (every applicant's mail
/// would wait for staff) is a warning that says what to look at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_sees_whether_our_mx_stamps_the_mail() {
    let stack = Stack::get();
    let mailbox = "svc-stamp@egov.test";
    let ion = "ion-stamp@inst-a.test";
    let setup = secure(stack, mailbox, "");
    let m = mail(ion, mailbox, "MNotify", "<s1@inst-a.test>", "MNotify?");
    stack.send_from_institution(ion, mailbox, &m.build()).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    let text = setup.cli(&["check"]);
    assert!(
        text.contains(
            "1 of the newest 1 message(s) in INBOX carry Authentication-Results from mx.egov.test"
        ),
        "{text}"
    );
    let config = std::fs::read_to_string(&setup.config).unwrap();
    std::fs::write(
        &setup.config,
        config.replace(
            "authserv_id = \"mx.egov.test\"",
            "authserv_id = \"mx.example.md\"",
        ),
    )
    .unwrap();
    let text = String::from_utf8_lossy(&setup.run_cli(&["check"]).stdout).into_owned();
    assert!(
        text.contains("WARN  senders")
            && text.contains("is [trust] authserv_id the id your MX writes"),
        "{text}"
    );
    assert_eq!(
        stack.count(mailbox, "INBOX").await,
        1,
        "check moved nothing"
    );
}

/// A case is one institution's one information system: an authenticated employee
/// writing about a second system (a new mail, not in the first case's thread) gets a
/// second case; a later mail about the first system joins the first again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_information_system_opens_a_second_case() {
    let stack = Stack::get();
    let mailbox = "svc-systems@egov.test";
    let ion = "ion-systems@inst-a.test";
    let setup = secure(stack, mailbox, "");
    let mut tokens = Vec::new();
    for (n, (id, system)) in [
        ("<sys1@inst-a.test>", "SI Registrul Elevilor"),
        ("<sys2@inst-a.test>", "SI Cantine"),
        ("<sys3@inst-a.test>", "SI Registrul Elevilor"),
    ]
    .into_iter()
    .enumerate()
    {
        let m = mail(
            ion,
            mailbox,
            "Conectare MNotify",
            id,
            &format!("Bună ziua, dorim conectarea la MNotify.\nDenumirea sistemului în MPass: {system}\n"),
        );
        signed_then_run(stack, &setup, ion, mailbox, &m.build()).await;
        let replies = stack.wait_for(ion, "INBOX", n + 1, WAIT).await;
        let reply = replies
            .iter()
            .find(|r| {
                mnotify_intake::intake::read(r, &[])
                    .in_reply_to
                    .iter()
                    .any(|i| i.contains(&id[1..id.len() - 1]))
            })
            .expect("the reply to this mail");
        tokens.push(token_of(reply));
    }
    assert_ne!(tokens[0], tokens[1], "a second system, a second case");
    assert_eq!(
        tokens[2], tokens[0],
        "the first system's mail joins its case"
    );
    let listed = setup.cli(&["cases", "list"]);
    assert_eq!(listed.matches(ion).count(), 2, "{listed}");
    let second = shown(&setup, &tokens[1]);
    assert!(
        second.contains(&format!(
            "case #{} of the same institution is for SI Registrul Elevilor",
            tokens[0]
        )),
        "{second}"
    );
}

/// A stranger who knows the Message-ID of a mail an institution is about to send,
/// and sends their own mail under it first, pre-empts nothing: the genuine mail gets
/// its reply and its case, both mails are kept, and staff see that the Message-ID was
/// used twice; a second copy of the genuine mail is filed once, unanswered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_pre_empt_a_genuine_mail_by_its_message_id() {
    let stack = Stack::get();
    let mailbox = "svc-preempt@egov.test";
    let ion = "ion-preempt@inst-a.test";
    let setup = secure(stack, mailbox, "");
    let id = "<genuine-preempt@inst-a.test>";
    let stranger = mail(ion, mailbox, "MNotify", id, "Vrem MNotify.").build();
    forged_then_run(stack, &setup, ion, mailbox, &stranger).await;
    stack.wait_for(mailbox, "Needs-Human", 1, WAIT).await;
    stack.wait_for(ion, "INBOX", 1, WAIT).await;

    let cert = setup.leaf(&[0x5d, 0x1d, 0x01]);
    let genuine = mail(
        ion,
        mailbox,
        "Certificat MNotify",
        id,
        "Bună ziua, anexăm certificatul de sistem pentru MNotify.",
    )
    .attach("sistem.cer", "application/pkix-cert", &cert)
    .build();
    signed_then_run(stack, &setup, ion, mailbox, &genuine).await;
    let replies = stack.wait_for(ion, "INBOX", 2, WAIT).await;
    let real = replies
        .iter()
        .find(|r| !body(r).contains("nu a putut fi verificat"))
        .unwrap_or_else(|| panic!("no reply to the genuine mail\n{}", setup.log()));
    let token = token_of(real);
    assert_eq!(
        case_json(&setup, &token)["steps_done"],
        serde_json::json!(["certificate"])
    );
    stack.wait_for(mailbox, "Processed", 1, WAIT).await;
    // Both kept: the stranger's mail held for staff, the genuine one in the case, and
    // the digest's checks say the Message-ID came twice.
    let held = setup.cli(&["held", "list"]);
    assert!(held.contains("genuine-preempt@inst-a.test"), "{held}");
    let digest = setup.cli(&["digest", "--print"]);
    assert!(
        digest.contains("same Message-ID <genuine-preempt@inst-a.test>"),
        "{digest}"
    );

    // The same genuine mail again (a second copy): filed, not answered.
    signed_then_run(stack, &setup, ion, mailbox, &genuine).await;
    stack.wait_for(mailbox, "Processed", 2, WAIT).await;
    stack.wait_until_delivered(WAIT).await;
    assert_eq!(stack.count(ion, "INBOX").await, 2, "{}", setup.log());
    let status: serde_json::Value =
        serde_json::from_str(&setup.cli(&["status", "--json"])).expect("status --json");
    assert_eq!(status["cases"], 1, "{status}");
}

/// An address the applicant writes, with quotes to break out of an attribute, is
/// echoed in the reply as text: the HTML part links only the agency's own addresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_links_only_the_agency_s_addresses() {
    let stack = Stack::get();
    let mailbox = "svc-links@egov.test";
    let ion = "ion-links@inst-a.test";
    let setup = secure(stack, mailbox, "");
    let system = "https://evil.test/\"onmouseover=\"alert(1)";
    let m = mail(
        ion,
        mailbox,
        "Conectare MNotify",
        "<links1@inst-a.test>",
        &format!(
            "Bună ziua, anexăm certificatul pentru MNotify.\nDenumirea sistemului în MPass: {system}\n"
        ),
    )
    .attach("sistem.cer", "application/pkix-cert", &setup.leaf(&[0x5e, 0x11]));
    signed_then_run(stack, &setup, ion, mailbox, &m.build()).await;
    let reply = stack.wait_for(ion, "INBOX", 1, WAIT).await.remove(0);
    let parsed = mail_parser::MessageParser::default()
        .parse(&reply)
        .expect("the reply parses");
    let text = parsed.body_text(0).unwrap_or_default().into_owned();
    assert!(text.contains("https://evil.test/"), "echoed: {text}");
    let html = parsed.body_html(0).expect("an HTML part").into_owned();
    assert!(!html.contains("\"onmouseover"), "{html}");
    let links: Vec<&str> = html
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(!links.is_empty(), "the procedure's links are links: {html}");
    for link in links {
        assert!(
            link.starts_with("https://forms.office.com/") || link.starts_with("https://egov.md"),
            "{link} in {html}"
        );
    }
}

/// A certificate ion's applicant was told is accepted, sent later by another
/// institution: ion's step stays done and she is told nothing new; the later case
/// carries the check, and every staff view says so (not "confirmed").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_claim_on_a_certificate_told_accepted_is_checked_in_the_later_case() {
    let stack = Stack::get();
    let mailbox = "svc-dispute@egov.test";
    let ion = "ion-dispute@inst-a.test";
    let eve = "eve-dispute@inst-b.test";
    let setup = secure(stack, mailbox, "");
    let cert = setup.leaf(&[0x5d, 0x15, 0x9e]);
    let send = |from: &str, id: &str| mail_with(&cert, from, mailbox, id);
    signed_then_run(stack, &setup, ion, mailbox, &send(ion, "<d1@inst-a.test>")).await;
    let ion_token = token_of(&stack.wait_for(ion, "INBOX", 1, WAIT).await[0]);
    signed_then_run(stack, &setup, eve, mailbox, &send(eve, "<d2@inst-b.test>")).await;
    let eve_token = token_of(&stack.wait_for(eve, "INBOX", 1, WAIT).await[0]);

    let ion_case = case_json(&setup, &ion_token);
    assert_eq!(
        ion_case["steps_done"],
        serde_json::json!(["certificate"]),
        "{ion_case}"
    );
    assert!(ion_case["certificate_check"].is_null(), "{ion_case}");
    let shown_ion = shown(&setup, &ion_token);
    assert!(
        shown_ion.contains("the certificate step stays done"),
        "{shown_ion}"
    );
    let eve_case = case_json(&setup, &eve_token);
    assert_eq!(eve_case["waiting_on"], "age", "{eve_case}");
    assert!(!eve_case["certificate_check"].is_null(), "{eve_case}");
    // Its certificate step waits on the agency, as its reply's checklist says.
    let eve_shown = shown(&setup, &eve_token);
    let step = eve_shown
        .lines()
        .find(|l| l.contains("3. certificate"))
        .unwrap_or_else(|| panic!("{eve_shown}"));
    assert!(step.contains("waiting on the agency"), "{step}");
    // Staff views agree: eve's case is under check, not confirmed, anywhere.
    let listed = setup.cli(&["cases", "list"]);
    let eve_line = listed
        .lines()
        .find(|l| l.contains(&eve_token))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(eve_line.contains("certificate under check"), "{eve_line}");
    // The next step told is named, not given by its code.
    assert!(
        eve_line.contains("1. connection form") && !eve_line.contains("1. form "),
        "{eve_line}"
    );
    let digest = setup.cli(&["digest", "--print"]);
    let accepted_section = digest
        .split("\n\n")
        .filter(|s| s.starts_with("Certificates accepted") || s.starts_with("Reuse confirmed"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        accepted_section.contains(ion),
        "ion's is accepted: {digest}"
    );
    assert!(!accepted_section.contains(eve), "{digest}");
    // Ion was told nothing more.
    stack.wait_until_delivered(WAIT).await;
    assert_eq!(stack.count(ion, "INBOX").await, 1);
}
