//! Finite-difference gradient checks in f64 for every layer and loss, through whole models.

use gradscope::layer::{backward_chain, forward_chain, Layer, LayerNorm};
use gradscope::loss::Loss;
use gradscope::model::{MlpSpec, Model, ModelSpec, Norm, SequenceSpec};
use gradscope::{Activation, Rng, Tensor};

const H: f64 = 1e-6;

fn close(a: f64, n: f64) -> bool {
    (a - n).abs() <= 1e-6 * a.abs().max(n.abs()) + 1e-9
}

fn random(shape: &[usize], scale: f64, rng: &mut Rng) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape, (0..n).map(|_| scale * rng.normal()).collect()).unwrap()
}

fn targets(loss: Loss, n: usize, k: usize, rng: &mut Rng) -> Tensor<f64> {
    match loss {
        Loss::CrossEntropy => {
            Tensor::from_vec(&[n], (0..n).map(|_| rng.below(k) as f64).collect()).unwrap()
        }
        Loss::BceWithLogits => Tensor::from_vec(
            &[n, k],
            (0..n * k)
                .map(|_| (rng.uniform01() < 0.5) as u8 as f64)
                .collect(),
        )
        .unwrap(),
        Loss::Mse => random(&[n, k], 1.0, rng),
    }
}

/// Loss of the model at its current parameters, replaying the same random stream.
fn loss_at(
    model: &mut Model<f64>,
    rng0: &Rng,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    loss: Loss,
) -> f64 {
    model.rng = rng0.clone();
    let mut g = Tensor::default();
    let out = model.forward(x).clone();
    loss.forward_backward(&out, y, &mut g).unwrap()
}

/// Checks every parameter gradient (up to `per_param` elements each) and the input gradient.
fn check(model: &mut Model<f64>, x: &Tensor<f64>, y: &Tensor<f64>, loss: Loss, what: &str) {
    let rng0 = model.rng.clone();
    model.rng = rng0.clone();
    model.forward_backward(x, y, loss).unwrap();
    let analytic: Vec<Vec<f64>> = model.params().iter().map(|p| p.grad.to_f64_vec()).collect();
    let names: Vec<String> = model.params().iter().map(|p| p.name.clone()).collect();
    assert!(!analytic.is_empty() || model.layers.is_empty());
    let mut checked = 0;
    for (pi, grads) in analytic.iter().enumerate() {
        let stride = (grads.len() / 12).max(1);
        for e in (0..grads.len()).step_by(stride) {
            let nudge = |delta: f64, model: &mut Model<f64>| {
                model.visit_params_mut(&mut |i, p| {
                    if i == pi {
                        p.value.data_mut()[e] += delta;
                    }
                });
            };
            nudge(H, model);
            let lp = loss_at(model, &rng0, x, y, loss);
            nudge(-2.0 * H, model);
            let lm = loss_at(model, &rng0, x, y, loss);
            nudge(H, model);
            let numeric = (lp - lm) / (2.0 * H);
            assert!(
                close(grads[e], numeric),
                "{what}: ∂L/∂{}[{e}] analytic {} vs numeric {numeric}",
                names[pi],
                grads[e]
            );
            checked += 1;
        }
    }
    // Input gradient through the whole chain.
    model.rng = rng0.clone();
    model.zero_grad();
    let out = forward_chain(&mut model.layers, x, &mut model.rng).clone();
    let mut g = Tensor::default();
    loss.forward_backward(&out, y, &mut g).unwrap();
    backward_chain(&mut model.layers, x, &g, true);
    let gx = model.layers[0].grad_input().to_f64_vec();
    let mut xp = x.clone();
    for e in (0..x.len()).step_by((x.len() / 10).max(1)) {
        xp.data_mut()[e] += H;
        let lp = loss_at(model, &rng0, &xp, y, loss);
        xp.data_mut()[e] -= 2.0 * H;
        let lm = loss_at(model, &rng0, &xp, y, loss);
        xp.data_mut()[e] += H;
        let numeric = (lp - lm) / (2.0 * H);
        assert!(
            close(gx[e], numeric),
            "{what}: ∂L/∂x[{e}] analytic {} vs numeric {numeric}",
            gx[e]
        );
        checked += 1;
    }
    assert!(checked > 0);
}

