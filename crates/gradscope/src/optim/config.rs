//! Optimizer hyper-parameters: one serde-tagged enum, defaults equal to PyTorch's.
//!
//! Every struct deserializes with `deny_unknown_fields` and fills omitted fields with the
//! PyTorch default, so `{ kind = "adam" }` is `torch.optim.Adam(params)` and
//! `{ kind = "adam", beta1 = 0.8, amsgrad = true }` overrides just those. Ranges are checked by
//! [`OptimizerConfig::validate`] (also called by [`super::Optimizer::new`]); each error names
//! the field as `kind.field`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which optimizer, with its hyper-parameters (see the per-kind structs for the formulas).
///
/// TOML: `optimizer = { kind = "sgd" | "adam" | "adamw" | "rmsprop" | "adagrad", ... }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OptimizerConfig {
    /// Stochastic gradient descent with optional (Nesterov) momentum: [`SgdConfig`].
    Sgd(SgdConfig),
    /// Adam with L2 weight decay added to the gradient: [`AdamConfig`].
    Adam(AdamConfig),
    /// Adam with decoupled weight decay (Loshchilov & Hutter): [`AdamWConfig`].
    #[serde(rename = "adamw")]
    AdamW(AdamWConfig),
    /// RMSprop, optionally centered and with momentum: [`RmsPropConfig`].
    #[serde(rename = "rmsprop")]
    RmsProp(RmsPropConfig),
    /// Adagrad with optional learning-rate decay: [`AdagradConfig`].
    Adagrad(AdagradConfig),
}

impl Default for OptimizerConfig {
    /// `{ kind = "adam" }` with PyTorch's defaults.
    fn default() -> Self {
        OptimizerConfig::Adam(AdamConfig::default())
    }
}

/// `torch.optim.SGD`. With g ← ∇θ + l1·sign(θ) + λθ (λ = `weight_decay`), μ = `momentum`,
/// τ = `dampening`, γ = the learning rate:
///
/// ```text
/// if μ ≠ 0:  b₁ = g₁;  b_t = μ·b_{t−1} + (1 − τ)·g_t        (t > 1)
///            g_t ← g_t + μ·b_t  (nesterov)   or   g_t ← b_t
/// θ_t = θ_{t−1} − γ·g_t
/// ```
///
/// TOML: `{ kind = "sgd", lr = 1e-3, momentum = 0.0, dampening = 0.0, nesterov = false,
/// weight_decay = 0.0, l1 = 0.0 }` (the defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SgdConfig {
    /// Base learning rate γ (PyTorch default 1e-3); a schedule scales it.
    pub lr: f64,
    /// Momentum factor μ ≥ 0 (0 = none).
    pub momentum: f64,
    /// Dampening τ ∈ [0, 1] of the momentum update.
    pub dampening: f64,
    /// Nesterov momentum (needs μ > 0 and τ = 0).
    pub nesterov: bool,
    /// L2 penalty λ ≥ 0 added to the gradient: g ← g + λθ.
    pub weight_decay: f64,
    /// L1 penalty ≥ 0 added to the gradient: g ← g + l1·sign(θ) (not a PyTorch option).
    pub l1: f64,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            l1: 0.0,
        }
    }
}

/// `torch.optim.Adam`. With g ← ∇θ + l1·sign(θ) + λθ (L2, coupled), step t counted per
/// parameter from 1, m₀ = v₀ = 0:
///
/// ```text
/// m_t = β₁·m_{t−1} + (1 − β₁)·g_t
/// v_t = β₂·v_{t−1} + (1 − β₂)·g_t²
/// v̂_t = max(v̂_{t−1}, v_t)  if amsgrad, else v_t
/// θ_t = θ_{t−1} − γ/(1 − β₁ᵗ) · m_t / (√v̂_t / √(1 − β₂ᵗ) + ε)
/// ```
///
/// TOML: `{ kind = "adam", lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8,
/// amsgrad = false, weight_decay = 0.0, l1 = 0.0 }` (the defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamConfig {
    /// Base learning rate γ (PyTorch default 1e-3).
    pub lr: f64,
    /// β₁ ∈ [0, 1): decay of the first moment.
    pub beta1: f64,
    /// β₂ ∈ [0, 1): decay of the second moment.
    pub beta2: f64,
    /// ε ≥ 0 added to the denominator.
    pub eps: f64,
    /// Use the running maximum of v (AMSGrad).
    pub amsgrad: bool,
    /// L2 penalty λ ≥ 0 added to the gradient (coupled; see [`AdamWConfig`] for decoupled).
    pub weight_decay: f64,
    /// L1 penalty ≥ 0 added to the gradient: g ← g + l1·sign(θ) (not a PyTorch option).
    pub l1: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            amsgrad: false,
            weight_decay: 0.0,
            l1: 0.0,
        }
    }
}

