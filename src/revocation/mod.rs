//! Revocation: the verdicts and CRL reading are the core's
//! ([`mnotify_core::revocation`]); fetching and re-reading CRLs ([`keeper`]) is I/O and
//! lives here.
pub use mnotify_core::revocation::*;

pub mod keeper;

#[cfg(test)]
mod tests;
