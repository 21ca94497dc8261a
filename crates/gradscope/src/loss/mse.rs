//! Mean squared error, fused with its gradient.

use crate::error::Result;
use crate::float::Float;
use crate::tensor::Tensor;

/// L = mean over elements of (z − y)²; ∂L/∂z = 2(z − y)/numel.
pub fn mse<T: Float>(logits: &Tensor<T>, target: &Tensor<T>, grad: &mut Tensor<T>) -> Result<f64> {
    super::check_same_len("mse", logits, target)?;
    grad.resize(logits.shape());
    let n = logits.len().max(1);
    let k = T::from_f64(2.0 / n as f64);
    let mut total = 0.0f64;
    for ((g, z), y) in grad
        .data_mut()
        .iter_mut()
        .zip(logits.data())
        .zip(target.data())
    {
        let d = *z - *y;
        total += d.to_f64() * d.to_f64();
        *g = k * d;
    }
    Ok(total / n as f64)
}
