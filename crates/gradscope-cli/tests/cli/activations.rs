//! `gradscope activations`: formats, filtering, point evaluation, plots and errors.

use serde_json::Value;

use std::time::Duration;

use crate::{fails, gradscope_with_timeout, ok, TempDir};

const KEYS: [&str; 11] = [
    "name",
    "range",
    "f0",
    "df0",
    "max_abs_derivative",
    "argmax_derivative",
    "monotonic",
    "mean_output",
    "saturation_x",
    "mean_sq_derivative",
    "gain",
];

/// The default catalogue's base names, in display order (for counting and lookup).
const NAMES: [&str; 22] = [
    "sigmoid",
    "improved_sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "relu",
    "leaky_relu",
    "prelu",
    "rrelu",
    "elu",
    "selu",
    "swish",
    "silu",
    "gelu",
    "gelu_tanh",
    "softplus",
    "softsign",
    "mish",
    "hard_sigmoid",
    "hard_swish",
    "hard_tanh",
    "identity",
];

fn json(args: &[&str]) -> Value {
    let out = ok(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: invalid JSON ({e}):\n{out}"))
}

fn entries(v: &Value) -> &Vec<Value> {
    assert_eq!(v["schema_version"], gradscope::io::SCHEMA_VERSION);
    v["activations"]
        .as_array()
        .expect("a JSON array of activations")
}

fn by_name<'a>(v: &'a Value, name: &str) -> &'a Value {
    entries(v)
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entry `{name}`"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(f)
        .collect()
}

fn base_name(text: &str) -> &str {
    text.split('(').next().unwrap()
}

#[test]
fn json_has_every_activation_and_key() {
    let v = json(&["activations", "--format", "json"]);
    let list = entries(&v);
    assert_eq!(list.len(), NAMES.len());
    for (e, name) in list.iter().zip(NAMES) {
        let obj = e.as_object().expect("an object per activation");
        for k in KEYS {
            assert!(obj.contains_key(k), "{name}: missing `{k}` in {e}");
        }
        assert_eq!(base_name(e["name"].as_str().unwrap()), name);
        let range = e["range"].as_array().expect("range is an array");
        assert_eq!(range.len(), 2);
        assert!(range
            .iter()
            .all(|r| r.is_null() || r.is_f64() || r.is_i64()));
        assert!(e["monotonic"].is_boolean());
        for k in [
            "f0",
            "df0",
            "max_abs_derivative",
            "mean_sq_derivative",
            "gain",
        ] {
            assert!(f(&e[k]).is_finite(), "{name}.{k}");
        }
        assert!(e["saturation_x"].is_null() || e["saturation_x"].is_number());
        assert!(e["argmax_derivative"].is_null() || e["argmax_derivative"].is_number());
    }
}

#[test]
fn json_values_are_the_known_ones() {
    let v = json(&[
        "activations",
        "--only",
        "sigmoid,relu,improved_sigmoid,tanh,log_softmax",
        "--format",
        "json",
    ]);
    let s = by_name(&v, "sigmoid");
    assert!((f(&s["max_abs_derivative"]) - 0.25).abs() < 1e-12);
    assert_eq!(f(&s["argmax_derivative"]), 0.0);
    assert_eq!(f(&s["f0"]), 0.5);
    assert_eq!(s["range"], serde_json::json!([0.0, 1.0]));
    assert_eq!(s["monotonic"], true);
    assert!((f(&s["saturation_x"]) - 5.9864).abs() < 1e-3);

    let r = by_name(&v, "relu");
    assert!((f(&r["gain"]) - std::f64::consts::SQRT_2).abs() < 1e-10);
    assert!((f(&r["mean_sq_derivative"]) - 0.5).abs() < 1e-12);
    assert!(r["saturation_x"].is_null());
    assert_eq!(r["range"][0], 0.0);
    assert!(r["range"][1].is_null());

    let i = by_name(&v, "improved_sigmoid(alpha=2, beta=0.1)");
    assert_eq!(i["range"], serde_json::json!([null, null]));
    assert!(i["saturation_x"].is_null());

    let t = by_name(&v, "tanh");
    let acosh10 = (10.0f64 + 99f64.sqrt()).ln();
    assert!((f(&t["saturation_x"]) - acosh10).abs() < 1e-6);

    let l = by_name(&v, "log_softmax");
    assert!(l["argmax_derivative"].is_null());
    assert!((f(&l["f0"]) + std::f64::consts::LN_2).abs() < 1e-15);
}

