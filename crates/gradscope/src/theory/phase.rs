//! The order-to-chaos phase diagram in the (σ_w², σ_b²) plane: χ₁ and the phase on a grid of
//! cells, and the boundary where χ₁ crosses 1 ([`super::transition`] at a column of σ_b²).
//!
//! Each cell is evaluated at its centre: q* is the fixed point reached from the first layer's
//! q¹ = σ_w² q⁰ + σ_b² and χ₁ = σ_w² E[f'(√q* z)²], so the cells show the phase wherever it
//! is, including regions a single boundary curve cannot describe (an activation whose χ₁
//! crosses 1 more than once along σ_w²). The grid and the boundary are computed on
//! two threads, results in a fixed order.

use crate::activation::Activation;
use crate::error::{Error, Result};

use super::critical::{transition, CriticalPoint};
use super::expectation::mean_sq_derivative;
use super::fixed_point::{check_activation, check_q0, check_variances, fixed_point_from};
use super::{parallel, FixedPointKind, Phase, DEFAULT_CRITICAL_TOL, MAX_VARIANCE};

/// Most cells along one axis.
pub const MAX_RESOLUTION: usize = 400;

/// One cell of the grid: q* reached from q¹ = σ_w² q⁰ + σ_b² and χ₁ = σ_w² E[f'(√q* z)²]
/// at the cell's centre.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PhaseCell {
    /// σ_w² at the cell's centre.
    pub sigma_w2: f64,
    /// σ_b² at the cell's centre.
    pub sigma_b2: f64,
    /// q*, the fixed point of the length map reached from q¹ = σ_w² q⁰ + σ_b² (0, finite, or
    /// +∞ = `null`).
    pub q_star: f64,
    /// Which kind of fixed point.
    pub fixed_point: FixedPointKind,
    /// χ₁ = σ_w² E[f'(√q* z)²].
    pub chi1: f64,
    /// The phase of χ₁ with [`DEFAULT_CRITICAL_TOL`].
    pub phase: Phase,
}

/// The phase diagram: χ₁ = σ_w² E[f'(√q* z)²] and the phase on a grid of cells over
/// (σ_w², σ_b²), and the χ₁ = 1 boundary.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PhaseDiagram {
    /// The activation (serialized as its text form).
    pub activation: Activation,
    /// q⁰, the input's mean square.
    pub q0: f64,
    /// The σ_w² axis [lo, hi].
    pub sigma_w2_range: (f64, f64),
    /// The σ_b² axis [lo, hi].
    pub sigma_b2_range: (f64, f64),
    /// Cells per axis: the plane is tiled by `resolution` × `resolution` equal rectangles.
    pub resolution: usize,
    /// The cells, row by row: `cells[i * resolution + j]` covers σ_b² row i and σ_w² column j
    /// (both counted from the low end), evaluated at its centre.
    pub cells: Vec<PhaseCell>,
    /// The ordered-to-chaotic transition at `resolution + 1` values of σ_b², spaced
    /// quadratically from the low to the high end of the σ_b² axis
    /// (σ_b²ᵢ = lo + (hi − lo)(i/resolution)², dense near lo where curves such as tanh's,
    /// critical σ_w² ≈ 1 + a√σ_b², are steepest). The transition σ_w² may lie outside the
    /// σ_w² axis.
    pub boundary: Vec<CriticalPoint>,
}

fn check_range(name: &str, (lo, hi): (f64, f64)) -> Result<()> {
    check_variances(lo, 0.0)
        .and_then(|_| check_variances(hi, 0.0))
        .map_err(|e| Error::Invalid(format!("phase diagram {name} range: {e}")))?;
    if lo >= hi {
        return Err(Error::Invalid(format!(
            "phase diagram: the {name} range [{lo}, {hi}] is empty (need lo < hi)"
        )));
    }
    Ok(())
}

fn check_resolution(resolution: usize) -> Result<()> {
    if !(1..=MAX_RESOLUTION).contains(&resolution) {
        return Err(Error::Invalid(format!(
            "phase diagram: resolution {resolution}; need 1 to {MAX_RESOLUTION}"
        )));
    }
    Ok(())
}

/// The σ_b² values of [`PhaseDiagram::boundary`].
fn boundary_rows((lo, hi): (f64, f64), resolution: usize) -> Vec<f64> {
    (0..=resolution)
        .map(|i| lo + (hi - lo) * (i as f64 / resolution as f64).powi(2))
        .collect()
}

