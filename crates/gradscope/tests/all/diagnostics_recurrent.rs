//! The gradient through time on constructed recurrent models: the probe's recurrent record
//! (‖∂L/∂h_t‖, decay, gates, spectrum of W_hh, γ and 1/γ) against closed forms and a hand
//! computation, the through-time verdict, and MLP records left unchanged.

use std::path::PathBuf;

use gradscope::config::{Config, LoadedConfig};
use gradscope::diagnostics::recurrent::{decay, DecayMeasure, GateSource, RecurrentRecord};
use gradscope::diagnostics::{judge, Flow, StepContext, Thresholds, Verdict};
use gradscope::diagnostics::{DiagnosticsConfig, Probe, StepRecord};
use gradscope::init::Init;
use gradscope::layer::{Layer, Linear};
use gradscope::loss::Loss;
use gradscope::model::Model;
use gradscope::recurrent::spectral::{largest_singular_value, spectral_radius};
use gradscope::recurrent::{CellKind, CellWeights, RecurrentEncoder, RecurrentSpec};
use gradscope::train::Trainer;
use gradscope::{Activation, Rng, Tensor};

fn tensor(shape: &[usize], v: Vec<f64>) -> Tensor<f64> {
    Tensor::from_vec(shape, v).unwrap()
}

fn random(n: usize, scale: f64, rng: &mut Rng) -> Vec<f64> {
    (0..n).map(|_| scale * rng.normal()).collect()
}

/// A model `rnn/lstm/gru(I -> H) -> Linear(H -> 1)` with the given recurrent weights.
fn model(spec: &RecurrentSpec, input: usize, w: CellWeights<f64>, rng: &mut Rng) -> Model<f64> {
    let h = spec.hidden;
    let layer = RecurrentEncoder::from_weights(spec, input, vec![w]);
    let head = Linear::new(
        "fc.0.",
        tensor(&[1, h], random(h, 1.0, rng)),
        Some(tensor(&[1], vec![0.0])),
    );
    Model::new(
        vec![Layer::Recurrent(layer), Layer::Linear(head)],
        Rng::seed(1),
    )
}

/// An RNN (biases 0) with W_hh given row-major `[H, H]` and W_ih ~ N(0, 1).
fn rnn(act: Activation, w_hh: Vec<f64>, h: usize, i: usize, rng: &mut Rng) -> Model<f64> {
    let mut spec = RecurrentSpec::new(CellKind::Rnn, h);
    spec.activation = Some(act);
    let w = CellWeights::new(
        "rnn.",
        1,
        tensor(&[h, i], random(h * i, 1.0, rng)),
        tensor(&[h, h], w_hh),
        tensor(&[h], vec![0.0; h]),
        tensor(&[h], vec![0.0; h]),
    );
    model(&spec, i, w, rng)
}

/// One probed step: forward, MSE loss against `y`, backward, measure (with the input when
/// `with_input`), finish.
fn probe(m: &mut Model<f64>, x: &Tensor<f64>, y: &Tensor<f64>, with_input: bool) -> StepRecord {
    let loss = m.forward_backward(x, y, Loss::Mse).unwrap();
    let mut p = Probe::new(DiagnosticsConfig::default());
    if with_input {
        p.measure(m, Some(x), ctx(loss));
    } else {
        p.measure(m, None, ctx(loss));
    }
    p.finish(m).unwrap()
}

