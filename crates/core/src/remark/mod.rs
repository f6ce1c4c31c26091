//! What staff read about a mail or a case (its timeline, a mail's note, a certificate
//! to check), stored as data and said in the staff language when it is shown. The
//! stored English text stays beside it: `--json` outputs and entries written before
//! remarks existed read as they were.

use serde::{Deserialize, Serialize};

use crate::decision::Decision;
use crate::intake::Language;
use crate::integration::Environment;

mod english;
mod said;
pub use english::said_in;

/// One thing that happened or one reason, with what it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "remark", rename_all = "snake_case")]
pub enum Remark {
    // A case's timeline.
    CaseOpened,
    CertificateFor {
        serial: String,
        environment: Environment,
    },
    /// One certificate given for both environments: refused for the second.
    CertificateEnvironmentRefused {
        serial: String,
        was: Environment,
        now: Environment,
    },
    MergedFrom {
        case: String,
        by: String,
        note: Option<String>,
    },
    MergedInto {
        case: String,
        by: String,
        note: Option<String>,
    },
    /// This case was split off `case`.
    SplitFrom {
        case: String,
        system: Option<String>,
        by: String,
        note: Option<String>,
    },
    /// `case` was split off this one.
    SplitOff {
        case: String,
        system: Option<String>,
        by: String,
        note: Option<String>,
    },
    StaffNote {
        by: String,
        text: String,
    },
    MemberAdded {
        by: String,
        member: String,
    },
    ReplyFailed {
        to: String,
        reason: String,
    },
    ReminderSent,
    QuestionAsked {
        question: String,
    },
    QuestionAnswered {
        by: String,
        note: Option<String>,
    },
    NoQuestionOpen {
        by: String,
    },
    /// Staff wrote to the applicant (from the case, or in the mailbox: `in_mailbox`);
    /// `question`: it answered the open question.
    AnswerSent {
        by: String,
        in_mailbox: bool,
        question: bool,
    },
    /// A mail of the case; no decision: a mail after the certificates were in.
    Mail {
        message_id: String,
        sender: String,
        decision: Option<Decision>,
        /// The certificate it brought went to a staff check (said "under check", as
        /// its reply and the case's decision say it; false in older stores).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        checked: bool,
    },
    AnotherCertificate {
        evidence: String,
        kept: String,
    },
    CertificateCheck {
        why: Vec<Remark>,
    },
    /// A later mail puts this case's certificate in doubt, but its applicant was told
    /// the step is done: it stays done, and the later mail's case carries the check.
    DisputedLater {
        why: Vec<Remark>,
    },
    StaffCheck {
        why: Box<Remark>,
    },
    StepAgain {
        step: String,
        by: String,
    },
    CheckClosed {
        by: String,
    },
    StepDone {
        step: String,
        by: String,
        note: Option<String>,
    },
    Completed,
    Integration {
        summary: String,
        complete: bool,
    },
    Reopened {
        step: String,
        by: String,
        note: Option<String>,
        was_done: bool,
    },
    /// A note of a mail, on the case it opened.
    MailNote {
        message_id: String,
        note: Box<Remark>,
    },

    // Whose a certificate is.
    RegisteredElsewhere {
        serial: String,
        institution: Option<String>,
        domain: String,
        owner: String,
    },
    NamesOtherAddresses {
        serial: String,
        addresses: Vec<String>,
        owner: String,
    },
    AlreadyInCase {
        serial: String,
        case: String,
        owner: String,
    },
    SentAgainByOwner {
        serial: String,
        owner: String,
        holder: String,
    },
    SentByAnotherToo {
        serial: String,
        owner: String,
    },
    RevocationUnknown {
        serial: String,
        why: String,
    },

    // A mail's note.
    OtherInstitutionsCase {
        case: String,
        owner: String,
    },
    OtherSystem {
        system: String,
        case: String,
        case_system: String,
    },
    NoServiceNamed,
    /// Services a first mail names without clearly asking for them (tags): no case
    /// opened for them; staff see them on the case it opened.
    AlsoMentions {
        services: Vec<String>,
    },
    NoAddress,
    RepliesOff,
    AnswersOurs,
    /// A reply cap reached: `count` replies already, the setting `key`.
    CapReached {
        count: u32,
        unverified: bool,
        cap: Cap,
        key: String,
    },
    SenderHeld {
        reason: String,
    },
    SenderVouched {
        reason: String,
        by: String,
    },
    ReportIgnored {
        message_id: String,
        to: String,
        sender: String,
    },
    Duplicate {
        uid_validity: u32,
        uid: u32,
    },
    /// A different mail under the Message-ID of one handled before: handled on its own.
    ReusedMessageId {
        message_id: String,
    },
    NotKeptCeiling {
        max_messages: u64,
        max_mb: u64,
    },
    NotKeptLarge,
    /// Text no table has words for (a server's error): shown as written.
    Text {
        text: String,
    },
    /// Written by a later version: the stored English text is shown instead.
    #[serde(other)]
    Unknown,
}

/// Which reply cap a mail reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cap {
    Recipient,
    Case,
    Domain,
    Hour,
}

/// Remarks said in `lang`, or `stored` (the English written beside them) when there
/// are none or one this version does not know.
pub fn said_or(remarks: &[Remark], stored: Option<&str>, lang: Language) -> Option<String> {
    if remarks.is_empty() || !remarks.iter().all(Remark::is_known) {
        stored.map(str::to_string)
    } else {
        Some(say_all(remarks, lang))
    }
}

/// Several remarks as one line.
pub fn say_all(list: &[Remark], lang: Language) -> String {
    list.iter()
        .map(|r| r.say(lang))
        .collect::<Vec<_>>()
        .join("; ")
}

impl std::fmt::Display for Remark {
    /// In English, as records store it beside the remark.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.say(Language::En))
    }
}

impl Remark {
    /// Text as it stands.
    pub fn text(text: impl Into<String>) -> Remark {
        Remark::Text { text: text.into() }
    }

    /// Whether this version has words for it.
    pub fn is_known(&self) -> bool {
        !matches!(self, Remark::Unknown)
    }

    /// In `lang` (see [`said`]: each remark's three languages stand side by side, so
    /// that a translator reads them together).
    pub fn say(&self, lang: Language) -> String {
        said::case_story(self, lang)
            .or_else(|| said::case_people(self, lang))
            .or_else(|| said::case_progress(self, lang))
            .or_else(|| said::case_steps(self, lang))
            .or_else(|| said::ownership(self, lang))
            .or_else(|| said::mail_note(self, lang))
            .or_else(|| said::mail_kept(self, lang))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
