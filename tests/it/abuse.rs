//! Abuse on the real stack: what a stranger can make the daemon spend (an applicant's
//! reply allowance, the disk, the daemon's time) and what a local user can make it do.

use std::time::Duration;

use mnotify_intake::testkit::mail::Mail;

use crate::daemon::body;
use crate::service::Setup;
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(30);

/// A daemon that believes only the MX's stamps, as in production.
fn secure(stack: &Stack, mailbox: &str, extra: &str) -> Setup {
    let setup = Setup::new(stack, mailbox, extra);
    let text = stack.secure_config_toml(
        mailbox,
        &setup.dir.path().join("store"),
        &setup.dir.path().join("anchors.pem"),
    );
    std::fs::write(&setup.config, text + extra).unwrap();
    setup
}

fn mail(from: &str, to: &str, subject: &str, id: &str, text: &str) -> Mail {
    let mut m = Mail::new(from, subject).message_id(id).text(text);
    m.to = to.to_string();
    m
}

/// Six forgeries "from" an applicant each get the neutral answer (up to her address's
/// neutral cap), and her own authenticated mail afterwards is answered all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgeries_do_not_spend_the_applicant_s_allowance() {
    let stack = Stack::get();
    let mailbox = "svc-allowance@egov.test";
    let ana = "ana-allowance@inst-a.test";
    let setup = secure(stack, mailbox, "");
    for n in 0..6 {
        let forged = mail(
            ana,
            mailbox,
            "MNotify",
            &format!("<forged-{n}@evil.test>"),
            "Cum ne conectăm la MNotify?",
        );
        stack.deliver(ana, mailbox, &forged.build()).await;
    }
    stack.wait_for(mailbox, "INBOX", 6, WAIT).await;
    setup.cli(&["run", "--once"]);
    let neutral = stack.wait_for(ana, "INBOX", 5, WAIT).await;
    assert!(
        neutral
            .iter()
            .all(|r| body(r).contains("Nu am putut verifica")),
        "only neutral answers so far"
    );
    assert_eq!(
        neutral.len(),
        5,
        "the sixth forgery is over the neutral cap for her address"
    );

    let genuine = mail(
        ana,
        mailbox,
        "Conectare MNotify",
        "<genuine-allowance@inst-a.test>",
        "Bună ziua, dorim să ne conectăm la MNotify. Care sunt pașii?",
    );
    stack
        .send_from_institution(ana, mailbox, &genuine.build())
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    let all = stack.wait_for(ana, "INBOX", 6, WAIT).await;
    let answered = all
        .iter()
        .filter(|r| !body(r).contains("Nu am putut verifica"))
        .count();
    assert_eq!(answered, 1, "her own mail got its reply");
    let status = setup.status();
    assert_eq!(status["outbox"]["sent"], 6, "{status}");
}
