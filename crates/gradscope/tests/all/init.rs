//! Initializers: sample statistics against their formulas, text forms, orthogonality.

use gradscope::init::Init;
use gradscope::Rng;

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let max = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    (mean, var.sqrt(), max)
}

#[test]
fn sample_std_matches_the_formula() {
    let (fo, fi) = (200, 300);
    let cases: Vec<(&str, f64)> = vec![
        ("normal(std=0.2)", 0.2),
        ("uniform(a=0.3)", 0.3 / 3f64.sqrt()),
        ("standard", (1.0 / (fi as f64).sqrt()) / 3f64.sqrt()),
        ("lecun_normal", 1.0 / (fi as f64).sqrt()),
        ("variance(1.76)", (1.76 / fi as f64).sqrt()),
        ("variance(sigma_w2=4)", 2.0 / (fi as f64).sqrt()),
        ("lecun_uniform", 1.0 / (fi as f64).sqrt()),
        ("xavier_normal", (2.0 / (fi + fo) as f64).sqrt()),
        (
            "xavier_uniform(gain=2)",
            2.0 * (2.0 / (fi + fo) as f64).sqrt(),
        ),
        ("kaiming_normal", 2f64.sqrt() / (fi as f64).sqrt()),
        (
            "kaiming_uniform(mode=fan_out)",
            2f64.sqrt() / (fo as f64).sqrt(),
        ),
        ("kaiming_normal(gain=1)", 1.0 / (fi as f64).sqrt()),
        ("orthogonal", 1.0 / (fi as f64).sqrt()),
    ];
    for (text, want) in cases {
        let init: Init = text.parse().unwrap();
        assert!(
            (init.std(fi, fo, 2f64.sqrt()) - want).abs() < 1e-12 * want,
            "{text}"
        );
        let w = init.sample(fo, fi, 2f64.sqrt(), &mut Rng::seed(1));
        let (mean, std, max) = stats(&w);
        assert!(
            mean.abs() < 4.0 * want / (w.len() as f64).sqrt(),
            "{text}: mean {mean}"
        );
        assert!(
            (std - want).abs() < 0.02 * want,
            "{text}: std {std} vs {want}"
        );
        if text.contains("uniform") || text == "standard" {
            assert!(
                max <= want * 3f64.sqrt() * (1.0 + 1e-12),
                "{text}: |w| {max}"
            );
        }
    }
}

#[test]
fn constant_zeros_and_determinism() {
    assert!(Init::Zeros
        .sample(3, 4, 1.0, &mut Rng::seed(0))
        .iter()
        .all(|v| *v == 0.0));
    let c: Init = "constant(0.5)".parse().unwrap();
    assert!(c
        .sample(3, 4, 1.0, &mut Rng::seed(0))
        .iter()
        .all(|v| *v == 0.5));
    let x: Init = "xavier_normal".parse().unwrap();
    assert_eq!(
        x.sample(5, 7, 1.0, &mut Rng::seed(3)),
        x.sample(5, 7, 1.0, &mut Rng::seed(3))
    );
    assert_ne!(
        x.sample(5, 7, 1.0, &mut Rng::seed(3)),
        x.sample(5, 7, 1.0, &mut Rng::seed(4))
    );
}

#[test]
fn orthogonal_rows_or_columns_are_orthonormal() {
    for (rows, cols) in [(4, 9), (9, 4), (6, 6)] {
        let w = Init::Orthogonal { gain: 1.5 }.sample(rows, cols, 1.0, &mut Rng::seed(2));
        let at = |i: usize, j: usize| w[i * cols + j];
        // W Wᵀ = gain² I (rows ≤ cols) or Wᵀ W = gain² I (rows > cols).
        let (n, len) = if rows <= cols {
            (rows, cols)
        } else {
            (cols, rows)
        };
        for a in 0..n {
            for b in 0..n {
                let dot: f64 = (0..len)
                    .map(|k| {
                        if rows <= cols {
                            at(a, k) * at(b, k)
                        } else {
                            at(k, a) * at(k, b)
                        }
                    })
                    .sum();
                let want = if a == b { 2.25 } else { 0.0 };
                assert!((dot - want).abs() < 1e-12, "{rows}x{cols} ({a},{b}): {dot}");
            }
        }
    }
}

