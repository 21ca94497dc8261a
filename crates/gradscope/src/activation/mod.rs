//! The activation catalogue.
//!
//! Every activation has a forward f(x) and an exact, hand-derived derivative f'(x) (no
//! autodiff, no finite differences), a scalar API ([`Activation::f`], [`Activation::df`]) and
//! a tensor API ([`ActivationFn`]: forward, and backward as grad_in = grad_out ⊙ f'(z), or the
//! exact Jacobian-vector product for the row-wise softmax and log-softmax).
//!
//! Each has a text form used by configs and the CLI (`tanh`, `leaky_relu(0.01)`,
//! `elu(alpha=1.0)`, `improved_sigmoid(alpha=2, beta=0.1)`); see [`spec`].
//!
//! Derivatives at kinks follow PyTorch: ReLU'(0) = 0, LeakyReLU'(0) = slope, ELU'(0) = α,
//! hard-tanh and hard-sigmoid have derivative 0 at their corners, hard-swish has the
//! one-sided derivatives 0 at −3 (left) and 1 at 3 (right).
//!
//! NaN and ±∞ also follow PyTorch, on every path (scalar, tensor, SIMD): f and f' at NaN, +∞
//! and −∞ are what PyTorch's forward and backward (upstream gradient 1) give, so a NaN weight
//! can never produce a finite model (`relu(NaN)` is NaN). Clamps are written as comparisons
//! ([`clamp`]), never with `min`/`max`, which drop NaN. See docs/reliability.md.

pub mod properties;
pub mod relu;
mod rowwise_props;
pub mod sigmoid;
pub mod smooth;
pub mod softmax;
pub mod spec;
pub mod tanh;
mod tensor_fn;

pub use properties::{properties, Properties};
pub use rowwise_props::{rowwise_properties, RowwiseProperties};
pub use tensor_fn::ActivationFn;

use crate::float::Float;

/// clamp(x, lo, hi) that keeps NaN (`f64::max`/`min` would return a bound). Written as two
/// compare-and-select steps, which vectorize like `max`/`min`.
#[inline(always)]
pub fn clamp<T: Float>(x: T, lo: T, hi: T) -> T {
    clamp_above(if x < lo { lo } else { x }, hi)
}

/// min(x, hi) that keeps NaN.
#[inline(always)]
pub fn clamp_above<T: Float>(x: T, hi: T) -> T {
    if x > hi {
        hi
    } else {
        x
    }
}

/// x − x: 0 for finite x, NaN for ±∞ and NaN. Added to a value, it makes that value NaN
/// wherever PyTorch's formula meets ∞ − ∞ or ∞·0.
#[inline(always)]
#[allow(clippy::eq_op)] // x − x is the point: 0, or NaN when x is not finite
pub fn nan_if_infinite<T: Float>(x: T) -> T {
    x - x
}