fn mlp(spec: &(impl Clone + Into<ModelSpec>), seed: u64) -> Model<f64> {
    spec.clone()
        .into()
        .build::<f64>(&mut Rng::seed(seed))
        .unwrap()
}

#[test]
fn linear_and_every_loss() {
    let mut rng = Rng::seed(1);
    for loss in [Loss::CrossEntropy, Loss::BceWithLogits, Loss::Mse] {
        let spec = MlpSpec::new(5, &[], 4, Activation::Identity);
        let mut m = mlp(&spec, 2);
        let x = random(&[7, 5], 1.0, &mut rng);
        let y = targets(loss, 7, 4, &mut rng);
        check(&mut m, &x, &y, loss, loss.name());
    }
}

#[test]
fn every_activation_inside_an_mlp() {
    let mut rng = Rng::seed(3);
    let mut acts = Activation::catalogue();
    acts.push(Activation::Prelu {
        init: 0.2,
        channels: 6,
    });
    for act in acts {
        let mut spec = MlpSpec::new(4, &[6, 6], 3, act);
        spec.init = gradscope::init::Init::XavierNormal { gain: 1.5 };
        let mut m = mlp(&spec, 4);
        let x = random(&[5, 4], 1.0, &mut rng);
        let y = targets(Loss::CrossEntropy, 5, 3, &mut rng);
        check(&mut m, &x, &y, Loss::CrossEntropy, &act.to_string());
    }
}

#[test]
fn batchnorm_train_and_eval() {
    let mut rng = Rng::seed(5);
    let mut spec = MlpSpec::new(3, &[8, 8], 2, Activation::Tanh);
    spec.norm = Norm::Batchnorm;
    let mut m = mlp(&spec, 6);
    let x = random(&[9, 3], 2.0, &mut rng);
    let y = targets(Loss::Mse, 9, 2, &mut rng);
    check(&mut m, &x, &y, Loss::Mse, "batchnorm train");
    // Give γ, β and the running statistics non-trivial values, then check eval mode.
    m.visit_params_mut(&mut |_, p| {
        for v in p.value.data_mut() {
            *v += 0.1;
        }
    });
    for _ in 0..3 {
        m.forward(&x);
    }
    m.set_training(false);
    check(&mut m, &x, &y, Loss::Mse, "batchnorm eval");
}

/// L = Σ g ⊙ layer(x): checks ∂L/∂x and every parameter gradient of one layer by central
/// differences (so a layer without parameters is checked too).
fn check_layer(layer: &mut Layer<f64>, x: &Tensor<f64>, g: &Tensor<f64>, what: &str) {
    let mut rng = Rng::seed(0);
    let loss = |layer: &mut Layer<f64>, x: &Tensor<f64>, rng: &mut Rng| -> f64 {
        layer.forward(x, rng);
        layer
            .output()
            .data()
            .iter()
            .zip(g.data())
            .map(|(y, g)| y * g)
            .sum()
    };
    layer.forward(x, &mut rng);
    layer.visit_params_mut(&mut |p| p.zero_grad());
    layer.backward(x, g, true);
    let gx = layer.grad_input().to_f64_vec();
    let mut analytic = Vec::new();
    layer.visit_params(&mut |p| analytic.push((p.name.clone(), p.grad.to_f64_vec())));
    let mut xp = x.clone();
    for (e, &a) in gx.iter().enumerate() {
        xp.data_mut()[e] += H;
        let lp = loss(layer, &xp, &mut rng);
        xp.data_mut()[e] -= 2.0 * H;
        let lm = loss(layer, &xp, &mut rng);
        xp.data_mut()[e] += H;
        let numeric = (lp - lm) / (2.0 * H);
        assert!(
            close(a, numeric),
            "{what}: ∂L/∂x[{e}] analytic {a} vs numeric {numeric}"
        );
    }
    for (pi, (name, grads)) in analytic.iter().enumerate() {
        for (e, &a) in grads.iter().enumerate() {
            let nudge = |delta: f64, layer: &mut Layer<f64>| {
                let mut i = 0;
                layer.visit_params_mut(&mut |p| {
                    if i == pi {
                        p.value.data_mut()[e] += delta;
                    }
                    i += 1;
                });
            };
            nudge(H, layer);
            let lp = loss(layer, x, &mut rng);
            nudge(-2.0 * H, layer);
            let lm = loss(layer, x, &mut rng);
            nudge(H, layer);
            let numeric = (lp - lm) / (2.0 * H);
            assert!(
                close(a, numeric),
                "{what}: ∂L/∂{name}[{e}] analytic {a} vs numeric {numeric}"
            );
        }
    }
}

