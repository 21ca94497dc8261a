//! The per-step gradients a recurrent layer keeps on request (`set_keep_step_grads`): their
//! norms are the recorded ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖), they match finite differences of the
//! loss with respect to the state at step t (full and truncated BPTT), they are the true
//! values when a vanishing gradient was rescaled (f64 exactly, f32 down to its subnormal
//! range), and keeping them changes no other result.

use gradscope::recurrent::{
    to_time_major, CellKind, CellWeights, GruCell, HiddenState, LstmCell, OutputGrad, Predict,
    RecurrentCell, RecurrentEncoder, RecurrentSpec, RnnCell, UnrolledLayer,
};
use gradscope::{Activation, Float, Rng, Tensor};

fn random<T: Float>(shape: &[usize], scale: f64, rng: &mut Rng) -> Tensor<T> {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|_| scale * rng.normal()).collect();
    Tensor::from_f64_slice(shape, &v).unwrap()
}

/// PyTorch's initialization ×2, so that the gates leave their linear regime.
fn weights(gates: usize, i: usize, h: usize, rng: &mut Rng) -> CellWeights<f64> {
    let mut w = CellWeights::<f64>::uniform("", gates, i, h, rng);
    for p in w.params_mut() {
        p.value.data_mut().iter_mut().for_each(|v| *v *= 2.0);
    }
    w
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Per step, the Frobenius norm of a `[T, B, H]` tensor.
fn step_norms(t: &Tensor<f64>) -> Vec<f64> {
    let step = t.shape()[1] * t.shape()[2];
    t.data().chunks_exact(step.max(1)).map(norm).collect()
}

fn assert_norms_match(kept: &Tensor<f64>, recorded: &[f64], what: &str) {
    let n = step_norms(kept);
    assert_eq!(n.len(), recorded.len(), "{what}");
    for (t, (a, b)) in n.iter().zip(recorded).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12 * b.abs(),
            "{what}, step {t}: kept {a:e}, recorded {b:e}"
        );
    }
}

/// Every result of a backward except the kept per-step gradients.
fn results<C: RecurrentCell<f64>>(l: &UnrolledLayer<f64, C>) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = l.params().iter().map(|p| p.grad.to_f64_vec()).collect();
    out.push(l.grad_input().to_f64_vec());
    let s = l.grad_initial_state();
    out.push(s.h.to_f64_vec());
    out.extend(s.c.map(|c| c.to_f64_vec()));
    out.push(l.grad_norms().to_vec());
    out.push(l.cell_grad_norms().to_vec());
    out
}

fn check_norms<C: RecurrentCell<f64> + Clone>(cell: C, b: usize, seed: u64) {
    let mut rng = Rng::seed(seed);
    let (i, h) = (cell.weights().input_size(), cell.weights().hidden_size());
    let with_c = cell.has_cell_state();
    let len = 7;
    let x = random::<f64>(&[len, b, i], 1.0, &mut rng);
    let g_all = random::<f64>(&[len, b, h], 1.0, &mut rng);
    let g_last = random::<f64>(&[b, h], 1.0, &mut rng);
    for (all, trunc) in [(true, None), (false, None), (true, Some(3))] {
        let grad = if all {
            OutputGrad::All(&g_all)
        } else {
            OutputGrad::Last(&g_last)
        };
        let run = |keep: bool| {
            let mut l = UnrolledLayer::new(cell.clone());
            l.set_truncation(trunc);
            l.set_keep_step_grads(keep);
            l.forward(&x, None);
            l.backward(grad);
            l
        };
        let (off, on) = (run(false), run(true));
        let what = format!("b = {b}, all = {all}, truncate = {trunc:?}");
        assert!(off.grad_hidden().is_none() && off.grad_cell().is_none());
        assert_eq!(
            results(&off),
            results(&on),
            "{what}: keeping changed a result"
        );
        let kept = on.grad_hidden().expect("kept");
        assert_eq!(kept.shape(), [len, b, h]);
        assert_norms_match(kept, on.grad_norms(), &what);
        match on.grad_cell() {
            Some(c) => {
                assert!(with_c);
                assert_norms_match(c, on.cell_grad_norms(), &what);
            }
            None => assert!(!with_c, "{what}: an LSTM keeps ∂L/∂c_t"),
        }
        // At the last step nothing arrives from later steps.
        if all && trunc.is_none() {
            assert_eq!(
                kept.data()[(len - 1) * b * h..],
                g_all.data()[(len - 1) * b * h..]
            );
        }
    }
}

