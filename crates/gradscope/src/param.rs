//! A learnable parameter: its value and the gradient accumulated by backward.

use crate::float::Float;
use crate::tensor::Tensor;

/// A learnable tensor with its gradient ∂L/∂θ (same shape).
///
/// `name` follows PyTorch's `state_dict` convention for the equivalent `nn.Sequential`
/// (`"0.weight"`, `"0.bias"`, `"1.running_mean"` is a buffer, not a `Param`).
#[derive(Clone, Debug)]
pub struct Param<T> {
    /// State-dict name, e.g. `"0.weight"`.
    pub name: String,
    /// The value θ.
    pub value: Tensor<T>,
    /// ∂L/∂θ, accumulated by backward and cleared by [`Param::zero_grad`].
    pub grad: Tensor<T>,
}

impl<T: Float> Param<T> {
    /// A parameter with the given value and a zero gradient.
    pub fn new(name: impl Into<String>, value: Tensor<T>) -> Self {
        let grad = Tensor::zeros(value.shape());
        Param {
            name: name.into(),
            value,
            grad,
        }
    }

    /// Sets ∂L/∂θ to zero.
    pub fn zero_grad(&mut self) {
        self.grad.fill(T::ZERO);
    }

    /// Number of scalars.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// True for an empty parameter.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}
