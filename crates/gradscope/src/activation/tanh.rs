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
    // Rounding can land one ulp above the exact maximum 1 near 0.
    (T::from_f64(4.0) * e / (d * d)).min(T::ONE)
}

/// Softsign: x / (1 + |x|).
#[inline(always)]
pub fn softsign<T: Float>(x: T) -> T {
    x / (T::ONE + x.abs())
}

/// Softsign derivative: 1 / (1 + |x|)².
#[inline(always)]
pub fn softsign_grad<T: Float>(x: T) -> T {
    let d = T::ONE + x.abs();
    T::ONE / (d * d)
}

/// Hard tanh: clamp(x, min, max).
#[inline(always)]
pub fn hard_tanh<T: Float>(x: T, min: T, max: T) -> T {
    x.max(min).min(max)
}

/// Hard tanh derivative: 1 on the open interval (min, max), 0 elsewhere (0 at the kinks, as
/// PyTorch).
#[inline(always)]
pub fn hard_tanh_grad<T: Float>(x: T, min: T, max: T) -> T {
    if x > min && x < max {
        T::ONE
    } else {
        T::ZERO
    }
}
