use super::*;
use crate::registry::Status;
use std::collections::BTreeSet;

use crate::procedure::for_tests::mn;

fn entry(serial: &str, service: &str) -> KnownCertificate {
    KnownCertificate {
        serial: serial.into(),
        issuer: "CN=STISC".into(),
        sha1: None,
        sha256: None,
        subject: None,
        not_after: None,
        status: Status::Active,
        services: BTreeSet::from([service.into()]),
        institution: Some("Agenția".into()),
        environment: None,
        system: None,
        domain: None,
    }
}

#[test]
fn registry_round_trips_and_saving_twice_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db")).expect("open");
    let registry = Registry::from_entries([entry("AB", "MPass"), entry("CD", "MSign")]);
    assert_eq!(store.save_registry(&registry).expect("save"), 2);
    assert_eq!(store.save_registry(&registry).expect("save"), 0);
    let loaded = store.load_registry().expect("load");
    assert_eq!(loaded.entries(), registry.entries());
}

#[test]
fn a_registry_larger_than_one_batch_is_saved_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db")).expect("open");
    let many = Registry::from_entries(
        (0..REGISTRY_BATCH * 2 + 500).map(|i| entry(&format!("{i:08X}"), "MPass")),
    );
    assert_eq!(
        store.save_registry(&many).unwrap(),
        REGISTRY_BATCH * 2 + 500
    );
    assert_eq!(store.save_registry(&many).unwrap(), 0);
    assert_eq!(store.load_registry().unwrap().entries(), many.entries());
}

#[test]
fn first_start_is_set_once_and_dates_an_older_store_from_its_first_message() {
    use time::macros::datetime;
    let dir = tempfile::tempdir().expect("tempdir");
    let fresh = Store::open(&dir.path().join("fresh")).expect("open");
    let t0 = datetime!(2026-11-24 12:00 UTC);
    assert_eq!(fresh.first_start(t0).unwrap(), t0);
    assert_eq!(fresh.first_start(t0 + time::Duration::days(3)).unwrap(), t0);

    // A store that handled mail before first starts were recorded.
    let older = Store::open(&dir.path().join("older")).expect("open");
    let handled = datetime!(2026-10-01 9:30 UTC);
    let record = SeenRecord {
        identity: "a@x.md".into(),
        uid_validity: 1,
        uid: 1,
        outcome: crate::record::Outcome::Decided(crate::decision::Decision::NeedCertificate),
        case: None,
        destination: Some("Processed".into()),
        reply: None,
        note: None,
        at: handled,
        from: None,
        subject: None,
        problems: Vec::new(),
        accepted: Vec::new(),
        sender: None,
        held: false,
        flagged: false,
        warnings: Vec::new(),
        remarks: Vec::new(),
        warned: Vec::new(),
        digest: None,
    };
    older.commit(MessageCommit::record(&record)).unwrap();
    assert_eq!(older.first_start(t0).unwrap(), handled);
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let db = sled::open(&path).expect("open");
        db.open_tree(META_TREE)
            .expect("tree")
            .insert(SCHEMA_KEY, &99u64.to_be_bytes())
            .expect("insert");
        db.flush().expect("flush");
    }
    // sled lets go of its lock file a moment after the handle is dropped.
    let start = std::time::Instant::now();
    let result = loop {
        match Store::open(&path) {
            Err(StoreError::Busy { .. }) if start.elapsed().as_secs() < 5 => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => break other,
        }
    };
    assert!(matches!(
        result,
        Err(StoreError::NewerSchema { found: 99, .. })
    ));
}

fn backup_of(store: &Store) -> (Vec<u8>, BackupSummary) {
    let mut out = Vec::new();
    let at = time::macros::datetime!(2026-11-30 03:00 UTC);
    let summary = store.backup(&mut out, at).expect("backup");
    (out, summary)
}

