//! Weight initializers, with the text form `name(key=value, ...)`.
//!
//! For a weight of shape [fan_out, fan_in] (PyTorch's `nn.Linear` layout):
//!
//! | name | distribution |
//! | --- | --- |
//! | `zeros` | 0 |
//! | `constant(value)` | value |
//! | `normal(std, mean)` | N(mean, std²) |
//! | `uniform(a)` | U[−a, a] |
//! | `standard` | U[−1/√fan_in, 1/√fan_in] (Glorot & Bengio's "standard" init; PyTorch's `nn.Linear` default) |
//! | `lecun_normal` | N(0, 1/fan_in) |
//! | `variance(sigma_w2)` | N(0, σ_w²/fan_in): the mean-field theory's weight variance (`variance(1)` is `lecun_normal`) |
//! | `lecun_uniform` | U[−√(3/fan_in), √(3/fan_in)] |
//! | `xavier_normal(gain)` | N(0, gain²·2/(fan_in+fan_out)) |
//! | `xavier_uniform(gain)` | U[−b, b], b = gain·√(6/(fan_in+fan_out)) |
//! | `kaiming_normal(gain, mode)` | N(0, gain²/fan) |
//! | `kaiming_uniform(gain, mode)` | U[−b, b], b = gain·√(3/fan) |
//! | `orthogonal(gain)` | gain·Q, Q from the QR decomposition of a Gaussian matrix (signs fixed by diag R, as PyTorch) |
//! | `identity(gain)` | gain·I (ones on the main diagonal of a rectangular matrix, as PyTorch's `eye_`); the IRNN recurrent init of Le et al. 2015 |
//!
//! `fan` is fan_in (default) or fan_out (`mode=fan_out`). For Kaiming, `gain=auto` (the
//! default; `gain=0` is read the same way) means "the gain of the activation that follows", computed as 1/√E[f(z)²] (√2 for ReLU; see
//! [`crate::activation::properties()`]).
//!
//! Biases have their own initializer, [`BiasInit`] (`zeros`, `constant(value)`,
//! `normal(std, mean)`, `variance(sigma_b2)`).

mod bias;

pub use bias::BiasInit;

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::textform::{self, choice, num, num_auto, CallSpec};

/// A weight initializer.
///
/// Parsed from its text form, and sampled for a `[fan_out, fan_in]` weight:
///
/// ```
/// use gradscope::init::Init;
/// use gradscope::Rng;
///
/// let init: Init = "kaiming_normal(mode=fan_out)".parse()?;
/// assert_eq!(init, Init::KaimingNormal { gain: 0.0, fan_out: true });
/// assert_eq!("xavier_uniform".parse::<Init>()?, Init::XavierUniform { gain: 1.0 });
///
/// // N(0, gain²/fan_in) with the ReLU gain √2: variance 2/100.
/// let he = Init::KaimingNormal { gain: 2f64.sqrt(), fan_out: false };
/// let w = he.sample(100, 100, 1.0, &mut Rng::seed(0));
/// let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
/// assert!((var - 0.02).abs() < 0.002, "{var}");
/// # Ok::<(), gradscope::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// All `value`.
    Constant {
        /// The value.
        value: f64,
    },
    /// N(mean, std²).
    Normal {
        /// Standard deviation.
        std: f64,
        /// Mean.
        mean: f64,
    },
    /// U[−a, a].
    Uniform {
        /// Half-width.
        a: f64,
    },
    /// U[−1/√fan_in, 1/√fan_in].
    Standard,
    /// N(0, 1/fan_in).
    LecunNormal,
    /// N(0, σ_w²/fan_in): the weight variance σ_w² of the mean-field theory
    /// ([`crate::theory`]), so that `variance(1.76)` with `init_bias = "variance(0.05)"` puts
    /// a tanh network at the edge of chaos.
    Variance {
        /// σ_w² (≥ 0).
        sigma_w2: f64,
    },
    /// U[−√(3/fan_in), √(3/fan_in)].
    LecunUniform,
    /// N(0, gain²·2/(fan_in + fan_out)).
    XavierNormal {
        /// Gain.
        gain: f64,
    },
    /// U[−b, b], b = gain·√(6/(fan_in + fan_out)).
    XavierUniform {
        /// Gain.
        gain: f64,
    },
    /// N(0, gain²/fan).
    KaimingNormal {
        /// Gain; 0 = the following activation's computed gain.
        gain: f64,
        /// Use fan_out instead of fan_in.
        fan_out: bool,
    },
    /// U[−b, b], b = gain·√(3/fan).
    KaimingUniform {
        /// Gain; 0 = the following activation's computed gain.
        gain: f64,
        /// Use fan_out instead of fan_in.
        fan_out: bool,
    },
    /// gain·Q with Q orthogonal.
    Orthogonal {
        /// Gain.
        gain: f64,
    },
    /// gain·I: W_ij = gain if i = j, else 0.
    Identity {
        /// Gain.
        gain: f64,
    },
}

