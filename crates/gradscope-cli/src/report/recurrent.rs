//! The gradient through time in the `diagnose` report: ‖∂L/∂h_t‖ against the time step with
//! Pascanu et al.'s geometric bound, the spectrum of W_hh, the gates — as diagnosis.json
//! data, tables and SVG charts.

use anyhow::Result;
use gradscope::diagnostics::recurrent::{
    DecayMeasure, RecurrentLayerRecord, RecurrentLayerVerdict, RecurrentVerdict,
};
use gradscope::diagnostics::StepRecord;
use gradscope::recurrent::{CellKind, Predict};
use plotters::prelude::SeriesLabelPosition;

use super::charts::{heatmap, line_chart, Heatmap, Line, LineChart};
use super::{pct, sci, spread};

/// One stacked layer's profiles for diagnosis.json.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ThroughTimeLayer {
    /// 1-based position in the stack.
    pub layer: usize,
    /// Time steps T.
    pub steps: usize,
    /// The first measured training step.
    pub first_step: u64,
    /// The last measured training step.
    pub last_step: u64,
    /// ‖∂L/∂h_t‖, t = 1..T, at the first measured step.
    pub grad_norms_first: Vec<f64>,
    /// ‖∂L/∂h_t‖, t = 1..T, at the last measured step.
    pub grad_norms_last: Vec<f64>,
    /// LSTM: ‖∂L/∂c_t‖ at the first measured step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_grad_norms_first: Option<Vec<f64>>,
    /// RNN: ‖∂L/∂h_T‖·(γ·σ_max)^(T−t) at the first measured step — Pascanu et al.'s bound on
    /// a gradient that enters at step T.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_first: Option<Vec<f64>>,
    /// RNN: the Jacobian product on a unit vector injected at T, at the first measured step
    /// (scaled to ‖∂L/∂h_T‖).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jacobian_first: Option<Vec<f64>>,
}

/// The through-time part of diagnosis.json (the verdict itself is `verdict.recurrent`).
#[derive(Clone, Debug, serde::Serialize)]
pub struct ThroughTime {
    /// The recurrent layer's description.
    pub name: String,
    /// Per stacked layer.
    pub layers: Vec<ThroughTimeLayer>,
}

fn layer_at(r: &StepRecord, k: usize) -> Option<&RecurrentLayerRecord> {
    r.recurrent.as_ref()?.layers.get(k)
}

/// ‖∂L/∂h_T‖·(γσ_max)^(T−t) for t = 1..T.
fn bound(l: &RecurrentLayerRecord) -> Option<Vec<f64>> {
    let f = l.gamma? * l.sigma_max;
    let last = *l.grad_norms.last()?;
    let t = l.grad_norms.len();
    Some((0..t).map(|i| last * f.powi((t - 1 - i) as i32)).collect())
}

fn jacobian_scaled(l: &RecurrentLayerRecord) -> Option<Vec<f64>> {
    let last = *l.grad_norms.last()?;
    Some(
        l.jacobian_norms
            .as_ref()?
            .iter()
            .map(|v| v * last)
            .collect(),
    )
}

/// The profiles of the first and last measured steps (None without recurrent records).
pub fn through_time(records: &[StepRecord]) -> Option<ThroughTime> {
    let recs: Vec<&StepRecord> = records.iter().filter(|r| r.recurrent.is_some()).collect();
    let (first, last) = (recs.first()?, recs.last()?);
    let rr = first.recurrent.as_ref()?;
    let layers = (0..rr.layers.len())
        .filter_map(|k| {
            let a = layer_at(first, k)?;
            let b = layer_at(last, k)?;
            Some(ThroughTimeLayer {
                layer: k + 1,
                steps: a.steps,
                first_step: first.step,
                last_step: last.step,
                grad_norms_first: a.grad_norms.clone(),
                grad_norms_last: b.grad_norms.clone(),
                cell_grad_norms_first: a.cell_grad_norms.clone(),
                bound_first: bound(a),
                jacobian_first: (a.source
                    == gradscope::diagnostics::recurrent::GradientSource::EveryStep)
                    .then(|| jacobian_scaled(a))
                    .flatten(),
            })
        })
        .collect();
    Some(ThroughTime {
        name: rr.name.clone(),
        layers,
    })
}

