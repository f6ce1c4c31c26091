//! Soak: the daemon for a long stretch under mixed applicant traffic on the real mail
//! stack, with Dovecot restarted and Postfix stopped at intervals, as a mail server's
//! maintenance and crashes would. At the end, once everything delivered is handled and
//! every reply has gone out, it prints mails in, replies out, lost and duplicated, and
//! the daemon's RSS at the start and at the end. "Duplicated" is the daemon's: a mail
//! answered by two different replies. Stopping Postfix can also make the mail system
//! repeat one reply (submitted again when Postfix died before confirming it, or
//! delivered again when it died after delivering): counted apart, as SMTP's
//! at-least-once, the same message twice.
//!
//! Run: `cargo bench --bench soak` (10 minutes; `SOAK_SECONDS`, `SOAK_RATE` mails a
//! second, default 2). Under `cargo test` a 15-second smoke version runs, with one
//! restart of each kind, and asserts nothing lost and nothing duplicated.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::time::{Duration, Instant};

use mnotify_intake::mailbox::Mailbox;
use mnotify_intake::testkit::mail::applicant_mix;
use mnotify_intake::testkit::pki::Pki;
use mnotify_intake::testkit::stack::Stack;
use time::OffsetDateTime;

/// Distinct applicants; each gets its own mailbox, so replies can be counted.
const APPLICANTS: usize = 40;

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn applicant(i: usize) -> String {
    format!("soak{}@primarie{}.test", i % APPLICANTS, i % 5)
}

/// Fails the bench, with the daemon's log, if the daemon has ended.
fn alive(daemon: &mut std::process::Child, log: &std::path::Path, what: &str) {
    if let Ok(Some(status)) = daemon.try_wait() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        panic!("the daemon ended ({status}) {what}:\n{text}");
    }
}

/// The shared mailbox's folders, as counted on a fresh connection (Dovecot restarts
/// end old ones); `None` while the server or the Processed folder is not there.
struct Counts {
    inbox: u32,
    handled: u32,
    sent: u32,
}

async fn counts(stack: &Stack, mailbox: &str) -> Option<Counts> {
    let mut mb = Mailbox::connect(&stack.imap(mailbox)).await.ok()?;
    let processed = mb.count("Processed").await.ok()?;
    let counts = Counts {
        inbox: mb.count("INBOX").await.ok()?,
        handled: processed + mb.count("Needs-Human").await.unwrap_or(0),
        sent: mb.count("Sent").await.unwrap_or(0),
    };
    mb.logout().await;
    Some(counts)
}

/// The (In-Reply-To, Message-ID) of each reply in `raw` messages.
fn replies_in(raw: &[Vec<u8>]) -> Vec<(String, String)> {
    raw.iter()
        .filter_map(|m| {
            let facts = mnotify_intake::intake::read(m, &[]);
            Some((facts.in_reply_to.first()?.clone(), facts.message_id?))
        })
        .collect()
}