/// One activation function with its parameters.
///
/// Parsed from and printed as its text form; f and f' are scalar functions of any [`Float`]:
///
/// ```
/// use gradscope::Activation;
///
/// let elu: Activation = "elu(alpha=0.5)".parse()?;
/// assert_eq!(elu, Activation::Elu { alpha: 0.5 });
/// assert_eq!(elu.to_string(), "elu(alpha=0.5)");
/// assert_eq!("leaky_relu(0.1)".parse::<Activation>()?, Activation::LeakyRelu { slope: 0.1 });
/// assert!("relu(3)".parse::<Activation>().is_err()); // relu takes no parameter
///
/// let s = Activation::Sigmoid;
/// assert_eq!(s.f(0.0_f64), 0.5);
/// assert_eq!(s.df(0.0_f64), 0.25); // σ' = σ(1 − σ): at most 1/4, the vanishing gradient
/// assert_eq!(Activation::Relu.df(0.0_f32), 0.0); // PyTorch's value at the kink
/// # Ok::<(), gradscope::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// f(x) = x.
    Identity,
    /// f(x) = σ(x) = 1/(1 + e⁻ˣ); range (0, 1); f' = σ(1 − σ) ≤ 1/4.
    Sigmoid,
    /// f(x) = tanh x; range (−1, 1); f' = 1 − tanh² ≤ 1.
    Tanh,
    /// Row-wise softmax yᵢ = e^(xᵢ)/Σⱼe^(xⱼ); scalar view σ(x) (see [`softmax`]).
    Softmax,
    /// Row-wise log-softmax yᵢ = xᵢ − ln Σⱼe^(xⱼ); scalar view ln σ(x).
    LogSoftmax,
    /// f(x) = max(x, 0).
    Relu,
    /// f(x) = x for x > 0, slope·x otherwise.
    LeakyRelu {
        /// Negative-side slope (PyTorch's `negative_slope`, default 0.01).
        slope: f64,
    },
    /// Leaky ReLU whose slope a is learned (one, or one per channel = column).
    Prelu {
        /// Initial slope (PyTorch default 0.25).
        init: f64,
        /// Number of learned slopes: 1 (shared) or the number of channels.
        channels: usize,
    },
    /// Leaky ReLU whose slope is drawn from U(lower, upper) per element in training and is
    /// (lower + upper)/2 in evaluation.
    Rrelu {
        /// Lower bound of the slope (default 1/8).
        lower: f64,
        /// Upper bound of the slope (default 1/3).
        upper: f64,
    },
    /// f(x) = x for x > 0, α(eˣ − 1) otherwise.
    Elu {
        /// Saturation value −α for x → −∞ (default 1).
        alpha: f64,
    },
    /// f(x) = λ·ELU_α(x), λ ≈ 1.0507, α ≈ 1.6733 (self-normalizing).
    Selu,
    /// f(x) = x σ(βx).
    Swish {
        /// Sharpness β (default 1; β → ∞ gives ReLU).
        beta: f64,
    },
    /// f(x) = x σ(x) (Swish with β = 1).
    Silu,
    /// f(x) = x Φ(x) (exact, erf form).
    Gelu,
    /// f(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    GeluTanh,
    /// f(x) = ln(1 + e^(βx))/β, linear where βx > threshold.
    Softplus {
        /// Sharpness β (default 1).
        beta: f64,
        /// Above βx > threshold the function is taken as linear (default 20, as PyTorch).
        threshold: f64,
    },
    /// f(x) = x/(1 + |x|).
    Softsign,
    /// f(x) = x tanh(softplus(x)).
    Mish,
    /// f(x) = clamp(x/6 + 1/2, 0, 1).
    HardSigmoid,
    /// f(x) = x·relu6(x + 3)/6 = x·clamp(x + 3, 0, 6)/6 (PyTorch `Hardswish`): 0 for x ≤ −3,
    /// x for x ≥ 3, x(x + 3)/6 between; f' = x/3 + 1/2 on (−3, 3).
    HardSwish,
    /// f(x) = clamp(x, min, max).
    HardTanh {
        /// Lower clamp (default −1).
        min: f64,
        /// Upper clamp (default 1).
        max: f64,
    },
    /// The seeds' improved sigmoid f(x) = σ(αx) + βx.
    ImprovedSigmoid {
        /// Steepness α (default 2).
        alpha: f64,
        /// Linear term β (default 0.1).
        beta: f64,
    },
}

impl Activation {
    /// Every activation in the catalogue with its default parameters, in display order.
    pub fn catalogue() -> Vec<Activation> {
        spec::SPECS.iter().map(|s| s.default).collect()
    }

