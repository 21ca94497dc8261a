//! [`UnrolledLayer`]: a cell run over a time-major sequence, with explicit backpropagation
//! through time and truncated BPTT.

use super::{resize, RecurrentCell, StepCache};
use crate::float::{DType, Float};
use crate::kernels::elementwise::{add_assign, add_column_sums, max_abs, sum_squares, transpose};
use crate::kernels::gemm::{gemm, gemm_serial, MatMut, MatRef};
use crate::param::Param;
use crate::tensor::Tensor;

/// A recurrent state: h `[B, H]`, and c `[B, H]` for an LSTM.
#[derive(Clone, Debug, PartialEq)]
pub struct HiddenState<T> {
    /// Hidden state h, `[B, H]`.
    pub h: Tensor<T>,
    /// Cell memory c, `[B, H]` (LSTM only).
    pub c: Option<Tensor<T>>,
}

impl<T: Float> HiddenState<T> {
    /// The zero state for a batch of `batch`, width `hidden`, with a memory if `with_c`.
    pub fn zeros(batch: usize, hidden: usize, with_c: bool) -> Self {
        HiddenState {
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

/// The result of [`UnrolledLayer::truncated_bptt`].
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
    pub final_state: HiddenState<T>,
}

/// Batch sizes from which forward and backward run the time loop as two independent halves
/// of the batch, one per core (rows never interact: each half carries its own state, caches
/// and gradients). Below 17 rows there is nothing to gain: the f32 product kernel works on
/// tiles of 16 rows, and a per-step product of fewer rows costs as much as one of 16.
const SPLIT_MIN_ROWS: usize = 17;

/// One block of batch rows, run through time on its own core.
#[derive(Clone, Debug, Default)]
struct Part<T> {
    /// First batch row.
    start: usize,
    /// Number of rows.
    rows: usize,
    /// Every step's intermediates for these rows.
    steps: Vec<StepCache<T>>,
    /// gₕ of the current step, `[rows, G·H]`.
    gh: Vec<T>,
    /// 2^e × ∂L/∂h_t, ∂L/∂c_t arriving from later steps, and the next ones.
    dh: Vec<T>,
    dc: Vec<T>,
    dh_prev: Vec<T>,
    dc_prev: Vec<T>,
    /// e_t for every step: this part's ∂L/∂gᵢ, ∂L/∂gₕ of step t are 2^(e_t) × their value.
    scale: Vec<i32>,
    /// ‖2^(e_t) ∂L/∂h_t‖² and ‖2^(e_t) ∂L/∂c_t‖² over these rows, for every step.
    ss: Vec<f64>,
    sc: Vec<f64>,
    /// ∂b_ih, ∂b_hh over these rows (column sums of ∂L/∂gᵢ, ∂L/∂gₕ, taken while the rows
    /// are still in cache), and the running sums at the current scale 2^(`db_e`).
    dbi: Vec<T>,
    dbh: Vec<T>,
    dbi_acc: Vec<T>,
    dbh_acc: Vec<T>,
    db_e: i32,
}

impl<T: Float> Part<T> {
    /// Adds the running bias sums, unscaled, to the totals and clears them.
    fn flush_bias_sums(&mut self) {
        for (total, acc) in [
            (&mut self.dbi, &mut self.dbi_acc),
            (&mut self.dbh, &mut self.dbh_acc),
        ] {
            if self.db_e == 0 {
                add_assign(total, acc);
            } else {
                add_scaled_down(total, acc, self.db_e);
            }
            acc.fill(T::ZERO);
        }
    }
}

/// A product C ← α·A·B + β·C ([`gemm`] or [`gemm_serial`]).
type Product<T> = for<'a, 'b, 'c> fn(T, MatRef<'a, T>, MatRef<'b, T>, T, MatMut<'c, T>);

/// A recurrent layer: runs `cell` over a sequence x of shape `[T, B, I]` (time-major) from an
/// initial state (zero unless given), keeping every step's intermediates for backward.
///
/// The input map gᵢ = x_t·W_ihᵀ + b_ih does not depend on the state: forward computes it for
/// all steps in one product before the time loop, which then only multiplies by W_hh.
/// Backward keeps ∂L/∂gᵢ and ∂L/∂gₕ of every step and forms ∂W_ih, ∂W_hh, the bias gradients
/// and ∂L/∂x after the loop, each as one product over all T·B rows. From 17 batch rows on
/// (and with two cores) the time loops run as two independent halves of the batch, one per
/// core, with no synchronization between steps.
#[derive(Clone, Debug)]
pub struct UnrolledLayer<T, C> {
    /// The cell (its parameters accumulate gradients on backward).
    pub cell: C,
    input: Tensor<T>,
    h0: Vec<T>,
    c0: Vec<T>,
    /// True when the last forward started from the zero state (h₀ = 0: the step-0 recurrent
    /// product and its weight-gradient term vanish).
    h0_zero: bool,
    /// Number of steps of the last forward.
    len: usize,
    /// The batch's row blocks (one, or two run on two cores).
    parts: Vec<Part<T>>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
    grad_h0: Tensor<T>,
    grad_c0: Tensor<T>,
    grad_norms: Vec<f64>,
    cell_grad_norms: Vec<f64>,
    /// gᵢ for every step, `[T·B, G·H]`.
    gi: Vec<T>,
    /// W_hhᵀ, `[H, G·H]` row-major: the per-step product h·W_hhᵀ then reads its right
    /// operand row by row, which the GEMM packs faster than a transposed view.
    whh_t: Vec<T>,
    /// ∂L/∂gᵢ and ∂L/∂gₕ for every step, `[T·B, G·H]` each.
    d_gi: Vec<T>,
    d_gh: Vec<T>,
    /// e_t for every step: ∂L/∂gᵢ and ∂L/∂gₕ of step t are stored as 2^(e_t) × their value.
    step_scale: Vec<i32>,
    /// Runs of steps sharing a scale: (first step, end step, e).
    groups: Vec<(usize, usize, i32)>,
    /// Per-group products of scaled steps: ∂W_ih, ∂W_hh parts.
    tmp_ih: Vec<T>,
    tmp_hh: Vec<T>,
    /// b_ih + b_hh (for cells that use only gᵢ + gₕ).
    bias_sum: Vec<T>,
    need_input_grad: bool,
    truncate: Option<usize>,
    /// At most this many parts (2; 1 in tests that compare against the unsplit loop).
    max_parts: usize,
}

impl<T: Float, C: RecurrentCell<T>> UnrolledLayer<T, C> {
    /// A layer around `cell`.
    pub fn new(cell: C) -> Self {
        UnrolledLayer {
            cell,
            input: Tensor::default(),
            h0: Vec::new(),
            c0: Vec::new(),
            h0_zero: true,
            len: 0,
            parts: Vec::new(),
            output: Tensor::default(),
            grad_input: Tensor::default(),
            grad_h0: Tensor::default(),
            grad_c0: Tensor::default(),
            grad_norms: Vec::new(),
            cell_grad_norms: Vec::new(),
            gi: Vec::new(),
            whh_t: Vec::new(),
            d_gi: Vec::new(),
            d_gh: Vec::new(),
            step_scale: Vec::new(),
            groups: Vec::new(),
            tmp_ih: Vec::new(),
            tmp_hh: Vec::new(),
            bias_sum: Vec::new(),
            need_input_grad: true,
            truncate: None,
            max_parts: 2,
        }
    }

