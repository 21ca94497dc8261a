//! The correlation map (Poole et al. 2016; Schoenholz et al. 2017): how the correlation of two
//! inputs' pre-activations evolves with depth once their variance sits at q*.
//!
//! Two inputs whose pre-activations at layer l have variance q* and correlation c_l give at
//! layer l + 1
//!
//! ```text
//! c_{l+1} = C(c_l) = (σ_w² E[f(u₁) f(u₂)] + σ_b²) / q*,
//! u₁ = √q* z₁,  u₂ = √q* (c z₁ + √(1 − c²) z₂),  z₁, z₂ ~ N(0, 1) independent,
//! ```
//!
//! (u₁, u₂ jointly Gaussian, variance q*, correlation c). C(1) = F(q*)/q* = 1, and by Price's
//! theorem C'(c) = σ_w² E[f'(u₁) f'(u₂)], so C'(1) = χ₁. On [0, 1] C is increasing and convex
//! (its Hermite expansion has non-negative coefficients), which leaves two cases:
//!
//! - **χ₁ ≤ 1** (ordered, critical): c = 1 is the only fixed point in [0, 1] and attracts:
//!   **c\* = 1**, every pair of inputs ends up perfectly correlated, and χ_c = χ₁;
//! - **χ₁ > 1** (chaotic): c = 1 repels and the attracting fixed point is the other root
//!   **c\* ∈ [0, 1)** of C(c) = c (c\* = 0 for an odd f with σ_b² = 0), where
//!   χ_c = σ_w² E[f'(u₁) f'(u₂)] < 1.
//!
//! Near c\*, |c_l − c\*| ∝ χ_c^l = e^(−l/ξ_c): the **correlation depth scale**
//!
//! ```text
//! ξ_c = −1/ln χ_c
//! ```
//!
//! is how many layers information about the difference of two inputs survives, and Schoenholz
//! et al. found that networks train only if their depth is below about **6 ξ_c** (the
//! *trainable depth*). ξ_c diverges at the order-to-chaos transition from both sides.
//!
//! The 2-D expectations are nested composite Gauss–Legendre quadratures (20 points per panel),
//! exact at the activation's kinks: for each outer node z₁ the inner integrand in z₂ has its
//! kinks at z₂ = (k/√q − c z₁)/√(1 − c²); the outer integrand, f(√q z₁) times the inner
//! integral (a Gaussian smoothing of f of width √(1 − c²)/|c| in z₁ centred at k/(c√q)), is
//! split at k/√q and at k/(c√q), with geometric ladders of breakpoints around each (from half
//! the finer of √(1 − c²)/|c| and 1/(|c|√q)) where the integrand varies faster than the panel
//! width.
//!
//! The map needs a finite q\* > 0: at q\* = 0 or q → ∞ the pre-activations vanish or blow
//! up and the normalisation by q\* is undefined, so no correlation analysis is reported there.

use std::sync::OnceLock;

use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::quadrature::{gauss_legendre, normal_pdf};

use super::expectation::{mean_sq_derivative, mean_sq_output};
use super::fixed_point::brent;
use super::CHI1_EXACT_TOL;

/// Half-width of the z interval of the 2-D integrals: φ(9)/φ(0) ≈ 2.6e−18, and every catalogue
/// activation has f², f'² ≤ C(1 + q z²), so the tails are below ~1e−15 relative.
pub(crate) const Z2_MAX: f64 = 9.0;

/// Widest panel of the 2-D integrals (a 20-point rule on it is exact to rounding for the
/// smooth pieces at the scales left after the ladders).
const PANEL: f64 = 1.0;

/// Points per panel.
const ORDER: usize = 20;

/// Newton steps at most when solving C(c) = c (near the transition it converges linearly,
/// halving the error per step, until within ~χ₁ − 1 of c*).
const MAX_NEWTON: usize = 200;

fn rule() -> &'static (Vec<f64>, Vec<f64>) {
    static RULE: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    RULE.get_or_init(|| gauss_legendre(ORDER))
}

