//! `activation::properties`: computed properties against closed forms and independent
//! numerical estimates.

use gradscope::activation::{properties, Properties};
use gradscope::{Activation, Rng};

use crate::common::{all_activations, assert_close, logistic};

fn props(a: Activation) -> Properties {
    properties(&a)
}

/// Φ(−1), Φ(−2), Φ(−3) (standard normal lower tail).
const PHI_M1: f64 = 0.158_655_253_931_457_05;
const PHI_M2: f64 = 0.022_750_131_948_179_21;
const PHI_M3: f64 = 0.001_349_898_031_630_094_6;
/// 1/√(2π)
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Bisection for g(x) = 0 on [a, b] with g(a), g(b) of opposite signs.
fn bisect(g: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let ga = g(a);
    assert!(ga * g(b) < 0.0, "no sign change on [{a}, {b}]");
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if (g(m) < 0.0) == (ga < 0.0) {
            a = m;
        } else {
            b = m;
        }
    }
    0.5 * (a + b)
}

#[test]
fn sigmoid_derivative_peaks_at_a_quarter_at_zero() {
    for a in [Activation::Sigmoid, Activation::Softmax] {
        let p = props(a);
        assert!((p.max_abs_derivative - 0.25).abs() <= 1e-12, "{a}: {p:?}");
        assert_eq!(p.argmax_derivative, Some(0.0), "{a}");
        assert_eq!(p.f0, 0.5);
        assert_eq!(p.df0, 0.25);
        assert_close(p.mean_output, 0.5, 0.0, 1e-12, "E[σ(z)] = 1/2");
        assert!(p.monotonic);
    }
}

#[test]
fn tanh_derivative_peaks_at_one_at_zero() {
    let p = props(Activation::Tanh);
    assert!((p.max_abs_derivative - 1.0).abs() <= 1e-12, "{p:?}");
    assert_eq!(p.argmax_derivative, Some(0.0));
    assert!(p.mean_output.abs() < 1e-12);
    assert_eq!(p.range, [Some(-1.0), Some(1.0)]);
    assert_eq!(p.range_closed, [false, false]);
}

#[test]
fn gelu_derivative_peaks_at_sqrt_2() {
    // gelu''(x) = φ(x)(2 − x²): the peak of f' is at √2, where f' = Φ(√2) + √2·φ(√2).
    let p = props(Activation::Gelu);
    let r2 = std::f64::consts::SQRT_2;
    let phi = INV_SQRT_2PI * (-1.0f64).exp();
    let cdf = 0.5 * (1.0 + 0.842_700_792_949_714_9); // Φ(√2) = (1 + erf 1)/2
    assert_close(p.argmax_derivative.unwrap(), r2, 0.0, 2e-6, "argmax gelu'");
    assert_close(
        p.max_abs_derivative,
        cdf + r2 * phi,
        1e-10,
        0.0,
        "max gelu'",
    );
    // Stein: E[zΦ(z)] = E[φ(z)] = 1/(2√π).
    let stein = 0.5 / std::f64::consts::PI.sqrt();
    assert_close(p.mean_output, stein, 1e-10, 0.0, "E[gelu(z)]");
    assert!(!p.monotonic);
}

#[test]
fn relu_family_moments_match_closed_forms() {
    let p = props(Activation::Relu);
    assert_close(p.gain, std::f64::consts::SQRT_2, 0.0, 1e-10, "relu gain");
    assert_close(p.mean_sq_derivative, 0.5, 0.0, 1e-12, "relu E[f'²]");
    assert_close(p.mean_sq_output, 0.5, 0.0, 1e-12, "relu E[f²]");
    assert_close(p.mean_output, INV_SQRT_2PI, 1e-12, 0.0, "E[relu(z)]");
    assert_eq!(p.saturation_x, None);
    assert_eq!(p.range, [Some(0.0), None]);
    assert_eq!(p.range_closed, [true, false]);
    assert_eq!(p.range_text, "[0, inf)");
    assert!(p.monotonic);
    assert_eq!(p.df0, 0.0);

    // Leaky slope a: E[f'²] = E[f²] = (1 + a²)/2, E[f] = (1 − a)/√(2π).
    let leaky = [
        (Activation::LeakyRelu { slope: 0.01 }, 0.01),
        (Activation::LeakyRelu { slope: 0.2 }, 0.2),
        (
            Activation::Prelu {
                init: 0.25,
                channels: 1,
            },
            0.25,
        ),
        (
            Activation::Prelu {
                init: 0.1,
                channels: 1,
            },
            0.1,
        ),
        (
            Activation::Rrelu {
                lower: 1.0 / 8.0,
                upper: 1.0 / 3.0,
            },
            (1.0 / 8.0 + 1.0 / 3.0) / 2.0,
        ),
    ];
    for (act, a) in leaky {
        let p = props(act);
        let m2 = (1.0 + a * a) / 2.0;
        assert_close(
            p.mean_sq_derivative,
            m2,
            1e-11,
            0.0,
            &format!("{act} E[f'²]"),
        );
        assert_close(p.mean_sq_output, m2, 1e-11, 0.0, &format!("{act} E[f²]"));
        assert_close(p.gain, 1.0 / m2.sqrt(), 1e-11, 0.0, &format!("{act} gain"));
        assert_close(
            p.mean_output,
            (1.0 - a) * INV_SQRT_2PI,
            1e-11,
            0.0,
            &format!("{act} mean"),
        );
        assert_eq!(p.range, [None, None], "{act}");
        assert_close(p.df0, a, 1e-15, 0.0, &format!("{act} f'(0)"));
        assert_eq!(p.derivative_range, [a, 1.0], "{act}");
        assert!(p.monotonic, "{act}");
    }
}

