//! `theory`: mean-field signal propagation against closed forms, published values, plain
//! Monte Carlo, fine trapezoid rules and a wide random network.

use gradscope::activation::properties;
use gradscope::kernels::gemm::gemm;
use gradscope::quadrature::{integrate, normal_pdf};
use gradscope::theory::{
    self, critical_curve, critical_sigma_w2, fixed_point, length_map, mean_field,
    mean_sq_derivative, mean_sq_output, q_trajectory, transition, FixedPointKind, Phase,
};
use gradscope::{Activation, Rng, Tensor};

fn act(text: &str) -> Activation {
    text.parse().unwrap()
}

/// `n` standard normal samples from a seeded generator.
fn normals(seed: u64, n: usize) -> Vec<f64> {
    let mut rng = Rng::seed(seed);
    (0..n).map(|_| rng.normal()).collect()
}

/// Plain Monte Carlo mean of g(√q z) over the samples `z`.
fn mc_mean(z: &[f64], q: f64, g: impl Fn(f64) -> f64) -> f64 {
    let s = q.sqrt();
    z.iter().map(|&z| g(s * z)).sum::<f64>() / z.len() as f64
}

/// q* by iterating the length map with Monte Carlo expectations (independent of the
/// library's quadrature and root finding).
fn mc_fixed_point(a: &Activation, sigma_w2: f64, sigma_b2: f64, z: &[f64]) -> f64 {
    let mut q = 1.0;
    for _ in 0..100 {
        let next = sigma_w2 * mc_mean(z, q, |x| a.f(x).powi(2)) + sigma_b2;
        let done = (next - q).abs() < 1e-7 * q;
        q = next;
        if done {
            break;
        }
    }
    q
}

#[test]
fn relu_with_he_variance_is_exactly_critical() {
    let relu = Activation::Relu;
    let m = mean_field(&relu, 2.0, 0.0).unwrap();
    assert!((m.chi1 - 1.0).abs() <= 1e-12, "{m:?}");
    assert_eq!(m.phase, Phase::Critical);
    assert_eq!(m.gradient_scale, f64::INFINITY);
    assert!((m.grad_ratio_per_layer - 1.0).abs() <= 1e-12);
    assert!((m.gradient_ratio(100) - 1.0).abs() <= 1e-10);
    // Every q is a fixed point of q ↦ 2·q/2: the iteration stays at the first layer's
    // q¹ = σ_w²·q⁰ = 2 (standardized inputs, q⁰ = 1), or σ_w²·q⁰ for any other input.
    assert!((m.q_star - 2.0).abs() <= 1e-12, "{m:?}");
    let m = theory::mean_field_from(&relu, 2.0, 0.0, 0.3).unwrap();
    assert!((m.q_star - 0.6).abs() <= 1e-12, "{m:?}");
    // With a bias q grows by σ_b² per layer forever, but E[relu'²] = 1/2 for every q.
    let m = mean_field(&relu, 2.0, 0.05).unwrap();
    assert_eq!(m.fixed_point.kind, FixedPointKind::Divergent);
    assert_eq!(m.q_star, f64::INFINITY);
    assert!((m.chi1 - 1.0).abs() <= 1e-12, "{m:?}");
    // The critical σ_w² of ReLU is 2 (He) whatever σ_b².
    for sb in [0.0, 0.05, 0.3, 1.0] {
        let c = critical_sigma_w2(&relu, sb, 1.0).unwrap().unwrap();
        assert!((c - 2.0).abs() <= 1e-9, "σ_b² = {sb}: {c}");
    }
}

#[test]
fn leaky_relu_family_is_critical_at_2_over_1_plus_slope_squared() {
    for slope in [0.01, 0.2, 0.5] {
        let a = Activation::LeakyRelu { slope };
        let expected = 2.0 / (1.0 + slope * slope);
        for sb in [0.0, 0.3] {
            let c = critical_sigma_w2(&a, sb, 1.0).unwrap().unwrap();
            assert!((c / expected - 1.0).abs() <= 1e-9, "{a} σ_b² = {sb}: {c}");
        }
        let m = mean_field(&a, 1.3, 0.1).unwrap();
        assert!((m.chi1 - 1.3 * (1.0 + slope * slope) / 2.0).abs() <= 1e-12);
    }
}

#[test]
fn identity_has_chi1_equal_to_sigma_w2() {
    let id = Activation::Identity;
    for sw in [0.0, 0.3, 0.9, 1.0, 1.7, 4.0] {
        for sb in [0.0, 0.2] {
            let m = mean_field(&id, sw, sb).unwrap();
            assert!(
                (m.chi1 - sw).abs() <= 1e-12,
                "σ_w² = {sw}, σ_b² = {sb}: {m:?}"
            );
            let fp = m.fixed_point;
            if sw < 1.0 && sb > 0.0 {
                // q = σ_w² q + σ_b².
                let exact = sb / (1.0 - sw);
                assert_eq!(fp.kind, FixedPointKind::Finite);
                assert!(
                    (fp.q_star / exact - 1.0).abs() <= 1e-12,
                    "{fp:?} vs {exact}"
                );
            } else if sw < 1.0 {
                assert_eq!(fp.kind, FixedPointKind::Zero, "{sw}: {fp:?}");
            } else if sw > 1.0 || sb > 0.0 {
                assert_eq!(fp.kind, FixedPointKind::Divergent, "{sw}, {sb}: {fp:?}");
            } else {
                assert_eq!(fp.q_star, 1.0);
            }
        }
    }
}

#[test]
fn tanh_without_bias_is_critical_at_sigma_w2_1_with_q_star_0() {
    let tanh = Activation::Tanh;
    let c = critical_sigma_w2(&tanh, 0.0, 1.0).unwrap().unwrap();
    assert!((c - 1.0).abs() <= 1e-6, "{c}");
    // At σ_w² = 1 q decays only like 1/(2l): the scan must still report q* = 0 and stop.
    let m = mean_field(&tanh, 1.0, 0.0).unwrap();
    assert_eq!(m.fixed_point.kind, FixedPointKind::Zero, "{m:?}");
    assert_eq!(m.q_star, 0.0);
    assert_eq!(m.chi1, 1.0, "χ₁ = σ_w² tanh'(0)² = 1");
    assert_eq!(m.phase, Phase::Critical);
    // Ordered below: q* = 0 and χ₁ = σ_w².
    for sw in [0.2, 0.5, 0.9, 0.99] {
        let m = mean_field(&tanh, sw, 0.0).unwrap();
        assert_eq!(m.fixed_point.kind, FixedPointKind::Zero);
        assert!((m.chi1 - sw).abs() <= 1e-15);
        assert_eq!(m.phase, Phase::Ordered);
        assert!((m.gradient_scale + 1.0 / sw.ln()).abs() <= 1e-12 * m.gradient_scale);
    }
    // Just above, q* ≈ (σ_w² − 1)/2 > 0 and χ₁ − 1 ≈ (4/3) q*² > 0 (chaotic, barely).
    let m = mean_field(&tanh, 1.02, 0.0).unwrap();
    assert_eq!(m.fixed_point.kind, FixedPointKind::Finite);
    assert!((m.q_star - 0.01).abs() < 2e-3, "{m:?}");
    assert!(m.chi1 > 1.0 && m.chi1 - 1.0 < 1e-3, "{m:?}");
}

