//! Open cases an edited procedure would strand: a step they recorded that the
//! procedure no longer has (and its `[renamed]` does not map), or a service gone.
//! The daemon refuses to start on them and `check` names them.

use super::Case;
use crate::procedure::{Catalogue, Step};

/// A case an edited procedure would strand: it recorded a step the procedure no
/// longer has and `[renamed]` does not map, or its service is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strand {
    pub token: String,
    pub service: String,
    /// The step code; `None` when the whole service is gone.
    pub step: Option<Step>,
}

impl std::fmt::Display for Strand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.step {
            Some(step) => write!(
                f,
                "case #{} ({}) recorded step `{step}`, which its procedure no longer has",
                self.token, self.service
            ),
            None => write!(
                f,
                "case #{} is for `{}`, which no procedure file provides",
                self.token, self.service
            ),
        }
    }
}

/// The open cases (not completed, not merged) that `catalogue` would strand.
pub fn strands(catalogue: &Catalogue, cases: &[Case]) -> Vec<Strand> {
    let mut out = Vec::new();
    for case in cases
        .iter()
        .filter(|c| !c.completed() && c.merged_into.is_none())
    {
        let Some(procedure) = catalogue.get(&case.service) else {
            out.push(Strand {
                token: case.token.clone(),
                service: case.service.clone(),
                step: None,
            });
            continue;
        };
        for step in case.done.keys() {
            if procedure.position(*step).is_none() && !procedure.renamed.contains_key(step) {
                out.push(Strand {
                    token: case.token.clone(),
                    service: case.service.clone(),
                    step: Some(*step),
                });
            }
        }
    }
    out
}

/// What to say when `strands` is not empty: the cases, and what to change.
pub fn strands_message(strands: &[Strand]) -> String {
    let shown: Vec<String> = strands.iter().take(20).map(|s| format!("  {s}")).collect();
    let more = strands.len().saturating_sub(shown.len());
    format!(
        "the procedures would strand {} open case(s):\n{}{}\nput the step back, map it in the procedure file's [renamed] table (old = \"new\", or \"\" for a step removed), or restore the service's file",
        strands.len(),
        shown.join("\n"),
        if more > 0 {
            format!("\n  … and {more} more")
        } else {
            String::new()
        }
    )
}
