//! Sweeps: the expansion order, stable ids, every kind of axis, repeats, shards, errors that
//! name the sweep file's field and line, and runs whose results do not depend on who ran them.

use std::collections::BTreeSet;
use std::path::Path;

use gradscope::sweep::{run_one, Results, Shard, Sweep};
use gradscope::train::Silent;

const BASE: &str = r#"
[base]
seed = 7
[base.data]
source = "digits"
[base.model]
hidden = [8]
[base.training]
epochs = 1
batch_size = 64
lr = 0.05
"#;

fn parse(extra: &str) -> gradscope::Result<Sweep> {
    let text = format!("{extra}\n{BASE}");
    Sweep::parse(&text, "s.toml", "s", Path::new("."), &[])
}

fn sweep(extra: &str) -> Sweep {
    parse(extra).unwrap_or_else(|e| panic!("{e}"))
}

fn labels(s: &Sweep, axis: usize) -> Vec<String> {
    (0..s.axes[axis].len())
        .map(|i| s.axes[axis].label(i))
        .collect()
}

const TWO_AXES: &str = r#"
repeats = 2
[[axis]]
key = "model.activation"
values = ["relu", "tanh", "sigmoid"]
[[axis]]
key = "training.lr"
values = [0.01, 0.1]
"#;

#[test]
fn runs_expand_with_the_first_axis_outermost_and_the_seeds_innermost() {
    let s = sweep(TWO_AXES);
    assert_eq!(s.seeds, [7, 8], "repeats count from the base's seed");
    let runs = s.runs();
    assert_eq!(runs.len(), 3 * 2 * 2);
    let coords: Vec<(Vec<usize>, u64)> = runs.iter().map(|r| (r.coords.clone(), r.seed)).collect();
    assert_eq!(coords[0], (vec![0, 0], 7));
    assert_eq!(coords[1], (vec![0, 0], 8));
    assert_eq!(coords[2], (vec![0, 1], 7));
    assert_eq!(coords[4], (vec![1, 0], 7));
    assert_eq!(coords[11], (vec![2, 1], 8));
    for (i, r) in runs.iter().enumerate() {
        assert_eq!(r.index, i);
        assert_eq!(r.id, format!("{}-s{}", r.point_id, r.seed));
    }
    assert_eq!(
        runs[3].overrides,
        ["model.activation=\"relu\"", "training.lr=0.1", "seed=8"]
    );
    // The overrides make a valid config with those values.
    let c = s.config(&runs[5]).unwrap().config;
    assert_eq!(c.seed, 8);
    match &c.model {
        gradscope::model::ModelSpec::Mlp(m) => assert_eq!(m.activation.to_string(), "tanh"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn point_ids_stay_when_axes_are_reordered_or_extended() {
    let a = sweep(TWO_AXES);
    let reordered = sweep(
        r#"
repeats = 2
[[axis]]
key = "training.lr"
values = [0.01, 0.1]
[[axis]]
key = "model.activation"
values = ["relu", "tanh", "sigmoid"]
"#,
    );
    let extended = sweep(
        r#"
repeats = 2
[[axis]]
key = "model.activation"
values = ["gelu", "relu", "tanh", "sigmoid"]
[[axis]]
key = "training.lr"
values = [0.01, 0.03, 0.1]
"#,
    );
    let ids = |s: &Sweep| s.runs().into_iter().map(|r| r.id).collect::<BTreeSet<_>>();
    assert_eq!(ids(&a), ids(&reordered));
    assert!(ids(&a).is_subset(&ids(&extended)));
    assert_eq!(ids(&extended).len(), 4 * 3 * 2);
    // Distinct points, distinct ids.
    assert_eq!(
        a.points()
            .iter()
            .map(|p| p.id.clone())
            .collect::<BTreeSet<_>>()
            .len(),
        6
    );
    a.check_ids().unwrap();
}

#[test]
fn lists_ranges_log_ranges_and_zipped_axes() {
    let s = sweep(
        r#"
[[axis]]
key = "training.batch_size"
range = { from = 16, to = 64, step = 16 }
[[axis]]
key = "training.lr"
log_range = { from = 1e-3, to = 1e-1, num = 3 }
[[axis]]
keys = ["model.activation", "model.init"]
values = [["relu", "kaiming_normal"], ["tanh", "xavier_normal"]]
[[axis]]
key = "model.dropout"
range = { from = 0.0, to = 0.3, num = 4 }
"#,
    );
    assert_eq!(labels(&s, 0), ["16", "32", "48", "64"]);
    assert_eq!(labels(&s, 1), ["0.001", "0.01", "0.1"]);
    assert!(s.axes[1].is_logarithmic());
    assert_eq!(
        labels(&s, 2),
        ["relu / kaiming_normal", "tanh / xavier_normal"]
    );
    assert_eq!(labels(&s, 3), ["0.0", "0.1", "0.2", "0.3"]);
    assert_eq!(s.runs().len(), 4 * 3 * 2 * 4);
    let last = s.runs().pop().unwrap();
    assert_eq!(
        last.overrides,
        [
            "training.batch_size=64",
            "training.lr=0.1",
            "model.activation=\"tanh\"",
            "model.init=\"xavier_normal\"",
            "model.dropout=0.3",
            "seed=7"
        ]
    );
    // Every run's config is valid.
    assert_eq!(s.configs().unwrap().len(), 96);
}

#[test]
fn seeds_can_be_listed_or_keyed_elsewhere() {
    let s = sweep("seeds = [3, 1, 2]");
    assert_eq!(s.seeds, [3, 1, 2]);
    assert_eq!(s.runs().len(), 3);
    assert_eq!(s.runs()[1].id, format!("{}-s1", s.points()[0].id));
    let s = sweep("");
    assert_eq!(s.seeds, [7], "no repeats: the base's seed, once");
}

#[test]
fn shards_are_disjoint_and_cover_every_run() {
    let s = sweep(TWO_AXES);
    let all: Vec<usize> = s.runs().iter().map(|r| r.index).collect();
    for n in 1..=13 {
        let mut seen = Vec::new();
        for k in 0..n {
            let shard = Shard::parse(&format!("{k}/{n}")).unwrap();
            let runs = s.shard(shard);
            assert!(runs.windows(2).all(|w| w[0].index < w[1].index));
            let sizes = all.len() / n;
            assert!(runs.len() == sizes || runs.len() == sizes + 1, "{k}/{n}");
            seen.extend(runs.into_iter().map(|r| r.index));
        }
        seen.sort_unstable();
        assert_eq!(seen, all, "{n} shards");
    }
    for bad in ["4/4", "1", "a/2", "0/0", "-1/3", ""] {
        let e = Shard::parse(bad).unwrap_err().to_string();
        assert!(e.contains("K/N"), "{bad}: {e}");
    }
}

#[test]
fn errors_name_the_sweep_files_field_and_line() {
    // (text before the base, expected line, expected field, words of the message)
    let cases: &[(&str, usize, Option<&str>, &str)] = &[
        ("repeats = 0", 1, Some("repeats"), "repeats must be >= 1"),
        ("name = \"x\"\nrepeats = 2\nseeds = [1]", 3, Some("seeds"), "not both"),
        (
            "\n[[axis]]\nkey = \"training.lr\"\nlog_range = { from = 0.0, to = 1.0, num = 3 }",
            2,
            None,
            "axis 1: (training.lr) log_range",
        ),
        (
            "[[axis]]\nkey = \"a\"\nvalues = [1]\n\n[[axis]]\nkey = \"b\"\nrange = { from = 1, to = 0, step = 1 }",
            5,
            None,
            "axis 2: (b) range: step = 1 does not go",
        ),
        (
            "[[axis]]\nkey = \"seed\"\nvalues = [1, 2]",
            0,
            None,
            "axis 1 sets seed, which the repeats set",
        ),
    ];
    for (text, line, field, words) in cases {
        let e = parse(text).unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains(words), "{text}: {shown}");
        assert_eq!(e.file(), Some("s.toml"), "{shown}");
        if *line > 0 {
            assert_eq!(e.line(), Some(*line), "{shown}");
            assert!(shown.starts_with(&format!("s.toml:{line}: ")), "{shown}");
        }
        if field.is_some() {
            assert_eq!(e.field(), *field, "{shown}");
        }
    }
    // An unknown field: the TOML parser's error, with its line.
    let e = parse("repeat = 2").unwrap_err();
    assert_eq!(e.line(), Some(1), "{e}");
    assert!(e.to_string().contains("repeat"), "{e}");
    // A value the config refuses: the run, its overrides and the config field are named.
    let s = sweep("[[axis]]\nkey = \"training.lr\"\nvalues = [0.1, -1.0]");
    let e = s.configs().unwrap_err();
    assert_eq!(e.field(), Some("training.lr"), "{e}");
    let shown = e.to_string();
    assert!(shown.contains("training.lr=-1.0"), "{shown}");
    assert!(shown.contains(&s.runs()[1].id), "{shown}");
}

#[test]
fn a_runs_result_depends_only_on_its_config() {
    gradscope::kernels::parallel::set_single_threaded(true);
    let s = sweep(
        "seeds = [1, 2]\n[[axis]]\nkey = \"model.activation\"\nvalues = [\"sigmoid\", \"relu\"]",
    );
    let runs = s.runs();
    let one =
        |i: usize| run_one(&s.config(&runs[i]).unwrap(), &runs[i], None, &mut Silent).unwrap();
    // Run out of order, on other threads: the same numbers.
    let forward: Vec<_> = (0..runs.len()).map(one).collect();
    let backward: Vec<_> = std::thread::scope(|sc| {
        let h: Vec<_> = (0..runs.len())
            .rev()
            .map(|i| sc.spawn(move || one(i)))
            .collect();
        h.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (a, b) in forward.iter().zip(backward.iter().rev()) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.summary.test, b.summary.test);
        assert_eq!(a.summary.train, b.summary.train);
        assert_eq!(a.at_init, b.at_init);
    }
    // Seeds differ: so do the numbers.
    assert_ne!(forward[0].summary.test, forward[1].summary.test);
    let at = forward[0]
        .at_init
        .as_ref()
        .expect("a hidden layer to judge");
    assert!(at.first_to_last > 0.0);

    let results = Results::new(s.clone(), forward.clone());
    assert!(results.missing().is_empty());
    let t = results.table();
    assert_eq!(t.rows.len(), 4);
    for c in [
        "run",
        "seed",
        "model.activation",
        "init_flow",
        "test_accuracy",
        "outcome",
    ] {
        assert!(t.column(c).is_some(), "column {c} in {:?}", t.columns);
    }
    let csv = t.to_csv();
    assert_eq!(csv.lines().count(), 5);
    let acc = results.metric("test_accuracy").unwrap();
    let summary = results.summary();
    assert_eq!(summary.rows.len(), 2);
    let m = summary.column("test_accuracy_mean").unwrap();
    let mean = (acc[0].unwrap() + acc[1].unwrap()) / 2.0;
    assert!((summary.rows[0][m].as_f64().unwrap() - mean).abs() < 1e-12);
    let n = summary.column("test_accuracy_n").unwrap();
    assert_eq!(summary.rows[1][n].as_f64(), Some(2.0));
    // The split's sizes and the parameter count describe a run: results.csv has them,
    // summary.csv does not average them.
    for c in ["num_params", "test_samples", "train_samples"] {
        assert!(t.column(c).is_some(), "{c} in results.csv");
        assert!(
            summary.column(&format!("{c}_mean")).is_none(),
            "{c}_mean in {:?}",
            summary.columns
        );
    }
    // A missing run is reported missing and left out of the table.
    let partial = Results::new(s, forward.into_iter().skip(1));
    assert_eq!(partial.missing().len(), 1);
    assert_eq!(partial.table().rows.len(), 3);
    assert_eq!(partial.summary().rows[0][n].as_f64(), Some(1.0));
}
