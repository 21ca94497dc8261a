//! GRU cell, as PyTorch's `nn.GRU`: r = σ(W_ir·x + b_ir + W_hr·h + b_hr),
//! z = σ(W_iz·x + b_iz + W_hz·h + b_hz), n = tanh(W_in·x + b_in + r⊙(W_hn·h + b_hn)),
//! h' = (1 − z)⊙n + z⊙h.

use super::cell::visit_gate_blocks;
use super::{resize, CellWeights, GateValue, RecurrentCell, StepCache};
use crate::float::Float;
use crate::kernels::elementwise::add_block;
use crate::kernels::simd_kernel;
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
        let n = b * h;
        let stride = 3 * h;
        resize(&mut cache.gates, 3 * n);
        resize(&mut cache.aux, n);
        resize(&mut cache.h, n);
        // Gate-major [3, B, H]; aux is the scratch for each pre-activation, then holds
        // W_hn·h + b_hn.
        let (rg, rest) = cache.gates.split_at_mut(n);
        let (z, nn) = rest.split_at_mut(n);
        add_block(gi, gh, 0, stride, &mut cache.aux);
        T::sigmoid_slice(&cache.aux, rg);
        add_block(gi, gh, 1, stride, &mut cache.aux);
        T::sigmoid_slice(&cache.aux, z);
        candidate_pre(h, gi, gh, rg, &mut cache.aux);
        T::tanh_slice(&cache.aux, nn);
        copy_block(gh, 2, stride, &mut cache.aux);
        gru_update(z, nn, h_prev, &mut cache.h);
    }

    /// Gates r, z are sigmoids, the candidate n a tanh; their values are kept gate-major
    /// `[3, B, H]`.
    fn visit_gates(&self, cache: &StepCache<T>, f: &mut dyn FnMut(usize, usize, GateValue)) {
        let n = cache.gates.len() / 3;
        visit_gate_blocks(&cache.gates, n, &[false, false, true], f);
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
        gru_backward(h, &cache.gates, &cache.aux, h_prev, dh, d_gi, d_gh, dh_prev);
    }
}

simd_kernel! {
    /// out = gᵢ_n + r⊙gₕ_n (the n blocks of rows of 3H gathered into `[B, H]`).
    fn candidate_pre<T: Float>(h: usize, gi: &[T], gh: &[T], r: &[T], out: &mut [T]) {
        for (((o, a), b), r) in out
            .chunks_exact_mut(h)
            .zip(gi.chunks_exact(3 * h))
            .zip(gh.chunks_exact(3 * h))
            .zip(r.chunks_exact(h))
        {
            let (a, b) = (&a[2 * h..3 * h], &b[2 * h..3 * h]);
            for j in 0..h {
                o[j] = a[j] + r[j] * b[j];
            }
        }
    }
}

simd_kernel! {
    /// out = block `k` of x (rows of `stride` values) as a contiguous `[rows, w]` buffer.
    fn copy_block<T: Float>(x: &[T], k: usize, stride: usize, out: &mut [T]) {
        let w = out.len() / (x.len() / stride.max(1)).max(1);
        for (o, a) in out.chunks_exact_mut(w).zip(x.chunks_exact(stride)) {
            o.copy_from_slice(&a[k * w..(k + 1) * w]);
        }
    }
}

simd_kernel! {
    /// h = (1 − z)⊙n + z⊙h_prev.
    fn gru_update<T: Float>(z: &[T], n: &[T], h_prev: &[T], h: &mut [T]) {
        let len = h.len();
        let (z, n, h_prev) = (&z[..len], &n[..len], &h_prev[..len]);
        for j in 0..len {
            h[j] = (T::ONE - z[j]) * n[j] + z[j] * h_prev[j];
        }
    }
}

simd_kernel! {
    /// ∂L/∂gᵢ, ∂L/∂gₕ (`[B, 3H]`, blocks r, z, n) and the direct ∂L/∂h_{t−1} from the
    /// gate-major gates `[3, B, H]`, W_hn·h + b_hn, h_{t−1} and ∂L/∂h_t.
    fn gru_backward<T: Float>(
        h: usize,
        gates: &[T],
        hn: &[T],
        h_prev: &[T],
        dh: &[T],
        d_gi: &mut [T],
        d_gh: &mut [T],
        dh_prev: &mut [T],
    ) {
        let n = hn.len();
        let one = T::ONE;
        let (rg, rest) = gates.split_at(n);
        let (z, nn) = rest.split_at(n);
        for (r, (di, dg)) in d_gi
            .chunks_exact_mut(3 * h)
            .zip(d_gh.chunks_exact_mut(3 * h))
            .enumerate()
        {
            let rows = r * h..(r + 1) * h;
            let (rg, z, nn) = (&rg[rows.clone()], &z[rows.clone()], &nn[rows.clone()]);
            let (hn, g, hp) = (&hn[rows.clone()], &dh[rows.clone()], &h_prev[rows.clone()]);
            let dhp = &mut dh_prev[rows];
            let (di_r, rest) = di.split_at_mut(h);
            let (di_z, di_n) = rest.split_at_mut(h);
            let (dh_r, rest) = dg.split_at_mut(h);
            let (dh_z, dh_n) = rest.split_at_mut(h);
            for j in 0..h {
                let dn = g[j] * (one - z[j]);
                let dz = g[j] * (hp[j] - nn[j]);
                dhp[j] = g[j] * z[j];
                let dan = dn * (one - nn[j] * nn[j]);
                let dar = dan * hn[j] * rg[j] * (one - rg[j]);
                let daz = dz * z[j] * (one - z[j]);
                di_r[j] = dar;
                di_z[j] = daz;
                di_n[j] = dan;
                dh_r[j] = dar;
                dh_z[j] = daz;
                dh_n[j] = dan * rg[j];
            }
        }
    }
}
