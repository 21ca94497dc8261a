//! The `train` report from a run's files: the outcome and final numbers (`summary.json`), the
//! loss, accuracy, learning rate and gradient norm per epoch (`metrics.jsonl`) and, when the
//! run recorded diagnostics (`diagnostics.jsonl`), the verdict on them, the gradient flow by
//! depth over training and the recorded histograms per layer.

use anyhow::Result;
use gradscope::diagnostics::{explain, judge, StepRecord, Thresholds};
use gradscope::train::{EpochRecord, Summary};

use super::cells::{acc, opt, spread};
use super::depth_charts::{self, chart};
use super::distribution_charts;
use crate::chart::frame::Scale;
use crate::chart::{Dash, LineChart, Series};
use crate::render::{Badge, Document};

/// One series of per-epoch values (epochs without the value are left out).
fn per_epoch(
    label: &str,
    metrics: &[EpochRecord],
    get: impl Fn(&EpochRecord) -> Option<f64>,
    i: usize,
) -> Option<Series> {
    let pts: Vec<(f64, f64)> = metrics
        .iter()
        .filter_map(|r| Some((r.epoch as f64, get(r)?)))
        .collect();
    (!pts.is_empty()).then(|| Series::new(label, pts, i).markers(metrics.len() <= 60))
}

/// A per-epoch line chart (none without any point).
fn epoch_chart(
    doc: &mut Document,
    title: &str,
    file: &str,
    y_label: &str,
    y_scale: Scale,
    series: Vec<Option<Series>>,
    caption: &str,
) -> Result<()> {
    let series: Vec<Series> = series.into_iter().flatten().collect();
    if series.is_empty() {
        return Ok(());
    }
    let svg = LineChart {
        title,
        x_label: "epoch",
        y_label,
        x_name: "epoch",
        y_name: y_label,
        series,
        y_scale,
        y_range: None,
        size: (820, 380),
    }
    .render()?;
    chart(doc, title, file, svg, caption);
    Ok(())
}

/// ‖∂L/∂z‖ of hidden layers (up to 8, spread over the depths) against the measured step.
fn gradient_flow(doc: &mut Document, records: &[StepRecord]) -> Result<()> {
    let Some(first) = records.first() else {
        return Ok(());
    };
    let depths: Vec<usize> = first.deltas().iter().map(|d| d.0).collect();
    if depths.is_empty() {
        return Ok(());
    }
    let series = spread(&depths, 8)
        .into_iter()
        .enumerate()
        .map(|(i, &depth)| {
            let pts = records
                .iter()
                .filter_map(|r| Some((r.step as f64, r.at_depth(depth)?.grad_in_norm?)))
                .collect();
            Series::new(format!("layer {depth}"), pts, i).markers(records.len() <= 60)
        })
        .collect();
    let title = "Gradient norm |dL/dz| by layer over training";
    let svg = LineChart {
        title,
        x_label: "step",
        y_label: "|dL/dz| (log scale)",
        x_name: "step",
        y_name: "|dL/dz|",
        series,
        y_scale: Scale::Log,
        y_range: None,
        size: (820, 440),
    }
    .render()?;
    chart(
        doc,
        title,
        "grad_flow.svg",
        svg,
        "‖∂L/∂z‖ (L2 norm over the batch) of hidden layers at every measured step, layer 1 \
         next to the input: lines far apart are a gradient that shrinks or grows with depth.",
    );
    Ok(())
}

