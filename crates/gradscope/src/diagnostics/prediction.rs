//! The mean-field prediction of the gradient flow at initialization, from the measured σ_w
//! and σ_b² of each weight matrix, the activation of each hidden layer and the measured
//! variance q⁰ of the input.
//!
//! Backprop gives δ_l = f'(z_l) ⊙ W_{l+1}ᵀ δ_{l+1}, so at initialization
//! ‖δ_l‖/‖δ_{l+1}‖ ≈ √χ₁ with χ₁ = σ_w² E[f'(√q* z)²] (σ_w² of W_{l+1}). A shallow network
//! may not have reached q* (tanh at σ_w² = 1 approaches q* = 0 slowly), so the transient
//! factor σ_w √E[f'(√q_l z)²], with q_l from the length map q_{l+1} = σ_w² E[f(√q_l z)²] +
//! σ_b² started at q_1 = σ_w²(W_1)·q⁰ + σ_b²(W_1), is given too.

use super::records::{LayerRecord, StepRecord};
use super::verdict::geo_mean;
use crate::activation::Activation;
use crate::layer::LayerKind;
use crate::theory::{fixed_point_from, mean_field_from, mean_sq_derivative, mean_sq_output, Phase};

/// The prediction for one hidden layer.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerPrediction {
    /// 1-based depth l.
    pub depth: usize,
    /// The activation.
    pub activation: Activation,
    /// Measured σ_w² of W_{l+1}, the weight the gradient crosses to reach layer l.
    pub sigma_w2: f64,
    /// Measured σ_b² of W_{l+1}'s bias.
    pub sigma_b2: f64,
    /// Fixed point q* of the pre-activation variance at that σ_w², σ_b².
    pub q_star: f64,
    /// χ₁ = σ_w² E[f'(√q* z)²].
    pub chi1: f64,
    /// Predicted ‖δ_l‖/‖δ_{l+1}‖ = √χ₁.
    pub predicted_factor: f64,
    /// Pre-activation variance q_l of this layer from the length map started at the input.
    pub q_layer: f64,
    /// σ_w(W_{l+1})·√E[f'(√q_l z)²]: the factor with the finite-depth q_l instead of q*.
    pub transient_factor: f64,
    /// Measured ‖δ_l‖/‖δ_{l+1}‖ at the record's step.
    pub measured_factor: f64,
}

/// The prediction for the whole network.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Prediction {
    /// The step whose weights and gradients were used (1 = initialization).
    pub step: u64,
    /// q⁰, the input's mean square the length map starts from (1 when not measured).
    pub q0: f64,
    /// Mean σ_b² of the weight matrices' biases.
    pub sigma_b2: f64,
    /// Geometric mean of the per-layer predicted factors.
    pub predicted_factor: f64,
    /// Geometric mean of the per-layer measured factors.
    pub measured_factor: f64,
    /// Predicted ‖δ_1‖/‖δ_L‖ (product of the per-layer factors).
    pub predicted_first_to_last: f64,
    /// Geometric mean of the per-layer transient factors (q_l instead of q*).
    pub transient_factor: f64,
    /// Product of the per-layer transient factors.
    pub transient_first_to_last: f64,
    /// Measured ‖δ_1‖/‖δ_L‖ at that step.
    pub measured_first_to_last: f64,
    /// χ₁ at the mean measured σ_w² (with the first hidden layer's activation).
    pub chi1: f64,
    /// Phase at that χ₁: `ordered`, `critical` or `chaotic`, where critical means
    /// |ln χ₁| ≤ 2 ln 2 / L — over this network's L hidden layers the predicted gradient
    /// changes by less than a factor 2.
    pub phase: String,
    /// The upper half-width of that critical band in χ₁, e^(2 ln 2 / L) − 1: the band is
    /// 1/(1 + critical_tol) ≤ χ₁ ≤ 1 + critical_tol.
    pub critical_tol: f64,
    /// The gradient's scale ξ_∇ = 1/|ln χ₁|: layers over which the mean squared gradient
    /// shrinks (ordered) or grows (chaotic) by a factor e (its norm over 2ξ_∇); None at
    /// χ₁ = 1.
    pub gradient_scale: Option<f64>,
    /// Per hidden layer but the last.
    pub layers: Vec<LayerPrediction>,
}

/// Which per-layer factor of a [`Prediction`] a profile multiplies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    /// √χ₁ at the fixed point q* ([`LayerPrediction::predicted_factor`]).
    FixedPoint,
    /// With each layer's own variance q_l ([`LayerPrediction::transient_factor`]).
    Transient,
}

