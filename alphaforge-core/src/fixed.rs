//! Exact fixed-point decimals: `value = raw / 10^precision`.
//!
//! Values are never built from floats. Intermediate results are computed exactly in `i128`
//! (an `i64` times `10^18` always fits) and checked back into `i64`.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::error::{CoreError, CoreResult};

/// Largest supported precision (fraction digits).
pub const MAX_PRECISION: u8 = 18;

/// `10^0 ..= 10^36` as `i128`; 36 = two precisions added (the scale of an exact product).
const POW10: [i128; 37] = {
    let mut table = [1i128; 37];
    let mut i = 1;
    while i < 37 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

fn pow10(exp: u32) -> i128 {
    POW10[exp as usize]
}

/// How to round when a result has more fraction digits than the requested precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// To nearest; ties to the even neighbour (banker's rounding).
    HalfEven,
    /// Toward zero (truncate).
    Down,
    /// Away from zero.
    Up,
    /// Toward negative infinity.
    Floor,
    /// Toward positive infinity.
    Ceiling,
}

impl Rounding {
    pub const ALL: [Rounding; 5] = [
        Rounding::HalfEven,
        Rounding::Down,
        Rounding::Up,
        Rounding::Floor,
        Rounding::Ceiling,
    ];
}

/// `n / d` rounded with `mode`. `d` must be non-zero; magnitudes stay far below `i128::MAX`.
fn div_round(n: i128, d: i128, mode: Rounding) -> i128 {
    let q = n / d;
    let r = n % d;
    if r == 0 {
        return q;
    }
    let negative = (n < 0) != (d < 0);
    let away = if negative { q - 1 } else { q + 1 };
    match mode {
        Rounding::Down => q,
        Rounding::Up => away,
        Rounding::Floor => {
            if negative {
                away
            } else {
                q
            }
        }
        Rounding::Ceiling => {
            if negative {
                q
            } else {
                away
            }
        }
        Rounding::HalfEven => {
            // |r| < |d| <= 2^127, so 2|r| fits in u128.
            let twice_r = r.unsigned_abs() * 2;
            match twice_r.cmp(&d.unsigned_abs()) {
                Ordering::Less => q,
                Ordering::Greater => away,
                Ordering::Equal => {
                    if q % 2 == 0 {
                        q
                    } else {
                        away
                    }
                }
            }
        }
    }
}

fn check_precision(precision: u8) -> CoreResult<()> {
    if precision > MAX_PRECISION {
        return Err(CoreError::Precision {
            precision: precision.into(),
            reason: format!("must be in 0..={MAX_PRECISION}"),
        });
    }
    Ok(())
}

fn to_i64(value: i128, op: &'static str) -> CoreResult<i64> {
    i64::try_from(value).map_err(|_| CoreError::Overflow { op })
}

/// A signed fixed-point decimal: `raw / 10^precision`, precision in `0..=18`.
///
/// Equality, ordering and hashing compare the *value*: `1.0 == 1.00`.
#[derive(Debug, Clone, Copy)]
pub struct Fixed {
    raw: i64,
    precision: u8,
}

impl Fixed {
    pub const ZERO: Fixed = Fixed {
        raw: 0,
        precision: 0,
    };

    /// Builds a value from its raw integer and precision (fails if precision > 18).
    pub fn new(raw: i64, precision: u8) -> CoreResult<Self> {
        check_precision(precision)?;
        Ok(Fixed { raw, precision })
    }

    pub fn raw(self) -> i64 {
        self.raw
    }

    pub fn precision(self) -> u8 {
        self.precision
    }

    pub fn is_zero(self) -> bool {
        self.raw == 0
    }

    pub fn is_negative(self) -> bool {
        self.raw < 0
    }

    /// Parses a decimal string; the precision is the number of fraction digits written.
    ///
    /// Accepted: optional `+`/`-`, one or more digits, optionally `.` and one or more digits.
    pub fn parse(text: &str) -> CoreResult<Self> {
        let lexed = lex(text)?;
        let precision = u8::try_from(lexed.frac.len())
            .ok()
            .filter(|p| *p <= MAX_PRECISION)
            .ok_or_else(|| {
                CoreError::parse(
                    text,
                    format!(
                        "{} fraction digits, more than the maximum precision {MAX_PRECISION}",
                        lexed.frac.len()
                    ),
                )
            })?;
        build(text, &lexed, precision)
    }

