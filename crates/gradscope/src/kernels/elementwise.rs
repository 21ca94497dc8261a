//! Element-wise loops of the recurrent layers: sums of gate pre-activations, bias gradients
//! as column sums, squared norms. The hot ones are compiled for the
//! CPU's widest vectors with `simd_kernel!`.

use super::simd_kernel;
use crate::float::Float;

simd_kernel! {
    /// out = x + y, element-wise.
    pub(crate) fn add<T: Float>(x: &[T], y: &[T], out: &mut [T]) {
        for ((o, a), b) in out.iter_mut().zip(x).zip(y) {
            *o = *a + *b;
        }
    }
}

simd_kernel! {
    /// out = block `k` (columns [k·w, (k+1)·w)) of x + y, for row-major x, y with rows of
    /// `stride` values: a gate block gathered into a contiguous `[rows, w]` buffer.
    pub(crate) fn add_block<T: Float>(x: &[T], y: &[T], k: usize, stride: usize, out: &mut [T]) {
        let w = out.len() / (x.len() / stride.max(1)).max(1);
        for ((o, a), b) in out
            .chunks_exact_mut(w)
            .zip(x.chunks_exact(stride))
            .zip(y.chunks_exact(stride))
        {
            let (a, b) = (&a[k * w..(k + 1) * w], &b[k * w..(k + 1) * w]);
            for j in 0..w {
                o[j] = a[j] + b[j];
            }
        }
    }
}

simd_kernel! {
    /// acc += the column sums of the row-major `d` (`[rows, acc.len()]`): a bias gradient
    /// ∂L/∂b = Σ_rows ∂L/∂g.
    pub(crate) fn add_column_sums<T: Float>(d: &[T], acc: &mut [T]) {
        for row in d.chunks_exact(acc.len()) {
            for (a, v) in acc.iter_mut().zip(row) {
                *a += *v;
            }
        }
    }
}

/// a += b, element-wise.
pub(crate) fn add_assign<T: Float>(a: &mut [T], b: &[T]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += *y;
    }
}

/// max |vᵢ| in f64 (0 for an empty slice).
pub(crate) fn max_abs<T: Float>(v: &[T]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.to_f64().abs()))
}

/// Σ vᵢ² in f64, with independent partial sums so the loop vectorizes.
pub(crate) fn sum_squares<T: Float>(v: &[T]) -> f64 {
    const LANES: usize = 16;
    let mut acc = [0.0f64; LANES];
    let chunks = v.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            let x = x.to_f64();
            *a += x * x;
        }
    }
    let mut total: f64 = acc.iter().sum();
    for x in tail {
        total += x.to_f64() * x.to_f64();
    }
    total
}
