//! The gradient through time of a recurrent layer: what [`super::Probe`] measures on a
//! [`RecurrentEncoder`](crate::recurrent::RecurrentEncoder) at a diagnostic step ([`RecurrentRecord`]), and the verdict drawn from
//! those records ([`judge_through_time`]).
//!
//! Backpropagation through time multiplies the gradient by one Jacobian per step. For an
//! Elman RNN, h_t = f(a_t) with a_t = W_ih·x_t + W_hh·h_{t−1} + b, so
//!
//! ```text
//! ∂h_t/∂h_{t−1} = diag(f'(a_t))·W_hh,    ‖∂h_t/∂h_{t−1}‖ ≤ γ·σ_max(W_hh),   γ = max |f'|
//! ```
//!
//! and over k steps the gradient changes by at most (γ·σ_max)^k: σ_max(W_hh) < 1/γ is
//! sufficient for it to vanish, σ_max(W_hh) > 1/γ is necessary for it to explode (Pascanu,
//! Mikolov & Bengio 2013). An LSTM's memory c_t = f_t⊙c_{t−1} + i_t⊙g_t carries the gradient
//! along ∂c_t/∂c_{t−1} = diag(f_t) — the forget gate, without W_hh or a squashing derivative;
//! a GRU's h_t = z⊙h_{t−1} + (1 − z)⊙n along diag(z).
//!
//! Measured per stacked layer: ‖∂L/∂h_t‖ for every t (and ‖∂L/∂c_t‖ for an LSTM) as kept by
//! the layer's backward, the decay over time, every gate's mean value, mean |f'| and saturated
//! share (recomputed from the layer's input and its kept hidden states with
//! the cells' own step caches ([`crate::recurrent::RecurrentCell::visit_gates`])), the spectral radius ρ and largest singular value σ_max of W_hh
//! (whole, and per gate block for LSTM/GRU), γ from the activation catalogue's computed
//! properties and the threshold 1/γ; for an RNN also the Jacobian product applied to a fixed
//! unit vector injected at the last step (the decay through time alone, when every step
//! receives its own gradient).
//!
//! Files: `records.rs` (what is recorded), `measure.rs` (how), `judge.rs` (the verdict); the
//! sentences are in `explain/through_time.rs`.

mod judge;
mod measure;
mod records;

pub use judge::{judge_through_time, DecayMeasure, RecurrentLayerVerdict, RecurrentVerdict};
pub use measure::{decay, measure_recurrent};
pub use records::{
    BlockSpectrum, GateSource, GateStats, GradientSource, RecurrentLayerRecord, RecurrentRecord,
};
