//! Monitoring as an operator's tools see it: the Prometheus endpoint's values move as
//! mail is handled, `/health` answers, and systemd is told READY and fed the watchdog.
//! (The stall, with Dovecot frozen, is in `faults`.)

use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use mnotify_intake::testkit::mail::Mail;

use crate::service::Setup;
use crate::stack::Stack;

const WAIT: Duration = Duration::from_secs(30);

/// One HTTP GET; the status line and the body.
pub fn get(addr: &str, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("the endpoint accepts");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    (head.lines().next().unwrap().to_string(), body.to_string())
}

/// The value of the sample `name` (with its labels as written), if present.
pub fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_the_mail_and_systemd_is_told() {
    let stack = Stack::get();
    let mailbox = "svc-metrics@egov.test";
    let ion = "ion-metrics@primarie.test";
    let setup = Setup::new(stack, mailbox, "[metrics]\nlisten = \"127.0.0.1:0\"\n");
    let notify_path = setup.dir.path().join("notify.sock");
    let systemd = UnixDatagram::bind(&notify_path).unwrap();
    systemd
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let daemon = setup.start_with(&[
        ("NOTIFY_SOCKET", notify_path.to_str().unwrap()),
        ("WATCHDOG_USEC", "1000000"),
    ]);
    let addr = setup.metrics_address();
    setup.wait_until_connected();

    let handled = "mnotify_intake_mails_handled_total{outcome=\"need_certificate\"}";
    let (status, before) = get(&addr, "/metrics");
    assert!(status.contains("200"), "{status}");
    assert_eq!(sample(&before, handled), None, "{before}");
    assert_eq!(
        sample(&before, "mnotify_intake_replies_sent_total"),
        Some(0.0)
    );

    let mut m = Mail::new(ion, "Conectare MNotify")
        .message_id("<m1@primarie.test>")
        .text("Bună ziua, dorim conectarea la MNotify.");
    m.to = mailbox.to_string();
    stack.deliver(ion, mailbox, &m.build()).await;
    stack.wait_for(ion, "INBOX", 1, WAIT).await;

    // The counters follow the reply (sent just before it arrived).
    let after =
        mnotify_intake::testkit::wait::eventually(WAIT, "one reply sent in /metrics", || {
            let (_, body) = get(&addr, "/metrics");
            if sample(&body, "mnotify_intake_replies_sent_total") == Some(1.0) {
                Ok(body)
            } else {
                Err(body)
            }
        });
    assert_eq!(sample(&after, handled), Some(1.0), "{after}");
    assert_eq!(
        sample(
            &after,
            "mnotify_intake_cases{service=\"mnotify\",step=\"form\",waiting_on=\"applicant\"}"
        ),
        Some(1.0),
        "{after}"
    );
    assert_eq!(
        sample(&after, "mnotify_intake_cases_late{standing=\"overdue\"}"),
        Some(0.0),
        "a new case waits on the applicant: nothing late, and the 0 is there: {after}"
    );
    assert!(sample(&after, "mnotify_intake_store_bytes").unwrap() > 0.0);
    assert!(sample(&after, "mnotify_intake_imap_last_ok_age_seconds").unwrap() < 30.0);
    assert_eq!(sample(&after, "mnotify_intake_healthy"), Some(1.0));
    assert!(after.trim_end().ends_with("# EOF"));
    let (status, body) = get(&addr, "/health");
    assert!(
        status.contains("200") && body.trim() == "ok",
        "{status} {body}"
    );
    assert!(get(&addr, "/nothing").0.contains("404"));
    // Served by the same HTTP stack as the console, with its limits: another method
    // is refused, and a request head over 8 KB is refused whole.
    let raw = |request: String| {
        let mut s = std::net::TcpStream::connect(&addr).expect("the endpoint accepts");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.lines().next().unwrap_or_default().to_string()
    };
    let posted = raw("POST /health HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n".into());
    assert!(posted.contains("405"), "{posted}");
    let long = raw(format!(
        "GET /health HTTP/1.1\r\nHost: test\r\nX-Long: {}\r\n\r\n",
        "a".repeat(10_000)
    ));
    assert!(long.contains("431"), "{long}");

    // systemd was told ready after the first pass, and the watchdog is fed.
    let mut said = Vec::new();
    let start = Instant::now();
    while !(said.iter().any(|s: &String| s == "READY=1")
        && said.iter().filter(|s| *s == "WATCHDOG=1").count() >= 2)
    {
        assert!(start.elapsed() < WAIT, "told systemd only {said:?}");
        let mut buf = [0u8; 512];
        if let Ok(n) = systemd.recv(&mut buf) {
            said.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    daemon.stop();
}