#[test]
fn a_backup_restores_every_tree_and_refuses_damage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db")).expect("open");
    store
        .save_registry(&Registry::from_entries([entry("AB", "MPass")]))
        .unwrap();
    let case = Case::open(
        "TOK123".into(),
        "ion@x.md",
        crate::intake::Language::Ro,
        time::OffsetDateTime::UNIX_EPOCH,
    );
    store.save_case(&case).unwrap();
    let first = store.first_start(time::OffsetDateTime::UNIX_EPOCH).unwrap();
    let (bytes, summary) = backup_of(&store);
    assert!(summary.entries >= 3 && summary.trees >= 3, "{summary:?}");
    assert_eq!(verify(&mut bytes.as_slice()).unwrap(), summary);

    let target = dir.path().join("restored");
    let restored = restore(&mut std::io::Cursor::new(&bytes), &target).unwrap();
    assert_eq!(restored, summary);
    let back = Store::open(&target).unwrap();
    assert_eq!(back.case("TOK123").unwrap(), Some(case));
    assert_eq!(back.load_registry().unwrap().len(), 1);
    assert_eq!(back.first_started().unwrap(), Some(first));
    // Never over a store.
    let err = restore(&mut std::io::Cursor::new(&bytes), &target).unwrap_err();
    assert!(err.to_string().contains("move it aside"), "{err}");

    // One byte changed, or the end cut off: refused, nothing written.
    let mut altered = bytes.clone();
    let i = altered.len() / 2;
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    assert!(verify(&mut altered.as_slice()).is_err());
    let cut = &bytes[..bytes.len() - 20];
    let err = verify(&mut &cut[..]).unwrap_err().to_string();
    assert!(
        err.contains("cut short") || err.contains("closing"),
        "{err}"
    );
    let elsewhere = dir.path().join("never");
    assert!(restore(&mut std::io::Cursor::new(&altered), &elsewhere).is_err());
    assert!(!elsewhere.exists(), "nothing written from a damaged backup");
    assert!(verify(&mut b"hello\n".as_slice())
        .unwrap_err()
        .to_string()
        .contains("not a backup"));
}

#[test]
fn a_backup_is_one_moment_while_writers_go_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db")).expect("open");
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..300 {
                let case = Case::open(
                    format!("C{i:05}"),
                    "ion@x.md",
                    crate::intake::Language::Ro,
                    time::OffsetDateTime::UNIX_EPOCH,
                );
                store.save_case(&case).unwrap();
            }
        })
    };
    let (bytes, summary) = backup_of(&store);
    writer.join().unwrap();
    // Whatever moment it caught, the copy is whole: it verifies and restores.
    let target = dir.path().join("restored");
    restore(&mut std::io::Cursor::new(&bytes), &target).unwrap();
    let back = Store::open(&target).unwrap();
    let cases = back.cases().unwrap().len() as u64;
    assert!(cases <= 300);
    assert_eq!(
        summary.entries,
        verify(&mut bytes.as_slice()).unwrap().entries
    );
}

