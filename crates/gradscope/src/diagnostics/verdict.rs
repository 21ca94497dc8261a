//! Verdicts from diagnostic records: is the gradient vanishing, exploding or healthy, which
//! layers are saturated or dead, and which remedies apply — as numbers and typed values; the
//! sentences are rendered by [`super::explain`].
//!
//! By the chain rule the pre-activation gradient of hidden layer l is
//! δ_l = f'(z_l) ⊙ (W_{l+1}ᵀ δ_{l+1}), so each layer multiplies its norm by roughly
//! σ_w·√E[f'(z)²]: below 1 (sigmoid: f' ≤ 1/4, saturated units f' ≈ 0, small weights) the
//! product over L layers vanishes, above 1 (large weights) it explodes.
//!
//! The label comes from one continuous measure, [`Severity`]: the log₁₀ of the first/last
//! ratio against two thresholds ([`label`]); the factor per layer is reported and projected
//! (at what depth it would cross a threshold), never a second clause. Dead units and saturated
//! layers are typed [`Problem`]s next to the label; [`Verdict::will_train`] combines both.

use super::explain;
use super::remedy::Remedy;
use super::{LayerRecord, StepRecord, Thresholds};
use crate::activation::spec::Family;
use crate::activation::Activation;
use crate::init::Init;
use crate::model::Norm;

/// The state of the gradient flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// The gradient shrinks by orders of magnitude towards the input.
    Vanishing,
    /// The gradient grows by orders of magnitude towards the input, or its norm blows up.
    Exploding,
    /// Neither.
    Healthy,
}

impl Flow {
    /// `vanishing`, `exploding`, `healthy`.
    pub fn name(self) -> &'static str {
        match self {
            Flow::Vanishing => "vanishing",
            Flow::Exploding => "exploding",
            Flow::Healthy => "healthy",
        }
    }
}

/// The verdict on one hidden activation layer.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerVerdict {
    /// 1-based depth.
    pub depth: usize,
    /// Layer description.
    pub name: String,
    /// The activation.
    pub activation: Option<Activation>,
    /// ‖δ_l‖ / ‖δ_last‖ (geometric mean over the records).
    pub ratio_to_last: f64,
    /// Flow at this layer relative to the last hidden layer.
    pub flow: Flow,
    /// Mean saturated fraction (|f'(z)| under 1% of its maximum).
    pub saturated_fraction: Option<f64>,
    /// Mean share of outputs within 2% of the range's width of a finite end of f's range
    /// (Glorot & Bengio's saturation; [`crate::diagnostics::RANGE_END_EPSILON`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_end_fraction: Option<f64>,
    /// Mean dead fraction.
    pub dead_fraction: Option<f64>,
    /// Mean |f'(z)|.
    pub mean_abs_derivative: Option<f64>,
    /// √(mean f'(z)²): the activation's share of the per-layer gradient factor.
    pub rms_derivative: Option<f64>,
    /// Mean of the layer's output over the measured steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act_mean: Option<f64>,
    /// Mean over the measured steps of the output's standard deviation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act_std: Option<f64>,
    /// Saturated beyond the threshold: the larger of `saturated_fraction` and
    /// `range_end_fraction` above `saturated` (never for a rectifier, see
    /// [`judges_saturation`]).
    pub saturated: bool,
    /// Dead beyond the threshold.
    pub dead: bool,
}

