//! Calendar arithmetic in a time zone: business days, holidays, send windows, dates as instants.
//! Instants are Unix seconds (UTC).

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

use crate::check::DateValue;
use crate::time::cron::resolve;
use crate::time::{Cron, Duration};

pub(crate) fn utc(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

pub(crate) fn local_date(t: i64, tz: Tz) -> NaiveDate {
    utc(t).with_timezone(&tz).date_naive()
}

/// The instant a local calendar day starts.
pub(crate) fn day_start(date: NaiveDate, tz: Tz) -> i64 {
    resolve(tz, date.and_time(NaiveTime::MIN))
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

pub(crate) fn is_business_day(date: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && holidays.binary_search(&date).is_err()
}

/// `n` business days after `t`, at the same local time of day.
pub(crate) fn add_business_days(t: i64, n: u32, tz: Tz, holidays: &[NaiveDate]) -> i64 {
    if n == 0 {
        return t;
    }
    let local = utc(t).with_timezone(&tz).naive_local();
    let mut date = local.date();
    let mut left = n;
    while left > 0 {
        date = match date.checked_add_days(Days::new(1)) {
            Some(d) => d,
            None => return t,
        };
        if is_business_day(date, holidays) {
            left -= 1;
        }
    }
    resolve(tz, date.and_time(local.time()))
        .map(|x| x.timestamp())
        .unwrap_or(t)
}

/// `t + d` (business days counted in `tz`).
pub(crate) fn add(t: i64, d: Duration, tz: Tz, holidays: &[NaiveDate]) -> i64 {
    if d.business_days > 0 {
        add_business_days(t, d.business_days, tz, holidays)
    } else {
        t.saturating_add(d.seconds)
    }
}

/// `t - d`.
pub(crate) fn sub(t: i64, d: Duration, tz: Tz, holidays: &[NaiveDate]) -> i64 {
    if d.business_days == 0 {
        return t.saturating_sub(d.seconds);
    }
    let local = utc(t).with_timezone(&tz).naive_local();
    let mut date = local.date();
    let mut left = d.business_days;
    while left > 0 {
        date = match date.checked_sub_days(Days::new(1)) {
            Some(d) => d,
            None => return t,
        };
        if is_business_day(date, holidays) {
            left -= 1;
        }
    }
    resolve(tz, date.and_time(local.time()))
        .map(|x| x.timestamp())
        .unwrap_or(t)
}

/// The first instant of `cron` at or after `t`, skipping holidays (send windows do).
pub(crate) fn next_window(t: i64, cron: &Cron, tz: Tz, holidays: &[NaiveDate]) -> Option<i64> {
    let mut from = t;
    for _ in 0..800 {
        let at = cron.next_at_or_after(utc(from), tz)?.timestamp();
        let date = local_date(at, tz);
        if holidays.binary_search(&date).is_err() {
            return Some(at);
        }
        from = day_start(date.checked_add_days(Days::new(1))?, tz);
    }
    None
}

/// The instant of a date value: a calendar day is its midnight in `tz`.
pub(crate) fn date_instant(v: DateValue, tz: Tz) -> i64 {
    match v {
        DateValue::Day(d) => day_start(d, tz),
        DateValue::Instant(t) => t.timestamp(),
    }
}

/// `2026-01-05T09:00:00Z`
pub fn format_instant(t: i64) -> String {
    utc(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn business_days_skip_weekends_and_holidays_keeping_the_time() {
        // Friday 2026-01-09 15:00 + 1bd = Monday 15:00.
        assert_eq!(
            format_instant(add_business_days(
                t("2026-01-09T15:00:00Z"),
                1,
                Tz::UTC,
                &[]
            )),
            "2026-01-12T15:00:00Z"
        );
        let hol = [NaiveDate::from_ymd_opt(2026, 1, 12).unwrap()];
        assert_eq!(
            format_instant(add_business_days(
                t("2026-01-09T15:00:00Z"),
                1,
                Tz::UTC,
                &hol
            )),
            "2026-01-13T15:00:00Z"
        );
        // Saturday + 1bd = Monday.
        assert_eq!(
            format_instant(add_business_days(
                t("2026-01-10T08:00:00Z"),
                1,
                Tz::UTC,
                &[]
            )),
            "2026-01-12T08:00:00Z"
        );
    }

    #[test]
    fn business_days_in_a_zone_keep_the_local_time_across_daylight_saving() {
        let ny = chrono_tz::America::New_York;
        // Friday 2026-03-06 09:00 EST (14:00Z) + 1bd = Monday 2026-03-09 09:00 EDT (13:00Z).
        assert_eq!(
            format_instant(add_business_days(t("2026-03-06T14:00:00Z"), 1, ny, &[])),
            "2026-03-09T13:00:00Z"
        );
    }

    #[test]
    fn windows_skip_holidays() {
        let cron = Cron::parse("0 9 * * *").unwrap();
        let hol = [NaiveDate::from_ymd_opt(2026, 1, 6).unwrap()];
        assert_eq!(
            next_window(t("2026-01-05T10:00:00Z"), &cron, Tz::UTC, &hol).map(format_instant),
            Some("2026-01-07T09:00:00Z".into())
        );
    }
}
