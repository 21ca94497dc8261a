//! The verdict clause by clause, on records built by hand: each test fails when its clause
//! alone is wrong (a threshold changed, a comparison flipped, a clause dropped or one of the
//! removed per-layer clauses back), because the other clauses are kept out of reach.
//!
//! The label (docs/diagnostics.md, "The verdict"; [`gradscope::diagnostics::label`]):
//! **vanishing** if log₁₀ first_to_last < log₁₀ `vanishing_ratio`; **vanishing** if an RNN's
//! γ·σ_max(W_hh) < 1 (through time); else **exploding** if log₁₀ first_to_last > log₁₀
//! `exploding_ratio`, or the largest global gradient norm > `exploding_norm`; else
//! **healthy** — whatever the depth (no per-layer clause). Besides the label: dead layers
//! (dead share > `dead`) and saturated layers (the larger of the saturated and the range-end
//! share > `saturated`, not for rectifiers) are problems, and `will_train` is healthy with
//! no problem.

use gradscope::diagnostics::{
    judge, label, Basis, Confidence, DiagnosticsConfig, Flow, LayerRecord, Problem, StepRecord,
    Thresholds,
};
use gradscope::layer::LayerKind;
use gradscope::Activation;

/// One hidden activation layer per norm (‖δ_l‖ = `norms[l − 1]`), with activation `act`.
fn record_with(step: u64, norms: &[f64], grad_norm: f64, act: Activation) -> StepRecord {
    let layers = norms
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let mut l = LayerRecord::new(i, i.to_string(), LayerKind::Activation, "activation");
            l.activation = Some(act);
            l.depth = Some(i + 1);
            l.grad_in_norm = Some(n);
            l
        })
        .collect();
    StepRecord {
        step,
        batch_size: None,
        epoch: 1,
        loss: 1.0,
        grad_norm,
        input_q0: None,
        layers,
        recurrent: Vec::new(),
    }
}

fn record(step: u64, norms: &[f64], grad_norm: f64) -> StepRecord {
    record_with(step, norms, grad_norm, Activation::Tanh)
}

/// ‖δ_l‖ over `layers` hidden layers falling geometrically from `ftl` (layer 1) to 1 (the
/// last): first_to_last = ftl, per-layer factor ftl^(1/(layers − 1)).
fn profile(ftl: f64, layers: usize) -> Vec<f64> {
    let hops = (layers - 1) as f64;
    (0..layers)
        .map(|i| ftl.powf((layers - 1 - i) as f64 / hops))
        .collect()
}

fn flow_with(ftl: f64, layers: usize, grad_norm: f64, t: &Thresholds) -> Flow {
    let v = judge(&[record(1, &profile(ftl, layers), grad_norm)], t);
    let factor = ftl.powf(1.0 / (layers - 1) as f64);
    assert!(
        (v.first_to_last / ftl - 1.0).abs() < 1e-12,
        "{}",
        v.first_to_last
    );
    assert!((v.per_layer_factor / factor - 1.0).abs() < 1e-12);
    v.flow
}

fn flow(ftl: f64, layers: usize, grad_norm: f64) -> Flow {
    flow_with(ftl, layers, grad_norm, &Thresholds::default())
}

/// The per-layer factor of a profile falling by `ftl` over `layers` layers.
fn per_layer(ftl: f64, layers: usize) -> f64 {
    ftl.powf(1.0 / (layers - 1) as f64)
}

