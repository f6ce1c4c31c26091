//! Onboarding cases: one institution's walk through the eight MNotify connection steps.
//! Pure: the store keeps cases, this module only says how they change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::Digest;
use time::OffsetDateTime;

use crate::decision::Decision;
use crate::intake::Language;

pub mod certificates;
pub mod clock;
pub mod merge;
mod step;

pub use step::{Party, Step};

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

/// An applicant's question, waiting for a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// The sentence they asked, as written (for staff; never sent anywhere).
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
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
            timeline: vec![TimelineEntry {
                at: now,
                what: "case opened".into(),
            }],
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

    /// The first step not done yet (`None` once completed).
    pub fn next_step(&self) -> Option<Step> {
        Step::ALL.into_iter().find(|s| !self.done.contains_key(s))
    }

    /// Records what an applicant's message decided (see [`apply`]), the sender unnamed.
    pub fn record_decision(
        &mut self,
        decision: Decision,
        message_id: &str,
        evidence: &str,
        now: OffsetDateTime,
    ) {
        self.record_mail(decision, message_id, evidence, "", None, now);
    }

    /// An applicant's mail, from `sender` (address and authentication verdict, as the
    /// timeline records it); `doubt`: why its certificate may not be the institution's.
    pub fn record_mail(
        &mut self,
        decision: Decision,
        message_id: &str,
        evidence: &str,
        sender: &str,
        doubt: Option<&str>,
        now: OffsetDateTime,
    ) {
        let (case, _) = apply(
            self,
            Event::Mail {
                decision,
                message_id,
                evidence,
                sender,
                doubt,
            },
            now,
        );
        *self = case;
    }

    /// The prerequisites of `step` not done yet (see [`Step::prerequisites`]).
    pub fn missing_before(&self, step: Step) -> Vec<Step> {
        step.prerequisites()
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
    pub fn waiting_on(&self) -> Option<Party> {
        if self.merged_into.is_some() {
            return None;
        }
        if self.question.is_some() || self.certificate_check.is_some() {
            return Some(Party::Age);
        }
        self.next_step().map(Step::performed_by)
    }

    /// A gentle reminder is due: the case has waited on the applicant `days` days, and
    /// they were not reminded in the last `days` days. `days = 0` disables reminders.
    pub fn reminder_due(&self, now: OffsetDateTime, days: u32) -> bool {
        let period = time::Duration::days(days.into());
        days > 0
            && !self.unreachable
            && self.waiting_on() == Some(Party::Applicant)
            && now - self.updated_at >= period
            && self.last_reminder.is_none_or(|r| now - r >= period)
    }

    fn log(&mut self, now: OffsetDateTime, what: String) {
        self.updated_at = now;
        self.timeline.push(TimelineEntry { at: now, what });
    }

    fn complete(&mut self, step: Step, by: &str, evidence: String, now: OffsetDateTime) {
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

/// Something that happens to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// An applicant's mail was decided. A certificate accepted or a reuse confirmed
    /// completes the `certificate` step.
    Mail {
        decision: Decision,
        message_id: &'a str,
        evidence: &'a str,
        /// Who sent it and whether that was authenticated; empty when unknown.
        sender: &'a str,
        /// Why its certificate may belong to another institution: the step is not
        /// completed, a staff check is opened instead.
        doubt: Option<&'a str>,
    },
    /// A certificate this case holds turned up in another institution's mail with
    /// evidence that it is theirs, or with none either way: staff check it.
    CertificateDoubted { why: &'a str },
    /// Staff record a step as done (the form arrived, the contract is signed, test
    /// access is configured, production is active, …).
    StepDone {
        step: Step,
        by: &'a str,
        note: Option<&'a str>,
    },
    /// A staff note on the timeline.
    Note { by: &'a str, text: &'a str },
    /// Staff add an address or a domain to the case's institution.
    Allow { by: &'a str, member: &'a str },
    /// Staff undo a step (a certificate that turned out unusable, a contract to redo).
    Reopen {
        step: Step,
        by: &'a str,
        note: Option<&'a str>,
    },
    /// The daily routine found the case waiting on the applicant too long.
    Remind,
    /// The applicant asked something only a person can answer.
    Asked { question: &'a str },
    /// Staff answered the open question (by mail or phone).
    Answered { by: &'a str, note: Option<&'a str> },
    /// An applicant's mail carried integration data; complete and sound data completes
    /// step 4 (newer data replaces older, a corrected mail fixes a mistake).
    Integration(&'a crate::integration::IntegrationData),
    /// Certificates a mail got accepted or confirmed, each with the environment the
    /// applicant gave it for (if they did).
    Certificates(&'a [certificates::CaseCertificate]),
    /// A message of ours to the applicant did not arrive (refused, given up, bounced):
    /// on the timeline, so staff looking at the case know to call instead.
    ReplyFailed { to: &'a str, reason: &'a str },
}

/// What the applicant must be told after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A step was completed by staff: say so, and name the next one.
    TellStepDone(Step),
    /// The integration is complete (step 8): the completion notice.
    TellCompleted,
    /// The case has waited on the applicant: remind them of the next step.
    TellReminder,
}

/// The case state machine: the case after `event`, and what to tell the applicant.
/// Steps may complete in any order (a certificate before the form); the next required
/// step is always the first one not done. Completing a step twice changes nothing.
pub fn apply(case: &Case, event: Event<'_>, now: OffsetDateTime) -> (Case, Vec<Action>) {
    let mut c = case.clone();
    let mut actions = Vec::new();
    match event {
        Event::Mail {
            decision,
            message_id,
            evidence,
            sender,
            doubt,
        } => c.on_mail(decision, message_id, evidence, sender, doubt, now),
        Event::CertificateDoubted { why } => c.open_certificate_check(why, now),
        Event::StepDone { step, by, note } => actions.extend(c.on_step_done(step, by, note, now)),
        Event::Note { by, text } => c.log(now, format!("note by {by}: {text}")),
        Event::Allow { by, member } => {
            let member = member.trim().to_ascii_lowercase();
            if !c.members.contains(&member) {
                c.members.push(member.clone());
                c.log(
                    now,
                    format!(
                        "{by} added {member} to the institution: its mail may change this case"
                    ),
                );
            }
        }
        Event::ReplyFailed { to, reason } => {
            c.unreachable = true;
            c.log(now, format!("our message to {to} did not arrive: {reason}"))
        }
        Event::Integration(data) => c.on_integration(data, now),
        Event::Certificates(list) => c.on_certificates(list, now),
        Event::Remind => {
            // Not a change of the case: the days waiting keep counting.
            c.last_reminder = Some(now);
            c.timeline.push(TimelineEntry {
                at: now,
                what: "reminder sent to the applicant".into(),
            });
            actions.push(Action::TellReminder);
        }
        Event::Reopen { step, by, note } => c.on_reopen(step, by, note, now),
        Event::Asked { question } => {
            c.question = Some(Question {
                text: question.to_string(),
                at: now,
            });
            c.log(now, format!("question for a person: {question}"));
        }
        Event::Answered { by, note } => {
            if c.question.take().is_some() {
                c.log(now, format!("question answered by {by}{}", with_note(note)));
            } else {
                c.log(
                    now,
                    format!("{by} marked a question answered; none was open"),
                );
            }
        }
    }
    c.sync_clocks(now);
    (c, actions)
}

impl Case {
    /// The applicant wrote: the mail is on the timeline, and an accepted certificate
    /// completes the certificate step (a second one is noted, the first stays).
    fn on_mail(
        &mut self,
        decision: Decision,
        message_id: &str,
        evidence: &str,
        sender: &str,
        doubt: Option<&str>,
        now: OffsetDateTime,
    ) {
        // They wrote: the address works (a reply to it may still fail later).
        self.unreachable = false;
        if !message_id.is_empty() && !self.message_ids.iter().any(|m| m == message_id) {
            self.message_ids.push(message_id.to_string());
        }
        // A mail without a certificate in a case whose certificate is in asks for
        // nothing: the case does not record it as "need certificate".
        let what = if decision == Decision::NeedCertificate
            && self.done.contains_key(&Step::Certificate)
        {
            "message (certificate already received)".to_string()
        } else {
            self.last_decision = Some(decision);
            decision.to_string()
        };
        if sender.is_empty() {
            self.log(now, format!("mail {message_id}: {what}"));
        } else {
            self.log(now, format!("mail {message_id} from {sender}: {what}"));
        }
        if !matches!(
            decision,
            Decision::NewCertificate | Decision::ReuseConfirmed
        ) {
            return;
        }
        if let Some(why) = doubt {
            // Another institution's certificate never completes a step: a person looks.
            self.open_certificate_check(why, now);
            return;
        }
        if let Some(first) = self.done.get(&Step::Certificate) {
            // A second certificate: kept on the timeline, the first stays the step's
            // evidence until staff reopen the step.
            let note = format!(
                "another certificate received ({evidence}); step kept with {}",
                first.evidence
            );
            self.log(now, note);
        } else {
            let evidence = if message_id.is_empty() {
                evidence.to_string()
            } else {
                format!("{evidence} (mail {message_id})")
            };
            self.complete(Step::Certificate, "applicant", evidence, now);
        }
    }

    /// Step 3 waits on staff: `why` is on the timeline and in the check.
    fn open_certificate_check(&mut self, why: &str, now: OffsetDateTime) {
        self.log(now, format!("staff check of the certificate: {why}"));
        if self.certificate_check.is_none() {
            self.certificate_check = Some(Question {
                text: why.to_string(),
                at: now,
            });
        }
    }

    /// Staff completed a step: what to tell the applicant (nothing when it was done
    /// already). Production done completes the case.
    fn on_step_done(
        &mut self,
        step: Step,
        by: &str,
        note: Option<&str>,
        now: OffsetDateTime,
    ) -> Option<Action> {
        if self.done.contains_key(&step) {
            self.log(
                now,
                format!("{} already done; {by} marked it again", step.code()),
            );
            return None;
        }
        let evidence = note.unwrap_or("recorded by staff").to_string();
        if step == Step::Certificate && self.certificate_check.take().is_some() {
            self.log(now, format!("certificate check closed by {by}"));
        }
        self.complete(step, by, evidence, now);
        self.log(
            now,
            format!("{} done by {by}{}", step.code(), with_note(note)),
        );
        if step != Step::Production && step != Step::Completed {
            return Some(Action::TellStepDone(step));
        }
        // Activation in production is what the final notice announces.
        if !self.done.contains_key(&Step::Completed) {
            self.complete(Step::Completed, by, "completion notice".into(), now);
            self.log(now, "completed: completion notice to the applicant".into());
        }
        Some(Action::TellCompleted)
    }

    /// Integration data read from the applicant's mail: kept; complete data completes
    /// its step.
    fn on_integration(&mut self, data: &crate::integration::IntegrationData, now: OffsetDateTime) {
        self.integration = Some(data.clone());
        let summary = data.summary();
        if data.is_complete() && !self.done.contains_key(&Step::IntegrationData) {
            self.complete(Step::IntegrationData, "applicant", summary.clone(), now);
            self.log(now, format!("integration data received: {summary}"));
        } else {
            self.log(
                now,
                format!("integration data (incomplete or to correct): {summary}"),
            );
        }
    }

    /// Staff reopened a step (and completion with it, for a step up to production).
    fn on_reopen(&mut self, step: Step, by: &str, note: Option<&str>, now: OffsetDateTime) {
        if step == Step::Certificate && self.certificate_check.take().is_some() {
            self.log(now, format!("certificate check closed by {by}"));
        }
        let mut undone = vec![step];
        if step <= Step::Production {
            // Production cannot stay complete on top of a reopened step.
            undone.push(Step::Completed);
        }
        let removed: Vec<&str> = undone
            .into_iter()
            .filter(|s| self.done.remove(s).is_some())
            .map(Step::code)
            .collect();
        let not_done = if removed.is_empty() {
            " (it was not done)"
        } else {
            ""
        };
        self.log(
            now,
            format!(
                "{} reopened by {by}{}{not_done}",
                step.code(),
                with_note(note)
            ),
        );
    }
}

/// Two ways of writing one system's name: spacing and case do not count.
pub fn same_system(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

fn with_note(note: Option<&str>) -> String {
    note.map(|n| format!(": {n}")).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests;
