//! The conversation on the case page: every mail of the case, oldest first, as text
//! (the applicant's HTML is never rendered; control and bidirectional characters are
//! shown by their code), and the answers staff reuse, offered to start an answer from.

use serde::Serialize;

use super::pages::local;
use super::Console;
use crate::case::Case;
use crate::conversation::{shown, Writer};

/// One mail, as the page shows it.
#[derive(Debug, Serialize)]
pub struct LetterLine {
    pub at: String,
    pub writer: String,
    /// `applicant`, `daemon`, `staff` or `mailbox`: the page's style for it.
    pub side: &'static str,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub attachments: Vec<String>,
    pub text: String,
    pub cut: bool,
}

/// The case's letters, or none when the store cannot read them (the page says the
/// rest; the log says why).
pub fn letter_lines(console: &Console, case: &Case) -> Vec<LetterLine> {
    let language = console.web.language;
    let letters = console.shared.store.conversation(case).unwrap_or_else(|e| {
        tracing::warn!(case = %case.token, "console: the conversation cannot be read: {e}");
        Vec::new()
    });
    letters
        .into_iter()
        .map(|l| LetterLine {
            at: local(console, l.at),
            writer: shown(&l.writer_said(language)),
            side: match l.writer {
                Writer::Applicant { .. } => "applicant",
                Writer::Daemon { .. } => "daemon",
                Writer::Staff { .. } => "staff",
                Writer::Mailbox => "mailbox",
            },
            from: shown(&l.from),
            to: shown(&l.to),
            subject: shown(&l.subject),
            attachments: l.attachments.iter().map(|a| shown(a)).collect(),
            text: shown(&l.text),
            cut: l.cut,
        })
        .collect()
}

/// The answers staff reuse, in the case's language (the applicant reads them): their
/// titles, by number (`?answer=N` starts the answer from one).
pub fn saved_titles(console: &Console, case: &Case) -> Vec<(usize, String)> {
    console
        .shared
        .templates
        .saved_answers(case.language)
        .iter()
        .enumerate()
        .map(|(n, a)| (n, a.title.clone()))
        .collect()
}

/// The text of saved answer `n` in the case's language, if there is one.
pub fn saved_text(console: &Console, case: &Case, n: usize) -> Option<String> {
    console
        .shared
        .templates
        .saved_answers(case.language)
        .get(n)
        .map(|a| a.text.clone())
}
