//! The depth verdict in words: the change per layer, saturated and dead layers, the chain rule
//! with the measured factors.

use crate::diagnostics::diagnosis::InitVerdict;
use crate::diagnostics::verdict::{mean, ranges, sci, Basis, Flow, Problem, Severity, Verdict};
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
                .map(|l| l.saturation_share()),
        );
        let d = mean(
            v.layers
                .iter()
                .filter(|l| l.saturated)
                .map(|l| l.mean_abs_derivative),
        );
        let out = match (
            mean(v.layers.iter().filter(|l| l.saturated).map(|l| l.act_mean)),
            mean(v.layers.iter().filter(|l| l.saturated).map(|l| l.act_std)),
        ) {
            (Some(m), Some(sd)) => format!(", output {} ± {}", sci(m), sci(sd)),
            _ => String::new(),
        };
        s.push_str(&format!(
            "Layers {}: {:.0}% of {act} units saturated (|f'(z)| under 1% of its maximum, or the \
             output within 2% of the range's width of its ends), mean |f'(z)| = {}{out}. ",
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
             vanishes (threshold: {} in total).",
            factors.map_or(String::new(), |(w, d)| format!(
                " ≈ {}·{} = {}",
                sci(w),
                sci(d),
                sci(w * d)
            )),
            sci(t.vanishing_ratio),
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
        Flow::Healthy => s.push_str(&format!(
            "The gradient reaches the first layer within the thresholds ({}–{} in total): \
             healthy.",
            sci(t.vanishing_ratio),
            sci(t.exploding_ratio)
        )),
    }
    if n >= 2 {
        if let Some(p) = projection(&v.severity, "layer", t) {
            s.push(' ');
            s.push_str(&p);
        }
    }
    if let Some(p) = problems_text(v) {
        s.push_str(&format!(
            " Problems besides the gradient's size: {p}; the verdict does not expect the network \
             to train as configured."
        ));
    }
    if n >= 2 {
        s.push(' ');
        s.push_str(limits(v.flow, !v.problems.is_empty()));
    }
    s.trim().to_string()
}

/// What the verdict cannot know, for its label: it judges the gradient the network gives at
/// the measured steps, not what the optimizer, the learning rate or the step budget make of
/// it (docs/diagnostics.md, "Calibration", measures how often that matters).
pub fn limits(flow: Flow, problems: bool) -> &'static str {
    match flow {
        Flow::Vanishing => {
            "What the verdict cannot know: it judges the gradient's size, not the optimizer's \
             step. An adaptive optimizer (Adam, RMSprop, Adagrad) divides each parameter's step \
             by that parameter's own running gradient size, and can train layers whose gradient \
             is decades smaller than the last's; plain SGD cannot."
        }
        Flow::Exploding => {
            "What the verdict cannot know: gradient clipping or a smaller learning rate can let \
             a network with an exploding gradient train; the verdict judges the network as \
             configured, not the training that tames it."
        }
        Flow::Healthy if problems => {
            "What the verdict cannot know: normalization or an adaptive optimizer may still \
             train around dead or saturated layers; the verdict judges them as measured."
        }
        Flow::Healthy => {
            "What the verdict cannot know: a healthy ratio says the gradient reaches the first \
             layer, not that the network learns in the steps given — a slow activation (a \
             shallow sigmoid under SGD) or a deep network in the chaotic phase (the ratio \
             growing towards the input) can still fail to train."
        }
    }
}

/// Where the measured factor per layer (`unit` = "layer") or per time step (`"step"`) takes
/// the ratio: the number of them after which it crosses the threshold it heads for, against
/// the hops measured. None for a factor of exactly 1.
pub fn projection(sev: &Severity, unit: &str, t: &Thresholds) -> Option<String> {
    let n = sev.crossing_hops.filter(|n| n.is_finite() && *n > 0.0)?;
    let (which, thr) = if sev.log10_factor < 0.0 {
        ("vanishing", t.vanishing_ratio)
    } else {
        ("exploding", t.exploding_ratio)
    };
    let factor = 10f64.powf(sev.log10_factor);
    let count = |x: f64| {
        if x >= 1e4 {
            format!("{x:.1e}")
        } else {
            format!("{}", x.round().max(1.0))
        }
    };
    // Depth counts hidden layers (hops + 1), time counts steps back from T (hops).
    let (reach, here) = if unit == "layer" {
        (n + 1.0, sev.hops + 1)
    } else {
        (n, sev.hops)
    };
    let what = if unit == "layer" {
        "hidden layers"
    } else {
        "steps"
    };
    Some(if n > sev.hops as f64 {
        format!(
            "Projection: at ×{} per {unit} the ratio would reach the {which} threshold {} at \
             about {} {what} ({} here).",
            sci(factor),
            sci(thr),
            count(reach),
            here
        )
    } else {
        format!(
            "Projection: at ×{} per {unit} the ratio crosses the {which} threshold {} at about {} \
             {what}, within the {} here.",
            sci(factor),
            sci(thr),
            count(reach),
            here
        )
    })
}