#[test]
fn kept_step_gradients_have_the_recorded_norms() {
    let mut rng = Rng::seed(1);
    // 3 rows run in one loop, 21 as two halves on two cores.
    for b in [3, 21] {
        check_norms(
            RnnCell::from_weights(weights(1, 4, 5, &mut rng), Activation::Tanh),
            b,
            2,
        );
        check_norms(LstmCell::from_weights(weights(4, 4, 5, &mut rng)), b, 3);
        check_norms(GruCell::from_weights(weights(3, 4, 5, &mut rng)), b, 4);
    }
}

/// Σ_s ⟨g_s, h_s⟩ over the outputs of a forward of `x` from `state`.
fn weighted<C: RecurrentCell<f64>>(
    l: &mut UnrolledLayer<f64, C>,
    x: &Tensor<f64>,
    state: &HiddenState<f64>,
    g: &[f64],
) -> f64 {
    if x.shape()[0] == 0 {
        return 0.0;
    }
    let out = l.forward(x, Some(state));
    out.data().iter().zip(g).map(|(a, b)| a * b).sum()
}

/// Steps `[t0, t1)` of a `[T, B, W]` tensor.
fn steps(x: &Tensor<f64>, t0: usize, t1: usize) -> Tensor<f64> {
    let w = x.shape()[1] * x.shape()[2];
    Tensor::from_vec(
        &[t1 - t0, x.shape()[1], x.shape()[2]],
        x.data()[t0 * w..t1 * w].to_vec(),
    )
    .unwrap()
}

/// Central differences of L = Σ_t ⟨g_t, h_t⟩ with respect to every element of h_t (and of
/// c_t for an LSTM) in the state after step t, with the rest of the state held fixed; with
/// truncation at chunk length `k` the loss of a step's chunk ends at the chunk's end (the
/// next chunk starts from a constant state). Compared with the kept gradients.
fn check_fd<C: RecurrentCell<f64> + Clone>(cell: C, k: Option<usize>, seed: u64) {
    let mut rng = Rng::seed(seed);
    let (i, h) = (cell.weights().input_size(), cell.weights().hidden_size());
    let with_c = cell.has_cell_state();
    let (len, b) = (6, 2);
    let x = random::<f64>(&[len, b, i], 1.0, &mut rng);
    let g = random::<f64>(&[len, b, h], 1.0, &mut rng);
    let mut layer = UnrolledLayer::new(cell.clone());
    layer.set_truncation(k);
    layer.set_keep_step_grads(true);
    layer.forward(&x, None);
    layer.backward(OutputGrad::All(&g));
    let dh = layer.grad_hidden().unwrap().to_f64_vec();
    let dc = layer.grad_cell().map(|c| c.to_f64_vec());
    let mut probe = UnrolledLayer::new(cell);
    let eps = 1e-5;
    let bh = b * h;
    for t in 0..len {
        // The state after step t, and the steps whose loss it reaches.
        probe.forward(&steps(&x, 0, t + 1), None);
        let state = probe.final_state();
        let end = k.map_or(len, |k| ((t / k) + 1) * k).min(len);
        let rest = steps(&x, t + 1, end);
        let g_rest = &g.data()[(t + 1) * bh..end * bh];
        let g_t = &g.data()[t * bh..(t + 1) * bh];
        for (part, kept) in [(false, Some(&dh)), (true, dc.as_ref())] {
            let Some(kept) = kept else { continue };
            for j in 0..bh {
                let mut at = |d: f64| {
                    let mut s = state.clone();
                    let v = if part {
                        s.c.as_mut().unwrap()
                    } else {
                        &mut s.h
                    };
                    v.data_mut()[j] += d;
                    let own: f64 = s.h.data().iter().zip(g_t).map(|(a, b)| a * b).sum();
                    own + weighted(&mut probe, &rest, &s, g_rest)
                };
                let num = (at(eps) - at(-eps)) / (2.0 * eps);
                let a = kept[t * bh + j];
                assert!(
                    (a - num).abs() <= 1e-6 * a.abs().max(num.abs()) + 1e-9,
                    "{} step {t} element {j}, truncate {k:?}: kept {a}, numeric {num}",
                    if part { "∂L/∂c" } else { "∂L/∂h" }
                );
            }
        }
        assert_eq!(dc.is_some(), with_c);
    }
}

