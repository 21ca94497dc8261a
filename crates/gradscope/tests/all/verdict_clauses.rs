//! The depth verdict clause by clause, on records built by hand: each test fails when its
//! clause alone is wrong (a threshold changed, a comparison flipped, a clause dropped), because
//! the other clauses are kept out of reach — e.g. the `vanishing_ratio` clause is tested on a
//! profile so long that its per-layer factor stays above `per_layer_vanishing`.
//!
//! The clauses (docs/diagnostics.md, "The verdict"): **vanishing** if first_to_last <
//! `vanishing_ratio`, or per_layer_factor < `per_layer_vanishing` with first_to_last < 0.1;
//! else **exploding** if first_to_last > `exploding_ratio`, or per_layer_factor >
//! `per_layer_exploding` with first_to_last > 10, or the largest global gradient norm >
//! `exploding_norm`; else **healthy**.

use gradscope::diagnostics::{
    judge, Confidence, DiagnosticsConfig, Flow, LayerRecord, StepRecord, Thresholds,
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
    assert_eq!(t.per_layer_vanishing, 0.9);
    assert_eq!(t.per_layer_exploding, 1.1);
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

/// first_to_last < `vanishing_ratio` alone: over 61 layers the per-layer factor of 0.0099 is
/// 0.926, above `per_layer_vanishing` (0.9), so only the ratio clause can say vanishing.
/// Fails if `vanishing_ratio` defaults to 1e-3 (the per-layer clause does not fire here).
#[test]
fn vanishing_ratio_clause() {
    assert!(per_layer(0.0099, 61) > 0.92);
    assert_eq!(flow(0.0099, 61, 1.0), Flow::Vanishing);
    assert_eq!(flow(0.0101, 61, 1.0), Flow::Healthy);
    // The threshold is read from the thresholds given.
    let t = Thresholds {
        vanishing_ratio: 0.2,
        ..Thresholds::default()
    };
    assert_eq!(flow_with(0.15, 61, 1.0, &t), Flow::Vanishing);
    assert_eq!(flow_with(0.25, 61, 1.0, &t), Flow::Healthy);
}

/// per_layer_factor < `per_layer_vanishing` with first_to_last < 0.1, between the ratio
/// thresholds (first_to_last = 0.05 > vanishing_ratio).
#[test]
fn per_layer_vanishing_clause() {
    // 29 layers: ×0.8985 per layer; 30 layers: ×0.9018.
    assert!(per_layer(0.05, 29) < 0.9 && per_layer(0.05, 30) > 0.9);
    assert_eq!(flow(0.05, 29, 1.0), Flow::Vanishing);
    assert_eq!(flow(0.05, 30, 1.0), Flow::Healthy);
    // The total must be below 0.1, however steep the per-layer factor.
    assert_eq!(flow(0.099, 2, 1.0), Flow::Vanishing);
    assert_eq!(flow(0.101, 2, 1.0), Flow::Healthy);
    let t = Thresholds {
        per_layer_vanishing: 0.95,
        ..Thresholds::default()
    };
    assert_eq!(flow_with(0.05, 30, 1.0, &t), Flow::Vanishing);
}

/// first_to_last > `exploding_ratio` alone: over 61 layers ×1.08 per layer, below
/// `per_layer_exploding`.
#[test]
fn exploding_ratio_clause() {
    assert!(per_layer(101.0, 61) < 1.1);
    assert_eq!(flow(101.0, 61, 1.0), Flow::Exploding);
    assert_eq!(flow(99.0, 61, 1.0), Flow::Healthy);
    let t = Thresholds {
        exploding_ratio: 50.0,
        ..Thresholds::default()
    };
    assert_eq!(flow_with(60.0, 61, 1.0, &t), Flow::Exploding);
}

/// per_layer_factor > `per_layer_exploding` with first_to_last > 10.
#[test]
fn per_layer_exploding_clause() {
    // 41 layers: ×1.1027 per layer; 43 layers: ×1.0976.
    assert!(per_layer(50.0, 41) > 1.1 && per_layer(50.0, 43) < 1.1);
    assert_eq!(flow(50.0, 41, 1.0), Flow::Exploding);
    assert_eq!(flow(50.0, 43, 1.0), Flow::Healthy);
    assert_eq!(flow(10.1, 2, 1.0), Flow::Exploding);
    assert_eq!(flow(9.9, 2, 1.0), Flow::Healthy);
    let t = Thresholds {
        per_layer_exploding: 1.05,
        ..Thresholds::default()
    };
    assert_eq!(flow_with(50.0, 43, 1.0, &t), Flow::Exploding);
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
    let t = Thresholds {
        exploding_norm: 2000.0,
        ..Thresholds::default()
    };
    assert_eq!(judge(&recs, &t).flow, Flow::Healthy);
}

/// Vanishing is decided first: a vanishing profile with a huge global norm is vanishing.
#[test]
fn vanishing_takes_precedence_over_the_norm() {
    assert_eq!(flow(1e-3, 5, 1e6), Flow::Vanishing);
    assert_eq!(flow(0.05, 3, 1e6), Flow::Vanishing);
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
    // Per-layer factors 0.01 and 0.1 at the first step: log₁₀ −2 and −1, spread 0.5.
    let s = sev(&[record(1, &[1e-3, 0.1, 1.0], 1.0)]);
    assert!((s.per_layer_log10_spread - 0.5).abs() < 1e-12, "{s:?}");
}
