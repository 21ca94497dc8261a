//! Row-wise softmax and log-softmax, with backward as the exact Jacobian-vector product.
//!
//! Both act on each row of a `[rows, cols]` matrix. Their scalar view (used for the
//! properties table and `--eval`) is the first output for the two-logit row [x, 0]:
//! softmax([x, 0])₀ = σ(x) and log-softmax([x, 0])₀ = ln σ(x) = −softplus(−x).

use crate::float::Float;

use super::sigmoid::{sigmoid, sigmoid_grad};

/// yᵢ = e^(xᵢ − m) / Σⱼ e^(xⱼ − m), m = maxⱼ xⱼ, for each row (shift-invariant, never
/// overflows).
pub fn softmax_rows<T: Float>(x: &[T], cols: usize, y: &mut [T]) {
    assert_eq!(x.len(), y.len());
    if cols == 0 {
        return;
    }
    for (xr, yr) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
        let m = xr.iter().copied().fold(xr[0], T::max);
        let mut sum = T::ZERO;
        for (xi, yi) in xr.iter().zip(yr.iter_mut()) {
            *yi = (*xi - m).exp();
            sum += *yi;
        }
        let inv = T::ONE / sum;
        yr.iter_mut().for_each(|v| *v *= inv);
    }
}

/// Softmax backward: ∂L/∂xᵢ = yᵢ (gᵢ − Σⱼ gⱼ yⱼ) with g = ∂L/∂y, y the forward output.
pub fn softmax_rows_backward<T: Float>(y: &[T], g: &[T], cols: usize, gx: &mut [T]) {
    assert!(y.len() == g.len() && g.len() == gx.len());
    if cols == 0 {
        return;
    }
    for ((yr, gr), gxr) in y
        .chunks_exact(cols)
        .zip(g.chunks_exact(cols))
        .zip(gx.chunks_exact_mut(cols))
    {
        let dot: T = yr.iter().zip(gr).map(|(a, b)| *a * *b).sum();
        for ((gxi, yi), gi) in gxr.iter_mut().zip(yr).zip(gr) {
            *gxi = *yi * (*gi - dot);
        }
    }
}

/// yᵢ = xᵢ − m − ln Σⱼ e^(xⱼ − m), m = maxⱼ xⱼ, for each row.
pub fn log_softmax_rows<T: Float>(x: &[T], cols: usize, y: &mut [T]) {
    assert_eq!(x.len(), y.len());
    if cols == 0 {
        return;
    }
    for (xr, yr) in x.chunks_exact(cols).zip(y.chunks_exact_mut(cols)) {
        let m = xr.iter().copied().fold(xr[0], T::max);
        let sum: T = xr.iter().map(|xi| (*xi - m).exp()).sum();
        let lse = m + sum.ln();
        for (xi, yi) in xr.iter().zip(yr.iter_mut()) {
            *yi = *xi - lse;
        }
    }
}

/// Log-softmax backward: ∂L/∂xᵢ = gᵢ − e^(yᵢ) Σⱼ gⱼ, y the forward output.
pub fn log_softmax_rows_backward<T: Float>(y: &[T], g: &[T], cols: usize, gx: &mut [T]) {
    assert!(y.len() == g.len() && g.len() == gx.len());
    if cols == 0 {
        return;
    }
    for ((yr, gr), gxr) in y
        .chunks_exact(cols)
        .zip(g.chunks_exact(cols))
        .zip(gx.chunks_exact_mut(cols))
    {
        let sum: T = gr.iter().copied().sum();
        for ((gxi, yi), gi) in gxr.iter_mut().zip(yr).zip(gr) {
            *gxi = *gi - yi.exp() * sum;
        }
    }
}

/// NaN when the row [x, 0]'s maximum is +∞ (x = +∞), 0 otherwise: the row form subtracts
/// the maximum, and ∞ − ∞ is NaN there, in PyTorch as here.
#[inline(always)]
fn nan_if_max_infinite<T: Float>(x: T) -> T {
    super::nan_if_infinite(x.max(T::ZERO))
}

/// Scalar view of softmax: softmax([x, 0])₀ = σ(x) (NaN at NaN and at +∞, 0 at −∞, as the
/// row form and PyTorch).
#[inline(always)]
pub fn softmax_scalar<T: Float>(x: T) -> T {
    sigmoid(x) + nan_if_max_infinite(x)
}

/// Its derivative ∂y₀/∂x₀ = y₀(1 − y₀) = σ'(x).
#[inline(always)]
pub fn softmax_scalar_grad<T: Float>(x: T) -> T {
    sigmoid_grad(x) + nan_if_max_infinite(x)
}

/// Scalar view of log-softmax: log-softmax([x, 0])₀ = −ln(1 + e⁻ˣ), computed stably (NaN at
/// NaN and +∞, −∞ at −∞).
#[inline(always)]
pub fn log_softmax_scalar<T: Float>(x: T) -> T {
    -((-x).max(T::ZERO) + (-x.abs()).exp().ln_1p()) + nan_if_max_infinite(x)
}

/// Its derivative 1 − σ(x) = σ(−x).
#[inline(always)]
pub fn log_softmax_scalar_grad<T: Float>(x: T) -> T {
    sigmoid(-x) + nan_if_max_infinite(x)
}
