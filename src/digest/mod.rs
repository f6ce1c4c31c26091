//! The staff digest: what happened in the mailbox since the last one and what waits on
//! whom, so AGE staff see the whole pipeline without opening the mailbox. Pure: built
//! from store records, cases and the registry at a given time, rendered as plain text
//! and as HTML that reads well in Outlook (tables, inline styles), and composed as one
//! message with the accepted `.cer` files attached for configuration. In Romanian: it
//! is for AGE staff.

use sha2::Digest as _;
use time::format_description::well_known::Rfc2822;
use time::{Duration, OffsetDateTime};

use crate::case::{Case, Party, Step};
use crate::intake::automatic::OWN_MARKER_HEADER;
use crate::problem::Problem;
use crate::record::Outcome;
use crate::record::{AcceptedCertificate, MessageId, OutboxEntry, OutboxState, SeenRecord};
use crate::registry::{Registry, Status};
use crate::reply::{encode_word, wrapped_base64};

/// Tunables, from `[digest]` (and `[imap]` for the folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSettings {
    /// A case waiting on the applicant this many days is stalled.
    pub stalled_days: u32,
    /// Known certificates expiring within this many days are listed.
    pub expiring_days: u32,
    /// Where mail left for people goes (`None`: it stays in the inbox).
    pub needs_human_folder: Option<String>,
}

