//! Dense (fully connected) layer: y = x·Wᵀ + b, with W of shape [out, in] as PyTorch's
//! `nn.Linear`.

use super::{Module, Weight};
use crate::float::Float;
use crate::kernels::gemm::{gemm, gemm_serial};
use crate::param::Param;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// y = x·Wᵀ + b for a batch x of shape `[N, in]`; W is `[out, in]`, b is `[out]`.
#[derive(Clone, Debug)]
pub struct Linear<T> {
    /// W, shape `[out, in]`.
    pub weight: Param<T>,
    /// b, shape `[out]` (absent for a bias-free layer).
    pub bias: Option<Param<T>>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
}

impl<T: Float> Linear<T> {
    /// A layer from its weight `[out, in]` and optional bias `[out]`; `prefix` names the
    /// parameters (`"{prefix}weight"`, `"{prefix}bias"`).
    pub fn new(prefix: &str, weight: Tensor<T>, bias: Option<Tensor<T>>) -> Self {
        assert_eq!(weight.shape().len(), 2, "Linear weight must be [out, in]");
        if let Some(b) = &bias {
            assert_eq!(b.shape(), &[weight.shape()[0]], "Linear bias must be [out]");
        }
        Linear {
            weight: Param::new(format!("{prefix}weight"), weight),
            bias: bias.map(|b| Param::new(format!("{prefix}bias"), b)),
            output: Tensor::default(),
            grad_input: Tensor::default(),
        }
    }

    /// Input width.
    pub fn in_features(&self) -> usize {
        self.weight.value.shape()[1]
    }

    /// Output width.
    pub fn out_features(&self) -> usize {
        self.weight.value.shape()[0]
    }
}

impl<T: Float> Module<T> for Linear<T> {
    fn describe(&self) -> String {
        format!("linear({} -> {})", self.in_features(), self.out_features())
    }

    /// y = x·Wᵀ + b (the bias is written first, then the product accumulated onto it).
    fn forward(&mut self, x: &Tensor<T>, _rng: &mut Rng) {
        let (n, out) = (x.rows(), self.out_features());
        assert_eq!(
            x.cols(),
            self.in_features(),
            "Linear({} -> {out}) got input with {} columns",
            self.in_features(),
            x.cols()
        );
        self.output.resize(&[n, out]);
        let beta = match &self.bias {
            Some(b) => {
                for row in self.output.data_mut().chunks_exact_mut(out) {
                    row.copy_from_slice(b.value.data());
                }
                T::ONE
            }
            None => T::ZERO,
        };
        gemm(
            T::ONE,
            x.mat(),
            self.weight.value.mat().t(),
            beta,
            self.output.mat_mut(),
        );
    }

    /// Accumulates ∂L/∂W += gᵀ·x and ∂L/∂b += Σ_rows g; if `need_input_grad`, writes
    /// ∂L/∂x = g·W.
    fn backward(&mut self, x: &Tensor<T>, grad_out: &Tensor<T>, need_input_grad: bool) {
        let out = self.out_features();
        let in_features = self.in_features();
        let Linear {
            weight,
            bias,
            grad_input,
            ..
        } = self;
        // ∂L/∂W and ∂L/∂x are independent products: for large layers run them side by side,
        // each whole on one core (splitting them further would only repeat the packing of
        // their operands).
        let parallel = need_input_grad
            && x.rows() * in_features * out >= crate::kernels::gemm::PARALLEL_MIN_WORK;
        let product = if parallel { gemm_serial } else { gemm };
        let mut weight_grads = || {
            product(
                T::ONE,
                grad_out.mat().t(),
                x.mat(),
                T::ONE,
                weight.grad.mat_mut(),
            );
        };
        if need_input_grad {
            grad_input.resize(&[x.rows(), in_features]);
            let w = &weight.value;
            let mut input_grads = || {
                product(
                    T::ONE,
                    grad_out.mat(),
                    w.mat(),
                    T::ZERO,
                    grad_input.mat_mut(),
                )
            };
            if parallel {
                crate::kernels::parallel::join(weight_grads, input_grads);
            } else {
                weight_grads();
                input_grads();
            }
        } else {
            weight_grads();
        }
        if let Some(b) = bias {
            let db = b.grad.data_mut();
            for row in grad_out.data().chunks_exact(out) {
                for (d, g) in db.iter_mut().zip(row) {
                    *d += *g;
                }
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

    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>)) {
        f(&self.weight);
        if let Some(b) = &self.bias {
            f(b);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&mut Param<T>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }

    fn weight(&self) -> Option<Weight<'_, T>> {
        Some(Weight {
            param: &self.weight,
            fan_in: Some(self.in_features()),
            bias: self.bias.as_ref(),
        })
    }

    fn input_width(&self) -> Option<usize> {
        Some(self.in_features())
    }
}
