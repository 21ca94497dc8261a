//! The edge of chaos: the σ_w² at which χ₁ = 1 for a given σ_b², and the χ₁ = 1 curve over
//! σ_b² that separates the ordered from the chaotic phase.
//!
//! χ₁(σ_w²) at fixed σ_b² is continuous for tanh, ReLU, sigmoid and most of the catalogue,
//! and the order-to-chaos transition is a genuine critical point χ₁ = 1. For some
//! activations it is not: GELU, for instance, has f(0) = 0 and f'(0)² = 1/4 but grows like
//! ReLU, so for 2 < σ_w² < 4 (σ_b² = 0) q = 0 is a stable fixed point *and* q → ∞ attracts
//! large q, with an unstable fixed point q_u(σ_w²) between them. Which one the iteration from
//! the first layer's q¹ = σ_w² q⁰ + σ_b² reaches switches abruptly where q_u passes q¹, and χ₁
//! jumps from σ_w²/4 < 1 to σ_w²/2 > 1 there: a discontinuous transition with no σ_w² giving
//! χ₁ = 1, whose location depends on the input's mean square q⁰. [`transition`] reports both
//! kinds; [`critical_sigma_w2`] only genuine critical points.

use crate::activation::Activation;
use crate::error::Result;

use super::chi1;
use super::fixed_point::{brent, check_activation, check_q0, check_variances};

/// The σ_w² range searched: [1e−3, 1e6] (1e6 is [`super::MAX_VARIANCE`]). Below 1e−3 no
/// catalogue activation reaches χ₁ = 1 (sup f'² ≤ 3.1 for all of them, so χ₁ ≤ 3.1·σ_w²).
pub const CRITICAL_RANGE: (f64, f64) = (1e-3, 1e6);

/// Relative precision of the located σ_w².
pub(crate) const CRITICAL_REL_TOL: f64 = 1e-12;

/// |χ₁ − 1| at the located σ_w² beyond which the crossing is a jump, not a critical point.
pub(crate) const CONTINUITY_TOL: f64 = 1e-6;

/// Where χ₁ = σ_w² E[f'(√q* z)²] crosses 1 as σ_w² grows at fixed σ_b² and q⁰ (ordered →
/// chaotic).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Transition {
    /// σ_b².
    pub sigma_b2: f64,
    /// The σ_w² of the crossing (to relative precision 1e−12).
    pub sigma_w2: f64,
    /// True for a genuine critical point (χ₁ = 1 there to 1e−6); false when χ₁
    /// jumps across 1 at `sigma_w2` (see the module docs).
    pub continuous: bool,
    /// χ₁ just below `sigma_w2` (relative offset 1e−9): ≈ 1 when continuous.
    pub chi1_below: f64,
    /// χ₁ just above `sigma_w2` (relative offset 1e−9): ≈ 1 when continuous.
    pub chi1_above: f64,
}

/// One point of the χ₁ = 1 curve, χ₁ = σ_w² E[f'(√q* z)²]: the transition at one σ_b².
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CriticalPoint {
    /// σ_b².
    pub sigma_b2: f64,
    /// The ordered-to-chaotic transition at this σ_b², if χ₁ crosses 1 in
    /// [`CRITICAL_RANGE`].
    pub transition: Option<Transition>,
}

/// χ₁ − 1 at (σ_w², σ_b², q⁰), NaN if the theory fails there.
fn excess(act: &Activation, sigma_w2: f64, sigma_b2: f64, q0: f64) -> f64 {
    chi1(act, sigma_w2, sigma_b2, q0).map_or(f64::NAN, |c| c - 1.0)
}

/// χ₁ − 1, with the error when the theory fails.
fn excess_checked(act: &Activation, sigma_w2: f64, sigma_b2: f64, q0: f64) -> Result<f64> {
    chi1(act, sigma_w2, sigma_b2, q0).map(|c| c - 1.0)
}

