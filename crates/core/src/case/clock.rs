//! AGE's response clock: AGE promises to act on a complete request within a number of
//! working days. A clock runs while a case waits on AGE for one thing (a step of its
//! own, or an answer to the applicant's question), pauses while the case waits on the
//! applicant, resumes where it stopped when the case comes back, and ends when AGE has
//! done the thing. Pure: the case keeps when each clock ran; how much of that counts is
//! the [`Calendar`]'s to say, at the time asked.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Case, Party, Step};
use crate::calendar::Calendar;
use crate::procedure::Procedure;

/// What a case waits for AGE to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Owed {
    /// One of AGE's steps (test access, production, the completion notice).
    Step(Step),
    /// An answer to the applicant's open question.
    Answer,
    /// A staff check of a certificate whose owner the evidence does not settle.
    Check,
}

impl Owed {
    pub fn code(self) -> &'static str {
        match self {
            Owed::Step(step) => step.code(),
            Owed::Answer => "answer",
            Owed::Check => "certificate_check",
        }
    }
}

/// A stretch of time the case waited on AGE; `to` is `None` while it still does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub to: Option<OffsetDateTime>,
}

/// The clock of one thing AGE owes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseClock {
    pub owed: Owed,
    pub periods: Vec<Period>,
}

impl ResponseClock {
    fn running(&self) -> bool {
        self.periods.last().is_some_and(|p| p.to.is_none())
    }

    /// Working days counted up to `now`.
    pub fn used(&self, calendar: &Calendar, now: OffsetDateTime) -> f64 {
        self.periods
            .iter()
            .map(|p| calendar.working_days_between(p.from, p.to.unwrap_or(now).min(now)))
            .sum()
    }

    /// When `days` working days of this clock have run (or will, if it runs on from
    /// `now`): in the past once overdue.
    fn due(&self, calendar: &Calendar, days: u32, now: OffsetDateTime) -> OffsetDateTime {
        let mut left = f64::from(days);
        for p in &self.periods {
            let to = p.to.unwrap_or(now).min(now);
            let here = calendar.working_days_between(p.from, to);
            if here >= left {
                return calendar.after_working_days(p.from, left);
            }
            left -= here;
        }
        calendar.after_working_days(now, left)
    }
}

/// What AGE promises, from `[response_time]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promise {
    /// Working days AGE has for each thing it owes.
    pub working_days: u32,
    /// A case with this many working days left, or fewer, is at risk.
    pub at_risk_days: u32,
    pub calendar: Calendar,
}

/// The promise AGE makes today: 7 working days, at risk with 2 left, Moldova's days.
impl Default for Promise {
    fn default() -> Promise {
        Promise {
            working_days: 7,
            at_risk_days: 2,
            calendar: Calendar::default(),
        }
    }
}

/// Where a case stands against the promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    OnTime,
    AtRisk,
    Overdue,
}

impl Standing {
    pub fn code(self) -> &'static str {
        match self {
            Standing::OnTime => "on_time",
            Standing::AtRisk => "at_risk",
            Standing::Overdue => "overdue",
        }
    }
}

/// The running clock of a case waiting on AGE, as staff see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub owed: Owed,
    /// Working days counted so far.
    pub used: f64,
    /// Working days left (negative once overdue).
    pub left: f64,
    /// When the promised time runs out (in the past once overdue).
    pub due: OffsetDateTime,
    pub standing: Standing,
}

impl Case {
    /// What the case waits for AGE to do now, if it waits on AGE.
    pub fn owed(&self, procedure: &Procedure) -> Option<Owed> {
        if self.merged_into.is_some() {
            return None;
        }
        if self.question.is_some() {
            return Some(Owed::Answer);
        }
        if self.certificate_check.is_some() {
            return Some(Owed::Check);
        }
        self.next_step(procedure)
            .filter(|s| procedure.party(*s) == Party::Age)
            .map(Owed::Step)
    }

    /// Brings the clocks in line with the case after an event: a clock ends when its
    /// thing is done, pauses when the case waits on someone else, starts or resumes
    /// for what the case waits on AGE for now.
    pub(super) fn sync_clocks(&mut self, procedure: &Procedure, now: OffsetDateTime) {
        let done = |owed: Owed, case: &Case| match owed {
            Owed::Step(step) => case.done.contains_key(&step),
            Owed::Answer => case.question.is_none(),
            Owed::Check => case.certificate_check.is_none(),
        };
        let finished: Vec<Owed> = self
            .clocks
            .iter()
            .map(|k| k.owed)
            .filter(|o| done(*o, self))
            .collect();
        self.clocks.retain(|k| !finished.contains(&k.owed));
        let owed = self.owed(procedure);
        for clock in &mut self.clocks {
            if Some(clock.owed) != owed && clock.running() {
                if let Some(last) = clock.periods.last_mut() {
                    last.to = Some(now);
                }
            }
        }
        let Some(owed) = owed else { return };
        match self.clocks.iter_mut().find(|k| k.owed == owed) {
            Some(clock) if clock.running() => {}
            Some(clock) => clock.periods.push(Period {
                from: now,
                to: None,
            }),
            None => self.clocks.push(ResponseClock {
                owed,
                periods: vec![Period {
                    from: now,
                    to: None,
                }],
            }),
        }
    }

    /// The clock of what the case waits on AGE for, against `promise`; `None` when it
    /// waits on the applicant or is completed. A case kept from before clocks existed
    /// counts from its last change.
    pub fn response(
        &self,
        procedure: &Procedure,
        promise: &Promise,
        now: OffsetDateTime,
    ) -> Option<Response> {
        let owed = self.owed(procedure)?;
        let since_last_change = ResponseClock {
            owed,
            periods: vec![Period {
                from: self.updated_at,
                to: None,
            }],
        };
        let clock = self
            .clocks
            .iter()
            .find(|k| k.owed == owed)
            .unwrap_or(&since_last_change);
        let used = clock.used(&promise.calendar, now);
        let left = f64::from(promise.working_days) - used;
        let due = clock.due(&promise.calendar, promise.working_days, now);
        let standing = if left < 0.0 {
            Standing::Overdue
        } else if left <= f64::from(promise.at_risk_days) {
            Standing::AtRisk
        } else {
            Standing::OnTime
        };
        Some(Response {
            owed,
            used,
            left,
            due,
            standing,
        })
    }
}
