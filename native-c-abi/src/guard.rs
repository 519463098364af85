//! The boundary helpers: panic containment, the thread-local last error, argument checks and
//! the output-buffer protocol. Every export goes through [`guard`] or [`guard_value`].

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use alphaforge_core::CoreError;

use crate::status::*;

/// A failed call: the status to return and the message for `af_last_error`.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub status: i32,
    pub message: String,
}

impl FfiError {
    pub fn new(status: i32, message: impl Into<String>) -> Self {
        FfiError {
            status,
            message: message.into(),
        }
    }

    /// A core error, prefixed with what it was about (`text="12.3x"`).
    pub fn core(context: impl std::fmt::Display, err: &CoreError) -> Self {
        FfiError::new(status_of(err), format!("{context}: {}", err.reason()))
    }
}

pub(crate) type FfiResult<T = ()> = Result<T, FfiError>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set_last_error(message: &str) {
    // Interior NULs would truncate the C string; replace them rather than drop the message.
    let clean = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // try_with: during thread teardown the slot may be gone; losing the message beats aborting.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = clean;
        }
    });
}

/// Pointer to this thread's last error; valid until the next failing call on this thread.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| slot.try_borrow().map(|s| s.as_ptr()).ok())
        .ok()
        .flatten()
        .unwrap_or(c"".as_ptr())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// Runs an export body: maps `Err` to its status (recording the message) and a panic to
/// `AF_ERR_PANIC`, so no unwind ever crosses into C.
pub(crate) fn guard(body: impl FnOnce() -> FfiResult) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => AF_OK,
        Ok(Err(err)) => {
            set_last_error(&err.message);
            err.status
        }
        Err(payload) => {
            set_last_error(&format!(
                "panic in alphaforge-native: {}",
                panic_message(payload.as_ref())
            ));
            AF_ERR_PANIC
        }
    }
}

/// For the few exports that return a value instead of a status: `fallback` on panic.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// NULL check with a message naming the argument.
pub(crate) fn non_null<T>(ptr: *const T, name: &str) -> FfiResult<()> {
    if ptr.is_null() {
        return Err(FfiError::new(
            AF_ERR_NULL_POINTER,
            format!("{name} is NULL"),
        ));
    }
    Ok(())
}

/// A NUL-terminated UTF-8 input string.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> FfiResult<&'a str> {
    non_null(ptr, name)?;
    let bytes = CStr::from_ptr(ptr);
    bytes.to_str().map_err(|e| {
        FfiError::new(
            AF_ERR_INVALID_ARGUMENT,
            format!(
                "{name}: invalid UTF-8 at byte {} ({:?})",
                e.valid_up_to(),
                bytes.to_string_lossy()
            ),
        )
    })
}

/// The buffer protocol shared by every string-returning call: on success writes `text` plus a
/// NUL and `*written = text.len()`; if `buf_len <= text.len()` returns
/// `AF_ERR_BUFFER_TOO_SMALL` with `*written` = the length needed (without the NUL) and leaves
/// `buf` untouched. `buf` may be NULL only when `buf_len` is 0 (a size query).
///
/// # Safety
/// `buf` must be valid for `buf_len` bytes, `written` valid for one write (or NULL).
pub(crate) unsafe fn write_str(
    text: &str,
    buf: *mut c_char,
    buf_len: usize,
    written: *mut usize,
) -> FfiResult {
    non_null(written, "written")?;
    if buf_len > 0 {
        non_null(buf, "buf")?;
    }
    if buf_len <= text.len() {
        *written = text.len();
        return Err(FfiError::new(
            AF_ERR_BUFFER_TOO_SMALL,
            format!(
                "buf_len={buf_len}: need {} bytes ({} + NUL)",
                text.len() + 1,
                text.len()
            ),
        ));
    }
    std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
    *buf.add(text.len()) = 0;
    *written = text.len();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> String {
        unsafe { CStr::from_ptr(last_error_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn panics_become_status() {
        let status = guard(|| panic!("boom {}", 42));
        assert_eq!(status, AF_ERR_PANIC);
        assert_eq!(last_error(), "panic in alphaforge-native: boom 42");
        assert_eq!(guard_value(7, || -> i32 { panic!("x") }), 7);
    }

    #[test]
    fn errors_set_message_and_success_keeps_it() {
        assert_eq!(
            guard(|| Err(FfiError::new(AF_ERR_STATE, "bad\0state"))),
            AF_ERR_STATE
        );
        assert_eq!(last_error(), "bad\\0state");
        assert_eq!(guard(|| Ok(())), AF_OK);
        assert_eq!(last_error(), "bad\\0state");
    }

    #[test]
    fn last_error_is_thread_local() {
        guard(|| Err(FfiError::new(AF_ERR_STATE, "main thread")));
        let other = std::thread::spawn(last_error).join().unwrap();
        assert_eq!(other, "");
        assert_eq!(last_error(), "main thread");
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let bad = b"ab\xff\0";
        let err = unsafe { str_arg(bad.as_ptr().cast(), "text") }.unwrap_err();
        assert_eq!(err.status, AF_ERR_INVALID_ARGUMENT);
        assert!(
            err.message.starts_with("text: invalid UTF-8 at byte 2"),
            "{}",
            err.message
        );
        let err = unsafe { str_arg(std::ptr::null(), "text") }.unwrap_err();
        assert_eq!(
            (err.status, err.message.as_str()),
            (AF_ERR_NULL_POINTER, "text is NULL")
        );
    }

    #[test]
    fn buffer_protocol() {
        let mut buf = [0x7f as c_char; 4];
        let mut written = 99usize;
        let err = unsafe { write_str("abcd", buf.as_mut_ptr(), 4, &mut written) }.unwrap_err();
        assert_eq!((err.status, written), (AF_ERR_BUFFER_TOO_SMALL, 4));
        assert!(buf.iter().all(|&b| b == 0x7f), "buffer untouched on error");
        let err = unsafe { write_str("abc", std::ptr::null_mut(), 0, &mut written) }.unwrap_err();
        assert_eq!((err.status, written), (AF_ERR_BUFFER_TOO_SMALL, 3));
        let err = unsafe { write_str("abc", std::ptr::null_mut(), 4, &mut written) }.unwrap_err();
        assert_eq!(err.status, AF_ERR_NULL_POINTER);
        unsafe { write_str("abc", buf.as_mut_ptr(), 4, &mut written) }.unwrap();
        assert_eq!(written, 3);
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str(), Ok("abc"));
    }
}
