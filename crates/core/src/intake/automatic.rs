//! Mail that no person wrote: auto-replies, bounces, reports, mailing lists, and our own
//! replies coming back. Answering any of them risks a mail loop (RFC 3834), so they are
//! recognised before anything else.

use mail_parser::{Message, MimeHeaders};
use serde::Serialize;

/// Header we put on every message we send, so our own mail is recognised even when it
/// comes back through a forward.
pub const OWN_MARKER_HEADER: &str = "X-MNotify-Intake";

/// Why a message counts as automatic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Automatic {
    /// `Auto-Submitted` other than `no` (RFC 3834).
    AutoSubmitted,
    /// `multipart/report` (delivery status, read receipts).
    Report,
    /// Empty envelope sender (`Return-Path: <>`).
    NullSender,
    /// From MAILER-DAEMON or postmaster (however written: `mailer_daemon`, …).
    MailerDaemon,
    /// From an address that says no one reads it (`noreply@`, `no-reply@`,
    /// `do_not_reply@`, …).
    NoReply,
    /// `Precedence: bulk | junk | list`.
    Bulk,
    /// `List-Id`, `List-Post`, `List-Unsubscribe` or another list header (RFC 2369).
    MailingList,
    /// `X-Autoreply`, `X-Autorespond`, `X-Auto-Response-Suppress`.
    AutoReplyHeader,
    /// Subject of an out-of-office or delivery failure ("Automatic reply:", "Undeliverable:").
    AutoReplySubject,
    /// Sent by this daemon.
    OwnMail,
}

const AUTO_REPLY_HEADERS: &[&str] = &["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"];

/// Header fields only list servers and bulk senders write (RFC 2369, RFC 2919).
const LIST_HEADERS: &[&str] = &[
    "List-Id",
    "List-Post",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Help",
    "List-Owner",
    "List-Archive",
];

/// Subject prefixes that clients put on auto-replies and bounces, lower case.
const AUTO_SUBJECTS: &[&str] = &[
    "automatic reply:",
    "auto reply:",
    "autoreply:",
    "out of office",
    "răspuns automat",
    "raspuns automat",
    "автоматический ответ",
    "undeliverable:",
    "undelivered mail",
    "delivery status notification",
    "mail delivery failed",
    "returned mail:",
    "не доставлено",
];

/// The reason `msg` is automatic, or `None` for mail a person wrote.
pub fn detect(msg: &Message<'_>, own_addresses: &[String]) -> Option<Automatic> {
    let header = |name: &'static str| msg.header_raw(name).map(str::trim);
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or("");
    if header(OWN_MARKER_HEADER).is_some()
        || own_addresses
            .iter()
            .any(|own| own.eq_ignore_ascii_case(from))
    {
        return Some(Automatic::OwnMail);
    }
    if header("Auto-Submitted").is_some_and(|v| !v.eq_ignore_ascii_case("no")) {
        return Some(Automatic::AutoSubmitted);
    }
    if msg.root_part().is_content_type("multipart", "report") {
        return Some(Automatic::Report);
    }
    if header("Return-Path").is_some_and(|v| v.trim_matches(['<', '>', ' ']).is_empty()) {
        return Some(Automatic::NullSender);
    }
    // Separators folded away: `mailer_daemon`, `no.reply`, `do-not-reply` alike.
    let local: String = from
        .split('@')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .collect::<String>()
        .to_ascii_lowercase();
    if local == "mailerdaemon" || local == "postmaster" {
        return Some(Automatic::MailerDaemon);
    }
    if ["noreply", "donotreply", "dontreply"]
        .iter()
        .any(|p| local.starts_with(p))
    {
        return Some(Automatic::NoReply);
    }
    if header("Precedence")
        .is_some_and(|v| ["bulk", "junk", "list"].contains(&v.to_ascii_lowercase().as_str()))
    {
        return Some(Automatic::Bulk);
    }
    if LIST_HEADERS.iter().any(|h| header(h).is_some()) {
        return Some(Automatic::MailingList);
    }
    if AUTO_REPLY_HEADERS.iter().any(|h| header(h).is_some()) {
        return Some(Automatic::AutoReplyHeader);
    }
    let subject = msg.subject().unwrap_or("").trim().to_lowercase();
    if AUTO_SUBJECTS.iter().any(|s| subject.starts_with(s)) {
        return Some(Automatic::AutoReplySubject);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn check(headers: &str) -> Option<Automatic> {
        let raw =
            format!("From: Ion <ion@example.md>\r\nSubject: Certificat\r\n{headers}\r\nBody\r\n");
        let msg = MessageParser::default()
            .parse(raw.as_bytes())
            .expect("parses");
        detect(&msg, &["servicii@egov.md".to_string()])
    }

    #[test]
    fn a_person_is_not_automatic() {
        assert_eq!(check("Auto-Submitted: no\r\n"), None);
        assert_eq!(check("Return-Path: <ion@example.md>\r\n"), None);
    }

    #[test]
    fn each_marker_is_recognised() {
        assert_eq!(
            check("Auto-Submitted: auto-replied\r\n"),
            Some(Automatic::AutoSubmitted)
        );
        assert_eq!(check("Return-Path: <>\r\n"), Some(Automatic::NullSender));
        assert_eq!(check("Precedence: bulk\r\n"), Some(Automatic::Bulk));
        assert_eq!(
            check("List-Id: <x.lists.md>\r\n"),
            Some(Automatic::MailingList)
        );
        assert_eq!(
            check("X-Auto-Response-Suppress: All\r\n"),
            Some(Automatic::AutoReplyHeader)
        );
        assert_eq!(
            check("X-MNotify-Intake: reply\r\n"),
            Some(Automatic::OwnMail)
        );
    }

    fn from(address: &str, headers: &str) -> Option<Automatic> {
        let raw = format!("From: {address}\r\nSubject: MNotify\r\n{headers}\r\nBody\r\n");
        let msg = MessageParser::default().parse(raw.as_bytes()).unwrap();
        detect(&msg, &[])
    }

    #[test]
    fn robots_however_their_address_is_written() {
        for robot in [
            "mailer_daemon@x.md",
            "Mailer-Daemon@x.md",
            "MAILER.DAEMON@x.md",
        ] {
            assert_eq!(from(robot, ""), Some(Automatic::MailerDaemon), "{robot}");
        }
        for robot in [
            "noreply@x.md",
            "no-reply@x.md",
            "no_reply@x.md",
            "NoReply.Notifications@x.md",
            "do-not-reply@x.md",
            "donotreply@x.md",
        ] {
            assert_eq!(from(robot, ""), Some(Automatic::NoReply), "{robot}");
        }
        assert_eq!(
            from("nora@x.md", ""),
            None,
            "a person whose name starts alike"
        );
        assert_eq!(
            from("ion@x.md", "List-Unsubscribe: <mailto:u@x.md>\r\n"),
            Some(Automatic::MailingList)
        );
        assert_eq!(
            from("ion@x.md", "List-Help: <mailto:h@x.md>\r\n"),
            Some(Automatic::MailingList)
        );
    }
}
