//! One module per subcommand.

pub mod activations;