const MODES: &[&str] = &["fan_in", "fan_out"];

type InitSpec = CallSpec<Init>;

static SPECS: &[InitSpec] = &[
    InitSpec {
        name: "zeros",
        params: &[],
        build: |_| Init::Zeros,
    },
    InitSpec {
        name: "constant",
        params: &[num("value", 0.0, "the constant")],
        build: |v| Init::Constant { value: v[0] },
    },
    InitSpec {
        name: "normal",
        params: &[
            num("std", 0.01, "standard deviation"),
            num("mean", 0.0, "mean"),
        ],
        build: |v| Init::Normal {
            std: v[0],
            mean: v[1],
        },
    },
    InitSpec {
        name: "uniform",
        params: &[num("a", 0.05, "half-width of U[-a, a]")],
        build: |v| Init::Uniform { a: v[0] },
    },
    InitSpec {
        name: "standard",
        params: &[],
        build: |_| Init::Standard,
    },
    InitSpec {
        name: "lecun_normal",
        params: &[],
        build: |_| Init::LecunNormal,
    },
    InitSpec {
        name: "variance",
        params: &[num(
            "sigma_w2",
            1.0,
            "the weight variance times fan_in: N(0, sigma_w2/fan_in)",
        )],
        build: |v| Init::Variance { sigma_w2: v[0] },
    },
    InitSpec {
        name: "lecun_uniform",
        params: &[],
        build: |_| Init::LecunUniform,
    },
    InitSpec {
        name: "xavier_normal",
        params: &[num("gain", 1.0, "scale factor")],
        build: |v| Init::XavierNormal { gain: v[0] },
    },
    InitSpec {
        name: "xavier_uniform",
        params: &[num("gain", 1.0, "scale factor")],
        build: |v| Init::XavierUniform { gain: v[0] },
    },
    InitSpec {
        name: "kaiming_normal",
        params: &[
            num_auto(
                "gain",
                "scale factor; auto (or 0) = the following activation's computed gain",
            ),
            choice("mode", 0, MODES, "which fan to normalize by"),
        ],
        build: |v| Init::KaimingNormal {
            gain: v[0],
            fan_out: v[1] == 1.0,
        },
    },
    InitSpec {
        name: "kaiming_uniform",
        params: &[
            num_auto(
                "gain",
                "scale factor; auto (or 0) = the following activation's computed gain",
            ),
            choice("mode", 0, MODES, "which fan to normalize by"),
        ],
        build: |v| Init::KaimingUniform {
            gain: v[0],
            fan_out: v[1] == 1.0,
        },
    },
    InitSpec {
        name: "orthogonal",
        params: &[num("gain", 1.0, "scale factor")],
        build: |v| Init::Orthogonal { gain: v[0] },
    },
    InitSpec {
        name: "identity",
        params: &[num("gain", 1.0, "the diagonal value")],
        build: |v| Init::Identity { gain: v[0] },
    },
];

