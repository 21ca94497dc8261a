//! The numbers a diagnosis is built from, on inputs whose answer is known by hand: the
//! mean-field prediction of a ReLU stack (closed forms: E[relu'(√q z)²] = ½,
//! E[relu(√q z)²] = q/2), its depth profiles, the per-layer table, the through-time profiles,
//! the comparison of variants, the remedies' overrides, the thresholds' ranges.

use std::path::PathBuf;

use gradscope::config::{Config, LoadedConfig};
use gradscope::diagnostics::compare::{findings, DepthNorm, Finding, Variant};
use gradscope::diagnostics::profile::{sampled_steps, through_time};
use gradscope::diagnostics::recurrent::{GradientSource, RecurrentLayerRecord, RecurrentRecord};
use gradscope::diagnostics::{
    judge, layer_rows, predict, DiagnosticsConfig, Factor, Flow, LayerRecord, Remedy, StepRecord,
    Thresholds, Unavailable,
};
use gradscope::init::Init;
use gradscope::layer::LayerKind;
use gradscope::model::Norm;
use gradscope::recurrent::{CellKind, Predict};
use gradscope::train::{Silent, Trainer};
use gradscope::Activation;

use crate::common::assert_close;

fn linear(index: usize, sigma_w: f64, sigma_b2: f64, update_ratio: f64) -> LayerRecord {
    let mut l = LayerRecord::new(index, index.to_string(), LayerKind::Linear, "linear");
    l.sigma_w = Some(sigma_w);
    l.sigma_b2 = Some(sigma_b2);
    l.update_ratio = Some(update_ratio);
    l
}

fn relu(index: usize, depth: usize, grad: f64) -> LayerRecord {
    let mut l = LayerRecord::new(index, index.to_string(), LayerKind::Activation, "relu");
    l.activation = Some(Activation::Relu);
    l.depth = Some(depth);
    l.grad_in_norm = Some(grad);
    l
}

/// W₁ (σ_w 1.5, σ_b² 0.3) → relu → W₂ (1.2, 0.1) → relu → W₃ (1.0, 0.2) → relu → W₄, input
/// q⁰ = 2, ‖δ_l‖ = 0.2, 0.5, 1.0.
fn relu_stack(step: u64, grads: [f64; 3], ratios: [f64; 4]) -> StepRecord {
    StepRecord {
        step,
        batch_size: None,
        epoch: 1,
        loss: 1.0,
        grad_norm: 1.0,
        input_q0: Some(2.0),
        layers: vec![
            linear(0, 1.5, 0.3, ratios[0]),
            relu(1, 1, grads[0]),
            linear(2, 1.2, 0.1, ratios[1]),
            relu(3, 2, grads[1]),
            linear(4, 1.0, 0.2, ratios[2]),
            relu(5, 3, grads[2]),
            linear(6, 0.7, 0.0, ratios[3]),
        ],
        recurrent: Vec::new(),
    }
}

fn stack() -> StepRecord {
    relu_stack(1, [0.2, 0.5, 1.0], [0.01, 0.02, 0.03, 0.04])
}

#[test]
fn relu_prediction_matches_the_closed_forms() {
    let p = predict(&stack()).unwrap();
    assert_eq!((p.step, p.q0), (1, 2.0));
    assert_eq!(p.layers.len(), 2, "every hidden layer but the last");
    // q₁ = σ_w₁²·q⁰ + σ_b₁² = 2.25·2 + 0.3; q₂ = σ_w₂²·q₁/2 + σ_b₂².
    let q1 = 2.25 * 2.0 + 0.3;
    let q2 = 1.44 * q1 / 2.0 + 0.1;
    // (depth, σ_w² and σ_b² of the weight after the layer, q*, q_l, measured factor)
    let want = [
        (1, 1.44, 0.1, 0.1 / (1.0 - 0.72), q1, 0.2 / 0.5),
        (2, 1.0, 0.2, 0.2 / (1.0 - 0.5), q2, 0.5 / 1.0),
    ];
    for (l, (depth, w2, b2, q_star, q, measured)) in p.layers.iter().zip(want) {
        assert_eq!((l.depth, l.activation), (depth, Activation::Relu));
        assert_close(l.sigma_w2, w2, 1e-12, 0.0, "σ_w²");
        assert_close(l.sigma_b2, b2, 1e-12, 0.0, "σ_b²");
        assert_close(l.q_star, q_star, 1e-6, 0.0, "q*");
        assert_close(l.chi1, w2 / 2.0, 1e-9, 0.0, "χ₁ = σ_w²/2");
        assert_close(l.predicted_factor, (w2 / 2.0).sqrt(), 1e-9, 0.0, "√χ₁");
        assert_close(l.q_layer, q, 1e-12, 0.0, "q_l");
        assert_close(
            l.transient_factor,
            (w2 / 2.0).sqrt(),
            1e-9,
            0.0,
            "transient",
        );
        assert_close(l.measured_factor, measured, 1e-12, 0.0, "measured");
    }
    let f = [0.72f64.sqrt(), 0.5f64.sqrt()];
    assert_close(
        p.predicted_factor,
        (f[0] * f[1]).sqrt(),
        1e-9,
        0.0,
        "geo √χ₁",
    );
    assert_close(p.predicted_first_to_last, f[0] * f[1], 1e-9, 0.0, "Π √χ₁");
    assert_close(
        p.transient_factor,
        (f[0] * f[1]).sqrt(),
        1e-9,
        0.0,
        "geo transient",
    );
    assert_close(
        p.transient_first_to_last,
        f[0] * f[1],
        1e-9,
        0.0,
        "Π transient",
    );
    assert_close(
        p.measured_factor,
        (0.4f64 * 0.5).sqrt(),
        1e-12,
        0.0,
        "geo measured",
    );
    assert_close(p.measured_first_to_last, 0.2, 1e-12, 0.0, "measured total");
    // Mean σ_w² = 1.22, σ_b² = 0.15 → χ₁ = 0.61; critical band e^(2 ln 2/3) − 1.
    assert_close(p.sigma_b2, 0.15, 1e-12, 0.0, "mean σ_b²");
    assert_close(p.chi1, 0.61, 1e-9, 0.0, "χ₁ at the mean");
    assert_close(
        p.critical_tol,
        2f64.powf(2.0 / 3.0) - 1.0,
        1e-12,
        0.0,
        "critical band",
    );
    // Over L = 3 layers χ₁ = 0.61 shrinks the gradient by 0.61^1.5 = 0.48, more than a factor
    // 2: ordered (|ln χ₁| = 0.49 > 2 ln 2/3 = 0.46). At χ₁ = 0.65 (σ_w² of W₂ 1.6: mean 1.3)
    // it changes by 0.52: critical.
    assert_eq!(p.phase, "ordered");
    assert_close(
        p.gradient_scale.unwrap(),
        1.0 / 0.61f64.ln().abs(),
        1e-9,
        0.0,
        "ξ_∇",
    );
    let mut r = stack();
    r.layers[2].sigma_w = Some(1.6f64.sqrt());
    let p = predict(&r).unwrap();
    assert_close(p.chi1, 0.65, 1e-9, 0.0, "χ₁ 0.65");
    assert_eq!(p.phase, "critical");
}