    /// Parses a decimal string at a given precision. Fewer fraction digits are scaled up; extra
    /// fraction digits are accepted only when they are all zeros (no silent rounding).
    pub fn parse_with_precision(text: &str, precision: u8) -> CoreResult<Self> {
        check_precision(precision)?;
        let mut lexed = lex(text)?;
        let keep = usize::from(precision).min(lexed.frac.len());
        let (kept, dropped) = lexed.frac.split_at(keep);
        if let Some(pos) = dropped.bytes().position(|b| b != b'0') {
            return Err(CoreError::Precision {
                precision: precision.into(),
                reason: format!(
                    "{text:?} has a non-zero digit at fraction position {} (would lose digits)",
                    keep + pos + 1
                ),
            });
        }
        lexed.frac = kept;
        build(text, &lexed, precision)
    }

    /// Same value at another precision, rounding if digits are dropped.
    pub fn rescale(self, precision: u8, rounding: Rounding) -> CoreResult<Self> {
        check_precision(precision)?;
        let raw = rescale_raw(self.raw.into(), self.precision, precision, rounding);
        Ok(Fixed {
            raw: to_i64(raw, "rescale")?,
            precision,
        })
    }

    /// Exact sum; the result precision is the larger of the two.
    pub fn checked_add(self, other: Fixed) -> CoreResult<Fixed> {
        let (a, b, precision) = align(self, other);
        Ok(Fixed {
            raw: to_i64(a + b, "add")?,
            precision,
        })
    }

    /// Exact difference; the result precision is the larger of the two.
    pub fn checked_sub(self, other: Fixed) -> CoreResult<Fixed> {
        let (a, b, precision) = align(self, other);
        Ok(Fixed {
            raw: to_i64(a - b, "sub")?,
            precision,
        })
    }

    /// Product at `precision`, rounded with `rounding`.
    pub fn checked_mul(self, other: Fixed, precision: u8, rounding: Rounding) -> CoreResult<Fixed> {
        check_precision(precision)?;
        // Exact product: |raw| < 2^63 each, so |product| < 2^126, at scale pa + pb <= 36.
        let product = i128::from(self.raw) * i128::from(other.raw);
        let scale = u32::from(self.precision) + u32::from(other.precision);
        let target = u32::from(precision);
        let raw = if target >= scale {
            // An i128 overflow here means the result is far beyond i64 anyway.
            product
                .checked_mul(pow10(target - scale))
                .ok_or(CoreError::Overflow { op: "mul" })?
        } else {
            div_round(product, pow10(scale - target), rounding)
        };
        Ok(Fixed {
            raw: to_i64(raw, "mul")?,
            precision,
        })
    }

    /// Quotient at `precision`, rounded with `rounding`.
    pub fn checked_div(self, other: Fixed, precision: u8, rounding: Rounding) -> CoreResult<Fixed> {
        check_precision(precision)?;
        if other.raw == 0 {
            return Err(CoreError::DivisionByZero);
        }
        // raw = a.raw * 10^(pb + p - pa) / b.raw; put the power on whichever side keeps it >= 0.
        let k = i32::from(other.precision) + i32::from(precision) - i32::from(self.precision);
        let (num, den) = if k >= 0 {
            // If a.raw * 10^k overflows i128 then |quotient| >= 2^127 / 2^63: an i64 overflow.
            let num = i128::from(self.raw)
                .checked_mul(pow10(k.unsigned_abs()))
                .ok_or(CoreError::Overflow { op: "div" })?;
            (num, i128::from(other.raw))
        } else {
            // -k <= 18, so b.raw * 10^-k < 2^63 * 10^18 fits.
            (
                i128::from(self.raw),
                i128::from(other.raw) * pow10(k.unsigned_abs()),
            )
        };
        Ok(Fixed {
            raw: to_i64(div_round(num, den, rounding), "div")?,
            precision,
        })
    }

    pub fn checked_neg(self) -> CoreResult<Fixed> {
        let raw = self
            .raw
            .checked_neg()
            .ok_or(CoreError::Overflow { op: "neg" })?;
        Ok(Fixed { raw, ..self })
    }

    pub fn checked_abs(self) -> CoreResult<Fixed> {
        let raw = self
            .raw
            .checked_abs()
            .ok_or(CoreError::Overflow { op: "abs" })?;
        Ok(Fixed { raw, ..self })
    }

    /// Same value with trailing fraction zeros removed (canonical form, used for hashing).
    pub fn normalized(self) -> Fixed {
        let mut out = self;
        while out.precision > 0 && out.raw % 10 == 0 {
            out.raw /= 10;
            out.precision -= 1;
        }
        out
    }
}

/// Both raws at the larger precision, exactly (|raw| * 10^18 < 2^124).
fn align(a: Fixed, b: Fixed) -> (i128, i128, u8) {
    let p = a.precision.max(b.precision);
    let scale = |f: Fixed| i128::from(f.raw) * pow10(u32::from(p - f.precision));
    (scale(a), scale(b), p)
}

fn rescale_raw(raw: i128, from: u8, to: u8, rounding: Rounding) -> i128 {
    if to >= from {
        raw * pow10(u32::from(to - from))
    } else {
        div_round(raw, pow10(u32::from(from - to)), rounding)
    }
}

