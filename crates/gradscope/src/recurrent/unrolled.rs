//! [`UnrolledLayer`]: a cell run over a time-major sequence with explicit backpropagation
//! through time — the struct, its forward and backward drivers and accessors. The time loops
//! are in `bptt.rs`, the products outside them in `products.rs`, the two-core batch split in
//! `batch_split.rs` and the rescaling of a vanishing gradient in `rescale.rs`.

use super::batch_split::{merge_parts, plan_parts, split_steps};
use super::bptt::{backward_part, forward_part, Part};
use super::products::input_projection;
use super::rescale::unscale;
use super::{resize, GateValue, RecurrentCell};
use crate::float::Float;
use crate::kernels::elementwise::add_assign;
use crate::kernels::packed::{gemm_packed, gemm_packed_serial, PackedB};
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
    pub(super) input: Tensor<T>,
    pub(super) h0: Vec<T>,
    pub(super) c0: Vec<T>,
    /// True when the last forward started from the zero state (h₀ = 0: the step-0 recurrent
    /// product and its weight-gradient term vanish).
    pub(super) h0_zero: bool,
    /// Number of steps of the last forward.
    pub(super) len: usize,
    /// The batch's row blocks (one, or two run on two cores).
    pub(super) parts: Vec<Part<T>>,
    pub(super) output: Tensor<T>,
    pub(super) grad_input: Tensor<T>,
    pub(super) grad_h0: Tensor<T>,
    pub(super) grad_c0: Tensor<T>,
    pub(super) grad_norms: Vec<f64>,
    pub(super) cell_grad_norms: Vec<f64>,
    /// gᵢ for every step, `[T·B, G·H]`.
    pub(super) gi: Vec<T>,
    /// The right operand of the per-step product, packed once per pass and reused for all
    /// T steps: W_hhᵀ (`[H, G·H]`) during forward, W_hh (`[G·H, H]`) during backward.
    pub(super) whh_packed: PackedB<T>,
    /// ∂L/∂gᵢ and ∂L/∂gₕ for every step, `[T·B, G·H]` each.
    pub(super) d_gi: Vec<T>,
    pub(super) d_gh: Vec<T>,
    /// e_t for every step: ∂L/∂gᵢ and ∂L/∂gₕ of step t are stored as 2^(e_t) × their value.
    pub(super) step_scale: Vec<i32>,
    /// Runs of steps sharing a scale: (first step, end step, e).
    pub(super) groups: Vec<(usize, usize, i32)>,
    /// Per-group products of scaled steps: ∂W_ih, ∂W_hh parts.
    pub(super) tmp_ih: Vec<T>,
    pub(super) tmp_hh: Vec<T>,
    /// b_ih + b_hh (for cells that use only gᵢ + gₕ).
    pub(super) bias_sum: Vec<T>,
    pub(super) need_input_grad: bool,
    pub(super) truncate: Option<usize>,
    /// At most this many parts (2; 1 in tests that compare against the unsplit loop).
    pub(super) max_parts: usize,
    /// Whether backward keeps ∂L/∂h_t (and ∂L/∂c_t) for every t.
    pub(super) keep_step_grads: bool,
    /// Whether the last backward kept them.
    pub(super) step_grads_kept: bool,
    /// The last backward's ∂L/∂h_t and ∂L/∂c_t for every t, `[T, B, H]` (when kept).
    pub(super) grad_h: Tensor<T>,
    pub(super) grad_c: Tensor<T>,
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
            whh_packed: PackedB::new(),
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
            keep_step_grads: false,
            step_grads_kept: false,
            grad_h: Tensor::default(),
            grad_c: Tensor::default(),
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

    /// Whether backward keeps the per-step gradients ([`UnrolledLayer::grad_hidden`],
    /// [`UnrolledLayer::grad_cell`]); false by default. Keeping them copies B·H values per
    /// step (two such copies for an LSTM) and changes no other result.
    pub fn set_keep_step_grads(&mut self, keep: bool) {
        self.keep_step_grads = keep;
    }

    /// Whether backward keeps the per-step gradients.
    pub fn keep_step_grads(&self) -> bool {
        self.keep_step_grads
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
        let first = plan_parts(&mut self.parts, b, self.max_parts);
        self.whh_packed
            .pack(self.cell.weights().weight_hh.value.mat().t());
        let cell = &self.cell;
        let (h0, c0, h0_zero) = (&self.h0[..], &self.c0[..], self.h0_zero);
        let whh_t = &self.whh_packed;
        let (gi0, gi1) = split_steps(&mut self.gi, b * g, first * g);
        let (out0, out1) = split_steps(self.output.data_mut(), b * h, first * h);
        match &mut self.parts[..] {
            [p0] => forward_part(cell, p0, gi0, whh_t, h0, c0, h0_zero, out0, gemm_packed),
            [p0, p1] => crate::kernels::parallel::join(
                || {
                    forward_part(
                        cell,
                        p0,
                        gi0,
                        whh_t,
                        h0,
                        c0,
                        h0_zero,
                        out0,
                        gemm_packed_serial,
                    )
                },
                || {
                    forward_part(
                        cell,
                        p1,
                        gi1,
                        whh_t,
                        h0,
                        c0,
                        h0_zero,
                        out1,
                        gemm_packed_serial,
                    )
                },
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
        self.whh_packed
            .pack(self.cell.weights().weight_hh.value.mat());
        let whh = &self.whh_packed;
        let cell = &self.cell;
        let (h0, c0, truncate) = (&self.h0[..], &self.c0[..], self.truncate);
        let (gi0, gi1) = split_steps(&mut self.d_gi, b * g, first * g);
        let (gh0, gh1) = if shared {
            (Vec::new(), Vec::new())
        } else {
            split_steps(&mut self.d_gh, b * g, first * g)
        };
        // The per-step gradients, when kept: [T, B, H] each ([0, B, H] otherwise).
        let keep = self.keep_step_grads;
        self.grad_h.resize(&[if keep { len } else { 0 }, b, h]);
        self.grad_c
            .resize(&[if keep && with_c { len } else { 0 }, b, h]);
        let (kh0, kh1) = split_steps(self.grad_h.data_mut(), b * h, first * h);
        let (kc0, kc1) = split_steps(self.grad_c.data_mut(), b * h, first * h);
        match &mut self.parts[..] {
            [p0] => backward_part(
                cell,
                p0,
                b,
                grad,
                h0,
                c0,
                truncate,
                gi0,
                gh0,
                kh0,
                kc0,
                whh,
                gemm_packed,
            ),
            [p0, p1] => crate::kernels::parallel::join(
                || {
                    backward_part(
                        cell,
                        p0,
                        b,
                        grad,
                        h0,
                        c0,
                        truncate,
                        gi0,
                        gh0,
                        kh0,
                        kc0,
                        whh,
                        gemm_packed_serial,
                    )
                },
                || {
                    backward_part(
                        cell,
                        p1,
                        b,
                        grad,
                        h0,
                        c0,
                        truncate,
                        gi1,
                        gh1,
                        kh1,
                        kc1,
                        whh,
                        gemm_packed_serial,
                    )
                },
            ),
            _ => unreachable!("one or two parts"),
        }
        // Per step: the norms over the whole batch, and one scale for all rows.
        merge_parts(
            &self.parts,
            len,
            b,
            g,
            with_c,
            &mut self.d_gi,
            &mut self.d_gh,
            &mut self.grad_norms,
            &mut self.cell_grad_norms,
            &mut self.step_scale,
        );
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
        if keep {
            self.unscale_step_grads(b);
        }
        self.step_grads_kept = keep;
        self.grad_norms.clone()
    }

    /// Takes the power of two out of the kept per-step gradients: step t of each part's rows
    /// holds 2^(e_t)·v, replaced by v, rounded once to the nearest value of T (subnormal, or
    /// zero, when the true value is below T's normal range).
    fn unscale_step_grads(&mut self, b: usize) {
        let h = self.hidden_size();
        for p in &self.parts {
            for (t, &e) in p.scale.iter().enumerate() {
                if e != 0 {
                    let rows = (t * b + p.start) * h..(t * b + p.start + p.rows) * h;
                    unscale(&mut self.grad_h.data_mut()[rows.clone()], e);
                    if !self.grad_c.is_empty() {
                        unscale(&mut self.grad_c.data_mut()[rows], e);
                    }
                }
            }
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

    /// Reports every gate of every step of the last forward, from the cells' own caches (see
    /// [`RecurrentCell::visit_gates`]): calls `f(t, k, j, v)` for step t, gate block k and
    /// element j = r·H + u of batch row r, unit u, in the order t, then k, then j — so that
    /// per gate the elements come in the order (t, r, u).
    pub fn visit_gates(&self, f: &mut dyn FnMut(usize, usize, usize, GateValue)) {
        let h = self.hidden_size();
        for t in 0..self.len {
            for p in &self.parts {
                let offset = p.start * h;
                self.cell
                    .visit_gates(&p.steps[t], &mut |k, j, v| f(t, k, offset + j, v));
            }
        }
    }

    /// The last backward's total δ_t = ∂L/∂h_t for every t, `[T, B, H]`: the step's own
    /// output gradient plus what arrives from step t+1 (for the LSTM with c_t held fixed: h_t
    /// and c_t are the two parts of the state), δ_t = g_t + (∂h_{t+1}/∂h_t)ᵀ·δ_{t+1} + … —
    /// cut at chunk boundaries under [`UnrolledLayer::set_truncation`]. True values: the
    /// power-of-two rescaling of a vanishing gradient is taken out (values below T's range
    /// become subnormal or 0; their norms, exact, are [`UnrolledLayer::grad_norms`]). `None`
    /// unless [`UnrolledLayer::set_keep_step_grads`] was on for the last backward.
    pub fn grad_hidden(&self) -> Option<&Tensor<T>> {
        self.step_grads_kept.then_some(&self.grad_h)
    }

    /// The last backward's ∂L/∂c_t for every t, `[T, B, H]` (LSTM only): the gradient
    /// reaching the memory c_t through c_{t+1} = f_{t+1}⊙c_t + …, i.e. with h_t held fixed
    /// (its norms are [`UnrolledLayer::cell_grad_norms`]; 0 at t = T−1). `None` for cells
    /// without memory or when the per-step gradients were not kept.
    pub fn grad_cell(&self) -> Option<&Tensor<T>> {
        (self.step_grads_kept && self.cell.has_cell_state()).then_some(&self.grad_c)
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
