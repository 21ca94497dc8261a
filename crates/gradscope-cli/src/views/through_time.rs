//! The gradient through time of a recurrent model in the `diagnose` report: ‖∂L/∂h_t‖ against
//! t with Pascanu et al.'s bound, the spectrum of W_hh and the gates as tables, and the
//! through-time charts — per recurrent encoder, from the diagnosis' `through_time` profiles
//! and `verdict.recurrent` verdicts.

use anyhow::Result;
use gradscope::diagnostics::profile::ThroughTimeLayer;
use gradscope::diagnostics::recurrent::RecurrentVerdict;
use gradscope::diagnostics::{explain, Diagnosis, StepRecord};

use super::cells::{opt, pct, sci, spread};
use crate::chart::frame::Scale;
use crate::chart::{Dash, Heatmap, LineChart, Series};
use crate::render::{Chart, Document, Table};

/// The sampled ‖∂L/∂h_t‖ table of one stacked layer.
fn profile_table(l: &ThroughTimeLayer) -> Table {
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
    let rows = l
        .sampled_rows()
        .iter()
        .map(|r| {
            let mut row = vec![
                r.t.to_string(),
                sci(r.grad_first),
                opt(r.grad_last),
                sci(r.ratio_first),
            ];
            if l.bound_first.is_some() {
                row.push(opt(r.bound_ratio));
            }
            if l.jacobian_first.is_some() {
                row.push(opt(r.jacobian_ratio));
            }
            if l.cell_grad_norms_first.is_some() {
                row.push(opt(r.cell_grad_first));
            }
            row
        })
        .collect();
    Table::new(header, rows, 0)
}

/// The spectrum of W_hh per stacked layer (and per gate block of an LSTM/GRU).
fn spectral_table(v: &RecurrentVerdict) -> Table {
    let (a, b) = v
        .layers
        .first()
        .map_or((1, 1), |l| (l.first_step, l.last_step));
    let header = vec![
        "layer".into(),
        "W_hh block".into(),
        format!("ρ step {a}"),
        format!("σ_max step {a}"),
        format!("ρ step {b}"),
        format!("σ_max step {b}"),
        "γ".into(),
        "1/γ".into(),
        "γ·σ_max".into(),
    ];
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
    Table::new(header, rows, 2)
}

const GATE_HEADER: [&str; 8] = [
    "layer",
    "gate",
    "activation",
    "mean",
    "mean |f'|",
    "saturated",
    "low",
    "high",
];

