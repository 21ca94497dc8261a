//! Layers. Each has `forward` and `backward` side by side; forward keeps what backward needs,
//! backward accumulates parameter gradients and writes ∂L/∂(input), and both results stay
//! readable afterwards (they are what the diagnostics show).

mod activation;
mod batchnorm;
mod dropout;
mod linear;
mod residual;

pub use activation::ActivationLayer;
pub use batchnorm::BatchNorm1d;
pub use dropout::Dropout;
pub use linear::Linear;
pub use residual::Residual;

use crate::float::Float;
use crate::param::Param;
use crate::recurrent::RecurrentEncoder;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// One layer of a network.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // a handful of layers per model: size does not matter
pub enum Layer<T> {
    /// y = x·Wᵀ + b.
    Linear(Linear<T>),
    /// a = f(z).
    Activation(ActivationLayer<T>),
    /// Batch normalization.
    BatchNorm1d(BatchNorm1d<T>),
    /// Inverted dropout.
    Dropout(Dropout<T>),
    /// y = x + F(x).
    Residual(Residual<T>),
    /// A stack of recurrent layers over rows that are sequences (RNN, LSTM, GRU).
    Recurrent(RecurrentEncoder<T>),
}

impl<T: Float> Layer<T> {
    /// Short kind name (`"linear"`, `"activation"`, `"batchnorm1d"`, `"dropout"`, `"residual"`).
    pub fn kind(&self) -> &'static str {
        match self {
            Layer::Linear(_) => "linear",
            Layer::Activation(_) => "activation",
            Layer::BatchNorm1d(_) => "batchnorm1d",
            Layer::Dropout(_) => "dropout",
            Layer::Residual(_) => "residual",
            Layer::Recurrent(_) => "recurrent",
        }
    }

    /// A one-line description: `linear(64 -> 32)`, `activation(tanh)`, ...
    pub fn describe(&self) -> String {
        match self {
            Layer::Linear(l) => format!("linear({} -> {})", l.in_features(), l.out_features()),
            Layer::Activation(a) => format!("activation({})", a.activation()),
            Layer::BatchNorm1d(b) => format!("batchnorm1d({})", b.channels()),
            Layer::Dropout(d) => format!("dropout(p={})", d.p),
            Layer::Residual(r) => format!(
                "residual[{}]",
                r.block
                    .iter()
                    .map(Layer::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Layer::Recurrent(r) => r.describe(),
        }
    }

    /// Runs forward on x; the result is [`Layer::output`].
    pub fn forward(&mut self, x: &Tensor<T>, rng: &mut Rng) {
        match self {
            Layer::Linear(l) => l.forward(x),
            Layer::Activation(a) => a.forward(x, rng),
            Layer::BatchNorm1d(b) => b.forward(x),
            Layer::Dropout(d) => d.forward(x, rng),
            Layer::Residual(r) => r.forward(x, rng),
            Layer::Recurrent(r) => r.forward(x),
        }
    }

    /// Runs backward given the forward's input x and ∂L/∂output; the result is
    /// [`Layer::grad_input`] (not computed by a linear layer when `need_input_grad` is false).
    pub fn backward(&mut self, x: &Tensor<T>, grad_out: &Tensor<T>, need_input_grad: bool) {
        match self {
            Layer::Linear(l) => l.backward(x, grad_out, need_input_grad),
            Layer::Activation(a) => a.backward(x, grad_out),
            Layer::BatchNorm1d(b) => b.backward(grad_out),
            Layer::Dropout(d) => d.backward(grad_out),
            Layer::Residual(r) => r.backward(x, grad_out),
            Layer::Recurrent(r) => r.backward(grad_out, need_input_grad),
        }
    }

    /// The last forward's output.
    pub fn output(&self) -> &Tensor<T> {
        match self {
            Layer::Linear(l) => l.output(),
            Layer::Activation(a) => a.output(),
            Layer::BatchNorm1d(b) => b.output(),
            Layer::Dropout(d) => d.output(),
            Layer::Residual(r) => r.output(),
            Layer::Recurrent(r) => r.output(),
        }
    }

    /// The last backward's ∂L/∂input.
    pub fn grad_input(&self) -> &Tensor<T> {
        match self {
            Layer::Linear(l) => l.grad_input(),
            Layer::Activation(a) => a.grad_input(),
            Layer::BatchNorm1d(b) => b.grad_input(),
            Layer::Dropout(d) => d.grad_input(),
            Layer::Residual(r) => r.grad_input(),
            Layer::Recurrent(r) => r.grad_input(),
        }
    }

    /// Train or eval mode (BatchNorm statistics, dropout, RReLU).
    pub fn set_training(&mut self, training: bool) {
        match self {
            Layer::Linear(_) | Layer::Recurrent(_) => {}
            Layer::Activation(a) => a.set_training(training),
            Layer::BatchNorm1d(b) => b.set_training(training),
            Layer::Dropout(d) => d.set_training(training),
            Layer::Residual(r) => r.block.iter_mut().for_each(|l| l.set_training(training)),
        }
    }

    /// Calls `f` on each learnable parameter, in a stable order.
    pub fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>)) {
        match self {
            Layer::Linear(l) => {
                f(&l.weight);
                if let Some(b) = &l.bias {
                    f(b);
                }
            }
            Layer::Activation(a) => {
                if let Some(p) = &a.slopes {
                    f(p);
                }
            }
            Layer::BatchNorm1d(b) => {
                f(&b.weight);
                f(&b.bias);
            }
            Layer::Dropout(_) => {}
            Layer::Residual(r) => r.block.iter().for_each(|l| l.visit_params(f)),
            Layer::Recurrent(r) => r.visit_params(f),
        }
    }

    /// Calls `f` on each learnable parameter, mutably, in the same order as
    /// [`Layer::visit_params`].
    pub fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        match self {
            Layer::Linear(l) => {
                f(&mut l.weight);
                if let Some(b) = &mut l.bias {
                    f(b);
                }
            }
            Layer::Activation(a) => {
                if let Some(p) = &mut a.slopes {
                    f(p);
                }
            }
            Layer::BatchNorm1d(b) => {
                f(&mut b.weight);
                f(&mut b.bias);
            }
            Layer::Dropout(_) => {}
            Layer::Residual(r) => r.block.iter_mut().for_each(|l| l.visit_params_mut(f)),
            Layer::Recurrent(r) => r.visit_params_mut(f),
        }
    }
}

/// Runs `layers` forward in order on x; returns the last output (x itself for no layers).
pub fn forward_chain<'a, T: Float>(
    layers: &'a mut [Layer<T>],
    x: &'a Tensor<T>,
    rng: &mut Rng,
) -> &'a Tensor<T> {
    for i in 0..layers.len() {
        let (before, rest) = layers.split_at_mut(i);
        let input = before.last().map_or(x, |l| l.output());
        rest[0].forward(input, rng);
    }
    layers.last().map_or(x, |l| l.output())
}

/// Runs `layers` backward from ∂L/∂(last output) = `grad`; x is the chain's input. The first
/// layer's ∂L/∂x is computed only if `need_input_grad`.
pub fn backward_chain<T: Float>(
    layers: &mut [Layer<T>],
    x: &Tensor<T>,
    grad: &Tensor<T>,
    need_input_grad: bool,
) {
    for i in (0..layers.len()).rev() {
        let (before, rest) = layers.split_at_mut(i);
        let (cur, after) = rest.split_first_mut().expect("i < len");
        let input = before.last().map_or(x, |l| l.output());
        let grad_out = after.first().map_or(grad, |l| l.grad_input());
        cur.backward(input, grad_out, i > 0 || need_input_grad);
    }
}
