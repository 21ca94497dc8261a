//! `gradscope grads`: agreement with PyTorch on the committed fixtures (written by
//! `scripts/torch_check.py --write-fixtures`, so no torch is needed here), the output's names,
//! shapes and precision, and clean errors.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use gradscope::io::safetensors::{read, write, TensorFile};
use gradscope::layer::LayerKind;
use gradscope::model::ModelSpec;
use gradscope::{Activation, Rng, Tensor};

use crate::{fails, ok, TempDir};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gradscope/tests/fixtures/torch")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// max over elements of |a − b| / max(|b|, ρ·max|b|, ρ·terms, 1e-300): the metric of
/// `scripts/torch_check.py` (b is PyTorch, `terms` the sum of the |terms| each element adds
/// up, present for every gradient).
fn rel_error(a: &Tensor<f64>, b: &Tensor<f64>, terms: Option<&Tensor<f64>>, rho: f64) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let finite = |t: &Tensor<f64>| t.data().iter().all(|v| v.is_finite());
    if !finite(a) || !finite(b) {
        return f64::INFINITY;
    }
    let base = (rho * b.max_abs()).max(1e-300);
    let mut worst = 0.0f64;
    for (i, (x, y)) in a.data().iter().zip(b.data()).enumerate() {
        let mut floor = y.abs().max(base);
        if let Some(t) = terms {
            floor = floor.max(rho * t.data()[i]);
        }
        worst = worst.max((x - y).abs() / floor);
    }
    worst
}

fn manifest() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).expect("manifest.json");
    serde_json::from_str(&text).expect("manifest.json is JSON")
}

/// Runs `grads` on fixture `name` in `dtype`; returns the worst error over all tensors (and
/// the tensor) after checking that the output has exactly PyTorch's names and shapes.
fn run_fixture(name: &str, dtype: &str, rho: f64) -> (f64, String) {
    let dir = fixtures();
    let entry = manifest()
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in manifest.json"));
    let mode = entry["mode"].as_str().expect("mode");
    // Weights saved from a module with other attribute names come with their --rename rules.
    let renames: Vec<String> = entry
        .get("rename")
        .and_then(|r| r.as_array())
        .map(|r| {
            r.iter()
                .map(|v| v.as_str().expect("rename rule").to_string())
                .collect()
        })
        .unwrap_or_default();
    let tmp = TempDir::new("grads-fixture");
    std::fs::create_dir_all(&tmp.0).unwrap();
    let out = tmp.0.join("g.safetensors");
    let f = |suffix: &str| dir.join(format!("{name}{suffix}"));
    let (model, weights, batch) = (
        f(".toml"),
        f(".weights.safetensors"),
        f(".batch.safetensors"),
    );
    let mut args = vec![
        "grads",
        "--model",
        s(&model),
        "--weights",
        s(&weights),
        "--batch",
        s(&batch),
        "--out",
        s(&out),
        "--dtype",
        dtype,
        "--mode",
        mode,
    ];
    for r in &renames {
        args.extend(["--rename", r.as_str()]);
    }
    ok(&args);
    let got = read::<f64>(&out).expect("grads output");
    let expected = read::<f64>(&f(".expected.safetensors")).expect("expected");
    let want: BTreeSet<&str> = expected
        .tensors
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !n.starts_with("terms."))
        .collect();
    let have: BTreeSet<&str> = got.tensors.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(have, want, "{name}: tensor names differ from PyTorch's");
    let mut worst = (0.0, String::new());
    for n in want {
        let (a, b) = (got.get(n).unwrap(), expected.get(n).unwrap());
        assert_eq!(a.shape(), b.shape(), "{name}: shape of {n}");
        let e = rel_error(a, b, expected.get(&format!("terms.{n}")), rho);
        if e > worst.0 || worst.1.is_empty() {
            worst = (e, n.to_string());
        }
    }
    worst
}

macro_rules! fixture_tests {
    ($($name:ident),* $(,)?) => {
        const FIXTURES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                let (err, tensor) = run_fixture(stringify!($name), "f64", 1e-6);
                assert!(
                    err <= 1e-8,
                    "{}: max relative error {err:e} in `{tensor}` (f64, PyTorch fixture)",
                    stringify!($name)
                );
            }
        )*
    };
}

fixture_tests!(
    catalogue_eval_residual,
    catalogue_train_batchnorm,
    batchnorm_eval_prelu,
    cross_entropy_column_labels_nobias,
    mse_softmax_head,
    logistic_flat_targets,
    dropout_eval_residual,
    single_sample_train,
    layernorm_train_residual,
    layernorm_noaffine_single_sample,
    rnn_tanh_last_cross_entropy,
    rnn_relu_two_layers_every_step_mse,
    gru_two_layers_every_step_cross_entropy,
    lstm_user_module_renamed_bce,
);

#[test]
fn every_fixture_in_the_manifest_has_a_test() {
    let listed: BTreeSet<String> = manifest()
        .iter()
        .map(|c| c["name"].as_str().expect("name").to_string())
        .collect();
    let tested: BTreeSet<String> = FIXTURES.iter().map(|s| s.to_string()).collect();
    assert_eq!(listed, tested);
}

