//! Elman RNN cell: h_t = f(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh), as PyTorch's `nn.RNN`
//! (which offers tanh and relu; here any element-wise activation of the catalogue).

use super::{resize, CellWeights, RecurrentCell, StepCache};
use crate::activation::Activation;
use crate::float::Float;
use crate::rng::Rng;

/// Elman cell with one gate (G = 1) and an element-wise activation f (default tanh).
#[derive(Clone, Debug)]
pub struct RnnCell<T> {
    /// W_ih `[H, I]`, W_hh `[H, H]`, b_ih `[H]`, b_hh `[H]`.
    pub weights: CellWeights<T>,
    /// The non-linearity f.
    pub activation: Activation,
}

impl<T: Float> RnnCell<T> {
    /// A tanh cell with PyTorch's initialization `U[−1/√H, 1/√H]`.
    pub fn new(input: usize, hidden: usize, rng: &mut Rng) -> Self {
        Self::with_activation(input, hidden, Activation::Tanh, rng)
    }

    /// A cell with activation `f` and PyTorch's initialization.
    ///
    /// Panics for the row-wise activations (softmax, log-softmax).
    pub fn with_activation(input: usize, hidden: usize, f: Activation, rng: &mut Rng) -> Self {
        Self::from_weights(CellWeights::uniform("", 1, input, hidden, rng), f)
    }

    /// A cell from given weights (G must be 1).
    pub fn from_weights(weights: CellWeights<T>, activation: Activation) -> Self {
        assert_eq!(weights.gates(), 1, "an RNN cell has one gate");
        assert!(
            !activation.is_rowwise(),
            "RnnCell needs an element-wise activation, not {activation}"
        );
        RnnCell {
            weights,
            activation,
        }
    }
}

impl<T: Float> RecurrentCell<T> for RnnCell<T> {
    fn weights(&self) -> &CellWeights<T> {
        &self.weights
    }

    fn weights_mut(&mut self) -> &mut CellWeights<T> {
        &mut self.weights
    }

    fn pointwise_forward(
        &self,
        b: usize,
        gi: &[T],
        gh: &[T],
        _h_prev: &[T],
        _c_prev: &[T],
        cache: &mut StepCache<T>,
    ) {
        let n = b * self.weights.hidden_size();
        resize(&mut cache.gates, n);
        resize(&mut cache.h, n);
        for (((a, h), x), y) in cache.gates.iter_mut().zip(&mut cache.h).zip(gi).zip(gh) {
            *a = *x + *y;
            *h = self.activation.f(*a);
        }
    }

    fn pointwise_backward(
        &self,
        cache: &StepCache<T>,
        _h_prev: &[T],
        _c_prev: &[T],
        dh: &[T],
        _dc: &[T],
        d_gi: &mut [T],
        d_gh: &mut [T],
        dh_prev: &mut [T],
        _dc_prev: &mut [T],
    ) {
        for ((gi, gh), (a, g)) in d_gi
            .iter_mut()
            .zip(d_gh.iter_mut())
            .zip(cache.gates.iter().zip(dh))
        {
            let d = *g * self.activation.df(*a);
            *gi = d;
            *gh = d;
        }
        dh_prev.fill(T::ZERO);
    }
}
