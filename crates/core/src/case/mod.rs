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

pub mod certificates;
pub mod clock;
pub mod merge;
mod strands;

pub use crate::procedure::{Party, Step};
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

/// An applicant's mail, decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailEvent<'a> {
    pub decision: Decision,
    pub message_id: &'a str,
    pub evidence: &'a str,
    /// Who sent it and whether that was authenticated; empty when unknown.
    pub sender: &'a str,
    /// Why its certificate may belong to another institution: the step is not
    /// completed, a staff check is opened instead.
    pub doubt: Option<&'a str>,
    /// The certificates it got accepted or confirmed, each with the environment the
    /// applicant gave it for (if they did).
    pub certificates: &'a [certificates::CaseCertificate],
}

/// Something that happens to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// An applicant's mail was decided. A certificate accepted or a reuse confirmed
    /// completes the step waiting for it (the one for its environment when the
    /// procedure asks one per environment).
    Mail(MailEvent<'a>),
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
    /// The integration is complete (the procedure's last step): the completion notice.
    TellCompleted,
    /// The case has waited on the applicant: remind them of the next step.
    TellReminder,
}

/// The case state machine: the case after `event` in its service's `procedure`, and
/// what to tell the applicant. Steps may complete in any order (a certificate before
/// the form); the next required step is always the first one not done. Completing a
/// step twice changes nothing.
pub fn apply(
    procedure: &Procedure,
    case: &Case,
    event: Event<'_>,
    now: OffsetDateTime,
) -> (Case, Vec<Action>) {
    let mut c = case.clone();
    let mut actions = Vec::new();
    match event {
        Event::Mail(mail) => c.on_mail(procedure, mail, now),
        Event::CertificateDoubted { why } => c.open_certificate_check(why, now),
        Event::StepDone { step, by, note } => {
            actions.extend(c.on_step_done(procedure, step, by, note, now))
        }
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
        Event::Integration(data) => c.on_integration(procedure, data, now),
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
        Event::Reopen { step, by, note } => c.on_reopen(procedure, step, by, note, now),
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
    c.sync_clocks(procedure, now);
    (c, actions)
}

impl Case {
    /// The applicant wrote: the mail is on the timeline, its certificates are kept with
    /// their environments, and an accepted certificate completes the step waiting for
    /// it (a second one is noted, the first stays).
    fn on_mail(&mut self, procedure: &Procedure, mail: MailEvent<'_>, now: OffsetDateTime) {
        let MailEvent {
            decision,
            message_id,
            evidence,
            sender,
            doubt,
            certificates,
        } = mail;
        // They wrote: the address works (a reply to it may still fail later).
        self.unreachable = false;
        if !message_id.is_empty() && !self.message_ids.iter().any(|m| m == message_id) {
            self.message_ids.push(message_id.to_string());
        }
        // A mail without a certificate in a case whose certificates are in asks for
        // nothing: the case does not record it as "need certificate".
        let what = if decision == Decision::NeedCertificate && self.certificates_done(procedure) {
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
        if !certificates.is_empty() {
            self.on_certificates(certificates, now);
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
        let with_mail = if message_id.is_empty() {
            evidence.to_string()
        } else {
            format!("{evidence} (mail {message_id})")
        };
        for step in self.certificate_steps_completed(procedure, certificates) {
            if let Some(first) = self.done.get(&step) {
                // A second certificate: kept on the timeline, the first stays the
                // step's evidence until staff reopen the step.
                let note = format!(
                    "another certificate received ({evidence}); step kept with {}",
                    first.evidence
                );
                self.log(now, note);
            } else {
                self.complete(step, "applicant", with_mail.clone(), now);
            }
        }
    }

    /// The steps a mail's accepted certificates complete: the only certificate step,
    /// or, when the procedure asks one per environment, the step of each certificate's
    /// environment (as the case now records it), and for a certificate of no stated
    /// environment the first such step still open.
    fn certificate_steps_completed(
        &self,
        procedure: &Procedure,
        certificates: &[certificates::CaseCertificate],
    ) -> Vec<Step> {
        let steps: Vec<&crate::procedure::ProcedureStep> = procedure.certificate_steps().collect();
        if steps.len() <= 1 || steps.iter().all(|s| s.environment.is_none()) {
            return steps.first().map(|s| s.code).into_iter().collect();
        }
        let mut out: Vec<Step> = Vec::new();
        for given in certificates {
            let environment = self
                .certificates
                .iter()
                .rev()
                .find(|c| c.serial == given.serial)
                .and_then(|c| c.environment);
            let step = match environment {
                Some(env) => steps
                    .iter()
                    .find(|s| s.environment == Some(env))
                    .map(|s| s.code),
                None => steps
                    .iter()
                    .map(|s| s.code)
                    .find(|s| !self.done.contains_key(s) && !out.contains(s)),
            };
            if let Some(step) = step.filter(|s| !out.contains(s)) {
                out.push(step);
            }
        }
        if out.is_empty() && certificates.is_empty() {
            // Confirmed without a certificate to record (a test's bare decision).
            out.extend(self.certificate_step_open(procedure));
        }
        out
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
        procedure: &Procedure,
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
        let takes_certificate = procedure.certificate_steps().any(|s| s.code == step);
        if takes_certificate && self.certificate_check.take().is_some() {
            self.log(now, format!("certificate check closed by {by}"));
        }
        self.complete(step, by, evidence, now);
        self.log(
            now,
            format!("{} done by {by}{}", step.code(), with_note(note)),
        );
        let completion = procedure.completion();
        if Some(step) != procedure.activation() && step != completion {
            return Some(Action::TellStepDone(step));
        }
        // Activation in production is what the final notice announces.
        if !self.done.contains_key(&completion) {
            self.complete(completion, by, "completion notice".into(), now);
            self.log(now, "completed: completion notice to the applicant".into());
        }
        Some(Action::TellCompleted)
    }

    /// Integration data read from the applicant's mail: kept; complete data completes
    /// its step.
    fn on_integration(
        &mut self,
        procedure: &Procedure,
        data: &crate::integration::IntegrationData,
        now: OffsetDateTime,
    ) {
        self.integration = Some(data.clone());
        let summary = data.summary();
        let step = procedure.integration_step();
        if let Some(step) = step.filter(|s| data.is_complete() && !self.done.contains_key(s)) {
            self.complete(step, "applicant", summary.clone(), now);
            self.log(now, format!("integration data received: {summary}"));
        } else {
            self.log(
                now,
                format!("integration data (incomplete or to correct): {summary}"),
            );
        }
    }

    /// Staff reopened a step (and completion with it, for a step before it).
    fn on_reopen(
        &mut self,
        procedure: &Procedure,
        step: Step,
        by: &str,
        note: Option<&str>,
        now: OffsetDateTime,
    ) {
        if procedure.certificate_steps().any(|s| s.code == step)
            && self.certificate_check.take().is_some()
        {
            self.log(now, format!("certificate check closed by {by}"));
        }
        let mut undone = vec![step];
        let completion = procedure.completion();
        if step != completion {
            // Production cannot stay complete on top of a reopened step.
            undone.push(completion);
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

fn with_note(note: Option<&str>) -> String {
    note.map(|n| format!(": {n}")).unwrap_or_default()
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
