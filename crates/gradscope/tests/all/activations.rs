//! The activation catalogue: derivatives against finite differences, f32 against f64, the
//! tensor API, identities, extreme inputs, property-based checks and the text form.

use std::sync::OnceLock;

use gradscope::activation::{properties, spec, ActivationFn};
use gradscope::{Activation, Error, Float, Rng, Tensor};
use proptest::prelude::*;

use crate::common::{
    all_activations, assert_close, central_diff, elementwise_activations, grid, logistic,
    near_kink, normals, rel_err, to_f64s, variants, SELU_ALPHA, SELU_LAMBDA,
};

// ---------------------------------------------------------------------------------------------
// The catalogue itself
// ---------------------------------------------------------------------------------------------

#[test]
fn catalogue_lists_every_documented_activation_once() {
    let cat = Activation::catalogue();
    let names: Vec<&str> = cat.iter().map(|a| a.name()).collect();
    for expected in [
        "sigmoid",
        "improved_sigmoid",
        "tanh",
        "softmax",
        "log_softmax",
        "relu",
        "leaky_relu",
        "prelu",
        "rrelu",
        "elu",
        "selu",
        "swish",
        "silu",
        "gelu",
        "gelu_tanh",
        "softplus",
        "softsign",
        "mish",
        "hard_sigmoid",
        "hard_swish",
        "hard_tanh",
        "identity",
    ] {
        assert_eq!(
            names.iter().filter(|n| **n == expected).count(),
            1,
            "`{expected}` should appear exactly once in the catalogue {names:?}"
        );
    }
    let mut dedup = names.clone();
    dedup.sort_unstable();
    dedup.dedup();
    assert_eq!(dedup.len(), names.len(), "duplicate names in {names:?}");
    // Only softmax and log-softmax are row-wise.
    let rowwise: Vec<&str> = cat
        .iter()
        .filter(|a| a.is_rowwise())
        .map(|a| a.name())
        .collect();
    assert_eq!(rowwise, ["softmax", "log_softmax"]);
}

