//! [`ModelSpec`]: what to build — a feed-forward MLP, or a sequence model (a recurrent
//! encoder read by an MLP head). Both are first-class values; in a config both are the
//! `[model]` table ([`ModelTable`]), a sequence model being the one with a
//! `[model.recurrent]` sub-table.

use super::{MlpSpec, Model, Norm};
use crate::activation::Activation;
use crate::error::Result;
use crate::float::Float;
use crate::init::{BiasInit, Init};
use crate::layer::Layer;
use crate::recurrent::{RecurrentEncoder, RecurrentSpec};
use crate::rng::Rng;

/// A sequence model: rows are sequences of `input` features per step, read by a recurrent
/// encoder whose hidden state feeds the MLP `head` (its input width is the encoder's
/// hidden width). Parameters are named like a PyTorch module with an `rnn`
/// (`nn.RNN`/`nn.LSTM`/`nn.GRU`) and an `fc` (`nn.Sequential`): `rnn.weight_ih_l0`, …,
/// `fc.0.weight`, ….
///
/// ```
/// use gradscope::model::{MlpSpec, ModelSpec, SequenceSpec};
/// use gradscope::recurrent::{CellKind, RecurrentSpec};
/// use gradscope::{Activation, Rng, Tensor};
///
/// // An LSTM reading 2 features per step, its last hidden state read by a linear head.
/// let encoder = RecurrentSpec::new(CellKind::Lstm, 8);
/// let head = MlpSpec::new(0, &[], 1, Activation::Tanh);
/// let spec = ModelSpec::from(SequenceSpec::new(2, encoder, head));
/// let mut model = spec.build::<f32>(&mut Rng::seed(0))?;
/// assert_eq!(model.layer_name(0), "rnn");
/// let x = Tensor::zeros(&[3, 5 * 2]); // 3 sequences of 5 steps
/// assert_eq!(model.forward(&x).shape(), [3, 1]);
/// # Ok::<(), gradscope::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SequenceSpec {
    /// Features per time step (0 = take it from the data).
    pub input: usize,
    /// The recurrent encoder.
    pub encoder: RecurrentSpec,
    /// The head (its `input` is ignored: it reads the encoder's hidden state).
    pub head: MlpSpec,
}

impl SequenceSpec {
    /// A sequence model reading `input` features per step with `encoder` and `head`.
    pub fn new(input: usize, encoder: RecurrentSpec, head: MlpSpec) -> Self {
        SequenceSpec {
            input,
            head: MlpSpec {
                input: encoder.hidden,
                ..head
            },
            encoder,
        }
    }
}

/// What to build.
///
/// ```
/// use gradscope::model::{MlpSpec, ModelSpec};
/// use gradscope::{Activation, Rng};
///
/// let spec = ModelSpec::from(MlpSpec::new(4, &[8, 8], 3, Activation::Gelu));
/// assert!(spec.recurrent().is_none());
/// let model = spec.build::<f64>(&mut Rng::seed(1))?;
/// // 4·8 + 8, 8·8 + 8, 8·3 + 3 parameters, named as in PyTorch's nn.Sequential.
/// assert_eq!(model.num_params(), 40 + 72 + 27);
/// assert_eq!(model.params()[0].name, "0.weight");
/// # Ok::<(), gradscope::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "ModelTable", into = "ModelTable")]
pub enum ModelSpec {
    /// A feed-forward network.
    Mlp(MlpSpec),
    /// A recurrent encoder and an MLP head.
    Sequence(SequenceSpec),
}

impl Default for ModelSpec {
    fn default() -> Self {
        ModelSpec::Mlp(MlpSpec::default())
    }
}

impl From<MlpSpec> for ModelSpec {
    fn from(m: MlpSpec) -> Self {
        ModelSpec::Mlp(m)
    }
}

impl From<SequenceSpec> for ModelSpec {
    fn from(s: SequenceSpec) -> Self {
        ModelSpec::Sequence(s)
    }
}

