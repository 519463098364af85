//! `af_fixed_*`: fixed-point values cross the ABI as `AfFixed { raw, precision }`.

use std::ffi::c_char;
use std::fmt;

use alphaforge_core::{Fixed, Rounding};

use crate::guard::{guard, non_null, str_arg, write_str, FfiError, FfiResult};
use crate::status::*;

/// A fixed-point decimal: value = raw / 10^precision, precision in 0..=18.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfFixed {
    pub raw: i64,
    pub precision: u8,
}

impl From<Fixed> for AfFixed {
    fn from(v: Fixed) -> Self {
        AfFixed {
            raw: v.raw(),
            precision: v.precision(),
        }
    }
}

/// Shows an argument as `name=<decimal>` in messages (raw form if the precision is invalid).
struct Arg<'a>(&'a str, AfFixed);

impl fmt::Display for Arg<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Fixed::new(self.1.raw, self.1.precision) {
            Ok(v) => write!(f, "{}={v}", self.0),
            Err(_) => write!(
                f,
                "{}={{raw={}, precision={}}}",
                self.0, self.1.raw, self.1.precision
            ),
        }
    }
}

fn value_arg(v: AfFixed, name: &str) -> FfiResult<Fixed> {
    Fixed::new(v.raw, v.precision).map_err(|_| {
        FfiError::new(
            AF_ERR_PRECISION,
            format!(
                "{name}.precision={}: must be in 0..={AF_MAX_PRECISION}",
                v.precision
            ),
        )
    })
}

fn precision_arg(p: u8) -> FfiResult<u8> {
    if p > AF_MAX_PRECISION {
        return Err(FfiError::new(
            AF_ERR_PRECISION,
            format!("precision={p}: must be in 0..={AF_MAX_PRECISION}"),
        ));
    }
    Ok(p)
}

fn rounding_arg(r: i32) -> FfiResult<Rounding> {
    Ok(match r {
        AF_ROUND_HALF_EVEN => Rounding::HalfEven,
        AF_ROUND_DOWN => Rounding::Down,
        AF_ROUND_UP => Rounding::Up,
        AF_ROUND_FLOOR => Rounding::Floor,
        AF_ROUND_CEILING => Rounding::Ceiling,
        _ => {
            return Err(FfiError::new(
                AF_ERR_INVALID_ARGUMENT,
                format!("rounding={r}: unknown rounding mode (expected 0..=4, AF_ROUND_*)"),
            ))
        }
    })
}

/// Parses a decimal string (`-12.50`). `precision` = AF_PRECISION_INFER takes it from the
/// text; otherwise fewer digits are scaled up and extra digits must be zeros.
#[no_mangle]
pub unsafe extern "C" fn af_fixed_parse(
    text: *const c_char,
    precision: u8,
    out: *mut AfFixed,
) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let text = str_arg(text, "text")?;
        let parsed = if precision == AF_PRECISION_INFER {
            Fixed::parse(text)
        } else {
            precision_arg(precision)?;
            Fixed::parse_with_precision(text, precision)
        };
        let value = parsed.map_err(|e| FfiError::core(format_args!("text={text:?}"), &e))?;
        *out = value.into();
        Ok(())
    })
}

/// Formats with exactly `precision` fraction digits; buffer protocol as in docs/c-abi.md.
#[no_mangle]
pub unsafe extern "C" fn af_fixed_format(
    value: AfFixed,
    buf: *mut c_char,
    buf_len: usize,
    written: *mut usize,
) -> i32 {
    guard(|| {
        let value = value_arg(value, "value")?;
        write_str(&value.to_string(), buf, buf_len, written)
    })
}

/// Shared body of the binary operations: validate, compute, write `out` only on success.
unsafe fn binary(
    a: AfFixed,
    b: AfFixed,
    out: *mut AfFixed,
    op: impl FnOnce(Fixed, Fixed) -> Result<Fixed, alphaforge_core::CoreError>,
) -> FfiResult {
    non_null(out, "out")?;
    let (fa, fb) = (value_arg(a, "a")?, value_arg(b, "b")?);
    let result = op(fa, fb)
        .map_err(|e| FfiError::core(format_args!("{}, {}", Arg("a", a), Arg("b", b)), &e))?;
    *out = result.into();
    Ok(())
}

