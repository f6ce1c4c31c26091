//! Onboarding cases: one institution's walk through one platform service's connection
//! steps for one information system, as that service's procedure
//! ([`crate::procedure`]) lists them. Pure: the store keeps cases, this module only
//! says how they change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::Digest;
use time::OffsetDateTime;

use crate::decision::Decision;
use crate::intake::Language;
use crate::integration::same_system;
use crate::procedure::Procedure;

mod apply;
pub mod certificates;
pub mod clock;
pub mod merge;
mod strands;

pub use crate::procedure::{Party, Step};
pub use apply::{apply, Action, Event, MailEvent};
pub use strands::{strands, strands_message, Strand};

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

impl Case {
    /// Who a step waits on now: the agency for a certificate step while staff check
    /// the certificate (the reply's checklist says "in verification" the same way),
    /// else the party the procedure gives it.
    pub fn step_party(
        &self,
        procedure: &crate::procedure::Procedure,
        step: Step,
    ) -> crate::procedure::Party {
        if self.step_under_check(procedure, step) {
            crate::procedure::Party::Age
        } else {
            procedure.party(step)
        }
    }

    /// Whether `step` takes a certificate while staff check this case's certificate.
    pub fn step_under_check(&self, procedure: &crate::procedure::Procedure, step: Step) -> bool {
        self.certificate_check.is_some() && procedure.certificate_steps().any(|s| s.code == step)
    }
}

impl StepDone {
    /// Who did it, in `language`: the applicant (by e-mail) in words, a staff member
    /// by name.
    pub fn by_said(&self, language: Language) -> &str {
        match (self.by.as_str(), language) {
            ("applicant", Language::Ro) => "solicitant",
            ("applicant", Language::En) => "the applicant",
            ("applicant", Language::Ru) => "заявитель",
            (by, _) => by,
        }
    }

    /// Its evidence in `language` (written in English when the step was done).
    pub fn evidence_said(&self, language: Language) -> String {
        crate::remark::said_in(&self.evidence, language)
    }
}

/// One line of a case's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// In English, as `--json` and older versions read it.
    pub what: String,
    /// What happened as data, said in the staff language ([`TimelineEntry::said`]);
    /// none on entries written before remarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<crate::remark::Remark>,
}

impl TimelineEntry {
    pub fn new(at: OffsetDateTime, remark: crate::remark::Remark) -> TimelineEntry {
        TimelineEntry {
            at,
            what: remark.to_string(),
            remark: Some(remark),
        }
    }

    /// In `lang`: the remark said, or the entry as it was written.
    pub fn said(&self, lang: Language) -> String {
        crate::remark::said_or(self.remark.as_slice(), Some(&self.what), lang).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub token: String,
    /// The platform service (a procedure's code): cases stored before services were
    /// told apart are MNotify's.
    #[serde(default = "mnotify")]
    pub service: String,
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
    /// The integration data last received from the applicant (step 4).
    #[serde(default)]
    pub integration: Option<crate::integration::IntegrationData>,
    /// The subject of the applicant's first mail, so notices from AGE stay in the
    /// conversation the applicant started (`Re: <their subject> [MNotify #…]`).
    #[serde(default)]
    pub subject: Option<String>,
    /// When the applicant was last reminded of the step waiting on them.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_reminder: Option<OffsetDateTime>,
    /// Our last message to the applicant did not arrive (and they have not written
    /// since): reminders would only bounce too.
    #[serde(default)]
    pub unreachable: bool,
    /// The institution the case belongs to: the organizational domain of the
    /// authenticated sender who opened it. Only mail from it (or from `members`) changes
    /// the case. `None` in cases opened before sender authentication: their applicant's
    /// domain stands in.
    #[serde(default)]
    pub identity: Option<String>,
    /// Addresses or domains staff added to the institution (`cases allow`).
    #[serde(default)]
    pub members: Vec<String>,
    /// A question the applicant asked that a person must answer: the case waits on AGE
    /// until staff mark it answered (`cases answered`).
    #[serde(default)]
    pub question: Option<Question>,
    /// A certificate the applicant sent (or quoted) whose owner the evidence does not
    /// settle, or points elsewhere: step 3 waits on a staff check (`text` says why)
    /// until staff complete or reopen it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_check: Option<Question>,
    /// AGE's response clocks (see [`clock`]): one per thing the case waits on AGE for,
    /// kept until it is done.
    #[serde(default)]
    pub clocks: Vec<clock::ResponseClock>,
    /// Every certificate the case received, with the environment it is for when the
    /// applicant said (see [`certificates`]).
    #[serde(default)]
    pub certificates: Vec<certificates::CaseCertificate>,
    /// Staff merged this case into that one (see [`merge`]): closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
}

fn mnotify() -> String {
    crate::procedure::MNOTIFY.to_string()
}

/// An applicant's question, waiting for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// The sentence they asked, as written (for staff; never sent anywhere).
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Why staff check a certificate, as data (`text` is its English).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<crate::remark::Remark>,
}

