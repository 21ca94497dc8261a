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
    ] {
        let i: Init = text.parse().unwrap();
        assert_eq!(i.to_string().parse::<Init>().unwrap(), i);
    }
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
}
