//! The inbox and copy policies through the in-process mailbox stub: fast, and with the
//! failures a real server will not produce on demand. The same behaviour is tested on
//! real Dovecot in `tests/it` (faults, daemon).

use super::*;
use crate::mailbox::stub::{Fault, StubMailbox};
use crate::record::MessageId;

const INBOX: &str = "INBOX";

/// A daemon with replies off and sender authentication off, its store in `dir`.
fn daemon(dir: &std::path::Path, backlog: &str) -> Daemon {
    std::fs::write(dir.join("ca.pem"), "x").unwrap();
    std::fs::write(dir.join("pw"), "secret").unwrap();
    let text = format!(
        "[store]\npath = \"store\"\n[trust]\nanchors = [\"ca.pem\"]\nauthserv_id = \"mx.test\"\nsenders = \"off\"\n\
         [imap]\nhost = \"stub.invalid\"\nuser = \"servicii@egov.md\"\npassword = {{ file = \"pw\" }}\nbacklog = \"{backlog}\"\n\
         [reply]\nmode = \"off\"\n"
    );
    let config = Config::parse(&dir.join("c.toml"), &text).expect("a valid config");
    let store = Store::open(&config.store_path).unwrap();
    Daemon::new(config, store, TrustAnchors::new(Vec::new())).expect("a daemon")
}

fn mail(n: u32, about_mnotify: bool) -> Vec<u8> {
    let body = if about_mnotify {
        "Dorim conectarea la MNotify."
    } else {
        "Factura din noiembrie."
    };
    format!(
        "From: ion{n}@primaria.md\r\nTo: servicii@egov.md\r\nMessage-ID: <m{n}@primaria.md>\r\nSubject: Mesaj {n}\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn no_shutdown() -> watch::Receiver<bool> {
    watch::channel(false).1
}

#[tokio::test]
async fn a_pass_files_each_mail_once_where_its_decision_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = daemon(dir.path(), "handle");
    let mut mb = StubMailbox::new();
    mb.deliver(INBOX, &mail(1, true), 0);
    mb.deliver(INBOX, &mail(2, false), 0);
    d.scan(&mut mb, &no_shutdown()).await.unwrap();
    assert!(mb.uids_in(INBOX).is_empty(), "everything was filed");
    assert_eq!(mb.uids_in("Processed").len(), 1);
    assert_eq!(mb.uids_in("Needs-Human").len(), 1, "not about MNotify");
    assert_eq!(d.counters.handled, 2);
    // Nothing new: the next pass fetches nothing.
    let fetches = mb.fetches.len();
    d.scan(&mut mb, &no_shutdown()).await.unwrap();
    assert_eq!(mb.fetches.len(), fetches);
    assert_eq!(d.counters.handled, 2);
}

#[tokio::test]
async fn mail_the_server_will_not_hand_over_is_fetched_alone_then_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = daemon(dir.path(), "handle");
    let mut mb = StubMailbox::new();
    let first = mb.deliver(INBOX, &mail(1, true), 0);
    let broken = mb.deliver(INBOX, &mail(2, true), 0);
    let last = mb.deliver(INBOX, &mail(3, true), 0);
    mb.faults = [Fault::Withhold(broken); 3].into();
    // The batch comes back short: what came is recorded, the pass fails.
    let err = d.scan(&mut mb, &no_shutdown()).await.unwrap_err();
    assert!(
        matches!(err, DaemonError::Mailbox(MailboxError::Incomplete(1))),
        "{err}"
    );
    assert_eq!(d.counters.handled, 2);
    assert_eq!(mb.fetches.last().unwrap(), &vec![first, broken, last]);
    // From then on it is fetched alone, after the others were filed.
    assert!(d.scan(&mut mb, &no_shutdown()).await.is_err());
    assert_eq!(mb.fetches.last().unwrap(), &vec![broken]);
    assert_eq!(
        mb.uids_in("Processed").len(),
        2,
        "the others were filed meanwhile"
    );
    assert!(d.scan(&mut mb, &no_shutdown()).await.is_err());
    // The third failure sets it aside for people, recorded, never answered.
    d.scan(&mut mb, &no_shutdown()).await.unwrap();
    assert_eq!(mb.uids_in("Needs-Human").len(), 1);
    assert!(mb.uids_in(INBOX).is_empty());
    let record = d.store.seen_uid(1, broken).unwrap().expect("recorded");
    assert_eq!(record.outcome, crate::record::Outcome::Unreadable);
    assert_eq!(record.reply, None);
}