impl Prediction {
    /// The predicted ‖δ_l‖ by depth as (depth, value) over the hidden layers `depths` (in
    /// order): `anchor` at the last of them, multiplied by the per-layer `factor` towards the
    /// input. None when a layer has no prediction.
    pub fn profile(
        &self,
        depths: &[usize],
        anchor: f64,
        factor: Factor,
    ) -> Option<Vec<(usize, f64)>> {
        let (&last, rest) = depths.split_last()?;
        let mut pts = vec![(last, anchor)];
        let mut cur = anchor;
        for &depth in rest.iter().rev() {
            let l = self.layers.iter().find(|l| l.depth == depth)?;
            cur *= match factor {
                Factor::FixedPoint => l.predicted_factor,
                Factor::Transient => l.transient_factor,
            };
            pts.push((depth, cur));
        }
        pts.reverse();
        Some(pts)
    }

    /// [`Prediction::profile`] anchored at the measured ‖δ‖ of the last hidden layer of
    /// `record` (normally the step the prediction was made at).
    pub fn anchored_profile(
        &self,
        record: &StepRecord,
        factor: Factor,
    ) -> Option<Vec<(usize, f64)>> {
        let d = record.deltas();
        let &(_, last) = d.last()?;
        let depths: Vec<usize> = d.iter().map(|x| x.0).collect();
        self.profile(&depths, last, factor)
    }
}

/// Why a record has no mean-field prediction.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Unavailable {
    /// The network has a layer the theory here does not cover.
    Layer {
        /// Its kind.
        kind: LayerKind,
    },
    /// Fewer than two hidden layers.
    TooShallow,
    /// No weight matrix before the first hidden layer, or after hidden layer `depth`.
    MissingWeight {
        /// The hidden layer (0: before the first).
        depth: usize,
    },
    /// The theory could not be evaluated.
    Theory {
        /// The theory's error.
        message: String,
    },
}

/// True for the layers the plain mean-field theory (Linear → activation stacks) covers.
fn covered(kind: LayerKind) -> bool {
    match kind {
        LayerKind::Linear | LayerKind::Activation => true,
        // Not covered. LayerNorm divides each row by its own standard deviation: in the
        // wide limit it resets the length map to q = 1 (γ = 1, β = 0 at initialization) at
        // every layer instead of following q_{l+1} = σ_w² E[f(√q_l z)²] + σ_b² to q*, and
        // its backward divides δ by that row's std √(σ_w² E[f²] + σ_b²), which cancels the
        // σ_w in √χ₁ = σ_w √E[f'²]. The per-layer factor is then a different formula
        // (≈ √(E[f'(z)²] / E[f(z)²]) at q = 1 for σ_b = 0), not the χ₁ this module
        // predicts; reporting χ₁ for such a network would be wrong, so the prediction says
        // "unavailable" as it does for BatchNorm.
        LayerKind::LayerNorm => false,
        LayerKind::BatchNorm1d
        | LayerKind::Dropout
        | LayerKind::Residual
        | LayerKind::Recurrent => false,
    }
}

fn weight_between(layers: &[LayerRecord]) -> Option<&LayerRecord> {
    layers.iter().find(|l| l.sigma_w.is_some())
}

/// The phase at χ₁ with the band 1/(1 + tol) ≤ χ₁ ≤ 1 + tol critical: |ln χ₁| ≤ ln(1 + tol),
/// the same factor either side of 1 (a band |χ₁ − 1| < tol would call χ₁ = 0.61 critical
/// over 3 layers, where the gradient shrinks by 0.61^1.5 = 0.48).
fn critical_phase(chi1: f64, tol: f64) -> Phase {
    if chi1 >= 1.0 / (1.0 + tol) && chi1 <= 1.0 + tol {
        Phase::Critical
    } else if chi1 < 1.0 {
        Phase::Ordered
    } else {
        Phase::Chaotic
    }
}

