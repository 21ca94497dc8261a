//! The `[data]` table: which data set, how it is split and standardized.

use std::path::{Path, PathBuf};

use crate::data::csv::{CsvOptions, Header, LabelColumn, LabelKind};
use crate::data::sequence::{self, ts};
use crate::data::{self, Dataset, Standardizer};
use crate::error::{Error, Result};
use crate::float::DType;
use crate::rng::Rng;

/// Where the samples come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The embedded 8×8 handwritten digits (1797 samples, 64 features, 10 classes).
    #[default]
    Digits,
    /// Interleaved spirals (`n`, `classes`, `noise`).
    Spiral,
    /// Two concentric circles (`n`, `factor`, `noise`).
    Circles,
    /// XOR quadrants (`n`, `noise`).
    Xor,
    /// Gaussian blobs (`n`, `classes`, `noise`).
    Gaussians,
    /// Two interleaved half moons (`n`, `noise`).
    Moons,
    /// A CSV file (`path`, `label`, `header`, `task`, `delimiter`).
    Csv,
    /// MNIST-style IDX files (`images`, `labels`, optional `test_images`, `test_labels`).
    Idx,
    /// The adding problem (`n`, `seq_len`): regression on sequences of [value, marker].
    Adding,
    /// The temporal order problem (`n`, `seq_len`): 4 classes, one-hot symbols.
    TemporalOrder,
    /// The copy memory problem (`n`, `delay`): many-to-many, one-hot symbols.
    CopyMemory,
    /// Character-level language modelling on a text (`path`, `seq_len`, `stride`,
    /// `max_chars`); without `path`, the embedded Shakespeare sample.
    Text,
    /// A UCR/UEA `.ts` time-series file (`path`, `test_path`); without `path`, the embedded
    /// ItalyPowerDemand train and test files.
    Ucr,
}

/// The label column of a CSV file: a header name or a 0-based index (−1 = the last column).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum LabelSpec {
    /// Column index.
    Index(i64),
    /// Column name.
    Name(String),
}

/// Whether a CSV file has a header row.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum HeaderSpec {
    /// `true` / `false`.
    Flag(bool),
    /// `"auto"`: a first row that is not all numbers is a header.
    Auto(AutoWord),
}

/// The word `auto`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoWord {
    /// Detect.
    Auto,
}

/// Classification or regression targets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Class labels.
    #[default]
    Classification,
    /// Real-valued targets.
    Regression,
}

/// Samples of the built-in sequence tasks when `n` is not given.
const DEFAULT_SEQ_N: usize = 1000;
/// Steps of `adding` and `temporal_order` when `seq_len` is not given.
const DEFAULT_TASK_SEQ_LEN: usize = 50;
/// `copy_memory`'s delay when `delay` is not given.
const DEFAULT_COPY_DELAY: usize = 50;
/// Steps of a `text` window when `seq_len` is not given.
const DEFAULT_TEXT_SEQ_LEN: usize = 64;

fn default_split() -> [f64; 3] {
    [0.7, 0.15, 0.15]
}

/// The `[data]` table. Source-specific keys are optional and checked against the source.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// The data set.
    #[serde(default)]
    pub source: DataSource,
    /// Fractions for train, validation and test (they must sum to 1).
    #[serde(default = "default_split")]
    pub split: [f64; 3],
    /// Standardize features with the training split's mean and standard deviation (per
    /// feature; for sequences per step feature, pooled over the time steps). Default: true,
    /// except for the built-in sequence tasks and `text` (see [`DataConfig::standardizes`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standardize: Option<bool>,
    /// Use only the first `limit` samples (after a seeded shuffle), for quick runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Synthetic sets: number of samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    /// Synthetic sets: standard deviation of the noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<f64>,
    /// Spiral and gaussians: number of classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
    /// Circles: inner radius / outer radius.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// CSV: the file (relative to the config file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// CSV: label column name or index (default: the last column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<LabelSpec>,
    /// CSV: `true`, `false` or `"auto"` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderSpec>,
    /// CSV: `"classification"` (default) or `"regression"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// CSV: field delimiter (default `","`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// IDX: training images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<PathBuf>,
    /// IDX: training labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<PathBuf>,
    /// IDX: test images (then `split` divides the training files into train and validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_images: Option<PathBuf>,
    /// IDX: test labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_labels: Option<PathBuf>,
    /// Sequences: time steps per sample (`adding`, `temporal_order`, `text`), or the number
    /// of steps a CSV row's feature columns are cut into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq_len: Option<usize>,
    /// Copy memory: the delay T (sequences have T + 20 steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<usize>,
    /// Text: characters between the starts of two windows (default: `seq_len`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<usize>,
    /// Text: read only the first `max_chars` characters of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<usize>,
    /// UCR: a separate `.ts` test file (then `split` divides `path` into train and validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_path: Option<PathBuf>,
}

