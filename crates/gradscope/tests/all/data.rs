//! The data module: embedded digits, synthetic sets, CSV and IDX loaders, splits,
//! standardization and mini-batches.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gradscope::data::csv::{load_csv, read_csv, CsvOptions, Header, LabelColumn, LabelKind};
use gradscope::data::idx::{load_idx_pair, read_idx_images, read_idx_labels};
use gradscope::data::{
    digits, epoch_batches, split_indices, synthetic, BatchIter, Dataset, Standardizer, Targets,
};
use gradscope::{Rng, Tensor};

// ---------------------------------------------------------------------------------------------
// Helpers

/// A file path in a fresh, unique folder under the system temp dir; the folder is removed
/// when this is dropped.
struct Tmp {
    dir: PathBuf,
    path: PathBuf,
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl std::ops::Deref for Tmp {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for Tmp {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

/// A unique path (the file itself is not created).
fn tmp_path(name: &str) -> Tmp {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let k = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("gradscope-data-test-{}-{k}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    Tmp { dir, path }
}

fn write_tmp(name: &str, content: &[u8]) -> Tmp {
    let p = tmp_path(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn csv_file(content: &str) -> Tmp {
    write_tmp("data.csv", content.as_bytes())
}

fn load(content: &str, opts: &CsvOptions) -> gradscope::Result<Dataset> {
    load_csv(csv_file(content), opts)
}

fn csv_err(content: &str, opts: &CsvOptions) -> (String, Tmp) {
    let p = csv_file(content);
    let e = load_csv(&p, opts).expect_err("expected a CSV error");
    (e.to_string(), p)
}

fn assert_contains(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message `{msg}` lacks `{p}`");
    }
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, v.sqrt())
}

fn column(ds: &Dataset, j: usize) -> Vec<f64> {
    (0..ds.len()).map(|i| ds.row(i)[j]).collect()
}

// ---------------------------------------------------------------------------------------------
// Embedded digits

#[test]
fn digits_shape_counts_and_range() {
    let ds = digits();
    assert_eq!(ds.name(), "digits");
    assert_eq!(ds.len(), 1797);
    assert_eq!(ds.dim(), 64);
    assert_eq!(ds.num_classes(), Some(10));
    let names: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    assert_eq!(ds.class_names(), names.as_slice());
    let counts = ds.class_counts();
    assert_eq!(counts.iter().sum::<usize>(), 1797);
    assert_eq!(
        counts,
        vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    let max = ds.x().iter().cloned().fold(f64::MIN, f64::max);
    let min = ds.x().iter().cloned().fold(f64::MAX, f64::min);
    assert_eq!((min, max), (0.0, 16.0));
    assert!(ds.x().iter().all(|v| v.fract() == 0.0));
    // First sample of the scikit-learn copy is a 0 whose top row is 0 0 5 13 9 1 0 0.
    assert_eq!(ds.labels().unwrap()[0], 0);
    assert_eq!(&ds.row(0)[..8], &[0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]);
    let f = ds.feature_names().unwrap();
    assert_eq!((f[0].as_str(), f[63].as_str()), ("pixel_0_0", "pixel_7_7"));
}

// ---------------------------------------------------------------------------------------------
// Synthetic sets

type Gen = fn(usize, &mut Rng) -> Dataset;

fn generators() -> Vec<(&'static str, usize, Gen)> {
    vec![
        ("spiral", 3, |n, r| {
            synthetic::spiral(n, 3, 0.05, r).unwrap()
        }),
        ("circles", 2, |n, r| {
            synthetic::circles(n, 0.5, 0.05, r).unwrap()
        }),
        ("xor", 2, |n, r| synthetic::xor(n, 0.05, r).unwrap()),
        ("gaussians", 4, |n, r| {
            synthetic::gaussians(n, 4, 0.1, r).unwrap()
        }),
        ("moons", 2, |n, r| synthetic::moons(n, 0.05, r).unwrap()),
    ]
}

#[test]
fn synthetic_shapes_labels_and_balance() {
    for (name, k, gen) in generators() {
        let ds = gen(301, &mut Rng::seed(1));
        assert_eq!(ds.name(), name);
        assert_eq!((ds.len(), ds.dim()), (301, 2), "{name}");
        assert_eq!(ds.num_classes(), Some(k), "{name}");
        assert!(ds.labels().unwrap().iter().all(|&l| l < k), "{name}");
        let counts = ds.class_counts();
        assert_eq!(counts.iter().sum::<usize>(), 301);
        let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(hi - lo <= 1, "{name}: unbalanced {counts:?}");
        assert!(ds.x().iter().all(|v| v.is_finite()));
    }
}

#[test]
fn synthetic_determinism() {
    for (name, _, gen) in generators() {
        let a = gen(200, &mut Rng::seed(7));
        let b = gen(200, &mut Rng::seed(7));
        let c = gen(200, &mut Rng::seed(8));
        assert_eq!(a, b, "{name}: same seed, different data");
        assert_ne!(a.x(), c.x(), "{name}: different seeds, same data");
    }
}

#[test]
fn circles_inner_class_has_smaller_radius() {
    let ds = synthetic::circles(400, 0.4, 0.02, &mut Rng::seed(3)).unwrap();
    let labels = ds.labels().unwrap();
    let mut r = [Vec::new(), Vec::new()];
    for i in 0..ds.len() {
        let p = ds.row(i);
        r[labels[i]].push(p[0].hypot(p[1]));
    }
    let max_inner = r[1].iter().cloned().fold(0.0, f64::max);
    let min_outer = r[0].iter().cloned().fold(f64::MAX, f64::min);
    assert!(max_inner < min_outer, "{max_inner} vs {min_outer}");
    assert!((mean_std(&r[0]).0 - 1.0).abs() < 0.01);
    assert!((mean_std(&r[1]).0 - 0.4).abs() < 0.01);
}

#[test]
fn noiseless_geometry() {
    let mut rng = Rng::seed(11);
    // XOR: class 1 exactly where the signs differ.
    let ds = synthetic::xor(200, 0.0, &mut rng).unwrap();
    for i in 0..ds.len() {
        let p = ds.row(i);
        assert_eq!(ds.labels().unwrap()[i], usize::from(p[0] * p[1] < 0.0));
        assert!(p.iter().all(|v| v.abs() <= 1.0));
    }
    // Moons: class 0 on the upper unit half-circle, class 1 on its shifted mirror image.
    let ds = synthetic::moons(100, 0.0, &mut rng).unwrap();
    for i in 0..ds.len() {
        let (x, y) = (ds.row(i)[0], ds.row(i)[1]);
        if ds.labels().unwrap()[i] == 0 {
            assert!((x.hypot(y) - 1.0).abs() < 1e-12 && y >= 0.0);
        } else {
            assert!(((1.0 - x).hypot(0.5 - y) - 1.0).abs() < 1e-12 && y <= 0.5);
        }
    }
    // Spiral: radius grows along each arm and stays within the unit disc.
    let ds = synthetic::spiral(90, 3, 0.0, &mut rng).unwrap();
    for i in 0..ds.len() {
        let p = ds.row(i);
        assert!(p[0].hypot(p[1]) < 1.0);
    }
    let r = |i: usize| ds.row(i)[0].hypot(ds.row(i)[1]);
    assert!(r(0) < r(15) && r(15) < r(29));
    // Gaussians: blob means near their centres.
    let ds = synthetic::gaussians(2000, 5, 0.1, &mut rng).unwrap();
    for j in 0..5 {
        let pts: Vec<usize> = (0..ds.len())
            .filter(|&i| ds.labels().unwrap()[i] == j)
            .collect();
        let mx = pts.iter().map(|&i| ds.row(i)[0]).sum::<f64>() / pts.len() as f64;
        let my = pts.iter().map(|&i| ds.row(i)[1]).sum::<f64>() / pts.len() as f64;
        let (cx, cy) = synthetic::gaussian_centre(j, 5);
        assert!((mx - cx).abs() < 0.03 && (my - cy).abs() < 0.03, "blob {j}");
    }
}

#[test]
fn synthetic_rejects_bad_parameters() {
    let mut rng = Rng::seed(0);
    assert!(synthetic::circles(10, 1.5, 0.0, &mut rng).is_err());
    assert!(synthetic::circles(10, 0.0, 0.0, &mut rng).is_err());
    assert!(synthetic::spiral(10, 0, 0.0, &mut rng).is_err());
    assert!(synthetic::moons(10, -0.1, &mut rng).is_err());
    assert!(synthetic::xor(10, f64::NAN, &mut rng).is_err());
    assert_eq!(synthetic::gaussians(0, 3, 0.1, &mut rng).unwrap().len(), 0);
}

// ---------------------------------------------------------------------------------------------
// Dataset basics

#[test]
fn to_tensors_gathers_rows_and_labels() {
    let ds = Dataset::classification("t", vec![0., 1., 10., 11., 20., 21.], 2, vec![2, 0, 1], 3)
        .unwrap();
    let (x, y) = ds.to_tensors::<f32>(&[2, 0]);
    assert_eq!(x.shape(), &[2, 2]);
    assert_eq!(x.data(), &[20., 21., 0., 1.]);
    assert_eq!(y.shape(), &[2, 1]);
    assert_eq!(y.data(), &[1., 2.]);
    let oh: Tensor<f64> = ds.one_hot(&[0, 1]).unwrap();
    assert_eq!(oh.shape(), &[2, 3]);
    assert_eq!(oh.data(), &[0., 0., 1., 1., 0., 0.]);
    let (xa, ya) = ds.all_tensors::<f64>();
    assert_eq!(
        (xa.shape(), ya.shape()),
        (&[3usize, 2][..], &[3usize, 1][..])
    );

    let reg =
        Dataset::regression("r", vec![1., 2., 3.], 1, vec![1., -1., 2., -2., 3., -3.], 2).unwrap();
    assert_eq!(reg.target_dim(), 2);
    let (x, y) = reg.to_tensors::<f64>(&[1]);
    assert_eq!((x.data(), y.data()), (&[2.0][..], &[2.0, -2.0][..]));
    assert_eq!(y.shape(), &[1, 2]);
    assert!(reg.one_hot::<f64>(&[0]).is_err());

    assert!(Dataset::classification("bad", vec![0.; 4], 2, vec![0, 5], 3).is_err());
    assert!(Dataset::classification("bad", vec![0.; 5], 2, vec![0, 1], 3).is_err());
    assert!(Dataset::regression("bad", vec![0.; 2], 1, vec![0.; 3], 2).is_err());
}

// ---------------------------------------------------------------------------------------------
// CSV

#[test]
fn csv_header_auto_detect() {
    let ds = load(
        "a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n",
        &CsvOptions::default(),
    )
    .unwrap();
    assert_eq!((ds.len(), ds.dim()), (3, 2));
    assert_eq!(ds.feature_names().unwrap(), &["a", "b"]);
    assert_eq!(ds.class_names(), &["cat", "dog"]);
    assert_eq!(ds.labels().unwrap(), &[0, 1, 0]);
    assert_eq!(ds.x(), &[1., 2., 3., 4., 5., 6.]);
    assert_eq!(ds.name(), "data");

    // String labels in every row are not mistaken for a header.
    let ds = load("1,2,cat\n3,4,dog\n", &CsvOptions::default()).unwrap();
    assert_eq!(ds.len(), 2);
    assert!(ds.feature_names().is_none());

    // A numeric-looking header needs Header::Present; Header::Absent forces data.
    let opts = CsvOptions {
        header: Header::Present,
        ..CsvOptions::default()
    };
    let ds = load("0,1,2\n1,2,0\n3,4,1\n", &opts).unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds.feature_names().unwrap(), &["0", "1"]);
    let ds = load("0,1,2\n1,2,0\n3,4,1\n", &CsvOptions::default()).unwrap();
    assert_eq!(ds.len(), 3);
}

#[test]
fn csv_label_column_by_name_and_index() {
    let text = "x1,species,x2\n1.5,b,2\n2.5,a,3\n-1e1,c,4\n";
    let by_name = CsvOptions {
        label: LabelColumn::Name("species".into()),
        ..CsvOptions::default()
    };
    let ds = load(text, &by_name).unwrap();
    assert_eq!(ds.feature_names().unwrap(), &["x1", "x2"]);
    assert_eq!(ds.x(), &[1.5, 2., 2.5, 3., -10., 4.]);
    assert_eq!(ds.class_names(), &["a", "b", "c"]);
    assert_eq!(ds.labels().unwrap(), &[1, 0, 2]);
    let by_index = CsvOptions {
        label: LabelColumn::Index(1),
        ..CsvOptions::default()
    };
    assert_eq!(load(text, &by_index).unwrap(), ds);
}

#[test]
fn csv_class_mapping_sorted_numerically() {
    let ds = load("f,y\n0,10\n1,9\n2,2\n3,10\n", &CsvOptions::default()).unwrap();
    assert_eq!(ds.class_names(), &["2", "9", "10"]);
    assert_eq!(ds.labels().unwrap(), &[2, 1, 0, 2]);
    assert_eq!(ds.num_classes(), Some(3));
}

#[test]
fn csv_regression() {
    let opts = CsvOptions {
        label: LabelColumn::Name("price".into()),
        label_kind: LabelKind::Regression,
        ..CsvOptions::default()
    };
    let ds = load("price,area,rooms\n100.5,50,2\n200,80,3\n", &opts).unwrap();
    assert_eq!(ds.x(), &[50., 2., 80., 3.]);
    match ds.targets() {
        Targets::Regression { values, k } => {
            assert_eq!((values.as_slice(), *k), (&[100.5, 200.][..], 1))
        }
        t => panic!("expected regression, got {t:?}"),
    }
    let (_, y) = ds.to_tensors::<f64>(&[1, 0]);
    assert_eq!(
        (y.shape(), y.data()),
        (&[2usize, 1][..], &[200., 100.5][..])
    );
}

#[test]
fn csv_quotes_crlf_blank_lines_bom_and_reader() {
    let text = "\u{feff}\"first, name\",\"b\"\r\n\r\n\"1.0\", 2 ,\"say \"\"hi\"\"\"\r\n3,4,\"two\nlines\"\r\n\n5,6,plain\r\n";
    let opts = CsvOptions {
        header: Header::Absent,
        label: LabelColumn::Last,
        ..CsvOptions::default()
    };
    // The header row has 2 fields and the data 3: a ragged row on line 3.
    let (msg, _) = csv_err(text, &opts);
    assert_contains(&msg, &["line 3", "ragged"]);
    let text = "\u{feff}\"first, name\",\"b\",label\r\n\r\n\"1.0\", 2 ,\"say \"\"hi\"\"\"\r\n3,4,\"two\nlines\"\r\n\n5,6,plain\r\n7,8,x";
    let ds = read_csv(text.as_bytes(), "<memory>", &CsvOptions::default()).unwrap();
    assert_eq!(ds.feature_names().unwrap(), &["first, name", "b"]);
    assert_eq!(ds.x(), &[1., 2., 3., 4., 5., 6., 7., 8.]);
    assert_eq!(
        ds.class_names(),
        &["plain", "say \"hi\"", "two\nlines", "x"]
    );
    assert_eq!(ds.labels().unwrap(), &[1, 2, 0, 3]);
    assert_eq!(ds.name(), "<memory>");
    // Line numbers after a quoted line break and blank lines still count physical lines.
    let text = "a,b\n\"1\n\",x\n\n2,y\nz,w\n";
    let (msg, p) = csv_err(text, &CsvOptions::default());
    assert_contains(
        &msg,
        &[&p.display().to_string(), "line 6", "column 1 (`a`)", "`z`"],
    );
}

#[test]
fn csv_errors_name_file_line_and_column() {
    let d = CsvOptions::default();
    // Non-numeric feature value.
    let (msg, p) = csv_err("a,b,y\n1,2,0\n3,x4,1\n", &d);
    assert_contains(
        &msg,
        &[
            &p.display().to_string(),
            "line 3",
            "column 2 (`b`)",
            "non-numeric",
            "`x4`",
        ],
    );
    // Missing value (no header: plain column number).
    let (msg, _) = csv_err("1,2,0\n3,,1\n5,6,1\n", &d);
    assert_contains(&msg, &["line 2", "column 2", "missing value"]);
    // Missing label.
    let (msg, _) = csv_err("a,b,y\n1,2,0\n3,4,\n", &d);
    assert_contains(&msg, &["line 3", "column 3 (`y`)", "missing value"]);
    // Ragged row, after a blank line.
    let (msg, _) = csv_err("a,b,y\n1,2,0\n\n3,4\n", &d);
    assert_contains(&msg, &["line 4", "ragged", "2 fields", "line 1 has 3"]);
    // Empty file, whitespace-only file, header only.
    let (msg, p) = csv_err("", &d);
    assert_contains(&msg, &[&p.display().to_string(), "empty file"]);
    let (msg, _) = csv_err("\n\n  \n", &d);
    assert_contains(&msg, &["empty file"]);
    let (msg, _) = csv_err("a,b,y\n", &d);
    assert_contains(&msg, &["no data rows", "line 1"]);
    // Unknown label column name.
    let opts = CsvOptions {
        label: LabelColumn::Name("target".into()),
        ..CsvOptions::default()
    };
    let (msg, p) = csv_err("a,b,y\n1,2,0\n", &opts);
    assert_contains(
        &msg,
        &[
            &p.display().to_string(),
            "unknown label column `target`",
            "a, b, y",
        ],
    );
    // Label by name without a header.
    let (msg, _) = csv_err("1,2,0\n", &opts);
    assert_contains(&msg, &["no header"]);
    // Label index out of range.
    let opts = CsvOptions {
        label: LabelColumn::Index(3),
        ..CsvOptions::default()
    };
    let (msg, _) = csv_err("1,2,0\n", &opts);
    assert_contains(&msg, &["index 3", "3 columns"]);
    // Regression label must be numeric.
    let opts = CsvOptions {
        label_kind: LabelKind::Regression,
        ..CsvOptions::default()
    };
    let (msg, _) = csv_err("a,y\n1,2\n2,cat\n", &opts);
    assert_contains(&msg, &["line 3", "column 2 (`y`)", "`cat`"]);
    // Non-finite numbers are rejected.
    let (msg, _) = csv_err("a,y\n1,2\ninf,1\n", &d);
    assert_contains(&msg, &["line 3", "column 1 (`a`)", "`inf`"]);
    // Quoting errors.
    let (msg, _) = csv_err("a,y\n1,2\n\"3,1\n4,5\n", &d);
    assert_contains(&msg, &["line 3", "unterminated"]);
    let (msg, _) = csv_err("a,y\n1,2\n\"3\"x,1\n", &d);
    assert_contains(&msg, &["line 3", "column 1", "after a closing quote"]);
    let (msg, _) = csv_err("a,y\n1,2\n3,a\"b\n", &d);
    assert_contains(&msg, &["line 3", "column 2", "stray"]);
    // A single column has no features.
    let (msg, _) = csv_err("1\n2\n", &d);
    assert_contains(&msg, &["at least one feature"]);
    // Missing file.
    let missing = tmp_path("nope.csv");
    let msg = load_csv(&missing, &d).unwrap_err().to_string();
    assert_contains(&msg, &[&missing.display().to_string(), "cannot open"]);
}

// ---------------------------------------------------------------------------------------------
// IDX

fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut b = 0x0000_0803u32.to_be_bytes().to_vec();
    for v in [count, rows, cols] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(pixels);
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = 0x0000_0801u32.to_be_bytes().to_vec();
    b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    b.extend_from_slice(labels);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn sample_idx() -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..18u8).map(|v| v * 15).collect(); // 3 images of 2×3
    (idx_images(3, 2, 3, &pixels), idx_labels(&[7, 0, 3]))
}

fn check_sample(ds: &Dataset) {
    assert_eq!((ds.len(), ds.dim()), (3, 6));
    assert_eq!(ds.labels().unwrap(), &[7, 0, 3]);
    assert_eq!(ds.num_classes(), Some(8));
    assert_eq!(ds.row(0)[1], 15.0 / 255.0);
    assert_eq!(ds.row(2)[5], 1.0);
    assert_eq!(ds.name(), "imgs-idx3-ubyte");
}

#[test]
fn idx_raw_and_gzip_round_trip() {
    let (im, lb) = sample_idx();
    // Raw.
    let ip = write_tmp("imgs-idx3-ubyte", &im);
    let lp = write_tmp("labels-idx1-ubyte", &lb);
    let imgs = read_idx_images(&ip).unwrap();
    assert_eq!((imgs.count, imgs.rows, imgs.cols), (3, 2, 3));
    assert_eq!(read_idx_labels(&lp).unwrap(), vec![7, 0, 3]);
    check_sample(&load_idx_pair(&ip, &lp).unwrap());
    // Gzip, named .gz.
    let ip = write_tmp("imgs-idx3-ubyte.gz", &gzip(&im));
    let lp = write_tmp("labels-idx1-ubyte.gz", &gzip(&lb));
    check_sample(&load_idx_pair(&ip, &lp).unwrap());
    // Gzip detected by its magic bytes alone.
    let ip = write_tmp("imgs-idx3-ubyte", &gzip(&im));
    let lp = write_tmp("labels", &gzip(&lb));
    check_sample(&load_idx_pair(&ip, &lp).unwrap());
}

#[test]
fn idx_errors() {
    let (im, lb) = sample_idx();
    let ip = write_tmp("imgs-idx3-ubyte", &im);
    let lp = write_tmp("labels-idx1-ubyte", &lb);
    // Files swapped: bad magic, naming what was expected and found.
    let msg = load_idx_pair(&lp, &ip).unwrap_err().to_string();
    assert_contains(
        &msg,
        &[
            &lp.display().to_string(),
            "bad magic",
            "0x00000803",
            "found 0x00000801",
        ],
    );
    let msg = read_idx_labels(&ip).unwrap_err().to_string();
    assert_contains(
        &msg,
        &["bad magic", "expected 0x00000801", "found 0x00000803"],
    );
    // Truncated pixel data, raw and gzip.
    let t = write_tmp("trunc-idx3-ubyte", &im[..im.len() - 4]);
    let msg = read_idx_images(&t).unwrap_err().to_string();
    assert_contains(
        &msg,
        &[
            &t.display().to_string(),
            "truncated",
            "3 images of 2×3",
            "18 bytes",
            "found 14",
        ],
    );
    let t = write_tmp("trunc-idx3-ubyte.gz", &gzip(&im[..im.len() - 4]));
    assert_contains(
        &read_idx_images(&t).unwrap_err().to_string(),
        &["truncated"],
    );
    // Truncated header and truncated gzip stream.
    let t = write_tmp("hdr", &im[..7]);
    assert_contains(
        &read_idx_images(&t).unwrap_err().to_string(),
        &["truncated IDX header"],
    );
    let t = write_tmp("hdr2", &im[..10]);
    assert_contains(
        &read_idx_images(&t).unwrap_err().to_string(),
        &["truncated IDX header", "expected 16 bytes", "found 10"],
    );
    let gz = gzip(&im);
    let t = write_tmp("cut.gz", &gz[..gz.len() / 2]);
    assert_contains(&read_idx_images(&t).unwrap_err().to_string(), &["gzip"]);
    // Trailing bytes.
    let mut long = lb.clone();
    long.push(1);
    let t = write_tmp("long-idx1-ubyte", &long);
    assert_contains(
        &read_idx_labels(&t).unwrap_err().to_string(),
        &["size mismatch", "3 labels", "1 extra"],
    );
    // Named .gz but raw.
    let t = write_tmp("raw-idx1-ubyte.gz", &lb);
    assert_contains(
        &read_idx_labels(&t).unwrap_err().to_string(),
        &["not gzip", "1f 8b", "found 00 00"],
    );
    // Count mismatch between the two files.
    let lp2 = write_tmp("two-labels", &idx_labels(&[1, 2]));
    let msg = load_idx_pair(&ip, &lp2).unwrap_err().to_string();
    assert_contains(
        &msg,
        &[
            "count mismatch",
            "3 images",
            "2 labels",
            &lp2.display().to_string(),
        ],
    );
    // Missing file.
    let missing = tmp_path("absent");
    assert_contains(
        &read_idx_images(&missing).unwrap_err().to_string(),
        &[&missing.display().to_string(), "cannot read"],
    );
}

// ---------------------------------------------------------------------------------------------
// Split, standardizer, batches

fn toy(n: usize) -> Dataset {
    let x: Vec<f64> = (0..n)
        .flat_map(|i| [i as f64, (i * i) as f64, 5.0])
        .collect();
    let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
    Dataset::classification("toy", x, 3, labels, 3)
        .unwrap()
        .with_feature_names(vec!["i".into(), "i2".into(), "c".into()])
        .unwrap()
}

/// The sample index of each row of a split of `toy` (feature 0 is the index).
fn ids(ds: &Dataset) -> Vec<usize> {
    column(ds, 0).iter().map(|&v| v as usize).collect()
}

#[test]
fn split_sizes_disjoint_and_seeded() {
    let ds = toy(100);
    let (tr, va, te) = ds.split((0.7, 0.15, 0.15), &mut Rng::seed(5)).unwrap();
    assert_eq!((tr.len(), va.len(), te.len()), (70, 15, 15));
    assert_eq!(
        (tr.name(), va.name(), te.name()),
        ("toy/train", "toy/val", "toy/test")
    );
    assert_eq!(tr.num_classes(), Some(3));
    assert_eq!(tr.feature_names(), ds.feature_names());
    let mut all: Vec<usize> = [ids(&tr), ids(&va), ids(&te)].concat();
    all.sort_unstable();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
    // Labels travel with their rows.
    for part in [&tr, &va, &te] {
        for (r, &i) in ids(part).iter().enumerate() {
            assert_eq!(part.labels().unwrap()[r], i % 3);
        }
    }
    // Shuffled, and reproducible from the seed.
    assert_ne!(ids(&tr), (0..70).collect::<Vec<_>>());
    let (tr2, _, _) = ds.split((0.7, 0.15, 0.15), &mut Rng::seed(5)).unwrap();
    assert_eq!(tr, tr2);
    let (tr3, _, _) = ds.split((0.7, 0.15, 0.15), &mut Rng::seed(6)).unwrap();
    assert_ne!(tr, tr3);
    // Odd sizes and empty parts.
    let (a, b, c) = split_indices(7, (0.5, 0.5, 0.0), &mut Rng::seed(0)).unwrap();
    assert_eq!((a.len() + b.len(), c.len()), (7, 0));
    let (a, b, c) = split_indices(10, (1.0, 0.0, 0.0), &mut Rng::seed(0)).unwrap();
    assert_eq!((a.len(), b.len(), c.len()), (10, 0, 0));
    assert!(split_indices(10, (0.5, 0.2, 0.2), &mut Rng::seed(0)).is_err());
    assert!(split_indices(10, (1.2, -0.2, 0.0), &mut Rng::seed(0)).is_err());
}

#[test]
fn standardizer_fits_train_and_serializes() {
    let ds = toy(60);
    let (tr, va, _) = ds.split((0.5, 0.25, 0.25), &mut Rng::seed(2)).unwrap();
    let s = Standardizer::fit(&tr);
    let trs = s.transform(&tr).unwrap();
    for j in 0..2 {
        let (m, sd) = mean_std(&column(&trs, j));
        assert!(
            m.abs() < 1e-12 && (sd - 1.0).abs() < 1e-12,
            "feature {j}: {m} {sd}"
        );
    }
    // Constant feature: std taken as 1, so it is only centred.
    assert_eq!(s.std[2], 1.0);
    assert!(column(&trs, 2).iter().all(|&v| v == 0.0));
    // The same map applies to other splits (not re-fitted).
    let vas = s.transform(&va).unwrap();
    assert_eq!(vas.row(0)[0], (va.row(0)[0] - s.mean[0]) / s.std[0]);
    // Round trip through JSON, as a checkpoint would carry it.
    let json = serde_json::to_string(&s).unwrap();
    let back: Standardizer = serde_json::from_str(&json).unwrap();
    // (serde_json without its `float_roundtrip` feature may be off by one ulp.)
    for (a, b) in back
        .mean
        .iter()
        .chain(&back.std)
        .zip(s.mean.iter().chain(&s.std))
    {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
    }
    assert_eq!(back.dim(), 3);
    // Tensors too, and the inverse.
    let (mut x, _) = va.to_tensors::<f64>(&[0, 1]);
    s.transform_tensor(&mut x).unwrap();
    assert_eq!(x.row(1), vas.row(1));
    let mut row = vas.row(1).to_vec();
    s.invert_row(&mut row);
    for (a, b) in row.iter().zip(va.row(1)) {
        assert!((a - b).abs() < 1e-9);
    }
    // Width mismatch.
    let other = synthetic::xor(10, 0.1, &mut Rng::seed(0)).unwrap();
    assert!(s.transform(&other).is_err());
    assert!(s
        .transform_tensor(&mut Tensor::<f32>::zeros(&[2, 2]))
        .is_err());
}

#[test]
fn batches_cover_every_index_once_per_epoch() {
    let mut rng = Rng::seed(9);
    for (n, bs) in [(10, 3), (10, 10), (10, 1), (10, 25), (1, 4), (64, 16)] {
        let mut it = BatchIter::new(n, bs, true).unwrap();
        let expected = n.div_ceil(bs.min(n));
        assert_eq!(it.num_batches(), expected);
        let mut epochs = Vec::new();
        for _ in 0..3 {
            let batches: Vec<Vec<usize>> = it.epoch(&mut rng).map(<[usize]>::to_vec).collect();
            assert_eq!(batches.len(), expected);
            for b in &batches[..batches.len() - 1] {
                assert_eq!(b.len(), bs.min(n));
            }
            assert_eq!(
                batches.last().unwrap().len(),
                n - (expected - 1) * bs.min(n)
            );
            let mut flat: Vec<usize> = batches.concat();
            let order = flat.clone();
            flat.sort_unstable();
            assert_eq!(flat, (0..n).collect::<Vec<_>>(), "n={n} bs={bs}");
            epochs.push(order);
        }
        if n >= 10 {
            assert!(
                epochs[0] != epochs[1] || epochs[1] != epochs[2],
                "n={n}: no reshuffle"
            );
        }
    }
    // Without shuffling: in order, and the generator is untouched.
    let mut it = BatchIter::new(5, 2, false).unwrap();
    let mut r = Rng::seed(1);
    let b: Vec<Vec<usize>> = it.epoch(&mut r).map(<[usize]>::to_vec).collect();
    assert_eq!(b, vec![vec![0, 1], vec![2, 3], vec![4]]);
    assert_eq!(r.next_u64(), Rng::seed(1).next_u64());
    // Seeded.
    let a = epoch_batches(50, 8, &mut Rng::seed(3)).unwrap();
    assert_eq!(a, epoch_batches(50, 8, &mut Rng::seed(3)).unwrap());
    assert_ne!(a, epoch_batches(50, 8, &mut Rng::seed(4)).unwrap());
    assert!(BatchIter::new(5, 0, true).is_err());
    assert_eq!(BatchIter::new(0, 4, true).unwrap().epoch(&mut r).count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Real data from scripts/fetch-data.sh (not in CI)

fn repo_data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(rel)
}

#[test]
#[ignore = "needs data/ from scripts/fetch-data.sh"]
fn real_mnist_and_fashion_mnist() {
    let sets = [
        (
            "mnist",
            "",
            [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        ),
        ("fashion-mnist", ".gz", [6000; 10]),
    ];
    for (dir, ext, train_counts) in sets {
        let p = |f: &str| repo_data(&format!("{dir}/{f}{ext}"));
        if !p("train-images-idx3-ubyte").exists() {
            eprintln!("skipping {dir}: run scripts/fetch-data.sh first");
            continue;
        }
        let train =
            load_idx_pair(p("train-images-idx3-ubyte"), p("train-labels-idx1-ubyte")).unwrap();
        assert_eq!((train.len(), train.dim()), (60000, 784), "{dir}");
        assert_eq!(train.num_classes(), Some(10));
        assert_eq!(train.class_counts(), train_counts, "{dir}");
        assert!(train.x().iter().all(|&v| (0.0..=1.0).contains(&v)));
        let test = load_idx_pair(p("t10k-images-idx3-ubyte"), p("t10k-labels-idx1-ubyte")).unwrap();
        assert_eq!((test.len(), test.dim()), (10000, 784), "{dir}");
    }
}
