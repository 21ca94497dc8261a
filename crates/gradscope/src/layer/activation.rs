//! Activation layer: a = f(z), keeping z (its input) and a for backward and diagnostics.

use super::Module;
use crate::activation::{Activation, ActivationFn};
use crate::float::Float;
use crate::param::Param;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// a = f(z) element-wise (row-wise for softmax); backward ∂L/∂z = ∂L/∂a ⊙ f'(z).
/// PReLU's slopes are a learnable parameter named `"{prefix}weight"` (PyTorch's
/// `nn.PReLU.weight`).
#[derive(Clone, Debug)]
pub struct ActivationLayer<T> {
    func: ActivationFn<T>,
    /// PReLU's slopes as a parameter (mirrors `func.slopes`); None for other activations.
    pub slopes: Option<Param<T>>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
}

impl<T: Float> ActivationLayer<T> {
    /// A layer applying `act`; `prefix` names PReLU's parameter.
    pub fn new(prefix: &str, act: Activation) -> Self {
        let func = ActivationFn::new(act);
        let slopes = match act {
            Activation::Prelu { channels, .. } => Some(Param::new(
                format!("{prefix}weight"),
                Tensor::from_vec(&[channels], func.slopes.clone()).expect("slopes"),
            )),
            _ => None,
        };
        ActivationLayer {
            func,
            slopes,
            output: Tensor::default(),
            grad_input: Tensor::default(),
        }
    }

    /// The activation applied.
    pub fn activation(&self) -> Activation {
        self.func.activation()
    }
}

impl<T: Float> Module<T> for ActivationLayer<T> {
    fn describe(&self) -> String {
        format!("activation({})", self.activation())
    }

    /// Train (RReLU samples slopes) or eval mode.
    fn set_training(&mut self, training: bool) {
        self.func.set_training(training);
    }

    /// a = f(z).
    fn forward(&mut self, z: &Tensor<T>, rng: &mut Rng) {
        if let Some(p) = &self.slopes {
            self.func.slopes.copy_from_slice(p.value.data());
        }
        self.func.forward(z, &mut self.output, rng);
    }

    /// ∂L/∂z from ∂L/∂a (PReLU: also accumulates ∂L/∂slope into its parameter's grad).
    fn backward(&mut self, z: &Tensor<T>, grad_out: &Tensor<T>, _need_input_grad: bool) {
        self.func.zero_grad();
        self.func
            .backward(z, &self.output, grad_out, &mut self.grad_input);
        if let Some(p) = &mut self.slopes {
            for (g, d) in p.grad.data_mut().iter_mut().zip(&self.func.slopes_grad) {
                *g += *d;
            }
        }
    }

    /// a, the last forward's output.
    fn output(&self) -> &Tensor<T> {
        &self.output
    }

    /// ∂L/∂z, the last backward's result.
    fn grad_input(&self) -> &Tensor<T> {
        &self.grad_input
    }

    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>)) {
        if let Some(p) = &self.slopes {
            f(p);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        if let Some(p) = &mut self.slopes {
            f(p);
        }
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.func.activation())
    }

    fn input_width(&self) -> Option<usize> {
        match self.func.activation() {
            Activation::Prelu { channels, .. } if channels > 1 => Some(channels),
            _ => None,
        }
    }
}