fn recurrent(r: &StepRecord) -> &RecurrentRecord {
    r.recurrent.first().expect("a recurrent record")
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn rnn_with_w_hh_half_orthogonal_must_vanish() {
    let (h, i, t, b) = (16, 2, 30, 4);
    let mut rng = Rng::seed(7);
    let q = Init::Orthogonal { gain: 0.5 }.sample(h, h, 1.0, &mut rng);
    let mut m = rnn(Activation::Tanh, q, h, i, &mut rng);
    let x = tensor(&[b, t * i], random(b * t * i, 0.1, &mut rng));
    let y = tensor(&[b, 1], vec![1.0; b]);
    let r = probe(&mut m, &x, &y, true);
    let l = &recurrent(&r).layers[0];
    assert_eq!((l.steps, l.hidden, l.grad_norms.len()), (t, h, t));
    // Closed forms for 0.5·Q: every eigenvalue and singular value has modulus 0.5.
    assert!(close(l.sigma_max, 0.5, 1e-10), "{}", l.sigma_max);
    assert!(close(l.spectral_radius.unwrap(), 0.5, 1e-10));
    // γ = max |tanh'| = 1 from the catalogue's computed properties.
    assert!(close(l.gamma.unwrap(), 1.0, 1e-9), "{:?}", l.gamma);
    assert!(close(l.pascanu_threshold.unwrap(), 1.0, 1e-9));
    // ‖∂h_t/∂h_{t−1}‖ ≤ γ·σ_max = 0.5: the measured decay is at least that fast.
    for s in 1..t {
        assert!(
            l.grad_norms[s - 1] <= 0.5 * l.grad_norms[s] * (1.0 + 1e-9),
            "step {s}"
        );
    }
    let f = l.per_step_factor.unwrap();
    assert!(f <= 0.5 + 1e-9 && f > 0.3, "{f}");
    assert!(l.first_to_last.unwrap() < 0.5f64.powi(t as i32 - 1) * (1.0 + 1e-6));
    assert_eq!(l.gate_source, Some(GateSource::Input));
    let v = judge(std::slice::from_ref(&r), &Thresholds::default());
    let rv = v.recurrent.first().expect("through-time verdict");
    assert_eq!(rv.flow, Flow::Vanishing, "{rv:#?}");
    assert_eq!(
        v.flow,
        Flow::Vanishing,
        "the model has no hidden head layers"
    );
    assert_eq!(rv.layers[0].measure, DecayMeasure::Gradient);
    assert!(close(rv.layers[0].bound_factor.unwrap(), 0.5, 1e-9));
    assert!(
        rv.explanation.contains("σ_max(W_hh) = 0.500 < 1/γ = 1.000")
            && rv.explanation.contains("must vanish")
            && rv.explanation.contains("diag(f'(a_t))·W_hh"),
        "{}",
        rv.explanation
    );
    assert!(rv.remedies[0].text.contains("lstm"), "{:?}", rv.remedies);
    assert!(rv
        .remedies
        .iter()
        .any(|r| r.text.contains("init_hh=\"orthogonal")));
}

#[test]
fn many_to_many_rnn_is_judged_on_the_jacobian_product() {
    // Every h_t feeds the head: each step receives its own gradient, so ‖∂L/∂h_t‖ stays
    // level although W_hh = 0.5·Q shrinks what is carried back by at least 0.5 per step.
    let (h, i, t, b) = (16, 2, 30, 4);
    let mut rng = Rng::seed(15);
    let q = Init::Orthogonal { gain: 0.5 }.sample(h, h, 1.0, &mut rng);
    let mut spec = RecurrentSpec::new(CellKind::Rnn, h);
    spec.predict = gradscope::recurrent::Predict::EveryStep;
    let w = CellWeights::new(
        "rnn.",
        1,
        tensor(&[h, i], random(h * i, 1.0, &mut rng)),
        tensor(&[h, h], q),
        tensor(&[h], vec![0.0; h]),
        tensor(&[h], vec![0.0; h]),
    );
    let mut m = model(&spec, i, w, &mut rng);
    let x = tensor(&[b, t * i], random(b * t * i, 0.1, &mut rng));
    let y = tensor(&[b * t, 1], vec![1.0; b * t]);
    let r = probe(&mut m, &x, &y, true);
    let l = &recurrent(&r).layers[0];
    assert_eq!(
        l.source,
        gradscope::diagnostics::recurrent::GradientSource::EveryStep
    );
    assert!(
        l.first_to_last.unwrap() > 0.1,
        "the profile is level: {:?}",
        l.first_to_last
    );
    let jf = l.jacobian_factor.unwrap();
    assert!(jf <= 0.5 + 1e-9 && jf > 0.3, "{jf}");
    let jn = l.jacobian_norms.as_ref().unwrap();
    assert_eq!((jn.len(), jn[t - 1]), (t, 1.0));
    let v = judge(std::slice::from_ref(&r), &Thresholds::default());
    let rv = v.recurrent.into_iter().next().unwrap();
    assert_eq!(rv.layers[0].measure, DecayMeasure::Jacobian);
    assert_eq!(rv.flow, Flow::Vanishing, "{}", rv.explanation);
    assert!(
        rv.explanation.contains("injected at step T alone"),
        "{}",
        rv.explanation
    );
}

#[test]
fn rnn_with_w_hh_one_and_a_half_orthogonal_and_zero_input_explodes() {
    // x = 0 and zero biases keep h_t = 0, so f'(a_t) = tanh'(0) = 1 and the Jacobian is W_hh
    // itself: the gradient grows by exactly 1.5 per step back in time.
    let (h, i, t, b) = (12, 3, 20, 3);
    let mut rng = Rng::seed(8);
    let q = Init::Orthogonal { gain: 1.5 }.sample(h, h, 1.0, &mut rng);
    let mut m = rnn(Activation::Tanh, q, h, i, &mut rng);
    let x = tensor(&[b, t * i], vec![0.0; b * t * i]);
    let y = tensor(&[b, 1], vec![1.0; b]);
    let r = probe(&mut m, &x, &y, true);
    let l = &recurrent(&r).layers[0];
    assert!(close(l.sigma_max, 1.5, 1e-10) && close(l.spectral_radius.unwrap(), 1.5, 1e-10));
    assert!(
        close(l.per_step_factor.unwrap(), 1.5, 1e-9),
        "{:?}",
        l.per_step_factor
    );
    assert!(close(
        l.first_to_last.unwrap(),
        1.5f64.powi(t as i32 - 1),
        1e-8
    ));
    // The Jacobian product on a fixed vector sees the same factor.
    assert!(close(l.jacobian_factor.unwrap(), 1.5, 1e-9));
    let h_gate = &l.gates[0];
    assert_eq!(h_gate.saturated_fraction, 0.0);
    assert!(close(h_gate.mean_abs_derivative, 1.0, 1e-12));
    let v = judge(std::slice::from_ref(&r), &Thresholds::default());
    let rv = v.recurrent.first().unwrap();
    assert_eq!(rv.flow, Flow::Exploding, "{rv:#?}");
    assert_eq!(v.flow, Flow::Exploding);
    assert!(
        rv.explanation.contains("σ_max(W_hh) = 1.500 > 1/γ = 1.000")
            && rv.explanation.contains("necessary condition"),
        "{}",
        rv.explanation
    );
    assert!(rv.remedies[0].text.contains("clip"), "{:?}", rv.remedies);
    assert!(rv
        .remedies
        .iter()
        .any(|r| r.text.contains("spectral_radius")));
}

#[test]
fn spectral_numbers_match_closed_forms() {
    let mut rng = Rng::seed(9);
    let b = 2;
    // gain·Q for several gains.
    for gain in [0.3, 1.0, 2.5] {
        let h = 7;
        let q = Init::Orthogonal { gain }.sample(h, h, 1.0, &mut rng);
        let mut m = rnn(Activation::Tanh, q, h, 1, &mut rng);
        let x = tensor(&[b, 5], random(b * 5, 0.1, &mut rng));
        let r = probe(&mut m, &x, &tensor(&[b, 1], vec![0.0; b]), true);
        let l = &recurrent(&r).layers[0];
        assert!(
            close(l.spectral_radius.unwrap(), gain, 1e-10),
            "gain {gain}"
        );
        assert!(close(l.sigma_max, gain, 1e-10), "gain {gain}");
    }
    // Upper triangular: ρ is the largest |diagonal entry|, σ_max² the largest eigenvalue of
    // AᵀA: (‖A‖_F² + √(‖A‖_F⁴ − 4 det²))/2.
    let a = vec![0.5, 2.0, 0.0, -0.3];
    let mut m = rnn(Activation::Tanh, a, 2, 1, &mut rng);
    let x = tensor(&[b, 4], random(b * 4, 0.1, &mut rng));
    let r = probe(&mut m, &x, &tensor(&[b, 1], vec![0.0; b]), true);
    let l = &recurrent(&r).layers[0];
    let (fro2, det) = (0.25 + 4.0 + 0.09, -0.15f64);
    let want = ((fro2 + (fro2 * fro2 - 4.0 * det * det).sqrt()) / 2.0).sqrt();
    assert!(close(l.spectral_radius.unwrap(), 0.5, 1e-10));
    assert!(close(l.sigma_max, want, 1e-10), "{} vs {want}", l.sigma_max);
    // LSTM with diagonal gate blocks: each block's ρ = σ_max = its largest |entry|; the
    // whole [4H, H] matrix has σ_max = max over columns of √(Σ_gates d²).
    let diag = [[0.1, 0.2], [0.3, -0.4], [0.0, 0.5], [-0.6, 0.2]];
    let mut whh = vec![0.0; 8 * 2];
    for (g, d) in diag.iter().enumerate() {
        whh[(2 * g) * 2] = d[0];
        whh[(2 * g + 1) * 2 + 1] = d[1];
    }
    let spec = RecurrentSpec::new(CellKind::Lstm, 2);
    let w = CellWeights::new(
        "rnn.",
        4,
        tensor(&[8, 1], random(8, 1.0, &mut rng)),
        tensor(&[8, 2], whh),
        tensor(&[8], vec![0.0; 8]),
        tensor(&[8], vec![0.0; 8]),
    );
    let mut m = model(&spec, 1, w, &mut rng);
    let x = tensor(&[b, 3], random(b * 3, 1.0, &mut rng));
    let r = probe(&mut m, &x, &tensor(&[b, 1], vec![0.0; b]), true);
    let l = &recurrent(&r).layers[0];
    assert_eq!(l.spectral_radius, None, "W_hh of an LSTM is not square");
    let names: Vec<&str> = l.blocks.iter().map(|b| b.block.as_str()).collect();
    assert_eq!(names, ["i", "f", "g", "o"]);
    for (blk, want) in l.blocks.iter().zip([0.2, 0.4, 0.5, 0.6]) {
        assert!(close(blk.spectral_radius, want, 1e-10), "{blk:?}");
        assert!(close(blk.sigma_max, want, 1e-10), "{blk:?}");
    }
    assert!(close(l.sigma_max, 0.7, 1e-10), "{}", l.sigma_max);
    assert_eq!(l.gamma, None);
}

#[test]
fn spectrum_of_identity_plus_rank_one_terminates() {
    // I + ε·abᵀ with a, b sign vectors: the identity after one Adam step (every entry moved by
    // ±lr, signs of a rank-one gradient). Its eigenvalue 1 has multiplicity n − 1, the other
    // is 1 + ε·bᵀa; an unbounded Schur iteration does not converge on it.
    let n = 64;
    let mut rng = Rng::seed(14);
    let sign = |rng: &mut Rng| if rng.uniform01() < 0.5 { -1.0 } else { 1.0 };
    let a: Vec<f64> = (0..n).map(|_| sign(&mut rng)).collect();
    let b: Vec<f64> = (0..n).map(|_| sign(&mut rng)).collect();
    let eps = 1e-3;
    let w: Vec<f64> = (0..n * n)
        .map(|k| f64::from(u8::from(k / n == k % n)) + eps * a[k / n] * b[k % n])
        .collect();
    let ba: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    let want = (1.0 + eps * ba).abs().max(1.0);
    let (tx, rx) = std::sync::mpsc::channel();
    let w2 = w.clone();
    std::thread::spawn(move || {
        let _ = tx.send((spectral_radius(&w2, n), largest_singular_value(&w2, n, n)));
    });
    let (rho, sigma) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the spectrum of I + ε·abᵀ is computed in time");
    assert!(close(rho, want, 1e-5), "ρ = {rho}, want {want}");
    assert!(sigma >= rho * (1.0 - 1e-9), "σ_max = {sigma} < ρ = {rho}");
    // The same through the probe, on an RNN with that W_hh.
    let mut m = rnn(Activation::Relu, w, n, 1, &mut rng);
    let x = tensor(&[2, 6], random(12, 1.0, &mut rng));
    let r = probe(&mut m, &x, &tensor(&[2, 1], vec![0.0; 2]), true);
    assert!(close(
        recurrent(&r).layers[0].spectral_radius.unwrap(),
        want,
        1e-5
    ));
}

fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + (-a).exp())
}

