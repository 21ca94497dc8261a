//! The `demo` charts: ‖∂L/∂z‖ by depth relative to the last hidden layer at initialization
//! (with the mean-field prediction) and at the end, training loss and validation accuracy by
//! epoch — one series per variant.

use anyhow::Result;
use gradscope::diagnostics::compare::Comparison;
use gradscope::train::EpochRecord;

use crate::chart::frame::Scale;
use crate::chart::{Dash, LineChart, Series};
use crate::render::{Chart, Document};

fn points(pts: &[(usize, f64)]) -> Vec<(f64, f64)> {
    pts.iter().map(|&(d, v)| (d as f64, v)).collect()
}

/// Adds the demo's charts to `doc`.
pub fn charts(doc: &mut Document, c: &Comparison) -> Result<()> {
    for (init, title, file, caption) in [
        (
            true,
            "Gradient norm by depth at initialization (step 1)",
            "grad_norms_init.svg",
            "‖∂L/∂z‖ of each hidden layer divided by that of the last hidden layer, at step 1, \
             for the five variants (solid); dashed: the mean-field prediction from the measured \
             σ_w² with each layer's own pre-activation variance q_l, where it applies (not with \
             BatchNorm).",
        ),
        (
            false,
            "Gradient norm by depth at the end of training",
            "grad_norms_end.svg",
            "The same ratio at the last measured step.",
        ),
    ] {
        let mut series = Vec::new();
        for (i, v) in c.variants.iter().enumerate() {
            let measured = if init {
                v.relative_norms_init()
            } else {
                v.relative_norms_end()
            };
            series.push(Series::new(v.label.clone(), points(&measured), i).markers(true));
            if let (true, Some(theory)) = (init, v.theory_relative_init()) {
                series.push(
                    Series::new(format!("{} (theory)", v.label), points(&theory), i)
                        .dash(Dash::Dashed),
                );
            }
        }
        let svg = LineChart {
            title,
            x_label: "hidden layer depth (1 = next to the input)",
            y_label: "|dL/dz| / |dL/dz| at the last hidden layer",
            x_name: "depth",
            y_name: "ratio",
            series,
            y_scale: Scale::Log,
            y_range: None,
            size: (860, 500),
        }
        .render()?;
        doc.chart(Chart {
            title: title.into(),
            file: file.into(),
            svg,
            caption: caption.into(),
        });
    }
    for (title, file, y_label, caption, get) in [
        (
            "Training loss by epoch",
            "loss.svg",
            "mean training loss",
            "Mean training loss over each epoch's mini-batches.",
            (|e: &EpochRecord| Some(e.loss)) as fn(&EpochRecord) -> Option<f64>,
        ),
        (
            "Validation accuracy by epoch",
            "val_accuracy.svg",
            "validation accuracy",
            "Validation accuracy at the end of each epoch.",
            |e: &EpochRecord| e.val_accuracy,
        ),
    ] {
        let series = c
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                Series::new(
                    v.label.clone(),
                    v.history
                        .iter()
                        .map(|e| (e.epoch as f64, get(e).unwrap_or(f64::NAN)))
                        .collect(),
                    i,
                )
                .markers(v.history.len() <= 40)
            })
            .collect();
        let svg = LineChart {
            title,
            x_label: "epoch",
            y_label,
            x_name: "epoch",
            y_name: y_label,
            series,
            y_scale: Scale::Linear,
            y_range: None,
            size: (860, 420),
        }
        .render()?;
        doc.chart(Chart {
            title: title.into(),
            file: file.into(),
            svg,
            caption: caption.into(),
        });
    }
    Ok(())
}
