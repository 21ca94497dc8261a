//! Time-series classification files in the `.ts` format of the UCR/UEA archive (as read by
//! sktime and aeon).
//!
//! ```text
//! # comment lines start with # (or %)
//! @problemName ItalyPowerDemand
//! @timeStamps false
//! @univariate true
//! @equalLength true
//! @seriesLength 24
//! @classLabel true 1 2
//! @data
//! -0.71,-1.18,…,-0.27:1
//! ```
//!
//! A data row is the series then its label, `v1,v2,…,vT:label`; a multivariate row has one
//! comma-separated series per dimension, `dim1:dim2:…:dimD:label`. Tags are
//! case-insensitive and must come before `@data`:
//!
//! - `@classLabel true a b …` lists the classes: label `a` is class 0, `b` class 1, … in the
//!   order the header lists them, and the texts are kept as class names. A row's label must
//!   be one of them (matched exactly, else ignoring ASCII case when that is unambiguous).
//!   `@targetLabel true` instead makes the label a real target (regression, k = 1).
//!   `@classLabel false` (no labels) is an error: every series needs a label.
//! - `@problemName` names the data set (default: the file stem).
//! - `@univariate`, `@dimensions`, `@seriesLength`, when given, are checked against the
//!   rows; `@missing` and `@equalLength` are informational; other tags are ignored.
//! - `@timeStamps true` (series given as `(time, value)` pairs) is not supported: an error.
//!
//! **Equal length only**: every dimension of every series must have the same length T, else
//! the error names the file and line (pad or resample unequal-length sets such as
//! `JapaneseVowels` first). A series becomes one row of T·D features, time-major: step t is
//! `[dim1[t], …, dimD[t]]` ([`Dataset::seq_len`] = T, [`Dataset::step_dim`] = D).
//! Missing values (`?` or `NaN`) are an error unless [`TsOptions::missing`] gives a value to
//! put in their place. Every error names the file and, where it applies, the 1-based line.

use std::io::Read;
use std::path::Path;

use super::Dataset;
use crate::error::{Error, Result};

static ITALY_TRAIN_GZ: &[u8] = include_bytes!("../../../data/ItalyPowerDemand_TRAIN.ts.gz");
static ITALY_TEST_GZ: &[u8] = include_bytes!("../../../data/ItalyPowerDemand_TEST.ts.gz");

/// Options of [`load_ts`] and [`read_ts`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TsOptions {
    /// The value that replaces a missing value (`?` or `NaN`); `None` (default) makes a
    /// missing value an error.
    pub missing: Option<f64>,
    /// Data set name (default: the `@problemName`, else the file stem or source name).
    pub name: Option<String>,
    /// The most bytes of text read, after gunzipping (default [`DEFAULT_MAX_TS_BYTES`]): a
    /// longer raw file is refused by its length before it is read, a gzip stream is inflated
    /// only this far plus one byte (a gzip bomb is an error, not an allocation).
    pub max_bytes: Option<u64>,
}

/// Default of [`TsOptions::max_bytes`]: 1 GiB of text (the UCR/UEA archive's files are at
/// most a few hundred MB).
pub const DEFAULT_MAX_TS_BYTES: u64 = 1 << 30;

/// Loads a `.ts` file, raw or gzipped (see the [module docs](self)); errors name the file and
/// line. The data set is named by [`TsOptions::name`], else `@problemName`, else the file stem.
pub fn load_ts(path: impl AsRef<Path>, opts: &TsOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let src = path.display().to_string();
    let cannot = |e: std::io::Error| Error::Data(format!("{src}: cannot read: {e}"));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let len = file.metadata().map_err(cannot)?.len();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| src.clone());
    let text = read_text(std::io::BufReader::new(file), Some(len), &src, opts)?;
    parse(&text, &src, opts, stem)
}

/// Reads `.ts` text from any reader (gunzipped when it starts with the gzip magic bytes);
/// `source` names it in errors and is the name when neither [`TsOptions::name`] nor
/// `@problemName` gives one.
pub fn read_ts<R: Read>(reader: R, source: &str, opts: &TsOptions) -> Result<Dataset> {
    let text = read_text(std::io::BufReader::new(reader), None, source, opts)?;
    parse(&text, source, opts, source.to_string())
}

