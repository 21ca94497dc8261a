//! Binary cross-entropy with logits, fused with its gradient.

use crate::activation::sigmoid::sigmoid;
use crate::error::Result;
use crate::float::Float;
use crate::tensor::Tensor;

/// L = mean over elements of max(z, 0) − z·y + ln(1 + e^(−|z|)) (= −y ln σ(z) − (1−y) ln(1−σ(z))
/// without overflow); ∂L/∂z = (σ(z) − y)/numel.
pub fn bce_with_logits<T: Float>(
    logits: &Tensor<T>,
    target: &Tensor<T>,
    grad: &mut Tensor<T>,
) -> Result<f64> {
    super::check_same_len("bce_with_logits", logits, target)?;
    grad.resize(logits.shape());
    let n = logits.len().max(1);
    let inv = T::ONE / T::from_f64(n as f64);
    let mut total = 0.0f64;
    for ((g, z), y) in grad
        .data_mut()
        .iter_mut()
        .zip(logits.data())
        .zip(target.data())
    {
        let zf = z.to_f64();
        let yf = y.to_f64();
        total += zf.max(0.0) - zf * yf + (-zf.abs()).exp().ln_1p();
        *g = (sigmoid(*z) - *y) * inv;
    }
    Ok(total / n as f64)
}
