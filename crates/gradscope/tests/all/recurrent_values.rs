//! The recurrent diagnostics' numbers on cells small enough to compute by hand (H = I = 1):
//! ‖∂L/∂h_t‖ at every step with and without truncated BPTT (and the truncation window the
//! decay is taken over), ‖∂L/∂c_t‖ of an LSTM, the RNN gate's saturated shares, the Jacobian
//! product, the spectral numbers; then the through-time verdict clause by clause on records
//! built by hand.

use gradscope::diagnostics::recurrent::{
    BlockSpectrum, DecayMeasure, GateSource, GateStats, GradientSource, RecurrentLayerRecord,
    RecurrentRecord, RecurrentVerdict,
};
use gradscope::diagnostics::{
    judge, DiagnosticsConfig, Flow, Probe, StepContext, StepRecord, Thresholds,
};
use gradscope::layer::{Layer, Linear};
use gradscope::loss::Loss;
use gradscope::model::Model;
use gradscope::recurrent::{CellKind, CellWeights, Predict, RecurrentEncoder, RecurrentSpec};
use gradscope::{Activation, Rng, Tensor};

use crate::common::{assert_close, logistic};

const REL: f64 = 1e-12;

fn t(shape: &[usize], v: &[f64]) -> Tensor<f64> {
    Tensor::from_vec(shape, v.to_vec()).unwrap()
}

/// `cell(1 -> 1) -> Linear(1 -> 1)` with head weight `HEAD` and bias 0.
fn model(spec: &RecurrentSpec, w: CellWeights<f64>) -> Model<f64> {
    let layer = RecurrentEncoder::from_weights(spec, 1, vec![w]);
    let head = Linear::new("fc.", t(&[1, 1], &[HEAD]), Some(t(&[1], &[0.0])));
    Model::new(
        vec![Layer::Recurrent(layer), Layer::Linear(head)],
        Rng::seed(1),
    )
}

fn probe(m: &mut Model<f64>, x: &Tensor<f64>, y: &Tensor<f64>) -> StepRecord {
    let loss = m.forward_backward(x, y, Loss::Mse).unwrap();
    let mut p = Probe::new(DiagnosticsConfig::default());
    p.measure(
        m,
        Some(x),
        StepContext {
            step: 1,
            epoch: 1,
            loss,
            grad_norm: 1.0,
        },
    );
    p.finish(m).unwrap()
}

const HEAD: f64 = 1.5;
const T_LEN: usize = 6;
const B: usize = 2;
/// x_t per sample: ±5 saturates tanh (|a| ≥ 4.5: tanh' ≤ 4.9e-4 < 1% of max tanh' = 1), ±0.3
/// does not (|a| ≤ 0.8: tanh' ≥ 0.56). Saturated: sample 0 at steps 2 (+) and 4 (−), sample
/// 1 at steps 3 (+) and 6 (−): 4 of 12 unit-samples, 2 low and 2 high.
const XS: [[f64; T_LEN]; B] = [
    [0.3, 5.0, 0.3, -5.0, 0.3, 0.3],
    [-0.3, 0.3, 5.0, 0.3, -0.3, -5.0],
];
const YS: [f64; B] = [0.2, -0.4];
/// W_hh of the RNN.
const W: f64 = 0.5;

/// An Elman tanh RNN h_t = tanh(x_t + W·h_{t−1}) (W_ih = 1, biases 0), many-to-one.
fn rnn(truncate: Option<usize>) -> Model<f64> {
    let mut spec = RecurrentSpec::new(CellKind::Rnn, 1);
    spec.activation = Some(Activation::Tanh);
    spec.truncate = truncate;
    let w = CellWeights::new(
        "rnn.",
        1,
        t(&[1, 1], &[1.0]),
        t(&[1, 1], &[W]),
        t(&[1], &[0.0]),
        t(&[1], &[0.0]),
    );
    model(&spec, w)
}

fn batch() -> (Tensor<f64>, Tensor<f64>) {
    let x: Vec<f64> = XS.iter().flatten().copied().collect();
    (t(&[B, T_LEN], &x), t(&[B, 1], &YS))
}

