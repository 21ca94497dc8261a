//! [`Remedy`]: what the verdict recommends, as a typed value a program can apply to a config
//! ([`Remedy::apply`]) or turn into `--set` overrides ([`Remedy::overrides`]); the prose that
//! explains it is rendered from it by [`super::explain`].

use crate::activation::Activation;
use crate::config::Config;
use crate::error::Result;
use crate::init::Init;
use crate::model::Norm;
use crate::recurrent::CellKind;

/// One remedy for a gradient that vanishes, explodes, saturates or dies.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "remedy", rename_all = "snake_case")]
pub enum Remedy {
    /// Use `activation` in every hidden layer, initialized with `init` (a non-saturating
    /// activation with He init: f' = 1 on active units).
    Activation {
        /// The hidden activation.
        activation: Activation,
        /// Its initializer.
        init: Init,
    },
    /// Normalize before each activation, keeping z in the high-slope region of f.
    Norm {
        /// Which normalization.
        norm: Norm,
    },
    /// Residual connections x + F(x): the identity path carries the gradient past each block.
    Residual,
    /// A variance-preserving initializer for the activation (σ_w² at the critical point
    /// χ₁ = 1 of the mean-field theory; `gradscope theory --critical`).
    Init {
        /// The initializer.
        init: Init,
    },
    /// Rescale the gradient when its global norm exceeds `max_norm` (keeps its direction).
    ClipNorm {
        /// The largest global norm let through.
        max_norm: f64,
    },
    /// Multiply the learning rate by `factor` (< 1).
    LowerLearningRate {
        /// The factor.
        factor: f64,
    },
    /// L2 regularization that keeps the weights small.
    WeightDecay {
        /// λ.
        weight_decay: f64,
    },
    /// A leaky activation whose negative side still passes gradient (dead units).
    LeakyActivation {
        /// The activation.
        activation: Activation,
    },
    /// Recurrent: a different activation in the RNN cell.
    RecurrentActivation {
        /// The activation.
        activation: Activation,
    },
    /// Recurrent: a gated cell, whose memory carries the gradient along the forget (or
    /// update) gate instead of through W_hh and f'.
    GatedCell {
        /// LSTM or GRU.
        cell: CellKind,
        /// The LSTM's forget bias.
        forget_bias: Option<f64>,
    },
    /// Recurrent: initialize W_hh with `init` (orthogonal: σ_max = ρ = 1).
    RecurrentInit {
        /// The initializer of W_hh.
        init: Init,
    },
    /// Recurrent: rescale W_hh to spectral radius `radius`.
    SpectralRadius {
        /// The target ρ(W_hh).
        radius: f64,
    },
    /// Recurrent: IRNN (Le et al. 2015) — ReLU units with W_hh = I, with gradient clipping.
    Irnn,
    /// Recurrent: bias the LSTM's forget gate open.
    ForgetBias {
        /// The forget bias.
        bias: f64,
    },
    /// Recurrent: truncated BPTT over `steps` steps.
    Truncate {
        /// The chunk length.
        steps: usize,
    },
    /// Recurrent: shorten the distance the gradient must cross (shorter sequences, or a
    /// target per step).
    ShorterPath,
    /// Standardize the inputs (mean 0, variance 1 per feature).
    StandardizeInputs,
}

