//! Shared pieces of the `diagnose` and `demo` reports: running a config while collecting its
//! diagnostic records ([`run`]), the per-layer analysis of those records (this module), the
//! mean-field prediction ([`theory`]), the gradient through time of recurrent models
//! ([`recurrent`]), SVG charts ([`charts`]) and the HTML page ([`html`]).

pub mod charts;
pub mod html;
pub mod recurrent;
pub mod run;
pub mod theory;

use gradscope::diagnostics::verdict::Verdict;
use gradscope::diagnostics::{LayerRecord, StepRecord};

use crate::output::num;

/// ‖δ‖ = ‖∂L/∂z‖ of each hidden activation layer of one record, in depth order.
pub fn deltas(record: &StepRecord) -> Vec<(usize, f64)> {
    record
        .activations()
        .map(|l| (l.depth, l.grad_in_norm))
        .collect()
}

/// ‖δ_first‖ / ‖δ_last‖ of one record (None with fewer than two hidden layers).
pub fn first_to_last(record: &StepRecord) -> Option<f64> {
    let d = deltas(record);
    match (d.first(), d.last()) {
        (Some(a), Some(b)) if d.len() >= 2 => Some(a.1 / b.1),
        _ => None,
    }
}

/// The linear layer feeding each hidden activation layer of a record: the nearest linear layer
/// before it (a BatchNorm may sit in between).
fn incoming_linear<'a>(record: &'a StepRecord, act: &LayerRecord) -> Option<&'a LayerRecord> {
    record.layers[..act.index.min(record.layers.len())]
        .iter()
        .rev()
        .find(|l| l.kind == "linear")
}

/// The per-layer numbers of the diagnosis table.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LayerRow {
    /// 1-based depth of the hidden activation layer.
    pub depth: usize,
    /// Its description, e.g. `activation(sigmoid)`.
    pub name: String,
    /// ‖∂L/∂z‖ at the first measured step.
    pub grad_norm_first: f64,
    /// ‖∂L/∂z‖ at the last measured step.
    pub grad_norm_last: f64,
    /// ‖δ_l‖/‖δ_last‖, geometric mean over the measured steps (the verdict's number).
    pub ratio_to_last: f64,
    /// Flow at this layer relative to the last hidden layer.
    pub flow: String,
    /// Mean |f'(z)| over the measured steps.
    pub mean_abs_derivative: Option<f64>,
    /// Mean share of saturated unit-samples.
    pub saturated_fraction: Option<f64>,
    /// Mean share of dead units.
    pub dead_fraction: Option<f64>,
    /// Saturated beyond the threshold.
    pub saturated: bool,
    /// Dead beyond the threshold.
    pub dead: bool,
    /// Mean ‖ΔW‖/‖W‖ of the linear layer feeding this layer.
    pub update_ratio: Option<f64>,
    /// σ_w = std(W)·√fan_in of the linear layer feeding this layer, at the first measured step.
    pub sigma_w: Option<f64>,
    /// Mean-field prediction of ‖δ_l‖/‖δ_{l+1}‖ at initialization (√χ₁); None for the last
    /// hidden layer or without a prediction.
    pub predicted_factor: Option<f64>,
    /// The same with the layer's own pre-activation variance q_l from the length map (the
    /// transient before q*).
    pub transient_factor: Option<f64>,
    /// Measured ‖δ_l‖/‖δ_{l+1}‖ at the first measured step (step 1 = initialization).
    pub measured_factor: Option<f64>,
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = xs.filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The per-layer rows from the records, the verdict and the prediction (per-layer factors by
/// depth).
pub fn layer_rows(
    records: &[StepRecord],
    verdict: &Verdict,
    predicted: &[(usize, f64, f64)],
) -> Vec<LayerRow> {
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Vec::new();
    };
    let d0 = deltas(first);
    let d1 = deltas(last);
    verdict
        .layers
        .iter()
        .map(|lv| {
            let at = |d: &[(usize, f64)], depth: usize| {
                d.iter().find(|x| x.0 == depth).map_or(f64::NAN, |x| x.1)
            };
            let act0 = first.layers.iter().find(|l| l.depth == lv.depth);
            let update_ratio = mean(records.iter().filter_map(|r| {
                let a = r.layers.iter().find(|l| l.depth == lv.depth)?;
                incoming_linear(r, a)?.update_ratio
            }));
            let sigma_w = act0
                .and_then(|a| incoming_linear(first, a))
                .and_then(|l| l.sigma_w);
            let next = at(&d0, lv.depth + 1);
            LayerRow {
                depth: lv.depth,
                name: lv.name.clone(),
                grad_norm_first: at(&d0, lv.depth),
                grad_norm_last: at(&d1, lv.depth),
                ratio_to_last: lv.ratio_to_last,
                flow: lv.flow.name().to_string(),
                mean_abs_derivative: lv.mean_abs_derivative,
                saturated_fraction: lv.saturated_fraction,
                dead_fraction: lv.dead_fraction,
                saturated: lv.saturated,
                dead: lv.dead,
                update_ratio,
                sigma_w,
                predicted_factor: predicted.iter().find(|p| p.0 == lv.depth).map(|p| p.1),
                transient_factor: predicted.iter().find(|p| p.0 == lv.depth).map(|p| p.2),
                measured_factor: next
                    .is_finite()
                    .then(|| at(&d0, lv.depth) / next)
                    .filter(|v| v.is_finite()),
            }
        })
        .collect()
}

