//! AlphaForge core: exact fixed-point values, nanosecond timestamps and string interning.
//!
//! Pure Rust with no FFI; the C ABI lives in `native-c-abi` and only translates. Every input
//! path returns [`CoreError`] instead of panicking.

#![forbid(unsafe_code)]

pub mod bars;
pub mod book;
pub mod error;
pub mod fixed;
pub mod interner;
pub mod matching;
pub mod time;
pub mod values;

pub use error::{CoreError, CoreResult};
pub use fixed::{Fixed, Rounding, MAX_PRECISION};
pub use interner::Interner;
pub use time::UnixNanos;
pub use values::{Currency, Money, Price, Quantity};
