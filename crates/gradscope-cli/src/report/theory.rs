//! The mean-field prediction of the gradient flow at initialization, from the measured σ_w of
//! each linear layer and the activation (σ_b² = 0: biases start at 0).
//!
//! Backprop gives δ_l = f'(z_l) ⊙ W_{l+1}ᵀ δ_{l+1}, so at initialization
//! ‖δ_l‖/‖δ_{l+1}‖ ≈ √χ₁ with χ₁ = σ_w² E[f'(√q* z)²] (σ_w² of W_{l+1}). A shallow network
//! may not have reached q* (tanh at σ_w² = 1 approaches q* = 0 slowly), so the transient
//! factor σ_w √E[f'(√q_l z)²], with q_l from the length map started at the input, is given
//! too.

use gradscope::diagnostics::{LayerRecord, StepRecord};
use gradscope::theory::{mean_field, mean_sq_derivative, mean_sq_output};
use gradscope::Activation;

/// The prediction for one hidden layer.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LayerPrediction {
    /// 1-based depth l.
    pub depth: usize,
    /// The activation (text form).
    pub activation: String,
    /// Measured σ_w² of W_{l+1}, the weight the gradient crosses to reach layer l.
    pub sigma_w2: f64,
    /// Fixed point q* of the pre-activation variance at that σ_w².
    pub q_star: f64,
    /// χ₁ = σ_w² E[f'(√q* z)²].
    pub chi1: f64,
    /// Predicted ‖δ_l‖/‖δ_{l+1}‖ = √χ₁.
    pub predicted_factor: f64,
    /// Pre-activation variance q_l of this layer from the length map started at the input
    /// (q_1 = σ_w²(W_1)·1 for standardized inputs), before it reaches q*.
    pub q_layer: f64,
    /// σ_w(W_{l+1})·√E[f'(√q_l z)²]: the factor with the finite-depth q_l instead of q*.
    pub transient_factor: f64,
    /// Measured ‖δ_l‖/‖δ_{l+1}‖ at the first measured step.
    pub measured_factor: f64,
}

/// The prediction for the whole network.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Prediction {
    /// The step whose weights and gradients were used (1 = initialization).
    pub step: u64,
    /// σ_b² assumed (biases start at 0).
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
    /// The half-width of that critical band in χ₁ (|χ₁ − 1| below it is critical).
    pub critical_tol: f64,
    /// Depth scale ξ = |1/ln χ₁|: layers over which the mean squared gradient changes by a
    /// factor e (its norm over 2ξ); None at χ₁ = 1.
    pub depth_scale: Option<f64>,
    /// Per hidden layer but the last.
    pub layers: Vec<LayerPrediction>,
}

fn geo_mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for x in xs.filter(|x| *x > 0.0 && x.is_finite()) {
        s += x.ln();
        n += 1;
    }
    if n == 0 {
        f64::NAN
    } else {
        (s / n as f64).exp()
    }
}

/// Predicts the per-layer gradient factors of the network measured in `record` (normally the
/// step-1 record). Errors say why no prediction applies.
pub fn predict(record: &StepRecord) -> Result<Prediction, String> {
    if let Some(l) = record
        .layers
        .iter()
        .find(|l| matches!(l.kind.as_str(), "batchnorm1d" | "dropout" | "residual"))
    {
        return Err(format!(
            "the network has {} layers; the mean-field theory here covers plain Linear → \
             activation stacks",
            l.kind
        ));
    }
    let acts: Vec<&LayerRecord> = record.activations().collect();
    if acts.len() < 2 {
        return Err("fewer than two hidden layers".into());
    }
    // q_1: the first linear layer maps standardized inputs (E[x²] ≈ 1).
    let w1 = record.layers[..acts[0].index]
        .iter()
        .rev()
        .find(|l| l.kind == "linear")
        .and_then(|l| l.sigma_w)
        .ok_or("no linear layer before the first hidden layer")?;
    let mut q = w1 * w1;
    let mut layers = Vec::new();
    for pair in acts.windows(2) {
        let (a, next) = (pair[0], pair[1]);
        let name = a
            .name
            .strip_prefix("activation(")
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or(&a.name);
        let act: Activation = name
            .parse()
            .map_err(|e| format!("layer {}: activation `{name}`: {e}", a.depth))?;
        // W_{l+1}: the linear layer between this activation and the next one.
        let sigma_w = record.layers[a.index + 1..next.index]
            .iter()
            .find(|l| l.kind == "linear")
            .and_then(|l| l.sigma_w)
            .ok_or_else(|| format!("no linear layer after hidden layer {}", a.depth))?;
        let sigma_w2 = sigma_w * sigma_w;
        let mf = mean_field(&act, sigma_w2, 0.0)
            .map_err(|e| format!("mean-field theory for {act} at σ_w² = {sigma_w2}: {e}"))?;
        let q_layer = q;
        let transient_factor = (sigma_w2 * mean_sq_derivative(&act, q)).sqrt();
        q = sigma_w2 * mean_sq_output(&act, q);
        layers.push(LayerPrediction {
            depth: a.depth,
            q_layer,
            transient_factor,
            activation: act.to_string(),
            sigma_w2,
            q_star: mf.q_star,
            chi1: mf.chi1,
            predicted_factor: mf.grad_ratio_per_layer,
            measured_factor: a.grad_in_norm / next.grad_in_norm,
        });
    }
    let predicted_factor = geo_mean(layers.iter().map(|l| l.predicted_factor));
    let measured_factor = geo_mean(layers.iter().map(|l| l.measured_factor));
    let first = acts[0].grad_in_norm;
    let last = acts[acts.len() - 1].grad_in_norm;
    // The phase and depth scale of the mean σ_w² with the first layer's activation.
    let mean_w2 = layers.iter().map(|l| l.sigma_w2).sum::<f64>() / layers.len() as f64;
    let act: Activation = layers[0].activation.parse().map_err(|e| format!("{e}"))?;
    let mf = mean_field(&act, mean_w2, 0.0).map_err(|e| e.to_string())?;
    let critical_tol = (2.0 * std::f64::consts::LN_2 / acts.len() as f64).exp_m1();
    Ok(Prediction {
        step: record.step,
        sigma_b2: 0.0,
        predicted_factor,
        measured_factor,
        predicted_first_to_last: layers.iter().map(|l| l.predicted_factor).product(),
        transient_factor: geo_mean(layers.iter().map(|l| l.transient_factor)),
        transient_first_to_last: layers.iter().map(|l| l.transient_factor).product(),
        measured_first_to_last: first / last,
        chi1: mf.chi1,
        phase: mf.phase_with_tol(critical_tol).as_str().to_string(),
        critical_tol,
        depth_scale: mf.depth_scale.is_finite().then(|| mf.depth_scale.abs()),
        layers,
    })
}
