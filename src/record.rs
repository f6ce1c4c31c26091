//! Typed records shared by the planner, the store and the digest: what became of a
//! message ([`Outcome`]). The store keeps them as their snake_case codes, the same
//! words `inspect --json` and `status` print.

use serde::{Deserialize, Serialize};

use crate::decision::Decision;

/// What became of one message of the inbox: its decision, or why it was not decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    NewCertificate,
    ReuseConfirmed,
    Rejected,
    SerialNotFound,
    Ambiguous,
    NeedCertificate,
    NotApplicable,
    IgnoredAutomatic,
    /// Over the size limit: only its header was read.
    Oversized,
    /// The IMAP server failed to hand it over; set aside for people.
    Unreadable,
}

/// 128 random bits as hex: what must not be derivable from anything a stranger sees
/// (case tokens and our Message-IDs are made from it; staff request ids).
pub fn fresh_id() -> String {
    let mut bytes = [0u8; 16];
    // The system's random source fails only on a broken system; the time-based
    // fallback then still differs from call to call.
    if getrandom::getrandom(&mut bytes).is_err() {
        let t = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        bytes.copy_from_slice(&t.to_le_bytes());
    }
    hex::encode(bytes)
}

impl From<Decision> for Outcome {
    fn from(d: Decision) -> Outcome {
        match d {
            Decision::NewCertificate => Outcome::NewCertificate,
            Decision::ReuseConfirmed => Outcome::ReuseConfirmed,
            Decision::Rejected => Outcome::Rejected,
            Decision::SerialNotFound => Outcome::SerialNotFound,
            Decision::Ambiguous => Outcome::Ambiguous,
            Decision::NeedCertificate => Outcome::NeedCertificate,
            Decision::NotApplicable => Outcome::NotApplicable,
            Decision::IgnoredAutomatic => Outcome::IgnoredAutomatic,
        }
    }
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Oversized => "oversized",
            Outcome::Unreadable => "unreadable",
            other => other.decision().map_or("", Decision::code),
        }
    }

    /// The decision it records, if it is one.
    pub fn decision(self) -> Option<Decision> {
        Decision::ALL
            .iter()
            .copied()
            .find(|d| Outcome::from(*d) == self)
    }

    /// Plain words for staff (the digest is in Romanian).
    pub fn words_ro(self) -> &'static str {
        match self {
            Outcome::NewCertificate => "certificat nou",
            Outcome::ReuseConfirmed => "reutilizare confirmată",
            Outcome::Rejected => "respins",
            Outcome::SerialNotFound => "număr negăsit",
            Outcome::Ambiguous => "număr ambiguu",
            Outcome::NeedCertificate => "cere certificatul",
            Outcome::NotApplicable => "nu privește MNotify",
            Outcome::IgnoredAutomatic => "mesaj automat",
            Outcome::Oversized => "prea mare",
            Outcome::Unreadable => "serverul IMAP nu l-a putut da (de văzut în căsuță)",
        }
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;

    /// From its code (`new_certificate`, …, `oversized`, `unreadable`).
    fn from_str(code: &str) -> Result<Outcome, String> {
        Decision::ALL
            .iter()
            .map(|d| Outcome::from(*d))
            .chain([Outcome::Oversized, Outcome::Unreadable])
            .find(|o| o.code() == code)
            .ok_or_else(|| format!("`{code}` is not an outcome"))
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
