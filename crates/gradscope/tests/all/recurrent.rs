//! Recurrent cells and BPTT: finite-difference gradient checks in f64 for every cell, for
//! every parameter, input and initial-state element, many-to-one and many-to-many, for
//! truncated BPTT, against direct formulas, and the geometric decay / growth of ‖∂L/∂h_t‖
//! through powers of the recurrent matrix.

use gradscope::init::Init;
use gradscope::recurrent::{
    CellWeights, GruCell, HiddenState, LstmCell, OutputGrad, RecurrentCell, RnnCell, UnrolledLayer,
};
use gradscope::{Activation, Rng, Tensor};

const H: f64 = 1e-5;

fn close(a: f64, n: f64) -> bool {
    (a - n).abs() <= 1e-6 * a.abs().max(n.abs()) + 1e-9
}

fn random(shape: &[usize], scale: f64, rng: &mut Rng) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape, (0..n).map(|_| scale * rng.normal()).collect()).unwrap()
}

/// The losses the checks use, with their gradient with respect to the outputs.
#[derive(Clone)]
enum Objective {
    /// Many-to-many L = Σ_t ⟨w_t, h_t⟩, w [T, B, H].
    Weighted(Tensor<f64>),
    /// Many-to-one L = ⟨w, h_T⟩, w [B, H].
    Last(Tensor<f64>),
    /// Many-to-many L = ½ Σ_t ‖h_t‖².
    SumSquares,
}

impl Objective {
    fn loss(&self, out: &Tensor<f64>) -> f64 {
        let d = out.data();
        match self {
            Objective::Weighted(w) => d.iter().zip(w.data()).map(|(a, b)| a * b).sum(),
            Objective::Last(w) => {
                let n = w.len();
                d[d.len() - n..]
                    .iter()
                    .zip(w.data())
                    .map(|(a, b)| a * b)
                    .sum()
            }
            Objective::SumSquares => 0.5 * d.iter().map(|a| a * a).sum::<f64>(),
        }
    }

    fn grad(&self, out: &Tensor<f64>) -> Tensor<f64> {
        match self {
            Objective::Weighted(w) | Objective::Last(w) => w.clone(),
            Objective::SumSquares => out.clone(),
        }
    }

    fn backward<C: RecurrentCell<f64>>(&self, layer: &mut UnrolledLayer<f64, C>) -> Vec<f64> {
        let g = self.grad(layer.output());
        match self {
            Objective::Last(_) => layer.backward(OutputGrad::Last(&g)),
            _ => layer.backward(OutputGrad::All(&g)),
        }
    }
}

fn eval<C: RecurrentCell<f64>>(
    layer: &mut UnrolledLayer<f64, C>,
    x: &Tensor<f64>,
    state: Option<&HiddenState<f64>>,
    obj: &Objective,
) -> f64 {
    let out = layer.forward(x, state).clone();
    obj.loss(&out)
}

/// Central difference of `f` in one scalar reached through `get`.
fn numeric(mut nudge: impl FnMut(f64), mut f: impl FnMut() -> f64) -> f64 {
    nudge(H);
    let lp = f();
    nudge(-2.0 * H);
    let lm = f();
    nudge(H);
    (lp - lm) / (2.0 * H)
}

