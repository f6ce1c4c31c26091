//! End-to-end figures of the daemon on the real mail stack (Dovecot + Postfix on
//! loopback, started by scripts/mail-stack):
//!
//! - drain throughput: N applicant mails already in the inbox (default 10,000; set
//!   `DRAIN_MESSAGES`), from daemon start until every one is filed in Processed and its
//!   reply's copy is in Sent (fetch, decide, store, reply over SMTP, move);
//! - arrival-to-reply latency with IDLE: an applicant submits a mail to Postfix, the
//!   reply appears in the applicant's own mailbox (both Postfix deliveries included);
//!   `LATENCY_SAMPLES` (default 100) mails, one at a time;
//! - the daemon's peak RSS (VmHWM) over both.
//!
//! Run: `cargo bench --bench drain` (installs the mail stack packages if missing);
//! `SMTP_MAX_PER_MINUTE=30` drains at Exchange Online's sending pace.
//! Under `cargo test` it runs a 60-message smoke version.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use mnotify_intake::mailbox::Mailbox;
use mnotify_intake::testkit::mail::{applicant_mix, Mail};
use mnotify_intake::testkit::pki::Pki;
use mnotify_intake::testkit::stack::Stack;
use time::OffsetDateTime;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A realistic mix: a third with a certificate attached, a third quoting a serial, a
/// third asking about MNotify with neither.
fn applicant_mail(i: usize, to: &str, pki: &Pki, now: OffsetDateTime) -> (String, Vec<u8>) {
    let from = format!("app{}@primarie{}.test", i % 200, i % 7);
    let id = format!("<bench{i}@primarie.test>");
    let mut m = applicant_mix(i, &from, pki, now).message_id(&id);
    m.to = to.to_string();
    (from, m.build())
}