fn gate_table(v: &RecurrentVerdict) -> Table {
    let rows = v
        .layers
        .iter()
        .flat_map(|l| {
            l.gates.iter().map(move |g| {
                vec![
                    (l.layer + 1).to_string(),
                    explain::gate_name(v.cell, &g.gate),
                    g.activation.to_string(),
                    sci(g.mean),
                    sci(g.mean_abs_derivative),
                    pct(Some(g.saturated_fraction)),
                    pct(Some(g.saturated_low)),
                    pct(Some(g.saturated_high)),
                ]
            })
        })
        .collect();
    Table::new(GATE_HEADER.iter().map(|h| h.to_string()).collect(), rows, 3)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

/// The through-time tables of every recurrent encoder.
pub fn tables(doc: &mut Document, d: &Diagnosis) {
    let many = d.through_time.len() > 1;
    for (tt, rv) in d.through_time.iter().zip(&d.verdict.recurrent) {
        doc.p(format!(
            "{} ({}), T = {} steps.",
            tt.name,
            explain::predict_mode(rv.predict),
            rv.steps
        ));
        let of = if many {
            format!(" ({})", tt.path)
        } else {
            String::new()
        };
        for l in &tt.layers {
            doc.h3(if tt.layers.len() > 1 {
                format!("‖∂L/∂h_t‖ against t, layer {}{of}", l.layer)
            } else {
                format!("‖∂L/∂h_t‖ against t{of}")
            });
            doc.note(format!(
                "‖∂L/∂h_t‖ at training steps {} and {}; the ratio to t = T{} at step {}.",
                l.first_step,
                l.last_step,
                if l.bound_first.is_some() {
                    " and Pascanu et al.'s bound (γ·σ_max(W_hh))^(T−t)"
                } else if l.cell_grad_norms_first.is_some() {
                    " and the memory's ‖∂L/∂c_t‖"
                } else {
                    ""
                },
                l.first_step
            ));
            doc.table(profile_table(l));
        }
        doc.h3(format!("Spectrum of W_hh{of}"));
        doc.note(
            "ρ: spectral radius (largest |eigenvalue|), σ_max: largest singular value, γ = max \
             |f'| of the RNN activation (from the catalogue's computed properties). By the chain \
             rule ∂h_t/∂h_{t−1} = diag(f'(a_t))·W_hh, so each step scales the gradient by at \
             most γ·σ_max: σ_max < 1/γ forces it to vanish, σ_max > 1/γ is needed for it to \
             explode (Pascanu, Mikolov & Bengio 2013). LSTM/GRU: each gate block of W_hh, and \
             the whole.",
        );
        doc.table(spectral_table(rv));
        doc.h3(format!("Gates{of}"));
        doc.note(format!(
            "{} of every time step, sample and unit. saturated: |f'(a)| under 1% of its maximum \
             (low: a < 0 — a sigmoid gate shut, tanh at −1; high: a ≥ 0 — a gate wide open, \
             tanh at +1).",
            capitalize(&explain::gates_when(rv))
        ));
        let gates = gate_table(rv);
        if !gates.rows.is_empty() {
            doc.table(gates);
        }
        if let Some(n) = explain::gates_note(rv) {
            doc.note(n);
        }
    }
}

/// The through-time charts of every recurrent encoder: ‖∂L/∂h_t‖ against t at several
/// training steps with the bound, and the training step × time step heatmap.
pub fn charts(doc: &mut Document, d: &Diagnosis, records: &[StepRecord]) -> Result<()> {
    let many = d.through_time.len() > 1;
    for (e, tt) in d.through_time.iter().enumerate() {
        for l in &tt.layers {
            let k = l.layer - 1;
            let mut suffix = Vec::new();
            let mut file = String::new();
            if many {
                suffix.push(tt.path.clone());
                file.push_str(&format!("_{}", tt.path.replace('.', "_")));
            }
            if tt.layers.len() > 1 {
                suffix.push(format!("layer {}", l.layer));
                file.push_str(&format!("_l{}", l.layer));
            }
            let suffix = if suffix.is_empty() {
                String::new()
            } else {
                format!(" ({})", suffix.join(", "))
            };
            let norms = |r: &StepRecord| -> Option<Vec<f64>> {
                Some(r.recurrent.get(e)?.layers.get(k)?.grad_norms.clone())
            };
            let pts = |v: &[f64]| -> Vec<(f64, f64)> {
                v.iter()
                    .enumerate()
                    .map(|(t, g)| ((t + 1) as f64, *g))
                    .collect()
            };
            let mut series: Vec<Series> = spread(records, 5)
                .into_iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    let g = norms(r)?;
                    Some(Series::new(format!("step {}", r.step), pts(&g), i).markers(g.len() <= 40))
                })
                .collect();
            if let Some(c) = &l.cell_grad_norms_first {
                series.push(
                    Series::new(format!("|dL/dc_t|, step {}", l.first_step), pts(c), 6)
                        .dash(Dash::Dashed),
                );
            }
            if let Some(j) = &l.jacobian_first {
                series.push(
                    Series::new(
                        format!("Jacobian product from T, step {}", l.first_step),
                        pts(j),
                        5,
                    )
                    .dash(Dash::Dashed),
                );
            }
            if let Some(b) = &l.bound_first {
                series.push(
                    Series::new(
                        format!("bound (γσ_max)^(T−t), step {}", l.first_step),
                        pts(b),
                        7,
                    )
                    .dash(Dash::Dashed),
                );
            }
            let title = format!("Gradient through time |dL/dh_t|{suffix}");
            let svg = LineChart {
                title: &title,
                x_label: "time step t (T = last, where the loss enters)",
                y_label: "|dL/dh_t| (log scale)",
                x_name: "t",
                y_name: "|dL/dh_t|",
                series,
                y_scale: Scale::Log,
                y_range: None,
                size: (820, 480),
            }
            .render()?;
            doc.chart(Chart {
                title: title.clone(),
                file: format!("grad_through_time{file}.svg"),
                svg,
                caption: "‖∂L/∂h_t‖ (L2 norm over the batch) against the time step t at several \
                          measured training steps. Going left is going back in time: a straight \
                          line on the log axis is a constant factor per step, falling to the left \
                          is a gradient that vanishes through time. Dashed: Pascanu et al.'s \
                          bound ‖∂L/∂h_T‖·(γ·σ_max(W_hh))^(T−t) at the first measured step (RNN), \
                          ‖∂L/∂c_t‖ of an LSTM's memory, and for an RNN whose steps each receive \
                          their own gradient, a gradient injected at T alone and carried back \
                          through the measured Jacobians."
                    .into(),
            });
            let values: Vec<Vec<f64>> = records
                .iter()
                .map(|r| {
                    let g = norms(r).unwrap_or_default();
                    (0..l.steps)
                        .map(|t| g.get(t).map_or(f64::NAN, |v| v.log10()))
                        .collect()
                })
                .collect();
            let title = format!("log10 |dL/dh_t| by time step and training step{suffix}");
            let svg = Heatmap {
                title: &title,
                x_label: "time step t",
                y_label: "training step",
                x_name: "t",
                y_name: "step",
                columns: (1..=l.steps).map(|t| t.to_string()).collect(),
                rows: records.iter().map(|r| r.step.to_string()).collect(),
                values,
                scale_label: "log10 |dL/dh_t|",
                size: (820, 460),
            }
            .render()?;
            doc.chart(Chart {
                title,
                file: format!("heatmap_through_time{file}.svg"),
                svg,
                caption: "Each cell is log10 ‖∂L/∂h_t‖ at one time step (columns) and one \
                          measured training step (rows, first at the bottom). A colour gradient \
                          along a row is the gradient changing through time; a change down a \
                          column is training moving it."
                    .into(),
            });
        }
    }
    Ok(())
}