/// Checks every parameter, input and (given) initial-state gradient element; returns how
/// many were checked.
fn check<C: RecurrentCell<f64>>(
    layer: &mut UnrolledLayer<f64, C>,
    x: &Tensor<f64>,
    state: Option<&HiddenState<f64>>,
    obj: &Objective,
    what: &str,
) -> usize {
    layer.zero_grad();
    layer.forward(x, state);
    let norms = obj.backward(layer);
    assert_eq!(norms.len(), x.shape()[0]);
    assert!(norms.iter().all(|n| n.is_finite()));
    let analytic: Vec<Vec<f64>> = layer.params().iter().map(|p| p.grad.to_f64_vec()).collect();
    let names: Vec<String> = layer.params().iter().map(|p| p.name.clone()).collect();
    let gx = layer.grad_input().clone();
    let g0 = layer.grad_initial_state();
    let mut checked = 0;
    for (pi, grads) in analytic.iter().enumerate() {
        for (e, &a) in grads.iter().enumerate() {
            let n = {
                let cell = std::cell::RefCell::new(&mut *layer);
                numeric(
                    |d| cell.borrow_mut().params_mut()[pi].value.data_mut()[e] += d,
                    || eval(&mut cell.borrow_mut(), x, state, obj),
                )
            };
            assert!(
                close(a, n),
                "{what}: ∂L/∂{}[{e}] analytic {a} vs numeric {n}",
                names[pi]
            );
            checked += 1;
        }
    }
    let xc = std::cell::RefCell::new(x.clone());
    for e in 0..x.len() {
        let n = numeric(
            |d| xc.borrow_mut().data_mut()[e] += d,
            || eval(layer, &xc.borrow(), state, obj),
        );
        let a = gx.data()[e];
        assert!(
            close(a, n),
            "{what}: ∂L/∂x[{e}] analytic {a} vs numeric {n}"
        );
        checked += 1;
    }
    if let Some(s) = state {
        let sc = std::cell::RefCell::new(s.clone());
        for e in 0..s.h.len() {
            let n = numeric(
                |d| sc.borrow_mut().h.data_mut()[e] += d,
                || eval(layer, x, Some(&sc.borrow()), obj),
            );
            let a = g0.h.data()[e];
            assert!(
                close(a, n),
                "{what}: ∂L/∂h0[{e}] analytic {a} vs numeric {n}"
            );
            checked += 1;
        }
        if let Some(c) = &s.c {
            for e in 0..c.len() {
                let n = numeric(
                    |d| sc.borrow_mut().c.as_mut().unwrap().data_mut()[e] += d,
                    || eval(layer, x, Some(&sc.borrow()), obj),
                );
                let a = g0.c.as_ref().unwrap().data()[e];
                assert!(
                    close(a, n),
                    "{what}: ∂L/∂c0[{e}] analytic {a} vs numeric {n}"
                );
                checked += 1;
            }
        }
    }
    checked
}

const T: usize = 5;
const B: usize = 2;
const I: usize = 3;
const HID: usize = 4;

/// Every objective, with and without a given initial state.
fn check_all<C: RecurrentCell<f64>>(layer: &mut UnrolledLayer<f64, C>, what: &str, seed: u64) {
    let mut rng = Rng::seed(seed);
    let x = random(&[T, B, I], 1.0, &mut rng);
    let with_c = layer.cell.has_cell_state();
    let state = HiddenState {
        h: random(&[B, HID], 0.5, &mut rng),
        c: with_c.then(|| random(&[B, HID], 0.5, &mut rng)),
    };
    let objectives = [
        (
            "many-to-many",
            Objective::Weighted(random(&[T, B, HID], 1.0, &mut rng)),
        ),
        (
            "many-to-one",
            Objective::Last(random(&[B, HID], 1.0, &mut rng)),
        ),
        ("sum-of-squares", Objective::SumSquares),
    ];
    for (name, obj) in &objectives {
        let n0 = check(layer, &x, None, obj, &format!("{what} {name} zero state"));
        let n1 = check(
            layer,
            &x,
            Some(&state),
            obj,
            &format!("{what} {name} given state"),
        );
        assert!(n0 > 0 && n1 > n0);
    }
}

fn scaled(mut cell_weights: CellWeights<f64>, s: f64) -> CellWeights<f64> {
    // Larger weights than PyTorch's default so that the non-linearities are exercised.
    for p in cell_weights.params_mut() {
        p.value.data_mut().iter_mut().for_each(|v| *v *= s);
    }
    cell_weights
}

