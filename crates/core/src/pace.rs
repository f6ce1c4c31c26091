//! Sending limits a mailbox provider sets (Exchange Online: 30 messages a minute, 10,000
//! recipients a day): how many replies may be submitted now, and when the next may.
//! Pure: times are passed in. The outbox keeps the pace across all its connections;
//! what must wait stays pending with the time it may go, and the mail loop goes on.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The limits, from `[smtp]` (0: none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Messages submitted in any 60 seconds, across every connection.
    pub per_minute: u32,
    /// Recipients in the last 24 hours (counted by clock hour, kept in the store).
    pub recipients_per_day: u32,
    /// How long sending pauses after a refusal that means "over quota".
    pub quota_pause: Duration,
}

impl Limits {
    /// No limits (a relay of one's own).
    pub const NONE: Limits = Limits {
        per_minute: 0,
        recipients_per_day: 0,
        quota_pause: Duration::from_secs(300),
    };
}

const MINUTE: Duration = Duration::from_secs(60);

/// The submissions of the last minute.
#[derive(Debug, Clone, Default)]
pub struct Window {
    sent: VecDeque<Instant>,
}

impl Window {
    fn forget_before(&mut self, now: Instant) {
        while self
            .sent
            .front()
            .is_some_and(|&t| now.duration_since(t) >= MINUTE)
        {
            self.sent.pop_front();
        }
    }

    /// Records one submission at `now`.
    pub fn record(&mut self, now: Instant) {
        self.sent.push_back(now);
    }

    /// How many more may be submitted at `now`, and, when none, how long until one may.
    pub fn room(&mut self, limits: Limits, recipients_today: u32, now: Instant) -> Room {
        self.forget_before(now);
        let by_minute = match limits.per_minute {
            0 => u32::MAX,
            max => max.saturating_sub(self.sent.len() as u32),
        };
        let by_day = match limits.recipients_per_day {
            0 => u32::MAX,
            max => max.saturating_sub(recipients_today),
        };
        let messages = by_minute.min(by_day);
        let wait = if by_day == 0 {
            // The day's counters are per clock hour: the oldest hour leaves within one.
            Duration::from_secs(3600)
        } else if by_minute == 0 {
            self.sent.front().map_or(Duration::ZERO, |&t| {
                MINUTE.saturating_sub(now.duration_since(t))
            })
        } else {
            Duration::ZERO
        };
        Room {
            messages,
            recipients: by_day,
            wait,
        }
    }
}

/// What the limits allow now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    /// Messages that may go now.
    pub messages: u32,
    /// Recipients that may go now (the daily ceiling).
    pub recipients: u32,
    /// With no room: how long until there is.
    pub wait: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        per_minute: 30,
        recipients_per_day: 10_000,
        quota_pause: Duration::from_secs(300),
    };

    #[test]
    fn thirty_a_minute_across_every_connection() {
        let t0 = Instant::now();
        let mut w = Window::default();
        assert_eq!(w.room(LIMITS, 0, t0).messages, 30);
        for i in 0..30 {
            w.record(t0 + Duration::from_secs(i));
        }
        let now = t0 + Duration::from_secs(30);
        let room = w.room(LIMITS, 0, now);
        assert_eq!(room.messages, 0);
        assert_eq!(
            room.wait,
            Duration::from_secs(30),
            "until the first leaves the window"
        );
        assert_eq!(w.room(LIMITS, 0, t0 + Duration::from_secs(60)).messages, 1);
        assert_eq!(w.room(LIMITS, 0, t0 + Duration::from_secs(90)).messages, 30);
    }

    #[test]
    fn the_daily_ceiling_counts_recipients() {
        let mut w = Window::default();
        let room = w.room(LIMITS, 9_995, Instant::now());
        assert_eq!((room.messages, room.recipients), (5, 5));
        let room = w.room(LIMITS, 10_000, Instant::now());
        assert_eq!(room.messages, 0);
        assert_eq!(room.wait, Duration::from_secs(3600));
        assert_eq!(
            w.room(Limits::NONE, 1_000_000, Instant::now()).messages,
            u32::MAX
        );
    }
}