impl LayerVerdict {
    /// The share the saturation flag judges: the larger of the two saturation measures (None
    /// for a rectifier or without measurements).
    pub fn saturation_share(&self) -> Option<f64> {
        if !judges_saturation(self.activation) {
            return None;
        }
        match (self.saturated_fraction, self.range_end_fraction) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// How sure a verdict is: the margin from its label's thresholds against the uncertainty of
/// the measurement (see [`Severity`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// The margin is under max(0.1 decade, one uncertainty): another seed or a few more steps
    /// may flip the label.
    Low,
    /// Between low and high.
    Medium,
    /// The margin is at least max(0.5 decade, two uncertainties).
    High,
}

impl Confidence {
    /// `low`, `medium`, `high`.
    pub fn name(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// What decided a label ([`label`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The first/last ratio against `vanishing_ratio` and `exploding_ratio` (a healthy label
    /// too: within both).
    #[default]
    Ratio,
    /// The largest global gradient norm above `exploding_norm`, with the ratio within its
    /// thresholds.
    GlobalNorm,
    /// Through time (RNN): Pascanu et al.'s sufficient condition γ·σ_max(W_hh) < 1 (geometric
    /// mean over the measured steps), with the ratio over this span within its thresholds.
    SufficientCondition,
}

/// The continuous measure behind the three-way label ([`label`]): where the measured ratio
/// sits, how far from a threshold, how sure, and where the factor per layer (per step) would
/// take it.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Severity {
    /// log₁₀ of ‖δ_1‖/‖δ_L‖ (through time ‖∂L/∂h_1‖/‖∂L/∂h_T‖), geometric mean over the
    /// measured steps: −2 means the gradient at the first hidden layer is a hundredth of the
    /// last's.
    pub log10_ratio: f64,
    /// log₁₀ of the factor per layer (per time step): `log10_ratio / hops`.
    #[serde(default)]
    pub log10_factor: f64,
    /// Layers (time steps) the ratio spans: L − 1 (T − 1, or the truncation chunk).
    #[serde(default)]
    pub hops: usize,
    /// Standard deviation of the per-step log₁₀ ratios over the measured steps (0 for one).
    pub log10_spread: f64,
    /// Standard deviation of log₁₀ of the per-layer (per-time-step) factors ‖δ_l‖/‖δ_{l+1}‖
    /// at the first measured step: how unevenly the layers change it.
    pub per_layer_log10_spread: f64,
    /// The measurement's uncertainty in decades: √(log10_spread² + hops·per_layer_log10_spread²)
    /// — the change over training, and the finite-width scatter of the factors added up over
    /// the hops as independent errors (another seed draws other factors). For the sufficient
    /// condition: the spread of hops·log₁₀(γσ_max) over the measured steps. (A label decided
    /// by the global norm takes its confidence from the margin alone.)
    #[serde(default)]
    pub uncertainty_decades: f64,
    /// What decided the label.
    #[serde(default)]
    pub basis: Basis,
    /// Decades between the deciding measure and the nearest threshold of the label's region,
    /// positive inside it: for [`Basis::Ratio`] `log10_ratio` against log₁₀ of the ratio
    /// thresholds, for [`Basis::GlobalNorm`] log₁₀(max norm / `exploding_norm`), for
    /// [`Basis::SufficientCondition`] the decay the bound guarantees over the span,
    /// −hops·log₁₀(γσ_max).
    pub margin_decades: f64,
    /// The margin against the uncertainty.
    pub confidence: Confidence,
    /// Projection: the number of layers (time steps) of the measured factor after which the
    /// ratio would cross the threshold it heads for (`vanishing_ratio` for a factor below 1,
    /// `exploding_ratio` above); None for a factor of exactly 1. Compare with `hops`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossing_hops: Option<f64>,
}

/// What [`grade`] judges: the measured ratio and its spreads, and for an RNN through time
/// Pascanu et al.'s bound.
#[derive(Clone, Debug, Default)]
pub(crate) struct Measured {
    /// log₁₀ of each measured step's ratio.
    pub step_log10: Vec<f64>,
    /// log₁₀ of the per-hop factors at the first measured step.
    pub hop_log10: Vec<f64>,
    /// Hops the ratio spans.
    pub hops: usize,
    /// log₁₀ of the geometric-mean ratio (None: no ratio, e.g. one hidden layer).
    pub log10_ratio: Option<f64>,
    /// log₁₀(γ·σ_max(W_hh)) at each measured step (RNN through time).
    pub bound_log10: Vec<f64>,
    /// The largest global gradient norm, when it counts.
    pub max_norm: Option<f64>,
}

/// The one rule: the three-way label from the log₁₀ ratio (and for an RNN through time the
/// log₁₀ of Pascanu et al.'s per-step bound γσ_max; for a run the largest global norm), with
/// what decided it and the margin in decades.
///
/// 1. **vanishing** if log₁₀ ratio < log₁₀ `vanishing_ratio`;
/// 2. **vanishing** if γ·σ_max(W_hh) < 1 (the sufficient condition: the gradient through
///    time must vanish);
/// 3. **exploding** if log₁₀ ratio > log₁₀ `exploding_ratio`;
/// 4. **exploding** if the largest global gradient norm > `exploding_norm`;
/// 5. else **healthy**.
pub fn label(
    log10_ratio: f64,
    log10_bound: Option<(f64, usize)>,
    max_norm: Option<f64>,
    t: &Thresholds,
) -> (Flow, Basis, f64) {
    let (lv, le) = (t.vanishing_ratio.log10(), t.exploding_ratio.log10());
    if log10_ratio < lv {
        return (Flow::Vanishing, Basis::Ratio, lv - log10_ratio);
    }
    if let Some((b, hops)) = log10_bound.filter(|(b, _)| *b < 0.0) {
        return (
            Flow::Vanishing,
            Basis::SufficientCondition,
            -b * hops.max(1) as f64,
        );
    }
    if log10_ratio > le {
        return (Flow::Exploding, Basis::Ratio, log10_ratio - le);
    }
    if let Some(n) = max_norm.filter(|n| *n > t.exploding_norm) {
        return (
            Flow::Exploding,
            Basis::GlobalNorm,
            (n / t.exploding_norm).log10(),
        );
    }
    let m = (log10_ratio - lv).min(le - log10_ratio);
    (
        Flow::Healthy,
        Basis::Ratio,
        if m.is_finite() { m } else { 0.0 },
    )
}

/// High when the margin is at least max(0.5, 2·uncertainty) decades, low under
/// max(0.1, uncertainty), medium between.
pub(crate) fn confidence(margin: f64, uncertainty: f64) -> Confidence {
    if margin >= (2.0 * uncertainty).max(0.5) {
        Confidence::High
    } else if margin < uncertainty.max(0.1) {
        Confidence::Low
    } else {
        Confidence::Medium
    }
}

/// The label and its [`Severity`] from a measurement.
pub(crate) fn grade(m: &Measured, t: &Thresholds) -> (Flow, Severity) {
    let log = m.log10_ratio.filter(|x| x.is_finite()).unwrap_or(0.0);
    let hops = m.hops.max(1);
    let bound = (!m.bound_log10.is_empty())
        .then(|| m.bound_log10.iter().sum::<f64>() / m.bound_log10.len() as f64)
        .filter(|b| b.is_finite());
    let (flow, basis, margin) = label(log, bound.map(|b| (b, hops)), m.max_norm, t);
    let spread = std_dev(&m.step_log10);
    let per_hop = std_dev(&m.hop_log10);
    let uncertainty = match basis {
        Basis::SufficientCondition => std_dev(&m.bound_log10) * hops as f64,
        Basis::GlobalNorm | Basis::Ratio => (spread.powi(2) + hops as f64 * per_hop.powi(2)).sqrt(),
    };
    let margin = if margin.is_finite() { margin } else { 0.0 };
    // The global norm is one measured maximum, not an estimate: its margin alone decides.
    let confidence = confidence(
        margin,
        if basis == Basis::GlobalNorm {
            0.0
        } else {
            uncertainty
        },
    );
    let log10_factor = if m.hops == 0 { 0.0 } else { log / hops as f64 };
    let crossing_hops = if log10_factor < 0.0 {
        Some(t.vanishing_ratio.log10() / log10_factor)
    } else if log10_factor > 0.0 {
        Some(t.exploding_ratio.log10() / log10_factor)
    } else {
        None
    };
    (
        flow,
        Severity {
            log10_ratio: log,
            log10_factor,
            hops: m.hops,
            log10_spread: spread,
            per_layer_log10_spread: per_hop,
            uncertainty_decades: uncertainty,
            basis,
            margin_decades: margin,
            confidence,
            crossing_hops,
        },
    )
}

/// A problem besides the gradient's size: what else the scope measured that stops a network
/// from training. Judged per hidden layer against the `dead` and `saturated` thresholds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// Layers where more than `dead` of the units output 0 for every sample of the batch:
    /// f'(z) = 0 there, no gradient passes them and their weights do not learn.
    DeadUnits {
        /// The dead layers' depths.
        depths: Vec<usize>,
        /// Mean dead share over those layers (means over the measured steps).
        mean_fraction: f64,
        /// The worst layer's dead share.
        max_fraction: f64,
        /// The worst layer.
        worst_depth: usize,
        /// Mean dead share over every hidden layer.
        network_fraction: f64,
    },
    /// Layers where more than `saturated` of the unit-samples are saturated: |f'(z)| under 1%
    /// of its maximum, or the output within 2% of the range's width of an end of f's range
    /// (whichever share is larger).
    Saturation {
        /// The saturated layers' depths.
        depths: Vec<usize>,
        /// Mean saturated share over those layers (the larger measure of each).
        mean_fraction: f64,
        /// The worst layer's share.
        max_fraction: f64,
        /// The worst layer.
        worst_depth: usize,
        /// The worst layer's mean |f'(z)|.
        mean_abs_derivative: Option<f64>,
        /// The worst layer's mean output.
        act_mean: Option<f64>,
        /// The worst layer's output standard deviation.
        act_std: Option<f64>,
    },
}

