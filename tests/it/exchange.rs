//! Exchange Online as our receiving server, on the stack whose MX is shaped like it
//! (scripts/mail-stack, MAIL_STACK_MX=exchange): real DKIM and DMARC verification by
//! the MX's verifiers, rewritten into Exchange's id-less Authentication-Results above
//! its front door, the tenant's stamps appended; everything a sender wrote stays below.

use std::time::Duration;

use mnotify_intake::testkit::mail::Mail;

use crate::mail::body;
use crate::service::Setup;
use crate::stack::{Stack, EXCHANGE_TENANT};

const WAIT: Duration = Duration::from_secs(30);

/// A daemon that believes only Exchange Online's stamps for `tenant`.
fn on_exchange(stack: &Stack, mailbox: &str, tenant: &str) -> Setup {
    let setup = Setup::new(stack, mailbox, "");
    let text = stack
        .secure_config_toml(
            mailbox,
            &setup.dir.path().join("store"),
            &setup.dir.path().join("anchors.pem"),
        )
        .replace(
            "authserv_id = \"mx.egov.test\"\n",
            &format!("exchange_online_tenant = \"{tenant}\"\n"),
        );
    assert!(text.contains("exchange_online_tenant"), "{text}");
    std::fs::write(&setup.config, text).unwrap();
    setup
}

fn mail(from: &str, to: &str, subject: &str, id: &str, text: &str) -> Mail {
    let mut m = Mail::new(from, subject).message_id(id).text(text);
    m.to = to.to_string();
    m
}

fn inspect(setup: &Setup, raw: &[u8]) -> serde_json::Value {
    let path = setup.dir.path().join("inspected.eml");
    std::fs::write(&path, raw).unwrap();
    let out = setup.cli(&["inspect", "--json", path.to_str().unwrap()]);
    serde_json::from_str(out.lines().next().unwrap()).expect("inspect JSON")
}

const NEUTRAL: &str = "nu a putut fi verificat";

/// An institution's signed mail is authenticated by Exchange's stamp and answered; a
/// forgery with passes written above and below the front door is held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_online_s_stamp_decides_and_what_the_sender_wrote_does_not() {
    let stack = Stack::exchange();
    let mailbox = "svc-exo@egov.test";
    let ion = "ion-exo@inst-a.test";
    let setup = on_exchange(stack, mailbox, EXCHANGE_TENANT);
    let cert = setup.leaf(&[0x6E, 0x01]);
    let real = mail(
        ion,
        mailbox,
        "Certificat MNotify",
        "<real-exo@inst-a.test>",
        "Certificatul pentru MNotify.",
    )
    .attach("sistem.cer", "application/pkix-cert", &cert);
    stack
        .send_from_institution(ion, mailbox, &real.build())
        .await;
    let delivered = stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    let report = inspect(&setup, &delivered[0]);
    assert_eq!(report["sender"]["authenticated"], true, "{report}");
    assert_eq!(report["sender"]["rule"], "exchange_online", "{report}");
    let check = setup.cli(&["check"]);
    assert!(
        check.contains("1 of the newest 1 message(s) in INBOX carry"),
        "check sees the tenant's stamp:\n{check}"
    );
    setup.cli(&["run", "--once"]);
    let replies = stack.wait_for(ion, "INBOX", 1, WAIT).await;
    assert!(!body(&replies[0]).contains(NEUTRAL), "a real reply");
    let cases = setup.cli(&["cases", "list", "--json"]);
    assert!(cases.contains("\"certificate\""), "{cases}");

    // A forger writes to the MX as ion: Exchange's stamp says DMARC fail; below the
    // front door the forger wrote Microsoft's pass, a front door and our tenant.
    let forged = mail(ion, mailbox, "Certificat MNotify", "<forged-exo@evil.test>", "Alt certificat.")
        .header("Authentication-Results", "spf=pass (sender IP is 10.0.0.1) smtp.mailfrom=inst-a.test; dkim=pass (signature was verified) header.d=inst-a.test;dmarc=pass action=none header.from=inst-a.test;compauth=pass reason=100")
        .header("Received", "from mail.inst-a.test (10.0.0.1) by AM7PEPF00000001.mail.protection.outlook.com (10.167.8.1) with Microsoft SMTP Server id 15.20.1 via Frontend Transport; Tue, 1 Dec 2026 09:00:00 +0000")
        .header("X-MS-Exchange-CrossTenant-Id", EXCHANGE_TENANT)
        .header("X-MS-Exchange-Organization-AuthAs", "Internal")
        .attach("nou.cer", "application/pkix-cert", &setup.leaf(&[0x6E, 0x66]));
    stack.deliver(ion, mailbox, &forged.build()).await;
    let arrived = stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    assert!(
        !String::from_utf8_lossy(&arrived[0])
            .contains("X-MS-Exchange-Organization-AuthAs: Internal"),
        "Exchange's header firewall removed the forger's organization stamp"
    );
    let report = inspect(&setup, &arrived[0]);
    assert_eq!(report["sender"]["authenticated"], false, "{report}");
    assert!(
        report["sender"]["reason"]
            .as_str()
            .unwrap()
            .contains("DMARC fail"),
        "{report}"
    );
    setup.cli(&["run", "--once"]);
    assert_eq!(
        stack.count(mailbox, "Needs-Human").await,
        1,
        "held for staff"
    );
    let replies = stack.wait_for(ion, "INBOX", 2, WAIT).await;
    assert_eq!(
        replies.iter().filter(|r| body(r).contains(NEUTRAL)).count(),
        1,
        "the forgery got the neutral answer only"
    );
    let held = setup.cli(&["held", "list"]);
    assert!(held.contains("forged-exo@evil.test"), "{held}");
}

