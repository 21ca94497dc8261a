//! The time loops of backpropagation through time, for one block of batch rows
//! ([`Part`]), and truncated BPTT.
//!
//! Forward, step t: a_t = gᵢ_t + h_{t−1}·W_hhᵀ + b_hh (gᵢ_t = x_t·W_ihᵀ + b_ih precomputed
//! for all steps), then the cell's element-wise part gives h_t (and c_t).
//!
//! Backward, t = T−1 … 0: δ_t = ∂L/∂h_t = (own output gradient) + (what step t+1 sends); the
//! cell turns δ_t (and ∂L/∂c_t) into ∂L/∂gᵢ_t, ∂L/∂gₕ_t and the direct part of ∂L/∂h_{t−1},
//! and δ_{t−1} ← (direct part) + ∂L/∂gₕ_t·W_hh. Truncation at chunk length k zeroes what
//! crosses from step k·j to k·j − 1.

use super::rescale::{add_scaled_down, pow2, rescale, scale_down, scale_step, scale_up};
use super::{resize, HiddenState, OutputGrad, RecurrentCell, StepCache, UnrolledLayer};
use crate::float::Float;
use crate::kernels::elementwise::{add_assign, add_column_sums, max_abs, sum_squares};
use crate::kernels::gemm::{MatMut, MatRef};
use crate::kernels::packed::PackedB;
use crate::tensor::Tensor;

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
    /// ∂L/∂h_t for every step, `[T, B, H]` (within each chunk, see
    /// [`UnrolledLayer::grad_hidden`]), when the layer keeps its per-step gradients
    /// ([`UnrolledLayer::set_keep_step_grads`]).
    pub grad_hidden: Option<Tensor<T>>,
    /// ∂L/∂c_t for every step, `[T, B, H]` (LSTM, when kept; see
    /// [`UnrolledLayer::grad_cell`]).
    pub grad_cell: Option<Tensor<T>>,
}

/// One block of batch rows, run through time on its own core.
#[derive(Clone, Debug, Default)]
pub(super) struct Part<T> {
    /// First batch row.
    pub(super) start: usize,
    /// Number of rows.
    pub(super) rows: usize,
    /// Every step's intermediates for these rows.
    pub(super) steps: Vec<StepCache<T>>,
    /// gₕ of the current step, `[rows, G·H]`.
    pub(super) gh: Vec<T>,
    /// 2^e × ∂L/∂h_t, ∂L/∂c_t arriving from later steps, and the next ones.
    pub(super) dh: Vec<T>,
    pub(super) dc: Vec<T>,
    pub(super) dh_prev: Vec<T>,
    pub(super) dc_prev: Vec<T>,
    /// e_t for every step: this part's ∂L/∂gᵢ, ∂L/∂gₕ of step t are 2^(e_t) × their value.
    pub(super) scale: Vec<i32>,
    /// ‖2^(e_t) ∂L/∂h_t‖² and ‖2^(e_t) ∂L/∂c_t‖² over these rows, for every step.
    pub(super) ss: Vec<f64>,
    pub(super) sc: Vec<f64>,
    /// ∂b_ih, ∂b_hh over these rows (column sums of ∂L/∂gᵢ, ∂L/∂gₕ, taken while the rows
    /// are still in cache), and the running sums at the current scale 2^(`db_e`).
    pub(super) dbi: Vec<T>,
    pub(super) dbh: Vec<T>,
    pub(super) dbi_acc: Vec<T>,
    pub(super) dbh_acc: Vec<T>,
    pub(super) db_e: i32,
}

impl<T: Float> Part<T> {
    /// Adds the running bias sums, unscaled, to the totals and clears them.
    pub(super) fn flush_bias_sums(&mut self) {
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

/// A product C ← α·A·B + β·C ([`gemm`](crate::kernels::gemm::gemm) or
/// [`gemm_serial`](crate::kernels::gemm::gemm_serial)).
pub(super) type Product<T> = for<'a, 'b, 'c> fn(T, MatRef<'a, T>, MatRef<'b, T>, T, MatMut<'c, T>);

/// A product C ← α·A·B + β·C with B packed once for all steps
/// ([`gemm_packed`](crate::kernels::packed::gemm_packed) or
/// [`gemm_packed_serial`](crate::kernels::packed::gemm_packed_serial)).
pub(super) type PackedProduct<T> =
    for<'a, 'b, 'c> fn(T, MatRef<'a, T>, &'b PackedB<T>, T, MatMut<'c, T>);

/// The time loop of forward for one part: `out[t]` receives the part's rows of h_t;
/// `whh_t` is W_hhᵀ (`[H, G·H]`) packed once for every step.
#[allow(clippy::too_many_arguments)]
pub(super) fn forward_part<T: Float, C: RecurrentCell<T>>(
    cell: &C,
    part: &mut Part<T>,
    mut gi: Vec<&mut [T]>,
    whh_t: &PackedB<T>,
    h0: &[T],
    c0: &[T],
    h0_zero: bool,
    mut out: Vec<&mut [T]>,
    product: PackedProduct<T>,
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
/// and exponents, and leaves ∂L/∂h₀, ∂L/∂c₀ (unscaled) in `part.dh`, `part.dc`. When
/// `keep_dh` is not empty, its step t receives the part's rows of 2^(e_t)·δ_t, the total
/// ∂L/∂h_t (and `keep_dc`, when not empty, those of 2^(e_t)·∂L/∂c_t arriving from c_{t+1}).
/// `whh` is W_hh (`[G·H, H]`) packed once for every step.
#[allow(clippy::too_many_arguments)]
pub(super) fn backward_part<T: Float, C: RecurrentCell<T>>(
    cell: &C,
    part: &mut Part<T>,
    b: usize,
    grad: OutputGrad<'_, T>,
    h0: &[T],
    c0: &[T],
    truncate: Option<usize>,
    mut d_gi: Vec<&mut [T]>,
    mut d_gh: Vec<&mut [T]>,
    mut keep_dh: Vec<&mut [T]>,
    mut keep_dc: Vec<&mut [T]>,
    whh: &PackedB<T>,
    product: PackedProduct<T>,
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
        if !keep_dh.is_empty() {
            keep_dh[t].copy_from_slice(&part.dh);
        }
        if !keep_dc.is_empty() {
            keep_dc[t].copy_from_slice(&part.dc);
        }
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
            whh,
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

impl<T: Float, C: RecurrentCell<T>> UnrolledLayer<T, C> {
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
        let keep = self.keep_step_grads;
        let with_c = self.cell.has_cell_state();
        let mut grad_hidden = keep.then(|| Tensor::zeros(&[len, b, h]));
        let mut grad_cell = (keep && with_c).then(|| Tensor::zeros(&[len, b, h]));
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
            for (all, chunk) in [
                (&mut grad_hidden, self.grad_hidden()),
                (&mut grad_cell, self.grad_cell()),
            ] {
                if let (Some(all), Some(chunk)) = (all.as_mut(), chunk) {
                    all.data_mut()[start * b * h..end * b * h].copy_from_slice(chunk.data());
                }
            }
            carried = self.final_state();
            start = end;
        }
        Tbptt {
            output,
            grad_input,
            grad_norms,
            final_state: carried,
            grad_hidden,
            grad_cell,
        }
    }
}
