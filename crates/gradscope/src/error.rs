//! The library's error type.

use thiserror::Error;

/// Everything that can go wrong inside the library; the CLI adds file and line context.
#[derive(Debug, Error)]
pub enum Error {
    /// An activation's text form could not be parsed or has a bad parameter.
    #[error("{0}")]
    Activation(String),
    /// Tensor shapes that do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// An argument out of its valid range.
    #[error("invalid argument: {0}")]
    Invalid(String),
}

/// `Result` with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
