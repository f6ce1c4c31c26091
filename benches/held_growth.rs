//! How much the store grows when strangers send large mail that is held (their sender
//! not authenticated): 100 mails of 4.5 MB kept the way the daemon keeps them, under
//! the default ceiling (`[store] held_max_messages = 200`, `held_max_mb = 100`).
//!
//! Run: `cargo bench --bench held_growth` (`HELD_MAX_MB=100000` for a store with no
//! ceiling, as before there was one). Under `cargo test`, 10 mails of 1 MB under a
//! 3 MB ceiling (a smoke run that checks the ceiling holds).

use mnotify_intake::config::{DEFAULT_HELD_MB, DEFAULT_HELD_MESSAGES};
use mnotify_intake::store::{files_bytes, HeldCeiling, Store};

/// What the store may take beyond the held mail's own bytes: sled's records of their
/// sizes and its log's growth in segments of 512 KiB.
const MARGIN: u64 = 2 * 1024 * 1024;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (count, size, ceiling) = if full {
        (
            100,
            4_500_000,
            HeldCeiling {
                max_messages: DEFAULT_HELD_MESSAGES,
                // HELD_MAX_MB=100000 shows the store without a ceiling, as before.
                max_bytes: std::env::var("HELD_MAX_MB")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(DEFAULT_HELD_MB)
                    * 1024
                    * 1024,
            },
        )
    } else {
        (
            10,
            1_000_000,
            HeldCeiling {
                max_messages: DEFAULT_HELD_MESSAGES,
                max_bytes: 3 * 1024 * 1024,
            },
        )
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store");
    let store = Store::open(&path).expect("store");
    store.flush().unwrap();
    let before = files_bytes(&path);
    let now = time::OffsetDateTime::now_utc();
    let raw = mnotify_intake::testkit::mail::noise(size, 7);
    let mut kept = 0;
    for n in 0..count {
        if store
            .keep_held(&format!("held-{n}@evil.test"), &raw, ceiling, now)
            .expect("keep")
        {
            kept += 1;
        }
    }
    store.flush().unwrap();
    let content = store.held_kept().unwrap();
    let after = files_bytes(&path);
    println!(
        "{count} held mails of {:.1} MB: {kept} kept whole ({:.1} MB of content, ceiling {} MB); the store's files grew {:.1} MB",
        size as f64 / 1e6,
        content.bytes as f64 / 1e6,
        ceiling.max_bytes / (1024 * 1024),
        (after.saturating_sub(before)) as f64 / 1e6
    );
    assert!(content.bytes <= ceiling.max_bytes, "the ceiling held");
    if std::env::var("HELD_MAX_MB").is_err() {
        assert!(kept < count, "the ceiling was reached");
        let grown = after.saturating_sub(before);
        assert!(
            grown <= ceiling.max_bytes + MARGIN,
            "the store grew {grown} bytes: over the ceiling and its margin of {MARGIN}"
        );
    }
    // Staff dismiss or accept them all (or their days run out): the disk is given
    // back, also after a restart.
    for n in 0..count {
        store.finish_held(&format!("held-{n}@evil.test")).unwrap();
    }
    drop(store);
    let reopened = Store::open(&path).expect("store");
    reopened.flush().unwrap();
    let emptied = files_bytes(&path);
    println!(
        "all let go and the store reopened: {:.1} MB over the empty store",
        emptied.saturating_sub(before) as f64 / 1e6
    );
    assert!(
        emptied.saturating_sub(before) <= MARGIN,
        "the held mail's disk was not given back: {emptied} bytes against {before}"
    );
}
