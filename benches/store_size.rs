//! Store bytes per handled mail: 10,000 applicant mails (a third with a certificate, a
//! third quoting a serial, a third asking) decided, committed and answered (reply sent
//! and copied) as the daemon does, then pruned with the default retention; then the
//! same again a year later, to see the store stay flat.
//!
//! `cargo bench --bench store_size` (STORE_MAILS=N for another count); under `cargo
//! test` a 300-mail smoke version.

use mnotify_intake::analysis::{analyse, Context};
use mnotify_intake::certificate::validate::TrustAnchors;
use mnotify_intake::process::{self, Content, Known, Mail as Planned, Position, Settings};
use mnotify_intake::record::OutboxState;
use mnotify_intake::registry::Registry;
use mnotify_intake::reply::{ReplyMode, Sender, Templates};
use mnotify_intake::store::{MessageCommit, Store};
use mnotify_intake::testkit::mail::applicant_mix;
use mnotify_intake::testkit::pki::Pki;
use mnotify_intake::trust::{Caps, Policy, SenderRule};
use time::{Duration, OffsetDateTime};

fn applicant_mail(i: usize, pki: &Pki, now: OffsetDateTime) -> Vec<u8> {
    let from = format!("app{i}@primarie{}.test", i % 7);
    let mut m = applicant_mix(i, &from, pki, now).message_id(&format!("<size{i}@primarie.test>"));
    m.to = "servicii@egov.md".into();
    m.build()
}

/// Handles `count` mails numbered from `first` at `at`; returns how many were answered.
fn handle(
    store: &Store,
    first: usize,
    count: usize,
    at: OffsetDateTime,
    pki: &Pki,
    anchors: &TrustAnchors,
) -> usize {
    let registry = Registry::default();
    let own = vec!["servicii@egov.md".to_string()];
    let ctx = Context {
        anchors,
        registry: &registry,
        own_addresses: &own,
        revocations: &Default::default(),
        procedures: mnotify_intake::procedure::Catalogue::built_in(),
        case_certificates: &Default::default(),
    };
    let templates = Templates::embedded();
    let policy = Policy {
        authserv_ids: vec!["mx.egov.md".into()],
        exchange_tenant: None,
        senders: SenderRule::Off,
    };
    let settings = Settings {
        mode: ReplyMode::Send,
        sender: Sender {
            name: "AGE",
            address: "servicii@egov.md",
            links: Vec::new(),
        },
        sender_names: ("AGE", "AGE"),
        processed_folder: "Processed",
        needs_human_folder: Some("Needs-Human"),
        caps: Caps {
            per_recipient_per_day: u32::MAX,
            per_case_per_day: u32::MAX,
            per_domain_per_day: u32::MAX,
            per_hour: u32::MAX,
        },
        trust: &policy,
        max_message_bytes: 25 << 20,
        templates: &templates,
        procedures: mnotify_intake::procedure::Catalogue::built_in(),
    };
    let mut answered = 0;
    for i in first..first + count {
        let raw = applicant_mail(i, pki, at);
        let a = analyse(&raw, &ctx, at);
        let content = Content::Analysed(&a);
        let judgement = process::judge(content, None, &policy);
        let digest = process::content_digest(&raw, &a.facts);
        let identity = process::identity(a.facts.message_id.as_deref(), &digest);
        let mail = Planned {
            content,
            identity: &identity,
            digest: &digest,
            at: Position {
                uid_validity: 1,
                uid: i as u32 + 1,
            },
        };
        let fresh = mnotify_intake::record::fresh_id().expect("randomness");
        let plan = process::plan(mail, &judgement, Known::default(), &settings, at, &fresh)
            .expect("a plan");
        store
            .commit(MessageCommit {
                seen: &plan.seen,
                also: &[],
                opened: &[],
                case: plan.case.as_ref(),
                thread_ids: &plan.thread_ids,
                outbox: plan.outbox.as_ref(),
                rate_keys: &plan.rate_keys,
                reported: None,
                letters: &plan.letters,
            })
            .expect("commit");
        if let Some(mut entry) = plan.outbox {
            // Sent, and its copy saved in Sent: as the daemon records it.
            entry.state = OutboxState::Sent;
            entry.copied = true;
            store.record_outbox(&entry).expect("record");
            answered += 1;
        }
    }
    store.flush().expect("flush");
    answered
}

fn main() {
    // Under `cargo test` (no --bench) a 300-mail smoke version.
    let full = std::env::args().any(|a| a == "--bench");
    let count: usize = std::env::var("STORE_MAILS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 10_000 } else { 300 });
    let dir = tempfile::tempdir().expect("temp dir");
    let now = OffsetDateTime::now_utc();
    let pki = Pki::new(now - Duration::days(800));
    let anchors_file = dir.path().join("anchors.pem");
    std::fs::write(&anchors_file, pki.anchors_pem()).unwrap();
    let anchors = TrustAnchors::load(&[anchors_file]).expect("anchors");
    let path = dir.path().join("store");
    let store = Store::open(&path).expect("store");
    let year_ago = now - Duration::days(400);
    let answered = handle(&store, 0, count, year_ago, &pki, &anchors);
    let per_mail = |bytes: u64, mails: usize| bytes as f64 / mails as f64;
    let content = store.content_bytes().unwrap();
    let kept = mnotify_intake::store::files_bytes(&path);
    println!(
        "store_size: {count} mails handled ({answered} answered): content {:.0} bytes per mail while kept; files on disk {:.1} MB ({:.0} bytes per mail, sled frees space lazily)",
        per_mail(content, count),
        kept as f64 / 1e6,
        per_mail(kept, count),
    );
    let pruned = store.prune(now - Duration::days(365), now).expect("prune");
    println!(
        "store_size: after pruning ({} records reduced, {} replies, {} letters of conversations and {} cases removed): content {:.0} bytes per mail; files {:.1} MB",
        pruned.records_reduced,
        pruned.replies_removed,
        pruned.letters_removed,
        pruned.cases_removed,
        per_mail(store.content_bytes().unwrap(), count),
        mnotify_intake::store::files_bytes(&path) as f64 / 1e6,
    );
    let next = handle(
        &store,
        count,
        count,
        now - Duration::days(30),
        &pki,
        &anchors,
    );
    store
        .prune(
            now + Duration::days(400) - Duration::days(365),
            now + Duration::days(400),
        )
        .expect("prune");
    println!(
        "store_size: {count} more a year on ({next} answered), pruned again: content {:.0} bytes per mail of {} handled; files {:.1} MB",
        per_mail(store.content_bytes().unwrap(), 2 * count),
        2 * count,
        mnotify_intake::store::files_bytes(&path) as f64 / 1e6,
    );
    // `store compact`: the same content in fresh files.
    let mut backup = Vec::new();
    store.backup(&mut backup, now).expect("backup");
    let compacted = dir.path().join("compacted");
    mnotify_intake::store::restore(&mut std::io::Cursor::new(backup), &compacted).expect("restore");
    println!(
        "store_size: after `store compact`: files {:.1} MB = {:.0} bytes per mail handled",
        mnotify_intake::store::files_bytes(&compacted) as f64 / 1e6,
        per_mail(mnotify_intake::store::files_bytes(&compacted), 2 * count)
    );
}
