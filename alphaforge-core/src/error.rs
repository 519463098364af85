//! The one error type of the core. Every fallible input path returns it; nothing panics.

use thiserror::Error;

/// Errors returned by `alphaforge-core`.
///
/// The variants map one-to-one onto the C ABI status codes (see `native-c-abi`), so keep them
/// coarse: the detail belongs in the message, not in new variants.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoreError {
    /// Text that is not in the accepted syntax. `input` is the full offending text.
    #[error("cannot parse {input:?}: {reason}")]
    Parse { input: String, reason: String },

    /// A precision outside 0..=18, or a value that cannot be represented at the requested
    /// precision without losing non-zero digits.
    #[error("precision {precision}: {reason}")]
    Precision { precision: u32, reason: String },

    /// The exact result does not fit the 64-bit representation.
    #[error("overflow in {op}")]
    Overflow { op: &'static str },

    #[error("division by zero")]
    DivisionByZero,

    /// A well-formed value that is not allowed here (negative quantity, bad currency code, ...).
    #[error("{field}={value}: {reason}")]
    InvalidArgument {
        field: &'static str,
        value: String,
        reason: String,
    },
}

impl CoreError {
    pub(crate) fn parse(input: &str, reason: impl Into<String>) -> Self {
        CoreError::Parse {
            input: input.to_owned(),
            reason: reason.into(),
        }
    }

    /// The message without the echoed input (callers that already name the input use this).
    pub fn reason(&self) -> String {
        match self {
            CoreError::Parse { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }
}

/// Result alias used across the crate.
pub type CoreResult<T> = Result<T, CoreError>;
