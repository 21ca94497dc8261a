//! Records measured by another front end (a PyTorch model's hooks, a NumPy program): the
//! statistics the [`Probe`](super::Probe) computes, as functions of plain slices, so that a
//! front end measuring its own tensors fills [`LayerRecord`]s with the same definitions, and
//! the run directory (`diagnostics.jsonl`, `diagnosis.json`) written and read as
//! `gradscope diagnose` writes it.
//!
//! ```
//! use gradscope::diagnostics::{
//!     number_depths, ActivationFacts, ActivationStats, Diagnosis, DiagnosticsConfig,
//!     LayerRecord, StepRecord, WeightStats,
//! };
//! use gradscope::layer::LayerKind;
//! use gradscope::Activation;
//!
//! // Three sigmoid layers whose ‖∂L/∂z‖ shrinks by 4 per layer towards the input.
//! let facts = ActivationFacts::of(Activation::Sigmoid);
//! let mut layers = Vec::new();
//! for (i, g) in [1e-3, 4e-3, 1.6e-2].into_iter().enumerate() {
//!     let mut lin = LayerRecord::new(2 * i, format!("{}", 2 * i), LayerKind::Linear, "linear");
//!     WeightStats::measure(&[0.5f32, -0.5, 0.5, -0.5], Some(2), None).apply(&mut lin);
//!     let mut act = LayerRecord::new(2 * i + 1, format!("{}", 2 * i + 1), LayerKind::Activation, "sigmoid");
//!     act.activation = Some(Activation::Sigmoid);
//!     act.grad_in_norm = Some(g);
//!     let z = [0.1f32, -0.3, 2.0, 0.0];
//!     let a: Vec<f32> = z.iter().map(|&v| Activation::Sigmoid.f(v)).collect();
//!     ActivationStats::measure(&facts, Some(&z), &a, 2).apply(&mut act);
//!     layers.extend([lin, act]);
//! }
//! layers.push(LayerRecord::new(6, "6", LayerKind::Linear, "linear"));
//! number_depths(&mut layers);
//! let record = StepRecord::new(1, 0.69, 0.1, layers);
//! let config = DiagnosticsConfig { every: 1, ..DiagnosticsConfig::default() };
//! let d = Diagnosis::from_records("in code", &config, &[record], 1, vec![], 0.0)?;
//! assert!((d.verdict.per_layer_factor - 0.25).abs() < 1e-9);
//! # Ok::<(), gradscope::Error>(())
//! ```

use std::path::Path;

use super::diagnosis::Diagnosis;
use super::records::{LayerRecord, Quantiles, StepRecord};
use super::stats::{
    self, activation_pass, deviation, deviation_and_histogram, quantiles, Histogram,
};
use crate::activation::properties::SATURATION_FRACTION;
use crate::activation::{properties, Activation};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::layer::LayerKind;

/// What the scope needs to know of an activation to judge its units, computed once per
/// activation from the catalogue's [`properties()`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationFacts {
    /// The activation f.
    pub activation: Activation,
    /// max |f'| over the real line.
    pub max_abs_derivative: f64,
    /// The ends of f's range, where finite.
    pub range: [Option<f64>; 2],
}

impl ActivationFacts {
    /// The facts of `activation`.
    pub fn of(activation: Activation) -> Self {
        let p = properties(&activation);
        ActivationFacts {
            activation,
            max_abs_derivative: p.max_abs_derivative,
            range: p.range,
        }
    }

    /// A unit is saturated when |f'(z)| < this: 1% of max |f'|.
    pub fn saturation_threshold(&self) -> f64 {
        SATURATION_FRACTION * self.max_abs_derivative
    }

    /// ε of the range-end share: [`RANGE_END_EPSILON`](super::RANGE_END_EPSILON) × the
    /// range's width (× 1 when one end is infinite); None when no end is finite.
    pub fn range_end_epsilon(&self) -> Option<f64> {
        match self.range {
            [Some(lo), Some(hi)] => Some(super::RANGE_END_EPSILON * (hi - lo)),
            [None, None] => None,
            _ => Some(super::RANGE_END_EPSILON),
        }
    }
}

