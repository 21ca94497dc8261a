//! The library's integration tests: one binary, one module per area.

mod common;

mod activations;
mod config_errors;
mod config_knobs;
mod data;
mod data_limits;
mod diagnostics;
mod diagnostics_external;
mod diagnostics_recurrent;
mod diagnostics_values;
mod doc_snippets;
mod gradcheck;
mod init;
mod library_guide;
mod limits;
mod loss;
mod nonfinite;
mod optim;
mod parallel;
mod parsers_fuzz;
mod properties;
mod quadrature;
mod recurrent;
mod recurrent_step_grads;
mod recurrent_train;
mod recurrent_values;
mod scope_values;
mod sequence_data;
mod sweep;
mod tensor;
mod theory;
mod train;
mod verdict_clauses;
mod vmath;
mod weights_finite;