/// The hand computation: h[b][t], and δ[b][t] = ∂L/∂h_t with truncation at chunks of `k`.
fn rnn_by_hand(k: Option<usize>) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let mut hs = vec![vec![0.0; T_LEN]; B];
    let mut ds = vec![vec![0.0; T_LEN]; B];
    for b in 0..B {
        let mut h = 0.0;
        for s in 0..T_LEN {
            h = (XS[b][s] + W * h).tanh();
            hs[b][s] = h;
        }
        // MSE over B outputs: ∂L/∂ŷ = 2(ŷ − y)/B, ŷ = HEAD·h_T.
        ds[b][T_LEN - 1] = HEAD * 2.0 * (HEAD * h - YS[b]) / B as f64;
        for s in (1..T_LEN).rev() {
            let cut = k.is_some_and(|k| s % k == 0);
            ds[b][s - 1] = if cut {
                0.0
            } else {
                W * (1.0 - hs[b][s].powi(2)) * ds[b][s]
            };
        }
    }
    (hs, ds)
}

fn norms_over_batch(v: &[Vec<f64>]) -> Vec<f64> {
    (0..T_LEN)
        .map(|s| v.iter().map(|r| r[s] * r[s]).sum::<f64>().sqrt())
        .collect()
}

fn layer(r: &StepRecord) -> &RecurrentLayerRecord {
    &r.recurrent[0].layers[0]
}

#[test]
fn rnn_gradient_at_every_step_and_its_decay_by_hand() {
    let (x, y) = batch();
    let r = probe(&mut rnn(None), &x, &y);
    let (_, ds) = rnn_by_hand(None);
    let want = norms_over_batch(&ds);
    let l = layer(&r);
    assert_eq!((l.layer, l.steps, l.hidden), (1, T_LEN, 1));
    assert_eq!(l.source, GradientSource::LastStep);
    assert_eq!(l.grad_norms.len(), T_LEN);
    for (s, (got, w)) in l.grad_norms.iter().zip(&want).enumerate() {
        assert_close(*got, *w, REL, 0.0, &format!("‖∂L/∂h_{}‖", s + 1));
    }
    // The decay over the whole sequence: ‖∂L/∂h_1‖/‖∂L/∂h_6‖ and its 5th root.
    assert_eq!((l.window_start, l.underflow_steps), (1, 0));
    assert!(!l.truncation_not_applied);
    let ratio = want[0] / want[5];
    assert_close(l.first_to_last.unwrap(), ratio, REL, 0.0, "first_to_last");
    assert_close(
        l.per_step_factor.unwrap(),
        ratio.powf(0.2),
        REL,
        0.0,
        "factor",
    );
    assert_eq!(
        (l.cell_grad_norms.as_ref(), l.cell_first_to_last),
        (None, None)
    );
    let rr = &r.recurrent[0];
    assert_eq!((rr.index, rr.path.as_str()), (0, "0"));
    assert_eq!(
        (rr.cell, rr.activation, rr.predict),
        (CellKind::Rnn, Some(Activation::Tanh), Predict::Last)
    );
    assert_eq!((rr.truncate, rr.forget_bias), (None, None));
}

#[test]
fn rnn_gate_saturation_jacobian_product_and_spectrum_by_hand() {
    let (x, y) = batch();
    let r = probe(&mut rnn(None), &x, &y);
    let (hs, _) = rnn_by_hand(None);
    let l = layer(&r);
    assert_eq!(l.gate_source, Some(GateSource::Input));
    assert_eq!(l.gates.len(), 1);
    let g = &l.gates[0];
    assert_eq!((g.gate.as_str(), g.activation), ("h", Activation::Tanh));
    let all: Vec<f64> = hs.iter().flatten().copied().collect();
    let n = all.len() as f64;
    assert_close(g.mean, all.iter().sum::<f64>() / n, REL, 0.0, "mean h");
    let d: Vec<f64> = all.iter().map(|h| 1.0 - h * h).collect();
    assert_close(
        g.mean_abs_derivative,
        d.iter().sum::<f64>() / n,
        REL,
        0.0,
        "mean tanh'",
    );
    assert_eq!(g.saturated_fraction, 4.0 / 12.0);
    assert_eq!(
        (g.saturated_low, g.saturated_high),
        (2.0 / 12.0, 2.0 / 12.0)
    );
    // Jacobian product from a vector injected at T: for H = 1, sample b carries
    // Π_{s > t} W·tanh'(a_s), and the injected vector has |v_b| = 1/√B.
    let jn = l.jacobian_norms.as_ref().unwrap();
    assert_eq!(jn.len(), T_LEN);
    for (s, got) in jn.iter().enumerate() {
        let sq: f64 = hs
            .iter()
            .map(|h| {
                (s + 1..T_LEN)
                    .map(|u| W * (1.0 - h[u] * h[u]))
                    .product::<f64>()
                    .powi(2)
            })
            .sum();
        assert_close(
            *got,
            (sq / B as f64).sqrt(),
            1e-11,
            0.0,
            &format!("J norm {s}"),
        );
    }
    assert_eq!(jn[T_LEN - 1], 1.0);
    assert_close(
        l.jacobian_factor.unwrap(),
        jn[0].powf(1.0 / (T_LEN - 1) as f64),
        1e-11,
        0.0,
        "J factor",
    );
    // W_hh = [0.5]: ρ = σ_max = 0.5; tanh: γ = 1, 1/γ = 1.
    assert_close(l.spectral_radius.unwrap(), W, 1e-12, 0.0, "ρ");
    assert_close(l.sigma_max, W, 1e-12, 0.0, "σ_max");
    assert_close(l.gamma.unwrap(), 1.0, 1e-9, 0.0, "γ");
    assert_close(l.pascanu_threshold.unwrap(), 1.0, 1e-9, 0.0, "1/γ");
    assert!(l.blocks.is_empty());
}