#[test]
fn text_forms_round_trip_and_errors_list_valid_names() {
    for text in [
        "zeros",
        "constant(value=0.5)",
        "normal(std=0.1, mean=0)",
        "kaiming_uniform(gain=0, mode=fan_out)",
        "orthogonal(gain=2)",
        "variance(sigma_w2=1.76)",
    ] {
        let i: Init = text.parse().unwrap();
        assert_eq!(i.to_string().parse::<Init>().unwrap(), i);
    }
    // A computed gain is written `auto`, and `auto` reads back as 0 (computed).
    let he: Init = "kaiming_normal".parse().unwrap();
    assert_eq!(he.to_string(), "kaiming_normal(gain=auto, mode=fan_in)");
    assert_eq!("kaiming_normal(gain=auto)".parse::<Init>().unwrap(), he);
    assert_eq!("kaiming_normal(gain=0)".parse::<Init>().unwrap(), he);
    assert_eq!(
        "he_normal".parse::<Init>().unwrap(),
        "kaiming_normal".parse().unwrap()
    );
    let e = "kaiming".parse::<Init>().unwrap_err().to_string();
    assert!(
        e.contains("unknown initializer") && e.contains("xavier_uniform"),
        "{e}"
    );
    let e = "kaiming_normal(mode=fan_middle)"
        .parse::<Init>()
        .unwrap_err()
        .to_string();
    assert!(e.contains("fan_in, fan_out"), "{e}");
    let e = "normal(std=-1)".parse::<Init>().unwrap_err().to_string();
    assert!(e.contains("std"), "{e}");
    // The mean-field weight variance: σ_w² ≥ 0, and variance(1) is LeCun's normal.
    let e = "variance(-0.5)".parse::<Init>().unwrap_err().to_string();
    assert!(e.contains("sigma_w2 = -0.5"), "{e}");
    assert_eq!(
        "variance(1)"
            .parse::<Init>()
            .unwrap()
            .sample(7, 9, 1.0, &mut Rng::seed(3)),
        Init::LecunNormal.sample(7, 9, 1.0, &mut Rng::seed(3))
    );
}

#[test]
fn identity_is_eye_times_gain_and_parses() {
    let w = Init::parse("identity(gain=0.5)")
        .unwrap()
        .sample(3, 4, 1.0, &mut Rng::seed(1));
    for r in 0..3 {
        for c in 0..4 {
            assert_eq!(w[r * 4 + c], if r == c { 0.5 } else { 0.0 });
        }
    }
    assert_eq!(
        Init::parse("identity").unwrap(),
        Init::Identity { gain: 1.0 }
    );
    // The entry standard deviation it reports matches the sample's.
    let w = Init::Identity { gain: 2.0 }.sample(5, 5, 1.0, &mut Rng::seed(1));
    let rms = (w.iter().map(|v| v * v).sum::<f64>() / 25.0).sqrt();
    assert!((Init::Identity { gain: 2.0 }.std(5, 5, 1.0) - rms).abs() < 1e-12);
}