#[test]
fn defaults_are_the_documented_ones() {
    let t = Thresholds::default();
    assert_eq!(t.vanishing_ratio, 1e-2);
    assert_eq!(t.exploding_ratio, 1e2);
    assert_eq!(t.exploding_norm, 1e3);
    assert_eq!(t.saturated, 0.5);
    assert_eq!(t.dead, 0.5);
    let c = DiagnosticsConfig::default();
    assert_eq!((c.every, c.bins, c.histograms), (100, 24, true));
    assert_eq!(c.thresholds, t);
    // docs/diagnostics.md shows the `[diagnostics]` table "with the defaults": it must parse
    // to exactly the defaults.
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/diagnostics.md"),
    )
    .unwrap();
    let start = doc
        .find("```toml\n[diagnostics]\n")
        .expect("the documented table")
        + 8;
    let block = &doc[start..start + doc[start..].find("```").unwrap()];
    assert!(block.contains("defaults shown"), "{block}");
    #[derive(serde::Deserialize)]
    struct File {
        diagnostics: DiagnosticsConfig,
    }
    let parsed: File = toml::from_str(block).unwrap();
    assert_eq!(parsed.diagnostics, DiagnosticsConfig::default());
    // An empty table is the defaults too.
    let empty: File = toml::from_str("[diagnostics]\n").unwrap();
    assert_eq!(empty.diagnostics, DiagnosticsConfig::default());
}