#[test]
fn lstm_gate_saturation_matches_a_hand_computation() {
    // I = 1, H = 2, B = 2, T = 3. Biases put unit 0 of the forget gate wide open (a ≈ 10:
    // σ' ≈ 4.5e-5 < 1% of 1/4), unit 1 of the input gate shut (a ≈ −10) and unit 1 of the
    // candidate at tanh ≈ +1 (a ≈ 12); small weights keep them there.
    let (h, t, b) = (2, 3, 2);
    let mut rng = Rng::seed(10);
    let w_ih = random(8, 0.1, &mut rng);
    let w_hh = random(16, 0.1, &mut rng);
    let b_ih = vec![0.0, -10.0, 10.0, 1.0, 0.5, 12.0, -3.0, 0.0];
    let b_hh = random(8, 0.05, &mut rng);
    let xs = vec![1.0, -0.5, 2.0, -1.0, 0.3, 0.7];
    // Reference: the LSTM equations written out per unit.
    let mut vals = vec![vec![]; 4];
    let mut derivs = vec![vec![]; 4];
    let mut negs = vec![vec![]; 4];
    for s in 0..b {
        let (mut hp, mut cp) = ([0.0; 2], [0.0; 2]);
        for step in 0..t {
            let x = xs[s * t + step];
            let a = |row: usize| {
                w_ih[row] * x
                    + b_ih[row]
                    + b_hh[row]
                    + w_hh[row * 2] * hp[0]
                    + w_hh[row * 2 + 1] * hp[1]
            };
            let (mut hn, mut cn) = ([0.0; 2], [0.0; 2]);
            for j in 0..h {
                let (ai, af, ag, ao) = (a(j), a(h + j), a(2 * h + j), a(3 * h + j));
                let (i, f, g, o) = (sigmoid(ai), sigmoid(af), ag.tanh(), sigmoid(ao));
                for (k, (v, aa)) in [(i, ai), (f, af), (g, ag), (o, ao)].into_iter().enumerate() {
                    vals[k].push(v);
                    derivs[k].push(if k == 2 { 1.0 - v * v } else { v * (1.0 - v) });
                    negs[k].push(aa < 0.0);
                }
                cn[j] = f * cp[j] + i * g;
                hn[j] = o * cn[j].tanh();
            }
            hp = hn;
            cp = cn;
        }
    }
    let spec = RecurrentSpec::new(CellKind::Lstm, h);
    let w = CellWeights::new(
        "rnn.",
        4,
        tensor(&[8, 1], w_ih.clone()),
        tensor(&[8, 2], w_hh.clone()),
        tensor(&[8], b_ih.clone()),
        tensor(&[8], b_hh.clone()),
    );
    let mut m = model(&spec, 1, w, &mut rng);
    let x = tensor(&[b, t], xs.clone());
    let y = tensor(&[b, 1], vec![0.5, -0.5]);
    let r = probe(&mut m, &x, &y, true);
    let l = &recurrent(&r).layers[0];
    assert_eq!(l.gate_source, Some(GateSource::Input));
    let n = (b * t * h) as f64;
    for (k, (g, thr)) in l
        .gates
        .iter()
        .zip([0.0025, 0.0025, 0.01, 0.0025])
        .enumerate()
    {
        assert_eq!(g.gate, ["i", "f", "g", "o"][k]);
        let mean = vals[k].iter().sum::<f64>() / n;
        let md = derivs[k].iter().sum::<f64>() / n;
        let sat: Vec<bool> = derivs[k].iter().map(|d| *d < thr).collect();
        let low = sat
            .iter()
            .zip(&negs[k])
            .filter(|(s, neg)| **s && **neg)
            .count() as f64
            / n;
        let high = sat
            .iter()
            .zip(&negs[k])
            .filter(|(s, neg)| **s && !**neg)
            .count() as f64
            / n;
        assert!(
            close(g.mean, mean, 1e-12),
            "{} mean {} vs {mean}",
            g.gate,
            g.mean
        );
        assert!(close(g.mean_abs_derivative, md, 1e-12), "{}", g.gate);
        assert!(close(g.saturated_low, low, 1e-15), "{} low", g.gate);
        assert!(close(g.saturated_high, high, 1e-15), "{} high", g.gate);
        assert!(close(g.saturated_fraction, low + high, 1e-15));
    }
    // The constructed cases: half the units of i shut, of f open, of g at +1; none of o.
    let frac = |k: usize| (l.gates[k].saturated_low, l.gates[k].saturated_high);
    assert_eq!(frac(0), (0.5, 0.0));
    assert_eq!(frac(1), (0.0, 0.5));
    assert_eq!(frac(2), (0.0, 0.5));
    assert_eq!(frac(3), (0.0, 0.0));
    assert_eq!(l.cell_grad_norms.as_ref().map(Vec::len), Some(t));
    // Without the input, the LSTM's first layer gates cannot be recomputed.
    let r2 = probe(&mut m, &x, &y, false);
    let l2 = &recurrent(&r2).layers[0];
    assert!(l2.gates.is_empty() && l2.gate_source.is_none());
    assert_eq!(l2.grad_norms, l.grad_norms);
    let v = judge(&[r2], &Thresholds::default());
    assert!(v
        .recurrent
        .first()
        .unwrap()
        .explanation
        .contains("need the layer's input"));
}

