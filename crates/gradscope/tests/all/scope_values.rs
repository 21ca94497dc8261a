//! The probe's numbers on networks small enough to compute by hand: every field of a
//! [`LayerRecord`] and [`StepRecord`] is asserted against its value, not just its presence.
//!
//! The sigmoid net is 1 → 1 → 1: z = x (W₁ = 1, b₁ = 0), a = σ(z), ŷ = 2a − 1 (W₂ = 2,
//! b₂ = −1), MSE against 0 over the batch x = z = [0, 3, 5, 7, 9]. So ∂L/∂ŷ = 2ŷ/5,
//! ∂L/∂a = 2·∂L/∂ŷ, ∂L/∂z = σ'(z)·∂L/∂a, ∂L/∂W₁ = Σ δ·x, ∂L/∂W₂ = Σ ∂L/∂ŷ·a.
//! σ'(z) = σ(z)(1 − σ(z)) is 0.25, 4.5e-2, 6.6e-3, 9.1e-4, 1.2e-4 at the five z: below 1% of
//! max σ' = 0.25 (2.5e-3) at z = 7 and 9 — exactly 40% saturated (60% with a 10% threshold).

use gradscope::diagnostics::{DiagnosticsConfig, LayerRecord, Probe, StepContext, StepRecord};
use gradscope::layer::{ActivationLayer, Layer, LayerKind, Linear};
use gradscope::loss::Loss;
use gradscope::model::Model;
use gradscope::{Activation, Rng, Tensor};

use crate::common::{assert_close, logistic};

const REL: f64 = 1e-12;

fn t(shape: &[usize], v: &[f64]) -> Tensor<f64> {
    Tensor::from_vec(shape, v.to_vec()).unwrap()
}

fn linear(prefix: &str, w: &[f64], out: usize, inp: usize, b: &[f64]) -> Layer<f64> {
    Layer::from(Linear::new(prefix, t(&[out, inp], w), Some(t(&[out], b))))
}

fn act(prefix: &str, a: Activation) -> Layer<f64> {
    Layer::from(ActivationLayer::new(prefix, a))
}

