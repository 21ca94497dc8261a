//! The config's knobs for studies: bias initialization, the depth shorthand, per-stream
//! seeds, best-validation weights and early stopping, the per-step scalar stream.

use std::path::PathBuf;

use gradscope::config::{Config, LoadedConfig};
use gradscope::init::BiasInit;
use gradscope::train::{Silent, Trainer};
use gradscope::Rng;

fn parse(text: &str, sets: &[&str]) -> gradscope::Result<Config> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Config::parse(text, "run.toml", &sets)
}

fn loaded(text: &str, sets: &[&str]) -> LoadedConfig {
    let mut config = parse(text, sets).unwrap();
    config.dtype = gradscope::DType::F64;
    LoadedConfig {
        config,
        source: "run.toml".into(),
        base_dir: PathBuf::from("."),
    }
}

/// Every parameter of a freshly built trainer, flattened.
fn weights(t: &Trainer<f64>) -> Vec<Vec<f64>> {
    t.model
        .params()
        .iter()
        .map(|p| p.value.data().to_vec())
        .collect()
}

fn mean_square(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64
}

// ---- bias initialization ----

#[test]
fn bias_init_text_forms_round_trip_and_reject_bad_values() {
    for text in [
        "zeros",
        "constant(value=0.1)",
        "normal(std=0.2, mean=0.5)",
        "variance(sigma_b2=0.05)",
    ] {
        let b: BiasInit = text.parse().unwrap();
        assert_eq!(b.to_string(), text);
    }
    assert_eq!(
        "normal(0.3)".parse::<BiasInit>().unwrap().sigma_b2(),
        0.3 * 0.3
    );
    let e = "variance(-1)".parse::<BiasInit>().unwrap_err().to_string();
    assert!(e.contains("sigma_b2 = -1 must be >= 0"), "{e}");
    let e = "uniform(1)".parse::<BiasInit>().unwrap_err().to_string();
    assert!(e.contains("unknown bias initializer `uniform`"), "{e}");
    assert!(e.contains("variance(sigma_b2=0.05)"), "{e}");
}

const MLP: &str = r#"
[data]
source = "digits"
[model]
hidden = [64, 64, 64, 64]
activation = "tanh"
init = "xavier_normal"
[training]
epochs = 1
"#;

#[test]
fn mlp_biases_follow_init_bias_and_the_weights_do_not_move() {
    let zero = Trainer::<f64>::new(&loaded(MLP, &[])).unwrap();
    let constant =
        Trainer::<f64>::new(&loaded(MLP, &["model.init_bias=\"constant(0.25)\""])).unwrap();
    let normal =
        Trainer::<f64>::new(&loaded(MLP, &["model.init_bias=\"variance(0.05)\""])).unwrap();
    let (z, c, n) = (weights(&zero), weights(&constant), weights(&normal));
    // Params alternate weight, bias (5 linear layers).
    assert_eq!(z.len(), 10);
    for i in (1..10).step_by(2) {
        assert!(z[i].iter().all(|b| *b == 0.0));
        assert!(c[i].iter().all(|b| *b == 0.25));
    }
    // zeros and constant draw nothing: the same weights; a drawn bias moves later weights.
    for i in (0..10).step_by(2) {
        assert_eq!(z[i], c[i], "weight {i}");
    }
    assert_eq!(z[0], n[0]);
    assert_ne!(z[2], n[2]);
    let biases: Vec<f64> = (1..10).step_by(2).flat_map(|i| n[i].clone()).collect();
    let ms = mean_square(&biases);
    assert!((ms - 0.05).abs() < 0.01, "mean b² {ms}");
}

#[test]
fn diagnose_and_its_theory_use_the_configured_sigma_b2() {
    let mut t = Trainer::<f64>::new(&loaded(
        MLP,
        &["model.init_bias=\"variance(0.05)\"", "data.limit=200"],
    ))
    .unwrap();
    let d = t.diagnose(1).unwrap();
    let p = d.theory.expect("an MLP the theory covers");
    assert!((p.sigma_b2 - 0.05).abs() < 0.015, "σ_b² = {}", p.sigma_b2);
    for l in &p.layers {
        assert!(
            (l.sigma_b2 - 0.05).abs() < 0.03,
            "layer σ_b² = {}",
            l.sigma_b2
        );
    }
    let mut t = Trainer::<f64>::new(&loaded(MLP, &["data.limit=200"])).unwrap();
    let p = t.diagnose(1).unwrap().theory.unwrap();
    assert_eq!(p.sigma_b2, 0.0);
}

