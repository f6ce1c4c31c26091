//! Typed records shared by the planner, the store and the digest: what became of a
//! message ([`Outcome`], [`SeenRecord`]), the certificates accepted, the outbox. The
//! domain owns them; the store only keeps them (as JSON, outcomes as their snake_case
//! codes, the same words `inspect --json` and `status` print).

mod base64_bytes;
mod message_id;
mod outbox;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use message_id::MessageId;
pub use outbox::{OutboxEntry, OutboxKind, OutboxState};

use crate::decision::Decision;
use crate::language::Language;
use crate::remark::{said_or, say_all, Remark};

/// What became of one message of the inbox: its decision, or why it was not decided.
/// Stored and shown by its code: the decision's, `oversized` or `unreadable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Decided(Decision),
    /// Over the size limit: only its header was read.
    Oversized,
    /// The IMAP server failed to hand it over; set aside for people.
    Unreadable,
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Outcome, D::Error> {
        let code = String::deserialize(deserializer)?;
        code.parse().map_err(serde::de::Error::custom)
    }
}

/// The system's random source failed. Nothing stands in for it (the clock is
/// guessable), so the operation that needed an unguessable id fails.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "the system's random source failed ({0}); case tokens and ids that must not be guessed \
     cannot be made without it, so nothing was done: check that /dev/urandom is readable \
     and the kernel's getrandom works (a container's seccomp profile may block it), then try again"
)]
pub struct NoRandomness(pub String);

/// 128 random bits as hex: what must not be derivable from anything a stranger sees
/// (case tokens and our Message-IDs are made from it; staff request ids).
pub fn fresh_id() -> Result<String, NoRandomness> {
    hex_from(getrandom::getrandom)
}

