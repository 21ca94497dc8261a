//! Softmax cross-entropy on integer labels, fused with its gradient.

use crate::error::{Error, Result};
use crate::float::Float;
use crate::tensor::Tensor;

/// L = (1/N) Σᵢ [ln Σⱼ e^(zᵢⱼ) − zᵢ,yᵢ], computed as (m − z_y) + ln(1 + Σ_{j≠argmax} e^(zⱼ−m))
/// with m = maxⱼ zⱼ (stable, and accurate for tiny losses);
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
        let mut top = 0;
        for (j, z) in zr.iter().enumerate() {
            if *z > zr[top] {
                top = j;
            }
        }
        let m = zr[top];
        for (g, z) in gr.iter_mut().zip(zr) {
            *g = *z - m;
        }
        T::exp_inplace(gr);
        let sum: T = gr.iter().copied().sum();
        // ln Σ e^(z−m) = ln(1 + Σ_{j≠top} e^(z_j−m)): summing the others apart keeps a tiny
        // loss (a confident, correct prediction) accurate.
        let others: f64 = gr
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != top)
            .map(|(_, g)| g.to_f64())
            .sum();
        total += (m.to_f64() - zr[y].to_f64()) + others.ln_1p();
        let scale = inv_n / sum;
        gr.iter_mut().for_each(|g| *g *= scale);
        gr[y] -= inv_n;
    }
    Ok(total / n.max(1) as f64)
}