#[test]
fn recurrent_biases_follow_init_bias() {
    let text = r#"
[data]
source = "adding"
n = 50
seq_len = 5
[model.recurrent]
cell = "lstm"
hidden = 6
forget_bias = 1.0
[training]
loss = "mse"
"#;
    let t = Trainer::<f64>::new(&loaded(
        text,
        &["model.recurrent.init_bias=\"constant(0.5)\""],
    ))
    .unwrap();
    let params = t.model.params();
    let get = |name: &str| {
        params
            .iter()
            .find(|p| p.name == name)
            .unwrap()
            .value
            .data()
            .to_vec()
    };
    let (bih, bhh) = (get("rnn.bias_ih_l0"), get("rnn.bias_hh_l0"));
    // Gates i, f, g, o of 6 units; the forget bias is added after init_bias.
    for (k, v) in bih.iter().enumerate() {
        let want = if (6..12).contains(&k) { 1.5 } else { 0.5 };
        assert_eq!(*v, want, "bias_ih[{k}]");
    }
    assert!(bhh.iter().all(|v| *v == 0.5));
    // Without init_bias, PyTorch's uniform biases stay.
    let t = Trainer::<f64>::new(&loaded(text, &[])).unwrap();
    let b = t
        .model
        .params()
        .into_iter()
        .find(|p| p.name == "rnn.bias_hh_l0")
        .unwrap()
        .value
        .data()
        .to_vec();
    assert!(b.iter().any(|v| *v != 0.0) && b.iter().all(|v| v.abs() <= 1.0 / 6f64.sqrt()));
}

#[test]
fn init_bias_without_biases_is_an_error_naming_the_field() {
    let e = parse(
        MLP,
        &["model.bias=false", "model.init_bias=\"variance(0.05)\""],
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("model.init_bias"));
    assert!(e.to_string().contains("model.bias = false"), "{e}");
    let e = parse(MLP, &["model.init_bias=\"normal(std=-1)\""]).unwrap_err();
    assert!(e.to_string().contains("std = -1 must be >= 0"), "{e}");
}

// ---- depth shorthand ----