impl Default for DataConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

/// The three splits, standardized, and the standardizer (if any).
#[derive(Clone, Debug)]
pub struct Splits {
    /// Training samples.
    pub train: Dataset,
    /// Validation samples.
    pub val: Dataset,
    /// Test samples.
    pub test: Dataset,
    /// Fitted on `train` and applied to all three (when `standardize`).
    pub standardizer: Option<Standardizer>,
}

impl DataConfig {
    fn source_name(&self) -> &'static str {
        match self.source {
            DataSource::Digits => "digits",
            DataSource::Spiral => "spiral",
            DataSource::Circles => "circles",
            DataSource::Xor => "xor",
            DataSource::Gaussians => "gaussians",
            DataSource::Moons => "moons",
            DataSource::Csv => "csv",
            DataSource::Idx => "idx",
            DataSource::Adding => "adding",
            DataSource::TemporalOrder => "temporal_order",
            DataSource::CopyMemory => "copy_memory",
            DataSource::Text => "text",
            DataSource::Ucr => "ucr",
        }
    }

    /// Whether the features are standardized: `standardize` when set, else true except for
    /// `adding` (raw values in [0, 1] and 0/1 markers, as the task is defined) and the
    /// one-hot sources `temporal_order`, `copy_memory` and `text`.
    pub fn standardizes(&self) -> bool {
        self.standardize.unwrap_or(!matches!(
            self.source,
            DataSource::Adding
                | DataSource::TemporalOrder
                | DataSource::CopyMemory
                | DataSource::Text
        ))
    }

    fn one_hot_inputs(&self) -> bool {
        matches!(
            self.source,
            DataSource::TemporalOrder | DataSource::CopyMemory | DataSource::Text
        )
    }

    /// Checks that the keys fit the source and values are in range; messages start with the
    /// field path.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, m: String| Err(Error::config_field(field, m));
        let src = self.source_name();
        let allowed: &[&str] = match self.source {
            DataSource::Digits => &[],
            DataSource::Spiral | DataSource::Gaussians => &["n", "noise", "classes"],
            DataSource::Circles => &["n", "noise", "factor"],
            DataSource::Xor | DataSource::Moons => &["n", "noise"],
            DataSource::Csv => &["path", "label", "header", "task", "delimiter", "seq_len"],
            DataSource::Idx => &["images", "labels", "test_images", "test_labels"],
            DataSource::Adding | DataSource::TemporalOrder => &["n", "seq_len"],
            DataSource::CopyMemory => &["n", "delay"],
            DataSource::Text => &["path", "seq_len", "stride", "max_chars"],
            DataSource::Ucr => &["path", "test_path"],
        };
        let present = [
            ("n", self.n.is_some()),
            ("noise", self.noise.is_some()),
            ("classes", self.classes.is_some()),
            ("factor", self.factor.is_some()),
            ("path", self.path.is_some()),
            ("label", self.label.is_some()),
            ("header", self.header.is_some()),
            ("task", self.task.is_some()),
            ("delimiter", self.delimiter.is_some()),
            ("images", self.images.is_some()),
            ("labels", self.labels.is_some()),
            ("test_images", self.test_images.is_some()),
            ("test_labels", self.test_labels.is_some()),
            ("seq_len", self.seq_len.is_some()),
            ("delay", self.delay.is_some()),
            ("stride", self.stride.is_some()),
            ("max_chars", self.max_chars.is_some()),
            ("test_path", self.test_path.is_some()),
        ];
        for (key, set) in present {
            if set && !allowed.contains(&key) {
                return bad(
                    &format!("data.{key}"),
                    format!(
                        "data.{key} does not apply to source = \"{src}\" (its keys: {})",
                        if allowed.is_empty() {
                            "none".to_string()
                        } else {
                            allowed.join(", ")
                        }
                    ),
                );
            }
        }
        let sum: f64 = self.split.iter().sum();
        if self.split.iter().any(|f| !(0.0..=1.0).contains(f)) || (sum - 1.0).abs() > 1e-9 {
            return bad(
                "data.split",
                format!(
                    "data.split = {:?} must be three fractions in [0, 1] summing to 1",
                    self.split
                ),
            );
        }
        if self.split[0] <= 0.0 {
            return bad(
                "data.split",
                "data.split: the training fraction must be > 0".into(),
            );
        }
        if let Some(n) = self.n {
            if n < 4 {
                return bad("data.n", format!("data.n = {n} must be >= 4"));
            }
        }
        if let Some(noise) = self.noise {
            if !(noise.is_finite() && noise >= 0.0) {
                return bad("data.noise", format!("data.noise = {noise} must be >= 0"));
            }
        }
        if let Some(c) = self.classes {
            if c < 2 {
                return bad("data.classes", format!("data.classes = {c} must be >= 2"));
            }
        }
        if let Some(f) = self.factor {
            if !(f > 0.0 && f < 1.0) {
                return bad(
                    "data.factor",
                    format!("data.factor = {f} must be in (0, 1)"),
                );
            }
        }
        if let Some(l) = self.limit {
            if l < 4 {
                return bad("data.limit", format!("data.limit = {l} must be >= 4"));
            }
        }
        if let Some(LabelSpec::Index(i)) = self.label {
            if i < -1 {
                return bad(
                    "data.label",
                    format!("data.label = {i}: use a 0-based column index, or -1 for the last"),
                );
            }
        }
        if self.source == DataSource::Csv && self.path.is_none() {
            return bad(
                "data.path",
                "data.path is required for source = \"csv\"".into(),
            );
        }
        if let Some(d) = &self.delimiter {
            if d.len() != 1 {
                return bad(
                    "data.delimiter",
                    format!("data.delimiter = {d:?} must be one character"),
                );
            }
        }
        if self.standardize == Some(true) && self.one_hot_inputs() {
            return bad(
                "data.standardize",
                format!(
                    "data.standardize = true does not apply to source = \"{src}\": its inputs \
                 are one-hot symbols (standardizing would blow up rare ones)"
                ),
            );
        }
        if let Some(t) = self.seq_len {
            let min = match self.source {
                DataSource::Adding => 2,
                DataSource::TemporalOrder => 10,
                _ => 1,
            };
            if t < min {
                return bad(
                    "data.seq_len",
                    format!("data.seq_len = {t} must be >= {min} for source = \"{src}\""),
                );
            }
        }
        if self.delay == Some(0) {
            return bad("data.delay", "data.delay = 0 must be >= 1".into());
        }
        if self.stride == Some(0) {
            return bad("data.stride", "data.stride = 0 must be >= 1".into());
        }
        if let Some(m) = self.max_chars {
            let need = self.seq_len.unwrap_or(DEFAULT_TEXT_SEQ_LEN) + 1;
            if m < need {
                return bad(
                    "data.max_chars",
                    format!("data.max_chars = {m} must be >= seq_len + 1 = {need} (one window)"),
                );
            }
        }
        if self.test_path.is_some() && self.path.is_none() {
            return bad(
                "data.test_path",
                "data.test_path needs data.path (the training file); without both, \
                 source = \"ucr\" uses the embedded ItalyPowerDemand files"
                    .into(),
            );
        }
        if self.source == DataSource::Idx {
            if self.images.is_none() || self.labels.is_none() {
                return bad(
                    "data.images",
                    "data.images and data.labels are required for source = \"idx\"".into(),
                );
            }
            if self.test_images.is_some() != self.test_labels.is_some() {
                return bad(
                    "data.test_images",
                    "data.test_images and data.test_labels go together".into(),
                );
            }
        }
        Ok(())
    }

    /// Loads the data set, splits it with `rng` and standardizes it; relative paths are
    /// resolved against `base_dir`. Values are checked against f64; a run in f32 uses
    /// [`DataConfig::load_as`].
    pub fn load(&self, base_dir: &Path, rng: &mut Rng) -> Result<Splits> {
        self.load_as(base_dir, rng, DType::F64)
    }

    /// [`DataConfig::load`] for a run in `dtype`: a CSV value beyond its range (1e300 in an
    /// f32 run) is an error naming the file, line and column.
    pub fn load_as(&self, base_dir: &Path, rng: &mut Rng, dtype: DType) -> Result<Splits> {
        let resolve = |p: &PathBuf| {
            if p.is_absolute() {
                p.clone()
            } else {
                base_dir.join(p)
            }
        };
        let n = self.n.unwrap_or(600);
        let noise = self.noise.unwrap_or(0.1);
        let mut gen = rng.fork();
        let mut test_set = None;
        let mut full = match self.source {
            DataSource::Digits => data::digits(),
            DataSource::Spiral => {
                data::synthetic::spiral(n, self.classes.unwrap_or(3), noise, &mut gen)?
            }
            DataSource::Circles => {
                data::synthetic::circles(n, self.factor.unwrap_or(0.5), noise, &mut gen)?
            }
            DataSource::Xor => data::synthetic::xor(n, noise, &mut gen)?,
            DataSource::Gaussians => {
                data::synthetic::gaussians(n, self.classes.unwrap_or(3), noise, &mut gen)?
            }
            DataSource::Moons => data::synthetic::moons(n, noise, &mut gen)?,
            DataSource::Csv => {
                let path = resolve(self.path.as_ref().expect("validated"));
                let opts = CsvOptions {
                    header: match self.header {
                        None | Some(HeaderSpec::Auto(_)) => Header::Auto,
                        Some(HeaderSpec::Flag(true)) => Header::Present,
                        Some(HeaderSpec::Flag(false)) => Header::Absent,
                    },
                    label: match &self.label {
                        None => LabelColumn::Last,
                        Some(LabelSpec::Index(-1)) => LabelColumn::Last,
                        Some(LabelSpec::Index(i)) => LabelColumn::Index(*i as usize),
                        Some(LabelSpec::Name(s)) => LabelColumn::Name(s.clone()),
                    },
                    label_kind: match self.task.unwrap_or_default() {
                        Task::Classification => LabelKind::Classes,
                        Task::Regression => LabelKind::Regression,
                    },
                    delimiter: self.delimiter.as_ref().map_or(b',', |d| d.as_bytes()[0]),
                    dtype,
                    ..CsvOptions::default()
                };
                match self.seq_len {
                    None => data::csv::load_csv(&path, &opts)?,
                    Some(t) => sequence::load_csv_sequences(&path, &opts, t)
                        .map_err(|e| Error::Data(format!("{e} (data.seq_len)")))?,
                }
            }
            DataSource::Idx => {
                let images = resolve(self.images.as_ref().expect("validated"));
                let labels = resolve(self.labels.as_ref().expect("validated"));
                // `limit` is applied while reading (with the same draws from `rng` as below),
                // so the samples it drops are never converted.
                let train = data::idx::load_idx_pair_limited(images, labels, self.limit, rng)?;
                if let (Some(ti), Some(tl)) = (&self.test_images, &self.test_labels) {
                    let k = train.num_classes().expect("a classification set");
                    test_set = Some(data::idx::load_idx_test_pair(resolve(ti), resolve(tl), k)?);
                }
                train
            }
            DataSource::Adding => sequence::adding_problem(
                self.n.unwrap_or(DEFAULT_SEQ_N),
                self.seq_len.unwrap_or(DEFAULT_TASK_SEQ_LEN),
                &mut gen,
            )?,
            DataSource::TemporalOrder => sequence::temporal_order(
                self.n.unwrap_or(DEFAULT_SEQ_N),
                self.seq_len.unwrap_or(DEFAULT_TASK_SEQ_LEN),
                &mut gen,
            )?,
            DataSource::CopyMemory => sequence::copy_memory(
                self.n.unwrap_or(DEFAULT_SEQ_N),
                self.delay.unwrap_or(DEFAULT_COPY_DELAY),
                &mut gen,
            )?,
            DataSource::Text => {
                let (name, text) = match &self.path {
                    Some(p) => {
                        let path = resolve(p);
                        let name = path.file_stem().map_or_else(
                            || path.display().to_string(),
                            |s| s.to_string_lossy().into_owned(),
                        );
                        // Only the first max_chars characters are read.
                        (name, sequence::load_text_prefix(&path, self.max_chars)?)
                    }
                    None => {
                        let text = sequence::shakespeare_sample();
                        let text = match self.max_chars {
                            Some(m) => text.chars().take(m).collect(),
                            None => text.to_string(),
                        };
                        (sequence::SHAKESPEARE_SAMPLE_NAME.to_string(), text)
                    }
                };
                let t = self.seq_len.unwrap_or(DEFAULT_TEXT_SEQ_LEN);
                sequence::char_lm(name, &text, t, self.stride.unwrap_or(t))?
            }
            DataSource::Ucr => match &self.path {
                Some(p) => {
                    let opts = ts::TsOptions::default();
                    let train = ts::load_ts(resolve(p), &opts)?;
                    if let Some(tp) = &self.test_path {
                        let tp = resolve(tp);
                        let test = ts::load_ts(&tp, &opts)?;
                        test_set = Some(ts::align_test(&train, test, &tp.display().to_string())?);
                    }
                    train
                }
                None => {
                    let (train, test) = ts::italy_power_demand();
                    test_set = Some(test);
                    train
                }
            },
        };
        if let Some(limit) = self.limit {
            // (IDX applied it while reading: then `full` is already that small.)
            if let Some(idx) = data::limit_indices(full.len(), limit, rng)? {
                full = full.subset(&idx);
            }
        }
        let (train, val, test) = match test_set {
            Some(test) => {
                let tv = self.split[0] + self.split[1];
                let (train, val, _) =
                    full.split((self.split[0] / tv, self.split[1] / tv, 0.0), rng)?;
                (train, val, test)
            }
            None => full.split((self.split[0], self.split[1], self.split[2]), rng)?,
        };
        let mut splits = Splits {
            train,
            val,
            test,
            standardizer: None,
        };
        if self.standardizes() {
            let s = fit_standardizer(&splits.train);
            for d in [&mut splits.train, &mut splits.val, &mut splits.test] {
                s.transform_in_place(d)?;
            }
            splits.standardizer = Some(s);
        }
        Ok(splits)
    }
}

/// Per-feature standardization fitted on `train`; for a sequence set the statistics of each
/// step feature are pooled over the time steps (a recurrent cell applies the same weights at
/// every step) and repeated for every step, so the result still has one entry per feature.
fn fit_standardizer(train: &Dataset) -> Standardizer {
    match train.seq_len() {
        Some(t) if t > 1 => {
            let s = Standardizer::fit_rows(train.x(), train.step_dim());
            Standardizer {
                mean: s.mean.repeat(t),
                std: s.std.repeat(t),
            }
        }
        _ => Standardizer::fit(train),
    }
}
