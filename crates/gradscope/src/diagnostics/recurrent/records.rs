//! What the probe records about one recurrent encoder at a diagnostic step. A non-finite
//! number (a diverged run) is written as `null` in JSON and read back as NaN.

use crate::activation::Activation;
use crate::diagnostics::records::{nan_if_null, nan_vec_if_null, opt_nan_vec_if_null};
use crate::recurrent::{CellKind, Predict};

/// How a layer's gate values were obtained at a diagnostic step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateSource {
    /// Recomputed from the layer's input x_t and h_{t−1} (exact).
    Input,
    /// RNN: from the output h_t = f(a_t) alone, for an activation whose derivative is a
    /// function of its output (tanh: 1 − h², sigmoid: h(1 − h), ReLU, leaky ReLU, ELU,
    /// identity) — used when the layer's input is not available to the probe.
    Output,
}

/// Which gradient ‖∂L/∂h_t‖ is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradientSource {
    /// Only h_T receives a gradient from outside the layer (the top layer of a many-to-one
    /// model): ‖∂L/∂h_t‖ is exactly the gradient carried back through T − t steps.
    LastStep,
    /// Every step receives its own gradient (many-to-many, or a lower layer of a stack, fed
    /// by the layer above at every step): ‖∂L/∂h_t‖ mixes gradient carried through time with
    /// fresh gradient, so its profile understates a decay through time.
    EveryStep,
}

/// One gate's statistics over every step, sample and unit of a diagnostic step.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GateStats {
    /// Gate name: `i`, `f`, `g`, `o` (LSTM), `r`, `z`, `n` (GRU), `h` (RNN).
    pub gate: String,
    /// Its non-linearity (text form).
    pub activation: Activation,
    /// Mean gate value (RNN: mean h_t). A forget gate near 1 keeps the memory; near 0 it
    /// erases it every step.
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
    /// Mean |f'(a)| of the gate's non-linearity at its pre-activation.
    #[serde(deserialize_with = "nan_if_null")]
    pub mean_abs_derivative: f64,
    /// Share of unit-samples with |f'(a)| below 1% of max |f'|.
    pub saturated_fraction: f64,
    /// Of those, the share on the low side (a < 0: a sigmoid gate shut, tanh at −1).
    pub saturated_low: f64,
    /// Of those, the share on the high side (a ≥ 0: a sigmoid gate wide open, tanh at +1).
    pub saturated_high: f64,
}

/// Spectral numbers of one square block of W_hh.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BlockSpectrum {
    /// The gate block (`i`, `f`, `g`, `o`, `r`, `z`, `n`).
    pub block: String,
    /// ρ(W_hh block) = max |λ|.
    #[serde(deserialize_with = "nan_if_null")]
    pub spectral_radius: f64,
    /// σ_max(W_hh block) = ‖W‖₂.
    #[serde(deserialize_with = "nan_if_null")]
    pub sigma_max: f64,
}

/// Through-time measurements of one stacked recurrent layer at one step.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecurrentLayerRecord {
    /// 1-based position in the stack (1 reads the model input; PyTorch's suffix `_l0`).
    pub layer: usize,
    /// Time steps T.
    pub steps: usize,
    /// Hidden width H.
    pub hidden: usize,
    /// Which gradient the norms are.
    pub source: GradientSource,
    /// ‖∂L/∂h_t‖ for t = 1..T (Frobenius norm over the batch).
    #[serde(deserialize_with = "nan_vec_if_null")]
    pub grad_norms: Vec<f64>,
    /// LSTM: ‖∂L/∂c_t‖ arriving from later steps, t = 1..T (0 at t = T).
    #[serde(
        default,
        deserialize_with = "opt_nan_vec_if_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub cell_grad_norms: Option<Vec<f64>>,
    /// First time step t (1-based) of the window the decay is taken over: 1, or the first
    /// step of the last chunk of truncated BPTT (`model.recurrent.truncate`).
    pub window_start: usize,
    /// ‖∂L/∂h_start‖/‖∂L/∂h_T‖ over the window (0 when the early gradient underflowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_to_last: Option<f64>,
    /// Geometric mean of ‖∂L/∂h_{t−1}‖/‖∂L/∂h_t‖ over the window (over the steps where the
    /// gradient is non-zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_step_factor: Option<f64>,
    /// Steps at the start of the window whose gradient is exactly 0 (underflow).
    pub underflow_steps: usize,
    /// `model.recurrent.truncate` is set but the gradient of a many-to-one layer crossed a
    /// chunk boundary: truncation was not applied (the window is then the whole sequence).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncation_not_applied: bool,
    /// LSTM: ‖∂L/∂c_start‖/‖∂L/∂c_{T−1}‖.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_first_to_last: Option<f64>,
    /// LSTM: geometric mean of ‖∂L/∂c_{t−1}‖/‖∂L/∂c_t‖.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_per_step_factor: Option<f64>,
    /// RNN: ‖J_{t+1}ᵀ⋯J_Tᵀ v‖ for t = 1..T, J_t = diag(f'(a_t))·W_hh, v a fixed unit
    /// vector over the batch: a gradient injected at step T alone, carried back through the
    /// measured Jacobians (1 at t = T).
    #[serde(
        default,
        deserialize_with = "opt_nan_vec_if_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub jacobian_norms: Option<Vec<f64>>,
    /// RNN: the geometric-mean factor per step of [`RecurrentLayerRecord::jacobian_norms`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jacobian_factor: Option<f64>,
    /// Per gate (empty when the gates could not be recomputed).
    pub gates: Vec<GateStats>,
    /// How the gate values were obtained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_source: Option<GateSource>,
    /// RNN: ρ(W_hh). Gated cells: see `blocks` (W_hh is `[G·H, H]`, not square).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spectral_radius: Option<f64>,
    /// σ_max of the whole W_hh.
    #[serde(deserialize_with = "nan_if_null")]
    pub sigma_max: f64,
    /// LSTM/GRU: per gate block of W_hh.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<BlockSpectrum>,
    /// RNN: γ = max |f'| of the activation (from its computed properties).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// RNN: Pascanu et al.'s threshold 1/γ for σ_max(W_hh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pascanu_threshold: Option<f64>,
}

/// The recurrent part of a [`StepRecord`](crate::diagnostics::StepRecord).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecurrentRecord {
    /// Position of the recurrent encoder in the model's walk.
    pub index: usize,
    /// Its state-dict prefix (`rnn`).
    pub path: String,
    /// Its description, e.g. `rnn(2 -> 64, tanh, last)`.
    pub name: String,
    /// The cell.
    pub cell: CellKind,
    /// RNN: the activation (text form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// Many-to-one or many-to-many.
    pub predict: Predict,
    /// Truncated BPTT chunk length, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate: Option<usize>,
    /// LSTM: the forget bias added at initialization, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forget_bias: Option<f64>,
    /// Per stacked layer, bottom first.
    pub layers: Vec<RecurrentLayerRecord>,
}
