//! The depth verdict in words: the change per layer, saturated and dead layers, the chain rule
//! with the measured factors.

use crate::diagnostics::diagnosis::InitVerdict;
use crate::diagnostics::verdict::{mean, ranges, sci, Flow, Verdict};
use crate::diagnostics::Thresholds;

/// The depth explanation: the measured change per layer, saturated and dead layers, and the
/// chain rule with the measured factors.
pub fn depth(v: &Verdict, t: &Thresholds) -> String {
    let mut s = String::new();
    let n = v.layers.len();
    let act = v.activation.map_or(String::new(), |a| a.to_string());
    let sat = v.saturated_depths();
    let dead = v.dead_depths();
    if n >= 2 {
        s.push_str(&format!(
            "∂L/∂z at layer 1 is {} of layer {n} (geometric mean over the measured steps): the \
             gradient changes ×{} per layer going towards the input. ",
            sci(v.first_to_last),
            sci(v.per_layer_factor)
        ));
    }
    if !sat.is_empty() {
        let fr = mean(
            v.layers
                .iter()
                .filter(|l| l.saturated)
                .map(|l| l.saturated_fraction),
        );
        let d = mean(
            v.layers
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
        let fr = mean(v.layers.iter().filter(|l| l.dead).map(|l| l.dead_fraction));
        s.push_str(&format!(
            "Layers {}: {:.0}% of units are dead (output 0 for every sample, so f'(z) = 0 and \
             no gradient passes). ",
            ranges(&dead),
            100.0 * fr.unwrap_or(0.0)
        ));
    }
    let factors = match (v.sigma_w, v.rms_derivative) {
        (Some(w), Some(d)) => Some((w, d)),
        _ => None,
    };
    match v.flow {
        Flow::Vanishing => s.push_str(&format!(
            "By the chain rule δ_l = f'(z_l) ⊙ W_{{l+1}}ᵀ δ_{{l+1}}: each layer multiplies the \
             gradient by about σ_w·√E[f'(z)²]{}, which is below 1, so over {n} layers it \
             vanishes (thresholds: total {} or ×{} per layer).",
            factors.map_or(String::new(), |(w, d)| format!(
                " ≈ {}·{} = {}",
                sci(w),
                sci(d),
                sci(w * d)
            )),
            sci(t.vanishing_ratio),
            sci(t.per_layer_vanishing)
        )),
        Flow::Exploding => s.push_str(&format!(
            "Each layer multiplies the gradient by more than 1{}: large weights make \
             σ_w·√E[f'(z)²] > 1, so it grows layer after layer (largest global gradient norm \
             {}).",
            factors.map_or(String::new(), |(w, d)| format!(
                " (σ_w·√E[f'(z)²] ≈ {}·{} = {})",
                sci(w),
                sci(d),
                sci(w * d)
            )),
            sci(v.max_grad_norm)
        )),
        Flow::Healthy => {
            s.push_str("The gradient reaches the first layer within the thresholds: healthy.")
        }
    }
    s.trim().to_string()
}

/// The depth verdict's numbers in one line: ‖δ_1‖/‖δ_L‖ as the geometric mean over the
/// measured steps (the number the verdict judges), the factor per layer and the largest global
/// gradient norm.
pub fn depth_headline(v: &Verdict) -> String {
    format!(
        "‖δ_1‖/‖δ_L‖ = {} (geometric mean over the measured steps), ×{} per layer towards the \
         input, max global gradient norm {}",
        sci(v.first_to_last),
        sci(v.per_layer_factor),
        sci(v.max_grad_norm)
    )
}

/// The verdict on the first measured step alone, with its ratio: "At initialization (step 1):
/// vanishing — ‖δ_1‖/‖δ_L‖ = …, ×… per layer."
pub fn init_verdict(i: &InitVerdict) -> String {
    format!(
        "At {} (step {}): {} — ‖δ_1‖/‖δ_L‖ = {}, ×{} per layer.",
        if i.step == 1 {
            "initialization"
        } else {
            "the first measured step"
        },
        i.step,
        i.flow.name(),
        sci(i.first_to_last),
        sci(i.per_layer_factor)
    )
}
