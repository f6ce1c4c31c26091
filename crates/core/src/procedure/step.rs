//! A step of an onboarding procedure, by its code, and who performs it. Which steps a
//! service has, in what order and after what, is its procedure's
//! ([`crate::procedure`]); the constants name MNotify's, which every procedure shares
//! at least in part (the form, the contract, test access, production, completion).

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// A step's code (`form`, `certificate`, `certificate_test`, …). Interned: the codes
/// come from the procedure files read at start and from the cases stored with them,
/// a few dozen in all, so a step is `Copy` and compares as text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Step(&'static str);

/// MNotify's steps, as the store has always written them.
const MNOTIFY_STEPS: [Step; 8] = [
    Step::FORM,
    Step::CONTRACT,
    Step::CERTIFICATE,
    Step::INTEGRATION_DATA,
    Step::TEST_ACCESS,
    Step::OPERATIONAL_TESTS,
    Step::PRODUCTION,
    Step::COMPLETED,
];

static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
/// More distinct codes than any set of procedures has: past it, nothing more is kept.
const MAX_INTERNED: usize = 1024;
const MAX_CODE_BYTES: usize = 64;

impl Step {
    pub const FORM: Step = Step("form");
    pub const CONTRACT: Step = Step("contract");
    pub const CERTIFICATE: Step = Step("certificate");
    pub const INTEGRATION_DATA: Step = Step("integration_data");
    pub const TEST_ACCESS: Step = Step("test_access");
    pub const OPERATIONAL_TESTS: Step = Step("operational_tests");
    pub const PRODUCTION: Step = Step("production");
    pub const COMPLETED: Step = Step("completed");
    /// A code past the interning limits (see [`Step::named`]).
    pub const UNKNOWN: Step = Step("(unknown step)");

    /// MNotify's eight steps in order (its procedure file lists the same; tested).
    pub const MNOTIFY: [Step; 8] = MNOTIFY_STEPS;

    /// The step of this code (interned on first sight).
    pub fn named(code: &str) -> Step {
        if let Some(s) = MNOTIFY_STEPS.iter().find(|s| s.0 == code) {
            return *s;
        }
        let mut interned = INTERNED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = interned.get(code) {
            return Step(s);
        }
        if interned.len() >= MAX_INTERNED || code.len() > MAX_CODE_BYTES {
            // Not a procedure's (those are few and short): a request naming a step no
            // procedure has, which staff requests refuse by this name.
            return Step::UNKNOWN;
        }
        let leaked: &'static str = Box::leak(code.to_string().into_boxed_str());
        interned.insert(leaked);
        Step(leaked)
    }

    pub fn code(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Step({})", self.0)
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        let code = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Step::named(&code))
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
