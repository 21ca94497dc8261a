//! Tensor forward and backward of an activation, with the runtime state some of them need
//! (PReLU's learned slopes, RReLU's sampled slopes, train/eval mode).

use super::{relu, softmax, Activation};
use crate::float::Float;
use crate::kernels::parallel;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// An activation applied to tensors: a = f(z) forward, ∂L/∂z = ∂L/∂a ⊙ f'(z) backward
/// (the Jacobian-vector product for the row-wise softmax and log-softmax).
#[derive(Clone, Debug)]
pub struct ActivationFn<T> {
    act: Activation,
    training: bool,
    /// PReLU's learned slopes: one shared, or one per channel (column). Empty otherwise.
    pub slopes: Vec<T>,
    /// ∂L/∂slopes, accumulated by [`ActivationFn::backward`] (PReLU only).
    pub slopes_grad: Vec<T>,
    /// RReLU's per-element slopes drawn by the last training forward (1 where z > 0).
    noise: Vec<T>,
}

fn map<T: Float>(z: &[T], a: &mut [T], f: impl Fn(T) -> T) {
    for (ai, zi) in a.iter_mut().zip(z) {
        *ai = f(*zi);
    }
}

fn map2<T: Float>(x: &[T], g: &[T], out: &mut [T], f: impl Fn(T, T) -> T) {
    for ((oi, xi), gi) in out.iter_mut().zip(x).zip(g) {
        *oi = f(*xi, *gi);
    }
}

impl<T: Float> ActivationFn<T> {
    /// A fresh activation in training mode (PReLU slopes set to their initial value).
    pub fn new(act: Activation) -> Self {
        let (slopes, slopes_grad) = match act {
            Activation::Prelu { init, channels } => {
                (vec![T::from_f64(init); channels], vec![T::ZERO; channels])
            }
            _ => (Vec::new(), Vec::new()),
        };
        ActivationFn {
            act,
            training: true,
            slopes,
            slopes_grad,
            noise: Vec::new(),
        }
    }

    /// The activation this applies.
    pub fn activation(&self) -> Activation {
        self.act
    }

    /// Training mode (RReLU draws random slopes) or evaluation mode (fixed slope).
    pub fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    /// True in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// a = f(z), element-wise or row-wise; `a` is resized to z's shape. `rng` is used only by
    /// RReLU in training.
    pub fn forward(&mut self, z: &Tensor<T>, a: &mut Tensor<T>, rng: &mut Rng) {
        a.resize(z.shape());
        let cols = z.cols();
        let (zs, av) = (z.data(), a.data_mut());
        use Activation::*;
        match self.act {
            Identity => av.copy_from_slice(zs),
            Relu => parallel::map(zs, av, &|z, a| map(z, a, relu::relu)),
            Tanh => parallel::map(zs, av, &|z, a| T::tanh_slice(z, a)),
            Sigmoid => parallel::map(zs, av, &|z, a| T::sigmoid_slice(z, a)),
            LeakyRelu { slope } => {
                let s = T::from_f64(slope);
                map(zs, av, |x| relu::leaky_relu(x, s))
            }
            Softmax => softmax::softmax_rows(zs, cols, av),
            LogSoftmax => softmax::log_softmax_rows(zs, cols, av),
            Prelu { channels, .. } => {
                if channels == 1 {
                    let s = self.slopes[0];
                    map(zs, av, |x| relu::leaky_relu(x, s));
                } else {
                    assert_eq!(
                        cols, channels,
                        "PReLU with {channels} channels got {cols} columns"
                    );
                    for (zr, ar) in zs.chunks_exact(cols).zip(av.chunks_exact_mut(cols)) {
                        for ((ai, zi), s) in ar.iter_mut().zip(zr).zip(&self.slopes) {
                            *ai = relu::leaky_relu(*zi, *s);
                        }
                    }
                }
            }
            Rrelu { lower, upper } if self.training => {
                self.noise.resize(zs.len(), T::ONE);
                for ((ai, zi), ni) in av.iter_mut().zip(zs).zip(self.noise.iter_mut()) {
                    *ni = if *zi <= T::ZERO {
                        T::from_f64(rng.uniform(lower, upper))
                    } else {
                        T::ONE
                    };
                    *ai = *zi * *ni;
                }
            }
            act => map(zs, av, |x| act.f(x)),
        }
    }

    /// ∂L/∂z from ∂L/∂a, given the forward's input z and output a; `grad_z` is resized to z's
    /// shape. PReLU also accumulates ∂L/∂slope = Σ_{z ≤ 0} ∂L/∂a · z into `slopes_grad`.
    pub fn backward(
        &mut self,
        z: &Tensor<T>,
        a: &Tensor<T>,
        grad_a: &Tensor<T>,
        grad_z: &mut Tensor<T>,
    ) {
        assert_eq!(
            z.shape(),
            grad_a.shape(),
            "activation backward: shape mismatch"
        );
        grad_z.resize(z.shape());
        let cols = z.cols();
        let (zs, avals, g, gz) = (z.data(), a.data(), grad_a.data(), grad_z.data_mut());
        use Activation::*;
        match self.act {
            Identity => gz.copy_from_slice(g),
            Relu => parallel::map2(zs, g, gz, &|z, g, o| {
                // `x <= 0`: at NaN the gradient is passed on, as PyTorch.
                map2(z, g, o, |x, g| if x <= T::ZERO { T::ZERO } else { g })
            }),
            // 1 − a² and a(1 − a) from the stored output, as PyTorch does: exact derivatives
            // that cost no transcendental call.
            Tanh => parallel::map2(avals, g, gz, &|a, g, o| {
                map2(a, g, o, |y, g| g * (T::ONE - y * y))
            }),
            Sigmoid => parallel::map2(avals, g, gz, &|a, g, o| {
                map2(a, g, o, |y, g| g * y * (T::ONE - y))
            }),
            LeakyRelu { slope } => {
                let s = T::from_f64(slope);
                map2(zs, g, gz, |x, g| g * relu::leaky_relu_grad(x, s))
            }
            Softmax => softmax::softmax_rows_backward(avals, g, cols, gz),
            LogSoftmax => softmax::log_softmax_rows_backward(avals, g, cols, gz),
            Prelu { channels, .. } => {
                let per_channel = channels > 1;
                for (i, ((gzi, zi), gi)) in gz.iter_mut().zip(zs).zip(g).enumerate() {
                    let c = if per_channel { i % cols } else { 0 };
                    if *zi > T::ZERO {
                        *gzi = *gi;
                    } else {
                        *gzi = *gi * self.slopes[c];
                        self.slopes_grad[c] += *gi * *zi;
                    }
                }
            }
            Rrelu { .. } if self.training => {
                assert_eq!(self.noise.len(), zs.len(), "RReLU backward without forward");
                map2(&self.noise, g, gz, |n, g| g * n)
            }
            act => map2(zs, g, gz, |x, g| g * act.df(x)),
        }
    }

    /// Sets ∂L/∂slopes to zero.
    pub fn zero_grad(&mut self) {
        self.slopes_grad.iter_mut().for_each(|v| *v = T::ZERO);
    }
}