/// The removed per-layer keys are refused with a message that says why (a config that set
/// them would otherwise be judged by rules it did not ask for).
#[test]
fn removed_per_layer_keys_are_refused() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct File {
        diagnostics: DiagnosticsConfig,
    }
    for key in ["per_layer_vanishing = 0.9", "per_layer_exploding = 1.1"] {
        let e = toml::from_str::<File>(&format!("[diagnostics.thresholds]\n{key}\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("were removed"), "{e}");
    }
}

/// first_to_last < `vanishing_ratio`, at any depth: 0.0099 is vanishing and 0.0101 healthy
/// over 2, 3, 30 and 61 layers alike. Fails if `vanishing_ratio` defaults to anything else
/// by more than 1%, or if the comparison is not on the total ratio.
#[test]
fn vanishing_ratio_clause() {
    for layers in [2, 3, 30, 61] {
        assert_eq!(flow(0.0099, layers, 1.0), Flow::Vanishing, "{layers}");
        assert_eq!(flow(0.0101, layers, 1.0), Flow::Healthy, "{layers}");
    }
    // The threshold is read from the thresholds given.
    let t = Thresholds {
        vanishing_ratio: 0.2,
        ..Thresholds::default()
    };
    assert_eq!(flow_with(0.15, 61, 1.0, &t), Flow::Vanishing);
    assert_eq!(flow_with(0.25, 61, 1.0, &t), Flow::Healthy);
}

/// No per-layer clause: a steep factor with a total inside the thresholds is healthy. The old
/// clauses ("factor < 0.9 and total < 0.1", "factor > 1.1 and total > 10") said vanishing at
/// 0.05 over 29 layers (×0.8985) or 0.099 over 2, exploding at 10.1 over 2 and at 16.06 over
/// 30 (×1.1004: GELU + Kaiming at depth 30, issue 12's knife edge).
#[test]
fn no_per_layer_clause() {
    assert!(per_layer(0.05, 29) < 0.9);
    assert_eq!(flow(0.05, 29, 1.0), Flow::Healthy);
    assert_eq!(flow(0.099, 2, 1.0), Flow::Healthy);
    assert_eq!(flow(0.02, 2, 1.0), Flow::Healthy);
    assert!(per_layer(16.06, 30) > 1.1);
    assert_eq!(flow(16.06, 30, 1.0), Flow::Healthy);
    assert_eq!(flow(15.6, 30, 1.0), Flow::Healthy);
    assert_eq!(flow(10.1, 2, 1.0), Flow::Healthy);
    assert_eq!(flow(99.0, 2, 1.0), Flow::Healthy);
}

/// first_to_last > `exploding_ratio` at any depth.
#[test]
fn exploding_ratio_clause() {
    for layers in [2, 41, 61] {
        assert_eq!(flow(101.0, layers, 1.0), Flow::Exploding, "{layers}");
        assert_eq!(flow(99.0, layers, 1.0), Flow::Healthy, "{layers}");
    }
    let t = Thresholds {
        exploding_ratio: 50.0,
        ..Thresholds::default()
    };
    assert_eq!(flow_with(60.0, 61, 1.0, &t), Flow::Exploding);
    assert_eq!(flow_with(40.0, 61, 1.0, &t), Flow::Healthy);
}

/// The largest global gradient norm over the records > `exploding_norm`, with a flat profile.
#[test]
fn exploding_norm_clause() {
    assert_eq!(flow(1.0, 3, 1001.0), Flow::Exploding);
    assert_eq!(flow(1.0, 3, 999.0), Flow::Healthy);
    // The largest over the steps, not the last or the first.
    let flat = profile(1.0, 3);
    let recs = [
        record(1, &flat, 5.0),
        record(2, &flat, 1500.0),
        record(3, &flat, 7.0),
    ];
    let v = judge(&recs, &Thresholds::default());
    assert_eq!((v.flow, v.max_grad_norm), (Flow::Exploding, 1500.0));
    assert_eq!(v.severity.basis, Basis::GlobalNorm);
    let t = Thresholds {
        exploding_norm: 2000.0,
        ..Thresholds::default()
    };
    assert_eq!(judge(&recs, &t).flow, Flow::Healthy);
}

/// Vanishing is decided first: a vanishing profile with a huge global norm is vanishing; a
/// healthy one with a huge norm is exploding.
#[test]
fn vanishing_takes_precedence_over_the_norm() {
    assert_eq!(flow(1e-3, 5, 1e6), Flow::Vanishing);
    assert_eq!(flow(0.05, 3, 1e6), Flow::Exploding);
}

/// Pascanu et al.'s sufficient condition, the through-time clause of [`label`]: a per-step
/// bound γ·σ_max below 1 (log₁₀ < 0) is vanishing even when the ratio over the span is
/// inside the thresholds (the tanh RNN of issue 12: σ_max = 0.95, 0.034 over 49 steps); the
/// margin is the decay the bound guarantees over the span. At or above 1 it does not decide.
#[test]
fn sufficient_condition_clause() {
    let t = Thresholds::default();
    let b = 0.95f64.log10();
    let (flow, basis, margin) = label(0.034f64.log10(), Some((b, 49)), None, &t);
    assert_eq!((flow, basis), (Flow::Vanishing, Basis::SufficientCondition));
    assert!((margin + 49.0 * b).abs() < 1e-12, "{margin}");
    assert_eq!(
        label(0.034f64.log10(), Some((0.0, 49)), None, &t).0,
        Flow::Healthy
    );
    assert_eq!(
        label(0.034f64.log10(), Some((1.01f64.log10(), 49)), None, &t).0,
        Flow::Healthy
    );
    // The ratio clause first: below the threshold the basis is the ratio.
    let (flow, basis, _) = label(-3.0, Some((b, 49)), None, &t);
    assert_eq!((flow, basis), (Flow::Vanishing, Basis::Ratio));
    // The bound before the global norm: with γσ_max < 1 a large norm does not make it
    // exploding (the bound says the gradient through time cannot grow).
    assert_eq!(label(0.0, Some((b, 10)), Some(1e9), &t).0, Flow::Vanishing);
    // The margins of the other clauses, in decades.
    let (f, bs, m) = label(-3.0, None, None, &t);
    assert_eq!((f, bs), (Flow::Vanishing, Basis::Ratio));
    assert!((m - 1.0).abs() < 1e-12);
    let (f, _, m) = label(2.5, None, None, &t);
    assert!(f == Flow::Exploding && (m - 0.5).abs() < 1e-12);
    let (f, bs, m) = label(0.0, None, Some(1e4), &t);
    assert!(f == Flow::Exploding && bs == Basis::GlobalNorm && (m - 1.0).abs() < 1e-12);
    let (f, bs, m) = label(-0.5, None, Some(10.0), &t);
    assert!(f == Flow::Healthy && bs == Basis::Ratio && (m - 1.5).abs() < 1e-12);
}

/// first_to_last and the per-layer ratios are geometric means over the records.
#[test]
fn ratios_are_geometric_means_over_the_steps() {
    let recs = [
        record(1, &profile(1e-4, 3), 1.0),
        record(2, &profile(1e-2, 3), 2.0),
    ];
    let v = judge(&recs, &Thresholds::default());
    assert!(
        (v.first_to_last / 1e-3 - 1.0).abs() < 1e-12,
        "{}",
        v.first_to_last
    );
    assert!((v.per_layer_factor / 1e-3f64.sqrt() - 1.0).abs() < 1e-12);
    assert_eq!(v.max_grad_norm, 2.0);
    assert_eq!(v.flow, Flow::Vanishing);
    // Per layer: ratio to the last layer and its own flow.
    let r: Vec<f64> = v.layers.iter().map(|l| l.ratio_to_last).collect();
    assert!((r[0] / 1e-3 - 1.0).abs() < 1e-12 && (r[1] / 1e-3f64.sqrt() - 1.0).abs() < 1e-12);
    assert_eq!(r[2], 1.0);
    let flows: Vec<Flow> = v.layers.iter().map(|l| l.flow).collect();
    assert_eq!(flows, [Flow::Vanishing, Flow::Healthy, Flow::Healthy]);
    let v = judge(&[record(1, &[150.0, 1.0], 1.0)], &Thresholds::default());
    assert_eq!(
        v.layers.iter().map(|l| l.flow).collect::<Vec<_>>(),
        [Flow::Exploding, Flow::Healthy]
    );
    assert_eq!(v.layers[0].depth, 1);
    // No records, one layer: nothing to compare.
    let v = judge(&[], &Thresholds::default());
    assert_eq!(
        (v.flow, v.first_to_last, v.per_layer_factor),
        (Flow::Healthy, 1.0, 1.0)
    );
    let v = judge(&[record(1, &[0.5], 1.0)], &Thresholds::default());
    assert_eq!(
        (v.flow, v.first_to_last, v.per_layer_factor),
        (Flow::Healthy, 1.0, 1.0)
    );
}

/// A layer is saturated above `saturated` (strictly) unless it is a rectifier; dead above
/// `dead` whatever its activation. Means are over the records.
#[test]
fn saturated_and_dead_layer_clauses() {
    let with = |act: Activation, sat: [f64; 2], dead: [f64; 2]| {
        let recs: Vec<StepRecord> = (0..2)
            .map(|k| {
                let mut r = record_with(k as u64 + 1, &[1.0, 1.0], 1.0, act);
                r.layers[0].saturated_fraction = Some(sat[k]);
                r.layers[0].dead_fraction = Some(dead[k]);
                r
            })
            .collect();
        let v = judge(&recs, &Thresholds::default());
        let l = &v.layers[0];
        (
            l.saturated_fraction.unwrap(),
            l.dead_fraction.unwrap(),
            v.saturated_depths(),
            v.dead_depths(),
        )
    };
    // Means 0.6 and 0.6: saturated and dead.
    let (s, d, sd, dd) = with(Activation::Tanh, [0.5, 0.7], [0.4, 0.8]);
    assert!((s - 0.6).abs() < 1e-15 && (d - 0.6).abs() < 1e-15);
    assert_eq!((sd, dd), (vec![1], vec![1]));
    // Exactly at the thresholds: neither.
    let (_, _, sd, dd) = with(Activation::Tanh, [0.5, 0.5], [0.5, 0.5]);
    assert_eq!((sd, dd), (vec![], vec![]));
    // Below: neither.
    let (_, _, sd, dd) = with(Activation::Sigmoid, [0.4, 0.45], [0.1, 0.2]);
    assert_eq!((sd, dd), (vec![], vec![]));
    // A ReLU's flat side is not saturation; its dead units are.
    let (_, _, sd, dd) = with(Activation::Relu, [0.9, 0.9], [0.9, 0.9]);
    assert_eq!((sd, dd), (vec![], vec![1]));
    let t = Thresholds {
        saturated: 0.8,
        dead: 0.8,
        ..Thresholds::default()
    };
    let recs = [{
        let mut r = record(1, &[1.0, 1.0], 1.0);
        r.layers[1].saturated_fraction = Some(0.7);
        r.layers[1].dead_fraction = Some(0.7);
        r
    }];
    let v = judge(&recs, &t);
    assert_eq!((v.saturated_depths(), v.dead_depths()), (vec![], vec![]));
    let v = judge(&recs, &Thresholds::default());
    assert_eq!((v.saturated_depths(), v.dead_depths()), (vec![2], vec![2]));
}

/// Saturation at the range's end (Glorot & Bengio's top sigmoid layer stuck near 0): a layer
/// whose |f'| share is small but whose outputs sit within ε of an end of f's range is
/// saturated; the larger share is judged; a rectifier's zeros (its range end) are not.
#[test]
fn range_end_saturation_clause() {
    let with = |act: Activation, sat: f64, end: f64| {
        let mut r = record_with(1, &[1.0, 1.0], 1.0, act);
        r.layers[1].saturated_fraction = Some(sat);
        r.layers[1].range_end_fraction = Some(end);
        r.layers[1].act_mean = Some(0.012);
        r.layers[1].act_std = Some(0.0);
        judge(&[r], &Thresholds::default())
    };
    let v = with(Activation::Sigmoid, 0.0, 0.99);
    assert_eq!(v.saturated_depths(), vec![2]);
    assert_eq!(v.layers[1].saturation_share(), Some(0.99));
    match &v.problems[..] {
        [Problem::Saturation {
            depths,
            max_fraction,
            worst_depth,
            act_mean,
            act_std,
            ..
        }] => {
            assert_eq!((depths.as_slice(), *worst_depth), (&[2][..], 2));
            assert_eq!(
                (*max_fraction, *act_mean, *act_std),
                (0.99, Some(0.012), Some(0.0))
            );
        }
        p => panic!("{p:?}"),
    }
    assert!(!v.will_train);
    assert_eq!(v.flow, Flow::Healthy);
    // The larger share decides, either way round; at the threshold it is not saturated.
    assert_eq!(
        with(Activation::Sigmoid, 0.6, 0.1).saturated_depths(),
        vec![2]
    );
    assert!(with(Activation::Sigmoid, 0.5, 0.5)
        .saturated_depths()
        .is_empty());
    assert!(with(Activation::Sigmoid, 0.1, 0.4).will_train);
    // A ReLU at its range's end is not saturated (its zeros are judged as dead units).
    let v = with(Activation::Relu, 0.0, 0.99);
    assert!(v.saturated_depths().is_empty() && v.problems.is_empty() && v.will_train);
}

/// Dead layers enter the verdict as a problem (ReLU + He at depth 30: a healthy norm ratio
/// with most units dead), with the shares over the flagged layers and the whole network,
/// and `will_train` false; the problems come worst first.
#[test]
fn dead_units_are_a_problem_of_the_verdict() {
    let mut r = record_with(1, &[1.0, 1.0, 1.0, 1.0], 1.0, Activation::Relu);
    for (l, d) in r.layers.iter_mut().zip([0.1, 0.3, 0.6, 0.8]) {
        l.dead_fraction = Some(d);
    }
    let v = judge(&[r.clone()], &Thresholds::default());
    assert_eq!(v.flow, Flow::Healthy);
    assert!(!v.will_train);
    match &v.problems[..] {
        [Problem::DeadUnits {
            depths,
            mean_fraction,
            max_fraction,
            worst_depth,
            network_fraction,
        }] => {
            assert_eq!(depths, &[3, 4]);
            assert!((mean_fraction - 0.7).abs() < 1e-12);
            assert_eq!((*max_fraction, *worst_depth), (0.8, 4));
            assert!((network_fraction - 0.45).abs() < 1e-12);
        }
        p => panic!("{p:?}"),
    }
    // A dead layer's remedies: a leaky rectifier first.
    assert!(matches!(
        v.remedies.first().map(|a| &a.remedy),
        Some(gradscope::diagnostics::Remedy::LeakyActivation { .. })
    ));
    // Under the threshold: no problem, will train.
    let t = Thresholds {
        dead: 0.9,
        ..Thresholds::default()
    };
    let v = judge(&[r.clone()], &t);
    assert!(v.problems.is_empty() && v.will_train);
    // Both problems: the larger share first.
    let mut r2 = record_with(1, &[1.0, 1.0], 1.0, Activation::Tanh);
    r2.layers[0].dead_fraction = Some(0.7);
    r2.layers[1].saturated_fraction = Some(0.9);
    let v = judge(&[r2], &Thresholds::default());
    let names: Vec<&str> = v.problems.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["saturation", "dead units"]);
}

