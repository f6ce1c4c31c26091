//! The staff digest: what happened in the mailbox since the last one and what waits on
//! whom, so AGE staff see the whole pipeline without opening the mailbox. Pure: built
//! from store records, cases and the registry at a given time, rendered as plain text
//! and as HTML that reads well in Outlook (tables, inline styles), and composed as one
//! message with the accepted `.cer` files attached for configuration. In the staff
//! language (`[agency] staff_language`, Romanian by default): it is for AGE staff.

use sha2::Digest as _;
use time::{Duration, OffsetDateTime};

use crate::case::clock::{Owed, Promise, Standing};
use crate::case::{Case, Party, Step};
use crate::decision::Decision;
use crate::intake::automatic::OWN_MARKER_HEADER;
use crate::problem::Problem;
use crate::record::Outcome;
use crate::record::{AcceptedCertificate, MessageId, OutboxEntry, OutboxState, SeenRecord};
use crate::registry::{Registry, Status};
use crate::reply::one_line;
use mail_builder::headers::address::Address;
use mail_builder::headers::raw::Raw;
use mail_builder::MessageBuilder;

/// Tunables, from `[digest]` (and `[imap]` for the folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSettings {
    /// A case waiting on the applicant this many days is stalled.
    pub stalled_days: u32,
    /// Known certificates expiring within this many days are listed.
    pub expiring_days: u32,
    /// Where mail left for people goes (`None`: it stays in the inbox).
    pub needs_human_folder: Option<String>,
    /// The agency's short name (`[agency] short_name`), as headings use it.
    pub agency: String,
    /// The staff language: the digest's words and its notes.
    pub language: crate::intake::Language,
    /// `[response_time]`: which cases are at risk or past AGE's promised time.
    pub response: Promise,
    /// The services' procedures: each case's steps are its service's.
    pub procedures: crate::procedure::Catalogue,
    /// The digest of one service's cases (its tag), for its staff; `None`: all.
    pub service: Option<String>,
}

impl DigestSettings {
    /// The heading of the "left for people" list, naming where staff find that mail.
    fn unhandled_heading(&self) -> String {
        let w = words::words(self.language);
        match &self.needs_human_folder {
            Some(folder) => w.unhandled_in.replace("{folder}", folder),
            None => w.unhandled_inbox.into(),
        }
    }
}

/// One handled message, as the digest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailLine {
    pub at: OffsetDateTime,
    pub from: String,
    pub subject: String,
    pub case: Option<String>,
    pub outcome: Outcome,
    pub problems: Vec<Problem>,
    /// Why it got no reply, or why it waits for staff.
    pub note: Option<String>,
}

/// A certificate accepted or confirmed, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateLine {
    pub mail: MailLine,
    pub certificate: AcceptedCertificate,
    /// Whether its case's procedure tells test and production apart (then a missing
    /// environment is worth saying).
    pub environments_apart: bool,
}

/// A case as the digest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLine {
    pub token: String,
    /// The case's service (a procedure's code).
    pub service: String,
    pub applicant: String,
    /// The next step the applicant was told ([`Case::next_step_told`]).
    pub next_step: Option<Step>,
    pub days_idle: i64,
    /// The last decision on the applicant's mail.
    pub last_decision: Option<Decision>,
    /// Staff check the certificate it accepted: not confirmed yet.
    pub under_check: bool,
    /// What the case waits for the agency to do ([`Case::owed`]).
    pub owes: Option<Owed>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringLine {
    pub serial: String,
    pub subject: String,
    pub institution: String,
    pub services: Vec<String>,
    pub not_after: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub since: OffsetDateTime,
    pub now: OffsetDateTime,
    pub new_cases: Vec<CaseLine>,
    pub accepted: Vec<CertificateLine>,
    pub reused: Vec<CertificateLine>,
    /// Rejected, number not found, ambiguous: the applicant was asked for something.
    pub rejected: Vec<MailLine>,
    pub waiting_on_age: Vec<CaseLine>,
    /// Cases at risk of missing AGE's promised response time, or past it; the latest
    /// first.
    pub late: Vec<LateLine>,
    /// Applicants' questions waiting for a person.
    pub questions: Vec<QuestionLine>,
    pub stalled: Vec<CaseLine>,
    pub expiring: Vec<ExpiringLine>,
    /// Left for people: not about MNotify, unreadable, oversized, over a reply cap.
    pub unhandled: Vec<MailLine>,
    /// Senders who could not be authenticated, and delivery reports ignored.
    pub unverified: Vec<MailLine>,
    /// Certificates that do not fit the institution that sent them (the note says how).
    pub checks: Vec<MailLine>,
    /// Replies the mail server refused for good or that ran out of attempts.
    pub failed_replies: Vec<FailedReply>,
    /// Mail in the junk folder looked at and left alone since the last digest.
    pub junk_left: u64,
    /// The mailbox application's credential, when it expires within
    /// [`CREDENTIAL_WARNING_DAYS`] or has expired.
    pub credential: Option<Credential>,
    pub settings: DigestSettings,
}

