//! The gradient through time of a recurrent model in the `diagnose` report as tables:
//! ‖∂L/∂h_t‖ against t with Pascanu et al.'s bound, the spectrum of W_hh and the gates — per
//! recurrent encoder, from the diagnosis' `through_time` profiles and `verdict.recurrent`
//! verdicts (the charts: [`super::through_time_charts`]).

use gradscope::diagnostics::profile::ThroughTimeLayer;
use gradscope::diagnostics::recurrent::RecurrentVerdict;
use gradscope::diagnostics::{explain, Diagnosis};

use super::cells::{opt, pct, sci};
use crate::render::{Document, Table};

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
        let layer = l.layer.to_string();
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
                    l.layer.to_string(),
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
