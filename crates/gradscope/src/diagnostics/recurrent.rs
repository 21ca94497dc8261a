//! The gradient through time of a recurrent layer: what [`super::Probe`] measures on a
//! [`RecurrentEncoder`] at a diagnostic step ([`RecurrentRecord`]), and the verdict drawn from
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
//! [`CellWeights::project`](crate::recurrent::CellWeights::project)), the spectral radius ρ and largest singular value σ_max of W_hh
//! (whole, and per gate block for LSTM/GRU), γ from the activation catalogue's computed
//! properties and the threshold 1/γ; for an RNN also the Jacobian product applied to a fixed
//! unit vector injected at the last step (the decay through time alone, when every step
//! receives its own gradient).

use super::explain::{advice_with, RemedyContext};
use super::remedy::Remedy;
use super::verdict::{geo_mean, ranges, sci, Advice, Flow};
use super::{StepRecord, Thresholds};
use crate::activation::properties::SATURATION_FRACTION;
use crate::activation::Activation;
use crate::float::Float;
use crate::init::Init;
use crate::kernels::gemm::{gemm, MatMut, MatRef};
use crate::recurrent::spectral::{largest_singular_value, pascanu_threshold, spectral_radius};
use crate::recurrent::{CellKind, Predict, RecurrentEncoder};
use crate::tensor::Tensor;

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
    pub mean: f64,
    /// Mean |f'(a)| of the gate's non-linearity at its pre-activation.
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
    pub spectral_radius: f64,
    /// σ_max(W_hh block) = ‖W‖₂.
    pub sigma_max: f64,
}

/// Through-time measurements of one stacked recurrent layer at one step.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecurrentLayerRecord {
    /// 0-based position in the stack (0 reads the model input).
    pub layer: usize,
    /// Time steps T.
    pub steps: usize,
    /// Hidden width H.
    pub hidden: usize,
    /// Which gradient the norms are.
    pub source: GradientSource,
    /// ‖∂L/∂h_t‖ for t = 1..T (Frobenius norm over the batch).
    pub grad_norms: Vec<f64>,
    /// LSTM: ‖∂L/∂c_t‖ arriving from later steps, t = 1..T (0 at t = T).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_grad_norms: Option<Vec<f64>>,
    /// 0-based first step of the window the decay is taken over: 0, or the start of the last
    /// chunk of truncated BPTT (`model.recurrent.truncate`).
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// The recurrent part of a [`super::StepRecord`].
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

/// Decay over `norms[start..end]`: (‖first‖/‖last‖, geometric-mean factor per step over the
/// non-zero tail, number of leading exact zeros).
pub fn decay(norms: &[f64], start: usize, end: usize) -> (Option<f64>, Option<f64>, usize) {
    let end = end.min(norms.len());
    if end < start + 2 {
        return (None, None, 0);
    }
    let last = norms[end - 1];
    if !(last > 0.0 && last.is_finite()) {
        return (None, None, 0);
    }
    let ok = |v: f64| v > 0.0 && v.is_finite();
    let mut p = end - 1;
    while p > start && ok(norms[p - 1]) {
        p -= 1;
    }
    let leading_zeros = norms[start..p].iter().filter(|v| **v == 0.0).count();
    let factor = (p < end - 1).then(|| (norms[p] / last).powf(1.0 / (end - 1 - p) as f64));
    let first = norms[start];
    (
        first.is_finite().then_some(first / last),
        factor,
        leading_zeros,
    )
}

/// |f'(a)| from the output y = f(a), for activations where it is a function of y.
fn derivative_from_output(act: &Activation, y: f64) -> Option<f64> {
    Some(match *act {
        Activation::Identity => 1.0,
        Activation::Tanh => 1.0 - y * y,
        Activation::Sigmoid => y * (1.0 - y),
        Activation::Relu => f64::from(u8::from(y > 0.0)),
        Activation::LeakyRelu { slope } => {
            if y > 0.0 {
                1.0
            } else {
                slope.abs()
            }
        }
        Activation::Elu { alpha } => {
            if y > 0.0 {
                1.0
            } else {
                (y + alpha).abs()
            }
        }
        _ => return None,
    })
}

/// Running sums of one gate.
#[derive(Clone, Copy, Default)]
struct GateAcc {
    sum: f64,
    sum_d: f64,
    low: usize,
    high: usize,
    n: usize,
}

impl GateAcc {
    #[inline]
    fn add(&mut self, value: f64, d: f64, thr: f64, negative: bool) {
        self.sum += value;
        self.sum_d += d;
        self.n += 1;
        if d < thr {
            if negative {
                self.low += 1;
            } else {
                self.high += 1;
            }
        }
    }

    fn finish(&self, gate: &str, act: &Activation) -> GateStats {
        let n = self.n.max(1) as f64;
        GateStats {
            gate: gate.to_string(),
            activation: *act,
            mean: self.sum / n,
            mean_abs_derivative: self.sum_d / n,
            saturated_fraction: (self.low + self.high) as f64 / n,
            saturated_low: self.low as f64 / n,
            saturated_high: self.high as f64 / n,
        }
    }
}

/// The gate activations of a cell, in block order.
fn gate_activations(cell: CellKind, rnn: Activation) -> Vec<Activation> {
    match cell {
        CellKind::Rnn => vec![rnn],
        CellKind::Lstm => vec![
            Activation::Sigmoid,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Sigmoid,
        ],
        CellKind::Gru => vec![Activation::Sigmoid, Activation::Sigmoid, Activation::Tanh],
    }
}

