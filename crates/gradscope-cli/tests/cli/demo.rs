//! `gradscope demo --quick`: all five variants run, demo.json holds their numbers and
//! verdicts (sigmoid + standard init vanishes, ReLU + He is healthy), the reports are written.

use serde_json::Value;

use crate::diagnose::check_report_html;
use crate::{fails, ok, TempDir};

#[test]
fn quick_demo_compares_five_variants() {
    let dir = TempDir::new("demo");
    let out = ok(&["demo", "--quick", "--out", dir.0.to_str().unwrap()]);
    let d: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.0.join("demo.json")).unwrap()).unwrap();
    let vs = d["variants"].as_array().unwrap();
    assert_eq!(vs.len(), 5, "{out}");
    let keys: Vec<&str> = vs.iter().map(|v| v["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "sigmoid-standard",
            "tanh-xavier",
            "relu-he",
            "improved-sigmoid",
            "sigmoid-batchnorm"
        ]
    );
    let by = |k: &str| vs.iter().find(|v| v["key"] == k).unwrap();
    let sig = by("sigmoid-standard");
    assert_eq!(sig["verdict"]["flow"], "vanishing", "{out}");
    assert_eq!(sig["flow_init"], "vanishing");
    assert!(sig["ratio_init"].as_f64().unwrap() < 1e-4);
    let relu = by("relu-he");
    assert_eq!(relu["verdict"]["flow"], "healthy", "{out}");
    assert_eq!(relu["flow_init"], "healthy");
    assert_eq!(by("sigmoid-batchnorm")["norm"], "batchnorm");
    assert_eq!(
        by("improved-sigmoid")["activation"],
        "improved_sigmoid(alpha=2, beta=0.1)"
    );
    for v in vs {
        assert_eq!(v["epochs"], 3, "--quick trains 3 epochs");
        assert!(v["test_accuracy"].as_f64().is_some());
        assert_eq!(v["grad_norms_init"].as_array().unwrap().len(), 10);
    }
    assert_eq!(d["samples"], 600);
    assert_eq!(d["schema_version"], gradscope::io::SCHEMA_VERSION);
    let findings = d["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(findings
        .iter()
        .all(|f| f["finding"].is_string() && f["text"].is_string()));
    assert_eq!(sig["grad_norms_init"][0]["depth"], 1);
    // The table on stdout and the generated paragraph.
    assert!(out.contains("sigmoid + standard init") && out.contains("what this shows:"));
    assert!(dir.0.join("report.md").exists());
    check_report_html(
        &dir.0.join("report.html"),
        &[
            "Gradient norm by depth at initialization (step 1)",
            "Training loss by epoch",
        ],
    );
}

#[test]
fn demo_errors_are_clean() {
    let dir = TempDir::new("demo-err");
    let e = fails(&["demo", "--epochs", "0", "--out", dir.0.to_str().unwrap()]);
    assert!(e.contains("--epochs"), "{e}");
    assert!(!dir.0.exists(), "nothing written on a bad argument");
}
