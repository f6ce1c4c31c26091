//! A case's conversation: every mail of the case in order, as staff read it on the
//! case page and in `cases show`. The applicant's mails (their own text, never their
//! HTML; attachment names; how their sender was believed), our replies and notices,
//! staff answers written from the case, and answers staff wrote in the mailbox itself
//! (found in its Sent folder). Each [`Letter`] is bounded ([`MAX_LETTER_TEXT`],
//! [`crate::intake::MAX_ATTACHMENT_NAMES`]) and goes with the case's mail records (the store's
//! retention).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::intake::Facts;
use crate::record::OutboxEntry;

/// At most this many bytes of a mail's text are kept (cut at a character boundary,
/// [`Letter::cut`] says so).
pub const MAX_LETTER_TEXT: usize = 16 * 1024;

/// Letters a case keeps whole; past them each new letter keeps at most
/// [`MAX_LATE_LETTER_TEXT`] of its text and [`MAX_LATE_ATTACHMENT_NAMES`] names (the
/// rest is in the mailbox): an institution that floods its own case grows the store by
/// a little a mail, not by 16 KB.
pub const LETTERS_KEPT_WHOLE: usize = 200;
/// Text kept of a letter past [`LETTERS_KEPT_WHOLE`].
pub const MAX_LATE_LETTER_TEXT: usize = 1024;
/// Attachment names kept of a letter past [`LETTERS_KEPT_WHOLE`].
pub const MAX_LATE_ATTACHMENT_NAMES: usize = 3;

/// Who wrote a letter of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Writer {
    /// The applicant (or a member of their institution): `authenticated` when our
    /// receiving server proved the sender, `vouched_by` a staff member who accepted it
    /// after it was held.
    Applicant {
        authenticated: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vouched_by: Option<String>,
    },
    /// The daemon: a reply, a notice or a reminder (`draft` when it went to Drafts for
    /// staff to send).
    Daemon { draft: bool },
    /// A staff member, from the case page or `cases reply`.
    Staff { name: String },
    /// Staff, in the mailbox itself (Outlook): found in the Sent folder.
    Mailbox,
}

/// One mail of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Letter {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub case: String,
    pub writer: Writer,
    pub from: String,
    pub to: String,
    pub subject: String,
    /// Its Message-ID (bare), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Its text: for an applicant's mail their own words (quoted earlier mail
    /// removed), never markup.
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    /// The text was longer than [`MAX_LETTER_TEXT`] and is cut.
    #[serde(default)]
    pub cut: bool,
}

impl Letter {
    /// This letter as a case past [`LETTERS_KEPT_WHOLE`] keeps it.
    pub fn shortened(mut self) -> Letter {
        if self.text.len() > MAX_LATE_LETTER_TEXT {
            let mut end = MAX_LATE_LETTER_TEXT;
            while !self.text.is_char_boundary(end) {
                end -= 1;
            }
            self.text.truncate(end);
            self.cut = true;
        }
        self.attachments.truncate(MAX_LATE_ATTACHMENT_NAMES);
        self
    }

    /// An applicant's mail in case `case`, from what was read of it; `message_id` the
    /// one that finds it (`process::message_id_of` its identity).
    pub fn incoming(
        facts: &Facts,
        message_id: Option<String>,
        case: &str,
        writer: Writer,
        at: OffsetDateTime,
    ) -> Letter {
        let (text, cut) = bounded(body_of(facts));
        Letter {
            at,
            case: case.to_string(),
            writer,
            from: facts.from.clone().unwrap_or_default(),
            to: String::new(),
            subject: facts.subject.clone().unwrap_or_default(),
            message_id,
            text,
            attachments: facts
                .attachment_names
                .iter()
                .take(crate::intake::MAX_ATTACHMENT_NAMES)
                .map(|n| n.chars().take(120).collect())
                .collect(),
            cut,
        }
    }

    /// A mail of ours to a case's applicant, as it was composed (its text part): a
    /// staff member's answer when the entry names who wrote it, else the daemon's.
    pub fn ours(entry: &OutboxEntry) -> Option<Letter> {
        let case = entry.case.clone()?;
        let writer = match &entry.by {
            Some(name) => Writer::Staff { name: name.clone() },
            None => Writer::Daemon {
                draft: entry.kind == crate::record::OutboxKind::Draft,
            },
        };
        let message = mail_parser::MessageParser::default().parse(&entry.raw)?;
        let (text, cut) = bounded(message.body_text(0).unwrap_or_default().into_owned());
        Some(Letter {
            at: entry.created_at,
            case,
            writer,
            from: entry.from.clone(),
            to: entry.to.clone(),
            subject: message.subject().unwrap_or_default().to_string(),
            message_id: Some(entry.message_id.bare().to_string()),
            text,
            attachments: Vec::new(),
            cut,
        })
    }

