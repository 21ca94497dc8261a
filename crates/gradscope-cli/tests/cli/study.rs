//! `gradscope study`: the list, the sweep each study runs, and one study run end to end with
//! its claims judged in the report.

use std::fs;

use super::{fails, ok, TempDir};

#[test]
fn studies_are_listed_and_their_sweeps_are_valid_sweep_files() {
    let list = ok(&["study", "list"]);
    for name in ["improved-sigmoid", "glorot2010"] {
        assert!(list.contains(name), "{list}");
        for scale in ["quick", "paper"] {
            let text = ok(&["study", name, "--scale", scale, "--print-sweep"]);
            let tmp = TempDir::new("study-sweep");
            fs::create_dir_all(&tmp.0).unwrap();
            let p = tmp.0.join("s.toml");
            fs::write(&p, &text).unwrap();
            // The printed sweep is what `gradscope sweep` runs: every run's config is valid.
            let plan = ok(&["sweep", "plan", p.to_str().unwrap()]);
            assert!(plan.lines().count() > 8, "{name} {scale}: {plan}");
        }
    }
    let e = fails(&["study", "hinton2006"]);
    assert!(
        e.contains("improved-sigmoid") && e.contains("glorot2010"),
        "{e}"
    );
    let e = fails(&["study", "glorot2010", "--scale", "huge"]);
    assert!(e.contains("quick") && e.contains("paper"), "{e}");
}

#[test]
fn a_study_reports_each_claim_beside_the_papers_with_a_verdict() {
    let tmp = TempDir::new("study");
    let out = tmp.0.join("glorot");
    let text = ok(&[
        "study",
        "glorot2010",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(text.is_empty(), "--quiet prints nothing: {text}");
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert_eq!(md.matches("### Claim ").count(), 3, "{md}");
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
    assert_eq!(verdicts, 3, "{md}");
    assert!(
        md.contains("Scale: quick") && md.contains("not MNIST"),
        "{md}"
    );
    // The claims are computed from the runs in results.csv: 3 activations × 2 inits × 2 seeds.
    let csv = fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 12);
    assert!(out.join("report.html").exists() && out.join("heatmap.svg").exists());
}