/// The severity in one line: the log₁₀ ratio with its uncertainty and factor, the margin
/// inside the label's region and the confidence (`ratio` names the ratio, `unit` is "layer"
/// or "step").
pub fn severity_line(
    sev: &Severity,
    flow: Flow,
    ratio: &str,
    unit: &str,
    t: &Thresholds,
) -> String {
    let ratio_part = format!(
        "log₁₀ {ratio} = {:+.2} ± {:.2} (×{} per {unit} over {})",
        sev.log10_ratio,
        sev.uncertainty_decades,
        sci(10f64.powf(sev.log10_factor)),
        sev.hops
    );
    let decided = match sev.basis {
        Basis::Ratio => format!(
            "{:.2} decades {} {} (thresholds {:+.0} and {:+.0})",
            sev.margin_decades.abs(),
            if sev.margin_decades >= 0.0 {
                "inside"
            } else {
                "outside"
            },
            flow.name(),
            t.vanishing_ratio.log10(),
            t.exploding_ratio.log10()
        ),
        Basis::GlobalNorm => format!(
            "exploding by the global gradient norm, {:.2} decades above exploding_norm = {}",
            sev.margin_decades,
            sci(t.exploding_norm)
        ),
        Basis::SufficientCondition => format!(
            "vanishing by Pascanu et al.'s sufficient condition γ·σ_max(W_hh) = {} < 1, which \
             guarantees a decay of at least {2:.2} decades over the {1} steps",
            sci(10f64.powf(-sev.margin_decades / sev.hops.max(1) as f64)),
            sev.hops,
            sev.margin_decades
        ),
    };
    format!(
        "Severity: {ratio_part}; {decided}; confidence {}.",
        sev.confidence.name()
    )
}

/// The problems besides the gradient's size in a few words: "dead units (layers 12–30, up to
/// 56%)"; None without problems.
pub fn problems_text(v: &Verdict) -> Option<String> {
    let parts: Vec<String> = v
        .problems
        .iter()
        .map(|p| {
            let (depths, max, worst) = match p {
                Problem::DeadUnits {
                    depths,
                    max_fraction,
                    worst_depth,
                    ..
                }
                | Problem::Saturation {
                    depths,
                    max_fraction,
                    worst_depth,
                    ..
                } => (depths, *max_fraction, *worst_depth),
            };
            format!(
                "{} in layer{} {} (up to {:.0}% at layer {worst})",
                p.name(),
                if depths.len() > 1 { "s" } else { "" },
                ranges(depths),
                100.0 * max
            )
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The depth verdict's numbers in one line: ‖δ_1‖/‖δ_L‖ as the geometric mean over the
/// measured steps (the number the verdict judges), the factor per layer, the largest global
/// gradient norm and the problems besides the gradient's size.
pub fn depth_headline(v: &Verdict) -> String {
    let mut s = format!(
        "‖δ_1‖/‖δ_L‖ = {} (geometric mean over the measured steps), ×{} per layer towards the \
         input, max global gradient norm {}",
        sci(v.first_to_last),
        sci(v.per_layer_factor),
        sci(v.max_grad_norm)
    );
    if let Some(p) = problems_text(v) {
        s.push_str(&format!("; problems: {p}"));
    }
    s
}

/// The verdict on the first measured step alone, with its ratio, severity and problems: "At
/// initialization (step 1): vanishing — ‖δ_1‖/‖δ_L‖ = …, ×… per layer (log₁₀ …, confidence
/// …)."
pub fn init_verdict(i: &InitVerdict) -> String {
    let problems: Vec<&str> = i.problems.iter().map(|p| p.name()).collect();
    format!(
        "At {} (step {}): {} — ‖δ_1‖/‖δ_L‖ = {}, ×{} per layer (log₁₀ {:+.2}, confidence {}){}.",
        if i.step == 1 {
            "initialization"
        } else {
            "the first measured step"
        },
        i.step,
        i.flow.name(),
        sci(i.first_to_last),
        sci(i.per_layer_factor),
        i.severity.log10_ratio,
        i.severity.confidence.name(),
        if problems.is_empty() {
            String::new()
        } else {
            format!("; problems: {}", problems.join(", "))
        }
    )
}
