//! [`Recurrent`]: a cell run over a time-major sequence, with explicit backpropagation
//! through time and truncated BPTT.

use super::{add_column_sums, resize, RecurrentCell, StepCache};
use crate::float::Float;
use crate::gemm::{gemm, gemm_serial, MatMut, MatRef};
use crate::param::Param;
use crate::tensor::Tensor;

/// A recurrent state: h `[B, H]`, and c `[B, H]` for an LSTM.
#[derive(Clone, Debug, PartialEq)]
pub struct State<T> {
    /// Hidden state h, `[B, H]`.
    pub h: Tensor<T>,
    /// Cell memory c, `[B, H]` (LSTM only).
    pub c: Option<Tensor<T>>,
}

impl<T: Float> State<T> {
    /// The zero state for a batch of `batch`, width `hidden`, with a memory if `with_c`.
    pub fn zeros(batch: usize, hidden: usize, with_c: bool) -> Self {
        State {
            h: Tensor::zeros(&[batch, hidden]),
            c: with_c.then(|| Tensor::zeros(&[batch, hidden])),
        }
    }
}

/// The gradient of the loss with respect to the layer's outputs.
#[derive(Clone, Copy, Debug)]
pub enum OutputGrad<'a, T> {
    /// Many-to-many: ∂L/∂h_t for every step, `[T, B, H]`.
    All(&'a Tensor<T>),
    /// Many-to-one: ∂L/∂h_T for the last step only, `[B, H]`.
    Last(&'a Tensor<T>),
}

/// The result of [`Recurrent::truncated_bptt`].
#[derive(Clone, Debug)]
pub struct Tbptt<T> {
    /// Every step's h, `[T, B, H]`.
    pub output: Tensor<T>,
    /// ∂L/∂x_t for every step, `[T, B, I]` (within each chunk; nothing crosses a boundary);
    /// empty (`[0, B, I]`) when the layer does not compute ∂L/∂x.
    pub grad_input: Tensor<T>,
    /// ‖∂L/∂h_t‖ for every step of every chunk (one vector per chunk, in time order).
    pub grad_norms: Vec<Vec<f64>>,
    /// The state after the last step.
    pub final_state: State<T>,
}

/// A recurrent layer: runs `cell` over a sequence x of shape `[T, B, I]` (time-major) from an
/// initial state (zero unless given), keeping every step's intermediates for backward.
///
/// The input map gᵢ = x_t·W_ihᵀ + b_ih does not depend on the state: forward computes it for
/// all steps in one product before the time loop, which then only multiplies by W_hh.
/// Backward keeps ∂L/∂gᵢ and ∂L/∂gₕ of every step and forms ∂W_ih, ∂W_hh, the bias gradients
/// and ∂L/∂x after the loop, each as one product over all T·B rows.
#[derive(Clone, Debug)]
pub struct Recurrent<T, C> {
    /// The cell (its parameters accumulate gradients on backward).
    pub cell: C,
    input: Tensor<T>,
    h0: Vec<T>,
    c0: Vec<T>,
    /// True when the last forward started from the zero state (h₀ = 0: the step-0 recurrent
    /// product and its weight-gradient term vanish).
    h0_zero: bool,
    steps: Vec<StepCache<T>>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
    grad_h0: Tensor<T>,
    grad_c0: Tensor<T>,
    grad_norms: Vec<f64>,
    cell_grad_norms: Vec<f64>,
    /// gᵢ for every step, `[T·B, G·H]`.
    gi: Vec<T>,
    /// gₕ of the current step, `[B, G·H]`.
    gh: Vec<T>,
    /// ∂L/∂gᵢ and ∂L/∂gₕ for every step, `[T·B, G·H]` each.
    d_gi: Vec<T>,
    d_gh: Vec<T>,
    dh: Vec<T>,
    dc: Vec<T>,
    dh_prev: Vec<T>,
    dc_prev: Vec<T>,
    need_input_grad: bool,
}

impl<T: Float, C: RecurrentCell<T>> Recurrent<T, C> {
    /// A layer around `cell`.
    pub fn new(cell: C) -> Self {
        Recurrent {
            cell,
            input: Tensor::default(),
            h0: Vec::new(),
            c0: Vec::new(),
            h0_zero: true,
            steps: Vec::new(),
            output: Tensor::default(),
            grad_input: Tensor::default(),
            grad_h0: Tensor::default(),
            grad_c0: Tensor::default(),
            grad_norms: Vec::new(),
            cell_grad_norms: Vec::new(),
            gi: Vec::new(),
            gh: Vec::new(),
            d_gi: Vec::new(),
            d_gh: Vec::new(),
            dh: Vec::new(),
            dc: Vec::new(),
            dh_prev: Vec::new(),
            dc_prev: Vec::new(),
            need_input_grad: true,
        }
    }

    /// Whether backward computes ∂L/∂x ([`Recurrent::grad_input`]); true by default. A first
    /// layer whose input needs no gradient turns it off and saves one product per step; its
    /// `grad_input` is then empty.
    pub fn set_need_input_grad(&mut self, need: bool) {
        self.need_input_grad = need;
    }

    /// Whether backward computes ∂L/∂x.
    pub fn need_input_grad(&self) -> bool {
        self.need_input_grad
    }

    /// Hidden width H.
    pub fn hidden_size(&self) -> usize {
        self.cell.weights().hidden_size()
    }

    /// Input width I.
    pub fn input_size(&self) -> usize {
        self.cell.weights().input_size()
    }

    /// The parameters (weight_ih, weight_hh, bias_ih, bias_hh).
    pub fn params(&self) -> [&Param<T>; 4] {
        self.cell.weights().params()
    }

    /// The parameters, mutably.
    pub fn params_mut(&mut self) -> [&mut Param<T>; 4] {
        self.cell.weights_mut().params_mut()
    }

    /// Sets every parameter gradient to zero.
    pub fn zero_grad(&mut self) {
        self.cell.weights_mut().zero_grad();
    }

    /// Runs the cell over x `[T, B, I]` from `state` (zero if `None`); returns every step's h,
    /// `[T, B, H]`.
    pub fn forward(&mut self, x: &Tensor<T>, state: Option<&State<T>>) -> &Tensor<T> {
        let (i, h) = (self.input_size(), self.hidden_size());
        let shape = x.shape();
        assert!(
            shape.len() == 3 && shape[2] == i,
            "Recurrent(input {i}) needs x of shape [T, B, {i}], got {shape:?}"
        );
        let (len, b) = (shape[0], shape[1]);
        let with_c = self.cell.has_cell_state();
        self.input.assign(x);
        self.h0.clear();
        match state {
            Some(s) => {
                assert_eq!(s.h.shape(), &[b, h], "initial h must be [B, H]");
                self.h0.extend_from_slice(s.h.data());
            }
            None => self.h0.resize(b * h, T::ZERO),
        }
        self.h0_zero = state.is_none();
        self.c0.clear();
        if with_c {
            match state.and_then(|s| s.c.as_ref()) {
                Some(c) => {
                    assert_eq!(c.shape(), &[b, h], "initial c must be [B, H]");
                    self.c0.extend_from_slice(c.data());
                }
                None => self.c0.resize(b * h, T::ZERO),
            }
        }
        let g = self.cell.weights().gates() * h;
        let bg = b * g;
        resize(&mut self.gi, len * bg);
        resize(&mut self.gh, bg);
        self.steps.resize_with(len, StepCache::default);
        self.output.resize(&[len, b, h]);
        let weights = self.cell.weights();
        weights.project_input(len * b, x.data(), &mut self.gi);
        for t in 0..len {
            let (done, rest) = self.steps.split_at_mut(t);
            let (h_prev, c_prev) = match done.last() {
                Some(s) => (&s.h[..], &s.c[..]),
                None => (&self.h0[..], &self.c0[..]),
            };
            if t == 0 && self.h0_zero {
                // h₀ = 0: gₕ is the bias alone.
                for row in self.gh.chunks_exact_mut(g) {
                    row.copy_from_slice(weights.bias_hh.value.data());
                }
            } else {
                weights.project_hidden(b, h_prev, &mut self.gh);
            }
            self.cell.pointwise_forward(
                b,
                &self.gi[t * bg..(t + 1) * bg],
                &self.gh,
                h_prev,
                c_prev,
                &mut rest[0],
            );
            self.output.data_mut()[t * b * h..(t + 1) * b * h].copy_from_slice(&rest[0].h);
        }
        &self.output
    }

    /// Backpropagation through the whole last forward: accumulates the parameter gradients,
    /// writes ∂L/∂x ([`Recurrent::grad_input`], unless turned off with
    /// [`Recurrent::set_need_input_grad`]) and ∂L/∂(initial state)
    /// ([`Recurrent::grad_initial_state`]), and returns ‖∂L/∂h_t‖ for every t (the total
    /// gradient reaching step t: from its own output and from every later step), also kept
    /// as [`Recurrent::grad_norms`].
    pub fn backward(&mut self, grad: OutputGrad<'_, T>) -> Vec<f64> {
        let h = self.hidden_size();
        let len = self.steps.len();
        let b = self.h0.len() / h.max(1);
        let bh = b * h;
        match grad {
            OutputGrad::All(gr) => assert_eq!(gr.shape(), &[len, b, h], "∂L/∂h must be [T, B, H]"),
            OutputGrad::Last(gr) => assert_eq!(gr.shape(), &[b, h], "∂L/∂h_T must be [B, H]"),
        }
        let with_c = self.cell.has_cell_state();
        let g = self.cell.weights().gates() * h;
        let bg = b * g;
        resize(&mut self.d_gi, len * bg);
        resize(&mut self.d_gh, len * bg);
        for v in [&mut self.dh, &mut self.dh_prev] {
            v.clear();
            v.resize(bh, T::ZERO);
        }
        let cn = if with_c { bh } else { 0 };
        for v in [&mut self.dc, &mut self.dc_prev] {
            v.clear();
            v.resize(cn, T::ZERO);
        }
        self.grad_norms.clear();
        self.grad_norms.resize(len, 0.0);
        self.cell_grad_norms.clear();
        self.cell_grad_norms
            .resize(if with_c { len } else { 0 }, 0.0);
        // self.dh holds the gradient arriving at h_t from later steps.
        for t in (0..len).rev() {
            let own = match grad {
                OutputGrad::All(gr) => Some(&gr.data()[t * bh..(t + 1) * bh]),
                OutputGrad::Last(gr) => (t + 1 == len).then(|| gr.data()),
            };
            if let Some(own) = own {
                add_assign(&mut self.dh, own);
            }
            self.grad_norms[t] = sum_squares(&self.dh).sqrt();
            if with_c {
                self.cell_grad_norms[t] = sum_squares(&self.dc).sqrt();
            }
            let (h_prev, c_prev) = if t == 0 {
                (&self.h0[..], &self.c0[..])
            } else {
                (&self.steps[t - 1].h[..], &self.steps[t - 1].c[..])
            };
            let d_gh = &mut self.d_gh[t * bg..(t + 1) * bg];
            self.cell.pointwise_backward(
                &self.steps[t],
                h_prev,
                c_prev,
                &self.dh,
                &self.dc,
                &mut self.d_gi[t * bg..(t + 1) * bg],
                d_gh,
                &mut self.dh_prev,
                &mut self.dc_prev,
            );
            // ∂L/∂h_{t−1} = (direct part) + ∂gₕ·W_hh
            gemm(
                T::ONE,
                MatRef::row_major(d_gh, b, g),
                self.cell.weights().weight_hh.value.mat(),
                T::ONE,
                MatMut::row_major(&mut self.dh_prev, b, h),
            );
            std::mem::swap(&mut self.dh, &mut self.dh_prev);
            std::mem::swap(&mut self.dc, &mut self.dc_prev);
        }
        self.weight_grads(len, b);
        self.grad_h0.resize(&[b, h]);
        self.grad_h0.data_mut().copy_from_slice(&self.dh);
        self.grad_c0.resize(&[b, cn / b.max(1)]);
        self.grad_c0.data_mut().copy_from_slice(&self.dc);
        self.grad_norms.clone()
    }

    /// After the time loop: ∂W_ih += Σ_t ∂gᵢ_tᵀ·x_t, ∂W_hh += Σ_t ∂gₕ_tᵀ·h_{t−1}, the bias
    /// gradients as column sums, and ∂L/∂x = ∂gᵢ·W_ih, each over all T·B rows at once.
    fn weight_grads(&mut self, len: usize, b: usize) {
        let (i, h) = (self.input_size(), self.hidden_size());
        let g = self.cell.weights().gates() * h;
        let rows = len * b;
        let (d_gi, d_gh) = (&self.d_gi[..], &self.d_gh[..]);
        let (x, out, h0, h0_zero) = (
            self.input.data(),
            self.output.data(),
            &self.h0[..],
            self.h0_zero,
        );
        let w = self.cell.weights_mut();
        let (wi, wh, bi, bh) = (
            &mut w.weight_ih,
            &mut w.weight_hh,
            &mut w.bias_ih,
            &mut w.bias_hh,
        );
        // The two weight gradients are independent products of equal size: side by side,
        // each whole on one core (splitting each would pack its operands twice).
        let input_side = || {
            gemm_serial(
                T::ONE,
                MatRef::row_major(d_gi, rows, g).t(),
                MatRef::row_major(x, rows, i),
                T::ONE,
                wi.grad.mat_mut(),
            );
            add_column_sums(d_gi, bi.grad.data_mut());
        };
        let hidden_side = || {
            // h_{t−1} for t ≥ 1 are the outputs of steps 0..T−1, stored contiguously.
            if len > 1 {
                gemm_serial(
                    T::ONE,
                    MatRef::row_major(&d_gh[b * g..], rows - b, g).t(),
                    MatRef::row_major(&out[..(rows - b) * h], rows - b, h),
                    T::ONE,
                    wh.grad.mat_mut(),
                );
            }
            if len > 0 && !h0_zero {
                gemm_serial(
                    T::ONE,
                    MatRef::row_major(&d_gh[..b * g], b, g).t(),
                    MatRef::row_major(h0, b, h),
                    T::ONE,
                    wh.grad.mat_mut(),
                );
            }
            add_column_sums(d_gh, bh.grad.data_mut());
        };
        crate::parallel::join(input_side, hidden_side);
        if self.need_input_grad {
            self.grad_input.resize(&[len, b, i]);
            gemm(
                T::ONE,
                MatRef::row_major(&self.d_gi, rows, g),
                self.cell.weights().weight_ih.value.mat(),
                T::ZERO,
                self.grad_input.mat_mut(),
            );
        } else {
            self.grad_input.resize(&[0, b, i]);
        }
    }

    /// Truncated BPTT over chunks of `k` steps: runs x `[T, B, I]` chunk by chunk from `state`
    /// (zero if `None`), carrying h (and c) forward; after each chunk's forward, `grad_of`
    /// receives the chunk's first step index and outputs `[k', B, H]` and returns ∂L/∂h for
    /// them (same shape), and the chunk is backpropagated on its own: the carried state is a
    /// constant, no gradient crosses a chunk boundary. Parameter gradients accumulate over
    /// all chunks.
    pub fn truncated_bptt(
        &mut self,
        x: &Tensor<T>,
        k: usize,
        state: Option<&State<T>>,
        mut grad_of: impl FnMut(usize, &Tensor<T>) -> Tensor<T>,
    ) -> Tbptt<T> {
        assert!(k > 0, "truncated BPTT needs k >= 1");
        let (i, h) = (self.input_size(), self.hidden_size());
        let shape = x.shape();
        assert!(
            shape.len() == 3 && shape[2] == i,
            "Recurrent(input {i}) needs x of shape [T, B, {i}], got {shape:?}"
        );
        let (len, b) = (shape[0], shape[1]);
        let mut carried = match state {
            Some(s) => s.clone(),
            None => State::zeros(b, h, self.cell.has_cell_state()),
        };
        let mut output = Tensor::zeros(&[len, b, h]);
        let mut grad_input = Tensor::zeros(&[if self.need_input_grad { len } else { 0 }, b, i]);
        let mut grad_norms = Vec::new();
        let mut start = 0;
        while start < len {
            let end = (start + k).min(len);
            let chunk = Tensor::from_vec(
                &[end - start, b, i],
                x.data()[start * b * i..end * b * i].to_vec(),
            )
            .expect("chunk shape");
            let out = self.forward(&chunk, Some(&carried));
            output.data_mut()[start * b * h..end * b * h].copy_from_slice(out.data());
            let g = grad_of(start, out);
            grad_norms.push(self.backward(OutputGrad::All(&g)));
            if self.need_input_grad {
                grad_input.data_mut()[start * b * i..end * b * i]
                    .copy_from_slice(self.grad_input.data());
            }
            carried = self.final_state();
            start = end;
        }
        Tbptt {
            output,
            grad_input,
            grad_norms,
            final_state: carried,
        }
    }

    /// The state after the last forward's final step (the initial state for T = 0).
    pub fn final_state(&self) -> State<T> {
        let h = self.hidden_size();
        let b = self.h0.len() / h.max(1);
        let (hv, cv) = match self.steps.last() {
            Some(s) => (&s.h, &s.c),
            None => (&self.h0, &self.c0),
        };
        State {
            h: Tensor::from_vec(&[b, h], hv.clone()).expect("state shape"),
            c: self
                .cell
                .has_cell_state()
                .then(|| Tensor::from_vec(&[b, h], cv.clone()).expect("state shape")),
        }
    }

    /// The last forward's outputs h_t, `[T, B, H]`.
    pub fn output(&self) -> &Tensor<T> {
        &self.output
    }

    /// The last backward's ∂L/∂x, `[T, B, I]` (`[0, B, I]` when
    /// [`Recurrent::set_need_input_grad`] turned it off).
    pub fn grad_input(&self) -> &Tensor<T> {
        &self.grad_input
    }

    /// The last backward's ∂L/∂h₀ and (LSTM) ∂L/∂c₀, each `[B, H]`.
    pub fn grad_initial_state(&self) -> State<T> {
        State {
            h: self.grad_h0.clone(),
            c: self.cell.has_cell_state().then(|| self.grad_c0.clone()),
        }
    }

    /// The last backward's ‖∂L/∂h_t‖ for t = 0..T (Frobenius norm over the batch).
    pub fn grad_norms(&self) -> &[f64] {
        &self.grad_norms
    }

    /// The last backward's ‖∂L/∂c_t‖ for t = 0..T: the gradient reaching the LSTM memory at
    /// step t from later steps (empty for cells without memory).
    pub fn cell_grad_norms(&self) -> &[f64] {
        &self.cell_grad_norms
    }
}

/// a += b, element-wise.
fn add_assign<T: Float>(a: &mut [T], b: &[T]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += *y;
    }
}

/// Σ vᵢ² in f64, with independent partial sums so the loop vectorizes.
fn sum_squares<T: Float>(v: &[T]) -> f64 {
    const LANES: usize = 16;
    let mut acc = [0.0f64; LANES];
    let chunks = v.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            let x = x.to_f64();
            *a += x * x;
        }
    }
    let mut total: f64 = acc.iter().sum();
    for x in tail {
        total += x.to_f64() * x.to_f64();
    }
    total
}