impl ModelSpec {
    /// The MLP: the whole network, or a sequence model's head.
    pub fn mlp(&self) -> &MlpSpec {
        match self {
            ModelSpec::Mlp(m) => m,
            ModelSpec::Sequence(s) => &s.head,
        }
    }

    /// The MLP, mutably.
    pub fn mlp_mut(&mut self) -> &mut MlpSpec {
        match self {
            ModelSpec::Mlp(m) => m,
            ModelSpec::Sequence(s) => &mut s.head,
        }
    }

    /// The recurrent encoder of a sequence model.
    pub fn recurrent(&self) -> Option<&RecurrentSpec> {
        match self {
            ModelSpec::Mlp(_) => None,
            ModelSpec::Sequence(s) => Some(&s.encoder),
        }
    }

    /// Input width (features per step of a sequence model; 0 = from the data).
    pub fn input(&self) -> usize {
        match self {
            ModelSpec::Mlp(m) => m.input,
            ModelSpec::Sequence(s) => s.input,
        }
    }

    /// Sets the input width.
    pub fn set_input(&mut self, input: usize) {
        match self {
            ModelSpec::Mlp(m) => m.input = input,
            ModelSpec::Sequence(s) => s.input = input,
        }
    }

    /// Output width (0 = from the data).
    pub fn output(&self) -> usize {
        self.mlp().output
    }

    /// Sets the output width.
    pub fn set_output(&mut self, output: usize) {
        self.mlp_mut().output = output;
    }

    /// Checks sizes and ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        match self {
            ModelSpec::Mlp(m) => m.validate(),
            ModelSpec::Sequence(s) => {
                s.encoder.validate()?;
                if s.input == 0 {
                    return Err(crate::error::Error::at_field(
                        "model.input",
                        "must be > 0 (or taken from the data)",
                    ));
                }
                let mut head = s.head.clone();
                head.input = s.encoder.hidden;
                head.validate()
            }
        }
    }

    /// Builds the model with weights drawn from `rng` (its dropout/RReLU generator is forked
    /// from it too).
    pub fn build<T: Float>(&self, rng: &mut Rng) -> Result<Model<T>> {
        self.validate()?;
        match self {
            ModelSpec::Mlp(m) => m.build(rng),
            ModelSpec::Sequence(s) => {
                let encoder = RecurrentEncoder::<T>::new(&s.encoder, s.input, "rnn.", rng);
                let mut head = s.head.build_mlp::<T>(s.encoder.hidden, rng)?;
                for l in &mut head.layers {
                    l.visit_params_mut(&mut |p| p.name = format!("fc.{}", p.name));
                }
                let mut names = vec!["rnn".to_string()];
                names.extend((0..head.layers.len()).map(|j| format!("fc.{j}")));
                let mut layers = vec![Layer::Recurrent(encoder)];
                layers.append(&mut head.layers);
                Ok(Model::with_names(layers, names, head.rng))
            }
        }
    }
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
fn default_ln_eps() -> f64 {
    1e-5
}

/// The `[model]` table as written in a config (docs/config.md): the MLP's keys, and a
/// `[model.recurrent]` sub-table for a sequence model (then `input` is the features per
/// step and `hidden` the head's hidden widths).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelTable {
    /// Input width (0 = take it from the data).
    #[serde(default)]
    pub input: usize,
    /// Hidden widths, in order.
    #[serde(default)]
    pub hidden: Vec<usize>,
    /// Shorthand for `hidden`: this many hidden layers of `width` units (with `width`; not
    /// with a non-empty `hidden`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<usize>,
    /// The width of each of the `depth` hidden layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    /// Output width (0 = take it from the data).
    #[serde(default)]
    pub output: usize,
    /// Activation of every hidden layer (text form, e.g. `"leaky_relu(0.01)"`).
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// Per-hidden-layer activations, overriding `activation`.
    #[serde(default)]
    pub activations: Option<Vec<Activation>>,
    /// Activation after the output layer.
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
    /// LayerNorm ε.
    #[serde(default = "default_ln_eps")]
    pub ln_eps: f64,
    /// LayerNorm's learnable γ and β (PyTorch's `elementwise_affine`).
    #[serde(default = "default_true")]
    pub ln_affine: bool,
    /// Dropout probability after each hidden activation.
    #[serde(default)]
    pub dropout: f64,
    /// Residual blocks.
    #[serde(default)]
    pub residual: bool,
    /// Weight initializer (text form).
    #[serde(default = "Init::default_for_mlp")]
    pub init: Init,
    /// Linear layers have biases.
    #[serde(default = "default_true")]
    pub bias: bool,
    /// Bias initializer of the linear layers (text form, e.g. `"variance(0.05)"`).
    #[serde(default, skip_serializing_if = "BiasInit::is_zeros")]
    pub init_bias: BiasInit,
    /// A recurrent encoder (`[model.recurrent]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrent: Option<RecurrentSpec>,
}

