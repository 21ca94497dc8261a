//! 1-D batch normalization over the batch dimension of [N, C] inputs, with PyTorch's
//! `nn.BatchNorm1d` semantics (eps, momentum, biased variance for normalizing, unbiased for
//! the running estimate).

use super::{Module, Weight};
use crate::float::Float;
use crate::param::Param;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// y = γ·x̂ + β with x̂ = (x − μ)/√(σ² + ε) per channel (column).
///
/// Training: μ, σ² are the batch mean and biased variance; the running estimates move as
/// r ← (1 − momentum)·r + momentum·s with s the batch mean and the *unbiased* batch variance
/// σ²·N/(N − 1). Evaluation: μ, σ² are the running estimates.
#[derive(Clone, Debug)]
pub struct BatchNorm1d<T> {
    /// γ, shape `[C]` (PyTorch `weight`).
    pub weight: Param<T>,
    /// β, shape `[C]` (PyTorch `bias`).
    pub bias: Param<T>,
    /// Running mean, shape `[C]` (a buffer, not learned).
    pub running_mean: Tensor<T>,
    /// Running variance, shape `[C]` (a buffer, not learned).
    pub running_var: Tensor<T>,
    /// Number of training batches seen (PyTorch `num_batches_tracked`).
    pub num_batches_tracked: u64,
    /// ε added to the variance.
    pub eps: f64,
    /// Weight of the new batch in the running estimates.
    pub momentum: f64,
    training: bool,
    x_hat: Tensor<T>,
    inv_std: Vec<T>,
    sums: Vec<T>,
    sum_g: Vec<T>,
    sum_gx: Vec<T>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
}

impl<T: Float> BatchNorm1d<T> {
    /// γ = 1, β = 0, running mean 0 and variance 1, as PyTorch initializes them.
    pub fn new(prefix: &str, channels: usize, eps: f64, momentum: f64) -> Self {
        BatchNorm1d {
            weight: Param::new(format!("{prefix}weight"), Tensor::full(&[channels], T::ONE)),
            bias: Param::new(format!("{prefix}bias"), Tensor::zeros(&[channels])),
            running_mean: Tensor::zeros(&[channels]),
            running_var: Tensor::full(&[channels], T::ONE),
            num_batches_tracked: 0,
            eps,
            momentum,
            training: true,
            x_hat: Tensor::default(),
            inv_std: Vec::new(),
            sums: Vec::new(),
            sum_g: Vec::new(),
            sum_gx: Vec::new(),
            output: Tensor::default(),
            grad_input: Tensor::default(),
        }
    }

    /// Number of channels C.
    pub fn channels(&self) -> usize {
        self.weight.value.len()
    }

    /// The state-dict prefix of its parameters (`"3."` for `"3.weight"`).
    fn prefix(&self) -> String {
        self.weight.name.trim_end_matches("weight").to_string()
    }
}

impl<T: Float> Module<T> for BatchNorm1d<T> {
    fn describe(&self) -> String {
        format!("batchnorm1d({})", self.channels())
    }

    /// y = γ·x̂ + β. A training batch of one sample has no variance: its output is β and the
    /// running estimates are left unchanged (PyTorch refuses such a batch).
    fn forward(&mut self, x: &Tensor<T>, _rng: &mut Rng) {
        let c = self.channels();
        assert_eq!(x.cols(), c, "BatchNorm1d({c}) got {} columns", x.cols());
        let n = x.rows();
        self.x_hat.resize(x.shape());
        self.output.resize(x.shape());
        self.inv_std.resize(c, T::ZERO);
        let eps = T::from_f64(self.eps);
        if self.training {
            let mean = &mut self.sums;
            mean.clear();
            mean.resize(c, T::ZERO);
            for row in x.data().chunks_exact(c) {
                for (m, v) in mean.iter_mut().zip(row) {
                    *m += *v;
                }
            }
            let inv_n = T::ONE / T::from_f64(n.max(1) as f64);
            mean.iter_mut().for_each(|m| *m *= inv_n);
            let var = &mut self.inv_std;
            var.iter_mut().for_each(|v| *v = T::ZERO);
            for row in x.data().chunks_exact(c) {
                for ((s, v), m) in var.iter_mut().zip(row).zip(mean.iter()) {
                    let d = *v - *m;
                    *s += d * d;
                }
            }
            var.iter_mut().for_each(|v| *v *= inv_n);
            if n > 1 {
                let mo = T::from_f64(self.momentum);
                let unbias = T::from_f64(n as f64 / (n as f64 - 1.0));
                for (((rm, rv), m), v) in self
                    .running_mean
                    .data_mut()
                    .iter_mut()
                    .zip(self.running_var.data_mut().iter_mut())
                    .zip(mean.iter())
                    .zip(var.iter())
                {
                    *rm = (T::ONE - mo) * *rm + mo * *m;
                    *rv = (T::ONE - mo) * *rv + mo * *v * unbias;
                }
                self.num_batches_tracked += 1;
            }
            var.iter_mut().for_each(|v| *v = T::ONE / (*v + eps).sqrt());
        } else {
            self.sums.clear();
            self.sums.extend_from_slice(self.running_mean.data());
            for (s, v) in self.inv_std.iter_mut().zip(self.running_var.data()) {
                *s = T::ONE / (*v + eps).sqrt();
            }
        }
        let (gamma, beta) = (self.weight.value.data(), self.bias.value.data());
        for ((xr, hr), yr) in x
            .data()
            .chunks_exact(c)
            .zip(self.x_hat.data_mut().chunks_exact_mut(c))
            .zip(self.output.data_mut().chunks_exact_mut(c))
        {
            for j in 0..c {
                let h = (xr[j] - self.sums[j]) * self.inv_std[j];
                hr[j] = h;
                yr[j] = gamma[j] * h + beta[j];
            }
        }
    }

