//! Timestamps as `u64` nanoseconds since the Unix epoch, with RFC 3339 text.
//!
//! Calendar conversion uses the proleptic-Gregorian "days from civil" arithmetic (400-year eras
//! of 146 097 days, years starting in March so the leap day is last), written out here so the
//! crate needs no date library.

use std::fmt;
use std::str::FromStr;

use crate::error::{CoreError, CoreResult};

const NANOS_PER_SEC: u64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Nanoseconds since 1970-01-01T00:00:00Z. Covers 1970 ..= 2554-07-21T23:34:33.709551615Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixNanos(pub u64);

impl UnixNanos {
    pub const EPOCH: UnixNanos = UnixNanos(0);

    pub fn as_nanos(self) -> u64 {
        self.0
    }
    /// Whole seconds (truncated).
    pub fn as_secs(self) -> u64 {
        self.0 / NANOS_PER_SEC
    }
    /// Whole milliseconds (truncated).
    pub fn as_millis(self) -> u64 {
        self.0 / 1_000_000
    }
    /// Whole microseconds (truncated).
    pub fn as_micros(self) -> u64 {
        self.0 / 1_000
    }
    pub fn from_secs(secs: u64) -> CoreResult<Self> {
        scaled(secs, NANOS_PER_SEC, "from_secs")
    }
    pub fn from_millis(millis: u64) -> CoreResult<Self> {
        scaled(millis, 1_000_000, "from_millis")
    }
    pub fn from_micros(micros: u64) -> CoreResult<Self> {
        scaled(micros, 1_000, "from_micros")
    }

    /// Parses RFC 3339 / ISO-8601: `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`.
    pub fn parse_iso8601(text: &str) -> CoreResult<Self> {
        let mut p = Cursor { text, pos: 0 };
        let year = p.number(4, "year")?;
        p.literal(b"-")?;
        let month = p.field(2, "month", 1, 12)?;
        p.literal(b"-")?;
        let dim = days_in_month(year, month);
        let day = p.field(2, "day", 1, dim)?;
        p.literal(b"Tt")?;
        let hour = p.field(2, "hour", 0, 23)?;
        p.literal(b":")?;
        let minute = p.field(2, "minute", 0, 59)?;
        p.literal(b":")?;
        // Leap seconds (60) are not representable in Unix time; reject rather than smear.
        let second = p.field(2, "second", 0, 59)?;
        let mut nanos: i64 = 0;
        if p.peek() == Some(b'.') {
            p.pos += 1;
            let start = p.pos;
            while let Some(b) = p.peek().filter(u8::is_ascii_digit) {
                if p.pos - start == 9 {
                    return Err(p.error("more than 9 fraction digits"));
                }
                nanos = nanos * 10 + i64::from(b - b'0');
                p.pos += 1;
            }
            let digits = p.pos - start;
            if digits == 0 {
                return Err(p.error("expected fraction digits after '.'"));
            }
            nanos *= 10i64.pow(9 - digits as u32);
        }
        let offset_secs = match p.peek() {
            Some(b'Z' | b'z') => {
                p.pos += 1;
                0
            }
            Some(sign @ (b'+' | b'-')) => {
                p.pos += 1;
                let oh = p.field(2, "offset hour", 0, 23)?;
                p.literal(b":")?;
                let om = p.field(2, "offset minute", 0, 59)?;
                let secs = oh * 3600 + om * 60;
                if sign == b'-' {
                    -secs
                } else {
                    secs
                }
            }
            _ => return Err(p.error("expected 'Z' or a ±HH:MM offset")),
        };
        if p.pos != text.len() {
            return Err(p.error("unexpected trailing characters"));
        }
        let days = days_from_civil(year, month, day);
        let secs = days * SECS_PER_DAY + hour * 3600 + minute * 60 + second - offset_secs;
        let total = i128::from(secs) * i128::from(NANOS_PER_SEC) + i128::from(nanos);
        u64::try_from(total).map(UnixNanos).map_err(|_| {
            CoreError::parse(
                text,
                "outside the representable range 1970-01-01T00:00:00Z ..= 2554-07-21T23:34:33.709551615Z",
            )
        })
    }

    /// Formats as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (always 9 fraction digits, UTC).
    pub fn to_iso8601(self) -> String {
        self.to_string()
    }
}

fn scaled(value: u64, factor: u64, op: &'static str) -> CoreResult<UnixNanos> {
    value
        .checked_mul(factor)
        .map(UnixNanos)
        .ok_or(CoreError::Overflow { op })
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic-Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let mp = (month + 9) % 12; // March = 0 ... February = 11
    let doy = (153 * mp + 2) / 5 + day - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468 // 719 468 = days from 0000-03-01 to 1970-01-01
}