/// Every gate of layer `k` at every step of the last forward, as the cell computed it (read
/// from its own cache, [`RecurrentEncoder::visit_gates`]): per-gate statistics, and for an
/// RNN f'(a_t) for every step (`[T·B·H]`, for the Jacobian product).
fn gates_from_input<T: Float>(
    layer: &RecurrentEncoder<T>,
    k: usize,
    cell: CellKind,
    thr: &[f64],
) -> (Vec<GateAcc>, Vec<f64>) {
    let hs = layer.hidden_states(k);
    let bh = hs.shape().iter().skip(1).product::<usize>();
    let mut acc = vec![GateAcc::default(); cell.gates()];
    let mut derivs = Vec::new();
    if cell == CellKind::Rnn {
        derivs.resize(hs.len(), 0.0);
    }
    layer.visit_gates(k, &mut |t, g, j, v| {
        acc[g].add(v.value, v.abs_derivative, thr[g], v.negative);
        if cell == CellKind::Rnn {
            derivs[t * bh + j] = v.abs_derivative;
        }
    });
    (acc, derivs)
}

/// A fixed, deterministic ±1 pattern of unit norm (no generator state is touched).
fn probe_vector(n: usize) -> Vec<f64> {
    let s = 1.0 / (n.max(1) as f64).sqrt();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if state & 1 == 0 {
                s
            } else {
                -s
            }
        })
        .collect()
}

/// ‖J_{t+1}ᵀ⋯J_Tᵀ v‖ for every t (J_t = diag(f'(a_t))·W_hh; `derivs` is f'(a_t) as
/// `[T, B, H]`, `w_hh` row-major `[H, H]`), and the geometric-mean factor per step.
fn jacobian_transport(
    derivs: &[f64],
    w_hh: &[f64],
    t_len: usize,
    b: usize,
    h: usize,
) -> (Vec<f64>, f64) {
    let bh = b * h;
    let mut v = probe_vector(bh);
    let mut u = vec![0.0; bh];
    let mut log_norm = 0.0f64;
    let mut norms = vec![0.0; t_len];
    if t_len == 0 {
        return (norms, f64::NAN);
    }
    norms[t_len - 1] = 1.0;
    let mut dead = false;
    for t in (1..t_len).rev() {
        if !dead {
            for ((ui, vi), d) in u.iter_mut().zip(&v).zip(&derivs[t * bh..(t + 1) * bh]) {
                *ui = vi * d;
            }
            // v_{t−1} = W_hhᵀ(f'(a_t)⊙v_t), as rows: v = u·W_hh.
            gemm(
                1.0,
                MatRef::row_major(&u, b, h),
                MatRef::row_major(w_hh, h, h),
                0.0,
                MatMut::row_major(&mut v, b, h),
            );
            let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            if n > 0.0 && n.is_finite() {
                log_norm += n.ln();
                v.iter_mut().for_each(|x| *x /= n);
            } else {
                dead = true;
            }
        }
        norms[t - 1] = if dead { 0.0 } else { log_norm.exp() };
    }
    let factor = if dead {
        0.0
    } else if t_len > 1 {
        (log_norm / (t_len - 1) as f64).exp()
    } else {
        f64::NAN
    };
    (norms, factor)
}

