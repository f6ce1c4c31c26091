//! Mail the tests send and read: applicants' questions and certificates, delivery
//! reports, and the text of a reply.

use mail_parser::MessageParser;
use mnotify_intake::testkit::mail::Mail;

/// The plain-text body of a message.
pub fn body(raw: &[u8]) -> String {
    MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default()
}

pub fn mail(from: &str, to: &str, subject: &str, id: &str, text: &str) -> Mail {
    let mut m = Mail::new(from, subject).message_id(id).text(text);
    m.to = to.to_string();
    m
}

/// An applicant's first question about MNotify (decided `need_certificate`).
pub fn question(from: &str, to: &str, id: &str) -> Mail {
    mail(
        from,
        to,
        "Conectare MNotify",
        id,
        "Ce trebuie să trimitem pentru conectarea la MNotify?",
    )
}

/// A mail attaching `leaf` as `sistem.cer`, about MNotify, in Romanian.
pub fn mail_with(leaf: &[u8], from: &str, to: &str, id: &str) -> Vec<u8> {
    let mut m = Mail::new(from, "Conectare MNotify")
        .message_id(id)
        .text("Bună ziua, anexăm certificatul de sistem pentru conectarea la MNotify.")
        .attach("sistem.cer", "application/pkix-cert", leaf);
    m.to = to.to_string();
    m.build()
}

pub fn token_of(raw: &[u8]) -> String {
    mnotify_intake::intake::read(raw, &[])
        .case_token
        .expect("a case token in the subject")
}

/// A delivery report from MAILER-DAEMON@`from_domain` (its own Message-ID there),
/// made by `reporting_mta`, saying our reply `our_id` to `recipient` failed for good.
pub fn delivery_report(
    from_domain: &str,
    reporting_mta: &str,
    mailbox: &str,
    recipient: &str,
    our_id: &str,
) -> String {
    format!(
        "From: MAILER-DAEMON@{from_domain}\r\nTo: {mailbox}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn@{from_domain}>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; {reporting_mta}\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{our_id}>\r\nTo: {recipient}\r\n--b--\r\n"
    )
}
