//! The fixed point q* of the length map q ↦ σ_w² E[f(√q z)²] + σ_b² reached from the input.
//!
//! **Where the iteration starts.** The input x enters through the first linear layer, not
//! through f: with q⁰ = (1/N₀)‖x‖² the mean squared input entry (1 for standardized inputs),
//! the first layer's pre-activations have variance
//!
//! ```text
//! q¹ = σ_w² q⁰ + σ_b²,        q^{l+1} = F(q^l) = σ_w² E[f(√q^l z)²] + σ_b²,
//! ```
//!
//! (Poole et al. 2016, eq. 3). The fixed point that describes a deep network is the one this
//! sequence converges to. That matters whenever F has more than one attracting fixed point: for
//! GELU at σ_w² = 2.35, σ_b² = 0, q = 0 attracts every q below the unstable fixed point
//! q_u ≈ 1.0051 and q → ∞ everything above it. Standardized inputs start at q¹ = 2.35 > q_u and
//! the variance grows without bound (χ₁ → σ_w²/2 = 1.175: chaotic); starting the iteration at
//! q = 1 < q_u instead (as if the input were a pre-activation) lands on q* = 0 (χ₁ = σ_w²/4 =
//! 0.59: ordered) — the wrong answer.
//!
//! The map is iterated from q¹ for 40 steps (longer, up to 400, while
//! each step still moves q by at least 5% within 1e−4 < q < 1e4), stopping when a step changes
//! q by less than 1e−14 relative. When it has not settled by then (slow convergence near a
//! marginal fixed point, geometric decay to 0 or growth), G(q) = F(q) − q is scanned from the
//! last iterate in the direction the iteration moves (steps in ln q doubling from the last
//! iteration's step or 1e−4, capped at 0.05 for 1e−4 < q < 1e4) for the first sign change, which Brent's method (in
//! ln q) then locates to f64 precision: the limit the iteration would reach, since an
//! iteration that moves one way stops at the first fixed point on that side. The scan ends in
//! two explicit outcomes instead of looping:
//!
//! - **q* = 0** ([`FixedPointKind::Zero`]): q keeps decreasing below [`Q_MIN`] and 0 is a
//!   fixed point (F(0) = σ_w² f(0)² + σ_b² = 0), e.g. tanh with σ_b² = 0 and σ_w² ≤ 1, or ReLU
//!   with σ_b² = 0 and σ_w² < 2: the signal dies with depth;
//! - **q → ∞** ([`FixedPointKind::Divergent`]): q keeps growing past [`Q_MAX`], e.g. ReLU
//!   with σ_w² > 2 (or = 2 with σ_b² > 0): the pre-activations blow up with depth.
//!
//! A sign change counts only when G is beyond the quadrature's rounding, 1e−13·q: for
//! ReLU at σ_w² = 2, G(q) = σ_b² up to rounding ~1e−16·q, which must not pass for a root.

use crate::activation::Activation;
use crate::error::{Error, Result};

use super::expectation::length_map;

/// Plain iterations of the map before the bracketing search (more while q still moves by
/// ≥ 5% per step inside 1e−4 < q < 1e4, up to [`MAX_FAST_ITER`]).
pub(crate) const MAX_ITER: usize = 40;
/// At most this many plain iterations in all (q moving by ≥ 5% per step crosses
/// 1e−4 < q < 1e4 in at most 369 steps).
pub(crate) const MAX_FAST_ITER: usize = 400;
/// First step of the bracketing scan in ln q.
const SCAN_STEP: f64 = 1e-4;
/// Largest step of the scan in ln q inside [`SCAN_FINE`]: fixed points closer together than
/// this (5% in q) may be passed over as a pair.
const SCAN_MAX_STEP: f64 = 0.05;
/// The q range where the scan's step is capped (where the shape of a catalogue activation
/// matters; outside it the map is near its asymptotic form and the step may keep doubling).
const SCAN_FINE: (f64, f64) = (1e-4, 1e4);
/// Relative change of q below which the iteration has converged.
pub(crate) const REL_TOL: f64 = 1e-14;
/// Below this q a still-decreasing q is taken to tend to 0.
pub const Q_MIN: f64 = 1e-20;
/// Above this q a still-growing q is taken to diverge (pre-activations of standard deviation
/// above ~3·10⁷).
pub const Q_MAX: f64 = 1e15;
/// Relative size of G(q) = F(q) − q that is within the quadrature's rounding.
pub(crate) const NOISE: f64 = 1e-13;