const ALIASES: &[(&str, &str)] = &[
    ("glorot_normal", "xavier_normal"),
    ("glorot_uniform", "xavier_uniform"),
    ("he_normal", "kaiming_normal"),
    ("he_uniform", "kaiming_uniform"),
    ("lecun", "lecun_normal"),
];

impl Init {
    /// Every valid text form with its defaults.
    pub fn valid_names() -> String {
        textform::signatures(SPECS)
    }

    fn spec(&self) -> &'static InitSpec {
        let name = match self {
            Init::Zeros => "zeros",
            Init::Constant { .. } => "constant",
            Init::Normal { .. } => "normal",
            Init::Uniform { .. } => "uniform",
            Init::Standard => "standard",
            Init::LecunNormal => "lecun_normal",
            Init::Variance { .. } => "variance",
            Init::LecunUniform => "lecun_uniform",
            Init::XavierNormal { .. } => "xavier_normal",
            Init::XavierUniform { .. } => "xavier_uniform",
            Init::KaimingNormal { .. } => "kaiming_normal",
            Init::KaimingUniform { .. } => "kaiming_uniform",
            Init::Orthogonal { .. } => "orthogonal",
            Init::Identity { .. } => "identity",
        };
        SPECS.iter().find(|s| s.name == name).expect("spec")
    }

    fn values(&self) -> Vec<f64> {
        match *self {
            Init::Constant { value } => vec![value],
            Init::Normal { std, mean } => vec![std, mean],
            Init::Uniform { a } => vec![a],
            Init::Variance { sigma_w2 } => vec![sigma_w2],
            Init::XavierNormal { gain } | Init::XavierUniform { gain } => vec![gain],
            Init::KaimingNormal { gain, fan_out } | Init::KaimingUniform { gain, fan_out } => {
                vec![gain, if fan_out { 1.0 } else { 0.0 }]
            }
            Init::Orthogonal { gain } | Init::Identity { gain } => vec![gain],
            _ => vec![],
        }
    }

    /// Parses the text form, e.g. `kaiming_normal(mode=fan_out)` or `normal(std=0.1)`.
    pub fn parse(text: &str) -> Result<Init> {
        let (spec, init) =
            textform::parse_call("initializer", text, SPECS, ALIASES).map_err(Error::Invalid)?;
        let bad = |m: String| Err(Error::Invalid(format!("initializer `{}`: {m}", spec.name)));
        match init {
            Init::Normal { std, .. } if std < 0.0 => bad(format!("std = {std} must be >= 0")),
            Init::Uniform { a } if a < 0.0 => bad(format!("a = {a} must be >= 0")),
            Init::Variance { sigma_w2 } if !(sigma_w2 >= 0.0 && sigma_w2.is_finite()) => bad(
                format!("sigma_w2 = {sigma_w2} must be a finite number >= 0"),
            ),
            Init::KaimingNormal { gain, .. } | Init::KaimingUniform { gain, .. } if gain < 0.0 => {
                bad(format!("gain = {gain} must be >= 0"))
            }
            _ => Ok(init),
        }
    }

    /// The standard deviation this initializer gives a [fan_out, fan_in] weight, with
    /// `act_gain` the following activation's gain (Kaiming with gain 0).
    pub fn std(&self, fan_in: usize, fan_out: usize, act_gain: f64) -> f64 {
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        let uniform_std = |b: f64| b / 3f64.sqrt();
        match *self {
            Init::Zeros | Init::Constant { .. } => 0.0,
            Init::Normal { std, .. } => std,
            Init::Uniform { a } => uniform_std(a),
            Init::Standard => uniform_std(1.0 / fi.sqrt()),
            Init::LecunNormal | Init::LecunUniform => 1.0 / fi.sqrt(),
            Init::Variance { sigma_w2 } => (sigma_w2 / fi).sqrt(),
            Init::XavierNormal { gain } | Init::XavierUniform { gain } => {
                gain * (2.0 / (fi + fo)).sqrt()
            }
            Init::KaimingNormal { gain, fan_out } | Init::KaimingUniform { gain, fan_out } => {
                let g = if gain == 0.0 { act_gain } else { gain };
                g / if fan_out { fo } else { fi }.sqrt()
            }
            // Unit-norm rows (fan_out ≤ fan_in) or columns: entry variance 1/max(fan).
            Init::Orthogonal { gain } => gain / fi.max(fo).sqrt(),
            // min(fan) entries of value gain among fan_in·fan_out.
            Init::Identity { gain } => gain * (fi.min(fo) / (fi * fo)).sqrt(),
        }
    }

    /// Draws a [rows, cols] = [fan_out, fan_in] weight (row-major) from `rng`.
    pub fn sample(&self, rows: usize, cols: usize, act_gain: f64, rng: &mut Rng) -> Vec<f64> {
        let n = rows * cols;
        let (fan_in, fan_out) = (cols, rows);
        let normal = |std: f64, mean: f64, rng: &mut Rng| -> Vec<f64> {
            (0..n).map(|_| mean + std * rng.normal()).collect()
        };
        let uniform =
            |b: f64, rng: &mut Rng| -> Vec<f64> { (0..n).map(|_| rng.uniform(-b, b)).collect() };
        match *self {
            Init::Zeros => vec![0.0; n],
            Init::Constant { value } => vec![value; n],
            Init::Normal { std, mean } => normal(std, mean, rng),
            Init::Uniform { a } => uniform(a, rng),
            Init::Standard => uniform(1.0 / (fan_in.max(1) as f64).sqrt(), rng),
            Init::LecunNormal
            | Init::Variance { .. }
            | Init::XavierNormal { .. }
            | Init::KaimingNormal { .. } => normal(self.std(fan_in, fan_out, act_gain), 0.0, rng),
            Init::LecunUniform | Init::XavierUniform { .. } | Init::KaimingUniform { .. } => {
                uniform(self.std(fan_in, fan_out, act_gain) * 3f64.sqrt(), rng)
            }
            Init::Orthogonal { gain } => orthogonal(rows, cols, gain, rng),
            Init::Identity { gain } => {
                let mut w = vec![0.0; n];
                for i in 0..rows.min(cols) {
                    w[i * cols + i] = gain;
                }
                w
            }
        }
    }
}

