//! The verdict on the gradient through time, drawn from the records of every measured step:
//! numbers and typed remedies; the sentences come from [`crate::diagnostics::explain`].

use super::records::{
    BlockSpectrum, GateStats, GradientSource, RecurrentLayerRecord, RecurrentRecord,
};
use crate::activation::Activation;
use crate::diagnostics::explain::{self, advice_with, RemedyContext};
use crate::diagnostics::remedy::Remedy;
use crate::diagnostics::verdict::{geo_mean, Advice, Flow};
use crate::diagnostics::{StepRecord, Thresholds};
use crate::init::Init;
use crate::recurrent::{CellKind, Predict};

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
    /// 1-based position in the stack (PyTorch's suffix `_l0` is layer 1).
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
            _ => l0.steps.saturating_sub(l0.window_start),
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
            layer: k + 1,
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
    let main = v.main_layer().map_or(0, |l| l.layer - 1);
    v.explanation = explain::through_time(&v, main, first, max_grad_norm, t);
    v.remedies = remedies(&v, main);
    Some(v)
}

fn gate<'a>(l: &'a RecurrentLayerVerdict, name: &str) -> Option<&'a GateStats> {
    l.gates.iter().find(|g| g.gate == name)
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
        ..RemedyContext::default()
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