/// The statistics of an activation layer's output a = f(z) and of f'(z), as the probe
/// records them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActivationStats {
    /// Mean of a.
    pub mean: f64,
    /// Population standard deviation of a.
    pub std: f64,
    /// Quantiles of a (nearest rank; None without a finite value).
    pub quantiles: Option<Quantiles>,
    /// Share of a within ε of a finite end of f's range (None when f's range has none).
    pub range_end_fraction: Option<f64>,
    /// Mean |f'(z)| (None without z, or for a row-wise activation).
    pub mean_abs_derivative: Option<f64>,
    /// Mean f'(z)².
    pub mean_sq_derivative: Option<f64>,
    /// Share of z with |f'(z)| < 1% of max |f'|.
    pub saturated_fraction: Option<f64>,
    /// Share of units (columns of a `[rows, cols]` output) that are 0 for every row.
    pub dead_fraction: f64,
}

impl ActivationStats {
    /// Measures a = f(z) (`a` row-major with `cols` units per row) and, when `z` is given,
    /// f'(z) from the catalogue.
    pub fn measure<T: Float>(
        facts: &ActivationFacts,
        z: Option<&[T]>,
        a: &[T],
        cols: usize,
    ) -> Self {
        Self::measure_parts(
            facts,
            z,
            a,
            cols,
            None,
            Some(&mut Vec::new()),
            &mut Vec::new(),
        )
        .0
    }

    /// [`ActivationStats::measure`] for a front end that samples a large output: every
    /// statistic over all n values of a, except the quantiles, which are those of the strided
    /// sample `a[0], a[s], a[2s], …` with s = ⌈n / `sample_limit`⌉ (all of a when n ≤
    /// `sample_limit`; an exact quantile selects among all n values, O(n) per quantile).
    /// Also returns the histogram of that sample over `bins` equal bins between its finite
    /// extremes ([`linear_histogram`](super::linear_histogram), non-finite values above).
    pub fn measure_sampled<T: Float>(
        facts: &ActivationFacts,
        z: Option<&[T]>,
        a: &[T],
        cols: usize,
        sample_limit: usize,
        bins: usize,
    ) -> (Self, Histogram) {
        let stride = a.len().div_ceil(sample_limit.max(1)).max(1);
        let sample: Vec<T> = a.iter().step_by(stride).copied().collect();
        let mut scratch = Vec::new();
        let (mut s, _) = Self::measure_parts(facts, z, a, cols, None, None, &mut Vec::new());
        s.quantiles = quantiles(&sample, &mut scratch);
        (s, stats::linear_histogram(&sample, bins))
    }

    /// [`ActivationStats::measure`] with scratch buffers reused between calls, and the
    /// histogram of a over `bins` equal bins from the same passes. Two passes over a: (1) Σa,
    /// the finite extremes, the share near the range's ends and the live units; (2) Σ(a − mean)²
    /// and the histogram; f'(z) in one pass over z (or a, for tanh and the sigmoid).
    pub(crate) fn measure_with<T: Float>(
        facts: &ActivationFacts,
        z: Option<&[T]>,
        a: &[T],
        cols: usize,
        bins: usize,
        scratch: &mut Vec<i64>,
        alive: &mut Vec<bool>,
    ) -> (Self, Histogram) {
        let (s, hist) = Self::measure_parts(facts, z, a, cols, Some(bins), Some(scratch), alive);
        (s, hist.expect("a histogram was asked for"))
    }

    /// [`ActivationStats::measure_with`]: the histogram only with `bins`, the quantiles of all
    /// of a only with `scratch`.
    fn measure_parts<T: Float>(
        facts: &ActivationFacts,
        z: Option<&[T]>,
        a: &[T],
        cols: usize,
        bins: Option<usize>,
        scratch: Option<&mut Vec<i64>>,
        alive: &mut Vec<bool>,
    ) -> (Self, Option<Histogram>) {
        let cols = cols.max(1);
        alive.clear();
        alive.resize(cols, false);
        let eps = facts.range_end_epsilon().unwrap_or(f64::INFINITY);
        let first = activation_pass(a, cols, facts.range, eps, alive);
        let n = a.len();
        let mean = if n == 0 { 0.0 } else { first.sum / n as f64 };
        let (dev, hist) = match bins {
            Some(bins) => {
                let (dev, hist) = deviation_and_histogram(a, mean, first.lo, first.hi, bins);
                (dev, Some(hist))
            }
            None => (deviation(a, mean), None),
        };
        let mut s = ActivationStats {
            mean,
            std: if n == 0 { 0.0 } else { (dev / n as f64).sqrt() },
            quantiles: scratch.and_then(|keys| quantiles(a, keys)),
            range_end_fraction: eps
                .is_finite()
                .then(|| first.near_end as f64 / n as f64)
                .filter(|_| n > 0),
            ..ActivationStats::default()
        };
        if let (Some(z), false) = (z, facts.activation.is_rowwise()) {
            let thr = facts.saturation_threshold();
            let (sum, sum_sq, sat) = derivative_sums(facts.activation, z, a, thr);
            let n = z.len().max(1) as f64;
            s.mean_abs_derivative = Some(sum / n);
            s.mean_sq_derivative = Some(sum_sq / n);
            s.saturated_fraction = Some(sat as f64 / n);
        }
        let dead = alive.iter().filter(|u| !**u).count();
        s.dead_fraction = dead as f64 / cols as f64;
        (s, hist)
    }