#[test]
fn depth_and_width_expand_to_the_hidden_list() {
    let c = parse(
        "[model]\ndepth = 50\nwidth = 128\nactivation = \"tanh\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(c.model.mlp().hidden, vec![128; 50]);
    // The resolved config writes the list, and reads back the same.
    let text = toml::to_string(&c).unwrap();
    assert!(text.contains("hidden = ["), "{text}");
    assert_eq!(parse(&text, &[]).unwrap(), c);
    // --set of either form replaces the other.
    let c = parse("[model]\ndepth = 5\nwidth = 16\n", &["model.depth=3"]).unwrap();
    assert_eq!(c.model.mlp().hidden, vec![16; 3]);
    let c = parse("[model]\nhidden = [8, 8]\n", &["model.width=4"]).unwrap();
    assert_eq!(c.model.mlp().hidden, vec![4; 2]);
    let c = parse("[model]\ndepth = 5\nwidth = 16\n", &["model.hidden=[3]"]).unwrap();
    assert_eq!(c.model.mlp().hidden, vec![3]);
}

#[test]
fn depth_errors_name_the_fields() {
    let cases = [
        (
            "[model]\nhidden = [8]\ndepth = 2\nwidth = 4\n",
            "model.hidden",
            "both given",
        ),
        ("[model]\ndepth = 2\n", "model.depth", "needs model.width"),
        ("[model]\nwidth = 2\n", "model.width", "needs model.depth"),
        (
            "[model]\ndepth = 0\nwidth = 4\n",
            "model.depth",
            "must be >= 1",
        ),
        (
            "[model]\ndepth = 3\nwidth = 0\n",
            "model.width",
            "must be > 0",
        ),
    ];
    for (text, field, what) in cases {
        let e = parse(text, &[]).unwrap_err();
        assert_eq!(e.field(), Some(field), "{text}: {e}");
        assert!(e.to_string().contains(what), "{text}: {e}");
        assert_eq!(e.line(), Some(1), "{text}: {e}");
    }
    // A non-uniform list has no shorthand: --set model.depth reports both forms.
    let e = parse("[model]\nhidden = [8, 4]\nwidth = 2\n", &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("model.hidden and model.depth/model.width"),
        "{e}"
    );
    let e = parse("[model]\nhidden = [8, 4]\n", &["model.depth=3"]).unwrap_err();
    assert!(e.to_string().contains("both given"), "{e}");
}

// ---- seeds ----

const SEEDED: &str = r#"
seed = 4
[data]
source = "spiral"
n = 300
[model]
hidden = [16]
dropout = 0.2
[training]
epochs = 2
batch_size = 16
"#;

fn run_of(sets: &[&str]) -> (Vec<Vec<f64>>, Vec<usize>, String) {
    let mut t = Trainer::<f64>::new(&loaded(SEEDED, sets)).unwrap();
    let init = weights(&t);
    let labels = t.splits.val.labels().unwrap().to_vec();
    let run = t.run_collecting(&mut Silent).unwrap();
    let losses = format!("{:?}", run.losses);
    (init, labels, losses)
}

#[test]
fn seed_alone_equals_all_three_stream_seeds_set_to_it() {
    let one = run_of(&[]);
    let three = run_of(&["seed=99", "data_seed=4", "init_seed=4", "shuffle_seed=4"]);
    assert_eq!(one, three);
    // The streams as one generator forked three times, as before the stream seeds existed.
    let mut master = Rng::seed(4);
    let expected = (master.fork(), master.fork(), master.fork());
    assert_eq!(parse(SEEDED, &[]).unwrap().stream_rngs(), expected);
}

#[test]
fn each_stream_seed_moves_only_its_stream() {
    let base = run_of(&[]);
    let init = run_of(&["init_seed=5"]);
    assert_ne!(base.0, init.0, "other weights");
    assert_eq!(base.1, init.1, "same split");
    let data = run_of(&["data_seed=5"]);
    assert_eq!(base.0, data.0, "same weights");
    assert_ne!(base.1, data.1, "another split");
    let shuffle = run_of(&["shuffle_seed=5"]);
    assert_eq!((&base.0, &base.1), (&shuffle.0, &shuffle.1));
    assert_ne!(base.2, shuffle.2, "another order, other losses");
}

// ---- best weights and early stopping ----

const BEST: &str = r#"
seed = 2
[data]
source = "digits"
limit = 600
[model]
hidden = [32]
[training]
epochs = 6
batch_size = 16
optimizer = { kind = "sgd", lr = 0.3, momentum = 0.9 }
keep_best = true
train_eval = "full"
"#;

#[test]
fn keep_best_reports_the_best_epochs_weights_beside_the_final_ones() {
    let mut t = Trainer::<f64>::new(&loaded(BEST, &[])).unwrap();
    let run = t.run_collecting(&mut Silent).unwrap();
    let accs: Vec<f64> = run.epochs.iter().map(|e| e.val_accuracy.unwrap()).collect();
    let max = accs.iter().cloned().fold(f64::MIN, f64::max);
    let best_epoch = accs.iter().position(|a| *a == max).unwrap() + 1;
    let best = run.summary.best.expect("keep_best");
    assert_eq!(best.epoch, best_epoch, "{accs:?}");
    // The kept weights give exactly what that epoch's evaluation measured.
    let rec = &run.epochs[best_epoch - 1];
    assert_eq!(best.val.unwrap().loss, rec.val_loss.unwrap());
    assert_eq!(best.val.unwrap().accuracy, rec.val_accuracy);
    // With train_eval = "full", the epoch record's train_loss is that evaluation too.
    assert_eq!(best.train.unwrap().loss, rec.train_loss);
    assert!(best.test.is_some() && run.summary.test.is_some());
    // The final weights are still the model's.
    assert_eq!(
        t.evaluate(gradscope::train::Split::Val).unwrap(),
        run.summary.val
    );
    // Without keep_best there is no best entry.
    let mut t = Trainer::<f64>::new(&loaded(BEST, &["training.keep_best=false"])).unwrap();
    assert!(t
        .run_collecting(&mut Silent)
        .unwrap()
        .summary
        .best
        .is_none());
}

#[test]
fn patience_stops_when_validation_stops_improving() {
    // lr = 0: nothing improves after epoch 1, so patience 2 stops after epoch 3.
    let mut t = Trainer::<f64>::new(&loaded(
        BEST,
        &["training.lr=0", "training.patience=2", "training.epochs=10"],
    ))
    .unwrap();
    let run = t.run_collecting(&mut Silent).unwrap();
    assert_eq!(run.epochs.len(), 3);
    let stop = run.summary.early_stop.expect("stopped early");
    assert_eq!((stop.epoch, stop.best_epoch, stop.patience), (3, 1, 2));
    assert_eq!(run.summary.best.unwrap().epoch, 1);
    // A run that keeps improving within its patience runs to the end.
    let mut t = Trainer::<f64>::new(&loaded(BEST, &["training.patience=6"])).unwrap();
    let run = t.run_collecting(&mut Silent).unwrap();
    assert_eq!(run.epochs.len(), 6);
    assert!(run.summary.early_stop.is_none());
}

#[test]
fn best_weights_and_patience_survive_a_resume() {
    struct StopAt(u64);
    impl gradscope::train::Observer for StopAt {
        fn on_step(&mut self, i: &gradscope::train::StepInfo) -> gradscope::train::Flow {
            if i.step == self.0 {
                gradscope::train::Flow::Stop
            } else {
                gradscope::train::Flow::Continue
            }
        }
    }
    let sets = ["training.patience=2"];
    let mut whole = Trainer::<f64>::new(&loaded(BEST, &sets)).unwrap();
    let full = whole.run_collecting(&mut Silent).unwrap();
    let dir = std::env::temp_dir().join(format!("gradscope-knobs-best-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ckpt = dir.join("checkpoint.safetensors");
    let mut first = Trainer::<f64>::new(&loaded(BEST, &sets)).unwrap();
    first.set_checkpoint_path(Some(ckpt.clone()));
    // 600 · 0.7 = 420 samples, 27 steps per epoch: stop in epoch 3.
    first.run(&mut StopAt(60)).unwrap();
    let mut resumed = Trainer::<f64>::resume(&loaded(BEST, &sets), &ckpt).unwrap();
    let rest = resumed.run_collecting(&mut Silent).unwrap();
    assert_eq!(rest.summary.best, full.summary.best);
    assert_eq!(rest.summary.early_stop, full.summary.early_stop);
    assert_eq!(rest.summary.test, full.summary.test);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn best_and_patience_need_a_validation_split_and_a_positive_patience() {
    let e = parse(BEST, &["training.patience=0"]).unwrap_err();
    assert_eq!(e.field(), Some("training.patience"));
    let l = loaded(BEST, &["data.split=[0.8, 0.0, 0.2]"]);
    let e = Trainer::<f64>::new(&l).err().unwrap();
    assert_eq!(e.field(), Some("training.keep_best"));
    assert!(e.to_string().contains("needs a validation split"), "{e}");
}

// ---- the per-step scalar stream ----

#[test]
fn scalars_every_step_count_the_clipped_steps() {
    let sets = [
        "training.scalars_every=1",
        "training.clip={kind=\"norm\", max_norm=0.5}",
        "training.epochs=2",
        "training.keep_best=false",
    ];
    let mut t = Trainer::<f64>::new(&loaded(BEST, &sets)).unwrap();
    let mut silent = Silent;
    let mut c = gradscope::train::Collect::new(&mut silent);
    t.run(&mut c).unwrap();
    let steps: Vec<u64> = c.scalars.iter().map(|s| s.step).collect();
    assert_eq!(steps, (1..=t.step).collect::<Vec<_>>());
    let mut clipped = 0;
    for s in &c.scalars {
        let coef = (0.5 / (s.grad_norm + 1e-6)).min(1.0);
        assert_eq!(s.clip_coef, Some(coef), "step {}", s.step);
        assert_eq!(s.clipped, coef < 1.0);
        clipped += u64::from(s.clipped);
    }
    assert!(clipped > 0 && clipped < t.step, "{clipped} of {}", t.step);
    // The batch losses are the collector's.
    for (s, l) in c.scalars.iter().zip(&c.losses) {
        assert!((s.loss - l.loss).abs() < 1e-9);
    }
    let summary = t.summary(gradscope::train::Outcome::Completed).unwrap();
    assert_eq!(summary.clipped_steps, Some(clipped));
    // Every 10th step (and step 1); no clipping: no clipped count.
    let mut t = Trainer::<f64>::new(&loaded(
        BEST,
        &["training.scalars_every=10", "training.epochs=1"],
    ))
    .unwrap();
    let mut silent = Silent;
    let mut c = gradscope::train::Collect::new(&mut silent);
    t.run(&mut c).unwrap();
    let steps: Vec<u64> = c.scalars.iter().map(|s| s.step).collect();
    assert_eq!(steps, [1, 10, 20]);
    assert!(c
        .scalars
        .iter()
        .all(|s| !s.clipped && s.clip_coef.is_none()));
    assert_eq!(
        t.summary(gradscope::train::Outcome::Completed)
            .unwrap()
            .clipped_steps,
        None
    );
    let e = parse(BEST, &["training.scalars_every=0"]).unwrap_err();
    assert_eq!(e.field(), Some("training.scalars_every"));
}