/// Pushes `centre` and, when `scale` is below the panel width, `centre ± scale·2ʲ` for
/// j = −1, 0, 1, … up to twice the panel width: panels that grow geometrically away from a
/// point where the integrand varies on the length `scale`.
fn ladder(cuts: &mut Vec<f64>, centre: f64, scale: f64) {
    if !centre.is_finite() {
        return;
    }
    cuts.push(centre);
    if !(scale > 0.0 && scale < PANEL) {
        return;
    }
    let mut d = 0.5 * scale;
    while d < 2.0 * PANEL {
        cuts.push(centre - d);
        cuts.push(centre + d);
        d *= 2.0;
    }
}

/// Nodes z and weights w·φ(z) of the composite rule over [−[`Z2_MAX`], [`Z2_MAX`]], panels split
/// at `cuts` and at most [`PANEL`] wide.
fn nodes(mut cuts: Vec<f64>, out: &mut Vec<(f64, f64)>) {
    out.clear();
    cuts.retain(|x| x.is_finite() && x.abs() < Z2_MAX);
    cuts.push(-Z2_MAX);
    cuts.push(Z2_MAX);
    cuts.sort_by(f64::total_cmp);
    cuts.dedup_by(|a, b| (*a - *b).abs() <= 1e-14);
    let (x, w) = rule();
    for p in cuts.windows(2) {
        let (lo, hi) = (p[0], p[1]);
        let pieces = ((hi - lo) / PANEL).ceil().max(1.0) as usize;
        let step = (hi - lo) / pieces as f64;
        for i in 0..pieces {
            let half = 0.5 * step;
            let mid = lo + i as f64 * step + half;
            for (xi, wi) in x.iter().zip(w) {
                let z = mid + half * xi;
                out.push((z, wi * half * normal_pdf(z)));
            }
        }
    }
}

/// The places where an activation's shape changes: 0 (where the smooth activations switch
/// regime) and its kinks.
fn features(act: &Activation) -> Vec<f64> {
    let mut k = act.kinks();
    k.push(0.0);
    k
}

/// The two expectations over a pair of jointly Gaussian pre-activations of variance q and
/// correlation c: E[f(u₁) f(u₂)] and E[f'(u₁) f'(u₂)], u₁ = √q z₁, u₂ = √q (c z₁ + √(1 − c²) z₂).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PairMoments {
    /// E[f(u₁) f(u₂)].
    pub ff: f64,
    /// E[f'(u₁) f'(u₂)].
    pub dd: f64,
}

/// E[f(u₁) f(u₂)] and E[f'(u₁) f'(u₂)] for u₁ = √q z₁, u₂ = √q (c z₁ + √(1 − c²) z₂) (variance
/// q, correlation c ∈ [−1, 1]; c is clamped to that range), by the nested quadrature of the
/// module docs. NaN unless q is finite and > 0.
pub fn pair_moments(act: &Activation, q: f64, c: f64) -> PairMoments {
    if !(q > 0.0 && q.is_finite()) || c.is_nan() {
        return PairMoments {
            ff: f64::NAN,
            dd: f64::NAN,
        };
    }
    let c = c.clamp(-1.0, 1.0);
    if c == 1.0 {
        return PairMoments {
            ff: mean_sq_output(act, q),
            dd: mean_sq_derivative(act, q),
        };
    }
    let r = q.sqrt();
    let s = (1.0 - c * c).sqrt();
    let feats = features(act);
    let mut outer_cuts = Vec::new();
    for &k in &feats {
        ladder(&mut outer_cuts, k / r, 1.0 / r);
        if c != 0.0 {
            // The inner integral smooths f over √(1 − c²)/|c| in z₁; f itself varies over
            // 1/(|c|√q): resolve the finer of the two.
            ladder(&mut outer_cuts, k / (c * r), s.min(1.0 / r) / c.abs());
        }
    }
    let mut outer = Vec::new();
    nodes(outer_cuts, &mut outer);
    let mut inner = Vec::new();
    let (mut ff, mut dd) = (0.0, 0.0);
    for &(z1, w1) in &outer {
        let u1 = r * z1;
        let (f1, d1) = (act.f(u1), act.df(u1));
        if s == 0.0 {
            // c = −1: u₂ = −u₁.
            ff += w1 * f1 * act.f(-u1);
            dd += w1 * d1 * act.df(-u1);
            continue;
        }
        let mut cuts = Vec::new();
        for &k in &feats {
            ladder(&mut cuts, (k / r - c * z1) / s, 1.0 / (r * s));
        }
        nodes(cuts, &mut inner);
        let (mut fi, mut di) = (0.0, 0.0);
        for &(z2, w2) in &inner {
            let u2 = r * (c * z1 + s * z2);
            fi += w2 * act.f(u2);
            di += w2 * act.df(u2);
        }
        ff += w1 * f1 * fi;
        dd += w1 * d1 * di;
    }
    PairMoments { ff, dd }
}