async fn wait_count(mb: &mut Mailbox, folder: &str, want: u32, within: Duration) -> u32 {
    let start = Instant::now();
    loop {
        // The folder appears when the daemon has started.
        let n = mb.count(folder).await.unwrap_or(0);
        if n >= want || start.elapsed() > within {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// CPU seconds (user + system) a process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// Busy and total CPU seconds of the whole machine so far.
fn machine_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    ((total - idle) / 100.0, total / 100.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without
    // it, and then a small smoke run checks the bench still works without taking minutes.
    let full = std::env::args().any(|a| a == "--bench");
    let n = env_usize("DRAIN_MESSAGES", if full { 10_000 } else { 60 });
    let samples = env_usize("LATENCY_SAMPLES", if full { 100 } else { 3 });
    // DRAIN_REMOTE_REPLIES=1: replies to the applicants' domains leave the machine (the
    // relay accepts and drops them) instead of being delivered into local mailboxes,
    // which in production happens on other machines. Latency then is not measured.
    let remote = std::env::var_os("DRAIN_REMOTE_REPLIES").is_some();
    if remote {
        std::env::set_var("MAIL_STACK_DISCARD_DOMAINS", r"primarie[0-9]\.test");
    }
    let samples = if remote { 0 } else { samples };
    let stack = Stack::private("bench");
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let pki = Pki::new(now);
    let anchors = dir.path().join("anchors.pem");
    std::fs::write(&anchors, pki.anchors_pem()).unwrap();
    let mailbox = "servicii-bench@egov.test";
    let config = dir.path().join("config.toml");
    let mut text = stack.config_toml(mailbox, &dir.path().join("store"), &anchors);
    if let Ok(c) = std::env::var("SMTP_CONNECTIONS") {
        text += &format!("connections = {c}\n");
    }
    // SMTP_MAX_PER_MINUTE=30: the drain at Exchange Online's pace (500 mails take about
    // 17 minutes: `DRAIN_MESSAGES=500 DRAIN_REMOTE_REPLIES=1 LATENCY_SAMPLES=0`).
    if let Ok(pace) = std::env::var("SMTP_MAX_PER_MINUTE") {
        text = text.replace(
            "max_per_minute = 0\n",
            &format!("max_per_minute = {pace}\n"),
        );
    }
    text += "[reply]\nmax_per_recipient_per_day = 100000\n";
    std::fs::write(&config, text).unwrap();

    eprintln!("drain: building {n} applicant mails");
    let mails: Vec<Vec<u8>> = (0..n)
        .map(|i| applicant_mail(i, mailbox, &pki, now).1)
        .collect();
    let bytes: usize = mails.iter().map(Vec::len).sum();
    eprintln!(
        "drain: appending them to the inbox ({:.1} MB)",
        bytes as f64 / 1e6
    );
    for chunk in mails.chunks(1000) {
        stack.append_all(mailbox, "INBOX", chunk).await;
        eprint!(".");
    }
    eprintln!();

    let log_path = std::env::temp_dir().join("drain-daemon.log");
    eprintln!("drain: daemon log in {}", log_path.display());
    let mut child = common::spawn_daemon(&config, &log_path);
    let started = Instant::now();
    let (busy0, total0) = machine_cpu();
    let mut watch = Mailbox::connect(&stack.imap(mailbox)).await.expect("IMAP");
    let processed = wait_count(&mut watch, "Processed", n as u32, Duration::from_secs(1800)).await;
    // At a provider's pace (SMTP_MAX_PER_MINUTE) the replies take n / pace minutes.
    let paced = std::env::var("SMTP_MAX_PER_MINUTE")
        .ok()
        .and_then(|p| p.parse::<u64>().ok())
        .filter(|&p| p > 0)
        .map_or(0, |p| (n as u64 / p + 2) * 60);
    let sent = wait_count(
        &mut watch,
        "Sent",
        n as u32,
        Duration::from_secs(600 + paced),
    )
    .await;
    let drain = started.elapsed();
    assert_eq!(processed as usize, n, "every message filed");
    assert_eq!(sent as usize, n, "every reply sent and copied");
    let rate = n as f64 / drain.as_secs_f64();
    println!(
        "drain: {n} messages ({:.1} MB) in {:.2} s = {rate:.0} messages/s end to end (fetch, decide, store, reply, move)",
        bytes as f64 / 1e6,
        drain.as_secs_f64()
    );
    let rss_drain = common::memory_kib(child.id(), "VmHWM:");
    let (busy1, total1) = machine_cpu();
    println!(
        "drain CPU: daemon {:.1} s, whole machine {:.0}% busy ({:.1} of {:.1} CPU-seconds; the rest is Dovecot and Postfix)",
        cpu_seconds(child.id()),
        100.0 * (busy1 - busy0) / (total1 - total0),
        busy1 - busy0,
        total1 - total0
    );

    // Latency, one mail at a time, with the daemon idle in IDLE.
    let mut latencies = Vec::new();
    for i in 0..samples {
        let applicant = format!("lat{i}@primarie.test");
        let mut m = Mail::new(&applicant, "MNotify")
            .text("Ce trebuie să trimitem pentru conectarea la MNotify?")
            .message_id(&format!("<lat{i}@primarie.test>"));
        m.to = mailbox.to_string();
        let mut inbox = Mailbox::connect(&stack.imap(&applicant))
            .await
            .expect("IMAP");
        let t0 = Instant::now();
        stack.deliver(&applicant, mailbox, &m.build()).await;
        loop {
            if inbox.count("INBOX").await.expect("STATUS") >= 1 {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "no reply within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push(t0.elapsed());
        inbox.logout().await;
    }
    latencies.sort();
    if latencies.is_empty() {
        println!("latency: not measured (DRAIN_REMOTE_REPLIES)");
    } else {
        println!(
        "latency (IDLE, applicant's submission to reply in the applicant's mailbox, {samples} mails): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
    }
    let rss = common::memory_kib(child.id(), "VmHWM:");
    println!(
        "daemon peak RSS: {:.1} MB after the drain, {:.1} MB at the end",
        rss_drain as f64 / 1024.0,
        rss as f64 / 1024.0
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("daemon exit");
    assert!(status.success(), "daemon stopped cleanly");
    watch.logout().await;
}