#[test]
fn prediction_profiles_and_what_makes_a_prediction_unavailable() {
    let r = stack();
    let p = predict(&r).unwrap();
    let f = [0.72f64.sqrt(), 0.5f64.sqrt()];
    let prof = p.profile(&[1, 2, 3], 2.0, Factor::FixedPoint).unwrap();
    let want = [(1, 2.0 * f[0] * f[1]), (2, 2.0 * f[1]), (3, 2.0)];
    for ((d, v), (wd, wv)) in prof.iter().zip(want) {
        assert_eq!(*d, wd);
        assert_close(*v, wv, 1e-9, 0.0, "profile");
    }
    let t = p.profile(&[2, 3], 1.0, Factor::Transient).unwrap();
    assert_eq!(t.len(), 2);
    assert_close(t[0].1, f[1], 1e-9, 0.0, "transient profile");
    assert_eq!(p.profile(&[], 1.0, Factor::FixedPoint), None);
    assert_eq!(
        p.profile(&[3, 4], 1.0, Factor::FixedPoint),
        None,
        "no layer 3 factor"
    );
    // Anchored at the record's last ‖δ‖ = 1.
    let a = p.anchored_profile(&r, Factor::FixedPoint).unwrap();
    assert_eq!(a.len(), 3);
    assert_close(a[0].1, f[0] * f[1], 1e-9, 0.0, "anchored");
    // Unavailable: a layer the theory does not cover, one hidden layer, no first weight.
    let mut bn = r.clone();
    bn.layers[2].kind = LayerKind::BatchNorm1d;
    assert_eq!(
        predict(&bn),
        Err(Unavailable::Layer {
            kind: LayerKind::BatchNorm1d
        })
    );
    let mut shallow = r.clone();
    shallow.layers.truncate(3);
    assert_eq!(predict(&shallow), Err(Unavailable::TooShallow));
    let mut no_w1 = r.clone();
    no_w1.layers[0].sigma_w = None;
    assert_eq!(
        predict(&no_w1),
        Err(Unavailable::MissingWeight { depth: 0 })
    );
    let mut no_w2 = r;
    no_w2.layers[2].sigma_w = None;
    assert_eq!(
        predict(&no_w2),
        Err(Unavailable::MissingWeight { depth: 1 })
    );
}

#[test]
fn layer_rows_combine_records_verdict_and_prediction() {
    let recs = [
        stack(),
        relu_stack(2, [0.1, 0.4, 0.8], [0.03, 0.04, 0.05, 0.06]),
    ];
    let v = judge(&recs, &Thresholds::default());
    let p = predict(&recs[0]).unwrap();
    let rows = layer_rows(&recs, &v, Some(&p));
    assert_eq!(rows.len(), 3);
    let (r1, r3) = (&rows[0], &rows[2]);
    assert_eq!((r1.depth, r1.name.as_str()), (1, "relu"));
    assert_eq!(
        (r1.grad_norm_first, r1.grad_norm_last),
        (Some(0.2), Some(0.1))
    );
    // The weight feeding layer 1 is W₁: mean update ratio over the steps, σ_w at the first.
    assert_close(
        r1.update_ratio.unwrap(),
        0.02,
        1e-12,
        0.0,
        "mean update ratio",
    );
    assert_eq!(r1.sigma_w, Some(1.5));
    assert_close(
        rows[1].update_ratio.unwrap(),
        0.03,
        1e-12,
        0.0,
        "layer 2 ratio",
    );
    assert_eq!(rows[1].sigma_w, Some(1.2));
    // ‖δ_1‖/‖δ_2‖ at the first step, and the prediction for that layer.
    assert_close(
        r1.measured_factor.unwrap(),
        0.4,
        1e-12,
        0.0,
        "measured factor",
    );
    assert_close(
        r1.predicted_factor.unwrap(),
        0.72f64.sqrt(),
        1e-9,
        0.0,
        "√χ₁",
    );
    assert_close(
        r1.transient_factor.unwrap(),
        0.72f64.sqrt(),
        1e-9,
        0.0,
        "transient",
    );
    assert_close(
        r1.ratio_to_last,
        v.layers[0].ratio_to_last,
        0.0,
        0.0,
        "verdict ratio",
    );
    // The last hidden layer has no factor of its own.
    assert_eq!((r3.measured_factor, r3.predicted_factor), (None, None));
    assert!(layer_rows(&[], &v, None).is_empty());
    assert_eq!(layer_rows(&recs, &v, None)[0].predicted_factor, None);
}

