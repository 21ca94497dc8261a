//! Residual block: y = x + F(x), F a chain of layers that keeps the width.

use super::{backward_chain, forward_chain, Layer, Module};
use crate::float::Float;
use crate::param::Param;
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
}

impl<T: Float> Module<T> for Residual<T> {
    fn describe(&self) -> String {
        format!(
            "residual[{}]",
            self.block
                .iter()
                .map(|l| l.describe())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// y = x + F(x).
    fn forward(&mut self, x: &Tensor<T>, rng: &mut Rng) {
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
    fn backward(&mut self, x: &Tensor<T>, grad_out: &Tensor<T>, _need_input_grad: bool) {
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

    fn output(&self) -> &Tensor<T> {
        &self.output
    }

    fn grad_input(&self) -> &Tensor<T> {
        &self.grad_input
    }

    fn set_training(&mut self, training: bool) {
        self.block.iter_mut().for_each(|l| l.set_training(training));
    }

    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>)) {
        self.block.iter().for_each(|l| l.visit_params(f));
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        self.block.iter_mut().for_each(|l| l.visit_params_mut(f));
    }

    fn state_entries(&self, out: &mut Vec<(String, Tensor<T>)>) {
        self.block.iter().for_each(|l| l.state_entries(out));
    }

    fn load_state_entries(&mut self, find: &dyn Fn(&str) -> Option<Tensor<T>>) {
        self.block
            .iter_mut()
            .for_each(|l| l.load_state_entries(find));
    }

    fn children(&self) -> &[Layer<T>] {
        &self.block
    }

    fn input_width(&self) -> Option<usize> {
        self.block.first().and_then(|l| l.input_width())
    }
}
