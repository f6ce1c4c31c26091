//! The daemon's local control socket: how staff commands reach a running daemon.
//!
//! A Unix domain socket (`[control] socket`, mode 0660 with `[control] group`, else
//! 0600) carries one request per connection, a JSON line, and its answer, a JSON line.
//! Who asks is taken from the socket's peer credentials (`SO_PEERCRED`), never from the
//! request: a `--by` name is only shown beside the user. The server runs in the daemon
//! beside the mail loop, so requests are answered while the daemon reconnects to IMAP;
//! it applies changes through the staff service ([`crate::staff::Service`]), in the
//! store's transactions, exactly once by request id. With the daemon stopped, commands open the store.

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
    /// Applied or answered: the text for the command to print, and whether a notice
    /// to the applicant was queued (absent: none).
    Done {
        text: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        notice_queued: bool,
    },
    /// Not done, and why (no such case, a step before its prerequisites, …).
    Refused { reason: String },
}

/// How a staff member is recorded: their user from the peer credentials, with the
/// display name they gave, if any (`Ana Popescu (ana, uid 1001)`). A display name is
/// refused, with why, when it could mislead whoever reads the timeline: control
/// characters, bidirectional controls (which reorder what is shown), parentheses
/// (which could fake the user part, as in `root (uid 0)`), or over 80 characters.
pub fn recorded_as(
    user: &str,
    uid: u32,
    display_name: Option<&str>,
) -> Result<String, DisplayNameRefused> {
    let display = display_name.map(str::trim).filter(|d| !d.is_empty());
    let Some(d) = display else {
        return Ok(format!("{user} (uid {uid})"));
    };
    if let Some(c) = d.chars().find(|&c| c.is_control() || is_bidi_control(c)) {
        return Err(DisplayNameRefused::Invisible(c as u32));
    }
    if d.contains(['(', ')', '[', ']', '<', '>']) {
        return Err(DisplayNameRefused::Brackets);
    }
    if d.chars().count() > 80 {
        return Err(DisplayNameRefused::TooLong);
    }
    Ok(if d == user {
        format!("{user} (uid {uid})")
    } else {
        format!("{d} ({user}, uid {uid})")
    })
}

/// Why a display name (`--by`) is not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameRefused {
    #[error("--by: the name holds the invisible character U+{0:04X}; write it in plain letters")]
    Invisible(u32),
    #[error("--by: a name without brackets, please (the user and uid are added by the daemon)")]
    Brackets,
    #[error("--by: the name is over 80 characters")]
    TooLong,
}

pub use mnotify_core::html::is_bidi_control;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_is_always_recorded_and_a_display_name_only_added() {
        assert_eq!(recorded_as("ana", 1001, None).unwrap(), "ana (uid 1001)");
        assert_eq!(
            recorded_as("ana", 1001, Some("Ana Popescu")).unwrap(),
            "Ana Popescu (ana, uid 1001)"
        );
        assert_eq!(
            recorded_as("ana", 1001, Some("Ana Popescu\n")).unwrap(),
            "Ana Popescu (ana, uid 1001)"
        );
        assert_eq!(
            recorded_as("ana", 1001, Some("  ")).unwrap(),
            "ana (uid 1001)"
        );
        assert_eq!(
            recorded_as("ana", 1001, Some("ana")).unwrap(),
            "ana (uid 1001)"
        );
    }

    #[test]
    fn a_name_that_could_mislead_the_timeline_is_refused() {
        for name in [
            "root (uid 0)",
            "root, uid 0)",
            "Ana\u{202E}ucsepoP",
            "Ana\u{2066}x",
            "Ana\rPopescu",
            &"a".repeat(81),
        ] {
            assert!(recorded_as("ana", 1001, Some(name)).is_err(), "{name:?}");
        }
    }

    #[test]
    fn requests_and_replies_round_trip_as_json_lines() {
        let r = ControlRequest {
            id: "ab".into(),
            case: "ABC123".into(),
            display_name: None,
            action: StaffAction::Case(crate::staff::CaseAction::Note { text: "x".into() }),
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
