//! Raw e-mail bytes → [`Facts`]: everything the decision needs to know about one
//! message, with no network, no store and no clock.

pub mod archive;
pub mod attachment;
pub mod automatic;
pub mod bounce;
pub mod quoted;
mod skim;
pub mod tnef;

use std::collections::HashSet;
use std::sync::LazyLock;

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use regex::Regex;
use time::OffsetDateTime;

use crate::certificate::decode_pem_text;
pub use crate::language::{self, Language};
use crate::problem::Problem;
use crate::serials::{self, QuotedNumber};
use attachment::Collected;
pub use automatic::Automatic;

/// Body text beyond this many bytes is not searched for numbers or PEM blocks: no one
/// types a serial after a quarter of a megabyte.
const MAX_BODY_TEXT: usize = 256 * 1024;
/// Messages attached to messages, this deep at most.
const MAX_MESSAGE_NESTING: usize = 3;
/// Numbers taken from one message: people quote one or two; a page of numbers gets a
/// reply about the first ones, not a reply as long as the page.
const MAX_QUOTED_NUMBERS: usize = 20;
/// Subject characters kept (the store keeps the subject of every message and case).
const MAX_SUBJECT_CHARS: usize = 1000;
/// At most this many attachment names are kept of a mail (staff see them in the
/// case's conversation).
pub const MAX_ATTACHMENT_NAMES: usize = 20;
/// Lines that may open a MIME part (`--…`) before a message counts as built to exhaust
/// us: the parser keeps a record per part, and 25 MB of empty parts took 480 MB. Real
/// mail has tens; this many part records cost about 10 MB.
const MAX_BOUNDARY_LINES: usize = 50_000;

/// A certificate found in the message, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCertificate {
    pub der: Vec<u8>,
    /// Attachment name, `archive.zip/entry.cer`, or `body`.
    pub source: String,
}

/// Something sent that is not a usable certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub problem: Problem,
    pub source: String,
}

/// What one e-mail says, as far as onboarding is concerned.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub date: Option<OffsetDateTime>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// `Reply-To`, when the sender asked for replies elsewhere.
    pub reply_to: Option<String>,
    pub automatic: Option<Automatic>,
    pub language: Language,
    /// The message names MNotify (or carries a case token).
    pub mentions_mnotify: bool,
    /// `[MNotify #TOKEN]` (or another service's tag: `[MPass #TOKEN]`) from the subject.
    pub case_token: Option<String>,
    /// The tag before the token (`MNotify`, `MPass`, …), as written.
    pub case_tag: Option<String>,
    pub certificates: Vec<FoundCertificate>,
    pub findings: Vec<Finding>,
    /// Numbers in the sender's own text (quoted mail excluded).
    pub quoted: Vec<QuotedNumber>,
    /// The bytes were not an e-mail at all.
    pub unparseable: bool,
    /// Integration data (onboarding step 4) in the sender's own text.
    pub integration: crate::integration::IntegrationData,
    /// A report that one of our messages could not be delivered.
    pub bounce: Option<bounce::Bounce>,
    /// The first question the sender wrote in their own text (quoted mail aside), as
    /// written: a person answers it when it comes in a case.
    pub question: Option<String>,
    /// The header fields receiving servers put on top (sender authentication).
    pub trace: crate::trust::Trace,
    /// The subject and the sender's own text (quoted mail removed, the body cut at its
    /// limit): what readers that need the configuration (the services named) read.
    pub own_text: String,
    /// The names of its attachments, nested mail's too (at most
    /// [`MAX_ATTACHMENT_NAMES`]): staff see them in the conversation.
    pub attachment_names: Vec<String>,
}

static MENTIONS_MNOTIFY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bm[\s\-]?notify\b|мнотифай|м-нотифай").expect("valid pattern")
});
/// `[Tag #TOKEN]`: a service's tag (which tags are services is the procedures' to
/// say) and a case token.
static CASE_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\[([A-Z][A-Z0-9\-]{1,31})\s*#\s*([A-Z0-9][A-Z0-9\-]{2,31})\]")
        .expect("valid pattern")
});

/// Reads one message. `own_addresses` are the mailbox's own addresses (mail from them is
/// ours).
pub fn read(raw: &[u8], own_addresses: &[String]) -> Facts {
    read_with(raw, own_addresses, Skim::LargeIgnorable)
}

/// Whether the bodies of large attachments nothing looks at are cut before parsing
/// (always, but for the tests that prove the cut changes nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skim {
    LargeIgnorable,
    #[cfg(test)]
    Nothing,
}

impl Skim {
    fn apply(self, raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Skim::LargeIgnorable => skim::skim(raw),
            #[cfg(test)]
            Skim::Nothing => std::borrow::Cow::Borrowed(raw),
        }
    }
}