#[test]
fn tanh_critical_line_matches_published_value_and_monte_carlo() {
    // Poole et al. 2016 / Schoenholz et al. 2017: at σ_b² = 0.05 the order-to-chaos
    // transition of tanh is at σ_w² ≈ 1.76.
    let tanh = Activation::Tanh;
    let c = critical_sigma_w2(&tanh, 0.05, 1.0).unwrap().unwrap();
    assert!((c - 1.76).abs() < 0.01, "{c}");
    let m = mean_field(&tanh, c, 0.05).unwrap();
    assert!((m.chi1 - 1.0).abs() <= 1e-9, "{m:?}");
    // Independent check: q* by Monte Carlo iteration of the map, then χ₁ by Monte Carlo.
    let z = normals(7, 1_000_000);
    let q_mc = mc_fixed_point(&tanh, c, 0.05, &z);
    assert!(
        (q_mc / m.q_star - 1.0).abs() < 1e-2,
        "{q_mc} vs {}",
        m.q_star
    );
    let chi1_mc = c * mc_mean(&z, q_mc, |x| tanh.df(x).powi(2));
    assert!((chi1_mc - 1.0).abs() < 1e-2, "Monte Carlo χ₁ = {chi1_mc}");
    // The curve rises with σ_b² and every point is a genuine critical point.
    let sbs = [0.0, 0.05, 0.1, 0.3, 0.6, 1.0];
    let curve = critical_curve(&tanh, &sbs, 1.0).unwrap();
    let mut last = 0.0;
    for p in &curve {
        let t = p.transition.unwrap();
        assert!(t.continuous, "{t:?}");
        assert!(t.sigma_w2 > last, "{curve:?}");
        last = t.sigma_w2;
    }
    let c3 = curve[3].transition.unwrap().sigma_w2;
    assert!((c3 - 2.505).abs() < 1e-3, "tanh at σ_b² = 0.3: {c3}");
}

#[test]
fn q_star_matches_monte_carlo_iteration_of_the_map() {
    let z = normals(11, 1_000_000);
    let cases = [
        ("tanh", 1.5, 0.05),
        ("tanh", 4.0, 0.3),
        ("relu", 1.5, 0.3),
        ("sigmoid", 4.0, 0.5),
        ("elu", 1.5, 0.1),
        ("selu", 1.0, 0.0),
        ("gelu", 1.5, 0.2),
        ("hard_tanh", 2.0, 0.1),
        ("softsign", 3.0, 0.1),
    ];
    for (name, sw, sb) in cases {
        let a = act(name);
        let fp = fixed_point(&a, sw, sb).unwrap();
        assert_eq!(fp.kind, FixedPointKind::Finite, "{name}: {fp:?}");
        let q_mc = mc_fixed_point(&a, sw, sb, &z);
        eprintln!(
            "{name} ({sw}, {sb}): q* {} vs Monte Carlo {q_mc}",
            fp.q_star
        );
        assert!(
            (q_mc / fp.q_star - 1.0).abs() < 1e-2,
            "{name} ({sw}, {sb}): quadrature {} vs Monte Carlo {q_mc}",
            fp.q_star
        );
        let chi1_mc = sw * mc_mean(&z, q_mc, |x| a.df(x).powi(2));
        let m = mean_field(&a, sw, sb).unwrap();
        assert!(
            (chi1_mc / m.chi1 - 1.0).abs() < 1e-2,
            "{name}: χ₁ {} vs Monte Carlo {chi1_mc}",
            m.chi1
        );
    }
    // ReLU in closed form: q* = σ_b² / (1 − σ_w²/2).
    let fp = fixed_point(&Activation::Relu, 1.5, 0.3).unwrap();
    assert!((fp.q_star - 1.2).abs() <= 1e-12, "{fp:?}");
}

#[test]
fn fixed_point_is_the_limit_of_the_iterated_map_for_any_input_scale() {
    // Against up to 3000 layers of the plain iteration from q¹ = σ_w² q⁰ + σ_b²: equal where it
    // has settled, else on the side it is heading to.
    let acts: Vec<Activation> = Activation::catalogue()
        .into_iter()
        .filter(|a| !a.is_rowwise())
        .collect();
    for a in &acts {
        for (sw, sb) in [(0.7, 0.1), (1.5, 0.05), (2.05, 0.3), (3.0, 0.5)] {
            for q0 in [0.0, 0.3, 1.0, 4.0] {
                let fp = theory::fixed_point_from(a, sw, sb, q0).unwrap();
                assert_eq!(fp.q0, q0);
                let it = iterate_from_input(a, sw, sb, q0, 3000);
                assert!(
                    agrees(&fp, &it),
                    "{a} ({sw}, {sb}, q⁰ = {q0}): {fp:?} vs {it:?}"
                );
            }
        }
    }
}

#[test]
fn zero_and_divergent_fixed_points_are_reported_not_looped_on() {
    let start = std::time::Instant::now();
    let relu = Activation::Relu;
    for sw in [2.01, 3.0, 100.0] {
        let m = mean_field(&relu, sw, 0.0).unwrap();
        assert_eq!(m.fixed_point.kind, FixedPointKind::Divergent, "{sw}");
        assert!((m.chi1 - sw / 2.0).abs() <= 1e-12, "{m:?}");
        assert_eq!(m.phase, Phase::Chaotic);
    }
    for sw in [0.1, 1.0, 1.99] {
        let m = mean_field(&relu, sw, 0.0).unwrap();
        assert_eq!(m.fixed_point.kind, FixedPointKind::Zero, "{sw}");
        // The q → 0⁺ limit: E[relu'(√q z)²] = 1/2, not PyTorch's relu'(0)² = 0.
        assert!((m.chi1 - sw / 2.0).abs() <= 1e-15, "{m:?}");
    }
    for sw in [0.3, 0.999] {
        let m = mean_field(&Activation::Tanh, sw, 0.0).unwrap();
        assert_eq!(m.fixed_point.kind, FixedPointKind::Zero, "{sw}");
    }
    // Bounded activations never diverge, even at the largest variances.
    let m = mean_field(&Activation::Tanh, 1e6, 1e6).unwrap();
    assert_eq!(m.fixed_point.kind, FixedPointKind::Finite);
    assert!(start.elapsed().as_secs_f64() < 10.0);
}

