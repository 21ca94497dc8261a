//! Mean-field signal propagation: the order-to-chaos transition of a deep random network
//! (Poole et al. 2016, "Exponential expressivity in deep neural networks through transient
//! chaos"; Schoenholz et al. 2017, "Deep information propagation").
//!
//! A fully connected network h_{l+1} = W_{l+1} f(h_l) + b_{l+1} with weights
//! W ~ N(0, σ_w²/fan_in) and biases b ~ N(0, σ_b²) has, in the wide limit, Gaussian
//! pre-activations whose variance follows the **length map**
//!
//! ```text
//! q_{l+1} = F(q_l) = σ_w² E[f(√q_l z)²] + σ_b²,    z ~ N(0, 1),
//! ```
//!
//! started at the first layer's variance q¹ = σ_w² q⁰ + σ_b², where q⁰ = (1/N₀)‖x‖² is the
//! mean squared input entry (1 for standardized inputs; the input reaches the first layer
//! through W₁ only, not through f). It converges to a fixed point q* ([`fixed_point_from`];
//! q* = 0 and q → ∞ are reported explicitly); when F has several attracting fixed points (GELU,
//! Swish, Mish near σ_w² ≈ 2–3) the start decides which one ([`mod@fixed_point`] module docs).
//! [`propagate`] follows q^l layer by layer before it gets there. Back-propagation multiplies the gradient by W_{l+1}ᵀ and f'(h_l), so at the
//! fixed point the mean squared gradient of the pre-activations obeys
//!
//! ```text
//! E‖∂L/∂h_l‖² = χ₁ E‖∂L/∂h_{l+1}‖²,    χ₁ = σ_w² E[f'(√q* z)²],
//! ```
//!
//! i.e. the gradient norm changes by √χ₁ per layer and by χ₁^(L/2) over L layers. χ₁ is also
//! the slope of the correlation map at c = 1, so it decides the phase ([`Phase`]):
//! **ordered** (χ₁ < 1: gradients vanish, nearby inputs converge), **critical** (χ₁ = 1: the
//! edge of chaos, gradients keep their size) or **chaotic** (χ₁ > 1: gradients explode,
//! nearby inputs decorrelate).
//!
//! Two length scales, often both called "the depth scale", describe different things:
//!
//! - the **gradient scale** ξ_∇ = 1/|ln χ₁| ([`gradient_scale`]): the number of layers over
//!   which the mean squared gradient shrinks (ordered) or grows (chaotic) by a factor e,
//!   E‖∂L/∂h_l‖² ∝ χ₁^(L−l);
//! - the **correlation depth** ξ_c = −1/ln χ_c ([`correlation()`]): the number of layers over
//!   which the correlation of two inputs approaches its fixed point c* by a factor e, i.e. how
//!   deep information about the inputs survives (Schoenholz et al.: networks train up to a
//!   depth of about 6 ξ_c). In the ordered phase c* = 1 and χ_c = χ₁, so ξ_c = ξ_∇; in the
//!   chaotic phase they differ (tanh at σ_w² = 4, σ_b² = 0.05: ξ_∇ = 3.40, ξ_c = 6.98).
//!   Both diverge at the transition.
//!
//! Every expectation is a Gauss–Legendre quadrature split at the activation's kinks scaled
//! by 1/√q ([`expectation`]), so it is exact (to ~1e−15) for ReLU, hard-tanh and the like.

pub mod correlation;
pub mod critical;
pub mod expectation;
pub mod fixed_point;
mod parallel;
pub mod phase;
pub mod propagation;
pub mod sweep;

pub use correlation::{
    correlation, correlation_depth, correlation_map, pair_moments, Correlation, PairMoments,
};
pub use critical::{
    critical_curve, critical_sigma_w2, transition, CriticalPoint, Transition, CRITICAL_RANGE,
};
pub use expectation::{breakpoints, length_map, mean_sq_derivative, mean_sq_output};
pub use fixed_point::{
    check_activation, check_q0, check_variances, fixed_point, fixed_point_from, q_trajectory,
    FixedPoint, FixedPointKind, DEFAULT_Q0, MAX_VARIANCE, Q_MAX, Q_MIN,
};
pub use phase::{PhaseCell, PhaseDiagram};
pub use propagation::{propagate, LayerState, Propagation};
pub use sweep::{sweep, sweep_grid, Sweep};

use crate::activation::Activation;
use crate::error::Result;

/// Default half-width of the critical band: |χ₁ − 1| < 1e−3 counts as critical (over 100
/// layers the gradient norm then changes by at most ~5%).
pub const DEFAULT_CRITICAL_TOL: f64 = 1e-3;

