//! The MLP builder: input, hidden sizes, activation (global or per layer), output, head,
//! normalization, dropout, residual blocks, initializer.

use super::Model;
use crate::activation::{properties::init_gain, Activation};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::init::Init;
use crate::layer::{ActivationLayer, BatchNorm1d, Dropout, Layer, Linear, Residual};
use crate::recurrent::{RecurrentEncoder, RecurrentSpec};
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
}

fn default_activation() -> Activation {
    Activation::Tanh
}
fn default_head() -> Activation {
    Activation::Identity
}
fn default_true() -> bool {
    true
}
fn default_bn_eps() -> f64 {
    1e-5
}
fn default_bn_momentum() -> f64 {
    0.1
}

/// Description of a multi-layer perceptron. Each hidden block is
/// Linear → [BatchNorm1d] → activation → [Dropout], wrapped as x + block(x) when `residual`
/// is set and the block keeps the width; then a Linear output layer and the head activation
/// (identity = raw logits, which the cross-entropy and BCE losses expect).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpSpec {
    /// Input width (0 = take it from the data).
    #[serde(default)]
    pub input: usize,
    /// Hidden widths, in order (empty = a single linear layer, e.g. logistic regression).
    #[serde(default)]
    pub hidden: Vec<usize>,
    /// Output width (0 = take it from the data: number of classes, or target width).
    #[serde(default)]
    pub output: usize,
    /// Activation of every hidden layer (text form, e.g. `"leaky_relu(0.01)"`).
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// Per-hidden-layer activations, overriding `activation` (one per hidden layer).
    #[serde(default)]
    pub activations: Option<Vec<Activation>>,
    /// Activation after the output layer (identity for logits).
    #[serde(default = "default_head")]
    pub head: Activation,
    /// Normalization in hidden blocks.
    #[serde(default)]
    pub norm: Norm,
    /// BatchNorm ε.
    #[serde(default = "default_bn_eps")]
    pub bn_eps: f64,
    /// BatchNorm momentum.
    #[serde(default = "default_bn_momentum")]
    pub bn_momentum: f64,
    /// Dropout probability after each hidden activation (0 = none).
    #[serde(default)]
    pub dropout: f64,
    /// Wrap width-keeping hidden blocks as residual blocks.
    #[serde(default)]
    pub residual: bool,
    /// Weight initializer (text form); biases start at 0.
    #[serde(default = "Init::default_for_mlp")]
    pub init: Init,
    /// Linear layers have biases.
    #[serde(default = "default_true")]
    pub bias: bool,
    /// A recurrent front end (`[model.recurrent]`): rows are sequences of `input` features
    /// per step, read by a stack of RNN/LSTM/GRU layers whose hidden state feeds the MLP
    /// above (then `hidden` are the head's hidden widths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrent: Option<RecurrentSpec>,
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
            dropout: 0.0,
            residual: false,
            init: Init::Standard,
            bias: true,
            recurrent: None,
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
        let bad = |m: String| Err(Error::Invalid(m));
        if let Some(r) = &self.recurrent {
            r.validate()?;
        }
        if self.input == 0 {
            return bad("model.input must be > 0 (or taken from the data)".into());
        }
        if self.output == 0 {
            return bad("model.output must be > 0 (or taken from the data)".into());
        }
        if let Some(i) = self.hidden.iter().position(|&h| h == 0) {
            return bad(format!("model.hidden[{i}] must be > 0"));
        }
        if let Some(a) = &self.activations {
            if a.len() != self.hidden.len() {
                return bad(format!(
                    "model.activations has {} entries but model.hidden has {}",
                    a.len(),
                    self.hidden.len()
                ));
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!(
                "model.dropout = {} must be in [0, 1)",
                self.dropout
            ));
        }
        if self.bn_eps.is_nan() || self.bn_eps <= 0.0 {
            return bad(format!("model.bn_eps = {} must be > 0", self.bn_eps));
        }
        if !(0.0..=1.0).contains(&self.bn_momentum) {
            return bad(format!(
                "model.bn_momentum = {} must be in [0, 1]",
                self.bn_momentum
            ));
        }
        for (i, h) in self.hidden.iter().enumerate() {
            if let Activation::Prelu { channels, .. } = self.activation_of(i) {
                if channels != 1 && channels != *h {
                    return bad(format!(
                        "hidden layer {i}: prelu channels = {channels} must be 1 or the width {h}"
                    ));
                }
            }
        }
        if let Activation::Prelu { channels, .. } = self.head {
            if channels != 1 && self.output != 0 && channels != self.output {
                return bad(format!(
                    "model.head: prelu channels = {channels} must be 1 or model.output = {}",
                    self.output
                ));
            }
        }
        if self.head.is_rowwise() && self.output < 2 {
            return bad("model.head softmax needs model.output >= 2".into());
        }
        Ok(())
    }

    /// Builds the model with weights drawn from `rng` (its dropout/RReLU generator is forked
    /// from it too). A recurrent model is named like a PyTorch module with an `rnn`
    /// (`nn.RNN`/`nn.LSTM`/`nn.GRU`) and an `fc` (`nn.Sequential` head): `rnn.weight_ih_l0`,
    /// …, `fc.0.weight`, ….
    pub fn build<T: Float>(&self, rng: &mut Rng) -> Result<Model<T>> {
        self.validate()?;
        let Some(rec) = &self.recurrent else {
            return self.build_mlp(self.input, rng);
        };
        let front = RecurrentEncoder::<T>::new(rec, self.input, "rnn.", rng);
        let mut head = self.build_mlp::<T>(rec.hidden, rng)?;
        for l in &mut head.layers {
            l.visit_params_mut(&mut |p| p.name = format!("fc.{}", p.name));
        }
        let mut layers = vec![Layer::Recurrent(front)];
        layers.append(&mut head.layers);
        Ok(Model::new(layers, head.rng))
    }

    fn build_mlp<T: Float>(&self, input: usize, rng: &mut Rng) -> Result<Model<T>> {
        let mut layers: Vec<Layer<T>> = Vec::new();
        let mut prev = input;
        let linear = |prefix: &str, fan_in: usize, fan_out: usize, gain: f64, rng: &mut Rng| {
            let w = self.init.sample(fan_out, fan_in, gain, rng);
            let w = Tensor::<T>::from_f64_slice(&[fan_out, fan_in], &w).expect("shape");
            let b = self.bias.then(|| Tensor::<T>::zeros(&[fan_out]));
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
            if self.norm == Norm::Batchnorm {
                block.push(Layer::BatchNorm1d(BatchNorm1d::new(
                    &name(block.len()),
                    h,
                    self.bn_eps,
                    self.bn_momentum,
                )));
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
