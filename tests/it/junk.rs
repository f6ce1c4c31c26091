//! The junk folder a provider's filters fill (Exchange Online's "Junk Email", marked
//! `\Junk`): an authenticated institution's mail there is handled like inbox mail and
//! filed in Processed; junk from before the first start is history; the rest is left
//! alone, counted once, never answered.

use std::time::Duration;

use mnotify_intake::mailbox::Mailbox;
use mnotify_intake::testkit::mail::Mail;

use crate::mail::body;
use crate::service::Setup;
use crate::stack::{on_each_server, Stack};

const WAIT: Duration = Duration::from_secs(30);

fn mail(from: &str, to: &str, id: &str) -> Mail {
    let mut m = Mail::new(from, "Conectare MNotify")
        .message_id(id)
        .text("Bună ziua, dorim să ne conectăm la MNotify. Care sunt pașii?");
    m.to = to.to_string();
    m
}

/// Moves everything in `user`'s inbox to `folder`, as the provider's filter would.
async fn filter_into(stack: &Stack, user: &str, folder: &str) {
    let mut mb = Mailbox::connect(&stack.imap(user))
        .await
        .expect("IMAP login");
    mb.select("INBOX").await.unwrap();
    let uids = mb.uids().await.unwrap();
    mb.move_to(&uids, folder).await.expect("move to junk");
    mb.logout().await;
}

on_each_server! {
    async fn an_institution_s_mail_in_junk_is_handled_and_the_rest_left_alone(stack) {
        let mailbox = "svc-junk@egov.test";
        let ion = "ion-junk@inst-a.test";
        let forger_as = "maria-junk@inst-b.test";
        let junk = stack.folder("Junk Email");
        let mut mb = Mailbox::connect(&stack.imap(mailbox)).await.expect("IMAP login");
        mb.run_command(&format!("CREATE \"{junk}\" (USE (\\Junk))"))
            .await
            .or(mb.run_command(&format!("CREATE \"{junk}\"")).await)
            .expect("the junk folder");
        mb.logout().await;
        let setup = Setup::new(stack, mailbox, "[digest]\nto = [\"staff@egov.test\"]\n");
        let text = stack
            .secure_config_toml(mailbox, &setup.dir.path().join("store"), &setup.dir.path().join("anchors.pem"))
            .replace("backlog = \"handle\"", "backlog = \"leave\"")
            + "[digest]\nto = [\"staff@egov.test\"]\n[metrics]\nlisten = \"127.0.0.1:0\"\n";
        std::fs::write(&setup.config, text).unwrap();

        // Junk from before the first start: history.
        stack.deliver(forger_as, mailbox, &mail(forger_as, mailbox, "<junk-old@evil.test>").build()).await;
        stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
        filter_into(stack, mailbox, &junk).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        setup.cli(&["run", "--once"]);

        // Now an institution's signed mail and a forgery, both filed as junk.
        stack.send_from_institution(ion, mailbox, &mail(ion, mailbox, "<junk-real@inst-a.test>").build()).await;
        stack.deliver(forger_as, mailbox, &mail(forger_as, mailbox, "<junk-forged@evil.test>").build()).await;
        stack.wait_for(mailbox, "INBOX", 2, WAIT).await;
        filter_into(stack, mailbox, &junk).await;
        assert_eq!(stack.count(mailbox, "Junk Email").await, 3);
        let check = setup.cli(&["check"]);
        assert!(check.contains(&format!("junk folder \"{junk}\" holds 3 message(s)")), "{check}");
        setup.cli(&["run", "--once"]);

        let replies = stack.wait_for(ion, "INBOX", 1, WAIT).await;
        assert!(!body(&replies[0]).contains("nu a putut fi verificat"), "a real reply");
        assert_eq!(stack.count(mailbox, "Processed").await, 1, "filed like inbox mail");
        assert_eq!(stack.count(mailbox, "Junk Email").await, 2, "the rest stays in junk");
        assert_eq!(stack.count(forger_as, "INBOX").await, 0, "junk is never answered");
        let check = setup.cli(&["check"]);
        assert!(check.contains("1 of them looked at and left alone"), "{check}");
        let digest = setup.cli(&["digest", "--print"]);
        assert!(digest.contains("Dosarul de mesaje nedorite (Junk) (1)"), "{digest}");

        // Nothing is read or answered twice.
        setup.cli(&["run", "--once"]);
        assert_eq!(stack.count(ion, "INBOX").await, 1);
        assert_eq!(setup.status()["outbox"]["sent"], 1);
    }
}
