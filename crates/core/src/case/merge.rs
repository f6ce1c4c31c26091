//! Staff put right what mail got wrong: two cases that are one system's (merge), or a
//! case that muddles two systems (split). Pure; both timelines say who did it and why.

use time::OffsetDateTime;

use super::{Case, StepDone};
use crate::procedure::Procedure;
use crate::remark::Remark;

impl Case {
    /// The case staff merged this one into, if they did: it is closed, and mail that
    /// names it joins that one.
    pub fn merged(&self) -> Option<&str> {
        self.merged_into.as_deref()
    }
}

/// `from` merged into `into`: the steps `into` lacks (with their evidence, saying
/// where they came from), the certificates, the thread, the institution's members,
/// the integration data and an open question move over; `from` is closed, pointing at
/// `into`. Both are cases of `procedure`'s service (staff requests refuse others).
pub fn merge(
    procedure: &Procedure,
    into: &Case,
    from: &Case,
    by: &str,
    note: Option<&str>,
    now: OffsetDateTime,
) -> (Case, Case) {
    let (mut a, mut b) = (into.clone(), from.clone());
    for (step, done) in &b.done {
        if procedure.position(*step).is_none() {
            continue;
        }
        a.done.entry(*step).or_insert_with(|| StepDone {
            evidence: format!("{} (from case #{})", done.evidence, b.token),
            ..done.clone()
        });
    }
    for cert in &b.certificates {
        if !a.certificates.iter().any(|c| c.serial == cert.serial) {
            a.certificates.push(cert.clone());
        }
    }
    for id in &b.message_ids {
        if !a.message_ids.contains(id) {
            a.message_ids.push(id.clone());
        }
    }
    for m in &b.members {
        if !a.members.contains(m) {
            a.members.push(m.clone());
        }
    }
    if a.integration.is_none() {
        a.integration = b.integration.clone();
    }
    if a.question.is_none() {
        a.question = b.question.take();
    }
    b.question = None;
    if a.certificate_check.is_none() {
        a.certificate_check = b.certificate_check.take();
    }
    b.certificate_check = None;
    b.merged_into = Some(a.token.clone());
    b.clocks.clear();
    a.log(
        now,
        Remark::MergedFrom {
            case: b.token.clone(),
            by: by.into(),
            note: note.map(str::to_string),
        },
    );
    b.log(
        now,
        Remark::MergedInto {
            case: a.token.clone(),
            by: by.into(),
            note: note.map(str::to_string),
        },
    );
    a.sync_clocks(procedure, now);
    (a, b)
}

/// A new case `token` split off `case` for another information system: the same
/// institution, service, applicant and language, nothing done yet; both timelines
/// say so.
pub fn split(
    procedure: &Procedure,
    case: &Case,
    token: String,
    system: Option<&str>,
    by: &str,
    note: Option<&str>,
    now: OffsetDateTime,
) -> (Case, Case) {
    let mut old = case.clone();
    let mut new = Case::open(token, &case.applicant, case.language, now);
    new.service = case.service.clone();
    new.identity = case.identity.clone();
    new.members = case.members.clone();
    new.subject = case.subject.clone();
    if let Some(name) = system {
        new.integration = Some(crate::integration::IntegrationData {
            system_name: Some(name.to_string()),
            ..Default::default()
        });
    }
    new.log(
        now,
        Remark::SplitFrom {
            case: old.token.clone(),
            system: system.map(str::to_string),
            by: by.into(),
            note: note.map(str::to_string),
        },
    );
    old.log(
        now,
        Remark::SplitOff {
            case: new.token.clone(),
            system: system.map(str::to_string),
            by: by.into(),
            note: note.map(str::to_string),
        },
    );
    new.sync_clocks(procedure, now);
    (old, new)
}