/// `torch.optim.AdamW`: Adam whose weight decay is decoupled from the gradient. Before the
/// Adam update of step t (learning rate γ, decay λ):
///
/// ```text
/// θ ← θ·(1 − γλ)
/// ```
///
/// then exactly [`AdamConfig`]'s update with g ← ∇θ + l1·sign(θ) (no λθ term).
///
/// TOML: `{ kind = "adamw", lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8,
/// amsgrad = false, weight_decay = 0.01, l1 = 0.0 }` (the defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamWConfig {
    /// Base learning rate γ (PyTorch default 1e-3).
    pub lr: f64,
    /// β₁ ∈ [0, 1).
    pub beta1: f64,
    /// β₂ ∈ [0, 1).
    pub beta2: f64,
    /// ε ≥ 0.
    pub eps: f64,
    /// Use the running maximum of v (AMSGrad).
    pub amsgrad: bool,
    /// Decoupled decay λ ≥ 0 (PyTorch default 0.01): θ ← θ(1 − γλ) each step.
    pub weight_decay: f64,
    /// L1 penalty ≥ 0 added to the gradient: g ← g + l1·sign(θ) (not a PyTorch option).
    pub l1: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            amsgrad: false,
            weight_decay: 1e-2,
            l1: 0.0,
        }
    }
}

/// `torch.optim.RMSprop`. With g ← ∇θ + l1·sign(θ) + λθ, α the smoothing constant,
/// v₀ = ḡ₀ = b₀ = 0:
///
/// ```text
/// v_t = α·v_{t−1} + (1 − α)·g_t²
/// ḡ_t = α·ḡ_{t−1} + (1 − α)·g_t;   ṽ_t = v_t − ḡ_t²   if centered, else ṽ_t = v_t
/// if μ > 0:  b_t = μ·b_{t−1} + g_t / (√ṽ_t + ε);   θ_t = θ_{t−1} − γ·b_t
/// else:      θ_t = θ_{t−1} − γ·g_t / (√ṽ_t + ε)
/// ```
///
/// TOML: `{ kind = "rmsprop", lr = 1e-2, alpha = 0.99, eps = 1e-8, momentum = 0.0,
/// centered = false, weight_decay = 0.0, l1 = 0.0 }` (the defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RmsPropConfig {
    /// Base learning rate γ (PyTorch default 1e-2).
    pub lr: f64,
    /// Smoothing constant α ∈ [0, 1].
    pub alpha: f64,
    /// ε ≥ 0 added to the denominator.
    pub eps: f64,
    /// Momentum factor μ ≥ 0 (0 = none).
    pub momentum: f64,
    /// Normalize by the estimated variance ṽ = v − ḡ² instead of v.
    pub centered: bool,
    /// L2 penalty λ ≥ 0 added to the gradient.
    pub weight_decay: f64,
    /// L1 penalty ≥ 0 added to the gradient: g ← g + l1·sign(θ) (not a PyTorch option).
    pub l1: f64,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            momentum: 0.0,
            centered: false,
            weight_decay: 0.0,
            l1: 0.0,
        }
    }
}

/// `torch.optim.Adagrad`. With g ← ∇θ + l1·sign(θ) + λθ, η the lr decay, step t counted per
/// parameter from 1, s₀ = `initial_accumulator_value`:
///
/// ```text
/// γ̃_t = γ / (1 + (t − 1)·η)
/// s_t = s_{t−1} + g_t²
/// θ_t = θ_{t−1} − γ̃_t · g_t / (√s_t + ε)
/// ```
///
/// TOML: `{ kind = "adagrad", lr = 1e-2, lr_decay = 0.0, initial_accumulator_value = 0.0,
/// eps = 1e-10, weight_decay = 0.0, l1 = 0.0 }` (the defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdagradConfig {
    /// Base learning rate γ (PyTorch default 1e-2).
    pub lr: f64,
    /// Learning-rate decay η ≥ 0.
    pub lr_decay: f64,
    /// Initial value s₀ ≥ 0 of the squared-gradient sum.
    pub initial_accumulator_value: f64,
    /// ε ≥ 0 added to the denominator (PyTorch default 1e-10).
    pub eps: f64,
    /// L2 penalty λ ≥ 0 added to the gradient.
    pub weight_decay: f64,
    /// L1 penalty ≥ 0 added to the gradient: g ← g + l1·sign(θ) (not a PyTorch option).
    pub l1: f64,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 1e-2,
            lr_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            weight_decay: 0.0,
            l1: 0.0,
        }
    }
}

