//! The mean-field analysis over an evenly spaced σ_w² grid at fixed σ_b² and q⁰ (what
//! `gradscope theory --sweep` prints), computed on two threads.

use crate::activation::Activation;
use crate::error::{Error, Result};

use super::fixed_point::{check_activation, check_q0, check_variances};
use super::{mean_field_from, parallel, MeanField};

/// Most grid points of one sweep.
pub const MAX_SWEEP_POINTS: usize = 10_000;

/// The rows of a sweep: [`MeanField`] (q*, χ₁ = σ_w² E[f'(√q* z)²], ξ_∇, c*, χ_c, ξ_c, …) at
/// σ_w²ᵢ = lo + (hi − lo)·i/(n − 1).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Sweep {
    /// The activation (serialized as its text form).
    pub activation: Activation,
    /// σ_b², the same for every row.
    pub sigma_b2: f64,
    /// q⁰, the input's mean square, the same for every row.
    pub q0: f64,
    /// `rows[i]` = [`mean_field_from`]`(act, σ_w²ᵢ, σ_b², q⁰)` with
    /// σ_w²ᵢ = lo + (hi − lo)·i/(n − 1), i = 0..n, in that order.
    pub rows: Vec<MeanField>,
}

/// The σ_w² grid of a sweep: `n` ≥ 2 evenly spaced values from `lo` to `hi` (both included).
pub fn sweep_grid((lo, hi): (f64, f64), n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            if i + 1 == n {
                hi
            } else {
                lo + (hi - lo) * i as f64 / (n - 1) as f64
            }
        })
        .collect()
}

/// The full mean-field analysis ([`MeanField`]: q*, χ₁, gradient scale, correlation map, phase)
/// at each σ_w² of [`sweep_grid`]`(sigma_w2_range, n)`, for bias variance `sigma_b2` and inputs
/// of mean square `q0`. Errors for 2 > n > [`MAX_SWEEP_POINTS`], lo ≥ hi, an invalid variance
/// or q⁰, or a row-wise activation.
pub fn sweep(
    act: &Activation,
    sigma_w2_range: (f64, f64),
    n: usize,
    sigma_b2: f64,
    q0: f64,
) -> Result<Sweep> {
    let (lo, hi) = sigma_w2_range;
    check_activation(act)?;
    check_variances(lo, sigma_b2)?;
    check_variances(hi, sigma_b2)?;
    check_q0(q0)?;
    if lo >= hi {
        return Err(Error::Invalid(format!(
            "sweep: the σ_w² range [{lo}, {hi}] is empty (need lo < hi)"
        )));
    }
    if !(2..=MAX_SWEEP_POINTS).contains(&n) {
        return Err(Error::Invalid(format!(
            "sweep: {n} points; need 2 to {MAX_SWEEP_POINTS}"
        )));
    }
    let grid = sweep_grid(sigma_w2_range, n);
    let rows = parallel::map(&grid, |&sw| mean_field_from(act, sw, sigma_b2, q0))
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    Ok(Sweep {
        activation: *act,
        sigma_b2,
        q0,
        rows,
    })
}
