//! Hostile data files: values beyond the run's precision, test labels outside the training
//! classes, IDX headers that promise more (or less) than the file holds, gzip bombs, huge
//! files read for a few samples or characters, and allocations too large to make. Each is a
//! clean error naming the file (or what was being built), never an abort.
//!
//! The memory tests run the loader in a child process (this test binary, one ignored test)
//! under `ulimit -v` (1 GiB of address space): reading the whole input there would fail.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gradscope::config::{Config, LoadedConfig};
use gradscope::data::csv::{read_csv, CsvOptions};
use gradscope::data::idx::{
    load_idx_pair, load_idx_pair_limited, load_idx_test_pair, read_idx_images, read_idx_labels,
};
use gradscope::data::sequence::{adding_problem, copy_memory, load_text, load_text_prefix};
use gradscope::data::{limit_indices, synthetic};
use gradscope::train::Trainer;
use gradscope::{DType, Rng};

/// A fresh folder under the system temp dir, removed on drop.
struct TmpDir(PathBuf);

impl TmpDir {
    fn new(tag: &str) -> TmpDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let k = COUNTER.fetch_add(1, Ordering::Relaxed);
        let d =
            std::env::temp_dir().join(format!("gradscope-limits-{tag}-{}-{k}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        TmpDir(d)
    }

    fn file(&self, name: &str, content: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn idx_images_header(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut b = 0x0000_0803u32.to_be_bytes().to_vec();
    for v in [count, rows, cols] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = 0x0000_0801u32.to_be_bytes().to_vec();
    b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    b.extend_from_slice(labels);
    b
}

fn idx_images(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut b = idx_images_header(count, rows, cols);
    b.extend((0..count * rows * cols).map(|i| (i % 251) as u8));
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[track_caller]
fn assert_contains(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message `{msg}` lacks `{p}`");
    }
}

fn loaded(text: &str, dir: &Path) -> LoadedConfig {
    LoadedConfig {
        config: Config::parse(text, "test.toml", &[]).unwrap(),
        source: "test.toml".into(),
        base_dir: dir.to_path_buf(),
    }
}

// ---------------------------------------------------------------------------------------------
// (a) CSV values beyond the run's precision

#[test]
fn csv_value_beyond_f32_is_rejected_at_its_line_and_column_in_an_f32_run() {
    let text = "a,b,label\n1,2,x\n3,1e300,y\n5,6,x\n";
    let f32_opts = CsvOptions {
        dtype: DType::F32,
        ..CsvOptions::default()
    };
    let err = read_csv(text.as_bytes(), "big.csv", &f32_opts)
        .unwrap_err()
        .to_string();
    assert_contains(
        &err,
        &[
            "big.csv, line 3, column 2 (`b`)",
            "`1e300` does not fit f32",
        ],
    );
    // The same file is fine in f64.
    let ds = read_csv(text.as_bytes(), "big.csv", &CsvOptions::default()).unwrap();
    assert_eq!(ds.row(1)[1], 1e300);
    // Beyond f64, and NaN, are errors in any run (not "non-numeric").
    let err = read_csv(
        "a,label\n1,x\n1e400,y\n".as_bytes(),
        "huge.csv",
        &CsvOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert_contains(&err, &["huge.csv, line 3, column 1", "does not fit f64"]);
    let err = read_csv("a,label\n1,x\nnan,y\n".as_bytes(), "n.csv", &f32_opts)
        .unwrap_err()
        .to_string();
    assert_contains(&err, &["n.csv, line 3, column 1", "NaN"]);
    // A regression target is checked too.
    let opts = CsvOptions {
        dtype: DType::F32,
        label_kind: gradscope::data::csv::LabelKind::Regression,
        ..CsvOptions::default()
    };
    let err = read_csv("a,y\n1,2\n2,-5e38\n".as_bytes(), "r.csv", &opts)
        .unwrap_err()
        .to_string();
    assert_contains(
        &err,
        &["r.csv, line 3, column 2", "`-5e38` does not fit f32"],
    );
}

/// The run's dtype reaches the loader: `dtype = "f32"` rejects 1e300, `dtype = "f64"` trains.
#[test]
fn the_runs_dtype_reaches_the_csv_loader() {
    let dir = TmpDir::new("csv-dtype");
    let mut rows = String::from("a,b,label\n");
    for i in 0..20 {
        let b = if i == 7 {
            "1e300".to_string()
        } else {
            i.to_string()
        };
        rows.push_str(&format!("{i},{b},{}\n", i % 2));
    }
    let csv = dir.file("d.csv", rows.as_bytes());
    let text = |dtype: &str| {
        format!(
            "dtype = \"{dtype}\"\n[data]\nsource = \"csv\"\npath = \"{}\"\n[model]\nhidden = [4]\n",
            csv.display()
        )
    };
    let err = Trainer::<f32>::new(&loaded(&text("f32"), &dir.0))
        .err()
        .expect("1e300 in an f32 run")
        .to_string();
    assert_contains(
        &err,
        &[
            &csv.display().to_string(),
            "line 9, column 2",
            "does not fit f32",
        ],
    );
    Trainer::<f64>::new(&loaded(&text("f64"), &dir.0)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// (b) Test-set labels outside the training classes

#[test]
fn idx_test_label_beyond_the_training_classes_names_the_test_file() {
    let dir = TmpDir::new("idx-test-labels");
    let train_images = dir.file("train-images", &idx_images(6, 2, 2));
    let train_labels = dir.file("train-labels", &idx_labels(&[0, 1, 2, 0, 1, 2]));
    let test_images = dir.file("test-images", &idx_images(3, 2, 2));
    let test_labels = dir.file("test-labels", &idx_labels(&[1, 9, 0]));
    let err = load_idx_test_pair(&test_images, &test_labels, 3)
        .unwrap_err()
        .to_string();
    assert_contains(
        &err,
        &[
            &test_labels.display().to_string(),
            "test label 9 (sample 1)",
            "3 classes",
        ],
    );
    // Through the config, as `gradscope train` loads it.
    let text = format!(
        "[data]\nsource = \"idx\"\nimages = \"{}\"\nlabels = \"{}\"\ntest_images = \"{}\"\n\
         test_labels = \"{}\"\n[model]\nhidden = [4]\n",
        train_images.display(),
        train_labels.display(),
        test_images.display(),
        test_labels.display()
    );
    let err = Trainer::<f32>::new(&loaded(&text, &dir.0))
        .err()
        .expect("label 9 with 3 classes")
        .to_string();
    assert_contains(&err, &[&test_labels.display().to_string(), "test label 9"]);
    // In range, the test set takes the training set's classes (here 3, though it uses 2).
    let ok_labels = dir.file("ok-labels", &idx_labels(&[1, 0, 0]));
    let test = load_idx_test_pair(&test_images, &ok_labels, 3).unwrap();
    assert_eq!(test.num_classes(), Some(3));
    assert_eq!(test.class_names(), &["0", "1", "2"]);
}

// ---------------------------------------------------------------------------------------------
// (c) IDX headers

#[test]
fn idx_images_of_zero_pixels_are_an_error_naming_the_file() {
    let dir = TmpDir::new("idx-zero");
    for (rows, cols) in [(0, 0), (0, 28), (28, 0)] {
        let p = dir.file("empty-idx3-ubyte", &idx_images_header(5, rows, cols));
        let err = read_idx_images(&p).unwrap_err().to_string();
        assert_contains(
            &err,
            &[
                &p.display().to_string(),
                &format!("{rows}×{cols} pixels"),
                "at least one pixel",
            ],
        );
    }
}

/// A gzip stream that inflates to far more than the header promises is read only up to the
/// promise plus one byte, and reported as a size mismatch.
#[test]
fn idx_gzip_bomb_is_a_size_mismatch() {
    let dir = TmpDir::new("idx-bomb");
    // 3 labels promised, 8 MiB of data behind them.
    let mut labels = idx_labels(&[1, 2, 3]);
    labels.resize(labels.len() + (8 << 20), 0);
    let p = dir.file("bomb-idx1-ubyte.gz", &gzip(&labels));
    let err = read_idx_labels(&p).unwrap_err().to_string();
    assert_contains(
        &err,
        &[
            &p.display().to_string(),
            "size mismatch",
            "3 labels",
            "reading stopped 1 byte past the promised size",
        ],
    );
    // Images too, and through the pair loader.
    let mut images = idx_images(3, 2, 2);
    images.resize(images.len() + (8 << 20), 7);
    let ip = dir.file("bomb-idx3-ubyte.gz", &gzip(&images));
    let lp = dir.file("labels-idx1-ubyte", &idx_labels(&[1, 2, 3]));
    let err = load_idx_pair(&ip, &lp).unwrap_err().to_string();
    assert_contains(&err, &["size mismatch", "3 images of 2×2 pixels"]);
    // A gzip that holds exactly what it promises loads.
    let ip = dir.file("ok-idx3-ubyte.gz", &gzip(&idx_images(3, 2, 2)));
    assert_eq!(load_idx_pair(&ip, &lp).unwrap().len(), 3);
}

/// `limit` keeps exactly the samples that loading everything and then applying the limit
/// keeps (same draws from the generator), for raw and gzip files.
#[test]
fn idx_limit_keeps_the_same_samples_as_before() {
    let dir = TmpDir::new("idx-limit");
    let im = idx_images(50, 3, 2);
    let labels: Vec<u8> = (0..50).map(|i| (i * 7 % 10) as u8).collect();
    let lb = idx_labels(&labels);
    for gz in [false, true] {
        let (ip, lp) = if gz {
            (dir.file("i.gz", &gzip(&im)), dir.file("l.gz", &gzip(&lb)))
        } else {
            (dir.file("i", &im), dir.file("l", &lb))
        };
        let full = load_idx_pair(&ip, &lp).unwrap();
        let mut r1 = Rng::seed(11);
        let idx = limit_indices(full.len(), 17, &mut r1).unwrap().unwrap();
        let expected = full.subset(&idx);
        let mut r2 = Rng::seed(11);
        let got = load_idx_pair_limited(&ip, &lp, Some(17), &mut r2).unwrap();
        assert_eq!(got, expected, "gzip = {gz}");
        assert_eq!(got.num_classes(), Some(10));
        // The generators are left in the same state.
        assert_eq!(r1.uniform01(), r2.uniform01());
        // A limit at or above the count keeps everything and draws nothing.
        let mut r3 = Rng::seed(5);
        assert_eq!(
            load_idx_pair_limited(&ip, &lp, Some(50), &mut r3).unwrap(),
            full
        );
        assert_eq!(r3.uniform01(), Rng::seed(5).uniform01());
    }
    // A header that promises more than a gzip file holds fails before the indices are built.
    let mut short = idx_labels(&labels);
    short[4..8].copy_from_slice(&4_000_000_000u32.to_be_bytes());
    let mut big_images = idx_images_header(4_000_000_000, 3, 2);
    big_images.extend_from_slice(&im[16..]);
    let ip = dir.file("big-i.gz", &gzip(&big_images));
    let lp = dir.file("big-l.gz", &gzip(&short));
    let err = load_idx_pair_limited(&ip, &lp, Some(3), &mut Rng::seed(0))
        .unwrap_err()
        .to_string();
    assert_contains(&err, &[&ip.display().to_string(), "truncated"]);
}

// ---------------------------------------------------------------------------------------------
// (d) Text

#[test]
fn empty_text_file_is_an_error_naming_it() {
    let dir = TmpDir::new("text-empty");
    for (name, content) in [("empty.txt", &b""[..]), ("bom.txt", &b"\xef\xbb\xbf"[..])] {
        let p = dir.file(name, content);
        for err in [
            load_text(&p).unwrap_err().to_string(),
            load_text_prefix(&p, Some(10)).unwrap_err().to_string(),
        ] {
            assert_contains(&err, &[&p.display().to_string(), "empty text file"]);
        }
    }
    let p = dir.file("empty.txt", b"");
    let text = format!(
        "[data]\nsource = \"text\"\npath = \"{}\"\n[model]\n[model.recurrent]\n\
         cell = \"rnn\"\nhidden = 4\npredict = \"every_step\"\n[training]\nloss = \"cross_entropy\"\n",
        p.display()
    );
    let err = Trainer::<f32>::new(&loaded(&text, &dir.0))
        .err()
        .expect("an empty text file")
        .to_string();
    assert_contains(&err, &[&p.display().to_string(), "empty text file"]);
}

#[test]
fn text_prefix_reads_exactly_max_chars_characters() {
    let dir = TmpDir::new("text-prefix");
    // BOM, CRLF line ends, multi-byte characters (2, 3 and 4 bytes).
    let content = "\u{feff}ab\r\nçé€𝄞\r\nxyz\r\n".repeat(3);
    let p = dir.file("t.txt", content.as_bytes());
    let whole = load_text(&p).unwrap();
    assert!(!whole.contains('\r'));
    for m in 0..whole.chars().count() + 3 {
        let got = load_text_prefix(&p, Some(m)).unwrap();
        let want: String = whole.chars().take(m).collect();
        assert_eq!(got, want, "max_chars = {m}");
    }
    // 4-byte characters only: the read limit must still give max_chars characters.
    let p = dir.file("wide.txt", "𝄞".repeat(40).as_bytes());
    assert_eq!(load_text_prefix(&p, Some(7)).unwrap(), "𝄞".repeat(7));
    // Invalid UTF-8 within what is read is an error; beyond 4·max_chars + 4 bytes it is not
    // read at all.
    let mut bad = b"abc\ndef".to_vec();
    bad.extend_from_slice(&[b'x'; 30]);
    bad.extend_from_slice(b"\xff\xfe");
    let p = dir.file("bad.txt", &bad);
    assert_contains(
        &load_text_prefix(&p, Some(100)).unwrap_err().to_string(),
        &["line 2", "not valid UTF-8"],
    );
    assert_eq!(load_text_prefix(&p, Some(5)).unwrap(), "abc\nd");
}

// ---------------------------------------------------------------------------------------------
// (e) Allocations too large to make

#[test]
fn absurd_sizes_from_a_config_are_errors_not_aborts() {
    let mut rng = Rng::seed(0);
    let err = adding_problem(usize::MAX / 4, 100, &mut rng)
        .unwrap_err()
        .to_string();
    assert_contains(&err, &["cannot allocate memory", "adding problem"]);
    let err = adding_problem(1 << 40, 100, &mut rng)
        .unwrap_err()
        .to_string();
    assert_contains(&err, &["cannot allocate memory", "adding problem"]);
    let err = copy_memory(1 << 40, usize::MAX, &mut rng)
        .unwrap_err()
        .to_string();
    assert_contains(&err, &["cannot allocate memory", "copy memory"]);
    let err = synthetic::spiral(usize::MAX / 2, 3, 0.1, &mut rng)
        .unwrap_err()
        .to_string();
    assert_contains(&err, &["cannot allocate memory", "synthetic set"]);
}

// ---------------------------------------------------------------------------------------------
// Memory-capped child runs

/// Address space of the child, in KiB (1 GiB).
const CHILD_VM_KIB: u64 = 1 << 20;

/// What the child does, chosen by this variable.
const MODE_VAR: &str = "GRADSCOPE_LIMITS_CHILD_MODE";
const DIR_VAR: &str = "GRADSCOPE_LIMITS_CHILD_DIR";

/// Runs [`memory_capped_child`] in a child process under `ulimit -v`, in `mode`.
#[cfg(unix)]
fn run_capped(mode: &str, dir: &Path) {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {CHILD_VM_KIB} && exec \"$0\" --exact data_limits::memory_capped_child \
             --ignored --test-threads=1 --nocapture"
        ))
        .arg(&exe)
        .env(MODE_VAR, mode)
        .env(DIR_VAR, dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("1 passed"),
        "child `{mode}` failed under ulimit -v {CHILD_VM_KIB}:\n{text}"
    );
}

/// A raw IDX pair of 20000 images of 100×100 pixels (200 MB, sparse on disk: the pixels are
/// zeros) and its labels.
fn big_idx_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let n = 20_000u32;
    let ip = dir.join("big-idx3-ubyte");
    let mut f = std::fs::File::create(&ip).unwrap();
    f.write_all(&idx_images_header(n, 100, 100)).unwrap();
    f.set_len(16 + u64::from(n) * 100 * 100).unwrap();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    let lp = dir.join("big-idx1-ubyte");
    std::fs::write(&lp, idx_labels(&labels)).unwrap();
    (ip, lp)
}

/// The child side. Ignored in normal runs; [`run_capped`] starts it.
#[test]
#[ignore = "run by the memory-capped tests in a child process"]
fn memory_capped_child() {
    let Ok(mode) = std::env::var(MODE_VAR) else {
        return;
    };
    let dir = PathBuf::from(std::env::var(DIR_VAR).unwrap());
    match mode.as_str() {
        "idx-limit" => {
            let (ip, lp) = big_idx_pair(&dir);
            let ds = load_idx_pair_limited(&ip, &lp, Some(100), &mut Rng::seed(1)).unwrap();
            assert_eq!((ds.len(), ds.dim()), (100, 10_000));
        }
        "idx-all" => {
            // 20000 × 10000 pixels as f64 = 1.6 GB: more than the child may have.
            let (ip, lp) = big_idx_pair(&dir);
            let err = load_idx_pair(&ip, &lp).unwrap_err().to_string();
            assert_contains(
                &err,
                &[
                    &ip.display().to_string(),
                    "cannot allocate memory for 20000 images of 100×100 pixels",
                ],
            );
        }
        "gzip-bomb" => {
            // 2 labels promised; 1.5 GiB of zeros behind them (1536 concatenated gzip members
            // of 1 MiB each), more than the child's address space.
            let member = gzip(&vec![0u8; 1 << 20]);
            let mut bomb = gzip(&idx_labels(&[4, 2]));
            for _ in 0..1536 {
                bomb.extend_from_slice(&member);
            }
            let p = dir.join("bomb-idx1-ubyte.gz");
            std::fs::write(&p, &bomb).unwrap();
            let err = read_idx_labels(&p).unwrap_err().to_string();
            assert_contains(&err, &["size mismatch", "2 labels"]);
        }
        "text-prefix" => {
            // A 2 GiB text file (sparse: NUL characters), of which 1000 characters are used.
            let p = dir.join("huge.txt");
            let f = std::fs::File::create(&p).unwrap();
            f.set_len(2 << 30).unwrap();
            let text = load_text_prefix(&p, Some(1000)).unwrap();
            assert_eq!(text.chars().count(), 1000);
        }
        other => panic!("unknown mode {other}"),
    }
}

#[cfg(unix)]
#[test]
fn idx_limit_converts_only_the_kept_images() {
    let dir = TmpDir::new("capped-idx");
    run_capped("idx-limit", &dir.0);
}

#[cfg(unix)]
#[test]
fn idx_without_limit_is_a_clean_allocation_error_when_memory_is_short() {
    let dir = TmpDir::new("capped-idx-all");
    run_capped("idx-all", &dir.0);
}

#[cfg(unix)]
#[test]
fn idx_gzip_bomb_is_not_inflated() {
    let dir = TmpDir::new("capped-bomb");
    run_capped("gzip-bomb", &dir.0);
}

#[cfg(unix)]
#[test]
fn text_max_chars_reads_only_what_it_needs() {
    let dir = TmpDir::new("capped-text");
    run_capped("text-prefix", &dir.0);
}
