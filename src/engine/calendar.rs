//! Calendar arithmetic in a time zone: business days, holidays, send windows, dates as instants.
//! Instants are Unix seconds (UTC).

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

use crate::check::DateValue;
use crate::time::cron::resolve;
use crate::time::{Duration, Window};

pub fn utc(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

pub fn local_date(t: i64, tz: Tz) -> NaiveDate {
    utc(t).with_timezone(&tz).date_naive()
}

/// The instant a local calendar day starts.
pub fn day_start(date: NaiveDate, tz: Tz) -> i64 {
    resolve(tz, date.and_time(NaiveTime::MIN))
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

pub(crate) fn is_business_day(date: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && holidays.binary_search(&date).is_err()
}

/// `n` business days after (or before) `t`, at the same local time of day.
fn shift_business_days(t: i64, n: u32, forward: bool, tz: Tz, holidays: &[NaiveDate]) -> i64 {
    if n == 0 {
        return t;
    }
    let local = utc(t).with_timezone(&tz).naive_local();
    let mut date = local.date();
    let mut left = n;
    while left > 0 {
        let next = if forward {
            date.checked_add_days(Days::new(1))
        } else {
            date.checked_sub_days(Days::new(1))
        };
        date = match next {
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
pub fn add(t: i64, d: Duration, tz: Tz, holidays: &[NaiveDate]) -> i64 {
    if d.business_days > 0 {
        shift_business_days(t, d.business_days, true, tz, holidays)
    } else {
        t.saturating_add(d.seconds)
    }
}

/// `t - d`.
pub(crate) fn sub(t: i64, d: Duration, tz: Tz, holidays: &[NaiveDate]) -> i64 {
    if d.business_days > 0 {
        shift_business_days(t, d.business_days, false, tz, holidays)
    } else {
        t.saturating_sub(d.seconds)
    }
}

/// The first instant of a send window at or after `t`, skipping holidays.
pub fn next_window(t: i64, window: &Window, tz: Tz, holidays: &[NaiveDate]) -> Option<i64> {
    let mut from = t;
    for _ in 0..800 {
        let at = window.next_at_or_after(utc(from), tz)?.timestamp();
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

/// Appends `t` in zone `tz` as RFC 3339 with the offset: `2026-03-11T09:30:00+01:00`.
pub fn push_local(out: &mut String, t: i64, tz: Tz) {
    let offset = offset_at(t, tz);
    push_instant(out, t + i64::from(offset));
    out.pop(); // the `Z`
    let sign = if offset < 0 { '-' } else { '+' };
    let m = offset.unsigned_abs() / 60;
    out.push(sign);
    for d in [m / 600, m / 60 % 10, 10, m % 60 / 10, m % 10] {
        out.push(if d == 10 {
            ':'
        } else {
            (b'0' + d as u8) as char
        });
    }
}

/// `t` as a reader in zone `tz` sees it: `2026-03-11 09:30 Europe/Berlin` (seconds only when
/// they are not zero).
pub fn format_local(t: i64, tz: Tz) -> String {
    let mut s = String::with_capacity(48);
    push_instant(&mut s, t + i64::from(offset_at(t, tz)));
    s.pop(); // the `Z`
    if t % 60 == 0 {
        s.truncate(s.len() - 3);
    }
    if let Some(i) = s.find('T') {
        s.replace_range(i..=i, " ");
    }
    s.push(' ');
    s.push_str(tz.name());
    s
}

/// Seconds the zone is ahead of UTC at `t`.
fn offset_at(t: i64, tz: Tz) -> i32 {
    use chrono::{Offset, TimeZone};
    tz.offset_from_utc_datetime(&utc(t).naive_utc())
        .fix()
        .local_minus_utc()
}

/// `2026-01-05T09:00:00Z`
pub fn format_instant(t: i64) -> String {
    let mut s = String::with_capacity(20);
    push_instant(&mut s, t);
    s
}

/// Appends `t` as RFC 3339 UTC with seconds (`2026-01-05T09:00:00Z`), without allocating:
/// the trace writes one per record.
pub fn push_instant(out: &mut String, t: i64) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        out.push_str(&utc(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        return;
    }
    let mut buf = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, v: i64, width: usize| {
        let mut v = v;
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, secs / 3_600, 2);
    put(14, secs / 60 % 60, 2);
    put(17, secs % 60, 2);
    out.push_str(std::str::from_utf8(&buf).unwrap_or("0000-00-00T00:00:00Z"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_business_days(t: i64, n: u32, tz: Tz, holidays: &[NaiveDate]) -> i64 {
        add(
            t,
            Duration {
                seconds: 0,
                business_days: n,
            },
            tz,
            holidays,
        )
    }

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
    fn business_days_back_skip_weekends() {
        // Monday 2026-01-12 10:00 - 1bd = Friday 10:00.
        let d = Duration::parse("1bd").unwrap();
        assert_eq!(
            format_instant(sub(t("2026-01-12T10:00:00Z"), d, Tz::UTC, &[])),
            "2026-01-09T10:00:00Z"
        );
    }

    #[test]
    fn instants_format_like_chrono() {
        for t in [
            0,
            951_782_400,
            1_767_603_600,
            4_102_444_799,
            1_709_164_800,
            -86_400,
        ] {
            assert_eq!(
                format_instant(t),
                utc(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "{t}"
            );
        }
    }

    #[test]
    fn local_times_carry_their_offset_and_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let mut s = String::new();
        push_local(&mut s, t("2026-03-11T08:30:00Z"), berlin);
        assert_eq!(s, "2026-03-11T09:30:00+01:00");
        s.clear();
        push_local(&mut s, t("2026-07-01T08:30:00Z"), berlin);
        assert_eq!(s, "2026-07-01T10:30:00+02:00");
        for (zone, want) in [
            ("America/St_Johns", "2026-03-11T06:00:00-02:30"),
            ("Asia/Kolkata", "2026-03-11T14:00:00+05:30"),
            ("Pacific/Kiritimati", "2026-03-11T22:30:00+14:00"),
        ] {
            s.clear();
            push_local(&mut s, t("2026-03-11T08:30:00Z"), zone.parse().unwrap());
            assert_eq!(s, want);
        }
        assert_eq!(
            format_local(t("2026-03-11T23:30:00Z"), berlin),
            "2026-03-12 00:30 Europe/Berlin"
        );
        assert_eq!(
            format_local(t("2026-03-11T23:30:05Z"), Tz::UTC),
            "2026-03-11 23:30:05 UTC"
        );
    }

    #[test]
    fn windows_skip_holidays() {
        let cron = Window::Cron(crate::time::Cron::parse("0 9 * * *").unwrap());
        let hol = [NaiveDate::from_ymd_opt(2026, 1, 6).unwrap()];
        assert_eq!(
            next_window(t("2026-01-05T10:00:00Z"), &cron, Tz::UTC, &hol).map(format_instant),
            Some("2026-01-07T09:00:00Z".into())
        );
        // Hours: a holiday is shut all day, even when the email is due inside its hours.
        let mut days: [Vec<(u16, u16)>; 7] = Default::default();
        days[1..=5]
            .iter_mut()
            .for_each(|d| d.push((9 * 60, 17 * 60)));
        let hours = Window::Hours(crate::time::Hours::new(days));
        assert_eq!(
            next_window(t("2026-01-06T10:00:00Z"), &hours, Tz::UTC, &hol).map(format_instant),
            Some("2026-01-07T09:00:00Z".into())
        );
        assert_eq!(
            next_window(t("2026-01-05T10:00:00Z"), &hours, Tz::UTC, &hol).map(format_instant),
            Some("2026-01-05T10:00:00Z".into())
        );
    }
}
