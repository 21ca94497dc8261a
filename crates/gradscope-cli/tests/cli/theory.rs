//! `gradscope theory`: the report (text and JSON), --critical, the phase plot, the sweep and
//! errors.

use serde_json::Value;

use crate::{fails, gradscope, ok, TempDir};

fn json(args: &[&str]) -> Value {
    let out = ok(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: invalid JSON ({e}):\n{out}"))
}

fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number: {v}"))
}

#[test]
fn json_report_has_every_field() {
    let v = json(&[
        "theory",
        "--activation",
        "tanh",
        "--sigma-w2",
        "1.5",
        "--sigma-b2",
        "0.05",
        "--depth",
        "20",
        "--json",
    ]);
    for key in [
        "activation",
        "sigma_w2",
        "sigma_b2",
        "q_star",
        "fixed_point",
        "iterations",
        "chi1",
        "gradient_scale",
        "c_star",
        "chi_c",
        "correlation_depth",
        "trainable_depth",
        "grad_ratio_per_layer",
        "depth",
        "grad_ratio_depth",
        "grad_ratio_depth_from_input",
        "phase",
        "explanation",
        "critical_tol",
        "q0",
        "q1",
    ] {
        assert!(v.get(key).is_some(), "missing `{key}`: {v}");
    }
    // Renamed: the signed `depth_scale` and `growth_scale` are now `gradient_scale`.
    assert!(v.get("depth_scale").is_none() && v.get("growth_scale").is_none());
    assert_eq!(v["activation"], "tanh");
    assert_eq!(v["phase"], "ordered");
    assert_eq!(v["fixed_point"], "finite");
    assert_eq!(v["depth"], 20);
    let chi1 = f(&v, "chi1");
    assert!((chi1 - 0.938636).abs() < 1e-5, "{v}");
    assert!((f(&v, "q_star") - 0.41804).abs() < 1e-4, "{v}");
    assert!((f(&v, "grad_ratio_per_layer") - chi1.sqrt()).abs() < 1e-12);
    assert!((f(&v, "grad_ratio_depth") - chi1.powi(10)).abs() < 1e-12);
    assert!((f(&v, "gradient_scale") + 1.0 / chi1.ln()).abs() < 1e-9);
    // Ordered: c* = 1, chi_c = chi1 and the correlation depth equals the gradient scale.
    assert_eq!(f(&v, "c_star"), 1.0);
    assert_eq!(f(&v, "chi_c"), chi1);
    assert_eq!(f(&v, "correlation_depth"), f(&v, "gradient_scale"));
    assert_eq!(f(&v, "trainable_depth"), 6.0 * f(&v, "correlation_depth"));
    assert!(v.get("critical").is_none());
}

#[test]
fn relu_he_is_critical_and_infinities_are_null() {
    let v = json(&[
        "theory",
        "--activation",
        "relu",
        "--sigma-w2",
        "2",
        "--json",
    ]);
    assert_eq!(v["phase"], "critical");
    assert!((f(&v, "chi1") - 1.0).abs() < 1e-12);
    assert!(v["gradient_scale"].is_null(), "ξ_∇ = ∞ is null: {v}");
    assert!(v["correlation_depth"].is_null(), "ξ_c = ∞ is null: {v}");
    assert_eq!(f(&v, "c_star"), 1.0);
    // Divergent q: q* = ∞ is null, χ₁ is the limit σ_w²/2.
    let v = json(&[
        "theory",
        "--activation",
        "relu",
        "--sigma-w2",
        "3",
        "--json",
    ]);
    assert_eq!(v["fixed_point"], "divergent");
    assert!(v["q_star"].is_null());
    assert!((f(&v, "chi1") - 1.5).abs() < 1e-12);
    assert_eq!(v["phase"], "chaotic");
    assert!((f(&v, "gradient_scale") - 1.0 / 1.5f64.ln()).abs() < 1e-9);
    // No correlation map without a finite q*.
    for key in ["c_star", "chi_c", "correlation_depth", "trainable_depth"] {
        assert!(v[key].is_null(), "{key}: {v}");
    }
    // q* = 0: tanh without bias below σ_w² = 1.
    let v = json(&[
        "theory",
        "--activation",
        "tanh",
        "--sigma-w2",
        "0.5",
        "--json",
    ]);
    assert_eq!(v["fixed_point"], "zero");
    assert_eq!(f(&v, "q_star"), 0.0);
    assert!((f(&v, "chi1") - 0.5).abs() < 1e-15);
}