#[test]
fn default_parameters_are_the_documented_pytorch_ones() {
    let cat = Activation::catalogue();
    let find = |name: &str| *cat.iter().find(|a| a.name() == name).unwrap();
    assert_eq!(find("leaky_relu"), Activation::LeakyRelu { slope: 0.01 });
    assert_eq!(
        find("prelu"),
        Activation::Prelu {
            init: 0.25,
            channels: 1
        }
    );
    assert_eq!(
        find("rrelu"),
        Activation::Rrelu {
            lower: 1.0 / 8.0,
            upper: 1.0 / 3.0
        }
    );
    assert_eq!(find("elu"), Activation::Elu { alpha: 1.0 });
    assert_eq!(
        find("softplus"),
        Activation::Softplus {
            beta: 1.0,
            threshold: 20.0
        }
    );
    assert_eq!(
        find("hard_tanh"),
        Activation::HardTanh {
            min: -1.0,
            max: 1.0
        }
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Analytic derivatives
// ---------------------------------------------------------------------------------------------

#[test]
fn df_matches_central_differences_f64() {
    let xs = grid(25, 0xD1FF);
    let mut failures = Vec::new();
    let mut checked = 0usize;
    for act in all_activations() {
        for &x in &xs {
            // Softsign is C¹ but not C² at 0 (f'' jumps from 2 to −2), which `kinks()` does
            // not list (see softsign_kinks_include_zero): a central difference is only O(h)
            // accurate there.
            let c1_only = matches!(act, Activation::Softsign) && x.abs() < 1e-3;
            if near_kink(&act, x, 1e-3) || c1_only {
                continue;
            }
            let fd = central_diff(&act, x);
            let df = act.df(x);
            checked += 1;
            // Relative error, floored at 1e-2 so that the rounding noise of the difference
            // quotient (~1e-11) does not dominate where f' is tiny (tanh' ~ 1e-7 at x = 8).
            let e = rel_err(fd, df, 1e-2);
            if e.is_nan() || e >= 1e-6 {
                failures.push(format!(
                    "{act} at x = {x}: df = {df:e}, fd = {fd:e}, rel {e:e}"
                ));
            }
        }
    }
    assert!(checked > 8000, "too few points checked: {checked}");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn kink_conventions_follow_pytorch() {
    assert_eq!(Activation::Relu.df(0.0), 0.0);
    assert_eq!(Activation::LeakyRelu { slope: 0.2 }.df(0.0), 0.2);
    assert_eq!(Activation::Elu { alpha: 0.5 }.df(0.0), 0.5);
    assert_close(
        Activation::Selu.df(0.0),
        SELU_LAMBDA * SELU_ALPHA,
        1e-15,
        0.0,
        "selu'(0)",
    );
    assert_eq!(Activation::HardSigmoid.df(-3.0), 0.0);
    assert_eq!(Activation::HardSigmoid.df(3.0), 0.0);
    // PyTorch 2.15's Hardswish backward, measured: 0 at −3 and 1 at 3 (the one-sided
    // derivatives from outside (−3, 3), not the interior limits −1/2 and 3/2), in f64 and f32.
    assert_eq!(Activation::HardSwish.df(-3.0), 0.0);
    assert_eq!(Activation::HardSwish.df(3.0), 1.0);
    assert_eq!(Activation::HardSwish.df(-3.0f32), 0.0);
    assert_eq!(Activation::HardSwish.df(3.0f32), 1.0);
    assert_eq!(Activation::HardSwish.df(2.5), 2.5 / 3.0 + 0.5);
    assert_eq!(Activation::HardSwish.df(-2.5), -2.5 / 3.0 + 0.5);
    let ht = Activation::HardTanh {
        min: -2.0,
        max: 0.5,
    };
    assert_eq!(ht.df(-2.0), 0.0);
    assert_eq!(ht.df(0.5), 0.0);
    assert_eq!(ht.df(0.25), 1.0);
    // On either side of the kinks, the one-sided derivatives.
    assert_eq!(Activation::Relu.df(1e-300), 1.0);
    assert_eq!(Activation::LeakyRelu { slope: 0.2 }.df(-1e-300), 0.2);
}

/// Hard swish is PyTorch's x·clamp(x + 3, 0, 6)/6 to the bit (the order of the operations
/// matters: (x·6)/6 is not x for one double in seven), except where x·6 overflows, where
/// PyTorch gives +∞ and gradscope x.
#[test]
fn hard_swish_follows_pytorchs_formula_and_stays_finite() {
    let hs = Activation::HardSwish;
    let reference = |x: f64| x * (x + 3.0).clamp(0.0, 6.0) / 6.0;
    let mut xs = grid(200, 0x5A5);
    xs.extend([1e10, 123456.789, 3.0, 3.0000000000000004, -3.0, 1e300]);
    for x in xs {
        assert_eq!(hs.f(x).to_bits(), reference(x).to_bits(), "hard_swish({x})");
        let x32 = x as f32;
        let r32 = x32 * (x32 + 3.0).clamp(0.0, 6.0) / 6.0;
        if r32.is_finite() {
            assert_eq!(hs.f(x32).to_bits(), r32.to_bits(), "hard_swish({x32}f32)");
        }
    }
    assert!(reference(f64::MAX).is_infinite());
    assert_eq!(hs.f(f64::MAX), f64::MAX);
    assert_eq!(hs.f(f32::MAX), f32::MAX);
    assert_eq!(hs.f(1e38f32), 1e38f32);
    assert_eq!(hs.f(-f64::MAX), 0.0);
}

/// `kinks()` is documented as "points where f or f' is not smooth"; softsign's
/// f'(x) = 1/(1 + |x|)² has a corner at 0 (f'' jumps from +2 to −2).
#[test]
fn softsign_kinks_include_zero() {
    // The corner is real: the one-sided second differences of f have opposite signs.
    let h = 1e-4;
    let f = |x: f64| Activation::Softsign.f(x);
    let right = (f(2.0 * h) - 2.0 * f(h) + f(0.0)) / (h * h);
    let left = (f(0.0) - 2.0 * f(-h) + f(-2.0 * h)) / (h * h);
    assert!(right < -1.9 && left > 1.9, "f'' = {left} | {right}");
    assert_eq!(Activation::Softsign.kinks(), vec![0.0]);
}

#[test]
fn kinks_cover_the_non_smooth_points() {
    // Independently known kinks of the piecewise activations.
    let expect: Vec<(Activation, Vec<f64>)> = vec![
        (Activation::Relu, vec![0.0]),
        (Activation::LeakyRelu { slope: 0.2 }, vec![0.0]),
        (Activation::Elu { alpha: 0.5 }, vec![0.0]),
        (Activation::Selu, vec![0.0]),
        (Activation::HardSigmoid, vec![-3.0, 3.0]),
        (Activation::HardSwish, vec![-3.0, 3.0]),
        (
            Activation::HardTanh {
                min: -2.0,
                max: 0.5,
            },
            vec![-2.0, 0.5],
        ),
        (
            Activation::Softplus {
                beta: 2.0,
                threshold: 20.0,
            },
            vec![10.0],
        ),
    ];
    for (act, kinks) in expect {
        let mut got = act.kinks();
        got.sort_by(f64::total_cmp);
        assert_eq!(got, kinks, "{act}");
    }
    for smooth in [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
        Activation::Mish,
        Activation::Silu,
    ] {
        assert!(smooth.kinks().is_empty(), "{smooth} has no kink");
    }
}

/// `act.f::<f32>` and `act.df::<f32>` against the f64 values at the same (f32-rounded) point.
#[test]
fn f32_agrees_with_f64() {
    let xs = grid(25, 0xF32);
    let mut failures = Vec::new();
    for act in all_activations() {
        for &x in &xs {
            let x32 = x as f32;
            let xd = x32 as f64;
            if near_kink(&act, xd, 1e-3) {
                continue;
            }
            for (what, lo, hi) in [
                ("f", act.f::<f32>(x32) as f64, act.f::<f64>(xd)),
                ("df", act.df::<f32>(x32) as f64, act.df::<f64>(xd)),
            ] {
                let diff = (lo - hi).abs();
                if diff.is_nan() || diff > 1e-4 * hi.abs() + 1e-6 {
                    failures.push(format!("{act} {what}({xd}): f32 {lo:e} vs f64 {hi:e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 2. Tensor API
// ---------------------------------------------------------------------------------------------

/// Inputs for the tensor tests: normals with scale 3, every kink, 0 and a few large values.
fn tensor_inputs(act: &Activation, seed: u64) -> Vec<f64> {
    let mut z = normals(40, 3.0, seed);
    z.extend(act.kinks());
    z.extend([0.0, -0.0, 7.5, -7.5, 30.0, -30.0]);
    z.truncate(48);
    z.resize(48, 0.5);
    z
}

fn forward_backward_matches_scalar<T: Float>(rel: f64, abs: f64) {
    for act in elementwise_activations() {
        let zs = tensor_inputs(&act, 11);
        let gs = normals(zs.len(), 1.0, 12);
        let z = Tensor::<T>::from_f64_slice(&[6, 8], &zs).unwrap();
        let g = Tensor::<T>::from_f64_slice(&[6, 8], &gs).unwrap();
        let mut f = ActivationFn::<T>::new(act);
        // RReLU is deterministic (and equal to the scalar f) only in evaluation mode.
        f.set_training(false);
        let mut a = Tensor::default();
        let mut gz = Tensor::default();
        f.forward(&z, &mut a, &mut Rng::seed(1));
        f.backward(&z, &a, &g, &mut gz);
        assert_eq!(a.shape(), &[6, 8], "{act}");
        assert_eq!(gz.shape(), &[6, 8], "{act}");
        for i in 0..zs.len() {
            let zi = z.data()[i];
            let fa = act.f(zi).to_f64();
            let ga = g.data()[i].to_f64() * act.df(zi).to_f64();
            let (fa_t, ga_t) = (a.data()[i].to_f64(), gz.data()[i].to_f64());
            assert!(
                (fa_t - fa).abs() <= rel * fa.abs() + abs,
                "{act} forward at z = {zi}: tensor {fa_t:e}, scalar {fa:e}"
            );
            // tanh and sigmoid differentiate through their output (1 − a², a(1 − a)), which
            // only keeps absolute precision ~ε in the tails.
            assert!(
                (ga_t - ga).abs() <= rel * ga.abs() + abs * g.data()[i].to_f64().abs().max(1.0),
                "{act} backward at z = {zi}: tensor {ga_t:e}, g·f'(z) = {ga:e}"
            );
        }
    }
}

#[test]
fn tensor_forward_backward_match_scalar_f64() {
    forward_backward_matches_scalar::<f64>(1e-9, 1e-15);
}

#[test]
fn tensor_forward_backward_match_scalar_f32() {
    forward_backward_matches_scalar::<f32>(1e-5, 1e-7);
}

/// L(z) = Σ g ⊙ rowwise(z), evaluated through the tensor forward.
fn rowwise_loss(act: Activation, z: &[f64], g: &[f64], cols: usize) -> f64 {
    let zt = Tensor::from_vec(&[z.len() / cols, cols], z.to_vec()).unwrap();
    let mut f = ActivationFn::<f64>::new(act);
    let mut a = Tensor::default();
    f.forward(&zt, &mut a, &mut Rng::seed(0));
    a.data().iter().zip(g).map(|(a, g)| a * g).sum()
}

#[test]
fn softmax_and_log_softmax_backward_match_finite_difference_jvp() {
    let (rows, cols) = (4, 5);
    for act in [Activation::Softmax, Activation::LogSoftmax] {
        for seed in 0..3u64 {
            let zs = normals(rows * cols, 2.0, 100 + seed);
            let gs = normals(rows * cols, 1.0, 200 + seed);
            let z = Tensor::from_vec(&[rows, cols], zs.clone()).unwrap();
            let g = Tensor::from_vec(&[rows, cols], gs.clone()).unwrap();
            let mut f = ActivationFn::<f64>::new(act);
            let (mut a, mut gz) = (Tensor::default(), Tensor::default());
            f.forward(&z, &mut a, &mut Rng::seed(0));
            f.backward(&z, &a, &g, &mut gz);
            let mut fd = vec![0.0; rows * cols];
            for (j, fdj) in fd.iter_mut().enumerate() {
                let h = 1e-5 * zs[j].abs().max(1.0);
                let mut zp = zs.clone();
                zp[j] += h;
                let mut zm = zs.clone();
                zm[j] -= h;
                *fdj = (rowwise_loss(act, &zp, &gs, cols) - rowwise_loss(act, &zm, &gs, cols))
                    / (2.0 * h);
            }
            for r in 0..rows {
                let an = &gz.data()[r * cols..(r + 1) * cols];
                let nu = &fd[r * cols..(r + 1) * cols];
                let diff: f64 = an.iter().zip(nu).map(|(a, b)| (a - b).powi(2)).sum();
                let norm: f64 = nu.iter().map(|b| b * b).sum();
                let rel = (diff / norm).sqrt();
                assert!(
                    rel < 1e-6,
                    "{act} row {r} seed {seed}: backward {an:?} vs fd {nu:?} (rel {rel:e})"
                );
            }
        }
    }
}

#[test]
fn rowwise_backward_is_independent_per_row() {
    // A gradient on row 0 only must leave row 1's input gradient at exactly zero.
    for act in [Activation::Softmax, Activation::LogSoftmax] {
        let z = Tensor::from_vec(&[2, 3], vec![0.1, 0.5, -1.0, 2.0, 0.0, 1.0]).unwrap();
        let g = Tensor::from_vec(&[2, 3], vec![1.0, -2.0, 0.5, 0.0, 0.0, 0.0]).unwrap();
        let mut f = ActivationFn::<f64>::new(act);
        let (mut a, mut gz) = (Tensor::default(), Tensor::default());
        f.forward(&z, &mut a, &mut Rng::seed(0));
        f.backward(&z, &a, &g, &mut gz);
        assert_eq!(&gz.data()[3..], &[0.0, 0.0, 0.0], "{act}");
        assert!(gz.data()[..3].iter().any(|v| *v != 0.0), "{act}");
    }
}

/// L(s) = Σ g ⊙ PReLU(z; slopes) for the given slopes.
fn prelu_loss(act: Activation, slopes: &[f64], z: &Tensor<f64>, g: &Tensor<f64>) -> f64 {
    let mut f = ActivationFn::<f64>::new(act);
    f.slopes.copy_from_slice(slopes);
    let mut a = Tensor::default();
    f.forward(z, &mut a, &mut Rng::seed(0));
    a.data().iter().zip(g.data()).map(|(a, g)| a * g).sum()
}

#[test]
fn prelu_slope_gradient_matches_finite_differences() {
    let (rows, cols) = (5, 4);
    let z = Tensor::from_vec(&[rows, cols], normals(rows * cols, 2.0, 31)).unwrap();
    let g = Tensor::from_vec(&[rows, cols], normals(rows * cols, 1.0, 32)).unwrap();
    assert!(z.data().iter().filter(|v| **v < 0.0).count() >= 4);
    for (channels, slopes) in [(1usize, vec![0.3]), (cols, vec![0.1, -0.2, 0.3, 0.45])] {
        let act = Activation::Prelu {
            init: 0.25,
            channels,
        };
        let mut f = ActivationFn::<f64>::new(act);
        assert_eq!(f.slopes, vec![0.25; channels], "slopes start at init");
        assert_eq!(f.slopes_grad, vec![0.0; channels]);
        f.slopes.copy_from_slice(&slopes);
        let (mut a, mut gz) = (Tensor::default(), Tensor::default());
        f.forward(&z, &mut a, &mut Rng::seed(0));
        f.backward(&z, &a, &g, &mut gz);
        for c in 0..channels {
            let h = 1e-5;
            let mut sp = slopes.clone();
            sp[c] += h;
            let mut sm = slopes.clone();
            sm[c] -= h;
            let fd = (prelu_loss(act, &sp, &z, &g) - prelu_loss(act, &sm, &z, &g)) / (2.0 * h);
            let e = rel_err(f.slopes_grad[c], fd, 1e-3);
            assert!(
                e < 1e-6,
                "channels = {channels}, slope {c}: grad {} vs fd {fd} (rel {e:e})",
                f.slopes_grad[c]
            );
        }
        // grad_z: 1 for z > 0, the channel's slope otherwise.
        for i in 0..rows * cols {
            let s = slopes[if channels == 1 { 0 } else { i % cols }];
            let zi = z.data()[i];
            let expect = g.data()[i] * if zi > 0.0 { 1.0 } else { s };
            assert_close(gz.data()[i], expect, 1e-15, 0.0, "prelu grad_z");
            let fexp = if zi > 0.0 { zi } else { s * zi };
            assert_close(a.data()[i], fexp, 1e-15, 0.0, "prelu forward");
        }
        // backward accumulates; zero_grad resets.
        let first = f.slopes_grad.clone();
        f.backward(&z, &a, &g, &mut gz);
        for (two, one) in f.slopes_grad.iter().zip(&first) {
            assert_close(*two, 2.0 * one, 1e-14, 1e-300, "accumulated slope grad");
        }
        f.zero_grad();
        assert_eq!(f.slopes_grad, vec![0.0; channels]);
    }
}

#[test]
#[should_panic(expected = "PReLU")]
fn prelu_per_channel_rejects_wrong_column_count() {
    let mut f = ActivationFn::<f64>::new(Activation::Prelu {
        init: 0.25,
        channels: 3,
    });
    let z = Tensor::zeros(&[2, 4]);
    let mut a = Tensor::default();
    f.forward(&z, &mut a, &mut Rng::seed(0));
}

fn rrelu_run(
    act: Activation,
    z: &Tensor<f64>,
    g: &Tensor<f64>,
    seed: u64,
    training: bool,
) -> (Tensor<f64>, Tensor<f64>) {
    let mut f = ActivationFn::<f64>::new(act);
    f.set_training(training);
    assert_eq!(f.is_training(), training);
    let (mut a, mut gz) = (Tensor::default(), Tensor::default());
    f.forward(z, &mut a, &mut Rng::seed(seed));
    f.backward(z, &a, g, &mut gz);
    (a, gz)
}

#[test]
fn rrelu_training_samples_slopes_in_bounds_and_reuses_them() {
    let (lower, upper) = (0.1, 0.4);
    let act = Activation::Rrelu { lower, upper };
    let n = 400;
    let mut zs = normals(n, 2.0, 41);
    zs[0] = 0.0;
    let z = Tensor::from_vec(&[20, 20], zs.clone()).unwrap();
    let g = Tensor::from_vec(&[20, 20], normals(n, 1.0, 42)).unwrap();
    assert!(
        ActivationFn::<f64>::new(act).is_training(),
        "new is training"
    );
    let (a, gz) = rrelu_run(act, &z, &g, 7, true);
    let mut slopes = Vec::new();
    for (i, &zi) in zs.iter().enumerate() {
        let (ai, gi, gzi) = (a.data()[i], g.data()[i], gz.data()[i]);
        if zi > 0.0 {
            assert_eq!(ai, zi, "positive input passes through");
            assert_eq!(gzi, gi, "positive input's gradient passes through");
        } else if zi < 0.0 {
            let s = ai / zi;
            assert!(
                (lower - 1e-12..=upper + 1e-12).contains(&s),
                "slope {s} outside [{lower}, {upper}]"
            );
            // The backward uses the same sampled slope as the forward.
            assert_close(gzi, gi * s, 1e-12, 0.0, "rrelu backward slope");
            slopes.push(s);
        } else {
            assert_eq!(ai, 0.0);
        }
    }
    assert!(slopes.len() > 150);
    // Slopes are drawn per element, covering the interval.
    let (lo, hi) = slopes
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), s| {
            (l.min(*s), h.max(*s))
        });
    assert!(
        lo < lower + 0.05 && hi > upper - 0.05,
        "slopes span [{lo}, {hi}]"
    );
    let mean = slopes.iter().sum::<f64>() / slopes.len() as f64;
    assert!((mean - 0.25).abs() < 0.03, "mean slope {mean}");
    // Same seed, same output; another seed, another output.
    let (a2, gz2) = rrelu_run(act, &z, &g, 7, true);
    assert_eq!(a, a2);
    assert_eq!(gz, gz2);
    let (a3, _) = rrelu_run(act, &z, &g, 8, true);
    assert_ne!(a, a3);
}

#[test]
fn rrelu_eval_uses_mean_slope() {
    let (lower, upper) = (0.1, 0.4);
    let act = Activation::Rrelu { lower, upper };
    let zs = normals(60, 2.0, 51);
    let z = Tensor::from_vec(&[6, 10], zs.clone()).unwrap();
    let g = Tensor::from_vec(&[6, 10], normals(60, 1.0, 52)).unwrap();
    let (a, gz) = rrelu_run(act, &z, &g, 3, false);
    let (a2, _) = rrelu_run(act, &z, &g, 4, false);
    assert_eq!(a, a2, "evaluation mode is deterministic");
    for (i, &zi) in zs.iter().enumerate() {
        let s = if zi > 0.0 { 1.0 } else { 0.25 };
        assert_close(a.data()[i], s * zi, 1e-15, 0.0, "rrelu eval forward");
        assert_close(
            gz.data()[i],
            s * g.data()[i],
            1e-15,
            0.0,
            "rrelu eval backward",
        );
    }
    assert_eq!(act.eval_slope(), Some(0.25));
    assert_close(act.f(-2.0), -0.5, 1e-15, 0.0, "rrelu scalar f");
}

// ---------------------------------------------------------------------------------------------
// 3. Identities
// ---------------------------------------------------------------------------------------------

#[test]
fn tanh_is_a_rescaled_sigmoid() {
    for x in grid(20, 3) {
        let lhs = Activation::Tanh.f(x);
        let rhs = 2.0 * Activation::Sigmoid.f(2.0 * x) - 1.0;
        assert_close(lhs, rhs, 1e-14, 1e-15, "tanh = 2σ(2x) − 1");
        // and f' = 4σ'(2x)
        assert_close(
            Activation::Tanh.df(x),
            4.0 * Activation::Sigmoid.df(2.0 * x),
            1e-12,
            1e-300,
            "tanh' = 4σ'(2x)",
        );
    }
}

#[test]
fn sigmoid_matches_a_direct_logistic() {
    for x in grid(20, 4) {
        let s = logistic(x);
        assert_close(Activation::Sigmoid.f(x), s, 1e-14, 0.0, "sigmoid");
        assert_close(Activation::Sigmoid.df(x), s * (1.0 - s), 1e-12, 0.0, "σ'");
    }
}

#[test]
fn improved_sigmoid_with_alpha_1_beta_0_is_sigmoid() {
    let is = Activation::ImprovedSigmoid {
        alpha: 1.0,
        beta: 0.0,
    };
    for x in grid(20, 5) {
        assert_eq!(is.f(x), Activation::Sigmoid.f(x), "f at {x}");
        assert_eq!(is.df(x), Activation::Sigmoid.df(x), "df at {x}");
    }
    // And the default is σ(2x) + 0.1x.
    let d = Activation::ImprovedSigmoid {
        alpha: 2.0,
        beta: 0.1,
    };
    for x in [-10.0, -1.0, 0.0, 0.5, 10.0] {
        assert_close(
            d.f(x),
            logistic(2.0 * x) + 0.1 * x,
            1e-14,
            1e-16,
            "σ(2x)+0.1x",
        );
    }
}

#[test]
fn steep_swish_approaches_relu() {
    let sw = Activation::Swish { beta: 50.0 };
    for x in grid(20, 6) {
        if x.abs() > 0.5 {
            assert!(
                (sw.f(x) - Activation::Relu.f(x)).abs() < 1e-3,
                "swish(50)({x}) = {} vs relu {}",
                sw.f(x),
                Activation::Relu.f(x)
            );
            assert!((sw.df(x) - Activation::Relu.df(x)).abs() < 1e-3);
        }
    }
}

#[test]
fn silu_is_swish_with_beta_1() {
    let sw = Activation::Swish { beta: 1.0 };
    for x in grid(20, 7) {
        assert_eq!(Activation::Silu.f(x), sw.f(x));
        assert_eq!(Activation::Silu.df(x), sw.df(x));
        assert_close(
            Activation::Silu.f(x),
            x * logistic(x),
            1e-13,
            1e-300,
            "xσ(x)",
        );
    }
}

#[test]
fn softmax_rows_sum_to_one_and_are_shift_invariant() {
    let (rows, cols) = (6, 7);
    let zs = normals(rows * cols, 3.0, 61);
    let z = Tensor::from_vec(&[rows, cols], zs.clone()).unwrap();
    let mut f = ActivationFn::<f64>::new(Activation::Softmax);
    let mut a = Tensor::default();
    f.forward(&z, &mut a, &mut Rng::seed(0));
    for r in 0..rows {
        let sum: f64 = a.row(r).iter().sum();
        assert!((sum - 1.0).abs() < 1e-12, "row {r} sums to {sum}");
        // Against a direct formula.
        let row = &zs[r * cols..(r + 1) * cols];
        let denom: f64 = row.iter().map(|v| v.exp()).sum();
        for (y, x) in a.row(r).iter().zip(row) {
            assert_close(*y, x.exp() / denom, 1e-13, 0.0, "softmax value");
        }
    }
    // Adding a different constant to each row changes nothing.
    let shifted: Vec<f64> = zs
        .iter()
        .enumerate()
        .map(|(i, v)| v + [5.0, -3.0, 100.0, -250.0, 0.5, 1e3][i / cols])
        .collect();
    let zsh = Tensor::from_vec(&[rows, cols], shifted).unwrap();
    let mut b = Tensor::default();
    f.forward(&zsh, &mut b, &mut Rng::seed(0));
    for (x, y) in a.data().iter().zip(b.data()) {
        assert!((x - y).abs() < 1e-12, "shift changed {x} to {y}");
    }
    // The scalar view is softmax([x, 0])₀ = σ(x).
    for x in [-5.0, -0.3, 0.0, 2.0] {
        let zz = Tensor::from_vec(&[1, 2], vec![x, 0.0]).unwrap();
        f.forward(&zz, &mut b, &mut Rng::seed(0));
        assert_close(
            Activation::Softmax.f(x),
            b.data()[0],
            1e-14,
            0.0,
            "scalar view",
        );
    }
}

#[test]
fn log_softmax_is_ln_softmax() {
    let (rows, cols) = (5, 6);
    let zs = normals(rows * cols, 3.0, 71);
    let z = Tensor::from_vec(&[rows, cols], zs).unwrap();
    let (mut y, mut ly) = (Tensor::default(), Tensor::default());
    ActivationFn::<f64>::new(Activation::Softmax).forward(&z, &mut y, &mut Rng::seed(0));
    ActivationFn::<f64>::new(Activation::LogSoftmax).forward(&z, &mut ly, &mut Rng::seed(0));
    for (p, lp) in y.data().iter().zip(ly.data()) {
        assert_close(*lp, p.ln(), 1e-12, 1e-13, "log_softmax = ln softmax");
    }
    for x in grid(10, 8) {
        assert_close(
            Activation::LogSoftmax.f(x),
            logistic(x).ln(),
            1e-12,
            1e-14,
            "scalar log_softmax = ln σ",
        );
        assert_close(
            Activation::LogSoftmax.df(x),
            1.0 - logistic(x),
            1e-12,
            1e-300,
            "scalar log_softmax' = 1 − σ",
        );
    }
}

#[test]
fn selu_is_scaled_elu() {
    let elu = Activation::Elu { alpha: SELU_ALPHA };
    for x in grid(20, 9) {
        assert_close(
            Activation::Selu.f(x),
            SELU_LAMBDA * elu.f(x),
            1e-14,
            1e-300,
            "selu",
        );
        assert_close(
            Activation::Selu.df(x),
            SELU_LAMBDA * elu.df(x),
            1e-14,
            1e-300,
            "selu'",
        );
    }
}

#[test]
fn gelu_tanh_approximates_gelu() {
    let mut worst: f64 = 0.0;
    for x in grid(50, 10) {
        let d = (Activation::GeluTanh.f(x) - Activation::Gelu.f(x)).abs();
        worst = worst.max(d);
    }
    assert!(worst < 1e-3, "max |gelu_tanh − gelu| = {worst}");
    // It is an approximation, not the same function.
    assert!(worst > 1e-6, "gelu_tanh is suspiciously exact: {worst}");
}

#[test]
fn closed_forms_at_simple_points() {
    let ln2 = std::f64::consts::LN_2;
    let cases: Vec<(Activation, f64, f64, f64)> = vec![
        // (activation, x, f(x), f'(x))
        (Activation::Sigmoid, 0.0, 0.5, 0.25),
        (Activation::Tanh, 0.0, 0.0, 1.0),
        (
            Activation::Softplus {
                beta: 1.0,
                threshold: 20.0,
            },
            0.0,
            ln2,
            0.5,
        ),
        (
            Activation::Softplus {
                beta: 2.0,
                threshold: 20.0,
            },
            0.0,
            ln2 / 2.0,
            0.5,
        ),
        (Activation::LogSoftmax, 0.0, -ln2, 0.5),
        (Activation::Softsign, 0.0, 0.0, 1.0),
        (Activation::Softsign, 1.0, 0.5, 0.25),
        (Activation::Softsign, -3.0, -0.75, 1.0 / 16.0),
        (Activation::HardSigmoid, 1.5, 0.75, 1.0 / 6.0),
        (Activation::HardSigmoid, 4.0, 1.0, 0.0),
        (Activation::HardSwish, 0.0, 0.0, 0.5),
        (Activation::HardSwish, 1.5, 1.125, 1.0),
        (Activation::HardSwish, -1.5, -0.375, 0.0),
        (Activation::HardSwish, 4.0, 4.0, 1.0),
        (Activation::HardSwish, -4.0, 0.0, 0.0),
        (Activation::Gelu, 0.0, 0.0, 0.5),
        (Activation::GeluTanh, 0.0, 0.0, 0.5),
        (Activation::Mish, 0.0, 0.0, 0.6),
        (Activation::Silu, 0.0, 0.0, 0.5),
        (
            Activation::Elu { alpha: 0.5 },
            -1.0,
            0.5 * (-1f64).exp_m1(),
            0.5 * (-1f64).exp(),
        ),
        (Activation::Identity, -3.5, -3.5, 1.0),
        (
            Activation::HardTanh {
                min: -2.0,
                max: 0.5,
            },
            3.0,
            0.5,
            0.0,
        ),
        (
            Activation::HardTanh {
                min: -2.0,
                max: 0.5,
            },
            -7.0,
            -2.0,
            0.0,
        ),
    ];
    for (act, x, f, df) in cases {
        assert_close(act.f(x), f, 1e-14, 1e-16, &format!("{act} f({x})"));
        assert_close(act.df(x), df, 1e-14, 1e-16, &format!("{act} f'({x})"));
    }
    // mish(1) = tanh(ln(1 + e)); gelu(1) = Φ(1) = 0.841344746068543.
    assert_close(
        Activation::Mish.f(1.0),
        (1.0 + std::f64::consts::E).ln().tanh(),
        1e-14,
        0.0,
        "mish(1)",
    );
    assert_close(
        Activation::Gelu.f(1.0),
        0.841_344_746_068_542_9,
        1e-13,
        0.0,
        "gelu(1)",
    );
    assert_close(
        Activation::Gelu.f(-1.0),
        -0.158_655_253_931_457_05,
        1e-13,
        0.0,
        "gelu(-1)",
    );
}

#[test]
fn softplus_is_linear_exactly_above_its_threshold() {
    // PyTorch semantics: x itself where βx > threshold, ln(1 + e^(βx))/β (≠ x) below.
    let sp = Activation::Softplus {
        beta: 1.0,
        threshold: 20.0,
    };
    assert_eq!(sp.f(20.5), 20.5);
    assert_eq!(sp.df(20.5), 1.0);
    let below = sp.f(19.5) - 19.5; // = ln(1 + e^−19.5) ≈ e^−19.5
    assert_close(below, (-19.5f64).exp(), 1e-6, 0.0, "softplus(19.5) − 19.5");
    assert!(sp.df(19.5) < 1.0);
    let sp2 = Activation::Softplus {
        beta: 2.0,
        threshold: 20.0,
    };
    assert_eq!(sp2.f(10.25), 10.25);
    assert_close(
        sp2.f(9.75) - 9.75,
        (-19.5f64).exp() / 2.0,
        1e-6,
        0.0,
        "β = 2",
    );
    let sp3 = Activation::Softplus {
        beta: 1.0,
        threshold: 5.0,
    };
    assert_eq!(sp3.f(6.0), 6.0);
    assert_close(
        sp3.f(4.0),
        (1.0 + 4f64.exp()).ln(),
        1e-15,
        0.0,
        "threshold 5",
    );
}

#[test]
fn softplus_never_overflows_below_a_huge_threshold() {
    // The doc promises (max(βx, 0) + ln(1 + e^(−|βx|)))/β, which never overflows, even where
    // the threshold does not cut in.
    let sp = Activation::Softplus {
        beta: 1.0,
        threshold: 1e6,
    };
    assert_eq!(sp.f(1000.0f64), 1000.0);
    assert_eq!(sp.df(1000.0f64), 1.0);
    assert_eq!(sp.f(100.0f32), 100.0);
    assert_eq!(sp.f(1e5f32), 1e5);
    assert_eq!(sp.f(-1000.0f64), 0.0);
}

// ---------------------------------------------------------------------------------------------
// 4. Extreme inputs
// ---------------------------------------------------------------------------------------------

fn extreme_points_f32() -> Vec<f32> {
    let mut xs = vec![
        0.0,
        -0.0,
        f32::from_bits(1),
        -f32::from_bits(1),
        1e-40,
        -1e-40,
        f32::MIN_POSITIVE,
    ];
    for m in [1000.0, 1e4, 1e30, f32::MAX / 10.0] {
        xs.push(m);
        xs.push(-m);
    }
    xs
}

fn extreme_points_f64() -> Vec<f64> {
    let mut xs = vec![
        0.0,
        -0.0,
        f64::from_bits(1),
        -f64::from_bits(1),
        1e-310,
        -1e-310,
        f64::MIN_POSITIVE,
    ];
    for m in [1000.0, 1e4, 1e30, 1e300] {
        xs.push(m);
        xs.push(-m);
    }
    xs
}

fn scalar_finite_at<T: Float>(xs: &[T]) -> Vec<String> {
    let mut bad = Vec::new();
    for act in all_activations() {
        for &x in xs {
            let (f, df) = (act.f(x), act.df(x));
            if !f.is_finite() || !df.is_finite() {
                bad.push(format!(
                    "{act} at {:e} ({:?}): f = {f}, df = {df}",
                    x.to_f64(),
                    T::DTYPE
                ));
            }
        }
    }
    bad
}

#[test]
fn scalar_f_and_df_finite_at_extremes_f32() {
    let bad = scalar_finite_at(&extreme_points_f32());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn scalar_f_and_df_finite_at_extremes_f64() {
    let bad = scalar_finite_at(&extreme_points_f64());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// At the very edge of the format: every activation returns finite values at ±T::MAX, except
/// where the true value itself exceeds the format (SELU: λ·MAX with λ > 1 rounds to ∞, as in
/// IEEE arithmetic).
#[test]
fn scalar_f_and_df_finite_at_max() {
    let mut bad = scalar_finite_at(&[f32::MAX, -f32::MAX]);
    bad.extend(scalar_finite_at(&[f64::MAX, -f64::MAX]));
    bad.retain(|b| !(b.starts_with("selu at 3.40") || b.starts_with("selu at 1.79")));
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn extreme_limits<T: Float>(t: impl Fn(f64) -> T) {
    let s = Activation::Sigmoid;
    assert_eq!(s.f(t(-1000.0)), T::ZERO);
    assert_eq!(s.f(t(1000.0)), T::ONE);
    assert_eq!(s.df(t(1000.0)), T::ZERO);
    assert_eq!(s.df(t(-1000.0)), T::ZERO);
    let sp = Activation::Softplus {
        beta: 1.0,
        threshold: 20.0,
    };
    assert_eq!(sp.f(t(1000.0)), t(1000.0));
    assert_eq!(sp.df(t(1000.0)), T::ONE);
    assert_eq!(sp.f(t(-1000.0)), T::ZERO);
    for alpha in [1.0, 0.5] {
        let e = Activation::Elu { alpha };
        assert_eq!(e.f(t(-1000.0)), -t(alpha), "elu({alpha})(-1000)");
        assert_eq!(e.df(t(-1000.0)), T::ZERO);
    }
    assert_close(
        Activation::Selu.f(t(-1000.0)).to_f64(),
        -SELU_LAMBDA * SELU_ALPHA,
        1e-6,
        0.0,
        "selu(-1000)",
    );
    for x in [1000.0, 1e4, 1e30] {
        let m = Activation::Mish;
        assert_close(m.f(t(x)).to_f64(), x, 1e-6, 0.0, "mish(large)");
        assert_close(m.df(t(x)).to_f64(), 1.0, 1e-6, 0.0, "mish'(large)");
        let mneg = m.f(t(-x));
        assert!(mneg.is_finite() && mneg.to_f64().abs() < 1e-6, "mish(-{x})");
        assert!(m.df(t(-x)).is_finite());
        assert_eq!(Activation::Tanh.f(t(x)), T::ONE);
        assert_eq!(Activation::Tanh.f(t(-x)), -T::ONE);
        assert_eq!(Activation::Tanh.df(t(x)), T::ZERO);
        assert_close(
            Activation::Gelu.f(t(x)).to_f64(),
            x,
            1e-6,
            0.0,
            "gelu(large)",
        );
        assert_eq!(Activation::Gelu.f(t(-x)).to_f64(), 0.0, "gelu(-{x})");
        assert_close(
            Activation::GeluTanh.f(t(x)).to_f64(),
            x,
            1e-6,
            0.0,
            "gelu_tanh",
        );
        assert_eq!(
            Activation::GeluTanh.f(t(-x)).to_f64(),
            0.0,
            "gelu_tanh(-{x})"
        );
        assert_eq!(Activation::LogSoftmax.f(t(x)).to_f64(), 0.0);
        assert_close(
            Activation::LogSoftmax.f(t(-x)).to_f64(),
            -x,
            1e-6,
            0.0,
            "log_softmax(-large)",
        );
        assert_close(
            Activation::Softsign.f(t(x)).to_f64(),
            1.0,
            1e-3,
            0.0,
            "softsign",
        );
    }
}

#[test]
fn limits_at_extremes_f32() {
    extreme_limits::<f32>(|v| v as f32);
}

#[test]
fn limits_at_extremes_f64() {
    extreme_limits::<f64>(|v| v);
}

fn rowwise_extremes<T: Float>() {
    let run = |act: Activation, row: [f64; 2]| {
        let z = Tensor::<T>::from_f64_slice(&[1, 2], &row).unwrap();
        let g = Tensor::<T>::from_f64_slice(&[1, 2], &[1.0, -2.0]).unwrap();
        let mut f = ActivationFn::<T>::new(act);
        let (mut a, mut gz) = (Tensor::default(), Tensor::default());
        f.forward(&z, &mut a, &mut Rng::seed(0));
        f.backward(&z, &a, &g, &mut gz);
        (a, gz)
    };
    let (y, gz) = run(Activation::Softmax, [1000.0, -1000.0]);
    assert_eq!(y.data(), &[T::ONE, T::ZERO]);
    assert!(gz.all_finite());
    let (y, gz) = run(Activation::Softmax, [-1000.0, 1000.0]);
    assert_eq!(y.data(), &[T::ZERO, T::ONE]);
    assert!(gz.all_finite());
    for row in [[1000.0, -1000.0], [1e30, 0.0], [0.0, -1e30], [1e30, -1e30]] {
        let (y, gz) = run(Activation::LogSoftmax, row);
        assert!(y.all_finite(), "log_softmax({row:?}) = {:?}", y.data());
        assert!(
            gz.all_finite(),
            "log_softmax backward({row:?}) = {:?}",
            gz.data()
        );
        // The largest logit has log-probability 0, the other ≈ its gap.
        let (big, small) = if row[0] >= row[1] { (0, 1) } else { (1, 0) };
        assert_eq!(y.data()[big], T::ZERO, "{row:?}");
        assert_close(
            y.data()[small].to_f64(),
            row[small] - row[big],
            1e-6,
            0.0,
            "log_softmax gap",
        );
        let (y, gz) = run(Activation::Softmax, row);
        assert!(y.all_finite() && gz.all_finite(), "softmax {row:?}");
    }
}

#[test]
fn rowwise_extremes_f32() {
    rowwise_extremes::<f32>();
}

#[test]
fn rowwise_extremes_f64() {
    rowwise_extremes::<f64>();
}

fn tensor_finite_at<T: Float>(xs: &[T]) {
    let n = xs.len();
    let z = Tensor::from_vec(&[1, n], xs.to_vec()).unwrap();
    let g = Tensor::full(&[1, n], T::ONE);
    for act in all_activations() {
        // Per-channel PReLU needs one slope per column.
        let act = match act {
            Activation::Prelu { init, .. } => Activation::Prelu { init, channels: n },
            a => a,
        };
        for training in [true, false] {
            let mut f = ActivationFn::<T>::new(act);
            f.set_training(training);
            let (mut a, mut gz) = (Tensor::default(), Tensor::default());
            f.forward(&z, &mut a, &mut Rng::seed(5));
            f.backward(&z, &a, &g, &mut gz);
            assert!(
                a.all_finite(),
                "{act} forward ({:?}): {:?}",
                T::DTYPE,
                a.data()
            );
            assert!(
                gz.all_finite(),
                "{act} backward ({:?}): {:?}",
                T::DTYPE,
                gz.data()
            );
            assert!(f.slopes_grad.iter().all(|v| v.is_finite()), "{act}");
        }
    }
}

#[test]
fn tensor_forward_backward_finite_at_extremes_f32() {
    tensor_finite_at(&extreme_points_f32());
}

#[test]
fn tensor_forward_backward_finite_at_extremes_f64() {
    tensor_finite_at(&extreme_points_f64());
}

// ---------------------------------------------------------------------------------------------
// 5. Property-based tests
// ---------------------------------------------------------------------------------------------

/// The activations whose computed properties say they are monotonic.
fn monotone() -> &'static [Activation] {
    static M: OnceLock<Vec<Activation>> = OnceLock::new();
    M.get_or_init(|| {
        all_activations()
            .into_iter()
            .filter(|a| properties(a).monotonic)
            .collect()
    })
}

/// Finite f64 over many magnitudes: moderate values densely, and ±m·10^e up to 1e300.
fn wide_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        -30.0..30.0f64,
        -1e6..1e6f64,
        (any::<bool>(), 1.0..10.0f64, -300i32..300).prop_map(|(neg, m, e)| {
            let v = m * 10f64.powi(e);
            if neg {
                -v
            } else {
                v
            }
        }),
    ]
}

/// Finite f32 over many magnitudes, up to ~1e37 (below f32::MAX / 3).
fn wide_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        -30.0..30.0f32,
        -1e6..1e6f32,
        (any::<bool>(), 1.0..10.0f32, -37i32..37).prop_map(|(neg, m, e)| {
            let v = m * 10f32.powi(e);
            if neg {
                -v
            } else {
                v
            }
        }),
    ]
}

proptest! {
    // No failure persistence: regression files would land outside this test's own files.
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn prop_f_and_df_finite_f64(x in wide_f64()) {
        for act in all_activations() {
            prop_assert!(act.f(x).is_finite(), "{} f({:e}) = {}", act, x, act.f(x));
            prop_assert!(act.df(x).is_finite(), "{} df({:e}) = {}", act, x, act.df(x));
        }
    }

    #[test]
    fn prop_f_and_df_finite_f32(x in wide_f32()) {
        for act in all_activations() {
            prop_assert!(act.f(x).is_finite(), "{} f({:e}) = {}", act, x, act.f(x));
            prop_assert!(act.df(x).is_finite(), "{} df({:e}) = {}", act, x, act.df(x));
        }
    }

    #[test]
    fn prop_monotone_activations_are_non_decreasing(a in wide_f64(), b in wide_f64()) {
        let (x, y) = if a <= b { (a, b) } else { (b, a) };
        for act in monotone() {
            prop_assert!(act.f(x) <= act.f(y), "{}: f({:e}) = {} > f({:e}) = {}",
                act, x, act.f(x), y, act.f(y));
            prop_assert!(act.df(x) >= 0.0, "{}: f'({:e}) = {} < 0", act, x, act.df(x));
        }
    }

    #[test]
    fn prop_monotone_on_close_pairs(x in -25.0..25.0f64, d in 0.0..1e-3f64) {
        for act in monotone() {
            prop_assert!(act.f(x) <= act.f(x + d), "{}: f({}) > f({})", act, x, x + d);
        }
    }

    #[test]
    fn prop_sigmoid_in_unit_interval_and_tanh_bounded(x in wide_f64(), x32 in wide_f32()) {
        for s in [Activation::Sigmoid.f(x), Activation::Softmax.f(x)] {
            prop_assert!((0.0..=1.0).contains(&s), "σ({:e}) = {}", x, s);
        }
        prop_assert!((0.0..=1.0).contains(&Activation::Sigmoid.f(x32)));
        prop_assert!(Activation::Tanh.f(x).abs() <= 1.0);
        prop_assert!(Activation::Tanh.f(x32).abs() <= 1.0);
        prop_assert!(Activation::Softsign.f(x).abs() <= 1.0);
        // Up to a few ulps: see derivative_bounds_hold_exactly_near_zero.
        let d = Activation::Sigmoid.df(x);
        prop_assert!((0.0..=0.25 * (1.0 + 4.0 * f64::EPSILON)).contains(&d), "σ'({:e}) = {}", x, d);
        let d = Activation::Tanh.df(x);
        prop_assert!((0.0..=1.0 + 4.0 * f64::EPSILON).contains(&d), "tanh'({:e}) = {}", x, d);
        prop_assert!(Activation::LogSoftmax.f(x) <= 0.0);
    }

    #[test]
    fn prop_softmax_rows_are_probability_vectors(
        row in prop::collection::vec(-1e3..1e3f64, 1..12),
        shift in -1e4..1e4f64,
    ) {
        let n = row.len();
        let z = Tensor::from_vec(&[1, n], row.clone()).unwrap();
        let mut f = ActivationFn::<f64>::new(Activation::Softmax);
        let mut a = Tensor::default();
        f.forward(&z, &mut a, &mut Rng::seed(0));
        prop_assert!(a.data().iter().all(|p| (0.0..=1.0).contains(p)), "{:?}", a.data());
        let sum: f64 = a.data().iter().sum();
        prop_assert!((sum - 1.0).abs() <= 1e-12 * n as f64, "sum {}", sum);
        // The largest logit gets the largest probability.
        let imax = (0..n).max_by(|&i, &j| row[i].total_cmp(&row[j])).unwrap();
        prop_assert!(a.data().iter().all(|p| *p <= a.data()[imax]));
        // f32 too.
        let z32 = z.cast::<f32>();
        let mut f32s = ActivationFn::<f32>::new(Activation::Softmax);
        let mut a32 = Tensor::default();
        f32s.forward(&z32, &mut a32, &mut Rng::seed(0));
        let sum32: f64 = to_f64s(a32.data()).iter().sum();
        prop_assert!((sum32 - 1.0).abs() <= 1e-6 * n as f64);
        // Shift invariance on moderate rows.
        let zs = Tensor::from_vec(&[1, n], row.iter().map(|v| v + shift).collect()).unwrap();
        let mut b = Tensor::default();
        f.forward(&zs, &mut b, &mut Rng::seed(0));
        for (p, q) in a.data().iter().zip(b.data()) {
            prop_assert!((p - q).abs() <= 1e-9, "{} vs {}", p, q);
        }
    }

    #[test]
    fn prop_text_form_round_trips(
        v1 in -1e3..1e3f64,
        v2 in 1e-3..1e3f64,
        ch in 1usize..64,
    ) {
        let acts = [
            Activation::LeakyRelu { slope: v1 },
            Activation::Prelu { init: v1, channels: ch },
            Activation::Rrelu { lower: v1, upper: v1 + v2 },
            Activation::Elu { alpha: v2 },
            Activation::Swish { beta: v1 },
            Activation::Softplus { beta: v2, threshold: v1 },
            Activation::HardTanh { min: v1, max: v1 + v2 },
            Activation::ImprovedSigmoid { alpha: v1, beta: v2 },
        ];
        for a in acts {
            let text = a.to_string();
            let back: Activation = text.parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            prop_assert_eq!(back, a, "{}", text);
        }
    }
}

/// σ' ≤ 1/4 and tanh' ≤ 1 are documented bounds; near 0 the e/(1 + e)² forms round up by
/// one ulp for about one tiny x in seven.
#[test]
fn derivative_bounds_hold_exactly_near_zero() {
    let mut bad = Vec::new();
    for i in 0..2000 {
        let x = 10f64.powf(-16.0 + 12.0 * i as f64 / 2000.0);
        for x in [x, -x] {
            if Activation::Sigmoid.df(x) > 0.25 {
                bad.push(format!("σ'({x:e}) = {:e}", Activation::Sigmoid.df(x)));
            }
            if Activation::Tanh.df(x) > 1.0 {
                bad.push(format!("tanh'({x:e}) = {:e}", Activation::Tanh.df(x)));
            }
            if Activation::Tanh.df(x as f32) > 1.0 {
                bad.push(format!(
                    "tanh'({x:e} f32) = {:e}",
                    Activation::Tanh.df(x as f32)
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} overshoots, e.g. {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
}

/// Monotone activations do not step down across their kinks (x and the next float above).
#[test]
fn monotone_activations_do_not_step_down_at_kinks() {
    let up = |x: f64| {
        if x >= 0.0 {
            f64::from_bits((x + 0.0).to_bits() + 1)
        } else {
            f64::from_bits(x.to_bits() - 1)
        }
    };
    let down = |x: f64| -up(-x);
    let mut bad = Vec::new();
    for act in monotone() {
        if matches!(act, Activation::Softplus { .. }) {
            continue; // see softplus_is_monotone_across_its_threshold
        }
        for k in act.kinks() {
            for (x, y) in [(down(k), k), (k, up(k)), (k - 1e-9, k + 1e-9)] {
                if act.f(x) > act.f(y) {
                    bad.push(format!(
                        "{act}: f({x:e}) = {} > f({y:e}) = {}",
                        act.f(x),
                        act.f(y)
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Softplus follows PyTorch: linear above the threshold, with a step down of
/// ln(1 + e^(−threshold))/β there (documented); the step is tiny.
#[test]
fn softplus_threshold_step_is_pytorchs_and_tiny() {
    for (beta, step) in [
        (1.0, (-20f64).exp().ln_1p()),
        (2.0, (-20f64).exp().ln_1p() / 2.0),
    ] {
        let act = Activation::Softplus {
            beta,
            threshold: 20.0,
        };
        let k = act.kinks()[0];
        let above = f64::from_bits(k.to_bits() + 1);
        let drop = act.f(k) - act.f(above);
        assert!(
            (drop - step).abs() < 1e-14,
            "{act}: drop {drop}, expected {step}"
        );
        assert!(drop < 3e-9);
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Text form
// ---------------------------------------------------------------------------------------------

fn parse(s: &str) -> Activation {
    s.parse()
        .unwrap_or_else(|e| panic!("`{s}` should parse: {e}"))
}

fn parse_err(s: &str) -> String {
    match s.parse::<Activation>() {
        Ok(a) => panic!("`{s}` should not parse, got {a:?}"),
        Err(Error::Activation(msg)) => msg,
        Err(other) => panic!("`{s}`: wrong error kind {other:?}"),
    }
}

#[test]
fn text_form_round_trips_for_catalogue_and_variants() {
    for a in all_activations() {
        let text = a.to_string();
        assert_eq!(parse(&text), a, "round trip of `{text}`");
        assert_eq!(spec::parse(&text).unwrap(), a);
        // serde uses the same text form.
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        let back: Activation = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }
    // Bare names give the defaults.
    for a in Activation::catalogue() {
        assert_eq!(parse(a.name()), a, "bare `{}`", a.name());
    }
}

#[test]
fn text_form_of_parameterless_and_parameterised() {
    assert_eq!(Activation::Sigmoid.to_string(), "sigmoid");
    assert_eq!(
        Activation::LeakyRelu { slope: 0.2 }.to_string(),
        "leaky_relu(slope=0.2)"
    );
    assert_eq!(
        Activation::ImprovedSigmoid {
            alpha: 3.0,
            beta: 0.05
        }
        .to_string(),
        "improved_sigmoid(alpha=3, beta=0.05)"
    );
}

#[test]
fn spellings_of_the_same_activation_parse_the_same() {
    let lr = Activation::LeakyRelu { slope: 0.2 };
    for s in [
        "leaky_relu(0.2)",
        "leaky_relu(slope=0.2)",
        "Leaky-ReLU(slope = 0.2)",
        "  LEAKYRELU( 0.2 )  ",
        "leaky_relu(slope=2e-1)",
    ] {
        assert_eq!(parse(s), lr, "`{s}`");
    }
    assert_eq!(parse("elu(alpha=1.0)"), Activation::Elu { alpha: 1.0 });
    assert_eq!(parse("elu"), Activation::Elu { alpha: 1.0 });
    assert_eq!(parse("elu()"), Activation::Elu { alpha: 1.0 });
    assert_eq!(
        parse("improved_sigmoid(alpha=2, beta=0.1)"),
        Activation::ImprovedSigmoid {
            alpha: 2.0,
            beta: 0.1
        }
    );
    assert_eq!(
        parse("improved_sigmoid(3, 0.05)"),
        Activation::ImprovedSigmoid {
            alpha: 3.0,
            beta: 0.05
        }
    );
    // Named parameters in any order; omitted ones take their defaults.
    assert_eq!(
        parse("hard_tanh(max=0.5, min=-2)"),
        Activation::HardTanh {
            min: -2.0,
            max: 0.5
        }
    );
    assert_eq!(
        parse("softplus(threshold=10)"),
        Activation::Softplus {
            beta: 1.0,
            threshold: 10.0
        }
    );
    assert_eq!(
        parse("prelu(0.1, 3)"),
        Activation::Prelu {
            init: 0.1,
            channels: 3
        }
    );
    // Aliases.
    assert_eq!(parse("logistic"), Activation::Sigmoid);
    assert_eq!(parse("linear"), Activation::Identity);
    assert_eq!(parse("none"), Activation::Identity);
    assert_eq!(parse("LogSoftmax"), Activation::LogSoftmax);
    assert_eq!(parse("Hard-Sigmoid"), Activation::HardSigmoid);
    assert_eq!(parse("hardswish"), Activation::HardSwish);
    assert_eq!(parse("Hard-Swish"), Activation::HardSwish);
    assert_eq!(
        parse("hardtanh"),
        Activation::HardTanh {
            min: -1.0,
            max: 1.0
        }
    );
}

#[test]
fn unknown_name_lists_valid_names() {
    for bad in ["sigmod", "relu6", "foo(1)", "   "] {
        let msg = parse_err(bad);
        assert!(msg.contains("valid activations"), "`{bad}`: {msg}");
        for name in [
            "sigmoid",
            "improved_sigmoid",
            "leaky_relu",
            "hard_tanh",
            "identity",
        ] {
            assert!(msg.contains(name), "`{bad}`: {msg} lacks {name}");
        }
    }
    assert!(parse_err("sigmod").contains("sigmod"));
    assert!(parse_err("sigmod").contains("unknown activation"));
}

#[test]
fn parameter_errors_are_specific() {
    let msg = parse_err("elu(beta=1)");
    assert!(msg.contains("unknown parameter"), "{msg}");
    assert!(
        msg.contains("valid parameters") && msg.contains("alpha"),
        "{msg}"
    );

    let msg = parse_err("improved_sigmoid(gamma=1)");
    assert!(msg.contains("alpha") && msg.contains("beta"), "{msg}");

    let msg = parse_err("elu(alpha=abc)");
    assert!(
        msg.contains("not a finite number") && msg.contains("abc"),
        "{msg}"
    );
    for v in ["nan", "inf", "-inf", "1e400", ""] {
        let msg = parse_err(&format!("elu(alpha={v})"));
        assert!(msg.contains("not a finite number"), "`{v}`: {msg}");
    }

    let msg = parse_err("leaky_relu(0.1, 0.2)");
    assert!(msg.contains("too many values"), "{msg}");
    let msg = parse_err("sigmoid(1)");
    assert!(msg.contains("too many values"), "{msg}");
    assert!(msg.contains("no parameters"), "{msg}");

    let msg = parse_err("elu(alpha=1");
    assert!(msg.contains("missing closing `)`"), "{msg}");
    let msg = parse_err("improved_sigmoid(alpha=2, beta=0.1");
    assert!(msg.contains("missing closing"), "{msg}");

    let msg = parse_err("leaky_relu(slope=0.1, slope=0.2)");
    assert!(msg.contains("given twice"), "{msg}");
    let msg = parse_err("hard_tanh(min=-2, 1)");
    assert!(msg.contains("after a named"), "{msg}");
}

#[test]
fn out_of_range_parameters_are_rejected() {
    let msg = parse_err("rrelu(lower=0.5, upper=0.1)");
    assert!(msg.contains("lower") && msg.contains("upper"), "{msg}");
    assert!(
        parse("rrelu(lower=0.2, upper=0.2)")
            == Activation::Rrelu {
                lower: 0.2,
                upper: 0.2
            }
    );

    for s in [
        "hard_tanh(min=1, max=1)",
        "hard_tanh(min=2, max=1)",
        "hard_tanh(min=3)",
    ] {
        let msg = parse_err(s);
        assert!(msg.contains("min") && msg.contains("max"), "`{s}`: {msg}");
    }
    for s in [
        "prelu(channels=0)",
        "prelu(channels=1.5)",
        "prelu(channels=-2)",
    ] {
        let msg = parse_err(s);
        assert!(msg.contains("channels"), "`{s}`: {msg}");
    }
    for s in ["softplus(beta=0)", "softplus(beta=-1)", "softplus(-0.5)"] {
        let msg = parse_err(s);
        assert!(msg.contains("beta"), "`{s}`: {msg}");
    }
    let msg = parse_err("elu(alpha=-1)");
    assert!(msg.contains("alpha"), "{msg}");
}

#[test]
fn variants_are_not_catalogue_defaults() {
    // Guards the variant list: each must differ from its catalogue default.
    let cat = Activation::catalogue();
    for v in variants() {
        let d = cat.iter().find(|a| a.name() == v.name()).unwrap();
        assert_ne!(*d, v);
    }
}
