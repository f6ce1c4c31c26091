//! What differs between IMAP servers, on Cyrus IMAP in Debian's default namespace:
//! folders live under `INBOX.`, a name outside it is refused, and the folders the
//! server marks for sent mail and drafts (RFC 6154) are used when the config names
//! none. (The daemon's own end-to-end tests run on Cyrus too: `on_each_server!`.)

use std::time::Duration;

use mnotify_intake::mailbox::Mailbox;

use crate::mail::question;
use crate::service::Setup;
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(30);

/// Makes `folder` in `user`'s mailbox, marked with a special use (`\Sent`, `\Drafts`).
async fn special_folder(stack: &Stack, user: &str, folder: &str, attribute: &str) {
    let mut mb = Mailbox::connect(&stack.imap(user))
        .await
        .expect("IMAP login");
    mb.run_command(&format!("CREATE \"{folder}\" (USE ({attribute}))"))
        .await
        .expect("CREATE with USE (RFC 6154)");
    mb.logout().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_cyrus_the_defaults_follow_the_namespace_and_the_marked_folders() {
    let stack = Stack::cyrus();
    let mailbox = "svc-layout@egov.test";
    let ana = "ana-layout@scoala.test";
    // Names no default would guess: only SPECIAL-USE can lead the daemon there.
    special_folder(stack, mailbox, "INBOX.Trimise", "\\Sent").await;
    special_folder(stack, mailbox, "INBOX.Ciorne", "\\Drafts").await;
    let setup = Setup::new(stack, mailbox, "");
    let check = setup.cli(&["check"]);
    for line in [
        "sent_folder is \"INBOX.Trimise\" on this server (the server marks it \\Sent), not \"Sent\"",
        "processed_folder is \"INBOX.Processed\" on this server (default, in the server's personal namespace \"INBOX.\"), not \"Processed\"",
        "folders INBOX.Trimise exist",
        "folders INBOX.Processed, INBOX.Needs-Human do not exist yet: the server let us create them",
    ] {
        assert!(check.contains(line), "{line:?} missing from:\n{check}");
    }
    assert_eq!(
        stack.count(mailbox, "INBOX.Processed").await,
        0,
        "check's probe folder is gone again"
    );

    stack
        .deliver(
            ana,
            mailbox,
            &question(ana, mailbox, "<l1@scoala.test>").build(),
        )
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    setup.cli(&["run", "--once"]);
    // The reply travels through Postfix: wait for it (under load it takes a while)
    // rather than count at once.
    let answers = stack.wait_for(ana, "INBOX", 1, WAIT).await;
    assert_eq!(answers.len(), 1, "answered once");
    assert_eq!(stack.count(mailbox, "INBOX.Processed").await, 1);
    assert_eq!(
        stack.count(mailbox, "INBOX.Trimise").await,
        1,
        "the copy of the reply is in the folder the server marks \\Sent"
    );
    assert_eq!(
        stack.count(mailbox, "INBOX.Sent").await,
        0,
        "no Sent of our own beside it"
    );
    assert_eq!(stack.count(mailbox, "INBOX").await, 0);

    // In draft mode, replies go to the folder marked \Drafts.
    let drafts = Setup::new(stack, mailbox, "[reply]\nmode = \"draft\"\n");
    let bob = "bob-layout@scoala.test";
    stack
        .deliver(
            bob,
            mailbox,
            &question(bob, mailbox, "<l2@scoala.test>").build(),
        )
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    drafts.cli(&["run", "--once", "--new-store"]);
    assert_eq!(stack.count(mailbox, "INBOX.Ciorne").await, 1);
    assert_eq!(
        stack.count(bob, "INBOX").await,
        0,
        "nothing sent in draft mode"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_cyrus_a_folder_named_outside_the_namespace_is_refused_with_the_name_to_write() {
    let stack = Stack::cyrus();
    let setup = Setup::new(stack, "svc-outside@egov.test", "");
    let text = std::fs::read_to_string(&setup.config).unwrap().replace(
        "backlog = \"handle\"\n",
        "backlog = \"handle\"\nprocessed_folder = \"Processed\"\n",
    );
    std::fs::write(&setup.config, text).unwrap();

    let out = setup.run_cli(&["check"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{report}");
    assert!(
        report.contains("Processed ([imap] processed_folder) does not exist and cannot be made")
            && report.contains("try processed_folder = \"INBOX.Processed\""),
        "{report}"
    );

    let out = setup.run_cli(&["run", "--once"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("refused CREATE of folder \"Processed\"")
            && stderr.contains("write \"INBOX.Processed\""),
        "{stderr}"
    );
    // It stops at the first refusal: one try, no reconnection rounds (which a clock
    // would only tell apart on an idle machine).
    assert!(stderr.contains("gave up after 1 tries"), "{stderr}");
}
