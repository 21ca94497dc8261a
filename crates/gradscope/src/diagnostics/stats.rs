//! Summary statistics of tensors: norms, extremes, histograms.

use crate::float::Float;
use crate::kernels::simd_kernel;

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

/// Most values the quantiles and histograms of one tensor are taken over: a tensor with more
/// is represented by the strided sample x₀, x_s, x_2s, … with s = [`sample_stride`]`(n)`, as
/// the PyTorch adapter samples (`x.reshape(-1)[::s]`). Norms, maxima, means and fractions always
/// use every value. An exact quantile of n values is a selection over n keys, a histogram a
/// pass with a scattered increment per value: on a W1-sized layer (2¹⁵ values) they were half
/// of a measurement.
pub const SAMPLE_LIMIT: usize = 1 << 14;

/// The stride s = ⌈n / [`SAMPLE_LIMIT`]⌉ (1 for n ≤ SAMPLE_LIMIT, so a small tensor is used
/// whole) of the sample of n values.
pub fn sample_stride(n: usize) -> usize {
    n.div_ceil(SAMPLE_LIMIT).max(1)
}

simd_kernel! {
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
/// No logarithm per value: a table on the top bits of |xᵢ| picks the bin ([`LogBins`]).
pub fn log_abs_histogram<T: Float>(x: &[T], lo: i32, hi: i32, bins: usize) -> Histogram {
    log_abs_histogram_strided(x, 1, lo, hi, bins)
}

/// [`log_abs_histogram`] of the values x₀, x_s, x_2s, … (`stride` s ≥ 1).
pub fn log_abs_histogram_strided<T: Float>(
    x: &[T],
    stride: usize,
    lo: i32,
    hi: i32,
    bins: usize,
) -> Histogram {
    LogBins::new(lo, hi, bins).histogram(x, stride)
}

/// The bins of [`log_abs_histogram`] with a lookup table, built once and reused: the bin of
/// |x| is read off the top bits of its f64 (exponent and 7 mantissa bits, a bucket 2⁻⁷ of an
/// octave wide, 0.0034 decades) and corrected by comparing with the bucket's edges.
#[derive(Clone, Debug, PartialEq)]
pub struct LogBins {
    lo: i32,
    hi: i32,
    edges: Vec<f64>,
    /// `upper[t]`: the smallest |x| that is past slot t (slot 0 = below the first edge, slots
    /// 1..=bins the bins, bins + 1 = above the last edge).
    upper: Vec<f64>,
    /// First bucket key of the table, minus one (the table's slot 0 holds "below").
    key_base: u64,
    /// Slot of the lowest |x| of each bucket, from `key_base`; the last entry is "above".
    table: Vec<u16>,
    /// No bucket holds two edges (fewer than ~290 bins per decade): one comparison corrects
    /// the table's slot.
    one_edge_per_bucket: bool,
}

/// The bucket key of |x| ≥ 0: its f64 bits without the low 45 mantissa bits.
fn bucket_key(a: f64) -> u64 {
    a.to_bits() >> 45
}

impl LogBins {
    /// `bins` log-spaced bins over the decades 10^lo to 10^hi (`bins` ≥ 1, lo < hi; both
    /// within ±300, where 10^lo is a normal f64).
    pub fn new(lo: i32, hi: i32, bins: usize) -> Self {
        let bins = bins.clamp(1, u16::MAX as usize - 2);
        let lo = lo.clamp(-300, 299);
        let hi = hi.clamp(lo + 1, 300);
        let (l, h) = (lo as f64, hi as f64);
        let edges: Vec<f64> = (0..=bins)
            .map(|i| 10f64.powf(l + (h - l) * i as f64 / bins as f64))
            .collect();
        let mut upper = edges.clone();
        upper.push(f64::INFINITY);
        let (k0, k1) = (bucket_key(edges[0]), bucket_key(edges[bins]));
        let key_base = k0 - 1;
        let mut table = Vec::with_capacity((k1 - k0 + 3) as usize);
        table.push(0u16);
        let mut t = 0usize;
        for k in k0..=k1 {
            let low = f64::from_bits(k << 45);
            while t <= bins && low >= upper[t] {
                t += 1;
            }
            table.push(t as u16);
        }
        table.push(bins as u16 + 1);
        let one_edge_per_bucket = edges
            .windows(2)
            .all(|e| bucket_key(e[1]) > bucket_key(e[0]));
        LogBins {
            one_edge_per_bucket,
            lo,
            hi,
            edges,
            upper,
            key_base,
            table,
        }
    }

    /// Whether these are the bins of (`lo`, `hi`, `bins`).
    pub fn is(&self, lo: i32, hi: i32, bins: usize) -> bool {
        (self.lo, self.hi, self.edges.len()) == (lo, hi, bins.max(1) + 1)
    }

    /// The histogram of |x₀|, |x_s|, |x_2s|, … (NaN counts below, as zeros do).
    pub fn histogram<T: Float>(&self, x: &[T], stride: usize) -> Histogram {
        self.histogram_with(x, stride, &mut Vec::new())
    }

    /// [`LogBins::histogram`] with the values' slots in `slots`, scratch space reused between
    /// calls.
    pub fn histogram_with<T: Float>(
        &self,
        x: &[T],
        stride: usize,
        slots: &mut Vec<u16>,
    ) -> Histogram {
        let stride = stride.max(1);
        let bins = self.edges.len() - 1;
        // Four interleaved count arrays: consecutive values in one bin then do not wait on
        // each other's increment.
        let width = bins + 2;
        let mut counts = vec![0u64; 4 * width];
        if self.one_edge_per_bucket {
            slots.clear();
            slots.resize(x.len().div_ceil(stride), 0);
            log_slots(x, stride, self.key_base, &self.table, &self.upper, slots);
            for (k, &t) in slots.iter().enumerate() {
                counts[(k & 3) * width + t as usize] += 1;
            }
        } else {
            let last = self.table.len() as u64 - 1;
            for (k, v) in x.iter().step_by(stride).enumerate() {
                let a = v.to_f64().abs();
                let key = bucket_key(a).clamp(self.key_base, self.key_base + last) - self.key_base;
                let mut t = self.table[key as usize] as usize;
                // More than ~290 bins per decade: a bucket may hold several edges.
                while t <= bins && a >= self.upper[t] {
                    t += 1;
                }
                let t = if a.is_nan() { 0 } else { t };
                counts[(k & 3) * width + t] += 1;
            }
        }
        let total = |t: usize| (0..4).map(|j| counts[j * width + t]).sum::<u64>();
        Histogram {
            counts: (1..=bins).map(total).collect(),
            below: total(0),
            above: total(bins + 1),
            edges: self.edges.clone(),
        }
    }
}

simd_kernel! {
    /// The slot of each |x₀|, |x_s|, … in [`LogBins`] whose buckets hold at most one edge:
    /// the table's slot, one further when |x| is at or past the slot's upper edge, 0 for NaN.
    fn log_slots<T: Float>(
        x: &[T],
        stride: usize,
        key_base: u64,
        table: &[u16],
        upper: &[f64],
        out: &mut [u16],
    ) {
        let last = table.len() as u64 - 1;
        let top = upper.len() - 1;
        for (o, v) in out.iter_mut().zip(x.iter().step_by(stride)) {
            let a = v.to_f64().abs();
            let key = bucket_key(a).clamp(key_base, key_base + last) - key_base;
            let t = table[key as usize] as usize;
            let t = t + usize::from(t < top && a >= upper[t.min(top)]);
            *o = if a.is_nan() { 0 } else { t as u16 };
        }
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
    keys.clear();
    keys.extend(
        x.iter()
            .map(|v| v.to_f64())
            .filter(|v| v.is_finite())
            .map(order_key),
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
        from_order_key(v)
    };
    Some(super::Quantiles {
        p02: at(0.02),
        p25: at(0.25),
        p50: at(0.50),
        p75: at(0.75),
        p98: at(0.98),
    })
}

simd_kernel! {
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

simd_kernel! {
    /// One pass over W (`w`) and ∂L/∂W (`g`, same length): [`WeightSums`], and W copied to
    /// `copy` (the copy the update ratio ‖ΔW‖/‖W‖ is taken against). Eight lanes of f64
    /// accumulators, so the loop vectorizes.
    pub fn weight_pass<T: Float>(w: &[T], g: &[T], copy: &mut [T]) -> WeightSums {
        assert!(w.len() == g.len() && w.len() == copy.len());
        copy.copy_from_slice(w);
        let (mut s, mut sq, mut gsq, mut gmx) =
            ([0.0f64; 8], [0.0f64; 8], [0.0f64; 8], [0.0f64; 8]);
        let n8 = w.len() / 8 * 8;
        for (wc, gc) in w[..n8].chunks_exact(8).zip(g[..n8].chunks_exact(8)) {
            for i in 0..8 {
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
}

simd_kernel! {
    /// (Σ(wᵢ − oldᵢ)², Σoldᵢ²) of a weight `w` after a step and its copy `old` from before
    /// (as [`weight_pass`] kept it), over eight lanes.
    pub fn update_sums<T: Float>(w: &[T], old: &[T]) -> (f64, f64) {
        let (mut d2, mut w2) = ([0.0f64; 8], [0.0f64; 8]);
        let n8 = w.len().min(old.len()) / 8 * 8;
        for (a, b) in w[..n8].chunks_exact(8).zip(old[..n8].chunks_exact(8)) {
            for i in 0..8 {
                let o = b[i].to_f64();
                let d = a[i].to_f64() - o;
                d2[i] += d * d;
                w2[i] += o * o;
            }
        }
        let (mut d, mut o2): (f64, f64) = (d2.iter().sum(), w2.iter().sum());
        for (a, b) in w[n8..].iter().zip(&old[n8..]) {
            let o = b.to_f64();
            d += (a.to_f64() - o).powi(2);
            o2 += o * o;
        }
        (d, o2)
    }
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

simd_kernel! {
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
            let mut chunks = row.chunks_exact(8);
            for c in &mut chunks {
                // Branch-free, so the lanes vectorize: a non-finite x is replaced by the extreme
                // that leaves lo and hi unchanged.
                for i in 0..8 {
                    let x = c[i].to_f64();
                    s[i] += x;
                    let finite = x.is_finite();
                    let x_lo = if finite { x } else { f64::INFINITY };
                    let x_hi = if finite { x } else { f64::NEG_INFINITY };
                    lo[i] = if x_lo < lo[i] { x_lo } else { lo[i] };
                    hi[i] = if x_hi > hi[i] { x_hi } else { hi[i] };
                    near[i] += usize::from((x - r_lo <= eps) | (r_hi - x <= eps));
                }
            }
            for v in chunks.remainder() {
                let x = v.to_f64();
                tail.0 += x;
                if x.is_finite() {
                    tail.1 = tail.1.min(x);
                    tail.2 = tail.2.max(x);
                }
                tail.3 += usize::from(x - r_lo <= eps || r_hi - x <= eps);
            }
        }
        ActivationSums {
            sum: s.iter().sum::<f64>() + tail.0,
            lo: lo.iter().copied().fold(tail.1, f64::min),
            hi: hi.iter().copied().fold(tail.2, f64::max),
            near_end: near.iter().sum::<usize>() + tail.3,
        }
    }
}

simd_kernel! {
    /// Σ(xᵢ − mean)² over eight lanes.
    pub fn sum_sq_deviation<T: Float>(x: &[T], mean: f64) -> f64 {
        let mut dev = [0.0f64; 8];
        let mut chunks = x.chunks_exact(8);
        for c in &mut chunks {
            for i in 0..8 {
                let d = c[i].to_f64() - mean;
                dev[i] += d * d;
            }
        }
        let tail: f64 = chunks
            .remainder()
            .iter()
            .map(|v| (v.to_f64() - mean).powi(2))
            .sum();
        dev.iter().sum::<f64>() + tail
    }
}

/// Scratch space of [`histogram_and_quantiles`], reused between calls.
#[derive(Clone, Debug, Default)]
pub struct QuantileScratch {
    bin_of: Vec<u16>,
    keys: Vec<i64>,
}

/// The total_cmp order of f64 as an integer key (the bits, with the magnitude bits flipped
/// for negative values), and back.
fn order_key(f: f64) -> i64 {
    let b = f.to_bits() as i64;
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

fn from_order_key(k: i64) -> f64 {
    f64::from_bits((k ^ ((((k >> 63) as u64) >> 1) as i64)) as u64)
}

/// The histogram of x₀, x_s, x_2s, … (`stride` s ≥ 1) over `bins` equal bins spanning
/// [lo, hi] (the finite extremes; [0, 1] when there are none, one unit wide when constant;
/// non-finite values counted above), and the [`quantiles`] of the same values — exactly the
/// nearest-rank quantiles, found through the histogram: the bin is monotone in the value, so
/// the rank-k value lies in the bin where the cumulative count passes k, and only that bin's
/// values are selected among (a few hundred instead of 2¹⁴).
pub fn histogram_and_quantiles<T: Float>(
    x: &[T],
    stride: usize,
    lo: f64,
    hi: f64,
    bins: usize,
    scratch: &mut QuantileScratch,
) -> (Histogram, Option<super::Quantiles>) {
    let stride = stride.max(1);
    let (lo, hi) = linear_span(lo, hi);
    let bins = bins.clamp(1, u16::MAX as usize - 1);
    // Four interleaved count arrays (slot `bins` counts the non-finite values): consecutive
    // values in one bin then do not wait on each other's increment.
    let width = bins + 1;
    let mut sub = vec![0u64; 4 * width];
    // (f − lo)·(bins / (hi − lo)): a multiplication per value instead of a division (the
    // bin can differ from linear_histogram's by one for a value within rounding of an edge).
    let scale = bins as f64 / (hi - lo);
    let last = (bins - 1) as f64;
    let bin_of = &mut scratch.bin_of;
    bin_of.clear();
    bin_of.resize(x.len().div_ceil(stride), 0);
    bin_indices(x, stride, lo, scale, last, bins as u16, bin_of);
    for (k, &t) in bin_of.iter().enumerate() {
        sub[(k & 3) * width + t as usize] += 1;
    }
    let counts: Vec<u64> = (0..width)
        .map(|t| (0..4).map(|j| sub[j * width + t]).sum())
        .collect();
    let hist = linear_edges(lo, hi, bins, counts[..bins].to_vec(), counts[bins]);
    let finite: u64 = counts[..bins].iter().sum();
    if finite == 0 {
        return (hist, None);
    }
    // For each quantile: its rank, its bin, and its rank within the bin.
    let n = finite as usize;
    let ranks = QUANTILE_PS.map(|p| ((p * (n - 1) as f64).round() as usize).min(n - 1));
    let mut cumulative = Vec::with_capacity(bins + 1);
    let mut acc = 0usize;
    for &c in &counts[..bins] {
        cumulative.push(acc);
        acc += c as usize;
    }
    cumulative.push(acc);
    let bin_of_rank = |r: usize| cumulative.partition_point(|&c| c <= r) - 1;
    let targets = ranks.map(bin_of_rank);
    // The target bins' values, each bin's keys in one segment of `keys`.
    const NONE: u8 = u8::MAX;
    let mut slot = vec![NONE; width];
    let mut starts: Vec<usize> = Vec::with_capacity(5);
    let mut total = 0usize;
    for &t in &targets {
        if slot[t] == NONE {
            slot[t] = starts.len() as u8;
            starts.push(total);
            total += counts[t] as usize;
        }
    }
    // Branch-free: a value outside the target bins is written to a spare last entry, which
    // its slot never moves past.
    let keys = &mut scratch.keys;
    keys.clear();
    keys.resize(total + 1, 0);
    let spare = starts.len();
    for s in slot.iter_mut().filter(|s| **s == NONE) {
        *s = spare as u8;
    }
    let mut fill = starts.clone();
    fill.push(total);
    for (v, &t) in x.iter().step_by(stride).zip(bin_of.iter()) {
        let s = slot[t as usize] as usize;
        keys[fill[s]] = order_key(v.to_f64());
        fill[s] += usize::from(s != spare);
    }
    let mut at = |q: usize| {
        let t = targets[q];
        let s = slot[t] as usize;
        let segment = &mut keys[starts[s]..starts[s] + counts[t] as usize];
        from_order_key(*segment.select_nth_unstable(ranks[q] - cumulative[t]).1)
    };
    let quantiles = super::Quantiles {
        p02: at(0),
        p25: at(1),
        p50: at(2),
        p75: at(3),
        p98: at(4),
    };
    (hist, Some(quantiles))
}

simd_kernel! {
    /// The bin of each of x₀, x_s, x_2s, … into `out`: ⌊(x − lo)·scale⌋ clamped to
    /// [0, last], `nonfinite` for ±∞ and NaN (branch-free, so the loop vectorizes).
    fn bin_indices<T: Float>(
        x: &[T],
        stride: usize,
        lo: f64,
        scale: f64,
        last: f64,
        nonfinite: u16,
        out: &mut [u16],
    ) {
        let bin = |f: f64| {
            // f ≥ lo when lo is the values' minimum, so the product is ≥ 0; max/min keep
            // the cast in range otherwise (and turn NaN into 0, replaced below).
            let t = ((f - lo) * scale).max(0.0).min(last) as u16;
            if f.is_finite() {
                t
            } else {
                nonfinite
            }
        };
        if stride == 1 {
            for (o, v) in out.iter_mut().zip(x) {
                *o = bin(v.to_f64());
            }
        } else {
            for (o, v) in out.iter_mut().zip(x.iter().step_by(stride)) {
                *o = bin(v.to_f64());
            }
        }
    }
}

/// The probabilities of [`Quantiles`](super::Quantiles): 2%, 25%, 50%, 75%, 98%.
const QUANTILE_PS: [f64; 5] = [0.02, 0.25, 0.50, 0.75, 0.98];

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
