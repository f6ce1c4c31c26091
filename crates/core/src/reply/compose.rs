//! The reply as a MIME message (built by `mail-builder`): threading headers taken
//! only from ids that cannot break a header, our marks of an automatic answer, the
//! text and its HTML rendering.

use mail_builder::headers::address::Address;
use mail_builder::headers::raw::Raw;
use mail_builder::MessageBuilder;
use sha2::Digest;
use time::OffsetDateTime;

use super::text_to_html;
use crate::intake::automatic::OWN_MARKER_HEADER;
use crate::record::MessageId;

/// The message being answered, as far as threading needs it.
#[derive(Debug, Clone, Default)]
pub struct Original {
    pub message_id: Option<String>,
    pub references: Vec<String>,
    pub subject: Option<String>,
}

/// A complete outgoing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub message_id: MessageId,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub raw: Vec<u8>,
}

/// Who we are on replies, and the addresses of ours a reply's HTML may link to (see
/// [`text_to_html`]).
#[derive(Debug, Clone)]
pub struct Sender<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub links: Vec<&'a str>,
}

/// A case's token as subjects carry it: `[MNotify #TOKEN]`, the tag its service's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseTag<'a> {
    pub tag: &'a str,
    /// Empty for mail outside any case.
    pub token: &'a str,
}

impl CaseTag<'_> {
    /// Mail outside any case.
    pub const NONE: CaseTag<'static> = CaseTag {
        tag: "MNotify",
        token: "",
    };

    fn text(&self) -> String {
        format!("[{} #{}]", self.tag, self.token)
    }
}

/// Builds the reply; `case` has no token for mail outside any case. `seed` makes the
/// Message-ID stable, so a reply built twice for the same mail is recognisably the
/// same reply.
pub fn compose(
    original: &Original,
    from: &Sender<'_>,
    to: &str,
    case: CaseTag<'_>,
    body: &str,
    seed: &str,
    now: OffsetDateTime,
) -> Outgoing {
    compose_in(
        Voice::Automatic,
        original,
        from,
        to,
        case,
        body,
        (seed, now),
    )
}

/// Whose mail it is: the daemon's automatic reply (`Auto-Submitted`, responders asked
/// to stay quiet), or a staff member's answer, a person's mail (the applicant's
/// autoresponder and mail rules treat it as mail) with the copies staff chose.
#[derive(Debug, Clone, Copy)]
pub enum Voice<'a> {
    Automatic,
    Person { cc: &'a [String] },
}

