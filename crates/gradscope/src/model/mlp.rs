//! The MLP builder: input, hidden sizes, activation (global or per layer), output, head,
//! normalization, dropout, residual blocks, initializer.

use super::Model;
use crate::activation::{properties::init_gain, Activation};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::init::{BiasInit, Init};
use crate::layer::{ActivationLayer, BatchNorm1d, Dropout, Layer, LayerNorm, Linear, Residual};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Normalization after each hidden linear layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    /// None.
    #[default]
    None,
    /// `BatchNorm1d` between the linear layer and the activation.
    Batchnorm,
    /// `LayerNorm` (over each row's units) between the linear layer and the activation.
    Layernorm,
}

impl Norm {
    /// The config's text for it: `none`, `batchnorm`, `layernorm`.
    pub fn name(self) -> &'static str {
        match self {
            Norm::None => "none",
            Norm::Batchnorm => "batchnorm",
            Norm::Layernorm => "layernorm",
        }
    }
}

/// A multi-layer perceptron. Each hidden block is Linear → (norm) → activation →
/// (Dropout), wrapped as x + block(x) when `residual` is set and the block keeps the width;
/// then a Linear output layer and the head activation (identity = raw logits, which the
/// cross-entropy and BCE losses expect). In a config it is the `[model]` table
/// ([`super::ModelSpec`]).
#[derive(Clone, Debug, PartialEq)]
pub struct MlpSpec {
    /// Input width (0 = take it from the data).
    pub input: usize,
    /// Hidden widths, in order (empty = a single linear layer, e.g. logistic regression).
    pub hidden: Vec<usize>,
    /// Output width (0 = take it from the data: number of classes, or target width).
    pub output: usize,
    /// Activation of every hidden layer.
    pub activation: Activation,
    /// Per-hidden-layer activations, overriding `activation` (one per hidden layer).
    pub activations: Option<Vec<Activation>>,
    /// Activation after the output layer (identity for logits).
    pub head: Activation,
    /// Normalization in hidden blocks.
    pub norm: Norm,
    /// BatchNorm ε.
    pub bn_eps: f64,
    /// BatchNorm momentum.
    pub bn_momentum: f64,
    /// LayerNorm ε.
    pub ln_eps: f64,
    /// LayerNorm has the learnable γ and β (PyTorch's `elementwise_affine`).
    pub ln_affine: bool,
    /// Dropout probability after each hidden activation (0 = none).
    pub dropout: f64,
    /// Wrap width-keeping hidden blocks as residual blocks.
    pub residual: bool,
    /// Weight initializer.
    pub init: Init,
    /// Linear layers have biases.
    pub bias: bool,
    /// Bias initializer of the linear layers (default zeros; `variance(0.05)` gives the
    /// mean-field theory's σ_b² = 0.05).
    pub init_bias: BiasInit,
}

impl Default for MlpSpec {
    /// Sizes from the data, no hidden layer, tanh, PyTorch's default init.
    fn default() -> Self {
        MlpSpec::new(0, &[], 0, Activation::Tanh)
    }
}

impl Init {
    /// PyTorch's `nn.Linear` default: U[−1/√fan_in, 1/√fan_in].
    pub fn default_for_mlp() -> Init {
        Init::Standard
    }
}

impl MlpSpec {
    /// A spec with defaults for everything but the sizes.
    pub fn new(input: usize, hidden: &[usize], output: usize, activation: Activation) -> Self {
        MlpSpec {
            input,
            hidden: hidden.to_vec(),
            output,
            activation,
            activations: None,
            head: Activation::Identity,
            norm: Norm::None,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
            ln_eps: 1e-5,
            ln_affine: true,
            dropout: 0.0,
            residual: false,
            init: Init::Standard,
            bias: true,
            init_bias: BiasInit::Zeros,
        }
    }

    /// The activation of hidden layer `i`.
    pub fn activation_of(&self, i: usize) -> Activation {
        self.activations
            .as_ref()
            .and_then(|a| a.get(i).copied())
            .unwrap_or(self.activation)
    }

