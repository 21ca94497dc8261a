//! Gaussian expectations E[g(z)] = ∫ g(x) φ(x) dx, z ~ N(0, 1), by composite Gauss–Legendre
//! quadrature.
//!
//! The real line is cut to [−40, +40] (φ(40) ≈ 1.5e−348: nothing is lost for any
//! integrand of polynomial growth) and split into panels at every breakpoint the caller names
//! (the kinks of a piecewise activation) and at least every 0.5. On each panel a
//! 20-point Gauss–Legendre rule integrates a smooth piece to machine precision, so kinks cost
//! no accuracy as long as they are named.

use std::sync::OnceLock;

/// Half-width of the integration interval.
pub(crate) const TAIL: f64 = 40.0;
/// Widest panel.
pub(crate) const PANEL: f64 = 0.5;
/// Points per panel.
const ORDER: usize = 20;

/// Standard normal density φ(x) = e^(−x²/2) / √(2π).
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Nodes and weights of the n-point Gauss–Legendre rule on [−1, 1], by Newton's method on the
/// Legendre polynomial Pₙ.
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = vec![0.0; n];
    let mut weights = vec![0.0; n];
    for i in 0..n {
        // Chebyshev-like starting guess for the i-th root.
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            // Recurrence (k+1)P_{k+1} = (2k+1)x P_k − k P_{k−1}.
            let (mut p0, mut p1) = (1.0, x);
            for k in 1..n {
                let p2 = ((2 * k + 1) as f64 * x * p1 - k as f64 * p0) / (k + 1) as f64;
                p0 = p1;
                p1 = p2;
            }
            // P'_n(x) = n (x Pₙ − P_{n−1}) / (x² − 1).
            dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        nodes[i] = x;
        weights[i] = 2.0 / ((1.0 - x * x) * dp * dp);
    }
    (nodes, weights)
}

fn rule() -> &'static (Vec<f64>, Vec<f64>) {
    static RULE: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    RULE.get_or_init(|| gauss_legendre(ORDER))
}

/// ∫ₐᵇ h(x) dx over panels split at `breakpoints` (those outside (a, b) are ignored) and at
/// least every 0.5.
pub fn integrate(h: impl Fn(f64) -> f64, a: f64, b: f64, breakpoints: &[f64]) -> f64 {
    let mut cuts: Vec<f64> = breakpoints
        .iter()
        .copied()
        .filter(|x| x.is_finite() && *x > a && *x < b)
        .collect();
    cuts.push(a);
    cuts.push(b);
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let (nodes, weights) = rule();
    let mut total = 0.0;
    for w in cuts.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        let pieces = ((hi - lo) / PANEL).ceil().max(1.0) as usize;
        let step = (hi - lo) / pieces as f64;
        for p in 0..pieces {
            let l = lo + p as f64 * step;
            let half = 0.5 * step;
            let mid = l + half;
            let mut s = 0.0;
            for (x, wt) in nodes.iter().zip(weights) {
                s += wt * h(mid + half * x);
            }
            total += s * half;
        }
    }
    total
}

/// E[g(z)] for z ~ N(0, 1), exact to quadrature precision when every kink of g is listed in
/// `breakpoints`.
///
/// ```
/// use gradscope::quadrature::gaussian_expectation;
///
/// // E[z²] = 1; E[relu(z)²] = 1/2, with the kink at 0 named.
/// assert!((gaussian_expectation(|z| z * z, &[]) - 1.0).abs() < 1e-14);
/// assert!((gaussian_expectation(|z| z.max(0.0).powi(2), &[0.0]) - 0.5).abs() < 1e-14);
/// ```
pub fn gaussian_expectation(g: impl Fn(f64) -> f64, breakpoints: &[f64]) -> f64 {
    integrate(|x| g(x) * normal_pdf(x), -TAIL, TAIL, breakpoints)
}
