//! Inverted dropout: in training each unit is kept with probability 1 − p and scaled by
//! 1/(1 − p); in evaluation it is the identity.

use super::Module;
use crate::float::Float;
use crate::param::Param;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// y = x ⊙ m, mᵢ = 1/(1−p) with probability 1−p and 0 otherwise (training); y = x (eval).
#[derive(Clone, Debug)]
pub struct Dropout<T> {
    /// Drop probability p ∈ [0, 1).
    pub p: f64,
    training: bool,
    mask: Vec<T>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
}

impl<T: Float> Dropout<T> {
    /// Dropout with drop probability `p` (0 ≤ p < 1), in training mode.
    pub fn new(p: f64) -> Self {
        assert!((0.0..1.0).contains(&p), "dropout p = {p} must be in [0, 1)");
        Dropout {
            p,
            training: true,
            mask: Vec::new(),
            output: Tensor::default(),
            grad_input: Tensor::default(),
        }
    }

    fn active(&self) -> bool {
        self.training && self.p > 0.0
    }
}

impl<T: Float> Module<T> for Dropout<T> {
    fn describe(&self) -> String {
        format!("dropout(p={})", self.p)
    }

    /// y = x ⊙ m (training) or x (eval).
    fn forward(&mut self, x: &Tensor<T>, rng: &mut Rng) {
        self.output.resize(x.shape());
        if !self.active() {
            self.output.data_mut().copy_from_slice(x.data());
            return;
        }
        let keep = T::from_f64(1.0 / (1.0 - self.p));
        self.mask.resize(x.len(), T::ZERO);
        for m in self.mask.iter_mut() {
            *m = if rng.uniform01() >= self.p {
                keep
            } else {
                T::ZERO
            };
        }
        for ((y, xi), m) in self
            .output
            .data_mut()
            .iter_mut()
            .zip(x.data())
            .zip(&self.mask)
        {
            *y = *xi * *m;
        }
    }

    /// ∂L/∂x = ∂L/∂y ⊙ m.
    fn backward(&mut self, _x: &Tensor<T>, grad_out: &Tensor<T>, _need_input_grad: bool) {
        self.grad_input.resize(grad_out.shape());
        if !self.active() {
            self.grad_input.data_mut().copy_from_slice(grad_out.data());
            return;
        }
        for ((g, go), m) in self
            .grad_input
            .data_mut()
            .iter_mut()
            .zip(grad_out.data())
            .zip(&self.mask)
        {
            *g = *go * *m;
        }
    }

    /// The last forward's output.
    fn output(&self) -> &Tensor<T> {
        &self.output
    }

    /// The last backward's ∂L/∂x.
    fn grad_input(&self) -> &Tensor<T> {
        &self.grad_input
    }

    /// Train or eval mode.
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn visit_params<'a>(&'a self, _f: &mut dyn FnMut(&'a Param<T>)) {}

    fn visit_params_mut(&mut self, _f: &mut dyn FnMut(&mut Param<T>)) {}
}
