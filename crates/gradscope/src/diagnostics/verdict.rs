//! Verdicts from diagnostic records: is the gradient vanishing, exploding or healthy, which
//! layers are saturated or dead, why (with numbers, following the chain rule) and what to do.
//!
//! By the chain rule the pre-activation gradient of hidden layer l is
//! δ_l = f'(z_l) ⊙ (W_{l+1}ᵀ δ_{l+1}), so each layer multiplies its norm by roughly
//! σ_w·√E[f'(z)²]: below 1 (sigmoid: f' ≤ 1/4, saturated units f' ≈ 0, small weights) the
//! product over L layers vanishes, above 1 (large weights) it explodes.

use super::{LayerRecord, StepRecord};
use crate::error::{Error, Result};

fn d_vanish() -> f64 {
    1e-2
}
fn d_explode() -> f64 {
    1e2
}
fn d_norm() -> f64 {
    1e3
}
fn d_half() -> f64 {
    0.5
}
fn d_pl_vanish() -> f64 {
    0.9
}
fn d_pl_explode() -> f64 {
    1.1
}

/// Thresholds of the verdicts (the `[diagnostics.thresholds]` table).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// ‖δ_first‖/‖δ_last‖ below this: vanishing.
    #[serde(default = "d_vanish")]
    pub vanishing_ratio: f64,
    /// ‖δ_first‖/‖δ_last‖ above this: exploding.
    #[serde(default = "d_explode")]
    pub exploding_ratio: f64,
    /// Per-layer factor ‖δ_l‖/‖δ_{l+1}‖ (geometric mean) below this, with a total change of
    /// over 10×: vanishing (it will vanish with depth).
    #[serde(default = "d_pl_vanish")]
    pub per_layer_vanishing: f64,
    /// Per-layer factor above this, with a total change of over 10×: exploding.
    #[serde(default = "d_pl_explode")]
    pub per_layer_exploding: f64,
    /// Global gradient norm above this: exploding.
    #[serde(default = "d_norm")]
    pub exploding_norm: f64,
    /// Saturated fraction of a layer's units above this: saturated layer.
    #[serde(default = "d_half")]
    pub saturated: f64,
    /// Dead fraction of a layer's units above this: dead layer.
    #[serde(default = "d_half")]
    pub dead: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            vanishing_ratio: d_vanish(),
            exploding_ratio: d_explode(),
            per_layer_vanishing: d_pl_vanish(),
            per_layer_exploding: d_pl_explode(),
            exploding_norm: d_norm(),
            saturated: d_half(),
            dead: d_half(),
        }
    }
}

impl Thresholds {
    /// Checks ranges.
    pub fn validate(&self) -> Result<()> {
        let ok = self.vanishing_ratio > 0.0
            && self.vanishing_ratio < 1.0
            && self.exploding_ratio > 1.0
            && self.per_layer_vanishing > 0.0
            && self.per_layer_vanishing < 1.0
            && self.per_layer_exploding > 1.0
            && self.exploding_norm > 0.0
            && (0.0..=1.0).contains(&self.saturated)
            && (0.0..=1.0).contains(&self.dead);
        if ok {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "diagnostics.thresholds: need 0 < vanishing_ratio < 1 < exploding_ratio, \
                 exploding_norm > 0, saturated and dead in [0, 1]; got {self:?}"
            )))
        }
    }
}

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

/// The verdict on a run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// Overall flow.
    pub flow: Flow,
    /// ‖δ_first‖ / ‖δ_last‖ (geometric mean over the records).
    pub first_to_last: f64,
    /// Geometric-mean factor by which ‖δ‖ changes per layer going towards the input.
    pub per_layer_factor: f64,
    /// Largest global gradient norm seen.
    pub max_grad_norm: f64,
    /// Per hidden layer.
    pub layers: Vec<LayerVerdict>,
    /// Plain-language explanation with the numbers.
    pub explanation: String,
    /// Remedies, most promising first.
    pub remedies: Vec<String>,
    /// The gradient through time of a recurrent model (absent otherwise). When present,
    /// `flow`, `explanation` and `remedies` above combine it with the depth verdict of the
    /// head's hidden layers (the fields above it describe the head only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrent: Option<super::recurrent::RecurrentVerdict>,
}

