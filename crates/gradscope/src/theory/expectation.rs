//! The Gaussian expectations of the mean-field theory, E[f(√q z)²] and E[f'(√q z)²] for
//! z ~ N(0, 1), by [`crate::quadrature`], exact at the activation's kinks.
//!
//! A kink k of f is a kink of z ↦ f(√q z) at z = k/√q, so the activation's kinks are passed
//! to the quadrature scaled by 1/√q. For large q, f(√q z) also varies on the scale 1/√q
//! (tanh(√q z) steps from −1 to 1 within a few 1/√q), so a geometric ladder of breakpoints
//! ±2ᵏ/√q (from 1/(16√q) up to the end of the integration interval) resolves that scale;
//! for q ≤ 1 it is not needed (the default panels of width 0.5 are already finer) but
//! harmless.
//!
//! The integrals run over |z| ≤ 12 rather than the quadrature's default ±40 (a
//! quarter of the panels): every catalogue activation has f², f'² ≤ C(1 + q z²), whose
//! Gaussian tail beyond 12 is below 1e−30 relative.
//!
//! q = 0 is the limit q → 0⁺: E[f(0·z)²] = f(0)² and E[f'(√q z)²] → ½(f'(0⁺)² + f'(0⁻)²),
//! the mean of the one-sided derivatives (for ReLU ½, not PyTorch's f'(0)² = 0: a variance
//! that tends to 0 never makes the pre-activations exactly 0). q = ∞ is the limit q → ∞:
//! E[f'(√q z)²] → ½(f'(+∞)² + f'(−∞)²).

use crate::activation::Activation;
use crate::quadrature::{integrate, normal_pdf};

/// Half-width of the z interval integrated over (see the module docs).
pub(crate) const Z_MAX: f64 = 12.0;

/// E[g(z)], z ~ N(0, 1), over |z| ≤ [`Z_MAX`], panels split at `breakpoints`.
fn expect(g: impl Fn(f64) -> f64, breakpoints: &[f64]) -> f64 {
    integrate(|z| g(z) * normal_pdf(z), -Z_MAX, Z_MAX, breakpoints)
}

/// Where the one-sided derivatives at 0 are taken (f' is continuous on each side of a kink at
/// 0, so this is the one-sided limit to f64 precision).
const ZERO_SIDE: f64 = 1e-300;
/// Where the derivatives at ±∞ are taken (every catalogue activation has finite f and f'
/// there and has reached its limit).
const INFINITY_SIDE: f64 = 1e200;

/// The quadrature breakpoints for z ↦ g(√q z) with g = f, f', f², f'²: the activation's kinks
/// scaled by 1/√q, plus the ladder ±2ᵏ/√q that resolves the scale 1/√q (see the module docs).
/// Empty for q = 0 or a non-finite q.
pub fn breakpoints(act: &Activation, q: f64) -> Vec<f64> {
    if !(q > 0.0 && q.is_finite()) {
        return Vec::new();
    }
    let s = q.sqrt();
    let mut b: Vec<f64> = act
        .kinks()
        .iter()
        .map(|k| k / s)
        .filter(|x| x.is_finite() && x.abs() < Z_MAX)
        .collect();
    let mut x = 0.0625 / s;
    while x < Z_MAX {
        b.push(x);
        b.push(-x);
        x *= 2.0;
    }
    b
}

/// E[f(√q z)²], z ~ N(0, 1): the second moment of the post-activation when the
/// pre-activation has variance q (f(0)² at q = 0, +∞ at q = ∞ unless f is bounded).
pub fn mean_sq_output(act: &Activation, q: f64) -> f64 {
    if q == 0.0 {
        return act.f(0.0f64).powi(2);
    }
    if q.is_infinite() {
        let inf = |x: f64| act.f(x).abs();
        return if inf(INFINITY_SIDE) > 1e100 || inf(-INFINITY_SIDE) > 1e100 {
            f64::INFINITY
        } else {
            0.5 * (act.f(INFINITY_SIDE).powi(2) + act.f(-INFINITY_SIDE).powi(2))
        };
    }
    let s = q.sqrt();
    expect(
        |z| {
            let v = act.f(s * z);
            v * v
        },
        &breakpoints(act, q),
    )
}

/// E[f'(√q z)²], z ~ N(0, 1): the mean squared slope of the activation at pre-activation
/// variance q (limits at q = 0 and q = ∞ as in the module docs).
pub fn mean_sq_derivative(act: &Activation, q: f64) -> f64 {
    let one_sided = |x: f64| 0.5 * (act.df(x).powi(2) + act.df(-x).powi(2));
    if q == 0.0 {
        return one_sided(ZERO_SIDE);
    }
    if q.is_infinite() {
        return one_sided(INFINITY_SIDE);
    }
    let s = q.sqrt();
    expect(
        |z| {
            let d = act.df(s * z);
            d * d
        },
        &breakpoints(act, q),
    )
}

/// The length map q ↦ σ_w² E[f(√q z)²] + σ_b²: the variance of the next layer's
/// pre-activations when this layer's have variance q (weights ~ N(0, σ_w²/fan_in), biases
/// ~ N(0, σ_b²)). No argument checks (see [`super::fixed_point()`]).
pub fn length_map(act: &Activation, sigma_w2: f64, sigma_b2: f64, q: f64) -> f64 {
    sigma_w2 * mean_sq_output(act, q) + sigma_b2
}
