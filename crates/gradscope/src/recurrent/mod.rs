//! Recurrent cells (Elman RNN, LSTM, GRU) and a layer that runs one over a sequence with
//! explicit backpropagation through time.
//!
//! Formulations, parameter names and layouts follow PyTorch's `nn.RNN`, `nn.LSTM` and
//! `nn.GRU` (single layer, unidirectional): `weight_ih_l0` is `[G·H, I]`, `weight_hh_l0` is
//! `[G·H, H]`, `bias_ih_l0` and `bias_hh_l0` are `[G·H]`, with G = 1 (RNN), 4 (LSTM, gates
//! i, f, g, o) or 3 (GRU, gates r, z, n). Sequences are time-major, `[T, B, I]`.
//!
//! Every cell splits a step into the two affine maps shared by all three,
//! gᵢ = x·W_ihᵀ + b_ih and gₕ = h·W_hhᵀ + b_hh (done by [`CellWeights`]), and an
//! element-wise part specific to the cell ([`RecurrentCell`]). Backward mirrors this: the
//! cell turns ∂L/∂h_t (and ∂L/∂c_t) into ∂L/∂gᵢ and ∂L/∂gₕ, and [`CellWeights`] accumulates
//! the parameter gradients and forms ∂L/∂x_t and ∂L/∂h_{t−1}.
//!
//! Two layer types, by scope:
//!
//! - [`UnrolledLayer<T, C>`](UnrolledLayer): **one** layer running one cell `C` over a whole
//!   sequence `[T, B, I]` with explicit BPTT. It keeps every step's intermediates and records
//!   ‖∂L/∂h_t‖ for every t on each backward — the gradient reaching each step, the diagnostic
//!   for vanishing and exploding gradients through powers of the shared recurrent matrix —
//!   and on request the per-step gradients themselves and every gate's values.
//! - [`RecurrentEncoder<T>`](RecurrentEncoder): a **stack** of `layers` unrolled layers of one
//!   cell kind used as one layer of a [`crate::model::Model`] (like PyTorch's `nn.RNN`,
//!   `nn.LSTM`, `nn.GRU` with `num_layers`), reading batch-major rows `[B, T·I]`.
//!
//! Files: `cell.rs` (the [`RecurrentCell`] trait), `weights.rs`, `rnn.rs`/`lstm.rs`/`gru.rs`
//! (each cell's forward and backward side by side), `unrolled.rs` (the layer and its
//! drivers), `bptt.rs` (time loops, truncation), `products.rs` (products outside the loop),
//! `batch_split.rs` (two batch halves on two cores), `rescale.rs` (power-of-two rescaling of
//! a vanishing gradient), `encoder.rs`, `init.rs`, `layout.rs`. See `docs/recurrent.md`.

mod batch_split;
mod bptt;
mod cell;
mod encoder;
pub mod generate;
mod gru;
mod init;
mod layout;
mod lstm;
mod products;
mod rescale;
mod rnn;
mod spec;
pub mod spectral;
#[cfg(test)]
mod test_util;
mod unrolled;
mod weights;

pub use bptt::Tbptt;
pub use cell::{GateValue, RecurrentCell, StepCache};
pub use encoder::RecurrentEncoder;
pub use gru::GruCell;
pub use layout::{to_batch_major, to_time_major};
pub use lstm::LstmCell;
pub use rnn::RnnCell;
pub use spec::{CellKind, Predict, RecurrentSpec};
pub use unrolled::{HiddenState, OutputGrad, UnrolledLayer};
pub use weights::CellWeights;

use crate::float::Float;

/// Resizes `v` to `n` values, new ones zero.
pub(crate) fn resize<T: Float>(v: &mut Vec<T>, n: usize) {
    v.resize(n, T::ZERO);
}