pub(super) fn geo_mean(xs: impl Iterator<Item = f64>) -> f64 {
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

pub(super) fn mean(xs: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = xs.flatten().collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// "1–6" or "3" or "1, 4".
pub(super) fn ranges(depths: &[usize]) -> String {
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

pub(super) fn sci(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if (1e-2..1e3).contains(&x.abs()) {
        format!("{x:.3}")
    } else {
        format!("{x:.1e}")
    }
}

fn is_rectifier(name: &str) -> bool {
    let act = activation_of(name);
    ["relu", "leaky_relu", "prelu", "rrelu", "elu", "selu"]
        .iter()
        .any(|a| act.starts_with(a))
}

fn activation_of(name: &str) -> &str {
    name.strip_prefix("activation(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(name)
}

/// Draws the verdict from a run's records (typically the first N steps).
pub fn judge(records: &[StepRecord], t: &Thresholds) -> Verdict {
    let depths: Vec<usize> = records
        .first()
        .map(|r| r.activations().map(|l| l.depth).collect())
        .unwrap_or_default();
    let last_depth = depths.last().copied().unwrap_or(0);
    let per_depth = |d: usize| -> Vec<&LayerRecord> {
        records
            .iter()
            .filter_map(|r| r.layers.iter().find(|l| l.depth == d))
            .collect()
    };
    let ratio = |d: usize| {
        geo_mean(records.iter().filter_map(|r| {
            let a = r.layers.iter().find(|l| l.depth == d)?;
            let b = r.layers.iter().find(|l| l.depth == last_depth)?;
            Some(a.grad_in_norm / b.grad_in_norm)
        }))
    };
    let layers: Vec<LayerVerdict> = depths
        .iter()
        .map(|&d| {
            let recs = per_depth(d);
            let r = ratio(d);
            let sat = mean(recs.iter().map(|l| l.saturated_fraction));
            let dead = mean(recs.iter().map(|l| l.dead_fraction));
            LayerVerdict {
                depth: d,
                name: recs.first().map_or(String::new(), |l| l.name.clone()),
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
                // A rectifier's flat side is not saturation in the vanishing sense: its
                // failure mode is dead units, reported separately.
                saturated: !is_rectifier(&recs.first().map_or(String::new(), |l| l.name.clone()))
                    && sat.is_some_and(|s| s > t.saturated),
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
    let flow = if first_to_last < t.vanishing_ratio
        || (per_layer_factor < t.per_layer_vanishing && first_to_last < 0.1)
    {
        Flow::Vanishing
    } else if first_to_last > t.exploding_ratio
        || (per_layer_factor > t.per_layer_exploding && first_to_last > 10.0)
        || max_grad_norm > t.exploding_norm
    {
        Flow::Exploding
    } else {
        Flow::Healthy
    };
    let (mut explanation, mut remedies) = explain(
        flow,
        &layers,
        first_to_last,
        per_layer_factor,
        max_grad_norm,
        records,
        t,
    );
    let recurrent = super::recurrent::judge_through_time(records, t, max_grad_norm);
    let mut flow = flow;
    if let Some(rv) = &recurrent {
        // The head's depth verdict counts only with at least two hidden layers.
        let depth_counts = layers.len() >= 2;
        let mut text = rv.explanation.clone();
        let mut list = rv.remedies.clone();
        if depth_counts {
            text.push_str(&format!(
                " In the head's {} hidden layers: {explanation}",
                layers.len()
            ));
            if flow != Flow::Healthy {
                for r in remedies {
                    if !list.contains(&r) {
                        list.push(r);
                    }
                }
            }
        }
        flow = if rv.flow != Flow::Healthy || !depth_counts {
            rv.flow
        } else {
            flow
        };
        explanation = text;
        remedies = list;
    }
    Verdict {
        flow,
        first_to_last,
        per_layer_factor,
        max_grad_norm,
        layers,
        explanation,
        remedies,
        recurrent,
    }
}

fn explain(
    flow: Flow,
    layers: &[LayerVerdict],
    first_to_last: f64,
    per_layer: f64,
    max_norm: f64,
    records: &[StepRecord],
    t: &Thresholds,
) -> (String, Vec<String>) {
    let mut s = String::new();
    let n = layers.len();
    let act = layers
        .first()
        .map_or("", |l| activation_of(&l.name))
        .to_string();
    let saturating = [
        "sigmoid",
        "tanh",
        "softsign",
        "hard_sigmoid",
        "hard_tanh",
        "improved_sigmoid",
    ]
    .iter()
    .any(|a| act.starts_with(a));
    let rectifier = layers.first().is_some_and(|l| is_rectifier(&l.name));
    let sat: Vec<usize> = layers
        .iter()
        .filter(|l| l.saturated)
        .map(|l| l.depth)
        .collect();
    let dead: Vec<usize> = layers.iter().filter(|l| l.dead).map(|l| l.depth).collect();
    let sigma_w = mean(
        records
            .iter()
            .flat_map(|r| r.layers.iter())
            .filter(|l| l.kind == "linear")
            .map(|l| l.sigma_w),
    );
    if n >= 2 {
        s.push_str(&format!(
            "∂L/∂z at layer 1 is {} of layer {n}: the gradient changes ×{} per layer going \
             towards the input. ",
            sci(first_to_last),
            sci(per_layer)
        ));
    }
    if !sat.is_empty() {
        let fr = mean(
            layers
                .iter()
                .filter(|l| l.saturated)
                .map(|l| l.saturated_fraction),
        );
        let d = mean(
            layers
                .iter()
                .filter(|l| l.saturated)
                .map(|l| l.mean_abs_derivative),
        );
        s.push_str(&format!(
            "Layers {}: {:.0}% of {act} units saturated (|f'(z)| under 1% of its maximum), mean \
             |f'(z)| = {}. ",
            ranges(&sat),
            100.0 * fr.unwrap_or(0.0),
            sci(d.unwrap_or(0.0))
        ));
    }
    if !dead.is_empty() {
        let fr = mean(layers.iter().filter(|l| l.dead).map(|l| l.dead_fraction));
        s.push_str(&format!(
            "Layers {}: {:.0}% of units are dead (output 0 for every sample, so f'(z) = 0 and \
             no gradient passes). ",
            ranges(&dead),
            100.0 * fr.unwrap_or(0.0)
        ));
    }
    let d_mean = mean(layers.iter().map(|l| l.rms_derivative));
    match flow {
        Flow::Vanishing => {
            s.push_str(&format!(
                "By the chain rule δ_l = f'(z_l) ⊙ W_{{l+1}}ᵀ δ_{{l+1}}: each layer multiplies the \
                 gradient by about σ_w·√E[f'(z)²]{}, which is below 1, so over {n} layers it \
                 vanishes (thresholds: total {} or ×{} per layer).",
                match (sigma_w, d_mean) {
                    (Some(w), Some(d)) => format!(" ≈ {}·{} = {}", sci(w), sci(d), sci(w * d)),
                    _ => String::new(),
                },
                sci(t.vanishing_ratio),
                sci(t.per_layer_vanishing)
            ));
        }
        Flow::Exploding => {
            s.push_str(&format!(
                "Each layer multiplies the gradient by more than 1{}: large weights make \
                 σ_w·√E[f'(z)²] > 1, so it grows layer after layer (largest global gradient norm \
                 {}).",
                match (sigma_w, d_mean) {
                    (Some(w), Some(d)) =>
                        format!(" (σ_w·√E[f'(z)²] ≈ {}·{} = {})", sci(w), sci(d), sci(w * d)),
                    _ => String::new(),
                },
                sci(max_norm)
            ));
        }
        Flow::Healthy => {
            s.push_str("The gradient reaches the first layer within the thresholds: healthy.");
        }
    }
    let mut remedies: Vec<String> = Vec::new();
    match flow {
        Flow::Vanishing => {
            if saturating || !sat.is_empty() {
                remedies.push("Use a non-saturating activation from the ReLU family (relu, leaky_relu, elu) with He init: model.activation = \"relu\", model.init = \"kaiming_normal\".".into());
                remedies.push("Add BatchNorm before each activation (model.norm = \"batchnorm\") to keep z in the high-slope region of f.".into());
                remedies.push("Use a variance-preserving init for this activation (xavier_normal for tanh, kaiming_normal with the computed gain) instead of a small one.".into());
            } else {
                remedies.push("Scale the initialization up to criticality: model.init = \"kaiming_normal\" (gain from the activation) — `gradscope theory --critical` gives σ_w².".into());
                remedies.push("Add BatchNorm (model.norm = \"batchnorm\").".into());
            }
            remedies.push("Add residual connections (model.residual = true): the identity path carries the gradient past each layer.".into());
            if !dead.is_empty() || rectifier {
                remedies.push(
                    "Dead ReLUs: use leaky_relu or elu, a lower learning rate, and He init.".into(),
                );
            }
        }
        Flow::Exploding => {
            remedies.push(
                "Clip the gradient: training.clip = { kind = \"norm\", max_norm = 1.0 }.".into(),
            );
            remedies.push("Shrink the initialization to criticality (xavier/kaiming with the computed gain; `gradscope theory --critical`).".into());
            remedies.push(
                "Add BatchNorm (model.norm = \"batchnorm\") and lower the learning rate.".into(),
            );
            remedies.push(
                "Add L2 regularization (training.optimizer.weight_decay) to keep weights small."
                    .into(),
            );
        }
        Flow::Healthy => {
            if !dead.is_empty() {
                remedies.push(
                    "Some layers have dead units: try leaky_relu or elu, or a lower learning rate."
                        .into(),
                );
            }
            if !sat.is_empty() {
                remedies.push(
                    "Some layers are saturated: consider BatchNorm or a ReLU-family activation."
                        .into(),
                );
            }
        }
    }
    (s.trim().to_string(), remedies)
}