#[test]
fn layernorm_alone_affine_and_not() {
    let mut rng = Rng::seed(21);
    for affine in [true, false] {
        // ε = 1e-5 (PyTorch's default) and a large ε, where dropping it from the backward
        // would show; rows of width 1 (x̂ = 0), 2 and 7; a constant row (σ² = 0).
        for (c, eps) in [(7, 1e-5), (7, 0.5), (2, 1e-5), (1, 1e-5)] {
            let mut layer = Layer::LayerNorm(LayerNorm::new("0.", c, eps, affine));
            layer.visit_params_mut(&mut |p| {
                for v in p.value.data_mut() {
                    *v = 0.5 + rng.normal();
                }
            });
            let mut x = random(&[4, c], 2.0, &mut rng);
            for v in x.data_mut().iter_mut().skip(3 * c) {
                *v = 0.7;
            }
            let g = random(&[4, c], 1.0, &mut rng);
            check_layer(
                &mut layer,
                &x,
                &g,
                &format!("layernorm({c}, eps={eps}, affine={affine})"),
            );
            let mut names = Vec::new();
            layer.visit_params(&mut |p| names.push(p.name.clone()));
            assert_eq!(
                names,
                if affine {
                    vec!["0.weight", "0.bias"]
                } else {
                    vec![]
                }
            );
        }
    }
}

#[test]
fn layernorm_inside_mlps() {
    let mut rng = Rng::seed(23);
    for (affine, act, residual, loss, n) in [
        (true, Activation::Tanh, false, Loss::Mse, 6),
        (false, Activation::Tanh, false, Loss::CrossEntropy, 5),
        (true, Activation::Gelu, true, Loss::BceWithLogits, 4),
        (false, Activation::Relu, true, Loss::Mse, 3),
        // One sample: LayerNorm needs no batch statistics.
        (true, Activation::Sigmoid, false, Loss::CrossEntropy, 1),
    ] {
        let mut spec = MlpSpec::new(3, &[6, 6, 4], 3, act);
        spec.norm = Norm::Layernorm;
        spec.ln_affine = affine;
        spec.residual = residual;
        let mut m = mlp(&spec, 24);
        assert!(m.contains(gradscope::layer::LayerKind::LayerNorm));
        // Non-trivial γ and β (and weights).
        m.visit_params_mut(&mut |_, p| {
            for v in p.value.data_mut() {
                *v += 0.3 * rng.normal();
            }
        });
        let x = random(&[n, 3], 1.5, &mut rng);
        let y = targets(loss, n, 3, &mut rng);
        let what = format!("layernorm mlp affine={affine} {act} residual={residual} n={n}");
        check(&mut m, &x, &y, loss, &what);
        // Evaluation mode computes the same function.
        let train = m.forward(&x).clone();
        m.set_training(false);
        assert_eq!(m.forward(&x), &train, "{what}: eval differs from train");
    }
}