#[test]
fn phases_and_gradient_scale() {
    let tanh = Activation::Tanh;
    let ordered = mean_field(&tanh, 1.5, 0.05).unwrap();
    assert_eq!(ordered.phase, Phase::Ordered);
    assert!(ordered.chi1 < 1.0);
    assert!((ordered.gradient_scale + 1.0 / ordered.chi1.ln()).abs() < 1e-12);
    assert_eq!(ordered.depth_scale, ordered.gradient_scale);
    let chaotic = mean_field(&tanh, 4.0, 0.05).unwrap();
    assert_eq!(chaotic.phase, Phase::Chaotic);
    assert!(chaotic.chi1 > 1.0);
    let g = chaotic.gradient_scale;
    assert!((g - 1.0 / chaotic.chi1.ln()).abs() < 1e-12 && g > 0.0);
    assert_eq!(chaotic.depth_scale, -g, "the old signed value");
    assert_eq!(chaotic.gradient_norm_scale(), 2.0 * g);
    assert!((chaotic.gradient_ratio(10) - chaotic.chi1.powi(5)).abs() < 1e-12);
    // The serialized form names the gradient scale, not an ambiguous "depth scale".
    let v = serde_json::to_value(&chaotic).unwrap();
    assert!(
        v.get("depth_scale").is_none() && v.get("growth_scale").is_none(),
        "{v}"
    );
    assert_eq!(v["gradient_scale"].as_f64(), Some(g));
    assert!(v["correlation"]["depth_scale"].as_f64().unwrap() > 0.0);
    assert_eq!(Phase::of(1.0005, 1e-3), Phase::Critical);
    assert_eq!(Phase::of(1.0005, 1e-4), Phase::Chaotic);
    assert_eq!(Phase::of(0.99, 1e-3), Phase::Ordered);
    assert_eq!(theory::depth_scale(0.0), 0.0);
    assert_eq!(theory::depth_scale(1.0), f64::INFINITY);
    assert_eq!(theory::gradient_scale(2.0), 1.0 / 2f64.ln());
    assert_eq!(theory::gradient_scale(0.5), 1.0 / 2f64.ln());
    for p in [Phase::Ordered, Phase::Critical, Phase::Chaotic] {
        assert!(p.explanation().len() > 40);
    }
}

/// ∫ g(√q z) φ(z) dz by the trapezoid rule with `n` intervals on [−12, 12] (no knowledge of
/// kinks: first-order accurate at a jump, second-order at a kink).
fn trapezoid(q: f64, n: usize, g: impl Fn(f64) -> f64) -> f64 {
    let (a, b) = (-12.0, 12.0);
    let h = (b - a) / n as f64;
    let s = q.sqrt();
    let mut sum = 0.0;
    for i in 0..=n {
        let z = a + i as f64 * h;
        let w = if i == 0 || i == n { 0.5 } else { 1.0 };
        sum += w * g(s * z) * normal_pdf(z);
    }
    sum * h
}

#[test]
fn kinks_scaled_by_sqrt_q_agree_with_a_fine_trapezoid_rule() {
    let acts = [
        act("relu"),
        act("leaky_relu(0.2)"),
        act("hard_tanh"),
        act("hard_tanh(min=-2, max=0.5)"),
        act("hard_sigmoid"),
        act("elu(0.5)"),
    ];
    let n = 2_400_000;
    let mut worst_unscaled: f64 = 0.0;
    for a in &acts {
        for q in [0.37, 2.7, 25.0] {
            let out = mean_sq_output(a, q);
            let der = mean_sq_derivative(a, q);
            let out_t = trapezoid(q, n, |x| a.f(x).powi(2));
            let der_t = trapezoid(q, n, |x| a.df(x).powi(2));
            // The trapezoid rule is first order at the jumps of f'² (h = 1e-5).
            assert!(
                (out - out_t).abs() < 1e-8,
                "{a} q = {q}: E[f²] {out} vs {out_t}"
            );
            assert!(
                (der - der_t).abs() < 2e-5,
                "{a} q = {q}: E[f'²] {der} vs {der_t}"
            );
            // Splitting at the unscaled kinks leaves the jumps of f'² inside panels.
            let s = q.sqrt();
            let unscaled = integrate(
                |z| a.df(s * z).powi(2) * normal_pdf(z),
                -12.0,
                12.0,
                &a.kinks(),
            );
            worst_unscaled = worst_unscaled.max((unscaled - der_t).abs());
        }
    }
    assert!(
        worst_unscaled > 1e-3,
        "unscaled kinks should be visibly wrong: {worst_unscaled}"
    );
}

#[test]
fn expectations_at_q_1_match_the_activation_properties() {
    for a in Activation::catalogue().iter().filter(|a| !a.is_rowwise()) {
        let p = properties(a);
        let d = mean_sq_derivative(a, 1.0);
        let o = mean_sq_output(a, 1.0);
        assert!(
            (d - p.mean_sq_derivative).abs() <= 1e-13,
            "{a}: {d} vs {p:?}"
        );
        assert!((o - p.mean_sq_output).abs() <= 1e-13, "{a}: {o} vs {p:?}");
    }
    // q = 0 is the q → 0⁺ limit.
    assert_eq!(mean_sq_derivative(&Activation::Relu, 0.0), 0.5);
    assert_eq!(mean_sq_derivative(&act("leaky_relu(0.2)"), 0.0), 0.52);
    assert_eq!(mean_sq_output(&Activation::Sigmoid, 0.0), 0.25);
    assert!((mean_sq_derivative(&Activation::Relu, 1e-30) - 0.5).abs() < 1e-15);
}

#[test]
fn smooth_activations_stay_accurate_at_large_q() {
    // tanh(√q z)² → sign² and tanh'² → 0 within ~1/√q of 0: E[tanh'(√q z)²] ≈ (4/3)φ(0)/√q
    // (∫ sech⁴ = 4/3), which the 1/√q ladder of breakpoints resolves.
    for q in [1e4, 1e8, 1e12] {
        let d = mean_sq_derivative(&Activation::Tanh, q);
        let approx = 4.0 / 3.0 * normal_pdf(0.0) / q.sqrt();
        assert!((d / approx - 1.0).abs() < 1e-3, "q = {q}: {d} vs {approx}");
        let o = mean_sq_output(&Activation::Tanh, q);
        assert!(
            (1.0 - o) > 0.0 && (1.0 - o) < 10.0 / q.sqrt(),
            "q = {q}: {o}"
        );
    }
}

