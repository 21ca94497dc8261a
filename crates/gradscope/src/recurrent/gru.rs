//! GRU cell, as PyTorch's `nn.GRU`: r = σ(W_ir·x + b_ir + W_hr·h + b_hr),
//! z = σ(W_iz·x + b_iz + W_hz·h + b_hz), n = tanh(W_in·x + b_in + r⊙(W_hn·h + b_hn)),
//! h' = (1 − z)⊙n + z⊙h.

use super::{resize, CellWeights, RecurrentCell, StepCache};
use crate::activation::sigmoid::sigmoid;
use crate::float::Float;
use crate::rng::Rng;

/// GRU cell with G = 3 gates in PyTorch's order r, z, n.
#[derive(Clone, Debug)]
pub struct GruCell<T> {
    /// W_ih `[3H, I]`, W_hh `[3H, H]`, b_ih `[3H]`, b_hh `[3H]`.
    pub weights: CellWeights<T>,
}

impl<T: Float> GruCell<T> {
    /// A cell with PyTorch's initialization `U[−1/√H, 1/√H]`.
    pub fn new(input: usize, hidden: usize, rng: &mut Rng) -> Self {
        Self::from_weights(CellWeights::uniform("", 3, input, hidden, rng))
    }

    /// A cell from given weights (G must be 3).
    pub fn from_weights(weights: CellWeights<T>) -> Self {
        assert_eq!(weights.gates(), 3, "a GRU cell has three gates");
        GruCell { weights }
    }
}

impl<T: Float> RecurrentCell<T> for GruCell<T> {
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
        h_prev: &[T],
        _c_prev: &[T],
        cache: &mut StepCache<T>,
    ) {
        let h = self.weights.hidden_size();
        resize(&mut cache.gates, b * 3 * h);
        resize(&mut cache.aux, b * h);
        resize(&mut cache.h, b * h);
        for r in 0..b {
            let o = r * 3 * h;
            for j in 0..h {
                let idx = r * h + j;
                let rg = sigmoid(gi[o + j] + gh[o + j]);
                let z = sigmoid(gi[o + h + j] + gh[o + h + j]);
                let hn = gh[o + 2 * h + j];
                let n = (gi[o + 2 * h + j] + rg * hn).tanh();
                cache.gates[o + j] = rg;
                cache.gates[o + h + j] = z;
                cache.gates[o + 2 * h + j] = n;
                cache.aux[idx] = hn;
                cache.h[idx] = (T::ONE - z) * n + z * h_prev[idx];
            }
        }
    }

    fn pointwise_backward(
        &self,
        cache: &StepCache<T>,
        h_prev: &[T],
        _c_prev: &[T],
        dh: &[T],
        _dc: &[T],
        d_gi: &mut [T],
        d_gh: &mut [T],
        dh_prev: &mut [T],
        _dc_prev: &mut [T],
    ) {
        let h = self.weights.hidden_size();
        let b = dh.len() / h.max(1);
        let one = T::ONE;
        for r in 0..b {
            let o = r * 3 * h;
            for j in 0..h {
                let idx = r * h + j;
                let (rg, z, n) = (
                    cache.gates[o + j],
                    cache.gates[o + h + j],
                    cache.gates[o + 2 * h + j],
                );
                let g = dh[idx];
                let dn = g * (one - z);
                let dz = g * (h_prev[idx] - n);
                dh_prev[idx] = g * z;
                let dan = dn * (one - n * n);
                let dr = dan * cache.aux[idx];
                let dar = dr * rg * (one - rg);
                let daz = dz * z * (one - z);
                d_gi[o + j] = dar;
                d_gi[o + h + j] = daz;
                d_gi[o + 2 * h + j] = dan;
                d_gh[o + j] = dar;
                d_gh[o + h + j] = daz;
                d_gh[o + 2 * h + j] = dan * rg;
            }
        }
    }
}