fn rnn_layer(source: GradientSource, grads: Vec<f64>) -> RecurrentLayerRecord {
    let steps = grads.len();
    RecurrentLayerRecord {
        layer: 1,
        steps,
        hidden: 2,
        source,
        grad_norms: grads,
        cell_grad_norms: None,
        window_start: 1,
        first_to_last: None,
        per_step_factor: None,
        underflow_steps: 0,
        truncation_not_applied: false,
        cell_first_to_last: None,
        cell_per_step_factor: None,
        jacobian_norms: Some(
            (0..steps)
                .map(|i| 0.5f64.powi((steps - 1 - i) as i32))
                .collect(),
        ),
        jacobian_factor: Some(0.5),
        gates: Vec::new(),
        gate_source: None,
        spectral_radius: Some(0.6),
        sigma_max: 0.8,
        blocks: Vec::new(),
        gamma: Some(0.5),
        pascanu_threshold: Some(2.0),
    }
}

fn with_rnn(step: u64, layers: Vec<RecurrentLayerRecord>) -> StepRecord {
    StepRecord {
        step,
        batch_size: None,
        epoch: 1,
        loss: 1.0,
        grad_norm: 1.0,
        input_q0: None,
        layers: Vec::new(),
        recurrent: vec![RecurrentRecord {
            index: 0,
            path: "rnn".into(),
            name: "rnn(1 -> 2, tanh, last)".into(),
            cell: CellKind::Rnn,
            activation: Some(Activation::Tanh),
            predict: Predict::Last,
            truncate: None,
            forget_bias: None,
            layers,
        }],
    }
}

#[test]
fn through_time_profiles_bound_and_sampled_rows() {
    assert_eq!(sampled_steps(0), Vec::<usize>::new());
    assert_eq!(sampled_steps(5), [5, 4, 3, 2, 1]);
    assert_eq!(sampled_steps(12), [12, 10, 8, 6, 4, 2, 1]);
    assert_eq!(sampled_steps(25), [25, 22, 19, 16, 13, 10, 7, 4, 1]);
    let g: Vec<f64> = (1..=12).map(|t| 2f64.powi(t)).collect();
    let first = with_rnn(1, vec![rnn_layer(GradientSource::EveryStep, g.clone())]);
    let mut last_layer = rnn_layer(GradientSource::LastStep, vec![7.0; 12]);
    last_layer.gamma = None;
    let last = with_rnn(4, vec![last_layer]);
    assert!(through_time(&[]).is_empty());
    let tt = through_time(&[first.clone(), last]);
    assert_eq!(tt.len(), 1);
    assert_eq!((tt[0].path.as_str(), tt[0].layers.len()), ("rnn", 1));
    let l = &tt[0].layers[0];
    assert_eq!((l.layer, l.steps, l.first_step, l.last_step), (1, 12, 1, 4));
    assert_eq!(l.grad_norms_first, g);
    assert_eq!(l.grad_norms_last, vec![7.0; 12]);
    // Bound ‖∂L/∂h_T‖·(γσ_max)^(T−t) = 4096·0.4^(12−t); the Jacobian product scaled by it.
    let bound = l.bound_first.as_ref().unwrap();
    let jac = l.jacobian_first.as_ref().unwrap();
    for t in 1..=12 {
        let k = (12 - t) as i32;
        assert_close(bound[t - 1], 4096.0 * 0.4f64.powi(k), 1e-12, 0.0, "bound");
        assert_close(jac[t - 1], 4096.0 * 0.5f64.powi(k), 1e-12, 0.0, "jacobian");
    }
    let rows = l.sampled_rows();
    assert_eq!(
        rows.iter().map(|r| r.t).collect::<Vec<_>>(),
        [12, 10, 8, 6, 4, 2, 1]
    );
    let r = &rows[1];
    assert_eq!((r.t, r.grad_first, r.grad_last), (10, 1024.0, Some(7.0)));
    assert_close(r.ratio_first, 0.25, 1e-15, 0.0, "ratio");
    assert_close(r.bound_ratio.unwrap(), 0.16, 1e-12, 0.0, "bound ratio");
    assert_close(
        r.jacobian_ratio.unwrap(),
        0.25,
        1e-12,
        0.0,
        "jacobian ratio",
    );
    assert_eq!(r.cell_grad_first, None);
    // Only h_T receiving a gradient: no Jacobian profile; no γ: no bound.
    let only = through_time(&[with_rnn(1, vec![rnn_layer(GradientSource::LastStep, g)])]);
    assert_eq!(only[0].layers[0].jacobian_first, None);
    let mut no_gamma = first.recurrent[0].layers[0].clone();
    no_gamma.gamma = None;
    let tt = through_time(&[with_rnn(1, vec![no_gamma])]);
    assert_eq!(tt[0].layers[0].bound_first, None);
}