/// The correlation map C(c) = (σ_w² E[f(u₁) f(u₂)] + σ_b²)/q* (variance q*, correlation c).
pub fn correlation_map(act: &Activation, sigma_w2: f64, sigma_b2: f64, q_star: f64, c: f64) -> f64 {
    (sigma_w2 * pair_moments(act, q_star, c).ff + sigma_b2) / q_star
}

/// The correlation analysis at a finite fixed point q* > 0: the attracting fixed point c* of
/// C(c) = (σ_w² E[f(u₁)f(u₂)] + σ_b²)/q*, its slope χ_c = σ_w² E[f'(u₁)f'(u₂)] there, the
/// correlation depth ξ_c = −1/ln χ_c and the trainable depth 6 ξ_c.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Correlation {
    /// c*: the attracting fixed point of C(c) = (σ_w² E[f(u₁)f(u₂)] + σ_b²)/q* in [0, 1] — 1
    /// when χ₁ ≤ 1 (all inputs end up perfectly correlated), the other root of C(c) = c when
    /// χ₁ > 1.
    pub c_star: f64,
    /// χ_c = C'(c*) = σ_w² E[f'(u₁) f'(u₂)] at correlation c*: the per-layer factor by which
    /// |c_l − c*| shrinks (= χ₁ when c* = 1).
    pub chi_c: f64,
    /// ξ_c = −1/ln χ_c: layers over which |c_l − c*| shrinks by e, i.e. how deep information
    /// about the difference between two inputs survives (+∞ when |χ_c − 1| ≤
    /// [`CHI1_EXACT_TOL`], at the transition; 0 when χ_c = 0).
    pub depth_scale: f64,
    /// 6 ξ_c: Schoenholz et al.'s estimate of the deepest trainable network at this
    /// initialization (+∞ at the transition).
    pub trainable_depth: f64,
    /// Newton steps taken to solve C(c) = c (0 when c* = 1).
    pub iterations: usize,
}

/// ξ_c = −1/ln χ_c (+∞ when |χ_c − 1| ≤ [`CHI1_EXACT_TOL`], 0 when χ_c ≤ 0).
pub fn correlation_depth(chi_c: f64) -> f64 {
    if (chi_c - 1.0).abs() <= CHI1_EXACT_TOL {
        f64::INFINITY
    } else if chi_c <= 0.0 {
        0.0
    } else {
        -1.0 / chi_c.ln()
    }
}

fn result(c_star: f64, chi_c: f64, iterations: usize) -> Correlation {
    let xi = correlation_depth(chi_c);
    Correlation {
        c_star,
        chi_c,
        depth_scale: xi,
        trainable_depth: 6.0 * xi,
        iterations,
    }
}

