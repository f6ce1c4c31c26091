//! What a reply or notice is: a decision's answer, or one of the answers and notices
//! that are not decisions. Templates see it as `decision`, by its code.

use crate::decision::Decision;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyKind {
    /// The answer to a mail's decision.
    Decided(Decision),
    /// A mail over the size limit: send it smaller.
    Oversized,
    /// The short neutral answer to mail whose sender could not be verified: it says how
    /// to write again and repeats nothing of the mail.
    Unverified,
    /// A first mail that names no service: which one?
    WhichService,
    /// Staff completed a step.
    StepDone,
    /// The procedure's last step: the integration is complete.
    Completed,
    /// The step waiting on the applicant, again.
    Reminder,
}

impl ReplyKind {
    pub fn code(self) -> &'static str {
        match self {
            ReplyKind::Decided(d) => d.code(),
            ReplyKind::Oversized => "oversized",
            ReplyKind::Unverified => "unverified",
            ReplyKind::WhichService => "which_service",
            ReplyKind::StepDone => "step_done",
            ReplyKind::Completed => "completed",
            ReplyKind::Reminder => "reminder",
        }
    }

    /// Replies of these kinds ask the applicant for the certificate (or its number):
    /// the next step they name is the certificate's, whatever else is still open.
    pub fn asks_for_certificate(self) -> bool {
        match self {
            ReplyKind::Decided(d) => d.asks_for_certificate(),
            ReplyKind::Oversized => true,
            _ => false,
        }
    }

    /// Every kind: the decisions' answers, then the others.
    pub fn all() -> impl Iterator<Item = ReplyKind> {
        Decision::ALL.into_iter().map(ReplyKind::Decided).chain([
            ReplyKind::Oversized,
            ReplyKind::StepDone,
            ReplyKind::Completed,
            ReplyKind::Reminder,
            ReplyKind::Unverified,
            ReplyKind::WhichService,
        ])
    }
}

impl From<Decision> for ReplyKind {
    fn from(d: Decision) -> ReplyKind {
        ReplyKind::Decided(d)
    }
}

impl std::str::FromStr for ReplyKind {
    type Err = String;

    /// From its code (`new_certificate`, …, `oversized`, `step_done`, …).
    fn from_str(code: &str) -> Result<ReplyKind, String> {
        ReplyKind::all()
            .find(|k| k.code() == code)
            .ok_or_else(|| format!("`{code}` is not a kind of reply"))
    }
}

impl std::fmt::Display for ReplyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_code_and_reads_back() {
        let kinds: Vec<ReplyKind> = ReplyKind::all().collect();
        for kind in &kinds {
            assert_eq!(kind.code().parse::<ReplyKind>(), Ok(*kind));
        }
        let mut codes: Vec<&str> = kinds.iter().map(|k| k.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), kinds.len(), "codes are distinct");
        assert!(ReplyKind::Oversized.asks_for_certificate());
        assert!(!ReplyKind::StepDone.asks_for_certificate());
    }
}
