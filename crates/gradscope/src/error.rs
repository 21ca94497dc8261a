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
    /// A NaN or infinite gradient (or gradient norm), naming the first offending parameter.
    #[error("non-finite gradient in parameter `{param}`: {detail}")]
    NonFiniteGrad {
        /// The parameter's name (`Param::name`).
        param: String,
        /// Where and what: the first bad element and its value.
        detail: String,
    },
    /// A data file or data set that could not be read or does not fit (the message names the
    /// file, line and column where it can).
    #[error("{0}")]
    Data(String),
    /// A file that could not be read or written, or is not in the expected format (the
    /// message names the file).
    #[error("{0}")]
    Io(String),
    /// A configuration value that is missing, unknown or out of range (the message names the
    /// field).
    #[error("{0}")]
    Config(String),
}

/// `Result` with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
