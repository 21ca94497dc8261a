//! Gauss–Legendre rules and Gaussian expectations.

use gradscope::quadrature::{gauss_legendre, gaussian_expectation, integrate, normal_pdf};

/// ∫₋₁¹ x^d dx.
fn monomial_integral(d: u32) -> f64 {
    if d % 2 == 1 {
        0.0
    } else {
        2.0 / (d as f64 + 1.0)
    }
}

fn apply_rule(nodes: &[f64], weights: &[f64], g: impl Fn(f64) -> f64) -> f64 {
    nodes.iter().zip(weights).map(|(x, w)| w * g(*x)).sum()
}

#[test]
fn gauss_legendre_is_exact_up_to_degree_2n_minus_1() {
    for n in 1..=24usize {
        let (nodes, weights) = gauss_legendre(n);
        assert_eq!(nodes.len(), n);
        assert_eq!(weights.len(), n);
        for d in 0..(2 * n as u32) {
            let q = apply_rule(&nodes, &weights, |x| x.powi(d as i32));
            let exact = monomial_integral(d);
            assert!(
                (q - exact).abs() < 1e-13,
                "n = {n}, degree {d}: {q} vs {exact}"
            );
        }
        // Degree 2n is no longer exact: the rule is exactly that good, not better (the
        // error, ~π/4ⁿ, drowns in rounding beyond n ≈ 12).
        if n > 12 {
            continue;
        }
        let d = 2 * n as u32;
        let q = apply_rule(&nodes, &weights, |x| x.powi(d as i32));
        assert!(
            (q - monomial_integral(d)).abs() > 1e-8,
            "n = {n} integrates degree {d} exactly?"
        );
    }
}

#[test]
fn gauss_legendre_nodes_and_weights_are_well_formed() {
    // Known 2- and 3-point rules.
    let (x, w) = gauss_legendre(2);
    let mut xs = x.clone();
    xs.sort_by(f64::total_cmp);
    let r = 1.0 / 3f64.sqrt();
    assert!(
        (xs[0] + r).abs() < 1e-15 && (xs[1] - r).abs() < 1e-15,
        "{x:?}"
    );
    assert!(w.iter().all(|w| (w - 1.0).abs() < 1e-14), "{w:?}");
    let (x, w) = gauss_legendre(3);
    let mut pairs: Vec<(f64, f64)> = x.into_iter().zip(w).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let r = (0.6f64).sqrt();
    for ((xi, wi), (ex, ew)) in
        pairs
            .iter()
            .zip([(-r, 5.0 / 9.0), (0.0, 8.0 / 9.0), (r, 5.0 / 9.0)])
    {
        assert!(
            (xi - ex).abs() < 1e-15 && (wi - ew).abs() < 1e-14,
            "{pairs:?}"
        );
    }
    for n in [1usize, 5, 10, 20, 32] {
        let (x, w) = gauss_legendre(n);
        assert!(x.iter().all(|v| v.abs() < 1.0), "n = {n}: {x:?}");
        assert!(w.iter().all(|v| *v > 0.0), "n = {n}: {w:?}");
        assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-13);
        // Distinct nodes, symmetric about 0.
        let mut s = x.clone();
        s.sort_by(f64::total_cmp);
        for pair in s.windows(2) {
            assert!(pair[1] - pair[0] > 1e-6, "n = {n}: repeated node {pair:?}");
        }
        for (a, b) in s.iter().zip(s.iter().rev()) {
            assert!((a + b).abs() < 1e-14);
        }
    }
}

#[test]
fn integrate_handles_breakpoints_and_intervals() {
    // ∫₀^π sin = 2; ∫₋₁² |x| dx = 5/2 exactly when 0 is a breakpoint.
    let v = integrate(f64::sin, 0.0, std::f64::consts::PI, &[]);
    assert!((v - 2.0).abs() < 1e-13, "{v}");
    let v = integrate(f64::abs, -1.0, 2.0, &[0.0]);
    assert!((v - 2.5).abs() < 1e-14, "{v}");
    // A step at a breakpoint inside a panel: exact once named, and out-of-range breakpoints
    // are ignored.
    let step = |x: f64| if x > 0.3 { 1.0 } else { 0.0 };
    let v = integrate(step, 0.0, 1.0, &[0.3, -5.0, 7.0, f64::NAN]);
    assert!((v - 0.7).abs() < 1e-14, "{v}");
}

#[test]
fn normal_pdf_values() {
    assert!((normal_pdf(0.0) - 0.398_942_280_401_432_7).abs() < 1e-16);
    assert!((normal_pdf(1.0) - 0.241_970_724_519_143_37).abs() < 1e-16);
    assert_eq!(normal_pdf(2.0), normal_pdf(-2.0));
}

#[test]
fn gaussian_moments() {
    let e = |g: &dyn Fn(f64) -> f64, bp: &[f64]| gaussian_expectation(g, bp);
    assert!((e(&|_| 1.0, &[]) - 1.0).abs() < 1e-13);
    assert!(e(&|z| z, &[]).abs() < 1e-14);
    assert!((e(&|z| z * z, &[]) - 1.0).abs() < 1e-13);
    assert!((e(&|z| z.powi(4), &[]) - 3.0).abs() < 1e-12);
    assert!((e(&|z| z.powi(6), &[]) - 15.0).abs() < 1e-11);
    let abs = e(&f64::abs, &[0.0]);
    assert!(
        (abs - (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-13,
        "E|z| = {abs}"
    );
    let relu2 = e(&|z: f64| z.max(0.0).powi(2), &[0.0]);
    assert!((relu2 - 0.5).abs() < 1e-13, "E[relu²] = {relu2}");
    // Moment generating function: E[e^{tz}] = e^{t²/2}.
    let mgf = e(&|z: f64| (1.5 * z).exp(), &[]);
    assert!((mgf - (1.125f64).exp()).abs() < 1e-12, "{mgf}");
    // A step off the panel grid: P(z > 0.3) = Φ(−0.3) when 0.3 is named.
    let tail = e(&|z| if z > 0.3 { 1.0 } else { 0.0 }, &[0.3]);
    assert!((tail - 0.382_088_577_811_047_1).abs() < 1e-13, "{tail}");
}
