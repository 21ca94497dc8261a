//! One module per subcommand.

pub mod activations;
pub mod bench;