/// |χ₁ − 1| (or |χ_c − 1|) at or below this is 1 to the quadrature's precision: ξ_∇ (or ξ_c)
/// is reported as +∞.
pub const CHI1_EXACT_TOL: f64 = 1e-12;

/// The phase of a random network at initialization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// χ₁ < 1: gradients vanish exponentially with depth.
    Ordered,
    /// |χ₁ − 1| < tol: the edge of chaos, gradients keep their size.
    Critical,
    /// χ₁ > 1: gradients explode exponentially with depth.
    Chaotic,
}

impl Phase {
    /// The phase of χ₁: critical when |χ₁ − 1| < `tol`, else ordered or chaotic.
    pub fn of(chi1: f64, tol: f64) -> Phase {
        if (chi1 - 1.0).abs() < tol {
            Phase::Critical
        } else if chi1 < 1.0 {
            Phase::Ordered
        } else {
            Phase::Chaotic
        }
    }

    /// `ordered`, `critical` or `chaotic`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Phase::Ordered => "ordered",
            Phase::Critical => "critical",
            Phase::Chaotic => "chaotic",
        }
    }

    /// One plain-language sentence on what the phase means for training.
    pub fn explanation(&self) -> &'static str {
        match self {
            Phase::Ordered => {
                "Ordered phase: every layer shrinks the gradient (chi1 < 1), so gradients \
                 vanish exponentially with depth and the first layers barely learn."
            }
            Phase::Critical => {
                "Critical (edge of chaos): chi1 = 1, gradients keep their size through any \
                 depth, the initialization that lets very deep networks train."
            }
            Phase::Chaotic => {
                "Chaotic phase: every layer amplifies the gradient (chi1 > 1), so gradients \
                 explode exponentially with depth and training becomes unstable."
            }
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The mean-field analysis of one (activation, σ_w², σ_b², q⁰): q* = F(q*) reached from
/// q¹ = σ_w² q⁰ + σ_b², χ₁ = σ_w² E[f'(√q* z)²], ξ_∇ = 1/|ln χ₁|, √χ₁ per layer, the
/// correlation map at q* (c*, χ_c, ξ_c = −1/ln χ_c, 6 ξ_c) and the phase of χ₁.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MeanField {
    /// The activation (serialized as its text form).
    pub activation: Activation,
    /// σ_w² (weights ~ N(0, σ_w²/fan_in)).
    pub sigma_w2: f64,
    /// σ_b² (biases ~ N(0, σ_b²)).
    pub sigma_b2: f64,
    /// q⁰: the mean squared input entry (1 for standardized inputs).
    pub q0: f64,
    /// q¹ = σ_w² q⁰ + σ_b²: the variance of the first layer's pre-activations, where the
    /// iteration of the length map starts.
    pub q1: f64,
    /// The fixed point of the length map reached from q¹.
    pub fixed_point: FixedPoint,
    /// q* (copy of `fixed_point.q_star`: 0, finite, or +∞ = `null` in JSON).
    pub q_star: f64,
    /// χ₁ = σ_w² E[f'(√q* z)²]: the per-layer factor of the mean squared gradient (at q* = 0
    /// and q* = ∞ the limits of [`expectation`]).
    pub chi1: f64,
    /// ξ_∇ = 1/|ln χ₁|, the gradient scale: layers over which the mean squared gradient
    /// shrinks (χ₁ < 1) or grows (χ₁ > 1) by a factor e (the norm by e over 2ξ_∇); +∞ when
    /// |χ₁ − 1| ≤ [`CHI1_EXACT_TOL`], 0 when χ₁ = 0. Which way it goes is `phase`. Not the
    /// correlation depth ξ_c (`correlation`).
    pub gradient_scale: f64,
    /// The signed gradient scale −1/ln χ₁ (+ξ_∇ when ordered, −ξ_∇ when chaotic), kept under
    /// its old name for existing callers; not serialized. Despite the name it is the
    /// gradient's scale, not the correlation depth ξ_c.
    #[serde(skip)]
    pub depth_scale: f64,
    /// Predicted ‖∂L/∂h_l‖ / ‖∂L/∂h_{l+1}‖ = √χ₁.
    pub grad_ratio_per_layer: f64,
    /// The correlation map at q*: c*, χ_c, ξ_c = −1/ln χ_c and the trainable depth 6 ξ_c
    /// ([`correlation()`]). `None` unless q* is finite and > 0 (at q* = 0 or q → ∞ the map,
    /// normalised by q*, is undefined).
    pub correlation: Option<Correlation>,
    /// The phase with [`DEFAULT_CRITICAL_TOL`].
    pub phase: Phase,
}

impl MeanField {
    /// Predicted gradient-norm ratio over `depth` layers, ‖∂L/∂h_{l}‖ / ‖∂L/∂h_{l+L}‖ =
    /// χ₁^(L/2) (may overflow to +∞ or underflow to 0).
    pub fn gradient_ratio(&self, depth: usize) -> f64 {
        self.chi1.powf(0.5 * depth as f64)
    }