impl Question {
    /// An applicant's question, as written.
    pub fn asked(text: &str, at: OffsetDateTime) -> Question {
        Question {
            text: text.to_string(),
            at,
            why: Vec::new(),
        }
    }

    /// In `lang`: why it is checked, or the question as written.
    pub fn said(&self, lang: Language) -> String {
        crate::remark::said_or(&self.why, Some(&self.text), lang).unwrap_or_default()
    }
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
    /// The last decision in staff words: a confirmed reuse or a new certificate whose
    /// owner staff are still checking is said as under check, never as confirmed.
    pub fn decision_words(&self, language: Language) -> Option<&'static str> {
        self.last_decision
            .map(|d| d.words_checked(self.certificate_check.is_some(), language))
    }
}

/// One line of a timeline as staff read it: when it first happened, what, and how
/// many times in a row (the same flag on five mails reads once, "×5").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub at: OffsetDateTime,
    pub text: String,
    pub times: usize,
}

impl Case {
    /// The timeline in `language`, runs of the same line said once with their count.
    pub fn timeline_said(&self, language: Language) -> Vec<Said> {
        let mut out: Vec<Said> = Vec::new();
        for entry in &self.timeline {
            let text = entry.said(language);
            match out.last_mut() {
                Some(last) if last.text == text => last.times += 1,
                _ => out.push(Said {
                    at: entry.at,
                    text,
                    times: 1,
                }),
            }
        }
        out
    }
}

impl Said {
    /// The text, with "(×N)" when it came N times in a row.
    pub fn line(&self) -> String {
        match self.times {
            1 => self.text.clone(),
            n => format!("{} (×{n})", self.text),
        }
    }
}

impl Case {
    pub fn open(token: String, applicant: &str, language: Language, now: OffsetDateTime) -> Case {
        Case {
            token,
            service: mnotify(),
            applicant: applicant.to_ascii_lowercase(),
            language,
            opened_at: now,
            updated_at: now,
            done: BTreeMap::new(),
            last_decision: None,
            message_ids: Vec::new(),
            last_reminder: None,
            unreachable: false,
            integration: None,
            subject: None,
            identity: None,
            members: Vec::new(),
            question: None,
            certificate_check: None,
            clocks: Vec::new(),
            certificates: Vec::new(),
            merged_into: None,
            timeline: vec![TimelineEntry::new(now, crate::remark::Remark::CaseOpened)],
        }
    }

    /// The information system the case is for: its name in MPass, once given.
    pub fn system(&self) -> Option<&str> {
        self.integration.as_ref()?.system_name.as_deref()
    }

    /// Whether the case is for the system named `name` (however spaced or cased).
    pub fn is_for_system(&self, name: &str) -> bool {
        self.system().is_some_and(|ours| same_system(ours, name))
    }

    /// Carries the steps `procedure` renamed over to their new codes (and drops those
    /// it removed); whether anything changed. Their clocks follow.
    pub fn carry_renamed_steps(&mut self, procedure: &Procedure) -> bool {
        let old: Vec<Step> = self
            .done
            .keys()
            .copied()
            .filter(|s| procedure.renamed.contains_key(s))
            .collect();
        for step in &old {
            let done = self.done.remove(step).expect("listed above");
            if let Some(Some(new)) = procedure.renamed.get(step) {
                self.done.entry(*new).or_insert(done);
            }
        }
        for clock in &mut self.clocks {
            if let clock::Owed::Step(step) = clock.owed {
                if let Some(Some(new)) = procedure.renamed.get(&step) {
                    clock.owed = clock::Owed::Step(*new);
                }
            }
        }
        !old.is_empty()
    }

    /// The completion notice went out (every procedure ends with it, `completed`).
    pub fn completed(&self) -> bool {
        self.done.contains_key(&Step::COMPLETED)
    }

    /// The first step not done yet (`None` once completed).
    pub fn next_step(&self, procedure: &Procedure) -> Option<Step> {
        procedure.order().find(|s| !self.done.contains_key(s))
    }

    /// The step the applicant is told comes next, the same in replies, `cases` and the
    /// digest: while the certificate the last mail asked for is missing, that step
    /// (a reply asking for it and pointing at the form left applicants unsure which
    /// to do); otherwise the first step not done.
    pub fn next_step_told(&self, procedure: &Procedure) -> Option<Step> {
        let asked = self.last_decision.is_some_and(|d| d.asks_for_certificate());
        if asked {
            if let Some(step) = self.certificate_step_open(procedure) {
                return Some(step);
            }
        }
        self.next_step(procedure)
    }