impl DigestSettings {
    /// The heading of the "left for people" list, naming where staff find that mail.
    fn unhandled_heading(&self) -> String {
        match &self.needs_human_folder {
            Some(folder) => format!("Mesaje lăsate pentru colegi (dosarul {folder})"),
            None => "Mesaje lăsate pentru colegi (rămase în Inbox)".into(),
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
}

/// A case as the digest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLine {
    pub token: String,
    pub applicant: String,
    pub next_step: Option<Step>,
    pub days_idle: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiringLine {
    pub serial: String,
    pub subject: String,
    pub institution: String,
    pub services: Vec<String>,
    pub not_after: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub since: OffsetDateTime,
    pub now: OffsetDateTime,
    pub new_cases: Vec<CaseLine>,
    pub accepted: Vec<CertificateLine>,
    pub reused: Vec<CertificateLine>,
    /// Rejected, number not found, ambiguous: the applicant was asked for something.
    pub rejected: Vec<MailLine>,
    pub waiting_on_age: Vec<CaseLine>,
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
    pub settings: DigestSettings,
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
            && self.stalled.is_empty()
            && self.expiring.is_empty()
            && self.unhandled.is_empty()
            && self.unverified.is_empty()
            && self.checks.is_empty()
            && self.failed_replies.is_empty()
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

fn mail_line(r: &SeenRecord) -> MailLine {
    MailLine {
        at: r.at,
        from: r.from.clone().unwrap_or_else(|| "(necunoscut)".into()),
        subject: r.subject.clone().unwrap_or_default(),
        case: r.case.clone(),
        outcome: r.outcome,
        problems: r.problems.clone(),
        note: r.note.clone(),
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

/// The staff heading of certificates that do not fit their sender.
const CHECKS_HEADING: &str =
    "Certificate de verificat: nu se potrivesc cu instituția care le-a trimis";

/// The staff heading of mail listed by [`about_trust`].
const TRUST_HEADING: &str =
    "Expeditori neautentificați și rapoarte ignorate (nimic schimbat fără verificare)";

fn case_line(c: &Case, now: OffsetDateTime) -> CaseLine {
    CaseLine {
        token: c.token.clone(),
        applicant: c.applicant.clone(),
        next_step: c.next_step(),
        days_idle: (now - c.updated_at).whole_days(),
    }
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
    let certificates = |outcome: Outcome| -> Vec<CertificateLine> {
        window
            .iter()
            .filter(|r| r.outcome == outcome)
            .flat_map(|r| {
                r.accepted.iter().map(|c| CertificateLine {
                    mail: mail_line(r),
                    certificate: c.clone(),
                })
            })
            .collect()
    };
    let mut sorted_cases: Vec<&Case> = cases.iter().collect();
    sorted_cases.sort_by_key(|c| c.opened_at);
    let stalled_after = Duration::days(settings.stalled_days.into());
    let horizon = now + Duration::days(settings.expiring_days.into());
    let mut expiring: Vec<ExpiringLine> = registry
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
    expiring.sort_by_key(|e| e.not_after);
    Digest {
        since,
        now,
        new_cases: sorted_cases
            .iter()
            .filter(|c| c.opened_at >= since && c.opened_at < now)
            .map(|c| case_line(c, now))
            .collect(),
        accepted: certificates(Outcome::NewCertificate),
        reused: certificates(Outcome::ReuseConfirmed),
        rejected: window
            .iter()
            .filter(|r| {
                matches!(
                    r.outcome,
                    Outcome::Rejected | Outcome::SerialNotFound | Outcome::Ambiguous
                )
            })
            .map(|r| mail_line(r))
            .collect(),
        waiting_on_age: sorted_cases
            .iter()
            .filter(|c| c.waiting_on() == Some(Party::Age))
            .map(|c| case_line(c, now))
            .collect(),
        stalled: sorted_cases
            .iter()
            .filter(|c| {
                c.waiting_on() == Some(Party::Applicant) && now - c.updated_at >= stalled_after
            })
            .map(|c| case_line(c, now))
            .collect(),
        expiring,
        unverified: window
            .iter()
            .filter(|r| about_trust(r))
            .map(|r| mail_line(r))
            .collect(),
        checks: window
            .iter()
            .filter(|r| !r.warnings.is_empty())
            .map(|r| MailLine {
                note: Some(r.warnings.join("; ")),
                ..mail_line(r)
            })
            .collect(),
        unhandled: window
            .iter()
            .filter(|r| !r.held)
            .filter(|r| {
                matches!(
                    r.outcome,
                    Outcome::NotApplicable | Outcome::Oversized | Outcome::Unreadable
                ) || (r.destination.is_some() && r.destination == settings.needs_human_folder)
            })
            .map(|r| mail_line(r))
            .collect(),
        failed_replies: Vec::new(),
        settings,
    }
}

/// The latest scheduled digest time at or before `now`: `at` local time in `tz`, today
/// or yesterday (daylight-saving changes included).
pub fn last_scheduled(
    now: OffsetDateTime,
    at: (i8, i8),
    tz: &jiff::tz::TimeZone,
) -> OffsetDateTime {
    let ts =
        jiff::Timestamp::from_second(now.unix_timestamp()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let local = ts.to_zoned(tz.clone());
    let on = |date: jiff::civil::Date| {
        date.at(at.0, at.1, 0, 0)
            .to_zoned(tz.clone())
            .map(|z| z.timestamp())
            .unwrap_or(ts)
    };
    let today = on(local.date());
    let chosen = if today <= ts {
        today
    } else {
        on(local.date().yesterday().unwrap_or(local.date()))
    };
    OffsetDateTime::from_unix_timestamp(chosen.as_second()).unwrap_or(now)
}

/// The daily digest is due when the last one went out before the latest scheduled time.
pub fn due(
    now: OffsetDateTime,
    last: OffsetDateTime,
    at: (i8, i8),
    tz: &jiff::tz::TimeZone,
) -> bool {
    last < last_scheduled(now, at, tz)
}

fn step_ro(step: Option<Step>) -> String {
    match step {
        None => "finalizat".into(),
        Some(s) => {
            let name = match s {
                Step::Form => "formularul de conectare",
                Step::Contract => "contractul/anexa",
                Step::Certificate => "certificatul",
                Step::IntegrationData => "datele de integrare",
                Step::TestAccess => "acces în testare (AGE)",
                Step::OperationalTests => "testele operaționale",
                Step::Production => "activarea în producție (AGE)",
                Step::Completed => "notificarea finalizării (AGE)",
            };
            format!("{}. {name}", s.number())
        }
    }
}

/// "7 zile", "60 de zile": Romanian puts "de" after numbers whose last two digits
/// are 20 or more (or 00).
fn days_ro(n: i64) -> String {
    let last_two = n.rem_euclid(100);
    if n == 1 {
        "1 zi".into()
    } else if last_two >= 20 || (n != 0 && last_two == 0) {
        format!("{n} de zile")
    } else {
        format!("{n} zile")
    }
}

fn day(t: OffsetDateTime) -> String {
    format!("{:02}.{:02}.{}", t.day(), u8::from(t.month()), t.year())
}

fn problems_ro(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.words_ro())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The subject line: the date and the numbers that matter.
pub fn subject(d: &Digest) -> String {
    format!(
        "MNotify: rezumat {} — cazuri noi: {}, certificate acceptate: {}, așteaptă AGE: {}",
        day(d.now),
        d.new_cases.len(),
        d.accepted.len(),
        d.waiting_on_age.len()
    )
}

/// A certificate's attachment name: its serial, so staff find it again.
fn file_name(c: &AcceptedCertificate) -> String {
    format!("{}.cer", c.serial)
}

/// A case waiting on someone, as one line of the text part.
fn waiting_line(c: &CaseLine) -> String {
    format!(
        "#{} {} — {} (de {})",
        c.token,
        c.applicant,
        step_ro(c.next_step),
        days_ro(c.days_idle)
    )
}

/// The plain-text part.
pub fn render_text(d: &Digest) -> String {
    let mut out = format!(
        "Rezumat MNotify — {} (de la {} {:02}:{:02} UTC)\n",
        day(d.now),
        day(d.since),
        d.since.hour(),
        d.since.minute()
    );
    let mut section = |title: String, lines: Vec<String>| {
        out += &format!("\n{title} ({})\n", lines.len());
        if lines.is_empty() {
            out += "  —\n";
        }
        for l in lines {
            out += &format!("  {l}\n");
        }
    };
    section(
        "Cazuri noi".into(),
        d.new_cases
            .iter()
            .map(|c| {
                format!(
                    "#{} {} — următorul pas: {}",
                    c.token,
                    c.applicant,
                    step_ro(c.next_step)
                )
            })
            .collect(),
    );
    for (title, list) in [
        (
            "Certificate acceptate (fișierele .cer sunt atașate)",
            &d.accepted,
        ),
        ("Reutilizări confirmate", &d.reused),
    ] {
        section(
            title.into(),
            list.iter()
                .map(|l| {
                    let c = &l.certificate;
                    format!(
                        "#{} {} — serie {}, SHA-1 {}, valabil până la {}{}{}\n    {}",
                        l.mail.case.as_deref().unwrap_or("-"),
                        l.mail.from,
                        c.serial,
                        c.sha1.as_deref().unwrap_or("-"),
                        c.not_after.map(day).unwrap_or_else(|| "-".into()),
                        c.institution
                            .as_deref()
                            .map(|i| format!(", {i}"))
                            .unwrap_or_default(),
                        if c.services.is_empty() {
                            String::new()
                        } else {
                            format!(" (deja pentru {})", c.services.join(", "))
                        },
                        c.subject.as_deref().unwrap_or("")
                    )
                })
                .collect(),
        );
    }
    section(
        "Respinse sau neclare (solicitantul a fost informat)".into(),
        d.rejected
            .iter()
            .map(|m| {
                format!(
                    "#{} {} — {}{}",
                    m.case.as_deref().unwrap_or("-"),
                    m.from,
                    m.outcome.words_ro(),
                    if m.problems.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", problems_ro(&m.problems))
                    }
                )
            })
            .collect(),
    );
    section(
        "Așteaptă AGE".into(),
        d.waiting_on_age.iter().map(waiting_line).collect(),
    );
    section(
        format!(
            "Blocate la solicitant de cel puțin {}",
            days_ro(d.settings.stalled_days.into())
        ),
        d.stalled.iter().map(waiting_line).collect(),
    );
    section(
        format!(
            "Certificate care expiră în {}",
            days_ro(d.settings.expiring_days.into())
        ),
        d.expiring
            .iter()
            .map(|e| {
                format!(
                    "{} — serie {}, {} ({}), expiră la {}",
                    e.institution,
                    e.serial,
                    e.subject,
                    e.services.join(", "),
                    day(e.not_after)
                )
            })
            .collect(),
    );
    section(
        d.settings.unhandled_heading(),
        d.unhandled
            .iter()
            .map(|m| {
                let mut line = format!("{} — „{}” ({})", m.from, m.subject, m.outcome.words_ro());
                if let Some(n) = &m.note {
                    line += &format!(" — {n}");
                }
                line
            })
            .collect(),
    );
    section(
        CHECKS_HEADING.into(),
        d.checks
            .iter()
            .map(|m| {
                format!(
                    "#{} {} — {}",
                    m.case.as_deref().unwrap_or("-"),
                    m.from,
                    m.note.as_deref().unwrap_or("")
                )
            })
            .collect(),
    );
    section(
        TRUST_HEADING.into(),
        d.unverified
            .iter()
            .map(|m| {
                format!(
                    "{} — „{}” — {}",
                    m.from,
                    m.subject,
                    m.note.as_deref().unwrap_or("")
                )
            })
            .collect(),
    );
    section(
        "Răspunsuri care nu au putut fi trimise (scrieți-le solicitanților)".into(),
        d.failed_replies
            .iter()
            .map(|f| {
                format!(
                    "#{} {} — {}",
                    f.case.as_deref().unwrap_or("-"),
                    f.to,
                    f.error
                )
            })
            .collect(),
    );
    out +=
        "\nGenerat automat de mnotify-intake. `mnotify-intake cases list` arată toate cazurile.\n";
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const TABLE: &str = "border-collapse:collapse;width:100%;margin:4px 0 18px 0;font-size:13px";
const TH: &str = "text-align:left;background:#eef2f7;border:1px solid #d5dde8;padding:6px 8px;font-weight:600;color:#1f2933";
const TD: &str = "border:1px solid #d5dde8;padding:6px 8px;vertical-align:top;color:#1f2933";

fn table(title: &str, headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut h = format!(
        "<h3 style=\"font-size:15px;margin:18px 0 4px 0;color:#0b4f8a\">{} <span style=\"color:#6b7785;font-weight:normal\">({})</span></h3>",
        esc(title),
        rows.len()
    );
    if rows.is_empty() {
        h += "<p style=\"margin:2px 0 14px 0;color:#6b7785\">—</p>";
        return h;
    }
    h += &format!("<table cellpadding=\"0\" cellspacing=\"0\" style=\"{TABLE}\"><tr>");
    for head in headers {
        h += &format!("<th style=\"{TH}\">{}</th>", esc(head));
    }
    h += "</tr>";
    for row in rows {
        h += "<tr>";
        for cell in row {
            // Cells are escaped by the caller (some carry <code>).
            h += &format!("<td style=\"{TD}\">{cell}</td>");
        }
        h += "</tr>";
    }
    h += "</table>";
    h
}

fn code(s: &str) -> String {
    format!(
        "<code style=\"font-family:Consolas,monospace;font-size:12px\">{}</code>",
        esc(s)
    )
}

/// The HTML part: one table per section, inline styles only (Outlook ignores <style>).
pub fn render_html(d: &Digest) -> String {
    let mut h = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family:Segoe UI,Arial,sans-serif;font-size:14px;line-height:1.45;color:#1f2933;margin:0;padding:16px\">",
    );
    h += &format!(
        "<h2 style=\"font-size:19px;margin:0 0 4px 0;color:#0b4f8a\">Rezumat MNotify — {}</h2>\
         <p style=\"margin:0 0 8px 0;color:#6b7785\">De la {} {:02}:{:02} UTC · cazuri noi: {} · certificate acceptate: {} · reutilizări: {} · așteaptă AGE: {}</p>",
        day(d.now),
        day(d.since),
        d.since.hour(),
        d.since.minute(),
        d.new_cases.len(),
        d.accepted.len(),
        d.reused.len(),
        d.waiting_on_age.len()
    );
    h += &table(
        "Cazuri noi",
        &["Caz", "Solicitant", "Următorul pas"],
        d.new_cases
            .iter()
            .map(|c| {
                vec![
                    code(&format!("#{}", c.token)),
                    esc(&c.applicant),
                    esc(&step_ro(c.next_step)),
                ]
            })
            .collect(),
    );
    for (title, list) in [
        (
            "Certificate acceptate (fișierele .cer sunt atașate)",
            &d.accepted,
        ),
        ("Reutilizări confirmate", &d.reused),
    ] {
        h += &table(
            title,
            &[
                "Caz",
                "Solicitant",
                "Certificat",
                "Serie / SHA-1",
                "Valabil până la",
            ],
            list.iter()
                .map(|l| {
                    let c = &l.certificate;
                    let mut who = esc(c.subject.as_deref().unwrap_or(""));
                    if let Some(i) = &c.institution {
                        who = format!("{}<br>{who}", esc(i));
                    }
                    if !c.services.is_empty() {
                        who += &format!(
                            "<br><span style=\"color:#6b7785\">deja pentru {}</span>",
                            esc(&c.services.join(", "))
                        );
                    }
                    vec![
                        code(&format!("#{}", l.mail.case.as_deref().unwrap_or("-"))),
                        esc(&l.mail.from),
                        who,
                        format!(
                            "{}<br>{}",
                            code(&c.serial),
                            code(c.sha1.as_deref().unwrap_or("-"))
                        ),
                        c.not_after.map(day).unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect(),
        );
    }
    h += &table(
        "Respinse sau neclare (solicitantul a fost informat)",
        &["Caz", "Solicitant", "Decizie", "Motiv"],
        d.rejected
            .iter()
            .map(|m| {
                vec![
                    code(&format!("#{}", m.case.as_deref().unwrap_or("-"))),
                    esc(&m.from),
                    esc(m.outcome.words_ro()),
                    esc(&problems_ro(&m.problems)),
                ]
            })
            .collect(),
    );
    let cases = |title: &str, list: &[CaseLine]| {
        table(
            title,
            &["Caz", "Solicitant", "Pasul", "Zile"],
            list.iter()
                .map(|c| {
                    vec![
                        code(&format!("#{}", c.token)),
                        esc(&c.applicant),
                        esc(&step_ro(c.next_step)),
                        c.days_idle.to_string(),
                    ]
                })
                .collect(),
        )
    };
    h += &cases("Așteaptă AGE", &d.waiting_on_age);
    h += &cases(
        &format!(
            "Blocate la solicitant de cel puțin {}",
            days_ro(d.settings.stalled_days.into())
        ),
        &d.stalled,
    );
    h += &table(
        &format!(
            "Certificate care expiră în {}",
            days_ro(d.settings.expiring_days.into())
        ),
        &["Instituție", "Certificat", "Serie", "Servicii", "Expiră la"],
        d.expiring
            .iter()
            .map(|e| {
                vec![
                    esc(&e.institution),
                    esc(&e.subject),
                    code(&e.serial),
                    esc(&e.services.join(", ")),
                    day(e.not_after),
                ]
            })
            .collect(),
    );
    h += &table(
        &d.settings.unhandled_heading(),
        &["De la", "Subiect", "Motiv"],
        d.unhandled
            .iter()
            .map(|m| {
                let why = match &m.note {
                    Some(n) => format!("{} — {n}", m.outcome.words_ro()),
                    None => m.outcome.words_ro().to_string(),
                };
                vec![esc(&m.from), esc(&m.subject), esc(&why)]
            })
            .collect(),
    );
    h += &table(
        CHECKS_HEADING,
        &["Caz", "De la", "De verificat"],
        d.checks
            .iter()
            .map(|m| {
                vec![
                    code(&format!("#{}", m.case.as_deref().unwrap_or("-"))),
                    esc(&m.from),
                    esc(m.note.as_deref().unwrap_or("")),
                ]
            })
            .collect(),
    );
    h += &table(
        TRUST_HEADING,
        &["De la", "Subiect", "De ce"],
        d.unverified
            .iter()
            .map(|m| {
                vec![
                    esc(&m.from),
                    esc(&m.subject),
                    esc(m.note.as_deref().unwrap_or("")),
                ]
            })
            .collect(),
    );
    h += &table(
        "Răspunsuri care nu au putut fi trimise (scrieți-le solicitanților)",
        &["Caz", "Către", "Eroare"],
        d.failed_replies
            .iter()
            .map(|f| {
                vec![
                    code(&format!("#{}", f.case.as_deref().unwrap_or("-"))),
                    esc(&f.to),
                    esc(&f.error),
                ]
            })
            .collect(),
    );
    h += "<p style=\"color:#6b7785;font-size:12px;margin-top:20px\">Generat automat de mnotify-intake. \
          <code>mnotify-intake cases list</code> arată toate cazurile.</p></body></html>";
    h
}

/// The digest as one message: text and HTML alternatives, the accepted certificates
/// attached. Marked automatic and ours, so it is never answered or processed.
pub fn compose(d: &Digest, from: &str, from_name: &str, to: &[String]) -> (MessageId, Vec<u8>) {
    let seed = format!(
        "digest/{}/{}",
        d.since.unix_timestamp(),
        d.now.unix_timestamp()
    );
    let digest = hex::encode(&sha2::Sha256::digest(seed.as_bytes())[..12]);
    let domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let message_id = MessageId::ours(&format!("mnotify.digest.{digest}"), domain);
    let mixed = format!("=_mnotify_mixed_{digest}");
    let alt = format!("=_mnotify_alt_{digest}");
    let mut m = String::new();
    m += &format!("From: {} <{from}>\r\n", encode_word(from_name));
    m += &format!(
        "To: {}\r\n",
        to.iter()
            .map(|t| format!("<{t}>"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    m += &format!("Subject: {}\r\n", encode_word(&subject(d)));
    m += &format!("Date: {}\r\n", d.now.format(&Rfc2822).unwrap_or_default());
    m += &format!("Message-ID: {message_id}\r\n");
    m += &format!("Auto-Submitted: auto-generated\r\n{OWN_MARKER_HEADER}: digest\r\n");
    m += "MIME-Version: 1.0\r\n";
    m += &format!("Content-Type: multipart/mixed; boundary=\"{mixed}\"\r\n\r\n");
    m += &format!("--{mixed}\r\nContent-Type: multipart/alternative; boundary=\"{alt}\"\r\n\r\n");
    m += &format!("--{alt}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    m += &wrapped_base64(render_text(d).as_bytes());
    m += &format!("--{alt}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    m += &wrapped_base64(render_html(d).as_bytes());
    m += &format!("--{alt}--\r\n");
    for line in &d.accepted {
        let Some(der) = line.certificate.der.as_deref() else {
            continue;
        };
        let name = file_name(&line.certificate);
        m += &format!(
            "--{mixed}\r\nContent-Type: application/pkix-cert; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        );
        m += &wrapped_base64(der);
    }
    m += &format!("--{mixed}--\r\n");
    (message_id, m.into_bytes())
}

#[cfg(test)]
mod tests;
