//! Working days: which days count toward the time AGE promises an applicant, in
//! Moldova by default. Pure: instants in, working days out; the time zone only says
//! where one day ends and the next begins.
//!
//! A working day is a Monday to Friday that is not a public holiday. Moldova's are
//! those of the Labour Code (art. 111): 1 January, 7 and 8 January (Christmas, old
//! style), 8 March, Orthodox Easter and the Monday after it, Memorial Easter (Paștele
//! Blajinilor, the Monday a week later), 1 May, 9 May, 1 June, 27 August, 31 August and
//! 25 December. Days the government moves (a Saturday worked to bridge a holiday) and
//! the locality's own holiday (hramul) are the config's to add.

use std::collections::BTreeSet;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::Deserialize;
use time::OffsetDateTime;

/// The public holidays a calendar starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Holidays {
    /// The Republic of Moldova's (see the module's head).
    #[default]
    Moldova,
    /// None: only weekends and the configured days are off.
    None,
}

/// The days that count, and where a day begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub time_zone: TimeZone,
    pub holidays: Holidays,
    /// Days off besides the holidays (a holiday the government moved, the hram).
    pub extra_days_off: BTreeSet<Date>,
    /// Weekend days worked (the other side of a move): these count.
    pub extra_working_days: BTreeSet<Date>,
}

impl Default for Calendar {
    /// Moldova's holidays, in Chișinău's time.
    fn default() -> Calendar {
        Calendar {
            time_zone: chisinau(),
            holidays: Holidays::Moldova,
            extra_days_off: BTreeSet::new(),
            extra_working_days: BTreeSet::new(),
        }
    }
}

/// Chișinău's time zone, from the tz database bundled into the binary.
pub fn chisinau() -> TimeZone {
    TimeZone::get("Europe/Chisinau").unwrap_or(TimeZone::UTC)
}

impl Calendar {
    /// Whether `day` counts.
    pub fn is_working_day(&self, day: Date) -> bool {
        if self.extra_working_days.contains(&day) {
            return true;
        }
        if self.extra_days_off.contains(&day)
            || matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
        {
            return false;
        }
        !(self.holidays == Holidays::Moldova && is_moldovan_holiday(day))
    }

    /// The working days in `[from, to)`: each working day counts for the share of it
    /// that falls in the span (a day of 23 or 25 hours is still one day).
    pub fn working_days_between(&self, from: OffsetDateTime, to: OffsetDateTime) -> f64 {
        let (from, to) = (timestamp(from), timestamp(to));
        if to <= from {
            return 0.0;
        }
        // Whole days between the first and the last count 1 each when working: only
        // those two need their bounds in the time zone (a long span stays cheap).
        let first = from.to_zoned(self.time_zone.clone()).date();
        let last = to.to_zoned(self.time_zone.clone()).date();
        if let (Some((_, first_end)), Some((last_start, _))) =
            (self.bounds(first), self.bounds(last))
        {
            if first < last {
                let share =
                    |day: Date, a: jiff::Timestamp, b: jiff::Timestamp| match self.bounds(day) {
                        Some((start, end)) if self.is_working_day(day) => {
                            seconds(a.max(start), b.min(end)).max(0.0) / seconds(start, end)
                        }
                        _ => 0.0,
                    };
                let mut total = share(first, from, first_end) + share(last, last_start, to);
                let mut day = first.tomorrow().unwrap_or(last);
                while day < last {
                    if self.is_working_day(day) {
                        total += 1.0;
                    }
                    day = match day.tomorrow() {
                        Ok(next) => next,
                        Err(_) => break,
                    };
                }
                return total;
            }
        }
        let mut total = 0.0;
        let mut day = first;
        while let Some((start, end)) = self.bounds(day) {
            if start >= to {
                break;
            }
            if self.is_working_day(day) {
                let inside = seconds(from.max(start), to.min(end));
                total += inside / seconds(start, end);
            }
            day = match day.tomorrow() {
                Ok(next) => next,
                Err(_) => break,
            };
        }
        total
    }

    /// The instant when `days` working days have passed since `from` (days may be
    /// fractional: half a working day left on a Friday afternoon ends on Monday).
    pub fn after_working_days(&self, from: OffsetDateTime, days: f64) -> OffsetDateTime {
        let start = timestamp(from);
        let mut left = days.max(0.0);
        let mut day = start.to_zoned(self.time_zone.clone()).date();
        while let Some((day_start, end)) = self.bounds(day) {
            if self.is_working_day(day) {
                let begin = start.max(day_start);
                let here = seconds(begin, end) / seconds(day_start, end);
                if here >= left {
                    let into = left * seconds(day_start, end);
                    return instant(begin, into);
                }
                left -= here;
            }
            day = match day.tomorrow() {
                Ok(next) => next,
                Err(_) => break,
            };
        }
        from
    }