/// What the length map does from the first layer's variance q¹ = σ_w² q⁰ + σ_b².
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FixedPointKind {
    /// A finite, positive fixed point q*.
    Finite,
    /// q → 0: the signal dies with depth (q* = 0).
    Zero,
    /// q → ∞: the pre-activations grow without bound (q* = ∞).
    Divergent,
}

impl FixedPointKind {
    /// `finite`, `zero` or `divergent`.
    pub fn as_str(&self) -> &'static str {
        match self {
            FixedPointKind::Finite => "finite",
            FixedPointKind::Zero => "zero",
            FixedPointKind::Divergent => "divergent",
        }
    }
}

impl std::fmt::Display for FixedPointKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fixed point q* = F(q*) of the length map F(q) = σ_w² E[f(√q z)²] + σ_b² reached from
/// the input: the limit of q¹ = σ_w² q⁰ + σ_b², q^{l+1} = F(q^l).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct FixedPoint {
    /// q*: finite and > 0, 0 ([`FixedPointKind::Zero`]) or +∞ ([`FixedPointKind::Divergent`];
    /// serialized as `null`).
    pub q_star: f64,
    /// Which of the three outcomes.
    pub kind: FixedPointKind,
    /// q⁰: the mean squared input entry the iteration started from (q¹ = σ_w² q⁰ + σ_b²).
    pub q0: f64,
    /// Plain iterations of the map done after the first layer (≤ 400).
    pub iterations: usize,
    /// True when the plain iteration converged; false when the bracketing search decided.
    pub converged_by_iteration: bool,
}

/// Largest accepted σ_w² or σ_b² (keeps the fixed point of every bounded catalogue
/// activation far below [`Q_MAX`]).
pub const MAX_VARIANCE: f64 = 1e6;

/// Checks that `act` is element-wise: softmax and log-softmax mix a whole row, so the
/// mean-field theory (which follows one unit) does not apply.
pub fn check_activation(act: &Activation) -> Result<()> {
    if act.is_rowwise() {
        return Err(Error::Invalid(format!(
            "mean-field theory needs an element-wise activation; `{}` is row-wise (each output \
             depends on the whole row), use it only as an output layer",
            act.name()
        )));
    }
    Ok(())
}

/// Checks that σ_w² and σ_b² are finite, ≥ 0 and at most [`MAX_VARIANCE`].
pub fn check_variances(sigma_w2: f64, sigma_b2: f64) -> Result<()> {
    for (name, v) in [("sigma_w2", sigma_w2), ("sigma_b2", sigma_b2)] {
        if !v.is_finite() || v < 0.0 {
            return Err(Error::Invalid(format!(
                "{name} = {v}: a variance must be a finite number >= 0"
            )));
        }
        if v > MAX_VARIANCE {
            return Err(Error::Invalid(format!(
                "{name} = {v}: must be at most {MAX_VARIANCE:e}"
            )));
        }
    }
    Ok(())
}

/// The mean squared entry of a standardized input: q⁰ = 1, so q¹ = σ_w² + σ_b².
pub const DEFAULT_Q0: f64 = 1.0;

/// Checks that the input's mean square q⁰ is finite, ≥ 0 and at most [`MAX_VARIANCE`].
pub fn check_q0(q0: f64) -> Result<()> {
    if !q0.is_finite() || q0 < 0.0 {
        return Err(Error::Invalid(format!(
            "q0 = {q0}: the input's mean square must be a finite number >= 0"
        )));
    }
    if q0 > MAX_VARIANCE {
        return Err(Error::Invalid(format!(
            "q0 = {q0}: must be at most {MAX_VARIANCE:e}"
        )));
    }
    Ok(())
}

/// [`fixed_point_from`] for standardized inputs (q⁰ = [`DEFAULT_Q0`] = 1, so the first layer
/// has variance q¹ = σ_w² + σ_b²).
pub fn fixed_point(act: &Activation, sigma_w2: f64, sigma_b2: f64) -> Result<FixedPoint> {
    fixed_point_from(act, sigma_w2, sigma_b2, DEFAULT_Q0)
}

