//! The digest's sections, defined once: each is a heading, its columns and its rows,
//! and [`super::render`] writes the same sections as text and as HTML.

use super::{day, days_ro, problems_ro, step_ro, CaseLine, CertificateLine, Digest, MailLine};
use crate::case::clock::{Owed, Promise, Standing};

/// "7 zile lucrătoare", with Romanian's "de" from twenty on.
fn working_days_ro(n: i64) -> String {
    let days = days_ro(n);
    match days.strip_prefix("1 zi") {
        Some(_) => "1 zi lucrătoare".into(),
        None => format!("{days} lucrătoare"),
    }
}

/// A moment as staff read it: local date and time in the calendar's time zone.
fn local_time(t: time::OffsetDateTime, promise: &Promise) -> String {
    promise.calendar.local(t, "%d.%m.%Y %H:%M")
}

/// One section: what the text part lists under a heading and the HTML part shows as
/// one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Section {
    pub title: String,
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
}

/// One cell: one or more lines (a line break in HTML, a comma in text), set as code
/// when it is a token, serial or fingerprint staff copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cell {
    pub lines: Vec<String>,
    pub code: bool,
}

fn text(s: impl Into<String>) -> Cell {
    Cell {
        lines: vec![s.into()],
        code: false,
    }
}

fn code(s: impl Into<String>) -> Cell {
    Cell {
        lines: vec![s.into()],
        code: true,
    }
}

/// Several lines, empty ones left out.
fn lines(parts: impl IntoIterator<Item = String>) -> Cell {
    Cell {
        lines: parts.into_iter().filter(|l| !l.is_empty()).collect(),
        code: false,
    }
}

fn case_tag(case: Option<&str>) -> Cell {
    code(format!("#{}", case.unwrap_or("-")))
}

fn certificates(title: &str, list: &[CertificateLine]) -> Section {
    Section {
        title: title.into(),
        columns: &[
            "Caz",
            "Solicitant",
            "Certificat",
            "Serie / SHA-1",
            "Valabil până la",
        ],
        rows: list
            .iter()
            .map(|l| {
                let c = &l.certificate;
                vec![
                    case_tag(l.mail.case.as_deref()),
                    text(&l.mail.from),
                    lines([
                        c.institution.clone().unwrap_or_default(),
                        c.subject.clone().unwrap_or_default(),
                        if c.services.is_empty() {
                            String::new()
                        } else {
                            format!("deja pentru {}", c.services.join(", "))
                        },
                        match c.environment {
                            Some(crate::integration::Environment::Test) => {
                                "pentru mediul de testare".into()
                            }
                            Some(crate::integration::Environment::Production) => {
                                "pentru mediul de producție".into()
                            }
                            None => "mediul nespecificat".into(),
                        },
                    ]),
                    Cell {
                        lines: vec![
                            format!("serie {}", c.serial),
                            format!("SHA-1 {}", c.sha1.as_deref().unwrap_or("-")),
                        ],
                        code: true,
                    },
                    text(c.not_after.map(day).unwrap_or_else(|| "-".into())),
                ]
            })
            .collect(),
    }
}

/// What the agency owes, in Romanian.
fn owed_ro(owed: Owed, procedure: &crate::procedure::Procedure, agency: &str) -> String {
    match owed {
        Owed::Step(step) => step_ro(procedure, Some(step), agency),
        Owed::Answer => "răspuns la întrebare".into(),
        Owed::Check => "verificarea certificatului".into(),
    }
}

/// What a case waits for: the agency's answer or check, else the next step the
/// applicant was told.
fn waits_for(c: &CaseLine, procedures: &crate::procedure::Catalogue, agency: &str) -> String {
    let procedure = procedures.procedure_of(&c.service);
    match c.owes {
        Some(owed @ (Owed::Answer | Owed::Check)) => owed_ro(owed, procedure, agency),
        _ => step_ro(procedure, c.next_step, agency),
    }
}

/// The last decision in words, or a dash.
fn decided(c: &CaseLine) -> Cell {
    text(c.last_decision.map_or("—", |d| d.words_ro()))
}

fn cases(
    title: String,
    list: &[CaseLine],
    procedures: &crate::procedure::Catalogue,
    agency: &str,
) -> Section {
    Section {
        title,
        columns: &["Caz", "Solicitant", "Ultima decizie", "Așteaptă", "De"],
        rows: list
            .iter()
            .map(|c| {
                vec![
                    code(format!("#{}", c.token)),
                    text(&c.applicant),
                    decided(c),
                    text(waits_for(c, procedures, agency)),
                    text(days_ro(c.days_idle)),
                ]
            })
            .collect(),
    }
}

/// Mail about a case, with what to say of it.
fn mails(
    title: String,
    columns: &'static [&'static str],
    list: &[MailLine],
    say: impl Fn(&MailLine) -> String,
) -> Section {
    Section {
        title,
        columns,
        rows: list
            .iter()
            .map(|m| vec![case_tag(m.case.as_deref()), text(&m.from), text(say(m))])
            .collect(),
    }
}