/// Truncated BPTT with chunks of k steps: no gradient crosses from step k·j to k·j − 1, so
/// with only h_T receiving one, every step before the last chunk has ‖∂L/∂h_t‖ = 0 and the
/// decay is taken over the last chunk, which starts at ⌊(T − 1)/k⌋·k (0-based).
#[test]
fn truncation_window_and_gradients_by_hand() {
    let (x, y) = batch();
    // T = 6: k = 4 → chunks [0, 4), [4, 6); k = 3 → [3, 6); k = 2 → [4, 6).
    for (k, start) in [(4, 4), (3, 3), (2, 4)] {
        let r = probe(&mut rnn(Some(k)), &x, &y);
        let (_, ds) = rnn_by_hand(Some(k));
        let want = norms_over_batch(&ds);
        let l = layer(&r);
        assert_eq!(r.recurrent[0].truncate, Some(k));
        assert_eq!(l.window_start, start + 1, "k = {k}");
        assert!(!l.truncation_not_applied);
        for (s, (got, w)) in l.grad_norms.iter().zip(&want).enumerate() {
            if s < start {
                assert_eq!(*got, 0.0, "k = {k}, step {}", s + 1);
            } else {
                assert_close(*got, *w, REL, 0.0, &format!("k = {k}, step {}", s + 1));
            }
        }
        let ratio = want[start] / want[T_LEN - 1];
        let span = (T_LEN - 1 - start) as f64;
        assert_close(l.first_to_last.unwrap(), ratio, REL, 0.0, "window ratio");
        assert_close(
            l.per_step_factor.unwrap(),
            ratio.powf(1.0 / span),
            REL,
            0.0,
            "window factor",
        );
        assert_eq!(
            l.underflow_steps, 0,
            "zeros before the window are not underflow"
        );
        // The verdict's span is the window's.
        let v = judge(std::slice::from_ref(&r), &Thresholds::default());
        let lv = &v.recurrent[0].layers[0];
        assert_eq!(
            (lv.measure, lv.span),
            (DecayMeasure::Gradient, T_LEN - 1 - start)
        );
    }
    // A chunk as long as the sequence (or longer) is full BPTT; k = 5 leaves a last chunk of
    // one step: no decay to measure.
    for k in [6, 9] {
        let r = probe(&mut rnn(Some(k)), &x, &y);
        assert_eq!(layer(&r).window_start, 1, "k = {k}");
        assert_eq!(
            layer(&r).grad_norms,
            probe(&mut rnn(None), &x, &y).recurrent[0].layers[0].grad_norms
        );
    }
    let r = probe(&mut rnn(Some(5)), &x, &y);
    let l = layer(&r);
    assert_eq!(
        (l.window_start, l.first_to_last, l.per_step_factor),
        (6, None, None)
    );
}

