//! `gradscope diagnose`: the three examples' verdicts, the files written, the HTML report's
//! shape, and clean errors.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{fails, ok, TempDir};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks that `text` is well-formed XML apart from the `<!DOCTYPE>` line: every tag closed
/// in order, attributes quoted, entities known. Returns the element names seen.
pub fn check_xml(text: &str) -> Vec<String> {
    let body = text
        .strip_prefix("<!DOCTYPE html>")
        .expect("starts with <!DOCTYPE html>");
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        check_text(&rest[..lt]);
        let after = &rest[lt + 1..];
        let gt = after.find('>').expect("unclosed tag");
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack.pop().unwrap_or_else(|| panic!("stray </{name}>"));
            assert_eq!(open, name.trim(), "</{name}> closes <{open}>");
            continue;
        }
        assert!(!tag.starts_with('!') && !tag.starts_with('?'), "<{tag}>");
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name: String = tag.chars().take_while(|c| !c.is_whitespace()).collect();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "bad tag <{tag}>"
        );
        // Attributes: name="value" pairs.
        let mut attrs = tag[name.len()..].trim();
        while !attrs.is_empty() {
            let eq = attrs
                .find('=')
                .unwrap_or_else(|| panic!("attribute in <{tag}>"));
            let value = attrs[eq + 1..].trim_start();
            assert!(value.starts_with('"'), "unquoted attribute in <{tag}>");
            let end = value[1..].find('"').expect("closing quote") + 1;
            check_text(&value[1..end]);
            attrs = value[end + 1..].trim_start();
        }
        seen.push(name.clone());
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    seen
}

fn check_text(t: &str) {
    let mut rest = t;
    while let Some(amp) = rest.find('&') {
        let semi = rest[amp..].find(';').expect("entity without ;") + amp;
        let ent = &rest[amp + 1..semi];
        assert!(
            ["amp", "lt", "gt", "quot", "apos", "#39"].contains(&ent),
            "unknown entity &{ent};"
        );
        rest = &rest[semi + 1..];
    }
}

/// Common checks of a self-contained HTML report.
pub fn check_report_html(path: &Path, titles: &[&str]) {
    let html = std::fs::read_to_string(path).unwrap();
    let tags = check_xml(&html);
    assert!(tags.iter().filter(|t| *t == "svg").count() >= titles.len());
    assert!(html.contains("<svg") && html.trim_end().ends_with("</html>"));
    for t in titles {
        assert!(
            html.contains(&t.replace('&', "&amp;")),
            "report lacks the plot `{t}`"
        );
    }
    // Self-contained: no URL at all, so no external resource, script or font.
    for bad in ["http://", "https://", "<script", "<link", "<img", "url("] {
        assert!(!html.contains(bad), "report.html contains `{bad}`");
    }
}

fn diagnose(config: &str, steps: &str) -> (TempDir, Value, String) {
    diagnose_with(config, steps, &[])
}

fn diagnose_with(config: &str, steps: &str, sets: &[&str]) -> (TempDir, Value, String) {
    let dir = TempDir::new("diagnose");
    let ex = example(config);
    let mut args = vec![
        "diagnose",
        ex.to_str().unwrap(),
        "--out",
        dir.0.to_str().unwrap(),
        "--steps",
        steps,
    ];
    for s in sets {
        args.extend(["--set", s]);
    }
    let out = ok(&args);
    let d = json(&dir.0.join("diagnosis.json"));
    (dir, d, out)
}

const TITLES: [&str; 4] = [
    "Gradient norm |dL/dz| by layer depth",
    "log10 |dL/dz| by layer and step",
    "Saturated and dead units by layer",
    "Training loss",
];