    /// Who wrote it, in `language`, for the conversation's headings.
    pub fn writer_said(&self, language: crate::language::Language) -> String {
        let pick = |ro: &str, en: &str, ru: &str| language.pick(ro, en, ru).to_string();
        match &self.writer {
            Writer::Applicant {
                authenticated: true,
                ..
            } => pick("solicitantul", "the applicant", "заявитель"),
            Writer::Applicant {
                vouched_by: Some(by),
                ..
            } => pick(
                &format!("solicitantul (reținut, acceptat de {by})"),
                &format!("the applicant (held, accepted by {by})"),
                &format!("заявитель (задержано, принято: {by})"),
            ),
            Writer::Applicant { .. } => pick(
                "solicitantul (expeditor neautentificat)",
                "the applicant (sender not authenticated)",
                "заявитель (отправитель не подтверждён)",
            ),
            Writer::Daemon { draft: false } => {
                pick("răspuns automat", "automatic reply", "автоматический ответ")
            }
            Writer::Daemon { draft: true } => pick(
                "răspuns automat (ciornă pentru personal)",
                "automatic reply (draft for staff)",
                "автоматический ответ (черновик для сотрудников)",
            ),
            Writer::Staff { name } => {
                // The person, as staff know them; the timeline keeps the whole record
                // (address, role, issuer, Unix user).
                let name = short_name(name);
                pick(
                    &format!("răspuns de la {name}"),
                    &format!("answer by {name}"),
                    &format!("ответ сотрудника {name}"),
                )
            }
            Writer::Mailbox => pick(
                "răspuns scris în cutia poștală (Outlook)",
                "answer written in the mailbox (Outlook)",
                "ответ, написанный в почтовом ящике (Outlook)",
            ),
        }
    }
}

/// A mail found in the mailbox's Sent folder, as far as the conversation needs it.
#[derive(Debug, Clone)]
pub struct SentCopy {
    pub facts: Facts,
    /// Every `To:` and `Cc:` address, lower-cased.
    pub recipients: Vec<String>,
    /// The daemon wrote it (its marker header): already in the conversation.
    pub ours: bool,
    /// From one of the mailbox's own addresses (staff writing as the mailbox).
    pub from_mailbox: bool,
}

impl SentCopy {
    pub fn read(raw: &[u8], own_addresses: &[String]) -> SentCopy {
        let facts = crate::intake::read(raw, own_addresses);
        let parsed = mail_parser::MessageParser::default().parse_headers(raw);
        let mut recipients = Vec::new();
        let mut ours = false;
        if let Some(m) = &parsed {
            for list in [m.to(), m.cc()].into_iter().flatten() {
                recipients.extend(
                    list.iter()
                        .filter_map(|a| a.address())
                        .map(str::to_ascii_lowercase),
                );
            }
            ours = m
                .header_raw(crate::intake::automatic::OWN_MARKER_HEADER)
                .is_some();
        }
        let from = facts.from.as_deref().unwrap_or("");
        let from_mailbox = own_addresses.iter().any(|a| a.eq_ignore_ascii_case(from));
        SentCopy {
            facts,
            recipients,
            ours,
            from_mailbox,
        }
    }

    /// Whether it went to the case's applicant or an address of their institution: a
    /// copy forwarded inside the agency answers no one.
    pub fn answers(&self, case: &crate::case::Case) -> bool {
        self.recipients.iter().any(|r| {
            let domain = crate::trust::domain::of_address(r)
                .map(|d| crate::trust::domain::organizational(&d))
                .unwrap_or_default();
            r.eq_ignore_ascii_case(&case.applicant) || case.admits(&domain, r)
        })
    }

    /// The copy as a letter of `case`: staff writing in the mailbox.
    pub fn letter(&self, message_id: Option<String>, case: &str, at: OffsetDateTime) -> Letter {
        Letter {
            to: self.recipients.join(", "),
            ..Letter::incoming(&self.facts, message_id, case, Writer::Mailbox, at)
        }
    }
}

/// `text` safe to show in a terminal or a page as text: control characters (but line
/// breaks and tabs) and bidirectional controls, which could rewrite or reorder what
/// staff read, are shown by their code (`[U+202E]`).
pub fn shown(text: &str) -> String {
    crate::html::visible(text, true)
}