/// An LSTM with W_hh = 0: the gates depend on x_t alone and h_{t−1} reaches nothing, so only
/// h_T has a gradient and the memory carries it back exactly along ∂c_t/∂c_{t−1} = f_t:
/// ∂L/∂c_{T−1} = ∂L/∂h_T·o_T·(1 − tanh²c_T)·f_T, ∂L/∂c_{t−1} = ∂L/∂c_t·f_t.
#[test]
fn lstm_memory_gradient_is_carried_by_the_forget_gate() {
    // Gate rows i, f, g, o: W_ih and b_ih.
    let wi = [0.5, -0.8, 1.2, 0.3];
    let bi = [0.1, 1.0, -0.2, 0.4];
    let spec = RecurrentSpec::new(CellKind::Lstm, 1);
    let w = CellWeights::new(
        "rnn.",
        4,
        t(&[4, 1], &wi),
        t(&[4, 1], &[0.0; 4]),
        t(&[4], &bi),
        t(&[4], &[0.0; 4]),
    );
    let mut m = model(&spec, w);
    let xs = [[0.5, -1.0, 2.0, 0.0, 1.0], [-0.5, 0.7, -2.0, 1.5, -1.0]];
    let tl = 5;
    let x = t(&[B, tl], &xs.iter().flatten().copied().collect::<Vec<_>>());
    let r = probe(&mut m, &x, &t(&[B, 1], &YS));
    // By hand, per sample.
    let mut dc = vec![vec![0.0; tl]; B];
    let mut dh_last = [0.0; B];
    for b in 0..B {
        let (mut c, mut fs, mut os, mut cs) = (0.0, vec![], vec![], vec![]);
        let mut h = 0.0;
        for &xv in &xs[b] {
            let a = |k: usize| wi[k] * xv + bi[k];
            let (i, f, g, o) = (logistic(a(0)), logistic(a(1)), a(2).tanh(), logistic(a(3)));
            c = f * c + i * g;
            h = o * c.tanh();
            fs.push(f);
            os.push(o);
            cs.push(c);
        }
        dh_last[b] = HEAD * 2.0 * (HEAD * h - YS[b]) / B as f64;
        let mut total = dh_last[b] * os[tl - 1] * (1.0 - cs[tl - 1].tanh().powi(2));
        for s in (1..tl).rev() {
            dc[b][s - 1] = total * fs[s];
            total = dc[b][s - 1];
        }
    }
    let l = layer(&r);
    let want: Vec<f64> = (0..tl)
        .map(|s| dc.iter().map(|v| v[s] * v[s]).sum::<f64>().sqrt())
        .collect();
    let got = l.cell_grad_norms.as_ref().unwrap();
    assert_eq!(got.len(), tl);
    assert_eq!(got[tl - 1], 0.0, "nothing arrives after the last step");
    for s in 0..tl - 1 {
        assert_close(got[s], want[s], REL, 0.0, &format!("‖∂L/∂c_{}‖", s + 1));
    }
    // The decay of the memory's gradient over steps 1 … T − 1.
    let ratio = want[0] / want[tl - 2];
    assert_close(l.cell_first_to_last.unwrap(), ratio, REL, 0.0, "cell ratio");
    assert_close(
        l.cell_per_step_factor.unwrap(),
        ratio.powf(1.0 / (tl - 2) as f64),
        REL,
        0.0,
        "cell factor",
    );
    // The h path carries nothing: ‖∂L/∂h_t‖ is 0 before T.
    let dh = (dh_last[0].powi(2) + dh_last[1].powi(2)).sqrt();
    assert_eq!(&l.grad_norms[..tl - 1], &[0.0; 4]);
    assert_close(l.grad_norms[tl - 1], dh, REL, 0.0, "‖∂L/∂h_T‖");
    assert_eq!(
        (l.first_to_last, l.per_step_factor, l.underflow_steps),
        (Some(0.0), None, 4)
    );
    // W_hh = 0: every block's ρ and σ_max are 0; no γ for a gated cell.
    assert_eq!(l.sigma_max, 0.0);
    assert_eq!(l.blocks.len(), 4);
    assert!(l
        .blocks
        .iter()
        .all(|b| b.sigma_max == 0.0 && b.spectral_radius == 0.0));
    assert_eq!(
        (l.spectral_radius, l.gamma, l.pascanu_threshold),
        (None, None, None)
    );
    assert_eq!(r.recurrent[0].activation, None);
}

// ---- The through-time verdict on records built by hand. ----