impl Problem {
    /// `dead units`, `saturation`.
    pub fn name(&self) -> &'static str {
        match self {
            Problem::DeadUnits { .. } => "dead units",
            Problem::Saturation { .. } => "saturation",
        }
    }

    /// The depths of the layers it concerns.
    pub fn depths(&self) -> &[usize] {
        match self {
            Problem::DeadUnits { depths, .. } | Problem::Saturation { depths, .. } => depths,
        }
    }
}

/// One remedy with the sentence that explains it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Advice {
    /// The remedy (typed; [`Remedy::apply`] applies it to a config).
    #[serde(flatten)]
    pub remedy: Remedy,
    /// Why and how, with the numbers (rendered by [`super::explain`]).
    pub text: String,
    /// The config overrides that apply it (`--set` syntax).
    pub overrides: Vec<String>,
}

/// The verdict on a run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// Overall flow.
    pub flow: Flow,
    /// The continuous measure behind `flow` (depth).
    pub severity: Severity,
    /// ‖δ_first‖ / ‖δ_last‖ (geometric mean over the records).
    pub first_to_last: f64,
    /// Geometric-mean factor by which ‖δ‖ changes per layer going towards the input.
    pub per_layer_factor: f64,
    /// Largest global gradient norm seen.
    pub max_grad_norm: f64,
    /// The first hidden layer's activation.
    pub activation: Option<Activation>,
    /// Mean σ_w of the weight matrices (the chain rule's weight factor).
    pub sigma_w: Option<f64>,
    /// Mean √E[f'(z)²] of the hidden layers (the chain rule's activation factor).
    pub rms_derivative: Option<f64>,
    /// The training batch: the largest number of input rows of a measured step (a last,
    /// partial batch is smaller); absent when the records do not say. It decides the
    /// normalization a remedy recommends ([`norm_for`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Per hidden layer.
    pub layers: Vec<LayerVerdict>,
    /// Plain-language explanation with the numbers (rendered by [`super::explain`]).
    pub explanation: String,
    /// Remedies, most promising first.
    pub remedies: Vec<Advice>,
    /// What else stops the network from training: dead units, saturated layers (of the
    /// hidden layers the depth verdict judges), worst first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// The verdict's prediction that the network trains as configured: `flow` is healthy and
    /// `problems` is empty. A yes/no a calibration can check against what training reaches.
    #[serde(default)]
    pub will_train: bool,
    /// The gradient through time of each recurrent encoder (empty otherwise). When present,
    /// `flow`, `explanation` and `remedies` above combine it with the depth verdict of the
    /// head's hidden layers (the depth fields describe the head only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recurrent: Vec<super::recurrent::RecurrentVerdict>,
}