#[test]
fn dropout_and_rrelu_with_replayed_randomness() {
    let mut rng = Rng::seed(7);
    let mut spec = MlpSpec::new(
        4,
        &[10, 10],
        3,
        Activation::Rrelu {
            lower: 0.1,
            upper: 0.3,
        },
    );
    spec.dropout = 0.3;
    let mut m = mlp(&spec, 8);
    let x = random(&[6, 4], 1.0, &mut rng);
    let y = targets(Loss::CrossEntropy, 6, 3, &mut rng);
    check(&mut m, &x, &y, Loss::CrossEntropy, "dropout + rrelu");
}

#[test]
fn residual_blocks() {
    let mut rng = Rng::seed(9);
    let mut spec = MlpSpec::new(6, &[6, 6, 6], 2, Activation::Gelu);
    spec.residual = true;
    spec.norm = Norm::Batchnorm;
    let mut m = mlp(&spec, 10);
    assert!(matches!(m.layers[0], Layer::Residual(_)));
    let x = random(&[5, 6], 1.0, &mut rng);
    let y = targets(Loss::BceWithLogits, 5, 2, &mut rng);
    check(&mut m, &x, &y, Loss::BceWithLogits, "residual");
}

#[test]
fn parameter_names_follow_pytorch_sequential() {
    let mut spec = MlpSpec::new(
        3,
        &[4, 4],
        2,
        Activation::Prelu {
            init: 0.25,
            channels: 1,
        },
    );
    spec.norm = Norm::Batchnorm;
    let m = mlp(&spec, 0);
    let names: Vec<String> = m.params().iter().map(|p| p.name.clone()).collect();
    assert_eq!(
        names,
        [
            "0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "3.weight", "3.bias",
            "4.weight", "4.bias", "5.weight", "6.weight", "6.bias"
        ]
    );
}

#[test]
fn recurrent_models_inside_the_chain() {
    use gradscope::recurrent::{CellKind, Predict, RecurrentSpec};
    let (b, t, i) = (3, 4, 3);
    let mut rng = Rng::seed(41);
    for cell in [CellKind::Rnn, CellKind::Lstm, CellKind::Gru] {
        for layers in [1, 2] {
            for (predict, loss) in [
                (Predict::Last, Loss::Mse),
                (Predict::Last, Loss::CrossEntropy),
                (Predict::EveryStep, Loss::CrossEntropy),
            ] {
                let mut rec = RecurrentSpec::new(cell, 4);
                rec.layers = layers;
                rec.predict = predict;
                if cell == CellKind::Lstm {
                    rec.forget_bias = Some(1.0);
                }
                let head = MlpSpec::new(0, &[5], 3, Activation::Tanh);
                let spec = SequenceSpec::new(i, rec, head);
                let mut model = mlp(&spec, 7 + layers as u64);
                // Larger weights so the gates leave their linear regime.
                model.visit_params_mut(&mut |_, p| {
                    p.value.data_mut().iter_mut().for_each(|v| *v *= 2.0)
                });
                let x = random(&[b, t * i], 1.0, &mut rng);
                let rows = if predict == Predict::Last { b } else { b * t };
                let y = targets(loss, rows, 3, &mut rng);
                let what = format!(
                    "{}, {layers} layer(s), {predict:?}, {}",
                    cell.name(),
                    loss.name()
                );
                check(&mut model, &x, &y, loss, &what);
            }
        }
    }
}