#[test]
fn discontinuous_transition_of_gelu_is_reported_as_a_jump() {
    // GELU with small σ_b²: q = 0 attracts (χ₁ = σ_w²/4 there) until the first layer's
    // variance q¹ = σ_w² q⁰ + σ_b² passes the unstable fixed point and q escapes to ∞
    // (χ₁ = σ_w²/2): χ₁ jumps across 1. q¹ is that fixed point when F(q¹) = q¹, i.e.
    // σ_w² E[gelu(√q¹ z)²] = σ_w² q⁰: the jump is at q¹ = Q with E[gelu(√Q z)²] = q⁰.
    let gelu = Activation::Gelu;
    for (sb, q0) in [(0.0, 1.0), (0.05, 1.0), (0.0, 2.0)] {
        let (mut lo, mut hi) = (0.1, 100.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mean_sq_output(&gelu, mid) < q0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let expected = (lo - sb) / q0;
        let t = transition(&gelu, sb, q0).unwrap().unwrap();
        assert!(!t.continuous, "{t:?}");
        assert!(
            (t.sigma_w2 / expected - 1.0).abs() < 1e-9,
            "σ_b² = {sb}, q⁰ = {q0}: {t:?} vs {expected}"
        );
        assert!(t.chi1_below < 0.7 && t.chi1_above > 1.0, "{t:?}");
        assert!((t.chi1_above - t.sigma_w2 / 2.0).abs() < 1e-6, "{t:?}");
        if sb == 0.0 {
            assert!((t.chi1_below - t.sigma_w2 / 4.0).abs() < 1e-6, "{t:?}");
        }
        assert_eq!(critical_sigma_w2(&gelu, sb, q0).unwrap(), None);
    }
    // With enough bias the transition becomes a genuine critical point.
    let c = critical_sigma_w2(&gelu, 1.0, 1.0).unwrap().unwrap();
    assert!((mean_field(&gelu, c, 1.0).unwrap().chi1 - 1.0).abs() < 1e-6);
}

#[test]
fn row_wise_activations_and_bad_variances_are_errors() {
    for a in [Activation::Softmax, Activation::LogSoftmax] {
        let e = mean_field(&a, 1.0, 0.0).unwrap_err().to_string();
        assert!(e.contains("row-wise") && e.contains(a.name()), "{e}");
        assert!(critical_sigma_w2(&a, 0.0, 1.0).is_err());
        assert!(fixed_point(&a, 1.0, 0.0).is_err());
    }
    let tanh = Activation::Tanh;
    for (sw, sb) in [
        (-1.0, 0.0),
        (1.0, -0.1),
        (f64::NAN, 0.0),
        (1.0, f64::INFINITY),
        (1e7, 0.0),
    ] {
        let e = mean_field(&tanh, sw, sb).unwrap_err().to_string();
        assert!(e.contains("sigma_"), "{e}");
    }
    assert!(critical_sigma_w2(&tanh, -1.0, 1.0).is_err());
    assert!(q_trajectory(&tanh, 1.0, 0.0, -1.0, 3).is_err());
}

#[test]
fn sigmoid_and_relu_critical_values() {
    let c = critical_sigma_w2(&Activation::Sigmoid, 0.0, 1.0)
        .unwrap()
        .unwrap();
    assert!((c - 103.0).abs() < 0.1, "{c}");
    let m = mean_field(&Activation::Sigmoid, 1.0, 0.0).unwrap();
    assert_eq!(m.phase, Phase::Ordered);
    // Standard (σ_w² = 1) sigmoid layers lose ~4x of the gradient norm per layer.
    assert!(m.grad_ratio_per_layer < 0.25, "{m:?}");
}

/// A wide random network h_{l+1} = W_{l+1} f(h_l) + b_{l+1}, l = 1..`layers` (h_1 = W_1 x + b_1
/// from inputs x of unit variance), W ~ N(0, σ_w²/width), b ~ N(0, σ_b²), weights, biases,
/// inputs and the upstream gradient drawn in that order from `Rng::seed(seed)`. Returns the
/// measured mean square of each layer's pre-activations and the squared norm of
/// δ_l = ∂L/∂h_l, δ_l = f'(h_l) ⊙ W_{l+1}ᵀ δ_{l+1}, from a random δ at the top layer (both
/// indexed l − 1).
fn wide_network(
    act: &Activation,
    (sigma_w2, sigma_b2): (f64, f64),
    (width, batch, layers): (usize, usize, usize),
    seed: u64,
) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Rng::seed(seed);
    let sw = (sigma_w2 / width as f64).sqrt();
    let sb = sigma_b2.sqrt();
    let weights: Vec<Tensor<f64>> = (0..layers)
        .map(|_| {
            let data = (0..width * width).map(|_| sw * rng.normal()).collect();
            Tensor::from_vec(&[width, width], data).unwrap()
        })
        .collect();
    let biases: Vec<Vec<f64>> = (0..layers)
        .map(|_| (0..width).map(|_| sb * rng.normal()).collect())
        .collect();
    let mut a = Tensor::from_vec(
        &[batch, width],
        (0..batch * width).map(|_| rng.normal()).collect(),
    )
    .unwrap();
    let mut pre: Vec<Tensor<f64>> = Vec::new();
    for (w, b) in weights.iter().zip(&biases) {
        let mut h = Tensor::zeros(&[batch, width]);
        gemm(1.0, a.mat(), w.mat().t(), 0.0, h.mat_mut());
        for r in 0..batch {
            for (v, bj) in h.row_mut(r).iter_mut().zip(b) {
                *v += bj;
            }
        }
        a = h.clone();
        for v in a.data_mut() {
            *v = act.f(*v);
        }
        pre.push(h);
    }
    let sq = |t: &Tensor<f64>| t.data().iter().map(|v| v * v).sum::<f64>();
    let q: Vec<f64> = pre.iter().map(|h| sq(h) / (batch * width) as f64).collect();
    let mut delta = Tensor::from_vec(
        &[batch, width],
        (0..batch * width).map(|_| rng.normal()).collect(),
    )
    .unwrap();
    let mut norms = vec![0.0; layers];
    norms[layers - 1] = sq(&delta);
    for l in (0..layers - 1).rev() {
        let mut g = Tensor::zeros(&[batch, width]);
        gemm(1.0, delta.mat(), weights[l + 1].mat(), 0.0, g.mat_mut());
        for (gv, hv) in g.data_mut().iter_mut().zip(pre[l].data()) {
            *gv *= act.df(*hv);
        }
        delta = g;
        norms[l] = sq(&delta);
    }
    (q, norms)
}

