//! Exchange Online's sending limits, kept by the outbox on the real stack: a pace across
//! every SMTP connection, and the quota refusal (a 5xx that means "wait") taken as a
//! pause, never as a failed reply.

use std::time::{Duration, Instant};

use crate::service::Setup;
use crate::stack::Stack;
use crate::util::NOW;

/// Sets `[smtp]` limits in a setup's config (the stack's config has none).
fn with_limits(setup: &Setup, limits: &str) {
    let text = std::fs::read_to_string(&setup.config)
        .unwrap()
        .replace("max_per_minute = 0\nmax_recipients_per_day = 0\n", limits);
    assert!(text.contains(limits), "the limits were written");
    std::fs::write(&setup.config, text).unwrap();
}

/// The times the daemon logged "reply sent", in seconds since the first.
fn sent_times(log: &str) -> Vec<f64> {
    let times: Vec<time::OffsetDateTime> = log
        .lines()
        .filter(|l| l.contains("reply sent"))
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .collect();
    let first = times.first().copied();
    times
        .iter()
        .map(|t| (*t - first.unwrap()).as_seconds_f64())
        .collect()
}

/// 500 queued mails under a pace of 300 a minute: every one answered once, and no
/// 60 seconds hold more than 300 submissions, across all 8 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_keeps_the_pace_and_loses_nothing() {
    let stack = Stack::private_with("pace", &[("MAIL_STACK_DISCARD_DOMAINS", "pace\\.test")]);
    let mailbox = "svc-pace@egov.test";
    let setup = Setup::new(&stack, mailbox, "");
    with_limits(&setup, "max_per_minute = 300\nmax_recipients_per_day = 0\n");
    let mails: Vec<Vec<u8>> = (0..500)
        .map(|i| {
            let mut m = mnotify_intake::testkit::mail::applicant_mix(
                i,
                &format!("a{i}@pace.test"),
                &setup.pki,
                NOW,
            );
            m.to = mailbox.into();
            m.message_id = format!("<pace-{i}@pace.test>");
            m.build()
        })
        .collect();
    stack.append_all(mailbox, "INBOX", &mails).await;
    let started = Instant::now();
    let daemon = setup.start();
    setup.wait_until_connected();
    loop {
        let status: serde_json::Value =
            serde_json::from_str(&setup.cli(&["status", "--json"])).expect("status JSON");
        if status["outbox"]["sent"] == 500 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "500 replies not sent in 240 s: {status}\n{}",
            setup.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let took = started.elapsed();
    daemon.stop();
    let status = setup.status();
    assert_eq!(status["outbox"]["failed"], 0, "{status}");
    assert_eq!(status["outbox"]["pending"], 0, "{status}");
    assert_eq!(
        stack.count(mailbox, "Processed").await,
        500,
        "every mail filed once"
    );
    let times = sent_times(&setup.log());
    assert_eq!(times.len(), 500, "each reply sent once");
    let busiest = (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|&&t| t < times[i] + 60.0)
                .count()
        })
        .max()
        .unwrap();
    println!("500 replies at 300 a minute: {took:?}; busiest 60 s held {busiest}");
    assert!(busiest <= 300, "{busiest} submissions in 60 s");
    assert!(
        took >= Duration::from_secs(59),
        "the pace held them back: {took:?}"
    );
}

/// Exchange's quota refusal (554 5.2.0 … SubmissionQuotaExceededException) pauses
/// sending: the reply stays pending, is never marked failed, and goes once the quota
/// is lifted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quota_refusal_is_a_pause_not_a_failure() {
    let stack = Stack::private("quota-pause");
    let mailbox = "svc-quota@egov.test";
    let ion = "ion@quota.test";
    let setup = Setup::new(&stack, mailbox, "");
    with_limits(
        &setup,
        "max_per_minute = 30\nmax_recipients_per_day = 10000\nquota_pause_seconds = 2\nmax_attempts = 1\n",
    );
    let mut m = mnotify_intake::testkit::mail::Mail::new(ion, "MNotify")
        .message_id("<q1@quota.test>")
        .text("Cum ne conectăm la MNotify?");
    m.to = mailbox.into();
    stack.deliver(ion, mailbox, &m.build()).await;
    stack
        .wait_for(mailbox, "INBOX", 1, Duration::from_secs(30))
        .await;
    let daemon = setup.start();
    setup.wait_until_connected();
    // Refused twice over at least one pause, with max_attempts = 1: still not failed.
    setup.wait_for_log("sending quota is used up", 2, Duration::from_secs(30));
    let status: serde_json::Value =
        serde_json::from_str(&setup.cli(&["status", "--json"])).unwrap();
    assert_eq!(status["outbox"]["failed"], 0, "{status}");
    assert_eq!(status["outbox"]["pending"], 1, "{status}");
    stack.run_script("lift-quota");
    mnotify_intake::testkit::wait::eventually(Duration::from_secs(60), "the reply sent", || {
        let status: serde_json::Value =
            serde_json::from_str(&setup.cli(&["status", "--json"])).unwrap();
        if status["outbox"]["sent"] == 1 {
            Ok(())
        } else {
            Err(format!("{status}\n{}", setup.log()))
        }
    });
    daemon.stop();
    assert_eq!(setup.status()["outbox"]["failed"], 0);
}