#[test]
fn gelu_at_kaiming_variance_is_chaotic_and_q0_picks_the_branch() {
    // Standardized inputs: q1 = 2.35 lies above GELU's unstable fixed point (~1.005), the
    // variance grows without bound and chi1 -> sigma_w^2/2.
    let v = json(&[
        "theory",
        "--activation",
        "gelu",
        "--sigma-w2",
        "2.35",
        "--depth",
        "29",
        "--json",
    ]);
    assert_eq!(v["fixed_point"], "divergent", "{v}");
    assert_eq!(v["phase"], "chaotic");
    assert_eq!(f(&v, "q0"), 1.0);
    assert_eq!(f(&v, "q1"), 2.35);
    assert!((f(&v, "chi1") - 1.175).abs() < 1e-12, "{v}");
    // Layer by layer from q1 the 29 factors multiply to ~12.68 (the researcher's 12.7).
    assert!(
        (f(&v, "grad_ratio_depth_from_input") - 12.678).abs() < 1e-3,
        "{v}"
    );
    // Inputs of mean square 0.4 start below it (q1 = 0.94) and the signal dies out.
    let v = json(&[
        "theory",
        "--activation",
        "gelu",
        "--sigma-w2",
        "2.35",
        "--q0",
        "0.4",
        "--json",
    ]);
    assert_eq!(v["fixed_point"], "zero", "{v}");
    assert_eq!(v["phase"], "ordered");
    assert!((f(&v, "q1") - 0.94).abs() < 1e-12);
    let out = ok(&["theory", "--activation", "gelu", "--sigma-w2", "2.35"]);
    assert!(
        out.contains("q0 = 1") && out.contains("q1 = sigma_w^2 q0 + sigma_b^2 = 2.35"),
        "{out}"
    );
    let e = fails(&[
        "theory",
        "--activation",
        "tanh",
        "--sigma-w2",
        "1",
        "--q0",
        "-1",
    ]);
    assert!(e.contains("--q0") && e.contains("negative"), "{e}");
}

#[test]
fn critical_finds_the_edge_of_chaos() {
    let v = json(&[
        "theory",
        "--activation",
        "tanh",
        "--sigma-b2",
        "0.05",
        "--critical",
        "--json",
    ]);
    let c = &v["critical"];
    let w = f(c, "sigma_w2");
    assert!((w - 1.7610).abs() < 1e-3, "{v}");
    assert_eq!(c["continuous"], true);
    // Without --sigma-w2 the analysis is at the critical point.
    assert!((f(&v, "sigma_w2") - w).abs() < 1e-12);
    assert!((f(&v, "chi1") - 1.0).abs() < 1e-9);
    assert_eq!(v["phase"], "critical");
    // Text form, ReLU: He's 2.
    let out = ok(&["theory", "--activation", "relu", "--critical"]);
    assert!(out.contains("critical sigma_w^2 = 2 "), "{out}");
    // With --sigma-w2 both are reported.
    let v = json(&[
        "theory",
        "--activation",
        "tanh",
        "--sigma-w2",
        "4",
        "--critical",
        "--json",
    ]);
    assert_eq!(f(&v, "sigma_w2"), 4.0);
    assert!((f(&v["critical"], "sigma_w2") - 1.0).abs() < 1e-6, "{v}");
}

#[test]
fn critical_reports_a_jump_when_chi1_skips_1() {
    let v = json(&["theory", "--activation", "gelu", "--critical", "--json"]);
    let c = &v["critical"];
    assert!(c["sigma_w2"].is_null(), "{v}");
    assert_eq!(c["continuous"], false);
    assert!(f(c, "chi1_below") < 1.0 && f(c, "chi1_above") > 1.0, "{v}");
    assert!(v.get("chi1").is_none(), "no σ_w² to analyse: {v}");
    let out = ok(&["theory", "--activation", "gelu", "--critical"]);
    assert!(out.contains("jumps from"), "{out}");
}