/// Measures the recurrent layer `layer` (model layer `index`) after backward. `input` is the
/// layer's input `[B, T·I]` when known (the model input for the first layer); without it,
/// the first stacked layer's gates are recomputed from its output when the cell is an RNN
/// with a suitable activation, and left out otherwise. `max_derivative` gives max |f'| of an
/// activation (from its computed properties).
pub fn measure_recurrent<T: Float>(
    index: usize,
    path: &str,
    layer: &RecurrentEncoder<T>,
    input: Option<&Tensor<T>>,
    max_derivative: &mut dyn FnMut(Activation) -> f64,
) -> RecurrentRecord {
    let spec = layer.spec();
    let cell = spec.cell;
    let rnn_act = spec.activation();
    let acts = gate_activations(cell, rnn_act);
    let thr: Vec<f64> = acts
        .iter()
        .map(|a| SATURATION_FRACTION * max_derivative(*a))
        .collect();
    let names = cell.gate_names();
    let n_layers = layer.num_layers();
    let mut layers = Vec::with_capacity(n_layers);
    for k in 0..n_layers {
        let hs = layer.hidden_states(k);
        let shape = hs.shape();
        let (t_len, b, h) = if shape.len() == 3 {
            (shape[0], shape[1], shape[2])
        } else {
            (0, 0, layer.hidden_size())
        };
        let w = layer.weights(k);
        let grad_norms = layer.grad_norms(k).to_vec();
        let source = if k + 1 == n_layers && spec.predict == Predict::Last {
            GradientSource::LastStep
        } else {
            GradientSource::EveryStep
        };
        let mut window_start = match spec.truncate {
            Some(c) if c > 0 && c < t_len => ((t_len - 1) / c) * c,
            _ => 0,
        };
        // With only h_T receiving a gradient, truncation leaves every step before the last
        // chunk without one.
        let truncation_not_applied = window_start > 0
            && source == GradientSource::LastStep
            && grad_norms[window_start - 1] > 0.0;
        if truncation_not_applied {
            window_start = 0;
        }
        let (first_to_last, per_step_factor, underflow_steps) =
            decay(&grad_norms, window_start, t_len);
        let cell_grad_norms = (cell == CellKind::Lstm).then(|| layer.cell_grad_norms(k).to_vec());
        let (cell_first_to_last, cell_per_step_factor) = match &cell_grad_norms {
            // ∂L/∂c_T arriving from later steps is 0: the window ends at T − 1.
            Some(c) if t_len >= 1 => {
                let (r, f, _) = decay(c, window_start, t_len - 1);
                (r, f)
            }
            _ => (None, None),
        };
        // Whether the layer's input was given (the gates are read from the layer's own
        // cache, but only reported when the input confirms the step they describe).
        let below = (k > 0).then(|| layer.hidden_states(k - 1));
        let i_len = w.input_size();
        let input_ok = match (k, input) {
            (0, Some(x)) => x.len() == b * t_len * i_len && t_len > 0 && b > 0,
            (0, None) => false,
            _ => below.is_some_and(|hb| hb.len() == t_len * b * i_len) && t_len > 0,
        };
        let mut gates = Vec::new();
        let mut gate_source = None;
        let mut derivs: Option<Vec<f64>> = None;
        if input_ok {
            let (acc, d) = gates_from_input(layer, k, cell, &thr);
            gates = acc
                .iter()
                .zip(names)
                .zip(&acts)
                .map(|((a, n), act)| a.finish(n, act))
                .collect();
            gate_source = Some(GateSource::Input);
            if cell == CellKind::Rnn {
                derivs = Some(d);
            }
        } else if cell == CellKind::Rnn
            && t_len > 0
            && derivative_from_output(&rnn_act, 0.0).is_some()
        {
            let f0 = rnn_act.f(0.0f64);
            let mut acc = GateAcc::default();
            let mut d = Vec::with_capacity(hs.len());
            for v in hs.data() {
                let y = v.to_f64();
                let dv = derivative_from_output(&rnn_act, y).unwrap_or(f64::NAN);
                acc.add(y, dv, thr[0], y < f0);
                d.push(dv);
            }
            gates = vec![acc.finish(names[0], &rnn_act)];
            gate_source = Some(GateSource::Output);
            derivs = Some(d);
        }
        // Spectral numbers of W_hh.
        let whh: Vec<f64> = w
            .weight_hh
            .value
            .data()
            .iter()
            .map(|v| v.to_f64())
            .collect();
        let hh = w.hidden_size();
        let sigma_max = largest_singular_value(&whh, w.gates() * hh, hh);
        let (spectral, blocks) = if cell == CellKind::Rnn {
            (Some(spectral_radius(&whh, hh)), Vec::new())
        } else {
            let blocks = names
                .iter()
                .enumerate()
                .map(|(g, n)| {
                    let blk = &whh[g * hh * hh..(g + 1) * hh * hh];
                    BlockSpectrum {
                        block: n.to_string(),
                        spectral_radius: spectral_radius(blk, hh),
                        sigma_max: largest_singular_value(blk, hh, hh),
                    }
                })
                .collect();
            (None, blocks)
        };
        let gamma = (cell == CellKind::Rnn).then(|| max_derivative(rnn_act));
        let (jacobian_norms, jacobian_factor) = match &derivs {
            Some(d) if d.len() == t_len * b * h && t_len > 1 => {
                let (n, f) = jacobian_transport(d, &whh, t_len, b, h);
                (Some(n), f.is_finite().then_some(f))
            }
            _ => (None, None),
        };
        layers.push(RecurrentLayerRecord {
            layer: k,
            steps: t_len,
            hidden: h,
            source,
            grad_norms,
            cell_grad_norms,
            window_start,
            first_to_last,
            per_step_factor,
            underflow_steps,
            truncation_not_applied,
            cell_first_to_last,
            cell_per_step_factor,
            jacobian_norms,
            jacobian_factor,
            gates,
            gate_source,
            spectral_radius: spectral,
            sigma_max,
            blocks,
            gamma,
            pascanu_threshold: gamma.map(pascanu_threshold),
        });
    }
    RecurrentRecord {
        index,
        path: path.to_string(),
        name: layer.describe(),
        cell,
        activation: (cell == CellKind::Rnn).then_some(rnn_act),
        predict: spec.predict,
        truncate: spec.truncate,
        forget_bias: spec.forget_bias,
        layers,
    }
}

/// How a layer's decay through time was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecayMeasure {
    /// From ‖∂L/∂h_t‖ itself: only h_T receives a gradient, the profile is the decay.
    Gradient,
    /// From the Jacobian product applied to a vector injected at step T (RNN whose steps
    /// each receive their own gradient).
    Jacobian,
    /// From ‖∂L/∂h_t‖ although every step receives its own gradient: it understates a decay.
    MixedGradient,
}