fn hex_from(
    fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
) -> Result<String, NoRandomness> {
    let mut bytes = [0u8; 16];
    fill(&mut bytes).map_err(|e| NoRandomness(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// What was decided about one message; written once, in the same transaction as its
/// case update and its reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenRecord {
    /// Message-ID, or `sha256:…` of the bytes when there is none.
    pub identity: String,
    pub uid_validity: u32,
    pub uid: u32,
    /// Its decision, or why it has none.
    pub outcome: Outcome,
    pub case: Option<String>,
    /// Folder the message is moved to; `None` leaves it in the inbox.
    pub destination: Option<String>,
    /// Message-ID of the reply queued, if any.
    pub reply: Option<MessageId>,
    /// Why no reply was queued, when one would have been.
    pub note: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// For the staff digest: who wrote, about what, what was wrong, what was accepted.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub problems: Vec<crate::problem::Problem>,
    #[serde(default)]
    pub accepted: Vec<AcceptedCertificate>,
    /// Who sent it, as our receiving server authenticated them.
    #[serde(default)]
    pub sender: Option<crate::trust::Sender>,
    /// Filed for staff without changing anything: the sender was not authenticated
    /// (`[trust] senders = "require"`). Staff may accept it by hand.
    #[serde(default)]
    pub held: bool,
    /// Processed although the sender was not authenticated (`senders = "flag"`).
    #[serde(default)]
    pub flagged: bool,
    /// What staff should check about what was accepted (a certificate naming another
    /// institution's address, or already in another institution's case).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The note as data, said in the staff language ([`SeenRecord::note_in`]); empty
    /// for records written before remarks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remarks: Vec<Remark>,
    /// The warnings as data, in the same order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warned: Vec<Remark>,
    /// The [`crate::process::content_digest`] of what its sender wrote: a later mail
    /// under the same Message-ID is a redelivery only when this is the same. `None` in
    /// records written before it (taken as the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl SeenRecord {
    /// A message the IMAP server failed to hand over, set aside for people: recorded
    /// (the digest lists it), filed in `destination`, never answered.
    pub fn unreadable(
        uid_validity: u32,
        uid: u32,
        destination: Option<String>,
        at: OffsetDateTime,
    ) -> SeenRecord {
        SeenRecord {
            identity: format!("unreadable:{uid_validity}/{uid}"),
            uid_validity,
            uid,
            outcome: Outcome::Unreadable,
            case: None,
            destination,
            reply: None,
            note: None,
            at,
            from: None,
            subject: None,
            problems: Vec::new(),
            accepted: Vec::new(),
            sender: None,
            held: false,
            flagged: false,
            warnings: Vec::new(),
            remarks: Vec::new(),
            warned: Vec::new(),
            digest: None,
        }
    }

    /// Adds a remark to the note (its English text to `note`).
    pub fn remark(&mut self, remark: Remark) {
        self.note = Some(match self.note.take() {
            Some(note) => format!("{note}; {remark}"),
            None => remark.to_string(),
        });
        self.remarks.push(remark);
    }

    /// Adds something staff should check (the digest lists it with the mail).
    pub fn warn(&mut self, remark: Remark) {
        self.warnings.push(remark.to_string());
        self.warned.push(remark);
    }

    /// Sets the note to these remarks.
    pub fn set_remarks(&mut self, remarks: Vec<Remark>) {
        self.note = (!remarks.is_empty()).then(|| say_all(&remarks, Language::En));
        self.remarks = remarks;
    }

    /// The note in `lang`: its remarks said, or the text as stored.
    pub fn note_in(&self, lang: Language) -> Option<String> {
        said_or(&self.remarks, self.note.as_deref(), lang)
    }

    /// The warnings in `lang`, the same way.
    pub fn warnings_in(&self, lang: Language) -> Option<String> {
        let text = (!self.warnings.is_empty()).then(|| self.warnings.join("; "));
        said_or(&self.warned, text.as_deref(), lang)
    }
}

/// A certificate accepted (new) or confirmed for reuse, as staff need it to configure
/// MNotify. Public data only: certificates, never keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedCertificate {
    pub serial: String,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub subject: Option<String>,
    pub issuer: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    /// Services it was already registered for (empty for a new certificate).
    pub services: Vec<String>,
    pub institution: Option<String>,
    /// The certificate file (DER, base64) when it was attached; a reuse confirmed by
    /// a quoted number has none.
    #[serde(rename = "der_base64", with = "base64_bytes::option")]
    pub der: Option<Vec<u8>>,
    /// The environment the applicant gave it for (by file name or in the mail's
    /// integration data), when they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<crate::integration::Environment>,
}

/// The case a certificate was first accepted or confirmed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateCase {
    pub case: String,
    /// The institution identity of that case.
    pub owner: String,
    /// The certificate (canonical serial and issuer as given); absent in records
    /// written before they were kept, which the lookup fills in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// Staff vouched for a held message's sender: it is handled as if authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl From<Decision> for Outcome {
    fn from(d: Decision) -> Outcome {
        Outcome::Decided(d)
    }
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Decided(d) => d.code(),
            Outcome::Oversized => "oversized",
            Outcome::Unreadable => "unreadable",
        }
    }

    /// The decision it records, if it is one.
    pub fn decision(self) -> Option<Decision> {
        match self {
            Outcome::Decided(d) => Some(d),
            _ => None,
        }
    }

    /// Plain words for staff in their language.
    pub fn words(self, language: Language) -> &'static str {
        match self {
            Outcome::Decided(d) => d.words(language),
            Outcome::Oversized => language.pick("prea mare", "too large", "слишком большое"),
            Outcome::Unreadable => language.pick(
                "serverul IMAP nu l-a putut da (de văzut în căsuță)",
                "the IMAP server could not give it (see the mailbox)",
                "сервер IMAP не смог его выдать (смотрите в ящике)",
            ),
        }
    }

    /// Every outcome: the decisions, then the two undecided ones.
    pub fn all() -> impl Iterator<Item = Outcome> {
        Decision::ALL
            .into_iter()
            .map(Outcome::Decided)
            .chain([Outcome::Oversized, Outcome::Unreadable])
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;

    /// From its code (`new_certificate`, …, `oversized`, `unreadable`).
    fn from_str(code: &str) -> Result<Outcome, String> {
        Outcome::all()
            .find(|o| o.code() == code)
            .ok_or_else(|| format!("`{code}` is not an outcome"))
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl SeenRecord {
    /// Only what exactly-once needs: what retention keeps of a record past its period.
    pub fn reduced(&self) -> SeenRecord {
        SeenRecord {
            from: None,
            subject: None,
            problems: Vec::new(),
            accepted: Vec::new(),
            sender: None,
            note: None,
            warnings: Vec::new(),
            remarks: Vec::new(),
            warned: Vec::new(),
            ..self.clone()
        }
    }

    pub fn is_reduced(&self) -> bool {
        *self == self.reduced()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_random_source_fails_the_id() {
        let failed = super::hex_from(|_| Err(getrandom::Error::UNSUPPORTED));
        assert!(failed.is_err());
        assert!(failed.unwrap_err().to_string().contains("/dev/urandom"));
        let id = super::fresh_id().expect("this machine's random source");
        assert_eq!(id.len(), 32);
        assert_ne!(id, super::fresh_id().unwrap());
    }

    #[test]
    fn codes_are_the_decision_codes_and_round_trip_through_the_store_format() {
        for d in Decision::ALL {
            let o = Outcome::from(d);
            assert_eq!(o.code(), d.code());
            assert_eq!(o.decision(), Some(d));
            assert_eq!(
                serde_json::to_string(&o).unwrap(),
                format!("\"{}\"", d.code())
            );
        }
        for o in [Outcome::Oversized, Outcome::Unreadable] {
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{}\"", o.code()));
            assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), o);
            assert_eq!(o.decision(), None);
            assert_eq!(o.code().parse::<Outcome>(), Ok(o));
        }
        assert!("duplicate".parse::<Outcome>().is_err());
    }
}
