//! The gradients of the last backward by PyTorch `nn.Sequential` names: what
//! `gradscope grads` writes and what the PyTorch cross-check compares.

use super::Model;
use crate::activation::Activation;
use crate::float::Float;
use crate::layer::Layer;
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

fn walk<'a, T: Float>(
    layers: &'a [Layer<T>],
    prefix: &str,
    tail: &'a Tensor<T>,
    out: &mut Vec<ActivationGrads<'a, T>>,
) {
    for (j, layer) in layers.iter().enumerate() {
        // ∂L/∂(output of layer j): the next layer's ∂L/∂input, or the chain's output gradient.
        let after = layers.get(j + 1).map_or(tail, Layer::grad_input);
        match layer {
            Layer::Activation(a) => out.push(ActivationGrads {
                name: format!("{prefix}{j}"),
                activation: a.activation(),
                dz: a.grad_input(),
                da: after,
            }),
            Layer::Residual(r) => walk(&r.block, &format!("{prefix}{j}.block."), after, out),
            _ => {}
        }
    }
}

/// Every activation layer of `model` (top level and inside residual blocks, in forward
/// order) with its ∂L/∂z and ∂L/∂a from the last [`Model::forward_backward`]. In a
/// recurrent model the head's layers are named `fc.{j}`.
pub fn activation_grads<T: Float>(model: &Model<T>) -> Vec<ActivationGrads<'_, T>> {
    let mut out = Vec::new();
    match model.layers.first() {
        // A recurrent model is `rnn` followed by the head `fc` (see MlpSpec::build).
        Some(Layer::Recurrent(_)) => walk(&model.layers[1..], "fc.", model.loss_grad(), &mut out),
        _ => walk(&model.layers, "", model.loss_grad(), &mut out),
    }
    out
}

/// The width the first layer of `layers` expects, if it has one (a linear layer's input
/// width, a BatchNorm's or per-channel PReLU's channel count); `None` for layers that take
/// any width.
fn first_width<T: Float>(layers: &[Layer<T>]) -> Option<usize> {
    match layers.first()? {
        Layer::Linear(l) => Some(l.in_features()),
        Layer::BatchNorm1d(b) => Some(b.channels()),
        Layer::Residual(r) => first_width(&r.block),
        Layer::Activation(a) => match a.activation() {
            Activation::Prelu { channels, .. } if channels > 1 => Some(channels),
            _ => None,
        },
        // Rows are sequences of any length: T·I values.
        Layer::Dropout(_) | Layer::Recurrent(_) => None,
    }
}

/// The input width `model` expects (columns of x), if its first layer fixes one.
pub fn input_width<T: Float>(model: &Model<T>) -> Option<usize> {
    first_width(&model.layers)
}

/// True when the model contains a BatchNorm1d layer (top level or inside a residual block).
pub fn has_batchnorm<T: Float>(model: &Model<T>) -> bool {
    fn any<T: Float>(layers: &[Layer<T>]) -> bool {
        layers.iter().any(|l| match l {
            Layer::BatchNorm1d(_) => true,
            Layer::Residual(r) => any(&r.block),
            _ => false,
        })
    }
    any(&model.layers)
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
        assert_eq!(input_width(&m), Some(3));
        assert!(has_batchnorm(&m));
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