#[test]
fn fixtures_cover_every_activation() {
    let mut seen = BTreeSet::new();
    for name in FIXTURES {
        let path = fixtures().join(format!("{name}.toml"));
        let cfg = gradscope::config::Config::load(&path, &[]).expect("fixture config");
        let m = cfg.config.model.mlp();
        for i in 0..m.hidden.len() {
            seen.insert(m.activation_of(i).name());
        }
        seen.insert(m.head.name());
    }
    let all: BTreeSet<&str> = Activation::catalogue().iter().map(|a| a.name()).collect();
    assert_eq!(seen, all);
}

/// Every kind of layer is in some PyTorch fixture (a new layer needs one: see
/// docs/architecture.md, "Adding a layer").
#[test]
fn fixtures_cover_every_layer_kind() {
    let mut seen = BTreeSet::new();
    for name in FIXTURES {
        let path = fixtures().join(format!("{name}.toml"));
        let cfg = gradscope::config::Config::load(&path, &[]).expect("fixture config");
        let model = cfg
            .config
            .model
            .build::<f64>(&mut Rng::seed(0))
            .expect("fixture model");
        model.visit_modules(None, &mut |m| {
            seen.insert(m.kind.name());
        });
    }
    let all: BTreeSet<&str> = LayerKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(seen, all);
}