/// The verdict on one stacked recurrent layer.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecurrentLayerVerdict {
    /// 0-based position in the stack.
    pub layer: usize,
    /// Flow through time in this layer.
    pub flow: Flow,
    /// How the decay was measured.
    pub measure: DecayMeasure,
    /// Steps the gradient is carried back over (T − 1, or within the last truncation chunk).
    pub span: usize,
    /// ‖∂L/∂h_1‖/‖∂L/∂h_T‖ (or the Jacobian product's), geometric mean over the records.
    pub first_to_last: f64,
    /// Factor per step going back in time, geometric mean over the records.
    pub per_step_factor: f64,
    /// The earliest steps' gradient underflowed to exactly 0 at some step.
    pub underflow: bool,
    /// LSTM: ‖∂L/∂c_1‖/‖∂L/∂c_{T−1}‖, geometric mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_first_to_last: Option<f64>,
    /// LSTM: factor per step of ‖∂L/∂c_t‖, geometric mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_per_step_factor: Option<f64>,
    /// The first measured step (1 = initialization).
    pub first_step: u64,
    /// The last measured step.
    pub last_step: u64,
    /// RNN: ρ(W_hh) at the first measured step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spectral_radius_first: Option<f64>,
    /// σ_max(W_hh) at the first measured step.
    pub sigma_max_first: f64,
    /// RNN: ρ(W_hh) at the last measured step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spectral_radius_last: Option<f64>,
    /// σ_max(W_hh) at the last measured step.
    pub sigma_max_last: f64,
    /// LSTM/GRU: per gate block of W_hh at the first measured step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks_first: Vec<BlockSpectrum>,
    /// LSTM/GRU: per gate block of W_hh at the last measured step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks_last: Vec<BlockSpectrum>,
    /// RNN: γ = max |f'|.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// RNN: 1/γ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pascanu_threshold: Option<f64>,
    /// RNN: γ·σ_max(W_hh) at the first measured step: the bound on the factor per step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_factor: Option<f64>,
    /// Per gate, means over the records that have them.
    pub gates: Vec<GateStats>,
    /// The measured steps whose records have gate values (all of them, unless the probe
    /// could not recompute the gates at some steps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gate_steps: Vec<u64>,
    /// Number of measured steps.
    pub measured_steps: usize,
    /// Gates whose saturated share exceeds the `saturated` threshold.
    pub saturated_gates: Vec<String>,
    /// Measured steps at which this layer's own decay was vanishing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vanishing_steps: Vec<u64>,
    /// Measured steps at which this layer's own decay was exploding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exploding_steps: Vec<u64>,
}

/// The verdict on the gradient through time.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecurrentVerdict {
    /// Overall flow through time.
    pub flow: Flow,
    /// The cell.
    pub cell: CellKind,
    /// RNN: its activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// Many-to-one or many-to-many.
    pub predict: Predict,
    /// Time steps T.
    pub steps: usize,
    /// LSTM: the forget bias added at initialization, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forget_bias: Option<f64>,
    /// Per stacked layer.
    pub layers: Vec<RecurrentLayerVerdict>,
    /// The chain rule through time with the measured numbers.
    pub explanation: String,
    /// Remedies, most promising first, naming config keys.
    pub remedies: Vec<Advice>,
}

impl RecurrentVerdict {
    /// The layer the verdict is mostly about (its explanation and headline): the first
    /// layer with the overall flow among those judged on a reliable measure (not
    /// [`DecayMeasure::MixedGradient`], unless every layer is), else the last of them.
    pub fn main_layer(&self) -> Option<&RecurrentLayerVerdict> {
        let reliable: Vec<&RecurrentLayerVerdict> = self
            .layers
            .iter()
            .filter(|l| l.measure != DecayMeasure::MixedGradient)
            .collect();
        let pool = if reliable.is_empty() {
            self.layers.iter().collect()
        } else {
            reliable
        };
        pool.iter()
            .find(|l| l.flow == self.flow)
            .or(pool.last())
            .copied()
    }
}

fn mean_gates(per_record: &[&[GateStats]]) -> Vec<GateStats> {
    let Some(first) = per_record.iter().find(|g| !g.is_empty()) else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(i, g0)| {
            let all: Vec<&GateStats> = per_record.iter().filter_map(|g| g.get(i)).collect();
            let n = all.len().max(1) as f64;
            let avg = |f: fn(&GateStats) -> f64| all.iter().map(|g| f(g)).sum::<f64>() / n;
            GateStats {
                gate: g0.gate.clone(),
                activation: g0.activation,
                mean: avg(|g| g.mean),
                mean_abs_derivative: avg(|g| g.mean_abs_derivative),
                saturated_fraction: avg(|g| g.saturated_fraction),
                saturated_low: avg(|g| g.saturated_low),
                saturated_high: avg(|g| g.saturated_high),
            }
        })
        .collect()
}

fn classify(ftl: f64, factor: f64, t: &Thresholds) -> Flow {
    if ftl < t.vanishing_ratio || (factor < t.per_layer_vanishing && ftl < 0.1) {
        Flow::Vanishing
    } else if ftl > t.exploding_ratio || (factor > t.per_layer_exploding && ftl > 10.0) {
        Flow::Exploding
    } else {
        Flow::Healthy
    }
}