/// Mail without a case to speak of: who, what subject, why.
fn senders(title: String, list: &[MailLine], say: impl Fn(&MailLine) -> String) -> Section {
    Section {
        title,
        columns: &["De la", "Subiect", "De ce"],
        rows: list
            .iter()
            .map(|m| {
                vec![
                    text(&m.from),
                    text(format!("„{}”", m.subject)),
                    text(say(m)),
                ]
            })
            .collect(),
    }
}

/// Every section, in the order staff read them. Long on purpose: one list, read top to
/// bottom as the digest is, each entry a heading, its columns and its rows.
pub(super) fn sections(d: &Digest) -> Vec<Section> {
    let note = |m: &MailLine| m.note.clone().unwrap_or_default();
    let agency = d.settings.agency.as_str();
    vec![
        Section {
            title: "Cazuri noi".into(),
            columns: &["Caz", "Solicitant", "Ultima decizie", "Următorul pas"],
            rows: d
                .new_cases
                .iter()
                .map(|c| {
                    vec![
                        code(format!("#{}", c.token)),
                        text(&c.applicant),
                        decided(c),
                        text(waits_for(c, &d.settings.procedures, agency)),
                    ]
                })
                .collect(),
        },
        certificates(
            "Certificate acceptate (fișierele .cer sunt atașate)",
            &d.accepted,
        ),
        certificates("Reutilizări confirmate", &d.reused),
        mails(
            "Respinse sau neclare (solicitantul a fost informat)".into(),
            &["Caz", "Solicitant", "Decizie și motiv"],
            &d.rejected,
            |m| {
                if m.problems.is_empty() {
                    m.outcome.words_ro().to_string()
                } else {
                    format!("{}: {}", m.outcome.words_ro(), problems_ro(&m.problems))
                }
            },
        ),
        Section {
            title: "Întrebări ale solicitanților (răspundeți-le, apoi `cases answered`)".into(),
            columns: &["Caz", "Solicitant", "Întrebarea", "De"],
            rows: d
                .questions
                .iter()
                .map(|q| {
                    vec![
                        code(format!("#{}", q.token)),
                        text(&q.applicant),
                        text(format!("„{}”", q.question)),
                        text(days_ro(q.days_open)),
                    ]
                })
                .collect(),
        },
        Section {
            title: format!(
                "Termenul de {} promis: depășit sau aproape",
                working_days_ro(d.settings.response.working_days.into())
            ),
            columns: &["Caz", "Solicitant", "Așteaptă", "Zile lucrătoare", "Termen"],
            rows: d
                .late
                .iter()
                .map(|l| {
                    let procedure = d.settings.procedures.procedure_of(&l.service);
                    let owed = owed_ro(l.owed, procedure, agency);
                    let state = match l.standing {
                        Standing::Overdue => format!("DEPĂȘIT cu {:.1}", -l.left),
                        _ => format!("rămân {:.1}", l.left),
                    };
                    vec![
                        code(format!("#{}", l.token)),
                        text(&l.applicant),
                        text(owed),
                        lines([format!("{:.1} folosite", l.used), state]),
                        text(local_time(l.due, &d.settings.response)),
                    ]
                })
                .collect(),
        },
        cases(
            format!("Așteaptă {agency}"),
            &d.waiting_on_age,
            &d.settings.procedures,
            agency,
        ),
        cases(
            format!(
                "Blocate la solicitant de cel puțin {}",
                days_ro(d.settings.stalled_days.into())
            ),
            &d.stalled,
            &d.settings.procedures,
            agency,
        ),
        Section {
            title: format!(
                "Certificate care expiră în {}",
                days_ro(d.settings.expiring_days.into())
            ),
            columns: &["Instituție", "Certificat", "Serie", "Servicii", "Expiră la"],
            rows: d
                .expiring
                .iter()
                .map(|e| {
                    vec![
                        text(&e.institution),
                        text(&e.subject),
                        code(format!("serie {}", e.serial)),
                        text(e.services.join(", ")),
                        text(day(e.not_after)),
                    ]
                })
                .collect(),
        },
        senders(d.settings.unhandled_heading(), &d.unhandled, |m| {
            match &m.note {
                Some(n) => format!("{} — {n}", m.outcome.words_ro()),
                None => m.outcome.words_ro().to_string(),
            }
        }),
        mails(
            super::CHECKS_HEADING.into(),
            &["Caz", "De la", "De verificat"],
            &d.checks,
            note,
        ),
        senders(super::TRUST_HEADING.into(), &d.unverified, note),
        Section {
            title: "Răspunsuri care nu au putut fi trimise (scrieți-le solicitanților)".into(),
            columns: &["Caz", "Către", "Eroare"],
            rows: d
                .failed_replies
                .iter()
                .map(|f| vec![case_tag(f.case.as_deref()), text(&f.to), text(&f.error)])
                .collect(),
        },
        Section {
            title: "Dosarul de mesaje nedorite (Junk)".into(),
            columns: &["Mesaje", "Ce s-a făcut"],
            rows: (d.junk_left > 0)
                .then(|| {
                    vec![
                        text(d.junk_left.to_string()),
                        text("lăsate acolo: expeditorul nu a fost autentificat (mutați în Inbox un mesaj care trebuie tratat)"),
                    ]
                })
                .into_iter()
                .collect(),
        },
    ]
}
