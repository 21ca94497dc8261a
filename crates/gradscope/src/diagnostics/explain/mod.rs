//! Every sentence the scope says: explanations and remedies rendered from the typed verdicts
//! ([`Verdict`](super::Verdict), [`RecurrentVerdict`](super::recurrent::RecurrentVerdict)) and
//! [`Remedy`](super::Remedy) values. The maths modules compute numbers; only this module writes prose.

//!
//! Files: `remedy.rs`, `depth.rs`, `theory.rs`, `compare.rs`, `through_time.rs`, `run.rs`, `summary.rs`.

mod compare;
mod depth;
mod pytorch;
mod remedy;
mod run;
mod summary;
mod theory;
mod through_time;

pub use compare::{finding, variant_ratios};
pub use depth::{
    depth, depth_headline, init_verdict, limits, problems_text, projection, severity_line,
};
pub use pytorch::{init_call, module as pytorch_module, pytorch_text};
pub use remedy::{advice, advice_with, remedy_text, RemedyContext};
pub use run::outcome;
pub use summary::{summary, Summary};
pub use theory::{theory_summary, unavailable};
pub(crate) use through_time::through_time;
pub use through_time::{
    gate_name, gates_note, gates_when, lead_encoder, predict_mode, through_time_headline,
    verdict_scope,
};

use super::verdict::sci;

/// A fraction in [0, 1] as a percentage with one decimal, `-` when absent.
fn acc(a: Option<f64>) -> String {
    a.map_or("-".into(), |a| format!("{:.1}%", 100.0 * a))
}

/// A number, `-` when absent.
fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), sci)
}

/// A fraction as a whole percentage.
fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}
