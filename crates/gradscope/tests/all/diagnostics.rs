//! The gradient scope on constructed cases: verdicts, per-layer records, instrumentation.

use std::path::PathBuf;

use gradscope::config::{Config, LoadedConfig};
use gradscope::diagnostics::Remedy;
use gradscope::diagnostics::StepRecord;
use gradscope::diagnostics::{judge, Flow, Thresholds};
use gradscope::layer::LayerKind;
use gradscope::model::Norm;
use gradscope::train::Trainer;

use crate::common::Collect;

fn records(model: &str, steps: u64) -> Vec<StepRecord> {
    let text = format!(
        "seed = 3\n[data]\nsource = \"digits\"\n[model]\n{model}\n[training]\nepochs = 100\nmax_steps = {steps}\n\
         batch_size = 64\noptimizer = {{ kind = \"sgd\", lr = 0.01 }}\n[diagnostics]\nevery = 1\n"
    );
    let cfg = LoadedConfig {
        config: Config::parse(&text, "t.toml", &[]).unwrap(),
        source: "t.toml".into(),
        base_dir: PathBuf::from("."),
    };
    let mut t = Trainer::<f32>::new(&cfg).unwrap();
    let mut c = Collect::default();
    t.run(&mut c).unwrap();
    c.0
}

#[test]
fn deep_sigmoid_with_standard_init_vanishes() {
    let recs = records(
        "hidden = [64, 64, 64, 64, 64, 64, 64, 64, 64, 64]\nactivation = \"sigmoid\"\ninit = \"standard\"",
        5,
    );
    assert_eq!(recs.len(), 5);
    let v = judge(&recs, &Thresholds::default());
    assert_eq!(v.flow, Flow::Vanishing, "{v:#?}");
    assert!(v.first_to_last < 1e-3 && v.per_layer_factor < 0.5, "{v:#?}");
    assert!(
        v.explanation.contains("layer 1") && v.explanation.contains("chain rule"),
        "{}",
        v.explanation
    );
    assert!(v.remedies[0].text.contains("relu"), "{:?}", v.remedies);
}

/// ×1.16 per layer: 68 over 30 layers is within the ratio thresholds (no per-layer clause),
/// about 300 over 40 is exploding.
#[test]
fn tanh_with_sigma_w2_4_explodes() {
    let hidden = vec!["128"; 40].join(", ");
    let recs = records(
        &format!("hidden = [{hidden}]\nactivation = \"tanh\"\ninit = \"kaiming_normal(gain=2)\""),
        3,
    );
    let v = judge(&recs, &Thresholds::default());
    assert_eq!(
        v.flow,
        Flow::Exploding,
        "{} {:?}",
        v.first_to_last,
        v.explanation
    );
    assert!(v.per_layer_factor > 1.05);
    assert!(v.remedies[0].text.contains("clip"), "{:?}", v.remedies);
}

#[test]
fn relu_with_he_init_at_depth_20_is_healthy() {
    let hidden = vec!["128"; 20].join(", ");
    let recs = records(
        &format!("hidden = [{hidden}]\nactivation = \"relu\"\ninit = \"kaiming_normal\""),
        3,
    );
    let v = judge(&recs, &Thresholds::default());
    assert_eq!(
        v.flow,
        Flow::Healthy,
        "{} {}",
        v.first_to_last,
        v.explanation
    );
    assert_eq!(v.layers.len(), 20);
}

#[test]
fn records_hold_every_measurement() {
    let recs = records(
        "hidden = [32, 32]\nactivation = \"relu\"\ninit = \"kaiming_normal\"",
        2,
    );
    let r = &recs[1];
    assert_eq!(r.step, 2);
    let acts: Vec<_> = r.activations().collect();
    assert_eq!(
        acts.iter().map(|l| l.depth).collect::<Vec<_>>(),
        [Some(1), Some(2)]
    );
    for a in &acts {
        assert!(a.grad_in_norm.unwrap() > 0.0 && a.grad_out_norm > 0.0);
        assert!(a.saturated_fraction.is_some() && a.dead_fraction.is_some());
        let h = a.grad_hist.as_ref().unwrap();
        assert_eq!(h.edges.len(), h.counts.len() + 1);
        let total: u64 = h.counts.iter().sum::<u64>() + h.below + h.above;
        assert_eq!(total, 64 * 32);
    }
    let lin = r
        .layers
        .iter()
        .find(|l| l.kind == LayerKind::Linear)
        .unwrap();
    let ratio = lin.update_ratio.unwrap();
    assert!(ratio > 0.0 && ratio < 1.0, "{ratio}");
    // He init: σ_w ≈ √2.
    assert!(
        (lin.sigma_w.unwrap() - 2f64.sqrt()).abs() < 0.2,
        "{:?}",
        lin.sigma_w
    );
}