/// Parses `.ts` text; `source` names it in errors (and the set, failing a better name).
pub fn parse_ts(text: &str, source: &str, opts: &TsOptions) -> Result<Dataset> {
    parse(text, source, opts, source.to_string())
}

/// Reads at most [`TsOptions::max_bytes`] of text, gunzipped on the fly when the data starts
/// with the gzip magic; `raw_len` is the length of a file (a longer raw file is refused
/// before it is read). The buffer grows with `try_reserve`: memory short is an error. Then
/// checks UTF-8.
fn read_text<R: std::io::BufRead>(
    mut reader: R,
    raw_len: Option<u64>,
    source: &str,
    opts: &TsOptions,
) -> Result<String> {
    let cap = opts.max_bytes.unwrap_or(DEFAULT_MAX_TS_BYTES);
    let start = reader
        .fill_buf()
        .map_err(|e| Error::Data(format!("{source}: cannot read: {e}")))?;
    let gz = start.starts_with(&[0x1f, 0x8b]);
    if let Some(len) = raw_len.filter(|&l| !gz && l > cap) {
        return Err(Error::Data(format!(
            "{source}: {len} bytes, more than the {cap} bytes of text a .ts file may have \
             (TsOptions::max_bytes)"
        )));
    }
    let mut input: Box<dyn Read + '_> = if gz {
        Box::new(flate2::bufread::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut bytes: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if gz => return Err(Error::Data(format!("{source}: corrupt gzip data: {e}"))),
            Err(e) => return Err(Error::Data(format!("{source}: read error: {e}"))),
        };
        if bytes.len() as u64 + n as u64 > cap {
            let what = if gz {
                "the gzip stream inflates to"
            } else {
                "the data holds"
            };
            return Err(Error::Data(format!(
                "{source}: {what} more than the {cap} bytes of text a .ts file may have \
                 (TsOptions::max_bytes; reading stopped there)"
            )));
        }
        if bytes.try_reserve(n).is_err() {
            return Err(Error::Data(format!(
                "{source}: cannot allocate memory for the text ({} bytes read so far)",
                bytes.len()
            )));
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
        Error::Data(format!("{source}, line {line}: not valid UTF-8 text"))
    })
}

/// Loads a training and a test file of the same problem. The test set must have the same
/// series length and number of dimensions, and the same kind of target; its labels are mapped
/// to the **training** file's class indices by name (so the two headers may list the classes
/// in different orders), and a test class the training header lacks is an error naming the
/// test file.
pub fn load_ts_pair(
    train: impl AsRef<Path>,
    test: impl AsRef<Path>,
    opts: &TsOptions,
) -> Result<(Dataset, Dataset)> {
    let tr = load_ts(train, opts)?;
    let te = load_ts(&test, opts)?;
    let te = align_test(&tr, te, &test.as_ref().display().to_string())?;
    Ok((tr, te))
}

/// The UCR archive's `ItalyPowerDemand`, embedded (no download): 24 hourly electricity
/// demand values of one day (each series z-normalised), 2 classes — `"1"`: days from October
/// to March, `"2"`: April to September. Returns `(train, test)`: 67 and 1029 series,
/// univariate, T = 24. Files as shipped in the PyPI wheel `sktime==1.2.0`; provenance in
/// `crates/gradscope/data/UCR-LICENSE.md`. Decoded on each call (a few milliseconds).
pub fn italy_power_demand() -> (Dataset, Dataset) {
    let opts = TsOptions::default();
    let train = read_ts(
        ITALY_TRAIN_GZ,
        "ItalyPowerDemand_TRAIN.ts (embedded)",
        &opts,
    )
    .expect("embedded ItalyPowerDemand train parses");
    let test = read_ts(ITALY_TEST_GZ, "ItalyPowerDemand_TEST.ts (embedded)", &opts)
        .expect("embedded ItalyPowerDemand test parses");
    (train, test)
}

