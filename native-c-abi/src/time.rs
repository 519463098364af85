//! `af_time_*`: timestamps are `uint64_t` nanoseconds since the Unix epoch.

use std::ffi::c_char;

use alphaforge_core::UnixNanos;

use crate::guard::{guard, non_null, str_arg, write_str, FfiError};

/// Parses RFC 3339 (`2024-08-08T00:00:00.123456789Z`, `Z` or a `+HH:MM`/`-HH:MM` offset, 0-9 fraction digits).
#[no_mangle]
pub unsafe extern "C" fn af_time_parse_iso8601(text: *const c_char, out_ns: *mut u64) -> i32 {
    guard(|| {
        non_null(out_ns, "out_ns")?;
        let text = str_arg(text, "text")?;
        let t = UnixNanos::parse_iso8601(text)
            .map_err(|e| FfiError::core(format_args!("text={text:?}"), &e))?;
        *out_ns = t.as_nanos();
        Ok(())
    })
}

/// Formats as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (always 30 characters).
#[no_mangle]
pub unsafe extern "C" fn af_time_format_iso8601(
    ns: u64,
    buf: *mut c_char,
    buf_len: usize,
    written: *mut usize,
) -> i32 {
    guard(|| write_str(&UnixNanos(ns).to_iso8601(), buf, buf_len, written))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::*;
    use std::ffi::CStr;
    use std::ptr::null_mut;

    #[test]
    fn round_trip_and_errors() {
        let mut ns = 5u64;
        let mut buf = [0 as c_char; 31];
        let mut written = 0usize;
        unsafe {
            assert_eq!(
                af_time_parse_iso8601(c"2024-08-08T02:00:00.123456789+02:00".as_ptr(), &mut ns),
                AF_OK
            );
            assert_eq!(ns, 1_723_075_200_123_456_789);
            assert_eq!(
                af_time_format_iso8601(ns, buf.as_mut_ptr(), 31, &mut written),
                AF_OK
            );
            assert_eq!(
                CStr::from_ptr(buf.as_ptr()).to_str(),
                Ok("2024-08-08T00:00:00.123456789Z")
            );
            assert_eq!(written, 30);
            assert_eq!(
                af_time_format_iso8601(ns, buf.as_mut_ptr(), 30, &mut written),
                AF_ERR_BUFFER_TOO_SMALL
            );
            ns = 5;
            assert_eq!(
                af_time_parse_iso8601(c"2024-02-30T00:00:00Z".as_ptr(), &mut ns),
                AF_ERR_PARSE
            );
            assert_eq!(ns, 5);
            let msg = CStr::from_ptr(crate::af_last_error()).to_str().unwrap();
            assert_eq!(
                msg,
                r#"text="2024-02-30T00:00:00Z": day 30 out of range 1..=29 at position 8"#
            );
            assert_eq!(
                af_time_parse_iso8601(c"2024".as_ptr(), null_mut()),
                AF_ERR_NULL_POINTER
            );
        }
    }
}