#[tokio::test]
async fn history_before_the_first_start_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = daemon(dir.path(), "leave");
    d.first_start = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
    let mut mb = StubMailbox::new();
    let old = mb.deliver(INBOX, &mail(1, true), 999_999);
    let at_start = mb.deliver(INBOX, &mail(2, true), 1_000_000);
    d.scan(&mut mb, &no_shutdown()).await.unwrap();
    assert_eq!(
        mb.uids_in(INBOX),
        vec![old],
        "the history stays where it is"
    );
    assert!(d.store.seen_uid(1, old).unwrap().is_none());
    assert!(d.store.seen_uid(1, at_start).unwrap().is_some());
    assert!(
        mb.fetches.iter().all(|f| !f.contains(&old)),
        "never fetched"
    );
}

#[tokio::test]
async fn handled_mail_still_in_the_inbox_is_moved_not_handled_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = daemon(dir.path(), "handle");
    let mut mb = StubMailbox::new();
    let uid = mb.deliver(INBOX, &mail(1, true), 0);
    // Recorded before a crash, the move not made.
    let record = crate::record::SeenRecord {
        destination: Some("Processed".into()),
        ..crate::record::SeenRecord::unreadable(1, uid, None, now())
    };
    d.store.mark_uid(&record).unwrap();
    d.scan(&mut mb, &no_shutdown()).await.unwrap();
    assert!(mb.fetches.is_empty(), "not fetched again");
    assert_eq!(mb.uids_in("Processed").len(), 1);
    assert_eq!(d.counters.handled, 0);
}

fn sent_entry(n: u32) -> crate::record::OutboxEntry {
    let id = MessageId::parse(&format!("mnotify.{n}@egov.md")).unwrap();
    crate::record::OutboxEntry {
        raw: format!("Message-ID: {id}\r\nSubject: Re\r\n\r\nok\r\n").into_bytes(),
        message_id: id,
        kind: OutboxKind::Send,
        from: "servicii@egov.md".into(),
        to: "ion@primaria.md".into(),
        case: None,
        attempts: 1,
        next_attempt: 0,
        state: OutboxState::Sent,
        last_error: None,
        created_at: now(),
        copied: false,
        failed_at: None,
        copy_refusals: 0,
        by: None,
    }
}

#[tokio::test]
async fn a_copy_started_before_a_crash_is_not_appended_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let (a, b) = (sent_entry(1), sent_entry(2));
    store.queue(&a).unwrap();
    store.queue(&b).unwrap();
    // The APPEND of `a` was started (and made) before a crash.
    store.start_copies(&[&a.message_id]).unwrap();
    let mut mb = StubMailbox::new();
    mb.deliver("Sent", &a.raw, 0);
    let (copiers, result) =
        outbox::save_copies(&store, vec![mb], "Sent", vec![a.clone(), b.clone()]).await;
    result.unwrap();
    let mb = copiers.into_iter().next().expect("the connection is kept");
    assert_eq!(mb.uids_in("Sent").len(), 2, "one copy of each");
    assert_eq!(mb.appends.len(), 1, "only b was appended");
    for e in [&a, &b] {
        assert!(store.outbox_entry(&e.message_id).unwrap().unwrap().copied);
    }
}

#[tokio::test]
async fn a_refused_copy_is_tried_again_then_given_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let mut entry = sent_entry(1);
    store.queue(&entry).unwrap();
    let mut mb = StubMailbox::new();
    mb.faults = [Fault::RefuseAppend; 3].into();
    for refusals in 1..=MAX_COPY_REFUSALS {
        let (copiers, result) =
            outbox::save_copies(&store, vec![mb], "Sent", vec![entry.clone()]).await;
        result.unwrap();
        mb = copiers
            .into_iter()
            .next()
            .expect("a refusal keeps the connection");
        entry = store.outbox_entry(&entry.message_id).unwrap().unwrap();
        assert_eq!(entry.copy_refusals, refusals);
        assert_eq!(
            entry.copied,
            refusals == MAX_COPY_REFUSALS,
            "given up after the last"
        );
    }
    assert!(mb.uids_in("Sent").is_empty());
}