fn gate(name: &str, sat: f64) -> GateStats {
    GateStats {
        gate: name.into(),
        activation: Activation::Sigmoid,
        mean: 0.5,
        mean_abs_derivative: 0.2,
        saturated_fraction: sat,
        saturated_low: sat / 2.0,
        saturated_high: sat / 2.0,
    }
}

/// A layer record of `steps` steps with the given decay (first_to_last, factor).
fn lrec(steps: usize, ftl: Option<f64>, factor: Option<f64>) -> RecurrentLayerRecord {
    RecurrentLayerRecord {
        layer: 1,
        steps,
        hidden: 4,
        source: GradientSource::LastStep,
        grad_norms: vec![1.0; steps],
        cell_grad_norms: None,
        window_start: 1,
        first_to_last: ftl,
        per_step_factor: factor,
        underflow_steps: 0,
        truncation_not_applied: false,
        cell_first_to_last: None,
        cell_per_step_factor: None,
        jacobian_norms: None,
        jacobian_factor: None,
        gates: Vec::new(),
        gate_source: None,
        spectral_radius: Some(0.8),
        sigma_max: 0.9,
        blocks: Vec::new(),
        gamma: Some(1.0),
        pascanu_threshold: Some(1.0),
    }
}

fn srec(step: u64, layers: Vec<RecurrentLayerRecord>, grad_norm: f64) -> StepRecord {
    StepRecord {
        step,
        batch_size: None,
        epoch: 1,
        loss: 1.0,
        grad_norm,
        input_q0: None,
        layers: Vec::new(),
        recurrent: vec![RecurrentRecord {
            index: 0,
            path: "rnn".into(),
            name: "rnn(1 -> 4, tanh, last)".into(),
            cell: CellKind::Rnn,
            activation: Some(Activation::Tanh),
            predict: Predict::Last,
            truncate: None,
            forget_bias: None,
            layers,
        }],
    }
}

fn through(recs: &[StepRecord], t: &Thresholds) -> RecurrentVerdict {
    let v = judge(recs, t);
    assert_eq!(v.recurrent.len(), 1);
    v.recurrent.into_iter().next().unwrap()
}

fn flow_of(ftl: f64, factor: f64, grad_norm: f64) -> Flow {
    let rv = through(
        &[srec(1, vec![lrec(20, Some(ftl), Some(factor))], grad_norm)],
        &Thresholds::default(),
    );
    assert_eq!(rv.layers[0].flow, rv.flow);
    rv.flow
}

/// The depth clauses with a time step playing a layer's part; the ratio and the factor are
/// measured separately here, so each clause is tested alone.
#[test]
fn through_time_clauses() {
    // first_to_last < vanishing_ratio, the factor above per_layer_vanishing.
    assert_eq!(flow_of(0.0099, 0.95, 1.0), Flow::Vanishing);
    assert_eq!(flow_of(0.0101, 0.95, 1.0), Flow::Healthy);
    // factor < per_layer_vanishing with first_to_last < 0.1.
    assert_eq!(flow_of(0.05, 0.89, 1.0), Flow::Vanishing);
    assert_eq!(flow_of(0.05, 0.91, 1.0), Flow::Healthy);
    assert_eq!(flow_of(0.099, 0.5, 1.0), Flow::Vanishing);
    assert_eq!(flow_of(0.101, 0.5, 1.0), Flow::Healthy);
    // first_to_last > exploding_ratio, the factor below per_layer_exploding.
    assert_eq!(flow_of(101.0, 1.05, 1.0), Flow::Exploding);
    assert_eq!(flow_of(99.0, 1.05, 1.0), Flow::Healthy);
    // factor > per_layer_exploding with first_to_last > 10.
    assert_eq!(flow_of(50.0, 1.11, 1.0), Flow::Exploding);
    assert_eq!(flow_of(50.0, 1.09, 1.0), Flow::Healthy);
    assert_eq!(flow_of(10.1, 2.0, 1.0), Flow::Exploding);
    assert_eq!(flow_of(9.9, 2.0, 1.0), Flow::Healthy);
    // The global norm makes the run exploding, not the layer's own flow.
    let rv = through(
        &[srec(1, vec![lrec(20, Some(1.0), Some(1.0))], 1001.0)],
        &Thresholds::default(),
    );
    assert_eq!(
        (rv.flow, rv.layers[0].flow),
        (Flow::Exploding, Flow::Healthy)
    );
    assert_eq!(flow_of(1.0, 1.0, 999.0), Flow::Healthy);
    // Vanishing first, whatever the norm.
    let rv = through(
        &[srec(1, vec![lrec(20, Some(1e-3), Some(0.7))], 1e6)],
        &Thresholds::default(),
    );
    assert_eq!(rv.flow, Flow::Vanishing);
    // The thresholds given are the ones used.
    let t = Thresholds {
        vanishing_ratio: 0.2,
        ..Thresholds::default()
    };
    let rv = through(&[srec(1, vec![lrec(20, Some(0.15), Some(0.99))], 1.0)], &t);
    assert_eq!(rv.flow, Flow::Vanishing);
}