/// About 11 time steps from T down to 1 (1-based): T, then every ⌈T/10⌉ steps back, and 1.
pub fn sampled_steps(t: usize) -> Vec<usize> {
    if t == 0 {
        return Vec::new();
    }
    let stride = t.div_ceil(10).max(1);
    let mut v: Vec<usize> = (0..)
        .map(|k| t as i64 - (k * stride) as i64)
        .take_while(|s| *s >= 1)
        .map(|s| s as usize)
        .collect();
    if v.last() != Some(&1) {
        v.push(1);
    }
    v
}

/// The header and rows of the sampled ‖∂L/∂h_t‖ table of one layer.
pub fn profile_table(l: &ThroughTimeLayer) -> (Vec<String>, Vec<Vec<String>>) {
    let (a, b) = (l.first_step, l.last_step);
    let mut header = vec![
        "t".to_string(),
        format!("|dL/dh_t| step {a}"),
        format!("|dL/dh_t| step {b}"),
        format!("ratio to t=T, step {a}"),
    ];
    if l.bound_first.is_some() {
        header.push("bound (γσ_max)^(T−t)".into());
    }
    if l.jacobian_first.is_some() {
        header.push("Jacobian product".into());
    }
    if l.cell_grad_norms_first.is_some() {
        header.push(format!("|dL/dc_t| step {a}"));
    }
    let last = l.grad_norms_first.last().copied().unwrap_or(f64::NAN);
    let rows = sampled_steps(l.steps)
        .into_iter()
        .map(|t| {
            let i = t - 1;
            let mut row = vec![
                t.to_string(),
                sci(l.grad_norms_first[i]),
                l.grad_norms_last.get(i).map_or("-".into(), |v| sci(*v)),
                sci(l.grad_norms_first[i] / last),
            ];
            if let Some(bd) = &l.bound_first {
                row.push(sci(bd[i] / last));
            }
            if let Some(j) = &l.jacobian_first {
                row.push(sci(j[i] / last));
            }
            if let Some(c) = &l.cell_grad_norms_first {
                row.push(sci(c[i]));
            }
            row
        })
        .collect();
    (header, rows)
}

/// The spectral table's header.
pub fn spectral_header(v: &RecurrentVerdict) -> Vec<String> {
    let (a, b) = v
        .layers
        .first()
        .map_or((1, 1), |l| (l.first_step, l.last_step));
    vec![
        "layer".into(),
        "W_hh block".into(),
        format!("ρ step {a}"),
        format!("σ_max step {a}"),
        format!("ρ step {b}"),
        format!("σ_max step {b}"),
        "γ".into(),
        "1/γ".into(),
        "γ·σ_max".into(),
    ]
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), sci)
}

/// The spectral table's rows: per layer the whole W_hh, and each gate block of LSTM/GRU.
pub fn spectral_rows(v: &RecurrentVerdict) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for l in &v.layers {
        let layer = (l.layer + 1).to_string();
        for (bf, bl) in l.blocks_first.iter().zip(&l.blocks_last) {
            rows.push(vec![
                layer.clone(),
                bf.block.clone(),
                sci(bf.spectral_radius),
                sci(bf.sigma_max),
                sci(bl.spectral_radius),
                sci(bl.sigma_max),
                "-".into(),
                "-".into(),
                "-".into(),
            ]);
        }
        rows.push(vec![
            layer,
            if l.blocks_first.is_empty() {
                "W_hh".into()
            } else {
                "whole".into()
            },
            opt(l.spectral_radius_first),
            sci(l.sigma_max_first),
            opt(l.spectral_radius_last),
            sci(l.sigma_max_last),
            opt(l.gamma),
            opt(l.pascanu_threshold),
            opt(l.bound_factor),
        ]);
    }
    rows
}

