//! [`BiasInit`]: how a bias vector starts, with the text form `name(key=value, ...)` of the
//! weight initializers.
//!
//! | name | distribution | σ_b² = E[b²] |
//! | --- | --- | --- |
//! | `zeros` | 0 (the default) | 0 |
//! | `constant(value)` | value | value² |
//! | `normal(std, mean)` | N(mean, std²) | std² + mean² |
//! | `variance(sigma_b2)` | N(0, sigma_b2): the mean-field theory's bias variance | sigma_b2 |
//!
//! `zeros` and `constant` draw nothing from the generator, so a config without `init_bias`
//! builds the same weights as before the key existed.

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::textform::{self, num, CallSpec};

/// A bias initializer.
///
/// ```
/// use gradscope::init::BiasInit;
/// use gradscope::Rng;
///
/// // Schoenholz et al. 2017's σ_b² = 0.05.
/// let b: BiasInit = "variance(0.05)".parse()?;
/// assert_eq!(b, BiasInit::Variance { sigma_b2: 0.05 });
/// assert_eq!(b.sigma_b2(), 0.05);
/// let v = b.sample(20_000, &mut Rng::seed(0));
/// let mean_sq = v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64;
/// assert!((mean_sq - 0.05).abs() < 0.002, "{mean_sq}");
/// assert_eq!("constant(0.1)".parse::<BiasInit>()?.sigma_b2(), 0.1 * 0.1);
/// # Ok::<(), gradscope::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum BiasInit {
    /// b = 0.
    #[default]
    Zeros,
    /// b = value.
    Constant {
        /// The value.
        value: f64,
    },
    /// b ~ N(mean, std²).
    Normal {
        /// Standard deviation.
        std: f64,
        /// Mean.
        mean: f64,
    },
    /// b ~ N(0, sigma_b2).
    Variance {
        /// The variance σ_b².
        sigma_b2: f64,
    },
}

type Spec = CallSpec<BiasInit>;

static SPECS: &[Spec] = &[
    Spec {
        name: "zeros",
        params: &[],
        build: |_| BiasInit::Zeros,
    },
    Spec {
        name: "constant",
        params: &[num("value", 0.0, "the constant")],
        build: |v| BiasInit::Constant { value: v[0] },
    },
    Spec {
        name: "normal",
        params: &[
            num("std", 0.01, "standard deviation"),
            num("mean", 0.0, "mean"),
        ],
        build: |v| BiasInit::Normal {
            std: v[0],
            mean: v[1],
        },
    },
    Spec {
        name: "variance",
        params: &[num(
            "sigma_b2",
            0.05,
            "the variance sigma_b^2 of N(0, sigma_b^2)",
        )],
        build: |v| BiasInit::Variance { sigma_b2: v[0] },
    },
];

impl BiasInit {
    /// Every valid text form with its defaults.
    pub fn valid_names() -> String {
        textform::signatures(SPECS)
    }

    fn name(&self) -> &'static str {
        match self {
            BiasInit::Zeros => "zeros",
            BiasInit::Constant { .. } => "constant",
            BiasInit::Normal { .. } => "normal",
            BiasInit::Variance { .. } => "variance",
        }
    }

    fn values(&self) -> Vec<f64> {
        match *self {
            BiasInit::Zeros => vec![],
            BiasInit::Constant { value } => vec![value],
            BiasInit::Normal { std, mean } => vec![std, mean],
            BiasInit::Variance { sigma_b2 } => vec![sigma_b2],
        }
    }

    /// Parses the text form, e.g. `variance(0.05)` or `normal(std=0.1)`.
    pub fn parse(text: &str) -> Result<BiasInit> {
        let (spec, init) =
            textform::parse_call("bias initializer", text, SPECS, &[]).map_err(Error::Invalid)?;
        let bad = |m: String| {
            Err(Error::Invalid(format!(
                "bias initializer `{}`: {m}",
                spec.name
            )))
        };
        match init {
            BiasInit::Normal { std, .. } if std < 0.0 => bad(format!("std = {std} must be >= 0")),
            BiasInit::Variance { sigma_b2 } if sigma_b2 < 0.0 => {
                bad(format!("sigma_b2 = {sigma_b2} must be >= 0"))
            }
            _ => Ok(init),
        }
    }

    /// True for the default, `zeros`.
    pub fn is_zeros(&self) -> bool {
        *self == BiasInit::Zeros
    }

    /// The mean square E(b²) of the biases drawn: the mean-field theory's σ_b² (what the
    /// gradient scope measures as `sigma_b2`).
    pub fn sigma_b2(&self) -> f64 {
        match *self {
            BiasInit::Zeros => 0.0,
            BiasInit::Constant { value } => value * value,
            BiasInit::Normal { std, mean } => std * std + mean * mean,
            BiasInit::Variance { sigma_b2 } => sigma_b2,
        }
    }

    /// Draws `n` biases from `rng` (`zeros` and `constant` draw nothing).
    pub fn sample(&self, n: usize, rng: &mut Rng) -> Vec<f64> {
        match *self {
            BiasInit::Zeros => vec![0.0; n],
            BiasInit::Constant { value } => vec![value; n],
            BiasInit::Normal { std, mean } => (0..n).map(|_| mean + std * rng.normal()).collect(),
            BiasInit::Variance { sigma_b2 } => {
                let std = sigma_b2.sqrt();
                (0..n).map(|_| std * rng.normal()).collect()
            }
        }
    }
}

impl std::fmt::Display for BiasInit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let spec = SPECS.iter().find(|s| s.name == self.name()).expect("spec");
        f.write_str(&crate::textform::call_text(
            spec.name,
            spec.params,
            &self.values(),
        ))
    }
}

crate::textform::text_form_traits!(BiasInit, BiasInit::parse);
