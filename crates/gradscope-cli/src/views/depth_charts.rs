//! The `diagnose` charts by depth of the hidden activation layers: ‖∂L/∂z‖ by depth with the
//! mean-field prediction, the layer × step heatmap, the saturated and dead shares the verdict
//! judges, the recorded distributions ([`super::distribution_charts`]), and the loss.

use anyhow::Result;
use gradscope::diagnostics::{judges_saturation, Diagnosis, Factor, StepRecord, Thresholds};

use super::cells::spread;
use super::distribution_charts;
use crate::chart::frame::Scale;
use crate::chart::style::GREY;
use crate::chart::{Dash, Heatmap, LineChart, Series};
use crate::render::{Chart, Document};

/// Adds a chart to `doc`.
pub fn chart(doc: &mut Document, title: &str, file: &str, svg: String, caption: &str) {
    doc.chart(Chart {
        title: title.into(),
        file: file.into(),
        svg,
        caption: caption.into(),
    });
}

fn points(pts: &[(usize, f64)]) -> Vec<(f64, f64)> {
    pts.iter().map(|&(d, v)| (d as f64, v)).collect()
}

/// ‖∂L/∂z‖ by depth, the heatmap, saturation, distributions.
pub fn charts(
    doc: &mut Document,
    d: &Diagnosis,
    records: &[StepRecord],
    t: &Thresholds,
) -> Result<()> {
    grad_norms(doc, d, records)?;
    heatmap(doc, records)?;
    saturation(doc, d, t)?;
    distribution_charts::charts(doc, records)
}

fn grad_norms(doc: &mut Document, d: &Diagnosis, records: &[StepRecord]) -> Result<()> {
    let mut series: Vec<Series> = spread(records, 5)
        .into_iter()
        .enumerate()
        .map(|(i, r)| Series::new(format!("step {}", r.step), points(&r.deltas()), i).markers(true))
        .collect();
    if let (Some(p), Some(first)) = (&d.theory, records.first()) {
        for (factor, label, c) in [
            (Factor::FixedPoint, "√χ₁ (at q*)", 7),
            (Factor::Transient, "with each layer's q_l", 5),
        ] {
            if let Some(pts) = p.anchored_profile(first, factor) {
                series.push(
                    Series::new(
                        format!("theory at step {}: {label}", p.step),
                        points(&pts),
                        c,
                    )
                    .dash(Dash::Dashed),
                );
            }
        }
    }
    let title = "Gradient norm |dL/dz| by layer depth";
    let svg = LineChart {
        title,
        x_label: "hidden layer depth (1 = next to the input)",
        y_label: "|dL/dz| (log scale)",
        x_name: "depth",
        y_name: "|dL/dz|",
        series,
        y_scale: Scale::Log,
        y_range: None,
        size: (820, 480),
    }
    .render()?;
    chart(
        doc,
        title,
        "grad_norms.svg",
        svg,
        "‖∂L/∂z‖ of each hidden layer (L2 norm over the batch) at several measured steps; the \
         dashed lines are the mean-field predictions at initialization, anchored at the last \
         hidden layer and multiplied per layer towards the input by √χ₁ (at the fixed point q*) \
         or by σ_w·√E[f'(√q_l z)²] with each layer's own variance q_l.",
    );
    Ok(())
}

/// The layer × step heatmap of log10 ‖∂L/∂z‖.
pub fn heatmap(doc: &mut Document, records: &[StepRecord]) -> Result<()> {
    let depths: Vec<usize> = records[0].deltas().iter().map(|x| x.0).collect();
    let values: Vec<Vec<f64>> = depths
        .iter()
        .map(|&depth| {
            records
                .iter()
                .map(|r| {
                    r.at_depth(depth)
                        .and_then(|l| l.grad_in_norm)
                        .map_or(f64::NAN, f64::log10)
                })
                .collect()
        })
        .collect();
    let title = "log10 |dL/dz| by layer and step";
    let svg = Heatmap {
        title,
        x_label: "measured step",
        y_label: "hidden layer depth",
        x_name: "step",
        y_name: "depth",
        columns: records.iter().map(|r| r.step.to_string()).collect(),
        rows: depths.iter().map(|d| d.to_string()).collect(),
        values,
        scale_label: "log10 |dL/dz|",
        size: (820, 460),
        curves: Vec::new(),
    }
    .render()?;
    chart(
        doc,
        title,
        "heatmap.svg",
        svg,
        "Each cell is log10 ‖∂L/∂z‖ of one hidden layer (rows, input at the bottom) at one \
         measured step (columns). A vertical colour gradient is a gradient that shrinks or \
         grows with depth.",
    );
    Ok(())
}