#[test]
fn rnn_tanh_gradients() {
    let w = scaled(CellWeights::uniform("", 1, I, HID, &mut Rng::seed(1)), 2.0);
    let mut layer = UnrolledLayer::new(RnnCell::from_weights(w, Activation::Tanh));
    check_all(&mut layer, "rnn tanh", 11);
}

#[test]
fn rnn_relu_gradients() {
    let w = scaled(CellWeights::uniform("", 1, I, HID, &mut Rng::seed(2)), 2.0);
    let mut layer = UnrolledLayer::new(RnnCell::from_weights(w, Activation::Relu));
    check_all(&mut layer, "rnn relu", 12);
}

#[test]
fn rnn_other_activations_gradients() {
    for (k, f) in [
        Activation::Sigmoid,
        Activation::Gelu,
        Activation::Elu { alpha: 0.5 },
        Activation::Softsign,
    ]
    .into_iter()
    .enumerate()
    {
        let w = scaled(
            CellWeights::uniform("", 1, I, HID, &mut Rng::seed(20 + k as u64)),
            2.0,
        );
        let mut layer = UnrolledLayer::new(RnnCell::from_weights(w, f));
        let mut rng = Rng::seed(30 + k as u64);
        let x = random(&[T, B, I], 1.0, &mut rng);
        let obj = Objective::Weighted(random(&[T, B, HID], 1.0, &mut rng));
        check(&mut layer, &x, None, &obj, &format!("rnn {f}"));
    }
}

#[test]
fn lstm_gradients() {
    let w = scaled(CellWeights::uniform("", 4, I, HID, &mut Rng::seed(3)), 2.0);
    let mut layer = UnrolledLayer::new(LstmCell::from_weights(w));
    check_all(&mut layer, "lstm", 13);
}

#[test]
fn gru_gradients() {
    let w = scaled(CellWeights::uniform("", 3, I, HID, &mut Rng::seed(4)), 2.0);
    let mut layer = UnrolledLayer::new(GruCell::from_weights(w));
    check_all(&mut layer, "gru", 14);
}

#[test]
fn parameter_names_and_layouts_follow_pytorch() {
    let mut rng = Rng::seed(5);
    let rnn = RnnCell::<f64>::new(I, HID, &mut rng);
    let lstm = LstmCell::<f64>::new(I, HID, &mut rng);
    let gru = GruCell::<f64>::new(I, HID, &mut rng);
    for (w, g) in [(&rnn.weights, 1), (&lstm.weights, 4), (&gru.weights, 3)] {
        let names: Vec<&str> = w.params().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
        );
        let shapes: Vec<Vec<usize>> = w
            .params()
            .iter()
            .map(|p| p.value.shape().to_vec())
            .collect();
        assert_eq!(
            shapes,
            vec![
                vec![g * HID, I],
                vec![g * HID, HID],
                vec![g * HID],
                vec![g * HID]
            ]
        );
        let k = 1.0 / (HID as f64).sqrt();
        for p in w.params() {
            assert!(p.value.max_abs() <= k);
        }
    }
    let fb = LstmCell::<f64>::with_forget_bias(I, HID, 1.0, &mut Rng::seed(6));
    let plain = LstmCell::<f64>::new(I, HID, &mut Rng::seed(6));
    let (a, b) = (
        fb.weights.bias_ih.value.data(),
        plain.weights.bias_ih.value.data(),
    );
    for k in 0..4 * HID {
        let want = if (HID..2 * HID).contains(&k) {
            1.0
        } else {
            0.0
        };
        assert!((a[k] - b[k] - want).abs() < 1e-15);
    }
    assert_eq!(fb.weights.bias_hh.value, plain.weights.bias_hh.value);
}

