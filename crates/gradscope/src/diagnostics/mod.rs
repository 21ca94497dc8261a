//! The gradient scope: what is measured during training, and what is concluded from it.
//!
//! - [`Probe`] measures any model at diagnostic steps by walking its modules:
//!   ∂L/∂z (an activation layer's input gradient, the seeds' δ), ∂L/∂a, ∂L/∂W, weights,
//!   activation statistics, saturation and dead units, ‖ΔW‖/‖W‖; a recurrent encoder adds the
//!   gradient through time ([`recurrent`]): ‖∂L/∂h_t‖ for every t, gate saturation, the
//!   spectrum of W_hh and Pascanu et al.'s threshold. The results are typed records
//!   ([`StepRecord`], [`LayerRecord`]): the lines of `diagnostics.jsonl`.
//! - [`verdict`] judges records: vanishing, exploding or healthy, saturated and dead layers.
//! - [`Diagnosis`] concludes a run; [`compare`] compares runs; [`distribution`] summarizes
//!   the recorded histograms; every sentence is written by [`explain`].
//! - The configuration is the `[diagnostics]` table ([`DiagnosticsConfig`], [`Thresholds`]).

pub mod compare;
mod config;
mod diagnosis;
pub mod distribution;
pub mod explain;
pub mod external;
pub mod prediction;
mod probe;
pub mod profile;
mod records;
pub mod recurrent;
pub mod remedy;
mod stats;
mod table;
pub mod verdict;

pub use config::{DiagnosticsConfig, Thresholds};
pub use diagnosis::{Diagnosis, InitVerdict, DIAGNOSIS_SCHEMA_VERSION};
pub use external::{
    number_depths, read_diagnosis_dir, write_diagnosis_dir, ActivationFacts, ActivationStats,
    WeightStats,
};
pub use prediction::{predict, Factor, Prediction, Unavailable};
pub use probe::{Probe, StepContext, RANGE_END_EPSILON};
pub use profile::{ProfileRow, ThroughTime};
pub use records::{LayerRecord, Quantiles, StepRecord};
pub use remedy::Remedy;
pub use stats::{
    linear_histogram, log_abs_histogram, log_abs_histogram_strided, mean_std, norm_and_max,
    quantiles, sample_stride, Histogram, LogBins, SAMPLE_LIMIT,
};
pub use table::{layer_rows, LayerRow};
pub use verdict::{
    judge, judges_saturation, label, Advice, Basis, Confidence, Flow, Problem, Severity, Verdict,
};
