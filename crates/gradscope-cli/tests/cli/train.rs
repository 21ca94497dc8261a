//! `gradscope train`: outputs, errors, Ctrl-C, divergence, resume.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gradscope"))
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/digits-mlp.toml")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gradscope-cli-train-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn writes_metrics_summary_checkpoint_and_model() {
    let out = temp("ok");
    let ex = example();
    let o = run(&[
        "train",
        ex.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        "training.epochs=3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("epoch")).count(),
        3,
        "{stdout}"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for key in [
        "step",
        "epoch",
        "loss",
        "train_accuracy",
        "val_accuracy",
        "lr",
        "grad_norm",
        "elapsed_s",
    ] {
        assert!(lines[2].get(key).is_some(), "metrics.jsonl lacks {key}");
    }
    let s = json(&out.join("summary.json"));
    assert_eq!(s["outcome"]["status"], "completed");
    assert!(s["test"]["accuracy"].as_f64().unwrap() > 0.8);
    for f in ["checkpoint.safetensors", "model.safetensors", "config.toml"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // The final weights use PyTorch names.
    let w = gradscope::io::safetensors::read::<f32>(&out.join("model.safetensors")).unwrap();
    let names: Vec<&str> = w.tensors.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"0.weight") && names.contains(&"4.bias"),
        "{names:?}"
    );
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn bad_configs_exit_nonzero_with_the_line() {
    let dir = temp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("[model]\nhiden = [4]\n", "line 2"),
        ("[model]\nhidden = [4]\n[training]\nepochs = 0\n", ":4:"),
        ("[model]\nactivation = \"sigmod\"\n", "unknown activation"),
        ("[model\n", "line 1"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let cfg = dir.join(format!("c{i}.toml"));
        std::fs::write(&cfg, text).unwrap();
        let o = run(&[
            "train",
            cfg.to_str().unwrap(),
            "--out",
            dir.join("o").to_str().unwrap(),
        ]);
        let e = stderr(&o);
        assert!(!o.status.success() && e.contains(want), "{text:?}: {e}");
        assert!(!e.contains("panicked"), "{e}");
    }
    let o = run(&["train", dir.join("nope.toml").to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("nope.toml"));
    let o = run(&["train", example().to_str().unwrap(), "--set", "training.lr"]);
    assert!(!o.status.success() && stderr(&o).contains("KEY=VALUE"));
    let o = run(&[
        "train",
        example().to_str().unwrap(),
        "--out",
        dir.join("o").to_str().unwrap(),
        "--resume",
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("no checkpoint"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn divergence_exits_1_naming_step_and_layer() {
    let out = temp("nan");
    let o = run(&[
        "train",
        example().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        "training.lr=1e30",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("diverged at step") && e.contains("layer"), "{e}");
    assert!(!e.contains("panicked"));
    assert_eq!(
        json(&out.join("summary.json"))["outcome"]["status"],
        "diverged"
    );
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn ctrl_c_writes_a_checkpoint_and_resume_finishes() {
    let out = temp("int");
    let ex = example();
    let child = bin()
        .args([
            "train",
            ex.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--set",
            "training.batch_size=1",
            "--set",
            "training.epochs=200",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first epoch line, then interrupt.
    let metrics = out.join("metrics.jsonl");
    for _ in 0..600 {
        if std::fs::read_to_string(&metrics).is_ok_and(|m| !m.is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let o = child.wait_with_output().unwrap();
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{e}");
    assert!(
        e.contains("interrupted at step") && e.contains("--resume"),
        "{e}"
    );
    let s = json(&out.join("summary.json"));
    assert_eq!(s["outcome"]["status"], "interrupted");
    assert!(out.join("checkpoint.safetensors").exists());
    // Finish the epoch in progress and one more.
    let epochs = s["epochs"].as_u64().unwrap() + 2;
    let o = run(&[
        "train",
        ex.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        "training.batch_size=1",
        "--set",
        &format!("training.epochs={epochs}"),
        "--resume",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let n = std::fs::read_to_string(&metrics).unwrap().lines().count() as u64;
    assert_eq!(n, epochs);
    std::fs::remove_dir_all(out).ok();
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// `gradscope train CONFIG --out OUT -q --set S...`.
fn train_quietly(config: &Path, out: &Path, sets: &[&str]) -> Output {
    let mut args = vec![
        "train",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ];
    for s in sets {
        args.extend(["--set", s]);
    }
    run(&args)
}

#[test]
fn a_char_model_trains_writes_its_vocabulary_and_generates_text() {
    let out = temp("charlm");
    let ex = examples_dir().join("charlm-shakespeare.toml");
    let o = train_quietly(
        &ex,
        &out,
        &["training.max_steps=5", "model.recurrent.hidden=16"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let file = json(&out.join("vocab.json"));
    assert_eq!(file["schema_version"], 3);
    let vocab: Vec<String> = serde_json::from_value(file["chars"].clone()).unwrap();
    assert_eq!(vocab.len(), 61, "the sample has 61 distinct characters");
    assert!(vocab.contains(&"\n".to_string()) && vocab.contains(&" ".to_string()));
    let summary = json(&out.join("summary.json"));
    assert_eq!(summary["model"][0], "0: lstm(61 -> 16, every_step)");
    let gen = |seed: &str| {
        let o = run(&[
            "generate",
            out.to_str().unwrap(),
            "--prime",
            "Shall I",
            "--length",
            "40",
            "--seed",
            seed,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let a = gen("3");
    assert!(a.starts_with("Shall I"), "{a}");
    assert_eq!(
        a.trim_end_matches('\n').chars().count(),
        "Shall I".len() + 40,
        "{a:?}"
    );
    assert!(a
        .chars()
        .all(|c| c == '\n' || vocab.contains(&c.to_string())));
    assert_eq!(a, gen("3"), "same seed, same text");
    // A character outside the vocabulary, a bad temperature, a run without vocab.json.
    let bad = run(&["generate", out.to_str().unwrap(), "--prime", "Ω"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("not in the vocabulary"),
        "{}",
        stderr(&bad)
    );
    let bad = run(&["generate", out.to_str().unwrap(), "--temperature", "-1"]);
    assert!(!bad.status.success() && !stderr(&bad).contains("panicked"));
    let digits = temp("charlm-digits");
    let o = train_quietly(&example(), &digits, &["training.epochs=1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bad = run(&["generate", digits.to_str().unwrap()]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("vocab.json"), "{}", stderr(&bad));
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_dir_all(&digits);
}

#[test]
fn recurrent_config_errors_name_the_field() {
    let out = temp("rec-errors");
    let ex = examples_dir().join("adding-lstm.toml");
    for (set, needle) in [
        ("model.recurrent.hidden=0", "model.recurrent.hidden"),
        (
            "model.recurrent.activation=\"relu\"",
            "only applies to cell = \"rnn\"",
        ),
        ("model.recurrent.cell=\"transformer\"", "cell"),
        (
            "model.recurrent.predict=\"every_step\"",
            "label per time step",
        ),
        ("model.recurrent.spectral_radius=-1", "spectral_radius"),
        ("model.input=3", "model.input = 3"),
        ("training.tolerance=0", "training.tolerance"),
    ] {
        let o = train_quietly(&ex, &out, &[set]);
        assert!(!o.status.success(), "{set} was accepted");
        let e = stderr(&o);
        assert!(e.contains(needle) && !e.contains("panicked"), "{set}: {e}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// `model.safetensors` carries the input standardization: raw inputs standardized with its
/// `input_mean`/`input_std` metadata give the model the accuracy the run reported.
#[test]
fn model_file_carries_the_input_standardization() {
    use gradscope::config::Config;
    use gradscope::{Rng, Tensor};
    let out = temp("standardize");
    let ex = example();
    let o = run(&[
        "train",
        ex.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        "training.epochs=2",
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let file = gradscope::io::safetensors::read::<f32>(&out.join("model.safetensors")).unwrap();
    let meta = &file.metadata;
    assert_eq!(meta["format"], gradscope::train::MODEL_FORMAT);
    let vector = |k: &str| -> Vec<f64> { serde_json::from_str(&meta[k]).unwrap() };
    let (mean, std) = (
        vector(gradscope::train::INPUT_MEAN_KEY),
        vector(gradscope::train::INPUT_STD_KEY),
    );
    assert_eq!((mean.len(), std.len()), (64, 64));
    // The same numbers as the checkpoint's (what a resumed run standardizes with).
    let ckpt =
        gradscope::io::safetensors::read::<f32>(&out.join("checkpoint.safetensors")).unwrap();
    let s: serde_json::Value = serde_json::from_str(&ckpt.metadata["standardizer"]).unwrap();
    assert_eq!(s["mean"], serde_json::json!(mean));
    assert_eq!(s["std"], serde_json::json!(std));

    // Raw digits through the exported model, standardized by the metadata alone.
    let raw = gradscope::data::digits();
    let x: Vec<f64> = raw
        .x()
        .chunks(64)
        .flat_map(|row| {
            row.iter()
                .zip(&mean)
                .zip(&std)
                .map(|((v, m), s)| (v - m) / s)
                .collect::<Vec<_>>()
        })
        .collect();
    let x = Tensor::<f32>::from_f64_slice(&[raw.len(), 64], &x).unwrap();
    let config = Config::load(&out.join("config.toml"), &[]).unwrap().config;
    let mut spec = config.model.clone();
    spec.set_input(64);
    spec.set_output(10);
    let mut model = spec.build::<f32>(&mut Rng::seed(0)).unwrap();
    model
        .load_state_dict(&file.tensors, "model.safetensors", &[])
        .unwrap();
    model.set_training(false);
    let logits = model.forward(&x).to_f64_vec();
    let labels = raw.labels().unwrap();
    let correct = logits
        .chunks(10)
        .zip(labels)
        .filter(|(row, &y)| {
            let best = (0..10).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            best == y
        })
        .count() as f64;
    // The run's own count of correct predictions over its three splits.
    let summary = json(&out.join("summary.json"));
    let reported: f64 = ["train", "val", "test"]
        .iter()
        .map(|k| summary[k]["accuracy"].as_f64().unwrap() * summary[k]["samples"].as_f64().unwrap())
        .sum();
    assert!(
        (correct - reported).abs() <= 1.0,
        "{correct} correct with the metadata's standardization, the run reported {reported}"
    );
    assert!(correct / raw.len() as f64 > 0.8, "{correct}");
    std::fs::remove_dir_all(out).ok();
}