/// Draws the verdict on the gradient through time of recurrent encoder `encoder` (its
/// position among the model's encoders) from the records (None when they have none). `max_grad_norm` is the largest global gradient norm of the run.
pub fn judge_through_time(
    records: &[StepRecord],
    encoder: usize,
    t: &Thresholds,
    max_grad_norm: f64,
) -> Option<RecurrentVerdict> {
    let recs: Vec<(u64, &RecurrentRecord)> = records
        .iter()
        .filter_map(|r| r.recurrent.get(encoder).map(|x| (r.step, x)))
        .collect();
    let &(first_step, first) = recs.first()?;
    let &(last_step, last) = recs.last()?;
    let mut layers = Vec::new();
    for (k, l0) in first.layers.iter().enumerate() {
        let per: Vec<&RecurrentLayerRecord> =
            recs.iter().filter_map(|(_, r)| r.layers.get(k)).collect();
        let measure = if l0.source == GradientSource::LastStep {
            DecayMeasure::Gradient
        } else if l0.jacobian_factor.is_some() {
            DecayMeasure::Jacobian
        } else {
            DecayMeasure::MixedGradient
        };
        let span = match measure {
            DecayMeasure::Jacobian => l0.steps.saturating_sub(1),
            _ => l0.steps.saturating_sub(l0.window_start + 1),
        };
        let steps_of: Vec<u64> = recs
            .iter()
            .filter(|(_, r)| r.layers.len() > k)
            .map(|(s, _)| *s)
            .collect();
        let mut vanishing_steps = Vec::new();
        let mut exploding_steps = Vec::new();
        let pairs: Vec<(f64, f64)> = per
            .iter()
            .zip(&steps_of)
            .filter_map(|(lr, step)| {
                let (ftl, f) = match measure {
                    DecayMeasure::Jacobian => (
                        lr.jacobian_norms.as_ref().and_then(|n| n.first().copied()),
                        lr.jacobian_factor?,
                    ),
                    _ => (lr.first_to_last, lr.per_step_factor?),
                };
                let ftl = match ftl {
                    Some(x) if x > 0.0 && x.is_finite() => x,
                    _ => f.powi(span as i32),
                };
                match classify(ftl, f, t) {
                    Flow::Vanishing => vanishing_steps.push(*step),
                    Flow::Exploding => exploding_steps.push(*step),
                    Flow::Healthy => {}
                }
                Some((ftl, f))
            })
            .collect();
        let first_to_last = geo_mean(pairs.iter().map(|p| p.0));
        let per_step_factor = geo_mean(pairs.iter().map(|p| p.1));
        let underflow = per.iter().any(|lr| lr.underflow_steps > 0);
        let cell_pairs: Vec<(f64, f64)> = per
            .iter()
            .filter_map(|lr| Some((lr.cell_first_to_last?, lr.cell_per_step_factor?)))
            .collect();
        let (cell_first_to_last, cell_per_step_factor) = if cell_pairs.is_empty() {
            (None, None)
        } else {
            (
                Some(geo_mean(cell_pairs.iter().map(|p| p.0))),
                Some(geo_mean(cell_pairs.iter().map(|p| p.1))),
            )
        };
        let gate_lists: Vec<&[GateStats]> = per.iter().map(|lr| &lr.gates[..]).collect();
        let gate_steps: Vec<u64> = per
            .iter()
            .zip(&steps_of)
            .filter(|(lr, _)| !lr.gates.is_empty())
            .map(|(_, s)| *s)
            .collect();
        let gates = mean_gates(&gate_lists);
        let saturated_gates = gates
            .iter()
            .filter(|g| g.saturated_fraction > t.saturated)
            .map(|g| g.gate.clone())
            .collect();
        let l1 = last.layers.get(k).unwrap_or(l0);
        let flow = if pairs.is_empty() {
            Flow::Healthy
        } else {
            classify(first_to_last, per_step_factor, t)
        };
        layers.push(RecurrentLayerVerdict {
            layer: k,
            flow,
            measure,
            span,
            first_to_last,
            per_step_factor,
            underflow,
            cell_first_to_last,
            cell_per_step_factor,
            first_step,
            last_step,
            spectral_radius_first: l0.spectral_radius,
            sigma_max_first: l0.sigma_max,
            spectral_radius_last: l1.spectral_radius,
            sigma_max_last: l1.sigma_max,
            blocks_first: l0.blocks.clone(),
            blocks_last: l1.blocks.clone(),
            gamma: l0.gamma,
            pascanu_threshold: l0.pascanu_threshold,
            bound_factor: l0.gamma.map(|g| g * l0.sigma_max),
            gates,
            gate_steps,
            measured_steps: per.len(),
            saturated_gates,
            vanishing_steps,
            exploding_steps,
        });
    }
    let reliable: Vec<&RecurrentLayerVerdict> = layers
        .iter()
        .filter(|l| l.measure != DecayMeasure::MixedGradient)
        .collect();
    let pool: Vec<&RecurrentLayerVerdict> = if reliable.is_empty() {
        layers.iter().collect()
    } else {
        reliable
    };
    let flow = if pool.iter().any(|l| l.flow == Flow::Vanishing) {
        Flow::Vanishing
    } else if pool.iter().any(|l| l.flow == Flow::Exploding) || max_grad_norm > t.exploding_norm {
        Flow::Exploding
    } else {
        Flow::Healthy
    };
    let steps = first.layers.first().map_or(0, |l| l.steps);
    let mut v = RecurrentVerdict {
        flow,
        cell: first.cell,
        activation: first.activation,
        predict: first.predict,
        steps,
        forget_bias: first.forget_bias,
        layers,
        explanation: String::new(),
        remedies: Vec::new(),
    };
    let main = v.main_layer().map_or(0, |l| l.layer);
    v.explanation = explain(&v, main, first, max_grad_norm, t);
    v.remedies = remedies(&v, main);
    Some(v)
}

