//! `gradscope study`: the list, the sweep each study runs, and one study run end to end with
//! its claims judged in the report.

use std::fs;
use std::path::Path;
use std::process::Command;

use super::{fails, ok, TempDir};

const STUDIES: [&str; 5] = [
    "improved-sigmoid",
    "glorot2010",
    "pascanu2013",
    "irnn2015",
    "schoenholz2017",
];

/// Runs gradscope in `dir` (the studies look for data/mnist/ relative to it); its stdout.
fn ok_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gradscope"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the gradscope binary runs");
    assert!(
        out.status.success(),
        "gradscope {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `n` MNIST-shaped IDX files (28×28 images, labels 0–9) in `dir`/data/mnist/: pixel rows
/// that tell the classes apart, so that even a small network learns something.
fn fake_mnist(dir: &Path, n: u32) {
    let m = dir.join("data/mnist");
    fs::create_dir_all(&m).unwrap();
    for (prefix, count) in [("train", n), ("t10k", n / 2)] {
        let mut images = [0x0803u32, count, 28, 28]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect::<Vec<u8>>();
        let mut labels = [0x0801u32, count]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect::<Vec<u8>>();
        for i in 0..count {
            let label = (i % 10) as u8;
            labels.push(label);
            for p in 0..784u32 {
                let row = p / 28;
                images.push(if row / 2 == u32::from(label) {
                    255
                } else {
                    (p * 7 + i) as u8 % 40
                });
            }
        }
        fs::write(m.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
        fs::write(m.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
    }
}

#[test]
fn studies_are_listed_and_their_sweeps_are_valid_sweep_files() {
    let list = ok(&["study", "list"]);
    for name in STUDIES {
        assert!(list.contains(name), "{list}");
        for scale in ["quick", "paper"] {
            let text = ok(&["study", name, "--scale", scale, "--print-sweep"]);
            let tmp = TempDir::new("study-sweep");
            fs::create_dir_all(&tmp.0).unwrap();
            let p = tmp.0.join("s.toml");
            fs::write(&p, &text).unwrap();
            // The printed sweep is what `gradscope sweep` runs: every run's config is valid.
            let plan = ok(&["sweep", "plan", p.to_str().unwrap()]);
            // A header and at least 6 runs (irnn2015 quick has the fewest: 2 models × 3 seeds).
            assert!(plan.lines().count() >= 7, "{name} {scale}: {plan}");
        }
    }
    let e = fails(&["study", "hinton2006"]);
    for name in STUDIES {
        assert!(e.contains(name), "{e}");
    }
    let e = fails(&["study", "glorot2010", "--scale", "huge"]);
    assert!(e.contains("quick") && e.contains("paper"), "{e}");
}

#[test]
fn a_study_reports_each_claim_beside_the_papers_with_a_verdict() {
    let tmp = TempDir::new("study");
    fs::create_dir_all(&tmp.0).unwrap();
    let out = tmp.0.join("glorot");
    // Run where data/mnist/ does not exist: the embedded digits, said so in the report.
    let text = ok_in(
        &tmp.0,
        &[
            "study",
            "glorot2010",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert!(text.is_empty(), "--quiet prints nothing: {text}");
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert_eq!(md.matches("### Claim ").count(), 4, "{md}");
    assert_eq!(md.matches("Paper: Table 1").count(), 2, "{md}");
    let verdicts = md
        .lines()
        .filter(|l| l.starts_with("**Result: "))
        .filter(|l| {
            ["reproduced**", "partly**", "not reproduced**"]
                .iter()
                .any(|v| l.contains(v))
        })
        .count();
    assert_eq!(verdicts, 4, "{md}");
    assert!(
        md.contains("Scale: quick") && md.contains("Data: the embedded 8×8 digits"),
        "{md}"
    );
    // Fig. 2: the sigmoid network's layers over training, measured every 20 steps over
    // 10 epochs of 126 steps (steps 1, 20, …, 1260), each layer a line in the chart.
    assert!(md.contains("mean activation 0.4"), "{md}");
    let fig = fs::read_to_string(out.join("figure1.svg")).unwrap();
    for layer in 1..=5 {
        assert!(fig.contains(&format!("layer {layer}")), "{fig}");
    }
    let result = fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path().join("result.json")).unwrap())
        .next()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&result).unwrap();
    let steps = json["activations"].as_array().unwrap();
    assert_eq!(steps.len(), 64, "{result}");
    assert_eq!(steps[1]["step"], 20);
    assert_eq!(steps[0]["layers"].as_array().unwrap().len(), 5);
    // The claims are computed from the runs in results.csv: 3 activations × 2 inits × 2 seeds.
    let csv = fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 12);
    assert!(out.join("report.html").exists() && out.join("heatmap.svg").exists());
}

#[test]
fn pascanu2013_counts_the_unclipped_runs_that_diverge() {
    let tmp = TempDir::new("study-pascanu");
    let out = tmp.0.join("pascanu");
    let text = ok(&["study", "pascanu2013", "--out", out.to_str().unwrap()]);
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert_eq!(md.matches("### Claim ").count(), 2, "{md}");
    // 2 clip settings × 2 learning rates × 3 seeds; the 3 unclipped runs at lr 0.1 diverge
    // (ρ(W_hh) = 1.5), and the claim reports them as diverged rather than by their loss.
    let csv = fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 12);
    assert_eq!(csv.matches(",diverged,").count(), 3, "{csv}");
    assert!(md.contains("unclipped diverged in 3 of 3 runs"), "{md}");
    assert!(
        text.contains("claim 1") && text.contains("claim 2"),
        "{text}"
    );
}

