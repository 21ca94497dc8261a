//! The gradient through time in words: the chain rule through the steps with the measured
//! numbers (RNN: Pascanu et al.'s bound; LSTM: the forget gate; GRU: the update gate), the
//! headline, the gates.

use super::{opt, pct};
use crate::diagnostics::recurrent::{
    BlockSpectrum, DecayMeasure, GateStats, RecurrentLayerVerdict, RecurrentRecord,
    RecurrentVerdict,
};
use crate::diagnostics::verdict::{ranges, sci, Flow, Verdict};
use crate::diagnostics::Thresholds;
use crate::recurrent::{CellKind, Predict};

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
        .map(|l| l.layer.to_string())
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

/// The through-time explanation of `v`, about its layer `main`, with the truncation facts
/// of the first record `rec`.
pub(crate) fn through_time(
    v: &RecurrentVerdict,
    main: usize,
    rec: &RecurrentRecord,
    max_grad_norm: f64,
    t: &Thresholds,
) -> String {
    let Some(l) = v.layers.get(main) else {
        return String::new();
    };
    let mut s = String::new();
    let n_layers = v.layers.len();
    let which = if n_layers > 1 {
        format!(", layer {} of {n_layers}", main + 1)
    } else {
        String::new()
    };
    let span = l.span;
    let after = format!("{} after {span} steps", sci(l.first_to_last));
    match l.measure {
        DecayMeasure::Gradient => s.push_str(&format!(
            "Through time ({} steps{which}): ‖∂L/∂h_{}‖/‖∂L/∂h_T‖ = {}, ×{} per step going back \
             in time (geometric mean over the measured steps {}–{}). ",
            v.steps,
            v.steps.saturating_sub(span).max(1),
            sci(l.first_to_last),
            sci(l.per_step_factor),
            l.first_step,
            l.last_step
        )),
        DecayMeasure::Jacobian => s.push_str(&format!(
            "Through time ({} steps{which}): every step receives its own gradient, so the decay \
             is measured on a gradient injected at step T alone and carried back through the \
             measured Jacobians: ×{} per step, {after}. ",
            v.steps,
            sci(l.per_step_factor)
        )),
        DecayMeasure::MixedGradient => s.push_str(&format!(
            "Through time ({} steps{which}): ‖∂L/∂h_1‖/‖∂L/∂h_T‖ = {}, ×{} per step; every step \
             receives its own gradient, so this mixes fresh gradient with gradient carried \
             through time and understates a decay. ",
            v.steps,
            sci(l.first_to_last),
            sci(l.per_step_factor)
        )),
    }
    if rec
        .layers
        .get(main)
        .is_some_and(|r| r.truncation_not_applied)
    {
        s.push_str(&format!(
            "model.recurrent.truncate = {} is set, but the gradient crossed the chunk boundaries: \
             truncation was not applied, the decay is taken over the whole sequence. ",
            rec.truncate.unwrap_or(0)
        ));
    }
    if rec.layers.get(main).is_some_and(|r| r.window_start > 1) {
        s.push_str(&format!(
            "The decay is taken over the last truncation chunk (model.recurrent.truncate = {}). ",
            rec.truncate.unwrap_or(0)
        ));
    }
    if l.underflow {
        s.push_str(
            "The earliest steps' gradient is exactly 0: it underflowed the floating-point range. ",
        );
    }
    let changed = |a: f64, b: f64| (a - b).abs() > 0.05 * a.abs().max(1e-12);
    match v.cell {
        CellKind::Rnn => {
            let act = v.activation.map_or(String::new(), |a| a.to_string());
            let (gamma, thr, bf) = (
                l.gamma.unwrap_or(f64::NAN),
                l.pascanu_threshold.unwrap_or(f64::NAN),
                l.bound_factor.unwrap_or(f64::NAN),
            );
            let sig = l.sigma_max_first;
            let rho = l.spectral_radius_first.unwrap_or(f64::NAN);
            s.push_str(&format!(
                "By the chain rule ∂h_t/∂h_{{t−1}} = diag(f'(a_t))·W_hh, so each step multiplies \
                 the gradient norm by at most γ·σ_max(W_hh), with γ = max |f'| = {} for {act}. ",
                sci(gamma)
            ));
            let step = l.first_step;
            let later = if l.last_step != step && changed(sig, l.sigma_max_last) {
                format!(
                    " (σ_max = {} by step {})",
                    sci(l.sigma_max_last),
                    l.last_step
                )
            } else {
                String::new()
            };
            let h = gate(l, "h");
            let units = h.map_or(String::new(), |g| {
                format!(
                    ", and the units' mean |f'(a)| = {} ({} saturated) shrinks it further \
                     (ρ·mean |f'| = {})",
                    sci(g.mean_abs_derivative),
                    pct(g.saturated_fraction),
                    sci(rho * g.mean_abs_derivative)
                )
            });
            match v.flow {
                Flow::Vanishing if bf < 1.0 => s.push_str(&format!(
                    "At step {step} σ_max(W_hh) = {} < 1/γ = {}{later}: the gradient through \
                     time must vanish (the sufficient condition of Pascanu et al. 2013), by at \
                     least ×{} per step; measured ×{} per step, {after}.",
                    sci(sig),
                    sci(thr),
                    sci(bf),
                    sci(l.per_step_factor)
                )),
                Flow::Vanishing => s.push_str(&format!(
                    "At step {step} σ_max(W_hh) = {} ≥ 1/γ = {}{later}, so the bound alone allows \
                     growth, but the typical factor is smaller: powers of W_hh shrink like \
                     ρ(W_hh)^k with ρ = {}{units}; measured ×{} per step, {after}.",
                    sci(sig),
                    sci(thr),
                    sci(rho),
                    sci(l.per_step_factor)
                )),
                Flow::Exploding if l.flow != Flow::Exploding => s.push_str(&format!(
                    "At step {step} σ_max(W_hh) = {}, 1/γ = {}{later}; the gradient through time \
                     does not grow (×{} per step, {after}), but the largest global gradient norm, \
                     {}, is above exploding_norm = {}: large weight gradients — ∂L/∂W_hh = Σ_t \
                     δ_t·h_{{t−1}}ᵀ grows with the hidden states, which {act} does not bound.",
                    sci(sig),
                    sci(thr),
                    sci(l.per_step_factor),
                    sci(max_grad_norm),
                    sci(t.exploding_norm)
                )),
                Flow::Exploding if bf > 1.0 => s.push_str(&format!(
                    "At step {step} σ_max(W_hh) = {} > 1/γ = {}{later}: the necessary condition \
                     for exploding holds (ρ(W_hh) = {}); measured ×{} per step, {after} \
                     (largest global gradient norm {}).",
                    sci(sig),
                    sci(thr),
                    sci(rho),
                    sci(l.per_step_factor),
                    sci(max_grad_norm)
                )),
                Flow::Exploding => s.push_str(&format!(
                    "At step {step} σ_max(W_hh) = {} ≤ 1/γ = {}{later}: the gradient through time \
                     cannot explode by Pascanu et al.'s bound; the large gradient (largest global \
                     gradient norm {}) comes from elsewhere in the network.",
                    sci(sig),
                    sci(thr),
                    sci(max_grad_norm)
                )),
                Flow::Healthy => s.push_str(&format!(
                    "At step {step} σ_max(W_hh) = {}, ρ(W_hh) = {}, 1/γ = {}{later} (γ·σ_max = \
                     {}); the measured ×{} per step keeps the gradient within the thresholds \
                     over {span} steps (total {}–{}, or ×{}–×{} per step): healthy.",
                    sci(sig),
                    sci(rho),
                    sci(thr),
                    sci(bf),
                    sci(l.per_step_factor),
                    sci(t.vanishing_ratio),
                    sci(t.exploding_ratio),
                    sci(t.per_layer_vanishing),
                    sci(t.per_layer_exploding)
                )),
            }
            if let Some(g) = h.filter(|g| g.saturated_fraction > t.saturated) {
                if act == "relu" {
                    s.push_str(&format!(
                        " {} of the relu units are inactive (a < 0, f'(a) = 0): no gradient \
                         passes through them.",
                        pct(g.saturated_fraction)
                    ));
                } else {
                    s.push_str(&format!(
                        " {} of the {act} units are saturated (|f'(a)| under 1% of its maximum).",
                        pct(g.saturated_fraction)
                    ));
                }
            }
        }
        CellKind::Lstm => {
            let f = gate(l, "f");
            s.push_str(&format!(
                "The LSTM's memory c_t = f_t⊙c_{{t−1}} + i_t⊙g_t carries the gradient back along \
                 ∂c_t/∂c_{{t−1}} = diag(f_t) — the forget gate, with no W_hh and no squashing \
                 derivative{}",
                match f {
                    Some(g) => format!(
                        ": mean forget gate {}{} ({} of units saturated open, {} shut)",
                        sci(g.mean),
                        gates_when_layer(l),
                        pct(g.saturated_high),
                        pct(g.saturated_low)
                    ),
                    None => " (the gate values need the layer's input, which this probe did \
                             not receive)"
                        .to_string(),
                }
            ));
            if let (Some(r), Some(c)) = (l.cell_first_to_last, l.cell_per_step_factor) {
                s.push_str(&format!(
                    "; ‖∂L/∂c_1‖/‖∂L/∂c_(T−1)‖ = {}, ×{} per step",
                    sci(r),
                    sci(c)
                ));
            }
            s.push_str(". ");
            s.push_str(&blocks_sentence(l, "i/f/g/o"));
            s.push_str(&flow_sentence(v.flow, l, t, max_grad_norm));
        }
        CellKind::Gru => {
            let z = gate(l, "z");
            s.push_str(&format!(
                "The GRU's h_t = z_t⊙h_{{t−1}} + (1 − z_t)⊙n_t carries the gradient back along \
                 diag(z_t) directly, and through W_hh via the r, z, n blocks{}. ",
                match z {
                    Some(g) => format!(
                        ": mean update gate z = {}{}",
                        sci(g.mean),
                        gates_when_layer(l)
                    ),
                    None => " (the gate values need the layer's input, which this probe did \
                             not receive)"
                        .to_string(),
                }
            ));
            s.push_str(&blocks_sentence(l, "r/z/n"));
            s.push_str(&flow_sentence(v.flow, l, t, max_grad_norm));
        }
    }
    let (nv, ne) = (l.vanishing_steps.len(), l.exploding_steps.len());
    if nv > 0 && ne > 0 {
        let list = |v: &[u64]| ranges(&v.iter().map(|x| *x as usize).collect::<Vec<_>>());
        s.push_str(&format!(
            " The flow changes during the run: exploding at measured step{} {}, vanishing at {} \
             (the verdict takes the geometric mean over the measured steps; use a short --steps \
             to judge the initialization).",
            if ne > 1 { "s" } else { "" },
            list(&l.exploding_steps),
            list(&l.vanishing_steps)
        ));
    } else if v.flow == Flow::Vanishing && max_grad_norm > t.exploding_norm {
        s.push_str(&format!(
            " The largest global gradient norm, {}, is above exploding_norm = {}: some step's \
             gradient exploded elsewhere in the network.",
            sci(max_grad_norm),
            sci(t.exploding_norm)
        ));
    }
    for o in v.layers.iter().filter(|o| o.layer != main + 1) {
        s.push_str(&format!(
            " Layer {}: {} (×{} per step, {} over {} steps{}).",
            o.layer,
            o.flow.name(),
            sci(o.per_step_factor),
            sci(o.first_to_last),
            o.span,
            match o.measure {
                DecayMeasure::MixedGradient => ", mixed with its per-step input gradient",
                DecayMeasure::Jacobian => ", Jacobian product",
                DecayMeasure::Gradient => "",
            }
        ));
    }
    s.trim().to_string()
}

