//! Caps on automatic replies: the counters a reply adds to and whether one more
//! would break a cap.
//!
//! Two sets of counters that never mix: replies to authenticated senders, and the
//! neutral answers to senders we could not authenticate. Anyone can forge a mail "from"
//! an applicant; if its neutral answer counted against her own allowance, five forgeries
//! would silence the bot towards her for the day. So a neutral answer counts only
//! against the neutral counters (per address, per organizational domain, and the hourly
//! ceiling of a tenth of `max_replies_per_hour`), and an authenticated reply is checked
//! only against its own.

use time::OffsetDateTime;

use crate::remark::{Cap, Remark};
use crate::trust::{domain, Caps};

/// Automatic replies already counted against each cap of one kind (see [`RateKeys`]):
/// for a held mail, the neutral answers' counters; otherwise the applicants'.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplyCounts {
    pub recipient_today: u32,
    pub case_today: u32,
    pub domain_today: u32,
    pub this_hour: u32,
}

/// The counters of automatic replies a reply to `to` in case `case` counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateKeys {
    pub recipient: String,
    pub case: Option<String>,
    pub domain: String,
    pub hour: String,
}

impl RateKeys {
    /// `unverified`: the reply is a neutral answer to a sender we could not
    /// authenticate; it counts apart (no case: held mail changes none).
    pub fn new(to: &str, case: Option<&str>, unverified: bool, now: OffsetDateTime) -> RateKeys {
        let to = to.to_ascii_lowercase();
        let org = domain::of_address(&to).map_or_else(String::new, |d| domain::organizational(&d));
        let (date, hour) = (now.date(), now.hour());
        if unverified {
            return RateKeys {
                recipient: format!("unverified-to:{to}/{date}"),
                case: None,
                domain: format!("unverified-domain:{org}/{date}"),
                hour: format!("unverified:{date}T{hour:02}"),
            };
        }
        RateKeys {
            recipient: rate_key(&to, now),
            case: case.map(|c| format!("case:{c}/{date}")),
            domain: format!("domain:{org}/{date}"),
            hour: format!("hour:{date}T{hour:02}"),
        }
    }

    /// The counters one reply adds to.
    pub fn all(&self) -> Vec<String> {
        let mut keys = vec![
            self.recipient.clone(),
            self.domain.clone(),
            self.hour.clone(),
        ];
        keys.extend(self.case.clone());
        keys
    }
}

/// The counter of automatic replies to `address` on the UTC day of `now`.
pub fn rate_key(address: &str, now: OffsetDateTime) -> String {
    format!("{}/{}", address.to_ascii_lowercase(), now.date())
}

/// Why a reply would break a cap, if it would. `held`: `counts` are the neutral
/// answers' counters, whose hourly ceiling is a tenth of the hourly cap.
pub(super) fn cap_reached(
    counts: ReplyCounts,
    joined_case: bool,
    held: bool,
    caps: Caps,
) -> Option<Remark> {
    let (hour_cap, hour_key) = if held {
        (
            (caps.per_hour / 10).max(1),
            "a tenth of [trust] max_replies_per_hour",
        )
    } else {
        (caps.per_hour, "[trust] max_replies_per_hour")
    };
    let checks = [
        (
            counts.recipient_today,
            caps.per_recipient_per_day,
            Cap::Recipient,
            "[reply] max_per_recipient_per_day",
        ),
        (
            if joined_case && !held {
                counts.case_today
            } else {
                0
            },
            caps.per_case_per_day,
            Cap::Case,
            "[trust] max_replies_per_case_per_day",
        ),
        (
            counts.domain_today,
            caps.per_domain_per_day,
            Cap::Domain,
            "[trust] max_replies_per_domain_per_day",
        ),
        (counts.this_hour, hour_cap, Cap::Hour, hour_key),
    ];
    checks
        .iter()
        .find(|(count, cap, _, _)| count >= cap)
        .map(|&(count, _, cap, key)| Remark::CapReached {
            count,
            unverified: held,
            cap,
            key: key.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: OffsetDateTime = time::macros::datetime!(2026-12-01 10:30 UTC);

    #[test]
    fn neutral_answers_and_applicants_replies_share_no_counter() {
        let genuine = RateKeys::new("Ion@Primaria.md", Some("MN-1"), false, NOW).all();
        let neutral = RateKeys::new("ion@primaria.md", Some("MN-1"), true, NOW).all();
        assert_eq!(genuine.len(), 4);
        assert_eq!(neutral.len(), 3, "a neutral answer counts for no case");
        for key in &neutral {
            assert!(!genuine.contains(key), "{key} is shared");
        }
        assert!(genuine.contains(&rate_key("ion@primaria.md", NOW)));
    }

    #[test]
    fn the_neutral_ceiling_is_a_tenth_of_the_hour_and_the_address_cap_applies() {
        let caps = Caps {
            per_recipient_per_day: 5,
            per_case_per_day: 10,
            per_domain_per_day: 50,
            per_hour: 300,
        };
        let hour = |n| ReplyCounts {
            this_hour: n,
            ..ReplyCounts::default()
        };
        assert!(cap_reached(hour(29), false, true, caps).is_none());
        let why = cap_reached(hour(30), false, true, caps)
            .unwrap()
            .to_string();
        assert!(
            why.contains("neutral answers") && why.contains("a tenth"),
            "{why}"
        );
        assert!(cap_reached(hour(30), false, false, caps).is_none());
        let address = ReplyCounts {
            recipient_today: 5,
            ..ReplyCounts::default()
        };
        assert!(cap_reached(address, false, true, caps).is_some());
        let case = ReplyCounts {
            case_today: 10,
            ..ReplyCounts::default()
        };
        assert!(cap_reached(case, true, true, caps).is_none());
        assert!(cap_reached(case, true, false, caps).is_some());
    }
}