/// A number for tables: 4 significant digits, scientific when tiny or huge.
pub fn sci(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v != 0.0 && !(1e-3..1e4).contains(&v.abs()) {
        return format!("{v:.2e}");
    }
    num(v, 4)
}

/// An optional number for tables.
pub fn opt_sci(v: Option<f64>) -> String {
    v.map_or("-".into(), sci)
}

/// A fraction as a percentage with one decimal.
pub fn pct(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite())
        .map_or("-".into(), |v| format!("{:.1}%", 100.0 * v))
}

/// The column headers of [`table_rows`].
pub const TABLE_HEADER: [&str; 12] = [
    "depth",
    "layer",
    "|dL/dz| first",
    "|dL/dz| last",
    "ratio to last",
    "mean |f'|",
    "saturated",
    "dead",
    "update ratio",
    "factor √χ₁",
    "factor q_l",
    "factor meas",
];

/// The per-layer table's cells.
pub fn table_rows(rows: &[LayerRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            vec![
                r.depth.to_string(),
                r.name
                    .strip_prefix("activation(")
                    .and_then(|s| s.strip_suffix(')'))
                    .unwrap_or(&r.name)
                    .to_string(),
                sci(r.grad_norm_first),
                sci(r.grad_norm_last),
                sci(r.ratio_to_last),
                opt_sci(r.mean_abs_derivative),
                pct(r.saturated_fraction),
                pct(r.dead_fraction),
                opt_sci(r.update_ratio),
                opt_sci(r.predicted_factor),
                opt_sci(r.transient_factor),
                opt_sci(r.measured_factor),
            ]
        })
        .collect()
}

/// Up to `n` records spread evenly over the run: the first, the last and some in between.
pub fn spread(records: &[StepRecord], n: usize) -> Vec<&StepRecord> {
    let len = records.len();
    if len <= n {
        return records.iter().collect();
    }
    let mut idx: Vec<usize> = (0..n)
        .map(|i| ((i as f64) * (len - 1) as f64 / (n - 1) as f64).round() as usize)
        .collect();
    idx.dedup();
    idx.into_iter().map(|i| &records[i]).collect()
}

/// Writes `text` to stdout; a closed pipe (`gradscope demo | head`) is not an error — the
/// report files are still written — but other write errors are.
pub fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::anyhow!("cannot write to stdout: {e}"))
        }
        _ => Ok(()),
    }
}