/// Splits one CSV record (RFC 4180 quoting, no embedded newlines).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    assert!(!quoted, "unterminated quote in {line}");
    out.push(cur);
    out
}

#[test]
fn csv_has_a_header_and_one_consistent_line_per_activation() {
    let out = ok(&["activations", "--format", "csv"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1 + NAMES.len(), "{out}");
    let header = csv_fields(lines[0]);
    assert_eq!(header[0], "name");
    for k in [
        "f0",
        "df0",
        "max_abs_derivative",
        "monotonic",
        "gain",
        "mean_sq_derivative",
    ] {
        assert!(
            header.iter().any(|h| h == k),
            "header lacks {k}: {header:?}"
        );
    }
    let col = |k: &str| header.iter().position(|h| h == k).unwrap();
    for (line, name) in lines[1..].iter().zip(NAMES) {
        let fields = csv_fields(line);
        assert_eq!(fields.len(), header.len(), "column count of `{line}`");
        assert_eq!(base_name(&fields[0]), name);
        for k in ["f0", "df0", "max_abs_derivative", "gain"] {
            let v: f64 = fields[col(k)]
                .parse()
                .unwrap_or_else(|_| panic!("{name}.{k} = `{}`", fields[col(k)]));
            assert!(v.is_finite());
        }
        assert!(["true", "false"].contains(&fields[col("monotonic")].as_str()));
    }
    // Quoted fields survive: the prelu row's name holds a comma.
    let prelu = csv_fields(lines[1 + 7]);
    assert_eq!(prelu[0], "prelu(init=0.25, channels=1)");
    let relu = csv_fields(lines[1 + 5]);
    let gain: f64 = relu[col("gain")].parse().unwrap();
    assert!((gain - std::f64::consts::SQRT_2).abs() < 1e-10);
}

#[test]
fn markdown_and_table_formats() {
    let md = ok(&["activations", "--format", "markdown"]);
    assert!(md.starts_with("| activation"), "{md}");
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(lines.len(), 2 + NAMES.len());
    assert!(lines[1].starts_with("| ---") || lines[1].starts_with("|---"));
    let pipes = lines[0].matches(" | ").count();
    for l in &lines {
        assert!(l.starts_with('|') && l.ends_with('|'), "{l}");
        assert_eq!(l.matches(" | ").count(), pipes, "cell count of {l}");
    }

    let default = ok(&["activations"]);
    let table = ok(&["activations", "--format", "table"]);
    assert_eq!(default, table, "table is the default");
    assert!(table.starts_with("activation"), "{table}");
    assert_eq!(table.lines().count(), 2 + NAMES.len());
    for name in NAMES {
        assert!(
            table.lines().skip(2).any(|l| l.starts_with(name)),
            "table lacks {name}"
        );
    }
}

#[test]
fn only_filters_and_keeps_order() {
    let v = json(&[
        "activations",
        "--only",
        "sigmoid,leaky_relu(0.2)",
        "--format",
        "json",
    ]);
    let names: Vec<&str> = entries(&v)
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sigmoid", "leaky_relu(slope=0.2)"]);
    let lr = &entries(&v)[1];
    assert!((f(&lr["mean_sq_derivative"]) - 0.52).abs() < 1e-12);
    assert_eq!(f(&lr["df0"]), 0.2);

    // Commas inside parentheses do not split; spacing and case are free.
    let v = json(&[
        "activations",
        "--only",
        "improved_sigmoid(alpha=3, beta=0.05), Tanh ,ELU(alpha=0.5)",
        "--format",
        "json",
    ]);
    let names: Vec<&str> = entries(&v)
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "improved_sigmoid(alpha=3, beta=0.05)",
            "tanh",
            "elu(alpha=0.5)"
        ]
    );
    assert_eq!(f(&entries(&v)[2]["range"][0]), -0.5);
}

