//! Faults on the real stack: the daemon killed mid-drain, Dovecot restarted under it,
//! Postfix down for a while, a message the server cannot read. The tests that stop
//! servers have a mail stack of their own.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mnotify_intake::intake;

use crate::mail::body;
use crate::service::Setup;
use crate::stack::Stack;
use mnotify_intake::testkit::mail::Mail;

const WAIT: Duration = Duration::from_secs(60);
/// SMTP connections of the daemon in the kill test.
const CONNECTIONS: usize = 4;

fn applicant_mail(from: &str, to: &str, id: &str) -> Vec<u8> {
    let mut m = Mail::new(from, "Conectare MNotify").message_id(id).text(
        "Bună ziua, dorim conectarea la MNotify. Certificatul are numărul de serie 0A1B2C3D4E.",
    );
    m.to = to.to_string();
    m.build()
}

/// Message-IDs of the replies in each applicant's inbox.
async fn replies(stack: &Stack, applicants: &[String]) -> Vec<String> {
    let mut ids = Vec::new();
    for a in applicants {
        for raw in stack.messages(a, "INBOX").await {
            ids.push(
                intake::read(&raw, &[])
                    .message_id
                    .expect("reply has a Message-ID"),
            );
        }
    }
    ids
}

/// Mail handled: answered and filed in Processed, or set aside in Needs-Human.
async fn filed(stack: &Stack, mailbox: &str) -> usize {
    stack.count(mailbox, "Processed").await + stack.count(mailbox, "Needs-Human").await
}

/// A small deterministic generator for kill moments (no extra dependency).
struct Lcg(u64);
impl Lcg {
    fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + (self.0 >> 33) % (hi - lo)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_500_message_drain_loses_nothing() {
    sigkill_drain(Stack::private("kill"), (150, 900)).await
}

/// The same on Cyrus, whose folders live under `INBOX.` (found by the daemon itself).
/// A daemon takes longer to start there (a process per connection), so it lives a
/// little longer before each kill, or the drain would hardly move between kills.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_500_message_drain_on_cyrus_loses_nothing() {
    let stack = Stack::private_with("kill-cyrus", &[("MAIL_STACK_IMAP", "cyrus")]);
    sigkill_drain(stack, (700, 2500)).await
}