/// A case near or past AGE's promised response time.
#[derive(Debug, Clone, PartialEq)]
pub struct LateLine {
    pub token: String,
    pub service: String,
    pub applicant: String,
    pub owed: Owed,
    /// Working days counted, and left (negative once overdue).
    pub used: f64,
    pub left: f64,
    pub due: OffsetDateTime,
    pub standing: Standing,
}

/// An applicant's open question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionLine {
    pub token: String,
    pub applicant: String,
    pub question: String,
    pub days_open: i64,
}

/// A reply that could not be delivered: someone should write to the applicant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedReply {
    pub to: String,
    pub case: Option<String>,
    pub error: String,
}

impl Digest {
    /// Nothing happened and nothing waits: no need to send.
    pub fn is_empty(&self) -> bool {
        self.new_cases.is_empty()
            && self.accepted.is_empty()
            && self.reused.is_empty()
            && self.rejected.is_empty()
            && self.waiting_on_age.is_empty()
            && self.late.is_empty()
            && self.questions.is_empty()
            && self.stalled.is_empty()
            && self.expiring.is_empty()
            && self.unhandled.is_empty()
            && self.unverified.is_empty()
            && self.checks.is_empty()
            && self.failed_replies.is_empty()
            && self.junk_left == 0
            && self.credential.is_none()
    }

    /// Adds how much junk was left alone in the window.
    pub fn with_junk_left(mut self, count: u64) -> Digest {
        self.junk_left = count;
        self
    }

    /// Adds the replies that failed for good. Retries last hours at most, so a reply
    /// queued in the day before the window that failed since is in this digest.
    pub fn with_failed_replies(mut self, outbox: &[OutboxEntry]) -> Digest {
        let from = self.since - Duration::days(1);
        self.failed_replies = outbox
            .iter()
            .filter(|e| {
                // A bounce may come days after the reply: it counts when it came.
                let when = e.failed_at.unwrap_or(e.created_at);
                e.state == OutboxState::Failed && when >= from && when < self.now
            })
            .map(|e| FailedReply {
                to: e.to.clone(),
                case: e.case.clone(),
                error: e.last_error.clone().unwrap_or_default(),
            })
            .collect();
        self
    }
}

fn mail_line(r: &SeenRecord, lang: crate::intake::Language) -> MailLine {
    MailLine {
        at: r.at,
        from: r
            .from
            .clone()
            .unwrap_or_else(|| words::words(lang).unknown_sender.into()),
        subject: r.subject.clone().unwrap_or_default(),
        case: r.case.clone(),
        outcome: r.outcome,
        problems: r.problems.clone(),
        note: r.note_in(lang),
    }
}

/// Mail staff must look at because of who sent it: not authenticated (held, or
/// processed under `senders = "flag"`), or a delivery report from the wrong side.
fn about_trust(r: &SeenRecord) -> bool {
    r.held
        || r.flagged
        || r.note
            .as_deref()
            .is_some_and(|n| n.contains("delivery report"))
}

fn case_line(c: &Case, procedures: &crate::procedure::Catalogue, now: OffsetDateTime) -> CaseLine {
    let procedure = procedures.procedure_of(&c.service);
    CaseLine {
        token: c.token.clone(),
        service: c.service.clone(),
        applicant: c.applicant.clone(),
        next_step: c.next_step_told(procedure),
        days_idle: (now - c.updated_at).whole_days(),
        last_decision: c.last_decision,
        under_check: c.certificate_check.is_some(),
        owes: c.owed(procedure),
    }
}

/// A mail whose applicant was asked for something: rejected, number not found,
/// ambiguous.
fn asked_again(r: &SeenRecord) -> bool {
    matches!(
        r.outcome,
        Outcome::Decided(Decision::Rejected | Decision::SerialNotFound | Decision::Ambiguous)
    )
}