#[test]
fn fixtures_agree_in_f32_within_1e_3() {
    for name in FIXTURES {
        let (err, tensor) = run_fixture(name, "f32", 1e-2);
        assert!(
            err <= 1e-3,
            "{name}: max relative error {err:e} in `{tensor}` (f32)"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A small model written from gradscope's own state dict, for the output format and errors.
// ---------------------------------------------------------------------------------------------

const MODEL: &str = r#"
seed = 3
[model]
input = 3
hidden = [4, 4]
output = 2
activations = ["tanh", "prelu(init=0.2, channels=4)"]
norm = "batchnorm"
residual = true
[training]
loss = "cross_entropy"
"#;

struct Setup {
    dir: TempDir,
}

impl Setup {
    /// model.toml, w.safetensors (the model's own initial state dict), b.safetensors (x [5, 3],
    /// y [5]).
    fn new(model: &str) -> Setup {
        let dir = TempDir::new("grads");
        std::fs::create_dir_all(&dir.0).unwrap();
        std::fs::write(dir.0.join("model.toml"), model).unwrap();
        let cfg = gradscope::config::Config::parse(model, "model.toml", &[]).unwrap();
        let spec: ModelSpec = cfg.model;
        let m = spec.build::<f64>(&mut Rng::seed(11)).unwrap();
        let state = m.state_dict();
        let setup = Setup { dir };
        setup.write_tensors("w.safetensors", &state);
        let x: Vec<f64> = (0..15).map(|i| ((i * 7 % 11) as f64 - 5.0) / 3.0).collect();
        setup.write_tensors(
            "b.safetensors",
            &[
                ("x".into(), Tensor::from_vec(&[5, 3], x).unwrap()),
                (
                    "y".into(),
                    Tensor::from_vec(&[5], vec![0.0, 1.0, 1.0, 0.0, 1.0]).unwrap(),
                ),
            ],
        );
        setup
    }

    fn path(&self, name: &str) -> String {
        s(&self.dir.0.join(name)).to_string()
    }

    fn write_tensors(&self, name: &str, tensors: &[(String, Tensor<f64>)]) {
        let refs: Vec<(String, &Tensor<f64>)> =
            tensors.iter().map(|(n, t)| (n.clone(), t)).collect();
        write(&self.dir.0.join(name), &refs, &HashMap::new()).unwrap();
    }

    fn read(&self, name: &str) -> TensorFile<f64> {
        read::<f64>(&self.dir.0.join(name)).unwrap()
    }

    /// Rewrites file `name` through `edit`.
    fn edit(&self, name: &str, edit: impl FnOnce(&mut Vec<(String, Tensor<f64>)>)) {
        let mut t = self.read(name).tensors;
        edit(&mut t);
        self.write_tensors(name, &t);
    }

    fn args(&self, extra: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = [
            "grads",
            "--model",
            &self.path("model.toml"),
            "--weights",
            &self.path("w.safetensors"),
            "--batch",
            &self.path("b.safetensors"),
            "--out",
            &self.path("g.safetensors"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }

    fn ok(&self, extra: &[&str]) -> String {
        let a = self.args(extra);
        ok(&a.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn fails(&self, extra: &[&str]) -> String {
        let a = self.args(extra);
        let err = fails(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            !self.dir.0.join("g.safetensors").exists(),
            "output written on error"
        );
        err
    }
}

/// The dtypes of the tensors as stored on disk (from the safetensors header).
fn disk_dtypes(path: &Path) -> BTreeSet<String> {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(_, v)| v["dtype"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn writes_every_gradient_by_pytorch_names() {
    let st = Setup::new(MODEL);
    let stdout = st.ok(&["--dtype", "f64"]);
    assert!(stdout.starts_with("loss "), "{stdout}");
    let g = st.read("g.safetensors");
    let names: BTreeSet<&str> = g.tensors.iter().map(|(n, _)| n.as_str()).collect();
    // 0 Linear(3,4), 1 BatchNorm1d, 2 tanh; 3 residual block (Linear, BatchNorm1d, PReLU);
    // 4 Linear(4,2).
    let want: BTreeSet<&str> = [
        "loss",
        "output",
        "grad.0.weight",
        "grad.0.bias",
        "grad.1.weight",
        "grad.1.bias",
        "grad.3.block.0.weight",
        "grad.3.block.0.bias",
        "grad.3.block.1.weight",
        "grad.3.block.1.bias",
        "grad.3.block.2.weight",
        "grad.4.weight",
        "grad.4.bias",
        "dz.2",
        "da.2",
        "dz.3.block.2",
        "da.3.block.2",
    ]
    .into_iter()
    .collect();
    assert_eq!(names, want);
    let shape = |n: &str| g.get(n).unwrap().shape().to_vec();
    assert_eq!(shape("loss"), Vec::<usize>::new());
    assert_eq!(shape("output"), [5, 2]);
    assert_eq!(shape("grad.0.weight"), [4, 3]);
    assert_eq!(shape("grad.3.block.2.weight"), [4]);
    assert_eq!(shape("dz.3.block.2"), [5, 4]);
    // ∂L/∂b of the output layer is the column sum of ∂L/∂output, whose rows sum to 0 for the
    // softmax cross-entropy.
    let gb = g.get("grad.4.bias").unwrap().data().to_vec();
    assert!((gb[0] + gb[1]).abs() < 1e-15, "{gb:?}");
    assert_eq!(
        disk_dtypes(&st.dir.0.join("g.safetensors")),
        ["F64".to_string()].into()
    );
    let meta = &g.metadata;
    assert_eq!(meta["mode"], "train");
    assert_eq!(meta["dtype"], "f64");
    assert_eq!(meta["loss_fn"], "cross_entropy");
}

#[test]
fn precision_follows_the_flag_then_the_config() {
    let st = Setup::new(MODEL);
    st.ok(&["--dtype", "f32"]);
    let g = st.dir.0.join("g.safetensors");
    assert_eq!(disk_dtypes(&g), ["F32".to_string()].into());
    // No flag: the config's dtype (default f32, here f64).
    let st = Setup::new(&format!("dtype = \"f64\"\n{MODEL}"));
    st.ok(&[]);
    assert_eq!(
        disk_dtypes(&st.dir.0.join("g.safetensors")),
        ["F64".to_string()].into()
    );
}

#[test]
fn eval_mode_uses_running_statistics() {
    let st = Setup::new(MODEL);
    st.ok(&["--dtype", "f64", "--mode", "train"]);
    let train = st.read("g.safetensors");
    st.ok(&["--dtype", "f64", "--mode", "eval"]);
    let eval = st.read("g.safetensors");
    assert_eq!(eval.metadata["mode"], "eval");
    // Running mean 0 and variance 1 (the initial state): in eval mode BatchNorm1d is
    // y = γ·x/√(1 + ε) + β, so the outputs differ from the batch-statistics ones.
    assert_ne!(train.get("output"), eval.get("output"));
}

#[test]
fn set_overrides_the_config() {
    let st = Setup::new(MODEL);
    // A different hidden activation keeps every name and shape (tanh has no parameter).
    st.ok(&[
        "--set",
        "model.activations=[\"relu\", \"prelu(init=0.2, channels=4)\"]",
    ]);
    let g = st.read("g.safetensors");
    assert!(g.get("dz.2").is_some());
}

#[test]
fn missing_weight_tensor_is_named() {
    let st = Setup::new(MODEL);
    st.edit("w.safetensors", |t| t.retain(|(n, _)| n != "0.bias"));
    let err = st.fails(&[]);
    assert!(err.contains("w.safetensors"), "{err}");
    assert!(err.contains("missing tensors [\"0.bias\"]"), "{err}");
    assert!(
        err.contains("0.weight"),
        "does not list what the file has: {err}"
    );
}

#[test]
fn wrong_weight_shape_is_named() {
    let st = Setup::new(MODEL);
    st.edit("w.safetensors", |t| {
        for (n, v) in t.iter_mut() {
            if n == "0.weight" {
                *v = Tensor::zeros(&[5, 3]);
            }
        }
    });
    let err = st.fails(&[]);
    assert!(err.contains("w.safetensors"), "{err}");
    assert!(err.contains("`0.weight` has shape [5, 3]"), "{err}");
    assert!(err.contains("[4, 3]"), "{err}");
}

#[test]
fn extra_weight_tensor_is_an_error() {
    let st = Setup::new(MODEL);
    st.edit("w.safetensors", |t| {
        t.push(("9.weight".into(), Tensor::zeros(&[2, 2])))
    });
    let err = st.fails(&[]);
    assert!(err.contains("unexpected tensors [\"9.weight\"]"), "{err}");
}

#[test]
fn missing_x_or_y_is_named() {
    let st = Setup::new(MODEL);
    st.edit("b.safetensors", |t| t.retain(|(n, _)| n != "x"));
    let err = st.fails(&[]);
    assert!(err.contains("b.safetensors"), "{err}");
    assert!(err.contains("no tensor `x`"), "{err}");
    assert!(
        err.contains("\"y [5]\""),
        "does not list what the file has: {err}"
    );
    let st = Setup::new(MODEL);
    st.edit("b.safetensors", |t| t.retain(|(n, _)| n != "y"));
    assert!(st.fails(&[]).contains("no tensor `y`"));
}

#[test]
fn batch_shapes_that_do_not_fit_are_errors() {
    let st = Setup::new(MODEL);
    st.edit("b.safetensors", |t| t[0].1 = Tensor::zeros(&[5, 2]));
    let err = st.fails(&[]);
    assert!(err.contains("tensor `x` has shape [5, 2]"), "{err}");
    assert!(err.contains("[N, 3]"), "{err}");
    // 1-D x.
    st.edit("b.safetensors", |t| t[0].1 = Tensor::zeros(&[15]));
    assert!(st.fails(&[]).contains("tensor `x` has shape [15]"));
    // No sample.
    st.edit("b.safetensors", |t| t[0].1 = Tensor::zeros(&[0, 3]));
    assert!(st.fails(&[]).contains("N >= 1"));

    let st = Setup::new(MODEL);
    st.edit("b.safetensors", |t| t[1].1 = Tensor::zeros(&[5, 2]));
    let err = st.fails(&[]);
    assert!(err.contains("tensor `y` has shape [5, 2]"), "{err}");
    assert!(err.contains("cross_entropy"), "{err}");
    // MSE needs the output's shape.
    let st = Setup::new(&MODEL.replace("cross_entropy", "mse"));
    let err = st.fails(&[]);
    assert!(err.contains("mse needs the output's shape [5, 2]"), "{err}");
}

#[test]
fn labels_that_are_not_class_indices_are_errors() {
    let st = Setup::new(MODEL);
    st.edit("b.safetensors", |t| {
        t[1].1 = Tensor::from_vec(&[5], vec![0.0, 1.0, 2.0, 0.0, 1.0]).unwrap()
    });
    let err = st.fails(&[]);
    assert!(err.contains("b.safetensors"), "{err}");
    assert!(err.contains("not a class index in 0..2"), "{err}");
}

#[test]
fn batchnorm_training_needs_two_samples() {
    let st = Setup::new(MODEL);
    st.edit("b.safetensors", |t| {
        t[0].1 = Tensor::zeros(&[1, 3]);
        t[1].1 = Tensor::zeros(&[1]);
    });
    let err = st.fails(&[]);
    assert!(
        err.contains("needs at least 2 rows") && err.contains("N = 1 row"),
        "{err}"
    );
    // Eval mode takes one sample.
    st.ok(&["--mode", "eval"]);
}

#[test]
fn bad_mode_or_dtype_is_an_error() {
    let st = Setup::new(MODEL);
    let err = st.fails(&["--mode", "test"]);
    assert!(err.contains("--mode"), "{err}");
    let err = st.fails(&["--dtype", "f16"]);
    assert!(err.contains("--dtype"), "{err}");
}

#[test]
fn unreadable_files_are_named() {
    let st = Setup::new(MODEL);
    std::fs::remove_file(st.dir.0.join("w.safetensors")).unwrap();
    let err = st.fails(&[]);
    assert!(err.contains("cannot read"), "{err}");
    assert!(err.contains("w.safetensors"), "{err}");

    let st = Setup::new(MODEL);
    std::fs::remove_file(st.dir.0.join("model.toml")).unwrap();
    let err = st.fails(&[]);
    assert!(err.contains("model.toml"), "{err}");
}

#[test]
fn weights_that_are_not_safetensors_are_an_error() {
    let st = Setup::new(MODEL);
    std::fs::write(st.dir.0.join("w.safetensors"), "0.weight = [[1, 2]]\n").unwrap();
    let err = st.fails(&[]);
    assert!(err.contains("w.safetensors"), "{err}");
    assert!(err.contains("not a valid safetensors file"), "{err}");
    // Truncated.
    let st = Setup::new(MODEL);
    let bytes = std::fs::read(st.dir.0.join("b.safetensors")).unwrap();
    std::fs::write(st.dir.0.join("b.safetensors"), &bytes[..bytes.len() - 9]).unwrap();
    let err = st.fails(&[]);
    assert!(err.contains("b.safetensors"), "{err}");
}

#[test]
fn sizes_come_from_the_weights() {
    // model.input and model.output left out: the weights' shapes fix them, and the gradients
    // are those of the config that states them.
    let st = Setup::new(MODEL);
    st.ok(&[]);
    let stated = st.read("g.safetensors");
    std::fs::write(
        st.dir.0.join("model.toml"),
        MODEL.replace("input = 3\n", "").replace("output = 2\n", ""),
    )
    .unwrap();
    st.ok(&[]);
    let inferred = st.read("g.safetensors");
    assert_eq!(names_and_shapes(&stated), names_and_shapes(&inferred));
    for ((n, a), (_, b)) in stated.tensors.iter().zip(&inferred.tensors) {
        assert_eq!(a.data(), b.data(), "{n}");
    }
    // Stated sizes are checked against the weights, naming the tensor that disagrees.
    std::fs::remove_file(st.dir.0.join("g.safetensors")).unwrap();
    let err = st.fails(&["--set", "model.input=4"]);
    assert!(
        err.contains("model.input = 4") && err.contains("`0.weight` has shape [4, 3]"),
        "{err}"
    );
    let err = st.fails(&["--set", "model.output=3"]);
    assert!(err.contains("model.output = 3"), "{err}");
    assert!(err.contains("model.output = 2"), "{err}");
    assert!(err.contains("model.toml"), "{err}");
}

#[test]
fn recurrent_sizes_come_from_the_weights() {
    let model = r#"
seed = 5
[model]
input = 2
hidden = []
output = 3
[model.recurrent]
cell = "lstm"
hidden = 4
[training]
loss = "mse"
"#;
    let st = Setup::new(model);
    // x: N = 5 rows of T = 3 steps of 2 features (Setup's x is [5, 3]: rewrite it).
    st.edit("b.safetensors", |t| {
        let x: Vec<f64> = (0..30).map(|i| ((i * 5 % 7) as f64 - 3.0) / 4.0).collect();
        let y: Vec<f64> = (0..15).map(|i| (i % 4) as f64 / 3.0).collect();
        *t = vec![
            ("x".into(), Tensor::from_vec(&[5, 6], x).unwrap()),
            ("y".into(), Tensor::from_vec(&[5, 3], y).unwrap()),
        ];
    });
    st.ok(&[]);
    let stated = st.read("g.safetensors");
    std::fs::write(
        st.dir.0.join("model.toml"),
        model.replace("input = 2\n", "").replace("output = 3\n", ""),
    )
    .unwrap();
    st.ok(&[]);
    let inferred = st.read("g.safetensors");
    assert_eq!(names_and_shapes(&stated), names_and_shapes(&inferred));
    std::fs::remove_file(st.dir.0.join("g.safetensors")).unwrap();
    let err = st.fails(&["--set", "model.input=3"]);
    assert!(err.contains("weight_ih_l0"), "{err}");
}

/// The names and shapes of a file's tensors, sorted.
fn names_and_shapes(f: &TensorFile<f64>) -> Vec<(String, Vec<usize>)> {
    let mut v: Vec<_> = f
        .tensors
        .iter()
        .map(|(n, t)| (n.clone(), t.shape().to_vec()))
        .collect();
    v.sort();
    v
}

#[test]
fn head_prelu_channels_must_fit_the_output() {
    let model = MODEL
        .replace("cross_entropy", "mse")
        .replace("[model]", "[model]\nhead = \"prelu(channels=3)\"");
    let st = Setup::new(&MODEL.replace("cross_entropy", "mse"));
    std::fs::write(st.dir.0.join("model.toml"), model).unwrap();
    let err = st.fails(&[]);
    assert!(
        err.contains("model.head") && err.contains("prelu channels = 3"),
        "{err}"
    );
}

#[test]
fn unwritable_output_is_an_error() {
    let st = Setup::new(MODEL);
    let out = st.path("no/such/dir/g.safetensors");
    let mut a = st.args(&[]);
    let i = a.iter().position(|x| x == "--out").unwrap();
    a[i + 1] = out;
    let err = fails(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("cannot write the gradients"), "{err}");
}

/// A confident, correct prediction: logits [9.71269628, -9.93606113], label 0, loss
/// ln(1 + e^(-19.64875741)) ≈ 2.93e-9. `softmax_cross_entropy` forms (m + ln Σ e^(z−m)) − z_y,
/// so the loss keeps only the bits of ln Σ that survive being added to m ≈ 9.7: relative
/// error 1.5e-7 here (PyTorch: 2e-9), found by `scripts/torch_check.py --models 1000
/// --seed 12`. The gradient is not affected. See docs/torch-check.md.
#[test]
fn tiny_cross_entropy_loss_is_accurate() {
    let model = "dtype = \"f64\"\n[model]\ninput = 2\nhidden = []\noutput = 2\n\
                 [training]\nloss = \"cross_entropy\"\n";
    let st = Setup::new(model);
    let (z0, z1) = (9.71269628, -9.93606113);
    st.write_tensors(
        "w.safetensors",
        &[
            (
                "0.weight".into(),
                Tensor::from_vec(&[2, 2], vec![1.0, 0.0, 0.0, 1.0]).unwrap(),
            ),
            ("0.bias".into(), Tensor::zeros(&[2])),
        ],
    );
    st.write_tensors(
        "b.safetensors",
        &[
            ("x".into(), Tensor::from_vec(&[1, 2], vec![z0, z1]).unwrap()),
            ("y".into(), Tensor::zeros(&[1])),
        ],
    );
    st.ok(&[]);
    let loss = st.read("g.safetensors").get("loss").unwrap().data()[0];
    let exact = f64::ln_1p(f64::exp(z1 - z0));
    let rel = ((loss - exact) / exact).abs();
    assert!(
        rel <= 1e-12,
        "loss {loss:e}, exact {exact:e}, relative error {rel:e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Recurrent models: names, shapes, target layouts, --rename and errors.
// ---------------------------------------------------------------------------------------------

/// A 2-layer LSTM (3 features per step, width 4) predicting every step, a head with one
/// hidden layer; cross-entropy over 3 classes.
const LSTM_MODEL: &str = r#"
seed = 5
dtype = "f64"
[model]
input = 3
hidden = [5]
output = 3
activation = "tanh"
[model.recurrent]
cell = "lstm"
hidden = 4
layers = 2
predict = "every_step"
[training]
loss = "cross_entropy"
"#;

/// x [n, t·3] with values in about [−1.5, 1.5].
fn sequences(n: usize, t: usize) -> Tensor<f64> {
    let x: Vec<f64> = (0..n * t * 3)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) / 3.0)
        .collect();
    Tensor::from_vec(&[n, t * 3], x).unwrap()
}

/// Labels 0..3 for `len` (sample, step) pairs.
fn labels(len: usize) -> Vec<f64> {
    (0..len).map(|i| (i * 5 % 3) as f64).collect()
}

/// `model` with its own initial weights and a batch of 2 sequences of 6 steps; `y` as given.
fn recurrent_setup(model: &str, y: Tensor<f64>) -> Setup {
    let st = Setup::new(model);
    st.write_tensors(
        "b.safetensors",
        &[("x".into(), sequences(2, 6)), ("y".into(), y)],
    );
    st
}

fn lstm_setup() -> Setup {
    recurrent_setup(LSTM_MODEL, Tensor::from_vec(&[2, 6], labels(12)).unwrap())
}

#[test]
fn recurrent_models_write_the_gradient_at_every_step() {
    let st = lstm_setup();
    st.ok(&[]);
    let g = st.read("g.safetensors");
    let names: BTreeSet<&str> = g.tensors.iter().map(|(n, _)| n.as_str()).collect();
    let mut want: BTreeSet<String> = ["loss", "output", "dz.fc.1", "da.fc.1", "dout.rnn"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for k in 0..2 {
        for p in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] {
            want.insert(format!("grad.rnn.{p}_l{k}"));
        }
        for t in ["dh", "grad_norm_h", "grad_norm_c"] {
            want.insert(format!("{t}.l{k}"));
        }
    }
    for p in ["fc.0.weight", "fc.0.bias", "fc.2.weight", "fc.2.bias"] {
        want.insert(format!("grad.{p}"));
    }
    let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
    assert_eq!(names, want);
    let shape = |n: &str| g.get(n).unwrap().shape().to_vec();
    assert_eq!(shape("output"), [12, 3]);
    assert_eq!(shape("grad.rnn.weight_ih_l0"), [16, 3]);
    assert_eq!(shape("grad.rnn.weight_ih_l1"), [16, 4]);
    assert_eq!(shape("dout.rnn"), [6, 2, 4]);
    assert_eq!(shape("dh.l1"), [6, 2, 4]);
    assert_eq!(shape("grad_norm_h.l0"), [6]);
    assert_eq!(shape("grad_norm_c.l1"), [6]);
    assert_eq!(g.metadata["steps"], "6");
    // The norms (from the engine's backward) are the norms of the gradients dh (rerun step
    // by step), at every step of both layers.
    for k in 0..2 {
        let dh = g.get(&format!("dh.l{k}")).unwrap().data().to_vec();
        let norms = g.get(&format!("grad_norm_h.l{k}")).unwrap().data().to_vec();
        for (t, n) in norms.iter().enumerate() {
            let direct: f64 = dh[t * 8..(t + 1) * 8]
                .iter()
                .map(|v| v * v)
                .sum::<f64>()
                .sqrt();
            assert!(
                (direct - n).abs() <= 1e-12 * n.max(1e-300),
                "layer {k} step {t}: |dh| {direct:e}, grad_norm_h {n:e}"
            );
            assert!(*n > 0.0, "layer {k} step {t}: no gradient");
        }
        // Nothing arrives at c_T from a later step.
        let c = g.get(&format!("grad_norm_c.l{k}")).unwrap().data().to_vec();
        assert_eq!(c[5], 0.0);
        assert!(c[..5].iter().all(|v| *v > 0.0), "{c:?}");
    }
    // At the last step nothing comes from later steps: dh of the top layer is what the head
    // sends, dout; before it, dh also carries what comes back through time.
    let (dout, dh) = (g.get("dout.rnn").unwrap(), g.get("dh.l1").unwrap());
    assert_eq!(dout.data()[40..], dh.data()[40..]);
    assert_ne!(dout.data()[..40], dh.data()[..40]);
}

#[test]
fn predict_last_sends_the_gradient_to_the_last_step_only() {
    let model = LSTM_MODEL
        .replace("every_step", "last")
        .replace("cell = \"lstm\"", "cell = \"gru\"");
    let st = recurrent_setup(&model, Tensor::from_vec(&[2], vec![2.0, 0.0]).unwrap());
    st.ok(&[]);
    let g = st.read("g.safetensors");
    assert_eq!(g.get("output").unwrap().shape(), [2, 3]);
    assert!(g.get("grad_norm_c.l0").is_none(), "a GRU has no cell state");
    let dout = g.get("dout.rnn").unwrap().data().to_vec();
    assert!(dout[..40].iter().all(|v| *v == 0.0));
    assert!(dout[40..].iter().any(|v| *v != 0.0));
    let norms = g.get("grad_norm_h.l1").unwrap().data().to_vec();
    assert!(norms.iter().all(|v| *v > 0.0), "{norms:?}");
}

#[test]
fn truncated_bptt_writes_the_norms_but_not_dh() {
    // dh is recomputed by full BPTT, which truncation would contradict.
    let model = LSTM_MODEL.replace("layers = 2", "layers = 2\ntruncate = 3");
    let st = recurrent_setup(&model, Tensor::from_vec(&[2, 6], labels(12)).unwrap());
    st.ok(&[]);
    let g = st.read("g.safetensors");
    assert!(g.get("dh.l0").is_none() && g.get("dh.l1").is_none());
    assert_eq!(g.get("grad_norm_h.l1").unwrap().shape(), [6]);
    assert_eq!(g.get("dout.rnn").unwrap().shape(), [6, 2, 4]);
}

#[test]
fn every_step_targets_in_every_layout_give_the_same_gradients() {
    let run = |st: &Setup| {
        st.ok(&[]);
        st.read("g.safetensors")
    };
    let y = labels(12);
    let base = run(&lstm_setup());
    for shape in [vec![12], vec![12, 1]] {
        let st = recurrent_setup(LSTM_MODEL, Tensor::from_vec(&shape, y.clone()).unwrap());
        let g = run(&st);
        for (n, t) in &base.tensors {
            assert_eq!(g.get(n), Some(t), "labels {shape:?}: {n}");
        }
    }
    // MSE: [N, T, out] and [N·T, out] (rows in (sample, step) order).
    let mse = LSTM_MODEL.replace("cross_entropy", "mse");
    let v: Vec<f64> = (0..36).map(|i| (i as f64 * 0.37).sin()).collect();
    let a = run(&recurrent_setup(
        &mse,
        Tensor::from_vec(&[2, 6, 3], v.clone()).unwrap(),
    ));
    let b = run(&recurrent_setup(
        &mse,
        Tensor::from_vec(&[12, 3], v).unwrap(),
    ));
    assert_eq!(
        a.get("grad.rnn.weight_hh_l0"),
        b.get("grad.rnn.weight_hh_l0")
    );
    assert_eq!(a.get("dh.l0"), b.get("dh.l0"));
}

#[test]
fn recurrent_batch_shapes_that_do_not_fit_are_errors() {
    // 14 values per row is not a whole number of steps of 3 features.
    let st = lstm_setup();
    st.edit("b.safetensors", |t| {
        t.retain(|(n, _)| n != "x");
        t.push(("x".into(), Tensor::zeros(&[2, 14])));
    });
    let err = st.fails(&[]);
    assert!(err.contains("b.safetensors"), "{err}");
    assert!(err.contains("tensor `x` has shape [2, 14]"), "{err}");
    assert!(err.contains("[N, T·3]"), "{err}");
    // One label per sequence for a model that predicts every step.
    let st = recurrent_setup(LSTM_MODEL, Tensor::from_vec(&[2], vec![0.0, 1.0]).unwrap());
    let err = st.fails(&[]);
    assert!(err.contains("b.safetensors"), "{err}");
    assert!(err.contains("tensor `y` has shape [2]"), "{err}");
    assert!(err.contains("[2, 6] or [12]"), "{err}");
    // MSE targets of the wrong width.
    let mse = LSTM_MODEL.replace("cross_entropy", "mse");
    let st = recurrent_setup(&mse, Tensor::zeros(&[2, 6, 2]));
    let err = st.fails(&[]);
    assert!(err.contains("tensor `y` has shape [2, 6, 2]"), "{err}");
    assert!(
        err.contains("[12, 3]") && err.contains("[2, 6, 3]"),
        "{err}"
    );
    // Labels out of range are named as for an MLP.
    let st = recurrent_setup(LSTM_MODEL, Tensor::full(&[2, 6], 3.0));
    assert!(st.fails(&[]).contains("not a class index in 0..3"));
}

#[test]
fn missing_recurrent_weights_are_named() {
    let st = lstm_setup();
    st.edit("w.safetensors", |t| {
        t.retain(|(n, _)| n != "rnn.bias_hh_l1")
    });
    let err = st.fails(&[]);
    assert!(err.contains("w.safetensors"), "{err}");
    assert!(
        err.contains("missing tensors [\"rnn.bias_hh_l1\"]"),
        "{err}"
    );
    let st = lstm_setup();
    st.edit("w.safetensors", |t| {
        for (n, v) in t.iter_mut() {
            if n == "rnn.weight_hh_l0" {
                *v = Tensor::zeros(&[12, 4]);
            }
        }
    });
    let err = st.fails(&[]);
    assert!(
        err.contains("`rnn.weight_hh_l0` has shape [12, 4]"),
        "{err}"
    );
    assert!(err.contains("[16, 4]"), "{err}");
}

/// The weights of `lstm_setup` under a user's names: `lstm.*` and `head.*`.
fn renamed_lstm_setup() -> Setup {
    let st = lstm_setup();
    st.edit("w.safetensors", |t| {
        for (n, _) in t.iter_mut() {
            *n = n.replacen("rnn.", "lstm.", 1).replacen("fc.", "head.", 1);
        }
    });
    st
}

#[test]
fn rename_maps_a_users_names_to_the_models() {
    let st = lstm_setup();
    st.ok(&[]);
    let want = st.read("g.safetensors");
    let st = renamed_lstm_setup();
    // Without --rename the names do not fit; the message lists what the file has.
    let err = st.fails(&[]);
    assert!(
        err.contains("missing tensors [\"rnn.weight_ih_l0\""),
        "{err}"
    );
    assert!(err.contains("lstm.weight_ih_l0"), "{err}");
    st.ok(&["--rename", "lstm.=rnn.", "--rename", "head.=fc."]);
    let got = st.read("g.safetensors");
    assert_eq!(got.tensors, want.tensors);
    // The first matching rule wins: `lstm.weight_` first, then the rest of `lstm.`.
    st.ok(&[
        "--rename",
        "lstm.weight_=rnn.weight_",
        "--rename",
        "lstm.=rnn.",
        "--rename",
        "head.=fc.",
    ]);
    assert_eq!(st.read("g.safetensors").tensors, want.tensors);
}

#[test]
fn bad_rename_rules_are_errors() {
    let st = renamed_lstm_setup();
    let err = st.fails(&["--rename", "lstm.rnn."]);
    assert!(err.contains("--rename \"lstm.rnn.\""), "{err}");
    assert!(err.contains("OLD=NEW"), "{err}");
    let err = st.fails(&["--rename", "=rnn."]);
    assert!(err.contains("OLD=NEW"), "{err}");
    // A rule that matches nothing is a typo.
    let err = st.fails(&["--rename", "lstm.=rnn.", "--rename", "linear.=fc.0."]);
    assert!(err.contains("w.safetensors"), "{err}");
    assert!(
        err.contains("--rename linear.=fc.0. matches no tensor"),
        "{err}"
    );
    assert!(
        err.contains("head.0.weight"),
        "does not list the names: {err}"
    );
    // Two tensors may not end up with one name.
    let err = st.fails(&[
        "--rename",
        "lstm.bias_ih=rnn.bias",
        "--rename",
        "lstm.bias_hh=rnn.bias",
    ]);
    assert!(err.contains("two tensors the name `rnn.bias_l0`"), "{err}");
    assert!(
        err.contains("`lstm.bias_ih_l0`") && err.contains("`lstm.bias_hh_l0`"),
        "{err}"
    );
    // Renamed names that still do not fit say which rules were applied.
    let err = st.fails(&["--rename", "lstm.=rnn.", "--rename", "head.=fc.1."]);
    assert!(err.contains("missing tensors"), "{err}");
    assert!(
        err.contains("names after --rename lstm.=rnn. --rename head.=fc.1."),
        "{err}"
    );
}

#[test]
fn records_are_the_probes_record_of_this_backward() {
    let st = Setup::new(MODEL);
    st.ok(&["--dtype", "f64", "--records", &st.path("r.jsonl")]);
    let text = std::fs::read_to_string(st.dir.0.join("r.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 1);
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["step"], 1);
    assert_eq!(r["batch_size"], 5);
    let g = st.read("g.safetensors");
    let norm = |n: &str| {
        let d = g.get(n).unwrap().data().to_vec();
        d.iter().map(|v| v * v).sum::<f64>().sqrt()
    };
    // The tanh at index 2: ‖∂L/∂z‖ and ‖∂L/∂a‖ of the record are those of dz.2 and da.2.
    let layer = r["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["path"] == "2")
        .unwrap();
    assert_eq!(layer["kind"], "activation");
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-300);
    assert!(close(layer["grad_in_norm"].as_f64().unwrap(), norm("dz.2")));
    assert!(close(
        layer["grad_out_norm"].as_f64().unwrap(),
        norm("da.2")
    ));
    // --records is an output: never one of the inputs.
    let st = Setup::new(MODEL);
    let err = st.fails(&["--records", &st.path("model.toml")]);
    assert!(err.contains("--records"), "{err}");
}
