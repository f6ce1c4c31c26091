//! How a case changes: [`apply`] takes one event (an applicant's mail, a staff step, a
//! question, a reminder…) to the case after it and what the applicant must be told.

use time::OffsetDateTime;

use super::*;
use crate::remark::Remark;

fn owned(note: Option<&str>) -> Option<String> {
    note.map(str::to_string)
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
    pub doubt: Option<&'a [Remark]>,
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
    /// Another mail doubts the case's certificate: a staff check opens, unless the
    /// applicant was told the step is done (then it is noted and stays done,
    /// [`Remark::DisputedLater`]: the later mail carries the check).
    CertificateDoubted { why: &'a [Remark] },
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
    /// Staff wrote to the applicant: from the case (`by` is who), or in the mailbox
    /// itself (`in_mailbox`, found in its Sent folder). An open question is answered.
    AnswerSent { by: &'a str, in_mailbox: bool },
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
        Event::CertificateDoubted { why } => c.doubt_certificate(procedure, why, now),
        Event::StepDone { step, by, note } => {
            actions.extend(c.on_step_done(procedure, step, by, note, now))
        }
        Event::Note { by, text } => c.log(
            now,
            Remark::StaffNote {
                by: by.into(),
                text: text.into(),
            },
        ),
        Event::Allow { by, member } => {
            let member = member.trim().to_ascii_lowercase();
            if !c.members.contains(&member) {
                c.members.push(member.clone());
                c.log(
                    now,
                    Remark::MemberAdded {
                        by: by.into(),
                        member,
                    },
                );
            }
        }
        Event::ReplyFailed { to, reason } => {
            c.unreachable = true;
            c.log(
                now,
                Remark::ReplyFailed {
                    to: to.into(),
                    reason: reason.into(),
                },
            )
        }
        Event::Integration(data) => c.on_integration(procedure, data, now),
        Event::Certificates(list) => c.on_certificates(list, now),
        Event::Remind => {
            // Not a change of the case: the days waiting keep counting.
            c.last_reminder = Some(now);
            c.timeline
                .push(TimelineEntry::new(now, Remark::ReminderSent));
            actions.push(Action::TellReminder);
        }
        Event::Reopen { step, by, note } => c.on_reopen(procedure, step, by, note, now),
        Event::Asked { question } => {
            c.question = Some(Question::asked(question, now));
            c.log(
                now,
                Remark::QuestionAsked {
                    question: question.into(),
                },
            );
        }
        Event::Answered { by, note } => c.on_answered(by, note, now),
        Event::AnswerSent { by, in_mailbox } => c.on_answer_sent(by, in_mailbox, now),
    }
    c.sync_clocks(procedure, now);
    (c, actions)
}

impl Case {
    /// Staff marked the open question answered (there may be none).
    fn on_answered(&mut self, by: &str, note: Option<&str>, now: OffsetDateTime) {
        let remark = match self.question.take() {
            Some(_) => Remark::QuestionAnswered {
                by: by.into(),
                note: owned(note),
            },
            None => Remark::NoQuestionOpen { by: by.into() },
        };
        self.log(now, remark);
    }

    /// Staff wrote to the applicant: an open question is answered by it.
    fn on_answer_sent(&mut self, by: &str, in_mailbox: bool, now: OffsetDateTime) {
        let question = self.question.take().is_some();
        self.log(
            now,
            Remark::AnswerSent {
                by: by.into(),
                in_mailbox,
                question,
            },
        );
    }

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
        let decided = if decision == Decision::NeedCertificate && self.certificates_done(procedure)
        {
            None
        } else {
            self.last_decision = Some(decision);
            Some(decision)
        };
        self.log(
            now,
            Remark::Mail {
                message_id: message_id.into(),
                sender: sender.into(),
                decision: decided,
                checked: doubt.is_some()
                    && matches!(
                        decision,
                        Decision::NewCertificate | Decision::ReuseConfirmed
                    ),
            },
        );
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
                let note = Remark::AnotherCertificate {
                    evidence: evidence.into(),
                    kept: first.evidence.clone(),
                };
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
    fn doubt_certificate(&mut self, procedure: &Procedure, why: &[Remark], now: OffsetDateTime) {
        if self.certificates_done(procedure) {
            self.log(now, Remark::DisputedLater { why: why.to_vec() });
        } else {
            self.open_certificate_check(why, now);
        }
    }

    fn open_certificate_check(&mut self, why: &[Remark], now: OffsetDateTime) {
        self.log(now, Remark::CertificateCheck { why: why.to_vec() });
        if self.certificate_check.is_none() {
            self.certificate_check = Some(Question {
                text: crate::remark::say_all(why, crate::intake::Language::En),
                at: now,
                why: why.to_vec(),
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
                Remark::StepAgain {
                    step: step.code().into(),
                    by: by.into(),
                },
            );
            return None;
        }
        let evidence = note.unwrap_or("recorded by staff").to_string();
        let takes_certificate = procedure.certificate_steps().any(|s| s.code == step);
        if takes_certificate && self.certificate_check.take().is_some() {
            self.log(now, Remark::CheckClosed { by: by.into() });
        }
        self.complete(step, by, evidence, now);
        self.log(
            now,
            Remark::StepDone {
                step: step.code().into(),
                by: by.into(),
                note: owned(note),
            },
        );
        let completion = procedure.completion();
        if Some(step) != procedure.activation() && step != completion {
            return Some(Action::TellStepDone(step));
        }
        // Activation in production is what the final notice announces.
        if !self.done.contains_key(&completion) {
            self.complete(completion, by, "completion notice".into(), now);
            self.log(now, Remark::Completed);
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
            self.log(
                now,
                Remark::Integration {
                    summary,
                    complete: true,
                },
            );
        } else {
            self.log(
                now,
                Remark::Integration {
                    summary,
                    complete: false,
                },
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
            self.log(now, Remark::CheckClosed { by: by.into() });
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
        self.log(
            now,
            Remark::Reopened {
                step: step.code().into(),
                by: by.into(),
                note: owned(note),
                was_done: !removed.is_empty(),
            },
        );
    }
}
