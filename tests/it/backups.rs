//! Backups and the store that is never silently new, on the real stack: a lost store
//! is refused (nothing answered again), a backup restores it, mail handled after the
//! backup is not answered twice, and new mail is answered after the restore.

use std::time::Duration;

use mnotify_intake::intake;
use mnotify_intake::testkit::mail::Mail;

use crate::service::Setup;
use crate::stack::on_each_server;

const WAIT: Duration = Duration::from_secs(30);

fn request(from: &str, to: &str, n: u32) -> Vec<u8> {
    let mut m = Mail::new(from, &format!("Conectare MNotify {n}"))
        .message_id(&format!("<b{n}@liceu.test>"))
        .text("Bună ziua, dorim conectarea la MNotify. Ce trebuie să trimitem?");
    m.to = to.to_string();
    m.build()
}

/// The path `store backup` printed.
fn written(out: &str) -> std::path::PathBuf {
    let path = out
        .strip_prefix("backup written: ")
        .and_then(|r| r.split(" (").next())
        .unwrap_or_else(|| panic!("no path in {out:?}"));
    std::path::PathBuf::from(path)
}

on_each_server! {
    async fn a_lost_store_is_refused_and_a_backup_brings_it_back(stack) {
        let mailbox = "svc-backup@egov.test";
        let ana = "ana-backup@liceu.test";
        let setup = Setup::new(stack, mailbox, "");
        let store = setup.dir.path().join("store");

        stack.deliver(ana, mailbox, &request(ana, mailbox, 1)).await;
        stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
        setup.cli(&["run", "--once"]);
        let first = stack.wait_for(ana, "INBOX", 1, WAIT).await;
        let first = intake::read(&first[0], &[]);
        let daily = std::fs::read_dir(setup.dir.path().join("store.backups"))
            .expect("the daemon wrote its daily backup")
            .count();
        assert_eq!(daily, 1);

        let backup = written(setup.cli(&["store", "backup"]).trim());
        let verified = setup.cli(&["store", "verify", backup.to_str().unwrap()]);
        assert!(verified.contains("a whole backup"), "{verified}");

        // More mail after the backup.
        stack.deliver(ana, mailbox, &request(ana, mailbox, 2)).await;
        stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
        setup.cli(&["run", "--once"]);
        stack.wait_for(ana, "INBOX", 2, WAIT).await;

        // The store is lost: the daemon refuses to start afresh, and says what to do.
        let lost = setup.dir.path().join("store.lost");
        std::fs::rename(&store, &lost).unwrap();
        let refused = setup.run_cli(&["run", "--once"]);
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{err}");
        assert!(
            err.contains("is new, but the mailbox shows") && err.contains("store restore"),
            "{err}"
        );
        assert!(
            !store.exists(),
            "the refused run leaves no empty store behind for `status` to show as 0 cases"
        );
        assert!(
            err.contains(&format!("2 message(s) in {}", stack.folder("Processed"))),
            "{err}"
        );
        // `check` says so before `run` does.
        let checked = setup.run_cli(&["check"]);
        let said = String::from_utf8_lossy(&checked.stdout);
        assert!(!checked.status.success(), "{said}");
        assert!(
            said.contains("the store is new, but the mailbox shows") && said.contains("--new-store"),
            "{said}"
        );

        // Restored: nothing answered again, nothing the mailbox still shows is lost.
        std::fs::remove_dir_all(&store).ok();
        let restored = setup.cli(&["store", "restore", backup.to_str().unwrap()]);
        assert!(restored.contains("restored"), "{restored}");
        setup.cli(&["run", "--once"]);
        stack.wait_until_delivered(WAIT).await;
        assert_eq!(
            stack.messages(ana, "INBOX").await.len(),
            2,
            "no mail answered twice after the restore"
        );
        let status = setup.status();
        assert_eq!(
            status["messages"]["need_certificate"], 1,
            "the backup's moment: {status}"
        );
        assert_eq!(status["outbox"]["sent"], 1, "{status}");

        // New mail after the restore, answering our first reply, is answered in the case
        // the backup knows.
        let mut answer = Mail::new(ana, "Re: Conectare MNotify")
            .message_id("<b3@liceu.test>")
            .header(
                "In-Reply-To",
                &format!("<{}>", first.message_id.as_deref().unwrap()),
            )
            .text("Mulțumim, revenim cu certificatul.");
        answer.to = mailbox.to_string();
        stack.deliver(ana, mailbox, &answer.build()).await;
        stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
        setup.cli(&["run", "--once"]);
        let replies = stack.wait_for(ana, "INBOX", 3, WAIT).await;
        let third = replies
            .iter()
            .map(|r| intake::read(r, &[]))
            .find(|f| f.in_reply_to.iter().any(|id| id.contains("b3@liceu.test")))
            .expect("the answer to the third mail");
        assert_eq!(third.case_token, first.case_token, "the same case");
        assert_eq!(stack.count(mailbox, "INBOX").await, 0);

        // A restore never lands on a store; --replace keeps the old one aside.
        let again = setup.run_cli(&["store", "restore", backup.to_str().unwrap()]);
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("--replace"));
        setup.cli(&["store", "restore", "--replace", backup.to_str().unwrap()]);
        let kept = std::fs::read_dir(setup.dir.path())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("store.replaced-"))
            .count();
        assert_eq!(kept, 1, "the replaced store is kept");

        // An altered backup is refused before anything is written.
        let mut bytes = std::fs::read(&backup).unwrap();
        let i = bytes.len() / 2;
        bytes[i] ^= 0x01;
        let tampered = setup.dir.path().join("tampered.backup");
        std::fs::write(&tampered, bytes).unwrap();
        let bad = setup.run_cli(&["store", "verify", tampered.to_str().unwrap()]);
        assert!(!bad.status.success());

        // A new store on purpose: allowed, and said in the log.
        std::fs::remove_dir_all(&store).unwrap();
        let fresh = setup.run_cli(&["run", "--once", "--new-store"]);
        assert!(
            fresh.status.success(),
            "{}",
            String::from_utf8_lossy(&fresh.stderr)
        );
        assert!(String::from_utf8_lossy(&fresh.stderr).contains("--new-store"));

        // While the daemon runs (and holds the store), it writes the backup itself.
        let daemon = setup.start();
        setup.wait_until_connected();
        let live = written(setup.cli(&["store", "backup"]).trim());
        assert!(live.starts_with(setup.dir.path().join("store.backups")));
        setup.cli(&["store", "verify", live.to_str().unwrap()]);
        let busy = setup.run_cli(&["store", "restore", "--replace", live.to_str().unwrap()]);
        assert!(
            String::from_utf8_lossy(&busy.stderr).contains("stop it first"),
            "no restore under a running daemon"
        );
        daemon.stop();

        // Compacting rewrites the files; what they hold is the same.
        let before = setup.status();
        let out = setup.cli(&["store", "compact"]);
        assert!(out.contains("compacted"), "{out}");
        assert_eq!(setup.status(), before);
    }
}