/// Builds the digest of `[since, now)`.
pub fn build(
    records: &[SeenRecord],
    cases: &[Case],
    registry: &Registry,
    since: OffsetDateTime,
    now: OffsetDateTime,
    settings: DigestSettings,
) -> Digest {
    let mut window: Vec<&SeenRecord> = records
        .iter()
        .filter(|r| r.at >= since && r.at < now)
        .collect();
    window.sort_by_key(|r| r.at);
    let mails = |keep: &dyn Fn(&SeenRecord) -> bool| -> Vec<MailLine> {
        window
            .iter()
            .filter(|r| keep(r))
            .map(|r| mail_line(r, settings.language))
            .collect()
    };
    let mut sorted_cases: Vec<&Case> = cases.iter().collect();
    sorted_cases.sort_by_key(|c| c.opened_at);
    let stalled_after = Duration::days(settings.stalled_days.into());
    let procedures = &settings.procedures;
    let procedure = |c: &Case| procedures.procedure_of(&c.service);
    // Whether the case a mail went to tells environments apart.
    let apart = |token: Option<&str>| {
        let case = token.and_then(|t| cases.iter().find(|c| c.token == t));
        case.is_some_and(|c| procedure(c).environments_apart())
    };
    let settled = settled(&window, cases);
    let certificates = |decision| {
        let outcome = Outcome::Decided(decision);
        certificate_lines(&settled, outcome, &apart, settings.language)
    };
    let case_lines = |keep: &dyn Fn(&Case) -> bool| -> Vec<CaseLine> {
        sorted_cases
            .iter()
            .filter(|c| keep(c))
            .map(|c| case_line(c, procedures, now))
            .collect()
    };
    Digest {
        since,
        now,
        new_cases: case_lines(&|c| c.opened_at >= since && c.opened_at < now),
        accepted: certificates(Decision::NewCertificate),
        reused: certificates(Decision::ReuseConfirmed),
        rejected: mails(&asked_again),
        waiting_on_age: case_lines(&|c| c.waiting_on(procedure(c)) == Some(Party::Age)),
        late: late(cases, &settings.procedures, &settings.response, now),
        questions: question_lines(&sorted_cases, now),
        stalled: case_lines(&|c| {
            c.waiting_on(procedure(c)) == Some(Party::Applicant)
                && now - c.updated_at >= stalled_after
        }),
        expiring: expiring(registry, now, settings.expiring_days),
        unverified: mails(&about_trust),
        checks: check_lines(&window, settings.language),
        unhandled: mails(&|r| {
            !r.held
                && (matches!(
                    r.outcome,
                    Outcome::Decided(Decision::NotApplicable)
                        | Outcome::Oversized
                        | Outcome::Unreadable
                ) || (r.destination.is_some() && r.destination == settings.needs_human_folder))
        }),
        failed_replies: Vec::new(),
        junk_left: 0,
        credential: None,
        settings,
    }
}

/// The applicants' questions waiting for a person, the oldest case first.
fn question_lines(cases: &[&Case], now: OffsetDateTime) -> Vec<QuestionLine> {
    cases
        .iter()
        .filter_map(|c| {
            let q = c.question.as_ref()?;
            Some(QuestionLine {
                token: c.token.clone(),
                applicant: c.applicant.clone(),
                question: q.text.clone(),
                days_open: (now - q.at).whole_days(),
            })
        })
        .collect()
}

/// The mails with something for staff to check, each with what.
fn check_lines(window: &[&SeenRecord], lang: crate::intake::Language) -> Vec<MailLine> {
    window
        .iter()
        .filter(|r| !r.warnings.is_empty())
        .map(|r| MailLine {
            note: r.warnings_in(lang),
            ..mail_line(r, lang)
        })
        .collect()
}

/// The cases at risk or overdue against `promise`, the latest (fewest days left) first.
pub fn late(
    cases: &[Case],
    procedures: &crate::procedure::Catalogue,
    promise: &Promise,
    now: OffsetDateTime,
) -> Vec<LateLine> {
    let mut out: Vec<LateLine> = cases
        .iter()
        .filter_map(|c| {
            let r = c.response(procedures.procedure_of(&c.service), promise, now)?;
            (r.standing != Standing::OnTime).then(|| LateLine {
                token: c.token.clone(),
                service: c.service.clone(),
                applicant: c.applicant.clone(),
                owed: r.owed,
                used: r.used,
                left: r.left,
                due: r.due,
                standing: r.standing,
            })
        })
        .collect();
    out.sort_by(|a, b| a.left.total_cmp(&b.left));
    out
}

/// The certificates accepted (or confirmed) by the mail of the window with `outcome`.
/// The mails whose case is not under a certificate check: a certificate under check
/// is neither accepted nor a confirmed reuse yet (its case waits on the agency).
fn settled<'r>(window: &[&'r SeenRecord], cases: &[Case]) -> Vec<&'r SeenRecord> {
    let checked = |t: &str| {
        cases
            .iter()
            .any(|c| c.token == t && c.certificate_check.is_some())
    };
    let open = |r: &&&SeenRecord| !r.case.as_deref().is_some_and(checked);
    window.iter().filter(open).copied().collect()
}

fn certificate_lines(
    window: &[&SeenRecord],
    outcome: Outcome,
    apart: &dyn Fn(Option<&str>) -> bool,
    lang: crate::intake::Language,
) -> Vec<CertificateLine> {
    window
        .iter()
        .filter(|r| r.outcome == outcome)
        .flat_map(|r| {
            r.accepted.iter().map(|c| CertificateLine {
                mail: mail_line(r, lang),
                certificate: c.clone(),
                environments_apart: apart(r.case.as_deref()),
            })
        })
        .collect()
}

