//! [`RecurrentCell`]: the element-wise part of a cell, between the affine maps of
//! [`CellWeights`], and [`StepCache`], what one step keeps for backward.

use super::CellWeights;
use crate::float::Float;

/// What one step keeps for backward (row-major, batch-first within the step).
#[derive(Clone, Debug, Default)]
pub struct StepCache<T> {
    /// The cell's gate values, B·G·H of them, in the cell's own layout (RNN: the
    /// pre-activation `[B, H]`; LSTM, GRU: the gates after their non-linearities, gate-major
    /// `[G, B, H]` so that each gate is one contiguous block for the vectorized kernels).
    pub gates: Vec<T>,
    /// A cell-specific `[B, H]` buffer (LSTM: tanh c_t; GRU: W_hn·h + b_hn; RNN: unused).
    pub aux: Vec<T>,
    /// h_t, `[B, H]`.
    pub h: Vec<T>,
    /// c_t, `[B, H]` (LSTM only; empty otherwise).
    pub c: Vec<T>,
}

/// One element of one gate at one step, as the cell's forward computed it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GateValue {
    /// y = f(a), the gate's value after its non-linearity (RNN: h_t itself).
    pub value: f64,
    /// |f'(a)| at the gate's pre-activation a: from the value for sigmoid, σ' = y(1 − y), and
    /// tanh, tanh' = 1 − y²; from the cached a otherwise.
    pub abs_derivative: f64,
    /// Whether a < 0 (for sigmoid, y < ½; for tanh, y < 0: the same but for |a| below the
    /// type's resolution around 0, far from saturation).
    pub negative: bool,
}

impl GateValue {
    /// A sigmoid gate with value y = σ(a): σ'(a) = y(1 − y), a < 0 ⇔ y < ½.
    pub fn sigmoid(y: f64) -> Self {
        GateValue {
            value: y,
            abs_derivative: (y * (1.0 - y)).abs(),
            negative: y < 0.5,
        }
    }

    /// A tanh gate with value y = tanh(a): tanh'(a) = 1 − y², a < 0 ⇔ y < 0.
    pub fn tanh(y: f64) -> Self {
        GateValue {
            value: y,
            abs_derivative: (1.0 - y * y).abs(),
            negative: y < 0.0,
        }
    }
}

/// Reports every gate of a step from gate-major values `[G, B, H]` (`gates`, n = B·H values
/// per gate) whose gate k is a tanh when `tanh[k]`, a sigmoid otherwise.
pub(crate) fn visit_gate_blocks<T: Float>(
    gates: &[T],
    n: usize,
    tanh: &[bool],
    f: &mut dyn FnMut(usize, usize, GateValue),
) {
    for (k, (block, &is_tanh)) in gates.chunks_exact(n.max(1)).zip(tanh).enumerate() {
        for (j, y) in block.iter().enumerate() {
            let y = y.to_f64();
            f(
                k,
                j,
                if is_tanh {
                    GateValue::tanh(y)
                } else {
                    GateValue::sigmoid(y)
                },
            );
        }
    }
}

/// The element-wise part of a recurrent cell, between the affine maps of [`CellWeights`].
///
/// `Sync`: [`UnrolledLayer`](super::UnrolledLayer) runs the two halves of a large batch on
/// two cores with the same cell.
pub trait RecurrentCell<T: Float>: Sync {
    /// The cell's affine parameters.
    fn weights(&self) -> &CellWeights<T>;

    /// The cell's affine parameters, mutably.
    fn weights_mut(&mut self) -> &mut CellWeights<T>;

    /// True for a cell with a memory c besides h (LSTM).
    fn has_cell_state(&self) -> bool {
        false
    }

    /// True when the cell uses gᵢ and gₕ only through their sum a = gᵢ + gₕ (RNN, LSTM; not
    /// the GRU, whose candidate needs gₕ's n block apart). [`UnrolledLayer`](super::UnrolledLayer)
    /// then forms a itself (x·W_ihᵀ + b_ih + b_hh for all steps at once, then + h·W_hhᵀ in
    /// place), passes it as `gi` with an empty `gh` to [`RecurrentCell::pointwise_forward`],
    /// and an empty `d_gh` to [`RecurrentCell::pointwise_backward`] (∂L/∂gₕ = ∂L/∂gᵢ = ∂L/∂a);
    /// a cell answering true must accept both. Default: false.
    fn uses_sum_only(&self) -> bool {
        false
    }

    /// From gᵢ, gₕ (`[b, G·H]`) and the previous state (h, and c for an LSTM; `c_prev` is
    /// empty otherwise) computes the new state into `cache.h` (and `cache.c`), keeping what
    /// backward needs in `cache`. The cache's buffers are resized here.
    fn pointwise_forward(
        &self,
        b: usize,
        gi: &[T],
        gh: &[T],
        h_prev: &[T],
        c_prev: &[T],
        cache: &mut StepCache<T>,
    );

    /// Reports every gate of the step whose intermediates are `cache` (after
    /// [`RecurrentCell::pointwise_forward`]): calls `f(k, j, v)` for gate block k = 0..G in
    /// PyTorch's order (RNN: the one block h; LSTM: i, f, g, o; GRU: r, z, n) and element
    /// j = r·H + u (the cache's batch row r, unit u), with v the gate's value y = f(a), |f'(a)|
    /// and whether a < 0 — read from the cache, nothing recomputed but the derivative.
    fn visit_gates(&self, cache: &StepCache<T>, f: &mut dyn FnMut(usize, usize, GateValue));

    /// Given the total ∂L/∂h_t (`dh`) and ∂L/∂c_t (`dc`, empty for cells without memory),
    /// writes ∂L/∂gᵢ, ∂L/∂gₕ, the direct part of ∂L/∂h_{t−1} (not through W_hh) into
    /// `dh_prev`, and ∂L/∂c_{t−1} into `dc_prev` (LSTM).
    #[allow(clippy::too_many_arguments)]
    fn pointwise_backward(
        &self,
        cache: &StepCache<T>,
        h_prev: &[T],
        c_prev: &[T],
        dh: &[T],
        dc: &[T],
        d_gi: &mut [T],
        d_gh: &mut [T],
        dh_prev: &mut [T],
        dc_prev: &mut [T],
    );
}
