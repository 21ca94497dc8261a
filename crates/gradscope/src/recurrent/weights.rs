//! [`CellWeights`]: the affine maps every cell shares, gᵢ = x·W_ihᵀ + b_ih and
//! gₕ = h·W_hhᵀ + b_hh, and their backward.

use crate::float::Float;
use crate::kernels::elementwise::add_column_sums;
use crate::kernels::gemm::{gemm, MatMut, MatRef};
use crate::param::Param;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// The four parameters every cell has, PyTorch layout: W_ih `[G·H, I]`, W_hh `[G·H, H]`,
/// b_ih `[G·H]`, b_hh `[G·H]`.
#[derive(Clone, Debug)]
pub struct CellWeights<T> {
    /// W_ih, `weight_ih_l0`, shape `[G·H, I]`.
    pub weight_ih: Param<T>,
    /// W_hh, `weight_hh_l0`, shape `[G·H, H]`.
    pub weight_hh: Param<T>,
    /// b_ih, `bias_ih_l0`, shape `[G·H]`.
    pub bias_ih: Param<T>,
    /// b_hh, `bias_hh_l0`, shape `[G·H]`.
    pub bias_hh: Param<T>,
    gates: usize,
}

impl<T: Float> CellWeights<T> {
    /// Weights from given tensors (checked against G = `gates`); `prefix` is prepended to
    /// the PyTorch names (`"{prefix}weight_ih_l0"`, ...).
    pub fn new(
        prefix: &str,
        gates: usize,
        weight_ih: Tensor<T>,
        weight_hh: Tensor<T>,
        bias_ih: Tensor<T>,
        bias_hh: Tensor<T>,
    ) -> Self {
        assert!(gates > 0, "a cell has at least one gate");
        assert_eq!(weight_hh.shape().len(), 2, "weight_hh must be [G·H, H]");
        let hidden = weight_hh.shape()[1];
        let gh = gates * hidden;
        assert_eq!(
            weight_hh.shape(),
            &[gh, hidden],
            "weight_hh must be [G·H, H]"
        );
        assert_eq!(weight_ih.shape().len(), 2, "weight_ih must be [G·H, I]");
        assert_eq!(weight_ih.shape()[0], gh, "weight_ih must be [G·H, I]");
        assert_eq!(bias_ih.shape(), &[gh], "bias_ih must be [G·H]");
        assert_eq!(bias_hh.shape(), &[gh], "bias_hh must be [G·H]");
        CellWeights {
            weight_ih: Param::new(format!("{prefix}weight_ih_l0"), weight_ih),
            weight_hh: Param::new(format!("{prefix}weight_hh_l0"), weight_hh),
            bias_ih: Param::new(format!("{prefix}bias_ih_l0"), bias_ih),
            bias_hh: Param::new(format!("{prefix}bias_hh_l0"), bias_hh),
            gates,
        }
    }

    /// PyTorch's default initialization: every parameter from `U[−1/√H, 1/√H]`, drawn in the
    /// order weight_ih, weight_hh, bias_ih, bias_hh.
    pub fn uniform(prefix: &str, gates: usize, input: usize, hidden: usize, rng: &mut Rng) -> Self {
        let k = 1.0 / (hidden.max(1) as f64).sqrt();
        let gh = gates * hidden;
        let mut draw = |shape: &[usize]| {
            let n: usize = shape.iter().product();
            let v: Vec<T> = (0..n).map(|_| T::from_f64(rng.uniform(-k, k))).collect();
            Tensor::from_vec(shape, v).expect("shape and length agree")
        };
        let wi = draw(&[gh, input]);
        let wh = draw(&[gh, hidden]);
        let bi = draw(&[gh]);
        let bh = draw(&[gh]);
        CellWeights::new(prefix, gates, wi, wh, bi, bh)
    }

    /// Number of gates G.
    pub fn gates(&self) -> usize {
        self.gates
    }

    /// Input width I.
    pub fn input_size(&self) -> usize {
        self.weight_ih.value.shape()[1]
    }

    /// Hidden width H.
    pub fn hidden_size(&self) -> usize {
        self.weight_hh.value.shape()[1]
    }