    /// 2ξ_∇: layers over which the gradient *norm* (not its square) shrinks or grows by a
    /// factor e (+∞ at χ₁ = 1).
    pub fn gradient_norm_scale(&self) -> f64 {
        2.0 * self.gradient_scale
    }

    /// The phase with a custom half-width `tol` of the critical band.
    pub fn phase_with_tol(&self, tol: f64) -> Phase {
        Phase::of(self.chi1, tol)
    }
}

/// The signed gradient scale −1/ln χ₁ of [`MeanField::depth_scale`] (+∞ when
/// |χ₁ − 1| ≤ [`CHI1_EXACT_TOL`], 0 when χ₁ ≤ 0).
pub fn depth_scale(chi1: f64) -> f64 {
    if (chi1 - 1.0).abs() <= CHI1_EXACT_TOL {
        f64::INFINITY
    } else if chi1 <= 0.0 {
        0.0
    } else {
        -1.0 / chi1.ln()
    }
}

/// ξ_∇ = 1/|ln χ₁|: layers per factor e of decay or growth of the mean squared gradient (+∞
/// when |χ₁ − 1| ≤ [`CHI1_EXACT_TOL`], 0 when χ₁ ≤ 0).
pub fn gradient_scale(chi1: f64) -> f64 {
    depth_scale(chi1).abs()
}

/// χ₁ = σ_w² E[f'(√q* z)²] at the fixed point of (act, σ_w², σ_b²) reached from an input of
/// mean square `q0`.
pub fn chi1(act: &Activation, sigma_w2: f64, sigma_b2: f64, q0: f64) -> Result<f64> {
    let fp = fixed_point_from(act, sigma_w2, sigma_b2, q0)?;
    Ok(sigma_w2 * mean_sq_derivative(act, fp.q_star))
}

/// [`mean_field_from`] for standardized inputs (q⁰ = [`DEFAULT_Q0`] = 1).
///
/// ```
/// use gradscope::theory::{mean_field, Phase};
/// use gradscope::Activation;
///
/// // ReLU with He's σ_w² = 2 is critical: χ₁ = σ_w² E[relu'(z)²] = 2 · 1/2 = 1.
/// let he = mean_field(&Activation::Relu, 2.0, 0.0)?;
/// assert!((he.chi1 - 1.0).abs() < 1e-12);
/// assert_eq!(he.phase, Phase::Critical);
///
/// // Sigmoid with σ_w² = 1: the gradient norm shrinks ×√χ₁ ≈ 0.23 per layer.
/// let sigmoid = mean_field(&Activation::Sigmoid, 1.0, 0.0)?;
/// assert_eq!(sigmoid.phase, Phase::Ordered);
/// assert!(sigmoid.grad_ratio_per_layer < 0.25);
/// assert!(sigmoid.gradient_ratio(10) < 1e-6); // over 10 layers
/// # Ok::<(), gradscope::Error>(())
/// ```
pub fn mean_field(act: &Activation, sigma_w2: f64, sigma_b2: f64) -> Result<MeanField> {
    mean_field_from(act, sigma_w2, sigma_b2, DEFAULT_Q0)
}

/// The full mean-field analysis from an input whose entries have mean square `q0`: q*, χ₁,
/// the gradient scale ξ_∇, the gradient ratio, the correlation map (c*, χ_c, ξ_c, 6ξ_c) and
/// the phase. Errors for softmax and log-softmax (row-wise) and for a
/// negative, non-finite or too large variance or q⁰.
pub fn mean_field_from(
    act: &Activation,
    sigma_w2: f64,
    sigma_b2: f64,
    q0: f64,
) -> Result<MeanField> {
    let fp = fixed_point_from(act, sigma_w2, sigma_b2, q0)?;
    let chi1 = sigma_w2 * mean_sq_derivative(act, fp.q_star);
    let xi = depth_scale(chi1);
    Ok(MeanField {
        activation: *act,
        sigma_w2,
        sigma_b2,
        q0,
        q1: sigma_w2 * q0 + sigma_b2,
        fixed_point: fp,
        q_star: fp.q_star,
        chi1,
        gradient_scale: xi.abs(),
        depth_scale: xi,
        grad_ratio_per_layer: chi1.sqrt(),
        correlation: match fp.kind {
            FixedPointKind::Finite if fp.q_star > 0.0 => {
                Some(correlation(act, sigma_w2, sigma_b2, fp.q_star, chi1)?)
            }
            _ => None,
        },
        phase: Phase::of(chi1, DEFAULT_CRITICAL_TOL),
    })
}
