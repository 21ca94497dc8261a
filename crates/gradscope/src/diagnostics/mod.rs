//! The gradient scope: per-layer measurements taken during training (every `every` steps),
//! and the verdicts drawn from them ([`verdict`]).
//!
//! At a diagnostic step, after backward and before the optimizer, [`Probe::measure`] reads
//! every layer's kept intermediates: ∂L/∂z (an activation layer's input gradient, the seeds'
//! δ), ∂L/∂a, ∂L/∂W, weights, activation statistics, saturation and dead units; after the
//! optimizer step [`Probe::finish`] adds the update-to-weight ratio ‖ΔW‖/‖W‖. A recurrent
//! layer adds the gradient through time ([`recurrent`]): ‖∂L/∂h_t‖ for every t, gate
//! saturation, the spectrum of W_hh and Pascanu et al.'s threshold.

pub mod recurrent;
mod stats;
pub mod verdict;

pub use stats::{linear_histogram, log_abs_histogram, mean_std, norm_and_max, Histogram};

use crate::activation::{properties, Activation};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::layer::{Layer, Module};
use crate::model::Model;
use crate::tensor::Tensor;

fn default_every() -> u64 {
    100
}
fn default_bins() -> usize {
    24
}
fn default_true() -> bool {
    true
}

/// The `[diagnostics]` config table.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnosticsConfig {
    /// Measure every this many steps (and at step 1). The default, 100, keeps the cost under
    /// 5% of training time even on the tiny digits MLP (`gradscope bench --diagnostics-overhead`).
    #[serde(default = "default_every")]
    pub every: u64,
    /// Bins of each histogram.
    #[serde(default = "default_bins")]
    pub bins: usize,
    /// Record histograms of ∂L/∂z and of activations.
    #[serde(default = "default_true")]
    pub histograms: bool,
    /// Verdict thresholds.
    #[serde(default)]
    pub thresholds: verdict::Thresholds,
}

impl Default for DiagnosticsConfig {
    fn default() -> Self {
        DiagnosticsConfig {
            every: default_every(),
            bins: default_bins(),
            histograms: true,
            thresholds: verdict::Thresholds::default(),
        }
    }
}

impl DiagnosticsConfig {
    /// Checks ranges (messages start with the field path).
    pub fn validate(&self) -> Result<()> {
        if self.every == 0 {
            return Err(Error::Config("diagnostics.every must be >= 1".into()));
        }
        if self.bins == 0 || self.bins > 1000 {
            return Err(Error::Config(format!(
                "diagnostics.bins = {} must be in 1..=1000",
                self.bins
            )));
        }
        self.thresholds.validate()
    }

    /// True when step `step` (1-based) is measured.
    pub fn due(&self, step: u64) -> bool {
        step == 1 || step.is_multiple_of(self.every)
    }
}

/// Measurements of one layer at one step. Gradient norms are L2 norms over the whole batch
/// tensor (the loss is a batch mean, so they scale with 1/N; ratios between layers do not).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerRecord {
    /// Index of the layer in the model.
    pub index: usize,
    /// 1-based number of the hidden activation layer (its depth); 0 for other layers.
    pub depth: usize,
    /// Layer kind (`linear`, `activation`, `batchnorm1d`, `dropout`, `residual`).
    pub kind: String,
    /// Description, e.g. `activation(tanh)`.
    pub name: String,
    /// ‖∂L/∂input‖ — for an activation layer this is ‖∂L/∂z‖ (δ).
    pub grad_in_norm: f64,
    /// max |∂L/∂input|.
    pub grad_in_max: f64,
    /// ‖∂L/∂output‖ — for an activation layer this is ‖∂L/∂a‖.
    pub grad_out_norm: f64,
    /// max |∂L/∂output|.
    pub grad_out_max: f64,
    /// ‖W‖ (linear: weight; batchnorm: γ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_norm: Option<f64>,
    /// ‖∂L/∂W‖.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_grad_norm: Option<f64>,
    /// max |∂L/∂W|.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_grad_max: Option<f64>,
    /// ‖ΔW‖/‖W‖ of this step's update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_ratio: Option<f64>,
    /// Standard deviation of the weights times √fan_in: σ_w for the mean-field theory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigma_w: Option<f64>,
    /// Mean of the layer's output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act_mean: Option<f64>,
    /// Standard deviation of the layer's output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act_std: Option<f64>,
    /// Mean |f'(z)| over the batch (activation layers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_abs_derivative: Option<f64>,
    /// Mean f'(z)² over the batch: √ of it is the activation's share of the per-layer
    /// gradient factor σ_w·√E[f'(z)²].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_sq_derivative: Option<f64>,
    /// Share of unit-samples with |f'(z)| below 1% of max |f'| (activation layers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saturated_fraction: Option<f64>,
    /// Share of units whose output is 0 for every sample of the batch (activation layers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_fraction: Option<f64>,
    /// Histogram of |∂L/∂z| (log-spaced) for activation layers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grad_hist: Option<Histogram>,
    /// Histogram of the activations (linear bins) for activation layers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act_hist: Option<Histogram>,
}