/// Long on purpose: one old mail with its case, reply and counters, pruned, and each
/// kind of data checked gone or kept (split up, which data each step made would hide).
#[test]
fn old_personal_data_goes_and_exactly_once_stays() {
    use crate::record::{MessageId, OutboxKind};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db")).expect("open");
    let then = time::macros::datetime!(2025-01-10 09:00 UTC);
    let now = time::macros::datetime!(2026-11-30 09:00 UTC);
    let seen = SeenRecord {
        identity: "m1@x.md".into(),
        from: Some("ion@x.md".into()),
        subject: Some("Certificat".into()),
        note: Some("a note".into()),
        ..SeenRecord::unreadable(1, 7, Some("Processed".into()), then)
    };
    let mut case = Case::open(
        "OLD111".into(),
        "ion@x.md",
        crate::intake::Language::Ro,
        then,
    );
    for step in crate::case::Step::MNOTIFY {
        let event = crate::case::Event::StepDone {
            step,
            by: "staff",
            note: None,
        };
        case = crate::case::apply(mn(), &case, event, then).0;
    }
    assert_eq!(case.next_step(mn()), None, "completed");
    let id = MessageId::parse("mnotify.1@egov.md").unwrap();
    let mut entry = OutboxEntry {
        message_id: id.clone(),
        kind: OutboxKind::Send,
        from: "servicii@egov.md".into(),
        to: "ion@x.md".into(),
        case: Some("OLD111".into()),
        raw: b"Subject: Re\r\n\r\nthe reply's text".to_vec(),
        attempts: 0,
        next_attempt: 0,
        state: OutboxState::Pending,
        last_error: None,
        created_at: then,
        copied: false,
        failed_at: None,
        copy_refusals: 0,
        by: None,
    };
    let rates = vec![
        "ion@x.md/2025-01-10".to_string(),
        format!("ion@x.md/{}", now.date()),
    ];
    store
        .commit(MessageCommit {
            seen: &seen,
            also: &[],
            opened: &[],
            case: Some(&case),
            thread_ids: std::slice::from_ref(&id),
            outbox: Some(&entry),
            rate_keys: &rates,
            reported: None,
            letters: &[],
        })
        .unwrap();
    // A staff request marked applied lives in the same tree: kept, never misread.
    store.save_case(&case).unwrap();
    store.commit_staff("req-1", &case, &[], None).unwrap();
    assert!(store.request_applied("req-1").unwrap());
    // Sent and copied: its text goes at once.
    entry.state = OutboxState::Sent;
    entry.copied = true;
    store.record_outbox(&entry).unwrap();
    assert!(store.outbox_entry(&id).unwrap().unwrap().raw.is_empty());

    let pruned = store.prune(now - time::Duration::days(365), now).unwrap();
    assert_eq!(pruned.records_reduced, 1);
    assert_eq!(pruned.replies_removed, 1);
    assert_eq!(pruned.cases_removed, 1);
    assert_eq!(pruned.counters_removed, 1);
    let kept = store
        .seen_identity("m1@x.md")
        .unwrap()
        .expect("still known");
    assert_eq!((kept.from, kept.subject, kept.note), (None, None, None));
    assert_eq!(kept.destination.as_deref(), Some("Processed"));
    assert!(store.seen_uid(1, 7).unwrap().unwrap().from.is_none());
    assert_eq!(store.case("OLD111").unwrap(), None);
    assert_eq!(store.case_for_thread(&id).unwrap(), None);
    assert_eq!(store.replies_counted(&rates[0]).unwrap(), 0);
    assert_eq!(
        store.replies_counted(&rates[1]).unwrap(),
        1,
        "today's counts stay"
    );
    assert!(store.request_applied("req-1").unwrap(), "exactly-once kept");
    let mut copy = Vec::new();
    store.backup(&mut copy, now).unwrap();
    verify(&mut copy.as_slice()).expect("a store with staff requests backs up whole");
    // Again: nothing more to do.
    assert_eq!(
        store.prune(now - time::Duration::days(365), now).unwrap(),
        Pruned::default()
    );
}

/// A case as schema version 1 wrote it: no `service` (every case was MNotify's).
fn case_of_schema_1(token: &str) -> Vec<u8> {
    let mut c = Case::open(
        token.into(),
        "ion@x.md",
        crate::intake::Language::Ro,
        time::macros::datetime!(2026-11-24 12:00 UTC),
    );
    c.record_decision(
        mn(),
        crate::decision::Decision::NewCertificate,
        "<v1@x.md>",
        "serial 0A",
        c.updated_at,
    );
    let mut json = serde_json::to_value(&c).unwrap();
    json.as_object_mut().unwrap().remove("service");
    serde_json::to_vec(&json).unwrap()
}

#[test]
fn a_store_of_schema_1_is_read_and_marked_2_by_the_daemon() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let db = sled::open(&path).expect("open");
        let meta = db.open_tree(META_TREE).unwrap();
        meta.insert(SCHEMA_KEY, &1u64.to_be_bytes()).unwrap();
        db.open_tree(CASES_TREE)
            .unwrap()
            .insert("OLD001", case_of_schema_1("OLD001"))
            .unwrap();
        db.open_tree(CASE_INDEX_TREE)
            .unwrap()
            .insert("sender/ion@x.md", "OLD001")
            .unwrap();
        db.flush().unwrap();
    }
    let start = std::time::Instant::now();
    let store = loop {
        match Store::open(&path) {
            Err(StoreError::Busy { .. }) if start.elapsed().as_secs() < 5 => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => break other.expect("a schema 1 store opens"),
        }
    };
    let case = store.case("OLD001").unwrap().expect("the case");
    assert_eq!(case.service, "mnotify");
    assert!(case.done.contains_key(&crate::case::Step::CERTIFICATE));
    // Its sender index is MNotify's, as before.
    let found = store.case_for_sender("ion@x.md", "mnotify").unwrap();
    assert_eq!(found.map(|c| c.token), Some("OLD001".into()));
    let version = |store: &Store| {
        let v = store.meta.get(SCHEMA_KEY).unwrap().unwrap();
        u64::from_be_bytes(v.as_ref().try_into().unwrap())
    };
    assert_eq!(version(&store), 1, "reading changes nothing");
    store.mark_schema_current().unwrap();
    assert_eq!(version(&store), 2);
}