#[test]
fn text_report_names_the_phase_and_explains_it() {
    let out = ok(&[
        "theory",
        "--activation",
        "tanh",
        "--sigma-w2",
        "4",
        "--sigma-b2",
        "0.05",
    ]);
    for needle in [
        "fixed point q*",
        "chi1",
        "gradient scale xi_grad",
        "grows by e",
        "correlation c*",
        "chi_c",
        "correlation depth xi_c",
        "trainable depth 6 xi_c",
        "gradient ratio / layer",
        "gradient ratio / 10 layers",
        "... from the input",
        "chaotic",
        "explode",
    ] {
        assert!(out.contains(needle), "missing `{needle}`:\n{out}");
    }
    // In the chaotic phase the gradient's growth scale is not passed off as "the depth scale".
    assert!(!out.contains("depth scale"), "{out}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no `{name}` row:\n{out}"))
            .split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(line("gradient scale")[3], "3.396");
    assert_eq!(line("correlation c*")[2], "0.165065");
    assert_eq!(line("chi_c")[1], "0.866528");
    assert_eq!(line("correlation depth")[3], "6.98");
    assert_eq!(line("trainable depth")[4], "41.88");
    let out = ok(&["theory", "--activation", "sigmoid", "--sigma-w2", "1"]);
    assert!(out.contains("ordered") && out.contains("vanish"), "{out}");
    assert!(out.contains("shrinks by e"), "{out}");
    // q* = 0: the correlation map is not defined, and the report says why.
    let out = ok(&["theory", "--activation", "tanh", "--sigma-w2", "0.5"]);
    assert!(
        out.contains("correlation map") && out.contains("q* = 0"),
        "{out}"
    );
}

