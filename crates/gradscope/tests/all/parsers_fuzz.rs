//! Standing defence: no parser panics (or aborts) on any input. Arbitrary bytes and strings,
//! and mutations of valid files (byte flips, insertions, deletions, truncation), go through
//! every parser of outside input: the TOML config (`Config::parse`, with `--set` overrides),
//! the CSV, IDX (raw and gzip), `.ts` and text loaders, the activation and initializer text
//! forms, and safetensors. Each must return `Ok` or `Err`; a panic fails the property.
//!
//! Case counts are fixed (see [`CASES`]) so that the module runs in about a second in CI; the
//! total is printed by `fuzz_case_budget` and recorded in docs/reliability.md.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use gradscope::config::Config;
use gradscope::data::csv::{read_csv, CsvOptions, Header, LabelColumn, LabelKind};
use gradscope::data::idx::{parse_images, parse_labels, read_idx_images, read_idx_labels};
use gradscope::data::sequence::ts::{parse_ts, read_ts, TsOptions};
use gradscope::data::sequence::{char_lm, load_text_prefix};
use gradscope::init::Init;
use gradscope::io::safetensors::{deserialize, serialize};
use gradscope::{Activation, DType, Tensor};
use proptest::prelude::*;

/// Cases per property. 15 properties × 96 = 1440 cases in all.
const CASES: u32 = 96;
/// Number of `proptest!` properties in this module (checked by `fuzz_case_budget`).
const PROPERTIES: u32 = 15;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        // No regression files: they would land outside this test's own files.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A scratch file path, unique per call, in a folder removed at the end of each property.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let k = COUNTER.fetch_add(1, Ordering::Relaxed);
        let d =
            std::env::temp_dir().join(format!("gradscope-fuzz-{tag}-{}-{k}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// One edit of a byte string: at a position (taken modulo the length), replace, insert or
/// delete a byte, or cut the string there.
#[derive(Clone, Debug)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Set(p, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Insert(p, b)),
        2 => any::<usize>().prop_map(Edit::Delete),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ];
    proptest::collection::vec(edit, 1..6)
}

fn mutate(base: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = base.to_vec();
    for e in edits {
        let n = b.len().max(1);
        match *e {
            Edit::Set(p, v) if !b.is_empty() => b[p % n] = v,
            Edit::Insert(p, v) => b.insert(p % (b.len() + 1), v),
            Edit::Delete(p) if !b.is_empty() => {
                b.remove(p % n);
            }
            Edit::Truncate(p) => b.truncate(p % (b.len() + 1)),
            _ => {}
        }
    }
    b
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

/// Strings over an alphabet that the text forms and CSV/TOML parsers care about.
fn tokens(alphabet: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(alphabet), 0..max).prop_map(|v| v.concat())
}

// ---------------------------------------------------------------------------------------------
// Valid inputs to mutate

const CONFIGS: &[&str] = &[
    include_str!("../../../../examples/digits-mlp.toml"),
    include_str!("../../../../examples/charlm-shakespeare.toml"),
    include_str!("../../../../examples/csv-moons.toml"),
    include_str!("../../../../examples/adding-lstm.toml"),
];

const CSV: &str = "x1,x2,\"label, quoted\"\n0.5,-1e3,a\n\"2\",3.25,b\n\n4,5e-7,\"c\"\"d\"\r\n";

const TS: &str = "# comment\n@problemName Toy\n@timeStamps false\n@univariate true\n\
                  @equalLength true\n@seriesLength 3\n@classLabel true a b\n@data\n\
                  1,2,3:a\n4,5,6:b\n-1,0,?:a\n";

fn idx_images() -> Vec<u8> {
    let mut b = 0x0000_0803u32.to_be_bytes().to_vec();
    for v in [3u32, 2, 2] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend(0..12u8);
    b
}

fn idx_labels() -> Vec<u8> {
    let mut b = 0x0000_0801u32.to_be_bytes().to_vec();
    b.extend_from_slice(&3u32.to_be_bytes());
    b.extend([1, 0, 2]);
    b
}

