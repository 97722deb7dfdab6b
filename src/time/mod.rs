//! Time values of the language: durations, cron schedules, and calendar arithmetic in a zone.

pub mod cron;
pub mod duration;

pub use cron::{Cron, CronError};
pub use duration::{Duration, DurationError};

use crate::check::DateValue;
use chrono::{DateTime, NaiveDate, Utc};

/// Parses `2026-01-05` (a calendar day) or RFC 3339 `2026-01-05T09:00:00Z` (an instant).
pub fn parse_date(text: &str) -> Result<DateValue, String> {
    let t = text.trim();
    if !t.contains(['T', 't', ' ']) {
        return NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map(DateValue::Day)
            .map_err(|_| format!("`{t}` is not a valid date"));
    }
    DateTime::parse_from_rfc3339(t)
        .map(|d| DateValue::Instant(d.with_timezone(&Utc)))
        .map_err(|e| format!("`{t}` is not a valid RFC 3339 instant ({e})"))
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
    }
}
