//! Every platform service on one mailbox, end to end on the real stack: an MPass case
//! takes its TEST certificate and then its PROD one, one institution's MSign and MLog
//! requests are two cases, a first mail naming no service is asked which, and
//! `inspect --json` says which services a mail asks for.

use std::time::Duration;

use mnotify_intake::intake;
use mnotify_intake::testkit::mail::Mail;

use crate::mail::body;
use crate::service::Setup;
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(30);

fn with_certificate(
    leaf: &[u8],
    from: &str,
    to: &str,
    subject: &str,
    text: &str,
    id: &str,
) -> Vec<u8> {
    let mut m = Mail::new(from, subject).message_id(id).text(text).attach(
        "sistem.cer",
        "application/pkix-cert",
        leaf,
    );
    m.to = to.to_string();
    m.build()
}

fn cases(setup: &Setup, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["cases", "list", "--json"];
    args.extend_from_slice(extra);
    setup
        .cli(&args)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The reply to the mail `id` among `replies` (a folder's messages come in no set
/// order).
fn reply_to<'a>(replies: &'a [Vec<u8>], id: &str) -> &'a [u8] {
    replies
        .iter()
        .find(|r| {
            intake::read(r, &[])
                .in_reply_to
                .iter()
                .any(|i| id.contains(i.as_str()))
        })
        .unwrap_or_else(|| panic!("no reply to {id}"))
}

