//! The text form of an activation: `name` or `name(p1, p2)` or `name(key=value, ...)`.
//!
//! Names are case-insensitive and `-` may stand for `_`. Positional values fill parameters in
//! the order listed by [`SPECS`]; omitted parameters take their defaults. An unknown name or
//! parameter, a value that is not a finite number, or a value out of range is an
//! [`Error::Activation`] whose message lists what is valid.

use super::Activation;
use crate::error::{Error, Result};
use crate::textform;

pub use crate::textform::ParamSpec;

/// One entry of the catalogue: name, aliases, parameters, default value and formula.
#[derive(Debug)]
pub struct ActivationSpec {
    /// Canonical name.
    pub name: &'static str,
    /// Other accepted spellings.
    pub aliases: &'static [&'static str],
    /// Parameters in positional order.
    pub params: &'static [ParamSpec],
    /// The activation with default parameters.
    pub default: Activation,
    /// The formula, in plain text.
    pub formula: &'static str,
    /// Its family: how it fails a gradient (saturation, dead units, …).
    pub family: Family,
}

/// How an activation shapes the gradient, and so how it fails: the verdicts and remedies
/// ask the family instead of lists of names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Bounded (or sigmoid-shaped) with f' → 0 on both sides: sigmoid, tanh, softsign, the
    /// hard variants, the improved sigmoid. Fails by saturation: |f'| ≤ max|f'| shrinks
    /// the gradient at every layer (σ' ≤ 1/4).
    Squashing,
    /// Piecewise linear or exponential with f' = 1 on the positive side: ReLU, leaky ReLU,
    /// PReLU, RReLU, ELU, SELU. Does not saturate for x > 0; fails by dead units (f' = 0
    /// for every sample).
    Rectifier,
    /// Smooth approximations of ReLU: swish/SiLU, GELU, softplus, mish, and hard-swish
    /// (swish's piecewise version: f' = 1 far right, 0 far left, a dip below 0 between).
    SmoothRectifier,
    /// The identity.
    Linear,
    /// Row-wise normalizations (softmax, log-softmax), used as heads.
    Rowwise,
}

use crate::textform::num as p;

