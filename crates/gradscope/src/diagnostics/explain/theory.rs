//! The mean-field prediction in words, or why there is none.

use crate::diagnostics::prediction::{Prediction, Unavailable};
use crate::diagnostics::records::StepRecord;
use crate::diagnostics::verdict::sci;
use crate::layer::LayerKind;

/// Why there is no mean-field prediction, as a sentence fragment.
pub fn unavailable(u: &Unavailable) -> String {
    match u {
        Unavailable::Layer {
            kind: LayerKind::Recurrent,
        } => "the mean-field theory covers plain Linear → activation stacks; a recurrent \
              model's gradient through time is judged by the spectrum of W_hh against \
              Pascanu et al.'s threshold 1/γ instead"
            .into(),
        Unavailable::Layer { kind } => format!(
            "the network has {kind} layers; the mean-field theory here covers plain Linear → \
             activation stacks"
        ),
        Unavailable::TooShallow => "fewer than two hidden layers".into(),
        Unavailable::MissingWeight { depth: 0 } => {
            "no weight matrix before the first hidden layer".into()
        }
        Unavailable::MissingWeight { depth } => {
            format!("no weight matrix after hidden layer {depth}")
        }
        Unavailable::Theory { message } => format!("the theory failed: {message}"),
    }
}

/// The mean-field prediction against the measurement in one sentence (or why there is
/// none).
pub fn theory_summary(
    p: Option<&Prediction>,
    why: Option<&Unavailable>,
    _first: &StepRecord,
) -> String {
    match (p, why) {
        (Some(p), _) => {
            let first = p.layers.first();
            let mean_w2 =
                p.layers.iter().map(|l| l.sigma_w2).sum::<f64>() / p.layers.len().max(1) as f64;
            format!(
                "Mean-field theory (measured σ_w²{}, σ_b² = {}, input q⁰ = {}): per-layer factor \
                 √χ₁ = {} (geometric mean; {} phase{}), so ‖δ_1‖/‖δ_L‖ ≈ {} at initialization; \
                 with each layer's own variance q_l (before the fixed point q*): ×{} per layer, \
                 {} in all. Measured at step {}: ×{} per layer, ‖δ_1‖/‖δ_L‖ = {}.",
                first.map_or(String::new(), |l| format!(
                    " = {} on average for {}",
                    sci(mean_w2),
                    l.activation
                )),
                sci(p.sigma_b2),
                sci(p.q0),
                sci(p.predicted_factor),
                p.phase,
                p.gradient_scale.map_or(String::new(), |x| format!(
                    ", gradient scale {} layers",
                    sci(x)
                )),
                sci(p.predicted_first_to_last),
                sci(p.transient_factor),
                sci(p.transient_first_to_last),
                p.step,
                sci(p.measured_factor),
                sci(p.measured_first_to_last),
            )
        }
        (None, Some(why)) => format!("No mean-field prediction: {}.", unavailable(why)),
        (None, None) => String::new(),
    }
}