#[test]
fn every_remedy_names_the_keys_that_apply_it() {
    let cases: Vec<(Remedy, Vec<&str>)> = vec![
        (
            Remedy::Activation {
                activation: Activation::Relu,
                init: Init::KaimingNormal {
                    gain: 0.0,
                    fan_out: false,
                },
            },
            vec![
                "model.activation=\"relu\"",
                "model.init=\"kaiming_normal(gain=auto, mode=fan_in)\"",
            ],
        ),
        (
            Remedy::Norm {
                norm: Norm::Batchnorm,
            },
            vec!["model.norm=\"batchnorm\""],
        ),
        (Remedy::Residual, vec!["model.residual=true"]),
        (
            Remedy::ClipNorm { max_norm: 1.0 },
            vec!["training.clip={ kind = \"norm\", max_norm = 1.0 }"],
        ),
        (Remedy::LowerLearningRate { factor: 0.1 }, vec![]),
        (
            Remedy::WeightDecay { weight_decay: 1e-4 },
            vec!["training.optimizer.weight_decay=0.0001"],
        ),
        (
            Remedy::GatedCell {
                cell: CellKind::Lstm,
                forget_bias: Some(1.0),
            },
            vec![
                "model.recurrent.cell=\"lstm\"",
                "model.recurrent.forget_bias=1.0",
            ],
        ),
        (
            Remedy::SpectralRadius { radius: 1.0 },
            vec!["model.recurrent.spectral_radius=1.0"],
        ),
        (
            Remedy::Truncate { steps: 5 },
            vec!["model.recurrent.truncate=5"],
        ),
        (Remedy::StandardizeInputs, vec!["data.standardize=true"]),
    ];
    for (r, want) in cases {
        assert_eq!(r.overrides(), want, "{r:?}");
    }
}

#[test]
fn threshold_and_table_ranges_are_checked() {
    assert!(DiagnosticsConfig::default().validate().is_ok());
    let bad = |f: &dyn Fn(&mut Thresholds)| {
        let mut t = Thresholds::default();
        f(&mut t);
        t.validate().is_err()
    };
    // Each bound on its own: 0 < vanishing_ratio < 1 < exploding_ratio,
    // exploding_norm > 0,
    // saturated and dead in [0, 1].
    assert!(bad(&|t| t.vanishing_ratio = 0.0));
    assert!(bad(&|t| t.vanishing_ratio = 1.0));
    assert!(bad(&|t| t.exploding_ratio = 1.0));
    assert!(bad(&|t| t.exploding_norm = 0.0));
    assert!(bad(&|t| t.saturated = 1.01));
    assert!(bad(&|t| t.saturated = -0.01));
    assert!(bad(&|t| t.dead = 1.01));
    assert!(bad(&|t| t.dead = -0.01));
    // The edges that are allowed.
    assert!(!bad(&|t| {
        t.vanishing_ratio = 0.999;
        t.exploding_ratio = 1.001;
        t.exploding_norm = 1e-9;
        t.saturated = 0.0;
        t.dead = 1.0;
    }));
    assert!(!bad(&|t| {
        t.saturated = 1.0;
        t.dead = 0.0;
    }));
    let cfg = |every: u64, bins: usize| DiagnosticsConfig {
        every,
        bins,
        ..DiagnosticsConfig::default()
    };
    assert!(cfg(0, 24).validate().is_err());
    assert!(cfg(1, 0).validate().is_err());
    assert!(cfg(1, 1001).validate().is_err());
    assert!(cfg(1, 1).validate().is_ok() && cfg(1, 1000).validate().is_ok());
    let mut c = cfg(1, 24);
    c.thresholds.dead = 2.0;
    assert!(c.validate().is_err(), "the thresholds are checked too");
    // Step 1 and every `every`-th step are measured.
    let due: Vec<u64> = (1..=10).filter(|s| cfg(4, 24).due(*s)).collect();
    assert_eq!(due, [1, 4, 8]);
}