#[test]
fn a_backup_of_schema_1_restores_and_reads() {
    // The lines a version-1 backup has: its header, the meta tree's version, a case.
    use base64::Engine;
    use sha2::Digest;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let lines = [
        r#"{"format":"mnotify-intake store backup","version":1,"schema":1,"created":"2026-11-30T12:00:00Z"}"#.to_string(),
        format!(r#"{{"tree":"meta","key":"{}","value":"{}"}}"#, b64(SCHEMA_KEY.as_bytes()), b64(&1u64.to_be_bytes())),
        format!(r#"{{"tree":"cases","key":"{}","value":"{}"}}"#, b64(b"OLD002"), b64(&case_of_schema_1("OLD002"))),
    ];
    let mut text = String::new();
    for l in &lines {
        text += l;
        text.push('\n');
    }
    let sha = hex::encode(sha2::Sha256::digest(text.as_bytes()));
    text += &format!(r#"{{"end":true,"entries":2,"sha256":"{sha}"}}"#);
    text.push('\n');
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("restored");
    restore(&mut std::io::Cursor::new(text.into_bytes()), &path).expect("restores");
    let start = std::time::Instant::now();
    let store = loop {
        match Store::open(&path) {
            Err(StoreError::Busy { .. }) if start.elapsed().as_secs() < 5 => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => break other.expect("the restored store opens"),
        }
    };
    assert_eq!(store.case("OLD002").unwrap().unwrap().service, "mnotify");
}

#[test]
fn the_shared_copy_of_the_cases_follows_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let first = Case::open(
        "TOKEN001".into(),
        "a@b.md",
        crate::intake::Language::Ro,
        now,
    );
    store.save_case(&first).unwrap();
    let copy = store.cases_now().unwrap();
    assert_eq!(copy.len(), 1);
    assert!(
        Arc::ptr_eq(&copy, &store.cases_now().unwrap()),
        "unchanged: the same copy"
    );
    let mut changed = first.clone();
    changed.applicant = "c@d.md".into();
    store.save_case(&changed).unwrap();
    assert_eq!(store.cases_now().unwrap()[0].applicant, "c@d.md");

    // Only what changed is read again; the copy stays what the tree holds, in order,
    // through cases added before, between and after, changed and removed.
    let json = |cases: &[Case]| serde_json::to_value(cases).unwrap();
    let same = |store: &Store| {
        assert_eq!(
            json(&store.cases_now().unwrap()),
            json(&store.cases().unwrap())
        )
    };
    for token in ["TOKEN000", "TOKEN003", "TOKEN002", "TOKEN009"] {
        let c = Case::open(token.into(), "e@f.md", crate::intake::Language::Ro, now);
        store.save_case(&c).unwrap();
        same(&store);
    }
    let mut middle = store.case("TOKEN002").unwrap().unwrap();
    middle.applicant = "g@h.md".into();
    store.save_case(&middle).unwrap();
    same(&store);
    {
        let _changing = store.changing_cases();
        store.cases.remove("TOKEN001").unwrap();
        store.cases.remove("TOKEN009").unwrap();
    }
    same(&store);
    let now_held: Vec<String> = store
        .cases_now()
        .unwrap()
        .iter()
        .map(|c| c.token.clone())
        .collect();
    assert_eq!(now_held, ["TOKEN000", "TOKEN002", "TOKEN003"]);
    assert_eq!(store.cases_now().unwrap()[1].applicant, "g@h.md");
}

/// The held list reads only records whose stored JSON says they are held: a subject
/// that writes `"held":true` does not put a mail on it, a held one is there.
#[test]
fn only_held_records_are_on_the_held_list_whatever_a_subject_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("db")).expect("open");
    let at = time::macros::datetime!(2026-11-24 12:00 UTC);
    let record = |identity: &str, uid: u32, held: bool, subject: &str| SeenRecord {
        identity: identity.into(),
        uid_validity: 1,
        uid,
        outcome: crate::record::Outcome::Decided(crate::decision::Decision::NeedCertificate),
        case: None,
        destination: Some("Needs-Human".into()),
        reply: None,
        note: None,
        at,
        from: Some("eve@x.md".into()),
        subject: Some(subject.into()),
        problems: Vec::new(),
        accepted: Vec::new(),
        sender: None,
        held,
        flagged: false,
        warnings: Vec::new(),
        remarks: Vec::new(),
        warned: Vec::new(),
        digest: None,
    };
    for r in [
        record("held@x.md", 1, true, "Conectare MNotify"),
        record("not-held@x.md", 2, false, "\"held\":true, \"held\": true"),
    ] {
        store.commit(MessageCommit::record(&r)).unwrap();
    }
    let held: Vec<String> = store
        .held_records()
        .unwrap()
        .into_iter()
        .map(|r| r.identity)
        .collect();
    assert_eq!(held, ["held@x.md"]);
}

