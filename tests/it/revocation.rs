//! Revocation end to end: the test CA publishes its CRL on the stack's web server
//! (lighttpd, plain HTTP on loopback), the daemon fetches the distribution point its
//! certificates name and decides by it; a CRL it cannot get leaves revocation unknown,
//! shown to staff; a stranger's certificate cannot make it fetch anything.

use std::time::Duration;

use mnotify_intake::testkit::pki::LeafSpec;
use time::OffsetDateTime;

use crate::mail::body;
use crate::mail::mail_with;
use crate::service::Setup;
use crate::stack::Stack;
use crate::util::NOW;

const WAIT: Duration = Duration::from_secs(30);

/// The requests the web server logged for paths containing `needle`.
fn requests(stack: &Stack, needle: &str) -> usize {
    std::fs::read_to_string(stack.dir.join("www.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// Long on purpose: one daemon pass over six applicants' mail, each a different
/// answer of the CRL (revoked, on hold, good, unreachable, too large, and a stranger's
/// URL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authoritys_crl_decides_and_an_unreachable_one_is_shown_to_staff() {
    let stack = Stack::get();
    let mailbox = "svc-crl@egov.test";
    let setup = Setup::new(
        stack,
        mailbox,
        "[revocation]\nfetch = true\ntimeout_seconds = 5\nmax_bytes = 4000\n[digest]\nto = [\"staff-crl@egov.test\"]\n",
    );
    let tag = format!("crl-{}", std::process::id());
    let url = format!("http://127.0.0.1:{}/{tag}.crl", stack.web_port);
    let now = OffsetDateTime::now_utc();
    let (revoked, held, good, other) = (
        [0x7E, 0x01, 0x01],
        [0x7E, 0x02, 0x02],
        [0x7E, 0x03, 0x03],
        [0x7E, 0x04, 0x04],
    );
    let crl = setup.pki.crl(
        &[(&revoked, false), (&held, true)],
        now - time::Duration::hours(1),
        now + time::Duration::days(7),
    );
    std::fs::write(stack.web_dir.join(format!("{tag}.crl")), crl).unwrap();
    let leaf = |serial: &[u8], url: &str| {
        let mut spec = LeafSpec::valid_at(NOW, "SI Registrul Test", serial);
        spec.crl_url = Some(url.to_string());
        spec
    };
    let missing = format!("http://127.0.0.1:{}/{tag}-missing.crl", stack.web_port);
    // A list over [revocation] max_bytes is not read, and says so.
    std::fs::write(
        stack.web_dir.join(format!("{tag}-huge.crl")),
        vec![0x30u8; 10_000],
    )
    .unwrap();
    let huge = format!("http://127.0.0.1:{}/{tag}-huge.crl", stack.web_port);
    let hostile = format!("http://127.0.0.1:{}/{tag}-stranger", stack.web_port);
    let mails = [
        (
            "ana-crl@revocat.test",
            setup.pki.leaf(&leaf(&revoked, &url)),
        ),
        ("ion-crl@suspendat.test", setup.pki.leaf(&leaf(&held, &url))),
        ("eva-crl@valabil.test", setup.pki.leaf(&leaf(&good, &url))),
        (
            "dan-crl@necunoscut.test",
            setup.pki.leaf(&leaf(&other, &missing)),
        ),
        (
            "ina-crl@mare.test",
            setup.pki.leaf(&leaf(&[0x7E, 0x05, 0x05], &huge)),
        ),
        (
            "rob-crl@strain.test",
            mnotify_intake::testkit::pki::self_signed(&leaf(&other, &hostile)),
        ),
    ];
    for (i, (from, der)) in mails.iter().enumerate() {
        let raw = mail_with(der, from, mailbox, &format!("<crl{i}@{tag}.test>"));
        stack.deliver(from, mailbox, &raw).await;
    }
    stack.wait_for(mailbox, "INBOX", mails.len(), WAIT).await;
    setup.cli(&["run", "--once"]);

    let reply = |who: &'static str| async move {
        let got = stack.wait_for(who, "INBOX", 1, WAIT).await;
        body(&got[0])
    };
    let text = reply("ana-crl@revocat.test").await;
    assert!(text.contains("certificatul este revocat"), "{text}");
    let text = reply("ion-crl@suspendat.test").await;
    assert!(text.contains("certificatul este suspendat"), "{text}");
    let text = reply("eva-crl@valabil.test").await;
    assert!(
        text.contains("Am primit certificatul de sistem"),
        "good on a current CRL: accepted: {text}"
    );
    // What the web server was asked, up to a request of ours made after the daemon's
    // pass: lighttpd writes its log in order, a little later.
    let sentinel = format!("/{tag}-sentinel");
    let _ = std::net::TcpStream::connect(("127.0.0.1", stack.web_port)).map(|mut s| {
        use std::io::{Read, Write};
        let _ = write!(s, "GET {sentinel} HTTP/1.0\r\n\r\n");
        let _ = s.read_to_end(&mut Vec::new());
    });
    mnotify_intake::testkit::wait::eventually(
        WAIT,
        "the web server to log the sentinel request",
        || match requests(stack, &sentinel) {
            0 => Err(format!("no request for {sentinel}")),
            _ => Ok(()),
        },
    );
    let log = std::fs::read_to_string(stack.dir.join("www.log")).unwrap_or_default();
    // The same distribution point for three certificates: fetched once.
    assert_eq!(
        requests(stack, &format!("/{tag}.crl ")),
        1,
        "one fetch: {log}"
    );
    // A 404: accepted on its own merits, and staff are told revocation is unknown.
    assert_eq!(requests(stack, &format!("/{tag}-missing.crl")), 1, "{log}");
    let text = reply("dan-crl@necunoscut.test").await;
    assert!(text.contains("Am primit certificatul de sistem"), "{text}");
    let digest = setup.cli(&["digest", "--print"]);
    assert!(
        digest.contains("revocation unknown: its CRL could not be read")
            && digest.contains(&format!("{tag}-missing.crl")),
        "{digest}"
    );
    assert!(
        digest.contains("larger than 4000 bytes ([revocation] max_bytes)"),
        "{digest}"
    );
    // A self-signed certificate names a URL on our own loopback: never requested.
    assert_eq!(requests(stack, &format!("{tag}-stranger")), 0, "{log}");
    let text = reply("rob-crl@strain.test").await;
    assert!(text.contains("nu este emis de STISC"), "{text}");
}
