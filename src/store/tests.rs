use super::*;
use crate::registry::Status;
use std::collections::BTreeSet;

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
        outcome: crate::record::Outcome::NeedCertificate,
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
    };
    older
        .commit(MessageCommit {
            seen: &record,
            case: None,
            thread_ids: &[],
            outbox: None,
            rate_keys: &[],
        })
        .unwrap();
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
            Err(StoreError::Open { .. }) if start.elapsed().as_secs() < 5 => {
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