    /// The base name of the text form (`"leaky_relu"`).
    pub fn name(&self) -> &'static str {
        spec::spec_of(self).name
    }

    /// The activation's family (from the catalogue).
    pub fn family(&self) -> spec::Family {
        spec::spec_of(self).family
    }

    /// True for the row-wise activations (softmax, log-softmax), whose output element depends
    /// on the whole row.
    pub fn is_rowwise(&self) -> bool {
        matches!(self, Activation::Softmax | Activation::LogSoftmax)
    }

    /// The negative-side slope used in evaluation by the leaky family (PReLU: its initial
    /// slope; RReLU: (lower + upper)/2).
    pub fn eval_slope(&self) -> Option<f64> {
        match *self {
            Activation::LeakyRelu { slope } => Some(slope),
            Activation::Prelu { init, .. } => Some(init),
            Activation::Rrelu { lower, upper } => Some(0.5 * (lower + upper)),
            _ => None,
        }
    }

    /// Points where f or f' is not smooth (used to split quadrature panels and by the tests'
    /// finite differences). Exhaustive: a new activation must say whether it has kinks.
    pub fn kinks(&self) -> Vec<f64> {
        match *self {
            Activation::Relu
            | Activation::LeakyRelu { .. }
            | Activation::Prelu { .. }
            | Activation::Rrelu { .. }
            | Activation::Elu { .. }
            | Activation::Selu => vec![0.0],
            // f'' jumps from +2 to −2 at 0.
            Activation::Softsign => vec![0.0],
            Activation::HardSigmoid | Activation::HardSwish => vec![-3.0, 3.0],
            Activation::HardTanh { min, max } => vec![min, max],
            Activation::Softplus { beta, threshold } => vec![threshold / beta],
            Activation::Identity
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Softmax
            | Activation::LogSoftmax
            | Activation::Swish { .. }
            | Activation::Silu
            | Activation::Gelu
            | Activation::GeluTanh
            | Activation::Mish
            | Activation::ImprovedSigmoid { .. } => vec![],
        }
    }

    /// f(x) (scalar; the leaky family uses [`Activation::eval_slope`]; softmax and
    /// log-softmax use their two-logit scalar view).
    #[inline]
    pub fn f<T: Float>(&self, x: T) -> T {
        use Activation::*;
        let p = T::from_f64;
        match *self {
            Identity => x,
            Sigmoid => sigmoid::sigmoid(x),
            Tanh => tanh::tanh(x),
            Softmax => softmax::softmax_scalar(x),
            LogSoftmax => softmax::log_softmax_scalar(x),
            Relu => relu::relu(x),
            LeakyRelu { .. } | Prelu { .. } | Rrelu { .. } => {
                relu::leaky_relu(x, p(self.eval_slope().unwrap_or(0.0)))
            }
            Elu { alpha } => relu::elu(x, p(alpha)),
            Selu => relu::selu(x),
            Swish { beta } => sigmoid::swish(x, p(beta)),
            Silu => sigmoid::swish(x, T::ONE),
            Gelu => smooth::gelu(x),
            GeluTanh => smooth::gelu_tanh(x),
            Softplus { beta, threshold } => smooth::softplus(x, p(beta), p(threshold)),
            Softsign => tanh::softsign(x),
            Mish => smooth::mish(x),
            HardSigmoid => sigmoid::hard_sigmoid(x),
            HardSwish => sigmoid::hard_swish(x),
            HardTanh { min, max } => tanh::hard_tanh(x, p(min), p(max)),
            ImprovedSigmoid { alpha, beta } => sigmoid::improved_sigmoid(x, p(alpha), p(beta)),
        }
    }

    /// f'(x), the exact derivative of [`Activation::f`] (PyTorch's value at kinks).
    #[inline]
    pub fn df<T: Float>(&self, x: T) -> T {
        use Activation::*;
        let p = T::from_f64;
        match *self {
            Identity => T::ONE,
            Sigmoid => sigmoid::sigmoid_grad(x),
            Tanh => tanh::tanh_grad(x),
            Softmax => softmax::softmax_scalar_grad(x),
            LogSoftmax => softmax::log_softmax_scalar_grad(x),
            Relu => relu::relu_grad(x),
            LeakyRelu { .. } | Prelu { .. } | Rrelu { .. } => {
                relu::leaky_relu_grad(x, p(self.eval_slope().unwrap_or(0.0)))
            }
            Elu { alpha } => relu::elu_grad(x, p(alpha)),
            Selu => relu::selu_grad(x),
            Swish { beta } => sigmoid::swish_grad(x, p(beta)),
            Silu => sigmoid::swish_grad(x, T::ONE),
            Gelu => smooth::gelu_grad(x),
            GeluTanh => smooth::gelu_tanh_grad(x),
            Softplus { beta, threshold } => smooth::softplus_grad(x, p(beta), p(threshold)),
            Softsign => tanh::softsign_grad(x),
            Mish => smooth::mish_grad(x),
            HardSigmoid => sigmoid::hard_sigmoid_grad(x),
            HardSwish => sigmoid::hard_swish_grad(x),
            HardTanh { min, max } => tanh::hard_tanh_grad(x, p(min), p(max)),
            ImprovedSigmoid { alpha, beta } => sigmoid::improved_sigmoid_grad(x, p(alpha), p(beta)),
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&spec::to_text(self))
    }
}

crate::textform::text_form_traits!(Activation, spec::parse);
