//! The library's error type.
//!
//! A configuration error is typed: [`Error::Config`] carries a [`ConfigError`] whose
//! [`field`](ConfigError::field) is the dotted path of the value at fault (`training.lr`,
//! `model.recurrent.hidden`, `data.split`), with the [`file`](ConfigError::file) and
//! [`line`](ConfigError::line) when the value came from a file. A program matches on the
//! field instead of parsing the message:
//!
//! ```
//! use gradscope::config::Config;
//!
//! let text = "[model]\nhidden = [8]\n\n[training]\nepochs = 2\n# a typo'd sign:\nlr = -1\n";
//! let err = Config::parse(text, "run.toml", &[]).unwrap_err();
//! assert_eq!(err.field(), Some("training.lr"));
//! assert_eq!((err.file(), err.line()), (Some("run.toml"), Some(7)));
//! assert_eq!(
//!     err.to_string(),
//!     "run.toml:7: training.lr = -1 must be a finite number >= 0"
//! );
//! ```

use std::fmt;

use thiserror::Error;

/// Everything that can go wrong inside the library.
#[derive(Debug, Error)]
pub enum Error {
    /// An activation's text form could not be parsed or has a bad parameter.
    #[error("{0}")]
    Activation(String),
    /// Tensor shapes that do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// An argument out of its valid range (a function's argument, not a config field: those
    /// are [`Error::Config`]).
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
    /// A configuration value that is missing, unknown or out of range: which field, in
    /// which file, at which line (see [`ConfigError`]).
    #[error("{0}")]
    Config(ConfigError),
}

/// A configuration error: the field at fault, where it was set, and the message.
///
/// Printed as `file:line: message`, `file: message` or `message` (whatever is known); the
/// message names the field by convention (`training.lr = -1 must be …`). Errors of the TOML
/// parser print their own location and a snippet, so they are printed as `file: message`
/// even though their [`line`](ConfigError::line) is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    field: Option<String>,
    file: Option<String>,
    line: Option<usize>,
    message: String,
    /// The message already shows the line (the TOML parser's rendering): print no `:line`.
    line_in_message: bool,
}

impl ConfigError {
    /// The dotted path of the value at fault (`training.lr`, `model.hidden[2]`), when one
    /// value is.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The config file (or the `source` name given to [`crate::config::Config::parse`]).
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// The 1-based line of the file where the field is set (or where the parser stopped).
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The message without the `file:line: ` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) if !self.line_in_message => {
                write!(f, "{file}:{line}: {}", self.message)
            }
            (Some(file), _) => write!(f, "{file}: {}", self.message),
            (None, _) => f.write_str(&self.message),
        }
    }
}

impl Error {
    /// A configuration error about no single field (printed as `message`).
    pub fn config(message: impl Into<String>) -> Error {
        Error::Config(ConfigError {
            field: None,
            file: None,
            line: None,
            message: message.into(),
            line_in_message: false,
        })
    }

    /// A configuration error about `field`, printed as `message` (which names the field).
    pub fn config_field(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Config(ConfigError {
            field: Some(field.into()),
            file: None,
            line: None,
            message: message.into(),
            line_in_message: false,
        })
    }

    /// A configuration error about `field`, printed as `{field} {rest}`:
    /// `Error::at_field("training.lr", "= -1 must be a finite number >= 0")`.
    pub fn at_field(field: &str, rest: impl fmt::Display) -> Error {
        Error::config_field(field, format!("{field} {rest}"))
    }

    /// This error located in `file` (at `line` when known): a configuration error keeps its
    /// field and message; any other error becomes a configuration error whose message is its
    /// text.
    pub fn in_file(self, file: impl Into<String>, line: Option<usize>) -> Error {
        let mut c = match self {
            Error::Config(c) => c,
            other => match Error::config(other.to_string()) {
                Error::Config(c) => c,
                _ => unreachable!("Error::config builds a Config error"),
            },
        };
        c.file = Some(file.into());
        c.line = line;
        Error::Config(c)
    }

    /// A parse error whose message renders its own location (`line` is still typed).
    pub(crate) fn config_parse(
        file: impl Into<String>,
        line: Option<usize>,
        field: Option<String>,
        message: impl Into<String>,
    ) -> Error {
        Error::Config(ConfigError {
            field,
            file: Some(file.into()),
            line,
            message: message.into(),
            line_in_message: true,
        })
    }

    /// The configuration error, if this is one.
    pub fn as_config(&self) -> Option<&ConfigError> {
        match self {
            Error::Config(c) => Some(c),
            _ => None,
        }
    }

    /// The dotted path of the config field at fault, e.g. `Some("training.lr")`.
    pub fn field(&self) -> Option<&str> {
        self.as_config().and_then(ConfigError::field)
    }

    /// The config file the error is in.
    pub fn file(&self) -> Option<&str> {
        self.as_config().and_then(ConfigError::file)
    }

    /// The 1-based line of the config file.
    pub fn line(&self) -> Option<usize> {
        self.as_config().and_then(ConfigError::line)
    }
}

/// `Result` with the library's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