/// The catalogue, in display order.
pub static SPECS: &[ActivationSpec] = &[
    ActivationSpec {
        name: "sigmoid",
        family: Family::Squashing,
        aliases: &["logistic"],
        params: &[],
        default: Activation::Sigmoid,
        formula: "1/(1+e^-x)",
    },
    ActivationSpec {
        name: "improved_sigmoid",
        family: Family::Squashing,
        aliases: &[],
        params: &[
            p("alpha", 2.0, "steepness of the sigmoid term"),
            p("beta", 0.1, "slope of the linear term"),
        ],
        default: Activation::ImprovedSigmoid {
            alpha: 2.0,
            beta: 0.1,
        },
        formula: "sigmoid(alpha*x) + beta*x",
    },
    ActivationSpec {
        name: "tanh",
        family: Family::Squashing,
        aliases: &[],
        params: &[],
        default: Activation::Tanh,
        formula: "(e^x-e^-x)/(e^x+e^-x)",
    },
    ActivationSpec {
        name: "softmax",
        family: Family::Rowwise,
        aliases: &[],
        params: &[],
        default: Activation::Softmax,
        formula: "e^x_i/sum_j e^x_j (row-wise; scalar view softmax([x,0])_0)",
    },
    ActivationSpec {
        name: "log_softmax",
        family: Family::Rowwise,
        aliases: &["logsoftmax"],
        params: &[],
        default: Activation::LogSoftmax,
        formula: "x_i - ln sum_j e^x_j (row-wise; scalar view at [x,0])",
    },
    ActivationSpec {
        name: "relu",
        family: Family::Rectifier,
        aliases: &[],
        params: &[],
        default: Activation::Relu,
        formula: "max(x, 0)",
    },
    ActivationSpec {
        name: "leaky_relu",
        family: Family::Rectifier,
        aliases: &["leakyrelu"],
        params: &[p("slope", 0.01, "slope for x <= 0")],
        default: Activation::LeakyRelu { slope: 0.01 },
        formula: "x if x>0 else slope*x",
    },
    ActivationSpec {
        name: "prelu",
        family: Family::Rectifier,
        aliases: &[],
        params: &[
            p("init", 0.25, "initial learned slope for x <= 0"),
            p(
                "channels",
                1.0,
                "number of learned slopes (1 or one per column)",
            ),
        ],
        default: Activation::Prelu {
            init: 0.25,
            channels: 1,
        },
        formula: "x if x>0 else a*x, a learned",
    },
    ActivationSpec {
        name: "rrelu",
        family: Family::Rectifier,
        aliases: &[],
        params: &[
            p("lower", 0.125, "lower bound of the random slope"),
            p("upper", 1.0 / 3.0, "upper bound of the random slope"),
        ],
        default: Activation::Rrelu {
            lower: 0.125,
            upper: 1.0 / 3.0,
        },
        formula: "x if x>0 else a*x, a~U(lower,upper) in training, (lower+upper)/2 in eval",
    },
    ActivationSpec {
        name: "elu",
        family: Family::Rectifier,
        aliases: &[],
        params: &[p("alpha", 1.0, "value approached as x -> -inf is -alpha")],
        default: Activation::Elu { alpha: 1.0 },
        formula: "x if x>0 else alpha*(e^x-1)",
    },
    ActivationSpec {
        name: "selu",
        family: Family::Rectifier,
        aliases: &[],
        params: &[],
        default: Activation::Selu,
        formula: "1.0507*(x if x>0 else 1.6733*(e^x-1))",
    },
    ActivationSpec {
        name: "swish",
        family: Family::SmoothRectifier,
        aliases: &[],
        params: &[p("beta", 1.0, "sharpness (large beta approaches relu)")],
        default: Activation::Swish { beta: 1.0 },
        formula: "x*sigmoid(beta*x)",
    },
    ActivationSpec {
        name: "silu",
        family: Family::SmoothRectifier,
        aliases: &[],
        params: &[],
        default: Activation::Silu,
        formula: "x*sigmoid(x)",
    },
    ActivationSpec {
        name: "gelu",
        family: Family::SmoothRectifier,
        aliases: &[],
        params: &[],
        default: Activation::Gelu,
        formula: "x*Phi(x)",
    },
    ActivationSpec {
        name: "gelu_tanh",
        family: Family::SmoothRectifier,
        aliases: &[],
        params: &[],
        default: Activation::GeluTanh,
        formula: "0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3)))",
    },
    ActivationSpec {
        name: "softplus",
        family: Family::SmoothRectifier,
        aliases: &[],
        params: &[
            p("beta", 1.0, "sharpness"),
            p("threshold", 20.0, "linear above beta*x > threshold"),
        ],
        default: Activation::Softplus {
            beta: 1.0,
            threshold: 20.0,
        },
        formula: "ln(1+e^(beta*x))/beta",
    },
    ActivationSpec {
        name: "softsign",
        family: Family::Squashing,
        aliases: &[],
        params: &[],
        default: Activation::Softsign,
        formula: "x/(1+|x|)",
    },
    ActivationSpec {
        name: "mish",
        family: Family::SmoothRectifier,
        aliases: &[],
        params: &[],
        default: Activation::Mish,
        formula: "x*tanh(softplus(x))",
    },
    ActivationSpec {
        name: "hard_sigmoid",
        family: Family::Squashing,
        aliases: &["hardsigmoid"],
        params: &[],
        default: Activation::HardSigmoid,
        formula: "clamp(x/6+1/2, 0, 1)",
    },
    ActivationSpec {
        name: "hard_swish",
        family: Family::SmoothRectifier,
        aliases: &["hardswish"],
        params: &[],
        default: Activation::HardSwish,
        formula: "x*clamp(x+3, 0, 6)/6",
    },
    ActivationSpec {
        name: "hard_tanh",
        family: Family::Squashing,
        aliases: &["hardtanh"],
        params: &[p("min", -1.0, "lower clamp"), p("max", 1.0, "upper clamp")],
        default: Activation::HardTanh {
            min: -1.0,
            max: 1.0,
        },
        formula: "clamp(x, min, max)",
    },
    ActivationSpec {
        name: "identity",
        family: Family::Linear,
        aliases: &["linear", "none"],
        params: &[],
        default: Activation::Identity,
        formula: "x",
    },
];