/// The gates table's header.
pub const GATE_HEADER: [&str; 8] = [
    "layer",
    "gate",
    "activation",
    "mean",
    "mean |f'|",
    "saturated",
    "low",
    "high",
];

fn gate_name(cell: CellKind, g: &str) -> String {
    let long = match (cell, g) {
        (CellKind::Lstm, "i") => "input",
        (CellKind::Lstm, "f") => "forget",
        (CellKind::Lstm, "g") => "cell candidate",
        (CellKind::Lstm, "o") => "output",
        (CellKind::Gru, "r") => "reset",
        (CellKind::Gru, "z") => "update",
        (CellKind::Gru, "n") => "candidate",
        _ => "hidden units",
    };
    format!("{g} ({long})")
}

/// The gates table's rows (means over the measured steps).
pub fn gate_rows(v: &RecurrentVerdict) -> Vec<Vec<String>> {
    v.layers
        .iter()
        .flat_map(|l| {
            l.gates.iter().map(move |g| {
                vec![
                    (l.layer + 1).to_string(),
                    gate_name(v.cell, &g.gate),
                    g.activation.clone(),
                    sci(g.mean),
                    sci(g.mean_abs_derivative),
                    pct(Some(g.saturated_fraction)),
                    pct(Some(g.saturated_low)),
                    pct(Some(g.saturated_high)),
                ]
            })
        })
        .collect()
}

/// Which measured steps the gate values are means over: "means over the measured steps", or
/// the steps that have them when the probe could not recompute them at every step.
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

/// Why a layer has no gate rows, if one has none.
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
             input, which the probe was not given (Probe::measure_with_input).",
            missing.join(", ")
        )
    })
}