fn saturation(doc: &mut Document, d: &Diagnosis, t: &Thresholds) -> Result<()> {
    let pct = |v: Option<f64>| v.map_or(f64::NAN, |x| 100.0 * x);
    let depths: Vec<f64> = d.layers.iter().map(|l| l.depth as f64).collect();
    let (lo, hi) = (
        depths.first().copied().unwrap_or(1.0),
        depths.last().copied().unwrap_or(1.0),
    );
    let judged = d.layers.iter().any(|l| judges_saturation(l.activation));
    let mut series = Vec::new();
    if judged {
        series.push(
            Series::new(
                "saturated (|f'| under 1% of max), mean over the run",
                d.layers
                    .iter()
                    .map(|l| {
                        let v = judges_saturation(l.activation).then_some(l.saturated_fraction);
                        (l.depth as f64, pct(v.flatten()))
                    })
                    .collect(),
                3,
            )
            .markers(true),
        );
        series.push(
            Series::new(
                "at range end (output within 2% of the range's width of an end), mean over the run",
                d.layers
                    .iter()
                    .map(|l| {
                        let v = judges_saturation(l.activation).then_some(l.range_end_fraction);
                        (l.depth as f64, pct(v.flatten()))
                    })
                    .collect(),
                1,
            )
            .markers(true),
        );
    }
    series.push(
        Series::new(
            "dead units (output 0 for every sample), mean over the run",
            d.layers
                .iter()
                .map(|l| (l.depth as f64, pct(l.dead_fraction)))
                .collect(),
            0,
        )
        .markers(true),
    );
    let mut threshold = |label: String, v: f64| {
        let mut s = Series::new(label, vec![(lo, 100.0 * v), (hi, 100.0 * v)], 0);
        s.color = GREY.into();
        s.dash = Dash::Dotted;
        series.push(s);
    };
    if judged && t.saturated != t.dead {
        threshold(
            format!("saturated threshold {:.0}%", 100.0 * t.saturated),
            t.saturated,
        );
    }
    threshold(
        if judged && t.saturated == t.dead {
            format!("threshold (saturated, dead) {:.0}%", 100.0 * t.dead)
        } else {
            format!("dead threshold {:.0}%", 100.0 * t.dead)
        },
        t.dead,
    );
    let title = "Saturated and dead units by layer";
    let svg = LineChart {
        title,
        x_label: "hidden layer depth",
        y_label: "% of units",
        x_name: "depth",
        y_name: "%",
        series,
        y_scale: Scale::Linear,
        y_range: Some((-2.0, 102.0)),
        size: (820, 400),
    }
    .render()?;
    chart(
        doc,
        title,
        "saturation.svg",
        svg,
        "What the verdict judges, as means over the measured steps: saturated — share of \
         unit-samples with |f'(z)| below 1% of max |f'|, and at range end — share of outputs \
         within 2% of the range's width of an end of f's range (Glorot & Bengio's saturation; \
         the larger of the two is judged; neither is drawn for rectifiers such as ReLU, whose \
         flat side is not saturation in the vanishing sense: they are judged by their dead \
         units); dead — share of units whose output is 0 for every sample of the \
         batch. Dotted: the thresholds above which a layer is called saturated or dead.",
    );
    Ok(())
}

/// The training loss of every step.
pub fn loss(doc: &mut Document, d: &Diagnosis) -> Result<()> {
    let title = "Training loss";
    let svg = LineChart {
        title,
        x_label: "step",
        y_label: "batch loss",
        x_name: "step",
        y_name: "loss",
        series: vec![Series::new(
            "",
            d.loss.iter().map(|p| (p.step as f64, p.loss)).collect(),
            0,
        )
        .markers(d.loss.len() <= 60)],
        y_scale: Scale::Linear,
        y_range: None,
        size: (820, 360),
    }
    .render()?;
    chart(
        doc,
        title,
        "loss.svg",
        svg,
        "The training loss of every step (one mini-batch each).",
    );
    Ok(())
}
