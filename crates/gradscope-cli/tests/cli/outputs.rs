//! docs/outputs.md lists every field of every file gradscope writes for programs, and
//! nothing else: the commands are run, every key of every file they write is walked and
//! looked up in the document, and every documented field must be written by one of them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::TempDir;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs gradscope in the repository root; returns stdout. `code` is the expected status.
fn gradscope_code(args: &[&str], code: i32) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gradscope"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("the gradscope binary runs");
    assert_eq!(
        out.status.code(),
        Some(code),
        "gradscope {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn gradscope(args: &[&str]) -> String {
    gradscope_code(args, 0)
}

/// One table row of docs/outputs.md: its section, its field path and the object it refers
/// to ("→ `Name`"), if any.
#[derive(Clone, Debug)]
struct Row {
    section: String,
    path: String,
    reference: Option<String>,
}

fn parse_doc(text: &str) -> BTreeMap<String, Vec<Row>> {
    let mut sections: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(h) = line
            .strip_prefix("## ")
            .or_else(|| line.strip_prefix("### "))
        {
            current = h.replace('`', "").trim().to_string();
            sections.entry(current.clone()).or_default();
            continue;
        }
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let cells: Vec<&str> = rest.split(" | ").collect();
        let path = cells[0].trim_end_matches('`').to_string();
        let reference = cells
            .get(1)
            .and_then(|u| u.strip_prefix("→ `"))
            .map(|r| r.trim_end_matches('`').to_string());
        sections.get_mut(&current).expect("a section").push(Row {
            section: current.clone(),
            path,
            reference,
        });
    }
    sections
}

/// The documented paths of `section`, each with the row (section, path) that documents it.
fn expand(
    doc: &BTreeMap<String, Vec<Row>>,
    section: &str,
    depth: usize,
) -> Vec<(String, (String, String))> {
    assert!(depth < 10, "references loop through {section}");
    let rows = doc
        .get(section)
        .unwrap_or_else(|| panic!("docs/outputs.md has no section `{section}`"));
    let mut out = Vec::new();
    for r in rows {
        let origin = (r.section.clone(), r.path.clone());
        let prefix = if r.path == "*" {
            String::new()
        } else {
            out.push((r.path.trim_end_matches("[]").to_string(), origin.clone()));
            r.path.clone()
        };
        if let Some(name) = &r.reference {
            for (p, o) in expand(doc, name, depth + 1) {
                let full = if prefix.is_empty() {
                    p
                } else {
                    format!("{prefix}.{p}")
                };
                out.push((full, o));
            }
        }
    }
    out
}

fn walk(v: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                walk(x, &p, out);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                walk(x, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// The key paths of a JSON document, a JSONL file (every line) or a CSV file (its header).
fn keys(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeSet::new();
    let name = path.to_string_lossy();
    if name.ends_with(".csv") {
        let header = text.lines().next().expect("a header");
        out.extend(header.split(',').map(str::to_string));
    } else if name.ends_with(".jsonl") {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            assert!(v["schema_version"].is_u64(), "{name}: {line}");
            walk(&v, "", &mut out);
        }
    } else {
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert!(v["schema_version"].is_u64(), "{name} has no schema_version");
        walk(&v, "", &mut out);
    }
    out
}

/// Writes every kind of output into `dir`; returns the files by docs/outputs.md section.
fn generate(dir: &Path) -> HashMap<&'static str, Vec<PathBuf>> {
    let d = |n: &str| dir.join(n);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let mut files: HashMap<&'static str, Vec<PathBuf>> = HashMap::new();
    let mut add = |section: &'static str, p: PathBuf| files.entry(section).or_default().push(p);

    // train: an MLP with diagnostics, a diverging run, a character model.
    gradscope(&[
        "train",
        "examples/diagnose-sigmoid-deep.toml",
        "--out",
        &s(&d("train")),
        "-q",
        "--set",
        "training.epochs=1",
        "--set",
        "training.max_steps=6",
        "--set",
        "diagnostics.every=3",
    ]);
    gradscope_code(
        &[
            "train",
            "examples/csv-moons.toml",
            "--out",
            &s(&d("diverged")),
            "-q",
            "--set",
            "training.lr=1e300",
            "--set",
            "training.epochs=1",
        ],
        1,
    );
    gradscope(&[
        "train",
        "examples/charlm-shakespeare.toml",
        "--out",
        &s(&d("text")),
        "-q",
        "--set",
        "training.max_steps=2",
        "--set",
        "model.recurrent.hidden=8",
    ]);
    // keep_best, early stopping (lr 0 never improves), clipping and the per-step scalars.
    gradscope(&[
        "train",
        "examples/csv-moons.toml",
        "--out",
        &s(&d("knobs")),
        "-q",
        "--set",
        "training.epochs=6",
        "--set",
        "training.keep_best=true",
        "--set",
        "training.patience=1",
        "--set",
        "training.scalars_every=5",
        "--set",
        "training.clip={kind=\"norm\",max_norm=0.01}",
        "--set",
        "training.optimizer={kind=\"sgd\",lr=1e-12}",
    ]);
    add("steps.jsonl", d("knobs").join("steps.jsonl"));
    for run in ["train", "diverged", "text", "knobs"] {
        add("metrics.jsonl", d(run).join("metrics.jsonl"));
        add("summary.json", d(run).join("summary.json"));
    }
    add("diagnostics.jsonl", d("train").join("diagnostics.jsonl"));
    add("vocab.json", d("text").join("vocab.json"));

    // diagnose: vanishing, exploding, dead units, recurrent (truncated), LSTM.
    for (name, config, sets) in [
        ("sigmoid", "diagnose-sigmoid-deep.toml", vec![]),
        ("tanh", "diagnose-tanh-exploding.toml", vec![]),
        ("relu", "diagnose-relu-he.toml", vec![]),
        ("rnn", "diagnose-rnn-exploding.toml", vec![]),
        (
            "rnn-truncated",
            "diagnose-rnn-exploding.toml",
            vec!["--set", "model.recurrent.truncate=20"],
        ),
        ("lstm", "diagnose-lstm.toml", vec![]),
    ] {
        let out = d(&format!("diagnose-{name}"));
        let config = format!("examples/{config}");
        let mut args = vec![
            "diagnose",
            &config,
            "--out",
            out.to_str().unwrap(),
            "-q",
            "--steps",
            "4",
        ];
        args.extend(sets);
        gradscope(&args);
        add("diagnosis.json", out.join("diagnosis.json"));
        add("diagnostics.jsonl", out.join("diagnostics.jsonl"));
    }
    gradscope(&[
        "demo",
        "--quick",
        "--epochs",
        "1",
        "--out",
        &s(&d("demo")),
        "-q",
    ]);
    add("demo.json", d("demo").join("demo.json"));

    // Printed outputs, saved as files.
    let mut save = |section: &'static str, file: &str, args: &[&str]| {
        std::fs::write(d(file), gradscope(args)).unwrap();
        add(section, d(file));
    };
    save(
        "activations.json",
        "activations.json",
        &["activations", "--format", "json"],
    );
    save(
        "activations.csv",
        "activations.csv",
        &["activations", "--format", "csv"],
    );
    save(
        "activations-eval.json",
        "eval.json",
        &["activations", "--eval", "tanh", "--x=-1,0,2"],
    );
    save(
        "activations-eval.json",
        "eval-softmax.json",
        &["activations", "--eval", "softmax", "--x=-1,0,2"],
    );
    save(
        "theory.json",
        "theory.json",
        &[
            "theory",
            "--activation",
            "tanh",
            "--sigma-w2",
            "1.5",
            "--critical",
            "--json",
        ],
    );
    save(
        "theory.json",
        "theory-relu.json",
        &[
            "theory",
            "--activation",
            "relu",
            "--sigma-w2",
            "2",
            "--json",
        ],
    );
    save(
        "theory-sweep.json",
        "sweep.json",
        &[
            "theory",
            "--activation",
            "tanh",
            "--sweep",
            "0.5,3,4",
            "--json",
        ],
    );
    save(
        "theory-sweep.csv",
        "sweep.csv",
        &["theory", "--activation", "tanh", "--sweep", "0.5,3,4"],
    );
    save(
        "bench.jsonl",
        "bench.jsonl",
        &[
            "bench", "--json", "--only", "W1", "--steps", "2", "--warmup", "1",
        ],
    );
    files
}