impl Verdict {
    /// The saturated hidden layers' depths.
    pub fn saturated_depths(&self) -> Vec<usize> {
        self.layers
            .iter()
            .filter(|l| l.saturated)
            .map(|l| l.depth)
            .collect()
    }

    /// The dead hidden layers' depths.
    pub fn dead_depths(&self) -> Vec<usize> {
        self.layers
            .iter()
            .filter(|l| l.dead)
            .map(|l| l.depth)
            .collect()
    }
}

/// Training batches of fewer rows than this get LayerNorm instead of BatchNorm as the
/// normalization remedy ([`norm_for`]).
pub const SMALL_BATCH: usize = 16;

/// The normalization a remedy recommends: LayerNorm for a training batch of fewer than
/// [`SMALL_BATCH`] rows or for a sequence model (its head), BatchNorm otherwise — also when
/// the batch size is unknown.
///
/// Why. BatchNorm normalizes each unit by its mean and variance over the N rows of the
/// batch. For Gaussian z those estimates are off by σ/√N and σ²·√(2/(N − 1)): 25% and 37%
/// at N = 16, 35% and 53% at N = 8, and a single row has no variance at all (gradscope's
/// BatchNorm1d then outputs β and passes no gradient back; PyTorch refuses the batch). So
/// below 16 rows each step normalizes by noise that changes with every batch, and
/// evaluation (running averages) computes a noticeably different function from training;
/// Wu & He (2018, Group Normalization) measured BatchNorm's error growing as the batch per
/// device shrinks below 16. LayerNorm normalizes each row over its own units: no batch
/// statistics, the same function in training and evaluation, at any batch size.
///
/// A sequence model's head reads the encoder's hidden states: with `predict = "every_step"`
/// its batch is the N·T steps of N sequences, rows that are far from independent, and
/// `gradscope generate` runs it on one sequence at a time, where BatchNorm would only have
/// its running averages. LayerNorm, which Ba et al. (2016) introduced for recurrent
/// networks, has neither problem.
pub fn norm_for(batch_size: Option<usize>, sequence_model: bool) -> Norm {
    if sequence_model || batch_size.is_some_and(|n| n < SMALL_BATCH) {
        Norm::Layernorm
    } else {
        Norm::Batchnorm
    }
}

