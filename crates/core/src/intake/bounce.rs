//! Delivery status notifications (RFC 3464): the report a mail server sends back when it
//! could not deliver one of our replies. Through a relay (AGE's own mail server) this is
//! how almost every failed reply shows: the relay accepted it, the applicant's server
//! refused it later. Only failures count; "delayed" and "delivered" reports do not.

use mail_parser::{Message, MimeHeaders, PartType};

/// What a bounce says about the message it returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Bounce {
    /// Message-ID of the message that could not be delivered, without angle brackets.
    pub original_message_id: Option<String>,
    /// The address that refused it.
    pub recipient: Option<String>,
    /// Enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
    /// The remote server's own words, e.g. `550 5.1.1 <x@y.md>: mailbox unavailable`.
    pub diagnostic: Option<String>,
}

impl Bounce {
    /// One line for staff: what failed and why.
    pub fn describe(&self) -> String {
        let mut out = String::from("bounced");
        if let Some(r) = &self.recipient {
            out += &format!(" by {r}'s server");
        }
        if let Some(s) = &self.status {
            out += &format!(": {s}");
        }
        if let Some(d) = &self.diagnostic {
            out += &format!(" ({d})");
        }
        out
    }
}

/// The failure a `multipart/report; report-type=delivery-status` message reports, if
/// it is one and reports a failure.
pub fn read(msg: &Message<'_>) -> Option<Bounce> {
    if !msg.root_part().is_content_type("multipart", "report") {
        return None;
    }
    let mut bounce = None;
    let mut original = None;
    for part in &msg.parts {
        let Some(ctype) = part.content_type() else {
            continue;
        };
        let subtype = ctype.subtype().unwrap_or("").to_ascii_lowercase();
        let kind = (ctype.ctype().to_ascii_lowercase(), subtype);
        match (kind.0.as_str(), kind.1.as_str()) {
            ("message", "delivery-status") => {
                bounce = bounce.or_else(|| failed_recipient(&text_of(&part.body)));
            }
            ("text", "rfc822-headers") => {
                original = original.or_else(|| message_id_in(&text_of(&part.body)));
            }
            ("message", "rfc822") => {
                if let PartType::Message(inner) = &part.body {
                    original = original.or_else(|| inner.message_id().map(str::to_string));
                }
            }
            _ => {}
        }
    }
    let mut bounce = bounce?;
    bounce.original_message_id = original.map(|id| id.trim_matches(['<', '>', ' ']).to_string());
    Some(bounce)
}

fn text_of(body: &PartType<'_>) -> String {
    match body {
        PartType::Text(t) | PartType::Html(t) => t.to_string(),
        PartType::Binary(b) | PartType::InlineBinary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// The first per-recipient block with `Action: failed` (RFC 3464 §2.3).
fn failed_recipient(status: &str) -> Option<Bounce> {
    // Blocks are separated by blank lines; the first is about the reporting server.
    let unfolded = status
        .replace("\r\n", "\n")
        .replace("\n ", " ")
        .replace("\n\t", " ");
    for block in unfolded.split("\n\n") {
        let field = |name: &str| {
            block.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_string())
            })
        };
        if !field("Action").is_some_and(|a| a.eq_ignore_ascii_case("failed")) {
            continue;
        }
        // `rfc822; x@y.md` and `smtp; 550 …`: the part after the type.
        let after_type = |v: String| match v.split_once(';') {
            Some((_, rest)) => rest.trim().to_string(),
            None => v,
        };
        return Some(Bounce {
            original_message_id: None,
            recipient: field("Final-Recipient")
                .or_else(|| field("Original-Recipient"))
                .map(after_type),
            status: field("Status"),
            diagnostic: field("Diagnostic-Code").map(after_type),
        });
    }
    None
}

/// The Message-ID in a block of header lines.
fn message_id_in(headers: &str) -> Option<String> {
    headers.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case("Message-ID")
            .then(|| value.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    /// The shape of the report Postfix sends (headers of the original only).
    const POSTFIX_DSN: &str = "From: MAILER-DAEMON@mail.egov.md (Mail Delivery System)\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
To: servicii@egov.md\r\n\
Auto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"B1\"\r\n\
\r\n\
--B1\r\n\
Content-Description: Notification\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
This is the mail system at host mail.egov.md.\r\n\
\r\n\
--B1\r\n\
Content-Description: Delivery report\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mail.egov.md\r\n\
Arrival-Date: Tue, 24 Nov 2026 12:00:00 +0200 (EET)\r\n\
\r\n\
Final-Recipient: rfc822; ion@primaria.md\r\n\
Original-Recipient: rfc822;ion@primaria.md\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <ion@primaria.md>: Recipient address rejected:\r\n\x20   User unknown in virtual mailbox table\r\n\
\r\n\
--B1\r\n\
Content-Description: Undelivered Message Headers\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: =?utf-8?B?QUdF?= <servicii@egov.md>\r\n\
To: <ion@primaria.md>\r\n\
Message-ID: <mnotify.ABC123.00ff@egov.md>\r\n\
\r\n\
--B1--\r\n";

    #[test]
    fn a_postfix_report_names_the_reply_the_address_and_the_reason() {
        let msg = MessageParser::default()
            .parse(POSTFIX_DSN.as_bytes())
            .unwrap();
        let b = read(&msg).expect("a failure report");
        assert_eq!(
            b.original_message_id.as_deref(),
            Some("mnotify.ABC123.00ff@egov.md")
        );
        assert_eq!(b.recipient.as_deref(), Some("ion@primaria.md"));
        assert_eq!(b.status.as_deref(), Some("5.1.1"));
        let d = b.diagnostic.as_deref().unwrap();
        assert!(
            d.starts_with("550 5.1.1") && d.contains("User unknown"),
            "{d}"
        );
        assert!(b.describe().contains("ion@primaria.md's server: 5.1.1"));
    }

    #[test]
    fn delays_and_ordinary_mail_are_not_bounces() {
        let delayed = POSTFIX_DSN.replace("Action: failed", "Action: delayed");
        let msg = MessageParser::default().parse(delayed.as_bytes()).unwrap();
        assert_eq!(read(&msg), None);
        let plain = "From: a@b.md\r\nSubject: x\r\n\r\nAction: failed\r\n";
        let msg = MessageParser::default().parse(plain.as_bytes()).unwrap();
        assert_eq!(read(&msg), None);
    }
}
