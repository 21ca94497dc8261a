//! Every sentence the scope says: explanations and remedies rendered from the typed verdicts
//! ([`Verdict`], [`RecurrentVerdict`]) and
//! [`Remedy`] values. The maths modules compute numbers; only this module writes prose.

use super::compare::{Finding, Variant};
use super::diagnosis::InitVerdict;
use super::prediction::{Prediction, Unavailable};
use super::records::StepRecord;
use super::recurrent::{DecayMeasure, RecurrentVerdict};
use super::remedy::Remedy;
use super::verdict::{mean, ranges, sci, Advice, Flow, Verdict};
use super::Thresholds;
use crate::layer::LayerKind;
use crate::recurrent::{CellKind, Predict};
use crate::train::Outcome;

/// The numbers a remedy's sentence may quote, from the verdict that recommends it.
#[derive(Clone, Debug, Default)]
pub struct RemedyContext {
    /// RNN: the cell's activation (text form).
    pub rnn_activation: Option<String>,
    /// RNN: γ = max |f'| of that activation.
    pub gamma: Option<f64>,
    /// RNN: Pascanu et al.'s threshold 1/γ.
    pub threshold: Option<f64>,
    /// σ_max(W_hh) at the first measured step.
    pub sigma_max: Option<f64>,
    /// The span of steps the gradient crosses.
    pub span: Option<usize>,
    /// The LSTM's current forget bias.
    pub forget_bias: Option<f64>,
}

/// The remedy with its sentence and overrides.
pub fn advice_with(remedy: Remedy, ctx: &RemedyContext) -> Advice {
    Advice {
        text: remedy_text(&remedy, ctx),
        overrides: remedy.overrides(),
        remedy,
    }
}

/// A depth remedy with its sentence.
pub fn advice(remedy: Remedy, _v: &Verdict) -> Advice {
    advice_with(remedy, &RemedyContext::default())
}

fn overrides_text(r: &Remedy) -> String {
    let o = r.overrides();
    if o.is_empty() {
        String::new()
    } else {
        format!(" ({})", o.join(", "))
    }
}

