//! When the daily digest is due: at a local time of the agency's time zone, across
//! daylight-saving changes.

use time::OffsetDateTime;

/// The latest scheduled digest time at or before `now`: `at` local time in `tz`, today
/// or yesterday (daylight-saving changes included).
pub fn last_scheduled(
    now: OffsetDateTime,
    at: (i8, i8),
    tz: &jiff::tz::TimeZone,
) -> OffsetDateTime {
    let ts = crate::calendar::timestamp(now);
    let local = ts.to_zoned(tz.clone());
    let on = |date: jiff::civil::Date| {
        date.at(at.0, at.1, 0, 0)
            .to_zoned(tz.clone())
            .map(|z| z.timestamp())
            .unwrap_or(ts)
    };
    let today = on(local.date());
    let chosen = if today <= ts {
        today
    } else {
        on(local.date().yesterday().unwrap_or(local.date()))
    };
    crate::calendar::offset_date_time(chosen)
}

/// The daily digest is due when the last one went out before the latest scheduled time.
pub fn due(
    now: OffsetDateTime,
    last: OffsetDateTime,
    at: (i8, i8),
    tz: &jiff::tz::TimeZone,
) -> bool {
    last < last_scheduled(now, at, tz)
}
