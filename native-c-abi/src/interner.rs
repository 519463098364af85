//! `af_interner_*`: an opaque, thread-safe string interner handle.

use std::ffi::c_char;
use std::sync::{Mutex, MutexGuard};

use alphaforge_core::Interner;

use crate::guard::{guard, guard_value, non_null, str_arg, write_str, FfiError, FfiResult};
use crate::status::*;

/// Opaque handle. The Mutex is needed because cffi releases the GIL around calls.
pub struct AfInterner {
    inner: Mutex<Interner>,
}

/// Locks the handle; a mutex poisoned by an earlier panic is reported, never unwrapped.
unsafe fn lock<'a>(h: *mut AfInterner) -> FfiResult<MutexGuard<'a, Interner>> {
    non_null(h, "h")?;
    (*h).inner.lock().map_err(|_| {
        FfiError::new(
            AF_ERR_STATE,
            "h: interner is unusable after a panic inside a call (poisoned lock); free it",
        )
    })
}

/// Creates an empty interner; free it with af_interner_free.
#[no_mangle]
pub unsafe extern "C" fn af_interner_new(out: *mut *mut AfInterner) -> i32 {
    guard(|| {
        non_null(out, "out")?;
        let handle = Box::new(AfInterner {
            inner: Mutex::new(Interner::new()),
        });
        *out = Box::into_raw(handle);
        Ok(())
    })
}

/// Frees a handle from af_interner_new. NULL is a no-op; freeing twice is undefined.
#[no_mangle]
pub unsafe extern "C" fn af_interner_free(h: *mut AfInterner) {
    guard_value((), || {
        if !h.is_null() {
            drop(Box::from_raw(h));
        }
    })
}

/// The id of `text` (assigned densely from 0 in first-seen order).
#[no_mangle]
pub unsafe extern "C" fn af_interner_intern(
    h: *mut AfInterner,
    text: *const c_char,
    out_id: *mut u32,
) -> i32 {
    guard(|| {
        non_null(out_id, "out_id")?;
        let text = str_arg(text, "text")?;
        let id = lock(h)?
            .intern(text)
            .map_err(|e| FfiError::core(format_args!("text={text:?}"), &e))?;
        *out_id = id;
        Ok(())
    })
}

/// Number of interned strings.
#[no_mangle]
pub unsafe extern "C" fn af_interner_len(h: *mut AfInterner, out_len: *mut usize) -> i32 {
    guard(|| {
        non_null(out_len, "out_len")?;
        *out_len = lock(h)?.len();
        Ok(())
    })
}

/// Copies the string of `id` into `buf` (buffer protocol); unknown id -> AF_ERR_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn af_interner_resolve(
    h: *mut AfInterner,
    id: u32,
    buf: *mut c_char,
    buf_len: usize,
    written: *mut usize,
) -> i32 {
    guard(|| {
        non_null(written, "written")?;
        let interner = lock(h)?;
        let text = interner.resolve(id).ok_or_else(|| {
            FfiError::new(
                AF_ERR_NOT_FOUND,
                format!("id={id}: not interned (len={})", interner.len()),
            )
        })?;
        write_str(text, buf, buf_len, written)
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

    #[test]
    fn intern_resolve_free() {
        unsafe {
            let mut h: *mut AfInterner = null_mut();
            assert_eq!(af_interner_new(&mut h), AF_OK);
            let (mut id, mut len) = (99u32, 99usize);
            assert_eq!(
                af_interner_intern(h, c"BTCUSDT.BINANCE".as_ptr(), &mut id),
                AF_OK
            );
            assert_eq!(id, 0);
            assert_eq!(
                af_interner_intern(h, c"ETHUSDT.BINANCE".as_ptr(), &mut id),
                AF_OK
            );
            assert_eq!(
                af_interner_intern(h, c"BTCUSDT.BINANCE".as_ptr(), &mut id),
                AF_OK
            );
            assert_eq!(id, 0);
            assert_eq!(af_interner_len(h, &mut len), AF_OK);
            assert_eq!(len, 2);
            let mut buf = [0 as c_char; 32];
            let mut written = 0usize;
            assert_eq!(
                af_interner_resolve(h, 1, buf.as_mut_ptr(), 32, &mut written),
                AF_OK
            );
            assert_eq!(CStr::from_ptr(buf.as_ptr()).to_str(), Ok("ETHUSDT.BINANCE"));
            assert_eq!(
                af_interner_resolve(h, 7, buf.as_mut_ptr(), 32, &mut written),
                AF_ERR_NOT_FOUND
            );
            assert_eq!(last_error(), "id=7: not interned (len=2)");
            assert_eq!(
                af_interner_intern(null_mut(), c"x".as_ptr(), &mut id),
                AF_ERR_NULL_POINTER
            );
            assert_eq!(last_error(), "h is NULL");
            assert_eq!(af_interner_intern(h, null(), &mut id), AF_ERR_NULL_POINTER);
            assert_eq!(af_interner_new(null_mut()), AF_ERR_NULL_POINTER);
            af_interner_free(h);
            af_interner_free(null_mut());
        }
    }

    #[test]
    fn poisoned_mutex_is_state_error() {
        unsafe {
            let mut h: *mut AfInterner = null_mut();
            assert_eq!(af_interner_new(&mut h), AF_OK);
            let handle = &*h;
            let _ = std::panic::catch_unwind(|| {
                let _guard = handle.inner.lock();
                panic!("poison the lock");
            });
            let mut id = 0u32;
            assert_eq!(af_interner_intern(h, c"x".as_ptr(), &mut id), AF_ERR_STATE);
            assert!(last_error().contains("poisoned"), "{}", last_error());
            let mut len = 0usize;
            assert_eq!(af_interner_len(h, &mut len), AF_ERR_STATE);
            af_interner_free(h);
        }
    }

    #[test]
    fn concurrent_interning() {
        struct Send(*mut AfInterner);
        unsafe impl std::marker::Send for Send {}
        unsafe impl Sync for Send {}
        let mut h: *mut AfInterner = null_mut();
        unsafe { assert_eq!(af_interner_new(&mut h), AF_OK) };
        let shared = Send(h);
        std::thread::scope(|s| {
            for t in 0..4 {
                let shared = &shared;
                s.spawn(move || {
                    for i in 0..200 {
                        let text =
                            std::ffi::CString::new(format!("S{}", (i * (t + 1)) % 300)).unwrap();
                        let mut id = 0u32;
                        assert_eq!(
                            unsafe { af_interner_intern(shared.0, text.as_ptr(), &mut id) },
                            AF_OK
                        );
                    }
                });
            }
        });
        let mut len = 0usize;
        unsafe {
            assert_eq!(af_interner_len(h, &mut len), AF_OK);
            af_interner_free(h);
        }
        let expected: std::collections::HashSet<_> = (0..4)
            .flat_map(|t| (0..200).map(move |i| (i * (t + 1)) % 300))
            .collect();
        assert_eq!(len, expected.len());
    }
}
