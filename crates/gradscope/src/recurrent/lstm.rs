//! LSTM cell, as PyTorch's `nn.LSTM`: gates (i, f, g, o) = (σ, σ, tanh, σ)(W_ih·x + b_ih +
//! W_hh·h + b_hh), c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh(c_t).

use super::{add, resize, CellWeights, RecurrentCell, StepCache};
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
        let g4 = 4 * h;
        resize(&mut cache.gates, b * g4);
        resize(&mut cache.aux, b * h);
        resize(&mut cache.h, b * h);
        resize(&mut cache.c, b * h);
        for r in 0..b {
            let (gi, gh) = (&gi[r * g4..(r + 1) * g4], &gh[r * g4..(r + 1) * g4]);
            let gates = &mut cache.gates[r * g4..(r + 1) * g4];
            // aux's row is the scratch for each gate block's pre-activation, then tanh c_t.
            let scratch = &mut cache.aux[r * h..(r + 1) * h];
            for (k, ((dst, x), y)) in gates
                .chunks_exact_mut(h)
                .zip(gi.chunks_exact(h))
                .zip(gh.chunks_exact(h))
                .enumerate()
            {
                add(x, y, scratch);
                if k == 2 {
                    T::tanh_slice(scratch, dst);
                } else {
                    T::sigmoid_slice(scratch, dst);
                }
            }
            let (i, rest) = gates.split_at(h);
            let (f, rest) = rest.split_at(h);
            let (g, o) = rest.split_at(h);
            let c = &mut cache.c[r * h..(r + 1) * h];
            let cp = &c_prev[r * h..(r + 1) * h];
            for j in 0..h {
                c[j] = f[j] * cp[j] + i[j] * g[j];
            }
            T::tanh_slice(c, scratch);
            let hr = &mut cache.h[r * h..(r + 1) * h];
            for j in 0..h {
                hr[j] = o[j] * scratch[j];
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
        let g4 = 4 * h;
        let one = T::ONE;
        for r in 0..b {
            let gates = &cache.gates[r * g4..(r + 1) * g4];
            let (i, rest) = gates.split_at(h);
            let (f, rest) = rest.split_at(h);
            let (g, o) = rest.split_at(h);
            let da = &mut d_gi[r * g4..(r + 1) * g4];
            let (da_i, rest) = da.split_at_mut(h);
            let (da_f, rest) = rest.split_at_mut(h);
            let (da_g, da_o) = rest.split_at_mut(h);
            let rows = r * h..(r + 1) * h;
            let (tc, dhr, dcr) = (
                &cache.aux[rows.clone()],
                &dh[rows.clone()],
                &dc[rows.clone()],
            );
            let (cp, dcp) = (&c_prev[rows.clone()], &mut dc_prev[rows]);
            for j in 0..h {
                let d_o = dhr[j] * tc[j];
                let dct = dcr[j] + dhr[j] * o[j] * (one - tc[j] * tc[j]);
                dcp[j] = dct * f[j];
                da_i[j] = dct * g[j] * i[j] * (one - i[j]);
                da_f[j] = dct * cp[j] * f[j] * (one - f[j]);
                da_g[j] = dct * i[j] * (one - g[j] * g[j]);
                da_o[j] = d_o * o[j] * (one - o[j]);
            }
        }
        d_gh.copy_from_slice(d_gi);
        dh_prev.fill(T::ZERO);
    }
}
