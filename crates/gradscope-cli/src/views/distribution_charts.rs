//! The recorded histograms of each hidden layer over training in the `diagnose` report, as
//! quantile bands per layer (the library's [`distributions`]): |∂L/∂z| on a log axis and the
//! activations on a linear one.

use anyhow::Result;
use gradscope::diagnostics::distribution::{distributions, DistributionPoint, LayerDistribution};
use gradscope::diagnostics::{Quantiles, StepRecord};

use super::cells::spread;
use super::depth_charts::chart;
use crate::chart::frame::Scale;
use crate::chart::style::color;
use crate::chart::{Band, Bands, Panel};
use crate::render::Document;

fn band(step: u64, q: &Quantiles, note: String) -> Band {
    Band {
        step: step as f64,
        q: [q.p02, q.p25, q.p50, q.p75, q.p98],
        note,
    }
}

fn panels(
    ds: &[LayerDistribution],
    get: impl Fn(&DistributionPoint) -> Option<Band>,
) -> Vec<Panel> {
    spread(ds, 12)
        .into_iter()
        .map(|l| Panel {
            title: format!(
                "layer {} ({})",
                l.depth,
                l.name
                    .strip_prefix("activation(")
                    .and_then(|s| s.strip_suffix(')'))
                    .unwrap_or(&l.name)
            ),
            bands: spread(&l.points, 40).into_iter().filter_map(&get).collect(),
        })
        .filter(|p| !p.bands.is_empty())
        .collect()
}

/// The distributions of |∂L/∂z| and of the activations per hidden layer over training (none
/// without recorded histograms).
pub fn charts(doc: &mut Document, records: &[StepRecord]) -> Result<()> {
    let ds = distributions(records);
    let grads = panels(&ds, |p| {
        let note = p.gradient_below.map_or(String::new(), |z| {
            format!("; {:.1}% exactly 0 or below the histogram", 100.0 * z)
        });
        Some(band(p.step, p.gradient.as_ref()?, note))
    });
    if !grads.is_empty() {
        let title = "Distribution of |dL/dz| per layer over training";
        let svg = Bands {
            title,
            x_label: "step",
            y_label: "|dL/dz|",
            value_name: "|dL/dz|",
            y_scale: Scale::Log,
            columns: grads.len().clamp(1, 3),
            size: (900, 200),
            color: color(0),
            panels: grads,
        }
        .render()?;
        chart(
            doc,
            title,
            "grad_distribution.svg",
            svg,
            "The recorded histogram of |∂L/∂z| of each hidden layer (log-spaced bins) at every \
             measured step, as quantile bands: 2–98% and 25–75% of the non-zero samples and the \
             median (TensorBoard's distribution view). One panel per layer on a shared axis: \
             panels sinking towards layer 1 are a vanishing gradient. Exact zeros (inactive \
             units) are counted apart, in the hover title.",
        );
    }
    let acts = panels(&ds, |p| {
        Some(band(p.step, p.activation.as_ref()?, String::new()))
    });
    if !acts.is_empty() {
        let title = "Distribution of activations per layer over training";
        let svg = Bands {
            title,
            x_label: "step",
            y_label: "a = f(z)",
            value_name: "a",
            y_scale: Scale::Linear,
            columns: acts.len().clamp(1, 3),
            size: (900, 200),
            color: color(2),
            panels: acts,
        }
        .render()?;
        chart(
            doc,
            title,
            "act_distribution.svg",
            svg,
            "The recorded histogram of each hidden layer's output a = f(z) at every measured \
             step, as quantile bands (2–98%, 25–75%, median). Bands pressed against the ends of \
             f's range (0 and 1 for a sigmoid, ±1 for tanh) are saturated units.",
        );
    }
    Ok(())
}