/// `will_train` is a healthy label with no problem: a vanishing or exploding label alone makes
/// it false.
#[test]
fn will_train_needs_a_healthy_label() {
    let t = Thresholds::default();
    assert!(judge(&[record(1, &profile(0.05, 10), 1.0)], &t).will_train);
    assert!(!judge(&[record(1, &profile(0.005, 10), 1.0)], &t).will_train);
    assert!(!judge(&[record(1, &profile(200.0, 10), 1.0)], &t).will_train);
    assert!(!judge(&[record(1, &profile(1.0, 10), 1e4)], &t).will_train);
}

/// The chain-rule factors: mean σ_w of the weight matrices, mean √E[f'²] of the hidden
/// layers, mean |f'| per layer.
#[test]
fn chain_rule_factors_are_means_over_layers_and_steps() {
    let mut recs: Vec<StepRecord> = (1..=2).map(|s| record(s, &[0.5, 1.0], 1.0)).collect();
    for (k, r) in recs.iter_mut().enumerate() {
        let mut lin = LayerRecord::new(9, "9", LayerKind::Linear, "linear(2 -> 2)");
        lin.sigma_w = Some(1.0 + k as f64); // 1 then 2
        r.layers.push(lin);
        r.layers[0].mean_sq_derivative = Some(0.16 * (1 + 3 * k) as f64); // 0.16, 0.64
        r.layers[0].mean_abs_derivative = Some(0.3 + 0.2 * k as f64); // 0.3, 0.5
        r.layers[1].mean_sq_derivative = Some(0.25);
    }
    let v = judge(&recs, &Thresholds::default());
    assert!((v.sigma_w.unwrap() - 1.5).abs() < 1e-15);
    // Layer 1: √(mean(0.16, 0.64)) = √0.4; layer 2: √0.25 = 0.5.
    let l1 = v.layers[0].rms_derivative.unwrap();
    assert!((l1 - 0.4f64.sqrt()).abs() < 1e-15, "{l1}");
    assert!((v.layers[0].mean_abs_derivative.unwrap() - 0.4).abs() < 1e-15);
    assert_eq!(v.layers[1].rms_derivative, Some(0.5));
    assert!((v.rms_derivative.unwrap() - (0.4f64.sqrt() + 0.5) / 2.0).abs() < 1e-15);
    assert_eq!(v.activation, Some(Activation::Tanh));
}