/// Whether the verdict judges a layer with this activation by its saturated share: every
/// activation but a rectifier, whose flat side is not saturation in the vanishing sense — its
/// failure mode is dead units, judged for every layer alike.
pub fn judges_saturation(activation: Option<Activation>) -> bool {
    activation.is_none_or(|a| a.family() != Family::Rectifier)
}

pub(crate) fn geo_mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for x in xs {
        if x > 0.0 && x.is_finite() {
            s += x.ln();
            n += 1;
        }
    }
    if n == 0 {
        f64::NAN
    } else {
        (s / n as f64).exp()
    }
}

pub(crate) fn mean(xs: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = xs.flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// "1–6" or "3" or "1, 4".
pub(crate) fn ranges(depths: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < depths.len() {
        let mut j = i;
        while j + 1 < depths.len() && depths[j + 1] == depths[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}–{}", depths[i], depths[j])
        } else {
            depths[i].to_string()
        });
        i = j + 1;
    }
    parts.join(", ")
}

pub(crate) fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if (1e-2..1e3).contains(&x.abs()) {
        format!("{x:.3}")
    } else {
        format!("{x:.1e}")
    }
}

fn std_dev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt()
}

/// Draws the verdict from a run's records (typically the first N steps).
///
/// The records may come from [`Run::records`](crate::train::Run::records), a
/// `diagnostics.jsonl` file, or another front end:
///
/// ```
/// use gradscope::config::Config;
/// use gradscope::diagnostics::{judge, DiagnosticsConfig, Flow, Thresholds};
/// use gradscope::model::MlpSpec;
/// use gradscope::train::{Silent, Trainer};
/// use gradscope::Activation;
///
/// let mut config = Config::new(MlpSpec::new(0, &[32; 8], 0, Activation::Sigmoid))
///     .with_diagnostics(DiagnosticsConfig { every: 2, ..DiagnosticsConfig::default() });
/// config.training.max_steps = Some(10);
/// let run = Trainer::<f32>::from_config(config)?.run_collecting(&mut Silent)?;
/// assert_eq!(run.records.len(), 6); // steps 1, 2, 4, 6, 8 and 10
/// let verdict = judge(&run.records, &Thresholds::default());
/// assert_eq!(verdict.flow, Flow::Vanishing);
/// assert!(verdict.per_layer_factor < 0.5);
/// # Ok::<(), gradscope::Error>(())
/// ```
pub fn judge(records: &[StepRecord], t: &Thresholds) -> Verdict {
    let depths: Vec<usize> = records
        .first()
        .map(|r| r.activations().filter_map(|l| l.depth).collect())
        .unwrap_or_default();
    let last_depth = depths.last().copied().unwrap_or(0);
    let per_depth =
        |d: usize| -> Vec<&LayerRecord> { records.iter().filter_map(|r| r.at_depth(d)).collect() };
    let ratio = |d: usize| {
        geo_mean(records.iter().filter_map(|r| {
            Some(r.at_depth(d)?.grad_in_norm? / r.at_depth(last_depth)?.grad_in_norm?)
        }))
    };
    let layers: Vec<LayerVerdict> = depths
        .iter()
        .map(|&d| {
            let recs = per_depth(d);
            let r = ratio(d);
            let activation = recs.first().and_then(|l| l.activation);
            let mut lv = LayerVerdict {
                depth: d,
                name: recs.first().map_or(String::new(), |l| l.name.clone()),
                activation,
                ratio_to_last: r,
                flow: label(r.log10(), None, None, t).0,
                saturated_fraction: mean(recs.iter().map(|l| l.saturated_fraction)),
                range_end_fraction: mean(recs.iter().map(|l| l.range_end_fraction)),
                dead_fraction: mean(recs.iter().map(|l| l.dead_fraction)),
                mean_abs_derivative: mean(recs.iter().map(|l| l.mean_abs_derivative)),
                rms_derivative: mean(recs.iter().map(|l| l.mean_sq_derivative)).map(f64::sqrt),
                act_mean: mean(recs.iter().map(|l| l.act_mean)),
                act_std: mean(recs.iter().map(|l| l.act_std)),
                saturated: false,
                dead: false,
            };
            lv.saturated = lv.saturation_share().is_some_and(|s| s > t.saturated);
            lv.dead = lv.dead_fraction.is_some_and(|s| s > t.dead);
            lv
        })
        .collect();
    let first_to_last = layers.first().map_or(1.0, |l| l.ratio_to_last);
    let hops = depths.len().saturating_sub(1);
    let per_layer_factor = if hops > 0 {
        first_to_last.powf(1.0 / hops as f64)
    } else {
        1.0
    };
    let max_grad_norm = records.iter().map(|r| r.grad_norm).fold(0.0, f64::max);
    let measured = Measured {
        step_log10: records
            .iter()
            .filter_map(|r| r.first_to_last())
            .filter(|x| *x > 0.0 && x.is_finite())
            .map(f64::log10)
            .collect(),
        hop_log10: records.first().map_or_else(Vec::new, |r| {
            r.deltas()
                .windows(2)
                .map(|w| w[0].1 / w[1].1)
                .filter(|x| *x > 0.0 && x.is_finite())
                .map(f64::log10)
                .collect()
        }),
        hops,
        log10_ratio: (hops > 0).then(|| first_to_last.log10()),
        bound_log10: Vec::new(),
        max_norm: Some(max_grad_norm),
    };
    let (flow, severity) = grade(&measured, t);
    let sigma_w = mean(
        records
            .iter()
            .flat_map(|r| r.layers.iter())
            .map(|l| l.sigma_w),
    );
    let mut v = Verdict {
        flow,
        severity,
        first_to_last,
        per_layer_factor,
        max_grad_norm,
        activation: layers.first().and_then(|l| l.activation),
        sigma_w,
        rms_derivative: mean(layers.iter().map(|l| l.rms_derivative)),
        batch_size: records.iter().filter_map(|r| r.batch_size).max(),
        problems: problems(&layers),
        layers,
        explanation: String::new(),
        remedies: Vec::new(),
        will_train: false,
        recurrent: Vec::new(),
    };
    let encoders = records.first().map_or(0, |r| r.recurrent.len());
    v.recurrent = (0..encoders)
        .filter_map(|k| super::recurrent::judge_through_time(records, k, t, max_grad_norm))
        .collect();
    let remedies = depth_remedies(&v);
    v.explanation = explain::depth(&v, t);
    v.remedies = remedies
        .into_iter()
        .map(|r| explain::advice(r, &v))
        .collect();
    if !v.recurrent.is_empty() {
        combine_through_time(&mut v);
    }
    v.will_train = v.flow == Flow::Healthy && v.problems.is_empty();
    v
}

