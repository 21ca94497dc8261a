//! The odd squashing family: tanh, softsign, hard-tanh.

use crate::float::Float;

/// tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ) = 2σ(2x) − 1.
#[inline(always)]
pub fn tanh<T: Float>(x: T) -> T {
    x.tanh()
}

/// tanh'(x) = 1 − tanh²(x) = sech²(x), computed as 4e/(1 + e)² with e = e^(−2|x|) so the tails
/// keep their relative precision. Maximum 1 at 0.
#[inline(always)]
pub fn tanh_grad<T: Float>(x: T) -> T {
    let e = (-(x.abs() + x.abs())).exp();
    let d = T::ONE + e;
    // Rounding can land one ulp above the exact maximum 1 near 0 (a comparison, not `min`,
    // which would turn NaN into 1).
    super::clamp_above(T::from_f64(4.0) * e / (d * d), T::ONE)
}

/// Softsign: x / (1 + |x|).
#[inline(always)]
pub fn softsign<T: Float>(x: T) -> T {
    x / (T::ONE + x.abs())
}

/// Softsign derivative: 1 / (1 + |x|)². NaN at ±∞, as PyTorch (whose backward of
/// x/(1 + |x|) meets ∞/∞ there).
#[inline(always)]
pub fn softsign_grad<T: Float>(x: T) -> T {
    let d = T::ONE + x.abs();
    T::ONE / (d * d) + super::nan_if_infinite(x)
}

/// Hard tanh: clamp(x, min, max); NaN at NaN.
#[inline(always)]
pub fn hard_tanh<T: Float>(x: T, min: T, max: T) -> T {
    super::clamp(x, min, max)
}

/// Hard tanh derivative: 0 at and outside the kinks (as PyTorch), 1 inside, and 1 at NaN
/// (PyTorch's scalar loop; see docs/reliability.md).
#[inline(always)]
pub fn hard_tanh_grad<T: Float>(x: T, min: T, max: T) -> T {
    if x <= min || x >= max {
        T::ZERO
    } else {
        T::ONE
    }
}