/// gain·Q for a [rows, cols] matrix with orthonormal rows (rows ≤ cols) or columns: QR of a
/// Gaussian matrix with the signs of Q's columns fixed by sign(diag R), as PyTorch's
/// `orthogonal_` does.
fn orthogonal(rows: usize, cols: usize, gain: f64, rng: &mut Rng) -> Vec<f64> {
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    // Factor the tall orientation: A is [max, min].
    let (tall, short) = (rows.max(cols), rows.min(cols));
    let a = nalgebra::DMatrix::<f64>::from_fn(tall, short, |_, _| rng.normal());
    let qr = a.qr();
    let mut q = qr.q(); // tall × short, orthonormal columns
    let r = qr.r();
    for j in 0..short {
        if r[(j, j)] < 0.0 {
            q.column_mut(j).neg_mut();
        }
    }
    let mut out = vec![0.0; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            // rows ≥ cols: W = Q; rows < cols: W = Qᵀ.
            let v = if rows >= cols { q[(i, j)] } else { q[(j, i)] };
            out[i * cols + j] = gain * v;
        }
    }
    out
}

impl std::fmt::Display for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let spec = self.spec();
        f.write_str(&crate::textform::call_text(
            spec.name,
            spec.params,
            &self.values(),
        ))
    }
}

crate::textform::text_form_traits!(Init, Init::parse);