/// Active known certificates that expire within `days` of `now`, soonest first.
fn expiring(registry: &Registry, now: OffsetDateTime, days: u32) -> Vec<ExpiringLine> {
    let horizon = now + Duration::days(days.into());
    let mut out: Vec<ExpiringLine> = registry
        .entries()
        .iter()
        .filter(|k| k.status == Status::Active)
        .filter_map(|k| {
            let at = k.not_after?;
            (at > now && at <= horizon).then(|| ExpiringLine {
                serial: k.serial.clone(),
                subject: k.subject.clone().unwrap_or_default(),
                institution: k.institution.clone().unwrap_or_default(),
                services: k.services.iter().cloned().collect(),
                not_after: at,
            })
        })
        .collect();
    out.sort_by_key(|e| e.not_after);
    out
}

/// A step in the staff language, numbered, with its service's tag when it is not
/// MNotify's (staff lists mix services); the agency's steps say so (`agency`: its
/// short name).
fn step_said(
    procedure: &crate::procedure::Procedure,
    step: Option<Step>,
    agency: &str,
    language: crate::intake::Language,
) -> String {
    // Every service's steps said the same way: its tag, the number, the short name.
    let tag = format!("{} ", procedure.tag);
    match step {
        None => format!("{tag}{}", words::words(language).completed),
        Some(s) => {
            let name = procedure.short_of(s, language, agency);
            if procedure.party(s) == Party::Age && !name.contains(agency) {
                format!("{tag}{}. {name} ({agency})", procedure.number(s))
            } else {
                format!("{tag}{}. {name}", procedure.number(s))
            }
        }
    }
}

fn day(t: OffsetDateTime) -> String {
    format!("{:02}.{:02}.{}", t.day(), u8::from(t.month()), t.year())
}

fn problems(problems: &[Problem], language: crate::intake::Language) -> String {
    problems
        .iter()
        .map(|p| p.words(language))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The subject line: the date and the numbers that matter.
pub fn subject(d: &Digest) -> String {
    let overdue = d
        .late
        .iter()
        .filter(|l| l.standing == Standing::Overdue)
        .count();
    let w = words::words(d.settings.language);
    format!(
        "{}, {} — {}: {}, {}: {}, {}: {}{}",
        render::title(d),
        day(d.now),
        w.count_new,
        d.new_cases.len(),
        w.count_accepted,
        d.accepted.len(),
        w.count_waiting.replace("{agency}", &d.settings.agency),
        d.waiting_on_age.len(),
        if overdue > 0 {
            format!(", {}: {overdue}", w.count_overdue)
        } else {
            String::new()
        }
    )
}

/// A certificate's attachment name: its serial, so staff find it again.
fn file_name(c: &AcceptedCertificate) -> String {
    format!("{}.cer", c.serial)
}

/// The digest as one message: text and HTML alternatives, the accepted certificates
/// attached. Marked automatic and ours, so it is never answered or processed.
pub fn compose(d: &Digest, from: &str, from_name: &str, to: &[String]) -> (MessageId, Vec<u8>) {
    let seed = format!(
        "digest/{}/{}{}",
        d.since.unix_timestamp(),
        d.now.unix_timestamp(),
        d.settings
            .service
            .as_deref()
            .map(|s| format!("/{s}"))
            .unwrap_or_default()
    );
    let digest = hex::encode(&sha2::Sha256::digest(seed.as_bytes())[..12]);
    let domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let message_id = MessageId::ours(&format!("mnotify.digest.{digest}"), domain);
    let recipients = to
        .iter()
        .map(|t| Address::new_address(None::<&str>, one_line(t)))
        .collect();
    let mut message = MessageBuilder::new()
        .from(Address::new_address(Some(one_line(from_name)), from))
        .to(Address::new_list(recipients))
        .subject(subject(d))
        .date(d.now.unix_timestamp())
        .message_id(message_id.bare())
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .header(OWN_MARKER_HEADER, Raw::new("digest"))
        .text_body(render_text(d))
        .html_body(render_html(d));
    for line in &d.accepted {
        if let Some(der) = &line.certificate.der {
            message = message.attachment(
                "application/pkix-cert",
                file_name(&line.certificate),
                der.as_slice(),
            );
        }
    }
    let raw = message
        .write_to_vec()
        .expect("writing to memory does not fail");
    (message_id, raw)
}

mod credential;
mod render;
mod schedule;
mod sections;
mod words;

pub use credential::{Credential, CREDENTIAL_WARNING_DAYS};
pub use render::{render_html, render_text};
pub use schedule::{due, last_scheduled};

#[cfg(test)]
mod tests;
