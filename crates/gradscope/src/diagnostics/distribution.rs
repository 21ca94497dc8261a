//! The recorded histograms of each hidden layer over training, summarized as quantile bands
//! (TensorBoard's distribution view): per measured step, five quantiles of |∂L/∂z|
//! ([`LayerRecord::grad_hist`](super::LayerRecord::grad_hist), log-spaced bins) and of the
//! activations ([`LayerRecord::act_hist`](super::LayerRecord::act_hist), linear bins).

use super::records::{Quantiles, StepRecord};
use super::stats::Histogram;

/// One measured step of a [`LayerDistribution`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DistributionPoint {
    /// The measured training step.
    pub step: u64,
    /// Quantiles of the non-zero |∂L/∂z| from the gradient histogram (the samples below its
    /// first edge, exact zeros included, are left out: see `gradient_below`).
    pub gradient: Option<Quantiles>,
    /// Quantiles of the activations a from the activation histogram.
    pub activation: Option<Quantiles>,
    /// Share of |∂L/∂z| samples below the histogram's first edge (exact zeros included).
    pub gradient_below: Option<f64>,
}

/// The distributions of one hidden activation layer over the measured steps.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerDistribution {
    /// 1-based depth of the hidden layer.
    pub depth: usize,
    /// Its description, e.g. `activation(sigmoid)`.
    pub name: String,
    /// The lower edge of the gradient histograms.
    pub gradient_floor: Option<f64>,
    /// One point per measured step that recorded histograms.
    pub points: Vec<DistributionPoint>,
}

/// The distributions of every hidden activation layer (empty when no histograms were
/// recorded: `diagnostics.histograms = false`).
pub fn distributions(records: &[StepRecord]) -> Vec<LayerDistribution> {
    let Some(first) = records.first() else {
        return Vec::new();
    };
    first
        .activations()
        .filter_map(|l0| {
            let depth = l0.depth?;
            let mut floor = None;
            let points: Vec<DistributionPoint> = records
                .iter()
                .filter_map(|r| {
                    let l = r.at_depth(depth)?;
                    if l.grad_hist.is_none() && l.act_hist.is_none() {
                        return None;
                    }
                    let g = l.grad_hist.as_ref();
                    if let Some(h) = g {
                        floor = floor.or(h.edges.first().copied());
                    }
                    Some(DistributionPoint {
                        step: r.step,
                        gradient: g.and_then(|h| {
                            Histogram {
                                below: 0,
                                ..h.clone()
                            }
                            .quantiles(true)
                        }),
                        activation: l.act_hist.as_ref().and_then(|h| h.quantiles(false)),
                        gradient_below: g
                            .filter(|h| h.total() > 0)
                            .map(|h| h.below as f64 / h.total() as f64),
                    })
                })
                .collect();
            (!points.is_empty()).then(|| LayerDistribution {
                depth,
                name: l0.name.clone(),
                gradient_floor: floor,
                points,
            })
        })
        .collect()
}