    /// `t` in the calendar's time zone, as staff read it (`format`: strftime).
    pub fn local(&self, t: OffsetDateTime, format: &str) -> String {
        timestamp(t)
            .to_zoned(self.time_zone.clone())
            .strftime(format)
            .to_string()
    }

    /// Where `day` begins and ends in the calendar's time zone.
    fn bounds(&self, day: Date) -> Option<(jiff::Timestamp, jiff::Timestamp)> {
        let start = day.to_zoned(self.time_zone.clone()).ok()?.timestamp();
        let end = day
            .tomorrow()
            .ok()?
            .to_zoned(self.time_zone.clone())
            .ok()?
            .timestamp();
        Some((start, end))
    }
}

/// The one crossing from `time` (every instant the daemon records) to `jiff` (time
/// zones and civil days), to the nanosecond.
pub fn timestamp(t: OffsetDateTime) -> jiff::Timestamp {
    jiff::Timestamp::from_nanosecond(t.unix_timestamp_nanos())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The crossing back, to the nanosecond.
pub fn offset_date_time(t: jiff::Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanosecond())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn seconds(from: jiff::Timestamp, to: jiff::Timestamp) -> f64 {
    (to.as_second() - from.as_second()) as f64
}

/// `from` and a length of working time in seconds (fractions of working days are
/// counted in seconds), as an instant.
fn instant(from: jiff::Timestamp, plus_seconds: f64) -> OffsetDateTime {
    offset_date_time(from) + time::Duration::seconds(plus_seconds.round() as i64)
}

/// Moldova's public holidays (see the module's head).
pub fn is_moldovan_holiday(day: Date) -> bool {
    let fixed = matches!(
        (day.month(), day.day()),
        (1, 1) | (1, 7) | (1, 8) | (3, 8) | (5, 1) | (5, 9) | (6, 1) | (8, 27) | (8, 31) | (12, 25)
    );
    fixed || {
        let easter = orthodox_easter(day.year());
        [0, 1, 8].into_iter().any(|after| {
            easter
                .checked_add(jiff::Span::new().days(after))
                .is_ok_and(|d| d == day)
        })
    }
}

/// Orthodox Easter Sunday of `year` (Gregorian date): Meeus's Julian computus, then
/// the 13 days between the calendars (valid 1900–2099).
pub fn orthodox_easter(year: i16) -> Date {
    let y = i32::from(year);
    let (a, b, c) = (y % 4, y % 7, y % 19);
    let d = (19 * c + 15) % 30;
    let e = (2 * a + 4 * b - d + 34) % 7;
    let month = (d + e + 114) / 31;
    let day = (d + e + 114) % 31 + 1;
    // The Julian date is at most 25 April: a valid date, 13 days later in Gregorian.
    let julian = Date::new(year, month as i8, day as i8).unwrap_or(Date::MIN);
    julian
        .checked_add(jiff::Span::new().days(13))
        .unwrap_or(julian)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use time::macros::datetime;

    #[test]
    fn orthodox_easter_matches_the_published_dates() {
        for (year, month, day) in [
            (2023, 4, 16),
            (2024, 5, 5),
            (2025, 4, 20),
            (2026, 4, 12),
            (2027, 5, 2),
            (2028, 4, 16),
            (2030, 4, 28),
        ] {
            assert_eq!(orthodox_easter(year), date(year, month, day), "{year}");
        }
    }

    #[test]
    fn moldovan_holidays_include_the_movable_ones() {
        // 2026: Easter 12 April, its Monday 13 April, Memorial Easter Monday 20 April.
        for d in [
            date(2026, 1, 1),
            date(2026, 1, 7),
            date(2026, 1, 8),
            date(2026, 4, 13),
            date(2026, 4, 20),
            date(2026, 8, 31),
            date(2026, 12, 25),
        ] {
            assert!(is_moldovan_holiday(d), "{d}");
        }
        for d in [date(2026, 4, 14), date(2026, 4, 21), date(2026, 12, 24)] {
            assert!(!is_moldovan_holiday(d), "{d}");
        }
        let calendar = Calendar::default();
        assert!(!calendar.is_working_day(date(2026, 4, 20)));
        assert!(calendar.is_working_day(date(2026, 4, 21)));
        let none = Calendar {
            holidays: Holidays::None,
            ..Calendar::default()
        };
        assert!(none.is_working_day(date(2026, 4, 20)));
    }

    #[test]
    fn configured_days_move_work_and_rest() {
        let mut calendar = Calendar::default();
        calendar.extra_days_off.insert(date(2026, 12, 4)); // a Friday
        calendar.extra_working_days.insert(date(2026, 12, 12)); // a Saturday
        assert!(!calendar.is_working_day(date(2026, 12, 4)));
        assert!(calendar.is_working_day(date(2026, 12, 12)));
        assert!(!calendar.is_working_day(date(2026, 12, 13)));
    }

    /// The day-by-day count the fast path must agree with.
    fn counted_day_by_day(cal: &Calendar, from: OffsetDateTime, to: OffsetDateTime) -> f64 {
        let (from, to) = (timestamp(from), timestamp(to));
        let mut total = 0.0;
        let mut day = from.to_zoned(cal.time_zone.clone()).date();
        while let Some((start, end)) = cal.bounds(day) {
            if start >= to {
                break;
            }
            if cal.is_working_day(day) {
                total += seconds(from.max(start), to.min(end)).max(0.0) / seconds(start, end);
            }
            day = day.tomorrow().unwrap();
        }
        total
    }

    #[test]
    fn long_spans_count_as_day_by_day_across_holidays_and_clock_changes() {
        let cal = Calendar::default();
        let start = time::macros::datetime!(2026-01-01 00:00 UTC);
        for i in 0..600i64 {
            let from = start + time::Duration::minutes(i * 877);
            let to = from + time::Duration::minutes((i * 7919) % 200_000);
            let fast = cal.working_days_between(from, to);
            let slow = counted_day_by_day(&cal, from, to);
            assert!(
                (fast - slow).abs() < 1e-9,
                "{from} → {to}: {fast} vs {slow}"
            );
        }
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        let calendar = Calendar::default();
        // Chișinău is UTC+2 in winter: local midnight is 22:00 UTC the day before.
        // Monday 30 Nov 2026 12:00 local to Monday 7 Dec 12:00 local: five working days.
        let from = datetime!(2026-11-30 10:00 UTC);
        let to = datetime!(2026-12-07 10:00 UTC);
        assert!((calendar.working_days_between(from, to) - 5.0).abs() < 1e-9);
        // A weekend counts nothing.
        let sat = datetime!(2026-12-04 22:00 UTC);
        let mon = datetime!(2026-12-06 22:00 UTC);
        assert_eq!(calendar.working_days_between(sat, mon), 0.0);
        // Christmas (Friday 25 Dec) and the weekend after it count nothing either.
        let before = datetime!(2026-12-24 22:00 UTC);
        let after = datetime!(2026-12-27 22:00 UTC);
        assert_eq!(calendar.working_days_between(before, after), 0.0);
        // Backwards is nothing.
        assert_eq!(calendar.working_days_between(to, from), 0.0);
    }

    #[test]
    fn a_day_of_daylight_saving_change_is_still_one_day() {
        let calendar = Calendar {
            holidays: Holidays::None,
            ..Calendar::default()
        };
        // Clocks go back on Sunday 25 Oct 2026; Friday 23 to Tuesday 27, local midnight.
        let from = datetime!(2026-10-22 21:00 UTC); // Fri 00:00 +03
        let to = datetime!(2026-10-26 22:00 UTC); // Tue 00:00 +02
        assert!((calendar.working_days_between(from, to) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn after_working_days_walks_over_the_weekend() {
        let calendar = Calendar::default();
        // Friday 4 Dec 2026 18:00 local: a quarter of the day left (6 of 24 hours),
        // so the other 0.75 ends Monday 18:00 local.
        let friday = datetime!(2026-12-04 16:00 UTC);
        let due = calendar.after_working_days(friday, 1.0);
        assert_eq!(due, datetime!(2026-12-07 16:00 UTC));
        // Seven working days from Monday noon: Wednesday noon the week after.
        let monday = datetime!(2026-11-30 10:00 UTC);
        assert_eq!(
            calendar.after_working_days(monday, 7.0),
            datetime!(2026-12-09 10:00 UTC)
        );
        // What the walk finds, the count agrees with.
        let due = calendar.after_working_days(monday, 3.4);
        assert!((calendar.working_days_between(monday, due) - 3.4).abs() < 1e-4);
    }
}