/// a + b exactly, at max(a.precision, b.precision).
#[no_mangle]
pub unsafe extern "C" fn af_fixed_add(a: AfFixed, b: AfFixed, out: *mut AfFixed) -> i32 {
    guard(|| binary(a, b, out, Fixed::checked_add))
}

/// a - b exactly, at max(a.precision, b.precision).
#[no_mangle]
pub unsafe extern "C" fn af_fixed_sub(a: AfFixed, b: AfFixed, out: *mut AfFixed) -> i32 {
    guard(|| binary(a, b, out, Fixed::checked_sub))
}

/// a * b at `precision`, rounded with `rounding` (AF_ROUND_*).
#[no_mangle]
pub unsafe extern "C" fn af_fixed_mul(
    a: AfFixed,
    b: AfFixed,
    precision: u8,
    rounding: i32,
    out: *mut AfFixed,
) -> i32 {
    guard(|| {
        let (p, r) = (precision_arg(precision)?, rounding_arg(rounding)?);
        binary(a, b, out, |x, y| x.checked_mul(y, p, r))
    })
}

/// a / b at `precision`, rounded with `rounding` (AF_ROUND_*).
#[no_mangle]
pub unsafe extern "C" fn af_fixed_div(
    a: AfFixed,
    b: AfFixed,
    precision: u8,
    rounding: i32,
    out: *mut AfFixed,
) -> i32 {
    guard(|| {
        let (p, r) = (precision_arg(precision)?, rounding_arg(rounding)?);
        binary(a, b, out, |x, y| x.checked_div(y, p, r))
    })
}

/// The value of `a` at `precision`, rounded with `rounding` when digits are dropped.
#[no_mangle]
pub unsafe extern "C" fn af_fixed_rescale(
    a: AfFixed,
    precision: u8,
    rounding: i32,
    out: *mut AfFixed,
) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let fa = value_arg(a, "a")?;
        let (p, r) = (precision_arg(precision)?, rounding_arg(rounding)?);
        let result = fa
            .rescale(p, r)
            .map_err(|e| FfiError::core(format_args!("{}, precision={p}", Arg("a", a)), &e))?;
        *out = result.into();
        Ok(())
    })
}

