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

/// Histogram of |xᵢ| over log-spaced bins: `bins` bins per the decades from 10^lo to 10^hi;
/// |xᵢ| counts in bin t when `edges[t] ≤ |xᵢ| < edges[t + 1]`.
///
/// No logarithm per value: log₁₀|x| ≈ (e + m − 1)·log₁₀2 from the exponent e and the mantissa
/// m ∈ [1, 2) of its bits (off by under 0.03 decades) picks a bin, which one comparison with
/// each of its edges corrects.
pub fn log_abs_histogram<T: Float>(x: &[T], lo: i32, hi: i32, bins: usize) -> Histogram {
    let bins = bins.max(1);
    let (l, h) = (lo as f64, hi as f64);
    let edges: Vec<f64> = (0..=bins)
        .map(|i| 10f64.powf(l + (h - l) * i as f64 / bins as f64))
        .collect();
    let mut counts = vec![0u64; bins];
    let (mut below, mut above) = (0, 0);
    let per_decade = bins as f64 / (h - l);
    for v in x {
        let a = v.to_f64().abs();
        if a.is_nan() || a < edges[0] {
            below += 1;
        } else if a >= edges[bins] {
            above += 1;
        } else {
            let bits = a.to_bits();
            let e = ((bits >> 52) & 0x7ff) as f64 - 1023.0;
            let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
            let guess = ((e + m - 1.0) * std::f64::consts::LOG10_2 - l) * per_decade;
            let mut t = (guess.max(0.0) as usize).min(bins - 1);
            while t > 0 && a < edges[t] {
                t -= 1;
            }
            while t + 1 < bins && a >= edges[t + 1] {
                t += 1;
            }
            counts[t] += 1;
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
    let (lo, hi) = linear_span(lo, hi);
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
    linear_edges(lo, hi, bins, counts, above)
}

/// The five [`Quantiles`](super::Quantiles) of `x` (nearest rank over the finite values; None
/// when there are none). `keys` is scratch space, reused between calls: each finite value
/// becomes the integer whose order is `f64::total_cmp`'s, so the selections compare integers.
pub fn quantiles<T: Float>(x: &[T], keys: &mut Vec<i64>) -> Option<super::Quantiles> {
    // total_cmp's key: the bits, with the magnitude bits flipped for negative values.
    let key = |f: f64| {
        let b = f.to_bits() as i64;
        b ^ ((((b >> 63) as u64) >> 1) as i64)
    };
    let unkey = |k: i64| f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64);
    keys.clear();
    keys.extend(
        x.iter()
            .map(|v| v.to_f64())
            .filter(|v| v.is_finite())
            .map(key),
    );
    if keys.is_empty() {
        return None;
    }
    let n = keys.len();
    // The ranks increase: each selection leaves the values above its rank after it, so the
    // next one only searches there.
    let mut from = 0;
    let mut at = |p: f64| {
        let k = ((p * (n - 1) as f64).round() as usize).min(n - 1);
        let v = *keys[from..].select_nth_unstable(k - from).1;
        from = k;
        unkey(v)
    };
    Some(super::Quantiles {
        p02: at(0.02),
        p25: at(0.25),
        p50: at(0.50),
        p75: at(0.75),
        p98: at(0.98),
    })
}

/// Σxᵢ², accumulated in f64 over eight lanes (so the loop vectorizes).
pub fn sum_sq<T: Float>(x: &[T]) -> f64 {
    let mut sq = [0.0f64; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            let a = c[i].to_f64();
            sq[i] += a * a;
        }
    }
    let mut s: f64 = sq.iter().sum();
    for v in chunks.remainder() {
        s += v.to_f64().powi(2);
    }
    s
}

/// Σ(xᵢ − mean)², accumulated in f64 over eight lanes: the second pass of [`mean_std`] without
/// [`deviation_and_histogram`]'s histogram (a counter per value, ~8x slower).
pub fn deviation<T: Float>(x: &[T], mean: f64) -> f64 {
    let mut dev = [0.0f64; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            let d = c[i].to_f64() - mean;
            dev[i] += d * d;
        }
    }
    let mut s: f64 = dev.iter().sum();
    for v in chunks.remainder() {
        s += (v.to_f64() - mean).powi(2);
    }
    s
}