#[test]
fn histogram_quantiles_interpolate_within_bins() {
    use gradscope::diagnostics::Histogram;
    // 10 samples: 2 below the first edge, 4 in [1, 2), 4 in [2, 4).
    let h = Histogram {
        edges: vec![1.0, 2.0, 4.0],
        counts: vec![4, 4],
        below: 2,
        above: 0,
    };
    assert_eq!(h.total(), 10);
    assert_eq!(
        h.quantile(0.1, false),
        Some(1.0),
        "in the zeros: the first edge"
    );
    assert_eq!(h.quantile(0.4, false), Some(1.5));
    assert_eq!(
        h.quantile(0.8, true),
        Some(2.0 * 2f64.sqrt()),
        "geometric in log bins"
    );
    assert_eq!(h.quantile(1.0, false), Some(4.0));
    let empty = Histogram {
        edges: vec![0.0, 1.0],
        counts: vec![0],
        below: 0,
        above: 0,
    };
    assert_eq!(empty.quantile(0.5, false), None);
}

#[test]
fn distributions_follow_every_hidden_layer_and_prediction_profiles_anchor_at_the_last() {
    use gradscope::diagnostics::distribution::distributions;
    use gradscope::diagnostics::{predict, Factor};
    let recs = records(
        "hidden = [16, 16, 16]\nactivation = \"tanh\"\ninit = \"xavier_normal\"",
        3,
    );
    let d = distributions(&recs);
    assert_eq!(d.len(), 3);
    for l in &d {
        assert_eq!(l.points.len(), 3);
        let g = l.points[0].gradient.expect("gradient quantiles");
        assert!(g.p02 <= g.p50 && g.p50 <= g.p98 && g.p50 > 0.0);
        let a = l.points[0].activation.expect("activation quantiles");
        assert!(a.p02 >= -1.0 && a.p98 <= 1.0);
    }
    let p = predict(&recs[0]).unwrap();
    let prof = p.anchored_profile(&recs[0], Factor::Transient).unwrap();
    let deltas = recs[0].deltas();
    assert_eq!(prof.len(), 3);
    assert_eq!(prof[2], deltas[2], "anchored at the last hidden layer");
    let f = p
        .layers
        .iter()
        .find(|l| l.depth == 2)
        .unwrap()
        .transient_factor;
    assert!((prof[1].1 / prof[2].1 - f).abs() < 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Which normalization the verdict recommends
// ---------------------------------------------------------------------------------------------

fn run_config(text: &str) -> (Config, Vec<StepRecord>) {
    let cfg = LoadedConfig {
        config: Config::parse(text, "t.toml", &[]).unwrap(),
        source: "t.toml".into(),
        base_dir: PathBuf::from("."),
    };
    let mut t = Trainer::<f32>::new(&cfg).unwrap();
    let mut c = Collect::default();
    t.run(&mut c).unwrap();
    (cfg.config, c.0)
}

fn norm_remedies(v: &gradscope::diagnostics::Verdict) -> Vec<(Norm, String)> {
    v.remedies
        .iter()
        .filter_map(|a| match &a.remedy {
            Remedy::Norm { norm } => Some((*norm, a.text.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_normalization_rule() {
    use gradscope::diagnostics::verdict::{norm_for, SMALL_BATCH};
    assert_eq!(SMALL_BATCH, 16);
    assert_eq!(norm_for(Some(1), false), Norm::Layernorm);
    assert_eq!(norm_for(Some(15), false), Norm::Layernorm);
    assert_eq!(norm_for(Some(16), false), Norm::Batchnorm);
    assert_eq!(norm_for(Some(256), false), Norm::Batchnorm);
    assert_eq!(norm_for(None, false), Norm::Batchnorm);
    assert_eq!(norm_for(None, true), Norm::Layernorm);
    assert_eq!(norm_for(Some(256), true), Norm::Layernorm);
}

/// The deep sigmoid network of `deep_sigmoid_with_standard_init_vanishes`, trained on batches
/// of 8 rows: the normalization remedy is LayerNorm, with the batch in its sentence; with
/// batches of 64 it stays BatchNorm. Applying the remedy builds a LayerNorm model.
#[test]
fn small_batches_get_layernorm_as_the_remedy() {
    let config = |batch: usize| {
        format!(
            "seed = 3\n[data]\nsource = \"digits\"\n[model]\nhidden = [64, 64, 64, 64, 64, 64, 64, 64]\n\
             activation = \"sigmoid\"\ninit = \"standard\"\n[training]\nepochs = 100\nmax_steps = 3\n\
             batch_size = {batch}\noptimizer = {{ kind = \"sgd\", lr = 0.01 }}\n[diagnostics]\nevery = 1\n"
        )
    };
    let (cfg, recs) = run_config(&config(8));
    assert!(
        recs.iter().all(|r| r.batch_size == Some(8)),
        "{:?}",
        recs[0].batch_size
    );
    let v = judge(&recs, &Thresholds::default());
    assert_eq!(v.flow, Flow::Vanishing, "{}", v.explanation);
    assert_eq!(v.batch_size, Some(8));
    let norms = norm_remedies(&v);
    assert_eq!(norms.len(), 1, "{:?}", v.remedies);
    let (norm, text) = &norms[0];
    assert_eq!(*norm, Norm::Layernorm);
    assert!(
        text.contains("layernorm") && text.contains("8 rows") && text.contains("fewer than 16"),
        "{text}"
    );
    let advice = v
        .remedies
        .iter()
        .find(|a| matches!(a.remedy, Remedy::Norm { .. }))
        .unwrap();
    assert_eq!(advice.overrides, ["model.norm=\"layernorm\""]);
    let fixed = advice.remedy.apply(&cfg).unwrap();
    assert_eq!(fixed.model.mlp().norm, Norm::Layernorm);
    let mut spec = fixed.model.clone();
    spec.set_input(64);
    spec.set_output(10);
    let model = spec.build::<f32>(&mut gradscope::Rng::seed(1)).unwrap();
    assert!(model.contains(LayerKind::LayerNorm));
    // The records say the batch; without it (another front end) the rule keeps BatchNorm.
    let unknown: Vec<StepRecord> = recs
        .iter()
        .cloned()
        .map(|mut r| {
            r.batch_size = None;
            r
        })
        .collect();
    let v = judge(&unknown, &Thresholds::default());
    assert_eq!(norm_remedies(&v)[0].0, Norm::Batchnorm);

    let (_, recs) = run_config(&config(64));
    let v = judge(&recs, &Thresholds::default());
    assert_eq!(v.flow, Flow::Vanishing, "{}", v.explanation);
    assert_eq!(v.batch_size, Some(64));
    let norms = norm_remedies(&v);
    assert_eq!(norms.len(), 1, "{:?}", v.remedies);
    assert_eq!(norms[0].0, Norm::Batchnorm);
    assert!(norms[0].1.contains("batchnorm"), "{}", norms[0].1);
}

/// A sequence model whose deep sigmoid head vanishes: the head's normalization remedy is
/// LayerNorm even with batches of 32.
#[test]
fn a_sequence_models_head_gets_layernorm() {
    let (_, recs) = run_config(
        "seed = 4\n[data]\nsource = \"adding\"\nn = 64\nseq_len = 6\n[model]\n\
         hidden = [32, 32, 32, 32, 32, 32, 32, 32]\nactivation = \"sigmoid\"\ninit = \"standard\"\n\
         [model.recurrent]\ncell = \"lstm\"\nhidden = 8\n\
         [training]\nloss = \"mse\"\nepochs = 10\nmax_steps = 3\nbatch_size = 32\n[diagnostics]\nevery = 1\n",
    );
    let v = judge(&recs, &Thresholds::default());
    assert_eq!(v.batch_size, Some(32));
    assert_eq!(v.recurrent.len(), 1);
    let norms = norm_remedies(&v);
    assert_eq!(norms.len(), 1, "{} {:?}", v.explanation, v.remedies);
    assert_eq!(norms[0].0, Norm::Layernorm);
    assert!(norms[0].1.contains("sequence model"), "{}", norms[0].1);
}