/// Over the flagged layers: the mean share, the largest and its layer.
fn worst<'a>(
    f: impl Fn(&LayerVerdict) -> Option<f64>,
    flagged: &[&'a LayerVerdict],
) -> (f64, f64, &'a LayerVerdict) {
    let shares: Vec<(f64, &LayerVerdict)> =
        flagged.iter().filter_map(|l| Some((f(l)?, *l))).collect();
    let (max, w) = shares
        .iter()
        .copied()
        .fold((f64::NEG_INFINITY, flagged[0]), |b, x| {
            if x.0 > b.0 {
                x
            } else {
                b
            }
        });
    let mean = shares.iter().map(|x| x.0).sum::<f64>() / shares.len().max(1) as f64;
    (mean, max, w)
}

/// The dead-unit and saturation problems of the hidden layers, the larger share first.
fn problems(layers: &[LayerVerdict]) -> Vec<Problem> {
    let mut out: Vec<(f64, Problem)> = Vec::new();
    let dead: Vec<&LayerVerdict> = layers.iter().filter(|l| l.dead).collect();
    if !dead.is_empty() {
        let (m, max, w) = worst(|l| l.dead_fraction, &dead);
        out.push((
            max,
            Problem::DeadUnits {
                depths: dead.iter().map(|l| l.depth).collect(),
                mean_fraction: m,
                max_fraction: max,
                worst_depth: w.depth,
                network_fraction: mean(layers.iter().map(|l| l.dead_fraction)).unwrap_or(0.0),
            },
        ));
    }
    let sat: Vec<&LayerVerdict> = layers.iter().filter(|l| l.saturated).collect();
    if !sat.is_empty() {
        let (m, max, w) = worst(LayerVerdict::saturation_share, &sat);
        out.push((
            max,
            Problem::Saturation {
                depths: sat.iter().map(|l| l.depth).collect(),
                mean_fraction: m,
                max_fraction: max,
                worst_depth: w.depth,
                mean_abs_derivative: w.mean_abs_derivative,
                act_mean: w.act_mean,
                act_std: w.act_std,
            },
        ));
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().map(|(_, p)| p).collect()
}

/// A recurrent model's verdict: the gradient through time first, then the head's depth
/// verdict when the head has at least two hidden layers.
fn combine_through_time(v: &mut Verdict) {
    let depth_counts = v.layers.len() >= 2;
    let through = v
        .recurrent
        .iter()
        .find(|r| r.flow != Flow::Healthy)
        .map_or(Flow::Healthy, |r| r.flow);
    let mut text: Vec<String> = v.recurrent.iter().map(|r| r.explanation.clone()).collect();
    let mut list: Vec<Advice> = v
        .recurrent
        .iter()
        .flat_map(|r| r.remedies.clone())
        .collect();
    if depth_counts {
        text.push(format!(
            "In the head's {} hidden layers: {}",
            v.layers.len(),
            v.explanation
        ));
        if v.flow != Flow::Healthy {
            for r in std::mem::take(&mut v.remedies) {
                if !list.iter().any(|a| a.remedy == r.remedy) {
                    list.push(r);
                }
            }
        }
    }
    v.flow = if through != Flow::Healthy || !depth_counts {
        through
    } else {
        v.flow
    };
    v.explanation = text.join(" ");
    v.remedies = list;
}

/// The depth remedies, most promising first (the normalization by [`norm_for`]).
fn depth_remedies(v: &Verdict) -> Vec<Remedy> {
    let norm = Remedy::Norm {
        norm: norm_for(v.batch_size, !v.recurrent.is_empty()),
    };
    let family = v.activation.map(|a| a.family());
    let saturating = family == Some(Family::Squashing) || !v.saturated_depths().is_empty();
    let rectifier = family == Some(Family::Rectifier);
    let he = Init::KaimingNormal {
        gain: 0.0,
        fan_out: false,
    };
    let dead = !v.dead_depths().is_empty();
    let leaky = Remedy::LeakyActivation {
        activation: Activation::LeakyRelu { slope: 0.01 },
    };
    let mut r = Vec::new();
    match v.flow {
        Flow::Vanishing => {
            if saturating {
                r.push(Remedy::Activation {
                    activation: Activation::Relu,
                    init: he,
                });
                r.push(norm.clone());
                r.push(Remedy::Init {
                    init: variance_preserving(v.activation),
                });
            } else {
                r.push(Remedy::Init { init: he });
                r.push(norm.clone());
            }
            r.push(Remedy::Residual);
            if dead || rectifier {
                r.push(leaky.clone());
            }
        }
        Flow::Exploding => {
            r.push(Remedy::ClipNorm { max_norm: 1.0 });
            r.push(Remedy::Init {
                init: variance_preserving(v.activation),
            });
            r.push(norm.clone());
            r.push(Remedy::LowerLearningRate { factor: 0.1 });
            r.push(Remedy::WeightDecay { weight_decay: 1e-4 });
        }
        Flow::Healthy => {}
    }
    // The problems' remedies, after the flow's (each once).
    let mut add = |x: Remedy| {
        if !r.contains(&x) {
            r.push(x);
        }
    };
    for p in &v.problems {
        match p {
            Problem::DeadUnits { .. } => {
                add(leaky.clone());
                add(norm.clone());
                add(Remedy::Residual);
            }
            Problem::Saturation { .. } => {
                add(norm.clone());
                add(Remedy::Init {
                    init: variance_preserving(v.activation),
                });
                if family == Some(Family::Squashing) {
                    add(Remedy::Activation {
                        activation: Activation::Relu,
                        init: he,
                    });
                }
            }
        }
    }
    r
}

/// Xavier for tanh-like activations, Kaiming with the activation's computed gain otherwise.
fn variance_preserving(act: Option<Activation>) -> Init {
    match act {
        Some(Activation::Tanh) | Some(Activation::Softsign) => Init::XavierNormal { gain: 1.0 },
        _ => Init::KaimingNormal {
            gain: 0.0,
            fan_out: false,
        },
    }
}
