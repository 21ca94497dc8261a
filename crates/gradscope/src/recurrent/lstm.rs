//! LSTM cell, as PyTorch's `nn.LSTM`: gates (i, f, g, o) = (σ, σ, tanh, σ)(W_ih·x + b_ih +
//! W_hh·h + b_hh), c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh(c_t).

use super::cell::visit_gate_blocks;
use super::{resize, CellWeights, GateValue, RecurrentCell, StepCache};
use crate::float::Float;
use crate::kernels::elementwise::add_block;
use crate::kernels::simd_kernel;
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

    fn uses_sum_only(&self) -> bool {
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
        let n = b * self.weights.hidden_size();
        resize(&mut cache.gates, 4 * n);
        resize(&mut cache.aux, n);
        resize(&mut cache.h, n);
        resize(&mut cache.c, n);
        // Gate-major: each gate's block [B, H] is contiguous, one slice call per gate. aux
        // is the scratch for each block's pre-activation, then holds tanh c_t.
        let h = self.weights.hidden_size();
        for (k, dst) in cache.gates.chunks_exact_mut(n).enumerate() {
            let f = if k == 2 {
                T::tanh_slice
            } else {
                T::sigmoid_slice
            };
            if gh.is_empty() {
                // gi is a = gᵢ + gₕ: each row's block straight from it.
                for (src, dst) in gi.chunks_exact(4 * h).zip(dst.chunks_exact_mut(h)) {
                    f(&src[k * h..(k + 1) * h], dst);
                }
            } else {
                add_block(gi, gh, k, 4 * h, &mut cache.aux);
                f(&cache.aux, dst);
            }
        }
        let (i, rest) = cache.gates.split_at(n);
        let (f, rest) = rest.split_at(n);
        let (g, o) = rest.split_at(n);
        cell_update(i, f, g, c_prev, &mut cache.c);
        T::tanh_slice(&cache.c, &mut cache.aux);
        mul(o, &cache.aux, &mut cache.h);
    }

    /// Gates i, f, o are sigmoids, g a tanh; their values are kept gate-major `[4, B, H]`.
    fn visit_gates(&self, cache: &StepCache<T>, f: &mut dyn FnMut(usize, usize, GateValue)) {
        let n = cache.gates.len() / 4;
        visit_gate_blocks(&cache.gates, n, &[false, false, true, false], f);
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
        lstm_backward(h, &cache.gates, &cache.aux, c_prev, dh, dc, d_gi, dc_prev);
        if !d_gh.is_empty() {
            d_gh.copy_from_slice(d_gi);
        }
        dh_prev.fill(T::ZERO);
    }
}

simd_kernel! {
    /// c = f⊙c_prev + i⊙g.
    fn cell_update<T: Float>(i: &[T], f: &[T], g: &[T], c_prev: &[T], c: &mut [T]) {
        let n = c.len();
        let (i, f, g, c_prev) = (&i[..n], &f[..n], &g[..n], &c_prev[..n]);
        for j in 0..n {
            c[j] = f[j] * c_prev[j] + i[j] * g[j];
        }
    }
}

simd_kernel! {
    /// out = x⊙y.
    fn mul<T: Float>(x: &[T], y: &[T], out: &mut [T]) {
        for ((o, a), b) in out.iter_mut().zip(x).zip(y) {
            *o = *a * *b;
        }
    }
}

simd_kernel! {
    /// ∂L/∂a (`[B, 4H]`, blocks i, f, g, o; H = `h`) and ∂L/∂c_{t−1} from the gate-major
    /// gates `[4, B, H]`, tanh c_t, c_{t−1} and the incoming ∂L/∂h_t, ∂L/∂c_t.
    fn lstm_backward<T: Float>(
        h: usize,
        gates: &[T],
        tc: &[T],
        c_prev: &[T],
        dh: &[T],
        dc: &[T],
        da: &mut [T],
        dc_prev: &mut [T],
    ) {
        let n = tc.len();
        let one = T::ONE;
        let (i, rest) = gates.split_at(n);
        let (f, rest) = rest.split_at(n);
        let (g, o) = rest.split_at(n);
        for (r, da) in da.chunks_exact_mut(4 * h).enumerate() {
            let rows = r * h..(r + 1) * h;
            let (i, f, g, o) = (&i[rows.clone()], &f[rows.clone()], &g[rows.clone()], &o[rows.clone()]);
            let (tc, cp, dhr, dcr) = (&tc[rows.clone()], &c_prev[rows.clone()], &dh[rows.clone()], &dc[rows.clone()]);
            let dcp = &mut dc_prev[rows];
            let (da_i, rest) = da.split_at_mut(h);
            let (da_f, rest) = rest.split_at_mut(h);
            let (da_g, da_o) = rest.split_at_mut(h);
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
    }
}
