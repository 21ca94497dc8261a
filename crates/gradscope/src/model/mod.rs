//! A network: a chain of layers run forward and backward, with every layer's output and
//! ∂L/∂input kept for inspection.

pub mod grads;
mod mlp;
mod spec;
mod state;
mod walk;

pub use mlp::{MlpSpec, Norm};
pub use spec::{ModelSpec, ModelTable, SequenceSpec};
pub use walk::ModuleView;

use crate::error::Result;
use crate::float::Float;
use crate::layer::{backward_chain, forward_chain, Layer};
use crate::loss::Loss;
use crate::param::Param;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// A network: layers applied in order, like PyTorch's `nn.Sequential` (a sequence model is
/// a recurrent encoder followed by its head).
///
/// Forward, the loss and backward by hand; every layer's output and ∂L/∂input stay readable:
///
/// ```
/// use gradscope::loss::Loss;
/// use gradscope::model::MlpSpec;
/// use gradscope::{Activation, Rng, Tensor};
///
/// let mut model = MlpSpec::new(2, &[4], 1, Activation::Tanh).build::<f64>(&mut Rng::seed(0))?;
/// let x = Tensor::from_vec(&[2, 2], vec![1.0, -1.0, 0.5, 2.0])?;
/// let y = Tensor::from_vec(&[2, 1], vec![0.0, 1.0])?;
///
/// assert_eq!(model.forward(&x).shape(), [2, 1]);
/// let loss = model.forward_backward(&x, &y, Loss::Mse)?; // zeroes, then accumulates grads
/// assert!(loss > 0.0);
/// // Or in two calls: backward from any ∂L/∂output.
/// model.zero_grad();
/// model.forward(&x);
/// let upstream = Tensor::from_vec(&[2, 1], vec![1.0, 1.0])?;
/// model.backward(&x, &upstream);
/// let grad_w = &model.params()[0].grad; // ∂L/∂W of the first linear layer, [4, 2]
/// assert_eq!(grad_w.shape(), [4, 2]);
/// # Ok::<(), gradscope::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Model<T> {
    /// The layers, in order.
    pub layers: Vec<Layer<T>>,
    /// The generator used by dropout and RReLU.
    pub rng: Rng,
    names: Vec<String>,
    loss_grad: Tensor<T>,
}

impl<T: Float> Model<T> {
    /// A model from its layers, named `"0"`, `"1"`, … as in an `nn.Sequential`; `rng`
    /// drives dropout and RReLU.
    pub fn new(layers: Vec<Layer<T>>, rng: Rng) -> Self {
        let names = (0..layers.len()).map(|i| i.to_string()).collect();
        Model::with_names(layers, names, rng)
    }

    /// A model whose top-level layers have the given state-dict prefixes (e.g. `"rnn"`,
    /// `"fc.0"`, … for a sequence model).
    ///
    /// # Panics
    /// If there is not one name per layer.
    pub fn with_names(layers: Vec<Layer<T>>, names: Vec<String>, rng: Rng) -> Self {
        assert_eq!(layers.len(), names.len(), "one name per layer");
        Model {
            layers,
            rng,
            names,
            loss_grad: Tensor::default(),
        }
    }

    /// The state-dict prefix of top-level layer `i` (`"3"`, `"rnn"`, `"fc.2"`).
    pub fn layer_name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Runs forward; returns the network's output (logits).
    pub fn forward<'a>(&'a mut self, x: &'a Tensor<T>) -> &'a Tensor<T> {
        forward_chain(&mut self.layers, x, &mut self.rng)
    }