fn sig(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Row `r` of W·v + b for a [G·H, n] weight.
fn affine(w: &Tensor<f64>, b: &Tensor<f64>, v: &[f64], r: usize) -> f64 {
    b.data()[r] + w.row(r).iter().zip(v).map(|(a, c)| a * c).sum::<f64>()
}

#[test]
fn forward_matches_the_pytorch_formulas() {
    let mut rng = Rng::seed(7);
    let x = random(&[3, B, I], 1.0, &mut rng);
    let xt = |t: usize, b: usize| &x.data()[(t * B + b) * I..(t * B + b + 1) * I];

    // LSTM, gates i, f, g, o.
    let mut lstm = UnrolledLayer::new(LstmCell::<f64>::new(I, HID, &mut rng));
    let out = lstm.forward(&x, None).clone();
    let w = lstm.cell.weights.clone();
    for b in 0..B {
        let (mut h, mut c) = (vec![0.0; HID], vec![0.0; HID]);
        for t in 0..3 {
            let pre = |r: usize, h: &[f64]| {
                affine(&w.weight_ih.value, &w.bias_ih.value, xt(t, b), r)
                    + affine(&w.weight_hh.value, &w.bias_hh.value, h, r)
            };
            let (mut hn, mut cn) = (vec![0.0; HID], vec![0.0; HID]);
            for j in 0..HID {
                let i = sig(pre(j, &h));
                let f = sig(pre(HID + j, &h));
                let g = pre(2 * HID + j, &h).tanh();
                let o = sig(pre(3 * HID + j, &h));
                cn[j] = f * c[j] + i * g;
                hn[j] = o * cn[j].tanh();
            }
            h = hn;
            c = cn;
            for (j, want) in h.iter().enumerate() {
                let got = out.data()[(t * B + b) * HID + j];
                assert!((got - want).abs() < 1e-14, "lstm t={t} b={b} j={j}");
            }
        }
        let fin = lstm.final_state();
        assert!((fin.c.unwrap().data()[b * HID] - c[0]).abs() < 1e-14);
    }

    // GRU, gates r, z, n.
    let mut gru = UnrolledLayer::new(GruCell::<f64>::new(I, HID, &mut rng));
    let out = gru.forward(&x, None).clone();
    let w = gru.cell.weights.clone();
    for b in 0..B {
        let mut h = vec![0.0; HID];
        for t in 0..3 {
            let ih = |r: usize| affine(&w.weight_ih.value, &w.bias_ih.value, xt(t, b), r);
            let hh = |r: usize, h: &[f64]| affine(&w.weight_hh.value, &w.bias_hh.value, h, r);
            let mut hn = vec![0.0; HID];
            for j in 0..HID {
                let r = sig(ih(j) + hh(j, &h));
                let z = sig(ih(HID + j) + hh(HID + j, &h));
                let n = (ih(2 * HID + j) + r * hh(2 * HID + j, &h)).tanh();
                hn[j] = (1.0 - z) * n + z * h[j];
            }
            h = hn;
            for (j, want) in h.iter().enumerate() {
                let got = out.data()[(t * B + b) * HID + j];
                assert!((got - want).abs() < 1e-14, "gru t={t} b={b} j={j}");
            }
        }
    }

    // Elman RNN with relu.
    let mut rnn = UnrolledLayer::new(RnnCell::<f64>::with_activation(
        I,
        HID,
        Activation::Relu,
        &mut rng,
    ));
    let out = rnn.forward(&x, None).clone();
    let w = rnn.cell.weights.clone();
    for b in 0..B {
        let mut h = vec![0.0; HID];
        for t in 0..3 {
            h = (0..HID)
                .map(|j| {
                    (affine(&w.weight_ih.value, &w.bias_ih.value, xt(t, b), j)
                        + affine(&w.weight_hh.value, &w.bias_hh.value, &h, j))
                    .max(0.0)
                })
                .collect();
            for (j, want) in h.iter().enumerate() {
                let got = out.data()[(t * B + b) * HID + j];
                assert!((got - want).abs() < 1e-14, "rnn t={t} b={b} j={j}");
            }
        }
    }
}

/// Truncated BPTT: the chunks' gradients are those of Σ_c L_c(θ; s_c) with the carried
/// states s_c held constant, checked by finite differences.
fn check_tbptt<C: RecurrentCell<f64>>(layer: &mut UnrolledLayer<f64, C>, what: &str, seed: u64) {
    let (len, k) = (8, 3);
    let mut rng = Rng::seed(seed);
    let x = random(&[len, B, I], 1.0, &mut rng);
    let w = random(&[len, B, HID], 1.0, &mut rng);
    let bh = B * HID;
    layer.zero_grad();
    let res = layer.truncated_bptt(&x, k, None, |start, out| {
        let n = out.len();
        Tensor::from_vec(out.shape(), w.data()[start * bh..start * bh + n].to_vec()).unwrap()
    });
    assert_eq!(res.grad_norms.len(), 3);
    assert_eq!(
        res.grad_norms.iter().map(Vec::len).collect::<Vec<_>>(),
        [3, 3, 2]
    );
    // The forward is the full forward: state carried exactly.
    let full = layer.forward(&x, None).clone();
    assert_eq!(res.output, full);
    assert_eq!(res.final_state, layer.final_state());
    // The carried states at the chunk starts, at the unperturbed parameters.
    let starts: Vec<usize> = (0..len).step_by(k).collect();
    let mut states = Vec::new();
    for &s in &starts {
        let prefix = Tensor::from_vec(&[s, B, I], x.data()[..s * B * I].to_vec()).unwrap();
        layer.forward(&prefix, None);
        states.push(layer.final_state());
    }
    let chunk = |x: &Tensor<f64>, s: usize, e: usize, d: usize| {
        Tensor::from_vec(&[e - s, B, d], x.data()[s * B * d..e * B * d].to_vec()).unwrap()
    };
    let total = |layer: &mut UnrolledLayer<f64, C>, x: &Tensor<f64>| -> f64 {
        starts
            .iter()
            .zip(&states)
            .map(|(&s, st)| {
                let e = (s + k).min(len);
                let obj = Objective::Weighted(chunk(&w, s, e, HID));
                eval(layer, &chunk(x, s, e, I), Some(st), &obj)
            })
            .sum()
    };
    let analytic: Vec<Vec<f64>> = layer.params().iter().map(|p| p.grad.to_f64_vec()).collect();
    for (pi, grads) in analytic.iter().enumerate() {
        for (e, &a) in grads.iter().enumerate() {
            let cell = std::cell::RefCell::new(&mut *layer);
            let n = numeric(
                |d| cell.borrow_mut().params_mut()[pi].value.data_mut()[e] += d,
                || total(&mut cell.borrow_mut(), &x),
            );
            assert!(
                close(a, n),
                "{what} tbptt: param {pi}[{e}] analytic {a} vs numeric {n}"
            );
        }
    }
    let xc = std::cell::RefCell::new(x.clone());
    for e in 0..x.len() {
        let n = numeric(
            |d| xc.borrow_mut().data_mut()[e] += d,
            || total(layer, &xc.borrow()),
        );
        let a = res.grad_input.data()[e];
        assert!(
            close(a, n),
            "{what} tbptt: ∂L/∂x[{e}] analytic {a} vs numeric {n}"
        );
    }
    // Truncation changes the gradient; k ≥ T is full BPTT.
    layer.zero_grad();
    layer.forward(&x, None);
    layer.backward(OutputGrad::All(&w));
    let full_grads: Vec<Vec<f64>> = layer.params().iter().map(|p| p.grad.to_f64_vec()).collect();
    assert_ne!(
        full_grads[1], analytic[1],
        "{what}: truncation had no effect"
    );
    layer.zero_grad();
    let whole = layer.truncated_bptt(&x, len, None, |_, _| w.clone());
    for (p, g) in layer.params().iter().zip(&full_grads) {
        assert_eq!(&p.grad.to_f64_vec(), g);
    }
    assert_eq!(whole.grad_norms.len(), 1);
}

#[test]
fn truncated_bptt_gradients() {
    let mut rnn = UnrolledLayer::new(RnnCell::from_weights(
        scaled(CellWeights::uniform("", 1, I, HID, &mut Rng::seed(8)), 2.0),
        Activation::Tanh,
    ));
    check_tbptt(&mut rnn, "rnn", 18);
    let mut lstm = UnrolledLayer::new(LstmCell::from_weights(scaled(
        CellWeights::uniform("", 4, I, HID, &mut Rng::seed(9)),
        2.0,
    )));
    check_tbptt(&mut lstm, "lstm", 19);
    let mut gru = UnrolledLayer::new(GruCell::from_weights(scaled(
        CellWeights::uniform("", 3, I, HID, &mut Rng::seed(10)),
        2.0,
    )));
    check_tbptt(&mut gru, "gru", 20);
}

/// An RNN whose W_hh is gain·Q (Q orthogonal), run many-to-one over `len` steps; returns
/// ‖∂L/∂h_t‖ for t = 0..len.
fn rnn_grad_norms(gain: f64, f: Activation, len: usize, seed: u64) -> Vec<f64> {
    let (i, h, b) = (3, 8, 2);
    let mut rng = Rng::seed(seed);
    let mut w = CellWeights::<f64>::uniform("", 1, i, h, &mut rng);
    let q = Init::Orthogonal { gain }.sample(h, h, 1.0, &mut rng);
    w.weight_hh.value.data_mut().copy_from_slice(&q);
    let mut layer = UnrolledLayer::new(RnnCell::from_weights(w, f));
    let x = random(&[len, b, i], 1.0, &mut rng);
    layer.forward(&x, None);
    let g = random(&[b, h], 1.0, &mut rng);
    let norms = layer.backward(OutputGrad::Last(&g));
    assert_eq!(norms, layer.grad_norms());
    assert!((norms[len - 1] - g.norm_l2()).abs() < 1e-12);
    norms
}

#[test]
fn gradient_norms_follow_powers_of_the_recurrent_matrix() {
    let len = 30;
    // Identity activation: ∂L/∂h_{t−1} = W_hhᵀ ∂L/∂h_t exactly, so the norm scales by the
    // gain at every step back in time.
    for gain in [0.5, 1.5] {
        let n = rnn_grad_norms(gain, Activation::Identity, len, 40);
        for t in 1..len {
            let ratio = n[t - 1] / n[t];
            assert!(
                (ratio - gain).abs() < 1e-10,
                "gain {gain}: step {t} ratio {ratio}"
            );
        }
        let overall = n[0] / n[len - 1];
        let want = gain.powi(len as i32 - 1);
        assert!(
            (overall / want - 1.0).abs() < 1e-8,
            "gain {gain}: {overall} vs {want}"
        );
    }
    // tanh (f' ≤ 1) with spectral radius 0.5: at least geometric decay.
    let n = rnn_grad_norms(0.5, Activation::Tanh, len, 41);
    for t in 1..len {
        assert!(n[t - 1] <= 0.5 * n[t] * (1.0 + 1e-12), "tanh step {t}");
    }
    assert!(n[0] < 1e-8 * n[len - 1]);
}

#[test]
fn lstm_cell_memory_gradient_norms_are_recorded() {
    let mut rng = Rng::seed(50);
    let mut layer = UnrolledLayer::new(LstmCell::<f64>::with_forget_bias(I, HID, 1.0, &mut rng));
    let x = random(&[6, B, I], 1.0, &mut rng);
    layer.forward(&x, None);
    let g = random(&[B, HID], 1.0, &mut rng);
    let norms = layer.backward(OutputGrad::Last(&g));
    assert_eq!(norms.len(), 6);
    assert_eq!(layer.cell_grad_norms().len(), 6);
    // Nothing reaches c_T from later steps; every earlier memory receives gradient.
    assert_eq!(layer.cell_grad_norms()[5], 0.0);
    assert!(layer.cell_grad_norms()[..5].iter().all(|&v| v > 0.0));
}

#[test]
fn f32_matches_f64() {
    let mut rng = Rng::seed(60);
    let w = CellWeights::<f64>::uniform("", 4, I, HID, &mut rng);
    let cast = |p: &Tensor<f64>| p.cast::<f32>();
    let w32 = CellWeights::<f32>::new(
        "",
        4,
        cast(&w.weight_ih.value),
        cast(&w.weight_hh.value),
        cast(&w.bias_ih.value),
        cast(&w.bias_hh.value),
    );
    let mut a = UnrolledLayer::new(LstmCell::from_weights(w));
    let mut b = UnrolledLayer::new(LstmCell::from_weights(w32));
    let x = random(&[T, B, I], 1.0, &mut rng);
    let ya = a.forward(&x, None).to_f64_vec();
    let yb = b.forward(&x.cast(), None).to_f64_vec();
    for (p, q) in ya.iter().zip(&yb) {
        assert!((p - q).abs() < 1e-5);
    }
    let g = random(&[T, B, HID], 1.0, &mut rng);
    let na = a.backward(OutputGrad::All(&g));
    let nb = b.backward(OutputGrad::All(&g.cast()));
    for (p, q) in na.iter().zip(&nb) {
        assert!((p - q).abs() < 1e-4 * p.max(1.0));
    }
}

fn sigmoid(a: f64) -> f64 {
    1.0 / (1.0 + (-a).exp())
}

/// `visit_gates` reports, for every step, gate and element, the gate's value, |f'| at its
/// pre-activation and the pre-activation's sign — checked against the LSTM and GRU equations
/// written out per unit, for a batch of 21 rows (run as two halves on two cores), and the
/// pre-activation an RNN with ReLU caches.
/// Something that runs a gate visit with the given callback.
type Visit<'a> =
    &'a mut dyn FnMut(&mut dyn FnMut(usize, usize, usize, gradscope::recurrent::GateValue));

// The references are built by (row, step, unit) index, as the equations are written.
#[allow(clippy::needless_range_loop)]
#[test]
fn visit_gates_reports_every_gate_as_the_equations_give_it() {
    let (i, h, t, b) = (2, 3, 4, 21);
    let mut rng = Rng::seed(31);
    let x = random(&[t, b, i], 1.0, &mut rng);
    // (value, |f'|, a < 0) for step, gate, row, unit.
    type Reference = Vec<Vec<Vec<Vec<(f64, f64, bool)>>>>;
    let run = |l: Visit<'_>, reference: &Reference, gates: usize| {
        let mut seen = vec![0usize; t * gates * b * h];
        l(&mut |s, k, j, v| {
            let (r, u) = (j / h, j % h);
            let (y, d, neg) = reference[s][k][r][u];
            assert!(
                (v.value - y).abs() <= 1e-14,
                "step {s} gate {k} ({r}, {u}): {v:?} vs {y}"
            );
            assert!(
                (v.abs_derivative - d).abs() <= 1e-13,
                "step {s} gate {k}: {v:?} vs {d}"
            );
            assert_eq!(v.negative, neg, "step {s} gate {k} ({r}, {u})");
            seen[((s * gates + k) * b + r) * h + u] += 1;
        });
        assert!(seen.iter().all(|&c| c == 1), "every element exactly once");
    };
    let xv = |s: usize, r: usize, c: usize| x.data()[(s * b + r) * i + c];
    let affine = |w: &CellWeights<f64>, s: usize, r: usize, hp: &[f64], row: usize| {
        let wi = w.weight_ih.value.data();
        let wh = w.weight_hh.value.data();
        let gi = (0..i).map(|c| wi[row * i + c] * xv(s, r, c)).sum::<f64>()
            + w.bias_ih.value.data()[row];
        let gh = (0..h).map(|c| wh[row * h + c] * hp[c]).sum::<f64>() + w.bias_hh.value.data()[row];
        (gi, gh)
    };
    let sg = |a: f64| (sigmoid(a), sigmoid(a) * (1.0 - sigmoid(a)), a < 0.0);
    let th = |a: f64| (a.tanh(), 1.0 - a.tanh() * a.tanh(), a < 0.0);
    // LSTM.
    let w = CellWeights::<f64>::uniform("", 4, i, h, &mut rng);
    let mut reference: Reference = vec![vec![vec![vec![]; b]; 4]; t];
    for r in 0..b {
        let (mut hp, mut cp) = (vec![0.0; h], vec![0.0; h]);
        for s in 0..t {
            let (mut hn, mut cn) = (vec![0.0; h], vec![0.0; h]);
            for u in 0..h {
                let a = |k: usize| {
                    let (gi, gh) = affine(&w, s, r, &hp, k * h + u);
                    gi + gh
                };
                let (gi_, gf, gg, go) = (sg(a(0)), sg(a(1)), th(a(2)), sg(a(3)));
                for (k, v) in [gi_, gf, gg, go].into_iter().enumerate() {
                    reference[s][k][r].push(v);
                }
                cn[u] = gf.0 * cp[u] + gi_.0 * gg.0;
                hn[u] = go.0 * cn[u].tanh();
            }
            (hp, cp) = (hn, cn);
        }
    }
    let mut lstm = UnrolledLayer::new(LstmCell::from_weights(w));
    lstm.forward(&x, None);
    run(&mut |f| lstm.visit_gates(f), &reference, 4);
    // GRU.
    let w = CellWeights::<f64>::uniform("", 3, i, h, &mut rng);
    let mut reference: Reference = vec![vec![vec![vec![]; b]; 3]; t];
    for r in 0..b {
        let mut hp = vec![0.0; h];
        for s in 0..t {
            let mut hn = vec![0.0; h];
            for u in 0..h {
                let g = |k: usize| affine(&w, s, r, &hp, k * h + u);
                let ((ri, rh), (zi, zh), (ni, nh)) = (g(0), g(1), g(2));
                let (gr, gz) = (sg(ri + rh), sg(zi + zh));
                let gn = th(ni + gr.0 * nh);
                for (k, v) in [gr, gz, gn].into_iter().enumerate() {
                    reference[s][k][r].push(v);
                }
                hn[u] = (1.0 - gz.0) * gn.0 + gz.0 * hp[u];
            }
            hp = hn;
        }
    }
    let mut gru = UnrolledLayer::new(GruCell::from_weights(w));
    gru.forward(&x, None);
    run(&mut |f| gru.visit_gates(f), &reference, 3);
    // RNN with ReLU: |f'| and the sign from the cached pre-activation.
    let w = CellWeights::<f64>::uniform("", 1, i, h, &mut rng);
    let mut reference: Reference = vec![vec![vec![vec![]; b]; 1]; t];
    for r in 0..b {
        let mut hp = vec![0.0; h];
        for s in 0..t {
            let mut hn = vec![0.0; h];
            for u in 0..h {
                let (gi, gh) = affine(&w, s, r, &hp, u);
                let a = gi + gh;
                hn[u] = a.max(0.0);
                reference[s][0][r].push((hn[u], f64::from(u8::from(a > 0.0)), a < 0.0));
            }
            hp = hn;
        }
    }
    let mut rnn = UnrolledLayer::new(RnnCell::from_weights(w, Activation::Relu));
    rnn.forward(&x, None);
    run(&mut |f| rnn.visit_gates(f), &reference, 1);
}