    /// Accumulates ∂L/∂γ += Σ g·x̂ and ∂L/∂β += Σ g; writes ∂L/∂x. Training:
    /// ∂L/∂x = γ/(N·√(σ²+ε)) · (N·g − Σg − x̂·Σ(g·x̂)); evaluation: ∂L/∂x = γ·g/√(σ²+ε).
    fn backward(&mut self, _x: &Tensor<T>, grad_out: &Tensor<T>, _need_input_grad: bool) {
        let c = self.channels();
        let n = grad_out.rows();
        self.grad_input.resize(grad_out.shape());
        let (sum_g, sum_gx) = (&mut self.sum_g, &mut self.sum_gx);
        sum_g.clear();
        sum_g.resize(c, T::ZERO);
        sum_gx.clear();
        sum_gx.resize(c, T::ZERO);
        for (gr, hr) in grad_out
            .data()
            .chunks_exact(c)
            .zip(self.x_hat.data().chunks_exact(c))
        {
            for j in 0..c {
                sum_g[j] += gr[j];
                sum_gx[j] += gr[j] * hr[j];
            }
        }
        for ((db, dg), (sg, sgx)) in self
            .bias
            .grad
            .data_mut()
            .iter_mut()
            .zip(self.weight.grad.data_mut().iter_mut())
            .zip(sum_g.iter().zip(sum_gx.iter()))
        {
            *db += *sg;
            *dg += *sgx;
        }
        let gamma = self.weight.value.data();
        let nf = T::from_f64(n as f64);
        let batch_stats = self.training && n > 1;
        for ((gr, hr), dr) in grad_out
            .data()
            .chunks_exact(c)
            .zip(self.x_hat.data().chunks_exact(c))
            .zip(self.grad_input.data_mut().chunks_exact_mut(c))
        {
            for j in 0..c {
                let k = gamma[j] * self.inv_std[j];
                dr[j] = if batch_stats {
                    k / nf * (nf * gr[j] - sum_g[j] - hr[j] * sum_gx[j])
                } else if self.training {
                    T::ZERO
                } else {
                    k * gr[j]
                };
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

    /// Train (batch statistics) or eval (running statistics) mode.
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>)) {
        f(&self.weight);
        f(&self.bias);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        f(&mut self.weight);
        f(&mut self.bias);
    }

    /// γ, β, then the buffers `running_mean`, `running_var`, `num_batches_tracked`.
    fn state_entries(&self, out: &mut Vec<(String, Tensor<T>)>) {
        let prefix = self.prefix();
        out.push((self.weight.name.clone(), self.weight.value.clone()));
        out.push((self.bias.name.clone(), self.bias.value.clone()));
        out.push((format!("{prefix}running_mean"), self.running_mean.clone()));
        out.push((format!("{prefix}running_var"), self.running_var.clone()));
        out.push((
            format!("{prefix}num_batches_tracked"),
            Tensor::full(&[], T::from_f64(self.num_batches_tracked as f64)),
        ));
    }

    fn load_state_entries(&mut self, find: &dyn Fn(&str) -> Option<Tensor<T>>) {
        let prefix = self.prefix();
        if let Some(v) = find(&self.weight.name) {
            self.weight.value = v;
        }
        if let Some(v) = find(&self.bias.name) {
            self.bias.value = v;
        }
        if let Some(v) = find(&format!("{prefix}running_mean")) {
            self.running_mean = v;
        }
        if let Some(v) = find(&format!("{prefix}running_var")) {
            self.running_var = v;
        }
        if let Some(v) = find(&format!("{prefix}num_batches_tracked")) {
            self.num_batches_tracked = v.data().first().map_or(0, |n| n.to_f64() as u64);
        }
    }

    fn weight(&self) -> Option<Weight<'_, T>> {
        Some(Weight {
            param: &self.weight,
            fan_in: None,
            bias: Some(&self.bias),
        })
    }

    fn input_width(&self) -> Option<usize> {
        Some(self.channels())
    }
}
