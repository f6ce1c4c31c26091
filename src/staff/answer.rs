//! What the staff service answers, typed; each edge renders it (the control socket's
//! text, the console's page, the CLI's lines).

use super::status::StatusReport;
use crate::registry::KnownCertificate;

/// What became of a staff request: done, or refused and why (in the staff language).
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Done(Done),
    Refused(String),
}

/// A request done, and what it gives back.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// A case changed: what to say, and whether a notice to the applicant was queued
    /// (a command tells its user when the daemon will send it).
    Applied {
        said: String,
        notice_queued: bool,
    },
    /// Words for whoever asked: a held mail accepted, a backup written, the digest,
    /// an import's summary, a request already applied.
    Said(String),
    Status(Box<StatusReport>),
    Registry(Vec<KnownCertificate>),
    /// The daemon's process id (the control socket's ping).
    Pid(u32),
    /// Cases or a case's conversation as JSON, written straight from the store: every
    /// case is never held in memory at once.
    Json(String),
}

impl Done {
    /// The answer as the control socket carries it and a command prints it.
    pub fn into_text(self) -> String {
        match self {
            Done::Applied { said, .. } | Done::Said(said) | Done::Json(said) => said,
            Done::Status(report) => serde_json::to_string(&report).expect("the status serialises"),
            Done::Registry(entries) => {
                serde_json::to_string(&entries).expect("the registry serialises")
            }
            Done::Pid(pid) => pid.to_string(),
        }
    }

    /// Whether a notice to the applicant was queued.
    pub fn notice_queued(&self) -> bool {
        matches!(
            self,
            Done::Applied {
                notice_queued: true,
                ..
            }
        )
    }
}