#[test]
fn gru_gate_saturation_matches_a_hand_computation() {
    // I = 1, H = 2, B = 2, T = 3. Biases put unit 0 of the update gate z wide open (a ≈ 10),
    // unit 1 of the reset gate r shut (a ≈ −10) and unit 1 of the candidate n at tanh ≈ −1
    // (a ≈ −12, the low side); small weights keep them there.
    let (h, t, b) = (2, 3, 2);
    let mut rng = Rng::seed(16);
    let w_ih = random(6, 0.1, &mut rng);
    let w_hh = random(12, 0.1, &mut rng);
    let b_ih = vec![0.5, -10.0, 10.0, -1.0, 0.3, -12.0];
    let b_hh = random(6, 0.05, &mut rng);
    let xs = vec![0.4, -1.5, 1.0, 2.0, -0.3, 0.8];
    // Reference: the GRU equations written out per unit.
    let mut vals = vec![vec![]; 3];
    let mut derivs = vec![vec![]; 3];
    let mut negs = vec![vec![]; 3];
    for s in 0..b {
        let mut hp = [0.0; 2];
        for step in 0..t {
            let x = xs[s * t + step];
            let gi = |row: usize| w_ih[row] * x + b_ih[row];
            let gh = |row: usize| w_hh[row * 2] * hp[0] + w_hh[row * 2 + 1] * hp[1] + b_hh[row];
            let mut hn = [0.0; 2];
            for j in 0..h {
                let (ar, az) = (gi(j) + gh(j), gi(h + j) + gh(h + j));
                let (r, z) = (sigmoid(ar), sigmoid(az));
                let an = gi(2 * h + j) + r * gh(2 * h + j);
                let n = an.tanh();
                for (k, (v, aa)) in [(r, ar), (z, az), (n, an)].into_iter().enumerate() {
                    vals[k].push(v);
                    derivs[k].push(if k == 2 { 1.0 - v * v } else { v * (1.0 - v) });
                    negs[k].push(aa < 0.0);
                }
                hn[j] = (1.0 - z) * n + z * hp[j];
            }
            hp = hn;
        }
    }
    let spec = RecurrentSpec::new(CellKind::Gru, h);
    let w = CellWeights::new(
        "rnn.",
        3,
        tensor(&[6, 1], w_ih.clone()),
        tensor(&[6, 2], w_hh.clone()),
        tensor(&[6], b_ih.clone()),
        tensor(&[6], b_hh.clone()),
    );
    let mut m = model(&spec, 1, w, &mut rng);
    let x = tensor(&[b, t], xs.clone());
    let y = tensor(&[b, 1], vec![0.5, -0.5]);
    let r = probe(&mut m, &x, &y, true);
    let l = &recurrent(&r).layers[0];
    assert_eq!(l.gate_source, Some(GateSource::Input));
    let n = (b * t * h) as f64;
    for (k, (g, thr)) in l.gates.iter().zip([0.0025, 0.0025, 0.01]).enumerate() {
        assert_eq!(g.gate, ["r", "z", "n"][k]);
        let mean = vals[k].iter().sum::<f64>() / n;
        let md = derivs[k].iter().sum::<f64>() / n;
        let count = |neg: bool| {
            derivs[k]
                .iter()
                .zip(&negs[k])
                .filter(|(d, ng)| **d < thr && **ng == neg)
                .count() as f64
                / n
        };
        let (low, high) = (count(true), count(false));
        assert!(
            close(g.mean, mean, 1e-12),
            "{} mean {} vs {mean}",
            g.gate,
            g.mean
        );
        assert!(close(g.mean_abs_derivative, md, 1e-12), "{}", g.gate);
        assert!(close(g.saturated_low, low, 1e-15), "{} low", g.gate);
        assert!(close(g.saturated_high, high, 1e-15), "{} high", g.gate);
        assert!(close(g.saturated_fraction, low + high, 1e-15));
    }
    // The constructed cases: half the units of r shut, of z open, of n at −1.
    let frac = |k: usize| (l.gates[k].saturated_low, l.gates[k].saturated_high);
    assert_eq!(frac(0), (0.5, 0.0));
    assert_eq!(frac(1), (0.0, 0.5));
    assert_eq!(frac(2), (0.5, 0.0));
}