/// A recorded staff identity's name alone: "Ana Popescu <ana@egov.md> (staff, …)" and
/// "Ana Popescu (ana, uid 1001)" are "Ana Popescu"; a bare user stays as it is.
fn short_name(recorded: &str) -> &str {
    let cut = [" <", " ("].iter().filter_map(|m| recorded.find(m)).min();
    match cut {
        Some(at) if at > 0 => &recorded[..at],
        _ => recorded,
    }
}

/// The applicant's own words: the body after the subject line `own_text` starts with.
fn body_of(facts: &Facts) -> String {
    facts
        .own_text
        .split_once('\n')
        .map_or("", |(_, body)| body)
        .trim_end()
        .to_string()
}

/// `text` within [`MAX_LETTER_TEXT`] with its lines ended by `\n` (mail's CRLF is
/// not a character to show), and whether it was cut.
fn bounded(text: String) -> (String, bool) {
    let mut text = if text.contains('\r') {
        text.replace("\r\n", "\n")
    } else {
        text
    };
    if text.len() <= MAX_LETTER_TEXT {
        return (text, false);
    }
    let mut end = MAX_LETTER_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    (text, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_not_shown() {
        let text = "plată\u{202E}txt.exe\x1b[2J\r\nrând\tdoi";
        assert_eq!(
            shown(text),
            "plată[U+202E]txt.exe[U+001B][2J[U+000D]\nrând\tdoi"
        );
    }

    #[test]
    fn a_staff_answer_is_headed_by_the_person_s_name() {
        assert_eq!(
            short_name("Ana Popescu <ana@egov.md> (staff, console; x sub ana)"),
            "Ana Popescu"
        );
        assert_eq!(short_name("Ana Popescu (ana, uid 1001)"), "Ana Popescu");
        assert_eq!(short_name("ana (uid 1001)"), "ana");
        assert_eq!(short_name("ana"), "ana");
    }

    #[test]
    fn a_letter_past_the_whole_ones_keeps_a_little() {
        let letter = Letter {
            at: time::macros::datetime!(2026-12-08 10:00 UTC),
            case: "ABC123".into(),
            writer: Writer::Mailbox,
            from: "a@b.md".into(),
            to: "c@d.md".into(),
            subject: "s".into(),
            message_id: None,
            text: "ș".repeat(MAX_LATE_LETTER_TEXT),
            attachments: (0..10).map(|i| format!("f{i}.pdf")).collect(),
            cut: false,
        };
        let short = letter.clone().shortened();
        assert!(short.cut && short.text.len() <= MAX_LATE_LETTER_TEXT);
        assert!(
            short.text.chars().all(|c| c == 'ș'),
            "cut between characters"
        );
        assert_eq!(short.attachments.len(), MAX_LATE_ATTACHMENT_NAMES);
        let small = Letter {
            text: "Mulțumim".into(),
            ..letter
        };
        assert_eq!(small.clone().shortened().text, small.text);
        assert!(!small.shortened().cut);
    }

    #[test]
    fn a_long_text_is_cut_at_a_character_boundary() {
        let long = "ă".repeat(MAX_LETTER_TEXT);
        let (text, cut) = bounded(long);
        assert!(cut);
        assert!(text.len() <= MAX_LETTER_TEXT && text.len() > MAX_LETTER_TEXT - 2);
        let (short, cut) = bounded("Bună ziua".into());
        assert_eq!((short.as_str(), cut), ("Bună ziua", false));
    }

    #[test]
    fn an_incoming_letter_keeps_the_senders_words_and_attachment_names_not_the_subject() {
        let raw = b"From: ion@primaria.md\r\nSubject: Conectare MNotify\r\nMessage-ID: <a1@primaria.md>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAtasat certificatul.\r\n--b\r\nContent-Type: application/pkix-cert\r\nContent-Disposition: attachment; filename=\"sistem.cer\"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n";
        let facts = crate::intake::read(raw, &[]);
        let at = OffsetDateTime::UNIX_EPOCH;
        let writer = Writer::Applicant {
            authenticated: true,
            vouched_by: None,
        };
        let id = Some("a1@primaria.md".to_string());
        let letter = Letter::incoming(&facts, id, "ABC123", writer, at);
        assert_eq!(letter.text, "Atasat certificatul.");
        assert_eq!(letter.attachments, vec!["sistem.cer".to_string()]);
        assert_eq!(letter.subject, "Conectare MNotify");
        assert_eq!(letter.message_id.as_deref(), Some("a1@primaria.md"));
        assert!(!letter.cut);
    }
}
