//! CLI conventions: colour (`--color`, `NO_COLOR`), prose wrapped to the width, `-v`/`-q`,
//! `--json`, `diagnose --fail-on`, shell completions and the man page.

use std::process::{Command, Output};

use super::{fails, ok, TempDir};

fn example(name: &str) -> String {
    format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gradscope"));
    c.args(args).env_remove("NO_COLOR").env_remove("COLUMNS");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the gradscope binary runs")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "{:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// A 5-step diagnosis of the deep sigmoid network (vanishing) into a fresh directory.
fn sigmoid_args(dir: &TempDir) -> Vec<String> {
    [
        "diagnose",
        &example("diagnose-sigmoid-deep.toml"),
        "--out",
        dir.0.to_str().unwrap(),
        "--steps",
        "5",
        "-q",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn color_always_paints_the_verdict_and_never_or_a_pipe_do_not() {
    let dir = TempDir::new("color");
    let mut args = sigmoid_args(&dir);
    args.extend(["--color".to_string(), "always".to_string()]);
    let painted = stdout(&run_env(&strs(&args), &[]));
    assert!(
        painted.contains("\x1b[1;34mVANISHING\x1b[0m"),
        "blue vanishing: {painted}"
    );
    // --color always wins over NO_COLOR (an explicit request).
    let painted = stdout(&run_env(&strs(&args), &[("NO_COLOR", "1")]));
    assert!(painted.contains("\x1b[1;34m"));
    let n = args.len();
    args[n - 1] = "never".into();
    let plain = stdout(&run_env(&strs(&args), &[]));
    assert!(
        !plain.contains('\x1b') && plain.contains("VANISHING"),
        "{plain}"
    );
    // auto: stdout is a pipe here, so no colour.
    args[n - 1] = "auto".into();
    let piped = stdout(&run_env(&strs(&args), &[]));
    assert!(!piped.contains('\x1b'), "{piped}");
    args[n - 1] = "sometimes".into();
    let err = fails(&strs(&args));
    assert!(err.contains("never") && err.contains("always"), "{err}");
}

#[test]
fn exploding_is_red() {
    let dir = TempDir::new("red");
    let out = ok(&[
        "diagnose",
        &example("diagnose-tanh-exploding.toml"),
        "--out",
        dir.0.to_str().unwrap(),
        "--steps",
        "5",
        "-q",
        "--color=always",
    ]);
    assert!(out.contains("\x1b[1;31mEXPLODING\x1b[0m"), "{out}");
}

#[test]
fn prose_wraps_to_columns_and_stays_whole_without_a_width() {
    let dir = TempDir::new("wrap");
    let args = sigmoid_args(&dir);
    let wide = stdout(&run_env(&strs(&args), &[]));
    let narrow = stdout(&run_env(&strs(&args), &[("COLUMNS", "60")]));
    let longest = |s: &str| s.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest(&wide) > 150, "unwrapped explanation: {wide}");
    // Words are never broken: a line is longer than 60 only when it is one long word (a
    // config key) after the indent.
    for line in narrow.lines() {
        if line.chars().count() > 60 {
            assert!(
                !line.trim().contains(' ') || line.trim_start().starts_with("model."),
                "over 60 columns: {line:?}"
            );
        }
    }
    assert!(narrow.lines().count() > wide.lines().count() + 10);
    // The same words in the same order, up to the per-layer table, which is too wide for 60
    // columns and becomes one record per layer.
    let words = |s: &str| {
        let prose = &s[..s.find("\ndepth").expect("the table")];
        prose.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    assert_eq!(words(&wide), words(&narrow));
    assert!(
        narrow.contains("\ndepth 1\n    layer: sigmoid\n"),
        "{narrow}"
    );
    assert!(wide.contains("\ndepth  layer"), "{wide}");
}

#[test]
fn json_prints_the_diagnosis_and_verbose_the_steps() {
    let dir = TempDir::new("json");
    let mut args = sigmoid_args(&dir);
    args.retain(|a| a != "-q");
    args.extend(["--json".to_string(), "-v".to_string()]);
    let o = run_env(&strs(&args), &[]);
    let out = stdout(&o);
    let printed: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.0.join("diagnosis.json")).unwrap())
            .unwrap();
    assert_eq!(printed, file);
    assert_eq!(printed["verdict"]["flow"], "vanishing");
    let err = String::from_utf8_lossy(&o.stderr);
    let steps: Vec<&str> = err.lines().filter(|l| l.starts_with("step ")).collect();
    assert_eq!(steps.len(), 5, "{err}");
    assert!(steps[0].contains("|delta_1|/|delta_L|"), "{err}");
    let err = fails(&["diagnose", "x.toml", "--out", "y", "-q", "-v"]);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn fail_on_exits_3_after_writing_the_report() {
    let dir = TempDir::new("failon");
    let mut args = sigmoid_args(&dir);
    args.extend(["--fail-on".to_string(), "vanishing,exploding".to_string()]);
    let o = run_env(&strs(&args), &[]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("verdict: vanishing (--fail-on vanishing)"),
        "{err}"
    );
    assert!(dir.0.join("report.html").exists() && dir.0.join("diagnosis.json").exists());
    // A flow not named passes.
    let n = args.len();
    args[n - 1] = "exploding,healthy".into();
    assert_eq!(run_env(&strs(&args), &[]).status.code(), Some(0));
    args[n - 1] = "vanishing,sideways".into();
    let err = fails(&strs(&args));
    assert!(
        err.contains("sideways") && err.contains("exploding"),
        "{err}"
    );
}

#[test]
fn train_json_prints_the_summary_and_writes_a_report() {
    let dir = TempDir::new("trainjson");
    let o = run_env(
        &[
            "train",
            &example("csv-moons.toml"),
            "--out",
            dir.0.to_str().unwrap(),
            "--set",
            "training.epochs=2",
            "--json",
            "-v",
        ],
        &[],
    );
    let out = stdout(&o);
    let printed: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON only");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.0.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(printed, file);
    assert_eq!(printed["epochs"], 2);
    let html = std::fs::read_to_string(dir.0.join("report.html")).unwrap();
    for title in [
        "Loss per epoch",
        "Accuracy per epoch",
        "Learning rate per epoch",
        "Gradient norm per epoch",
    ] {
        assert!(html.contains(title), "{title} missing");
    }
    assert!(
        !html.contains("Gradient diagnosis"),
        "no diagnostics, no verdict"
    );
}

#[test]
fn train_report_with_diagnostics_shows_the_verdict_flow_and_histograms() {
    let dir = TempDir::new("trainreport");
    let o = run_env(
        &[
            "train",
            &example("diagnose-sigmoid-deep.toml"),
            "--out",
            dir.0.to_str().unwrap(),
            "--set",
            "training.epochs=1",
            "--set",
            "training.max_steps=12",
            "--set",
            "diagnostics.every=3",
            "-v",
        ],
        &[],
    );
    stdout(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("diagnostics: step"))
            .count(),
        5,
        "steps 1, 3, 6, 9, 12: {err}"
    );
    let md = std::fs::read_to_string(dir.0.join("report.md")).unwrap();
    assert!(md.contains("## Gradient diagnosis"), "{md}");
    assert!(md.to_lowercase().contains("vanishing"), "{md}");
    for file in [
        "grad_flow.svg",
        "heatmap.svg",
        "grad_distribution.svg",
        "act_distribution.svg",
        "loss.svg",
    ] {
        assert!(dir.0.join(file).exists(), "{file}");
        assert!(md.contains(file), "report.md links {file}");
    }
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = ok(&["completions", shell]);
        for cmd in ["train", "diagnose", "demo", "completions", "man"] {
            assert!(script.contains(cmd), "{shell}: {cmd} missing");
        }
        assert!(script.contains("fail-on"), "{shell}: diagnose's flags");
    }
    let err = fails(&["completions", "cmd.exe"]);
    assert!(err.contains("bash"), "{err}");
}

#[test]
fn man_page_prints_and_writes_one_page_per_command() {
    let page = ok(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH gradscope 1"),
        "{page}"
    );
    assert!(page.contains(".TH gradscope 1"));
    assert!(page.contains("diagnose") && page.contains("completions"));
    let dir = TempDir::new("man");
    ok(&["man", "--out", dir.0.to_str().unwrap()]);
    let train = std::fs::read_to_string(dir.0.join("gradscope-train.1")).unwrap();
    assert!(train.contains(".TH gradscope-train 1"), "{train}");
    assert!(train.contains("resume"), "train's flags in its page");
    let diagnose = std::fs::read_to_string(dir.0.join("gradscope-diagnose.1")).unwrap();
    assert!(diagnose.contains("fail\\-on"), "{diagnose}");
}