#[test]
fn rnn_gates_from_the_output_equal_the_recomputed_ones() {
    for act in [Activation::Tanh, Activation::Sigmoid, Activation::Relu] {
        let (h, i, t, b) = (6, 2, 8, 3);
        let mut rng = Rng::seed(11);
        let w = random(h * h, 0.6, &mut rng);
        let mut m = rnn(act, w, h, i, &mut rng);
        let x = tensor(&[b, t * i], random(b * t * i, 1.5, &mut rng));
        let y = tensor(&[b, 1], vec![0.3; b]);
        let with = probe(&mut m, &x, &y, true);
        let without = probe(&mut m, &x, &y, false);
        let (a, o) = (&recurrent(&with).layers[0], &recurrent(&without).layers[0]);
        assert_eq!(o.gate_source, Some(GateSource::Output), "{act}");
        let (ga, go) = (&a.gates[0], &o.gates[0]);
        assert!(close(ga.mean, go.mean, 1e-12), "{act}");
        assert!(
            close(ga.mean_abs_derivative, go.mean_abs_derivative, 1e-9),
            "{act}"
        );
        assert_eq!(ga.saturated_fraction, go.saturated_fraction, "{act}");
        assert!(
            close(a.jacobian_factor.unwrap(), o.jacobian_factor.unwrap(), 1e-9),
            "{act}"
        );
    }
    // γ from the catalogue: 1/4 for sigmoid, so the Pascanu threshold is 4.
    let mut rng = Rng::seed(12);
    let mut m = rnn(
        Activation::Sigmoid,
        random(16, 0.5, &mut rng),
        4,
        1,
        &mut rng,
    );
    let x = tensor(&[2, 5], random(10, 1.0, &mut rng));
    let r = probe(&mut m, &x, &tensor(&[2, 1], vec![0.0; 2]), false);
    let l = &recurrent(&r).layers[0];
    assert!(close(l.gamma.unwrap(), 0.25, 1e-9) && close(l.pascanu_threshold.unwrap(), 4.0, 1e-8));
}

