//! Helpers shared by the unit tests of the recurrent layer.

use super::{RecurrentCell, UnrolledLayer};
use crate::float::Float;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// A tensor of `shape` with entries `scale`·N(0, 1).
pub(super) fn random<T: Float>(shape: &[usize], scale: f64, rng: &mut Rng) -> Tensor<T> {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|_| scale * rng.normal()).collect();
    Tensor::from_f64_slice(shape, &v).unwrap()
}

/// Every gradient the layer produces, as f64 vectors.
pub(super) fn grads<T: Float, C: RecurrentCell<T>>(layer: &UnrolledLayer<T, C>) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = layer.params().iter().map(|p| p.grad.to_f64_vec()).collect();
    out.push(layer.grad_input().to_f64_vec());
    let s = layer.grad_initial_state();
    out.push(s.h.to_f64_vec());
    out.extend(s.c.map(|c| c.to_f64_vec()));
    out.push(layer.grad_norms().to_vec());
    out.push(layer.cell_grad_norms().to_vec());
    out
}
