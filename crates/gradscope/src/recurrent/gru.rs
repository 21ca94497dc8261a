//! GRU cell, as PyTorch's `nn.GRU`: r = σ(W_ir·x + b_ir + W_hr·h + b_hr),
//! z = σ(W_iz·x + b_iz + W_hz·h + b_hz), n = tanh(W_in·x + b_in + r⊙(W_hn·h + b_hn)),
//! h' = (1 − z)⊙n + z⊙h.

use super::{add, resize, CellWeights, RecurrentCell, StepCache};
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
        let g3 = 3 * h;
        resize(&mut cache.gates, b * g3);
        resize(&mut cache.aux, b * h);
        resize(&mut cache.h, b * h);
        for r in 0..b {
            let (gi, gh) = (&gi[r * g3..(r + 1) * g3], &gh[r * g3..(r + 1) * g3]);
            let (gi_r, rest) = gi.split_at(h);
            let (gi_z, gi_n) = rest.split_at(h);
            let (gh_r, rest) = gh.split_at(h);
            let (gh_z, gh_n) = rest.split_at(h);
            let gates = &mut cache.gates[r * g3..(r + 1) * g3];
            let (rg, rest) = gates.split_at_mut(h);
            let (z, n) = rest.split_at_mut(h);
            let rows = r * h..(r + 1) * h;
            // aux's row: the scratch for each pre-activation, then W_hn·h + b_hn.
            let aux = &mut cache.aux[rows.clone()];
            add(gi_r, gh_r, aux);
            T::sigmoid_slice(aux, rg);
            add(gi_z, gh_z, aux);
            T::sigmoid_slice(aux, z);
            for j in 0..h {
                aux[j] = gi_n[j] + rg[j] * gh_n[j];
            }
            T::tanh_slice(aux, n);
            aux.copy_from_slice(gh_n);
            let (hr, hp) = (&mut cache.h[rows.clone()], &h_prev[rows]);
            for j in 0..h {
                hr[j] = (T::ONE - z[j]) * n[j] + z[j] * hp[j];
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
        let g3 = 3 * h;
        let one = T::ONE;
        for r in 0..b {
            let gates = &cache.gates[r * g3..(r + 1) * g3];
            let (rg, rest) = gates.split_at(h);
            let (z, n) = rest.split_at(h);
            let rows = r * h..(r + 1) * h;
            let (hn, g, hp) = (
                &cache.aux[rows.clone()],
                &dh[rows.clone()],
                &h_prev[rows.clone()],
            );
            let dhp = &mut dh_prev[rows];
            let (di_r, rest) = d_gi[r * g3..(r + 1) * g3].split_at_mut(h);
            let (di_z, di_n) = rest.split_at_mut(h);
            let (dh_r, rest) = d_gh[r * g3..(r + 1) * g3].split_at_mut(h);
            let (dh_z, dh_n) = rest.split_at_mut(h);
            for j in 0..h {
                let dn = g[j] * (one - z[j]);
                let dz = g[j] * (hp[j] - n[j]);
                dhp[j] = g[j] * z[j];
                let dan = dn * (one - n[j] * n[j]);
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