#[test]
fn elu_moments_and_range() {
    for alpha in [1.0, 0.5] {
        let p = props(Activation::Elu { alpha });
        // E[f] = φ(0) + α(e^{1/2}Φ(−1) − 1/2); E[f'²] = 1/2 + α² e² Φ(−2).
        let mean = INV_SQRT_2PI + alpha * (0.5f64.exp() * PHI_M1 - 0.5);
        let msd = 0.5 + alpha * alpha * 2f64.exp() * PHI_M2;
        assert_close(p.mean_output, mean, 1e-10, 0.0, "E[elu(z)]");
        assert_close(p.mean_sq_derivative, msd, 1e-10, 0.0, "E[elu'(z)²]");
        assert_eq!(p.range[1], None);
        assert_close(p.range[0].unwrap(), -alpha, 1e-12, 0.0, "elu inf");
        assert_eq!(p.range_closed, [false, false], "−α is only approached");
        assert!(p.monotonic);
    }
}

#[test]
fn selu_is_self_normalising() {
    let p = props(Activation::Selu);
    assert!((p.gain - 1.0).abs() < 1e-6, "selu gain {}", p.gain);
    assert!(p.mean_output.abs() < 1e-6, "selu mean {}", p.mean_output);
    assert!((p.mean_sq_output - 1.0).abs() < 1e-6);
}

#[test]
fn identity_and_hard_functions() {
    let p = props(Activation::Identity);
    assert_close(p.gain, 1.0, 0.0, 1e-12, "identity gain");
    assert_close(p.mean_sq_derivative, 1.0, 0.0, 1e-12, "identity E[f'²]");
    assert!(p.mean_output.abs() < 1e-12);
    assert_eq!(p.range, [None, None]);

    let p = props(Activation::HardTanh {
        min: -1.0,
        max: 1.0,
    });
    assert_eq!(p.range, [Some(-1.0), Some(1.0)]);
    assert_eq!(p.range_closed, [true, true]);
    assert_eq!(p.range_text, "[-1, 1]");
    assert_close(
        p.mean_sq_derivative,
        1.0 - 2.0 * PHI_M1,
        1e-12,
        0.0,
        "P(|z|<1)",
    );
    assert_close(
        p.saturation_x.unwrap(),
        1.0,
        0.0,
        1e-6,
        "hard_tanh saturation",
    );

    let p = props(Activation::HardTanh {
        min: -2.0,
        max: 0.5,
    });
    assert_eq!(p.range, [Some(-2.0), Some(0.5)]);
    assert_eq!(p.range_closed, [true, true]);
    assert_close(
        p.mean_sq_derivative,
        1.0 - PHI_M2 - (1.0 - 0.691_462_461_274_013_1), // P(−2 < z < 0.5)
        1e-12,
        0.0,
        "P(-2<z<0.5)",
    );

    let p = props(Activation::HardSigmoid);
    assert_eq!(p.range, [Some(0.0), Some(1.0)]);
    assert_eq!(p.range_closed, [true, true]);
    assert_close(p.max_abs_derivative, 1.0 / 6.0, 1e-15, 0.0, "1/6");
    assert_close(
        p.mean_sq_derivative,
        (1.0 - 2.0 * PHI_M3) / 36.0,
        1e-12,
        0.0,
        "hard_sigmoid E[f'²]",
    );
    assert_close(
        p.saturation_x.unwrap(),
        3.0,
        0.0,
        1e-6,
        "hard_sigmoid saturation",
    );
}

