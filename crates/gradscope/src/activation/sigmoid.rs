//! The logistic family: sigmoid, hard-sigmoid, the seeds' improved sigmoid, Swish/SiLU and
//! hard-swish.

use crate::float::Float;

/// σ(x) = 1 / (1 + e⁻ˣ), computed as 1/(1+e) for x ≥ 0 and e/(1+e) for x < 0 with
/// e = e^(−|x|), so neither branch overflows nor loses relative precision in the tails.
#[inline(always)]
pub fn sigmoid<T: Float>(x: T) -> T {
    let e = (-x.abs()).exp();
    let d = T::ONE + e;
    if x >= T::ZERO {
        T::ONE / d
    } else {
        e / d
    }
}

/// σ'(x) = σ(x)(1 − σ(x)) = e / (1 + e)² with e = e^(−|x|) (even in x, no cancellation).
/// Its maximum is σ'(0) = 1/4.
#[inline(always)]
pub fn sigmoid_grad<T: Float>(x: T) -> T {
    let e = (-x.abs()).exp();
    let d = T::ONE + e;
    // Rounding can land one ulp above the exact maximum 1/4 near 0. (A comparison, not
    // `min`, which would turn NaN into 1/4.)
    super::clamp_above(e / (d * d), T::from_f64(0.25))
}

/// Hard sigmoid (PyTorch `Hardsigmoid`): clamp(x/6 + 1/2, 0, 1); NaN at NaN.
#[inline(always)]
pub fn hard_sigmoid<T: Float>(x: T) -> T {
    super::clamp(x / T::from_f64(6.0) + T::from_f64(0.5), T::ZERO, T::ONE)
}

/// Hard sigmoid derivative: 1/6 on the open interval (−3, 3), 0 elsewhere (0 at ±3, as
/// PyTorch).
#[inline(always)]
pub fn hard_sigmoid_grad<T: Float>(x: T) -> T {
    let three = T::from_f64(3.0);
    if x > -three && x < three {
        T::ONE / T::from_f64(6.0)
    } else {
        T::ZERO
    }
}

/// Hard swish (PyTorch `Hardswish`): x·clamp(x + 3, 0, 6)/6, evaluated in PyTorch's order
/// (x times the clamp, then divided by 6, so the results are PyTorch's to the bit). NaN at
/// NaN; +∞ at +∞; NaN at −∞ (−∞·0, as PyTorch). A finite x above MAX/6, where x·6
/// overflows (PyTorch returns +∞ there), gives x itself.
#[inline(always)]
pub fn hard_swish<T: Float>(x: T) -> T {
    let six = T::from_f64(6.0);
    let y = x * super::clamp(x + T::from_f64(3.0), T::ZERO, six) / six;
    if y.is_finite() || !x.is_finite() {
        y
    } else {
        x
    }
}

/// Hard swish derivative: 0 for x ≤ −3, x/3 + 1/2 on (−3, 3), 1 for x ≥ 3 — PyTorch's
/// one-sided values at the kinks, f'(−3) = 0 and f'(3) = 1 (not the interior limits
/// −1/2 and 3/2). NaN at NaN (PyTorch's vectorized loop; its scalar loop gives 1).
#[inline(always)]
pub fn hard_swish_grad<T: Float>(x: T) -> T {
    let three = T::from_f64(3.0);
    if x <= -three {
        T::ZERO
    } else if x < three {
        x / three + T::from_f64(0.5)
    } else if x >= three {
        T::ONE
    } else {
        x // NaN
    }
}

/// k·x, except that a zero parameter k removes the term (0 rather than 0·∞ = NaN at x = ±∞).
#[inline(always)]
fn scaled<T: Float>(k: T, x: T) -> T {
    if k == T::ZERO {
        T::ZERO
    } else {
        k * x
    }
}

/// The seeds' improved sigmoid: f(x) = σ(αx) + βx. With β > 0 it is unbounded in both
/// directions (range (−∞, ∞)), whatever the seed's table says. NaN at NaN; f(±∞) = ±∞ for
/// β > 0; a zero α or β drops its term (β = 0 is the sigmoid σ(αx), limits 1 and 0).
#[inline(always)]
pub fn improved_sigmoid<T: Float>(x: T, alpha: T, beta: T) -> T {
    sigmoid(scaled(alpha, x)) + scaled(beta, x)
}

/// f'(x) = α σ(αx)(1 − σ(αx)) + β: never below β, so it does not saturate when β > 0.
/// NaN at NaN, β at ±∞.
#[inline(always)]
pub fn improved_sigmoid_grad<T: Float>(x: T, alpha: T, beta: T) -> T {
    alpha * sigmoid_grad(scaled(alpha, x)) + beta
}

/// Swish: f(x) = x σ(βx) (SiLU is β = 1). As PyTorch's SiLU: NaN at NaN, f(+∞) = +∞,
/// f(−∞) = −∞·0 = NaN (for β > 0; β = 0 is x/2).
#[inline(always)]
pub fn swish<T: Float>(x: T, beta: T) -> T {
    x * sigmoid(scaled(beta, x))
}

/// Swish derivative: σ(βx) + βx σ(βx)(1 − σ(βx)). As PyTorch's SiLU backward, NaN at NaN
/// and at ±∞ (∞·0); a finite x whose βx overflows gets the finite limits 1 and 0.
#[inline(always)]
pub fn swish_grad<T: Float>(x: T, beta: T) -> T {
    let bx = scaled(beta, x);
    if !bx.is_finite() && x.is_finite() {
        // βx overflowed (|x| near the largest float): the limits 1 (βx → ∞) and 0 (→ −∞).
        return if bx > T::ZERO { T::ONE } else { T::ZERO };
    }
    sigmoid(bx) + bx * sigmoid_grad(bx)
}
