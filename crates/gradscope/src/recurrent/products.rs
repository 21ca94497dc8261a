//! The large matrix products outside the time loop: the input map of every step before it,
//! gᵢ = x·W_ihᵀ + b_ih over all T·B rows, and after it the parameter and input gradients
//! ∂W_ih += Σ_t ∂gᵢ_tᵀ·x_t, ∂W_hh += Σ_t ∂gₕ_tᵀ·h_{t−1}, ∂b = Σ ∂g and ∂L/∂x_t = ∂gᵢ_t·W_ih.

use super::bptt::Product;
use super::rescale::{add_scaled_down, scale_down};
use super::{resize, RecurrentCell, UnrolledLayer};
use crate::float::Float;
use crate::kernels::elementwise::add_assign;
use crate::kernels::gemm::{gemm, gemm_serial, MatMut, MatRef};

impl<T: Float, C: RecurrentCell<T>> UnrolledLayer<T, C> {
    /// After the time loop: ∂W_ih += Σ_t ∂gᵢ_tᵀ·x_t, ∂W_hh += Σ_t ∂gₕ_tᵀ·h_{t−1}, the bias
    /// gradients as column sums, and ∂L/∂x = ∂gᵢ·W_ih, each one product over all the steps
    /// that share a scale (usually all T·B rows, a few groups when the gradient vanished).
    pub(super) fn weight_grads(&mut self, len: usize, b: usize) {
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
}

/// gᵢ = x·W_ihᵀ + bias for all `rows` rows (x `[rows, I]`, W_ih `[G·H, I]`): the bias is
/// written first and the product accumulated onto it, the two row halves on two cores when
/// the product is large.
pub(super) fn input_projection<T: Float>(
    rows: usize,
    x: &[T],
    w: MatRef<'_, T>,
    bias: &[T],
    gi: &mut [T],
) {
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