/// Wide random networks (width 1000, batch 8, seed 2017): after 10 layers the pre-activations
/// have the variance q* and the measured per-layer factor of E‖∂L/∂h‖² over the next 10 layers
/// matches χ₁ within 10% (docs/theory.md quotes the printed numbers:
/// `cargo test -p gradscope --test all theory::wide -- --nocapture`).
#[test]
fn wide_random_network_gradients_decay_by_chi1_per_layer() {
    let (width, batch, burn_in, depth) = (1000usize, 8usize, 10usize, 11usize);
    let tanh_crit = critical_sigma_w2(&Activation::Tanh, 0.05, 1.0)
        .unwrap()
        .unwrap();
    for (name, sigma_w2, sigma_b2) in [
        ("tanh", 1.5, 0.05),
        ("tanh", tanh_crit, 0.05),
        ("tanh", 4.0, 0.05),
        ("relu", 2.0, 0.0),
        ("sigmoid", 4.0, 0.5),
        ("sigmoid", 1.0, 0.0),
    ] {
        let a = act(name);
        let predicted = mean_field(&a, sigma_w2, sigma_b2).unwrap();
        let layers = burn_in + depth;
        let (q, norms) = wide_network(&a, (sigma_w2, sigma_b2), (width, batch, layers), 2017);
        let q_measured = q[burn_in];
        // The gradient from the top layer down to layer burn_in + 1.
        let norms = &norms[burn_in..];
        let steps = norms.len() - 1;
        let measured = (norms[0] / norms[steps]).powf(1.0 / steps as f64);
        eprintln!(
            "{name} σ_w² = {sigma_w2:.4}, σ_b² = {sigma_b2}: q* = {:.4} (measured {q_measured:.4}), \
             χ₁ predicted {:.4}, measured {measured:.4} ({:+.1}%) over {steps} layers",
            predicted.q_star,
            predicted.chi1,
            100.0 * (measured / predicted.chi1 - 1.0)
        );
        // ReLU at σ_w² = 2 has every q as a fixed point: finite-width noise random-walks q, so
        // only χ₁ (independent of q) is compared there.
        if name != "relu" {
            assert!(
                (q_measured / predicted.q_star - 1.0).abs() < 0.1,
                "{name} {sigma_w2}: q = {q_measured} vs q* = {}",
                predicted.q_star
            );
        }
        assert!(
            (measured / predicted.chi1 - 1.0).abs() < 0.1,
            "{name} {sigma_w2}: measured {measured} vs χ₁ = {}",
            predicted.chi1
        );
    }
}

/// The researcher's report: a deep GELU network at its Kaiming variance σ_w² = 2.35 (σ_b² = 0)
/// explodes. The theory must say chaotic (the variance of standardized inputs, q¹ = 2.35, lies
/// above GELU's unstable fixed point, so q grows without bound and χ₁ → σ_w²/2), not ordered
/// with q* = 0 and χ₁ = σ_w²/4 (what starting the iteration at q = 1 gave).
#[test]
fn gelu_at_its_kaiming_variance_is_chaotic_and_a_wide_network_agrees() {
    let gelu = Activation::Gelu;
    let m = mean_field(&gelu, 2.35, 0.0).unwrap();
    assert_eq!(m.fixed_point.kind, FixedPointKind::Divergent, "{m:?}");
    assert!((m.chi1 - 2.35 / 2.0).abs() < 1e-12, "{m:?}");
    assert_eq!(m.phase, Phase::Chaotic);
    assert_eq!(m.q1, 2.35);
    // The unstable fixed point q_u lies between 1 and 2.35 (F(1) < 1, F(2.35) > 2.35): inputs
    // of smaller mean square, q¹ = 2.35·q⁰ < q_u, fall to q* = 0 instead.
    assert!(length_map(&gelu, 2.35, 0.0, 1.0) < 1.0);
    assert!(length_map(&gelu, 2.35, 0.0, 2.35) > 2.35);
    let small = theory::mean_field_from(&gelu, 2.35, 0.0, 0.4).unwrap();
    assert_eq!(small.fixed_point.kind, FixedPointKind::Zero, "{small:?}");
    assert!((small.chi1 - 2.35 / 4.0).abs() < 1e-12);
    // Layer by layer from the input: first/last gradient ratio over 30 layers (29 steps).
    let (layers, width, batch) = (30usize, 1000usize, 8usize);
    let p = theory::propagate(&gelu, 2.35, 0.0, 1.0, layers - 1).unwrap();
    assert_eq!(p.layers[0].q, 2.35);
    assert!(p.layers.windows(2).all(|w| w[1].q > w[0].q), "{p:?}");
    let product: f64 = p.layers.iter().map(|l| l.chi1.sqrt()).product();
    assert!((p.grad_ratio / product - 1.0).abs() < 1e-12);
    let (q, norms) = wide_network(&gelu, (2.35, 0.0), (width, batch, layers), 30);
    let measured = norms[0].sqrt() / norms[layers - 1].sqrt();
    eprintln!(
        "gelu σ_w² = 2.35 depth {layers}: ‖δ_1‖/‖δ_{layers}‖ predicted {:.3}, measured \
         {measured:.3}; q predicted {:.3?}, measured {q:.3?}",
        p.grad_ratio,
        p.layers.iter().map(|l| l.q).collect::<Vec<_>>()
    );
    assert!(p.grad_ratio > 10.0, "{p:?}");
    assert!(
        (measured / p.grad_ratio).ln().abs() < 0.4_f64.ln_1p(),
        "measured {measured} vs predicted {}",
        p.grad_ratio
    );
    // The variance grows as predicted (within a factor 1.5: the map expands deviations, so
    // finite-width fluctuations grow with depth).
    for (l, (qm, lp)) in q.iter().zip(&p.layers).enumerate() {
        assert!(
            (qm / lp.q).ln().abs() < 1.5f64.ln(),
            "layer {}: {qm} vs {}",
            l + 1,
            lp.q
        );
    }
}

/// What iterating the length map layer by layer from a standardized input does: the first
/// layer's pre-activations have variance q¹ = σ_w²·q⁰ + σ_b² (q⁰ = 1), each further layer
/// applies F. Independent of the library's fixed-point search (no bracketing, no scan).
#[derive(Debug)]
enum Iterated {
    /// Settled: a step below 1e−13 relative.
    Settled(f64),
    /// Went past 1e12.
    Diverged,
    /// Fell below 1e−30 (with F(0) = 0).
    Vanished,
    /// Still moving after the layer budget: the last q and whether it was growing.
    Moving { q: f64, growing: bool },
}