/// Exact comparison across precisions: *out = -1, 0 or 1.
#[no_mangle]
pub unsafe extern "C" fn af_fixed_cmp(a: AfFixed, b: AfFixed, out: *mut i32) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let (fa, fb) = (value_arg(a, "a")?, value_arg(b, "b")?);
        *out = fa.cmp(&fb) as i32;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr::{null, null_mut};

    fn last_error() -> String {
        unsafe { CStr::from_ptr(crate::af_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    fn fx(raw: i64, precision: u8) -> AfFixed {
        AfFixed { raw, precision }
    }

    const SENTINEL: AfFixed = AfFixed {
        raw: 777,
        precision: 7,
    };

    #[test]
    fn parse_ok_and_errors() {
        let mut out = SENTINEL;
        unsafe {
            assert_eq!(
                af_fixed_parse(c"-12.50".as_ptr(), AF_PRECISION_INFER, &mut out),
                AF_OK
            );
            assert_eq!(out, fx(-1250, 2));
            assert_eq!(af_fixed_parse(c"3".as_ptr(), 4, &mut out), AF_OK);
            assert_eq!(out, fx(30000, 4));
            out = SENTINEL;
            assert_eq!(
                af_fixed_parse(c"12.3x".as_ptr(), AF_PRECISION_INFER, &mut out),
                AF_ERR_PARSE
            );
            assert_eq!(
                last_error(),
                r#"text="12.3x": invalid digit 'x' at position 4"#
            );
            assert_eq!(out, SENTINEL, "output untouched on error");
            assert_eq!(
                af_fixed_parse(c"1.25".as_ptr(), 1, &mut out),
                AF_ERR_PRECISION
            );
            assert_eq!(
                af_fixed_parse(c"1".as_ptr(), 19, &mut out),
                AF_ERR_PRECISION
            );
            assert_eq!(last_error(), "precision=19: must be in 0..=18");
            assert_eq!(af_fixed_parse(null(), 2, &mut out), AF_ERR_NULL_POINTER);
            assert_eq!(last_error(), "text is NULL");
            assert_eq!(
                af_fixed_parse(c"1".as_ptr(), 2, null_mut()),
                AF_ERR_NULL_POINTER
            );
            assert_eq!(last_error(), "out is NULL");
            let bad = b"1\xff\0";
            assert_eq!(
                af_fixed_parse(bad.as_ptr().cast(), 2, &mut out),
                AF_ERR_INVALID_ARGUMENT
            );
            assert_eq!(out, SENTINEL);
        }
    }

    #[test]
    fn arithmetic_statuses() {
        let mut out = SENTINEL;
        let mut ord = 5;
        unsafe {
            assert_eq!(af_fixed_add(fx(15, 1), fx(25, 2), &mut out), AF_OK);
            assert_eq!(out, fx(175, 2));
            assert_eq!(af_fixed_sub(fx(15, 1), fx(25, 2), &mut out), AF_OK);
            assert_eq!(out, fx(125, 2));
            assert_eq!(
                af_fixed_mul(fx(125, 2), fx(3, 0), 1, AF_ROUND_HALF_EVEN, &mut out),
                AF_OK
            );
            assert_eq!(out, fx(38, 1));
            assert_eq!(
                af_fixed_div(fx(1, 0), fx(3, 0), 4, AF_ROUND_DOWN, &mut out),
                AF_OK
            );
            assert_eq!(out, fx(3333, 4));
            assert_eq!(
                af_fixed_rescale(fx(2675, 3), 2, AF_ROUND_HALF_EVEN, &mut out),
                AF_OK
            );
            assert_eq!(out, fx(268, 2));
            out = SENTINEL;
            assert_eq!(
                af_fixed_add(fx(i64::MAX, 0), fx(1, 0), &mut out),
                AF_ERR_OVERFLOW
            );
            assert_eq!(last_error(), "a=9223372036854775807, b=1: overflow in add");
            assert_eq!(
                af_fixed_div(fx(1, 0), fx(0, 3), 2, AF_ROUND_DOWN, &mut out),
                AF_ERR_DIVISION_BY_ZERO
            );
            assert_eq!(
                af_fixed_mul(fx(1, 0), fx(1, 0), 2, 9, &mut out),
                AF_ERR_INVALID_ARGUMENT
            );
            assert!(last_error().starts_with("rounding=9"));
            assert_eq!(
                af_fixed_mul(fx(1, 0), fx(1, 0), AF_PRECISION_INFER, 0, &mut out),
                AF_ERR_PRECISION
            );
            assert_eq!(
                af_fixed_add(fx(1, 19), fx(1, 0), &mut out),
                AF_ERR_PRECISION
            );
            assert_eq!(last_error(), "a.precision=19: must be in 0..=18");
            assert_eq!(
                af_fixed_add(fx(1, 0), fx(1, 0), null_mut()),
                AF_ERR_NULL_POINTER
            );
            assert_eq!(out, SENTINEL);
            assert_eq!(af_fixed_cmp(fx(10, 1), fx(100, 2), &mut ord), AF_OK);
            assert_eq!(ord, 0);
            assert_eq!(af_fixed_cmp(fx(-1, 0), fx(1, 18), &mut ord), AF_OK);
            assert_eq!(ord, -1);
            assert_eq!(
                af_fixed_cmp(fx(1, 0), fx(1, 0), null_mut()),
                AF_ERR_NULL_POINTER
            );
        }
    }

    #[test]
    fn format_protocol() {
        let mut buf = [0 as c_char; 8];
        let mut written = 0usize;
        unsafe {
            assert_eq!(
                af_fixed_format(fx(-50, 2), buf.as_mut_ptr(), buf.len(), &mut written),
                AF_OK
            );
            assert_eq!(
                (CStr::from_ptr(buf.as_ptr()).to_str(), written),
                (Ok("-0.50"), 5)
            );
            assert_eq!(
                af_fixed_format(fx(1, 18), buf.as_mut_ptr(), buf.len(), &mut written),
                AF_ERR_BUFFER_TOO_SMALL
            );
            assert_eq!(written, 20);
            assert_eq!(
                af_fixed_format(fx(1, 2), buf.as_mut_ptr(), 8, null_mut()),
                AF_ERR_NULL_POINTER
            );
            assert_eq!(
                af_fixed_format(fx(1, 20), buf.as_mut_ptr(), 8, &mut written),
                AF_ERR_PRECISION
            );
            assert_eq!(last_error(), "value.precision=20: must be in 0..=18");
        }
    }
}