/// One remedy as a sentence, naming the config keys that apply it.
pub fn remedy_text(r: &Remedy, ctx: &RemedyContext) -> String {
    let keys = overrides_text(r);
    match r {
        Remedy::Activation { activation, init } => format!(
            "Use a non-saturating activation from the ReLU family with a matching init: \
             {activation} with {init}{keys}: f'(z) = 1 on active units, so the activations no \
             longer shrink the gradient."
        ),
        Remedy::Norm { norm } => format!(
            "Normalize before each activation ({}){keys}: it keeps z in the high-slope region \
             of f whatever the weights do.",
            norm.name()
        ),
        Remedy::Residual => format!(
            "Add residual connections{keys}: the identity path carries the gradient past each \
             layer."
        ),
        Remedy::Init { init } => format!(
            "Initialize at the activation's critical variance: {init}{keys} (`gradscope theory \
             --critical` gives σ_w² where the per-layer factor χ₁ = 1)."
        ),
        Remedy::ClipNorm { max_norm } => format!(
            "Clip the gradient's global norm to {}{keys} (Pascanu et al. 2013: it rescales the \
             rare huge steps and keeps their direction).",
            sci(*max_norm)
        ),
        Remedy::LowerLearningRate { factor } => format!(
            "Lower the learning rate (training.lr), e.g. ×{}.",
            sci(*factor)
        ),
        Remedy::WeightDecay { weight_decay } => format!(
            "Add L2 regularization (weight decay {}){keys} to keep the weights small.",
            sci(*weight_decay)
        ),
        Remedy::LeakyActivation { activation } => format!(
            "Dead units pass no gradient: use {activation}{keys} (or elu), a lower learning \
             rate, and He init."
        ),
        Remedy::RecurrentActivation { activation } => match (ctx.gamma, ctx.threshold) {
            (Some(g), Some(thr)) => format!(
                "Use {activation} instead of {}: γ = 1 instead of {}, so W_hh needs σ_max ≈ 1 \
                 instead of {} to carry the gradient{keys}.",
                ctx.rnn_activation.as_deref().unwrap_or("this activation"),
                sci(g),
                sci(thr)
            ),
            _ => format!("Use {activation} in the RNN cell{keys}."),
        },
        Remedy::GatedCell { cell, .. } => format!(
            "Use a gated cell ({}){keys}: the memory carries the gradient along the forget \
             gate instead of through W_hh and f'.",
            cell.name()
        ),
        Remedy::RecurrentInit { init } => format!(
            "Initialize W_hh as {init}{keys}: orthogonal makes σ_max = ρ = 1, so only the \
             shrinkage by f' < γ of the units remains."
        ),
        Remedy::SpectralRadius { radius } => match (ctx.sigma_max, ctx.threshold) {
            (Some(s), Some(thr)) => format!(
                "Bring σ_max(W_hh) (now {}) down towards 1/γ = {}: rescale W_hh to spectral \
                 radius {}{keys}.",
                sci(s),
                sci(thr),
                sci(*radius)
            ),
            _ => format!("Shrink W_hh to spectral radius {}{keys}.", sci(*radius)),
        },
        Remedy::Irnn => format!(
            "IRNN (Le et al. 2015): ReLU units with W_hh = I pass the gradient unchanged on \
             active units; pair it with gradient clipping{keys}."
        ),
        Remedy::ForgetBias { bias } => match (ctx.forget_bias, ctx.span) {
            (Some(b), Some(span)) if b >= 1.0 => format!(
                "Open the forget gate further: forget bias {} (now {}){keys}: over {span} steps \
                 the memory keeps f^{span} of its gradient, so f must be close to 1 (σ(3) = \
                 0.95).",
                sci(*bias),
                sci(b)
            ),
            _ => format!(
                "Bias the forget gate open{keys} (2–3 for longer sequences): f_t near 1 keeps \
                 both the memory and its gradient."
            ),
        },
        Remedy::Truncate { steps } => format!(
            "Truncated BPTT over {steps} steps{keys} multiplies at most that many Jacobians per \
             gradient."
        ),
        Remedy::ShorterPath => "Shorten the distance the gradient must cross (shorter \
             sequences, or model.recurrent.predict = \"every_step\" when there is a target per \
             step)."
            .to_string(),
        Remedy::StandardizeInputs => format!(
            "Standardize the inputs{keys} so that the units start in the high-slope region of \
             f."
        ),
    }
}

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

fn acc(a: Option<f64>) -> String {
    a.map_or("-".into(), |a| format!("{:.1}%", 100.0 * a))
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), sci)
}

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

/// How a diverged run ended, as a sentence (None for any other outcome).
pub fn outcome(o: &Outcome) -> Option<String> {
    match o {
        Outcome::Diverged {
            step,
            location,
            detail,
        } => Some(format!(
            "Training diverged at step {step}: non-finite value first in {location} ({detail}). \
             The verdict uses the steps measured before."
        )),
        _ => None,
    }
}

/// A recurrent model's prediction mode in a few words.
pub fn predict_mode(p: Predict) -> &'static str {
    match p {
        Predict::Last => "many-to-one: only h_T feeds the head",
        Predict::EveryStep => "many-to-many: every h_t feeds the head",
    }
}

/// The encoder a recurrent model's verdict leads with: the first that is not healthy, else
/// the first.
pub fn lead_encoder(v: &Verdict) -> Option<&RecurrentVerdict> {
    v.recurrent
        .iter()
        .find(|r| r.flow != Flow::Healthy)
        .or(v.recurrent.first())
}