    /// Checks sizes and ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, m: String| Err(Error::config_field(field, m));
        if self.input == 0 {
            return bad(
                "model.input",
                "model.input must be > 0 (or taken from the data)".into(),
            );
        }
        if self.output == 0 {
            return bad(
                "model.output",
                "model.output must be > 0 (or taken from the data)".into(),
            );
        }
        if let Some(i) = self.hidden.iter().position(|&h| h == 0) {
            return bad(
                &format!("model.hidden[{i}]"),
                format!("model.hidden[{i}] must be > 0"),
            );
        }
        if let Some(a) = &self.activations {
            if a.len() != self.hidden.len() {
                return bad(
                    "model.activations",
                    format!(
                        "model.activations has {} entries but model.hidden has {}",
                        a.len(),
                        self.hidden.len()
                    ),
                );
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(
                "model.dropout",
                format!("model.dropout = {} must be in [0, 1)", self.dropout),
            );
        }
        if self.bn_eps.is_nan() || self.bn_eps <= 0.0 {
            return bad(
                "model.bn_eps",
                format!("model.bn_eps = {} must be > 0", self.bn_eps),
            );
        }
        if self.ln_eps.is_nan() || self.ln_eps <= 0.0 {
            return bad(
                "model.ln_eps",
                format!("model.ln_eps = {} must be > 0", self.ln_eps),
            );
        }
        if !(0.0..=1.0).contains(&self.bn_momentum) {
            return bad(
                "model.bn_momentum",
                format!("model.bn_momentum = {} must be in [0, 1]", self.bn_momentum),
            );
        }
        for (i, h) in self.hidden.iter().enumerate() {
            if let Activation::Prelu { channels, .. } = self.activation_of(i) {
                if channels != 1 && channels != *h {
                    let field = match self.activations {
                        Some(_) => format!("model.activations[{i}]"),
                        None => "model.activation".to_string(),
                    };
                    return bad(
                        &field,
                        format!(
                        "hidden layer {i}: prelu channels = {channels} must be 1 or the width {h}"
                    ),
                    );
                }
            }
        }
        if let Activation::Prelu { channels, .. } = self.head {
            if channels != 1 && self.output != 0 && channels != self.output {
                return bad(
                    "model.head",
                    format!(
                        "model.head: prelu channels = {channels} must be 1 or model.output = {}",
                        self.output
                    ),
                );
            }
        }
        if !self.bias && !self.init_bias.is_zeros() {
            return bad(
                "model.init_bias",
                format!(
                    "model.init_bias = \"{}\" but the linear layers have no bias \
                     (model.bias = false)",
                    self.init_bias
                ),
            );
        }
        if self.head.is_rowwise() && self.output < 2 {
            return bad(
                "model.head",
                "model.head softmax needs model.output >= 2".into(),
            );
        }
        Ok(())
    }

    /// Builds the network with weights drawn from `rng` (its dropout/RReLU generator is
    /// forked from it too); layers are named like an `nn.Sequential`.
    pub fn build<T: Float>(&self, rng: &mut Rng) -> Result<Model<T>> {
        self.validate()?;
        self.build_mlp(self.input, rng)
    }

    pub(super) fn build_mlp<T: Float>(&self, input: usize, rng: &mut Rng) -> Result<Model<T>> {
        let mut layers: Vec<Layer<T>> = Vec::new();
        let mut prev = input;
        let linear = |prefix: &str, fan_in: usize, fan_out: usize, gain: f64, rng: &mut Rng| {
            let w = self.init.sample(fan_out, fan_in, gain, rng);
            let w = Tensor::<T>::from_f64_slice(&[fan_out, fan_in], &w).expect("shape");
            // `zeros` and `constant` draw nothing: the weights of later layers stay the same.
            let b = self.bias.then(|| {
                let b = self.init_bias.sample(fan_out, rng);
                Tensor::<T>::from_f64_slice(&[fan_out], &b).expect("shape")
            });
            Layer::Linear(Linear::new(prefix, w, b))
        };
        for (i, &h) in self.hidden.iter().enumerate() {
            let act = self.activation_of(i);
            let wrap = self.residual && prev == h;
            let base = layers.len();
            let name = |j: usize| {
                if wrap {
                    format!("{base}.block.{j}.")
                } else {
                    format!("{}.", base + j)
                }
            };
            let mut block: Vec<Layer<T>> = Vec::new();
            block.push(linear(&name(0), prev, h, init_gain(&act), rng));
            match self.norm {
                Norm::None => {}
                Norm::Batchnorm => block.push(Layer::BatchNorm1d(BatchNorm1d::new(
                    &name(block.len()),
                    h,
                    self.bn_eps,
                    self.bn_momentum,
                ))),
                Norm::Layernorm => block.push(Layer::LayerNorm(LayerNorm::new(
                    &name(block.len()),
                    h,
                    self.ln_eps,
                    self.ln_affine,
                ))),
            }
            block.push(Layer::Activation(ActivationLayer::new(
                &name(block.len()),
                act,
            )));
            if self.dropout > 0.0 {
                block.push(Layer::Dropout(Dropout::new(self.dropout)));
            }
            if wrap {
                layers.push(Layer::Residual(Residual::new(block)));
            } else {
                layers.extend(block);
            }
            prev = h;
        }
        let out_name = format!("{}.", layers.len());
        layers.push(linear(
            &out_name,
            prev,
            self.output,
            init_gain(&self.head),
            rng,
        ));
        if self.head != Activation::Identity {
            let name = format!("{}.", layers.len());
            layers.push(Layer::Activation(ActivationLayer::new(&name, self.head)));
        }
        Ok(Model::new(layers, rng.fork()))
    }
}
