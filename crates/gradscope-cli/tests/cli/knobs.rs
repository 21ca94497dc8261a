//! `gradscope train` with the study knobs: resuming with the run's own config, the best
//! weights, the per-step scalar stream.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gradscope"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A run tree: `cfgs/run.toml` reading `../data/pts.csv`.
fn tree(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gradscope-cli-knobs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("cfgs")).unwrap();
    std::fs::create_dir_all(d.join("data")).unwrap();
    let mut csv = String::from("a,b,label\n");
    for i in 0..300u32 {
        let a = ((i * 37 % 101) as f64 / 50.0) - 1.0;
        let b = ((i * 53 % 97) as f64 / 48.0) - 1.0;
        csv += &format!("{a},{b},{}\n", u8::from(a * b > 0.0));
    }
    std::fs::write(d.join("data/pts.csv"), csv).unwrap();
    std::fs::write(
        d.join("cfgs/run.toml"),
        r#"seed = 1
[data]
source = "csv"
path = "../data/pts.csv"
[model]
depth = 2
width = 16
[training]
epochs = 2
keep_best = true
scalars_every = 1
clip = { kind = "norm", max_norm = 0.5 }
"#,
    )
    .unwrap();
    d
}

fn train(cwd: &Path, args: &[&str]) -> Output {
    let o = bin()
        .current_dir(cwd)
        .arg("train")
        .args(args)
        .arg("-q")
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

/// The lines of a JSON-lines file without their timing.
fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("elapsed_s");
            v
        })
        .collect()
}

fn summary(dir: &Path) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("elapsed_s");
    v
}

#[test]
fn resume_reuses_the_runs_own_config_paths_and_overrides() {
    let root = tree("resume");
    let whole = root.join("whole");
    train(
        &root,
        &[
            "cfgs/run.toml",
            "--out",
            whole.to_str().unwrap(),
            "--set",
            "training.lr=0.02",
            "--set",
            "training.epochs=3",
        ],
    );
    // Two epochs, then resumed from another directory without the config: the data path
    // resolves from cfgs/, and training.lr = 0.02 is remembered.
    let parts = root.join("parts");
    train(
        &root,
        &[
            "cfgs/run.toml",
            "--out",
            parts.to_str().unwrap(),
            "--set",
            "training.lr=0.02",
        ],
    );
    let elsewhere = std::env::temp_dir();
    train(
        &elsewhere,
        &[
            "--resume",
            "--out",
            parts.to_str().unwrap(),
            "--set",
            "training.epochs=3",
        ],
    );
    for f in ["metrics.jsonl", "steps.jsonl"] {
        assert_eq!(lines(&whole.join(f)), lines(&parts.join(f)), "{f}");
    }
    assert_eq!(summary(&whole), summary(&parts));
    // Resumed with the original config file and no --set: the earlier overrides apply.
    let third = root.join("third");
    train(
        &root,
        &[
            "cfgs/run.toml",
            "--out",
            third.to_str().unwrap(),
            "--set",
            "training.lr=0.02",
        ],
    );
    train(
        &elsewhere,
        &[
            root.join("cfgs/run.toml").to_str().unwrap(),
            "--out",
            third.to_str().unwrap(),
            "--resume",
            "--set",
            "training.epochs=3",
        ],
    );
    assert_eq!(
        lines(&whole.join("metrics.jsonl")),
        lines(&third.join("metrics.jsonl"))
    );
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn best_weights_steps_and_clipped_count_are_written() {
    let root = tree("outputs");
    let out = root.join("out");
    train(
        &root,
        &[
            "cfgs/run.toml",
            "--out",
            out.to_str().unwrap(),
            "--set",
            "training.lr=0.05",
        ],
    );
    let s = summary(&out);
    let steps = lines(&out.join("steps.jsonl"));
    assert_eq!(steps.len() as u64, s["steps"].as_u64().unwrap());
    let clipped = steps.iter().filter(|l| l["clipped"] == true).count() as u64;
    assert_eq!(s["clipped_steps"].as_u64(), Some(clipped));
    for key in [
        "step",
        "epoch",
        "loss",
        "grad_norm",
        "lr",
        "clipped",
        "clip_coef",
        "schema_version",
    ] {
        assert!(steps[0].get(key).is_some(), "{key}");
    }
    let best = &s["best"];
    assert!(best["epoch"].as_u64().unwrap() >= 1);
    assert!(best["test"]["accuracy"].is_number(), "{s}");
    assert!(s["early_stop"].is_null());
    assert!(out.join("best.safetensors").is_file());
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn resume_without_config_needs_the_run_directory() {
    let o = bin().args(["train", "--resume"]).output().unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--resume without CONFIG needs --out DIR"),
        "{}",
        stderr(&o)
    );
    let o = bin().args(["train"]).output().unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("CONFIG argument is required"),
        "{}",
        stderr(&o)
    );
    let empty =
        std::env::temp_dir().join(format!("gradscope-cli-knobs-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let o = bin()
        .args(["train", "--resume", "--out", empty.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no config.toml there"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(&empty).ok();
}

#[test]
fn fetch_data_takes_a_destination() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fetch-data.sh");
    let o = Command::new("bash")
        .arg(&script)
        .arg("--dest")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--dest needs a directory"),
        "{}",
        stderr(&o)
    );
    // The destination is created before the sets are looked at (no download here: the set
    // name is refused).
    let dest =
        std::env::temp_dir().join(format!("gradscope-cli-knobs-dest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dest);
    let o = Command::new("bash")
        .arg(&script)
        .arg(format!("--dest={}", dest.display()))
        .arg("no-such-set")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown data set `no-such-set`"),
        "{}",
        stderr(&o)
    );
    assert!(dest.is_dir());
    std::fs::remove_dir_all(&dest).ok();
}