/// The ordered-to-chaotic transition for bias variance `sigma_b2` and inputs of mean square
/// `q0` (1 for standardized inputs): the smallest σ_w² in [`CRITICAL_RANGE`] at which χ₁
/// crosses 1 from below, continuous or not; `None` if χ₁ stays below 1 over the whole range
/// or is already ≥ 1 at its lower end.
///
/// Algorithm: χ₁ − 1 is evaluated on the geometric grid 1e−3·2ᵏ; the first grid interval
/// where it changes sign from negative to ≥ 0 is handed to Brent's method in ln σ_w² (a
/// bracketing root
/// finder: superlinear, never leaves the bracket, and converges to the jump of a
/// discontinuous crossing); then |χ₁ − 1| there tells a critical point from a jump.
pub fn transition(act: &Activation, sigma_b2: f64, q0: f64) -> Result<Option<Transition>> {
    check_activation(act)?;
    check_variances(0.0, sigma_b2)?;
    check_q0(q0)?;
    let (lo, hi) = CRITICAL_RANGE;
    let mut s0 = lo;
    let mut h0 = excess_checked(act, s0, sigma_b2, q0)?;
    if h0 >= 0.0 {
        return Ok(None);
    }
    while s0 < hi {
        let s1 = (2.0 * s0).min(hi);
        let h1 = excess_checked(act, s1, sigma_b2, q0)?;
        if h1 >= 0.0 {
            let u = brent(
                |u| excess(act, u.exp(), sigma_b2, q0),
                s0.ln(),
                s1.ln(),
                h0,
                h1,
                CRITICAL_REL_TOL,
            )?;
            let root = u.exp();
            let at = excess_checked(act, root, sigma_b2, q0)?;
            let chi1_below = 1.0 + excess_checked(act, root * (1.0 - 1e-9), sigma_b2, q0)?;
            let chi1_above = 1.0 + excess_checked(act, root * (1.0 + 1e-9), sigma_b2, q0)?;
            return Ok(Some(Transition {
                sigma_b2,
                sigma_w2: root,
                continuous: at.abs() <= CONTINUITY_TOL,
                chi1_below,
                chi1_above,
            }));
        }
        s0 = s1;
        h0 = h1;
    }
    Ok(None)
}

/// The critical σ_w² for bias variance `sigma_b2` and inputs of mean square `q0`: the σ_w² of
/// [`transition`] when it is a
/// genuine critical point (χ₁ = 1 there), else `None` — no crossing in [`CRITICAL_RANGE`],
/// or χ₁ jumps across 1 without taking the value 1.
///
/// Known values: ReLU 2 (He init) for every σ_b²; tanh 1 at σ_b² = 0 and ≈ 1.761 at
/// σ_b² = 0.05; identity 1 for every σ_b² (χ₁ = σ_w²; for σ_b² > 0 q diverges at σ_w² = 1
/// and χ₁ = 1 holds as the q → ∞ limit).
///
/// ```
/// use gradscope::theory::critical_sigma_w2;
/// use gradscope::Activation;
///
/// let relu = critical_sigma_w2(&Activation::Relu, 0.0, 1.0)?.expect("critical");
/// assert!((relu - 2.0).abs() < 1e-9); // He's initialization
/// let tanh = critical_sigma_w2(&Activation::Tanh, 0.05, 1.0)?.expect("critical");
/// assert!((tanh - 1.761).abs() < 1e-3);
/// # Ok::<(), gradscope::Error>(())
/// ```
pub fn critical_sigma_w2(act: &Activation, sigma_b2: f64, q0: f64) -> Result<Option<f64>> {
    Ok(transition(act, sigma_b2, q0)?
        .filter(|t| t.continuous)
        .map(|t| t.sigma_w2))
}

/// The χ₁ = 1 curve (the phase boundary): [`transition`] at each σ_b² of `sigma_b2s` (inputs
/// of mean square `q0`), in order, computed on two threads.
pub fn critical_curve(act: &Activation, sigma_b2s: &[f64], q0: f64) -> Result<Vec<CriticalPoint>> {
    super::parallel::map(sigma_b2s, |&sigma_b2| {
        Ok(CriticalPoint {
            sigma_b2,
            transition: transition(act, sigma_b2, q0)?,
        })
    })
    .into_iter()
    .collect()
}