fn gate<'a>(l: &'a RecurrentLayerVerdict, name: &str) -> Option<&'a GateStats> {
    l.gates.iter().find(|g| g.gate == name)
}

fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

fn explain(
    v: &RecurrentVerdict,
    main: usize,
    rec: &RecurrentRecord,
    max_grad_norm: f64,
    t: &Thresholds,
) -> String {
    let Some(l) = v.layers.get(main) else {
        return String::new();
    };
    let mut s = String::new();
    let n_layers = v.layers.len();
    let which = if n_layers > 1 {
        format!(", layer {} of {n_layers}", main + 1)
    } else {
        String::new()
    };
    let span = l.span;
    let after = format!("{} after {span} steps", sci(l.first_to_last));
    match l.measure {
        DecayMeasure::Gradient => s.push_str(&format!(
            "Through time ({} steps{which}): ‖∂L/∂h_{}‖/‖∂L/∂h_T‖ = {}, ×{} per step going back \
             in time (geometric mean over the measured steps {}–{}). ",
            v.steps,
            v.steps.saturating_sub(span).max(1),
            sci(l.first_to_last),
            sci(l.per_step_factor),
            l.first_step,
            l.last_step
        )),
        DecayMeasure::Jacobian => s.push_str(&format!(
            "Through time ({} steps{which}): every step receives its own gradient, so the decay \
             is measured on a gradient injected at step T alone and carried back through the \
             measured Jacobians: ×{} per step, {after}. ",
            v.steps,
            sci(l.per_step_factor)
        )),
        DecayMeasure::MixedGradient => s.push_str(&format!(
            "Through time ({} steps{which}): ‖∂L/∂h_1‖/‖∂L/∂h_T‖ = {}, ×{} per step; every step \
             receives its own gradient, so this mixes fresh gradient with gradient carried \
             through time and understates a decay. ",
            v.steps,
            sci(l.first_to_last),
            sci(l.per_step_factor)
        )),
    }
    if rec
        .layers
        .get(main)
        .is_some_and(|r| r.truncation_not_applied)
    {
        s.push_str(&format!(
            "model.recurrent.truncate = {} is set, but the gradient crossed the chunk boundaries: \
             truncation was not applied, the decay is taken over the whole sequence. ",
            rec.truncate.unwrap_or(0)
        ));
    }
    if rec.layers.get(main).is_some_and(|r| r.window_start > 0) {
        s.push_str(&format!(
            "The decay is taken over the last truncation chunk (model.recurrent.truncate = {}). ",
            rec.truncate.unwrap_or(0)
        ));
    }
    if l.underflow {
        s.push_str(
            "The earliest steps' gradient is exactly 0: it underflowed the floating-point range. ",
        );
    }
    let changed = |a: f64, b: f64| (a - b).abs() > 0.05 * a.abs().max(1e-12);
    match v.cell {
        CellKind::Rnn => {
            let act = v.activation.map_or(String::new(), |a| a.to_string());
            let (gamma, thr, bf) = (
                l.gamma.unwrap_or(f64::NAN),
                l.pascanu_threshold.unwrap_or(f64::NAN),
                l.bound_factor.unwrap_or(f64::NAN),
            );
            let sig = l.sigma_max_first;
            let rho = l.spectral_radius_first.unwrap_or(f64::NAN);
            s.push_str(&format!(
                "By the chain rule ∂h_t/∂h_{{t−1}} = diag(f'(a_t))·W_hh, so each step multiplies \
                 the gradient norm by at most γ·σ_max(W_hh), with γ = max |f'| = {} for {act}. ",
                sci(gamma)
            ));
            let step = l.first_step;
            let later = if l.last_step != step && changed(sig, l.sigma_max_last) {
                format!(
                    " (σ_max = {} by step {})",
                    sci(l.sigma_max_last),
                    l.last_step
                )
            } else {
                String::new()
            };
            let h = gate(l, "h");
            let units = h.map_or(String::new(), |g| {
                format!(
                    ", and the units' mean |f'(a)| = {} ({} saturated) shrinks it further \
                     (ρ·mean |f'| = {})",
                    sci(g.mean_abs_derivative),
                    pct(g.saturated_fraction),
                    sci(rho * g.mean_abs_derivative)
                )
            });
            match v.flow {
                Flow::Vanishing if bf < 1.0 => s.push_str(&format!(
                    "At step {step} σ_max(W_hh) = {} < 1/γ = {}{later}: the gradient through \
                     time must vanish (the sufficient condition of Pascanu et al. 2013), by at \
                     least ×{} per step; measured ×{} per step, {after}.",
                    sci(sig),
                    sci(thr),
                    sci(bf),
                    sci(l.per_step_factor)
                )),
                Flow::Vanishing => s.push_str(&format!(
                    "At step {step} σ_max(W_hh) = {} ≥ 1/γ = {}{later}, so the bound alone allows \
                     growth, but the typical factor is smaller: powers of W_hh shrink like \
                     ρ(W_hh)^k with ρ = {}{units}; measured ×{} per step, {after}.",
                    sci(sig),
                    sci(thr),
                    sci(rho),
                    sci(l.per_step_factor)
                )),
                Flow::Exploding if l.flow != Flow::Exploding => s.push_str(&format!(
                    "At step {step} σ_max(W_hh) = {}, 1/γ = {}{later}; the gradient through time \
                     does not grow (×{} per step, {after}), but the largest global gradient norm, \
                     {}, is above exploding_norm = {}: large weight gradients — ∂L/∂W_hh = Σ_t \
                     δ_t·h_{{t−1}}ᵀ grows with the hidden states, which {act} does not bound.",
                    sci(sig),
                    sci(thr),
                    sci(l.per_step_factor),
                    sci(max_grad_norm),
                    sci(t.exploding_norm)
                )),
                Flow::Exploding if bf > 1.0 => s.push_str(&format!(
                    "At step {step} σ_max(W_hh) = {} > 1/γ = {}{later}: the necessary condition \
                     for exploding holds (ρ(W_hh) = {}); measured ×{} per step, {after} \
                     (largest global gradient norm {}).",
                    sci(sig),
                    sci(thr),
                    sci(rho),
                    sci(l.per_step_factor),
                    sci(max_grad_norm)
                )),
                Flow::Exploding => s.push_str(&format!(
                    "At step {step} σ_max(W_hh) = {} ≤ 1/γ = {}{later}: the gradient through time \
                     cannot explode by Pascanu et al.'s bound; the large gradient (largest global \
                     gradient norm {}) comes from elsewhere in the network.",
                    sci(sig),
                    sci(thr),
                    sci(max_grad_norm)
                )),
                Flow::Healthy => s.push_str(&format!(
                    "At step {step} σ_max(W_hh) = {}, ρ(W_hh) = {}, 1/γ = {}{later} (γ·σ_max = \
                     {}); the measured ×{} per step keeps the gradient within the thresholds \
                     over {span} steps (total {}–{}, or ×{}–×{} per step): healthy.",
                    sci(sig),
                    sci(rho),
                    sci(thr),
                    sci(bf),
                    sci(l.per_step_factor),
                    sci(t.vanishing_ratio),
                    sci(t.exploding_ratio),
                    sci(t.per_layer_vanishing),
                    sci(t.per_layer_exploding)
                )),
            }
            if let Some(g) = h.filter(|g| g.saturated_fraction > t.saturated) {
                if act == "relu" {
                    s.push_str(&format!(
                        " {} of the relu units are inactive (a < 0, f'(a) = 0): no gradient \
                         passes through them.",
                        pct(g.saturated_fraction)
                    ));
                } else {
                    s.push_str(&format!(
                        " {} of the {act} units are saturated (|f'(a)| under 1% of its maximum).",
                        pct(g.saturated_fraction)
                    ));
                }
            }
        }
        CellKind::Lstm => {
            let f = gate(l, "f");
            s.push_str(&format!(
                "The LSTM's memory c_t = f_t⊙c_{{t−1}} + i_t⊙g_t carries the gradient back along \
                 ∂c_t/∂c_{{t−1}} = diag(f_t) — the forget gate, with no W_hh and no squashing \
                 derivative{}",
                match f {
                    Some(g) => format!(
                        ": mean forget gate {}{} ({} of units saturated open, {} shut)",
                        sci(g.mean),
                        gates_when(l),
                        pct(g.saturated_high),
                        pct(g.saturated_low)
                    ),
                    None => " (the gate values need the layer's input, which this probe did \
                             not receive)"
                        .to_string(),
                }
            ));
            if let (Some(r), Some(c)) = (l.cell_first_to_last, l.cell_per_step_factor) {
                s.push_str(&format!(
                    "; ‖∂L/∂c_1‖/‖∂L/∂c_(T−1)‖ = {}, ×{} per step",
                    sci(r),
                    sci(c)
                ));
            }
            s.push_str(". ");
            s.push_str(&blocks_sentence(l, "i/f/g/o"));
            s.push_str(&flow_sentence(v.flow, l, t, max_grad_norm));
        }
        CellKind::Gru => {
            let z = gate(l, "z");
            s.push_str(&format!(
                "The GRU's h_t = z_t⊙h_{{t−1}} + (1 − z_t)⊙n_t carries the gradient back along \
                 diag(z_t) directly, and through W_hh via the r, z, n blocks{}. ",
                match z {
                    Some(g) => format!(": mean update gate z = {}{}", sci(g.mean), gates_when(l)),
                    None => " (the gate values need the layer's input, which this probe did \
                             not receive)"
                        .to_string(),
                }
            ));
            s.push_str(&blocks_sentence(l, "r/z/n"));
            s.push_str(&flow_sentence(v.flow, l, t, max_grad_norm));
        }
    }
    let (nv, ne) = (l.vanishing_steps.len(), l.exploding_steps.len());
    if nv > 0 && ne > 0 {
        let list = |v: &[u64]| ranges(&v.iter().map(|x| *x as usize).collect::<Vec<_>>());
        s.push_str(&format!(
            " The flow changes during the run: exploding at measured step{} {}, vanishing at {} \
             (the verdict takes the geometric mean over the measured steps; use a short --steps \
             to judge the initialization).",
            if ne > 1 { "s" } else { "" },
            list(&l.exploding_steps),
            list(&l.vanishing_steps)
        ));
    } else if v.flow == Flow::Vanishing && max_grad_norm > t.exploding_norm {
        s.push_str(&format!(
            " The largest global gradient norm, {}, is above exploding_norm = {}: some step's \
             gradient exploded elsewhere in the network.",
            sci(max_grad_norm),
            sci(t.exploding_norm)
        ));
    }
    for o in v.layers.iter().filter(|o| o.layer != main) {
        s.push_str(&format!(
            " Layer {}: {} (×{} per step, {} over {} steps{}).",
            o.layer + 1,
            o.flow.name(),
            sci(o.per_step_factor),
            sci(o.first_to_last),
            o.span,
            match o.measure {
                DecayMeasure::MixedGradient => ", mixed with its per-step input gradient",
                DecayMeasure::Jacobian => ", Jacobian product",
                DecayMeasure::Gradient => "",
            }
        ));
    }
    s.trim().to_string()
}

