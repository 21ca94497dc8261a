//! LSTM cell, as PyTorch's `nn.LSTM`: gates (i, f, g, o) = (σ, σ, tanh, σ)(W_ih·x + b_ih +
//! W_hh·h + b_hh), c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh(c_t).

use super::{resize, CellWeights, RecurrentCell, StepCache};
use crate::activation::sigmoid::sigmoid;
use crate::float::Float;
use crate::rng::Rng;

/// LSTM cell with G = 4 gates in PyTorch's order i, f, g, o.
#[derive(Clone, Debug)]
pub struct LstmCell<T> {
    /// W_ih `[4H, I]`, W_hh `[4H, H]`, b_ih `[4H]`, b_hh `[4H]`.
    pub weights: CellWeights<T>,
}

impl<T: Float> LstmCell<T> {
    /// A cell with PyTorch's initialization `U[−1/√H, 1/√H]`.
    pub fn new(input: usize, hidden: usize, rng: &mut Rng) -> Self {
        Self::from_weights(CellWeights::uniform("", 4, input, hidden, rng))
    }

    /// A cell with PyTorch's initialization plus `forget_bias` added to the forget-gate
    /// slice [H, 2H) of b_ih (the common "forget bias 1" trick; PyTorch adds none).
    pub fn with_forget_bias(input: usize, hidden: usize, forget_bias: f64, rng: &mut Rng) -> Self {
        let mut cell = Self::new(input, hidden, rng);
        let fb = T::from_f64(forget_bias);
        for v in &mut cell.weights.bias_ih.value.data_mut()[hidden..2 * hidden] {
            *v += fb;
        }
        cell
    }

    /// A cell from given weights (G must be 4).
    pub fn from_weights(weights: CellWeights<T>) -> Self {
        assert_eq!(weights.gates(), 4, "an LSTM cell has four gates");
        LstmCell { weights }
    }
}

impl<T: Float> RecurrentCell<T> for LstmCell<T> {
    fn weights(&self) -> &CellWeights<T> {
        &self.weights
    }

    fn weights_mut(&mut self) -> &mut CellWeights<T> {
        &mut self.weights
    }

    fn has_cell_state(&self) -> bool {
        true
    }

    fn pointwise_forward(
        &self,
        b: usize,
        gi: &[T],
        gh: &[T],
        _h_prev: &[T],
        c_prev: &[T],
        cache: &mut StepCache<T>,
    ) {
        let h = self.weights.hidden_size();
        resize(&mut cache.gates, b * 4 * h);
        resize(&mut cache.aux, b * h);
        resize(&mut cache.h, b * h);
        resize(&mut cache.c, b * h);
        for r in 0..b {
            let gates = &mut cache.gates[r * 4 * h..(r + 1) * 4 * h];
            for (k, v) in gates.iter_mut().enumerate() {
                let a = gi[r * 4 * h + k] + gh[r * 4 * h + k];
                *v = if (2 * h..3 * h).contains(&k) {
                    a.tanh()
                } else {
                    sigmoid(a)
                };
            }
            for j in 0..h {
                let (i, f, g, o) = (gates[j], gates[h + j], gates[2 * h + j], gates[3 * h + j]);
                let idx = r * h + j;
                let c = f * c_prev[idx] + i * g;
                let tc = c.tanh();
                cache.c[idx] = c;
                cache.aux[idx] = tc;
                cache.h[idx] = o * tc;
            }
        }
    }

    fn pointwise_backward(
        &self,
        cache: &StepCache<T>,
        _h_prev: &[T],
        c_prev: &[T],
        dh: &[T],
        dc: &[T],
        d_gi: &mut [T],
        d_gh: &mut [T],
        dh_prev: &mut [T],
        dc_prev: &mut [T],
    ) {
        let h = self.weights.hidden_size();
        let b = dh.len() / h.max(1);
        let one = T::ONE;
        for r in 0..b {
            let gates = &cache.gates[r * 4 * h..(r + 1) * 4 * h];
            let da = &mut d_gi[r * 4 * h..(r + 1) * 4 * h];
            for j in 0..h {
                let idx = r * h + j;
                let (i, f, g, o) = (gates[j], gates[h + j], gates[2 * h + j], gates[3 * h + j]);
                let tc = cache.aux[idx];
                let d_o = dh[idx] * tc;
                let dct = dc[idx] + dh[idx] * o * (one - tc * tc);
                let d_i = dct * g;
                let d_g = dct * i;
                let d_f = dct * c_prev[idx];
                dc_prev[idx] = dct * f;
                da[j] = d_i * i * (one - i);
                da[h + j] = d_f * f * (one - f);
                da[2 * h + j] = d_g * (one - g * g);
                da[3 * h + j] = d_o * o * (one - o);
            }
        }
        d_gh.copy_from_slice(d_gi);
        dh_prev.fill(T::ZERO);
    }
}