/// Kills a draining daemon after a random `(min, max)` milliseconds, until it is done.
async fn sigkill_drain(stack: Stack, (shortest, longest): (u64, u64)) {
    let mailbox = "svc-kill@egov.test";
    let setup = Setup::new(
        &stack,
        mailbox,
        &format!("connections = {CONNECTIONS}\n[reply]\nmax_per_recipient_per_day = 1000\n"),
    );
    let applicants: Vec<String> = (0..25).map(|i| format!("app{i}@primarie.test")).collect();
    let mails: Vec<Vec<u8>> = (0..500)
        .map(|i| {
            applicant_mail(
                &applicants[i % 25],
                mailbox,
                &format!("<drain{i}@primarie.test>"),
            )
        })
        .collect();
    stack.append_all(mailbox, "INBOX", &mails).await;

    let mut rng = Lcg(0x5eed);
    let mut kills = 0;
    // Handled: answered and filed in Processed, or, for a mail whose handling a kill
    // interrupted three times running, set aside in Needs-Human for people (the rule
    // that keeps a mail that crashes the daemon from crashing it at every start).
    for _round in 0..60 {
        let inbox = stack.count(mailbox, "INBOX").await;
        if inbox == 0 && filed(&stack, mailbox).await == 500 {
            break;
        }
        let running = setup.start();
        tokio::time::sleep(Duration::from_millis(rng.next_ms(shortest, longest))).await;
        running.kill();
        kills += 1;
    }
    // A last, peaceful run delivers whatever the last kill left in the outbox.
    let running = setup.start();
    let start = std::time::Instant::now();
    while !(stack.count(mailbox, "INBOX").await == 0 && filed(&stack, mailbox).await == 500) {
        assert!(
            start.elapsed() < WAIT,
            "mail not filed after the drain; log:\n{}",
            setup.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let set_aside = stack.count(mailbox, "Needs-Human").await;
    let answered = 500 - set_aside;
    let start = std::time::Instant::now();
    while replies(&stack, &applicants)
        .await
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        < answered
    {
        assert!(
            start.elapsed() < WAIT,
            "replies missing after the drain; log:\n{}",
            setup.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    running.stop();

    assert!(stack.messages(mailbox, "INBOX").await.is_empty());
    assert_eq!(
        stack.messages(mailbox, "Processed").await.len() + set_aside,
        500,
        "each message filed exactly once"
    );
    // Rare: three kills in a row inside the same mail's handling.
    assert!(
        set_aside <= 10,
        "{set_aside} of 500 set aside after {kills} kills"
    );
    let ids = replies(&stack, &applicants).await;
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for id in &ids {
        *counts.entry(id).or_default() += 1;
    }
    let duplicates = ids.len() - counts.len();
    eprintln!(
        "sigkill drain: {kills} kills, {} replies, {} distinct, {duplicates} duplicate(s), {set_aside} set aside",
        ids.len(),
        counts.len()
    );
    assert_eq!(counts.len(), answered, "one reply per answered mail");
    assert!(
        kills >= 3,
        "the drain should have been interrupted several times, was {kills}"
    );
    // A reply can repeat only when a kill lands while it is being submitted (between
    // the end of DATA and the store's flush of "sent"): at most `connections` per kill.
    assert!(
        duplicates <= kills * CONNECTIONS,
        "{duplicates} duplicates for {kills} kills with {CONNECTIONS} SMTP connections"
    );
    let status = setup.status();
    assert_eq!(status["outbox"]["sent"], answered, "{status}");
    assert_eq!(status["outbox"]["pending"], 0, "{status}");
    assert_eq!(status["messages"]["serial_not_found"], answered, "{status}");
    if set_aside > 0 {
        // Each one is recorded, with why, and shown to staff.
        assert_eq!(status["messages"]["unreadable"], set_aside, "{status}");
    }
    // Sent holds one copy of each reply, whatever the kills interrupted.
    let copies: Vec<String> = stack
        .messages(mailbox, "Sent")
        .await
        .iter()
        .filter_map(|raw| intake::read(raw, &[]).message_id)
        .collect();
    let distinct: std::collections::BTreeSet<&String> = copies.iter().collect();
    eprintln!(
        "sigkill drain: {} copies in Sent, {} distinct",
        copies.len(),
        distinct.len()
    );
    assert_eq!(distinct.len(), answered, "a copy of every reply");
    assert_eq!(copies.len(), answered, "no reply copied twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dovecot_restart_under_the_daemon() {
    imap_restart_under_the_daemon(Stack::private("dovecot")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cyrus_restart_under_the_daemon() {
    imap_restart_under_the_daemon(Stack::private_with(
        "cyrus-restart",
        &[("MAIL_STACK_IMAP", "cyrus")],
    ))
    .await
}

async fn imap_restart_under_the_daemon(stack: Stack) {
    let mailbox = "svc-dc@egov.test";
    let ion = "ion-dc@primarie.test";
    let setup = Setup::new(&stack, mailbox, "");
    let running = setup.start();
    for i in 0..2 {
        stack
            .deliver(
                ion,
                mailbox,
                &applicant_mail(ion, mailbox, &format!("<dc{i}@primarie.test>")),
            )
            .await;
    }
    stack.wait_for(ion, "INBOX", 2, WAIT).await;
    stack.run_script("restart-imap");
    for i in 2..4 {
        stack
            .deliver(
                ion,
                mailbox,
                &applicant_mail(ion, mailbox, &format!("<dc{i}@primarie.test>")),
            )
            .await;
    }
    stack.wait_for(ion, "INBOX", 4, WAIT).await;
    stack.wait_for(mailbox, "Processed", 4, WAIT).await;
    running.stop();
    assert!(
        setup.log().contains("reconnecting"),
        "the lost IMAP connection was noticed: {}",
        setup.log()
    );
    assert_eq!(stack.messages(ion, "INBOX").await.len(), 4);
}

/// Sends `signal` to the stack's Dovecot: the master and every process it started.
fn signal_dovecot(stack: &Stack, signal: &str) {
    let master = std::fs::read_to_string(stack.dir.join("dovecot.pid")).expect("dovecot.pid");
    let master = master.trim();
    let children = std::process::Command::new("pgrep")
        .args(["-P", master])
        .output()
        .expect("pgrep");
    let mut pids: Vec<String> = String::from_utf8_lossy(&children.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    pids.push(master.to_string());
    let status = std::process::Command::new("kill")
        .arg(signal)
        .args(&pids)
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal} {pids:?}");
}

/// A server that stops answering without closing the connection (frozen, or gone
/// behind a middlebox): every command has a deadline, the daemon reconnects, and mail
/// that came meanwhile is answered once the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_imap_server_is_left_and_found_again() {
    let stack = Stack::private("frozen");
    let mailbox = "svc-frozen@egov.test";
    let ion = "ion-frozen@primarie.test";
    let setup = Setup::new(
        &stack,
        mailbox,
        "[metrics]\nlisten = \"127.0.0.1:0\"\nimap_stale_seconds = 2\n",
    );
    let config = std::fs::read_to_string(&setup.config).unwrap();
    std::fs::write(
        &setup.config,
        config.replacen(
            "backlog = \"handle\"\n",
            "backlog = \"handle\"\nidle = false\npoll_seconds = 1\ncommand_timeout_seconds = 3\n",
            1,
        ),
    )
    .unwrap();
    let running = setup.start();
    let health = setup.metrics_address();
    setup.wait_until_connected();
    signal_dovecot(&stack, "-STOP");
    // The endpoint says why, meanwhile.
    let start = Instant::now();
    let why = loop {
        let (status, body) = crate::health::get(&health, "/health");
        if status.contains("503") {
            break body;
        }
        if start.elapsed() > WAIT {
            signal_dovecot(&stack, "-CONT");
            panic!("/health still says {status} with Dovecot frozen");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let start = Instant::now();
    while !setup.log().contains("did not answer") {
        if start.elapsed() > WAIT {
            signal_dovecot(&stack, "-CONT");
            panic!("no command deadline after {WAIT:?}; log:\n{}", setup.log());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    signal_dovecot(&stack, "-CONT");
    assert!(why.contains("no successful IMAP exchange"), "{why}");
    stack
        .deliver(
            ion,
            mailbox,
            &applicant_mail(ion, mailbox, "<frozen1@primarie.test>"),
        )
        .await;
    stack.wait_for(ion, "INBOX", 1, WAIT).await;
    // Found again: healthy again.
    mnotify_intake::testkit::wait::eventually(WAIT, "/health to recover", || {
        let (status, body) = crate::health::get(&health, "/health");
        status.contains("200").then_some(()).ok_or(status + &body)
    });
    running.stop();
    let log = setup.log();
    assert!(log.contains("within 3 s; reconnecting"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_wait_out_an_smtp_outage() {
    let stack = Stack::private("smtp");
    let mailbox = "svc-smtp@egov.test";
    let ana = "ana-smtp@scoala.test";
    let setup = Setup::new(&stack, mailbox, "");
    for i in 0..3 {
        stack
            .deliver(
                ana,
                mailbox,
                &applicant_mail(ana, mailbox, &format!("<so{i}@scoala.test>")),
            )
            .await;
    }
    stack.wait_for(mailbox, "INBOX", 3, WAIT).await;
    stack.run_script("stop-postfix");
    let running = setup.start();
    stack.wait_for(mailbox, "Processed", 3, WAIT).await;
    // The daemon tried to send and failed (not: had not tried yet), and nothing arrived.
    mnotify_intake::testkit::wait::eventually(WAIT, "a failed send in the log", || {
        let log = setup.log();
        if log.contains("sending stopped") {
            Ok(())
        } else {
            Err(log.lines().last().unwrap_or_default().to_string())
        }
    });
    assert!(
        stack.messages(ana, "INBOX").await.is_empty(),
        "nothing can be sent while Postfix is down"
    );
    stack.run_script("start-postfix");
    let got = stack.wait_for(ana, "INBOX", 3, WAIT).await;
    running.stop();
    assert_eq!(got.len(), 3);
    assert!(body(&got[0]).contains("MNotify"));
    // Said once when sending stopped and once when it resumed, not once per reply
    // per retry.
    let log = setup.log();
    assert_eq!(log.matches("sending stopped").count(), 1, "{log}");
    assert_eq!(log.matches("sending resumed").count(), 1, "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("sending stopped") && l.contains("waiting=")),
        "the replies waiting are counted: {log}"
    );
    let status = setup.status();
    assert_eq!(status["outbox"]["sent"], 3, "{status}");
    assert_eq!(status["outbox"]["failed"], 0, "{status}");
}

/// A message the IMAP server fails to hand over, every time (here: its file unreadable
/// for Dovecot; on Exchange, an item it cannot convert to MIME), must not hold the inbox
/// up in a reconnect loop: the others are answered, it is set aside for people, kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_server_cannot_hand_over_is_set_aside() {
    let stack = Stack::get();
    let mailbox = "svc-unreadable@egov.test";
    let applicants = [
        "ana-unr@scoala.test",
        "ion-unr@primaria.test",
        "dan-unr@scoala.test",
    ];
    let setup = Setup::new(stack, mailbox, "");
    for (i, a) in applicants.iter().enumerate() {
        stack
            .deliver(
                a,
                mailbox,
                &applicant_mail(a, mailbox, &format!("<unr{i}@test>")),
            )
            .await;
        // One at a time, so that UID 2 is Ion's.
        stack.wait_for(mailbox, "INBOX", i + 1, WAIT).await;
    }
    let file = stack
        .dir
        .join("mail/egov.test/svc-unreadable/sdbox/mailboxes/INBOX/dbox-Mails/u.2");
    assert!(file.exists(), "sdbox keeps UID 2 in {}", file.display());
    // Dovecot runs as nobody; the tests run as root.
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();

    let started = Instant::now();
    setup.cli(&["run", "--once"]);
    let took = started.elapsed();

    for a in [applicants[0], applicants[2]] {
        stack.wait_for(a, "INBOX", 1, WAIT).await;
    }
    assert_eq!(
        stack.count(applicants[1], "INBOX").await,
        0,
        "never answered"
    );
    assert_eq!(stack.count(mailbox, "INBOX").await, 0);
    assert_eq!(stack.count(mailbox, "Processed").await, 2);
    assert_eq!(
        stack.count(mailbox, "Needs-Human").await,
        1,
        "set aside, not lost"
    );
    let status = setup.status();
    assert_eq!(status["messages"]["unreadable"], 1, "{status}");
    assert!(took < Duration::from_secs(30), "no long loop: {took:?}");
}

/// `run --once`, which must finish by itself (a minute at most: a daemon stuck retrying
/// fails the test instead of hanging it); returns its log.
fn run_once_within_a_minute(setup: &Setup) -> String {
    let out = std::process::Command::new("timeout")
        .arg("60")
        .arg(crate::service::BIN)
        .arg("--config")
        .arg(&setup.config)
        .args(["run", "--once"])
        .env("RUST_LOG", "info")
        .output()
        .expect("run the daemon");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "each run finishes: {log}");
    log
}

/// A mailbox over quota refuses the copy of a reply for the Sent folder: the replies
/// still go out, each run of the daemon finishes, and the copy is given up after three
/// refusals instead of failing every pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_copy_refused_over_quota_is_given_up() {
    // Every mailbox holds 2 messages at most.
    let stack = Stack::private_with("quota-copy", &[("MAIL_STACK_QUOTA_MESSAGES", "2")]);
    let mailbox = "svc-quota-copy@egov.test";
    let applicants = ["ana-quota@scoala.test", "dan-quota@scoala.test"];
    let setup = Setup::new(&stack, mailbox, "");
    for (i, a) in applicants.iter().enumerate() {
        stack
            .deliver(
                a,
                mailbox,
                &applicant_mail(a, mailbox, &format!("<q{i}@test>")),
            )
            .await;
    }
    stack.wait_for(mailbox, "INBOX", 2, WAIT).await;
    // The two mails fill the mailbox: the copies of both replies are refused.
    let run = || run_once_within_a_minute(&setup);
    let first = run();
    for a in applicants {
        stack.wait_for(a, "INBOX", 1, WAIT).await;
    }
    assert!(first.contains("copy of the reply refused"), "{first}");
    let second = run();
    assert!(second.contains("given up after 3 refusals"), "{second}");
    assert_eq!(stack.count(mailbox, "Sent").await, 0);
    let third = run();
    assert!(
        !third.contains("copy of the reply"),
        "nothing left to try: {third}"
    );
    let status = setup.status();
    assert_eq!(status["outbox"]["sent"], 2, "{status}");
    assert_eq!(status["outbox"]["failed"], 0, "{status}");
}

/// In draft mode over quota the draft is the reply: refused three times, it is reported
/// as a reply that failed (status, the case's timeline), and each run still finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_refused_over_quota_is_reported_failed() {
    let stack = Stack::private_with("quota-draft", &[("MAIL_STACK_QUOTA_MESSAGES", "1")]);
    let mailbox = "svc-qdraft@egov.test";
    let ana = "ana-qdraft@scoala.test";
    let setup = Setup::new(&stack, mailbox, "[reply]\nmode = \"draft\"\n");
    stack
        .deliver(ana, mailbox, &applicant_mail(ana, mailbox, "<qd0@test>"))
        .await;
    stack.wait_for(mailbox, "INBOX", 1, WAIT).await;
    for _ in 0..3 {
        run_once_within_a_minute(&setup);
    }
    assert_eq!(stack.count(mailbox, "Drafts").await, 0);
    let status = setup.status();
    assert_eq!(status["outbox"]["failed"], 1, "{status}");
    let error = status["failed"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("refused to save it in Drafts"), "{error}");
}