/// The headline numbers of the through-time verdict.
pub fn headline(v: &RecurrentVerdict, max_grad_norm: f64) -> String {
    let Some(l) = main_layer(v) else {
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

/// The layer the verdict is mostly about: the first judged layer with the overall flow.
pub fn main_layer(v: &RecurrentVerdict) -> Option<&RecurrentLayerVerdict> {
    let judged: Vec<&RecurrentLayerVerdict> = v
        .layers
        .iter()
        .filter(|l| l.measure != DecayMeasure::MixedGradient)
        .collect();
    let pool = if judged.is_empty() {
        v.layers.iter().collect()
    } else {
        judged
    };
    pool.iter()
        .find(|l| l.flow == v.flow)
        .or(pool.last())
        .copied()
}

/// A short description of the model's prediction mode.
pub fn predict_text(p: Predict) -> &'static str {
    match p {
        Predict::Last => "many-to-one: only h_T feeds the head",
        Predict::EveryStep => "many-to-many: every h_t feeds the head",
    }
}

/// The through-time charts: (title, file name, SVG, caption).
pub fn charts(
    records: &[StepRecord],
    tt: &ThroughTime,
) -> Result<Vec<(String, String, String, String)>> {
    let mut out = Vec::new();
    // A recurrent model's records all have the recurrent part.
    let owned = records;
    let n_layers = tt.layers.len();
    for l in &tt.layers {
        let k = l.layer - 1;
        let suffix = if n_layers > 1 {
            format!(" (layer {})", l.layer)
        } else {
            String::new()
        };
        let file_suffix = if n_layers > 1 {
            format!("_l{}", l.layer)
        } else {
            String::new()
        };
        let mut lines: Vec<Line> = spread(owned, 5)
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let lr = layer_at(r, k)?;
                Some(Line {
                    label: format!("step {}", r.step),
                    points: lr
                        .grad_norms
                        .iter()
                        .enumerate()
                        .map(|(t, g)| ((t + 1) as f64, *g))
                        .collect(),
                    dashed: false,
                    color: i,
                    markers: lr.grad_norms.len() <= 40,
                })
            })
            .collect();
        let pts = |v: &[f64]| -> Vec<(f64, f64)> {
            v.iter()
                .enumerate()
                .map(|(t, g)| ((t + 1) as f64, *g))
                .collect()
        };
        if let Some(c) = &l.cell_grad_norms_first {
            lines.push(Line {
                label: format!("|dL/dc_t|, step {}", l.first_step),
                points: pts(c),
                dashed: true,
                color: 6,
                markers: false,
            });
        }
        if let Some(j) = &l.jacobian_first {
            lines.push(Line {
                label: format!("Jacobian product from T, step {}", l.first_step),
                points: pts(j),
                dashed: true,
                color: 5,
                markers: false,
            });
        }
        if let Some(bd) = &l.bound_first {
            lines.push(Line {
                label: format!("bound (γσ_max)^(T−t), step {}", l.first_step),
                points: pts(bd),
                dashed: true,
                color: 7,
                markers: false,
            });
        }
        // The legend goes where the lines are not: the measured lines end at t = T, at the
        // right; put it below them if they end in the upper half of the (log) range.
        let logs: Vec<f64> = lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.1))
            .filter(|v| *v > 0.0 && v.is_finite())
            .map(f64::log10)
            .collect();
        let mid = (logs.iter().copied().fold(f64::INFINITY, f64::min)
            + logs.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            / 2.0;
        let ends_high = lines
            .iter()
            .filter(|l| !l.dashed)
            .filter_map(|l| l.points.last())
            .all(|p| p.1 > 0.0 && p.1.log10() > mid);
        let legend = if ends_high {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        };
        let title = format!("Gradient through time |dL/dh_t|{suffix}");
        let svg = line_chart(
            &LineChart {
                title: &title,
                x_label: "time step t (T = last, where the loss enters)",
                y_label: "|dL/dh_t| (log scale)",
                lines,
                log_y: true,
                y_range: None,
                legend,
            },
            (820, 500),
        )?;
        out.push((
            title.clone(),
            format!("grad_through_time{file_suffix}.svg"),
            svg,
            "‖∂L/∂h_t‖ (L2 norm over the batch) against the time step t at several measured \
             training steps. Going left is going back in time: a straight line on the log axis \
             is a constant factor per step, falling to the left is a gradient that vanishes \
             through time. Dashed: Pascanu et al.'s bound ‖∂L/∂h_T‖·(γ·σ_max(W_hh))^(T−t) at \
             the first measured step (RNN), ‖∂L/∂c_t‖ of an LSTM's memory, and for an RNN whose \
             steps each receive their own gradient, a gradient injected at T alone and carried \
             back through the measured Jacobians."
                .to_string(),
        ));
        // Heatmap: log10 ‖∂L/∂h_t‖, training step × time step.
        let steps = l.steps;
        let values: Vec<Vec<f64>> = owned
            .iter()
            .map(|r| {
                (0..steps)
                    .map(|t| {
                        layer_at(r, k)
                            .and_then(|x| x.grad_norms.get(t))
                            .map_or(f64::NAN, |g| g.log10())
                    })
                    .collect()
            })
            .collect();
        let title = format!("log10 |dL/dh_t| by time step and training step{suffix}");
        let svg = heatmap(
            &Heatmap {
                title: &title,
                x_label: "time step t",
                y_label: "training step",
                columns: (1..=steps).map(|t| t.to_string()).collect(),
                rows: owned.iter().map(|r| r.step.to_string()).collect(),
                values,
                scale_label: "log10 |dL/dh_t|",
            },
            (820, 460),
        )?;
        out.push((
            title,
            format!("heatmap_through_time{file_suffix}.svg"),
            svg,
            "Each cell is log10 ‖∂L/∂h_t‖ at one time step (columns) and one measured training \
             step (rows, first at the bottom). A colour gradient along a row is the gradient \
             changing through time; a change down a column is training moving it."
                .to_string(),
        ));
    }
    Ok(out)
}
