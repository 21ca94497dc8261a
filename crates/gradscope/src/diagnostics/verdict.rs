//! Verdicts from diagnostic records: is the gradient vanishing, exploding or healthy, which
//! layers are saturated or dead, and which remedies apply — as numbers and typed values; the
//! sentences are rendered by [`super::explain`].
//!
//! By the chain rule the pre-activation gradient of hidden layer l is
//! δ_l = f'(z_l) ⊙ (W_{l+1}ᵀ δ_{l+1}), so each layer multiplies its norm by roughly
//! σ_w·√E[f'(z)²]: below 1 (sigmoid: f' ≤ 1/4, saturated units f' ≈ 0, small weights) the
//! product over L layers vanishes, above 1 (large weights) it explodes.

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
    /// Mean saturated fraction.
    pub saturated_fraction: Option<f64>,
    /// Mean dead fraction.
    pub dead_fraction: Option<f64>,
    /// Mean |f'(z)|.
    pub mean_abs_derivative: Option<f64>,
    /// √(mean f'(z)²): the activation's share of the per-layer gradient factor.
    pub rms_derivative: Option<f64>,
    /// Saturated beyond the threshold.
    pub saturated: bool,
    /// Dead beyond the threshold.
    pub dead: bool,
}

/// How sure a verdict is: the margin from its label's thresholds against the spread of the
/// measurements (see [`Severity`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// The ratio sits within max(0.1 decade, one spread) of a threshold: another seed or a few
    /// more steps may flip the label.
    Low,
    /// Between low and high.
    Medium,
    /// The ratio is at least max(0.5 decade, two spreads) inside its label's region.
    High,
}

/// The continuous measure behind the three-way label.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Severity {
    /// log₁₀ of ‖δ_1‖/‖δ_L‖ (geometric mean over the measured steps): −2 means the gradient
    /// at the first hidden layer is a hundredth of the last's.
    pub log10_ratio: f64,
    /// Standard deviation of the per-step log₁₀ ratios over the measured steps (0 for one).
    pub log10_spread: f64,
    /// Standard deviation over the hidden layers of log₁₀ of the per-layer factors
    /// ‖δ_l‖/‖δ_{l+1}‖ at the first measured step (how unevenly the layers change it).
    pub per_layer_log10_spread: f64,
    /// Decades between `log10_ratio` and the nearest threshold of the label's region,
    /// positive inside it (for a label decided by the global norm: log₁₀ of max norm over
    /// `exploding_norm`).
    pub margin_decades: f64,
    /// The margin against the spread.
    pub confidence: Confidence,
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

fn classify(ftl: f64, per_layer: f64, max_norm: f64, t: &Thresholds) -> Flow {
    if ftl < t.vanishing_ratio || (per_layer < t.per_layer_vanishing && ftl < 0.1) {
        Flow::Vanishing
    } else if ftl > t.exploding_ratio
        || (per_layer > t.per_layer_exploding && ftl > 10.0)
        || max_norm > t.exploding_norm
    {
        Flow::Exploding
    } else {
        Flow::Healthy
    }
}

fn std_dev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt()
}

fn severity(
    flow: Flow,
    records: &[StepRecord],
    first_to_last: f64,
    max_norm: f64,
    t: &Thresholds,
) -> Severity {
    let log = first_to_last.log10();
    let per_step: Vec<f64> = records
        .iter()
        .filter_map(|r| r.first_to_last())
        .filter(|x| *x > 0.0 && x.is_finite())
        .map(f64::log10)
        .collect();
    let spread = std_dev(&per_step);
    let factors: Vec<f64> = records.first().map_or_else(Vec::new, |r| {
        r.deltas()
            .windows(2)
            .map(|w| w[0].1 / w[1].1)
            .filter(|x| *x > 0.0 && x.is_finite())
            .map(f64::log10)
            .collect()
    });
    let (lv, le) = (t.vanishing_ratio.log10(), t.exploding_ratio.log10());
    let margin = match flow {
        Flow::Vanishing => lv - log,
        Flow::Exploding if max_norm > t.exploding_norm && log <= le => {
            (max_norm / t.exploding_norm).log10()
        }
        Flow::Exploding => log - le,
        Flow::Healthy => (log - lv).min(le - log),
    };
    let margin = if margin.is_finite() { margin } else { 0.0 };
    let confidence = if margin >= (2.0 * spread).max(0.5) {
        Confidence::High
    } else if margin < spread.max(0.1) {
        Confidence::Low
    } else {
        Confidence::Medium
    };
    Severity {
        log10_ratio: log,
        log10_spread: spread,
        per_layer_log10_spread: std_dev(&factors),
        margin_decades: margin,
        confidence,
    }
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
            let sat = mean(recs.iter().map(|l| l.saturated_fraction));
            let dead = mean(recs.iter().map(|l| l.dead_fraction));
            let activation = recs.first().and_then(|l| l.activation);
            LayerVerdict {
                depth: d,
                name: recs.first().map_or(String::new(), |l| l.name.clone()),
                activation,
                ratio_to_last: r,
                flow: if r < t.vanishing_ratio {
                    Flow::Vanishing
                } else if r > t.exploding_ratio {
                    Flow::Exploding
                } else {
                    Flow::Healthy
                },
                saturated_fraction: sat,
                dead_fraction: dead,
                mean_abs_derivative: mean(recs.iter().map(|l| l.mean_abs_derivative)),
                rms_derivative: mean(recs.iter().map(|l| l.mean_sq_derivative)).map(f64::sqrt),
                saturated: judges_saturation(activation) && sat.is_some_and(|s| s > t.saturated),
                dead: dead.is_some_and(|s| s > t.dead),
            }
        })
        .collect();
    let first_to_last = layers.first().map_or(1.0, |l| l.ratio_to_last);
    let hops = depths.len().saturating_sub(1).max(1) as f64;
    let per_layer_factor = if depths.len() > 1 {
        first_to_last.powf(1.0 / hops)
    } else {
        1.0
    };
    let max_grad_norm = records.iter().map(|r| r.grad_norm).fold(0.0, f64::max);
    let flow = classify(first_to_last, per_layer_factor, max_grad_norm, t);
    let sigma_w = mean(
        records
            .iter()
            .flat_map(|r| r.layers.iter())
            .map(|l| l.sigma_w),
    );
    let mut v = Verdict {
        flow,
        severity: severity(flow, records, first_to_last, max_grad_norm, t),
        first_to_last,
        per_layer_factor,
        max_grad_norm,
        activation: layers.first().and_then(|l| l.activation),
        sigma_w,
        rms_derivative: mean(layers.iter().map(|l| l.rms_derivative)),
        batch_size: records.iter().filter_map(|r| r.batch_size).max(),
        layers,
        explanation: String::new(),
        remedies: Vec::new(),
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
    v
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
                r.push(leaky);
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
        Flow::Healthy => {
            if dead {
                r.push(leaky);
            }
            if !v.saturated_depths().is_empty() {
                r.push(norm.clone());
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