/// Documented fields that the runs above cannot write, each with the reason; the test checks
/// that they are documented and indeed not written (so the list cannot go stale).
const NOT_PRODUCED: &[(&str, &str, &str)] = &[
    ("Unavailable", "depth", "a model without a weight matrix around a hidden layer cannot be configured"),
    ("Unavailable", "message", "the theory fails only on numerical breakdown"),
    ("RecurrentLayerRecord", "truncation_not_applied", "needs a stacked many-to-one model whose gradient crosses a chunk"),
    ("ThroughTimeLayer", "jacobian_first", "an RNN whose every step receives a gradient (predict = every_step), not among the examples"),
];

#[test]
fn outputs_doc_lists_every_field() {
    let doc_text = std::fs::read_to_string(repo().join("docs/outputs.md")).unwrap();
    let doc = parse_doc(&doc_text);
    let dir = TempDir::new("outputs");
    std::fs::create_dir_all(&dir.0).unwrap();
    let files = generate(&dir.0);

    let mut covered: BTreeSet<(String, String)> = BTreeSet::new();
    let mut missing = Vec::new();
    for (section, paths) in &files {
        let documented = expand(&doc, section, 0);
        let known: BTreeSet<&str> = documented.iter().map(|(p, _)| p.as_str()).collect();
        let mut written = BTreeSet::new();
        for p in paths {
            written.extend(keys(p));
        }
        for w in &written {
            if !known.contains(w.as_str()) {
                missing.push(format!("{section}: `{w}`"));
            }
        }
        for (p, origin) in &documented {
            if written.contains(p) {
                covered.insert(origin.clone());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "written but not in docs/outputs.md:\n{}",
        missing.join("\n")
    );
    // Every file section of the document is generated.
    let file_sections: Vec<&String> = doc
        .keys()
        .filter(|s| s.ends_with(".json") || s.ends_with(".jsonl") || s.ends_with(".csv"))
        .collect();
    for s in &file_sections {
        assert!(files.contains_key(s.as_str()), "no run writes `{s}`");
    }
    let mut unwritten = Vec::new();
    for rows in doc.values() {
        for r in rows.iter().filter(|r| r.path != "*") {
            let origin = (r.section.clone(), r.path.clone());
            let excused = NOT_PRODUCED
                .iter()
                .any(|(s, p, _)| *s == r.section && *p == r.path);
            match (covered.contains(&origin), excused) {
                (false, false) => unwritten.push(format!("{}: `{}`", r.section, r.path)),
                (true, true) => panic!(
                    "{}: `{}` is written now: remove it from NOT_PRODUCED",
                    r.section, r.path
                ),
                _ => {}
            }
        }
    }
    assert!(
        unwritten.is_empty(),
        "in docs/outputs.md but written by no run:\n{}",
        unwritten.join("\n")
    );
    for (s, p, _) in NOT_PRODUCED {
        assert!(
            doc.get(*s)
                .is_some_and(|rows| rows.iter().any(|r| r.path == *p)),
            "NOT_PRODUCED names {s}: `{p}`, which is not documented"
        );
    }
}