/// Inverse of [`days_from_civil`]: (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for UnixNanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / NANOS_PER_SEC;
        let nanos = self.0 % NANOS_PER_SEC;
        // secs < 2^64 / 1e9, so days and the remainder fit i64 comfortably.
        let days = (secs / SECS_PER_DAY as u64) as i64;
        let rem = secs % SECS_PER_DAY as u64;
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }
}

impl FromStr for UnixNanos {
    type Err = CoreError;
    fn from_str(s: &str) -> CoreResult<Self> {
        UnixNanos::parse_iso8601(s)
    }
}

/// A tiny byte cursor whose errors carry the 0-based position.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn error(&self, what: &str) -> CoreError {
        CoreError::parse(self.text, format!("{what} at position {}", self.pos))
    }

    fn literal(&mut self, allowed: &[u8]) -> CoreResult<()> {
        match self.peek() {
            Some(b) if allowed.contains(&b) => {
                self.pos += 1;
                Ok(())
            }
            _ => {
                let want = allowed.iter().map(|&b| format!("'{}'", b as char));
                let want: Vec<String> = want.collect();
                Err(self.error(&format!("expected {}", want.join(" or "))))
            }
        }
    }

    /// Exactly `width` ASCII digits.
    fn number(&mut self, width: usize, name: &str) -> CoreResult<i64> {
        let mut value = 0i64;
        for _ in 0..width {
            match self.peek() {
                Some(b) if b.is_ascii_digit() => {
                    value = value * 10 + i64::from(b - b'0');
                    self.pos += 1;
                }
                _ => return Err(self.error(&format!("expected {width}-digit {name}"))),
            }
        }
        Ok(value)
    }

    fn field(&mut self, width: usize, name: &str, min: i64, max: i64) -> CoreResult<i64> {
        let start = self.pos;
        let value = self.number(width, name)?;
        if !(min..=max).contains(&value) {
            return Err(CoreError::parse(
                self.text,
                format!("{name} {value} out of range {min}..={max} at position {start}"),
            ));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> CoreResult<u64> {
        UnixNanos::parse_iso8601(s).map(|t| t.0)
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(UnixNanos(0).to_string(), "1970-01-01T00:00:00.000000000Z");
        let t = UnixNanos(1_723_075_200_123_456_789);
        assert_eq!(t.to_string(), "2024-08-08T00:00:00.123456789Z");
        assert_eq!(
            UnixNanos(u64::MAX).to_string(),
            "2554-07-21T23:34:33.709551615Z"
        );
        assert_eq!(
            UnixNanos(951_782_400 * NANOS_PER_SEC).to_string(),
            "2000-02-29T00:00:00.000000000Z"
        );
    }

    #[test]
    fn parses_offsets_and_fractions() {
        assert_eq!(
            parse("2024-08-08T00:00:00.123456789Z"),
            Ok(1_723_075_200_123_456_789)
        );
        assert_eq!(parse("2024-08-08T00:00:00Z"), Ok(1_723_075_200_000_000_000));
        assert_eq!(
            parse("2024-08-08T00:00:00.5z"),
            Ok(1_723_075_200_500_000_000)
        );
        assert_eq!(
            parse("2024-08-08T02:00:00+02:00"),
            Ok(1_723_075_200_000_000_000)
        );
        assert_eq!(
            parse("2024-08-07T19:30:00-04:30"),
            Ok(1_723_075_200_000_000_000)
        );
        assert_eq!(parse("2554-07-21T23:34:33.709551615Z"), Ok(u64::MAX));
    }

    #[test]
    fn rejects_bad_fields() {
        for bad in [
            "",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00.1234567890Z",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00+01:60",
            "2024-01-01T00:00:00+0100",
            "2024-01-01 00:00:00Z",
            "2024-1-01T00:00:00Z",
            "2024-01-01T00:00:00Zjunk",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+00:01",
            "2554-07-21T23:34:33.709551616Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert!(
                matches!(parse(bad), Err(CoreError::Parse { .. })),
                "{bad:?} -> {:?}",
                parse(bad)
            );
        }
        let err = UnixNanos::parse_iso8601("2024-13-01T00:00:00Z").unwrap_err();
        assert_eq!(err.reason(), "month 13 out of range 1..=12 at position 5");
    }

    #[test]
    fn unit_conversions() {
        assert_eq!(UnixNanos::from_secs(2).unwrap().0, 2_000_000_000);
        assert_eq!(UnixNanos::from_millis(3).unwrap().0, 3_000_000);
        assert_eq!(UnixNanos::from_micros(4).unwrap().0, 4_000);
        assert!(UnixNanos::from_secs(u64::MAX / 1_000_000_000 + 1).is_err());
        assert!(UnixNanos::from_millis(u64::MAX).is_err());
        let t = UnixNanos(1_234_567_891);
        assert_eq!(
            (t.as_secs(), t.as_millis(), t.as_micros()),
            (1, 1234, 1_234_567)
        );
    }

    #[test]
    fn civil_round_trip_over_range() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
        }
    }
}