#[test]
fn phase_plot_is_an_svg_written_atomically() {
    let dir = TempDir::new("theory");
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("phase.svg");
    let out = gradscope(&[
        "theory",
        "--activation",
        "tanh",
        "--sigma-w2",
        "1.5",
        "--sigma-b2",
        "0.05",
        "--phase-plot",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(
        svg.trim_start().starts_with("<svg") || svg.contains("<svg"),
        "not SVG"
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    for needle in ["ORDERED", "CHAOTIC", "chi1 = 1", "<polygon", "<circle"] {
        assert!(svg.contains(needle), "missing `{needle}`");
    }
    // Only the SVG: no temporary file left behind.
    let names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, vec!["phase.svg".to_string()]);
    // A discontinuous boundary is drawn too (GELU), with a custom range.
    let path = dir.0.join("gelu.svg");
    ok(&[
        "theory",
        "--activation",
        "gelu",
        "--sigma-w2",
        "3",
        "--phase-plot",
        path.to_str().unwrap(),
        "--phase-range",
        "4,0.5",
    ]);
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.contains("jumps across 1"));
}

#[test]
fn sweep_prints_chi1_as_csv_and_json() {
    let out = ok(&["theory", "--activation", "relu", "--sweep", "1,3,5"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    assert_eq!(
        lines[0],
        "sigma_w2,sigma_b2,q_star,fixed_point,chi1,gradient_scale,grad_ratio_per_layer,phase,\
         q0,c_star,chi_c,correlation_depth,trainable_depth"
    );
    for (line, sw) in lines[1..].iter().zip([1.0, 1.5, 2.0, 2.5, 3.0]) {
        let cells: Vec<&str> = line.split(',').collect();
        let chi1: f64 = cells[4].parse().unwrap();
        assert!((chi1 - sw / 2.0).abs() < 1e-12, "{line}");
        assert_eq!(cells[8], "1", "q0: {line}");
        // ReLU with σ_b² = 0 has q* = 0 or ∞ except at σ_w² = 2 (q* = q1 = 2, c* = 1).
        if sw == 2.0 {
            let v: Vec<f64> = [2, 9, 10].map(|i| cells[i].parse().unwrap()).to_vec();
            assert!((v[0] - 2.0).abs() < 1e-12 && v[1] == 1.0, "{line}");
            assert!((v[2] - 1.0).abs() < 1e-12 && cells[11] == "inf", "{line}");
        } else {
            assert_eq!(cells[9], "", "{line}");
        }
    }
    let v = json(&[
        "theory",
        "--activation",
        "tanh",
        "--sigma-b2",
        "0.05",
        "--sweep",
        "1,4,7",
        "--json",
    ]);
    assert_eq!(v["schema_version"], gradscope::io::SCHEMA_VERSION);
    assert_eq!(v["activation"], "tanh");
    let rows = v["sweep"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(rows[0]["phase"], "ordered");
    assert_eq!(rows[6]["phase"], "chaotic");
    assert_eq!(f(&rows[0], "c_star"), 1.0);
    assert!(
        (f(&rows[6], "c_star") - 0.165065).abs() < 1e-6,
        "{}",
        rows[6]
    );
    assert!((f(&rows[6], "correlation_depth") - 6.98027).abs() < 1e-5);
    // ξ_c peaks next to the critical σ_w² ≈ 1.76 (rows at 1.5 and 2).
    let xi: Vec<f64> = rows.iter().map(|r| f(r, "correlation_depth")).collect();
    let top = xi.iter().cloned().fold(0.0, f64::max);
    assert!(top == xi[1] || top == xi[2], "{xi:?}");
}

#[test]
fn errors_exit_non_zero_with_a_clear_message() {
    let e = fails(&["theory", "--activation", "nope", "--sigma-w2", "1"]);
    assert!(
        e.contains("unknown activation") && e.contains("tanh"),
        "{e}"
    );
    for name in ["softmax", "log_softmax"] {
        let e = fails(&["theory", "--activation", name, "--sigma-w2", "1"]);
        assert!(e.contains("element-wise") && e.contains(name), "{e}");
    }
    let e = fails(&["theory", "--activation", "tanh", "--sigma-w2", "-1"]);
    assert!(e.contains("--sigma-w2") && e.contains("negative"), "{e}");
    let e = fails(&[
        "theory",
        "--activation",
        "tanh",
        "--sigma-w2",
        "1",
        "--sigma-b2",
        "-0.1",
    ]);
    assert!(e.contains("--sigma-b2") && e.contains("negative"), "{e}");
    let e = fails(&["theory", "--activation", "tanh", "--sigma-w2", "nan"]);
    assert!(e.contains("finite"), "{e}");
    let e = fails(&["theory", "--activation", "tanh"]);
    assert!(e.contains("--sigma-w2 is required"), "{e}");
    fails(&["theory", "--activation", "tanh", "--sigma-w2", "abc"]);
    fails(&["theory", "--activation", "tanh", "--sweep", "3,1,4"]);
    fails(&["theory", "--activation", "tanh", "--sweep", "1,2"]);
    let e = fails(&[
        "theory",
        "--activation",
        "tanh",
        "--sigma-w2",
        "1",
        "--q0",
        "nan",
    ]);
    assert!(e.contains("--q0") && e.contains("finite"), "{e}");
    fails(&[
        "theory",
        "--activation",
        "tanh",
        "--sigma-w2",
        "1",
        "--tol",
        "0",
    ]);
    let dir = TempDir::new("theory-missing");
    let path = dir.0.join("no").join("such").join("x.svg");
    let e = fails(&[
        "theory",
        "--activation",
        "tanh",
        "--sigma-w2",
        "1",
        "--phase-plot",
        path.to_str().unwrap(),
    ]);
    assert!(e.contains("--phase-plot"), "{e}");
}

#[test]
fn help_explains_the_theory() {
    let out = ok(&["theory", "--help"]);
    for needle in [
        "chi1",
        "ordered",
        "chaotic",
        "edge of chaos",
        "Poole",
        "--critical",
        "--q0",
        "gradient scale",
        "correlation depth",
        "6 xi_c",
    ] {
        assert!(out.contains(needle), "missing `{needle}`");
    }
}