fn read_with(raw: &[u8], own_addresses: &[String], cut: Skim) -> Facts {
    if boundary_lines_exceed(raw, MAX_BOUNDARY_LINES) {
        // Read the header only (who, what about, automatic or not) and leave the
        // message for people, as one that could not be read.
        // A header as hostile as the body gets nothing read at all.
        let head = header_section(raw);
        let readable = !boundary_lines_exceed(head, MAX_BOUNDARY_LINES);
        return Facts {
            unparseable: true,
            ..if readable {
                read_with(head, own_addresses, cut)
            } else {
                Facts::default()
            }
        };
    }
    let skimmed = cut.apply(raw);
    let Some(msg) = MessageParser::default().parse(skimmed.as_ref()) else {
        return Facts {
            unparseable: true,
            ..Facts::default()
        };
    };
    let mut collected = Collected::default();
    let mut attachment_names = Vec::new();
    collect_attachments(&msg, 0, &mut collected, &mut attachment_names);
    let body = body_text(&msg);
    collected.add_decoded(decode_pem_text(&body), "body");

    let subject = msg.subject().map(shortened_subject);
    let subject_text = subject.as_deref().unwrap_or("");
    let tagged = CASE_TOKEN.captures(subject_text);
    let case_tag = tagged.as_ref().map(|c| c[1].to_string());
    let case_token = tagged.as_ref().map(|c| c[2].to_ascii_uppercase());
    let mnotify_token = case_tag
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("mnotify"));
    let quoted = quoted_numbers(subject_text, &body);
    let language_text = format!("{subject_text}\n{body}");
    Facts {
        message_id: msg.message_id().map(str::to_string),
        from: msg
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_string),
        date: msg
            .date()
            .and_then(|d| OffsetDateTime::from_unix_timestamp(d.to_timestamp()).ok()),
        in_reply_to: id_list(msg.in_reply_to()),
        references: id_list(msg.references()),
        reply_to: msg
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_string),
        automatic: automatic::detect(&msg, own_addresses),
        language: language::detect(&language_text),
        mentions_mnotify: mnotify_token || MENTIONS_MNOTIFY.is_match(&language_text),
        case_token,
        case_tag,
        certificates: dedup(collected.certificates),
        findings: collected.findings,
        quoted,
        subject,
        unparseable: false,
        integration: crate::integration::extract(&body),
        question: question(&body),
        bounce: bounce::read(&msg),
        trace: crate::trust::read_trace(header_section(raw)),
        own_text: language_text,
        attachment_names,
    }
}

/// The subject, at most [`MAX_SUBJECT_CHARS`] characters of it.
fn shortened_subject(s: &str) -> String {
    s.char_indices()
        .nth(MAX_SUBJECT_CHARS)
        .map_or(s, |(cut, _)| &s[..cut])
        .to_string()
}

/// The numbers quoted in the subject, then the body's not seen there, at most
/// [`MAX_QUOTED_NUMBERS`].
fn quoted_numbers(subject: &str, body: &str) -> Vec<serials::QuotedNumber> {
    let mut quoted = serials::extract(subject);
    for number in serials::extract(body) {
        if quoted.len() >= MAX_QUOTED_NUMBERS {
            break;
        }
        if !quoted.iter().any(|q| q.digits == number.digits) {
            quoted.push(number);
        }
    }
    quoted.truncate(MAX_QUOTED_NUMBERS);
    quoted
}

/// HTML with a line break before every table cell, row and block element: turned
/// into text, the cells of a table stay apart (Outlook writes a serial as byte pairs in
/// a cell; glued to its neighbours, its first and last byte were lost).
fn separate_blocks(html: &str) -> String {
    static BLOCK: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)<(?:/?(?:td|th|tr|table|p|div|li|ul|ol|h[1-6])|br)\b")
            .expect("valid pattern")
    });
    BLOCK.replace_all(html, "<br>$0").into_owned()
}

/// The first sentence of `text` that ends in a question mark (links aside, whose
/// query strings hold `?`), trimmed to 300 characters; `None` when there is none.
pub fn question(text: &str) -> Option<String> {
    for line in text.lines().filter(|l| l.contains('?')) {
        let words: Vec<&str> = line
            .split_whitespace()
            .filter(|w| !w.contains("://") && !w.starts_with("www."))
            .collect();
        let line = words.join(" ");
        let Some(mark) = line.find('?') else {
            continue;
        };
        let start = line[..mark]
            .rfind(['.', '!', '?', ':', ';'])
            .map_or(0, |i| i + 1);
        let sentence = line[start..=mark].trim();
        // "?" alone, or a garbled "??", is not a question to answer.
        if sentence.chars().filter(|c| c.is_alphabetic()).count() < 4 {
            continue;
        }
        return Some(match sentence.char_indices().nth(300) {
            Some((cut, _)) => format!("{}…", &sentence[..cut]),
            None => sentence.to_string(),
        });
    }
    None
}

/// Whether more than `limit` lines start with `--` (a MIME boundary's shape).
fn boundary_lines_exceed(raw: &[u8], limit: usize) -> bool {
    // One byte is looked for, not "\n--": base64 has no '-', and a one-byte search
    // reads a 4 MB attachment in a fraction of the time.
    memchr::memchr_iter(b'-', raw)
        .filter(|&at| at > 0 && raw[at - 1] == b'\n' && raw.get(at + 1) == Some(&b'-'))
        .nth(limit)
        .is_some()
}