/// " at step 1" when the gates come from fewer than all measured steps.
fn gates_when(l: &RecurrentLayerVerdict) -> String {
    if l.gate_steps.len() == l.measured_steps {
        return String::new();
    }
    let steps: Vec<usize> = l.gate_steps.iter().map(|s| *s as usize).collect();
    format!(
        " at step{} {}",
        if steps.len() > 1 { "s" } else { "" },
        ranges(&steps)
    )
}

fn blocks_sentence(l: &RecurrentLayerVerdict, names: &str) -> String {
    if l.blocks_first.is_empty() {
        return String::new();
    }
    let list = |f: fn(&BlockSpectrum) -> f64| {
        l.blocks_first
            .iter()
            .map(|b| sci(f(b)))
            .collect::<Vec<_>>()
            .join("/")
    };
    format!(
        "The h path crosses W_hh: blocks {names} at step {} have σ_max {} and ρ {} (whole W_hh: \
         σ_max = {}). ",
        l.first_step,
        list(|b| b.sigma_max),
        list(|b| b.spectral_radius),
        sci(l.sigma_max_first)
    )
}

fn flow_sentence(flow: Flow, l: &RecurrentLayerVerdict, t: &Thresholds, max_norm: f64) -> String {
    let after = format!("{} of h_T after {} steps", sci(l.first_to_last), l.span);
    match flow {
        Flow::Vanishing => format!(
            "The gradient reaching the first step is {after}: it vanishes (thresholds: total {} or \
             ×{} per step).",
            sci(t.vanishing_ratio),
            sci(t.per_layer_vanishing)
        ),
        Flow::Exploding => format!(
            "The gradient reaching the first step is {after}: it explodes (largest global \
             gradient norm {}).",
            sci(max_norm)
        ),
        Flow::Healthy => format!(
            "The gradient reaching the first step is {after}: within the thresholds, healthy."
        ),
    }
}