/// Each reason sled gives for not opening a store is said once and plainly: a
/// damaged store says to restore a backup first (sled's words last) and is not
/// waited on as if another process held it; only a held lock is.
#[test]
fn why_a_store_does_not_open_is_sorted() {
    let path = Path::new("/var/lib/mnotify-intake/store");
    let damaged = StoreError::opening(path, sled::Error::Corruption { at: None, bt: () });
    assert!(matches!(damaged, StoreError::Damaged { .. }), "{damaged:?}");
    let said = damaged.to_string();
    assert!(
        said.starts_with("the store at /var/lib/mnotify-intake/store is damaged"),
        "{said}"
    );
    assert!(said.contains("store restore --replace"), "{said}");
    let held = StoreError::opening(
        path,
        sled::Error::Io(std::io::Error::other(
            "could not acquire lock on \"/var/lib/mnotify-intake/store/db\": Os { code: 11 }",
        )),
    );
    assert!(matches!(held, StoreError::Busy { .. }), "{held:?}");
    let denied = StoreError::opening(
        path,
        sled::Error::Io(std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
    );
    assert!(matches!(denied, StoreError::Open { .. }), "{denied:?}");
    assert!(denied.to_string().contains("[store] path"), "{denied}");
}

/// A store held by another process is Busy (the daemon waits for it).
#[test]
fn a_store_held_by_another_handle_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let _first = Store::open(&path).expect("open");
    let second = Store::open(&path).err();
    assert!(
        matches!(second, Some(StoreError::Busy { .. })),
        "{second:?}"
    );
}

/// Held mail's bytes are files of their own within the ceiling: read back, carried by
/// a backup and its restore, and removed (the disk given back) when let go; an older
/// store's bytes in the `held` tree are still read and let go.
#[test]
fn held_mail_is_kept_in_files_and_let_go() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let store = Store::open(&path).expect("open");
    let now = time::macros::datetime!(2026-12-01 10:00 UTC);
    let ceiling = HeldCeiling {
        max_messages: 10,
        max_bytes: 2000,
    };
    assert!(store
        .keep_held("a@evil.test", &[b'a'; 1500], ceiling, now)
        .unwrap());
    assert!(!store
        .keep_held("b@evil.test", &[b'b'; 600], ceiling, now)
        .unwrap());
    let file = super::held::held_file(&path, "a@evil.test");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 1500);
    assert_eq!(
        store.held_bytes("a@evil.test").unwrap().unwrap().len(),
        1500
    );
    assert_eq!(store.held_bytes("b@evil.test").unwrap(), None);
    // An older store's bytes, kept in sled.
    store.held.insert("old@evil.test", &b"old"[..]).unwrap();
    assert_eq!(store.held_bytes("old@evil.test").unwrap().unwrap(), b"old");

    let (bytes, _) = backup_of(&store);
    let target = dir.path().join("restored");
    restore(&mut std::io::Cursor::new(&bytes), &target).unwrap();
    let back = Store::open(&target).unwrap();
    assert_eq!(
        back.held_bytes("a@evil.test").unwrap().unwrap(),
        vec![b'a'; 1500]
    );
    assert_eq!(back.held_bytes("old@evil.test").unwrap().unwrap(), b"old");
    assert!(super::held::held_file(&target, "old@evil.test").exists());

    store.finish_held("a@evil.test").unwrap();
    store.finish_held("old@evil.test").unwrap();
    assert!(!file.exists(), "the file goes with the mail");
    assert_eq!(store.held_bytes("a@evil.test").unwrap(), None);
    assert_eq!(store.held_bytes("old@evil.test").unwrap(), None);
    assert_eq!(store.held_kept().unwrap(), super::held::HeldKept::default());
}

