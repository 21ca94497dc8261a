//! Training end to end: configs, determinism, resume, divergence, accuracy targets.

use std::path::{Path, PathBuf};

use gradscope::config::{Config, LoadedConfig};
use gradscope::train::{EpochRecord, Flow, Observer, Outcome, Split, StepInfo, Trainer};

fn loaded(text: &str, sets: &[&str]) -> LoadedConfig {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    LoadedConfig {
        config: Config::parse(text, "test.toml", &sets).unwrap(),
        source: "test.toml".into(),
        base_dir: PathBuf::from("."),
    }
}

fn parse_err(text: &str, sets: &[&str]) -> String {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Config::parse(text, "test.toml", &sets)
        .unwrap_err()
        .to_string()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gradscope-train-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[derive(Default)]
struct Record {
    epochs: Vec<EpochRecord>,
    stop_at: Option<u64>,
}

impl Observer for Record {
    fn on_step(&mut self, info: &StepInfo) -> Flow {
        if Some(info.step) == self.stop_at {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
    fn on_epoch(&mut self, r: &EpochRecord) -> gradscope::Result<()> {
        let mut r = r.clone();
        r.elapsed_s = 0.0;
        self.epochs.push(r);
        Ok(())
    }
}

const DIGITS: &str = r#"
seed = 7
[data]
source = "digits"
[model]
hidden = [32]
activation = "tanh"
init = "xavier_uniform"
[training]
epochs = 3
batch_size = 50
optimizer = { kind = "sgd", lr = 0.1, momentum = 0.9 }
"#;

fn state(t: &Trainer<f32>) -> Vec<(String, Vec<f32>)> {
    t.model
        .state_dict()
        .into_iter()
        .map(|(n, v)| (n, v.into_vec()))
        .collect()
}

#[test]
fn same_seed_gives_identical_metrics_and_weights() {
    let run = || {
        let mut t = Trainer::<f32>::new(&loaded(DIGITS, &[])).unwrap();
        let mut rec = Record::default();
        assert_eq!(t.run(&mut rec).unwrap(), Outcome::Completed);
        (rec.epochs, state(&t))
    };
    let (a, wa) = run();
    let (b, wb) = run();
    assert_eq!(a.len(), 3);
    assert_eq!(a, b);
    assert_eq!(wa, wb);
    // A different seed gives a different run.
    let mut t = Trainer::<f32>::new(&loaded(DIGITS, &["seed=8"])).unwrap();
    let mut rec = Record::default();
    t.run(&mut rec).unwrap();
    assert_ne!(rec.epochs, a);
}

#[test]
fn resume_mid_epoch_is_bit_identical() {
    let dir = temp_dir("resume");
    let ckpt = dir.join("checkpoint.safetensors");
    let cfg = loaded(
        DIGITS,
        &["training.schedule={kind=\"step\", step_size=1, gamma=0.5}"],
    );
    let mut full = Trainer::<f32>::new(&cfg).unwrap();
    let mut rec_full = Record::default();
    full.run(&mut rec_full).unwrap();

    let mut first = Trainer::<f32>::new(&cfg).unwrap();
    first.set_checkpoint_path(Some(ckpt.clone()));
    let mut rec = Record {
        stop_at: Some(37), // mid-epoch 2 (26 batches per epoch)
        ..Record::default()
    };
    assert_eq!(
        first.run(&mut rec).unwrap(),
        Outcome::Interrupted { step: 37 }
    );
    let mut second = Trainer::<f32>::resume(&cfg, &ckpt).unwrap();
    assert_eq!(second.step, 37);
    let mut rec2 = Record::default();
    assert_eq!(second.run(&mut rec2).unwrap(), Outcome::Completed);
    rec.epochs.extend(rec2.epochs);
    assert_eq!(rec.epochs, rec_full.epochs);
    assert_eq!(state(&second), state(&full));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn resume_rejects_a_different_model() {
    let dir = temp_dir("resume-mismatch");
    let ckpt = dir.join("c.safetensors");
    let cfg = loaded(DIGITS, &["training.epochs=1"]);
    let mut t = Trainer::<f32>::new(&cfg).unwrap();
    t.set_checkpoint_path(Some(ckpt.clone()));
    t.run(&mut Record::default()).unwrap();
    let other = loaded(DIGITS, &["model.hidden=[16]"]);
    let err = Trainer::<f32>::resume(&other, &ckpt)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("`model` differs"), "{err}");
    // A file that is not a checkpoint.
    std::fs::write(dir.join("junk.safetensors"), b"not safetensors").unwrap();
    let err = Trainer::<f32>::resume(&cfg, &dir.join("junk.safetensors"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("junk.safetensors") && err.contains("not a valid safetensors"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn logistic_regression_separates_a_separable_set() {
    let cfg = r#"
seed = 1
[data]
source = "gaussians"
n = 400
classes = 2
noise = 0.05
[model]
hidden = []
[training]
loss = "bce_with_logits"
epochs = 20
batch_size = 0
optimizer = { kind = "sgd", lr = 0.5 }
"#;
    let mut t = Trainer::<f64>::new(&loaded(cfg, &["dtype=\"f64\""])).unwrap();
    assert_eq!(
        t.model.layers.len(),
        1,
        "no hidden layer: a single linear unit"
    );
    t.run(&mut Record::default()).unwrap();
    for split in [Split::Train, Split::Test] {
        let e = t.evaluate(split).unwrap().unwrap();
        assert_eq!(e.accuracy, Some(1.0), "{split:?}: {e:?}");
    }
}

#[test]
fn the_example_mlp_reaches_95_percent_on_digits() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/digits-mlp.toml");
    let cfg = Config::load(&path, &[]).unwrap();
    let mut t = Trainer::<f32>::new(&cfg).unwrap();
    assert_eq!(t.run(&mut Record::default()).unwrap(), Outcome::Completed);
    let test = t.evaluate(Split::Test).unwrap().unwrap();
    assert!(test.accuracy.unwrap() >= 0.95, "{test:?}");
}

#[test]
fn divergence_names_the_step_and_layer_and_keeps_the_checkpoint() {
    let dir = temp_dir("nan");
    let ckpt = dir.join("c.safetensors");
    let cfg = loaded(
        DIGITS,
        &["training.epochs=3", "training.checkpoint_every=1"],
    );
    let mut t = Trainer::<f32>::new(&cfg).unwrap();
    t.set_checkpoint_path(Some(ckpt.clone()));
    t.run(&mut Record::default()).unwrap();
    let before = std::fs::read(&ckpt).unwrap();
    // Continue with an absurd learning rate: it must stop, say where, and not overwrite.
    let bad = loaded(
        DIGITS,
        &[
            "training.epochs=6",
            "training.lr=1e30",
            "model.activation=relu",
        ],
    );
    let mut t = Trainer::<f32>::new(&bad).unwrap();
    t.set_checkpoint_path(Some(ckpt.clone()));
    match t.run(&mut Record::default()).unwrap() {
        Outcome::Diverged { step, location, .. } => {
            assert!(step >= 1);
            assert!(location.contains("layer"), "{location}");
        }
        other => panic!("expected divergence, got {other:?}"),
    }
    assert_eq!(std::fs::read(&ckpt).unwrap(), before);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn config_errors_name_the_field_and_line() {
    let e = parse_err("[model]\nhiden = [4]\n", &[]);
    assert!(e.contains("line 2") && e.contains("hiden"), "{e}");
    let e = parse_err("[model]\nhidden = \"many\"\n", &[]);
    assert!(e.contains("line 2") && e.contains("hidden"), "{e}");
    let e = parse_err("[model]\nhidden = [4]\n[training]\n\nepochs = 0\n", &[]);
    assert!(
        e.starts_with("test.toml:5:") && e.contains("training.epochs"),
        "{e}"
    );
    let e = parse_err(
        "[model]\nhidden = [4]\n[training]\noptimizer = { kind = \"adam\", beta1 = 2.0 }\n",
        &[],
    );
    assert!(e.starts_with("test.toml:4:") && e.contains("beta1"), "{e}");
    let e = parse_err("[data]\nsource = \"digits\"\nnoise = 0.1\n[model]\n", &[]);
    assert!(e.contains("data.noise") && e.contains("digits"), "{e}");
    let e = parse_err("[model]\nactivation = \"relu(3)\"\n", &[]);
    assert!(e.contains("relu") && e.contains("line 2"), "{e}");
    let e = parse_err("[model]\n", &["training.lrr=0.1"]);
    assert!(e.contains("--set") && e.contains("lrr"), "{e}");
    let e = parse_err("[model]\n", &["training.lr"]);
    assert!(e.contains("KEY=VALUE"), "{e}");
    let e = parse_err("[model]\nhead = \"tanh\"\n", &[]);
    assert!(e.contains("model.head") && e.contains("logits"), "{e}");
    let e = parse_err("[data]\nsplit = [0.5, 0.5, 0.5]\n[model]\n", &[]);
    assert!(
        e.starts_with("test.toml:2:") && e.contains("data.split"),
        "{e}"
    );
}

#[test]
fn layernorm_config_keys() {
    use gradscope::layer::LayerKind;
    use gradscope::model::Norm;
    let base = "[model]\ninput = 3\nhidden = [4, 4]\noutput = 2\nnorm = \"layernorm\"\n";
    let c = loaded(base, &[]);
    let m = c.config.model.mlp();
    assert_eq!(
        (m.norm, m.ln_eps, m.ln_affine),
        (Norm::Layernorm, 1e-5, true)
    );
    let model = c
        .config
        .model
        .build::<f64>(&mut gradscope::Rng::seed(1))
        .unwrap();
    assert!(model.contains(LayerKind::LayerNorm) && !model.contains(LayerKind::BatchNorm1d));
    let names: Vec<String> = model.state_dict().into_iter().map(|(n, _)| n).collect();
    // Linear, LayerNorm (γ, β and no buffers), activation; twice; output Linear.
    assert_eq!(
        names,
        [
            "0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias", "4.weight", "4.bias",
            "6.weight", "6.bias"
        ]
    );
    let c = loaded(&format!("{base}ln_eps = 1e-3\nln_affine = false\n"), &[]);
    let m = c.config.model.mlp();
    assert_eq!((m.ln_eps, m.ln_affine), (1e-3, false));
    let model = c
        .config
        .model
        .build::<f64>(&mut gradscope::Rng::seed(1))
        .unwrap();
    let names: Vec<String> = model.state_dict().into_iter().map(|(n, _)| n).collect();
    // The parameter-free LayerNorm keeps its place in the nn.Sequential (index 1, 4).
    assert_eq!(
        names,
        ["0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"]
    );
    // What a remedy's override writes.
    let c = loaded("[model]\nhidden = [4]\n", &["model.norm=\"layernorm\""]);
    assert_eq!(c.config.model.mlp().norm, Norm::Layernorm);
    for bad in ["0.0", "-1e-5", "nan"] {
        let e = parse_err(&format!("{base}ln_eps = {bad}\n"), &[]);
        assert!(e.contains("model.ln_eps") && e.contains("> 0"), "{e}");
    }
    let e = parse_err("[model]\nnorm = \"layer_norm\"\n", &[]);
    assert!(
        e.contains("line 2") && e.contains("layernorm") && e.contains("batchnorm"),
        "{e}"
    );
    let e = parse_err("[model]\nln_afine = false\n", &[]);
    assert!(e.contains("line 2") && e.contains("ln_afine"), "{e}");
}

#[test]
fn set_overrides_any_field() {
    let c = loaded(
        DIGITS,
        &[
            "training.lr=0.25",
            "model.hidden=[8, 4]",
            "model.activation=elu(alpha=0.5)",
        ],
    );
    assert_eq!(c.config.model.mlp().hidden, vec![8, 4]);
    assert_eq!(
        c.config.model.mlp().activation.to_string(),
        "elu(alpha=0.5)"
    );
    assert_eq!(c.config.training.optimizer().lr(), 0.25);
}

#[test]
fn data_file_errors_name_the_file() {
    let dir = temp_dir("csv");
    let csv = dir.join("d.csv");
    std::fs::write(&csv, "a,b,label\n1,2,x\n3,oops,y\n").unwrap();
    let text = format!(
        "[data]\nsource = \"csv\"\npath = \"{}\"\n[model]\nhidden = [4]\n",
        csv.display()
    );
    let err = Trainer::<f32>::new(&loaded(&text, &[]))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("d.csv") && err.contains("line 3"), "{err}");
    let missing = text.replace("d.csv", "missing.csv");
    let err = Trainer::<f32>::new(&loaded(&missing, &[]))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("missing.csv"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

/// Captures the first step's pre-clip gradient norm.
#[derive(Default)]
struct FirstNorm(Option<f64>);

impl Observer for FirstNorm {
    fn on_step(&mut self, info: &StepInfo) -> Flow {
        self.0.get_or_insert(info.grad_norm);
        Flow::Continue
    }
}

/// One plain SGD step with lr = 1 on the digits MLP (f64) under the given `training.clip`
/// override: (the parameters' change θ₁ − θ₀ per parameter, the step's pre-clip ‖g‖).
fn one_sgd_step(clip: Option<&str>) -> (Vec<(String, Vec<f64>)>, f64) {
    let mut sets = vec![
        "dtype=\"f64\"",
        "training.max_steps=1",
        "training.optimizer={ kind = \"sgd\", lr = 1.0 }",
    ];
    if let Some(c) = clip {
        sets.push(c);
    }
    let mut t = Trainer::<f64>::new(&loaded(DIGITS, &sets)).unwrap();
    let before = t.model.state_dict();
    let mut norm = FirstNorm::default();
    t.run(&mut norm).unwrap();
    let delta = t
        .model
        .state_dict()
        .into_iter()
        .zip(before)
        .map(|((name, after), (_, before))| {
            let d = after
                .data()
                .iter()
                .zip(before.data())
                .map(|(a, b)| a - b)
                .collect();
            (name, d)
        })
        .collect();
    (delta, norm.0.unwrap())
}

fn l2(xs: &[f64]) -> f64 {
    xs.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn total_norm(delta: &[(String, Vec<f64>)]) -> f64 {
    delta.iter().map(|(_, d)| l2(d).powi(2)).sum::<f64>().sqrt()
}

/// The trainer's `clip = { kind = "norm" }` is the library's global-norm clipping: after one
/// SGD step with lr = 1 the whole parameter vector moved by exactly
/// max_norm·‖g‖/(‖g‖ + 1e-6) (PyTorch's coefficient), in the direction of the unclipped
/// step. Clipping each parameter separately moves it by up to max_norm per parameter (2.45e-3
/// here: a per-parameter clip fails this test).
#[test]
fn global_norm_clipping_moves_the_parameters_by_exactly_max_norm() {
    let (plain, g) = one_sgd_step(None);
    // Unclipped, lr = 1: θ₁ − θ₀ = −g, so the reported norm is ‖g‖ over every parameter.
    assert!((total_norm(&plain) - g).abs() <= 1e-12 * g, "{g}");
    assert!(g > 0.1, "the test needs ‖g‖ ≫ max_norm: {g}");
    let max_norm = 1e-3;
    let (clipped, g2) = one_sgd_step(Some("training.clip={ kind = \"norm\", max_norm = 1e-3 }"));
    assert_eq!(g2, g, "the same batch, the same pre-clip norm");
    let coef = max_norm / (g + gradscope::optim::clip::CLIP_EPS);
    let moved = total_norm(&clipped);
    assert!(
        (moved - coef * g).abs() <= 1e-12 * max_norm,
        "moved {moved:e}, expected {:e}",
        coef * g
    );
    assert!((moved - max_norm).abs() < 1e-5 * max_norm, "{moved:e}");
    // Every element scaled by the same coefficient (to the rounding of θ₁ − θ₀, |θ| < 1).
    for ((name, c), (_, p)) in clipped.iter().zip(&plain) {
        for (a, b) in c.iter().zip(p) {
            assert!(
                (a - coef * b).abs() <= 1e-15,
                "{name}: {a:e} vs {:e}",
                coef * b
            );
        }
    }
}

/// `per_param_norm` clips each parameter to its own max_norm; `value` clamps each element.
#[test]
fn per_parameter_and_value_clipping_in_the_trainer() {
    let (plain, _) = one_sgd_step(None);
    let max_norm = 1e-3;
    let (per, _) = one_sgd_step(Some(
        "training.clip={ kind = \"per_param_norm\", max_norm = 1e-3 }",
    ));
    for ((name, c), (_, p)) in per.iter().zip(&plain) {
        let gp = l2(p);
        let coef = (max_norm / (gp + 1e-6)).min(1.0);
        assert!(
            (l2(c) - coef * gp).abs() <= 1e-12 * max_norm,
            "{name}: {gp}"
        );
    }
    assert!(
        total_norm(&per) > 1.5 * max_norm,
        "several parameters moved by max_norm"
    );
    let clip_value = 1e-3;
    let (val, _) = one_sgd_step(Some(
        "training.clip={ kind = \"value\", clip_value = 1e-3 }",
    ));
    let mut clamped = 0;
    for ((name, c), (_, p)) in val.iter().zip(&plain) {
        for (a, b) in c.iter().zip(p) {
            let want = b.clamp(-clip_value, clip_value);
            assert!((a - want).abs() <= 1e-15, "{name}: {a} vs {want}");
            clamped += usize::from(b.abs() > clip_value);
        }
    }
    assert!(clamped > 0, "some element was clamped");
}