#[test]
fn recurrent_inits_set_the_spectrum_of_w_hh() {
    use gradscope::recurrent::spectral::{largest_singular_value, spectral_radius};
    use gradscope::recurrent::{CellKind, RecurrentEncoder, RecurrentSpec};
    let h = 16;
    let block = |layer: &RecurrentEncoder<f64>, g: usize| -> Vec<f64> {
        layer.weights(0).weight_hh.value.data()[g * h * h..(g + 1) * h * h].to_vec()
    };
    // IRNN (Le et al. 2015): W_hh = I, biases zero.
    let mut spec = RecurrentSpec::new(CellKind::Rnn, h);
    spec.init_hh = Some(Init::Identity { gain: 1.0 });
    let l = RecurrentEncoder::<f64>::new(&spec, 3, "rnn.", &mut Rng::seed(2));
    let w = block(&l, 0);
    assert!((spectral_radius(&w, h) - 1.0).abs() < 1e-12);
    assert!(l.weights(0).bias_hh.value.data().iter().all(|&b| b == 0.0));
    // Orthogonal blocks, every gate block of an LSTM: all singular values 1.
    let mut spec = RecurrentSpec::new(CellKind::Lstm, h);
    spec.init_hh = Some(Init::Orthogonal { gain: 1.0 });
    let l = RecurrentEncoder::<f64>::new(&spec, 3, "rnn.", &mut Rng::seed(3));
    for g in 0..4 {
        let w = block(&l, g);
        assert!(
            (largest_singular_value(&w, h, h) - 1.0).abs() < 1e-10,
            "gate {g}"
        );
        assert!((spectral_radius(&w, h) - 1.0).abs() < 1e-10, "gate {g}");
    }
    // Scaled to a target spectral radius, from PyTorch's default uniform init too.
    for (cell, rho) in [(CellKind::Rnn, 1.5), (CellKind::Gru, 0.9)] {
        let mut spec = RecurrentSpec::new(cell, h);
        spec.spectral_radius = Some(rho);
        let l = RecurrentEncoder::<f64>::new(&spec, 3, "rnn.", &mut Rng::seed(4));
        for g in 0..cell.gates() {
            let r = spectral_radius(&block(&l, g), h);
            assert!((r - rho).abs() < 1e-9, "{cell:?} gate {g}: {r}");
        }
    }
    // Forget bias lands in the f block of bias_ih only.
    let mut spec = RecurrentSpec::new(CellKind::Lstm, h);
    spec.init_hh = Some(Init::Orthogonal { gain: 1.0 });
    spec.forget_bias = Some(1.0);
    let l = RecurrentEncoder::<f64>::new(&spec, 3, "rnn.", &mut Rng::seed(5));
    let b = l.weights(0).bias_ih.value.data();
    assert!(b[..h].iter().all(|&v| v == 0.0));
    assert!(b[h..2 * h].iter().all(|&v| v == 1.0));
    assert!(b[2 * h..].iter().all(|&v| v == 0.0));
}

#[test]
fn spectral_helpers_match_closed_forms() {
    use gradscope::recurrent::spectral::{
        largest_singular_value, pascanu_threshold, spectral_radius,
    };
    // Upper triangular: eigenvalues on the diagonal; singular values differ.
    let w = [0.5, 3.0, 0.0, -0.8];
    assert!((spectral_radius(&w, 2) - 0.8).abs() < 1e-12);
    // σ_max of [[a, b], [0, d]] from the 2x2 formula.
    let (a, b, d): (f64, f64, f64) = (0.5, 3.0, -0.8);
    let s = a * a + b * b + d * d;
    let det = (a * d).abs();
    let smax = ((s + (s * s - 4.0 * det * det).sqrt()) / 2.0).sqrt();
    assert!((largest_singular_value(&w, 2, 2) - smax).abs() < 1e-12);
    // A rotation by 90° scaled by 0.7: complex eigenvalues ±0.7i.
    let r = [0.0, -0.7, 0.7, 0.0];
    assert!((spectral_radius(&r, 2) - 0.7).abs() < 1e-12);
    assert_eq!(pascanu_threshold(1.0), 1.0);
    assert_eq!(pascanu_threshold(0.25), 4.0);
}

/// nalgebra's unbounded eigenvalue iteration never returned on I + ε·abᵀ (the identity after
/// one optimizer step); the bounded version with Gelfand's fallback does.
#[test]
fn spectral_radius_returns_on_a_perturbed_identity() {
    use gradscope::recurrent::spectral::{largest_singular_value, spectral_radius};
    let n = 32;
    let mut w = vec![0.0; n * n];
    for r in 0..n {
        for c in 0..n {
            let sign = |i: usize| if (i * 7 + 3) % 5 < 2 { -1.0 } else { 1.0 };
            w[r * n + c] = 1e-3 * sign(r) * sign(c) + if r == c { 1.0 } else { 0.0 };
        }
    }
    // Eigenvalues: 1 (n − 1 times) and 1 + ε·bᵀa = 1 + 1e-3·n.
    let rho = spectral_radius(&w, n);
    assert!((rho - (1.0 + 1e-3 * n as f64)).abs() < 1e-3, "{rho}");
    assert!(largest_singular_value(&w, n, n) >= rho - 1e-9);
}
