//! Time values of the language: durations, cron schedules, send windows, and calendar arithmetic in a zone.

pub mod cron;
pub mod duration;
pub mod window;

pub use cron::{Cron, CronError};
pub use duration::{Duration, DurationError};
pub use window::{Hours, Window};

use crate::check::DateValue;
use chrono::{DateTime, NaiveDate, Utc};

/// Parses `2026-01-05` (a calendar day) or RFC 3339 `2026-01-05T09:00:00Z` (an instant).
pub fn parse_date(text: &str) -> Result<DateValue, String> {
    let t = text.trim();
    if let Some(v) = fast_instant(t) {
        return Ok(DateValue::Instant(v));
    }
    if !t.contains(['T', 't', ' ']) {
        return NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(DateValue::Day)
            .map_err(|_| format!("`{t}` is not a valid date"));
    }
    DateTime::parse_from_rfc3339(t)
        .map(|d| DateValue::Instant(d.with_timezone(&Utc)))
        .map_err(|e| format!("`{t}` is not a valid RFC 3339 instant ({e})"))
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly, without chrono's general parser (event files hold hundreds of
/// thousands of these). Anything else returns `None` and takes the general path.
fn fast_instant(t: &str) -> Option<DateTime<Utc>> {
    let b = t.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let time = chrono::NaiveTime::from_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants() {
        assert!(matches!(parse_date("2026-01-05"), Ok(DateValue::Day(_))));
        assert!(matches!(
            parse_date("2026-01-05T09:00:00Z"),
            Ok(DateValue::Instant(_))
        ));
        assert!(matches!(
            parse_date("2026-01-05T09:00:00+08:00"),
            Ok(DateValue::Instant(_))
        ));
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_date("2026-01-05T25:00:00Z").is_err());
        assert!(parse_date("2026-02-30T10:00:00Z").is_err());
        assert_eq!(
            parse_date("2026-01-05T09:00:00Z"),
            parse_date("2026-01-05T09:00:00+00:00")
        );
    }
}
