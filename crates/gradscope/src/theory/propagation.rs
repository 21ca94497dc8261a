//! The mean-field prediction layer by layer from the input, before the variance has reached
//! its fixed point: a network of finite depth sees the transient q¹, q², …, not q*.
//!
//! With q⁰ = (1/N₀)‖x‖² the mean squared input entry, the pre-activations of layer l have
//! variance q^l (q¹ = σ_w² q⁰ + σ_b², q^{l+1} = F(q^l)), and back-propagation through layer l,
//! δ_l = f'(h_l) ⊙ W_{l+1}ᵀ δ_{l+1}, multiplies the mean squared gradient by
//!
//! ```text
//! χ₁(q^l) = σ_w² E[f'(√q^l z)²],
//! ```
//!
//! so over L layers ‖δ_1‖ / ‖δ_{L+1}‖ = Π_{l=1}^{L} √χ₁(q^l). Once q^l has settled this is
//! χ₁^(L/2) with the fixed point's χ₁ ([`super::MeanField::gradient_ratio`]).

use crate::activation::Activation;
use crate::error::Result;

use super::expectation::mean_sq_derivative;
use super::fixed_point::q_trajectory;

/// One layer of [`Propagation`]: q^l and χ₁(q^l) = σ_w² E[f'(√q^l z)²].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LayerState {
    /// The layer l (1 = the first hidden layer).
    pub layer: usize,
    /// q^l: the variance of its pre-activations (q¹ = σ_w² q⁰ + σ_b², q^{l+1} = F(q^l); +∞ =
    /// `null` once it overflows).
    pub q: f64,
    /// χ₁(q^l) = σ_w² E[f'(√q^l z)²]: the factor by which back-propagation through this layer
    /// multiplies the mean squared gradient.
    pub chi1: f64,
}

/// The layer-by-layer prediction for a network of given depth: q¹ = σ_w² q⁰ + σ_b²,
/// q^{l+1} = F(q^l), and ‖δ_1‖/‖δ_{L+1}‖ = Π_{l=1}^{L} √χ₁(q^l).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Propagation {
    /// The activation (serialized as its text form).
    pub activation: Activation,
    /// σ_w².
    pub sigma_w2: f64,
    /// σ_b².
    pub sigma_b2: f64,
    /// q⁰: the mean squared input entry.
    pub q0: f64,
    /// Layers 1..=depth.
    pub layers: Vec<LayerState>,
    /// Predicted ‖∂L/∂h_1‖ / ‖∂L/∂h_{depth+1}‖ = Π_{l=1}^{depth} √χ₁(q^l): the gradient norm at
    /// the first hidden layer relative to `depth` layers above it (may overflow to +∞ or
    /// underflow to 0).
    pub grad_ratio: f64,
}

/// The variance and the per-layer gradient factor χ₁(q^l) of layers 1..=`depth` of a network
/// whose input entries have mean square `q0`, and their product Π √χ₁(q^l). Errors as
/// [`super::fixed_point_from`].
///
/// ```
/// use gradscope::theory::propagate;
/// use gradscope::Activation;
///
/// // tanh at σ_w² = 1, σ_b² = 0: q* = 0 and χ₁(q*) = 1, but a 10-layer net never gets
/// // there: the variance decays slowly and every layer still shrinks the gradient.
/// let p = propagate(&Activation::Tanh, 1.0, 0.0, 1.0, 10)?;
/// assert_eq!(p.layers[0].q, 1.0); // q¹ = σ_w² q⁰ + σ_b²
/// assert!(p.layers.windows(2).all(|w| w[1].q < w[0].q));
/// assert!(p.layers.iter().all(|l| l.chi1 < 1.0));
/// assert!(p.grad_ratio < 0.3);
/// # Ok::<(), gradscope::Error>(())
/// ```
pub fn propagate(
    act: &Activation,
    sigma_w2: f64,
    sigma_b2: f64,
    q0: f64,
    depth: usize,
) -> Result<Propagation> {
    let qs = q_trajectory(act, sigma_w2, sigma_b2, q0, depth)?;
    let layers: Vec<LayerState> = qs
        .iter()
        .enumerate()
        .map(|(i, &q)| LayerState {
            layer: i + 1,
            q,
            chi1: sigma_w2 * mean_sq_derivative(act, q),
        })
        .collect();
    // Summed in logs: the product of many factors may overflow before the end.
    let log_ratio: f64 = layers.iter().map(|l| 0.5 * l.chi1.ln()).sum();
    Ok(Propagation {
        activation: *act,
        sigma_w2,
        sigma_b2,
        q0,
        layers,
        grad_ratio: log_ratio.exp(),
    })
}