/// How many times Postfix took in each of our replies (its cleanup logs the
/// Message-ID once per submission).
fn submissions(maillog: &str) -> HashMap<String, usize> {
    let mut out: HashMap<String, usize> = HashMap::new();
    for line in maillog.lines().filter(|l| l.contains("/cleanup[")) {
        if let Some(id) = line.split("message-id=<").nth(1) {
            if id.starts_with("mnotify.") {
                *out.entry(id.trim_end_matches('>').to_string()).or_default() += 1;
            }
        }
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let seconds = env_f64("SOAK_SECONDS", if full { 600.0 } else { 15.0 });
    let rate = env_f64("SOAK_RATE", 2.0);
    // Faults: Dovecot restarted every `restart_every`, Postfix stopped for `down` every
    // `stop_every` (offset, so they also overlap sometimes over a long run).
    let (restart_every, stop_every, down) = if full {
        (90.0, 150.0, 20.0)
    } else {
        (6.0, 10.0, 3.0)
    };
    let stack = Stack::private("soak");
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let pki = Pki::new(now);
    let anchors = dir.path().join("anchors.pem");
    std::fs::write(&anchors, pki.anchors_pem()).unwrap();
    let mailbox = "servicii-soak@egov.test";
    let config = dir.path().join("config.toml");
    // The stack's test config lifts the reply caps already; the per-recipient one too.
    let text = stack.config_toml(mailbox, &dir.path().join("store"), &anchors)
        + "[reply]\nmax_per_recipient_per_day = 100000\n";
    std::fs::write(&config, text).unwrap();

    let log_path = std::env::temp_dir().join("soak-daemon.log");
    eprintln!(
        "soak: {seconds:.0} s at {rate} mails/s; daemon log in {}",
        log_path.display()
    );
    let mut daemon = common::spawn_daemon(&config, &log_path);
    let pid = daemon.id();
    // The daemon's first pass (it creates Processed), then its resident size.
    let start_wait = Instant::now();
    while counts(&stack, mailbox).await.is_none() {
        alive(&mut daemon, &log_path, "before its first pass");
        assert!(
            start_wait.elapsed() < Duration::from_secs(60),
            "no first pass within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_start = common::memory_kib(pid, "VmRSS:");

    // Traffic, with the faults on their schedule. A mail Postfix does not take (it is
    // stopped) is offered again on the next tick, as the applicant's server would.
    let started = Instant::now();
    let tick = Duration::from_secs_f64(1.0 / rate);
    let (mut sent, mut refused_tries, mut restarts, mut stops) = (0usize, 0usize, 0u32, 0u32);
    let mut backlog: Vec<(String, Vec<u8>)> = Vec::new();
    let mut next_restart = restart_every;
    let mut next_stop = stop_every;
    let mut postfix_back_at: Option<f64> = None;
    let mut i = 0usize;
    while started.elapsed().as_secs_f64() < seconds {
        alive(&mut daemon, &log_path, "during the traffic");
        let t = started.elapsed().as_secs_f64();
        if t >= next_restart {
            stack.run_script("restart-dovecot");
            restarts += 1;
            next_restart += restart_every;
        }
        if postfix_back_at.is_none() && t >= next_stop {
            stack.run_script("stop-postfix");
            stops += 1;
            postfix_back_at = Some(t + down);
            next_stop += stop_every;
        }
        if postfix_back_at.is_some_and(|back| t >= back) {
            stack.run_script("start-postfix");
            postfix_back_at = None;
        }
        let from = applicant(i);
        let mut m =
            applicant_mix(i, &from, &pki, now).message_id(&format!("<soak{i}@primarie.test>"));
        m.to = mailbox.to_string();
        backlog.push((from, m.build()));
        i += 1;
        let mut still = Vec::new();
        for (from, raw) in backlog.drain(..) {
            if still.is_empty() && stack.try_deliver(&from, mailbox, &raw).await.is_ok() {
                sent += 1;
            } else {
                refused_tries += 1;
                still.push((from, raw));
            }
        }
        backlog = still;
        tokio::time::sleep(tick).await;
    }
    if postfix_back_at.is_some() {
        stack.run_script("start-postfix");
    }
    for (from, raw) in backlog.drain(..) {
        stack.deliver(&from, mailbox, &raw).await;
        sent += 1;
    }
    let traffic = started.elapsed();

    // Everything delivered handled, every reply sent and copied.
    let settle = Instant::now();
    let (mut handled, mut copies) = (0u32, 0u32);
    while settle.elapsed() < Duration::from_secs(600) {
        alive(&mut daemon, &log_path, "while the last mail was handled");
        if let Some(c) = counts(&stack, mailbox).await {
            (handled, copies) = (c.handled, c.sent);
            if handled as usize >= sent && c.inbox == 0 && copies as usize >= sent {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let rss_end = common::memory_kib(pid, "VmRSS:");
    let rss_peak = common::memory_kib(pid, "VmHWM:");
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = daemon.wait().expect("daemon exit");

    // Per mail answered: the distinct replies the daemon composed (more than one is
    // the daemon's duplicate), and how often each reached the applicant.
    let mut replies = 0usize;
    let mut per_mail: HashMap<String, HashSet<String>> = HashMap::new();
    let mut pairs: HashSet<(String, String)> = HashSet::new();
    for a in 0..APPLICANTS.min(i) {
        let got = stack.messages(&applicant(a), "INBOX").await;
        replies += got.len();
        for (to, id) in replies_in(&got) {
            per_mail.entry(to.clone()).or_default().insert(id.clone());
            pairs.insert((to, id));
        }
    }
    let duplicated: usize = per_mail.values().map(|ids| ids.len() - 1).sum();
    let delivered_twice = replies - pairs.len();
    let maillog =
        std::fs::read_to_string(stack.dir.join("postfix/log/maillog")).unwrap_or_default();
    let submitted_twice: usize = submissions(&maillog).values().map(|n| n - 1).sum();
    let answered = per_mail.len();
    let lost = sent.saturating_sub(handled as usize);
    println!(
        "soak: {:.0} s of traffic, {restarts} Dovecot restarts, {stops} Postfix stops ({down:.0} s each; {refused_tries} deliveries refused meanwhile and offered again)",
        traffic.as_secs_f64()
    );
    println!(
        "soak: mails in {sent}, handled {handled}, replies out {replies} ({answered} mails answered, {copies} copies in Sent), lost {lost}, duplicated by the daemon {duplicated}; settled {:.0} s after the traffic",
        settle.elapsed().as_secs_f64()
    );
    println!(
        "soak: at the SMTP level, replies submitted twice {submitted_twice} (Postfix stopped before it confirmed one: the daemon sends it again, the same message), delivered twice {delivered_twice} (Postfix stopped after delivering one, before recording it)"
    );
    println!(
        "soak: daemon RSS {:.1} MB after its first pass, {:.1} MB at the end (peak {:.1} MB)",
        rss_start as f64 / 1024.0,
        rss_end as f64 / 1024.0,
        rss_peak as f64 / 1024.0
    );
    assert!(
        status.success(),
        "the daemon stopped cleanly; see {}",
        log_path.display()
    );
    assert_eq!(
        lost,
        0,
        "every mail delivered was handled; see {}",
        log_path.display()
    );
    assert_eq!(duplicated, 0, "no mail answered with two different replies");
    assert_eq!(answered, sent, "every mail answered once");
}
