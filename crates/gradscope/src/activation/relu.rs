//! The rectifier family: ReLU, Leaky ReLU, PReLU, RReLU, ELU, SELU.
//!
//! Derivatives at the kink x = 0 follow PyTorch: ReLU'(0) = 0; Leaky/PReLU/RReLU'(0) = the
//! negative slope; ELU'(0) = α; SELU'(0) = λα.
//!
//! NaN follows PyTorch too (docs/reliability.md): every forward gives NaN at NaN; ReLU'(NaN)
//! = 1 and Leaky'(NaN) = the slope (the upstream gradient is passed on, as PyTorch's
//! backward does), ELU'(NaN) = SELU'(NaN) = NaN. The tests are written as `x < 0` or
//! `x <= 0` so that a NaN, for which every comparison is false, takes the positive branch: a
//! comparison and a select (ReLU's forward is a single `maxps`), as cheap as before.

use crate::float::Float;

/// SELU's α (Klambauer et al. 2017).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// SELU's scale λ.
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// ReLU: max(x, 0); NaN at NaN and −0 at −0, as PyTorch.
#[inline(always)]
pub fn relu<T: Float>(x: T) -> T {
    if x < T::ZERO {
        T::ZERO
    } else {
        x
    }
}

/// ReLU derivative: 0 for x ≤ 0, 1 otherwise (also at NaN, as PyTorch).
#[inline(always)]
pub fn relu_grad<T: Float>(x: T) -> T {
    if x <= T::ZERO {
        T::ZERO
    } else {
        T::ONE
    }
}

/// Leaky ReLU (also PReLU and RReLU with a given slope a): x for x > 0, a·x otherwise.
#[inline(always)]
pub fn leaky_relu<T: Float>(x: T, slope: T) -> T {
    if x > T::ZERO {
        x
    } else {
        slope * x
    }
}

/// Leaky ReLU derivative: 1 for x > 0, a for x ≤ 0.
#[inline(always)]
pub fn leaky_relu_grad<T: Float>(x: T, slope: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else {
        slope
    }
}

/// ELU: x for x > 0, α(eˣ − 1) otherwise (via expm1, exact near 0).
#[inline(always)]
pub fn elu<T: Float>(x: T, alpha: T) -> T {
    if x > T::ZERO {
        x
    } else {
        alpha * x.exp_m1()
    }
}

/// ELU derivative: 1 for x > 0, α eˣ for x ≤ 0.
#[inline(always)]
pub fn elu_grad<T: Float>(x: T, alpha: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else {
        alpha * x.exp()
    }
}

/// SELU: λ·ELU_α(x) with the self-normalizing constants [`SELU_SCALE`], [`SELU_ALPHA`].
#[inline(always)]
pub fn selu<T: Float>(x: T) -> T {
    T::from_f64(SELU_SCALE) * elu(x, T::from_f64(SELU_ALPHA))
}

/// SELU derivative: λ for x > 0, λα eˣ for x ≤ 0.
#[inline(always)]
pub fn selu_grad<T: Float>(x: T) -> T {
    T::from_f64(SELU_SCALE) * elu_grad(x, T::from_f64(SELU_ALPHA))
}
