//! Onboarding cases: one institution's walk through the eight MNotify connection steps.
//! Pure: the store keeps cases, this module only says how they change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::Digest;
use time::OffsetDateTime;

use crate::decision::Decision;
use crate::intake::Language;

/// The connection steps, in order (see the onboarding text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Form,
    Contract,
    Certificate,
    IntegrationData,
    TestAccess,
    OperationalTests,
    Production,
    Completed,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Form,
        Step::Contract,
        Step::Certificate,
        Step::IntegrationData,
        Step::TestAccess,
        Step::OperationalTests,
        Step::Production,
        Step::Completed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Step::Form => "form",
            Step::Contract => "contract",
            Step::Certificate => "certificate",
            Step::IntegrationData => "integration_data",
            Step::TestAccess => "test_access",
            Step::OperationalTests => "operational_tests",
            Step::Production => "production",
            Step::Completed => "completed",
        }
    }
}

/// Who completed a step and on what evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepDone {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `applicant` (by e-mail) or a staff member's name.
    pub by: String,
    /// Message-ID, certificate serial and fingerprint, or a staff note.
    pub evidence: String,
}

/// One line of a case's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub what: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub token: String,
    /// The applicant's address (replies go there).
    pub applicant: String,
    pub language: Language,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub done: BTreeMap<Step, StepDone>,
    pub last_decision: Option<Decision>,
    /// Message-IDs of the applicant's mails and of our replies, for threading.
    pub message_ids: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
}

/// Alphabet of case tokens: Crockford base32 without easily confused letters.
const TOKEN_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TOKEN_LENGTH: usize = 6;

/// A case token derived from `seed` (the first message's identity), so that processing
/// the same message again yields the same token.
pub fn token_for(seed: &str) -> String {
    let digest = sha2::Sha256::digest(seed.as_bytes());
    digest
        .iter()
        .take(TOKEN_LENGTH)
        .map(|b| TOKEN_ALPHABET[(*b as usize) % TOKEN_ALPHABET.len()] as char)
        .collect()
}

impl Case {
    pub fn open(token: String, applicant: &str, language: Language, now: OffsetDateTime) -> Case {
        Case {
            token,
            applicant: applicant.to_ascii_lowercase(),
            language,
            opened_at: now,
            updated_at: now,
            done: BTreeMap::new(),
            last_decision: None,
            message_ids: Vec::new(),
            timeline: vec![TimelineEntry {
                at: now,
                what: "case opened".into(),
            }],
        }
    }

    /// The first step not done yet (`None` once completed).
    pub fn next_step(&self) -> Option<Step> {
        Step::ALL.into_iter().find(|s| !self.done.contains_key(s))
    }

    /// Records what an applicant's message decided. A certificate accepted or a reuse
    /// confirmed completes the `certificate` step.
    pub fn record_decision(
        &mut self,
        decision: Decision,
        message_id: &str,
        evidence: &str,
        now: OffsetDateTime,
    ) {
        self.last_decision = Some(decision);
        self.updated_at = now;
        if !message_id.is_empty() && !self.message_ids.iter().any(|m| m == message_id) {
            self.message_ids.push(message_id.to_string());
        }
        self.timeline.push(TimelineEntry {
            at: now,
            what: format!("mail {message_id}: {decision}"),
        });
        if matches!(
            decision,
            Decision::NewCertificate | Decision::ReuseConfirmed
        ) {
            self.done.insert(
                Step::Certificate,
                StepDone {
                    at: now,
                    by: "applicant".into(),
                    evidence: evidence.to_string(),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn tokens_are_stable_and_readable() {
        let t = token_for("<abc@x>");
        assert_eq!(t, token_for("<abc@x>"));
        assert_ne!(t, token_for("<abd@x>"));
        assert_eq!(t.len(), 6);
        assert!(t.bytes().all(|b| TOKEN_ALPHABET.contains(&b)));
    }

    #[test]
    fn certificate_accepted_completes_its_step_only() {
        let now = datetime!(2026-11-24 12:00 UTC);
        let mut c = Case::open("ABC123".into(), "Ion@X.md", Language::Ro, now);
        assert_eq!(c.next_step(), Some(Step::Form));
        c.record_decision(Decision::SerialNotFound, "<1@x>", "", now);
        assert!(!c.done.contains_key(&Step::Certificate));
        c.record_decision(Decision::NewCertificate, "<2@x>", "serial AB", now);
        assert!(c.done.contains_key(&Step::Certificate));
        assert_eq!(c.next_step(), Some(Step::Form));
        assert_eq!(c.message_ids.len(), 2);
        assert_eq!(c.applicant, "ion@x.md");
    }
}
