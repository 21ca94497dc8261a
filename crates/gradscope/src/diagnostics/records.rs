//! What the scope records at a diagnostic step: one [`StepRecord`] (a line of
//! `diagnostics.jsonl`) holding a [`LayerRecord`] per layer and a
//! [`RecurrentRecord`](super::recurrent::RecurrentRecord) per recurrent encoder. Records are
//! typed (layer kind, activation); the verdicts and the [`Diagnosis`](super::Diagnosis) are
//! computed from them alone, so records written by another front end (a PyTorch model's
//! hooks) are judged by the same engine.

use super::recurrent::RecurrentRecord;
use super::stats::Histogram;
use crate::activation::Activation;
use crate::layer::LayerKind;

/// Five quantiles of a layer's activations over the batch (Glorot & Bengio 2010's Fig. 2
/// plots the mean with the 2nd and 98th percentiles).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Quantiles {
    /// 2nd percentile.
    pub p02: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 98th percentile.
    pub p98: f64,
}

/// Measurements of one layer at one step. Gradient norms are L2 norms over the whole batch
/// tensor (the loss is a batch mean, so they scale with 1/N; ratios between layers do not).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerRecord {
    /// Position of the layer in the model's walk (forward order; a residual block before the
    /// layers inside it).
    pub index: usize,
    /// State-dict prefix of the layer: `"3"`, `"2.block.1"`, `"rnn"`, `"fc.0"`.
    pub path: String,
    /// The layer's kind.
    pub kind: LayerKind,
    /// Its description, e.g. `activation(tanh)`, `linear(64 -> 32)`.
    pub name: String,
    /// The activation f of an activation layer (a = f(z)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// 1-based depth of a hidden activation layer (the network's last layer is not hidden);
    /// absent for other layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<usize>,
    /// ‖∂L/∂input‖ — for an activation layer ‖∂L/∂z‖ (the seeds' δ); null when backward did
    /// not compute it (the model's first layer).
    pub grad_in_norm: Option<f64>,
    /// max |∂L/∂input| (null like `grad_in_norm`).
    pub grad_in_max: Option<f64>,
    /// ‖∂L/∂output‖ — for an activation layer ‖∂L/∂a‖.
    pub grad_out_norm: f64,
    /// max |∂L/∂output|.
    pub grad_out_max: f64,
    /// ‖W‖ (linear: the weight matrix; norm layers: γ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_norm: Option<f64>,
    /// ‖∂L/∂W‖.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grad_norm: Option<f64>,
    /// max |∂L/∂W|.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grad_max: Option<f64>,
    /// ‖ΔW‖/‖W‖ of this step's update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_ratio: Option<f64>,
    /// σ_w = std(W)·√fan_in of a weight matrix: the mean-field theory's weight scale
    /// (σ_w² = fan_in·Var(W)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma_w: Option<f64>,
    /// σ_b² = mean b² of a linear layer's bias: the mean-field theory's bias variance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma_b2: Option<f64>,
    /// Mean of the layer's output a over the batch (activation layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act_mean: Option<f64>,
    /// Standard deviation of the layer's output a (activation layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act_std: Option<f64>,
    /// Quantiles of the layer's output a (activation layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act_quantiles: Option<Quantiles>,
    /// Share of unit-samples whose output lies within 2% of the range's width (of 1 for a
    /// half-open range; [`super::RANGE_END_EPSILON`]) of a finite end of f's range — Glorot & Bengio's saturation of a
    /// sigmoid at 0 or 1, a ReLU's zeros (activation layers with a bounded side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_end_fraction: Option<f64>,
    /// Mean |f'(z)| over the batch (activation layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_abs_derivative: Option<f64>,
    /// Mean f'(z)² over the batch: √ of it is the activation's share of the per-layer
    /// gradient factor σ_w·√E[f'(z)²].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_sq_derivative: Option<f64>,
    /// Share of unit-samples with |f'(z)| below 1% of max |f'| (activation layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saturated_fraction: Option<f64>,
    /// Share of units whose output is 0 for every sample of the batch (activation layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_fraction: Option<f64>,
    /// Histogram of |∂L/∂z| (log-spaced) for activation layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_hist: Option<Histogram>,
    /// Histogram of the activations (linear bins) for activation layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act_hist: Option<Histogram>,
}