impl Remedy {
    /// The config overrides that apply the remedy, as `--set KEY=VALUE` strings (empty for
    /// the remedies that need a change of data or of the task rather than of a key).
    ///
    /// ```
    /// use gradscope::diagnostics::Remedy;
    /// use gradscope::model::Norm;
    ///
    /// assert_eq!(Remedy::Norm { norm: Norm::Batchnorm }.overrides(), ["model.norm=\"batchnorm\""]);
    /// assert_eq!(
    ///     Remedy::ClipNorm { max_norm: 1.0 }.overrides(),
    ///     ["training.clip={ kind = \"norm\", max_norm = 1.0 }"]
    /// );
    /// ```
    pub fn overrides(&self) -> Vec<String> {
        let q = |s: &dyn std::fmt::Display| format!("\"{s}\"");
        match self {
            Remedy::Activation { activation, init } => vec![
                format!("model.activation={}", q(activation)),
                format!("model.init={}", q(init)),
            ],
            Remedy::Norm { norm } => vec![format!("model.norm={}", q(&norm.name()))],
            Remedy::Residual => vec!["model.residual=true".into()],
            Remedy::Init { init } => vec![format!("model.init={}", q(init))],
            Remedy::ClipNorm { max_norm } => vec![format!(
                "training.clip={{ kind = \"norm\", max_norm = {max_norm:?} }}"
            )],
            Remedy::LowerLearningRate { .. } | Remedy::ShorterPath => Vec::new(),
            Remedy::WeightDecay { weight_decay } => {
                vec![format!("training.optimizer.weight_decay={weight_decay:?}")]
            }
            Remedy::LeakyActivation { activation } => {
                vec![format!("model.activation={}", q(activation))]
            }
            Remedy::RecurrentActivation { activation } => {
                vec![format!("model.recurrent.activation={}", q(activation))]
            }
            Remedy::GatedCell { cell, forget_bias } => {
                let mut v = vec![format!("model.recurrent.cell={}", q(&cell.name()))];
                if let Some(b) = forget_bias {
                    v.push(format!("model.recurrent.forget_bias={b:?}"));
                }
                v
            }
            Remedy::RecurrentInit { init } => vec![format!("model.recurrent.init_hh={}", q(init))],
            Remedy::SpectralRadius { radius } => {
                vec![format!("model.recurrent.spectral_radius={radius:?}")]
            }
            Remedy::Irnn => vec![
                "model.recurrent.activation=\"relu\"".into(),
                "model.recurrent.init_hh=\"identity\"".into(),
                "training.clip={ kind = \"norm\", max_norm = 1.0 }".into(),
            ],
            Remedy::ForgetBias { bias } => vec![format!("model.recurrent.forget_bias={bias:?}")],
            Remedy::Truncate { steps } => vec![format!("model.recurrent.truncate={steps}")],
            Remedy::StandardizeInputs => vec!["data.standardize=true".into()],
        }
    }

    /// Applies the remedy to `config` (through the same overrides as `--set`); a remedy
    /// with no config key ([`Remedy::overrides`] empty) changes the learning rate
    /// ([`Remedy::LowerLearningRate`]) or nothing.
    ///
    /// ```
    /// use gradscope::config::Config;
    /// use gradscope::diagnostics::Remedy;
    /// use gradscope::init::Init;
    /// use gradscope::model::MlpSpec;
    /// use gradscope::Activation;
    ///
    /// let config = Config::new(MlpSpec::new(0, &[64; 10], 0, Activation::Sigmoid));
    /// let relu = Remedy::Activation {
    ///     activation: Activation::Relu,
    ///     init: Init::KaimingNormal { gain: 0.0, fan_out: false },
    /// };
    /// let fixed = relu.apply(&config)?;
    /// assert_eq!(fixed.model.mlp().activation, Activation::Relu);
    /// assert_eq!(fixed.model.mlp().hidden, [64; 10]); // everything else is kept
    ///
    /// let slower = Remedy::LowerLearningRate { factor: 0.1 }.apply(&config)?;
    /// assert!((slower.training.optimizer().lr() - 1e-4).abs() < 1e-12);
    /// # Ok::<(), gradscope::Error>(())
    /// ```
    pub fn apply(&self, config: &Config) -> Result<Config> {
        let mut out = config.with_overrides(&self.overrides())?;
        if let Remedy::LowerLearningRate { factor } = self {
            let lr = out.training.optimizer().lr();
            out.training.lr = Some(lr * factor);
        }
        Ok(out)
    }
}