fn remedies(v: &RecurrentVerdict, main: usize) -> Vec<Advice> {
    let Some(l) = v.layers.get(main) else {
        return Vec::new();
    };
    let ctx = RemedyContext {
        rnn_activation: v.activation.map(|a| a.to_string()),
        gamma: l.gamma,
        threshold: l.pascanu_threshold,
        sigma_max: Some(l.sigma_max_first),
        span: Some(l.span),
        forget_bias: v.forget_bias,
    };
    let clip = Remedy::ClipNorm { max_norm: 1.0 };
    let truncate = Remedy::Truncate {
        steps: (v.steps / 4).clamp(1, 20),
    };
    let orthogonal = Remedy::RecurrentInit {
        init: Init::Orthogonal { gain: 1.0 },
    };
    let lstm = Remedy::GatedCell {
        cell: CellKind::Lstm,
        forget_bias: Some(1.0),
    };
    let mut r: Vec<Remedy> = Vec::new();
    match (v.cell, v.flow) {
        (CellKind::Rnn, Flow::Vanishing) => {
            if l.gamma.is_some_and(|g| g < 0.99) {
                r.push(Remedy::RecurrentActivation {
                    activation: Activation::Tanh,
                });
            }
            r.push(lstm);
            r.push(orthogonal);
            r.push(Remedy::Irnn);
        }
        (CellKind::Rnn, Flow::Exploding) => {
            r.push(clip);
            r.push(Remedy::SpectralRadius { radius: 1.0 });
            r.push(truncate);
            r.push(Remedy::GatedCell {
                cell: CellKind::Lstm,
                forget_bias: None,
            });
            r.push(Remedy::LowerLearningRate { factor: 0.1 });
        }
        (CellKind::Lstm, Flow::Vanishing) => {
            if !gate(l, "f").is_some_and(|g| g.mean > 0.95) {
                r.push(Remedy::ForgetBias {
                    bias: match v.forget_bias {
                        Some(b) if b >= 1.0 => (b + 2.0).min(5.0),
                        _ => 1.0,
                    },
                });
            }
            r.push(orthogonal);
            r.push(Remedy::ShorterPath);
        }
        (CellKind::Gru, Flow::Vanishing) => {
            r.push(lstm);
            r.push(orthogonal);
        }
        (_, Flow::Exploding) => {
            r.push(clip);
            r.push(Remedy::SpectralRadius { radius: 1.0 });
            r.push(truncate);
            r.push(Remedy::LowerLearningRate { factor: 0.1 });
        }
        (_, Flow::Healthy) => {
            if !l.saturated_gates.is_empty() && v.cell == CellKind::Rnn {
                r.push(Remedy::StandardizeInputs);
                r.push(orthogonal);
            }
        }
    }
    r.into_iter().map(|x| advice_with(x, &ctx)).collect()
}