impl ModelTable {
    /// The hidden widths: `hidden`, or `depth` layers of `width` units. Errors name the
    /// fields.
    pub fn hidden_widths(&self) -> std::result::Result<Vec<usize>, String> {
        match (self.depth, self.width) {
            (None, None) => Ok(self.hidden.clone()),
            (Some(_), _) | (_, Some(_)) if !self.hidden.is_empty() => Err(format!(
                "model.hidden and model.depth/model.width are both given: use either the list \
                 model.hidden = {:?} or the shorthand model.depth = L, model.width = N",
                self.hidden
            )),
            (Some(d), None) => Err(format!(
                "model.depth = {d} needs model.width (the units of each hidden layer)"
            )),
            (None, Some(w)) => Err(format!(
                "model.width = {w} needs model.depth (the number of hidden layers)"
            )),
            (Some(0), Some(_)) => Err(
                "model.depth must be >= 1 (for no hidden layer leave out model.depth and \
                 model.width)"
                    .to_string(),
            ),
            (Some(_), Some(0)) => Err("model.width must be > 0".to_string()),
            (Some(d), Some(w)) => Ok(vec![w; d]),
        }
    }
}

impl TryFrom<ModelTable> for ModelSpec {
    type Error = String;
    fn try_from(t: ModelTable) -> std::result::Result<Self, String> {
        let hidden = t.hidden_widths()?;
        let mlp = MlpSpec {
            input: t.input,
            hidden,
            output: t.output,
            activation: t.activation,
            activations: t.activations,
            head: t.head,
            norm: t.norm,
            bn_eps: t.bn_eps,
            bn_momentum: t.bn_momentum,
            ln_eps: t.ln_eps,
            ln_affine: t.ln_affine,
            dropout: t.dropout,
            residual: t.residual,
            init: t.init,
            bias: t.bias,
            init_bias: t.init_bias,
        };
        Ok(match t.recurrent {
            None => ModelSpec::Mlp(mlp),
            Some(encoder) => ModelSpec::Sequence(SequenceSpec {
                input: mlp.input,
                head: MlpSpec {
                    input: encoder.hidden,
                    ..mlp
                },
                encoder,
            }),
        })
    }
}

impl From<ModelSpec> for ModelTable {
    fn from(spec: ModelSpec) -> Self {
        let input = spec.input();
        let (m, recurrent) = match spec {
            ModelSpec::Mlp(m) => (m, None),
            ModelSpec::Sequence(s) => (s.head, Some(s.encoder)),
        };
        ModelTable {
            input,
            hidden: m.hidden,
            depth: None,
            width: None,
            output: m.output,
            activation: m.activation,
            activations: m.activations,
            head: m.head,
            norm: m.norm,
            bn_eps: m.bn_eps,
            bn_momentum: m.bn_momentum,
            ln_eps: m.ln_eps,
            ln_affine: m.ln_affine,
            dropout: m.dropout,
            residual: m.residual,
            init: m.init,
            bias: m.bias,
            init_bias: m.init_bias,
            recurrent,
        }
    }
}