    /// The parameters in PyTorch's order: weight_ih, weight_hh, bias_ih, bias_hh.
    pub fn params(&self) -> [&Param<T>; 4] {
        [
            &self.weight_ih,
            &self.weight_hh,
            &self.bias_ih,
            &self.bias_hh,
        ]
    }

    /// The parameters, mutably, in the order of [`CellWeights::params`].
    pub fn params_mut(&mut self) -> [&mut Param<T>; 4] {
        [
            &mut self.weight_ih,
            &mut self.weight_hh,
            &mut self.bias_ih,
            &mut self.bias_hh,
        ]
    }

    /// Sets every gradient to zero.
    pub fn zero_grad(&mut self) {
        for p in self.params_mut() {
            p.zero_grad();
        }
    }

    /// gᵢ = x·W_ihᵀ + b_ih and gₕ = h·W_hhᵀ + b_hh for a batch of `b` rows (x is `[b, I]`, h
    /// is `[b, H]`, gᵢ and gₕ are `[b, G·H]`).
    pub fn project(&self, b: usize, x: &[T], h: &[T], gi: &mut [T], gh: &mut [T]) {
        self.project_input(b, x, gi);
        self.project_hidden(b, h, gh);
    }

    /// gᵢ = x·W_ihᵀ + b_ih for `rows` rows at once (x is `[rows, I]`, gᵢ is `[rows, G·H]`):
    /// the input map does not depend on the state, so a layer does it for every time step in
    /// one product.
    pub fn project_input(&self, rows: usize, x: &[T], gi: &mut [T]) {
        Self::affine(rows, x, &self.weight_ih, &self.bias_ih, gi);
    }

    /// gₕ = h·W_hhᵀ + b_hh (h is `[b, H]`, gₕ is `[b, G·H]`).
    pub fn project_hidden(&self, b: usize, h: &[T], gh: &mut [T]) {
        Self::affine(b, h, &self.weight_hh, &self.bias_hh, gh);
    }

    /// dst = src·Wᵀ + bias, the bias written first and the product accumulated onto it.
    fn affine(rows: usize, src: &[T], w: &Param<T>, bias: &Param<T>, dst: &mut [T]) {
        let (g, k) = (w.value.shape()[0], w.value.shape()[1]);
        for row in dst.chunks_exact_mut(g) {
            row.copy_from_slice(bias.value.data());
        }
        gemm(
            T::ONE,
            MatRef::row_major(src, rows, k),
            w.value.mat().t(),
            T::ONE,
            MatMut::row_major(dst, rows, g),
        );
    }

    /// Backward of [`CellWeights::project`]: accumulates ∂L/∂W_ih += d_giᵀ·x,
    /// ∂L/∂W_hh += d_ghᵀ·h, ∂L/∂b_ih += Σ d_gi, ∂L/∂b_hh += Σ d_gh; writes dx = d_gi·W_ih
    /// and adds d_gh·W_hh onto `dh` (which holds the direct part of ∂L/∂h on entry).
    #[allow(clippy::too_many_arguments)]
    pub fn project_backward(
        &mut self,
        b: usize,
        x: &[T],
        h: &[T],
        d_gi: &[T],
        d_gh: &[T],
        dx: &mut [T],
        dh: &mut [T],
    ) {
        let (i, hs, g) = (
            self.input_size(),
            self.hidden_size(),
            self.gates * self.hidden_size(),
        );
        let dgi = MatRef::row_major(d_gi, b, g);
        let dgh = MatRef::row_major(d_gh, b, g);
        gemm(
            T::ONE,
            dgi.t(),
            MatRef::row_major(x, b, i),
            T::ONE,
            self.weight_ih.grad.mat_mut(),
        );
        gemm(
            T::ONE,
            dgh.t(),
            MatRef::row_major(h, b, hs),
            T::ONE,
            self.weight_hh.grad.mat_mut(),
        );
        add_column_sums(d_gi, self.bias_ih.grad.data_mut());
        add_column_sums(d_gh, self.bias_hh.grad.data_mut());
        gemm(
            T::ONE,
            dgi,
            self.weight_ih.value.mat(),
            T::ZERO,
            MatMut::row_major(dx, b, i),
        );
        gemm(
            T::ONE,
            dgh,
            self.weight_hh.value.mat(),
            T::ONE,
            MatMut::row_major(dh, b, hs),
        );
    }
}
