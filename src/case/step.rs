//! The eight connection steps and who performs each.

use serde::{Deserialize, Serialize};

/// The connection steps, in order (see the onboarding text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Form,
    Contract,
    Certificate,
    IntegrationData,
    TestAccess,
    OperationalTests,
    Production,
    Completed,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Form,
        Step::Contract,
        Step::Certificate,
        Step::IntegrationData,
        Step::TestAccess,
        Step::OperationalTests,
        Step::Production,
        Step::Completed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Step::Form => "form",
            Step::Contract => "contract",
            Step::Certificate => "certificate",
            Step::IntegrationData => "integration_data",
            Step::TestAccess => "test_access",
            Step::OperationalTests => "operational_tests",
            Step::Production => "production",
            Step::Completed => "completed",
        }
    }
}

/// Who performs a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Applicant,
    Age,
}

impl Party {
    pub fn code(self) -> &'static str {
        match self {
            Party::Applicant => "applicant",
            Party::Age => "age",
        }
    }
}

impl Step {
    /// AGE configures test access, activates production and sends the final notice;
    /// everything else is the applicant's to do.
    pub fn performed_by(self) -> Party {
        match self {
            Step::TestAccess | Step::Production | Step::Completed => Party::Age,
            _ => Party::Applicant,
        }
    }

    /// Steps that must be done before this one: AGE configures test access only for a
    /// complete request, tests follow access, production follows the tests. The first
    /// four may come in any order (a certificate before the form is fine).
    pub fn prerequisites(self) -> &'static [Step] {
        match self {
            Step::TestAccess => &[
                Step::Form,
                Step::Contract,
                Step::Certificate,
                Step::IntegrationData,
            ],
            Step::OperationalTests => &[Step::TestAccess],
            Step::Production => &[Step::OperationalTests],
            Step::Completed => &[Step::Production],
            _ => &[],
        }
    }

    /// 1 to 8, as in the onboarding text.
    pub fn number(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    pub fn from_code(code: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.code() == code)
    }
}