fn safetensors_file() -> Vec<u8> {
    let a = Tensor::<f32>::from_f64_slice(&[2, 3], &[1.0, -2.0, 0.5, 0.0, 3.0, 4.0]).unwrap();
    let b = Tensor::<f32>::from_f64_slice(&[3], &[0.25, 0.5, 0.75]).unwrap();
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), "gradscope-checkpoint/1".to_string());
    serialize(
        &[
            ("layers.0.weight".to_string(), &a),
            ("layers.0.bias".to_string(), &b),
        ],
        &meta,
    )
    .unwrap()
}

fn csv_options(k: u8) -> CsvOptions {
    CsvOptions {
        header: match k % 3 {
            0 => Header::Auto,
            1 => Header::Present,
            _ => Header::Absent,
        },
        label: match (k / 3) % 3 {
            0 => LabelColumn::Last,
            1 => LabelColumn::Index(usize::from(k % 4)),
            _ => LabelColumn::Name("label".into()),
        },
        label_kind: if k & 0x40 != 0 {
            LabelKind::Regression
        } else {
            LabelKind::Classes
        },
        delimiter: if k & 0x20 != 0 { b';' } else { b',' },
        dtype: if k & 0x80 != 0 {
            DType::F32
        } else {
            DType::F64
        },
        name: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Properties (PROPERTIES of them)

proptest! {
    #![proptest_config(config())]

    #[test]
    fn config_parse_never_panics_on_arbitrary_text(text in any::<String>(), set in any::<String>()) {
        let _ = Config::parse(&text, "fuzz.toml", &[]);
        let _ = Config::parse("[model]\n", "fuzz.toml", &[set]);
    }

    #[test]
    fn config_parse_never_panics_on_mutated_configs(
        which in 0..CONFIGS.len(),
        ed in edits(),
        set in tokens(&["training.", "model.", "data.", "lr", "hidden", "=", "[", "]", "1",
                        "-1", "1e999", "nan", "\"", "{", "}", "kind", "activation", "relu(",
                        ")", ",", " ", "limit", "seq_len", "0", "18446744073709551616"], 12),
    ) {
        let text = String::from_utf8_lossy(&mutate(CONFIGS[which].as_bytes(), &ed)).into_owned();
        let _ = Config::parse(&text, "fuzz.toml", &[]);
        let _ = Config::parse(CONFIGS[which], "fuzz.toml", &[set]);
    }

    #[test]
    fn csv_never_panics_on_arbitrary_bytes(b in bytes(512), k in any::<u8>()) {
        let _ = read_csv(&b[..], "fuzz.csv", &csv_options(k));
    }

    #[test]
    fn csv_never_panics_on_csv_like_text(
        text in tokens(&["1", "-2.5", "1e300", "1e400", "nan", "inf", "a", "label", ",", ";",
                         "\"", "\"\"", "\n", "\r\n", " ", "\u{feff}", ""], 60),
        ed in edits(),
        k in any::<u8>(),
    ) {
        let _ = read_csv(text.as_bytes(), "fuzz.csv", &csv_options(k));
        let _ = read_csv(&mutate(CSV.as_bytes(), &ed)[..], "fuzz.csv", &csv_options(k));
    }

    #[test]
    fn idx_raw_never_panics(b in bytes(96), ed in edits()) {
        let _ = parse_images(&b, "fuzz");
        let _ = parse_labels(&b, "fuzz");
        let _ = parse_images(&mutate(&idx_images(), &ed), "fuzz");
        let _ = parse_labels(&mutate(&idx_labels(), &ed), "fuzz");
    }

    #[test]
    fn idx_files_raw_and_gzip_never_panic(b in bytes(96), ed in edits()) {
        let dir = Scratch::new("idx");
        let images = mutate(&idx_images(), &ed);
        let labels = mutate(&idx_labels(), &ed);
        for (name, content) in [
            ("a", b.clone()),
            ("a.gz", b.clone()),
            ("i", images.clone()),
            ("i.gz", gzip(&images)),
            ("l.gz", gzip(&labels)),
            // A valid gzip stream, then mutated (corrupt deflate data, bad CRC, trailing junk).
            ("m.gz", mutate(&gzip(&idx_images()), &ed)),
        ] {
            let p = dir.write(name, &content);
            let _ = read_idx_images(&p);
            let _ = read_idx_labels(&p);
        }
    }

    #[test]
    fn ts_never_panics(text in any::<String>(), b in bytes(256), ed in edits()) {
        let opts = TsOptions::default();
        let _ = parse_ts(&text, "fuzz.ts", &opts);
        let _ = read_ts(&b[..], "fuzz.ts", &opts);
        let mutated = mutate(TS.as_bytes(), &ed);
        let _ = read_ts(&mutated[..], "fuzz.ts", &opts);
        let _ = read_ts(&gzip(&mutated)[..], "fuzz.ts.gz", &opts);
        let with_missing = TsOptions { missing: Some(0.0), ..TsOptions::default() };
        let _ = parse_ts(&String::from_utf8_lossy(&mutated), "fuzz.ts", &with_missing);
    }

    #[test]
    fn ts_never_panics_on_ts_like_text(
        text in tokens(&["@data\n", "@classLabel true a b\n", "@classlabel false\n",
                         "@targetLabel true\n", "@seriesLength 3\n", "@dimensions 2\n",
                         "@univariate false\n", "@timeStamps true\n", "@problemName x\n",
                         "1,2,3", ":", ",", "?", "NaN", "a", "b", "\n", "#", "(1,2)", "1e999"],
                       30),
    ) {
        let _ = parse_ts(&text, "fuzz.ts", &TsOptions::default());
    }

    #[test]
    fn text_loader_never_panics(b in bytes(256), max in proptest::option::of(0usize..80)) {
        let dir = Scratch::new("text");
        let p = dir.write("t.txt", &b);
        if let Ok(text) = load_text_prefix(&p, max) {
            let _ = char_lm("fuzz", &text, 1 + b.len() % 7, 1 + b.len() % 3);
        }
    }

    #[test]
    fn char_lm_never_panics(text in any::<String>(), t in 0usize..9, s in 0usize..4) {
        let _ = char_lm("fuzz", &text, t, s);
    }

    #[test]
    fn activation_text_form_never_panics(text in any::<String>()) {
        let _ = text.parse::<Activation>();
    }

    #[test]
    fn activation_text_form_never_panics_on_call_like_text(
        text in tokens(&["relu", "leaky_relu", "prelu", "rrelu", "elu", "softplus", "swish",
                         "hard_tanh", "improved_sigmoid", "(", ")", "=", ",", " ", "alpha",
                         "beta", "min", "max", "channels", "slope", "1", "-1", "0", "1e999",
                         "nan", "inf", "18446744073709551616", "0.5", "1e-320"], 10),
    ) {
        if let Ok(a) = text.parse::<Activation>() {
            // What parses prints and parses back to itself.
            let again: Activation = a.to_string().parse().expect("round trip");
            prop_assert_eq!(again, a);
        }
    }

    #[test]
    fn init_text_form_never_panics(
        text in any::<String>(),
        call in tokens(&["xavier_uniform", "xavier_normal", "kaiming_normal", "kaiming_uniform",
                         "orthogonal", "normal", "uniform", "constant", "lecun_normal", "zeros", "identity", "(",
                         ")", "=", ",", " ", "gain", "std", "mode", "fan_in", "fan_out",
                         "nonlinearity", "relu", "1", "-1", "0", "1e999", "nan", "inf"], 10),
    ) {
        let _ = text.parse::<Init>();
        let _ = call.parse::<Init>();
    }

    #[test]
    fn safetensors_never_panics_on_arbitrary_bytes(b in bytes(256), len in any::<u64>()) {
        let _ = deserialize::<f32>(&b, "fuzz.safetensors");
        // A plausible header length in front of arbitrary bytes.
        let mut c = (len % 300).to_le_bytes().to_vec();
        c.extend_from_slice(&b);
        let _ = deserialize::<f64>(&c, "fuzz.safetensors");
    }

    #[test]
    fn safetensors_never_panics_on_mutated_files(ed in edits()) {
        let b = mutate(&safetensors_file(), &ed);
        let _ = deserialize::<f32>(&b, "fuzz.safetensors");
        let _ = deserialize::<f64>(&b, "fuzz.safetensors");
    }
}

/// The case budget stated in docs/reliability.md.
#[test]
fn fuzz_case_budget() {
    assert_eq!(CASES * PROPERTIES, 1440);
    let src = include_str!("parsers_fuzz.rs");
    let count = src
        .lines()
        .filter(|l| l.trim_start().starts_with("fn ") && l.contains("never_panic"))
        .count() as u32;
    assert_eq!(
        count, PROPERTIES,
        "update PROPERTIES and docs/reliability.md"
    );
}