#[test]
fn eval_elementwise() {
    let v = json(&["activations", "--eval", "tanh", "--x=-1,0,1"]);
    assert_eq!(floats(&v["x"]), [-1.0, 0.0, 1.0]);
    let fs = floats(&v["f"]);
    let dfs = floats(&v["df"]);
    for ((x, fx), dfx) in [-1.0f64, 0.0, 1.0].iter().zip(&fs).zip(&dfs) {
        assert!((fx - x.tanh()).abs() < 1e-15, "tanh({x}) = {fx}");
        let d = 1.0 - x.tanh().powi(2);
        assert!((dfx - d).abs() < 1e-15, "tanh'({x}) = {dfx} vs {d}");
    }
    assert_eq!(v["dtype"], "f64");
    assert_eq!(v["activation"], "tanh");

    // f32 and a parameterised activation.
    let v = json(&[
        "activations",
        "--eval",
        "improved_sigmoid(alpha=2, beta=0.1)",
        "--x=-10,0,10",
        "--dtype",
        "f32",
    ]);
    assert_eq!(v["dtype"], "f32");
    let fs = floats(&v["f"]);
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    for (x, fx) in [-10.0f64, 0.0, 10.0].iter().zip(&fs) {
        let e = sig(2.0 * x) + 0.1 * x;
        assert!((fx - e).abs() < 1e-6 * (1.0 + e.abs()), "{x}: {fx} vs {e}");
    }
    assert!((floats(&v["df"])[1] - 0.6).abs() < 1e-6);

    // `--x VALUES` with a leading minus also works.
    let v = json(&["activations", "--eval", "relu", "--x", "-2,3"]);
    assert_eq!(floats(&v["f"]), [0.0, 3.0]);
    assert_eq!(floats(&v["df"]), [0.0, 1.0]);
}