/// A variant from a short run of a real network, then variants made from it by hand to see
/// every finding.
#[test]
fn variants_and_the_findings_of_a_comparison() {
    let text = "seed = 3\ndtype = \"f64\"\n[data]\nsource = \"digits\"\nlimit = 200\n[model]\n\
                hidden = [16, 16, 16]\nactivation = \"sigmoid\"\ninit = \"xavier_normal\"\n\
                [training]\nepochs = 1\nmax_steps = 3\nbatch_size = 32\n[diagnostics]\nevery = 1\n";
    let loaded = LoadedConfig {
        config: Config::parse(text, "v.toml", &[]).unwrap(),
        source: "v.toml".into(),
        base_dir: PathBuf::from("."),
    };
    let mut t = Trainer::<f64>::new(&loaded).unwrap();
    let run = t.run_collecting(&mut Silent).unwrap();
    let v = Variant::from_run("v", "V", "v.toml", &loaded.config, &run).unwrap();
    let (first, last) = (&run.records[0], &run.records[2]);
    assert_eq!(
        (v.end_step, v.steps, v.activation),
        (3, 3, Activation::Sigmoid)
    );
    assert_eq!(
        (v.ratio_init, v.ratio_end),
        (first.first_to_last(), last.first_to_last())
    );
    let dn = |r: &StepRecord| -> Vec<DepthNorm> {
        r.deltas()
            .into_iter()
            .map(|(depth, norm)| DepthNorm { depth, norm })
            .collect()
    };
    assert_eq!(
        (v.grad_norms_init.clone(), v.grad_norms_end.clone()),
        (dn(first), dn(last))
    );
    let t0 = Thresholds::default();
    assert_eq!(v.flow_init, judge(std::slice::from_ref(first), &t0).flow);
    assert_eq!(v.verdict, judge(&run.records, &t0));
    assert!(v.theory.is_some() && v.theory_unavailable.is_none());
    assert_eq!(
        v.theory_relative_init(),
        v.theory
            .as_ref()
            .unwrap()
            .profile(&[1, 2, 3], 1.0, Factor::Transient)
    );
    // Relative norms and the per-layer factor, by hand.
    let mut a = v.clone();
    a.grad_norms_init = [2.0, 4.0, 8.0]
        .iter()
        .enumerate()
        .map(|(i, &norm)| DepthNorm { depth: i + 1, norm })
        .collect();
    a.grad_norms_end = vec![
        DepthNorm {
            depth: 1,
            norm: 3.0,
        },
        DepthNorm {
            depth: 2,
            norm: 6.0,
        },
    ];
    assert_eq!(a.relative_norms_init(), [(1, 0.25), (2, 0.5), (3, 1.0)]);
    assert_eq!(a.relative_norms_end(), [(1, 0.5), (2, 1.0)]);
    a.ratio_init = Some(0.01);
    assert_close(a.factor_init().unwrap(), 0.1, 1e-12, 0.0, "factor_init");
    // Four variants: A unhealthy at init; B healthy, exploding over the run; C = A with
    // BatchNorm, healthy; D a relu with A's init, listed first.
    let mk = |label: &str, act: Activation, norm: Norm, init: Flow, run: Flow, acc: f64| {
        let mut x = v.clone();
        x.label = label.into();
        x.activation = act;
        x.norm = norm;
        x.flow_init = init;
        x.verdict.flow = run;
        x.test_accuracy = Some(acc);
        x.ratio_init = Some(acc / 10.0);
        x
    };
    let sig = Activation::Sigmoid;
    let vs = vec![
        mk(
            "D",
            Activation::Relu,
            Norm::None,
            Flow::Healthy,
            Flow::Healthy,
            0.85,
        ),
        mk("A", sig, Norm::None, Flow::Vanishing, Flow::Vanishing, 0.3),
        mk(
            "B",
            sig,
            Norm::Batchnorm,
            Flow::Healthy,
            Flow::Exploding,
            0.9,
        ),
    ];
    let f = findings(&vs);
    let kinds: Vec<&str> = f
        .iter()
        .map(|x| match x {
            Finding::UnhealthyAtInit { .. } => "unhealthy",
            Finding::HealthyAtInit { .. } => "healthy",
            Finding::AccuracyFollowsVerdict { .. } => "follows",
            Finding::BatchNormEffect { .. } => "batchnorm",
            Finding::TheoryVsMeasured { .. } => "theory",
            Finding::Best { .. } => "best",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "unhealthy",
            "healthy",
            "follows",
            "batchnorm",
            "theory",
            "best"
        ]
    );
    match &f[0] {
        Finding::UnhealthyAtInit {
            label,
            flow_init,
            flow_run,
            test_accuracy,
            ..
        } => {
            assert_eq!(label, "A");
            assert_eq!(
                (*flow_init, *flow_run, *test_accuracy),
                (Flow::Vanishing, Flow::Vanishing, Some(0.3))
            );
        }
        other => panic!("{other:?}"),
    }
    match &f[1] {
        Finding::HealthyAtInit {
            labels,
            ratio_range,
            changed,
            accuracy_range,
        } => {
            assert_eq!(labels, &["D", "B"]);
            assert_close(ratio_range[0], 0.085, 1e-12, 0.0, "min ratio");
            assert_close(ratio_range[1], 0.09, 1e-12, 0.0, "max ratio");
            assert_eq!(changed, &[("B".to_string(), Flow::Exploding)]);
            assert_eq!(*accuracy_range, Some([0.85, 0.9]));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        f[2],
        Finding::AccuracyFollowsVerdict {
            follows: true,
            best_unhealthy: 0.3,
            worst_healthy: 0.85
        }
    );
    // B's plain twin is A (same activation and init, no norm), not D.
    assert_eq!(
        f[3],
        Finding::BatchNormEffect {
            activation: sig,
            flow: [Flow::Vanishing, Flow::Healthy],
            ratio: [Some(0.3 / 10.0), Some(0.9 / 10.0)],
            accuracy: [Some(0.3), Some(0.9)],
        }
    );
    match &f[4] {
        Finding::TheoryVsMeasured { entries } => {
            assert_eq!(entries.len(), 3);
            let p = v.theory.as_ref().unwrap();
            assert_eq!(
                entries[1],
                (
                    "A".to_string(),
                    p.predicted_factor,
                    p.transient_factor,
                    p.measured_factor
                )
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        f[5],
        Finding::Best {
            label: "B".into(),
            accuracy: 0.9
        }
    );
    // An unhealthy variant above a healthy one: accuracy does not follow the verdict.
    let vs = vec![
        mk("A", sig, Norm::None, Flow::Exploding, Flow::Exploding, 0.95),
        mk("B", sig, Norm::None, Flow::Healthy, Flow::Healthy, 0.9),
    ];
    assert!(findings(&vs).contains(&Finding::AccuracyFollowsVerdict {
        follows: false,
        best_unhealthy: 0.95,
        worst_healthy: 0.9
    }));
}

/// The distribution view: per measured step, quantiles of the gradient histogram without its
/// below-the-first-edge samples (reported as a share instead), and of the activations.
#[test]
fn distributions_of_the_recorded_histograms() {
    use gradscope::diagnostics::distribution::distributions;
    use gradscope::diagnostics::Histogram;
    let grad = Histogram {
        edges: vec![1e-4, 1e-3, 1e-2],
        counts: vec![2, 2],
        below: 4,
        above: 0,
    };
    let act = Histogram {
        edges: vec![0.0, 0.5, 1.0],
        counts: vec![5, 5],
        below: 0,
        above: 0,
    };
    let mut recs: Vec<StepRecord> = (1..=3)
        .map(|s| relu_stack(s, [0.2, 0.5, 1.0], [0.0; 4]))
        .collect();
    for r in &mut recs[..2] {
        r.layers[1].grad_hist = Some(grad.clone());
        r.layers[1].act_hist = Some(act.clone());
        r.layers[3].act_hist = Some(act.clone());
    }
    let d = distributions(&recs);
    assert_eq!(
        d.iter().map(|l| l.depth).collect::<Vec<_>>(),
        [1, 2],
        "layer 3 has none"
    );
    let l1 = &d[0];
    assert_eq!((l1.name.as_str(), l1.gradient_floor), ("relu", Some(1e-4)));
    assert_eq!(l1.points.iter().map(|p| p.step).collect::<Vec<_>>(), [1, 2]);
    let p = &l1.points[0];
    // 4 of 8 samples below the first edge; the median of the other 4 is the edge 1e-3.
    assert_eq!(p.gradient_below, Some(0.5));
    let g = p.gradient.unwrap();
    assert_close(g.p50, 1e-3, 1e-12, 0.0, "gradient median");
    assert_close(
        g.p25,
        10f64.powf(-3.5),
        1e-12,
        0.0,
        "geometric within the bin",
    );
    assert_eq!(p.activation.unwrap().p50, 0.5);
    let p2 = &d[1].points[0];
    assert_eq!((p2.gradient, p2.gradient_below), (None, None));
    assert!(p2.activation.is_some());
    assert!(distributions(&[]).is_empty());
}

/// The summary statistics on inputs long enough for the eight-lane loop of `norm_and_max`
/// and its remainder, with the largest |x| in either part.
#[test]
fn norms_means_histograms_and_quantiles_by_hand() {
    use gradscope::diagnostics::{
        linear_histogram, log_abs_histogram, mean_std, norm_and_max, quantiles,
    };
    // 19 values: 1..=19 with signs alternating; the largest |x| first in the lanes, then in
    // the remainder.
    let mut x: Vec<f64> = (1..=19)
        .map(|i| if i % 2 == 0 { -(i as f64) } else { i as f64 })
        .collect();
    let sum_sq: f64 = (1..=19).map(|i| (i * i) as f64).sum();
    let (n, m) = norm_and_max(&x);
    assert_eq!((n, m), (sum_sq.sqrt(), 19.0));
    x.swap(18, 3);
    assert_eq!(norm_and_max(&x), (sum_sq.sqrt(), 19.0));
    let (n, m) = norm_and_max(&x[..16]);
    assert!(
        (n - (1..=16)
            .filter(|i| *i != 4)
            .map(|i| (i * i) as f64)
            .sum::<f64>()
            .add_sq(19.0)
            .sqrt())
        .abs()
            < 1e-12
    );
    assert_eq!(m, 19.0);
    assert_eq!(norm_and_max::<f64>(&[]), (0.0, 0.0));
    let (n, m) = norm_and_max(&[1.0, f64::NAN, 2.0]);
    assert!(n.is_nan() && m.is_nan(), "a NaN is reported in both");
    // Mean and population standard deviation.
    assert_eq!(mean_std(&[1.0, 2.0, 3.0, 6.0]), (3.0, 3.5f64.sqrt()));
    assert_eq!(mean_std::<f64>(&[]), (0.0, 0.0));
    // |x| on 4 bins over 1e-4 … 1e4 (two decades each): 0 and NaN below, 1e4 and above above.
    let h = log_abs_histogram(&[0.0, f64::NAN, 5e-4, -3e-2, 0.5, 20.0, 1e4, 2e5], -4, 4, 4);
    assert_eq!(h.edges.len(), 5);
    assert_eq!(
        (h.counts.clone(), h.below, h.above),
        (vec![1, 2, 1, 0], 2, 2)
    );
    assert_eq!(h.total(), 8);
    // Linear bins over [min, max]; a constant input spans one unit; infinities are `above`.
    let h = linear_histogram(&[0.0, 1.0, 2.0, 3.0, 4.0, f64::INFINITY], 4);
    assert_eq!(h.edges, [0.0, 1.0, 2.0, 3.0, 4.0]);
    assert_eq!(
        (h.counts.clone(), h.below, h.above),
        (vec![1, 1, 1, 2], 0, 1)
    );
    let h = linear_histogram(&[2.0, 2.0], 2);
    assert_eq!(
        (h.edges.clone(), h.counts.clone()),
        (vec![2.0, 2.5, 3.0], vec![2, 0])
    );
    // Nearest-rank quantiles over 101 values 0..=100 (shuffled): exactly 2, 25, 50, 75, 98.
    let v: Vec<f64> = (0..=100).map(|i| ((i * 37) % 101) as f64).collect();
    let mut buf = Vec::new();
    let q = quantiles(&v, &mut buf).unwrap();
    assert_eq!(
        [q.p02, q.p25, q.p50, q.p75, q.p98],
        [2.0, 25.0, 50.0, 75.0, 98.0]
    );
    assert_eq!(quantiles(&[f64::NAN], &mut buf), None);
    // Negative values and signed zeros in f64::total_cmp's order (−0 before +0).
    let q = quantiles(&[2.0, 0.0, -1.0, -3.5, -0.0, f64::INFINITY], &mut buf).unwrap();
    let got = [q.p02, q.p25, q.p50, q.p75, q.p98];
    assert_eq!(got, [-3.5, -1.0, -0.0, 0.0, 2.0]);
    assert!(got[2].is_sign_negative() && got[3].is_sign_positive());
}

trait AddSq {
    fn add_sq(self, x: f64) -> f64;
}

impl AddSq for f64 {
    fn add_sq(self, x: f64) -> f64 {
        self + x * x
    }
}

/// The table-driven log histogram against counting each |x| by comparing it with every edge,
/// on values spread over 40 decades, exact edges and their neighbours, zeros, NaN and ±∞, for
/// bin counts from 1 to 1000 (more than one edge per table bucket) — whole and strided.
#[test]
fn log_histogram_table_matches_comparing_with_every_edge() {
    use gradscope::diagnostics::{log_abs_histogram, log_abs_histogram_strided, Histogram};
    let mut rng = gradscope::Rng::seed(7);
    let mut x: Vec<f64> = (0..5000)
        .map(|_| {
            let v = 10f64.powf(rng.uniform(-25.0, 15.0));
            if rng.below(2) == 0 {
                v
            } else {
                -v
            }
        })
        .collect();
    x.extend([
        0.0,
        -0.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
    ]);
    for (lo, hi, bins) in [
        (-14, 2, 24),
        (-4, 4, 4),
        (-14, 2, 1),
        (-3, 0, 1000),
        (0, 1, 7),
    ] {
        let by_edges = |x: &[f64], stride: usize| -> Histogram {
            let h = log_abs_histogram(&[0.0f64], lo, hi, bins);
            let e = &h.edges;
            let (mut counts, mut below, mut above) = (vec![0u64; bins], 0, 0);
            for v in x.iter().step_by(stride) {
                let a = v.abs();
                if a.is_nan() || a < e[0] {
                    below += 1;
                } else if a >= e[bins] {
                    above += 1;
                } else {
                    counts[(0..bins).find(|&t| a < e[t + 1]).unwrap()] += 1;
                }
            }
            Histogram {
                edges: e.clone(),
                counts,
                below,
                above,
            }
        };
        // Each edge, and the next f64 on either side, is binned as the comparison bins it.
        let edges = by_edges(&[], 1).edges;
        let mut y = x.clone();
        for e in &edges {
            y.extend([
                *e,
                f64::from_bits(e.to_bits() - 1),
                f64::from_bits(e.to_bits() + 1),
            ]);
        }
        assert_eq!(
            log_abs_histogram(&y, lo, hi, bins),
            by_edges(&y, 1),
            "{lo} {hi} {bins}"
        );
        for stride in [2, 3, 64] {
            assert_eq!(
                log_abs_histogram_strided(&y, stride, lo, hi, bins),
                by_edges(&y, stride),
                "{lo} {hi} {bins} stride {stride}"
            );
        }
        let h32 = log_abs_histogram(
            &y.iter().map(|v| *v as f32).collect::<Vec<_>>(),
            lo,
            hi,
            bins,
        );
        assert_eq!(h32.total(), y.len() as u64);
    }
}

/// Quantiles and histograms of a large activation come from its strided sample, everything
/// else from every value; a tensor of at most SAMPLE_LIMIT values is used whole.
#[test]
fn large_tensors_are_sampled_for_quantiles_only() {
    use gradscope::diagnostics::{
        quantiles, sample_stride, ActivationFacts, ActivationStats, SAMPLE_LIMIT,
    };
    assert_eq!(sample_stride(0), 1);
    assert_eq!(sample_stride(SAMPLE_LIMIT), 1);
    assert_eq!(sample_stride(SAMPLE_LIMIT + 1), 2);
    assert_eq!(sample_stride(3 * SAMPLE_LIMIT), 3);
    let facts = ActivationFacts::of(Activation::Relu);
    // 2·SAMPLE_LIMIT values: the even positions hold 0..SAMPLE_LIMIT, the odd ones 10⁶ (so the
    // sample, every second value, sees none of them; the mean does).
    let n = 2 * SAMPLE_LIMIT;
    let a: Vec<f64> = (0..n)
        .map(|i| if i % 2 == 0 { (i / 2) as f64 } else { 1e6 })
        .collect();
    let s = ActivationStats::measure(&facts, Some(&a), &a, 64);
    let q = s.quantiles.unwrap();
    let even: Vec<f64> = a.iter().step_by(2).copied().collect();
    assert_eq!(Some(q), quantiles(&even, &mut Vec::new()));
    assert!(q.p98 < 1e6);
    let mean = a.iter().sum::<f64>() / n as f64;
    assert!((s.mean - mean).abs() < 1e-9 * mean, "{} {mean}", s.mean);
    // Whole below the limit: the 1e6 values are in the quantiles.
    let s = ActivationStats::measure(&facts, Some(&a[..SAMPLE_LIMIT]), &a[..SAMPLE_LIMIT], 64);
    assert_eq!(s.quantiles.unwrap().p98, 1e6);
}

/// The activation statistics' quantiles (found through the histogram's bins) are exactly the
/// nearest-rank quantiles of `quantiles`, on data with ties, zeros of both signs, heavy
/// tails, constants and non-finite values, at every length from 1 to 40 and at 10⁴.
#[test]
fn activation_quantiles_through_the_histogram_are_exact() {
    use gradscope::diagnostics::{quantiles, ActivationFacts, ActivationStats};
    let facts = ActivationFacts::of(Activation::Tanh);
    let mut rng = gradscope::Rng::seed(11);
    let mut cases: Vec<Vec<f64>> = Vec::new();
    for n in (1..=40).chain([10_000]) {
        cases.push((0..n).map(|_| rng.normal()).collect());
        cases.push((0..n).map(|_| rng.normal().max(0.0)).collect());
        cases.push((0..n).map(|_| (rng.normal() * 10.0).exp()).collect());
        cases.push((0..n).map(|_| (rng.below(3) as f64) - 1.0).collect());
        cases.push(vec![0.25; n]);
        cases.push(
            (0..n)
                .map(|i| match i % 7 {
                    0 => f64::NAN,
                    1 => f64::INFINITY,
                    2 => -0.0,
                    3 => 0.0,
                    _ => rng.normal(),
                })
                .collect(),
        );
    }
    let mut keys = Vec::new();
    for (c, a) in cases.iter().enumerate() {
        for a in [a.clone(), a.iter().map(|v| *v as f32 as f64).collect()] {
            let got = ActivationStats::measure(&facts, None, &a, 1).quantiles;
            let want = quantiles(&a, &mut keys);
            let bits = |q: Option<gradscope::diagnostics::Quantiles>| {
                q.map(|q| [q.p02, q.p25, q.p50, q.p75, q.p98].map(f64::to_bits))
            };
            assert_eq!(bits(got), bits(want), "case {c}, n = {}", a.len());
        }
    }
}

/// A model with nothing to diagnose is refused with what would make it diagnosable: the
/// gradient through time for a recurrent model measured without it, activation modules
/// otherwise.
#[test]
fn nothing_to_diagnose_says_what_is_missing() {
    use gradscope::diagnostics::{Diagnosis, DiagnosticsConfig, LayerRecord, StepRecord};
    let config = DiagnosticsConfig::default();
    let refuse = |layers: Vec<LayerRecord>| {
        let record = StepRecord::new(1, 0.5, 1.0, layers);
        Diagnosis::from_records("hooks", &config, &[record], 1, vec![], 0.0)
            .unwrap_err()
            .to_string()
    };
    let e = refuse(vec![
        LayerRecord::new(0, "rnn", LayerKind::Recurrent, "lstm"),
        LayerRecord::new(1, "fc", LayerKind::Linear, "linear"),
    ]);
    assert!(e.contains("unroll_recurrent=True"), "{e}");
    let e = refuse(vec![LayerRecord::new(0, "fc", LayerKind::Linear, "linear")]);
    assert!(e.contains("model.hidden") && e.contains("nn.ReLU()"), "{e}");
    assert!(
        e.contains("hooks: the model has no hidden activation layers"),
        "{e}"
    );
}

/// Each remedy in PyTorch's terms names the PyTorch call that applies it, with the numbers of
/// the remedy.
#[test]
fn remedies_in_pytorch_terms() {
    use gradscope::diagnostics::explain::pytorch_text;
    use gradscope::recurrent::CellKind;
    let he = Init::KaimingNormal {
        gain: 0.0,
        fan_out: false,
    };
    let cases: Vec<(Remedy, &[&str])> = vec![
        (
            Remedy::Activation {
                activation: Activation::Relu,
                init: he,
            },
            &[
                "nn.ReLU()",
                "nn.init.kaiming_normal_(w, mode='fan_in', nonlinearity='relu')",
            ],
        ),
        (
            Remedy::Activation {
                activation: Activation::LeakyRelu { slope: 0.1 },
                init: he,
            },
            &["nn.LeakyReLU(0.100)", "nonlinearity='leaky_relu', a=0.100"],
        ),
        (
            Remedy::Norm {
                norm: Norm::Batchnorm,
            },
            &["nn.BatchNorm1d", "nn.BatchNorm2d"],
        ),
        (
            Remedy::Norm {
                norm: Norm::Layernorm,
            },
            &["nn.LayerNorm"],
        ),
        (Remedy::Residual, &["x + self.block(x)"]),
        (
            Remedy::Init {
                init: Init::Variance { sigma_w2: 1.76 },
            },
            &["nn.init.normal_(w, std=math.sqrt(1.760 / fan_in))"],
        ),
        (
            Remedy::ClipNorm { max_norm: 5.0 },
            &["clip_grad_norm_", "max_norm=5.000"],
        ),
        (
            Remedy::LowerLearningRate { factor: 0.1 },
            &["g['lr'] *= 0.100"],
        ),
        (
            Remedy::WeightDecay { weight_decay: 1e-4 },
            &["weight_decay=1.0e-4"],
        ),
        (
            Remedy::GatedCell {
                cell: CellKind::Lstm,
                forget_bias: Some(1.0),
            },
            &["nn.LSTM(", "bias_ih_l0[H:2H]", "1.000"],
        ),
        (
            Remedy::ForgetBias { bias: 3.0 },
            &["fill_(3.000)", "i, f, g, o"],
        ),
        (
            Remedy::RecurrentInit {
                init: Init::Orthogonal { gain: 1.0 },
            },
            &["weight_hh_l0", "nn.init.orthogonal_(w, gain=1.000)"],
        ),
        (
            Remedy::SpectralRadius { radius: 0.9 },
            &["eigvals", "0.900"],
        ),
        (
            Remedy::Truncate { steps: 20 },
            &["chunks of 20 steps", "h.detach()"],
        ),
        (Remedy::StandardizeInputs, &["(x - mean) / std"]),
    ];
    for (remedy, want) in cases {
        let t = pytorch_text(&remedy);
        assert!(t.starts_with("in PyTorch: "), "{t}");
        for w in want {
            assert!(t.contains(w), "{remedy:?}: {t} lacks {w}");
        }
    }
}
