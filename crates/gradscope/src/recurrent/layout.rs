//! Time-major ↔ batch-major layouts of a batch of sequences.

use crate::float::Float;
use crate::tensor::Tensor;

/// Batch-major rows of whole sequences to time-major steps: `src` is `[B, T·W]` (row b holds
/// the T steps of sample b, W values each, step t at `row[t·W..(t+1)·W]`), `dst` becomes
/// `[T, B, W]` with dst[t, b, :] = src[b, t·W..(t+1)·W]. This is how a
/// [`RecurrentEncoder`](super::RecurrentEncoder) reads its input, and how a `[B·T, W]`
/// gradient of a many-to-many head (rows in (sample, step) order) becomes `[T, B, W]`.
///
/// ```
/// use gradscope::recurrent::to_time_major;
/// use gradscope::Tensor;
///
/// // 2 samples of 3 steps, 1 value per step: rows [a0 a1 a2], [b0 b1 b2].
/// let src = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0];
/// let mut dst = Tensor::<f32>::default();
/// to_time_major(&src, 2, 3, 1, &mut dst);
/// assert_eq!(dst.shape(), [3, 2, 1]);
/// assert_eq!(dst.data(), [0.0, 10.0, 1.0, 11.0, 2.0, 12.0]);
/// ```
pub fn to_time_major<T: Float>(src: &[T], b: usize, t: usize, w: usize, dst: &mut Tensor<T>) {
    dst.resize(&[t, b, w]);
    let d = dst.data_mut();
    for (bi, row) in src.chunks_exact(t * w).enumerate() {
        for (ti, step) in row.chunks_exact(w).enumerate() {
            d[(ti * b + bi) * w..(ti * b + bi + 1) * w].copy_from_slice(step);
        }
    }
}

/// Time-major steps back to batch-major rows, the inverse of [`to_time_major`]: `src` is
/// `[T, B, W]`, `dst` gets dst[b, t·W..(t+1)·W] = src[t, b, :] and the shape `shape`
/// (`[B, T·W]`, or `[B·T, W]` for rows in (sample, step) order).
pub fn to_batch_major<T: Float>(
    src: &[T],
    b: usize,
    t: usize,
    w: usize,
    dst: &mut Tensor<T>,
    shape: &[usize],
) {
    dst.resize(shape);
    let d = dst.data_mut();
    for ti in 0..t {
        for bi in 0..b {
            let s = &src[(ti * b + bi) * w..(ti * b + bi + 1) * w];
            d[(bi * t + ti) * w..(bi * t + ti + 1) * w].copy_from_slice(s);
        }
    }
}
