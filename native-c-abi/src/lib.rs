//! The stable C ABI of AlphaForge (see docs/c-abi.md and include/alphaforge.h).
//!
//! Conventions, enforced by `guard`: every `af_*` export catches panics, returns an `int32_t`
//! status (`AF_OK` or a negative `AF_ERR_*`), writes outputs through pointers only on success,
//! records a thread-local message on failure, and checks every pointer for NULL. Nothing
//! 128-bit crosses the boundary.
//!
//! Safety contract of the `unsafe` exports (stated once here rather than on each function):
//! non-NULL pointers must be valid and aligned for the documented access, strings
//! NUL-terminated, buffers at least `buf_len` bytes, and handles live (from `*_new`, not freed).

#![allow(clippy::missing_safety_doc)]

mod bars;
mod book;
mod fixed;
mod guard;
mod interner;
mod layout;
mod matching;
mod status;
mod time;

use std::ffi::c_char;

pub use bars::*;
pub use book::*;
pub use fixed::*;
pub use interner::*;
pub use layout::af_layout;
pub use matching::*;
pub use status::*;
pub use time::*;

/// The ABI version this library implements; callers compare it with AF_ABI_VERSION.
#[no_mangle]
pub extern "C" fn af_abi_version() -> u32 {
    AF_ABI_VERSION
}

const BUILD_INFO: &str = concat!(
    "alphaforge-native ",
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("AF_BUILD_TARGET"),
    ", ",
    env!("AF_BUILD_PROFILE"),
    ")\0"
);

/// Static string "alphaforge-native <version> (<target triple>, <profile>)". Never freed.
#[no_mangle]
pub extern "C" fn af_build_info() -> *const c_char {
    BUILD_INFO.as_ptr().cast()
}

/// This thread's message for the last failing call ("" if none). Successful calls leave it
/// unchanged. Valid until the next af_* call on this thread; copy it, never free it.
#[no_mangle]
pub extern "C" fn af_last_error() -> *const c_char {
    guard::guard_value(c"".as_ptr(), guard::last_error_ptr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn version_and_build_info() {
        assert_eq!(af_abi_version(), 1);
        let info = unsafe { CStr::from_ptr(af_build_info()) }.to_str().unwrap();
        assert!(
            info.starts_with(concat!(
                "alphaforge-native ",
                env!("CARGO_PKG_VERSION"),
                " ("
            )),
            "{info}"
        );
        assert!(
            info.ends_with(", debug)") || info.ends_with(", release)"),
            "{info}"
        );
    }

    #[test]
    fn status_names() {
        let name = |s| {
            unsafe { CStr::from_ptr(af_status_name(s)) }
                .to_str()
                .unwrap()
        };
        assert_eq!(name(AF_OK), "AF_OK");
        assert_eq!(name(AF_ERR_PARSE), "AF_ERR_PARSE");
        assert_eq!(name(AF_ERR_PANIC), "AF_ERR_PANIC");
        assert_eq!(name(AF_ERR_DIVISION_BY_ZERO), "AF_ERR_DIVISION_BY_ZERO");
        assert_eq!(name(12345), "AF_UNKNOWN");
    }
}