/// The sums of one pass over a weight W and its gradient G ([`weight_pass`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WeightSums {
    /// Σwᵢ.
    pub sum: f64,
    /// Σwᵢ².
    pub sum_sq: f64,
    /// √Σgᵢ², ‖∂L/∂W‖.
    pub grad_norm: f64,
    /// max |gᵢ| (NaN when the sum of squares is NaN, as in [`norm_and_max`]).
    pub grad_max: f64,
}

/// One pass over W (`w`) and ∂L/∂W (`g`, same length): [`WeightSums`], and each wᵢ written to
/// `copy[i]` as `keep(wᵢ)` (the copy the update ratio ‖ΔW‖/‖W‖ is taken against). Eight lanes
/// of f64 accumulators, so the loop vectorizes.
pub fn weight_pass<T: Float, C: Copy>(
    w: &[T],
    g: &[T],
    copy: &mut [C],
    keep: impl Fn(T) -> C,
) -> WeightSums {
    assert!(w.len() == g.len() && w.len() == copy.len());
    let (mut s, mut sq, mut gsq, mut gmx) = ([0.0f64; 8], [0.0f64; 8], [0.0f64; 8], [0.0f64; 8]);
    let n8 = w.len() / 8 * 8;
    for ((wc, gc), cc) in w[..n8]
        .chunks_exact(8)
        .zip(g[..n8].chunks_exact(8))
        .zip(copy[..n8].chunks_exact_mut(8))
    {
        for i in 0..8 {
            cc[i] = keep(wc[i]);
            let x = wc[i].to_f64();
            s[i] += x;
            sq[i] += x * x;
            let a = gc[i].to_f64().abs();
            gsq[i] += a * a;
            gmx[i] = if a > gmx[i] { a } else { gmx[i] };
        }
    }
    let mut out = WeightSums {
        sum: s.iter().sum(),
        sum_sq: sq.iter().sum(),
        grad_norm: gsq.iter().sum(),
        grad_max: gmx.iter().copied().fold(0.0, f64::max),
    };
    for i in n8..w.len() {
        copy[i] = keep(w[i]);
        let x = w[i].to_f64();
        out.sum += x;
        out.sum_sq += x * x;
        let a = g[i].to_f64().abs();
        out.grad_norm += a * a;
        out.grad_max = out.grad_max.max(a);
    }
    if out.grad_norm.is_nan() {
        out.grad_max = f64::NAN;
    }
    out.grad_norm = out.grad_norm.sqrt();
    out
}

/// (Σ(wᵢ − oldᵢ)², Σoldᵢ²) of a weight `w` after a step and its copy `old` from before
/// (as [`weight_pass`] kept it, read back by `back`), over eight lanes.
pub fn update_sums<T: Float, C: Copy>(w: &[T], old: &[C], back: impl Fn(C) -> f64) -> (f64, f64) {
    let (mut d2, mut w2) = ([0.0f64; 8], [0.0f64; 8]);
    let n8 = w.len().min(old.len()) / 8 * 8;
    for (a, b) in w[..n8].chunks_exact(8).zip(old[..n8].chunks_exact(8)) {
        for i in 0..8 {
            let o = back(b[i]);
            d2[i] += (a[i].to_f64() - o).powi(2);
            w2[i] += o * o;
        }
    }
    let (mut d, mut o2): (f64, f64) = (d2.iter().sum(), w2.iter().sum());
    for (a, b) in w[n8..].iter().zip(&old[n8..]) {
        let o = back(*b);
        d += (a.to_f64() - o).powi(2);
        o2 += o * o;
    }
    (d, o2)
}

/// What one pass over an activation's output `a` (rows of `cols` units) gives
/// ([`activation_pass`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActivationSums {
    /// Σaᵢ.
    pub sum: f64,
    /// Smallest and largest finite aᵢ (±∞ when none is finite).
    pub lo: f64,
    /// See `lo`.
    pub hi: f64,
    /// How many aᵢ are within `eps` of a finite end of the range.
    pub near_end: usize,
}