#[test]
fn decay_handles_underflow_and_short_windows() {
    let (r, f, z) = decay(&[0.0, 0.0, 1e-5, 1e-4, 1e-3, 1e-2], 0, 6);
    assert_eq!((r, z), (Some(0.0), 2));
    assert!(close(f.unwrap(), 0.1, 1e-12));
    let (r, f, _) = decay(&[8.0, 4.0, 2.0, 1.0], 1, 4);
    assert!(close(r.unwrap(), 4.0, 1e-15) && close(f.unwrap(), 2.0, 1e-15));
    assert_eq!(decay(&[1.0], 0, 1), (None, None, 0));
    assert_eq!(decay(&[1.0, 0.0], 0, 2), (None, None, 0));
}

use crate::common::Collect;

fn run(text: &str, dir: PathBuf) -> Vec<StepRecord> {
    let cfg = LoadedConfig {
        config: Config::parse(text, "t.toml", &[]).unwrap(),
        source: "t.toml".into(),
        base_dir: dir,
    };
    let mut t = Trainer::<f64>::new(&cfg).unwrap();
    let mut c = Collect::default();
    t.run(&mut c).unwrap();
    c.0
}

#[test]
fn mlp_records_and_verdicts_have_no_recurrent_part() {
    let recs = run(
        "seed = 2\ndtype = \"f64\"\n[data]\nsource = \"digits\"\nlimit = 200\n[model]\nhidden = [16, 16]\n\
         [training]\nepochs = 1\nmax_steps = 2\nbatch_size = 32\n[diagnostics]\nevery = 1\n",
        PathBuf::from("."),
    );
    assert_eq!(recs.len(), 2);
    for r in &recs {
        assert!(r.recurrent.is_empty());
        let json = serde_json::to_value(r).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "batch_size",
                "epoch",
                "grad_norm",
                "input_q0",
                "layers",
                "loss",
                "step"
            ]
        );
        // It reads back.
        let back: StepRecord = serde_json::from_value(json).unwrap();
        assert_eq!(&back, r);
    }
    let v: Verdict = judge(&recs, &Thresholds::default());
    assert!(v.recurrent.is_empty());
    let json = serde_json::to_string(&v).unwrap();
    assert!(!json.contains("recurrent"), "{json}");
}