#[test]
fn deep_sigmoid_vanishes() {
    let (dir, d, out) = diagnose("diagnose-sigmoid-deep.toml", "4");
    assert_eq!(d["verdict"]["flow"], "vanishing", "{out}");
    assert!(out.contains("verdict: VANISHING"), "{out}");
    assert!(out.contains("remedies:") && out.contains("  1. "), "{out}");
    let layers = d["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 10);
    let ratio = layers[0]["ratio_to_last"].as_f64().unwrap();
    assert!(ratio < 1e-5, "first/last = {ratio}");
    // Measured factor per layer at init well below 1, about σ_w·f'(0) = 0.577/4.
    let f = layers[0]["measured_factor"].as_f64().unwrap();
    assert!((0.05..0.3).contains(&f), "{f}");
    assert_eq!(d["measured_steps"], serde_json::json!([1, 2, 3, 4]));
    // The mean-field prediction, when present, agrees with the measured factor.
    if let Some(p) = d["theory"].as_object() {
        let pred = p["predicted_factor"].as_f64().unwrap();
        let meas = p["measured_factor"].as_f64().unwrap();
        assert!(
            (pred / meas - 1.0).abs() < 0.3,
            "predicted {pred} vs {meas}"
        );
    }
    let lines = std::fs::read_to_string(dir.0.join("diagnostics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 4);
    for f in [
        "report.md",
        "grad_norms.svg",
        "heatmap.svg",
        "saturation.svg",
        "loss.svg",
    ] {
        assert!(dir.0.join(f).exists(), "{f} missing");
    }
    check_report_html(&dir.0.join("report.html"), &TITLES);
    let md = std::fs::read_to_string(dir.0.join("report.md")).unwrap();
    assert!(md.contains("**Verdict: vanishing**") && md.contains("| depth |"));
}

#[test]
fn tanh_with_large_weights_explodes() {
    let (dir, d, out) = diagnose("diagnose-tanh-exploding.toml", "3");
    assert_eq!(d["verdict"]["flow"], "exploding", "{out}");
    let layers = d["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 30);
    assert!(d["verdict"]["first_to_last"].as_f64().unwrap() > 10.0);
    check_report_html(&dir.0.join("report.html"), &TITLES);
    // The severity and the problems are in the verdict, in every format.
    let init = &d["verdict_at_init"];
    assert_eq!(init["will_train"], false);
    assert!(
        init["severity"]["log10_ratio"].as_f64().unwrap() > 2.0,
        "{init}"
    );
    assert_eq!(
        d["verdict"]["problems"][0]["problem"], "saturation",
        "{out}"
    );
    let md = std::fs::read_to_string(dir.0.join("report.md")).unwrap();
    let html = std::fs::read_to_string(dir.0.join("report.html")).unwrap();
    for text in [&out, &md, &html] {
        assert!(text.contains("Severity: log₁₀"), "{text}");
        assert!(text.contains("What the verdict cannot know"));
    }
    assert!(out.contains("problems: SATURATION"), "{out}");
}

#[test]
fn relu_with_he_init_is_healthy() {
    let (dir, d, out) = diagnose("diagnose-relu-he.toml", "3");
    assert_eq!(d["verdict"]["flow"], "healthy", "{out}");
    let r = d["verdict"]["first_to_last"].as_f64().unwrap();
    assert!((0.1..10.0).contains(&r), "{r}");
    assert_eq!(d["layers"].as_array().unwrap().len(), 20);
    check_report_html(&dir.0.join("report.html"), &TITLES);
    assert_eq!(d["verdict_at_init"]["will_train"], true);
    assert!(d["verdict"].get("problems").is_none(), "no problem: {out}");
    assert!(out.contains("Severity: log₁₀ ‖δ_1‖/‖δ_L‖") && out.contains("confidence high"));
    // An MLP's outputs have no through-time part.
    assert!(d.get("through_time").is_none() && d["verdict"].get("recurrent").is_none());
    let lines = std::fs::read_to_string(dir.0.join("diagnostics.jsonl")).unwrap();
    assert!(!lines.contains("recurrent"));
}

#[test]
fn adds_a_diagnostics_table_when_the_config_has_none() {
    // digits-mlp.toml has no [diagnostics] table: every = --every, default 1.
    let dir = TempDir::new("diagnose-every");
    let ex = example("digits-mlp.toml");
    let args = |every: &str| {
        let mut a = vec![
            "diagnose".to_string(),
            ex.to_str().unwrap().into(),
            "--out".into(),
            dir.0.to_str().unwrap().into(),
            "--steps".into(),
            "4".into(),
            "-q".into(),
        ];
        if !every.is_empty() {
            a.extend(["--every".into(), every.into()]);
        }
        a
    };
    let run = |every: &str| {
        let a = args(every);
        ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
        json(&dir.0.join("diagnosis.json"))
    };
    let d = run("");
    assert_eq!(d["measured_steps"], serde_json::json!([1, 2, 3, 4]));
    assert_eq!(d["steps"], 4);
    let d = run("2");
    assert_eq!(d["measured_steps"], serde_json::json!([1, 2, 4]));
    assert_eq!(d["every"], 2);
    assert_eq!(d["layers"].as_array().unwrap().len(), 2);
}

#[test]
fn errors_are_clean() {
    let dir = TempDir::new("diagnose-err");
    let out = dir.0.to_str().unwrap();
    let ex = example("diagnose-relu-he.toml");
    let ex = ex.to_str().unwrap();
    let e = fails(&["diagnose", "no/such/config.toml", "--out", out]);
    assert!(e.contains("no/such/config.toml"), "{e}");
    let e = fails(&["diagnose", ex, "--out", out, "--steps", "0"]);
    assert!(e.contains("--steps"), "{e}");
    let e = fails(&["diagnose", ex, "--out", out, "--every", "0"]);
    assert!(e.contains("--every"), "{e}");
    let e = fails(&["diagnose", ex, "--out", out, "--set", "model.hiden=[3]"]);
    assert!(e.contains("hiden"), "{e}");
    let lr = example("logistic-regression.toml");
    let e = fails(&[
        "diagnose",
        lr.to_str().unwrap(),
        "--out",
        out,
        "--steps",
        "2",
    ]);
    assert!(e.contains("no hidden activation layers"), "{e}");
    // --out is required.
    let out = crate::gradscope(&["diagnose", ex]);
    assert!(!out.status.success());
}

#[test]
fn a_diverging_run_is_diagnosed_from_the_steps_before() {
    let dir = TempDir::new("diagnose-div");
    let ex = example("diagnose-relu-he.toml");
    let out = crate::gradscope(&[
        "diagnose",
        ex.to_str().unwrap(),
        "--out",
        dir.0.to_str().unwrap(),
        "--set",
        "training.optimizer.lr=50",
        "--steps",
        "20",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("diverged at step"), "{stderr}");
    let d = json(&dir.0.join("diagnosis.json"));
    assert_eq!(d["outcome"]["status"], "diverged");
    let measured = d["measured_steps"].as_array().unwrap().len();
    assert!((1..20).contains(&measured), "{measured}");
    check_report_html(&dir.0.join("report.html"), &TITLES);
}

const TIME_TITLES: [&str; 3] = [
    "Gradient through time |dL/dh_t|",
    "log10 |dL/dh_t| by time step and training step",
    "Training loss",
];

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn vanilla_rnn_vanishes_through_time_with_the_chart_and_the_spectral_verdict() {
    let (dir, d, out) = diagnose_with("diagnose-rnn-vanishing.toml", "3", &["data.n=200"]);
    assert!(out.contains("verdict: VANISHING through time"), "{out}");
    for s in [
        "σ_max(W_hh)",
        "1/γ",
        "∂h_t/∂h_{t−1} = diag(f'(a_t))·W_hh",
        "gradient through time:",
        "bound (γσ_max)^(T−t)",
        "h (hidden units)",
    ] {
        assert!(out.contains(s), "stdout lacks `{s}`:\n{out}");
    }
    let rv = &d["verdict"]["recurrent"][0];
    assert_eq!(rv["flow"], "vanishing");
    assert_eq!(d["verdict"]["flow"], "vanishing");
    let l = &rv["layers"][0];
    assert!(num(&l["first_to_last"]) < 1e-10, "{l}");
    assert!(num(&l["per_step_factor"]) < 0.9, "{l}");
    assert!(
        (num(&l["gamma"]) - 1.0).abs() < 1e-9 && (num(&l["pascanu_threshold"]) - 1.0).abs() < 1e-9
    );
    // PyTorch's default init: ρ(W_hh) well below 1, σ_max about 2/√3.
    assert!(num(&l["spectral_radius_first"]) < 0.8, "{l}");
    let tt = &d["through_time"][0]["layers"][0];
    assert_eq!(d["through_time"][0]["path"], "rnn");
    let g = tt["grad_norms_first"].as_array().unwrap();
    let bound = tt["bound_first"].as_array().unwrap();
    assert_eq!((g.len(), bound.len()), (100, 100));
    assert_eq!(
        num(&bound[99]),
        num(&g[99]),
        "the bound starts at ‖∂L/∂h_T‖"
    );
    // The measured gradient stays under Pascanu et al.'s bound at every step.
    for (a, b) in g.iter().zip(bound) {
        assert!(num(a) <= num(b) * (1.0 + 1e-6));
    }
    assert_eq!(d["theory_unavailable"]["reason"], "layer");
    assert_eq!(d["theory_unavailable"]["kind"], "recurrent");
    assert!(d["theory_summary"].as_str().unwrap().contains("W_hh"));
    let lines = std::fs::read_to_string(dir.0.join("diagnostics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 3);
    assert!(lines.lines().all(|l| l.contains("\"recurrent\"")));
    assert!(dir.0.join("grad_through_time.svg").exists());
    check_report_html(&dir.0.join("report.html"), &TIME_TITLES);
    let html = std::fs::read_to_string(dir.0.join("report.html")).unwrap();
    for s in [
        "Gradient through time",
        "Spectrum of W_hh",
        "bound (γσ_max)^(T−t), step 1",
    ] {
        assert!(html.contains(s), "report.html lacks `{s}`");
    }
    let md = std::fs::read_to_string(dir.0.join("report.md")).unwrap();
    assert!(md.contains("**Verdict: vanishing**") && md.contains("## Gradient through time"));
    assert!(
        md.contains("| t |") && md.contains("| layer | W_hh block |"),
        "{md}"
    );
}

#[test]
fn rnn_with_spectral_radius_one_and_a_half_explodes_through_time() {
    let (dir, d, out) = diagnose_with("diagnose-rnn-exploding.toml", "3", &["data.n=200"]);
    assert!(out.contains("verdict: EXPLODING through time"), "{out}");
    assert!(out.contains("σ_max(W_hh) = 1.500 > 1/γ = 1.000"), "{out}");
    let rv = &d["verdict"]["recurrent"][0];
    assert_eq!(rv["flow"], "exploding");
    let l = &rv["layers"][0];
    assert!((num(&l["sigma_max_first"]) - 1.5).abs() < 1e-4, "{l}");
    assert!(
        num(&l["per_step_factor"]) > 1.0 && num(&l["first_to_last"]) > 100.0,
        "{l}"
    );
    assert!(rv["remedies"][0]["text"].as_str().unwrap().contains("clip"));
    assert_eq!(rv["remedies"][0]["remedy"], "clip_norm");
    check_report_html(&dir.0.join("report.html"), &TIME_TITLES);
}

#[test]
fn lstm_with_forget_bias_reports_its_gates_and_a_slower_decay() {
    let (dir, d, out) = diagnose_with("diagnose-lstm.toml", "3", &["data.n=200"]);
    for s in [
        "f (forget)",
        "mean forget gate",
        "|dL/dc_t| step 1",
        "W_hh block",
    ] {
        assert!(out.contains(s), "stdout lacks `{s}`:\n{out}");
    }
    let l = &d["verdict"]["recurrent"][0]["layers"][0];
    let gates = l["gates"].as_array().unwrap();
    let names: Vec<&str> = gates.iter().map(|g| g["gate"].as_str().unwrap()).collect();
    assert_eq!(names, ["i", "f", "g", "o"]);
    // Forget bias 1: σ(1 + small) at init.
    let f = num(&gates[1]["mean"]);
    assert!((0.65..0.8).contains(&f), "{f}");
    assert_eq!(l["blocks_first"].as_array().unwrap().len(), 4);
    assert!(l.get("cell_first_to_last").is_some());
    // Far less decay than the vanilla RNN's ~1e-24 over the same 99 steps.
    assert!(num(&l["first_to_last"]) > 1e-12, "{l}");
    check_report_html(&dir.0.join("report.html"), &TIME_TITLES);
    let html = std::fs::read_to_string(dir.0.join("report.html")).unwrap();
    assert!(html.contains("|dL/dc_t|, step 1"));
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The text of every `<tag>…</tag>` element of `html`, in order.
fn elements(html: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        if !after.starts_with(['>', ' ']) {
            rest = after;
            continue;
        }
        let start = after.find('>').unwrap() + 1;
        let end = after.find(&close).unwrap();
        out.push(unescape(&after[start..end]));
        rest = &after[end..];
    }
    out
}

#[test]
fn report_md_and_html_say_the_same() {
    let (dir, d, _) = diagnose("diagnose-sigmoid-deep.toml", "4");
    let md = std::fs::read_to_string(dir.0.join("report.md")).unwrap();
    let html = std::fs::read_to_string(dir.0.join("report.html")).unwrap();
    // The same headings, in the same order.
    let md_headings: Vec<String> = md
        .lines()
        .filter_map(|l| l.strip_prefix("## ").or_else(|| l.strip_prefix("### ")))
        .map(str::to_string)
        .collect();
    let mut html_headings = Vec::new();
    for l in html.lines() {
        for tag in ["h2", "h3"] {
            if l.starts_with(&format!("<{tag}>")) {
                html_headings.extend(elements(l, tag));
            }
        }
    }
    assert!(md_headings.len() >= 4, "{md_headings:?}");
    assert_eq!(md_headings, html_headings);
    // The same verdict line and explanation.
    let verdict = md
        .lines()
        .find(|l| l.starts_with("**Verdict: vanishing**"))
        .expect("verdict line");
    let headline = verdict.split(" — ").nth(1).expect("headline");
    assert!(headline.contains("‖δ_1‖/‖δ_L‖ = "), "{headline}");
    let html_text = unescape(&html);
    assert!(
        html_text.contains(headline),
        "report.html lacks `{headline}`"
    );
    let explanation = d["verdict"]["explanation"].as_str().unwrap();
    assert!(md.contains(explanation) && html_text.contains(explanation));
    // The same table cells, in the same order.
    let md_cells: Vec<String> = md
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| depth") && !l.starts_with("| ---"))
        .flat_map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let html_cells = elements(&html, "td");
    assert_eq!(md_cells.len(), 10 * 14, "ten layers of fourteen columns");
    assert_eq!(md_cells, html_cells);
}

#[test]
fn every_chart_has_hover_titles() {
    let (dir, _, _) = diagnose("diagnose-sigmoid-deep.toml", "3");
    let html = std::fs::read_to_string(dir.0.join("report.html")).unwrap();
    let figures: Vec<&str> = html.split("<figure>").skip(1).collect();
    assert!(figures.len() >= 6, "{} charts", figures.len());
    for f in figures {
        let svg = &f[..f.find("</figure>").unwrap()];
        assert!(svg.contains("<svg"), "a figure without a chart");
        let caption = elements(svg, "figcaption");
        assert!(
            svg.contains("<title>"),
            "no hover titles in the chart of `{caption:?}`"
        );
    }
    for f in [
        "grad_norms.svg",
        "heatmap.svg",
        "saturation.svg",
        "grad_distribution.svg",
        "act_distribution.svg",
        "loss.svg",
    ] {
        let svg = std::fs::read_to_string(dir.0.join(f)).unwrap();
        assert!(svg.contains("<title>"), "{f} has no hover titles");
    }
    // The heatmap: one titled cell per layer and measured step.
    let heat = std::fs::read_to_string(dir.0.join("heatmap.svg")).unwrap();
    assert_eq!(
        heat.matches("shape-rendering=\"crispEdges\"><title>")
            .count(),
        10 * 3
    );
}

#[test]
fn report_renders_a_diagnosis_directory_again() {
    let (dir, d, _) = diagnose("diagnose-sigmoid-deep.toml", "3");
    let first = std::fs::read_to_string(dir.0.join("report.html")).unwrap();
    let out = TempDir::new("report");
    let text = ok(&[
        "report",
        dir.0.to_str().unwrap(),
        "--out",
        out.0.to_str().unwrap(),
    ]);
    assert!(text.contains("VANISHING"), "{text}");
    assert_eq!(d["verdict"]["flow"], "vanishing");
    check_report_html(&out.0.join("report.html"), &TITLES);
    // The same report as diagnose wrote (both from diagnosis.json and diagnostics.jsonl).
    assert_eq!(
        std::fs::read_to_string(out.0.join("report.html")).unwrap(),
        first
    );
    assert!(out.0.join("report.md").exists());
}

#[test]
fn report_errors_name_the_file() {
    let dir = TempDir::new("report-bad");
    std::fs::create_dir_all(&dir.0).unwrap();
    let err = fails(&["report", dir.0.to_str().unwrap()]);
    assert!(err.contains("diagnosis.json"), "{err}");
    std::fs::write(dir.0.join("diagnosis.json"), "{\"schema_version\": 3}").unwrap();
    let err = fails(&["report", dir.0.to_str().unwrap()]);
    assert!(
        err.contains("diagnosis.json") && err.contains("not a diagnosis"),
        "{err}"
    );
}