/// Without a measured first_to_last (or with 0), the factor over the span stands in for it:
/// span = steps − window_start (1-based) on the gradient, steps − 1 on the Jacobian product.
#[test]
fn span_and_the_factor_standing_in_for_the_ratio() {
    let t = Thresholds::default();
    let rv = through(&[srec(1, vec![lrec(11, None, Some(0.5))], 1.0)], &t);
    let l = &rv.layers[0];
    assert_eq!((l.span, l.measure), (10, DecayMeasure::Gradient));
    assert_close(l.first_to_last, 0.5f64.powi(10), REL, 0.0, "0.5^10");
    assert_eq!(rv.flow, Flow::Vanishing);
    let mut w = lrec(11, Some(0.0), Some(0.5));
    w.window_start = 7;
    let rv = through(&[srec(1, vec![w], 1.0)], &t);
    assert_eq!(rv.layers[0].span, 4);
    assert_close(rv.layers[0].first_to_last, 0.0625, REL, 0.0, "0.5^4");
    // Every step fed its own gradient, with the Jacobian product measured: judged on it.
    let mut j = lrec(11, Some(1.0), Some(1.0));
    j.source = GradientSource::EveryStep;
    j.window_start = 7;
    j.jacobian_norms = Some(vec![1e-3, 1.0]);
    j.jacobian_factor = Some(0.5);
    let rv = through(&[srec(1, vec![j.clone()], 1.0)], &t);
    let l = &rv.layers[0];
    assert_eq!((l.measure, l.span), (DecayMeasure::Jacobian, 10));
    assert_close(l.first_to_last, 1e-3, REL, 0.0, "Jacobian ratio");
    assert_close(l.per_step_factor, 0.5, REL, 0.0, "Jacobian factor");
    assert_eq!(rv.flow, Flow::Vanishing);
    // Without it, the mixed gradient.
    j.jacobian_factor = None;
    let rv = through(&[srec(1, vec![j], 1.0)], &t);
    let l = &rv.layers[0];
    assert_eq!(
        (l.measure, l.span, l.flow),
        (DecayMeasure::MixedGradient, 4, Flow::Healthy)
    );
    // A record without a factor is not judged.
    let rv = through(&[srec(1, vec![lrec(11, Some(1e-5), None)], 1.0)], &t);
    assert_eq!(rv.flow, Flow::Healthy);
    assert!(rv.layers[0].first_to_last.is_nan());
}

/// A mixed-gradient layer's flow counts only when no layer is measured reliably.
#[test]
fn mixed_gradient_layers_count_only_alone() {
    let t = Thresholds::default();
    let mut mixed = lrec(20, Some(1e-4), Some(0.5));
    mixed.source = GradientSource::EveryStep;
    let mut top = lrec(20, Some(1.0), Some(1.0));
    top.layer = 2;
    let rv = through(&[srec(1, vec![mixed.clone(), top], 1.0)], &t);
    assert_eq!(rv.layers[0].flow, Flow::Vanishing);
    assert_eq!(rv.flow, Flow::Healthy);
    assert_eq!(rv.main_layer().map(|l| l.layer), Some(2));
    let rv = through(&[srec(1, vec![mixed], 1.0)], &t);
    assert_eq!(rv.flow, Flow::Vanishing);
    assert_eq!(rv.main_layer().map(|l| l.layer), Some(1));
    // Any reliable layer vanishing makes the run vanishing; exploding next.
    let mut a = lrec(20, Some(1.0), Some(1.0));
    let mut b = lrec(20, Some(1e3), Some(1.0));
    b.layer = 2;
    let rv = through(&[srec(1, vec![a.clone(), b.clone()], 1.0)], &t);
    assert_eq!(rv.flow, Flow::Exploding);
    assert_eq!(rv.main_layer().map(|l| l.layer), Some(2));
    a.first_to_last = Some(1e-3);
    let rv = through(&[srec(1, vec![a, b], 1.0)], &t);
    assert_eq!(rv.flow, Flow::Vanishing);
    assert_eq!(rv.main_layer().map(|l| l.layer), Some(1));
}