/// One line of `diagnostics.jsonl`: every layer at one step.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    /// The step measured (1-based).
    pub step: u64,
    /// 0-based epoch in progress.
    pub epoch: usize,
    /// The batch loss.
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Per layer, in model order.
    pub layers: Vec<LayerRecord>,
    /// The gradient through time of the model's recurrent layer (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrent: Option<recurrent::RecurrentRecord>,
}

impl StepRecord {
    /// The activation layers' records, by depth.
    pub fn activations(&self) -> impl Iterator<Item = &LayerRecord> {
        self.layers.iter().filter(|l| l.depth > 0)
    }
}

/// Measures a model at diagnostic steps, reusing its buffers.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    config: DiagnosticsConfig,
    max_derivative: Vec<(Activation, f64)>,
    before: Vec<Tensor<f64>>,
    alive: Vec<bool>,
    pending: Option<StepRecord>,
}

fn weight_of<T: Float>(layer: &Layer<T>) -> Option<&Tensor<T>> {
    match layer {
        Layer::Linear(l) => Some(&l.weight.value),
        Layer::BatchNorm1d(b) => Some(&b.weight.value),
        _ => None,
    }
}

impl Probe {
    /// A probe with the given settings.
    pub fn new(config: DiagnosticsConfig) -> Self {
        Probe {
            config,
            ..Probe::default()
        }
    }

    /// The settings.
    pub fn config(&self) -> &DiagnosticsConfig {
        &self.config
    }

    fn max_derivative(&mut self, act: Activation) -> f64 {
        if let Some((_, m)) = self.max_derivative.iter().find(|(a, _)| *a == act) {
            return *m;
        }
        let m = properties(&act).max_abs_derivative;
        self.max_derivative.push((act, m));
        m
    }

    /// Measures every layer after backward (before the optimizer step). A recurrent first
    /// layer's gates are recomputed from its input, which this call does not have: it uses
    /// the layer's outputs where that is exact (an RNN with tanh, sigmoid, ReLU, …) and leaves
    /// the first stacked layer's gates out otherwise — [`Probe::measure_with_input`] has them
    /// all.
    pub fn measure<T: Float>(
        &mut self,
        model: &Model<T>,
        step: u64,
        epoch: usize,
        loss: f64,
        grad_norm: f64,
    ) {
        self.measure_inner(model, None, step, epoch, loss, grad_norm);
    }

    /// [`Probe::measure`] given the model's input `x` of the step (the batch the gradients
    /// were computed on): a recurrent first layer's gates are then recomputed exactly.
    pub fn measure_with_input<T: Float>(
        &mut self,
        model: &Model<T>,
        x: &Tensor<T>,
        step: u64,
        epoch: usize,
        loss: f64,
        grad_norm: f64,
    ) {
        self.measure_inner(model, Some(x), step, epoch, loss, grad_norm);
    }

