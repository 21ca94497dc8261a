//! The `diagnose` report from a [`Diagnosis`]: the verdict with its explanation and remedies,
//! the gradient through time (recurrent models) or the mean-field prediction, the per-layer
//! table, the charts.

use anyhow::Result;
use gradscope::diagnostics::{explain, Diagnosis, LayerRow, StepRecord, Thresholds};

use super::cells::{opt, pct, sci};
use super::{depth_charts, through_time, through_time_charts};
use crate::render::{Badge, Document, Table};

/// The per-layer table's header.
pub const LAYER_HEADER: [&str; 14] = [
    "depth",
    "layer",
    "|dL/dz| first",
    "|dL/dz| last",
    "ratio to last",
    "mean |f'|",
    "a mean ± sd",
    "saturated",
    "at range end",
    "dead",
    "update ratio",
    "factor √χ₁",
    "factor q_l",
    "factor meas",
];

/// The per-layer table.
pub fn layer_table(rows: &[LayerRow]) -> Table {
    let rows = rows
        .iter()
        .map(|r| {
            vec![
                r.depth.to_string(),
                r.activation
                    .map_or_else(|| r.name.clone(), |a| a.to_string()),
                opt(r.grad_norm_first),
                opt(r.grad_norm_last),
                sci(r.ratio_to_last),
                opt(r.mean_abs_derivative),
                match (r.act_mean, r.act_std) {
                    (Some(m), Some(sd)) => format!("{} ± {}", sci(m), sci(sd)),
                    _ => "-".into(),
                },
                pct(r.saturated_fraction),
                pct(r.range_end_fraction),
                pct(r.dead_fraction),
                opt(r.update_ratio),
                opt(r.predicted_factor),
                opt(r.transient_factor),
                opt(r.measured_factor),
            ]
        })
        .collect();
    Table::new(
        LAYER_HEADER.iter().map(|h| h.to_string()).collect(),
        rows,
        2,
    )
}

/// The report of a diagnosis; `records` are its run's records (the charts draw them), `t` the
/// thresholds it was judged with.
pub fn document(d: &Diagnosis, records: &[StepRecord], t: &Thresholds) -> Result<Document> {
    let v = &d.verdict;
    let mut doc = Document::new(format!("Gradient diagnosis: {}", d.config));
    doc.p(format!(
        "{}: {} steps, measured at {} steps (every {}).",
        d.config,
        d.steps,
        d.measured_steps.len(),
        d.every
    ));
    let words = explain::summary(d, t);
    if let Some(o) = words.outcome {
        doc.note(o);
    }
    let mut badges = vec![Badge::new("Verdict", words.flow)];
    if !v.problems.is_empty() {
        let names: Vec<&str> = v.problems.iter().map(|p| p.name()).collect();
        badges.push(Badge::new("Problems", names.join(", ")));
    }
    doc.verdict(badges, words.scope, words.headline);
    for p in words.paragraphs {
        doc.p(p);
    }
    if !words.remedies.is_empty() {
        doc.h2("Remedies");
        doc.list(true, words.remedies);
    }
    if v.recurrent.is_empty() {
        doc.h2("Theory");
        doc.p(d.theory_summary.clone());
    } else {
        doc.h2("Gradient through time");
        through_time::tables(&mut doc, d);
    }
    if !d.layers.is_empty() {
        let (a, b) = (
            d.measured_steps.first().copied().unwrap_or(0),
            d.measured_steps.last().copied().unwrap_or(0),
        );
        doc.h2("Per layer");
        doc.note(format!(
            "First = step {a}, last = step {b}. ratio to last: ‖δ_l‖/‖δ_L‖, geometric mean over \
             the measured steps (the verdict's number). a mean ± sd: the output's mean and \
             standard deviation. saturated (|f'(z)| under 1% of its maximum), at range end \
             (output within 2% of the range's width of an end of f's range), dead (output 0 for \
             every sample): mean share over the measured steps; a layer is saturated when the \
             larger of the first two is above the threshold (not judged for rectifiers, whose \
             flat side is their dead units). factor: ‖δ_l‖/‖δ_(l+1)‖ at step {a}, predicted by the mean-field \
             theory (√χ₁ at the fixed point q*; with the layer's own variance q_l) and measured. \
             update ratio: ‖ΔW‖/‖W‖ of the layer's incoming weights, mean."
        ));
        doc.table(layer_table(&d.layers));
    }
    doc.h2("Charts");
    if !v.recurrent.is_empty() {
        through_time_charts::charts(&mut doc, d, records)?;
    }
    if records.first().is_some_and(|r| !r.deltas().is_empty()) {
        depth_charts::charts(&mut doc, d, records, t)?;
    }
    depth_charts::loss(&mut doc, d)?;
    doc.note(format!(
        "Final batch-mode evaluation: train loss {}, validation loss {}. Wall time {:.2} s.",
        opt(d.train.map(|e| e.loss)),
        opt(d.val.map(|e| e.loss)),
        d.elapsed_s
    ));
    Ok(doc)
}