/// The fixed point q* of the length map reached from an input whose entries have mean square
/// `q0`: the limit of q¹ = σ_w² q⁰ + σ_b², q^{l+1} = F(q^l) (see the module docs for the
/// algorithm and the q* = 0 and q → ∞ outcomes). Errors for a row-wise activation or a
/// variance or q⁰ that is negative, non-finite or above [`MAX_VARIANCE`].
pub fn fixed_point_from(
    act: &Activation,
    sigma_w2: f64,
    sigma_b2: f64,
    q0: f64,
) -> Result<FixedPoint> {
    check_activation(act)?;
    check_variances(sigma_w2, sigma_b2)?;
    check_q0(q0)?;
    let map = |q: f64| length_map(act, sigma_w2, sigma_b2, q);
    let bad = |q: f64, v: f64| {
        Error::Invalid(format!(
            "the length map of {act} is not finite at q = {q:e} ({v}); cannot find its fixed point"
        ))
    };
    let done = |q_star: f64, kind, iterations, converged_by_iteration| FixedPoint {
        q_star,
        kind,
        q0,
        iterations,
        converged_by_iteration,
    };
    let f0 = map(0.0);
    // The first layer: the input is not passed through f.
    let mut q = sigma_w2 * q0 + sigma_b2;
    if q == 0.0 {
        return Ok(done(0.0, FixedPointKind::Zero, 0, true));
    }
    let mut iterations = 0;
    // |Δ ln q| of the last iteration: past MAX_ITER the iteration goes on while it moves
    // faster than the scan would (steps ≥ SCAN_MAX_STEP inside SCAN_FINE; a monotone map never
    // carries q past a fixed point, so this skips nothing).
    let mut last_step = 0.0f64;
    let fast = |q: f64, step: f64| step >= SCAN_MAX_STEP && q > SCAN_FINE.0 && q < SCAN_FINE.1;
    while iterations < MAX_ITER || (iterations < MAX_FAST_ITER && fast(q, last_step)) {
        let next = map(q);
        iterations += 1;
        if next.is_nan() {
            return Err(bad(q, next));
        }
        if next > Q_MAX {
            return Ok(done(
                f64::INFINITY,
                FixedPointKind::Divergent,
                iterations,
                false,
            ));
        }
        if next == 0.0 {
            return Ok(done(0.0, FixedPointKind::Zero, iterations, true));
        }
        let converged = (next - q).abs() <= REL_TOL * next.max(q);
        last_step = (next / q).ln().abs();
        q = next;
        if converged {
            return Ok(done(q, FixedPointKind::Finite, iterations, true));
        }
        if q < Q_MIN && f0 == 0.0 {
            break;
        }
    }
    let g = |q: f64| -> Result<f64> {
        let v = map(q) - q;
        if v.is_nan() {
            Err(bad(q, v))
        } else {
            Ok(v)
        }
    };
    let gq = g(q)?;
    if gq == 0.0 {
        return Ok(done(q, FixedPointKind::Finite, iterations, true));
    }
    // Brent in u = ln q: the bracket may span decades, and the root is wanted to relative
    // precision.
    let root_in = |lo: (f64, f64), hi: (f64, f64)| -> Result<f64> {
        let u = brent(
            |u| map(u.exp()) - u.exp(),
            lo.0.ln(),
            hi.0.ln(),
            lo.1,
            hi.1,
            1e-15,
        )?;
        Ok(u.exp())
    };
    if gq > 0.0 {
        // q grows: the first q above with G clearly negative brackets the fixed point. `pos`
        // is the last q with G strictly positive; q with G within rounding of 0 are passed
        // over.
        let mut pos = (q, gq);
        let mut step = SCAN_STEP.max(last_step);
        let mut hi = q;
        loop {
            hi *= scan_step(hi, &mut step).exp();
            if hi > Q_MAX {
                return Ok(done(
                    f64::INFINITY,
                    FixedPointKind::Divergent,
                    iterations,
                    false,
                ));
            }
            let ghi = g(hi)?;
            if ghi < -NOISE * hi {
                let root = root_in(pos, (hi, ghi))?;
                return Ok(done(root, FixedPointKind::Finite, iterations, false));
            }
            if ghi > 0.0 {
                pos = (hi, ghi);
            }
        }
    }
    // q shrinks: the first q below with G clearly positive brackets the fixed point. `neg`
    // is the last q with G strictly negative.
    let mut neg = (q, gq);
    let mut step = SCAN_STEP.max(last_step);
    let mut lo = q;
    loop {
        lo *= (-scan_step(lo, &mut step)).exp();
        if lo < Q_MIN {
            if f0 == 0.0 {
                return Ok(done(0.0, FixedPointKind::Zero, iterations, false));
            }
            // F(0) > 0: G(0) > 0, so a (tiny) fixed point lies in (0, neg): Brent in q.
            let root = brent(|x| map(x) - x, 0.0, neg.0, f0, neg.1, 0.0)?;
            return Ok(done(root, FixedPointKind::Finite, iterations, false));
        }
        let glo = g(lo)?;
        if glo > NOISE * lo {
            let root = root_in((lo, glo), neg)?;
            return Ok(done(root, FixedPointKind::Finite, iterations, false));
        }
        if glo < 0.0 {
            neg = (lo, glo);
        }
    }
}