/// Checks that `test` fits `train` (series length, dimensions, kind of target) and maps its
/// labels to the training classes by name; `source` names the test file in errors.
pub fn align_test(train: &Dataset, test: Dataset, source: &str) -> Result<Dataset> {
    let shape = |d: &Dataset| (d.seq_len().unwrap_or(1), d.step_dim());
    let ((t1, f1), (t2, f2)) = (shape(train), shape(&test));
    if (t1, f1) != (t2, f2) {
        return Err(Error::Data(format!(
            "{source}: series of {t2} steps × {f2} dimensions, but the training set has \
             {t1} steps × {f1} dimensions"
        )));
    }
    match (train.labels(), test.labels()) {
        (None, None) => Ok(test),
        (Some(_), None) | (None, Some(_)) => Err(Error::Data(format!(
            "{source}: the test set has {} targets but the training set has {}",
            kind(&test),
            kind(train)
        ))),
        (Some(_), Some(labels)) => {
            if test.class_names() == train.class_names() {
                return Ok(test);
            }
            let map = test
                .class_names()
                .iter()
                .map(|name| {
                    train
                        .class_names()
                        .iter()
                        .position(|c| c == name)
                        .ok_or_else(|| {
                            Error::Data(format!(
                                "{source}: class `{name}` is not among the training set's \
                                 classes: {}",
                                train.class_names().join(", ")
                            ))
                        })
                })
                .collect::<Result<Vec<usize>>>()?;
            let labels = labels.iter().map(|&l| map[l]).collect();
            let k = train.num_classes().expect("a classification set");
            Dataset::classification(test.name(), test.x().to_vec(), test.dim(), labels, k)?
                .with_class_names(train.class_names().to_vec())?
                .with_seq_len(t2)
        }
    }
}

fn kind(d: &Dataset) -> &'static str {
    if d.labels().is_some() {
        "class"
    } else {
        "real (@targetLabel)"
    }
}

/// How rows are labelled, from the header.
enum Labels {
    Classes { names: Vec<String>, line: usize },
    Target,
}

