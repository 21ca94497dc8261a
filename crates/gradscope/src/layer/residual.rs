//! Residual block: y = x + F(x), F a chain of layers that keeps the width.

use super::{backward_chain, forward_chain, Layer};
use crate::float::Float;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// y = x + F(x); backward ∂L/∂x = ∂L/∂y + ∂F/∂xᵀ·∂L/∂y (the identity path carries the gradient
/// past F undiminished).
#[derive(Clone, Debug)]
pub struct Residual<T> {
    /// The layers of F, in order (PyTorch name prefix `"{i}.block."`).
    pub block: Vec<Layer<T>>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
}

impl<T: Float> Residual<T> {
    /// A residual block around `block`.
    pub fn new(block: Vec<Layer<T>>) -> Self {
        Residual {
            block,
            output: Tensor::default(),
            grad_input: Tensor::default(),
        }
    }

    /// y = x + F(x).
    pub fn forward(&mut self, x: &Tensor<T>, rng: &mut Rng) {
        let fx = forward_chain(&mut self.block, x, rng);
        assert_eq!(fx.shape(), x.shape(), "residual block changes the shape");
        self.output.resize(x.shape());
        for ((y, a), b) in self
            .output
            .data_mut()
            .iter_mut()
            .zip(x.data())
            .zip(fx.data())
        {
            *y = *a + *b;
        }
    }

    /// ∂L/∂x = g + (∂L/∂x through F).
    pub fn backward(&mut self, x: &Tensor<T>, grad_out: &Tensor<T>) {
        backward_chain(&mut self.block, x, grad_out, true);
        let through = match self.block.first() {
            Some(l) => l.grad_input(),
            None => grad_out,
        };
        self.grad_input.resize(grad_out.shape());
        for ((d, g), t) in self
            .grad_input
            .data_mut()
            .iter_mut()
            .zip(grad_out.data())
            .zip(through.data())
        {
            *d = *g + *t;
        }
    }

    /// The last forward's output.
    pub fn output(&self) -> &Tensor<T> {
        &self.output
    }

    /// The last backward's ∂L/∂x.
    pub fn grad_input(&self) -> &Tensor<T> {
        &self.grad_input
    }
}