/// " at step 1" when the gates of a layer come from fewer than all measured steps.
fn gates_when_layer(l: &RecurrentLayerVerdict) -> String {
    if l.gate_steps.len() == l.measured_steps {
        return String::new();
    }
    let steps: Vec<usize> = l.gate_steps.iter().map(|s| *s as usize).collect();
    format!(
        " at step{} {}",
        if steps.len() > 1 { "s" } else { "" },
        ranges(&steps)
    )
}

fn blocks_sentence(l: &RecurrentLayerVerdict, names: &str) -> String {
    if l.blocks_first.is_empty() {
        return String::new();
    }
    let list = |f: fn(&BlockSpectrum) -> f64| {
        l.blocks_first
            .iter()
            .map(|b| sci(f(b)))
            .collect::<Vec<_>>()
            .join("/")
    };
    format!(
        "The h path crosses W_hh: blocks {names} at step {} have σ_max {} and ρ {} (whole W_hh: \
         σ_max = {}). ",
        l.first_step,
        list(|b| b.sigma_max),
        list(|b| b.spectral_radius),
        sci(l.sigma_max_first)
    )
}

fn flow_sentence(flow: Flow, l: &RecurrentLayerVerdict, t: &Thresholds, max_norm: f64) -> String {
    let after = format!("{} of h_T after {} steps", sci(l.first_to_last), l.span);
    match flow {
        Flow::Vanishing => format!(
            "The gradient reaching the first step is {after}: it vanishes (thresholds: total {} or \
             ×{} per step).",
            sci(t.vanishing_ratio),
            sci(t.per_layer_vanishing)
        ),
        Flow::Exploding => format!(
            "The gradient reaching the first step is {after}: it explodes (largest global \
             gradient norm {}).",
            sci(max_norm)
        ),
        Flow::Healthy => format!(
            "The gradient reaching the first step is {after}: within the thresholds, healthy."
        ),
    }
}

fn gate<'a>(l: &'a RecurrentLayerVerdict, name: &str) -> Option<&'a GateStats> {
    l.gates.iter().find(|g| g.gate == name)
}