/// The syntactic pieces of a decimal literal.
struct Lexed<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
}

fn lex(text: &str) -> CoreResult<Lexed<'_>> {
    if text.is_empty() {
        return Err(CoreError::parse(text, "empty string"));
    }
    let lower = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if ["nan", "inf", "infinity"].contains(&lower.as_str()) {
        return Err(CoreError::parse(
            text,
            "NaN and infinity are not decimal values",
        ));
    }
    let (negative, body, offset) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..], 1),
        b'+' => (false, &text[1..], 1),
        _ => (false, text, 0),
    };
    let (int, frac) = match body.find('.') {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, ""),
    };
    // Report the first offending character with its 0-based position in `text`.
    for (i, c) in body.char_indices() {
        let ok = c.is_ascii_digit() || (c == '.' && i == int.len());
        if !ok {
            let reason = match c {
                'e' | 'E' => format!(
                    "exponent notation is not supported (at position {})",
                    offset + i
                ),
                c if c.is_whitespace() => format!("whitespace at position {}", offset + i),
                _ => format!("invalid digit {c:?} at position {}", offset + i),
            };
            return Err(CoreError::parse(text, reason));
        }
    }
    if int.is_empty() {
        return Err(CoreError::parse(
            text,
            "missing digits before the decimal point",
        ));
    }
    if body.len() > int.len() && frac.is_empty() {
        return Err(CoreError::parse(
            text,
            "missing digits after the decimal point",
        ));
    }
    Ok(Lexed {
        negative,
        int,
        frac,
    })
}

/// Assembles `raw` from lexed digits padded to `precision` fraction digits (frac.len() <= precision).
fn build(text: &str, lexed: &Lexed<'_>, precision: u8) -> CoreResult<Fixed> {
    let overflow = || {
        CoreError::parse(
            text,
            format!("out of range: raw value does not fit in 64 bits at precision {precision}"),
        )
    };
    let mut magnitude: i128 = 0;
    for b in lexed.int.bytes().chain(lexed.frac.bytes()) {
        magnitude = magnitude * 10 + i128::from(b - b'0');
        // Keep magnitude below 2^64 so the next step cannot overflow i128.
        if magnitude > i128::from(u64::MAX) {
            return Err(overflow());
        }
    }
    let pad = usize::from(precision) - lexed.frac.len();
    magnitude = magnitude
        .checked_mul(pow10(pad as u32))
        .ok_or_else(overflow)?;
    let raw = if lexed.negative {
        -magnitude
    } else {
        magnitude
    };
    Ok(Fixed {
        raw: i64::try_from(raw).map_err(|_| overflow())?,
        precision,
    })
}

impl fmt::Display for Fixed {
    /// Exactly `precision` fraction digits: `-0.50`, `12`, `0.000000000000000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.raw.unsigned_abs();
        let sign = if self.raw < 0 { "-" } else { "" };
        if self.precision == 0 {
            return write!(f, "{sign}{magnitude}");
        }
        let scale = 10u64.pow(u32::from(self.precision));
        let width = usize::from(self.precision);
        write!(
            f,
            "{sign}{}.{:0width$}",
            magnitude / scale,
            magnitude % scale
        )
    }
}

impl FromStr for Fixed {
    type Err = CoreError;

    fn from_str(s: &str) -> CoreResult<Self> {
        Fixed::parse(s)
    }
}

impl PartialEq for Fixed {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Fixed {}

impl PartialOrd for Fixed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Fixed {
    /// Exact comparison across precisions.
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b, _) = align(*self, *other);
        a.cmp(&b)
    }
}