/// One pass over an activation's output: [`ActivationSums`] for the range `range` and margin
/// `eps`, and `alive[j]` set when unit j is non-zero in some row (`alive` has `cols` entries).
pub fn activation_pass<T: Float>(
    a: &[T],
    cols: usize,
    range: [Option<f64>; 2],
    eps: f64,
    alive: &mut [bool],
) -> ActivationSums {
    // A missing end never counts: x − (−∞) and +∞ − x are never ≤ eps (or NaN).
    let (r_lo, r_hi) = (
        range[0].unwrap_or(f64::NEG_INFINITY),
        range[1].unwrap_or(f64::INFINITY),
    );
    let mut s = [0.0f64; 8];
    let (mut lo, mut hi) = ([f64::INFINITY; 8], [f64::NEG_INFINITY; 8]);
    let mut near = [0usize; 8];
    let mut tail = (0.0f64, f64::INFINITY, f64::NEG_INFINITY, 0usize);
    for row in a.chunks_exact(cols.max(1)) {
        for (al, v) in alive.iter_mut().zip(row) {
            *al |= *v != T::ZERO;
        }
        // The extremes of every value (NaN never compares, so it is skipped): ±∞ only when
        // there is one, then recomputed over the finite values below (~1.5x faster than a
        // test of finiteness per value).
        let mut chunks = row.chunks_exact(8);
        for c in &mut chunks {
            for i in 0..8 {
                let x = c[i].to_f64();
                s[i] += x;
                lo[i] = if x < lo[i] { x } else { lo[i] };
                hi[i] = if x > hi[i] { x } else { hi[i] };
                near[i] += usize::from((x - r_lo <= eps) | (r_hi - x <= eps));
            }
        }
        for v in chunks.remainder() {
            let x = v.to_f64();
            tail.0 += x;
            tail.1 = if x < tail.1 { x } else { tail.1 };
            tail.2 = if x > tail.2 { x } else { tail.2 };
            tail.3 += usize::from((x - r_lo <= eps) | (r_hi - x <= eps));
        }
    }
    let (mut lo, mut hi) = (
        lo.iter().copied().fold(tail.1, f64::min),
        hi.iter().copied().fold(tail.2, f64::max),
    );
    if lo == f64::NEG_INFINITY || hi == f64::INFINITY {
        (lo, hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let rows = a.chunks_exact(cols.max(1)).flatten();
        for x in rows.map(|v| v.to_f64()).filter(|x| x.is_finite()) {
            lo = lo.min(x);
            hi = hi.max(x);
        }
    }
    ActivationSums {
        sum: s.iter().sum::<f64>() + tail.0,
        lo,
        hi,
        near_end: near.iter().sum::<usize>() + tail.3,
    }
}

/// Σ(xᵢ − mean)² and the histogram of xᵢ over `bins` equal bins spanning [lo, hi] (the finite
/// extremes; [0, 1] when there are none, one unit wide when constant), non-finite values
/// counted above: [`linear_histogram`] and the second pass of [`mean_std`] in one pass.
pub fn deviation_and_histogram<T: Float>(
    x: &[T],
    mean: f64,
    lo: f64,
    hi: f64,
    bins: usize,
) -> (f64, Histogram) {
    let (lo, hi) = linear_span(lo, hi);
    let bins = bins.max(1);
    let mut counts = vec![0u64; bins];
    let mut above = 0;
    let mut dev = [0.0f64; 4];
    // (f − lo)·(bins / (hi − lo)): a multiplication per value instead of a division (the
    // bin can differ from linear_histogram's by one for a value within rounding of an edge).
    let scale = bins as f64 / (hi - lo);
    let last = (bins - 1) as f64;
    for (k, v) in x.iter().enumerate() {
        let f = v.to_f64();
        dev[k % 4] += (f - mean).powi(2);
        if !f.is_finite() {
            above += 1;
            continue;
        }
        // f ≥ lo, so the product is ≥ 0; the float min keeps the cast in range.
        let t = ((f - lo) * scale).min(last) as usize;
        counts[t] += 1;
    }
    (dev.iter().sum(), linear_edges(lo, hi, bins, counts, above))
}

/// [lo, hi] of a linear histogram from the finite extremes (see [`linear_histogram`]).
fn linear_span(mut lo: f64, mut hi: f64) -> (f64, f64) {
    if !lo.is_finite() {
        lo = 0.0;
        hi = 1.0;
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    (lo, hi)
}

fn linear_edges(lo: f64, hi: f64, bins: usize, counts: Vec<u64>, above: u64) -> Histogram {
    let edges: Vec<f64> = (0..=bins)
        .map(|i| lo + (hi - lo) * i as f64 / bins as f64)
        .collect();
    Histogram {
        edges,
        counts,
        below: 0,
        above,
    }
}