fn parse(text: &str, source: &str, opts: &TsOptions, fallback_name: String) -> Result<Dataset> {
    let err = |line: usize, msg: String| Error::Data(format!("{source}, line {line}: {msg}"));
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut problem: Option<String> = None;
    let mut labels_kind: Option<Labels> = None;
    let mut univariate: Option<(bool, usize)> = None;
    let mut dimensions: Option<(usize, usize)> = None;
    let mut series_length: Option<(usize, usize)> = None;
    let mut data_line: Option<usize> = None;

    // Rows: (line, values per dimension, label text). Every value is followed by a `,` or
    // a `:`, so their count bounds the values: reserved up front (memory short is an error).
    let mut x: Vec<f64> = Vec::new();
    let bound = text.bytes().filter(|&b| b == b',' || b == b':').count();
    if x.try_reserve_exact(bound).is_err() {
        return Err(Error::Data(format!(
            "{source}: cannot allocate memory for up to {bound} values (8 bytes each)"
        )));
    }
    let mut raw_labels: Vec<(usize, String)> = Vec::new();
    let mut shape: Option<(usize, usize, usize)> = None; // (steps, dims, first line)
    let mut dims_buf: Vec<Vec<f64>> = Vec::new();

    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('%') {
            continue;
        }
        if data_line.is_none() {
            let Some(tagged) = line.strip_prefix('@') else {
                return Err(err(
                    line_no,
                    format!(
                        "expected a `@tag` or a `#` comment before `@data`, found `{}`",
                        clip(line)
                    ),
                ));
            };
            let mut tokens = tagged.split_whitespace();
            let tag = tokens.next().unwrap_or("").to_ascii_lowercase();
            let rest: Vec<&str> = tokens.collect();
            let flag = |rest: &[&str]| -> Result<bool> {
                match rest.first().map(|s| s.to_ascii_lowercase()).as_deref() {
                    Some("true") => Ok(true),
                    Some("false") => Ok(false),
                    _ => Err(err(
                        line_no,
                        format!(
                            "`@{tag}` needs `true` or `false`, found `{}`",
                            rest.join(" ")
                        ),
                    )),
                }
            };
            let count = |rest: &[&str]| -> Result<usize> {
                match rest {
                    [v] => v.parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| {
                        err(
                            line_no,
                            format!("`@{tag}` needs a positive integer, found `{v}`"),
                        )
                    }),
                    _ => Err(err(
                        line_no,
                        format!(
                            "`@{tag}` needs one positive integer, found `{}`",
                            rest.join(" ")
                        ),
                    )),
                }
            };
            match tag.as_str() {
                "problemname" => {
                    if rest.is_empty() {
                        return Err(err(line_no, "`@problemName` needs a name".into()));
                    }
                    problem = Some(rest.join(" "));
                }
                "timestamps" if flag(&rest)? => {
                    return Err(err(
                        line_no,
                        "`@timeStamps true` (series of (time, value) pairs) is not \
                         supported; only plain comma-separated values are"
                            .into(),
                    ));
                }
                "timestamps" => {}
                "univariate" => univariate = Some((flag(&rest)?, line_no)),
                "missing" | "equallength" => {
                    flag(&rest)?;
                }
                "dimensions" => dimensions = Some((count(&rest)?, line_no)),
                "serieslength" => series_length = Some((count(&rest)?, line_no)),
                "classlabel" => {
                    if !flag(&rest)? {
                        return Err(err(
                            line_no,
                            "`@classLabel false`: the series have no labels, but every series \
                             needs one (a class, or a real target with `@targetLabel true`)"
                                .into(),
                        ));
                    }
                    let names: Vec<String> = rest[1..].iter().map(|s| s.to_string()).collect();
                    if names.is_empty() {
                        return Err(err(
                            line_no,
                            "`@classLabel true` must list the class labels".into(),
                        ));
                    }
                    for (j, n) in names.iter().enumerate() {
                        if names[..j].contains(n) {
                            return Err(err(
                                line_no,
                                format!("class label `{n}` is listed twice in `@classLabel`"),
                            ));
                        }
                    }
                    labels_kind = Some(Labels::Classes {
                        names,
                        line: line_no,
                    });
                }
                "targetlabel" => {
                    if !flag(&rest)? {
                        return Err(err(
                            line_no,
                            "`@targetLabel false`: the series have no targets, but every \
                             series needs one"
                                .into(),
                        ));
                    }
                    if rest.len() > 1 {
                        return Err(err(
                            line_no,
                            "`@targetLabel` takes only `true` or `false`".into(),
                        ));
                    }
                    labels_kind = Some(Labels::Target);
                }
                "data" => {
                    if !rest.is_empty() {
                        return Err(err(line_no, "`@data` takes no value".into()));
                    }
                    if labels_kind.is_none() {
                        return Err(err(
                            line_no,
                            "`@data` before any `@classLabel true …` or `@targetLabel true`: \
                             the header must say how the rows are labelled"
                                .into(),
                        ));
                    }
                    data_line = Some(line_no);
                }
                _ => {} // other tags are informational
            }
            continue;
        }
        if line.starts_with('@') {
            return Err(err(
                line_no,
                format!("header tag `{}` after `@data`", clip(line)),
            ));
        }
        // A data row.
        let Some((series, label)) = line.rsplit_once(':') else {
            return Err(err(
                line_no,
                "no label: a row is `v1,v2,…:label` (dimensions separated by `:`)".into(),
            ));
        };
        let label = label.trim();
        if label.is_empty() {
            return Err(err(line_no, "empty label after the last `:`".into()));
        }
        dims_buf.clear();
        for (k, dim) in series.split(':').enumerate() {
            let mut values = Vec::new();
            for (j, v) in dim.split(',').enumerate() {
                let v = v.trim();
                let value = if v == "?" || v.eq_ignore_ascii_case("nan") {
                    opts.missing.ok_or_else(|| {
                        err(
                            line_no,
                            format!(
                                "dimension {}, value {}: missing value `{v}` (give \
                                 TsOptions::missing a value to fill in)",
                                k + 1,
                                j + 1
                            ),
                        )
                    })?
                } else {
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or_else(|| {
                            err(
                                line_no,
                                format!(
                                    "dimension {}, value {}: not a finite number: `{}`",
                                    k + 1,
                                    j + 1,
                                    clip(v)
                                ),
                            )
                        })?
                };
                values.push(value);
            }
            if k > 0 && values.len() != dims_buf[0].len() {
                return Err(err(
                    line_no,
                    format!(
                        "dimension {} has {} values but dimension 1 has {} (unequal-length \
                         series are not supported)",
                        k + 1,
                        values.len(),
                        dims_buf[0].len()
                    ),
                ));
            }
            dims_buf.push(values);
        }
        let (d, t) = (dims_buf.len(), dims_buf[0].len());
        match shape {
            None => {
                if let Some((u, uline)) = univariate {
                    if u && d != 1 {
                        return Err(err(
                            line_no,
                            format!("{}, but `@univariate true` (line {uline})", dims(d)),
                        ));
                    }
                }
                if let Some((dd, dline)) = dimensions {
                    if dd != d {
                        return Err(err(
                            line_no,
                            format!("{}, but `@dimensions {dd}` (line {dline})", dims(d)),
                        ));
                    }
                }
                shape = Some((t, d, line_no));
            }
            Some((t0, d0, first)) => {
                if d != d0 {
                    return Err(err(
                        line_no,
                        format!("{}, but line {first} has {d0}", dims(d)),
                    ));
                }
                if t != t0 {
                    return Err(err(
                        line_no,
                        format!(
                            "a series of length {t}, but line {first} has length {t0} \
                             (unequal-length series are not supported: pad or resample them \
                             first)"
                        ),
                    ));
                }
            }
        }
        if let Some((sl, sline)) = series_length {
            if t != sl {
                return Err(err(
                    line_no,
                    format!("a series of length {t}, but `@seriesLength {sl}` (line {sline})"),
                ));
            }
        }
        for step in 0..t {
            for dim in &dims_buf {
                x.push(dim[step]);
            }
        }
        raw_labels.push((line_no, label.to_string()));
    }

    let Some(data_line) = data_line else {
        return Err(Error::Data(format!("{source}: no `@data` line")));
    };
    let Some((t, d, _)) = shape else {
        return Err(Error::Data(format!(
            "{source}: no data rows after `@data` (line {data_line})"
        )));
    };
    let name = opts.name.clone().or(problem).unwrap_or(fallback_name);
    let ds = match labels_kind.expect("checked at @data") {
        Labels::Target => {
            let y = raw_labels
                .iter()
                .map(|(line, s)| {
                    s.parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| {
                            err(
                                *line,
                                format!("target `{}` is not a finite number", clip(s)),
                            )
                        })
                })
                .collect::<Result<Vec<f64>>>()?;
            Dataset::regression(name, x, t * d, y, 1)?
        }
        Labels::Classes { names, line } => {
            let labels = raw_labels
                .iter()
                .map(|(l, s)| {
                    class_index(&names, s).ok_or_else(|| {
                        err(
                            *l,
                            format!(
                                "unknown class label `{}`; `@classLabel` (line {line}) lists: {}",
                                clip(s),
                                names.join(", ")
                            ),
                        )
                    })
                })
                .collect::<Result<Vec<usize>>>()?;
            let k = names.len();
            Dataset::classification(name, x, t * d, labels, k)?.with_class_names(names)?
        }
    };
    ds.with_seq_len(t)
}

/// The class of `label`: an exact match, else the only case-insensitive one.
fn class_index(names: &[String], label: &str) -> Option<usize> {
    names.iter().position(|n| n == label).or_else(|| {
        let mut it = names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.eq_ignore_ascii_case(label));
        match (it.next(), it.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    })
}

/// `1 dimension`, `2 dimensions`.
fn dims(d: usize) -> String {
    format!("{d} dimension{}", if d == 1 { "" } else { "s" })
}

/// A field shortened for an error message.
fn clip(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}