/// A case's conversation: its letters and a merged case's, in time order (the
/// applicant's mail before our answer at the same moment); letters older than the
/// retention go with the mail records.
#[test]
fn a_conversation_holds_merged_letters_in_order_and_old_ones_are_pruned() {
    use crate::conversation::{Letter, Writer};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let now = time::macros::datetime!(2026-12-07 10:00 UTC);
    let letter = |case: &str, at, writer: Writer, id: &str| Letter {
        at,
        case: case.into(),
        writer,
        from: "ion@x.md".into(),
        to: String::new(),
        subject: "s".into(),
        message_id: Some(id.into()),
        text: id.into(),
        attachments: Vec::new(),
        cut: false,
    };
    let applicant = || Writer::Applicant {
        authenticated: true,
        vouched_by: None,
    };
    let daemon = || Writer::Daemon { draft: false };
    let old = now - time::Duration::days(400);
    let letters = [
        letter("AAA111", now, daemon(), "a-reply"),
        letter("AAA111", now, applicant(), "z-mail"),
        letter(
            "BBB222",
            now - time::Duration::hours(1),
            applicant(),
            "b-mail",
        ),
        letter("AAA111", old, applicant(), "ancient"),
    ];
    let record = SeenRecord::unreadable(1, 1, None, now);
    store
        .commit(MessageCommit {
            letters: &letters,
            ..MessageCommit::record(&record)
        })
        .unwrap();
    let mut case = crate::case::Case::open(
        "AAA111".into(),
        "ion@x.md",
        crate::intake::Language::Ro,
        now,
    );
    case.timeline.push(crate::case::TimelineEntry::new(
        now,
        crate::remark::Remark::MergedFrom {
            case: "BBB222".into(),
            by: "ana".into(),
            note: None,
        },
    ));
    let texts = |c: &crate::case::Case| -> Vec<String> {
        store
            .conversation(c)
            .unwrap()
            .into_iter()
            .map(|l| l.text)
            .collect()
    };
    assert_eq!(texts(&case), ["ancient", "b-mail", "z-mail", "a-reply"]);
    let pruned = store.prune(now - time::Duration::days(365), now).unwrap();
    assert_eq!(pruned.letters_removed, 1);
    assert_eq!(texts(&case), ["b-mail", "z-mail", "a-reply"]);
}

/// An institution flooding its own case: the first letters are kept whole, each past
/// them keeps a little (the store grows by about a kilobyte a mail, not sixteen).
#[test]
fn a_case_past_its_whole_letters_keeps_a_little_of_each_new_one() {
    use crate::conversation::{Letter, Writer, LETTERS_KEPT_WHOLE, MAX_LATE_LETTER_TEXT};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let now = time::macros::datetime!(2026-12-08 10:00 UTC);
    let long = "x".repeat(10_000);
    for i in 0..=LETTERS_KEPT_WHOLE {
        let letter = Letter {
            at: now + time::Duration::seconds(i as i64),
            case: "AAA111".into(),
            writer: Writer::Applicant {
                authenticated: true,
                vouched_by: None,
            },
            from: "ion@x.md".into(),
            to: String::new(),
            subject: "s".into(),
            message_id: Some(format!("m{i}@x.md")),
            text: long.clone(),
            attachments: Vec::new(),
            cut: false,
        };
        let record = SeenRecord::unreadable(1, i as u32 + 1, None, now);
        store
            .commit(MessageCommit {
                letters: std::slice::from_ref(&letter),
                ..MessageCommit::record(&record)
            })
            .unwrap();
    }
    let letters = store.letters("AAA111").unwrap();
    assert_eq!(letters.len(), LETTERS_KEPT_WHOLE + 1, "none lost");
    assert!(letters[..LETTERS_KEPT_WHOLE]
        .iter()
        .all(|l| l.text.len() == 10_000 && !l.cut));
    let last = letters.last().unwrap();
    assert!(last.cut && last.text.len() == MAX_LATE_LETTER_TEXT);
    // Another case is not held back by this one's.
    let other = Letter {
        case: "BBB222".into(),
        ..last.clone()
    };
    let bbb = Letter {
        text: long.clone(),
        cut: false,
        ..other
    };
    store
        .commit(MessageCommit {
            letters: std::slice::from_ref(&bbb),
            ..MessageCommit::record(&SeenRecord::unreadable(2, 1, None, now))
        })
        .unwrap();
    assert_eq!(store.letters("BBB222").unwrap()[0].text.len(), 10_000);
}
