//! The daemon's local control socket: how staff commands reach a running daemon.
//!
//! A Unix domain socket (`[control] socket`, mode 0660 with `[control] group`, else
//! 0600) carries one request per connection, a JSON line, and its answer, a JSON line.
//! Who asks is taken from the socket's peer credentials (`SO_PEERCRED`), never from the
//! request: a `--by` name is only shown beside the user. The server runs in the daemon
//! beside the mail loop, so requests are answered while the daemon reconnects to IMAP;
//! it applies changes with [`crate::staff::execute`], in the store's transactions,
//! exactly once by request id. With the daemon stopped, commands open the store.

pub mod client;
pub mod peer;
pub mod server;

use serde::{Deserialize, Serialize};

use crate::staff::StaffAction;

/// A request larger than this is refused (a registry import of 50,000 certificates is
/// about 25 MB of JSON).
pub const MAX_REQUEST_BYTES: u64 = 64 * 1024 * 1024;

/// What a command sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlRequest {
    /// Random, made by the command: a request sent again is applied once.
    pub id: String,
    /// The case token, for case changes.
    #[serde(default)]
    pub case: String,
    /// A display name shown beside the peer's user (`--by`).
    #[serde(default)]
    pub display_name: Option<String>,
    pub action: StaffAction,
}

/// What the daemon answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ControlReply {
    /// Applied or answered: the text for the command to print.
    Done { text: String },
    /// Not done, and why (no such case, a step before its prerequisites, …).
    Refused { reason: String },
}

/// How a staff member is recorded: their user from the peer credentials, with the
/// display name they gave, if any (`Ana Popescu (ana, uid 1001)`).
pub fn recorded_as(user: &str, uid: u32, display_name: Option<&str>) -> String {
    let display = display_name
        .map(|d| {
            d.chars()
                .filter(|c| !c.is_control())
                .take(80)
                .collect::<String>()
        })
        .filter(|d| !d.trim().is_empty());
    match display {
        Some(d) if d.trim() != user => format!("{} ({user}, uid {uid})", d.trim()),
        _ => format!("{user} (uid {uid})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_is_always_recorded_and_a_display_name_only_added() {
        assert_eq!(recorded_as("ana", 1001, None), "ana (uid 1001)");
        assert_eq!(
            recorded_as("ana", 1001, Some("Ana Popescu")),
            "Ana Popescu (ana, uid 1001)"
        );
        assert_eq!(
            recorded_as("ana", 1001, Some("root\n")),
            "root (ana, uid 1001)"
        );
        assert_eq!(recorded_as("ana", 1001, Some("  ")), "ana (uid 1001)");
    }

    #[test]
    fn requests_and_replies_round_trip_as_json_lines() {
        let r = ControlRequest {
            id: "ab".into(),
            case: "ABC123".into(),
            display_name: None,
            action: StaffAction::Note { text: "x".into() },
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<ControlRequest>(&line).unwrap(), r);
        let reply = ControlReply::Refused {
            reason: "no".into(),
        };
        let line = serde_json::to_string(&reply).unwrap();
        assert_eq!(line, r#"{"status":"refused","reason":"no"}"#);
    }
}