/// E[f(√q z)] over the 1-D rule (for C(0) = (σ_w² E[f]² + σ_b²)/q* and C'(0) = σ_w² E[f']²).
fn means(act: &Activation, q: f64) -> (f64, f64) {
    let r = q.sqrt();
    let mut cuts = Vec::new();
    for k in features(act) {
        ladder(&mut cuts, k / r, 1.0 / r);
    }
    let mut pts = Vec::new();
    nodes(cuts, &mut pts);
    pts.iter().fold((0.0, 0.0), |(m, d), &(z, w)| {
        (m + w * act.f(r * z), d + w * act.df(r * z))
    })
}

/// c*, χ_c, ξ_c and 6 ξ_c at the fixed point `q_star` of (act, σ_w², σ_b²), given χ₁ there.
/// Errors unless q* is finite and > 0.
///
/// Algorithm: for χ₁ ≤ 1 + [`CHI1_EXACT_TOL`], c* = 1 and χ_c = χ₁. Otherwise
/// h(c) = C(c) − c is convex on [0, 1] with h(0) ≥ 0 and h < 0 just below 1, so Newton's method
/// from c = 0 (h'(c) = σ_w² E[f'(u₁)f'(u₂)] − 1, from the same quadrature as h) climbs
/// monotonically to c*; should rounding break that (a non-negative slope, a step backwards or
/// to 1), Brent's method on a bracket [c, 1 − 2⁻ᵏ] takes over.
pub fn correlation(
    act: &Activation,
    sigma_w2: f64,
    sigma_b2: f64,
    q_star: f64,
    chi1: f64,
) -> Result<Correlation> {
    if !(q_star > 0.0 && q_star.is_finite()) {
        return Err(Error::Invalid(format!(
            "the correlation map needs a finite fixed point q* > 0, not {q_star}"
        )));
    }
    if chi1 <= 1.0 + CHI1_EXACT_TOL {
        return Ok(result(1.0, chi1, 0));
    }
    let h_and_slope = |c: f64| {
        let m = pair_moments(act, q_star, c);
        (
            (sigma_w2 * m.ff + sigma_b2) / q_star - c,
            sigma_w2 * m.dd - 1.0,
        )
    };
    let (mut mean_f, mean_df) = means(act, q_star);
    if mean_f.abs() <= 1e-14 * mean_sq_output(act, q_star).sqrt() {
        // The mean of an odd activation: 0 up to the quadrature's rounding (without this, c*
        // of tanh at σ_b² = 0 would come out as ~1e−33 instead of 0).
        mean_f = 0.0;
    }
    let mut c = 0.0;
    let (mut h, mut slope) = (
        (sigma_w2 * mean_f * mean_f + sigma_b2) / q_star,
        sigma_w2 * mean_df * mean_df - 1.0,
    );
    let mut steps = 0;
    while steps < MAX_NEWTON {
        if h <= 0.0 {
            // At (or, by rounding, just past) the root.
            return Ok(result(c, slope + 1.0, steps));
        }
        let next = c - h / slope;
        if !(slope < 0.0 && next > c && next < 1.0) {
            break;
        }
        let step = next - c;
        c = next;
        (h, slope) = h_and_slope(c);
        steps += 1;
        if step <= 4.0 * f64::EPSILON {
            return Ok(result(c, slope + 1.0, steps));
        }
    }
    // Fallback: bracket c* between c (h > 0) and the first 1 − 2⁻ᵏ above it with h < 0.
    let lo = (c, h);
    let mut k = 1;
    let hi = loop {
        let x = 1.0 - 0.5f64.powi(k);
        if x > c {
            let (hx, _) = h_and_slope(x);
            if hx < 0.0 {
                break Some((x, hx));
            }
        }
        k += 1;
        if k > 45 {
            break None;
        }
    };
    match hi {
        Some(hi) => {
            let root = brent(|x| h_and_slope(x).0, lo.0, hi.0, lo.1, hi.1, 1e-15)?;
            let (_, slope) = h_and_slope(root);
            Ok(result(root, slope + 1.0, steps))
        }
        // χ₁ so close to 1 that c* is within 3e−14 of 1.
        None => Ok(result(1.0, chi1, steps)),
    }
}