fn subject(raw: &[u8]) -> String {
    intake::read(raw, &[]).subject.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mpass_case_takes_the_test_certificate_then_the_production_one() {
    let stack = Stack::get();
    let mailbox = "svc-mpass@egov.test";
    let ion = "ion-mpass@primaria.test";
    let setup = Setup::new(stack, mailbox, "");
    let daemon = setup.start();
    let first = with_certificate(
        &setup.leaf(&[0x3A, 0x01]),
        ion,
        mailbox,
        "Conectare MPass – certificat TEST pentru pasul 4",
        "Bună ziua, vă transmitem certificatul pentru mediul de testare MPass.",
        "<mp1@primaria.test>",
    );
    stack.deliver(ion, mailbox, &first).await;
    let replies = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let facts = intake::read(&replies[0], &[]);
    assert_eq!(
        facts.case_tag.as_deref(),
        Some("MPass"),
        "{}",
        subject(&replies[0])
    );
    let token = facts.case_token.expect("a case token");
    let text = body(&replies[0]);
    assert!(text.contains("Îl vom configura pentru MPass"), "{text}");
    assert!(!text.contains("MNotify"), "nothing of MNotify's: {text}");
    assert!(
        text.contains("[x] 4. Certificatul de sistem pentru mediul de testare"),
        "{text}"
    );
    assert!(
        text.contains("[ ] 8. Confirmarea configurației de producție"),
        "{text}"
    );
    let listed = cases(&setup, &[]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["service"], "mpass");
    assert_eq!(
        listed[0]["steps_done"],
        serde_json::json!(["certificate_test"])
    );

    // Step 8: the production certificate, in the case's thread.
    let second = with_certificate(
        &setup.leaf(&[0x3A, 0x02]),
        ion,
        mailbox,
        &format!("Re: [MPass #{token}] certificat PROD"),
        "Bună ziua, atașăm certificatul pentru producție.",
        "<mp2@primaria.test>",
    );
    stack.deliver(ion, mailbox, &second).await;
    let replies = stack.wait_for(ion, "INBOX", 2, WAIT).await;
    let text = body(reply_to(&replies, "<mp2@primaria.test>"));
    assert!(text.contains(&format!("[MPass #{token}]")), "{text}");
    assert!(
        text.contains("[x] 8. Confirmarea configurației de producție"),
        "{text}"
    );
    let listed = cases(&setup, &[]);
    assert_eq!(listed.len(), 1, "one case: {listed:?}");
    let done = listed[0]["steps_done"].as_array().unwrap();
    assert!(
        done.iter().any(|s| s == "certificate_production"),
        "{done:?}"
    );
    let environments: Vec<&str> = listed[0]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["environment"].as_str())
        .collect();
    assert_eq!(environments, ["test", "production"]);
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_institution_s_msign_and_mlog_requests_are_two_cases() {
    let stack = Stack::get();
    let mailbox = "svc-two@egov.test";
    let ana = "ana-two@primaria.test";
    let setup = Setup::new(stack, mailbox, "");
    let daemon = setup.start();
    let msign = with_certificate(
        &setup.leaf(&[0x5E, 0x01]),
        ana,
        mailbox,
        "Conectare MSign",
        "Bună ziua, solicităm conectarea la MSign; anexăm certificatul de sistem.",
        "<ms1@primaria.test>",
    );
    stack.deliver(ana, mailbox, &msign).await;
    stack.wait_for(ana, "INBOX", 1, WAIT).await;
    let mlog = with_certificate(
        &setup.leaf(&[0x5E, 0x02]),
        ana,
        mailbox,
        "Conectare MLog",
        "Bună ziua, solicităm conectarea la MLog pentru alt sistem; anexăm certificatul.",
        "<ml1@primaria.test>",
    );
    stack.deliver(ana, mailbox, &mlog).await;
    let replies = stack.wait_for(ana, "INBOX", 2, WAIT).await;
    let tags: Vec<Option<String>> = replies
        .iter()
        .map(|r| intake::read(r, &[]).case_tag)
        .collect();
    assert!(
        tags.contains(&Some("MSign".into())) && tags.contains(&Some("MLog".into())),
        "{tags:?}"
    );
    let all = cases(&setup, &[]);
    assert_eq!(all.len(), 2, "{all:?}");
    let mlog_only = cases(&setup, &["--service", "mlog"]);
    assert_eq!(mlog_only.len(), 1);
    assert_eq!(mlog_only[0]["service"], "mlog");
    // MLog's step 3 is in two parts: the certificate is in, the data is staff's to record.
    assert_eq!(
        mlog_only[0]["steps_done"],
        serde_json::json!(["certificate"])
    );
    let text = setup.cli(&["cases", "list"]);
    assert!(text.contains("MSign") && text.contains("MLog"), "{text}");
    let unknown = setup.run_cli(&["cases", "list", "--service", "mpay"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("the services are mnotify, mpass"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_mail_naming_no_service_is_asked_which_and_opens_no_case() {
    let stack = Stack::get();
    let mailbox = "svc-which@egov.test";
    let ion = "ion-which@primaria.test";
    let setup = Setup::new(stack, mailbox, "");
    let daemon = setup.start();
    let mail = with_certificate(
        &setup.leaf(&[0x7A, 0x01]),
        ion,
        mailbox,
        "Certificat de sistem",
        "Bună ziua, vă transmitem certificatul.",
        "<w1@primaria.test>",
    );
    stack.deliver(ion, mailbox, &mail).await;
    let replies = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    let text = body(&replies[0]);
    assert!(
        text.contains("nu am putut stabili la ce serviciu"),
        "{text}"
    );
    for tag in ["MNotify", "MPass", "MSign", "MLog", "MDocs"] {
        assert!(text.contains(&format!("  - {tag}: ")), "{tag}: {text}");
    }
    assert!(intake::read(&replies[0], &[]).case_token.is_none());
    assert!(cases(&setup, &[]).is_empty(), "no case opened");
    // Their answer naming the service opens its case.
    let again = with_certificate(
        &setup.leaf(&[0x7A, 0x01]),
        ion,
        mailbox,
        "Re: Certificat de sistem",
        "Pentru MNotify. Atașăm din nou certificatul.",
        "<w2@primaria.test>",
    );
    stack.deliver(ion, mailbox, &again).await;
    stack.wait_for(ion, "INBOX", 2, WAIT).await;
    let listed = cases(&setup, &[]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["service"], "mnotify");
    daemon.stop();
}

#[test]
fn inspect_json_names_the_services_a_mail_asks_for() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.eml");
    let raw = Mail::new("ion@primaria.md", "Conectare MNotify")
        .text("Solicităm conectarea la MNotify și la MDocs. Certificatul este deja înregistrat pentru MPass.")
        .build();
    std::fs::write(&file, raw).unwrap();
    let out = std::process::Command::new(crate::service::BIN)
        .args(["inspect", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(line["services"], serde_json::json!(["mnotify", "mdocs"]));
    // Every field there was is still there.
    for field in [
        "decision",
        "problems",
        "language",
        "certificates",
        "quoted",
        "sender",
    ] {
        assert!(line.get(field).is_some(), "{field}: {line}");
    }
}

/// An operator's edit of a procedure that open cases use: a step renamed without
/// saying so strands them, and `check` and the daemon refuse, naming the cases; once
/// `[renamed]` maps it, the daemon carries the cases over and goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_would_strand_open_cases_is_refused_until_mapped() {
    let stack = Stack::get();
    let mailbox = "svc-edit@egov.test";
    let ion = "ion-edit@primaria.test";
    let setup = Setup::new(stack, mailbox, "");
    let mail = with_certificate(
        &setup.leaf(&[0x4E, 0x01]),
        ion,
        mailbox,
        "Conectare MNotify",
        "Bună ziua, anexăm certificatul de sistem pentru MNotify.",
        "<e1@primaria.test>",
    );
    stack.deliver(ion, mailbox, &mail).await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let token = cases(&setup, &[])[0]["id"].as_str().unwrap().to_string();

    let dir = setup.dir.path().join("procedures");
    std::fs::create_dir(&dir).unwrap();
    let edited = mnotify_intake::procedure::BUILT_IN[0]
        .1
        .replace("code = \"certificate\"", "code = \"system_certificate\"")
        .replace(
            "after = [\"form\", \"contract\", \"certificate\",",
            "after = [\"form\", \"contract\", \"system_certificate\",",
        );
    std::fs::write(dir.join("mnotify.toml"), &edited).unwrap();
    let mut config = std::fs::read_to_string(&setup.config).unwrap();
    config += "\n[procedures]\ndir = \"procedures\"\n";
    std::fs::write(&setup.config, &config).unwrap();

    let check = setup.run_cli(&["check"]);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "case #{token} (mnotify) recorded step `certificate`"
        )),
        "{said}"
    );
    let run = setup.run_cli(&["run", "--once"]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{err}");
    assert!(
        err.contains("would strand 1 open case") && err.contains("[renamed]"),
        "{err}"
    );

    std::fs::write(
        dir.join("mnotify.toml"),
        edited + "\n[renamed]\ncertificate = \"system_certificate\"\n",
    )
    .unwrap();
    setup.cli(&["run", "--once"]);
    let case = &cases(&setup, &[])[0];
    assert_eq!(
        case["steps_done"],
        serde_json::json!(["system_certificate"]),
        "{case}"
    );
}

/// The newer MPass text: a certificate accepted for one service counts for the same
/// system and environment in another's. An institution's MNotify case took its test
/// certificate; its MPass request quoting that serial is confirmed, and MPass's step 4
/// is done. Another institution quoting the same serial gets a staff check instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_accepted_for_one_service_counts_in_another_s_case() {
    let stack = Stack::get();
    let mailbox = "svc-reuse@egov.test";
    let ion = "ion-reuse-mpass@primaria.test";
    let setup = Setup::new(stack, mailbox, "");
    let daemon = setup.start();
    let leaf = setup.leaf(&[0x6E, 0x51, 0x0A, 0x3C]);
    let mut first = Mail::new(ion, "Conectare MNotify")
        .message_id("<r1@primaria.test>")
        .text("Bună ziua, anexăm certificatul de sistem pentru MNotify.")
        .attach("test.cer", "application/pkix-cert", &leaf);
    first.to = mailbox.to_string();
    stack.deliver(ion, mailbox, &first.build()).await;
    stack.wait_for(ion, "INBOX", 1, WAIT).await;

    let mut mpass = Mail::new(ion, "Conectare MPass - certificat TEST")
        .message_id("<r2@primaria.test>")
        .text("Bună ziua, solicităm conectarea la MPass. Folosim certificatul deja înregistrat pentru MNotify, seria 6E 51 0A 3C.");
    mpass.to = mailbox.to_string();
    stack.deliver(ion, mailbox, &mpass.build()).await;
    let replies = stack.wait_for(ion, "INBOX", 2, WAIT).await;
    let text = body(reply_to(&replies, "<r2@primaria.test>"));
    assert!(text.contains("poate fi reutilizat pentru MPass"), "{text}");
    let of_mpass = cases(&setup, &["--service", "mpass"]);
    assert_eq!(of_mpass.len(), 1, "{of_mpass:?}");
    assert_eq!(of_mpass[0]["last_decision"], "reuse_confirmed");
    assert_eq!(
        of_mpass[0]["steps_done"],
        serde_json::json!(["certificate_test"]),
        "the test certificate counts for MPass's test step"
    );

    let eve = "eve-reuse@alta.test";
    let mut theirs = Mail::new(eve, "Conectare MPass")
        .message_id("<r3@alta.test>")
        .text("Solicităm conectarea la MPass cu certificatul înregistrat pentru MNotify, seria 6E 51 0A 3C.");
    theirs.to = mailbox.to_string();
    stack.deliver(eve, mailbox, &theirs.build()).await;
    let replies = stack.wait_for(eve, "INBOX", 1, WAIT).await;
    let text = body(&replies[0]);
    assert!(text.contains("un coleg verifică dacă aparține"), "{text}");
    assert!(!text.contains("primaria"), "names no one: {text}");
    let mpass = cases(&setup, &["--service", "mpass"]);
    let eves = mpass
        .iter()
        .find(|c| c["applicant"] == eve)
        .expect("eve's case");
    assert_eq!(eves["steps_done"], serde_json::json!([]), "{eves}");
    daemon.stop();
}