    fn measure_inner<T: Float>(
        &mut self,
        model: &Model<T>,
        input: Option<&Tensor<T>>,
        step: u64,
        epoch: usize,
        loss: f64,
        grad_norm: f64,
    ) {
        let mut rec_part = None;
        let mut layers = Vec::with_capacity(model.layers.len());
        let mut depth = 0;
        let bins = self.config.bins;
        let hist = self.config.histograms;
        let mut k = 0;
        for (i, layer) in model.layers.iter().enumerate() {
            let (gi, gi_max) = norm_and_max(layer.grad_input().data());
            let (go, go_max) = norm_and_max(model.grad_of_output(i).data());
            let mut rec = LayerRecord {
                index: i,
                depth: 0,
                kind: layer.kind().to_string(),
                name: layer.describe(),
                grad_in_norm: gi,
                grad_in_max: gi_max,
                grad_out_norm: go,
                grad_out_max: go_max,
                weight_norm: None,
                weight_grad_norm: None,
                weight_grad_max: None,
                update_ratio: None,
                sigma_w: None,
                act_mean: None,
                act_std: None,
                mean_abs_derivative: None,
                mean_sq_derivative: None,
                saturated_fraction: None,
                dead_fraction: None,
                grad_hist: None,
                act_hist: None,
            };
            if let Some(w) = weight_of(layer) {
                if self.before.len() <= k {
                    self.before.push(Tensor::default());
                }
                // One pass: keep a copy for the update ratio, and the sums for ‖W‖ and σ_w.
                let buf = &mut self.before[k];
                buf.resize(w.shape());
                let (mut sum, mut sq) = (0.0f64, 0.0f64);
                for (b, v) in buf.data_mut().iter_mut().zip(w.data()) {
                    let x = v.to_f64();
                    *b = x;
                    sum += x;
                    sq += x * x;
                }
                k += 1;
                rec.weight_norm = Some(sq.sqrt());
                if let Layer::Linear(l) = layer {
                    let n = w.len().max(1) as f64;
                    let var = (sq / n - (sum / n).powi(2)).max(0.0);
                    rec.sigma_w = Some((var * l.in_features() as f64).sqrt());
                }
            }
            match layer {
                Layer::Linear(l) => {
                    let (n, m) = norm_and_max(l.weight.grad.data());
                    rec.weight_grad_norm = Some(n);
                    rec.weight_grad_max = Some(m);
                }
                Layer::BatchNorm1d(b) => {
                    let (n, m) = norm_and_max(b.weight.grad.data());
                    rec.weight_grad_norm = Some(n);
                    rec.weight_grad_max = Some(m);
                }
                Layer::Recurrent(r) if rec_part.is_none() => {
                    let x = if i == 0 {
                        input
                    } else {
                        Some(model.layers[i - 1].output())
                    };
                    rec_part = Some(recurrent::measure_recurrent(i, r, x, &mut |a| {
                        self.max_derivative(a)
                    }));
                }
                Layer::Activation(a) => {
                    let act = a.activation();
                    let is_hidden = i + 1 < model.layers.len();
                    if is_hidden {
                        depth += 1;
                        rec.depth = depth;
                    }
                    let out = a.output();
                    let (mean, sd) = mean_std(out.data());
                    rec.act_mean = Some(mean);
                    rec.act_std = Some(sd);
                    let z = if i == 0 {
                        None
                    } else {
                        Some(model.layers[i - 1].output())
                    };
                    if let (Some(z), false) = (z, act.is_rowwise()) {
                        let thr = 0.01 * self.max_derivative(act);
                        let (mut sum, mut sum_sq, mut sat) = (0.0, 0.0, 0usize);
                        for v in z.data() {
                            let d = act.df(v.to_f64()).abs();
                            sum += d;
                            sum_sq += d * d;
                            sat += usize::from(d < thr);
                        }
                        let n = z.len().max(1) as f64;
                        rec.mean_abs_derivative = Some(sum / n);
                        rec.mean_sq_derivative = Some(sum_sq / n);
                        rec.saturated_fraction = Some(sat as f64 / n);
                    }
                    let cols = out.cols().max(1);
                    self.alive.clear();
                    self.alive.resize(cols, false);
                    for row in out.data().chunks_exact(cols) {
                        for (a, v) in self.alive.iter_mut().zip(row) {
                            *a |= *v != T::ZERO;
                        }
                    }
                    let dead = self.alive.iter().filter(|a| !**a).count();
                    rec.dead_fraction = Some(dead as f64 / cols as f64);
                    if hist {
                        rec.grad_hist =
                            Some(log_abs_histogram(a.grad_input().data(), -14, 2, bins));
                        rec.act_hist = Some(linear_histogram(out.data(), bins));
                    }
                }
                _ => {}
            }
            layers.push(rec);
        }
        self.pending = Some(StepRecord {
            step,
            epoch,
            loss,
            grad_norm,
            layers,
            recurrent: rec_part,
        });
    }

    /// After the optimizer step: adds ‖ΔW‖/‖W‖ and returns the record of the step measured.
    pub fn finish<T: Float>(&mut self, model: &Model<T>) -> Option<StepRecord> {
        let mut rec = self.pending.take()?;
        let mut k = 0;
        for (layer, r) in model.layers.iter().zip(rec.layers.iter_mut()) {
            if let Some(w) = weight_of(layer) {
                let old = &self.before[k];
                k += 1;
                let (mut d2, mut w2) = (0.0f64, 0.0f64);
                for (a, b) in w.data().iter().zip(old.data()) {
                    d2 += (a.to_f64() - b).powi(2);
                    w2 += b * b;
                }
                r.update_ratio = Some(if w2 > 0.0 { (d2 / w2).sqrt() } else { f64::NAN });
            }
        }
        Some(rec)
    }
}