/// The next step in ln q of the bracketing scan from `q`: doubling from [`SCAN_STEP`], capped
/// at [`SCAN_MAX_STEP`] inside [`SCAN_FINE`].
fn scan_step(q: f64, step: &mut f64) -> f64 {
    let s = if q > SCAN_FINE.0 && q < SCAN_FINE.1 {
        step.min(SCAN_MAX_STEP)
    } else {
        *step
    };
    *step = 2.0 * s;
    s
}

/// The pre-activation variance layer by layer from an input whose entries have mean square
/// `q0`: `layers` values q¹ = σ_w² q⁰ + σ_b², q^{l+1} = F(q^l) (q^l for l = 1..=layers), i.e.
/// how fast q approaches q* (the transient). A q that overflows stays +∞.
pub fn q_trajectory(
    act: &Activation,
    sigma_w2: f64,
    sigma_b2: f64,
    q0: f64,
    layers: usize,
) -> Result<Vec<f64>> {
    check_activation(act)?;
    check_variances(sigma_w2, sigma_b2)?;
    check_q0(q0)?;
    let mut qs = Vec::with_capacity(layers);
    let mut q = sigma_w2 * q0 + sigma_b2;
    for _ in 0..layers {
        qs.push(q);
        q = if q.is_finite() {
            length_map(act, sigma_w2, sigma_b2, q)
        } else {
            q
        };
    }
    Ok(qs)
}

/// Brent's root finder on [a, b] given f(a) = `fa`, f(b) = `fb` of opposite signs (or one of
/// them 0), to absolute tolerance `abs_tol` in x (plus rounding). Errors if the bracket is
/// not one.
pub(crate) fn brent(
    mut f: impl FnMut(f64) -> f64,
    a: f64,
    b: f64,
    fa: f64,
    fb: f64,
    abs_tol: f64,
) -> Result<f64> {
    if fa == 0.0 {
        return Ok(a);
    }
    if fb == 0.0 {
        return Ok(b);
    }
    if fa.signum() == fb.signum() || fa.is_nan() || fb.is_nan() {
        return Err(Error::Invalid(format!(
            "root finding: [{a:e}, {b:e}] does not bracket a sign change ({fa:e}, {fb:e})"
        )));
    }
    let (mut a, mut b, mut fa, mut fb) = (a, b, fa, fb);
    let (mut c, mut fc) = (a, fa);
    let (mut d, mut e) = (b - a, b - a);
    for _ in 0..200 {
        if (fb > 0.0) == (fc > 0.0) {
            c = a;
            fc = fa;
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol = 2.0 * f64::EPSILON * b.abs() + 0.5 * abs_tol + 1e-300;
        let m = 0.5 * (c - b);
        if m.abs() <= tol || fb == 0.0 {
            return Ok(b);
        }
        if e.abs() >= tol && fa.abs() > fb.abs() {
            // Inverse quadratic interpolation (secant when a = c).
            let s = fb / fa;
            let (mut p, mut q);
            if a == c {
                p = 2.0 * m * s;
                q = 1.0 - s;
            } else {
                let qq = fa / fc;
                let r = fb / fc;
                p = s * (2.0 * m * qq * (qq - r) - (b - a) * (r - 1.0));
                q = (qq - 1.0) * (r - 1.0) * (s - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if 2.0 * p < (3.0 * m * q - (tol * q).abs()).min((e * q).abs()) {
                e = d;
                d = p / q;
            } else {
                d = m;
                e = m;
            }
        } else {
            d = m;
            e = m;
        }
        a = b;
        fa = fb;
        b += if d.abs() > tol { d } else { tol.copysign(m) };
        fb = f(b);
        if fb.is_nan() {
            return Err(Error::Invalid(format!(
                "root finding: the function is NaN at {b:e}"
            )));
        }
    }
    Ok(b)
}