/// Where a recurrent model's verdict comes from: "through time", or what decided it when the
/// gradient through time is within the thresholds ("" for a feed-forward model).
pub fn verdict_scope(v: &Verdict) -> &'static str {
    match lead_encoder(v) {
        None => "",
        Some(rv) if rv.flow != v.flow => "in the head's hidden layers (through time: healthy)",
        Some(rv) if rv.main_layer().is_some_and(|l| l.flow != rv.flow) => {
            "by the global gradient norm (through time: within the thresholds)"
        }
        Some(_) => "through time",
    }
}

/// The numbers of the through-time verdict in one line: the decay over the main layer's span,
/// the factor per step, the spectrum of W_hh (RNN) or the mean forget/update gate.
pub fn through_time_headline(v: &RecurrentVerdict, max_grad_norm: f64) -> String {
    let Some(l) = v.main_layer() else {
        return String::new();
    };
    let what = match l.measure {
        DecayMeasure::Jacobian => "Jacobian product, step T → 1".to_string(),
        // Truncated BPTT: the decay is taken over the last chunk.
        _ if l.span + 1 < v.steps => format!("‖∂L/∂h_{}‖/‖∂L/∂h_T‖", v.steps - l.span),
        _ => "‖∂L/∂h_1‖/‖∂L/∂h_T‖".to_string(),
    };
    let mut s = format!(
        "{what} = {}, ×{} per step over {} steps",
        sci(l.first_to_last),
        sci(l.per_step_factor),
        l.span
    );
    match v.cell {
        CellKind::Rnn => s.push_str(&format!(
            "; at step {}: σ_max(W_hh) = {}, ρ = {}, 1/γ = {}",
            l.first_step,
            sci(l.sigma_max_first),
            opt(l.spectral_radius_first),
            opt(l.pascanu_threshold)
        )),
        CellKind::Lstm | CellKind::Gru => {
            let g = if v.cell == CellKind::Lstm { "f" } else { "z" };
            if let Some(m) = l.gates.iter().find(|x| x.gate == g) {
                s.push_str(&format!("; mean {g} gate {}", sci(m.mean)));
            }
            s.push_str(&format!("; σ_max(W_hh) = {}", sci(l.sigma_max_first)));
        }
    }
    s.push_str(&format!(
        "; max global gradient norm {}",
        sci(max_grad_norm)
    ));
    s
}

/// Which measured steps the gate values are means over: every measured step, or those at
/// which the probe could recompute them.
pub fn gates_when(v: &RecurrentVerdict) -> String {
    let Some(l) = v.layers.iter().find(|l| !l.gates.is_empty()) else {
        return "means over the measured steps".into();
    };
    if l.gate_steps.len() == l.measured_steps {
        return "means over the measured steps".into();
    }
    let list: Vec<String> = l.gate_steps.iter().map(u64::to_string).collect();
    format!(
        "means over measured steps {} only: the probe could not recompute the gates at the \
         others",
        list.join(", ")
    )
}

/// Why some stacked layers have no gate values, if any has none.
pub fn gates_note(v: &RecurrentVerdict) -> Option<String> {
    let missing: Vec<String> = v
        .layers
        .iter()
        .filter(|l| l.gates.is_empty())
        .map(|l| (l.layer + 1).to_string())
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "Gate values of layer {} are not available: recomputing them needs the layer's \
             input, which the probe was not given (Probe::measure with an input).",
            missing.join(", ")
        )
    })
}

/// The long name of a gate of `cell`: "f (forget)", "h (hidden units)".
pub fn gate_name(cell: CellKind, gate: &str) -> String {
    let long = match (cell, gate) {
        (CellKind::Lstm, "i") => "input",
        (CellKind::Lstm, "f") => "forget",
        (CellKind::Lstm, "g") => "cell candidate",
        (CellKind::Lstm, "o") => "output",
        (CellKind::Gru, "r") => "reset",
        (CellKind::Gru, "z") => "update",
        (CellKind::Gru, "n") => "candidate",
        _ => "hidden units",
    };
    format!("{gate} ({long})")
}