fn iterate_from_input(a: &Activation, sw: f64, sb: f64, q0: f64, layers: usize) -> Iterated {
    let mut q = sw * q0 + sb;
    let mut prev = q;
    for _ in 0..layers {
        if q > 1e12 {
            return Iterated::Diverged;
        }
        if q < 1e-30 {
            return Iterated::Vanished;
        }
        prev = q;
        q = length_map(a, sw, sb, q);
        if (q - prev).abs() <= 1e-13 * q {
            return Iterated::Settled(q);
        }
    }
    Iterated::Moving {
        q,
        growing: q > prev,
    }
}

/// Whether the library's fixed point is where the plain iteration settles, or lies on the side
/// it is still heading to.
fn agrees(fp: &theory::FixedPoint, it: &Iterated) -> bool {
    match *it {
        Iterated::Settled(q) => {
            fp.kind == FixedPointKind::Finite && (fp.q_star / q - 1.0).abs() <= 1e-9
        }
        Iterated::Diverged => fp.kind == FixedPointKind::Divergent,
        Iterated::Vanished => fp.kind == FixedPointKind::Zero,
        Iterated::Moving { q, growing: true } => fp.q_star >= q,
        Iterated::Moving { q, growing: false } => fp.q_star <= q,
    }
}

/// The researcher's report: at these points the search used to start at q = 1 as if the input
/// were a pre-activation, and for the bistable activations (GELU, Swish/SiLU, Mish) it then
/// landed on q* = 0 or a small finite q* where standardized inputs (q¹ = σ_w² + σ_b²) make
/// the variance diverge. This test fails on that code (14 of its 380 points, e.g. GELU at
/// σ_w² = 2.35, σ_b² = 0).
#[test]
fn fixed_point_matches_the_layer_by_layer_iteration_for_every_catalogue_activation() {
    let z = normals(2016, 200_000);
    let mut wrong = Vec::new();
    for spec in gradscope::activation::spec::SPECS {
        let a = spec.default;
        if a.is_rowwise() {
            continue;
        }
        for sw in [0.5, 1.0, 1.5, 2.0, 2.2, 2.35, 2.5, 2.7, 3.0, 4.0] {
            for sb in [0.0, 0.05] {
                let fp = fixed_point(&a, sw, sb).unwrap();
                let it = iterate_from_input(&a, sw, sb, 1.0, 4000);
                if !agrees(&fp, &it) {
                    wrong.push(format!("{a} (σ_w² = {sw}, σ_b² = {sb}): {fp:?} vs {it:?}"));
                    continue;
                }
                // Monte Carlo: a finite q* is a fixed point of the map with sampled
                // expectations, and χ₁ matches its sampled value.
                if fp.kind == FixedPointKind::Finite {
                    let f_mc = sw * mc_mean(&z, fp.q_star, |x| a.f(x).powi(2)) + sb;
                    let chi1_mc = sw * mc_mean(&z, fp.q_star, |x| a.df(x).powi(2));
                    let m = mean_field(&a, sw, sb).unwrap();
                    if (f_mc / fp.q_star - 1.0).abs() > 2e-2
                        || (chi1_mc / m.chi1 - 1.0).abs() > 2e-2
                    {
                        wrong.push(format!(
                            "{a} (σ_w² = {sw}, σ_b² = {sb}): Monte Carlo F(q*) = {f_mc}, χ₁ = \
                             {chi1_mc} vs {m:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// E[relu(u₁) relu(u₂)] and E[relu'(u₁) relu'(u₂)] in closed form (Cho & Saul's arc-cosine
/// kernel): q/(2π)·(√(1 − c²) + (π − arccos c)·c) and (π − arccos c)/(2π).
fn relu_pair(q: f64, c: f64) -> (f64, f64) {
    let t = c.acos();
    (
        q / (2.0 * std::f64::consts::PI) * ((1.0 - c * c).sqrt() + (std::f64::consts::PI - t) * c),
        (std::f64::consts::PI - t) / (2.0 * std::f64::consts::PI),
    )
}

/// Monte Carlo E[f(u₁)f(u₂)] and E[f'(u₁)f'(u₂)] with their standard errors.
fn mc_pair(a: &Activation, q: f64, c: f64, z: &[f64]) -> [(f64, f64); 2] {
    let (r, s) = (q.sqrt(), (1.0 - c * c).sqrt());
    let n = z.len() / 2;
    let mut acc = [(0.0, 0.0); 2];
    for p in z.chunks_exact(2) {
        let (u1, u2) = (r * p[0], r * (c * p[0] + s * p[1]));
        for (k, v) in [a.f(u1) * a.f(u2), a.df(u1) * a.df(u2)]
            .into_iter()
            .enumerate()
        {
            acc[k].0 += v;
            acc[k].1 += v * v;
        }
    }
    acc.map(|(s1, s2)| {
        let mean = s1 / n as f64;
        (mean, ((s2 / n as f64 - mean * mean) / n as f64).sqrt())
    })
}

#[test]
fn pair_moments_match_closed_forms_and_monte_carlo() {
    for q in [0.3, 1.0, 7.0, 1e4] {
        for c in [-1.0, -0.4, 0.0, 0.3, 0.9, 0.999, 0.999999, 1.0] {
            let m = theory::pair_moments(&Activation::Relu, q, c);
            let (ff, dd) = relu_pair(q, c);
            assert!(
                (m.ff - ff).abs() <= 1e-12 * q,
                "relu q = {q}, c = {c}: {m:?} vs {ff}"
            );
            assert!(
                (m.dd - dd).abs() <= 1e-12,
                "relu q = {q}, c = {c}: {m:?} vs {dd}"
            );
            // leaky_relu(a) = relu(x) − a·relu(−x): E[ff] = (1 + a²)k(c) − 2a·k(−c); its
            // slope is a + (1 − a)·1{x > 0}: E[f'f'] = a + (1 − a)²·P(u₁ > 0, u₂ > 0).
            let a = 0.2;
            let m = theory::pair_moments(&act("leaky_relu(0.2)"), q, c);
            let ff_l = (1.0 + a * a) * ff - 2.0 * a * relu_pair(q, -c).0;
            let dd_l = a + (1.0 - a) * (1.0 - a) * dd;
            assert!(
                (m.ff - ff_l).abs() <= 1e-12 * q,
                "leaky q = {q}, c = {c}: {m:?} vs {ff_l}"
            );
            assert!(
                (m.dd - dd_l).abs() <= 1e-12,
                "leaky q = {q}, c = {c}: {m:?} vs {dd_l}"
            );
            let m = theory::pair_moments(&Activation::Identity, q, c);
            assert!((m.ff - q * c).abs() <= 1e-12 * q && (m.dd - 1.0).abs() <= 1e-12);
        }
    }
    // Smooth and piecewise activations against 10⁶ samples (within 5 standard errors).
    let z = normals(2017, 2_000_000);
    for (name, q, c) in [
        ("tanh", 2.0, 0.5),
        ("tanh", 50.0, 0.97),
        ("hard_tanh", 3.0, 0.9),
        ("hard_tanh", 3.0, -0.999),
        ("hard_sigmoid", 20.0, 0.7),
        ("elu", 0.7, 0.3),
        ("gelu", 5.0, -0.9),
        ("softsign", 1.0, 0.6),
        ("sigmoid", 92.0, 0.94),
    ] {
        let a = act(name);
        let m = theory::pair_moments(&a, q, c);
        let [(ff, ff_se), (dd, dd_se)] = mc_pair(&a, q, c, &z);
        assert!(
            (m.ff - ff).abs() < 5.0 * ff_se + 1e-12,
            "{name} q = {q}, c = {c}: E[ff] {} vs Monte Carlo {ff} ± {ff_se}",
            m.ff
        );
        assert!(
            (m.dd - dd).abs() < 5.0 * dd_se + 1e-12,
            "{name} q = {q}, c = {c}: E[f'f'] {} vs Monte Carlo {dd} ± {dd_se}",
            m.dd
        );
    }
}

#[test]
fn correlation_fixed_point_matches_monte_carlo() {
    let z = normals(2018, 2_000_000);
    // Chaotic: c* < 1 solves C(c) = c, and C is attracting there (χ_c < 1).
    for (name, sw, sb) in [
        ("tanh", 4.0, 0.05),
        ("hard_tanh", 2.0, 0.1),
        ("softsign", 5.0, 0.1),
        ("sigmoid", 200.0, 0.5),
    ] {
        let a = act(name);
        let m = mean_field(&a, sw, sb).unwrap();
        assert_eq!(m.phase, Phase::Chaotic, "{name}");
        let corr = m.correlation.unwrap();
        let q = m.q_star;
        assert!(corr.c_star > 0.0 && corr.c_star < 1.0, "{name}: {corr:?}");
        assert!(corr.chi_c > 0.0 && corr.chi_c < 1.0, "{name}: {corr:?}");
        let [(ff, ff_se), (dd, dd_se)] = mc_pair(&a, q, corr.c_star, &z);
        let c_mc = (sw * ff + sb) / q;
        assert!(
            (c_mc - corr.c_star).abs() < 5.0 * sw * ff_se / q + 1e-12,
            "{name}: Monte Carlo C(c*) = {c_mc} vs c* = {}",
            corr.c_star
        );
        assert!(
            (sw * dd - corr.chi_c).abs() < 5.0 * sw * dd_se + 1e-12,
            "{name}: Monte Carlo χ_c = {} vs {}",
            sw * dd,
            corr.chi_c
        );
        // The map itself: C(c*) = c*, and iterating it from c = 0.5 and c = 0.99 gets there.
        let map = |c: f64| theory::correlation_map(&a, sw, sb, q, c);
        assert!((map(corr.c_star) - corr.c_star).abs() < 1e-12, "{name}");
        for start in [0.5, 0.99] {
            let mut c = start;
            for _ in 0..(20.0 * corr.depth_scale) as usize + 40 {
                c = map(c);
                if (c - corr.c_star).abs() < 1e-5 {
                    break;
                }
            }
            assert!(
                (c - corr.c_star).abs() < 1e-5,
                "{name} from {start}: {c} vs {corr:?}"
            );
        }
        assert!((corr.depth_scale + 1.0 / corr.chi_c.ln()).abs() < 1e-12);
        assert_eq!(corr.trainable_depth, 6.0 * corr.depth_scale);
        // Not the gradient scale: ξ_∇ = 1/ln χ₁ is a growth length here.
        assert!((m.gradient_scale - 1.0 / m.chi1.ln()).abs() < 1e-12);
        assert!(
            (corr.depth_scale - m.gradient_scale).abs() > 0.5,
            "{name}: {m:?}"
        );
    }
    // An odd activation without bias decorrelates completely: c* = 0, χ_c = σ_w² E[f']².
    let m = mean_field(&Activation::Tanh, 2.0, 0.0).unwrap();
    let corr = m.correlation.unwrap();
    assert_eq!(corr.c_star, 0.0);
    let mean_slope = mc_mean(&z, m.q_star, |x| Activation::Tanh.df(x));
    assert!((corr.chi_c / (2.0 * mean_slope * mean_slope) - 1.0).abs() < 1e-2);
    // Ordered: c* = 1, χ_c = χ₁, ξ_c = ξ_∇.
    let m = mean_field(&Activation::Tanh, 1.5, 0.05).unwrap();
    let corr = m.correlation.unwrap();
    assert_eq!((corr.c_star, corr.chi_c), (1.0, m.chi1));
    assert_eq!(corr.depth_scale, m.gradient_scale);
    // q* = 0 or ∞: no correlation map.
    assert_eq!(
        mean_field(&Activation::Tanh, 0.5, 0.0).unwrap().correlation,
        None
    );
    assert_eq!(
        mean_field(&Activation::Relu, 3.0, 0.0).unwrap().correlation,
        None
    );
}

#[test]
fn correlation_depth_diverges_at_the_tanh_edge_of_chaos() {
    // Schoenholz et al. 2017 (Fig. 2): tanh at σ_b² = 0.05 turns chaotic at σ_w² ≈ 1.76, where
    // ξ_c diverges; on both sides ξ_c ∝ 1/|σ_w² − σ_w²_crit|.
    let tanh = Activation::Tanh;
    let crit = critical_sigma_w2(&tanh, 0.05, 1.0).unwrap().unwrap();
    assert!((crit - 1.76).abs() < 0.01, "{crit}");
    let at = mean_field(&tanh, crit, 0.05).unwrap().correlation.unwrap();
    assert!(at.depth_scale > 1e6, "{at:?}");
    let xi = |d: f64| {
        let m = mean_field(&tanh, crit * (1.0 + d), 0.05).unwrap();
        m.correlation.unwrap().depth_scale
    };
    for side in [-1.0, 1.0] {
        let (x2, x3, x4) = (xi(side * 1e-2), xi(side * 1e-3), xi(side * 1e-4));
        eprintln!("tanh σ_b² = 0.05, σ_w² = crit·(1 {side:+e}·δ): ξ_c = {x2}, {x3}, {x4}");
        assert!(x2 > 30.0 && x3 / x2 > 8.0 && x3 / x2 < 12.0, "{x2} {x3}");
        assert!(x4 / x3 > 9.0 && x4 / x3 < 11.0, "{x3} {x4}");
    }
    // Far from it the network is only trainable to a few dozen layers (6 ξ_c).
    let m = mean_field(&tanh, 4.0, 0.05).unwrap();
    let corr = m.correlation.unwrap();
    assert!(
        corr.trainable_depth > 30.0 && corr.trainable_depth < 60.0,
        "{corr:?}"
    );
}

#[test]
fn sweep_rows_are_the_mean_field_at_each_grid_point_in_order() {
    let tanh = Activation::Tanh;
    let s = theory::sweep(&tanh, (1.0, 4.0), 7, 0.05, 0.5).unwrap();
    assert_eq!(s.rows.len(), 7);
    assert_eq!(
        theory::sweep_grid((1.0, 4.0), 7),
        [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
    );
    for (row, sw) in s.rows.iter().zip(theory::sweep_grid((1.0, 4.0), 7)) {
        assert_eq!(*row, theory::mean_field_from(&tanh, sw, 0.05, 0.5).unwrap());
    }
    assert!(theory::sweep(&tanh, (2.0, 1.0), 4, 0.0, 1.0).is_err());
    assert!(theory::sweep(&tanh, (1.0, 2.0), 1, 0.0, 1.0).is_err());
    assert!(theory::sweep(&tanh, (1.0, 2.0), 4, 0.0, -1.0).is_err());
    assert!(theory::sweep(&Activation::Softmax, (1.0, 2.0), 4, 0.0, 1.0).is_err());
}

#[test]
fn phase_diagram_cells_and_boundary() {
    // ReLU: χ₁ = σ_w²/2 whatever q does: ordered left of σ_w² = 2, chaotic right of it.
    let relu = Activation::Relu;
    let d = theory::PhaseDiagram::compute(&relu, (0.0, 4.0), (0.0, 1.0), 8, 1.0).unwrap();
    assert_eq!(d.cells.len(), 64);
    assert_eq!(d.boundary.len(), 9);
    for (i, p) in d.boundary.iter().enumerate() {
        assert_eq!(p.sigma_b2, (i as f64 / 8.0).powi(2));
        let t = p.transition.unwrap();
        assert!(t.continuous && (t.sigma_w2 - 2.0).abs() < 1e-9, "{p:?}");
    }
    for row in 0..8 {
        for col in 0..8 {
            let c = d.cell(row, col);
            assert_eq!(c.sigma_w2, 0.25 + 0.5 * col as f64);
            assert_eq!(c.sigma_b2, (row as f64 + 0.5) / 8.0);
            assert!((c.chi1 - c.sigma_w2 / 2.0).abs() < 1e-12, "{c:?}");
            let want = if col < 4 {
                Phase::Ordered
            } else {
                Phase::Chaotic
            };
            assert_eq!(c.phase, want, "{c:?}");
        }
    }
    // tanh: each cell on the side of its row's critical σ_w², and the same on a second run
    // (the two threads return the cells in a fixed order).
    let tanh = Activation::Tanh;
    let d = theory::PhaseDiagram::compute(&tanh, (0.5, 4.5), (0.0, 1.5), 5, 1.0).unwrap();
    assert_eq!(
        d,
        theory::PhaseDiagram::compute(&tanh, (0.5, 4.5), (0.0, 1.5), 5, 1.0).unwrap()
    );
    for row in 0..5 {
        let b = d.cell(row, 0).sigma_b2;
        let crit = critical_sigma_w2(&tanh, b, 1.0).unwrap().unwrap();
        for col in 0..5 {
            let c = d.cell(row, col);
            assert_eq!(c.sigma_b2, b);
            assert_eq!(c.chi1 < 1.0, c.sigma_w2 < crit, "{c:?} vs {crit}");
            assert_eq!(c.chi1, theory::chi1(&tanh, c.sigma_w2, b, 1.0).unwrap());
        }
    }
    // Fitted: the σ_w² axis runs to 1.6 × the largest critical σ_w² (tanh at σ_b² = 1: 3.44).
    let d = theory::PhaseDiagram::compute_fitted(&tanh, (0.0, 1.0), 4, 1.0, None).unwrap();
    let top = critical_sigma_w2(&tanh, 1.0, 1.0).unwrap().unwrap();
    assert!(
        (d.sigma_w2_range.1 - 1.6 * top).abs() < 1e-9,
        "{:?}",
        d.sigma_w2_range
    );
    let d = theory::PhaseDiagram::compute_fitted(&tanh, (0.0, 1.0), 4, 1.0, Some(10.0)).unwrap();
    assert_eq!(d.sigma_w2_range, (0.0, 12.0));
    // GELU at small σ_b²: the jump shows in the cells (ordered, then chaotic along σ_w²).
    let gelu = Activation::Gelu;
    let d = theory::PhaseDiagram::compute(&gelu, (1.9, 2.5), (0.0, 0.02), 6, 1.0).unwrap();
    let row: Vec<Phase> = (0..6).map(|j| d.cell(0, j).phase).collect();
    assert_eq!(row[0], Phase::Ordered, "{row:?}");
    assert_eq!(row[5], Phase::Chaotic, "{row:?}");
    assert!(!d.boundary[0].transition.unwrap().continuous);
    for bad in [(2.0, 1.0), (-1.0, 1.0), (0.0, f64::NAN)] {
        assert!(theory::PhaseDiagram::compute(&tanh, bad, (0.0, 1.0), 4, 1.0).is_err());
        assert!(theory::PhaseDiagram::compute(&tanh, (0.0, 1.0), bad, 4, 1.0).is_err());
    }
    assert!(theory::PhaseDiagram::compute(&tanh, (0.0, 1.0), (0.0, 1.0), 0, 1.0).is_err());
}

/// The quadrature's breakpoints exist only for a finite q > 0: kinks at k/√q plus the ladder
/// ±2ᵏ/(16√q) below Z_MAX. At q = +∞ the ladder would start at 0 and never end (a mutant that
/// let an infinite q through survived the mutation sample of docs/testing.md).
#[test]
fn breakpoints_only_for_a_finite_positive_q() {
    let relu = Activation::Relu;
    for q in [0.0, -1.0, f64::INFINITY, f64::NAN] {
        assert!(theory::breakpoints(&relu, q).is_empty(), "q = {q}");
    }
    let b = theory::breakpoints(&relu, 4.0);
    // ReLU's kink at 0, then ±0.03125·2ᵏ.
    assert!(
        b.contains(&0.0) && b.contains(&0.03125) && b.contains(&-0.03125),
        "{b:?}"
    );
    assert!(b.iter().all(|x| x.is_finite()));
}
