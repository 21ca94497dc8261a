//! Running two independent halves of the batch through time, one per core.
//!
//! Rows of a batch never interact in a recurrent layer: each half carries its own state,
//! caches and gradients, so forward and backward run the time loop of rows [0, ⌈B/2⌉) and
//! [⌈B/2⌉, B) side by side with no synchronization between steps. Per-step results are then
//! merged: ‖∂L/∂h_t‖ = hypot(‖half₀‖, ‖half₁‖), and one exponent per step for both halves.

use super::bptt::Part;
use super::rescale::{pow2, scale_down};
use crate::float::Float;

/// Batch sizes from which forward and backward run the time loop as two independent halves
/// of the batch, one per core (rows never interact: each half carries its own state, caches
/// and gradients). Below 17 rows there is nothing to gain: the f32 product kernel works on
/// tiles of 16 rows, and a per-step product of fewer rows costs as much as one of 16.
pub(super) const SPLIT_MIN_ROWS: usize = 17;

/// Splits `b` batch rows into `parts` (two halves from [`SPLIT_MIN_ROWS`] rows on, when
/// `max_parts` > 1 and a second core is available; one block otherwise); returns the rows
/// of the first part.
pub(super) fn plan_parts<T: Float>(parts: &mut Vec<Part<T>>, b: usize, max_parts: usize) -> usize {
    let nparts = if max_parts > 1 && b >= SPLIT_MIN_ROWS && crate::kernels::parallel::available() {
        2
    } else {
        1
    };
    let first = b.div_ceil(nparts);
    parts.resize_with(nparts, Part::default);
    for (p, part) in parts.iter_mut().enumerate() {
        part.start = p * first;
        part.rows = first.min(b - p * first);
    }
    first
}

/// Per step, the rows `[0, cut)` and `[cut, step_len)` of a `[T, B, ·]` buffer (steps of
/// `step_len` values): the two parts' pieces, borrowed separately.
pub(super) fn split_steps<T>(
    data: &mut [T],
    step_len: usize,
    cut: usize,
) -> (Vec<&mut [T]>, Vec<&mut [T]>) {
    let steps = data.len() / step_len.max(1);
    let (mut a, mut b) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
    for chunk in data.chunks_exact_mut(step_len.max(1)) {
        let (x, y) = chunk.split_at_mut(cut);
        a.push(x);
        b.push(y);
    }
    (a, b)
}

/// Merges the parts' per-step results after backward: ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖ when
/// `with_c`) over the whole batch, ‖v‖ = hypot over the parts of ‖2^(e_t)·v‖·2^(−e_t), into
/// `norms` (`cell_norms`); and one exponent per step for all rows, e_t = min over the parts,
/// into `step_scale`, the rows of the parts with a larger exponent brought down to it in
/// `d_gi` and `d_gh` (`[T·B, g]`; `d_gh` empty for a cell that uses only gᵢ + gₕ), what
/// would be subnormal flushed.
#[allow(clippy::too_many_arguments)]
pub(super) fn merge_parts<T: Float>(
    parts: &[Part<T>],
    len: usize,
    b: usize,
    g: usize,
    with_c: bool,
    d_gi: &mut [T],
    d_gh: &mut [T],
    norms: &mut Vec<f64>,
    cell_norms: &mut Vec<f64>,
    step_scale: &mut Vec<i32>,
) {
    norms.clear();
    cell_norms.clear();
    step_scale.clear();
    for t in 0..len {
        let norm = |sq: fn(&Part<T>) -> &[f64]| {
            let mut it = parts.iter().map(|p| sq(p)[t].sqrt() * pow2(-p.scale[t]));
            let first = it.next().unwrap_or(0.0);
            it.fold(first, f64::hypot)
        };
        norms.push(norm(|p| &p.ss));
        if with_c {
            cell_norms.push(norm(|p| &p.sc));
        }
        let e = parts.iter().map(|p| p.scale[t]).min().unwrap_or(0);
        for p in parts {
            if p.scale[t] > e {
                let rows = (t * b + p.start) * g..(t * b + p.start + p.rows) * g;
                scale_down(&mut d_gi[rows.clone()], p.scale[t] - e);
                if !d_gh.is_empty() {
                    scale_down(&mut d_gh[rows], p.scale[t] - e);
                }
            }
        }
        step_scale.push(e);
    }
}

#[cfg(test)]
mod tests {
    use crate::float::Float;
    use crate::recurrent::test_util::{grads, random};
    use crate::recurrent::{
        CellWeights, GruCell, HiddenState, LstmCell, OutputGrad, RecurrentCell, RnnCell,
        UnrolledLayer,
    };
    use crate::rng::Rng;
    use crate::Activation;

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
}