#[test]
fn kept_step_gradients_match_finite_differences() {
    let mut rng = Rng::seed(5);
    for k in [None, Some(3), Some(4)] {
        let w = weights(1, 3, 4, &mut rng);
        check_fd(RnnCell::from_weights(w, Activation::Tanh), k, 6);
        check_fd(LstmCell::from_weights(weights(4, 3, 4, &mut rng)), k, 7);
        check_fd(GruCell::from_weights(weights(3, 3, 4, &mut rng)), k, 8);
    }
    // An activation whose derivative needs the pre-activation.
    let w = weights(1, 3, 4, &mut rng);
    check_fd(RnnCell::from_weights(w, Activation::Softsign), None, 9);
}

#[test]
fn truncated_bptt_keeps_the_chunks_step_gradients() {
    let mut rng = Rng::seed(11);
    let cell = LstmCell::from_weights(weights(4, 3, 4, &mut rng));
    let (len, b, k) = (8, 3, 3);
    let x = random::<f64>(&[len, b, 3], 1.0, &mut rng);
    let g = random::<f64>(&[len, b, 4], 1.0, &mut rng);
    let mut one = UnrolledLayer::new(cell.clone());
    one.set_truncation(Some(k));
    one.set_keep_step_grads(true);
    one.forward(&x, None);
    one.backward(OutputGrad::All(&g));
    let mut chunks = UnrolledLayer::new(cell);
    chunks.set_keep_step_grads(true);
    let r = chunks.truncated_bptt(&x, k, None, |start, out| {
        steps(&g, start, start + out.shape()[0])
    });
    for (a, c) in [
        (one.grad_hidden(), r.grad_hidden.as_ref()),
        (one.grad_cell(), r.grad_cell.as_ref()),
    ] {
        let (a, c) = (a.unwrap().to_f64_vec(), c.unwrap().to_f64_vec());
        for (u, v) in a.iter().zip(&c) {
            assert!((u - v).abs() <= 1e-14 * u.abs().max(1.0), "{u} vs {v}");
        }
    }
    let norms: Vec<f64> = r.grad_norms.concat();
    assert_norms_match(r.grad_hidden.as_ref().unwrap(), &norms, "truncated_bptt");
}

/// A loss gradient 2⁻⁴⁰⁰ times smaller makes f64's backward rescale the carried gradient
/// (below 2⁻³⁰⁰): the kept values are the true ones, exactly 2⁻⁴⁰⁰ times the unscaled run's.
#[test]
fn kept_f64_gradients_are_unscaled_exactly() {
    let mut rng = Rng::seed(12);
    let (len, b) = (9, 21);
    let cell = LstmCell::from_weights(weights(4, 4, 5, &mut rng));
    let x = random::<f64>(&[len, b, 4], 1.0, &mut rng);
    let g = random::<f64>(&[len, b, 5], 1.0, &mut rng);
    let run = |s: f64| {
        let gs = Tensor::from_vec(g.shape(), g.data().iter().map(|v| v * s).collect()).unwrap();
        let mut l = UnrolledLayer::new(cell.clone());
        l.set_keep_step_grads(true);
        l.forward(&x, None);
        l.backward(OutputGrad::All(&gs));
        (
            l.grad_hidden().unwrap().to_f64_vec(),
            l.grad_cell().unwrap().to_f64_vec(),
        )
    };
    let s = 2f64.powi(-400);
    let (h1, c1) = run(1.0);
    let (hs, cs) = run(s);
    for (a, b) in h1.iter().zip(&hs).chain(c1.iter().zip(&cs)) {
        assert_eq!(a * s, *b);
    }
}