/// [`compose`] in `voice`: the same threading, case tag and marker either way.
pub fn compose_in(
    voice: Voice<'_>,
    original: &Original,
    from: &Sender<'_>,
    to: &str,
    case: CaseTag<'_>,
    body: &str,
    (seed, now): (&str, OffsetDateTime),
) -> Outgoing {
    let cc = match voice {
        Voice::Automatic => &[][..],
        Voice::Person { cc } => cc,
    };
    let domain = from
        .address
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    let token = case.token;
    let digest = hex::encode(&sha2::Sha256::digest(seed.as_bytes())[..12]);
    let message_id = if token.is_empty() {
        MessageId::ours(&format!("mnotify.{digest}"), domain)
    } else {
        MessageId::ours(&format!("mnotify.{token}.{digest}"), domain)
    };
    let subject = reply_subject(original.subject.as_deref().unwrap_or(""), case);
    let (in_reply_to, references) = threading(original);
    let marker = if token.is_empty() {
        "reply".to_string()
    } else {
        format!("reply; case={token}")
    };
    let mut message = MessageBuilder::new()
        .from(Address::new_address(
            Some(one_line(from.name)),
            from.address,
        ))
        .to(Address::new_address(None::<&str>, one_line(to)))
        .subject(subject.as_str())
        .date(now.unix_timestamp())
        .message_id(message_id.bare())
        .header(OWN_MARKER_HEADER, Raw::new(marker))
        .text_body(body)
        .html_body(text_to_html(body, &from.links));
    if !cc.is_empty() {
        message = message.cc(cc
            .iter()
            .map(|a| Address::new_address(None::<&str>, one_line(a)))
            .collect::<Vec<_>>());
    }
    if matches!(voice, Voice::Automatic) {
        message = message
            .header("Auto-Submitted", Raw::new("auto-replied"))
            .header("X-Auto-Response-Suppress", Raw::new("All"));
    }
    if let Some(id) = &in_reply_to {
        message = message.in_reply_to(id.bare());
    }
    if !references.is_empty() {
        message = message.references(references.iter().map(MessageId::bare).collect::<Vec<_>>());
    }
    let raw = message
        .write_to_vec()
        .expect("writing to memory does not fail");
    Outgoing {
        message_id,
        from: from.address.to_string(),
        // The envelope's recipients: the applicant and the copies.
        to: std::iter::once(to)
            .chain(cc.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(", "),
        subject,
        raw,
    }
}

/// The In-Reply-To and References of a reply to `original`: only ids that cannot
/// break a header, at most [`MAX_REFERENCES`] (the first kept, then the latest).
fn threading(original: &Original) -> (Option<MessageId>, Vec<MessageId>) {
    let in_reply_to = original.message_id.as_deref().and_then(clean_id);
    let mut references: Vec<MessageId> = original
        .references
        .iter()
        .filter_map(|r| clean_id(r))
        .collect();
    if let Some(id) = &in_reply_to {
        if !references.contains(id) {
            references.push(id.clone());
        }
    }
    if references.len() > MAX_REFERENCES {
        references.drain(1..references.len() - (MAX_REFERENCES - 1));
    }
    (in_reply_to, references)
}

/// `Re: <subject> [MNotify #TOKEN]`, without piling up `Re:` or tokens.
pub fn reply_subject(original: &str, case: CaseTag<'_>) -> String {
    let token = case.token;
    let mut subject = one_line(original);
    if let Some((cut, _)) = subject.char_indices().nth(MAX_SUBJECT_CHARS) {
        subject.truncate(cut);
        subject.push('…');
    }
    loop {
        let lower = subject.to_lowercase();
        let stripped = ["re:", "fw:", "fwd:", "ответ:", "răspuns:", "aw:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| subject[p.len()..].trim_start().to_string());
        match stripped {
            Some(s) => subject = s,
            None => break,
        }
    }
    let tag = case.text();
    // Another case's tag never stays: a mail naming a case it could not join gets
    // an answer about its own.
    static ANY_TAG: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\s*\[[A-Z][A-Z0-9\-]{1,31}\s*#\s*[A-Z0-9\-]*\]")
            .expect("valid pattern")
    });
    if ANY_TAG
        .find_iter(&subject)
        .any(|m| m.as_str().trim() != tag)
    {
        subject = ANY_TAG
            .replace_all(&subject, |c: &regex::Captures<'_>| {
                if c[0].trim() == tag {
                    c[0].to_string()
                } else {
                    String::new()
                }
            })
            .trim()
            .to_string();
    }
    if token.is_empty() || subject.contains(&tag) {
        format!("Re: {subject}")
    } else if subject.is_empty() {
        format!("Re: {tag}")
    } else {
        format!("Re: {subject} {tag}")
    }
}

/// Text made fit for one header line: control characters (a decoded subject may hold
/// CR LF, which would start a header of the sender's choosing) become spaces, runs of
/// spaces one.
pub fn one_line(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Longest subject text taken from an applicant's mail.
const MAX_SUBJECT_CHARS: usize = 200;

/// A Message-ID fit for In-Reply-To and References; `None` for one
/// that is not a single token (whitespace, control characters, brackets inside) or is
/// absurdly long: such an id would break our header, and threads without it.
fn clean_id(id: &str) -> Option<MessageId> {
    let id = MessageId::parse(id)?;
    let bare = id.bare();
    let fits = bare.len() <= 250
        && !bare
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    fits.then_some(id)
}

/// References kept on a reply: the first (the thread's root) and the latest ones, as
/// RFC 5322 suggests when trimming.
const MAX_REFERENCES: usize = 20;