fn boundary(act: &Activation, rows: &[f64], q0: f64) -> Result<Vec<CriticalPoint>> {
    parallel::map(rows, |&sigma_b2| {
        Ok(CriticalPoint {
            sigma_b2,
            transition: transition(act, sigma_b2, q0)?,
        })
    })
    .into_iter()
    .collect()
}

impl PhaseDiagram {
    /// The diagram of `act` for inputs of mean square `q0` over the given σ_w² and σ_b² axes
    /// with `resolution` × `resolution` cells. Errors for an empty or invalid range, a
    /// resolution outside 1..=[`MAX_RESOLUTION`], an invalid q⁰ or a row-wise activation.
    pub fn compute(
        act: &Activation,
        sigma_w2_range: (f64, f64),
        sigma_b2_range: (f64, f64),
        resolution: usize,
        q0: f64,
    ) -> Result<PhaseDiagram> {
        Self::validate(act, sigma_b2_range, resolution, q0)?;
        check_range("sigma_w2", sigma_w2_range)?;
        let boundary = boundary(act, &boundary_rows(sigma_b2_range, resolution), q0)?;
        Self::with_boundary(
            act,
            sigma_w2_range,
            sigma_b2_range,
            resolution,
            q0,
            boundary,
        )
    }

    /// [`PhaseDiagram::compute`] with the σ_w² axis fitted to the boundary: from 0 to
    /// max(1.6 × the largest transition σ_w², 1.2 × `include_sigma_w2`), at least 1 and at
    /// most [`MAX_VARIANCE`].
    pub fn compute_fitted(
        act: &Activation,
        sigma_b2_range: (f64, f64),
        resolution: usize,
        q0: f64,
        include_sigma_w2: Option<f64>,
    ) -> Result<PhaseDiagram> {
        Self::validate(act, sigma_b2_range, resolution, q0)?;
        let boundary = boundary(act, &boundary_rows(sigma_b2_range, resolution), q0)?;
        let curve_max = boundary
            .iter()
            .filter_map(|p| p.transition)
            .map(|t| t.sigma_w2)
            .fold(0.0, f64::max);
        let hi = (1.6 * curve_max)
            .max(1.2 * include_sigma_w2.unwrap_or(0.0))
            .clamp(1.0, MAX_VARIANCE);
        Self::with_boundary(act, (0.0, hi), sigma_b2_range, resolution, q0, boundary)
    }

    fn validate(
        act: &Activation,
        sigma_b2_range: (f64, f64),
        resolution: usize,
        q0: f64,
    ) -> Result<()> {
        check_activation(act)?;
        check_q0(q0)?;
        check_range("sigma_b2", sigma_b2_range)?;
        check_resolution(resolution)
    }

    fn with_boundary(
        act: &Activation,
        sigma_w2_range: (f64, f64),
        sigma_b2_range: (f64, f64),
        resolution: usize,
        q0: f64,
        boundary: Vec<CriticalPoint>,
    ) -> Result<PhaseDiagram> {
        let centre =
            |(lo, hi): (f64, f64), i: usize| lo + (hi - lo) * (i as f64 + 0.5) / resolution as f64;
        let points: Vec<(f64, f64)> = (0..resolution * resolution)
            .map(|k| {
                (
                    centre(sigma_w2_range, k % resolution),
                    centre(sigma_b2_range, k / resolution),
                )
            })
            .collect();
        let cells = parallel::map(&points, |&(sigma_w2, sigma_b2)| {
            let fp = fixed_point_from(act, sigma_w2, sigma_b2, q0)?;
            let chi1 = sigma_w2 * mean_sq_derivative(act, fp.q_star);
            Ok(PhaseCell {
                sigma_w2,
                sigma_b2,
                q_star: fp.q_star,
                fixed_point: fp.kind,
                chi1,
                phase: Phase::of(chi1, DEFAULT_CRITICAL_TOL),
            })
        })
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
        Ok(PhaseDiagram {
            activation: *act,
            q0,
            sigma_w2_range,
            sigma_b2_range,
            resolution,
            cells,
            boundary,
        })
    }

    /// The cell in σ_b² row `row` and σ_w² column `col` (both from the low end).
    pub fn cell(&self, row: usize, col: usize) -> &PhaseCell {
        &self.cells[row * self.resolution + col]
    }
}