/// The header section of a message, up to and including the blank line after it.
fn header_section(raw: &[u8]) -> &[u8] {
    // Line by line up to the first blank one: looking for "\r\n\r\n" in a message
    // with bare line feeds read the whole message for nothing.
    let mut line = 0;
    for end in memchr::memchr_iter(b'\n', raw) {
        if matches!(&raw[line..end], b"" | b"\r") && line > 0 {
            return &raw[..=end];
        }
        line = end + 1;
    }
    raw
}

fn id_list(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match value {
        mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|s| s.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// The same certificate attached twice (or as file and pasted PEM) counts once.
fn dedup(found: Vec<FoundCertificate>) -> Vec<FoundCertificate> {
    let mut seen = HashSet::new();
    found
        .into_iter()
        .filter(|f| seen.insert(f.der.clone()))
        .collect()
}

fn collect_attachments(
    msg: &Message<'_>,
    depth: usize,
    out: &mut Collected,
    names: &mut Vec<String>,
) {
    for &id in &msg.attachments {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        let name = part.attachment_name().unwrap_or("").to_string();
        if !name.is_empty() && names.len() < MAX_ATTACHMENT_NAMES {
            names.push(name.clone());
        }
        let ctype = part
            .content_type()
            .map(|c| match &c.c_subtype {
                Some(sub) => format!("{}/{}", c.c_type, sub),
                None => c.c_type.to_string(),
            })
            .unwrap_or_default();
        match &part.body {
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                attachment::examine(&name, &ctype, bytes, 0, out)
            }
            PartType::Text(text) | PartType::Html(text) => {
                attachment::examine(&name, &ctype, text.as_bytes(), 0, out)
            }
            PartType::Message(inner) if depth < MAX_MESSAGE_NESTING => {
                collect_attachments(inner, depth + 1, out, names)
            }
            PartType::Message(_) | PartType::Multipart(_) => {}
        }
    }
}

/// The sender's own words: text bodies (HTML turned into text when that is all there is)
/// with quoted earlier mail removed, cut at [`MAX_BODY_TEXT`].
fn body_text(msg: &Message<'_>) -> String {
    let attachments: HashSet<u32> = msg.attachments.iter().copied().collect();
    let mut text = String::new();
    for &id in msg.text_body.iter().filter(|id| !attachments.contains(id)) {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        let piece = match &part.body {
            PartType::Text(t) => quoted::strip_plain(t),
            PartType::Html(h) => quoted::strip_plain(&mail_parser::decoders::html::html_to_text(
                &separate_blocks(&quoted::strip_html(h)),
            )),
            _ => continue,
        };
        text.push_str(&piece);
        text.push('\n');
        if text.len() > MAX_BODY_TEXT {
            let mut cut = MAX_BODY_TEXT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            break;
        }
    }
    text
}

#[cfg(test)]
mod question_tests {
    use super::question;

    #[test]
    fn the_first_question_of_the_senders_own_text() {
        assert_eq!(
            question("Bună ziua. Când putem semna contractul? Mulțumim.").as_deref(),
            Some("Când putem semna contractul?")
        );
        assert_eq!(
            question("See https://x.md/a?b=1 please.\nCan we use it for tests?").as_deref(),
            Some("Can we use it for tests?"),
            "a link's query is not a question"
        );
        assert_eq!(question("Anexăm certificatul.\n??\n"), None);
        assert_eq!(question("Нет вопросов."), None);
        assert_eq!(
            question("Когда будет доступ к тестовой среде?").as_deref(),
            Some("Когда будет доступ к тестовой среде?")
        );
        let long = format!("{}?", "a".repeat(500));
        assert_eq!(question(&long).unwrap().chars().count(), 301);
    }
}

#[cfg(test)]
mod html_tests {
    use crate::serials::{canonical_serial, canonical_serial_from_bytes};
    use proptest::prelude::*;

    proptest! {
        /// A serial Outlook writes as byte pairs in an HTML table cell, or in a
        /// paragraph, is read whole: the cells around it stay apart.
        #[test]
        fn a_serial_in_html_is_read_whole(
            bytes in proptest::collection::vec(any::<u8>(), 8..20),
            table in any::<bool>(),
            upper in any::<bool>(),
        ) {
            let pairs: Vec<String> = bytes
                .iter()
                .map(|b| if upper { format!("{b:02X}") } else { format!("{b:02x}") })
                .collect();
            let pairs = pairs.join(" ");
            let html = if table {
                format!("<table><tr><td>Serial</td><td>{pairs}</td><td>Emitent STISC</td></tr></table>")
            } else {
                format!("<div>Numărul de serie:</div><div>{pairs}</div><p>Emitent STISC</p>")
            };
            let raw = format!(
                "From: ion@x.md\r\nSubject: MNotify\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>{html}</body></html>\r\n"
            );
            let facts = super::read(raw.as_bytes(), &[]);
            let want = canonical_serial_from_bytes(&bytes);
            prop_assert!(
                facts.quoted.iter().any(|q| canonical_serial(&q.digits) == Some(want.clone())),
                "{:?} not in {:?}", want, facts.quoted
            );
        }
    }
}