#[test]
fn the_trainer_records_the_gradient_through_time() {
    let recs = run(
        "seed = 1\ndtype = \"f64\"\n[data]\nsource = \"adding\"\nn = 40\nseq_len = 10\n\
         [model]\n[model.recurrent]\ncell = \"rnn\"\nhidden = 8\n\
         [training]\nloss = \"mse\"\nepochs = 3\nmax_steps = 3\nbatch_size = 8\n[diagnostics]\nevery = 1\n",
        PathBuf::from("."),
    );
    assert_eq!(recs.len(), 3);
    for r in &recs {
        let rr = recurrent(r);
        assert_eq!(rr.cell, CellKind::Rnn);
        let l = &rr.layers[0];
        assert_eq!(l.grad_norms.len(), 10);
        assert!(l.grad_norms.iter().all(|g| *g > 0.0 && g.is_finite()));
        // The trainer gives the probe the step's batch: gates recomputed from the input.
        assert_eq!(l.gate_source, Some(GateSource::Input));
        assert_eq!(l.gates.len(), 1);
        assert!(l.sigma_max > 0.0 && l.spectral_radius.unwrap() > 0.0);
        let json = serde_json::to_string(r).unwrap();
        let back: StepRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, r);
    }
    let v = judge(&recs, &Thresholds::default());
    let rv = v.recurrent.into_iter().next().unwrap();
    assert_eq!(rv.steps, 10);
    assert_eq!(rv.layers[0].first_step, 1);
    assert_eq!(rv.layers[0].last_step, 3);
}