#[test]
fn mean_square_tanh_matches_monte_carlo_and_trapezoid() {
    let p = props(Activation::Tanh);
    // Independent Monte Carlo estimate (sd of tanh² under N(0,1) < 0.4: se ~ 4e-4).
    let mut rng = Rng::seed(2024);
    let n = 1_000_000;
    let mc = (0..n).map(|_| rng.normal().tanh().powi(2)).sum::<f64>() / n as f64;
    assert!(
        (p.mean_sq_output - mc).abs() < 3e-3,
        "E[tanh²] = {} vs Monte Carlo {mc}",
        p.mean_sq_output
    );
    // Trapezoid rule on [-12, 12] with step 1e-3 (error ~ h² ≈ 1e-7).
    let h = 1e-3;
    let m = 24_000;
    let g = |x: f64| x.tanh().powi(2) * (-0.5 * x * x).exp() * INV_SQRT_2PI;
    let mut trap = 0.5 * (g(-12.0) + g(12.0));
    for i in 1..m {
        trap += g(-12.0 + i as f64 * h);
    }
    trap *= h;
    assert!(
        (p.mean_sq_output - trap).abs() < 1e-6,
        "E[tanh²] = {} vs trapezoid {trap}",
        p.mean_sq_output
    );
    assert_close(p.gain, 1.0 / trap.sqrt(), 1e-6, 0.0, "tanh gain");
    // E[tanh'(z)²] by the same trapezoid rule.
    let gd = |x: f64| (1.0 - x.tanh().powi(2)).powi(2) * (-0.5 * x * x).exp() * INV_SQRT_2PI;
    let mut td = 0.5 * (gd(-12.0) + gd(12.0));
    for i in 1..m {
        td += gd(-12.0 + i as f64 * h);
    }
    td *= h;
    assert_close(p.mean_sq_derivative, td, 1e-6, 0.0, "E[tanh'²]");
}

#[test]
fn improved_sigmoid_is_unbounded_and_never_saturates() {
    for act in [
        Activation::ImprovedSigmoid {
            alpha: 2.0,
            beta: 0.1,
        },
        Activation::ImprovedSigmoid {
            alpha: 3.0,
            beta: 0.05,
        },
    ] {
        let p = props(act);
        // Not (0, 1 + β) as the seeds' table claimed: βx is unbounded both ways.
        assert_eq!(p.range, [None, None], "{act}");
        assert_eq!(p.range_text, "(-inf, inf)");
        assert_eq!(p.saturation_x, None, "{act}");
        assert!(p.monotonic);
        let Activation::ImprovedSigmoid { alpha, beta } = act else {
            unreachable!()
        };
        assert_close(
            p.max_abs_derivative,
            alpha / 4.0 + beta,
            1e-12,
            0.0,
            "max f'",
        );
        assert_eq!(p.argmax_derivative, Some(0.0));
        assert_close(p.derivative_range[0], beta, 1e-9, 0.0, "inf f' = β");
        assert_close(p.mean_output, 0.5, 0.0, 1e-12, "E[σ(αz)+βz]");
    }
}

#[test]
fn ranges_open_and_closed() {
    let p = props(Activation::Sigmoid);
    assert_eq!(p.range, [Some(0.0), Some(1.0)]);
    assert_eq!(p.range_closed, [false, false]);
    assert_eq!(p.range_text, "(0, 1)");

    let p = props(Activation::Softsign);
    assert_eq!(p.range, [Some(-1.0), Some(1.0)]);
    assert_eq!(p.range_closed, [false, false]);

    let p = props(Activation::LogSoftmax);
    assert_eq!(p.range, [None, Some(0.0)]);
    assert!(!p.range_closed[1]);
    assert_eq!(
        p.argmax_derivative, None,
        "sup of log_softmax' is approached at -inf"
    );

    let p = props(Activation::Softplus {
        beta: 1.0,
        threshold: 20.0,
    });
    assert_eq!(p.range, [Some(0.0), None]);
    assert!(!p.range_closed[0]);

    let p = props(Activation::Selu);
    assert_close(
        p.range[0].unwrap(),
        -SELU_LAMBDA_ALPHA,
        1e-12,
        0.0,
        "selu inf",
    );
    assert!(!p.range_closed[0]);

    // Swish/SiLU attain their minimum −W(1/e) at x = −1 − W(1/e).
    let w = 0.278_464_542_761_073_8; // Lambert W(1/e)
    for act in [Activation::Silu, Activation::Swish { beta: 1.0 }] {
        let p = props(act);
        assert_close(p.range[0].unwrap(), -w, 1e-9, 0.0, "swish min");
        assert_eq!(p.range_closed, [true, false]);
        assert!(!p.monotonic);
    }
    // Swish(β) = (1/β)·SiLU(βx): minimum −W(1/e)/β.
    let p = props(Activation::Swish { beta: 2.0 });
    assert_close(p.range[0].unwrap(), -w / 2.0, 1e-9, 0.0, "swish(2) min");

    // Mish: minimum found independently by bisection on f'.
    let x_min = bisect(|x| Activation::Mish.df(x), -3.0, -0.5);
    let p = props(Activation::Mish);
    assert_close(
        p.range[0].unwrap(),
        Activation::Mish.f(x_min),
        1e-9,
        0.0,
        "mish min",
    );
    assert!(!p.monotonic);
}

