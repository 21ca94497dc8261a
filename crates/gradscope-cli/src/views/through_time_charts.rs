//! The through-time charts of a recurrent model in the `diagnose` report: ‖∂L/∂h_t‖ against
//! the time step at several training steps with Pascanu et al.'s bound, and the training step
//! × time step heatmap, per recurrent encoder and stacked layer.

use anyhow::Result;
use gradscope::diagnostics::{Diagnosis, StepRecord};

use super::cells::spread;
use crate::chart::frame::Scale;
use crate::chart::{Dash, Heatmap, LineChart, Series};
use crate::render::{Chart, Document};

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
                curves: Vec::new(),
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
