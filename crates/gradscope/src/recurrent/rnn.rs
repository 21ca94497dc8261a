//! Elman RNN cell: h_t = f(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh), as PyTorch's `nn.RNN`
//! (which offers tanh and relu; here any element-wise activation of the catalogue).

use super::cell::visit_gate_blocks;
use super::{resize, CellWeights, GateValue, RecurrentCell, StepCache};
use crate::activation::Activation;
use crate::float::Float;
use crate::kernels::elementwise::add;
use crate::kernels::simd_kernel;
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

    fn uses_sum_only(&self) -> bool {
        true
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
        resize(&mut cache.h, n);
        // tanh, σ and the identity need only h in backward; the others keep a.
        let keep_a = !matches!(
            self.activation,
            Activation::Tanh | Activation::Sigmoid | Activation::Identity
        );
        let a: &[T] = if gh.is_empty() && !keep_a {
            cache.gates.clear();
            gi
        } else {
            resize(&mut cache.gates, n);
            if gh.is_empty() {
                cache.gates.copy_from_slice(gi);
            } else {
                add(gi, gh, &mut cache.gates);
            }
            &cache.gates
        };
        let h = &mut cache.h[..];
        match self.activation {
            Activation::Tanh => T::tanh_slice(a, h),
            Activation::Sigmoid => T::sigmoid_slice(a, h),
            Activation::Identity => h.copy_from_slice(a),
            f => {
                for (h, a) in h.iter_mut().zip(a) {
                    *h = f.f(*a);
                }
            }
        }
    }

    /// The one gate is h_t = f(a_t): tanh' and σ' from h_t (the forward keeps only h_t for
    /// them), the identity's 1, any other activation's f'(a_t) from the cached a_t.
    fn visit_gates(&self, cache: &StepCache<T>, f: &mut dyn FnMut(usize, usize, GateValue)) {
        let h = &cache.h[..];
        match self.activation {
            Activation::Tanh => visit_gate_blocks(h, h.len(), &[true], f),
            Activation::Sigmoid => visit_gate_blocks(h, h.len(), &[false], f),
            Activation::Identity => {
                for (j, y) in h.iter().enumerate() {
                    let y = y.to_f64();
                    let v = GateValue {
                        value: y,
                        abs_derivative: 1.0,
                        negative: y < 0.0,
                    };
                    f(0, j, v);
                }
            }
            act => {
                for (j, (y, a)) in h.iter().zip(&cache.gates).enumerate() {
                    let a = a.to_f64();
                    let v = GateValue {
                        value: y.to_f64(),
                        abs_derivative: act.df(a).abs(),
                        negative: a < 0.0,
                    };
                    f(0, j, v);
                }
            }
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
        let (a, h) = (&cache.gates[..], &cache.h[..]);
        // tanh' = 1 − h² and σ' = h(1 − h) from the stored output (no transcendental call).
        match self.activation {
            Activation::Tanh => tanh_backward(h, dh, d_gi),
            Activation::Sigmoid => sigmoid_backward(h, dh, d_gi),
            Activation::Identity => d_gi.copy_from_slice(dh),
            f => {
                for ((d, g), a) in d_gi.iter_mut().zip(dh).zip(a) {
                    *d = *g * f.df(*a);
                }
            }
        }
        if !d_gh.is_empty() {
            d_gh.copy_from_slice(d_gi);
        }
        dh_prev.fill(T::ZERO);
    }
}

simd_kernel! {
    /// d = g⊙(1 − h²).
    fn tanh_backward<T: Float>(h: &[T], g: &[T], d: &mut [T]) {
        for ((d, g), h) in d.iter_mut().zip(g).zip(h) {
            *d = *g * (T::ONE - *h * *h);
        }
    }
}

simd_kernel! {
    /// d = g⊙h⊙(1 − h).
    fn sigmoid_backward<T: Float>(h: &[T], g: &[T], d: &mut [T]) {
        for ((d, g), h) in d.iter_mut().zip(g).zip(h) {
            *d = *g * *h * (T::ONE - *h);
        }
    }
}