#[test]
fn eval_softmax_gives_a_probability_row_and_its_jacobian() {
    let v = json(&["activations", "--eval", "softmax", "--x=1,2,3"]);
    let y = floats(&v["f"]);
    assert_eq!(y.len(), 3);
    assert!((y.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let denom: f64 = [1.0f64, 2.0, 3.0].iter().map(|x| x.exp()).sum();
    let p: Vec<f64> = [1.0f64, 2.0, 3.0].iter().map(|x| x.exp() / denom).collect();
    for (a, b) in y.iter().zip(&p) {
        assert!((a - b).abs() < 1e-14);
    }
    let jac = v["jacobian"].as_array().expect("jacobian");
    assert_eq!(jac.len(), 3);
    for (i, row) in jac.iter().enumerate() {
        let row = floats(row);
        assert_eq!(row.len(), 3);
        for (j, jij) in row.iter().enumerate() {
            // ∂yᵢ/∂xⱼ = yᵢ(δᵢⱼ − yⱼ)
            let e = p[i] * (if i == j { 1.0 } else { 0.0 } - p[j]);
            assert!((jij - e).abs() < 1e-14, "J[{i}][{j}] = {jij} vs {e}");
        }
    }
}

#[test]
fn eval_log_softmax_jacobian_is_not_transposed() {
    // J_ij = ∂yᵢ/∂xⱼ = δᵢⱼ − softmax(x)ⱼ: not symmetric, so a transposed Jacobian shows.
    let v = json(&["activations", "--eval", "log_softmax", "--x=1,2,3"]);
    let denom: f64 = [1.0f64, 2.0, 3.0].iter().map(|x| x.exp()).sum();
    let p: Vec<f64> = [1.0f64, 2.0, 3.0].iter().map(|x| x.exp() / denom).collect();
    let y = floats(&v["f"]);
    for (yi, pi) in y.iter().zip(&p) {
        assert!((yi - pi.ln()).abs() < 1e-14);
    }
    let jac = v["jacobian"].as_array().unwrap();
    for (i, row) in jac.iter().enumerate() {
        for (j, jij) in floats(row).iter().enumerate() {
            let e = if i == j { 1.0 } else { 0.0 } - p[j];
            assert!((jij - e).abs() < 1e-14, "J[{i}][{j}] = {jij} vs {e}");
        }
    }
}

#[test]
fn plot_writes_svg_files() {
    let dir = TempDir::new("plot");
    let d = dir.0.to_str().unwrap();
    let out = ok(&[
        "activations",
        "--only",
        "sigmoid,tanh,leaky_relu(0.2)",
        "--plot",
        d,
        "--plot-range=-3,3",
        "--format",
        "csv",
    ]);
    assert_eq!(out.lines().count(), 4, "the table is still printed");
    let mut files: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    for want in [
        "sigmoid.svg",
        "tanh.svg",
        "sigmoid_vs_improved_sigmoid.svg",
        "sigmoid_vs_improved_sigmoid_derivative.svg",
        "derivatives.svg",
        "relu_family.svg",
    ] {
        assert!(files.iter().any(|f| f == want), "{want} missing: {files:?}");
    }
    // One per activation plus the 4 comparison figures, no temporary files left behind.
    assert_eq!(files.len(), 3 + 4, "{files:?}");
    assert!(files
        .iter()
        .all(|f| f.ends_with(".svg") && !f.starts_with('.')));
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("leaky_relu") && f.contains("0.2")),
        "{files:?}"
    );
    for name in &files {
        let svg = std::fs::read_to_string(dir.0.join(name)).unwrap();
        assert!(
            svg.starts_with("<svg"),
            "{name}: {}",
            &svg[..svg.len().min(80)]
        );
        assert!(
            svg.contains("<path") || svg.contains("<polyline"),
            "{name} has no curve"
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{name} is truncated");
    }
}

#[test]
fn unknown_activation_is_a_clean_error() {
    let err = fails(&["activations", "--only", "sigmod"]);
    assert!(err.contains("unknown activation"), "{err}");
    assert!(err.contains("sigmod"), "{err}");
    assert!(err.contains("valid activations"), "{err}");
    for name in ["sigmoid", "tanh", "leaky_relu", "improved_sigmoid"] {
        assert!(err.contains(name), "lacks {name}: {err}");
    }
    let err = fails(&["activations", "--eval", "sigmod", "--x=1"]);
    assert!(err.contains("unknown activation"), "{err}");
    let err = fails(&["activations", "--only", ""]);
    assert!(err.contains("valid activations"), "{err}");
}

#[test]
fn bad_parameter_is_a_clean_error() {
    let err = fails(&["activations", "--only", "elu(alpha=abc)"]);
    assert!(err.contains("alpha") && err.contains("abc"), "{err}");
    let err = fails(&["activations", "--only", "elu(gamma=1)"]);
    assert!(
        err.contains("unknown parameter") && err.contains("alpha"),
        "{err}"
    );
    let err = fails(&["activations", "--only", "hard_tanh(min=1, max=0)"]);
    assert!(err.contains("min") && err.contains("max"), "{err}");
    let err = fails(&["activations", "--only", "elu(alpha=1"]);
    assert!(err.contains(')'), "{err}");
}

#[test]
fn eval_argument_errors() {
    let err = fails(&["activations", "--eval", "tanh"]);
    assert!(err.contains("--x"), "{err}");
    let err = fails(&["activations", "--x=1,2"]);
    assert!(err.contains("--eval"), "{err}");
    let err = fails(&["activations", "--eval", "tanh", "--x=1,abc"]);
    assert!(err.contains("--x") && err.contains("abc"), "{err}");
    let err = fails(&["activations", "--eval", "tanh", "--x=1,inf"]);
    assert!(err.contains("inf"), "{err}");
    let err = fails(&["activations", "--eval", "tanh", "--x=1", "--dtype", "f16"]);
    assert!(err.contains("f16") && err.contains("f32"), "{err}");
}

#[test]
fn bad_format_is_a_clean_error() {
    let err = fails(&["activations", "--format", "xml"]);
    assert!(err.contains("xml"), "{err}");
    assert!(
        err.contains("json") && err.contains("csv"),
        "lists valid values: {err}"
    );
}

#[test]
fn bad_plot_range_is_a_clean_error() {
    for (range, needle) in [
        ("--plot-range=abc", "abc"),
        ("--plot-range=1,abc", "abc"),
        ("--plot-range=1", "two numbers"),
        ("--plot-range=1,2,3", "two numbers"),
        ("--plot-range=3,-3", "below"),
        ("--plot-range=2,2", "below"),
    ] {
        let dir = TempDir::new("badrange");
        let err = fails(&[
            "activations",
            "--only",
            "sigmoid",
            "--plot",
            dir.0.to_str().unwrap(),
            range,
        ]);
        assert!(err.contains("--plot-range"), "{range}: {err}");
        assert!(err.contains(needle), "{range}: {err}");
        assert!(!dir.0.join("sigmoid.svg").exists(), "{range}: wrote a plot");
    }
}

#[test]
fn unknown_subcommand_and_flag() {
    fails(&["activations", "--bogus"]);
    fails(&["no-such-command"]);
}

/// A huge but finite plot range must either plot or fail cleanly, not hang.
#[test]
fn huge_plot_range_terminates() {
    for range in ["--plot-range=0,1e306", "--plot-range=-1e308,1e308"] {
        let dir = TempDir::new("hugerange");
        let args = [
            "activations",
            "--only",
            "sigmoid",
            "--format",
            "csv",
            "--plot",
            dir.0.to_str().unwrap(),
            range,
        ];
        let result = gradscope_with_timeout(&args, Duration::from_secs(10));
        let (status, stderr) =
            result.unwrap_or_else(|| panic!("{range}: still running after 10 s"));
        assert!(!stderr.contains("panicked"), "{range}: {stderr}");
        if !status.success() {
            assert!(stderr.contains("--plot-range"), "{range}: {stderr}");
        }
    }
}

#[test]
fn moderately_wide_plot_range_works() {
    let dir = TempDir::new("widerange");
    ok(&[
        "activations",
        "--only",
        "identity",
        "--format",
        "csv",
        "--plot",
        dir.0.to_str().unwrap(),
        "--plot-range=-1e30,1e30",
    ]);
    let svg = std::fs::read_to_string(dir.0.join("identity.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
}

#[test]
fn plot_into_a_file_path_is_a_clean_error() {
    let dir = TempDir::new("plotfile");
    std::fs::create_dir_all(&dir.0).unwrap();
    let file = dir.0.join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = fails(&[
        "activations",
        "--only",
        "sigmoid",
        "--plot",
        file.to_str().unwrap(),
    ]);
    assert!(err.contains("--plot"), "{err}");
}

/// `--x` values are checked to be finite in f64, but `--dtype f32` then rounds those beyond
/// ±3.4e38 to ±inf and the JSON silently holds `null`s.
#[test]
fn eval_f32_rejects_values_outside_f32_range() {
    for (act, xs) in [("identity", "--x=1e39,1"), ("softmax", "--x=1e39,0")] {
        let out = crate::gradscope(&["activations", "--eval", act, xs, "--dtype", "f32"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            let v: Value = serde_json::from_str(&stdout).unwrap();
            assert!(
                !v.to_string().contains("null"),
                "{act} {xs}: silent non-finite output {v}"
            );
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("--x") && !stderr.contains("panicked"),
                "{stderr}"
            );
        }
    }
}

#[test]
fn eval_f32_and_f64_agree() {
    let xs = "--x=-7.5,-2,-0.25,0,0.3,1,4,9";
    for act in [
        "gelu",
        "mish",
        "softplus",
        "elu(alpha=0.5)",
        "swish(beta=2)",
    ] {
        let a = json(&["activations", "--eval", act, xs, "--dtype", "f32"]);
        let b = json(&["activations", "--eval", act, xs]);
        for key in ["f", "df"] {
            for (x, y) in floats(&a[key]).iter().zip(floats(&b[key])) {
                assert!(
                    (x - y).abs() <= 1e-4 * y.abs() + 1e-6,
                    "{act} {key}: {x} vs {y}"
                );
            }
        }
    }
}
