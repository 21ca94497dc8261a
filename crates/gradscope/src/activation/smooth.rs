//! Smooth rectifiers: GELU (erf and tanh forms), softplus, mish.

use crate::float::Float;

use super::sigmoid::sigmoid;
use super::tanh::tanh_grad;

const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// 1/√(2π)
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
/// √(2/π)
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
const GELU_TANH_C: f64 = 0.044_715;
/// Beyond this |x| the tanh-form GELU equals its limits (x or 0) to every digit.
const GELU_TANH_CUTOFF: f64 = 1.0e4;

/// Standard normal CDF Φ(x) = ½ erfc(−x/√2) (erfc keeps the left tail precise).
#[inline(always)]
pub fn normal_cdf<T: Float>(x: T) -> T {
    T::from_f64(0.5) * (-x * T::from_f64(FRAC_1_SQRT_2)).erfc()
}

/// GELU (exact): x Φ(x).
#[inline(always)]
pub fn gelu<T: Float>(x: T) -> T {
    x * normal_cdf(x)
}

/// GELU derivative: Φ(x) + x φ(x).
#[inline(always)]
pub fn gelu_grad<T: Float>(x: T) -> T {
    let pdf = T::from_f64(FRAC_1_SQRT_2PI) * (T::from_f64(-0.5) * x * x).exp();
    normal_cdf(x) + x * pdf
}

/// GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
#[inline(always)]
pub fn gelu_tanh<T: Float>(x: T) -> T {
    if x.abs() > T::from_f64(GELU_TANH_CUTOFF) {
        // x·0 rather than 0: −∞ gives NaN, as PyTorch.
        return if x > T::ZERO { x } else { x * T::ZERO };
    }
    let u = T::from_f64(SQRT_2_OVER_PI) * (x + T::from_f64(GELU_TANH_C) * x * x * x);
    // ½(1 + tanh u) = σ(2u), which keeps its relative precision for very negative u.
    x * sigmoid(u + u)
}

/// Derivative of the tanh-form GELU: ½(1 + tanh u) + ½x·sech²(u)·√(2/π)(1 + 3·0.044715x²).
#[inline(always)]
pub fn gelu_tanh_grad<T: Float>(x: T) -> T {
    if x.abs() > T::from_f64(GELU_TANH_CUTOFF) {
        // NaN at ±∞, as PyTorch (∞·0 in its formula).
        let limit = if x > T::ZERO { T::ONE } else { T::ZERO };
        return limit + super::nan_if_infinite(x);
    }
    let c = T::from_f64(GELU_TANH_C);
    let k = T::from_f64(SQRT_2_OVER_PI);
    let u = k * (x + c * x * x * x);
    sigmoid(u + u)
        + T::from_f64(0.5) * x * tanh_grad(u) * k * (T::ONE + T::from_f64(3.0) * c * x * x)
}

/// Softplus (PyTorch semantics): ln(1 + e^(βx))/β, or x where βx > threshold. Computed as
/// (max(βx, 0) + ln(1 + e^(−|βx|)))/β, which never overflows. Like PyTorch's, it steps down
/// by ln(1 + e^(−threshold))/β (2.1e−9 for the defaults) where it switches to x.
#[inline(always)]
pub fn softplus<T: Float>(x: T, beta: T, threshold: T) -> T {
    let bx = beta * x;
    if bx > threshold {
        return x;
    }
    (bx.max(T::ZERO) + (-bx.abs()).exp().ln_1p()) / beta
}

/// Softplus derivative: σ(βx), or 1 where βx > threshold.
#[inline(always)]
pub fn softplus_grad<T: Float>(x: T, beta: T, threshold: T) -> T {
    let bx = beta * x;
    if bx > threshold {
        T::ONE
    } else {
        sigmoid(bx)
    }
}

/// Mish: x·tanh(softplus(x)).
#[inline(always)]
pub fn mish<T: Float>(x: T) -> T {
    let sp = x.max(T::ZERO) + (-x.abs()).exp().ln_1p();
    x * sp.tanh()
}

/// Mish derivative: tanh(sp) + x·sech²(sp)·σ(x), sp = softplus(x).
#[inline(always)]
pub fn mish_grad<T: Float>(x: T) -> T {
    let sp = x.max(T::ZERO) + (-x.abs()).exp().ln_1p();
    sp.tanh() + x * tanh_grad(sp) * sigmoid(x)
}
