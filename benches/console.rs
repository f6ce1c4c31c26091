//! Server time of the console's two busiest pages with 10,000 cases and 20,000 mail
//! records in the store: the queue (every case read, placed, sorted, the held mail
//! counted, a page of 50 rendered) and a case page (the
//! case, its mails' certificates, the registry, rendered), as the handlers do them,
//! without the network. Prints p50, p95 and the slowest of each.
//!
//! `cargo bench --bench console` (CONSOLE_CASES=N for another count); under `cargo
//! test` a 200-case smoke version that checks the pages render.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mnotify_intake::case::{apply, Case, Event, Question, Step};
use mnotify_intake::config::Config;
use mnotify_intake::decision::Decision;
use mnotify_intake::intake::Language;
use mnotify_intake::metrics::Telemetry;
use mnotify_intake::procedure::Catalogue;
use mnotify_intake::record::{Outcome, SeenRecord};
use mnotify_intake::reply::Templates;
use mnotify_intake::staff::Service;
use mnotify_intake::store::{MessageCommit, Store, WebSession};
use mnotify_intake::testkit::pki::Pki;
use mnotify_intake::web::auth::Signed;
use mnotify_intake::web::pages::{case_page, queue_page};
use mnotify_intake::web::Console;
use time::OffsetDateTime;

/// A case as onboarding leaves them: steps done, a certificate, some with a question.
fn case(i: usize, now: OffsetDateTime) -> Case {
    let mn = Catalogue::built_in().mnotify();
    let opened = now - time::Duration::days((i % 90) as i64);
    let mut c = Case::open(
        format!("B{i:07}"),
        &format!("responsabil{i}@primaria-{}.md", i % 900),
        Language::Ro,
        opened,
    );
    let steps = [
        Step::FORM,
        Step::CONTRACT,
        Step::CERTIFICATE,
        Step::INTEGRATION_DATA,
    ];
    for step in steps.iter().take(i % 5) {
        let done = Event::StepDone {
            step: *step,
            by: "Ana Popescu <ana@egov.md> (staff, console)",
            note: Some("primit prin poștă"),
        };
        c = apply(mn, &c, done, opened + time::Duration::hours(2)).0;
    }
    if i % 7 == 0 {
        c.question = Some(Question::asked(
            "Cât durează conectarea la mediul de producție?",
            opened,
        ));
    }
    c.certificates
        .push(mnotify_intake::case::certificates::CaseCertificate {
            serial: format!("{:012x}", i * 7919),
            sha1: Some(format!("{:040x}", i * 104_729)),
            environment: None,
            at: opened,
        });
    c
}

/// One handled mail's record, a held one for every 500th.
fn mail_record(i: usize, now: OffsetDateTime) -> SeenRecord {
    SeenRecord {
        identity: format!("m{i:07}@primaria{}.md", i % 300),
        uid_validity: 1,
        uid: i as u32 + 1,
        outcome: Outcome::Decided(Decision::NewCertificate),
        case: Some(format!("B{:07}", i / 2)),
        destination: Some("Processed".into()),
        reply: None,
        note: Some("a note as long as they come, about the sender and the certificate".into()),
        at: now - time::Duration::hours(i as i64 % 8760),
        from: Some(format!("it{}@primaria{}.md", i % 7, i % 300)),
        subject: Some("Conectare MNotify: certificatul de sistem".into()),
        problems: Vec::new(),
        accepted: Vec::new(),
        sender: None,
        held: i % 500 == 0,
        flagged: false,
        warnings: Vec::new(),
        remarks: Vec::new(),
        warned: Vec::new(),
        digest: None,
    }
}

fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.5), at(0.95), *times.last().unwrap())
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let count: usize = if benching {
        std::env::var("CONSOLE_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000)
    } else {
        200
    };
    let rounds = if benching { 60 } else { 3 };
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let pki = Pki::new(now);
    std::fs::write(dir.path().join("ca.pem"), pki.anchors_pem()).unwrap();
    let text = "[store]\npath = \"db\"\n[trust]\nauthserv_id = \"mx.test\"\nanchors = [\"ca.pem\"]\n[web]\n[web.oidc]\nissuer = \"https://login.example.test\"\nclient_id = \"console\"\n";
    let config = Config::parse(&dir.path().join("c.toml"), text).expect("the bench's config");
    let store = Store::open(&config.store_path).unwrap();
    let started = Instant::now();
    for i in 0..count {
        store.save_case(&case(i, now)).unwrap();
    }
    // A year of mail beside them: two records a case, one in 500 held for staff (every
    // page counts the held mail).
    let held = (0..count * 2).filter(|i| i % 500 == 0).count();
    for i in 0..count * 2 {
        let record = mail_record(i, now);
        store.commit(MessageCommit::record(&record)).unwrap();
    }
    println!(
        "console bench: {count} cases and {} mail records ({held} held) stored in {:.1} s",
        count * 2,
        started.elapsed().as_secs_f64()
    );
    let web = config.web.clone().unwrap();
    let shared = Arc::new(Service {
        store: store.clone(),
        templates: Templates::for_config(&config.reply).unwrap(),
        poke: Default::default(),
        registry_changed: Default::default(),
        config,
    });
    let console = Console::with(shared, Telemetry::new(now.unix_timestamp()), web);
    let signed = Signed {
        session: WebSession {
            issuer: "https://login.example.test".into(),
            subject: "s".into(),
            name: "Ana Popescu".into(),
            email: "ana@egov.md".into(),
            role: "staff".into(),
            csrf: "x".repeat(43),
            id_token: String::new(),
            signed_in: now.unix_timestamp(),
            last_seen: now.unix_timestamp(),
        },
    };
    let (mut unchanged, mut changed, mut case_times) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // The queue as staff reload it: the cases unchanged since the last page…
        let t = Instant::now();
        let cases = store.cases_now().unwrap();
        let page = queue_page(&console, &signed, &cases, Default::default(), now);
        unchanged.push(t.elapsed());
        assert_eq!(page.status(), 200, "the queue renders");
        let token = format!("B{:07}", (round * 7919) % count);
        let t = Instant::now();
        let case = store.case(&token).unwrap().expect("the case");
        let page = case_page(&console, &signed, &case, None, now);
        case_times.push(t.elapsed());
        assert_eq!(page.status(), 200, "the case page renders");
        // …and after a case changed (a mail handled, a staff action): read again.
        store.save_case(&case).unwrap();
        let t = Instant::now();
        let cases = store.cases_now().unwrap();
        let page = queue_page(&console, &signed, &cases, Default::default(), now);
        changed.push(t.elapsed());
        assert_eq!(page.status(), 200, "the queue renders");
    }
    for (name, times) in [
        ("queue, no case changed since the last page", unchanged),
        ("queue, a case changed since the last page", changed),
        ("case page", case_times),
    ] {
        let (p50, p95, max) = percentiles(times);
        println!(
            "console bench: {name}: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms over {rounds} requests, {count} cases",
            p50.as_secs_f64() * 1e3,
            p95.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
}
