use super::*;
use proptest::prelude::*;

fn policy() -> Policy {
    Policy {
        authserv_ids: vec!["mx.egov.test".into()],
        exchange_tenant: None,
        senders: SenderRule::Require,
    }
}

/// A message's header as Dovecot's LMTP hands it over after Postfix and the milters.
fn delivered(ours: &[&str], sender_headers: &str) -> Vec<u8> {
    let mut h = String::from(
        "Return-Path: <ion@inst-a.test>\r\nDelivered-To: servicii@egov.test\r\nReceived: from mail.egov.test by mail.egov.test with LMTP\r\n",
    );
    for a in ours {
        h += &format!("Authentication-Results: {a}\r\n");
    }
    h += "Received: from client (localhost [127.0.0.1])\r\n\tby mail.egov.test (Postfix) with ESMTP\r\n";
    h += sender_headers;
    h += "\r\n";
    h.into_bytes()
}

fn judge(raw: &[u8]) -> Sender {
    assess(&read_trace(raw), Some("Ion@Inst-A.test"), &policy())
}

const SENDER: &str = "From: Ion <ion@inst-a.test>\r\nSubject: MNotify\r\n";

#[test]
fn dmarc_pass_from_our_server_authenticates() {
    let s = judge(&delivered(
        &[
            "mx.egov.test; dmarc=pass (p=reject dis=none) header.from=inst-a.test",
            "mx.egov.test;\r\n\tdkim=pass (2048-bit key) header.d=inst-a.test header.i=@inst-a.test",
        ],
        SENDER,
    ));
    assert!(s.authenticated, "{s:?}");
    assert_eq!(s.method, Some(Method::Dmarc));
    assert_eq!(s.address.as_deref(), Some("ion@inst-a.test"));
    assert_eq!(s.domain.as_deref(), Some("inst-a.test"));
    assert_eq!(s.identity().as_deref(), Some("inst-a.test"));
}

#[test]
fn forged_mail_fails_and_its_own_results_prove_nothing() {
    // Unsigned mail with the sender's own "pass" below our server's stamp.
    let s = judge(&delivered(
        &[
            "mx.egov.test; dmarc=fail (p=reject dis=none) header.from=inst-a.test",
            "mx.egov.test; dkim=none",
        ],
        "Authentication-Results: mx.egov.test; dmarc=pass header.from=inst-a.test\r\nFrom: ion@inst-a.test\r\n",
    ));
    assert!(!s.authenticated);
    assert!(s.reason.contains("DMARC fail"), "{}", s.reason);
    assert_eq!(s.identity(), None);

    // No stamp of ours at all (mail that did not come in through our MX).
    let s = judge(&delivered(&[], SENDER));
    assert!(!s.authenticated, "{s:?}");
    // Another server's id is not ours, wherever it stands.
    let s = judge(&delivered(
        &["relay.evil.test; dmarc=pass header.from=inst-a.test"],
        SENDER,
    ));
    assert!(!s.authenticated);
    assert!(
        s.reason.contains("no Authentication-Results"),
        "{}",
        s.reason
    );
}

#[test]
fn a_forged_field_above_ours_ends_the_reading() {
    // Anything not ours on top (here a foreign A-R) stops the walk before ours.
    let raw = b"Authentication-Results: other.test; dmarc=pass header.from=inst-a.test\r\nAuthentication-Results: mx.egov.test; dmarc=pass header.from=inst-a.test\r\nFrom: ion@inst-a.test\r\n\r\n";
    assert!(!judge(raw).authenticated);
    // A sender's own field above the trace ends it too.
    let raw = b"Subject: x\r\nAuthentication-Results: mx.egov.test; dmarc=pass header.from=inst-a.test\r\nFrom: ion@inst-a.test\r\n\r\n";
    assert!(!judge(raw).authenticated);
}

#[test]
fn aligned_dkim_or_spf_pass_authenticates_and_unaligned_does_not() {
    let s = judge(&delivered(
        &["mx.egov.test; dkim=pass header.d=mail.inst-a.test"],
        SENDER,
    ));
    assert_eq!(s.method, Some(Method::Dkim), "{s:?}");
    let s = judge(&delivered(
        &["mx.egov.test; spf=pass smtp.mailfrom=bounce@inst-a.test"],
        SENDER,
    ));
    assert_eq!(s.method, Some(Method::Spf), "{s:?}");
    let s = judge(&delivered(
        &["mx.egov.test; dkim=pass header.d=evil.test; spf=pass smtp.mailfrom=x@evil.test"],
        SENDER,
    ));
    assert!(!s.authenticated);
    assert!(s.reason.contains("no aligned pass"), "{}", s.reason);
}

#[test]
fn contradictions_and_duplicates_fail_closed() {
    let s = judge(&delivered(
        &[
            "mx.egov.test; dmarc=pass header.from=inst-a.test",
            "mx.egov.test; dmarc=fail header.from=inst-a.test",
        ],
        SENDER,
    ));
    assert!(!s.authenticated);
    assert!(s.reason.contains("contradictory"), "{}", s.reason);
    let s = judge(&delivered(
        &["mx.egov.test; dkim=pass header.d=inst-a.test; dkim=fail header.d=inst-a.test"],
        SENDER,
    ));
    assert!(!s.authenticated, "{s:?}");
    // A DMARC result about another domain than the From field's is not about this mail.
    let s = judge(&delivered(
        &["mx.egov.test; dmarc=pass header.from=evil.test"],
        SENDER,
    ));
    assert!(!s.authenticated);
}