const SELU_LAMBDA_ALPHA: f64 = 1.050_700_987_355_480_5 * 1.673_263_242_354_377_3;

#[test]
fn saturation_points() {
    // σ'(x) = 0.01 · 1/4, solved by bisection on an independently written σ'.
    let dsig = |x: f64| {
        let s = logistic(x);
        s * (1.0 - s)
    };
    let xs = bisect(|x| dsig(x) - 0.0025, 0.0, 20.0);
    assert_close(xs, 5.9864, 0.0, 1e-4, "bisection itself");
    let p = props(Activation::Sigmoid);
    assert_close(p.saturation_x.unwrap(), xs, 1e-9, 0.0, "sigmoid saturation");
    assert_close(p.saturates_right.unwrap(), xs, 1e-9, 0.0, "right");
    assert_close(p.saturates_left.unwrap(), -xs, 1e-9, 0.0, "left");

    // tanh'(x) = sech²x = 0.01 ⇔ cosh x = 10.
    let xt = (10.0f64 + 99f64.sqrt()).ln();
    assert_close(xt, 2.9932, 0.0, 1e-4, "acosh 10");
    let p = props(Activation::Tanh);
    assert_close(p.saturation_x.unwrap(), xt, 1e-9, 0.0, "tanh saturation");

    // softsign' = 1/(1+|x|)² = 0.01 ⇔ |x| = 9.
    let p = props(Activation::Softsign);
    assert_close(
        p.saturation_x.unwrap(),
        9.0,
        1e-9,
        0.0,
        "softsign saturation",
    );

    for act in [
        Activation::Relu,
        Activation::Gelu,
        Activation::Identity,
        Activation::LogSoftmax,
        Activation::Elu { alpha: 1.0 },
        Activation::ImprovedSigmoid {
            alpha: 2.0,
            beta: 0.1,
        },
    ] {
        assert_eq!(props(act).saturation_x, None, "{act} does not saturate");
    }
    // ReLU saturates (f' = 0) on the left only.
    let p = props(Activation::Relu);
    assert_eq!(p.saturates_right, None);
    assert!(p.saturates_left.is_some());
}

#[test]
fn monotonic_flags() {
    for act in [
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Swish { beta: 1.0 },
        Activation::Swish { beta: 2.0 },
        Activation::Silu,
        Activation::Mish,
    ] {
        assert!(!props(act).monotonic, "{act} is not monotonic");
    }
    for act in [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.2 },
        Activation::Elu { alpha: 0.5 },
        Activation::Selu,
        Activation::Softsign,
        Activation::HardSigmoid,
        Activation::Identity,
        Activation::LogSoftmax,
        Activation::ImprovedSigmoid {
            alpha: 3.0,
            beta: 0.05,
        },
    ] {
        assert!(props(act).monotonic, "{act} is monotonic");
    }
    // A negative slope breaks monotonicity.
    assert!(!props(Activation::LeakyRelu { slope: -0.5 }).monotonic);
}