impl Hash for Fixed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let n = self.normalized();
        n.raw.hash(state);
        n.precision.hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Fixed {
        Fixed::parse(s).unwrap()
    }

    #[test]
    fn parse_infers_precision() {
        assert_eq!((f("12.340").raw(), f("12.340").precision()), (12340, 3));
        assert_eq!((f("-0.5").raw(), f("-0.5").precision()), (-5, 1));
        assert_eq!((f("+7").raw(), f("+7").precision()), (7, 0));
        assert_eq!(f("-0").raw(), 0);
        assert_eq!(f("9223372036854775807").raw(), i64::MAX);
        assert_eq!(f("-9223372036854775808").raw(), i64::MIN);
        assert_eq!(f("0.000000000000000001").precision(), 18);
    }

    #[test]
    fn parse_rejects_bad_syntax() {
        for bad in [
            "", " 1", "1 ", "1e5", "1E5", "nan", "NaN", "inf", "-inf", "Infinity", ".5", "5.", "-",
            "+", "1..2", "1.2.3", "--1", "0x10", "1,5", "١",
        ] {
            let err = Fixed::parse(bad).unwrap_err();
            assert!(matches!(err, CoreError::Parse { .. }), "{bad:?} -> {err:?}");
        }
        let err = Fixed::parse("12.3x").unwrap_err();
        assert_eq!(err.reason(), "invalid digit 'x' at position 4");
    }

    #[test]
    fn parse_rejects_overflow_and_excess_precision() {
        assert!(matches!(
            Fixed::parse("9223372036854775808"),
            Err(CoreError::Parse { .. })
        ));
        assert!(matches!(
            Fixed::parse("-9223372036854775809"),
            Err(CoreError::Parse { .. })
        ));
        assert!(Fixed::parse("99999999999999999999999999999999999999999").is_err());
        assert!(Fixed::parse("0.0000000000000000001").is_err());
        assert!(Fixed::parse_with_precision("10", 18).is_err());
    }

    #[test]
    fn parse_with_precision_scales_and_guards_digits() {
        let v = Fixed::parse_with_precision("1.5", 4).unwrap();
        assert_eq!((v.raw(), v.precision()), (15000, 4));
        let v = Fixed::parse_with_precision("1.5000000000000000000000", 2).unwrap();
        assert_eq!((v.raw(), v.precision()), (150, 2));
        let err = Fixed::parse_with_precision("1.505", 2).unwrap_err();
        assert!(
            matches!(err, CoreError::Precision { precision: 2, .. }),
            "{err:?}"
        );
        assert!(matches!(
            Fixed::parse_with_precision("1", 19),
            Err(CoreError::Precision { precision: 19, .. })
        ));
    }

    #[test]
    fn format_exact_digits() {
        assert_eq!(Fixed::new(-50, 2).unwrap().to_string(), "-0.50");
        assert_eq!(Fixed::new(12, 0).unwrap().to_string(), "12");
        assert_eq!(
            Fixed::new(1, 18).unwrap().to_string(),
            "0.000000000000000001"
        );
        assert_eq!(
            Fixed::new(i64::MIN, 18).unwrap().to_string(),
            "-9.223372036854775808"
        );
        assert_eq!(
            Fixed::new(i64::MIN, 0).unwrap().to_string(),
            "-9223372036854775808"
        );
    }

    #[test]
    fn arithmetic_examples() {
        assert_eq!(f("1.5").checked_add(f("0.25")).unwrap().to_string(), "1.75");
        assert_eq!(f("1").checked_sub(f("0.001")).unwrap().to_string(), "0.999");
        let m = f("1.25")
            .checked_mul(f("3"), 1, Rounding::HalfEven)
            .unwrap();
        assert_eq!(m.to_string(), "3.8"); // 3.75 -> ties to even
        let m = f("1.35")
            .checked_mul(f("1"), 1, Rounding::HalfEven)
            .unwrap();
        assert_eq!(m.to_string(), "1.4");
        let d = f("1").checked_div(f("3"), 4, Rounding::Down).unwrap();
        assert_eq!(d.to_string(), "0.3333");
        let d = f("-2").checked_div(f("3"), 2, Rounding::Floor).unwrap();
        assert_eq!(d.to_string(), "-0.67");
        let d = f("-2").checked_div(f("3"), 2, Rounding::Ceiling).unwrap();
        assert_eq!(d.to_string(), "-0.66");
        let d = f("-2").checked_div(f("3"), 2, Rounding::Up).unwrap();
        assert_eq!(d.to_string(), "-0.67");
        assert_eq!(
            f("1").checked_div(f("0.0"), 2, Rounding::Down),
            Err(CoreError::DivisionByZero)
        );
        assert!(matches!(
            Fixed::new(i64::MAX, 0).unwrap().checked_add(f("1")),
            Err(CoreError::Overflow { op: "add" })
        ));
        assert!(Fixed::new(i64::MIN, 0).unwrap().checked_neg().is_err());
        assert!(Fixed::new(i64::MIN, 0).unwrap().checked_abs().is_err());
        assert_eq!(f("-1.5").checked_abs().unwrap(), f("1.5"));
        assert_eq!(
            f("2.675")
                .rescale(2, Rounding::HalfEven)
                .unwrap()
                .to_string(),
            "2.68"
        );
        assert_eq!(
            f("2.665")
                .rescale(2, Rounding::HalfEven)
                .unwrap()
                .to_string(),
            "2.66"
        );
        assert!(f("10").rescale(18, Rounding::Down).is_err());
    }

    #[test]
    fn equality_and_hash_across_precisions() {
        use std::collections::HashSet;
        assert_eq!(f("1.0"), f("1.00"));
        assert!(f("1.01") > f("1.009"));
        assert!(f("-1.01") < f("-1.009"));
        let set: HashSet<Fixed> = [f("1.0"), f("1.00"), f("1")].into_iter().collect();
        assert_eq!(set.len(), 1);
    }
}