    /// Runs forward carrying the state of every recurrent encoder across calls: encoder k
    /// (in forward order among the top-level layers) starts from `states[k]` (the zero state
    /// when there is none yet) and `states[k]` becomes its final state. Stepping a sequence
    /// model chunk by chunk this way continues the sequence instead of restarting it (text
    /// generation). Returns the network's output.
    pub fn forward_stateful<'a>(
        &'a mut self,
        x: &'a Tensor<T>,
        states: &mut Vec<Vec<crate::recurrent::HiddenState<T>>>,
    ) -> &'a Tensor<T> {
        let mut k = 0;
        for i in 0..self.layers.len() {
            let (before, rest) = self.layers.split_at_mut(i);
            let input = before.last().map_or(x, |l| l.output());
            match rest[0].as_recurrent_mut() {
                Some(enc) => {
                    enc.forward_from(input, states.get(k).map(Vec::as_slice));
                    let last = enc.final_states();
                    match states.get_mut(k) {
                        Some(s) => *s = last,
                        None => states.push(last),
                    }
                    k += 1;
                }
                None => rest[0].forward(input, &mut self.rng),
            }
        }
        self.layers.last().map_or(x, |l| l.output())
    }

    /// Runs backward from ∂L/∂output; `x` must be the input of the last forward. Parameter
    /// gradients accumulate (call [`Model::zero_grad`] first).
    pub fn backward(&mut self, x: &Tensor<T>, grad_output: &Tensor<T>) {
        backward_chain(&mut self.layers, x, grad_output, false);
    }

    /// Zeroes the gradients, runs forward, the loss and backward; returns the mean loss.
    pub fn forward_backward(&mut self, x: &Tensor<T>, y: &Tensor<T>, loss: Loss) -> Result<f64> {
        self.zero_grad();
        let out = forward_chain(&mut self.layers, x, &mut self.rng);
        let l = loss.forward_backward(out, y, &mut self.loss_grad)?;
        backward_chain(&mut self.layers, x, &self.loss_grad, false);
        Ok(l)
    }

    /// ∂L/∂(network output) from the last [`Model::forward_backward`].
    pub fn loss_grad(&self) -> &Tensor<T> {
        &self.loss_grad
    }

    /// ∂L/∂(output of layer i): the next layer's ∂L/∂input, or the loss gradient for the last
    /// layer.
    pub fn grad_of_output(&self, i: usize) -> &Tensor<T> {
        match self.layers.get(i + 1) {
            Some(next) => next.grad_input(),
            None => &self.loss_grad,
        }
    }

    /// The network's output from the last forward.
    pub fn output(&self) -> Option<&Tensor<T>> {
        self.layers.last().map(|l| l.output())
    }

    /// Sets every parameter gradient to zero.
    pub fn zero_grad(&mut self) {
        self.visit_params_mut(&mut |_, p| p.zero_grad());
    }

    /// Train or eval mode for every layer.
    pub fn set_training(&mut self, training: bool) {
        self.layers
            .iter_mut()
            .for_each(|l| l.set_training(training));
    }

    /// Calls `f(index, param)` for every learnable parameter in a stable order.
    pub fn visit_params<'a>(&'a self, f: &mut dyn FnMut(usize, &'a Param<T>)) {
        let mut i = 0;
        for l in &self.layers {
            l.visit_params(&mut |p| {
                f(i, p);
                i += 1;
            });
        }
    }

    /// Calls `f(index, param)` mutably, in the order of [`Model::visit_params`].
    pub fn visit_params_mut(&mut self, f: &mut dyn FnMut(usize, &mut Param<T>)) {
        let mut i = 0;
        for l in &mut self.layers {
            l.visit_params_mut(&mut |p| {
                f(i, p);
                i += 1;
            });
        }
    }

    /// The parameters, in order (allocates; for inspection, not the hot loop).
    pub fn params(&self) -> Vec<&Param<T>> {
        let mut v = Vec::new();
        self.visit_params(&mut |_, p| v.push(p));
        v
    }

    /// Total number of learnable scalars.
    pub fn num_params(&self) -> usize {
        let mut n = 0;
        self.visit_params(&mut |_, p| n += p.len());
        n
    }

    /// The recurrent encoders of the model, in forward order (inside residual blocks too).
    pub fn recurrent_layers(&self) -> Vec<&crate::recurrent::RecurrentEncoder<T>> {
        let mut out = Vec::new();
        self.visit_modules(None, &mut |m| out.extend(m.module.as_recurrent()));
        out
    }

    /// True when some layer (at any nesting) is of kind `kind`.
    pub fn contains(&self, kind: crate::layer::LayerKind) -> bool {
        let mut found = false;
        self.visit_modules(None, &mut |m| found |= m.kind == kind);
        found
    }

    /// The width of the input rows the model requires, if its first layer fixes one.
    pub fn input_width(&self) -> Option<usize> {
        self.layers.first().and_then(|l| l.input_width())
    }

    /// One line per layer.
    pub fn summary(&self) -> String {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{i}: {}", l.describe()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
