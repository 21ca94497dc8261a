//! Initialization of a [`RecurrentEncoder`](super::RecurrentEncoder)'s weights from its
//! spec: PyTorch's U[−1/√H, 1/√H], then per gate block the spec's initializers, spectral
//! radius and forget bias.

use super::spec::{CellKind, RecurrentSpec};
use super::spectral::spectral_radius;
use super::CellWeights;
use crate::float::Float;
use crate::init::Init;
use crate::param::Param;
use crate::rng::Rng;

/// Overwrites every gate block of `p` (`[G·H, cols]`) with `init`, drawn block by block.
fn init_blocks<T: Float>(p: &mut Param<T>, gates: usize, init: Init, gain: f64, rng: &mut Rng) {
    let cols = p.value.shape()[1];
    let h = p.value.shape()[0] / gates;
    for g in 0..gates {
        let w = init.sample(h, cols, gain, rng);
        for (v, s) in p.value.data_mut()[g * h * cols..(g + 1) * h * cols]
            .iter_mut()
            .zip(&w)
        {
            *v = T::from_f64(*s);
        }
    }
}

/// Rescales every `[H, H]` gate block of W_hh to spectral radius `rho`.
fn rescale_blocks<T: Float>(p: &mut Param<T>, gates: usize, rho: f64) {
    let h = p.value.shape()[1];
    for g in 0..gates {
        let block = &mut p.value.data_mut()[g * h * h..(g + 1) * h * h];
        let w: Vec<f64> = block.iter().map(|v| v.to_f64()).collect();
        let r = spectral_radius(&w, h);
        if r > 0.0 {
            let s = rho / r;
            block
                .iter_mut()
                .zip(&w)
                .for_each(|(v, x)| *v = T::from_f64(x * s));
        }
    }
}

/// The weights of layer `layer` of a stack built from `spec` (`input` features in, names
/// `{prefix}weight_ih_l{layer}`, ...): every parameter from PyTorch's U[−1/√H, 1/√H]; with
/// `init_ih`/`init_hh` the biases set to 0 and each gate block redrawn (RNN gain from the
/// activation); with `init_bias` b_ih then b_hh drawn from it; W_hh's blocks rescaled to ρ = `spectral_radius`; `forget_bias` added to the
/// LSTM's forget block [H, 2H) of b_ih.
pub(super) fn init_weights<T: Float>(
    spec: &RecurrentSpec,
    layer: usize,
    prefix: &str,
    input: usize,
    rng: &mut Rng,
) -> CellWeights<T> {
    let gates = spec.cell.gates();
    let mut w = CellWeights::uniform(prefix, gates, input, spec.hidden, rng);
    for p in w.params_mut() {
        p.name = p.name.replace("_l0", &format!("_l{layer}"));
    }
    let gain = match spec.cell {
        CellKind::Rnn => crate::activation::properties::init_gain(&spec.activation()),
        _ => 1.0,
    };
    if spec.init_ih.is_some() || spec.init_hh.is_some() {
        // Explicit initializers: biases start at zero, as in the MLP layers.
        w.bias_ih.value.fill(T::ZERO);
        w.bias_hh.value.fill(T::ZERO);
    }
    if let Some(init) = spec.init_ih {
        init_blocks(&mut w.weight_ih, gates, init, gain, rng);
    }
    if let Some(init) = spec.init_hh {
        init_blocks(&mut w.weight_hh, gates, init, gain, rng);
    }
    if let Some(b) = spec.init_bias {
        for p in [&mut w.bias_ih, &mut w.bias_hh] {
            let v = b.sample(p.value.len(), rng);
            for (x, s) in p.value.data_mut().iter_mut().zip(&v) {
                *x = T::from_f64(*s);
            }
        }
    }
    if let Some(rho) = spec.spectral_radius {
        rescale_blocks(&mut w.weight_hh, gates, rho);
    }
    if let Some(fb) = spec.forget_bias {
        let h = spec.hidden;
        for v in &mut w.bias_ih.value.data_mut()[h..2 * h] {
            *v += T::from_f64(fb);
        }
    }
    w
}
