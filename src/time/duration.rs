//! Durations: `30m` `2h` `3d` `1w`, combined (`1d12h`), and business days (`3bd`).

use std::fmt;

/// A parsed duration. Business days cannot be mixed with other units: `3bd` means "the same
/// time of day, three working days later" in the cadence's zone, which the engine computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Duration {
    /// Fixed seconds (`m` = 60, `h` = 3600, `d` = 86400, `w` = 604800).
    pub seconds: i64,
    /// Business days (Monday to Friday, not holidays).
    pub business_days: u32,
}

/// Why a duration did not parse; `at` is the byte offset in the text of the bad part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    pub message: String,
    pub help: String,
    pub at: usize,
    pub len: usize,
}

/// The longest duration accepted: ten years. Longer is almost surely a typo.
pub const MAX_SECONDS: i64 = 10 * 366 * 86_400;

impl Duration {
    pub const ZERO: Duration = Duration {
        seconds: 0,
        business_days: 0,
    };

    pub fn from_seconds(seconds: i64) -> Duration {
        Duration {
            seconds,
            business_days: 0,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.seconds == 0 && self.business_days == 0
    }

    /// Parses `3d`, `1d12h`, `30m`, `3bd`.
    pub fn parse(text: &str) -> Result<Duration, DurationError> {
        let units = "use m, h, d, w or bd, for example `3d` or `1d12h`";
        if text.is_empty() {
            return Err(DurationError {
                message: "empty duration".into(),
                help: units.into(),
                at: 0,
                len: 0,
            });
        }
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut seconds: i64 = 0;
        let mut business_days: u32 = 0;
        let mut parts = 0;
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(DurationError {
                    message: format!("expected a number in duration `{text}`"),
                    help: units.into(),
                    at: start,
                    len: text.len() - start,
                });
            }
            let digits = &text[start..i];
            let unit_start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = &text[unit_start..i];
            let too_large = || DurationError {
                message: format!("duration `{text}` is too large"),
                help: "a duration may be at most ten years".into(),
                at: 0,
                len: text.len(),
            };
            let n: i64 = digits.parse().map_err(|_| too_large())?;
            let factor = match unit {
                "m" => 60,
                "h" => 3_600,
                "d" => 86_400,
                "w" => 604_800,
                "bd" => 0,
                "" => {
                    return Err(DurationError {
                        message: format!("duration `{text}` has no unit"),
                        help: format!("{units}; `{digits}d` is {digits} days"),
                        at: start,
                        len: i - start,
                    })
                }
                other => {
                    let hint = match other {
                        "s" | "sec" | "secs" | "second" | "seconds" => {
                            "; the smallest unit is the minute (`m`)".to_string()
                        }
                        "min" | "mins" | "minute" | "minutes" => "; minutes are `m`".into(),
                        "hr" | "hrs" | "hour" | "hours" => "; hours are `h`".into(),
                        "day" | "days" => "; days are `d`".into(),
                        "wk" | "week" | "weeks" => "; weeks are `w`".into(),
                        "mo" | "month" | "months" | "y" | "year" | "years" => {
                            "; months and years vary in length: write days (`30d`) or weeks".into()
                        }
                        _ => String::new(),
                    };
                    return Err(DurationError {
                        message: format!("unknown duration unit `{other}`"),
                        help: format!("{units}{hint}"),
                        at: unit_start,
                        len: unit.len(),
                    });
                }
            };
            if unit == "bd" {
                business_days = business_days
                    .checked_add(u32::try_from(n).map_err(|_| too_large())?)
                    .ok_or_else(too_large)?;
                if business_days > 2_600 {
                    return Err(too_large());
                }
            } else {
                seconds = n
                    .checked_mul(factor)
                    .and_then(|s| seconds.checked_add(s))
                    .filter(|s| *s <= MAX_SECONDS)
                    .ok_or_else(too_large)?;
            }
            parts += 1;
        }
        if business_days > 0 && parts > 1 {
            return Err(DurationError {
                message: format!("business days cannot be combined with other units in `{text}`"),
                help: "write business days alone (`3bd`), or use calendar units (`3d12h`)".into(),
                at: 0,
                len: text.len(),
            });
        }
        Ok(Duration {
            seconds,
            business_days,
        })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.business_days > 0 {
            return write!(f, "{}bd", self.business_days);
        }
        let mut s = self.seconds;
        if s == 0 {
            return f.write_str("0d");
        }
        for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
            if s >= size {
                write!(f, "{}{unit}", s / size)?;
                s %= size;
            }
        }
        if s > 0 {
            write!(f, "{s}s")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_combinations() {
        assert_eq!(Duration::parse("30m").unwrap().seconds, 1_800);
        assert_eq!(Duration::parse("2h").unwrap().seconds, 7_200);
        assert_eq!(Duration::parse("3d").unwrap().seconds, 259_200);
        assert_eq!(Duration::parse("1w").unwrap().seconds, 604_800);
        assert_eq!(Duration::parse("1d12h").unwrap().seconds, 129_600);
        assert_eq!(Duration::parse("0d").unwrap(), Duration::ZERO);
        assert_eq!(Duration::parse("3bd").unwrap().business_days, 3);
    }

    #[test]
    fn unknown_unit_names_the_units() {
        let e = Duration::parse("3x").unwrap_err();
        assert_eq!(e.message, "unknown duration unit `x`");
        assert!(e.help.starts_with("use m, h, d, w or bd"));
        assert_eq!((e.at, e.len), (1, 1));
    }

    #[test]
    fn missing_unit_mixed_business_days_and_overflow() {
        assert!(Duration::parse("3")
            .unwrap_err()
            .message
            .contains("no unit"));
        assert!(Duration::parse("1bd2h").is_err());
        assert!(Duration::parse("99999999999999999999d").is_err());
        assert!(Duration::parse("5000w").is_err());
    }

    #[test]
    fn display_round_trips() {
        for s in ["1w2d3h4m", "3bd", "0d", "12h"] {
            assert_eq!(Duration::parse(s).unwrap().to_string(), s);
        }
    }
}
