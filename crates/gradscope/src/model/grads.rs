//! The gradients of the last backward by PyTorch `nn.Sequential` names: what
//! `gradscope grads` writes and what the PyTorch cross-check compares.

use super::Model;
use crate::activation::Activation;
use crate::float::Float;
use crate::tensor::Tensor;

/// ∂L/∂z and ∂L/∂a of one activation layer a = f(z), from the last backward.
#[derive(Clone, Debug)]
pub struct ActivationGrads<'a, T> {
    /// The layer's state-dict prefix without the trailing dot: `"1"` for a top-level layer,
    /// `"2.block.2"` inside the residual block at index 2.
    pub name: String,
    /// The activation applied.
    pub activation: Activation,
    /// ∂L/∂z, the gradient at the activation's input (pre-activation).
    pub dz: &'a Tensor<T>,
    /// ∂L/∂a, the gradient at the activation's output.
    pub da: &'a Tensor<T>,
}

/// Every activation layer of `model` (top level and inside residual blocks, in forward
/// order) with its ∂L/∂z and ∂L/∂a from the last [`Model::forward_backward`], named by its
/// state-dict prefix (`"1"`, `"2.block.2"`, `"fc.3"` in a sequence model's head).
pub fn activation_grads<T: Float>(model: &Model<T>) -> Vec<ActivationGrads<'_, T>> {
    let mut out = Vec::new();
    model.visit_modules(None, &mut |m| {
        if let Some(activation) = m.module.activation() {
            out.push(ActivationGrads {
                name: m.name,
                activation,
                dz: m.module.grad_input(),
                da: m.grad_output,
            });
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Loss;
    use crate::model::{MlpSpec, Norm};
    use crate::rng::Rng;

    #[test]
    fn names_follow_the_state_dict() {
        let mut spec = MlpSpec::new(3, &[4, 4, 2], 2, Activation::Tanh);
        spec.residual = true;
        spec.norm = Norm::Batchnorm;
        spec.head = Activation::Sigmoid;
        let mut m = spec.build::<f64>(&mut Rng::seed(1)).unwrap();
        assert_eq!(m.input_width(), Some(3));
        assert!(m.contains(crate::layer::LayerKind::BatchNorm1d));
        let x = Tensor::from_f64_slice(&[2, 3], &[0.1, -0.2, 0.3, 0.5, 0.4, -0.6]).unwrap();
        let y = Tensor::from_f64_slice(&[2, 2], &[0.0, 1.0, 1.0, 0.5]).unwrap();
        m.forward_backward(&x, &y, Loss::Mse).unwrap();
        let g = activation_grads(&m);
        let names: Vec<&str> = g.iter().map(|a| a.name.as_str()).collect();
        // 0-2: first block (3 -> 4, not residual); 3: residual block; 4-6: 4 -> 2; 7, 8: head.
        assert_eq!(names, ["2", "3.block.2", "6", "8"]);
        // The head's ∂L/∂a is the loss gradient; a residual block's last layer sees the
        // gradient of the block's output.
        assert_eq!(g[3].da, m.loss_grad());
        assert_eq!(g[1].da, m.grad_of_output(3));
        assert_eq!(g[0].da, m.layers[3].grad_input());
        for a in &g {
            assert_eq!(a.dz.shape(), a.da.shape());
        }
    }
}