    /// Truncated BPTT inside one backward: with `Some(k)` no gradient crosses from step k·j
    /// to step k·j − 1 (chunks [0, k), [k, 2k), …), exactly as if each chunk were
    /// backpropagated alone from the carried state (see [`UnrolledLayer::truncated_bptt`]), while
    /// the forward still runs the whole sequence. `None` (the default) is full BPTT.
    pub fn set_truncation(&mut self, k: Option<usize>) {
        assert!(k != Some(0), "truncated BPTT needs k >= 1");
        self.truncate = k;
    }

    /// Whether backward computes ∂L/∂x ([`UnrolledLayer::grad_input`]); true by default. A first
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
    pub fn forward(&mut self, x: &Tensor<T>, state: Option<&HiddenState<T>>) -> &Tensor<T> {
        let (i, h) = (self.input_size(), self.hidden_size());
        let shape = x.shape();
        assert!(
            shape.len() == 3 && shape[2] == i,
            "UnrolledLayer(input {i}) needs x of shape [T, B, {i}], got {shape:?}"
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
        self.len = len;
        let g = self.cell.weights().gates() * h;
        resize(&mut self.gi, len * b * g);
        self.output.resize(&[len, b, h]);
        let sum_only = self.cell.uses_sum_only();
        {
            let w = self.cell.weights();
            resize(&mut self.bias_sum, g);
            self.bias_sum.copy_from_slice(w.bias_ih.value.data());
            if sum_only {
                // a = gᵢ + gₕ is formed in place: both biases now, h·W_hhᵀ per step.
                add_assign(&mut self.bias_sum, w.bias_hh.value.data());
            }
            input_projection(
                len * b,
                x.data(),
                w.weight_ih.value.mat(),
                &self.bias_sum,
                &mut self.gi,
            );
        }
        let nparts =
            if self.max_parts > 1 && b >= SPLIT_MIN_ROWS && crate::kernels::parallel::available() {
                2
            } else {
                1
            };
        let first = b.div_ceil(nparts);
        self.parts.resize_with(nparts, Part::default);
        for (p, part) in self.parts.iter_mut().enumerate() {
            part.start = p * first;
            part.rows = first.min(b - p * first);
        }
        resize(&mut self.whh_t, g * h);
        transpose(
            self.cell.weights().weight_hh.value.data(),
            g,
            h,
            &mut self.whh_t,
        );
        let cell = &self.cell;
        let (h0, c0, h0_zero) = (&self.h0[..], &self.c0[..], self.h0_zero);
        let whh_t = MatRef::row_major(&self.whh_t, h, g);
        let (gi0, gi1) = split_steps(&mut self.gi, b * g, first * g);
        let (out0, out1) = split_steps(self.output.data_mut(), b * h, first * h);
        match &mut self.parts[..] {
            [p0] => forward_part(cell, p0, gi0, whh_t, h0, c0, h0_zero, out0, gemm),
            [p0, p1] => crate::kernels::parallel::join(
                || forward_part(cell, p0, gi0, whh_t, h0, c0, h0_zero, out0, gemm_serial),
                || forward_part(cell, p1, gi1, whh_t, h0, c0, h0_zero, out1, gemm_serial),
            ),
            _ => unreachable!("one or two parts"),
        }
        &self.output
    }

    /// Backpropagation through the whole last forward: accumulates the parameter gradients,
    /// writes ∂L/∂x ([`UnrolledLayer::grad_input`], unless turned off with
    /// [`UnrolledLayer::set_need_input_grad`]) and ∂L/∂(initial state)
    /// ([`UnrolledLayer::grad_initial_state`]), and returns ‖∂L/∂h_t‖ for every t (the total
    /// gradient reaching step t: from its own output and from every later step), also kept
    /// as [`UnrolledLayer::grad_norms`].
    ///
    /// A vanishing gradient soon reaches the subnormal range of the float type, where every
    /// multiply costs a microcode assist (a product of 32×128 by 128×128 in f32 goes from
    /// 9 µs to 1.1 ms). So the gradient carried back through time is kept in range: when its
    /// norm falls below 2⁻ˢ (s = 40 for f32, 300 for f64) it is multiplied by 2ˢ, and each
    /// step's ∂L/∂gᵢ, ∂L/∂gₕ remember their power of two, taken out again when they enter
    /// the parameter and input gradients. Powers of two are exact: as long as no rescaling
    /// happens the result is bit for bit the plain computation's; when it does, the norms
    /// ‖∂L/∂h_t‖ stay exact far below the type's range, the steps of each scale are summed
    /// in their own product (equal up to rounding), and contributions that would be
    /// subnormal are flushed to zero.
    pub fn backward(&mut self, grad: OutputGrad<'_, T>) -> Vec<f64> {
        let h = self.hidden_size();
        let len = self.len;
        let b = self.h0.len() / h.max(1);
        match grad {
            OutputGrad::All(gr) => assert_eq!(gr.shape(), &[len, b, h], "∂L/∂h must be [T, B, H]"),
            OutputGrad::Last(gr) => assert_eq!(gr.shape(), &[b, h], "∂L/∂h_T must be [B, H]"),
        }
        let with_c = self.cell.has_cell_state();
        let g = self.cell.weights().gates() * h;
        let shared = self.cell.uses_sum_only();
        resize(&mut self.d_gi, len * b * g);
        resize(&mut self.d_gh, if shared { 0 } else { len * b * g });
        let first = self.parts.first().map_or(b, |p| p.rows);
        let cell = &self.cell;
        let (h0, c0, truncate) = (&self.h0[..], &self.c0[..], self.truncate);
        let (gi0, gi1) = split_steps(&mut self.d_gi, b * g, first * g);
        let (gh0, gh1) = if shared {
            (Vec::new(), Vec::new())
        } else {
            split_steps(&mut self.d_gh, b * g, first * g)
        };
        match &mut self.parts[..] {
            [p0] => backward_part(cell, p0, b, grad, h0, c0, truncate, gi0, gh0, gemm),
            [p0, p1] => crate::kernels::parallel::join(
                || backward_part(cell, p0, b, grad, h0, c0, truncate, gi0, gh0, gemm_serial),
                || backward_part(cell, p1, b, grad, h0, c0, truncate, gi1, gh1, gemm_serial),
            ),
            _ => unreachable!("one or two parts"),
        }
        // Per step: the norms over the whole batch, and one scale for all rows (the parts'
        // rows brought down to the smallest exponent, what would be subnormal flushed).
        self.grad_norms.clear();
        self.cell_grad_norms.clear();
        self.step_scale.clear();
        for t in 0..len {
            let norm = |sq: fn(&Part<T>) -> &[f64]| {
                let mut it = self
                    .parts
                    .iter()
                    .map(|p| sq(p)[t].sqrt() * pow2(-p.scale[t]));
                let first = it.next().unwrap_or(0.0);
                it.fold(first, f64::hypot)
            };
            self.grad_norms.push(norm(|p| &p.ss));
            if with_c {
                self.cell_grad_norms.push(norm(|p| &p.sc));
            }
            let e = self.parts.iter().map(|p| p.scale[t]).min().unwrap_or(0);
            for p in &self.parts {
                if p.scale[t] > e {
                    let rows = (t * b + p.start) * g..(t * b + p.start + p.rows) * g;
                    scale_down(&mut self.d_gi[rows.clone()], p.scale[t] - e);
                    if !shared {
                        scale_down(&mut self.d_gh[rows], p.scale[t] - e);
                    }
                }
            }
            self.step_scale.push(e);
        }
        self.weight_grads(len, b);
        self.grad_h0.resize(&[b, h]);
        self.grad_c0.resize(&[b, if with_c { h } else { 0 }]);
        for p in &self.parts {
            let rows = p.start * h..(p.start + p.rows) * h;
            self.grad_h0.data_mut()[rows.clone()].copy_from_slice(&p.dh);
            if with_c {
                self.grad_c0.data_mut()[rows].copy_from_slice(&p.dc);
            }
        }
        self.grad_norms.clone()
    }

    /// After the time loop: ∂W_ih += Σ_t ∂gᵢ_tᵀ·x_t, ∂W_hh += Σ_t ∂gₕ_tᵀ·h_{t−1}, the bias
    /// gradients as column sums, and ∂L/∂x = ∂gᵢ·W_ih, each one product over all the steps
    /// that share a scale (usually all T·B rows, a few groups when the gradient vanished).
    fn weight_grads(&mut self, len: usize, b: usize) {
        let (i, h) = (self.input_size(), self.hidden_size());
        let g = self.cell.weights().gates() * h;
        self.groups.clear();
        for (t, &e) in self.step_scale.iter().enumerate() {
            match self.groups.last_mut() {
                Some(last) if last.2 == e => last.1 = t + 1,
                _ => self.groups.push((t, t + 1, e)),
            }
        }
        let scaled = self.groups.iter().any(|grp| grp.2 != 0);
        for (v, n) in [(&mut self.tmp_ih, g * i), (&mut self.tmp_hh, g * h)] {
            resize(v, if scaled { n } else { 0 });
        }
        // A cell that uses only gᵢ + gₕ has ∂L/∂gₕ = ∂L/∂gᵢ: one buffer, one bias sum.
        let shared = self.d_gh.is_empty();
        let groups = &self.groups[..];
        let d_gi = &self.d_gi[..];
        let d_gh = if shared { d_gi } else { &self.d_gh[..] };
        let (x, out, h0, h0_zero) = (
            self.input.data(),
            self.output.data(),
            &self.h0[..],
            self.h0_zero,
        );
        let (tmp_ih, tmp_hh) = (&mut self.tmp_ih, &mut self.tmp_hh);
        let w = self.cell.weights_mut();
        let (wi, wh) = (&mut w.weight_ih, &mut w.weight_hh);
        // The two weight gradients are independent products of equal size: side by side,
        // each whole on one core (splitting each would pack its operands twice).
        let input_side = || {
            for &(t0, t1, e) in groups {
                let rows = (t1 - t0) * b;
                let dg = &d_gi[t0 * b * g..t1 * b * g];
                let xs = &x[t0 * b * i..t1 * b * i];
                let wgrad = if e == 0 {
                    wi.grad.data_mut()
                } else {
                    tmp_ih.fill(T::ZERO);
                    &mut tmp_ih[..]
                };
                gemm_serial(
                    T::ONE,
                    MatRef::row_major(dg, rows, g).t(),
                    MatRef::row_major(xs, rows, i),
                    T::ONE,
                    MatMut::row_major(wgrad, g, i),
                );
                if e != 0 {
                    add_scaled_down(wi.grad.data_mut(), tmp_ih, e);
                }
            }
        };
        let hidden_side = || {
            for &(t0, t1, e) in groups {
                let wgrad = if e == 0 {
                    wh.grad.data_mut()
                } else {
                    tmp_hh.fill(T::ZERO);
                    &mut tmp_hh[..]
                };
                // h_{t−1} for t ≥ 1 are the outputs of steps 0..T−1, stored contiguously.
                let first = t0.max(1);
                if t1 > first {
                    let rows = (t1 - first) * b;
                    gemm_serial(
                        T::ONE,
                        MatRef::row_major(&d_gh[first * b * g..t1 * b * g], rows, g).t(),
                        MatRef::row_major(&out[(first - 1) * b * h..(t1 - 1) * b * h], rows, h),
                        T::ONE,
                        MatMut::row_major(&mut *wgrad, g, h),
                    );
                }
                if t0 == 0 && !h0_zero {
                    gemm_serial(
                        T::ONE,
                        MatRef::row_major(&d_gh[..b * g], b, g).t(),
                        MatRef::row_major(h0, b, h),
                        T::ONE,
                        MatMut::row_major(wgrad, g, h),
                    );
                }
                if e != 0 {
                    add_scaled_down(wh.grad.data_mut(), tmp_hh, e);
                }
            }
        };
        crate::kernels::parallel::join(input_side, hidden_side);
        // The bias gradients, summed per part during the time loop.
        let w = self.cell.weights_mut();
        for p in &self.parts {
            add_assign(w.bias_ih.grad.data_mut(), &p.dbi);
            let dbh = if shared { &p.dbi } else { &p.dbh };
            add_assign(w.bias_hh.grad.data_mut(), dbh);
        }
        if self.need_input_grad {
            self.grad_input.resize(&[len, b, i]);
            let wi = self.cell.weights().weight_ih.value.mat();
            for &(t0, t1, e) in &self.groups {
                let rows = (t1 - t0) * b;
                let dx = &mut self.grad_input.data_mut()[t0 * b * i..t1 * b * i];
                gemm(
                    T::ONE,
                    MatRef::row_major(&self.d_gi[t0 * b * g..t1 * b * g], rows, g),
                    wi,
                    T::ZERO,
                    MatMut::row_major(&mut *dx, rows, i),
                );
                scale_down(dx, e);
            }
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
        state: Option<&HiddenState<T>>,
        mut grad_of: impl FnMut(usize, &Tensor<T>) -> Tensor<T>,
    ) -> Tbptt<T> {
        assert!(k > 0, "truncated BPTT needs k >= 1");
        let (i, h) = (self.input_size(), self.hidden_size());
        let shape = x.shape();
        assert!(
            shape.len() == 3 && shape[2] == i,
            "UnrolledLayer(input {i}) needs x of shape [T, B, {i}], got {shape:?}"
        );
        let (len, b) = (shape[0], shape[1]);
        let mut carried = match state {
            Some(s) => s.clone(),
            None => HiddenState::zeros(b, h, self.cell.has_cell_state()),
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
    pub fn final_state(&self) -> HiddenState<T> {
        let h = self.hidden_size();
        let b = self.h0.len() / h.max(1);
        let (hv, cv) = if self.len == 0 {
            (self.h0.clone(), self.c0.clone())
        } else {
            let out = self.output.data();
            let mut c = Vec::with_capacity(self.c0.len());
            for p in &self.parts {
                c.extend_from_slice(&p.steps[self.len - 1].c);
            }
            (out[(self.len - 1) * b * h..].to_vec(), c)
        };
        HiddenState {
            h: Tensor::from_vec(&[b, h], hv).expect("state shape"),
            c: self
                .cell
                .has_cell_state()
                .then(|| Tensor::from_vec(&[b, h], cv).expect("state shape")),
        }
    }

    /// The last forward's outputs h_t, `[T, B, H]`.
    pub fn output(&self) -> &Tensor<T> {
        &self.output
    }

    /// The last backward's ∂L/∂x, `[T, B, I]` (`[0, B, I]` when
    /// [`UnrolledLayer::set_need_input_grad`] turned it off).
    pub fn grad_input(&self) -> &Tensor<T> {
        &self.grad_input
    }

    /// The last backward's ∂L/∂h₀ and (LSTM) ∂L/∂c₀, each `[B, H]`.
    pub fn grad_initial_state(&self) -> HiddenState<T> {
        HiddenState {
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

/// Per step, the rows `[0, cut)` and `[cut, step_len)` of a `[T, B, ·]` buffer (steps of
/// `step_len` values): the two parts' pieces, borrowed separately.
fn split_steps<T>(data: &mut [T], step_len: usize, cut: usize) -> (Vec<&mut [T]>, Vec<&mut [T]>) {
    let steps = data.len() / step_len.max(1);
    let (mut a, mut b) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
    for chunk in data.chunks_exact_mut(step_len.max(1)) {
        let (x, y) = chunk.split_at_mut(cut);
        a.push(x);
        b.push(y);
    }
    (a, b)
}

/// The time loop of forward for one part: `out[t]` receives the part's rows of h_t.
#[allow(clippy::too_many_arguments)]
fn forward_part<T: Float, C: RecurrentCell<T>>(
    cell: &C,
    part: &mut Part<T>,
    mut gi: Vec<&mut [T]>,
    whh_t: MatRef<'_, T>,
    h0: &[T],
    c0: &[T],
    h0_zero: bool,
    mut out: Vec<&mut [T]>,
    product: Product<T>,
) {
    let w = cell.weights();
    let h = w.hidden_size();
    let g = w.gates() * h;
    let sum_only = cell.uses_sum_only();
    let (r0, n) = (part.start, part.rows);
    let len = out.len();
    part.steps.resize_with(len, StepCache::default);
    resize(&mut part.gh, if sum_only { 0 } else { n * g });
    let h0 = &h0[r0 * h..(r0 + n) * h];
    let c0 = if c0.is_empty() {
        c0
    } else {
        &c0[r0 * h..(r0 + n) * h]
    };
    for t in 0..len {
        let (done, rest) = part.steps.split_at_mut(t);
        let (h_prev, c_prev) = match done.last() {
            Some(s) => (&s.h[..], &s.c[..]),
            None => (h0, c0),
        };
        // a = gᵢ + gₕ in place, or gₕ = h·W_hhᵀ + b_hh apart.
        let dst = if sum_only {
            &mut *gi[t]
        } else {
            for row in part.gh.chunks_exact_mut(g) {
                row.copy_from_slice(w.bias_hh.value.data());
            }
            &mut part.gh[..]
        };
        // h₀ = 0: nothing to add.
        if t > 0 || !h0_zero {
            product(
                T::ONE,
                MatRef::row_major(h_prev, n, h),
                whh_t,
                T::ONE,
                MatMut::row_major(dst, n, g),
            );
        }
        cell.pointwise_forward(n, &*gi[t], &part.gh, h_prev, c_prev, &mut rest[0]);
        out[t].copy_from_slice(&rest[0].h);
    }
}

/// The time loop of backward for one part: writes its rows of ∂L/∂gᵢ, ∂L/∂gₕ of every step
/// (scaled by 2^(e_t), see [`UnrolledLayer::backward`]), keeps the per-step scaled squared norms
/// and exponents, and leaves ∂L/∂h₀, ∂L/∂c₀ (unscaled) in `part.dh`, `part.dc`.
#[allow(clippy::too_many_arguments)]
fn backward_part<T: Float, C: RecurrentCell<T>>(
    cell: &C,
    part: &mut Part<T>,
    b: usize,
    grad: OutputGrad<'_, T>,
    h0: &[T],
    c0: &[T],
    truncate: Option<usize>,
    mut d_gi: Vec<&mut [T]>,
    mut d_gh: Vec<&mut [T]>,
    product: Product<T>,
) {
    let w = cell.weights();
    let h = w.hidden_size();
    let g = w.gates() * h;
    let with_c = cell.has_cell_state();
    let (r0, n) = (part.start, part.rows);
    let len = d_gi.len();
    let nh = n * h;
    for v in [&mut part.dh, &mut part.dh_prev] {
        v.clear();
        v.resize(nh, T::ZERO);
    }
    let cn = if with_c { nh } else { 0 };
    for v in [&mut part.dc, &mut part.dc_prev] {
        v.clear();
        v.resize(cn, T::ZERO);
    }
    part.scale.clear();
    part.scale.resize(len, 0);
    part.ss.clear();
    part.ss.resize(len, 0.0);
    part.sc.clear();
    part.sc.resize(len, 0.0);
    let gn = if d_gh.is_empty() { 0 } else { g };
    for (v, n) in [
        (&mut part.dbi, g),
        (&mut part.dbi_acc, g),
        (&mut part.dbh, gn),
        (&mut part.dbh_acc, gn),
    ] {
        v.clear();
        v.resize(n, T::ZERO);
    }
    part.db_e = 0;
    let h0 = &h0[r0 * h..(r0 + n) * h];
    let c0 = if c0.is_empty() {
        c0
    } else {
        &c0[r0 * h..(r0 + n) * h]
    };
    let step = scale_step::<T>();
    // part.dh (and part.dc) hold 2^e × the gradient arriving at h_t (c_t) from later steps.
    let mut e = 0;
    for t in (0..len).rev() {
        let own = match grad {
            OutputGrad::All(gr) => Some(&gr.data()[(t * b + r0) * h..(t * b + r0 + n) * h]),
            OutputGrad::Last(gr) => (t + 1 == len).then(|| &gr.data()[r0 * h..(r0 + n) * h]),
        };
        if let Some(own) = own {
            if e > 0 {
                scale_down(&mut part.dh, e);
                scale_down(&mut part.dc, e);
                e = 0;
            }
            add_assign(&mut part.dh, own);
        }
        let mut ss = sum_squares(&part.dh);
        let mut sc = sum_squares(&part.dc);
        let mut size = (ss + sc).sqrt();
        if size < pow2(-step) {
            // Squares of values below 2^(−step) may underflow even in f64 (from f64
            // values); the largest magnitude tells whether there is anything left.
            size = max_abs(&part.dh).max(max_abs(&part.dc));
        }
        let k = rescale(size, e, step);
        if k != 0 {
            for v in [&mut part.dh, &mut part.dc] {
                if k > 0 {
                    scale_up(v, k, step);
                } else {
                    scale_down(v, -k);
                }
            }
            e += k;
            ss = sum_squares(&part.dh);
            sc = sum_squares(&part.dc);
        }
        part.ss[t] = ss;
        part.sc[t] = sc;
        part.scale[t] = e;
        let (h_prev, c_prev) = if t == 0 {
            (h0, c0)
        } else {
            (&part.steps[t - 1].h[..], &part.steps[t - 1].c[..])
        };
        // A cell that uses only gᵢ + gₕ gets no ∂L/∂gₕ buffer (it equals ∂L/∂gᵢ).
        let no_gh: &mut [T] = &mut [];
        cell.pointwise_backward(
            &part.steps[t],
            h_prev,
            c_prev,
            &part.dh,
            &part.dc,
            &mut *d_gi[t],
            if d_gh.is_empty() {
                no_gh
            } else {
                &mut *d_gh[t]
            },
            &mut part.dh_prev,
            &mut part.dc_prev,
        );
        if part.db_e != e {
            part.flush_bias_sums();
            part.db_e = e;
        }
        add_column_sums(&*d_gi[t], &mut part.dbi_acc);
        let dgh_t = if d_gh.is_empty() {
            &*d_gi[t]
        } else {
            add_column_sums(&*d_gh[t], &mut part.dbh_acc);
            &*d_gh[t]
        };
        // ∂L/∂h_{t−1} = (direct part) + ∂gₕ·W_hh
        product(
            T::ONE,
            MatRef::row_major(dgh_t, n, g),
            w.weight_hh.value.mat(),
            T::ONE,
            MatMut::row_major(&mut part.dh_prev, n, h),
        );
        std::mem::swap(&mut part.dh, &mut part.dh_prev);
        std::mem::swap(&mut part.dc, &mut part.dc_prev);
        if t > 0 && truncate.is_some_and(|k| t % k == 0) {
            // A chunk boundary: the state entering step t is a constant.
            part.dh.fill(T::ZERO);
            part.dc.fill(T::ZERO);
            e = 0;
        }
    }
    part.flush_bias_sums();
    scale_down(&mut part.dh, e);
    scale_down(&mut part.dc, e);
}

/// gᵢ = x·W_ihᵀ + bias for all `rows` rows (x `[rows, I]`, W_ih `[G·H, I]`): the bias is
/// written first and the product accumulated onto it, the two row halves on two cores when
/// the product is large.
fn input_projection<T: Float>(rows: usize, x: &[T], w: MatRef<'_, T>, bias: &[T], gi: &mut [T]) {
    let (g, i) = (w.rows(), w.cols());
    let run = |x: &[T], gi: &mut [T], product: Product<T>| {
        for row in gi.chunks_exact_mut(g) {
            row.copy_from_slice(bias);
        }
        let r = gi.len() / g.max(1);
        product(
            T::ONE,
            MatRef::row_major(x, r, i),
            w.t(),
            T::ONE,
            MatMut::row_major(gi, r, g),
        );
    };
    if rows >= 2
        && rows * i * g >= crate::kernels::gemm::PARALLEL_MIN_WORK
        && crate::kernels::parallel::available()
    {
        let half = rows / 2;
        let (x0, x1) = x.split_at(half * i);
        let (g0, g1) = gi.split_at_mut(half * g);
        crate::kernels::parallel::join(|| run(x0, g0, gemm_serial), || run(x1, g1, gemm_serial));
    } else {
        run(x, gi, gemm);
    }
}

/// The power of two s by which a vanishing carried gradient is rescaled: 2⁻ˢ is far above
/// the subnormal range (2⁻¹²⁶ for f32, 2⁻¹⁰²² for f64) even after products with weights and
/// gate derivatives, and 2ˢ is representable.
fn scale_step<T: Float>() -> i32 {
    match T::DTYPE {
        DType::F32 => 40,
        DType::F64 => 300,
    }
}

/// The smallest positive normal number of T.
fn min_positive<T: Float>() -> f64 {
    match T::DTYPE {
        DType::F32 => f32::MIN_POSITIVE as f64,
        DType::F64 => f64::MIN_POSITIVE,
    }
}

/// 2ᵏ in f64 (exact for |k| ≤ 1022).
fn pow2(k: i32) -> f64 {
    2f64.powi(k)
}

/// The change k of the carried gradient's exponent e (new e = e + k, a multiple of `step`,
/// never below 0) that brings its size `n` back into [2⁻ˢᵗᵉᵖ, 2ˢᵗᵉᵖ]; 0 when it is in
/// range, zero or not finite.
fn rescale(n: f64, e: i32, step: i32) -> i32 {
    let (lo, hi) = (pow2(-step), pow2(step));
    let (mut m, mut k) = (n, 0);
    if m > 0.0 && m.is_finite() {
        while m < lo {
            m *= hi;
            k += step;
        }
        while e + k > 0 && m > hi {
            m *= lo;
            k -= step;
        }
    }
    k
}

/// v ← v·2ᵏ, k > 0 a multiple of `step` (one multiply by 2ˢᵗᵉᵖ per step: each factor is
/// representable).
fn scale_up<T: Float>(v: &mut [T], k: i32, step: i32) {
    let f = T::from_f64(pow2(step));
    for _ in 0..k / step {
        for x in v.iter_mut() {
            *x *= f;
        }
    }
}

/// The factors 2⁻ᵏ is applied as (each a normal number of T), and the threshold below
/// which x·2⁻ᵏ would be subnormal.
fn down_factors<T: Float>(k: i32) -> (T, T, T) {
    let chunk = match T::DTYPE {
        DType::F32 => 100,
        DType::F64 => 1000,
    };
    let a = k.min(chunk);
    let b = (k - a).min(chunk);
    (
        T::from_f64(min_positive::<T>() * pow2(k)),
        T::from_f64(pow2(-a)),
        T::from_f64(pow2(-b)),
    )
}

/// v ← v·2⁻ᵏ (k ≥ 0), results below the smallest normal number flushed to zero. Values are
/// zeroed before the multiply, so no operation produces a subnormal (each would cost a
/// microcode assist).
fn scale_down<T: Float>(v: &mut [T], k: i32) {
    if k == 0 {
        return;
    }
    let (thr, fa, fb) = down_factors::<T>(k);
    for x in v.iter_mut() {
        let m = if x.abs() < thr { T::ZERO } else { *x };
        *x = m * fa * fb;
    }
}

/// acc += src·2⁻ᵏ (k ≥ 0), flushing as [`scale_down`].
fn add_scaled_down<T: Float>(acc: &mut [T], src: &[T], k: i32) {
    let (thr, fa, fb) = down_factors::<T>(k);
    for (a, x) in acc.iter_mut().zip(src) {
        let m = if x.abs() < thr { T::ZERO } else { *x };
        *a += m * fa * fb;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrent::{CellWeights, GruCell, LstmCell, RnnCell};
    use crate::rng::Rng;
    use crate::Activation;

    fn random<T: Float>(shape: &[usize], scale: f64, rng: &mut Rng) -> Tensor<T> {
        let n: usize = shape.iter().product();
        let v: Vec<f64> = (0..n).map(|_| scale * rng.normal()).collect();
        Tensor::from_f64_slice(shape, &v).unwrap()
    }

    /// Every gradient the layer produces, as f64 vectors.
    fn grads<T: Float, C: RecurrentCell<T>>(layer: &UnrolledLayer<T, C>) -> Vec<Vec<f64>> {
        let mut out: Vec<Vec<f64>> = layer.params().iter().map(|p| p.grad.to_f64_vec()).collect();
        out.push(layer.grad_input().to_f64_vec());
        let s = layer.grad_initial_state();
        out.push(s.h.to_f64_vec());
        out.extend(s.c.map(|c| c.to_f64_vec()));
        out.push(layer.grad_norms().to_vec());
        out.push(layer.cell_grad_norms().to_vec());
        out
    }

    /// A loss gradient 2⁻⁴⁰⁰ times smaller makes the carried gradient fall below the f64
    /// rescaling threshold (2⁻³⁰⁰) at once, and it stays in one scale: every gradient must
    /// come out exactly 2⁻⁴⁰⁰ times the unscaled one (powers of two are exact). At 2⁻⁶⁰⁰ the
    /// steps may fall into several scales, and the weight gradients are then summed in
    /// several products instead of one: equal up to rounding. With a given initial state,
    /// many-to-one and many-to-many.
    fn check_rescaling<C: RecurrentCell<f64>>(layer: &mut UnrolledLayer<f64, C>, seed: u64) {
        let (len, b) = (9, 3);
        let (i, h) = (layer.input_size(), layer.hidden_size());
        let mut rng = Rng::seed(seed);
        let x = random(&[len, b, i], 1.0, &mut rng);
        let state = HiddenState {
            h: random(&[b, h], 0.5, &mut rng),
            c: layer
                .cell
                .has_cell_state()
                .then(|| random(&[b, h], 0.5, &mut rng)),
        };
        for all in [false, true] {
            let shape = if all { vec![len, b, h] } else { vec![b, h] };
            let g: Tensor<f64> = random(&shape, 1.0, &mut rng);
            let mut run = |k: i32| {
                let mut gk = g.clone();
                gk.data_mut().iter_mut().for_each(|v| *v *= pow2(-k));
                layer.zero_grad();
                layer.forward(&x, Some(&state));
                layer.backward(if all {
                    OutputGrad::All(&gk)
                } else {
                    OutputGrad::Last(&gk)
                });
                (grads(layer), layer.step_scale.clone())
            };
            let (plain, e0) = run(0);
            assert!(e0.iter().all(|&e| e == 0));
            let (scaled, e400) = run(400);
            assert!(e400.iter().all(|&e| e == 300), "{e400:?}");
            for (k, (p, s)) in plain.iter().zip(&scaled).enumerate() {
                assert_eq!(p.len(), s.len());
                for (j, (a, b)) in p.iter().zip(s).enumerate() {
                    assert_eq!(a * pow2(-400), *b, "all = {all}, gradient {k}[{j}]");
                }
            }
            let (scaled, e600) = run(600);
            assert!(e600.iter().all(|&e| e >= 300), "{e600:?}");
            for (k, (p, s)) in plain.iter().zip(&scaled).enumerate() {
                for (j, (a, b)) in p.iter().zip(s).enumerate() {
                    let a = a * pow2(-600);
                    assert!(
                        (a - b).abs() <= 1e-13 * a.abs(),
                        "all = {all}, gradient {k}[{j}]: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn rescaled_backward_is_exact() {
        let mut rng = Rng::seed(1);
        let mut rnn = UnrolledLayer::new(RnnCell::<f64>::new(4, 5, &mut rng));
        check_rescaling(&mut rnn, 2);
        let mut lstm = UnrolledLayer::new(LstmCell::<f64>::new(4, 5, &mut rng));
        check_rescaling(&mut lstm, 3);
        let mut gru = UnrolledLayer::new(GruCell::<f64>::new(4, 5, &mut rng));
        check_rescaling(&mut gru, 4);
    }

    /// An f32 RNN whose gradient vanishes far below f32's range over 100 steps: the norms
    /// ‖∂L/∂h_t‖ still match f64 (where plain f32 arithmetic would give 0 or subnormal
    /// noise), and so do the parameter gradients.
    #[test]
    fn vanishing_f32_gradient_matches_f64() {
        let (len, b, i, h) = (100, 4, 8, 16);
        let mut rng = Rng::seed(5);
        let mut w64 = CellWeights::<f64>::uniform("", 1, i, h, &mut rng);
        w64.weight_hh
            .value
            .data_mut()
            .iter_mut()
            .for_each(|v| *v *= 0.5);
        let cast = |p: &Param<f64>| p.value.cast::<f32>();
        let w32 = CellWeights::<f32>::new(
            "",
            1,
            cast(&w64.weight_ih),
            cast(&w64.weight_hh),
            cast(&w64.bias_ih),
            cast(&w64.bias_hh),
        );
        let mut a = UnrolledLayer::new(RnnCell::from_weights(w64, Activation::Tanh));
        let mut c = UnrolledLayer::new(RnnCell::from_weights(w32, Activation::Tanh));
        let x = random::<f64>(&[len, b, i], 1.0, &mut rng);
        let g = random::<f64>(&[b, h], 1.0, &mut rng);
        a.forward(&x, None);
        c.forward(&x.cast(), None);
        let na = a.backward(OutputGrad::Last(&g));
        let nc = c.backward(OutputGrad::Last(&g.cast()));
        assert!(
            na[0] < 1e-45,
            "the gradient should vanish below f32's range: {}",
            na[0]
        );
        for (t, (p, q)) in na.iter().zip(&nc).enumerate() {
            assert!((p - q).abs() <= 1e-3 * p, "step {t}: f64 {p} vs f32 {q}");
        }
        for (p, q) in a.params().iter().zip(c.params()) {
            let (p, q) = (p.grad.to_f64_vec(), q.grad.to_f64_vec());
            let scale = p.iter().fold(0f64, |m, v| m.max(v.abs()));
            for (u, v) in p.iter().zip(&q) {
                assert!((u - v).abs() <= 1e-4 * scale, "{u} vs {v}");
            }
        }
    }

    /// The batch split over two cores (from 17 rows) gives what the single loop gives: the
    /// same bits for outputs, weight, input and initial-state gradients, the bias gradients
    /// and norms up to rounding (summed per half); also with truncation, a given state, and
    /// in f32 with the vanishing gradient rescaled.
    #[test]
    fn split_batch_matches_single_loop() {
        fn compare<T: Float, C: RecurrentCell<T> + Clone>(
            cell: C,
            len: usize,
            (tol, sum_tol): (f64, f64),
            seed: u64,
        ) {
            let mut rng = Rng::seed(seed);
            let (i, h) = (cell.weights().input_size(), cell.weights().hidden_size());
            let b = 21;
            let x = random::<T>(&[len, b, i], 1.0, &mut rng);
            let state = HiddenState {
                h: random::<T>(&[b, h], 0.5, &mut rng),
                c: cell
                    .has_cell_state()
                    .then(|| random::<T>(&[b, h], 0.5, &mut rng)),
            };
            let g_all = random::<T>(&[len, b, h], 1.0, &mut rng);
            let g_last = random::<T>(&[b, h], 1.0, &mut rng);
            let mut one = UnrolledLayer::new(cell.clone());
            one.max_parts = 1;
            let mut two = UnrolledLayer::new(cell);
            for (st, all, trunc) in [
                (None, false, None),
                (Some(&state), true, None),
                (Some(&state), false, Some(3)),
            ] {
                let run = |l: &mut UnrolledLayer<T, C>| {
                    l.zero_grad();
                    l.set_truncation(trunc);
                    let out = l.forward(&x, st).to_f64_vec();
                    let fin = l.final_state();
                    l.backward(if all {
                        OutputGrad::All(&g_all)
                    } else {
                        OutputGrad::Last(&g_last)
                    });
                    (out, fin, grads(l), l.parts.len())
                };
                let (o1, f1, g1, n1) = run(&mut one);
                let (o2, f2, g2, n2) = run(&mut two);
                assert_eq!(
                    (n1, n2),
                    (
                        1,
                        if crate::kernels::parallel::available() {
                            2
                        } else {
                            1
                        }
                    )
                );
                assert_eq!(o1, o2);
                assert_eq!(f1, f2);
                let k = g1.len();
                for (j, (a, c)) in g1.iter().zip(&g2).enumerate() {
                    // Biases (2, 3) and the norms (the last two) are summed per half: up to
                    // rounding, relative to the largest element.
                    let summed = j + 2 >= k || j == 2 || j == 3;
                    let scale = a.iter().fold(0f64, |m, v| m.max(v.abs()));
                    for (u, v) in a.iter().zip(c) {
                        let tol = if summed {
                            sum_tol * scale
                        } else {
                            tol * u.abs().max(v.abs())
                        };
                        assert!(
                            (u - v).abs() <= tol,
                            "gradient {j}: {u} vs {v} ({all}, {trunc:?})"
                        );
                    }
                }
            }
        }
        let mut rng = Rng::seed(7);
        compare(RnnCell::<f64>::new(5, 6, &mut rng), 7, (0.0, 1e-14), 8);
        compare(LstmCell::<f64>::new(5, 6, &mut rng), 7, (0.0, 1e-14), 9);
        compare(GruCell::<f64>::new(5, 6, &mut rng), 7, (0.0, 1e-14), 10);
        // Long f32 sequences: the gradient vanishes and each half rescales on its own.
        let mut w = CellWeights::<f32>::uniform("", 1, 8, 16, &mut rng);
        w.weight_hh
            .value
            .data_mut()
            .iter_mut()
            .for_each(|v| *v *= 0.5);
        compare(
            RnnCell::from_weights(w, Activation::Tanh),
            100,
            (1e-5, 1e-5),
            11,
        );
        compare(LstmCell::<f32>::new(8, 16, &mut rng), 100, (1e-5, 1e-5), 12);
    }

    #[test]
    fn rescale_edge_cases() {
        assert_eq!(rescale(0.0, 0, 40), 0);
        assert_eq!(rescale(f64::NAN, 80, 40), 0);
        assert_eq!(rescale(f64::INFINITY, 0, 40), 0);
        assert_eq!(rescale(f64::INFINITY, 80, 40), 0);
        assert_eq!(rescale(pow2(-100), 0, 40), 80);
        assert_eq!(rescale(1.0, 40, 40), 0);
        assert_eq!(rescale(pow2(100), 120, 40), -80);
        let mut v = [1.0f32, pow2(-130) as f32, -3.0, f32::MIN_POSITIVE];
        scale_down(&mut v, 20);
        assert_eq!(v, [pow2(-20) as f32, 0.0, -3.0 * pow2(-20) as f32, 0.0]);
    }
}