    /// The first step waiting for a certificate by mail, if any.
    pub fn certificate_step_open(&self, procedure: &Procedure) -> Option<Step> {
        procedure
            .certificate_steps()
            .map(|s| s.code)
            .find(|s| !self.done.contains_key(s))
    }

    /// Whether every step that takes a certificate by mail is done.
    pub fn certificates_done(&self, procedure: &Procedure) -> bool {
        self.certificate_step_open(procedure).is_none()
    }

    /// Records what an applicant's message decided (see [`apply`]), the sender unnamed
    /// and no certificate recorded.
    pub fn record_decision(
        &mut self,
        procedure: &Procedure,
        decision: Decision,
        message_id: &str,
        evidence: &str,
        now: OffsetDateTime,
    ) {
        let (case, _) = apply(
            procedure,
            self,
            Event::Mail(MailEvent {
                decision,
                message_id,
                evidence,
                sender: "",
                doubt: None,
                certificates: &[],
            }),
            now,
        );
        *self = case;
    }

    /// The prerequisites of `step` not done yet (see [`Procedure::after`]).
    pub fn missing_before(&self, procedure: &Procedure, step: Step) -> Vec<Step> {
        procedure
            .after(step)
            .iter()
            .copied()
            .filter(|s| !self.done.contains_key(s))
            .collect()
    }

    /// The institution identity the case belongs to (see [`Case::identity`]).
    pub fn owner(&self) -> String {
        self.identity.clone().unwrap_or_else(|| {
            crate::trust::domain::of_address(&self.applicant)
                .map(|d| crate::trust::domain::organizational(&d))
                .unwrap_or_default()
        })
    }

    /// Whether mail from `address`, whose institution identity is `identity`, may change
    /// the case: the same institution, or an address or domain staff added.
    pub fn admits(&self, identity: &str, address: &str) -> bool {
        let address = address.to_ascii_lowercase();
        let domain = crate::trust::domain::of_address(&address).unwrap_or_default();
        (!identity.is_empty() && identity == self.owner())
            || self
                .members
                .iter()
                .any(|m| m == &address || m == &domain || (!m.contains('@') && m == identity))
    }

    /// Who the case waits on now: the applicant, AGE, or nobody once completed. An
    /// open question waits on AGE whatever the step.
    pub fn waiting_on(&self, procedure: &Procedure) -> Option<Party> {
        if self.merged_into.is_some() {
            return None;
        }
        if self.question.is_some() || self.certificate_check.is_some() {
            return Some(Party::Age);
        }
        self.next_step(procedure).map(|s| procedure.party(s))
    }

    /// A gentle reminder is due: the case has waited on the applicant `days` days, and
    /// they were not reminded in the last `days` days. `days = 0` disables reminders.
    pub fn reminder_due(&self, procedure: &Procedure, now: OffsetDateTime, days: u32) -> bool {
        let period = time::Duration::days(days.into());
        days > 0
            && !self.unreachable
            && self.waiting_on(procedure) == Some(Party::Applicant)
            && now - self.updated_at >= period
            && self.last_reminder.is_none_or(|r| now - r >= period)
    }

    pub(crate) fn log(&mut self, now: OffsetDateTime, what: crate::remark::Remark) {
        self.updated_at = now;
        self.timeline.push(TimelineEntry::new(now, what));
    }

    pub(crate) fn complete(&mut self, step: Step, by: &str, evidence: String, now: OffsetDateTime) {
        self.done.insert(
            step,
            StepDone {
                at: now,
                by: by.to_string(),
                evidence,
            },
        );
    }
}

/// Cases made for tests, here and in the daemon crate's.
#[cfg(any(test, feature = "testkit"))]
pub mod for_tests {
    use super::*;
    use crate::procedure::for_tests::mn;

    /// For tests: a case whose request is complete at `at` (the first four steps done by
    /// staff), so it waits on AGE for test access.
    pub fn complete_request(token: &str, at: OffsetDateTime) -> Case {
        let mut c = Case::open(token.into(), "a@b.md", Language::Ro, at);
        for step in [
            Step::FORM,
            Step::CONTRACT,
            Step::CERTIFICATE,
            Step::INTEGRATION_DATA,
        ] {
            let done = Event::StepDone {
                step,
                by: "x",
                note: None,
            };
            c = apply(mn(), &c, done, at).0;
        }
        c
    }
}

#[cfg(test)]
mod tests;