#[test]
fn every_property_is_finite_and_consistent() {
    for act in all_activations() {
        let p = props(act);
        assert_eq!(p.name, act.to_string());
        assert_eq!(p.f0, act.f(0.0), "{act}");
        assert_eq!(p.df0, act.df(0.0), "{act}");
        for v in [
            p.f0,
            p.df0,
            p.max_abs_derivative,
            p.mean_output,
            p.mean_sq_derivative,
            p.mean_sq_output,
            p.gain,
        ] {
            assert!(v.is_finite(), "{act}: {p:?}");
        }
        assert!(p.max_abs_derivative > 0.0);
        assert!(p.derivative_range[0] <= p.derivative_range[1]);
        assert!(p.max_abs_derivative >= p.derivative_range[1].abs() - 1e-12);
        assert!(p.max_abs_derivative >= p.derivative_range[0].abs() - 1e-12);
        if let Some(x) = p.argmax_derivative {
            // At a kink the sup may only be a one-sided limit (ReLU: f'(0) = 0, f'(0+) = 1).
            let best = [x - 1e-9, x, x + 1e-9]
                .iter()
                .map(|&t| act.df(t).abs())
                .fold(0.0, f64::max);
            assert_close(
                best,
                p.max_abs_derivative,
                1e-6,
                0.0,
                &format!("{act}: |f'(argmax)|"),
            );
        }
        if let [Some(lo), Some(hi)] = p.range {
            assert!(lo <= hi, "{act}");
        }
        // E[f²] ≥ E[f]² (Jensen).
        assert!(p.mean_sq_output >= p.mean_output.powi(2) - 1e-12, "{act}");
        assert_close(p.gain, 1.0 / p.mean_sq_output.sqrt(), 1e-12, 0.0, "gain");
    }
}

/// The Jacobian J_ij = ∂y_i/∂x_j of a row-wise activation at the row `x`, from its backward.
fn row_jacobian(act: Activation, x: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
    use gradscope::activation::ActivationFn;
    use gradscope::{Rng, Tensor};
    let n = x.len();
    let z = Tensor::<f64>::from_f64_slice(&[1, n], x).unwrap();
    let mut f = ActivationFn::<f64>::new(act);
    let mut y = Tensor::default();
    f.forward(&z, &mut y, &mut Rng::seed(0));
    let mut jac = vec![vec![0.0; n]; n];
    let mut g = Tensor::default();
    for (i, row) in jac.iter_mut().enumerate() {
        let mut e = Tensor::<f64>::zeros(&[1, n]);
        e.data_mut()[i] = 1.0;
        f.backward(&z, &y, &e, &mut g);
        row.copy_from_slice(g.data());
    }
    (y.data().to_vec(), jac)
}

#[test]
fn softmax_and_log_softmax_are_described_row_wise_by_their_jacobians() {
    use gradscope::activation::rowwise_properties;
    for a in [Activation::Tanh, Activation::Sigmoid, Activation::Relu] {
        assert!(props(a).rowwise.is_none());
    }
    let sm = props(Activation::Softmax).rowwise.expect("row-wise");
    let lsm = props(Activation::LogSoftmax).rowwise.expect("row-wise");
    assert_eq!((sm.f0, sm.df0), ("1/n", "1/n - 1/n^2"));
    assert_eq!((lsm.f0, lsm.df0), ("-ln n", "1 - 1/n"));
    assert_eq!(rowwise_properties(&Activation::Softmax), Some(sm));
    // The formulas at x = 0, for several widths.
    for n in [2usize, 3, 7] {
        let nf = n as f64;
        let (y, j) = row_jacobian(Activation::Softmax, &vec![0.0; n]);
        assert!(y.iter().all(|v| (v - 1.0 / nf).abs() < 1e-15));
        assert!((j[0][0] - (1.0 / nf - 1.0 / (nf * nf))).abs() < 1e-15);
        let (y, j) = row_jacobian(Activation::LogSoftmax, &vec![0.0; n]);
        assert!(y.iter().all(|v| (v + nf.ln()).abs() < 1e-14));
        assert!((j[0][0] - (1.0 - 1.0 / nf)).abs() < 1e-15);
    }
    // The Jacobian's form and ranges on random rows: diag(s) − s·sᵀ in [−1/4, 1/4], and
    // I − 1·sᵀ with diagonal in (0, 1), off-diagonal in (−1, 0).
    let mut rng = gradscope::Rng::seed(3);
    for _ in 0..50 {
        let x: Vec<f64> = (0..5).map(|_| 3.0 * rng.normal()).collect();
        let (s, j) = row_jacobian(Activation::Softmax, &x);
        let (_, jl) = row_jacobian(Activation::LogSoftmax, &x);
        for i in 0..5 {
            for k in 0..5 {
                let d = if i == k { 1.0 } else { 0.0 };
                assert!((j[i][k] - s[i] * (d - s[k])).abs() < 1e-12);
                assert!(j[i][k].abs() <= 0.25 + 1e-15);
                assert!((jl[i][k] - (d - s[k])).abs() < 1e-12);
                if i == k {
                    assert!(j[i][k] > 0.0 && jl[i][k] > 0.0 && jl[i][k] < 1.0);
                } else {
                    assert!(j[i][k] <= 0.0 && jl[i][k] < 0.0 && jl[i][k] > -1.0);
                }
            }
        }
    }
}