fn l2(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

const CTX: StepContext = StepContext {
    step: 7,
    epoch: 2,
    loss: 0.25,
    grad_norm: 3.5,
};

/// Forward/backward on `x`, measure, one SGD step (lr) by hand, finish.
fn probe_step(model: &mut Model<f64>, x: &Tensor<f64>, y: &Tensor<f64>, lr: f64) -> StepRecord {
    model.forward_backward(x, y, Loss::Mse).unwrap();
    let mut probe = Probe::new(DiagnosticsConfig {
        bins: 16,
        ..DiagnosticsConfig::default()
    });
    assert!(probe.finish(model).is_none(), "nothing measured yet");
    probe.measure(model, Some(x), CTX);
    model.visit_params_mut(&mut |_, p| {
        for (v, g) in p.value.data_mut().iter_mut().zip(p.grad.data()) {
            *v -= lr * g;
        }
    });
    let rec = probe.finish(model).expect("a measured step");
    assert!(
        probe.finish(model).is_none(),
        "finish hands the record over once"
    );
    rec
}

const Z: [f64; 5] = [0.0, 3.0, 5.0, 7.0, 9.0];

fn sigmoid_net() -> (Model<f64>, Tensor<f64>, Tensor<f64>) {
    let model = Model::new(
        vec![
            linear("0.", &[1.0], 1, 1, &[0.0]),
            act("1.", Activation::Sigmoid),
            linear("2.", &[2.0], 1, 1, &[-1.0]),
        ],
        Rng::seed(1),
    );
    (model, t(&[5, 1], &Z), t(&[5, 1], &[0.0; 5]))
}

/// The hand computation of the sigmoid net's backward pass.
struct ByHand {
    a: Vec<f64>,
    d: Vec<f64>,
    dy: Vec<f64>,
    da: Vec<f64>,
    delta: Vec<f64>,
    dw1: f64,
    dw2: f64,
}

fn by_hand() -> ByHand {
    let a: Vec<f64> = Z.iter().map(|&z| logistic(z)).collect();
    let d: Vec<f64> = a.iter().map(|a| a * (1.0 - a)).collect();
    let dy: Vec<f64> = a.iter().map(|a| 2.0 * (2.0 * a - 1.0) / 5.0).collect();
    let da: Vec<f64> = dy.iter().map(|g| 2.0 * g).collect();
    let delta: Vec<f64> = d.iter().zip(&da).map(|(d, g)| d * g).collect();
    let dw1 = delta.iter().zip(&Z).map(|(d, x)| d * x).sum();
    let dw2 = dy.iter().zip(&a).map(|(g, a)| g * a).sum();
    ByHand {
        a,
        d,
        dy,
        da,
        delta,
        dw1,
        dw2,
    }
}

#[test]
fn sigmoid_layer_saturation_derivatives_and_gradient_norms() {
    let (mut model, x, y) = sigmoid_net();
    let rec = probe_step(&mut model, &x, &y, 0.5);
    let h = by_hand();
    let s = &rec.layers[1];
    assert_eq!(
        (s.index, s.kind, s.depth),
        (1, LayerKind::Activation, Some(1))
    );
    assert_eq!(s.activation, Some(Activation::Sigmoid));
    // Saturation: |σ'(z)| < 1% of 0.25 at z = 7 and 9 only.
    assert_eq!(s.saturated_fraction, Some(0.4));
    // A sigmoid is never exactly 0: no dead unit.
    assert_eq!(s.dead_fraction, Some(0.0));
    assert_close(
        s.mean_abs_derivative.unwrap(),
        mean(&h.d),
        REL,
        0.0,
        "mean |f'|",
    );
    let sq: Vec<f64> = h.d.iter().map(|d| d * d).collect();
    assert_close(
        s.mean_sq_derivative.unwrap(),
        mean(&sq),
        REL,
        0.0,
        "mean f'²",
    );
    // ∂L/∂z (the activation's input gradient) and ∂L/∂a (its output gradient).
    assert_close(s.grad_in_norm.unwrap(), l2(&h.delta), REL, 0.0, "‖∂L/∂z‖");
    assert_close(
        s.grad_in_max.unwrap(),
        max_abs(&h.delta),
        REL,
        0.0,
        "max |∂L/∂z|",
    );
    assert_close(s.grad_out_norm, l2(&h.da), REL, 0.0, "‖∂L/∂a‖");
    assert_close(s.grad_out_max, max_abs(&h.da), REL, 0.0, "max |∂L/∂a|");
    // No weight of its own.
    assert_eq!(
        (s.weight_norm, s.weight_grad_norm, s.update_ratio, s.sigma_w),
        (None, None, None, None)
    );
    assert_eq!(rec.deltas(), vec![(1, s.grad_in_norm.unwrap())]);
    assert_eq!(rec.first_to_last(), None, "one hidden layer");
}

#[test]
fn sigmoid_layer_activation_statistics_and_histograms() {
    let (mut model, x, y) = sigmoid_net();
    let rec = probe_step(&mut model, &x, &y, 0.5);
    let h = by_hand();
    let s = &rec.layers[1];
    let m = mean(&h.a);
    let var = h.a.iter().map(|a| (a - m).powi(2)).sum::<f64>() / 5.0;
    assert_close(s.act_mean.unwrap(), m, REL, 0.0, "activation mean");
    assert_close(s.act_std.unwrap(), var.sqrt(), REL, 0.0, "activation std");
    // Nearest-rank quantiles of five values: ranks 0, 1, 2, 3, 4.
    let q = s.act_quantiles.unwrap();
    assert_eq!([q.p02, q.p25, q.p50, q.p75, q.p98], h.a[..]);
    // Within 0.01 of the range's end 1: σ(5), σ(7), σ(9).
    assert_eq!(s.range_end_fraction, Some(0.6));
    // |∂L/∂z| on 16 log bins from 1e-14 to 1e2, one per decade: δ = 0 (ŷ = y at z = 0) lies
    // below the first edge, 3.3e-2 in [1e-2, 1e-1) (bin 12), 5.2e-3 in bin 11, 7.3e-4 in
    // bin 10, 9.9e-5 in bin 9.
    let g = s.grad_hist.as_ref().unwrap();
    assert_eq!(h.delta[0], 0.0);
    assert_eq!(g.edges.len(), 17);
    assert_close(g.edges[0], 1e-14, 1e-12, 0.0, "first edge");
    assert_close(g.edges[16], 1e2, 1e-12, 0.0, "last edge");
    assert_close(g.edges[12], 1e-2, 1e-12, 0.0, "edge 12");
    let mut want = vec![0u64; 16];
    for b in [9, 10, 11, 12] {
        want[b] = 1;
    }
    assert_eq!((g.counts.clone(), g.below, g.above), (want, 1, 0));
    // Activations on 16 linear bins over [σ(0), σ(9)] = [0.5, 0.99988]: σ(0) in bin 0,
    // σ(3) = 0.953 in bin 14, σ(5), σ(7) and σ(9) (the maximum) in the last bin.
    let a = s.act_hist.as_ref().unwrap();
    assert_eq!((a.edges[0], a.edges[16]), (0.5, h.a[4]));
    let mut want = vec![0u64; 16];
    want[0] = 1;
    want[14] = 1;
    want[15] = 3;
    assert_eq!((a.counts.clone(), a.below, a.above), (want, 0, 0));
}

#[test]
fn linear_layers_weight_gradients_update_ratios_and_the_step_record() {
    let (mut model, x, y) = sigmoid_net();
    let lr = 0.5;
    let rec = probe_step(&mut model, &x, &y, lr);
    let h = by_hand();
    assert_eq!(
        (rec.step, rec.epoch, rec.loss, rec.grad_norm),
        (7, 2, 0.25, 3.5)
    );
    // q⁰ = mean x² = (0 + 9 + 25 + 49 + 81)/5.
    assert_close(rec.input_q0.unwrap(), 164.0 / 5.0, REL, 0.0, "q0");
    assert_eq!(rec.layers.len(), 3);
    assert!(rec.recurrent.is_empty());
    let (l0, l2r) = (&rec.layers[0], &rec.layers[2]);
    assert_eq!(
        (l0.kind, l0.depth, l2r.depth),
        (LayerKind::Linear, None, None)
    );
    assert_eq!(
        (l0.path.as_str(), l0.name.as_str()),
        ("0", "linear(1 -> 1)")
    );
    // The first layer's input gradient is not computed; its output gradient is δ.
    assert_eq!((l0.grad_in_norm, l0.grad_in_max), (None, None));
    assert_close(
        l0.grad_out_norm,
        l2(&h.delta),
        REL,
        0.0,
        "‖∂L/∂z‖ at layer 0",
    );
    // The output layer: ∂L/∂ŷ from the loss, ∂L/∂a into the sigmoid.
    assert_close(l2r.grad_out_norm, l2(&h.dy), REL, 0.0, "‖∂L/∂ŷ‖");
    assert_close(l2r.grad_out_max, max_abs(&h.dy), REL, 0.0, "max |∂L/∂ŷ|");
    assert_close(
        l2r.grad_in_norm.unwrap(),
        l2(&h.da),
        REL,
        0.0,
        "‖∂L/∂a‖ at layer 2",
    );
    // ‖W‖, ‖∂L/∂W‖ (the weight only, not the bias).
    assert_eq!((l0.weight_norm, l2r.weight_norm), (Some(1.0), Some(2.0)));
    assert_close(
        l0.weight_grad_norm.unwrap(),
        h.dw1.abs(),
        REL,
        0.0,
        "‖∂L/∂W₁‖",
    );
    assert_close(
        l0.weight_grad_max.unwrap(),
        h.dw1.abs(),
        REL,
        0.0,
        "max |∂L/∂W₁|",
    );
    assert_close(
        l2r.weight_grad_norm.unwrap(),
        h.dw2.abs(),
        REL,
        0.0,
        "‖∂L/∂W₂‖",
    );
    // ‖ΔW‖/‖W‖ of the SGD step: lr·|∂L/∂W|/|W|.
    assert_close(
        l0.update_ratio.unwrap(),
        lr * h.dw1.abs() / 1.0,
        REL,
        0.0,
        "ratio W₁",
    );
    assert_close(
        l2r.update_ratio.unwrap(),
        lr * h.dw2.abs() / 2.0,
        REL,
        0.0,
        "ratio W₂",
    );
    // σ_w of a 1×1 matrix is 0 (no spread); σ_b² = mean b².
    assert_eq!((l0.sigma_w, l0.sigma_b2), (Some(0.0), Some(0.0)));
    assert_eq!((l2r.sigma_w, l2r.sigma_b2), (Some(0.0), Some(1.0)));
    assert_eq!(
        rec.incoming_linear(&rec.layers[1]).map(|l| l.index),
        Some(0)
    );
}

/// A ReLU layer of three units over the batch x = [1, 2, 3]: z = [x, −x, 2x − 5]. Unit 2 is
/// never active (dead: 1/3); f'(z) = 0 at 5 of the 9 unit-samples (z = −1, −2, −3 and
/// 2x − 5 = −3, −1): saturated and at the range's end 0 alike.
#[test]
fn relu_layer_dead_units_saturation_and_weight_scale() {
    let mut model = Model::new(
        vec![
            linear("0.", &[1.0, -1.0, 2.0], 3, 1, &[0.0, 0.0, -5.0]),
            act("1.", Activation::Relu),
            linear("2.", &[1.0, 1.0, 1.0], 1, 3, &[0.0]),
        ],
        Rng::seed(1),
    );
    let x = t(&[3, 1], &[1.0, 2.0, 3.0]);
    let y = t(&[3, 1], &[0.0; 3]);
    let rec = probe_step(&mut model, &x, &y, 0.1);
    let r = &rec.layers[1];
    assert_eq!(r.dead_fraction, Some(1.0 / 3.0));
    assert_eq!(r.saturated_fraction, Some(5.0 / 9.0));
    assert_eq!(r.range_end_fraction, Some(5.0 / 9.0));
    // mean |f'| = 4/9 (the active unit-samples), mean f'² the same.
    assert_close(
        r.mean_abs_derivative.unwrap(),
        4.0 / 9.0,
        REL,
        0.0,
        "relu mean |f'|",
    );
    assert_close(
        r.mean_sq_derivative.unwrap(),
        4.0 / 9.0,
        REL,
        0.0,
        "relu mean f'²",
    );
    // a = [1,0,0; 2,0,0; 3,0,1]: mean 7/9.
    assert_close(r.act_mean.unwrap(), 7.0 / 9.0, REL, 0.0, "relu mean a");
    // W₁ = [1, −1, 2]ᵀ: mean 2/3, E[w²] = 2, Var = 14/9, fan_in 1: σ_w = √(14/9);
    // b₁ = [0, 0, −5]: σ_b² = 25/3. W₂ = [1, 1, 1]: σ_w = 0, ‖W₂‖ = √3.
    let (l0, l2r) = (&rec.layers[0], &rec.layers[2]);
    assert_close(l0.sigma_w.unwrap(), (14.0f64 / 9.0).sqrt(), REL, 0.0, "σ_w");
    assert_close(l0.sigma_b2.unwrap(), 25.0 / 3.0, REL, 0.0, "σ_b²");
    assert_close(l0.weight_norm.unwrap(), 6f64.sqrt(), REL, 0.0, "‖W₁‖");
    assert_eq!(l2r.sigma_w, Some(0.0));
    assert_close(l2r.weight_norm.unwrap(), 3f64.sqrt(), REL, 0.0, "‖W₂‖");
}

/// σ_w = std(W)·√fan_in over a 2×2 matrix, and ‖ΔW‖/‖W‖ of a layer whose weights are 0
/// (undefined: NaN) next to one whose weights are not.
#[test]
fn sigma_w_of_a_square_matrix_and_the_update_ratio_of_zero_weights() {
    let mut model = Model::new(
        vec![
            linear("0.", &[1.0, 2.0, 3.0, 4.0], 2, 2, &[1.0, -3.0]),
            act("1.", Activation::Tanh),
            linear("2.", &[0.0, 0.0], 1, 2, &[0.5]),
        ],
        Rng::seed(1),
    );
    let x = t(&[2, 2], &[0.1, -0.2, 0.3, 0.05]);
    let y = t(&[2, 1], &[1.0, -1.0]);
    let rec = probe_step(&mut model, &x, &y, 0.1);
    let l0: &LayerRecord = &rec.layers[0];
    // mean 2.5, Var = 1.25, fan_in 2: σ_w² = 2.5; σ_b² = (1 + 9)/2.
    assert_close(l0.sigma_w.unwrap(), 2.5f64.sqrt(), REL, 0.0, "σ_w 2×2");
    assert_close(l0.sigma_b2.unwrap(), 5.0, REL, 0.0, "σ_b² 2×2");
    assert_close(l0.weight_norm.unwrap(), 30f64.sqrt(), REL, 0.0, "‖W‖ 2×2");
    // W₂ = 0 receives a gradient but no activation gradient flows back through it.
    assert!(rec.layers[2].update_ratio.unwrap().is_nan());
    assert_eq!(rec.layers[1].grad_in_norm, Some(0.0));
    assert_eq!(l0.update_ratio, Some(0.0), "no gradient reached W₁");
    // q⁰ = mean x² over the batch.
    let q0 = (0.01 + 0.04 + 0.09 + 0.0025) / 4.0;
    assert_close(rec.input_q0.unwrap(), q0, REL, 0.0, "q0 2×2");
}