/// The report of a training run named `source`; `records` are its diagnostics (empty
/// without `[diagnostics]`), judged with `thresholds`.
pub fn document(
    source: &str,
    summary: &Summary,
    metrics: &[EpochRecord],
    records: &[StepRecord],
    thresholds: &Thresholds,
) -> Result<Document> {
    let mut doc = Document::new(format!("Training run: {source}"));
    let eval = |name: &str, e: Option<gradscope::train::Evaluation>| {
        e.map(|e| {
            format!(
                "{name} loss {}, accuracy {}",
                opt(Some(e.loss)),
                acc(e.accuracy)
            )
        })
    };
    let finals: Vec<String> = [
        eval("train", summary.train),
        eval("validation", summary.val),
        eval("test", summary.test),
    ]
    .into_iter()
    .flatten()
    .collect();
    doc.p(format!(
        "{source}: {} epochs, {} steps, {} parameters ({}), {:.1} s.{}",
        summary.epochs,
        summary.steps,
        summary.num_params,
        summary.dtype,
        summary.elapsed_s,
        if finals.is_empty() {
            String::new()
        } else {
            format!(" Final {}.", finals.join("; "))
        }
    ));
    if let Some(b) = summary.best_val_accuracy {
        doc.p(format!(
            "Best validation accuracy {} at the end of epoch {}.",
            acc(Some(b.accuracy)),
            b.epoch
        ));
    }
    if let Some(o) = explain::outcome(&summary.outcome) {
        doc.note(o);
    }
    let diagnosable = records
        .first()
        .is_some_and(|r| !r.recurrent.is_empty() || r.activations().count() > 0);
    if diagnosable {
        let v = judge(records, thresholds);
        doc.h2("Gradient diagnosis");
        let headline = match explain::lead_encoder(&v) {
            Some(rv) => explain::through_time_headline(rv, v.max_grad_norm),
            None => explain::depth_headline(&v),
        };
        doc.verdict(
            vec![Badge::new("Verdict", v.flow.name())],
            explain::verdict_scope(&v),
            headline,
        );
        doc.p(v.explanation.clone());
        doc.note(format!(
            "From the {} diagnostics records of diagnostics.jsonl (steps {} to {}); \
             `gradscope diagnose` on the config gives the full report with the theory.",
            records.len(),
            records.first().map_or(0, |r| r.step),
            records.last().map_or(0, |r| r.step),
        ));
        if !v.remedies.is_empty() {
            doc.h3("Remedies");
            doc.list(true, v.remedies.iter().map(|r| r.text.clone()).collect());
        }
    }
    doc.h2("Charts");
    let pct = |v: Option<f64>| v.map(|a| 100.0 * a);
    epoch_chart(
        &mut doc,
        "Loss per epoch",
        "loss.svg",
        "loss",
        Scale::Linear,
        vec![
            per_epoch(
                "training batches (train mode, mean)",
                metrics,
                |r| Some(r.loss),
                0,
            ),
            per_epoch(
                "training set (train_loss)",
                metrics,
                |r| Some(r.train_loss),
                1,
            )
            .map(|s| s.dash(Dash::Dashed)),
            per_epoch("validation set", metrics, |r| r.val_loss, 2),
        ],
        "metrics.jsonl: loss is the mean of the epoch's batch losses as trained; train_loss is \
         their mean per sample (training.train_eval = \"running\", the default) or an eval-mode \
         pass at the end of the epoch (\"full\"); val_loss is evaluated in eval mode at the \
         end of the epoch.",
    )?;
    epoch_chart(
        &mut doc,
        "Accuracy per epoch",
        "accuracy.svg",
        "accuracy (%)",
        Scale::Linear,
        vec![
            per_epoch("training set", metrics, |r| pct(r.train_accuracy), 1),
            per_epoch("validation set", metrics, |r| pct(r.val_accuracy), 2),
        ],
        "Accuracy per epoch (classification only): validation in eval mode at the end of the \
         epoch; training as train_loss is measured (training.train_eval).",
    )?;
    epoch_chart(
        &mut doc,
        "Learning rate per epoch",
        "lr.svg",
        "learning rate",
        Scale::Linear,
        vec![per_epoch("learning rate", metrics, |r| Some(r.lr), 4)],
        "The learning rate of each epoch's last step (after the schedule).",
    )?;
    epoch_chart(
        &mut doc,
        "Gradient norm per epoch",
        "grad_norm.svg",
        "global |g| (log scale)",
        Scale::Log,
        vec![
            per_epoch(
                "mean over the epoch's steps",
                metrics,
                |r| Some(r.grad_norm),
                0,
            ),
            per_epoch("largest step", metrics, |r| Some(r.grad_norm_max), 3)
                .map(|s| s.dash(Dash::Dashed)),
        ],
        "The global L2 norm of all parameter gradients before clipping: its mean and its \
         largest value over each epoch's steps.",
    )?;
    if diagnosable && records.first().is_some_and(|r| !r.deltas().is_empty()) {
        gradient_flow(&mut doc, records)?;
        depth_charts::heatmap(&mut doc, records)?;
        distribution_charts::charts(&mut doc, records)?;
    }
    Ok(doc)
}