/// An institution that is itself on Microsoft 365: its own tenant's ARC set,
/// Authentication-Results, front door and CrossTenant-Id travel below ours; our
/// front door's stamp authenticates it. A daemon set for another tenant believes none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_institution_on_microsoft_365_and_a_daemon_of_another_tenant() {
    let stack = Stack::exchange();
    let mailbox = "svc-exo-tenant@egov.test";
    let maria = "maria-exo@inst-b.test";
    let setup = on_exchange(stack, mailbox, EXCHANGE_TENANT);
    let theirs = mail(maria, mailbox, "Conectare MNotify", "<m365-exo@inst-b.test>", "Bună ziua, dorim să ne conectăm la MNotify. Care sunt pașii?")
        .header("ARC-Seal", "i=1; a=rsa-sha256; s=arcselector10001; d=microsoft.com; cv=none; b=QUJD")
        .header("ARC-Authentication-Results", "i=1; mx.microsoft.com 1; spf=pass smtp.mailfrom=inst-b.test; dmarc=pass action=none header.from=inst-b.test; dkim=pass header.d=inst-b.test; arc=none")
        .header("X-MS-Exchange-Authentication-Results", "spf=pass (sender IP is 10.1.1.5) smtp.mailfrom=inst-b.test; dkim=none (message not signed) header.d=none;dmarc=pass action=none header.from=inst-b.test;")
        .header("Received", "from mail.inst-b.test (10.1.1.5) by AM4PEPF00027A5E.mail.protection.outlook.com (10.167.16.72) with Microsoft SMTP Server id 15.20.9412.6 via Frontend Transport; Tue, 1 Dec 2026 09:12:01 +0000")
        .header("X-MS-Exchange-CrossTenant-Id", "5e1c7f3a-9b2d-4e6f-8a10-b2c3d4e5f607")
        .header("X-MS-Exchange-CrossTenant-AuthAs", "Internal");
    stack
        .send_from_institution(maria, mailbox, &theirs.build())
        .await;
    let arrived = stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    let report = inspect(&setup, &arrived[0]);
    assert_eq!(report["sender"]["authenticated"], true, "{report}");
    setup.cli(&["run", "--once"]);
    let replies = stack.wait_for(maria, "INBOX", 1, WAIT).await;
    assert!(!body(&replies[0]).contains(NEUTRAL));

    // The same kind of mail to a daemon set for another tenant: held.
    let other = on_exchange(
        stack,
        "svc-exo-other@egov.test",
        "0b2a6c11-7d3e-4f55-9a10-3c5e8d7f1a22",
    );
    let again = mail(
        maria,
        "svc-exo-other@egov.test",
        "Conectare MNotify",
        "<m365-exo-2@inst-b.test>",
        "Bună ziua, dorim să ne conectăm la MNotify.",
    );
    stack
        .send_from_institution(maria, "svc-exo-other@egov.test", &again.build())
        .await;
    let arrived = stack
        .wait_for("svc-exo-other@egov.test", "INBOX", 1, WAIT)
        .await;
    let report = inspect(&other, &arrived[0]);
    assert_eq!(report["sender"]["authenticated"], false, "{report}");
    assert!(
        report["sender"]["reason"]
            .as_str()
            .unwrap()
            .contains("not ours"),
        "{report}"
    );
}