    /// Writes the statistics into an activation layer's record.
    pub fn apply(&self, rec: &mut LayerRecord) {
        rec.act_mean = Some(self.mean);
        rec.act_std = Some(self.std);
        rec.act_quantiles = self.quantiles;
        rec.range_end_fraction = self.range_end_fraction;
        rec.mean_abs_derivative = self.mean_abs_derivative;
        rec.mean_sq_derivative = self.mean_sq_derivative;
        rec.saturated_fraction = self.saturated_fraction;
        rec.dead_fraction = Some(self.dead_fraction);
    }
}

/// (Σ|f'(zᵢ)|, Σf'(zᵢ)², #{|f'(zᵢ)| < thr}) over an activation's inputs `z` and outputs `a`.
/// ReLU's f' is read off z inline (1 above 0, else 0, as `relu_grad`): the sums are counts
/// of the z > 0; tanh's and the sigmoid's from the output, 1 − a² and a(1 − a) (no exp per
/// element); any other from z.
fn derivative_sums<T: Float>(act: Activation, z: &[T], a: &[T], thr: f64) -> (f64, f64, usize) {
    match act {
        Activation::Relu => {
            // relu_grad: 0 for z ≤ 0, else 1 (also at NaN).
            let zeros = z.iter().filter(|v| **v <= T::ZERO).count();
            let ones = z.len() - zeros;
            let sat = if 1.0 < thr { ones } else { 0 } + if 0.0 < thr { zeros } else { 0 };
            (ones as f64, ones as f64, sat)
        }
        Activation::Tanh if a.len() == z.len() => lane_sums(a, thr, |y| (1.0 - y * y).abs()),
        Activation::Sigmoid if a.len() == z.len() => lane_sums(a, thr, |y| (y * (1.0 - y)).abs()),
        _ => lane_sums(z, thr, |v| act.df(v).abs()),
    }
}

/// (Σdᵢ, Σdᵢ², #{dᵢ < thr}) of dᵢ = `d`(xᵢ), over eight lanes (so the loop vectorizes).
#[inline(always)]
fn lane_sums<T: Float>(x: &[T], thr: f64, d: impl Fn(f64) -> f64) -> (f64, f64, usize) {
    let (mut sum, mut sum_sq, mut sat) = ([0.0f64; 8], [0.0f64; 8], [0u64; 8]);
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            let v = d(c[i].to_f64());
            sum[i] += v;
            sum_sq[i] += v * v;
            sat[i] += u64::from(v < thr);
        }
    }
    let (mut s, mut q, mut n): (f64, f64, u64) =
        (sum.iter().sum(), sum_sq.iter().sum(), sat.iter().sum());
    for c in chunks.remainder() {
        let v = d(c.to_f64());
        s += v;
        q += v * v;
        n += u64::from(v < thr);
    }
    (s, q, n as usize)
}

/// ‖W‖ and the mean-field weight scales of a layer's weight.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeightStats {
    /// ‖W‖ = √ΣW².
    pub norm: f64,
    /// σ_w = std(W)·√fan_in (population std) for a weight matrix with a fan-in.
    pub sigma_w: Option<f64>,
    /// σ_b² = mean b² (0 without a bias) for a weight matrix with a fan-in.
    pub sigma_b2: Option<f64>,
}

impl WeightStats {
    /// From the sums ΣW and ΣW² over `n` entries (the probe's single pass), and the bias.
    pub fn from_sums<T: Float>(
        sum: f64,
        sum_sq: f64,
        n: usize,
        fan_in: Option<usize>,
        bias: Option<&[T]>,
    ) -> Self {
        let mut s = WeightStats {
            norm: sum_sq.sqrt(),
            sigma_w: None,
            sigma_b2: None,
        };
        if let Some(fan_in) = fan_in {
            let n = n.max(1) as f64;
            let var = (sum_sq / n - (sum / n).powi(2)).max(0.0);
            s.sigma_w = Some((var * fan_in as f64).sqrt());
            s.sigma_b2 = Some(bias.map_or(0.0, |b| stats::sum_sq(b) / b.len().max(1) as f64));
        }
        s
    }

