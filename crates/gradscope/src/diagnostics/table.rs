//! The per-layer numbers of a diagnosis: one [`LayerRow`] per hidden activation layer,
//! combining the records, the verdict and the mean-field prediction.

use super::prediction::Prediction;
use super::records::StepRecord;
use super::verdict::{Flow, Verdict};
use crate::activation::Activation;

/// The per-layer numbers of the diagnosis table.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerRow {
    /// 1-based depth of the hidden activation layer.
    pub depth: usize,
    /// Its description, e.g. `activation(sigmoid)`.
    pub name: String,
    /// Its activation.
    pub activation: Option<Activation>,
    /// ‖∂L/∂z‖ at the first measured step.
    pub grad_norm_first: Option<f64>,
    /// ‖∂L/∂z‖ at the last measured step.
    pub grad_norm_last: Option<f64>,
    /// ‖δ_l‖/‖δ_last‖, geometric mean over the measured steps (the verdict's number).
    pub ratio_to_last: f64,
    /// Flow at this layer relative to the last hidden layer.
    pub flow: Flow,
    /// Mean |f'(z)| over the measured steps.
    pub mean_abs_derivative: Option<f64>,
    /// Mean share of saturated unit-samples (|f'(z)| under 1% of its maximum).
    pub saturated_fraction: Option<f64>,
    /// Mean share of outputs within 2% of the range's width of an end of f's range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_end_fraction: Option<f64>,
    /// Mean output over the measured steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act_mean: Option<f64>,
    /// Mean over the measured steps of the output's standard deviation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act_std: Option<f64>,
    /// Mean share of dead units.
    pub dead_fraction: Option<f64>,
    /// Saturated beyond the threshold.
    pub saturated: bool,
    /// Dead beyond the threshold.
    pub dead: bool,
    /// Mean ‖ΔW‖/‖W‖ of the weight matrix feeding this layer.
    pub update_ratio: Option<f64>,
    /// σ_w = std(W)·√fan_in of the weight matrix feeding this layer, at the first measured
    /// step.
    pub sigma_w: Option<f64>,
    /// Mean-field prediction of ‖δ_l‖/‖δ_{l+1}‖ at initialization (√χ₁); None for the last
    /// hidden layer or without a prediction.
    pub predicted_factor: Option<f64>,
    /// The same with the layer's own pre-activation variance q_l from the length map (the
    /// transient before q*).
    pub transient_factor: Option<f64>,
    /// Measured ‖δ_l‖/‖δ_{l+1}‖ at the first measured step (step 1 = initialization).
    pub measured_factor: Option<f64>,
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = xs.filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The per-layer rows from the records, the verdict and the prediction.
pub fn layer_rows(
    records: &[StepRecord],
    verdict: &Verdict,
    prediction: Option<&Prediction>,
) -> Vec<LayerRow> {
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Vec::new();
    };
    let norm = |r: &StepRecord, d: usize| r.at_depth(d).and_then(|l| l.grad_in_norm);
    verdict
        .layers
        .iter()
        .map(|lv| {
            let d = lv.depth;
            let update_ratio = mean(
                records
                    .iter()
                    .filter_map(|r| r.incoming_linear(r.at_depth(d)?)?.update_ratio),
            );
            let sigma_w = first
                .at_depth(d)
                .and_then(|a| first.incoming_linear(a))
                .and_then(|l| l.sigma_w);
            let p = prediction.and_then(|p| p.layers.iter().find(|x| x.depth == d));
            let measured = match (norm(first, d), norm(first, d + 1)) {
                (Some(a), Some(b)) => Some(a / b).filter(|v| v.is_finite()),
                _ => None,
            };
            LayerRow {
                depth: d,
                name: lv.name.clone(),
                activation: lv.activation,
                grad_norm_first: norm(first, d),
                grad_norm_last: norm(last, d),
                ratio_to_last: lv.ratio_to_last,
                flow: lv.flow,
                mean_abs_derivative: lv.mean_abs_derivative,
                saturated_fraction: lv.saturated_fraction,
                range_end_fraction: lv.range_end_fraction,
                act_mean: lv.act_mean,
                act_std: lv.act_std,
                dead_fraction: lv.dead_fraction,
                saturated: lv.saturated,
                dead: lv.dead,
                update_ratio,
                sigma_w,
                predicted_factor: p.map(|p| p.predicted_factor),
                transient_factor: p.map(|p| p.transient_factor),
                measured_factor: measured,
            }
        })
        .collect()
}