/// Over several records: geometric means of the ratio and factor, the steps at which each
/// flow was seen, underflow, the memory's decay, gates averaged over the records that have
/// them, saturated gates against the threshold, the spectrum at the first and last step.
#[test]
fn aggregation_over_the_measured_steps() {
    let t = Thresholds::default();
    let mut r1 = lrec(20, Some(1e-4), Some(0.8));
    r1.gates = vec![gate("i", 0.4), gate("f", 0.7)];
    r1.cell_first_to_last = Some(0.01);
    r1.cell_per_step_factor = Some(0.9);
    r1.blocks = vec![BlockSpectrum {
        block: "i".into(),
        spectral_radius: 0.3,
        sigma_max: 0.4,
    }];
    let mut r2 = lrec(20, Some(1e3), Some(1.2));
    r2.underflow_steps = 2;
    r2.sigma_max = 1.9;
    r2.spectral_radius = Some(1.7);
    let mut r3 = lrec(20, Some(1.0), Some(1.0));
    r3.gates = vec![gate("i", 0.6), gate("f", 0.5)];
    r3.cell_first_to_last = Some(1.0);
    r3.cell_per_step_factor = Some(0.9);
    let rv = through(
        &[
            srec(1, vec![r1], 1.0),
            srec(5, vec![r2], 1.0),
            srec(9, vec![r3], 1.0),
        ],
        &t,
    );
    let l = &rv.layers[0];
    // (1e-4 · 1e3 · 1)^(1/3) = 10^(−1/3); (0.8 · 1.2 · 1)^(1/3).
    assert_close(
        l.first_to_last,
        10f64.powf(-1.0 / 3.0),
        REL,
        0.0,
        "geo ratio",
    );
    assert_close(
        l.per_step_factor,
        0.96f64.powf(1.0 / 3.0),
        REL,
        0.0,
        "geo factor",
    );
    assert_eq!(
        (l.vanishing_steps.clone(), l.exploding_steps.clone()),
        (vec![1], vec![5])
    );
    assert!(l.underflow);
    assert_close(l.cell_first_to_last.unwrap(), 0.1, REL, 0.0, "cell ratio");
    assert_close(
        l.cell_per_step_factor.unwrap(),
        0.9,
        REL,
        0.0,
        "cell factor",
    );
    assert_eq!((l.first_step, l.last_step, l.measured_steps), (1, 9, 3));
    assert_eq!(l.gate_steps, vec![1, 9]);
    let sat: Vec<f64> = l.gates.iter().map(|g| g.saturated_fraction).collect();
    assert_close(sat[0], 0.5, REL, 0.0, "i saturated");
    assert_close(sat[1], 0.6, REL, 0.0, "f saturated");
    assert_eq!(l.saturated_gates, vec!["f".to_string()]);
    assert_eq!((l.sigma_max_first, l.sigma_max_last), (0.9, 0.9));
    assert_eq!(
        (l.spectral_radius_first, l.spectral_radius_last),
        (Some(0.8), Some(0.8))
    );
    assert_eq!(l.blocks_first.len(), 1);
    assert!(l.blocks_last.is_empty());
    assert_eq!(l.bound_factor, Some(0.9));
    assert_eq!((l.gamma, l.pascanu_threshold), (Some(1.0), Some(1.0)));
    assert_eq!(rv.steps, 20);
    // The spectrum at the last step is the last record's.
    let mut last = lrec(20, Some(1.0), Some(1.0));
    last.sigma_max = 1.9;
    last.spectral_radius = Some(1.7);
    let rv = through(
        &[
            srec(1, vec![lrec(20, Some(1.0), Some(1.0))], 1.0),
            srec(2, vec![last], 1.0),
        ],
        &t,
    );
    let l = &rv.layers[0];
    assert_eq!((l.sigma_max_last, l.spectral_radius_last), (1.9, Some(1.7)));
    assert!(!l.underflow && l.gate_steps.is_empty() && l.gates.is_empty());
}
