//! Softmax cross-entropy on integer labels, fused with its gradient.

use crate::error::{Error, Result};
use crate::float::Float;
use crate::tensor::Tensor;

/// L = (1/N) Σᵢ [ln Σⱼ e^(zᵢⱼ) − zᵢ,yᵢ], computed with the max-shifted log-sum-exp;
/// ∂L/∂zᵢⱼ = (softmax(zᵢ)ⱼ − [j = yᵢ])/N. `target` holds N class indices (as floats).
pub fn softmax_cross_entropy<T: Float>(
    logits: &Tensor<T>,
    target: &Tensor<T>,
    grad: &mut Tensor<T>,
) -> Result<f64> {
    let (n, k) = (logits.rows(), logits.cols());
    if target.len() != n {
        return Err(Error::Shape(format!(
            "cross_entropy: {n} output rows but {} labels",
            target.len()
        )));
    }
    grad.resize(logits.shape());
    let inv_n = T::ONE / T::from_f64(n.max(1) as f64);
    let mut total = 0.0f64;
    for (i, ((zr, gr), y)) in logits
        .data()
        .chunks_exact(k)
        .zip(grad.data_mut().chunks_exact_mut(k))
        .zip(target.data())
        .enumerate()
    {
        let yf = y.to_f64();
        if !(yf >= 0.0 && yf < k as f64 && yf.fract() == 0.0) {
            return Err(Error::Invalid(format!(
                "cross_entropy: label {yf} of sample {i} is not a class index in 0..{k}"
            )));
        }
        let y = yf as usize;
        let m = zr.iter().copied().fold(zr[0], T::max);
        for (g, z) in gr.iter_mut().zip(zr) {
            *g = *z - m;
        }
        T::exp_inplace(gr);
        let sum: T = gr.iter().copied().sum();
        let lse = m.to_f64() + sum.to_f64().ln();
        total += lse - zr[y].to_f64();
        let scale = inv_n / sum;
        gr.iter_mut().for_each(|g| *g *= scale);
        gr[y] -= inv_n;
    }
    Ok(total / n.max(1) as f64)
}