/// An f32 RNN whose gradient vanishes far below f32's range over 100 steps (backward
/// rescales it to stay out of the subnormal range): the kept values are the true ones,
/// equal to f64's up to f32 rounding — tiny, subnormal or 0 at the early steps, not the
/// rescaled values.
#[test]
fn kept_f32_gradients_are_true_values_when_the_gradient_vanishes() {
    let (len, b, i, h) = (100, 4, 8, 16);
    let mut rng = Rng::seed(5);
    let mut w64 = CellWeights::<f64>::uniform("", 1, i, h, &mut rng);
    w64.weight_hh
        .value
        .data_mut()
        .iter_mut()
        .for_each(|v| *v *= 0.5);
    let cast = |p: &gradscope::Param<f64>| p.value.cast::<f32>();
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
    a.set_keep_step_grads(true);
    c.set_keep_step_grads(true);
    let x = random::<f64>(&[len, b, i], 1.0, &mut rng);
    let g = random::<f64>(&[b, h], 1.0, &mut rng);
    a.forward(&x, None);
    c.forward(&x.cast(), None);
    a.backward(OutputGrad::Last(&g));
    c.backward(OutputGrad::Last(&g.cast()));
    let (d64, d32) = (
        a.grad_hidden().unwrap().to_f64_vec(),
        c.grad_hidden().unwrap().to_f64_vec(),
    );
    let bh = b * h;
    let quantum = 2f64.powi(-149);
    let mut below = 0;
    for t in 0..len {
        let (p, q) = (&d64[t * bh..(t + 1) * bh], &d32[t * bh..(t + 1) * bh]);
        let max = p.iter().fold(0f64, |m, v| m.max(v.abs()));
        if max < f32::MIN_POSITIVE as f64 {
            below += 1;
        }
        for (u, v) in p.iter().zip(q) {
            assert!(
                (u - v).abs() <= 1e-3 * max + 2.0 * quantum,
                "step {t}: f64 {u:e} vs f32 {v:e}"
            );
        }
    }
    assert!(
        below > 10,
        "the gradient should vanish below f32's normal range at the early steps"
    );
    assert!(a.grad_norms()[0] < 1e-45 && d32[..bh].iter().all(|v| *v == 0.0));
}

#[test]
fn the_encoder_keeps_every_stacked_layers_step_gradients() {
    let (b, t, i) = (3, 5, 2);
    for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
        let mut spec = RecurrentSpec::new(cell, 4);
        spec.layers = 2;
        spec.predict = Predict::EveryStep;
        let mut rng = Rng::seed(13);
        let mut enc = RecurrentEncoder::<f64>::new(&spec, i, "rnn.", &mut rng);
        let x = random::<f64>(&[b, t * i], 1.0, &mut rng);
        let dout = random::<f64>(&[b * t, 4], 1.0, &mut rng);
        enc.forward(&x);
        enc.backward(&dout, true);
        assert!(enc.grad_hidden(0).is_none());
        enc.set_keep_step_grads(true);
        enc.forward(&x);
        enc.backward(&dout, true);
        for k in 0..2 {
            let dh = enc.grad_hidden(k).unwrap();
            assert_eq!(dh.shape(), [t, b, 4]);
            assert_norms_match(dh, enc.grad_norms(k), &format!("{cell:?} layer {k}"));
            match enc.grad_cell(k) {
                Some(c) => assert_norms_match(c, enc.cell_grad_norms(k), "c"),
                None => assert_ne!(cell, CellKind::Lstm),
            }
        }
        // The top layer's last step receives what the head sends, in time-major order.
        let mut d_tbh = Tensor::default();
        to_time_major(dout.data(), b, t, 4, &mut d_tbh);
        let top = enc.grad_hidden(1).unwrap();
        assert_eq!(
            top.data()[(t - 1) * b * 4..],
            d_tbh.data()[(t - 1) * b * 4..]
        );
    }
}