#[test]
fn glorot2010_uses_mnist_when_data_mnist_holds_it() {
    let tmp = TempDir::new("study-mnist");
    fake_mnist(&tmp.0, 200);
    let sweep = ok_in(&tmp.0, &["study", "glorot2010", "--print-sweep"]);
    assert!(
        sweep.contains("source = \"idx\"")
            && sweep.contains("test_images = \"data/mnist/t10k-images-idx3-ubyte\"")
            && sweep.contains("limit = 6000"),
        "{sweep}"
    );
    // End to end on the fake MNIST, shrunk with --set (the report says so).
    let out = tmp.0.join("g");
    ok_in(
        &tmp.0,
        &[
            "study",
            "glorot2010",
            "--set",
            "data.limit=100",
            "--set",
            "model.hidden=[8, 8, 8, 8, 8]",
            "--set",
            "training.epochs=1",
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ],
    );
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("Data: MNIST from data/mnist/ (100 training images drawn with the seed)"),
        "{md}"
    );
    assert!(
        md.contains("Changed from the study's setting with --set: data.limit=100"),
        "{md}"
    );
    let csv = fs::read_to_string(out.join("results.csv")).unwrap();
    // 100 test images of the t10k file: the separate test set, not a split of the training one.
    assert!(csv.lines().nth(1).unwrap().contains(",100,"), "{csv}");
}

#[test]
fn schoenholz2017_draws_the_predicted_trainable_depth_over_its_grid() {
    let tmp = TempDir::new("study-schoenholz");
    let out = tmp.0.join("s");
    // The quick grid (5 depths × 7 σ_w²) with 1 epoch of width-8 networks: the study's
    // machinery end to end in seconds; the judgement itself is tested in the library.
    let text = ok(&[
        "study",
        "schoenholz2017",
        "--set",
        "model.width=8",
        "--set",
        "training.epochs=1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(text.contains("claim 3"), "{text}");
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert_eq!(md.matches("### Claim ").count(), 3, "{md}");
    assert!(
        md.contains("6ξ_c 22"),
        "6ξ_c(1) = 21.8 from the theory: {md}"
    );
    let svg = fs::read_to_string(out.join("prediction.svg")).unwrap();
    assert!(svg.contains("predicted trainable depth 6ξ_c"), "{svg}");
    // The curve: a white halo and the dashed line over the cells, cut at the plot's top
    // (6ξ_c diverges at σ_w² ≈ 1.76), so it is drawn in two pieces.
    assert_eq!(
        svg.matches("stroke-dasharray=\"7 5\" points=").count(),
        2,
        "{svg}"
    );
    let csv = fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 35);
    assert!(
        csv.contains("variance(1.76)") && csv.contains(",80,"),
        "{csv}"
    );
}
