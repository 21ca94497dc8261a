//! One module per subcommand.

pub mod activations;
pub mod bench;
pub mod demo;
pub mod diagnose;
pub mod generate;
pub mod grads;
pub mod theory;
pub mod train;

/// An error that ends the command with a specific exit status (e.g. 130 after Ctrl-C).
#[derive(Debug)]
pub struct ExitStatus {
    /// Process exit code.
    pub code: u8,
    /// What to print on stderr.
    pub message: String,
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitStatus {}