/// Predicts the per-layer gradient factors of the network measured in `record` (normally the
/// step-1 record).
///
/// ```
/// use gradscope::config::Config;
/// use gradscope::diagnostics::{predict, DiagnosticsConfig};
/// use gradscope::model::MlpSpec;
/// use gradscope::train::{Silent, Trainer};
/// use gradscope::Activation;
///
/// let mut config = Config::new(MlpSpec::new(0, &[64; 6], 0, Activation::Tanh))
///     .with_diagnostics(DiagnosticsConfig { every: 1, ..DiagnosticsConfig::default() });
/// config.training.max_steps = Some(1);
/// let run = Trainer::<f32>::from_config(config)?.run_collecting(&mut Silent)?;
/// let p = predict(&run.records[0]).expect("tanh layers the theory covers");
/// assert_eq!(p.layers.len(), 5);
/// // The theory's per-layer factor ‖δ_l‖/‖δ_l+1‖ against the measured one.
/// assert!((p.transient_factor / p.measured_factor - 1.0).abs() < 0.25, "{p:?}");
/// # Ok::<(), gradscope::Error>(())
/// ```
pub fn predict(record: &StepRecord) -> Result<Prediction, Unavailable> {
    if let Some(l) = record.layers.iter().find(|l| !covered(l.kind)) {
        return Err(Unavailable::Layer { kind: l.kind });
    }
    let pos = |l: &LayerRecord| record.layers.iter().position(|x| x.index == l.index);
    let acts: Vec<(usize, &LayerRecord)> = record
        .activations()
        .filter_map(|l| Some((pos(l)?, l)))
        .collect();
    if acts.len() < 2 {
        return Err(Unavailable::TooShallow);
    }
    let q0 = record.input_q0.unwrap_or(1.0);
    let w1 = record.layers[..acts[0].0]
        .iter()
        .rev()
        .find(|l| l.sigma_w.is_some())
        .ok_or(Unavailable::MissingWeight { depth: 0 })?;
    let sw1 = w1.sigma_w.unwrap_or(0.0);
    let mut q = sw1 * sw1 * q0 + w1.sigma_b2.unwrap_or(0.0);
    let mut layers = Vec::new();
    for pair in acts.windows(2) {
        let ((ia, a), (inext, next)) = (pair[0], pair[1]);
        let depth = a.depth.unwrap_or(0);
        let act = a.activation.ok_or(Unavailable::MissingWeight { depth })?;
        let w = weight_between(&record.layers[ia + 1..inext])
            .ok_or(Unavailable::MissingWeight { depth })?;
        let sigma_w = w.sigma_w.unwrap_or(0.0);
        let sigma_w2 = sigma_w * sigma_w;
        let sigma_b2 = w.sigma_b2.unwrap_or(0.0);
        // The fixed point reached from this network's input (q⁰), and χ₁ there.
        let fp =
            fixed_point_from(&act, sigma_w2, sigma_b2, q0).map_err(|e| Unavailable::Theory {
                message: format!("{act} at σ_w² = {sigma_w2}: {e}"),
            })?;
        let chi1 = sigma_w2 * mean_sq_derivative(&act, fp.q_star);
        let q_layer = q;
        let transient_factor = (sigma_w2 * mean_sq_derivative(&act, q)).sqrt();
        q = sigma_w2 * mean_sq_output(&act, q) + sigma_b2;
        let measured = match (a.grad_in_norm, next.grad_in_norm) {
            (Some(x), Some(y)) => x / y,
            _ => f64::NAN,
        };
        layers.push(LayerPrediction {
            depth,
            activation: act,
            sigma_w2,
            sigma_b2,
            q_star: fp.q_star,
            chi1,
            predicted_factor: chi1.sqrt(),
            q_layer,
            transient_factor,
            measured_factor: measured,
        });
    }
    let predicted_factor = geo_mean(layers.iter().map(|l| l.predicted_factor));
    let measured_factor = geo_mean(layers.iter().map(|l| l.measured_factor));
    let first = acts[0].1.grad_in_norm.unwrap_or(f64::NAN);
    let last = acts[acts.len() - 1].1.grad_in_norm.unwrap_or(f64::NAN);
    // The phase and depth scale of the mean σ_w², σ_b² with the first layer's activation.
    let n = layers.len() as f64;
    let mean_w2 = layers.iter().map(|l| l.sigma_w2).sum::<f64>() / n;
    let mean_b2 = layers.iter().map(|l| l.sigma_b2).sum::<f64>() / n;
    let act = layers[0].activation;
    let mf = mean_field_from(&act, mean_w2, mean_b2, q0).map_err(|e| Unavailable::Theory {
        message: e.to_string(),
    })?;
    let critical_tol = (2.0 * std::f64::consts::LN_2 / acts.len() as f64).exp_m1();
    Ok(Prediction {
        step: record.step,
        q0,
        sigma_b2: mean_b2,
        predicted_factor,
        measured_factor,
        predicted_first_to_last: layers.iter().map(|l| l.predicted_factor).product(),
        transient_factor: geo_mean(layers.iter().map(|l| l.transient_factor)),
        transient_first_to_last: layers.iter().map(|l| l.transient_factor).product(),
        measured_first_to_last: first / last,
        chi1: mf.chi1,
        phase: critical_phase(mf.chi1, critical_tol).as_str().to_string(),
        critical_tol,
        gradient_scale: mf.gradient_scale.is_finite().then_some(mf.gradient_scale),
        layers,
    })
}
