//! Status codes, ABI constants and the mapping from core errors.

use std::ffi::{c_char, CStr};

use alphaforge_core::CoreError;

/// Bump on any incompatible change to a signature, constant or `#[repr(C)]` layout.
pub const AF_ABI_VERSION: u32 = 1;

pub const AF_OK: i32 = 0;
pub const AF_ERR_NULL_POINTER: i32 = -1;
pub const AF_ERR_INVALID_ARGUMENT: i32 = -2;
pub const AF_ERR_PARSE: i32 = -3;
pub const AF_ERR_OVERFLOW: i32 = -4;
pub const AF_ERR_PRECISION: i32 = -5;
pub const AF_ERR_BUFFER_TOO_SMALL: i32 = -6;
pub const AF_ERR_NOT_FOUND: i32 = -7;
pub const AF_ERR_STATE: i32 = -8;
pub const AF_ERR_DIVISION_BY_ZERO: i32 = -9;
pub const AF_ERR_PANIC: i32 = -100;

/// Pass as `precision` to `af_fixed_parse` to take the precision from the text.
pub const AF_PRECISION_INFER: u8 = 255;
pub const AF_MAX_PRECISION: u8 = 18;

pub const AF_ROUND_HALF_EVEN: i32 = 0;
pub const AF_ROUND_DOWN: i32 = 1;
pub const AF_ROUND_UP: i32 = 2;
pub const AF_ROUND_FLOOR: i32 = 3;
pub const AF_ROUND_CEILING: i32 = 4;

/// One table so names and codes cannot drift apart.
const NAMES: [(i32, &CStr); 11] = [
    (AF_OK, c"AF_OK"),
    (AF_ERR_NULL_POINTER, c"AF_ERR_NULL_POINTER"),
    (AF_ERR_INVALID_ARGUMENT, c"AF_ERR_INVALID_ARGUMENT"),
    (AF_ERR_PARSE, c"AF_ERR_PARSE"),
    (AF_ERR_OVERFLOW, c"AF_ERR_OVERFLOW"),
    (AF_ERR_PRECISION, c"AF_ERR_PRECISION"),
    (AF_ERR_BUFFER_TOO_SMALL, c"AF_ERR_BUFFER_TOO_SMALL"),
    (AF_ERR_NOT_FOUND, c"AF_ERR_NOT_FOUND"),
    (AF_ERR_STATE, c"AF_ERR_STATE"),
    (AF_ERR_DIVISION_BY_ZERO, c"AF_ERR_DIVISION_BY_ZERO"),
    (AF_ERR_PANIC, c"AF_ERR_PANIC"),
];

pub(crate) fn status_name(status: i32) -> &'static CStr {
    NAMES
        .iter()
        .find(|(code, _)| *code == status)
        .map_or(c"AF_UNKNOWN", |(_, name)| name)
}

/// Static name of a status code ("AF_ERR_PARSE"), or "AF_UNKNOWN". Never NULL, never freed.
#[no_mangle]
pub extern "C" fn af_status_name(status: i32) -> *const c_char {
    crate::guard::guard_value(c"AF_UNKNOWN".as_ptr(), || status_name(status).as_ptr())
}

pub(crate) fn status_of(err: &CoreError) -> i32 {
    match err {
        CoreError::Parse { .. } => AF_ERR_PARSE,
        CoreError::Precision { .. } => AF_ERR_PRECISION,
        CoreError::Overflow { .. } => AF_ERR_OVERFLOW,
        CoreError::DivisionByZero => AF_ERR_DIVISION_BY_ZERO,
        CoreError::InvalidArgument { .. } => AF_ERR_INVALID_ARGUMENT,
    }
}
