//! The digest's sections, defined once: each is a heading, its columns and its rows,
//! and [`super::render`] writes the same sections as text and as HTML.

use super::words::{days, words, working_days, Words};
use super::{day, problems, step_said, CaseLine, CertificateLine, Digest, MailLine};
use crate::case::clock::{Owed, Promise, Standing};
use crate::intake::Language;

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

fn certificates(title: &str, list: &[CertificateLine], w: &'static Words) -> Section {
    Section {
        title: title.into(),
        columns: &w.certificate_columns,
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
                            format!("{} {}", w.already_for, c.services.join(", "))
                        },
                        match c.environment {
                            Some(crate::integration::Environment::Test) => w.env_test.into(),
                            Some(crate::integration::Environment::Production) => {
                                w.env_production.into()
                            }
                            None if l.environments_apart => w.env_unsaid.into(),
                            None => String::new(),
                        },
                    ]),
                    Cell {
                        lines: vec![
                            format!("{} {}", w.serial, c.serial),
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

/// What the digest needs to say a case's steps: the procedures, the agency's name and
/// the staff language.
#[derive(Clone, Copy)]
struct Saying<'a> {
    procedures: &'a crate::procedure::Catalogue,
    agency: &'a str,
    language: Language,
    w: &'static Words,
}

impl Saying<'_> {
    fn step(&self, service: &str, step: Option<crate::case::Step>) -> String {
        let procedure = self.procedures.procedure_of(service);
        step_said(procedure, step, self.agency, self.language)
    }

    /// What the agency owes.
    fn owed(&self, service: &str, owed: Owed) -> String {
        match owed {
            Owed::Step(step) => self.step(service, Some(step)),
            Owed::Answer => self.w.owed_answer.into(),
            Owed::Check => self.w.owed_check.into(),
        }
    }

    /// What a case waits for: the agency's answer or check, else the next step the
    /// applicant was told.
    fn waits_for(&self, c: &CaseLine) -> String {
        match c.owes {
            Some(owed @ (Owed::Answer | Owed::Check)) => self.owed(&c.service, owed),
            _ => self.step(&c.service, c.next_step),
        }
    }

    /// The last decision in words, or a dash.
    fn decided(&self, c: &CaseLine) -> Cell {
        text(
            c.last_decision
                .map_or("—", |d| d.words_checked(c.under_check, self.language)),
        )
    }

    fn cases(&self, title: String, list: &[CaseLine]) -> Section {
        Section {
            title,
            columns: &self.w.case_columns,
            rows: list
                .iter()
                .map(|c| {
                    vec![
                        code(format!("#{}", c.token)),
                        text(&c.applicant),
                        self.decided(c),
                        text(self.waits_for(c)),
                        text(days(c.days_idle, self.language)),
                    ]
                })
                .collect(),
        }
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
fn senders(
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
    let language = d.settings.language;
    let w = words(language);
    let say = Saying {
        procedures: &d.settings.procedures,
        agency,
        language,
        w,
    };
    let outcome = |m: &MailLine| m.outcome.words(language);
    let mut all = vec![
        Section {
            title: w.new_cases.into(),
            columns: &w.new_case_columns,
            rows: d
                .new_cases
                .iter()
                .map(|c| {
                    vec![
                        code(format!("#{}", c.token)),
                        text(&c.applicant),
                        say.decided(c),
                        text(say.waits_for(c)),
                    ]
                })
                .collect(),
        },
        certificates(w.accepted, &d.accepted, w),
        certificates(w.reused, &d.reused, w),
        mails(w.rejected.into(), &w.rejected_columns, &d.rejected, |m| {
            if m.problems.is_empty() {
                outcome(m).to_string()
            } else {
                format!("{}: {}", outcome(m), problems(&m.problems, language))
            }
        }),
        Section {
            title: w.questions.into(),
            columns: &w.question_columns,
            rows: d
                .questions
                .iter()
                .map(|q| {
                    vec![
                        code(format!("#{}", q.token)),
                        text(&q.applicant),
                        text(format!("„{}”", q.question)),
                        text(days(q.days_open, language)),
                    ]
                })
                .collect(),
        },
        Section {
            title: w.late.replace(
                "{days}",
                &working_days(d.settings.response.working_days.into(), language),
            ),
            columns: &w.late_columns,
            rows: d
                .late
                .iter()
                .map(|l| {
                    let state = match l.standing {
                        Standing::Overdue => format!("{} {:.1}", w.overdue_by, -l.left),
                        _ => format!("{} {:.1}", w.left, l.left),
                    };
                    vec![
                        code(format!("#{}", l.token)),
                        text(&l.applicant),
                        text(say.owed(&l.service, l.owed)),
                        lines([format!("{:.1} {}", l.used, w.used), state]),
                        text(local_time(l.due, &d.settings.response)),
                    ]
                })
                .collect(),
        },
        say.cases(w.waiting_on.replace("{agency}", agency), &d.waiting_on_age),
        say.cases(
            w.stalled
                .replace("{days}", &days(d.settings.stalled_days.into(), language)),
            &d.stalled,
        ),
        Section {
            title: w
                .expiring
                .replace("{days}", &days(d.settings.expiring_days.into(), language)),
            columns: &w.expiring_columns,
            rows: d
                .expiring
                .iter()
                .map(|e| {
                    vec![
                        text(&e.institution),
                        text(&e.subject),
                        code(format!("{} {}", w.serial, e.serial)),
                        text(e.services.join(", ")),
                        text(day(e.not_after)),
                    ]
                })
                .collect(),
        },
        senders(
            d.settings.unhandled_heading(),
            &w.sender_columns,
            &d.unhandled,
            |m| match &m.note {
                Some(n) => format!("{} — {n}", outcome(m)),
                None => outcome(m).to_string(),
            },
        ),
        mails(w.checks.into(), &w.check_columns, &d.checks, note),
        senders(w.unverified.into(), &w.sender_columns, &d.unverified, note),
        Section {
            title: w.failed_replies.into(),
            columns: &w.failed_columns,
            rows: d
                .failed_replies
                .iter()
                .map(|f| vec![case_tag(f.case.as_deref()), text(&f.to), text(&f.error)])
                .collect(),
        },
        Section {
            title: w.junk.into(),
            columns: &w.junk_columns,
            rows: (d.junk_left > 0)
                .then(|| vec![text(d.junk_left.to_string()), text(w.junk_left)])
                .into_iter()
                .collect(),
        },
    ];
    // Said only when near or past its expiry: no empty heading every day.
    all.extend(credential(d, w));
    all
}

/// The mailbox application's credential near or past its expiry.
fn credential(d: &Digest, w: &'static Words) -> Option<Section> {
    let c = d.credential?;
    let day = c.expires.date().to_string();
    let when = if c.expires <= d.now {
        format!("{day} — {}", w.credential_expired)
    } else {
        day
    };
    let renew = if c.secret {
        w.secret_renew
    } else {
        w.certificate_renew
    };
    Some(Section {
        title: w.credential.into(),
        columns: &w.credential_columns,
        rows: vec![vec![text(when), text(renew)]],
    })
}