#[test]
fn two_from_fields_or_none_are_not_judged() {
    let raw = delivered(
        &["mx.egov.test; dmarc=pass header.from=inst-a.test"],
        "From: ion@inst-a.test\r\nFrom: boss@other.test\r\n",
    );
    let s = judge(&raw);
    assert!(!s.authenticated);
    assert_eq!(s.reason, "several From fields");
    let s = assess(&read_trace(&raw), None, &policy());
    assert_eq!(s.reason, "no From address");
}

#[test]
fn microsoft_compauth_counts_when_its_server_is_ours() {
    let policy = Policy {
        authserv_ids: vec!["mx.egov.test".into(), "eop.outlook.test".into()],
        exchange_tenant: None,
        senders: SenderRule::Require,
    };
    let raw = b"Received: from a by b\r\nX-MS-Exchange-Organization-AuthAs: Anonymous\r\nAuthentication-Results: eop.outlook.test; spf=none; dkim=none; dmarc=none header.from=inst-a.test; compauth=pass reason=109\r\nReceived: from outside\r\nFrom: ion@inst-a.test\r\n\r\n";
    let s = assess(&read_trace(raw), Some("ion@inst-a.test"), &policy);
    assert_eq!(s.method, Some(Method::Compauth), "{s:?}");
}

#[test]
fn ten_thousand_results_are_not_believed() {
    let many = format!(
        "mx.egov.test{}",
        "; dkim=pass header.d=inst-a.test".repeat(10_000)
    );
    let s = judge(&delivered(&[many.as_str()], SENDER));
    assert!(!s.authenticated);
    assert!(s.reason.contains("too long"), "{}", s.reason);
    // Many fields of a few results each, likewise.
    let fields: Vec<&str> =
        std::iter::repeat_n("mx.egov.test; dkim=pass header.d=inst-a.test", 5000).collect();
    assert!(!judge(&delivered(&fields, SENDER)).authenticated);
}

#[test]
fn folded_fields_and_invalid_utf8_are_read() {
    let mut raw = b"Authentication-Results: mx.egov.test;\r\n  dmarc=pass\r\n\t(p=none)\r\n  header.from=inst-a.test\r\nX-Bad: \xff\xfe\r\n".to_vec();
    raw.extend_from_slice(b"From: ion@inst-a.test\r\n\r\n");
    assert_eq!(judge(&raw).method, Some(Method::Dmarc));
}

proptest! {
    #[test]
    fn any_header_bytes_give_a_verdict(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let s = assess(&read_trace(&bytes), Some("ion@inst-a.test"), &policy());
        // Random bytes never carry our stamp with an aligned pass... unless they spell it.
        prop_assert!(!s.authenticated || s.method.is_some());
    }

    #[test]
    fn sender_text_below_the_stamp_never_authenticates(
        forged in "[ -~]{0,200}",
    ) {
        let raw = delivered(
            &["mx.egov.test; dmarc=fail header.from=inst-a.test"],
            &format!("Authentication-Results: {forged}\r\nFrom: ion@inst-a.test\r\n"),
        );
        prop_assert!(!judge(&raw).authenticated);
    }
}

#[test]
fn a_hop_where_a_user_logged_in_marks_the_mail_as_submitted() {
    let trace = |received: &str| {
        read_trace(format!("Received: {received}\r\nFrom: x@egov.test\r\n\r\n").as_bytes())
    };
    for submitted in [
        "from [127.0.0.1] (localhost [127.0.0.1]) by mx.egov.test (Postfix) with ESMTPSA id 4A1B2",
        "from pc by mx.egov.test with esmtpa (Exim 4.96)",
        "from x by y (Postfix) with UTF8SMTPSA id Z",
        "from x (Authenticated sender: ana) by mx.egov.test (Postfix) with ESMTP id Z",
        "by mx.egov.test (Postfix, from userid 1000) id 5C3D4",
        "from PR3P195MB0712.EURP195.PROD.OUTLOOK.COM (::1) by PA4P195MB1201.EURP195.PROD.OUTLOOK.COM with HTTPS; Tue, 1 Dec 2026",
    ] {
        assert!(trace(submitted).submitted_by_a_user(), "{submitted}");
    }
    for made in [
        "by mx.egov.test (Postfix) id 5C3D4; Tue, 1 Dec 2026 10:00:00 +0000",
        "from mail.egov.test ([127.0.0.1]) by vm with LMTP id x",
        "from mx.egov.test ([127.0.0.1]) by imap (Cyrus 3.6.1) with LMTPA; Tue, 1 Dec 2026",
        "from mx.inst-a.test by mx.egov.test (Postfix) with ESMTPS id 1",
    ] {
        assert!(!trace(made).submitted_by_a_user(), "{made}");
    }
}

#[test]
fn what_cyrus_adds_at_delivery_does_not_hide_our_stamp() {
    let raw = "Return-Path: <ion@inst-a.test>\r\nReceived: from mail.egov.test (localhost [127.0.0.1])\r\n\t by vm (Cyrus 3.6.1-Debian-3.6.1-4+deb12u5) with LMTPA;\r\n\t Tue, 01 Dec 2026 19:07:30 +0000\r\nX-Cyrus-Session-Id: mail-stack-cyrus-1796152050-17802-2-1169\r\nX-Sieve: CMU Sieve 3.0\r\nAuthentication-Results: mx.egov.test; dmarc=pass (p=reject dis=none) header.from=inst-a.test\r\nReceived: from mail.inst.test by mx.egov.test (Postfix) with ESMTP id 2C0C2\r\nFrom: ion@inst-a.test\r\n\r\n";
    assert!(judge(raw.as_bytes()).authenticated);
}