impl LayerRecord {
    /// A record with the identity and gradient norms filled in and every optional
    /// measurement absent.
    pub fn new(
        index: usize,
        path: impl Into<String>,
        kind: LayerKind,
        name: impl Into<String>,
    ) -> Self {
        LayerRecord {
            index,
            path: path.into(),
            kind,
            name: name.into(),
            activation: None,
            depth: None,
            grad_in_norm: None,
            grad_in_max: None,
            grad_out_norm: 0.0,
            grad_out_max: 0.0,
            weight_norm: None,
            weight_grad_norm: None,
            weight_grad_max: None,
            update_ratio: None,
            sigma_w: None,
            sigma_b2: None,
            act_mean: None,
            act_std: None,
            act_quantiles: None,
            range_end_fraction: None,
            mean_abs_derivative: None,
            mean_sq_derivative: None,
            saturated_fraction: None,
            dead_fraction: None,
            grad_hist: None,
            act_hist: None,
        }
    }
}

/// JSON has no NaN (serde_json writes it as null): reads null back as NaN.
pub(crate) fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    use serde::Deserialize;
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A list of numbers whose non-finite entries were written as null: null read back as NaN.
pub(crate) fn nan_vec_if_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<f64>, D::Error> {
    use serde::Deserialize;
    Ok(Vec::<Option<f64>>::deserialize(d)?
        .into_iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect())
}

/// [`nan_vec_if_null`] for an optional list (absent or null: None).
pub(crate) fn opt_nan_vec_if_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<f64>>, D::Error> {
    use serde::Deserialize;
    Ok(Option::<Vec<Option<f64>>>::deserialize(d)?
        .map(|v| v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect()))
}

/// One line of `diagnostics.jsonl`: every layer at one step.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    /// The step measured (1-based; step 1 sees the initial weights).
    pub step: u64,
    /// The epoch in progress (1-based, as `metrics.jsonl` counts them).
    pub epoch: usize,
    /// The batch loss (NaN when the front end did not see it: written as null).
    #[serde(deserialize_with = "nan_if_null")]
    pub loss: f64,
    /// Global gradient norm before clipping.
    #[serde(deserialize_with = "nan_if_null")]
    pub grad_norm: f64,
    /// q⁰ = mean x² of the batch's input values: where the mean-field length map starts
    /// (1 for standardized inputs); absent when the probe did not see the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_q0: Option<f64>,
    /// Rows of the model's input at this step (samples, or sequences for a sequence model):
    /// the batch a BatchNorm layer would take its statistics from; absent when the probe did
    /// not see the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Per layer, in walk order.
    pub layers: Vec<LayerRecord>,
    /// The gradient through time of each recurrent encoder, in walk order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recurrent: Vec<RecurrentRecord>,
}

impl StepRecord {
    /// A record of `layers` at `step` (epoch 1, input not seen: no q⁰, no batch size).
    pub fn new(step: u64, loss: f64, grad_norm: f64, layers: Vec<LayerRecord>) -> Self {
        StepRecord {
            step,
            epoch: 1,
            loss,
            grad_norm,
            input_q0: None,
            batch_size: None,
            layers,
            recurrent: Vec::new(),
        }
    }

    /// The hidden activation layers' records, by depth.
    pub fn activations(&self) -> impl Iterator<Item = &LayerRecord> {
        self.layers.iter().filter(|l| l.depth.is_some())
    }

    /// The record of hidden activation layer `depth` (1-based).
    pub fn at_depth(&self, depth: usize) -> Option<&LayerRecord> {
        self.layers.iter().find(|l| l.depth == Some(depth))
    }

    /// ‖δ‖ = ‖∂L/∂z‖ of each hidden activation layer, in depth order.
    pub fn deltas(&self) -> Vec<(usize, f64)> {
        self.activations()
            .filter_map(|l| Some((l.depth?, l.grad_in_norm?)))
            .collect()
    }

    /// ‖δ_first‖/‖δ_last‖ of this step (None with fewer than two hidden layers).
    pub fn first_to_last(&self) -> Option<f64> {
        let d = self.deltas();
        match (d.first(), d.last()) {
            (Some(a), Some(b)) if d.len() >= 2 => Some(a.1 / b.1),
            _ => None,
        }
    }

    /// The nearest layer with a weight matrix before hidden activation layer `act` (a norm
    /// layer may sit in between): the W whose σ_w scales z.
    pub fn incoming_linear(&self, act: &LayerRecord) -> Option<&LayerRecord> {
        let at = self.layers.iter().position(|l| l.index == act.index)?;
        self.layers[..at].iter().rev().find(|l| l.sigma_w.is_some())
    }
}
