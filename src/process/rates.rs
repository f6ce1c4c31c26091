//! Caps on automatic replies: the counters a reply adds to and whether one more
//! would break a cap.

use time::OffsetDateTime;

use crate::trust::{domain, Caps};

/// Automatic replies already counted against each cap (see [`RateKeys`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplyCounts {
    pub recipient_today: u32,
    pub case_today: u32,
    pub domain_today: u32,
    pub this_hour: u32,
    /// Neutral answers to unauthenticated senders this hour (a tenth of the hourly cap).
    pub unverified_this_hour: u32,
}

/// The counters of automatic replies a reply to `to` in case `case` counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateKeys {
    pub recipient: String,
    pub case: Option<String>,
    pub domain: String,
    pub hour: String,
    pub unverified_hour: String,
}

impl RateKeys {
    pub fn new(to: &str, case: Option<&str>, now: OffsetDateTime) -> RateKeys {
        let to = to.to_ascii_lowercase();
        let org = domain::of_address(&to).map_or_else(String::new, |d| domain::organizational(&d));
        RateKeys {
            recipient: rate_key(&to, now),
            case: case.map(|c| format!("case:{c}/{}", now.date())),
            domain: format!("domain:{org}/{}", now.date()),
            hour: format!("hour:{}T{:02}", now.date(), now.hour()),
            unverified_hour: format!("unverified:{}T{:02}", now.date(), now.hour()),
        }
    }

    /// The counters one reply adds to (`unverified`: a neutral answer to an
    /// unauthenticated sender).
    pub fn all(&self, unverified: bool) -> Vec<String> {
        let mut keys = vec![
            self.recipient.clone(),
            self.domain.clone(),
            self.hour.clone(),
        ];
        keys.extend(self.case.clone());
        if unverified {
            keys.push(self.unverified_hour.clone());
        }
        keys
    }
}

/// The counter of automatic replies to `address` on the UTC day of `now`.
pub fn rate_key(address: &str, now: OffsetDateTime) -> String {
    format!("{}/{}", address.to_ascii_lowercase(), now.date())
}

/// Why a reply would break a cap, if it would.
pub(super) fn cap_reached(
    counts: ReplyCounts,
    joined_case: bool,
    held: bool,
    caps: Caps,
) -> Option<String> {
    let unverified_cap = if held {
        (caps.per_hour / 10).max(1)
    } else {
        u32::MAX
    };
    let checks = [
        (
            counts.unverified_this_hour,
            unverified_cap,
            "to unauthenticated senders in this hour",
            "a tenth of [trust] max_replies_per_hour",
        ),
        (
            counts.recipient_today,
            caps.per_recipient_per_day,
            "to this address today",
            "[reply] max_per_recipient_per_day",
        ),
        (
            if joined_case { counts.case_today } else { 0 },
            caps.per_case_per_day,
            "about this case today",
            "[trust] max_replies_per_case_per_day",
        ),
        (
            counts.domain_today,
            caps.per_domain_per_day,
            "to this domain today",
            "[trust] max_replies_per_domain_per_day",
        ),
        (
            counts.this_hour,
            caps.per_hour,
            "in this hour",
            "[trust] max_replies_per_hour",
        ),
    ];
    checks
        .iter()
        .find(|(count, cap, _, _)| count >= cap)
        .map(|(count, _, what, key)| {
            format!("no reply, left for staff: {count} automatic replies {what} ({key})")
        })
}