/// The catalogue entry of an activation.
pub fn spec_of(act: &Activation) -> &'static ActivationSpec {
    SPECS
        .iter()
        .find(|s| std::mem::discriminant(&s.default) == std::mem::discriminant(act))
        .expect("every Activation variant has a spec")
}

/// The parameter values of an activation, in positional order.
pub fn param_values(act: &Activation) -> Vec<f64> {
    use Activation::*;
    match *act {
        LeakyRelu { slope } => vec![slope],
        Prelu { init, channels } => vec![init, channels as f64],
        Rrelu { lower, upper } => vec![lower, upper],
        Elu { alpha } => vec![alpha],
        Swish { beta } => vec![beta],
        Softplus { beta, threshold } => vec![beta, threshold],
        HardTanh { min, max } => vec![min, max],
        ImprovedSigmoid { alpha, beta } => vec![alpha, beta],
        _ => vec![],
    }
}

/// Canonical text form: `name` or `name(key=value, ...)`.
pub fn to_text(act: &Activation) -> String {
    let spec = spec_of(act);
    textform::call_text(spec.name, spec.params, &param_values(act))
}

/// A one-line list of every valid name with its parameters and defaults.
pub fn valid_names() -> String {
    SPECS
        .iter()
        .map(|s| textform::signature(s.name, s.params))
        .collect::<Vec<_>>()
        .join(", ")
}

fn find_spec(name: &str) -> Option<&'static ActivationSpec> {
    SPECS
        .iter()
        .find(|s| s.name == name || s.aliases.contains(&name))
}

/// Parses the text form of an activation.
pub fn parse(text: &str) -> Result<Activation> {
    let (name, args) = textform::split_call("activation", text).map_err(Error::Activation)?;
    if name.is_empty() {
        return Err(Error::Activation(format!(
            "empty activation name; valid activations: {}",
            valid_names()
        )));
    }
    let spec = find_spec(&name).ok_or_else(|| {
        Error::Activation(format!(
            "unknown activation `{name}`; valid activations: {}",
            valid_names()
        ))
    })?;
    let v =
        textform::bind("activation", spec.name, args, spec.params).map_err(Error::Activation)?;
    build(spec, &v)
}

fn build(spec: &ActivationSpec, v: &[f64]) -> Result<Activation> {
    let bad = |msg: String| {
        Err(Error::Activation(format!(
            "activation `{}`: {msg}",
            spec.name
        )))
    };
    use Activation::*;
    let act = match spec.default {
        LeakyRelu { .. } => LeakyRelu { slope: v[0] },
        Prelu { .. } => {
            if v[1] < 1.0 || v[1].fract() != 0.0 {
                return bad(format!("channels = {} must be a whole number >= 1", v[1]));
            }
            Prelu {
                init: v[0],
                channels: v[1] as usize,
            }
        }
        Rrelu { .. } => {
            if v[0] > v[1] {
                return bad(format!("lower = {} must not exceed upper = {}", v[0], v[1]));
            }
            Rrelu {
                lower: v[0],
                upper: v[1],
            }
        }
        Elu { .. } => {
            if v[0] < 0.0 {
                return bad(format!("alpha = {} must be >= 0", v[0]));
            }
            Elu { alpha: v[0] }
        }
        Swish { .. } => Swish { beta: v[0] },
        Softplus { .. } => {
            if v[0] <= 0.0 {
                return bad(format!("beta = {} must be > 0", v[0]));
            }
            Softplus {
                beta: v[0],
                threshold: v[1],
            }
        }
        HardTanh { .. } => {
            if v[0] >= v[1] {
                return bad(format!("min = {} must be below max = {}", v[0], v[1]));
            }
            HardTanh {
                min: v[0],
                max: v[1],
            }
        }
        ImprovedSigmoid { .. } => ImprovedSigmoid {
            alpha: v[0],
            beta: v[1],
        },
        other => other,
    };
    Ok(act)
}
