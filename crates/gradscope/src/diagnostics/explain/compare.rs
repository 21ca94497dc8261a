//! A comparison's findings in words.

use super::{acc, opt};
use crate::diagnostics::compare::{Finding, Variant};
use crate::diagnostics::verdict::{sci, Flow};

/// One finding of a comparison as a sentence.
pub fn finding(f: &Finding) -> String {
    match f {
        Finding::UnhealthyAtInit {
            label,
            flow_init,
            ratio_init,
            factor_init,
            theory,
            flow_run,
            ratio_end,
            end_step,
            test_accuracy,
        } => {
            let theory = theory.map_or(String::new(), |[p, t, tt]| {
                format!(
                    "; the mean-field theory predicts ×{} per layer at its fixed point, ×{} with \
                     each layer's own variance, {} in all",
                    sci(p),
                    sci(t),
                    sci(tt)
                )
            });
            format!(
                "{label}: at initialization ‖∂L/∂z‖ at the first hidden layer is {} of the last \
                 one (×{} per layer{theory}) — {}. {}",
                opt(*ratio_init),
                opt(*factor_init),
                match flow_init {
                    Flow::Vanishing => "the gradient vanishes before it reaches the first layers",
                    Flow::Exploding => "the gradient explodes towards the input",
                    Flow::Healthy => "healthy",
                },
                if flow_run == flow_init {
                    format!(
                        "It stays {} over the run (ratio {} at step {end_step}) and ends at {} \
                         test accuracy.",
                        flow_run.name(),
                        opt(*ratio_end),
                        acc(*test_accuracy)
                    )
                } else {
                    format!(
                        "Training moves it: the ratio is {} at step {end_step} and the run as a \
                         whole is judged {}; it ends at {} test accuracy.",
                        opt(*ratio_end),
                        flow_run.name(),
                        acc(*test_accuracy)
                    )
                }
            )
        }
        Finding::HealthyAtInit {
            labels,
            ratio_range,
            changed,
            accuracy_range,
        } => {
            format!(
            "{}: healthy at initialization — the first hidden layer gets {} of the last layer's \
             gradient{}; test accuracy {}.",
            labels.join(", "),
            if labels.len() > 1 {
                format!("between {} and {}", sci(ratio_range[0]), sci(ratio_range[1]))
            } else {
                sci(ratio_range[0])
            },
            if changed.is_empty() {
                " and they stay healthy over the run".to_string()
            } else {
                format!(
                    ", though over the run {} is judged {}",
                    changed
                        .iter()
                        .map(|c| c.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    changed[0].1.name()
                )
            },
            match accuracy_range {
                Some([a, b]) if labels.len() > 1 => {
                    format!("{}–{}", acc(Some(*a)), acc(Some(*b)))
                }
                Some([a, _]) => acc(Some(*a)),
                None => "-".into(),
            }
        )
        }
        Finding::AccuracyFollowsVerdict {
            follows: true,
            best_unhealthy,
            worst_healthy,
        } => format!(
            "Accuracy follows the gradient flow: every variant judged unhealthy at \
             initialization ends at or below {}, every healthy one at or above {}.",
            acc(Some(*best_unhealthy)),
            acc(Some(*worst_healthy))
        ),
        Finding::AccuracyFollowsVerdict {
            follows: false,
            best_unhealthy,
            worst_healthy,
        } => format!(
            "Accuracy does not follow the verdict at initialization alone: an unhealthy start \
             still reached {}, while the weakest healthy variant reached {} — training can \
             repair (or spoil) the flow, see the ratios at the end.",
            acc(Some(*best_unhealthy)),
            acc(Some(*worst_healthy))
        ),
        Finding::BatchNormEffect {
            activation,
            flow,
            ratio,
            accuracy,
        } => format!(
            "BatchNorm alone (same {activation} network, same init) takes the verdict at \
             initialization from {} to {} (‖δ_1‖/‖δ_L‖ {} → {}) and test accuracy from {} to \
             {}.",
            flow[0].name(),
            flow[1].name(),
            opt(ratio[0]),
            opt(ratio[1]),
            acc(accuracy[0]),
            acc(accuracy[1])
        ),
        Finding::TheoryVsMeasured { entries } => format!(
            "Mean-field theory against the measurement at initialization, per layer: {}.",
            entries
                .iter()
                .map(|(label, p, t, m)| format!(
                    "{label} ×{} (√χ₁) or ×{} (q_l) predicted vs ×{} measured",
                    sci(*p),
                    sci(*t),
                    sci(*m)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Finding::Best { label, accuracy } => {
            format!("Best test accuracy: {label} ({}).", acc(Some(*accuracy)))
        }
    }
}

/// The three values of ‖δ_1‖/‖δ_L‖ a comparison variant carries, each labelled by when it was
/// taken.
pub fn variant_ratios(v: &Variant) -> String {
    format!(
        "‖δ_1‖/‖δ_L‖ = {} at step 1 (initialization: verdict {}), {} as the geometric mean over \
         the measured steps (verdict over the run: {}), {} at step {} (the last measured).",
        opt(v.ratio_init),
        v.flow_init.name(),
        sci(v.verdict.first_to_last),
        v.verdict.flow.name(),
        opt(v.ratio_end),
        v.end_step
    )
}
