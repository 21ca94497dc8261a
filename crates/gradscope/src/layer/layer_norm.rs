//! Layer normalization over the last dimension of [N, C] inputs, with PyTorch's
//! `nn.LayerNorm(normalized_shape=C, eps, elementwise_affine)` semantics: every row is
//! normalized by its own mean and biased variance, the same in training and evaluation.

use super::{Module, Weight};
use crate::float::Float;
use crate::param::Param;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// y = γ·x̂ + β with x̂ = (x − μ)/√(σ² + ε) per row, μ and σ² the row's mean and biased
/// variance over its C columns (γ = 1, β = 0 and no parameters when not affine).
///
/// Unlike [`super::BatchNorm1d`] nothing is shared between the rows of a batch: no running
/// statistics, no train/eval difference, and a batch of one row is as well defined as any.
#[derive(Clone, Debug)]
pub struct LayerNorm<T> {
    /// γ, shape `[C]` (PyTorch `weight`); None without elementwise affine.
    pub weight: Option<Param<T>>,
    /// β, shape `[C]` (PyTorch `bias`); None without elementwise affine.
    pub bias: Option<Param<T>>,
    /// ε added to the variance.
    pub eps: f64,
    channels: usize,
    /// x̂ of the last forward, [N, C].
    x_hat: Tensor<T>,
    /// 1/√(σ² + ε) of each row of the last forward.
    inv_std: Vec<T>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
}

impl<T: Float> LayerNorm<T> {
    /// A layer over rows of `channels` values; with `affine`, γ = 1 and β = 0 named
    /// `"{prefix}weight"` and `"{prefix}bias"`, as PyTorch initializes them.
    pub fn new(prefix: &str, channels: usize, eps: f64, affine: bool) -> Self {
        let param =
            |name: &str, v: T| Param::new(format!("{prefix}{name}"), Tensor::full(&[channels], v));
        LayerNorm {
            weight: affine.then(|| param("weight", T::ONE)),
            bias: affine.then(|| param("bias", T::ZERO)),
            eps,
            channels,
            x_hat: Tensor::default(),
            inv_std: Vec::new(),
            output: Tensor::default(),
            grad_input: Tensor::default(),
        }
    }

    /// Number of channels C (the normalized row length).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// True when the layer has the learnable γ and β.
    pub fn is_affine(&self) -> bool {
        self.weight.is_some()
    }
}

impl<T: Float> Module<T> for LayerNorm<T> {
    fn describe(&self) -> String {
        if self.is_affine() {
            format!("layernorm({})", self.channels)
        } else {
            format!("layernorm({}, affine=false)", self.channels)
        }
    }

    /// Per row: μ = Σx/C, σ² = Σ(x − μ)²/C, x̂ = (x − μ)/√(σ² + ε), y = γ·x̂ + β.
    fn forward(&mut self, x: &Tensor<T>, _rng: &mut Rng) {
        let c = self.channels;
        assert_eq!(x.cols(), c, "LayerNorm({c}) got {} columns", x.cols());
        self.x_hat.resize(x.shape());
        self.output.resize(x.shape());
        self.inv_std.clear();
        let inv_c = T::ONE / T::from_f64(c.max(1) as f64);
        let eps = T::from_f64(self.eps);
        let gamma = self.weight.as_ref().map(|p| p.value.data());
        let beta = self.bias.as_ref().map(|p| p.value.data());
        for ((xr, hr), yr) in x
            .data()
            .chunks_exact(c)
            .zip(self.x_hat.data_mut().chunks_exact_mut(c))
            .zip(self.output.data_mut().chunks_exact_mut(c))
        {
            let mean = xr.iter().fold(T::ZERO, |s, v| s + *v) * inv_c;
            let var = xr.iter().fold(T::ZERO, |s, v| {
                let d = *v - mean;
                s + d * d
            }) * inv_c;
            let r = T::ONE / (var + eps).sqrt();
            self.inv_std.push(r);
            for j in 0..c {
                let h = (xr[j] - mean) * r;
                hr[j] = h;
                yr[j] = match (gamma, beta) {
                    (Some(g), Some(b)) => g[j] * h + b[j],
                    _ => h,
                };
            }
        }
    }

    /// Accumulates ∂L/∂γ += Σ_rows g·x̂ and ∂L/∂β += Σ_rows g; writes, per row with
    /// ĝ = γ·g and r = 1/√(σ² + ε),
    /// ∂L/∂x = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) — the exact derivative, ε included
    /// (∂x̂_j/∂x_i = r·(δ_ij − 1/C − x̂_i·x̂_j/C)).
    fn backward(&mut self, _x: &Tensor<T>, grad_out: &Tensor<T>, need_input_grad: bool) {
        let c = self.channels;
        if let (Some(w), Some(b)) = (&mut self.weight, &mut self.bias) {
            let (dg, db) = (w.grad.data_mut(), b.grad.data_mut());
            for (gr, hr) in grad_out
                .data()
                .chunks_exact(c)
                .zip(self.x_hat.data().chunks_exact(c))
            {
                for j in 0..c {
                    dg[j] += gr[j] * hr[j];
                    db[j] += gr[j];
                }
            }
        }
        if !need_input_grad {
            return;
        }
        self.grad_input.resize(grad_out.shape());
        let inv_c = T::ONE / T::from_f64(c.max(1) as f64);
        let gamma = self.weight.as_ref().map(|p| p.value.data());
        let g_hat = |gr: &[T], j: usize| gamma.map_or(gr[j], |g| g[j] * gr[j]);
        for (((gr, hr), dr), r) in grad_out
            .data()
            .chunks_exact(c)
            .zip(self.x_hat.data().chunks_exact(c))
            .zip(self.grad_input.data_mut().chunks_exact_mut(c))
            .zip(&self.inv_std)
        {
            let (mut sum_g, mut sum_gx) = (T::ZERO, T::ZERO);
            for (j, h) in hr.iter().enumerate() {
                let g = g_hat(gr, j);
                sum_g += g;
                sum_gx += g * *h;
            }
            let (mean_g, mean_gx) = (sum_g * inv_c, sum_gx * inv_c);
            for (j, (d, h)) in dr.iter_mut().zip(hr).enumerate() {
                *d = *r * (g_hat(gr, j) - mean_g - *h * mean_gx);
            }
        }
    }

    /// The last forward's output.
    fn output(&self) -> &Tensor<T> {
        &self.output
    }

    /// The last backward's ∂L/∂x.
    fn grad_input(&self) -> &Tensor<T> {
        &self.grad_input
    }

    /// γ then β (PyTorch's order); nothing without elementwise affine.
    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>)) {
        self.weight.iter().chain(&self.bias).for_each(f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        self.weight.iter_mut().chain(&mut self.bias).for_each(f);
    }

    /// γ, a per-channel scale (no fan-in: not a weight matrix of the mean-field theory).
    fn weight(&self) -> Option<Weight<'_, T>> {
        self.weight.as_ref().map(|param| Weight {
            param,
            fan_in: None,
            bias: self.bias.as_ref(),
        })
    }

    fn input_width(&self) -> Option<usize> {
        Some(self.channels)
    }
}