    /// Measures a weight (any shape, flattened); `fan_in` for a matrix (a convolution's
    /// in_channels × kernel size), None for a per-channel scale (a norm layer's γ).
    pub fn measure<T: Float>(w: &[T], fan_in: Option<usize>, bias: Option<&[T]>) -> Self {
        let (sum, sum_sq) = w.iter().fold((0.0, 0.0), |(s, q), v| {
            let x = v.to_f64();
            (s + x, q + x * x)
        });
        Self::from_sums(sum, sum_sq, w.len(), fan_in, bias)
    }

    /// Writes ‖W‖, σ_w and σ_b² into the layer's record.
    pub fn apply(&self, rec: &mut LayerRecord) {
        rec.weight_norm = Some(self.norm);
        rec.sigma_w = self.sigma_w;
        rec.sigma_b2 = self.sigma_b2;
    }
}

/// Numbers the hidden activation layers 1, 2, … in order (sets [`LayerRecord::depth`]): every
/// layer of kind `activation` with an activation, except one that is the last layer (the
/// network's output, not hidden); other layers get no depth. Also renumbers `index` to the
/// position in `layers`.
pub fn number_depths(layers: &mut [LayerRecord]) {
    let n = layers.len();
    let mut depth = 0;
    for (i, l) in layers.iter_mut().enumerate() {
        l.index = i;
        l.depth = None;
        if l.kind == LayerKind::Activation && l.activation.is_some() && i + 1 < n {
            depth += 1;
            l.depth = Some(depth);
        }
    }
}

/// The file names of a diagnosis directory, as `gradscope diagnose` writes them.
pub const DIAGNOSTICS_JSONL: &str = "diagnostics.jsonl";
/// See [`DIAGNOSTICS_JSONL`].
pub const DIAGNOSIS_JSON: &str = "diagnosis.json";

/// The lines of `diagnostics.jsonl`: one versioned record per line.
pub fn diagnostics_jsonl(records: &[StepRecord]) -> Result<String> {
    let mut out = String::new();
    for r in records {
        out.push_str(&to_json(&crate::io::versioned(r), false)?);
        out.push('\n');
    }
    Ok(out)
}

/// `diagnosis.json`: pretty JSON and a newline.
pub fn diagnosis_json(d: &Diagnosis) -> Result<String> {
    Ok(to_json(d, true)? + "\n")
}

fn to_json(v: &impl serde::Serialize, pretty: bool) -> Result<String> {
    let s = if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    };
    s.map_err(|e| Error::Invalid(format!("cannot serialize: {e}")))
}

/// Writes `diagnostics.jsonl` and `diagnosis.json` into `dir` (created if missing), each
/// atomically.
pub fn write_diagnosis_dir(dir: &Path, records: &[StepRecord], d: &Diagnosis) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Io(format!("cannot create `{}`: {e}", dir.display())))?;
    crate::io::write_atomic(
        &dir.join(DIAGNOSTICS_JSONL),
        diagnostics_jsonl(records)?.as_bytes(),
    )?;
    crate::io::write_atomic(&dir.join(DIAGNOSIS_JSON), diagnosis_json(d)?.as_bytes())
}

/// Reads a diagnosis directory back: `diagnosis.json` and the records of
/// `diagnostics.jsonl` (errors name the file and line).
pub fn read_diagnosis_dir(dir: &Path) -> Result<(Diagnosis, Vec<StepRecord>)> {
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p)
            .map_err(|e| Error::Io(format!("cannot read `{}`: {e}", p.display())))
    };
    let path = |name: &str| dir.join(name).display().to_string();
    let d: Diagnosis = serde_json::from_str(&read(DIAGNOSIS_JSON)?).map_err(|e| {
        Error::Invalid(format!("not a diagnosis: {e}"))
            .in_file(path(DIAGNOSIS_JSON), Some(e.line()))
    })?;
    let records = parse_diagnostics_jsonl(&read(DIAGNOSTICS_JSONL)?, &path(DIAGNOSTICS_JSONL))?;
    Ok((d, records))
}

/// The records of `diagnostics.jsonl` text (`source` names it in errors, with the line).
pub fn parse_diagnostics_jsonl(text: &str, source: &str) -> Result<Vec<StepRecord>> {
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: StepRecord = serde_json::from_str(line).map_err(|e| {
            Error::Invalid(format!("not a step record: {e}")).in_file(source, Some(i + 1))
        })?;
        records.push(r);
    }
    Ok(records)
}