#[test]
fn recurrent_names_follow_a_pytorch_module_with_rnn_and_fc() {
    use gradscope::recurrent::{CellKind, RecurrentSpec};
    let mut rec = RecurrentSpec::new(CellKind::Lstm, 6);
    rec.layers = 2;
    let spec = SequenceSpec::new(2, rec, MlpSpec::new(0, &[8], 1, Activation::Relu));
    let m = mlp(&spec, 1);
    let names: Vec<(String, Vec<usize>)> = m
        .state_dict()
        .into_iter()
        .map(|(n, t)| (n, t.shape().to_vec()))
        .collect();
    let expect = [
        ("rnn.weight_ih_l0", vec![24, 2]),
        ("rnn.weight_hh_l0", vec![24, 6]),
        ("rnn.bias_ih_l0", vec![24]),
        ("rnn.bias_hh_l0", vec![24]),
        ("rnn.weight_ih_l1", vec![24, 6]),
        ("rnn.weight_hh_l1", vec![24, 6]),
        ("rnn.bias_ih_l1", vec![24]),
        ("rnn.bias_hh_l1", vec![24]),
        ("fc.0.weight", vec![8, 6]),
        ("fc.0.bias", vec![8]),
        ("fc.2.weight", vec![1, 8]),
        ("fc.2.bias", vec![1]),
    ];
    let got: Vec<(&str, Vec<usize>)> = names.iter().map(|(n, s)| (n.as_str(), s.clone())).collect();
    let want: Vec<(&str, Vec<usize>)> = expect.iter().map(|(n, s)| (*n, s.clone())).collect();
    assert_eq!(got, want);
}

/// `[model.recurrent] truncate = k` inside a model gives the same parameter gradients as
/// running the layer chunk by chunk with `UnrolledLayer::truncated_bptt`.
#[test]
fn truncation_in_the_model_equals_chunked_truncated_bptt() {
    use gradscope::recurrent::{
        CellKind, CellWeights, LstmCell, Predict, RecurrentEncoder, RecurrentSpec, UnrolledLayer,
    };
    let (b, t, i, h, k) = (2, 8, 3, 4, 3);
    let mut rng = Rng::seed(5);
    let w = CellWeights::<f64>::uniform("rnn.", 4, i, h, &mut rng);
    let mut spec = RecurrentSpec::new(CellKind::Lstm, h);
    spec.predict = Predict::EveryStep;
    spec.truncate = Some(k);
    let mut layer = RecurrentEncoder::from_weights(&spec, i, vec![w.clone()]);
    let x = random(&[b, t * i], 1.0, &mut rng);
    let g = random(&[b * t, h], 1.0, &mut rng);
    layer.forward(&x);
    layer.backward(&g, true);
    // The same through truncated_bptt on time-major copies.
    let mut x_tbi = vec![0.0; t * b * i];
    let mut g_tbh = vec![0.0; t * b * h];
    for bi in 0..b {
        for ti in 0..t {
            for j in 0..i {
                x_tbi[(ti * b + bi) * i + j] = x.data()[(bi * t + ti) * i + j];
            }
            for j in 0..h {
                g_tbh[(ti * b + bi) * h + j] = g.data()[(bi * t + ti) * h + j];
            }
        }
    }
    let x_tbi = Tensor::from_vec(&[t, b, i], x_tbi).unwrap();
    let mut reference = UnrolledLayer::new(LstmCell::from_weights(w.clone()));
    reference.truncated_bptt(&x_tbi, k, None, |start, out| {
        let n = out.shape()[0];
        Tensor::from_vec(
            &[n, b, h],
            g_tbh[start * b * h..(start + n) * b * h].to_vec(),
        )
        .unwrap()
    });
    let mut ours = Vec::new();
    layer.visit_params(&mut |p| ours.push(p.grad.to_f64_vec()));
    for (p, mine) in reference.params().iter().zip(&ours) {
        for (a, r) in mine.iter().zip(p.grad.to_f64_vec()) {
            assert!(
                (a - r).abs() <= 1e-12 * r.abs().max(1.0),
                "{}: {a} vs {r}",
                p.name
            );
        }
    }
    // And truncation changes ∂W_hh compared with full BPTT.
    spec.truncate = None;
    let mut full = RecurrentEncoder::from_weights(&spec, i, vec![w]);
    full.forward(&x);
    full.backward(&g, true);
    let mut f = Vec::new();
    full.visit_params(&mut |p| f.push(p.grad.to_f64_vec()));
    let diff: f64 = f[1].iter().zip(&ours[1]).map(|(a, b)| (a - b).abs()).sum();
    assert!(diff > 1e-6, "truncation made no difference to dW_hh");
}
