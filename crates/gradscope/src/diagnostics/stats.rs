//! Summary statistics of tensors: norms, extremes, histograms.

use crate::float::Float;

/// A histogram: `edges` has one more entry than `counts`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Histogram {
    /// Bin edges, increasing.
    pub edges: Vec<f64>,
    /// Samples per bin.
    pub counts: Vec<u64>,
    /// Samples outside the edges (for |g| histograms: exact zeros and values below the first
    /// edge).
    pub below: u64,
    /// Samples above the last edge.
    pub above: u64,
}

impl Histogram {
    /// Samples counted, inside the edges and outside.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.below + self.above
    }

    /// The `p`-quantile (p in [0, 1]) of the histogram's samples, interpolated within its bin
    /// (geometrically when `log`, for log-spaced bins); samples below the first edge count at
    /// it, those above the last edge at the last. None for an empty histogram.
    pub fn quantile(&self, p: f64, log: bool) -> Option<f64> {
        let total = self.total();
        let (first, last) = (*self.edges.first()?, *self.edges.last()?);
        if total == 0 || self.counts.is_empty() {
            return None;
        }
        let target = p.clamp(0.0, 1.0) * total as f64;
        let mut below = self.below as f64;
        if target <= below {
            return Some(first);
        }
        for (i, &c) in self.counts.iter().enumerate() {
            let c = c as f64;
            if c > 0.0 && target <= below + c {
                let f = (target - below) / c;
                let (a, b) = (self.edges[i], self.edges[i + 1]);
                return Some(if log && a > 0.0 && b > 0.0 {
                    a * (b / a).powf(f)
                } else {
                    a + (b - a) * f
                });
            }
            below += c;
        }
        Some(last)
    }

    /// Five quantiles of the histogram's samples (see [`Histogram::quantile`]).
    pub fn quantiles(&self, log: bool) -> Option<super::Quantiles> {
        let q = |p| self.quantile(p, log);
        Some(super::Quantiles {
            p02: q(0.02)?,
            p25: q(0.25)?,
            p50: q(0.50)?,
            p75: q(0.75)?,
            p98: q(0.98)?,
        })
    }
}

/// L2 norm √Σxᵢ² and max |xᵢ|, accumulated in f64.
pub fn norm_and_max<T: Float>(x: &[T]) -> (f64, f64) {
    // Eight independent accumulators so the loop vectorizes (a single running sum would be a
    // serial dependency chain).
    let mut sq = [0.0f64; 8];
    let mut mx = [0.0f64; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            let a = c[i].to_f64().abs();
            sq[i] += a * a;
            mx[i] = if a > mx[i] { a } else { mx[i] };
        }
    }
    let mut s: f64 = sq.iter().sum();
    let mut m = mx.iter().copied().fold(0.0, f64::max);
    for v in chunks.remainder() {
        let a = v.to_f64().abs();
        s += a * a;
        m = m.max(a);
    }
    // A NaN makes the sum NaN; report it in the max too.
    if s.is_nan() {
        m = f64::NAN;
    }
    (s.sqrt(), m)
}

/// Mean and (population) standard deviation.
pub fn mean_std<T: Float>(x: &[T]) -> (f64, f64) {
    if x.is_empty() {
        return (0.0, 0.0);
    }
    let n = x.len() as f64;
    let mean = x.iter().map(|v| v.to_f64()).sum::<f64>() / n;
    let var = x.iter().map(|v| (v.to_f64() - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Histogram of |xᵢ| over log-spaced bins: `bins` bins per the decades from 10^lo to 10^hi.
pub fn log_abs_histogram<T: Float>(x: &[T], lo: i32, hi: i32, bins: usize) -> Histogram {
    let bins = bins.max(1);
    let (l, h) = (lo as f64, hi as f64);
    let edges: Vec<f64> = (0..=bins)
        .map(|i| 10f64.powf(l + (h - l) * i as f64 / bins as f64))
        .collect();
    let mut counts = vec![0u64; bins];
    let (mut below, mut above) = (0, 0);
    for v in x {
        let a = v.to_f64().abs();
        if a.is_nan() || a < edges[0] {
            below += 1;
        } else if a >= edges[bins] {
            above += 1;
        } else {
            let t = ((a.log10() - l) / (h - l) * bins as f64) as usize;
            counts[t.min(bins - 1)] += 1;
        }
    }
    Histogram {
        edges,
        counts,
        below,
        above,
    }
}

/// Histogram of xᵢ over `bins` equal bins spanning [min, max] (one bin if constant).
pub fn linear_histogram<T: Float>(x: &[T], bins: usize) -> Histogram {
    let bins = bins.max(1);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in x {
        let f = v.to_f64();
        if f.is_finite() {
            lo = lo.min(f);
            hi = hi.max(f);
        }
    }
    if !lo.is_finite() {
        lo = 0.0;
        hi = 1.0;
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let edges: Vec<f64> = (0..=bins)
        .map(|i| lo + (hi - lo) * i as f64 / bins as f64)
        .collect();
    let mut counts = vec![0u64; bins];
    let mut above = 0;
    for v in x {
        let f = v.to_f64();
        if !f.is_finite() {
            above += 1;
            continue;
        }
        let t = ((f - lo) / (hi - lo) * bins as f64) as usize;
        counts[t.min(bins - 1)] += 1;
    }
    Histogram {
        edges,
        counts,
        below: 0,
        above,
    }
}

/// The five [`Quantiles`](super::Quantiles) of `x` (nearest rank over the finite values; None
/// when there are none). `buf` is scratch space, reused between calls.
pub fn quantiles<T: Float>(x: &[T], buf: &mut Vec<f64>) -> Option<super::Quantiles> {
    buf.clear();
    buf.extend(x.iter().map(|v| v.to_f64()).filter(|v| v.is_finite()));
    if buf.is_empty() {
        return None;
    }
    let n = buf.len();
    let mut at = |p: f64| {
        let k = ((p * (n - 1) as f64).round() as usize).min(n - 1);
        *buf.select_nth_unstable_by(k, f64::total_cmp).1
    };
    Some(super::Quantiles {
        p02: at(0.02),
        p25: at(0.25),
        p50: at(0.50),
        p75: at(0.75),
        p98: at(0.98),
    })
}
