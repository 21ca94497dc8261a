//! Measuring a recurrent encoder after backward: the gradient through time as kept by its
//! backward, the gates from the cells' own caches, the spectrum of W_hh, and for an RNN the
//! Jacobian product on a fixed vector injected at the last step.

use super::records::{
    BlockSpectrum, GateSource, GateStats, GradientSource, RecurrentLayerRecord, RecurrentRecord,
};
use crate::activation::properties::SATURATION_FRACTION;
use crate::activation::Activation;
use crate::float::Float;
use crate::kernels::gemm::{gemm, MatMut, MatRef};
use crate::recurrent::spectral::{largest_singular_value, pascanu_threshold, spectral_radius};
use crate::recurrent::{CellKind, Predict, RecurrentEncoder};
use crate::tensor::Tensor;

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
            layer: k + 1,
            steps: t_len,
            hidden: h,
            source,
            grad_norms,
            cell_grad_norms,
            window_start: window_start + 1,
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