/// `kind.field = value` must be finite and ≥ 0.
pub(crate) fn non_negative(kind: &str, field: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "`{kind}.{field}` = {value} must be a finite number >= 0"
        )))
    }
}

/// `kind.field = value` must lie in [0, 1) (`closed` = false) or [0, 1] (`closed` = true).
pub(crate) fn unit_interval(kind: &str, field: &str, value: f64, closed: bool) -> Result<()> {
    let ok = value >= 0.0 && if closed { value <= 1.0 } else { value < 1.0 };
    if ok {
        Ok(())
    } else {
        let range = if closed { "[0, 1]" } else { "[0, 1)" };
        Err(Error::Invalid(format!(
            "`{kind}.{field}` = {value} must be in {range}"
        )))
    }
}

impl OptimizerConfig {
    /// The `kind` tag: `"sgd"`, `"adam"`, `"adamw"`, `"rmsprop"` or `"adagrad"`.
    pub fn kind(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd(_) => "sgd",
            OptimizerConfig::Adam(_) => "adam",
            OptimizerConfig::AdamW(_) => "adamw",
            OptimizerConfig::RmsProp(_) => "rmsprop",
            OptimizerConfig::Adagrad(_) => "adagrad",
        }
    }

    /// The base learning rate γ (the `lr` field).
    pub fn lr(&self) -> f64 {
        match self {
            OptimizerConfig::Sgd(c) => c.lr,
            OptimizerConfig::Adam(c) => c.lr,
            OptimizerConfig::AdamW(c) => c.lr,
            OptimizerConfig::RmsProp(c) => c.lr,
            OptimizerConfig::Adagrad(c) => c.lr,
        }
    }

    /// Checks every range PyTorch checks, plus finiteness and the bounds that make sense
    /// (β ∈ [0, 1), α, τ ∈ [0, 1]). The error names the field, e.g.
    /// ``invalid argument: `adam.beta1` = 1.5 must be in [0, 1)``.
    pub fn validate(&self) -> Result<()> {
        let k = self.kind();
        match self {
            OptimizerConfig::Sgd(c) => {
                non_negative(k, "lr", c.lr)?;
                non_negative(k, "momentum", c.momentum)?;
                unit_interval(k, "dampening", c.dampening, true)?;
                non_negative(k, "weight_decay", c.weight_decay)?;
                non_negative(k, "l1", c.l1)?;
                if c.nesterov && (c.momentum <= 0.0 || c.dampening != 0.0) {
                    return Err(Error::Invalid(format!(
                        "`sgd.nesterov` = true needs `sgd.momentum` > 0 and `sgd.dampening` = 0 \
                         (got momentum = {}, dampening = {})",
                        c.momentum, c.dampening
                    )));
                }
            }
            OptimizerConfig::Adam(AdamConfig {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
                l1,
                ..
            })
            | OptimizerConfig::AdamW(AdamWConfig {
                lr,
                beta1,
                beta2,
                eps,
                weight_decay,
                l1,
                ..
            }) => {
                non_negative(k, "lr", *lr)?;
                unit_interval(k, "beta1", *beta1, false)?;
                unit_interval(k, "beta2", *beta2, false)?;
                non_negative(k, "eps", *eps)?;
                non_negative(k, "weight_decay", *weight_decay)?;
                non_negative(k, "l1", *l1)?;
            }
            OptimizerConfig::RmsProp(c) => {
                non_negative(k, "lr", c.lr)?;
                unit_interval(k, "alpha", c.alpha, true)?;
                non_negative(k, "eps", c.eps)?;
                non_negative(k, "momentum", c.momentum)?;
                non_negative(k, "weight_decay", c.weight_decay)?;
                non_negative(k, "l1", c.l1)?;
            }
            OptimizerConfig::Adagrad(c) => {
                non_negative(k, "lr", c.lr)?;
                non_negative(k, "lr_decay", c.lr_decay)?;
                non_negative(k, "initial_accumulator_value", c.initial_accumulator_value)?;
                non_negative(k, "eps", c.eps)?;
                non_negative(k, "weight_decay", c.weight_decay)?;
                non_negative(k, "l1", c.l1)?;
            }
        }
        Ok(())
    }
}