/// The severity behind the label: log₁₀ ratio, spreads, the margin to the label's threshold
/// and the confidence drawn from it.
#[test]
fn severity_margin_and_confidence() {
    let t = Thresholds::default();
    let sev = |recs: &[StepRecord]| judge(recs, &t).severity;
    let one = |ftl: f64, layers: usize, norm: f64| sev(&[record(1, &profile(ftl, layers), norm)]);
    // Vanishing at 1e-4: two decades below 1e-2, no spread: high.
    let s = one(1e-4, 3, 1.0);
    assert!((s.log10_ratio + 4.0).abs() < 1e-12 && (s.margin_decades - 2.0).abs() < 1e-12);
    assert_eq!((s.log10_spread, s.confidence), (0.0, Confidence::High));
    assert!(s.per_layer_log10_spread.abs() < 1e-12, "an even profile");
    // 0.005: 0.30 decades inside: medium. 0.009: 0.046: low. 0.002: 0.70 ≥ 0.5: high.
    assert_eq!(one(0.005, 61, 1.0).confidence, Confidence::Medium);
    let s = one(0.009, 61, 1.0);
    assert!((s.margin_decades - (-2.0 - 0.009f64.log10())).abs() < 1e-12);
    assert_eq!(s.confidence, Confidence::Low);
    assert_eq!(one(0.002, 61, 1.0).confidence, Confidence::High);
    // Healthy at 1: two decades from either threshold; at 0.02 (many layers): 0.30 from 1e-2.
    let s = one(1.0, 3, 1.0);
    assert!((s.margin_decades - 2.0).abs() < 1e-12 && s.confidence == Confidence::High);
    let s = one(0.02, 61, 1.0);
    assert!((s.margin_decades - 0.02f64.log10() - 2.0).abs() < 1e-12);
    assert_eq!(s.confidence, Confidence::Medium);
    let s = one(50.0, 61, 1.0);
    assert!((s.margin_decades - (2.0 - 50f64.log10())).abs() < 1e-12);
    // Exploding by the ratio: log − 2.
    let s = one(1e3, 61, 1.0);
    assert!((s.margin_decades - 1.0).abs() < 1e-12);
    // Exploding by the norm alone: log₁₀(max norm / exploding_norm).
    let s = one(1.0, 3, 1e4);
    assert!((s.margin_decades - 1.0).abs() < 1e-12 && s.confidence == Confidence::High);
    // Two steps at 1e-5 and 10^−2.6: log ratio −3.8 (margin 1.8), spread 1.2 decades: the
    // margin is within one and two spreads: medium.
    let s = sev(&[
        record(1, &profile(1e-5, 3), 1.0),
        record(2, &profile(10f64.powf(-2.6), 3), 1.0),
    ]);
    assert!((s.log10_ratio + 3.8).abs() < 1e-12 && (s.log10_spread - 1.2).abs() < 1e-12);
    assert!((s.margin_decades - 1.8).abs() < 1e-12);
    assert_eq!(s.confidence, Confidence::Medium);
    // 1e-4 and 0.1: log ratio −2.5 (margin 0.5), spread 1.5: low.
    let s = sev(&[
        record(1, &profile(1e-4, 3), 1.0),
        record(2, &profile(0.1, 3), 1.0),
    ]);
    assert!((s.margin_decades - 0.5).abs() < 1e-12 && (s.log10_spread - 1.5).abs() < 1e-12);
    assert_eq!(s.confidence, Confidence::Low);
    // Per-layer factors 0.01 and 0.1 at the first step: log₁₀ −2 and −1, spread 0.5; the
    // uncertainty adds it up over the 2 hops: √(0² + 2·0.5²) = 0.707, so the margin of 1
    // decade (log ratio −3) is under two uncertainties: medium, not high.
    let s = sev(&[record(1, &[1e-3, 0.1, 1.0], 1.0)]);
    assert!((s.per_layer_log10_spread - 0.5).abs() < 1e-12, "{s:?}");
    assert!(
        (s.uncertainty_decades - 0.5f64.sqrt()).abs() < 1e-12,
        "{s:?}"
    );
    assert!((s.margin_decades - 1.0).abs() < 1e-12);
    assert_eq!(s.confidence, Confidence::Medium);
    // The factor per layer and the projection: 0.1 over 10 layers is ×10^−0.1 per layer over
    // 9 hops; at that factor the ratio reaches 1e-2 after 18 hops.
    let s = one(0.1, 10, 1.0);
    assert_eq!(s.hops, 9);
    assert!((s.log10_factor + 1.0 / 9.0).abs() < 1e-12);
    assert!((s.crossing_hops.unwrap() - 18.0).abs() < 1e-9, "{s:?}");
    let s = one(10.0, 3, 1.0);
    assert!((s.crossing_hops.unwrap() - 4.0).abs() < 1e-9, "{s:?}");
    assert_eq!(one(1.0, 3, 1.0).crossing_hops, None);
}
