//! `gradscope study`: the list, the sweep each study runs, and one study run end to end with
//! its claims judged in the report.

use std::fs;

use super::{fails, ok, TempDir};

#[test]
fn studies_are_listed_and_their_sweeps_are_valid_sweep_files() {
    let list = ok(&["study", "list"]);
    for name in ["improved-sigmoid", "glorot2010", "pascanu2013", "irnn2015"] {
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
    for name in ["improved-sigmoid", "glorot2010", "pascanu2013", "irnn2015"] {
        assert!(e.contains(name), "{e}");
    }
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