fn ctx(loss: f64) -> StepContext {
    StepContext {
        step: 1,
        epoch: 1,
        loss,
        grad_norm: 1.0,
    }
}

/// A diverged run's through-time record (non-finite norms, a NaN W_hh spectrum and gate mean)
/// is written to diagnostics.jsonl with null for each non-finite number and read back with NaN
/// there, every finite number unchanged; the verdict is drawn from it without a panic.
#[test]
fn non_finite_through_time_numbers_survive_diagnostics_jsonl() {
    use gradscope::diagnostics::external::{diagnostics_jsonl, parse_diagnostics_jsonl};
    let (h, i, t, b) = (4, 2, 6, 3);
    let mut rng = Rng::seed(3);
    let q = Init::Orthogonal { gain: 0.9 }.sample(h, h, 1.0, &mut rng);
    let mut m = rnn(Activation::Tanh, q, h, i, &mut rng);
    let x = tensor(&[b, t * i], random(b * t * i, 0.5, &mut rng));
    let y = tensor(&[b, 1], vec![1.0; b]);
    let mut r = probe(&mut m, &x, &y, true);
    {
        let l = &mut r.recurrent[0].layers[0];
        l.grad_norms[0] = f64::NAN;
        l.grad_norms[1] = f64::INFINITY;
        l.sigma_max = f64::NAN;
        l.gates[0].mean = f64::NAN;
        l.jacobian_norms.as_mut().unwrap()[0] = f64::NAN;
    }
    let text = diagnostics_jsonl(std::slice::from_ref(&r)).unwrap();
    assert!(text.contains("\"grad_norms\":[null,null,"), "{text}");
    let back = parse_diagnostics_jsonl(&text, "diagnostics.jsonl").unwrap();
    let (a, z) = (&r.recurrent[0].layers[0], &back[0].recurrent[0].layers[0]);
    assert!(z.grad_norms[0].is_nan() && z.grad_norms[1].is_nan());
    assert_eq!(&z.grad_norms[2..], &a.grad_norms[2..]);
    assert!(z.sigma_max.is_nan() && z.gates[0].mean.is_nan());
    assert!(z.jacobian_norms.as_ref().unwrap()[0].is_nan());
    assert_eq!(
        z.gates[0].mean_abs_derivative,
        a.gates[0].mean_abs_derivative
    );
    assert_eq!(z.blocks, a.blocks);
    let v = judge(&back, &Thresholds::default());
    assert_eq!(v.recurrent.len(), 1);
}
