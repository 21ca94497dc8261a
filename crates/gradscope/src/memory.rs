//! Memory estimates: the bytes a training run needs, computed from its config before anything
//! is allocated, and the limit they are checked against.
//!
//! [`estimate`] adds up, for a [`Config`] and the shape of its data ([`DataShape`]):
//!
//! - **parameters**, their **gradients** and the **optimizer state** (SGD with momentum and
//!   RMSprop/Adagrad keep one buffer per parameter, Adam two, AMSGrad three; centered RMSprop
//!   and RMSprop with momentum one more each), in the run's precision;
//! - the **activations**: what every layer keeps from the forward pass (its output;
//!   BatchNorm its normalized input, dropout its mask; a recurrent layer every step's input
//!   map, saved cell values and output) at the larger of the batch and the evaluation chunk
//!   of 1024 rows, and what backward keeps (∂L/∂input; a recurrent layer every step's two
//!   gate gradients) at the batch size; and the gathered **batches**;
//! - a **checkpoint** being written (parameters and optimizer state copied, turned into
//!   bytes and assembled into the file image: three copies);
//! - the **dataset** as stored (features as `f64`, one `usize` label or `f64` target per
//!   target), and what loading holds only for a while (**loading**: the file's text, the copy
//!   made when the set is split, the `f64` draw of the largest weight matrix at
//!   initialization).
//!
//! The peak is `dataset + max(loading, parameters + gradients + optimizer + activations +
//! batches + checkpoint)`. [`MemoryEstimate::check`] compares it with a [`MemoryLimit`] and
//! refuses a run above it with an error naming the config field that sizes the largest part.
//! [`MemoryLimit::for_this_machine`] is the default limit: 3/4 of the physical memory
//! (`/proc/meminfo`), of a cgroup's `memory.max` when that is lower, and of the address space
//! left under `ulimit -v` when that is lower still.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::config::{Config, DataConfig, DataSource, Splits, Task};
use crate::error::{Error, Result};
use crate::float::DType;
use crate::loss::Loss;
use crate::model::{ModelSpec, Norm};
use crate::optim::OptimizerConfig;
use crate::recurrent::Predict;

/// Rows of one evaluation chunk ([`crate::train::evaluate`]).
const EVAL_CHUNK: u64 = 1024;
/// Bytes of a file read to estimate what the whole file holds.
const SAMPLE_BYTES: usize = 1 << 16;

/// The config field (and its value) that sizes a part of the estimate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cause {
    /// Dotted path, e.g. `model.hidden[0]`, `data.n`, `training.batch_size`.
    pub field: String,
    /// Its value as written, e.g. `1000000000`.
    pub value: String,
}

impl Cause {
    fn new(field: impl Into<String>, value: impl std::fmt::Display) -> Self {
        Cause {
            field: field.into(),
            value: value.to_string(),
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.is_empty() {
            f.write_str(&self.field)
        } else {
            write!(f, "{} = {}", self.field, self.value)
        }
    }
}

/// One part of an estimate: bytes, and the field that sizes them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Part {
    /// Estimated bytes.
    pub bytes: u64,
    /// What drives them.
    pub cause: Cause,
}

/// The memory a run needs, by part (bytes; see the [module docs](self) for what each holds).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Learnable scalars (as [`crate::model::Model::num_params`] counts them).
    pub num_params: u64,
    /// The parameters' values (and BatchNorm's running statistics).
    pub parameters: Part,
    /// Their gradients.
    pub gradients: Part,
    /// The optimizer's buffers.
    pub optimizer: Part,
    /// What the layers keep for backward, at the larger of the batch and evaluation rows.
    pub activations: Part,
    /// The gathered input and target batches.
    pub batches: Part,
    /// A checkpoint serialized in memory before it is written.
    pub checkpoint: Part,
    /// The data set as stored.
    pub dataset: Part,
    /// Held only while loading and building (file text, split copy, `f64` weight draw).
    pub loading: Part,
}

impl MemoryEstimate {
    /// The bytes held during training (everything but the dataset and loading).
    pub fn training(&self) -> u64 {
        [
            &self.parameters,
            &self.gradients,
            &self.optimizer,
            &self.activations,
            &self.batches,
            &self.checkpoint,
        ]
        .iter()
        .fold(0u64, |a, p| a.saturating_add(p.bytes))
    }

    /// The estimated peak: `dataset + max(loading, training)`.
    pub fn total(&self) -> u64 {
        self.dataset
            .bytes
            .saturating_add(self.loading.bytes.max(self.training()))
    }

    /// The parts, named, in a fixed order.
    pub fn parts(&self) -> [(&'static str, &Part); 8] {
        [
            ("parameters", &self.parameters),
            ("gradients", &self.gradients),
            ("optimizer state", &self.optimizer),
            ("activations", &self.activations),
            ("batches", &self.batches),
            ("checkpoint", &self.checkpoint),
            ("data", &self.dataset),
            ("loading", &self.loading),
        ]
    }

    /// The field that sizes the most bytes (the parts it sizes added up).
    pub fn main_cause(&self) -> &Cause {
        let parts = self.parts();
        let weight = |c: &Cause| {
            parts
                .iter()
                .filter(|(_, p)| &p.cause == c)
                .fold(0u64, |a, (_, p)| a.saturating_add(p.bytes))
        };
        let mut best = &self.dataset.cause;
        for (_, p) in &parts {
            if weight(&p.cause) > weight(best) {
                best = &p.cause;
            }
        }
        best
    }

    /// One line: `total (parameters …, gradients …, …)`, parts of 0 bytes left out.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .parts()
            .iter()
            .filter(|(_, p)| p.bytes > 0)
            .map(|(name, p)| format!("{name} {}", format_bytes(p.bytes)))
            .collect();
        format!("{} ({})", format_bytes(self.total()), parts.join(", "))
    }

    /// An error when the estimate is above `limit`, naming the field that sizes the largest
    /// part, the estimate and the limit (and where the limit comes from).
    pub fn check(&self, limit: &MemoryLimit) -> Result<()> {
        if self.total() <= limit.bytes {
            return Ok(());
        }
        let cause = self.main_cause();
        Err(Error::config_field(
            cause.field.clone(),
            format!(
                "{}: the run needs an estimated {}, more than the memory limit of {} ({})",
                cause,
                self.describe(),
                format_bytes(limit.bytes),
                limit.origin
            ),
        ))
    }
}

/// The most memory a run may take, and where that number comes from (for messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryLimit {
    /// Bytes.
    pub bytes: u64,
    /// E.g. `3/4 of 23.5 GiB of physical memory`, `--max-memory 2G`.
    pub origin: String,
}

impl MemoryLimit {
    /// A limit of `bytes`, described by `origin`.
    pub fn new(bytes: u64, origin: impl Into<String>) -> Self {
        MemoryLimit {
            bytes,
            origin: origin.into(),
        }
    }

    /// 3/4 of the smallest of: the physical memory (`MemTotal` in `/proc/meminfo`), the
    /// cgroup's memory limit (`/sys/fs/cgroup/memory.max`, or v1's
    /// `memory/memory.limit_in_bytes`), and the address space left under `ulimit -v` (the
    /// soft `Max address space` of `/proc/self/limits` minus this process's `VmSize`).
    /// `None` when none of them can be read (not Linux).
    pub fn for_this_machine() -> Option<MemoryLimit> {
        let mut best: Option<(u64, String)> = None;
        let mut consider = |bytes: Option<u64>, what: &str| {
            if let Some(b) = bytes {
                if best.as_ref().is_none_or(|(x, _)| b < *x) {
                    best = Some((b, format!("{} of {what}", format_bytes(b))));
                }
            }
        };
        consider(physical_memory(), "physical memory");
        consider(cgroup_limit(), "the cgroup's memory limit");
        consider(address_space_left(), "address space left under ulimit -v");
        best.map(|(b, what)| MemoryLimit::new(b / 4 * 3, format!("3/4 of {what}")))
    }
}

fn read_proc_kib(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kib: u64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Physical memory in bytes (`MemTotal` of `/proc/meminfo`); `None` where unavailable.
pub fn physical_memory() -> Option<u64> {
    read_proc_kib("/proc/meminfo", "MemTotal:")
}

fn cgroup_limit() -> Option<u64> {
    [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .filter_map(|p| std::fs::read_to_string(p).ok())
    .filter_map(|t| t.trim().parse::<u64>().ok())
    // v1 reports "no limit" as a huge number.
    .find(|&b| b < 1 << 60)
}

fn address_space_left() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?;
    let soft = line["Max address space".len()..]
        .split_whitespace()
        .next()?;
    let soft: u64 = soft.parse().ok()?; // "unlimited" does not parse
    let used = read_proc_kib("/proc/self/status", "VmSize:").unwrap_or(0);
    Some(soft.saturating_sub(used))
}

/// Bytes as `512 B`, `1.5 KiB`, `23.5 GiB`, `2.0 TiB`.
pub fn format_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// Parses a size: a number of bytes with an optional unit — `K`, `M`, `G`, `T` (or `KiB` …
/// `TiB`) for powers of 1024, `KB`, `MB`, `GB`, `TB` for powers of 1000 — e.g. `2G`,
/// `1.5GiB`, `500MB`, `1073741824`.
pub fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = (&t[..split], t[split..].trim());
    let bad = || {
        Error::Invalid(format!(
            "`{text}` is not a size: use a number of bytes with an optional unit, e.g. 2G, \
             1.5GiB, 500MB"
        ))
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024f64.powi(2),
        "g" | "gib" => 1024f64.powi(3),
        "t" | "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return Err(bad()),
    };
    let bytes = v * mult;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(Error::Invalid(format!(
            "`{text}`: a size must be at least 1 byte and below 16 EiB"
        )));
    }
    Ok(bytes as u64)
}

/// The shape of a run's data, as far as memory goes: known exactly once loaded
/// ([`DataShape::of_splits`]), or predicted from the config and the files' headers and first
/// bytes without loading them ([`DataShape::predict`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataShape {
    /// Samples of all splits.
    pub samples: u64,
    /// Samples of the largest split (it sets the evaluation chunk).
    pub largest_split: u64,
    /// Training samples.
    pub train: u64,
    /// Features per sample (for sequences: steps × features per step).
    pub features: u64,
    /// Time steps per sample (1 for plain rows).
    pub steps: u64,
    /// Targets per sample: labels per sample (1, or one per step) or regression targets.
    pub targets: u64,
    /// Output width the model gets when `model.output` is 0 (classes, or targets per step).
    pub outputs: u64,
    /// Bytes of file text held while loading (0 for streamed and built-in data).
    pub file_bytes: u64,
    /// The field that sizes the data (e.g. `data.n`, `data.path`).
    pub cause: Cause,
}

impl DataShape {
    /// The shape of loaded splits.
    pub fn of_splits(splits: &Splits, cause: Cause) -> DataShape {
        let sets = [&splits.train, &splits.val, &splits.test];
        let t = &splits.train;
        DataShape {
            samples: sets.iter().map(|d| d.len() as u64).sum(),
            largest_split: sets.iter().map(|d| d.len() as u64).max().unwrap_or(0),
            train: t.len() as u64,
            features: t.dim() as u64,
            steps: t.seq_len().unwrap_or(1) as u64,
            targets: t.target_dim().max(t.target_steps()) as u64,
            outputs: t
                .num_classes()
                .unwrap_or(t.target_dim() / t.target_steps().max(1)) as u64,
            file_bytes: 0,
            cause,
        }
    }

    /// Predicts the shape from the config without loading the data: built-in sources from
    /// their sizes, IDX files from their headers, CSV, text and `.ts` files from their size
    /// and their first 64 KiB (relative paths against `base_dir`). An estimate: the loaded
    /// data may differ a little (a CSV's later rows, a text's rarer characters).
    pub fn predict(data: &DataConfig, base_dir: &Path) -> Result<DataShape> {
        let resolve = |p: &PathBuf| {
            if p.is_absolute() {
                p.clone()
            } else {
                base_dir.join(p)
            }
        };
        let n_or = |d: usize| data.n.unwrap_or(d) as u64;
        let cause = data_cause(data);
        let mut s = match data.source {
            DataSource::Digits => plain(1797, 64, 10, cause),
            DataSource::Spiral | DataSource::Gaussians => {
                plain(n_or(600), 2, data.classes.unwrap_or(3) as u64, cause)
            }
            DataSource::Circles | DataSource::Xor | DataSource::Moons => {
                plain(n_or(600), 2, 2, cause)
            }
            DataSource::Adding => {
                let t = data.seq_len.unwrap_or(50) as u64;
                let mut s = plain(n_or(1000), 2 * t, 1, cause);
                s.steps = t;
                s
            }
            DataSource::TemporalOrder => {
                let t = data.seq_len.unwrap_or(50) as u64;
                let v = crate::data::sequence::TEMPORAL_ORDER_SYMBOLS.len() as u64;
                let mut s = plain(n_or(1000), t * v, 4, cause);
                s.steps = t;
                s
            }
            DataSource::CopyMemory => {
                use crate::data::sequence::{COPY_CLASSES, COPY_INPUT_DIM, COPY_LENGTH};
                let delay = data.delay.unwrap_or(50) as u64;
                let t = delay.saturating_add(2 * COPY_LENGTH as u64);
                let mut s = plain(
                    n_or(1000),
                    t.saturating_mul(COPY_INPUT_DIM as u64),
                    COPY_CLASSES as u64,
                    cause,
                );
                s.steps = t;
                s.targets = t;
                s
            }
            DataSource::Csv => {
                let path = resolve(data.path.as_ref().expect("validated"));
                predict_csv(data, &path, cause)?
            }
            DataSource::Idx => predict_idx(data, &resolve, cause)?,
            DataSource::Text => predict_text(data, data.path.as_ref().map(resolve), cause)?,
            DataSource::Ucr => match &data.path {
                None => {
                    let mut s = plain(1096, 24, 2, cause);
                    s.steps = 24;
                    s
                }
                Some(p) => {
                    let mut s = predict_ts(&resolve(p), cause)?;
                    if let Some(tp) = &data.test_path {
                        let t = predict_ts(&resolve(tp), Cause::new("data.test_path", ""))?;
                        s.samples = s.samples.saturating_add(t.samples);
                        s.file_bytes = s.file_bytes.max(t.file_bytes);
                    }
                    s
                }
            },
        };
        if let Some(limit) = data.limit {
            if data.source != DataSource::Idx {
                s.samples = s.samples.min(limit as u64);
            }
        }
        let frac = |f: f64| (s.samples as f64 * f).ceil() as u64;
        s.train = frac(data.split[0]).min(s.samples);
        s.largest_split = frac(data.split.iter().copied().fold(0.0, f64::max)).min(s.samples);
        Ok(s)
    }

    /// Bytes of the data set as stored: features as `f64`, and per target a `usize` label or
    /// an `f64` value (both 8 bytes).
    pub fn bytes(&self) -> u64 {
        self.samples
            .saturating_mul(self.features.saturating_add(self.targets))
            .saturating_mul(8)
    }
}

fn plain(n: u64, features: u64, outputs: u64, cause: Cause) -> DataShape {
    DataShape {
        samples: n,
        largest_split: n,
        train: n,
        features,
        steps: 1,
        targets: 1,
        outputs,
        file_bytes: 0,
        cause,
    }
}

/// `data.n` unless the sequence length is the larger factor.
fn longer(n: &Cause, key: &str, t: u64) -> Cause {
    if t > n.value.parse::<u64>().unwrap_or(0) {
        Cause::new(format!("data.{key}"), t)
    } else {
        n.clone()
    }
}

/// The first [`SAMPLE_BYTES`] of a file (gunzipped when it is gzip), the file's length, and
/// an estimate of its decompressed length.
fn sample(path: &Path) -> Result<(Vec<u8>, u64)> {
    let src = path.display();
    let cannot = |e: std::io::Error| Error::Data(format!("{src}: cannot read: {e}"));
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    let len = file.metadata().map_err(cannot)?.len();
    let mut head = Vec::new();
    (&mut file)
        .take(SAMPLE_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(cannot)?;
    if !head.starts_with(&[0x1f, 0x8b]) {
        return Ok((head, len));
    }
    drop(file);
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut out = Vec::new();
    // A corrupt stream is the loader's to report; the estimate uses what inflates.
    let _ = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file))
        .take(SAMPLE_BYTES as u64)
        .read_to_end(&mut out);
    // gzip's trailer holds the length mod 2^32; a hint only, never below the compressed size
    // (the loaders bound what they inflate).
    let hint = gzip_size_hint(path).unwrap_or(0).max(len);
    Ok((out, hint))
}

fn gzip_size_hint(path: &Path) -> Option<u64> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    f.seek(SeekFrom::End(-4)).ok()?;
    let mut b = [0u8; 4];
    f.read_exact(&mut b).ok()?;
    Some(u32::from_le_bytes(b) as u64)
}

/// Scales a count seen in the first `seen` bytes to `total` bytes.
fn extrapolate(count: u64, seen: usize, total: u64) -> u64 {
    if seen == 0 || total <= seen as u64 {
        return count;
    }
    (count as f64 * total as f64 / seen as f64).ceil() as u64
}

fn predict_csv(data: &DataConfig, path: &Path, cause: Cause) -> Result<DataShape> {
    let (head, len) = sample(path)?;
    let text = String::from_utf8_lossy(&head);
    let delim = data.delimiter.as_deref().unwrap_or(",");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let cols = lines.first().map_or(1, |l| l.split(delim).count()) as u64;
    let rows = extrapolate(lines.len() as u64, head.len(), len);
    let regression = data.task == Some(Task::Regression);
    let mut s = plain(rows, cols.saturating_sub(1).max(1), 2, cause);
    if regression {
        s.outputs = 1;
    }
    if let Some(t) = data.seq_len {
        s.steps = t as u64;
    }
    s.file_bytes = len;
    Ok(s)
}

fn predict_idx(
    data: &DataConfig,
    resolve: &dyn Fn(&PathBuf) -> PathBuf,
    cause: Cause,
) -> Result<DataShape> {
    let images = data.images.as_ref().expect("validated");
    let (count, rows, cols) = crate::data::idx::read_idx_images_header(resolve(images))?;
    let kept = data.limit.map_or(count, |l| l.min(count)) as u64;
    let pixels = (rows as u64).saturating_mul(cols as u64);
    let mut s = plain(kept, pixels, 10, cause);
    if let Some(ti) = &data.test_images {
        let (tc, _, _) = crate::data::idx::read_idx_images_header(resolve(ti))?;
        s.samples = s.samples.saturating_add(tc as u64);
    }
    Ok(s)
}

fn predict_text(data: &DataConfig, path: Option<PathBuf>, cause: Cause) -> Result<DataShape> {
    let t = data.seq_len.unwrap_or(64) as u64;
    let stride = data.stride.map_or(t, |s| s as u64).max(1);
    let (chars, vocab, file_bytes) = match &path {
        None => {
            let text = crate::data::sequence::shakespeare_sample();
            let v = text.chars().collect::<std::collections::HashSet<_>>().len();
            let chars = text.chars().count();
            let chars = data.max_chars.map_or(chars, |m| m.min(chars));
            (chars as u64, v as u64, 0)
        }
        Some(p) => {
            let (head, len) = sample(p)?;
            let text = String::from_utf8_lossy(&head);
            let v = text.chars().collect::<std::collections::HashSet<_>>().len() as u64;
            let seen = text.chars().count() as u64;
            let mut chars = extrapolate(seen, head.len(), len);
            // Only the first max_chars characters (at most 4 bytes each) are read.
            let mut bytes = len;
            if let Some(m) = data.max_chars {
                chars = chars.min(m as u64);
                bytes = bytes.min((m as u64).saturating_mul(4).saturating_add(4));
            }
            (chars, v.max(1), bytes)
        }
    };
    let windows = if chars > t {
        (chars - t - 1) / stride + 1
    } else {
        0
    };
    let mut s = plain(windows, t.saturating_mul(vocab), vocab, cause);
    s.steps = t;
    s.targets = t;
    // The text and its character indices are held while the windows are cut.
    s.file_bytes = file_bytes.saturating_add(chars.saturating_mul(8));
    Ok(s)
}

fn predict_ts(path: &Path, cause: Cause) -> Result<DataShape> {
    let (head, len) = sample(path)?;
    let text = String::from_utf8_lossy(&head);
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('%'));
    let mut data_rows = 0u64;
    let mut values = 0u64;
    let mut in_data = false;
    for l in &mut lines {
        if in_data {
            data_rows += 1;
            if values == 0 {
                // v1,v2,…:w1,w2,…:label — every value but the label.
                let body = l.rsplit_once(':').map_or(l, |(b, _)| b);
                values = body.split([',', ':']).count() as u64;
            }
        } else if l.to_ascii_lowercase().starts_with("@data") {
            in_data = true;
        }
    }
    let rows = extrapolate(data_rows, head.len(), len);
    let mut s = plain(rows, values.max(1), 2, cause);
    s.file_bytes = len;
    Ok(s)
}

/// The input and output widths `spec` gets from the data when they are 0.
fn resolve_sizes(spec: &ModelSpec, data: &DataShape, loss: Loss) -> (u64, u64) {
    let input = match (spec.input(), spec.recurrent()) {
        (0, Some(_)) => data.features / data.steps.max(1),
        (0, None) => data.features,
        (i, _) => i as u64,
    };
    let output = match spec.output() {
        0 if loss == Loss::CrossEntropy => data.outputs,
        0 => data.outputs.max(1),
        o => o as u64,
    };
    (input.max(1), output.max(1))
}

/// Buffers per parameter the optimizer keeps.
fn optimizer_buffers(o: &OptimizerConfig) -> u64 {
    match o {
        OptimizerConfig::Sgd(c) => u64::from(c.momentum != 0.0),
        OptimizerConfig::Adam(c) => 2 + u64::from(c.amsgrad),
        OptimizerConfig::AdamW(c) => 2 + u64::from(c.amsgrad),
        OptimizerConfig::RmsProp(c) => 1 + u64::from(c.momentum != 0.0) + u64::from(c.centered),
        OptimizerConfig::Adagrad(_) => 1,
    }
}

fn mul(a: u64, b: u64) -> u64 {
    a.saturating_mul(b)
}

/// A dimension of the network and the field that sets it.
#[derive(Clone)]
struct Dim {
    size: u64,
    cause: Cause,
}

/// Estimates the memory of training `config` on data of shape `data` (see the
/// [module docs](self)). Sizes left at 0 in `config.model` are taken from `data`.
pub fn estimate(config: &Config, data: &DataShape) -> MemoryEstimate {
    let spec = &config.model;
    let elem = match config.dtype {
        DType::F32 => 4,
        DType::F64 => 8,
    };
    let (input, output) = resolve_sizes(spec, data, config.training.loss);
    let from_data = |given: usize, field: &str, size: u64| Dim {
        size,
        cause: if given == 0 {
            data.cause.clone()
        } else {
            Cause::new(field, given)
        },
    };
    let input = from_data(spec.input(), "model.input", input);
    let output = from_data(spec.output(), "model.output", output);
    let mlp = spec.mlp();
    let bs = match config.training.batch_size as u64 {
        0 => data.train,
        b => b.min(data.train.max(1)),
    };
    let bs = bs.max(1);
    // Forward buffers are sized by the larger of a batch and an evaluation chunk; backward
    // buffers (∂L/∂input, gate gradients) by the batch only.
    let rows = bs.max(EVAL_CHUNK.min(data.largest_split));
    let steps = data.steps.max(1);

    let mut params = 0u64;
    let mut buffers = 0u64; // BatchNorm's running statistics
    let mut acts = 0u64; // elements
    let mut keep = |fwd_rows: u64, fwd: u64, bwd_rows: u64, bwd: u64| {
        acts = acts
            .saturating_add(mul(fwd_rows, fwd))
            .saturating_add(mul(bwd_rows, bwd));
    };
    // The largest weight matrix: its elements and the field of its larger side.
    let mut largest = (0u64, input.cause.clone());
    let mut matrix = |out: &Dim, inp: &Dim, params: &mut u64| {
        let w = mul(out.size, inp.size);
        *params = params.saturating_add(w);
        if w > largest.0 {
            let side = if out.size >= inp.size { out } else { inp };
            largest = (w, side.cause.clone());
        }
    };

    // The recurrent encoder: per layer, W_ih [G·H, I], W_hh [G·H, H] and two biases; per row
    // and step, forward keeps the input map gᵢ, the cell's saved values, its output and
    // input; backward the two gate gradients and ∂L/∂input.
    let mut prev = input.clone();
    let (mut head_rows, mut head_bwd_rows) = (rows, bs);
    if let Some(r) = spec.recurrent() {
        let h = r.hidden as u64;
        let g = r.cell.gates() as u64;
        let gates = Dim {
            size: mul(g, h),
            cause: Cause::new("model.recurrent.hidden", h),
        };
        let hidden = Dim {
            size: h,
            cause: gates.cause.clone(),
        };
        for _ in 0..r.layers {
            matrix(&gates, &prev, &mut params);
            matrix(&gates, &hidden, &mut params);
            params = params.saturating_add(mul(2, gates.size));
            let fwd = mul(2 * g + 3, h).saturating_add(prev.size);
            let bwd = mul(2 * g, h).saturating_add(prev.size);
            keep(mul(rows, steps), fwd, mul(bs, steps), bwd);
            prev = hidden.clone();
        }
        if r.predict == Predict::EveryStep {
            head_rows = mul(rows, steps);
            head_bwd_rows = mul(bs, steps);
        }
    }

    // The MLP (or head): per Linear [out, in] (+ bias); every layer keeps its output
    // (BatchNorm also x̂, dropout its mask) and ∂L/∂input.
    let single = mlp.hidden.len() == 1 && spec.recurrent().is_none();
    for (k, &h) in mlp.hidden.iter().enumerate() {
        let field = if single {
            "model.hidden".to_string()
        } else {
            format!("model.hidden[{k}]")
        };
        let out = Dim {
            size: h as u64,
            cause: Cause::new(
                field,
                if single {
                    format!("[{h}]")
                } else {
                    h.to_string()
                },
            ),
        };
        matrix(&out, &prev, &mut params);
        let h = h as u64;
        if mlp.bias {
            params = params.saturating_add(h);
        }
        // Linear (output; ∂L/∂input) and activation (output; ∂L/∂input).
        let (mut fwd, mut bwd) = (mul(2, h), prev.size.saturating_add(h));
        if mlp.norm == Norm::Batchnorm {
            params = params.saturating_add(mul(2, h)); // γ, β
            buffers = buffers.saturating_add(mul(2, h)); // running mean and variance
            fwd = fwd.saturating_add(mul(2, h));
            bwd = bwd.saturating_add(h);
        }
        if mlp.dropout > 0.0 {
            fwd = fwd.saturating_add(mul(2, h));
            bwd = bwd.saturating_add(h);
        }
        if mlp.residual && prev.size == h {
            fwd = fwd.saturating_add(h);
            bwd = bwd.saturating_add(h);
        }
        keep(head_rows, fwd, head_bwd_rows, bwd);
        prev = out;
    }
    matrix(&output, &prev, &mut params);
    if mlp.bias {
        params = params.saturating_add(output.size);
    }
    // Output layer and head activation (outputs; ∂L/∂input), the loss gradient.
    keep(
        head_rows,
        mul(2, output.size),
        head_bwd_rows,
        prev.size.saturating_add(mul(3, output.size)),
    );

    let (largest_matrix, param_cause) = largest;
    // What sizes the activations: the rows of a batch, the time steps or the widths.
    let act_cause = if steps > 1 && steps >= rows {
        data.cause.clone()
    } else if rows > 1 && rows == bs && rows >= largest_matrix.isqrt() {
        Cause::new("training.batch_size", config.training.batch_size)
    } else {
        param_cause.clone()
    };
    let opt = optimizer_buffers(&config.training.optimizer());
    let dataset = data.bytes();
    let part = |bytes: u64, cause: &Cause| Part {
        bytes,
        cause: cause.clone(),
    };
    let load_data = dataset.saturating_add(data.file_bytes);
    let draw = mul(largest_matrix, 8);
    let loading = if draw > load_data {
        part(draw, &param_cause)
    } else {
        part(load_data, &data.cause)
    };
    let batch_elems = mul(rows, data.features.saturating_add(data.targets));
    MemoryEstimate {
        num_params: params,
        parameters: part(mul(params.saturating_add(buffers), elem), &param_cause),
        gradients: part(mul(params, elem), &param_cause),
        optimizer: part(mul(mul(params, opt), elem), &param_cause),
        activations: part(mul(acts, elem), &act_cause),
        batches: part(mul(batch_elems, elem), &act_cause),
        // The state dict and optimizer buffers copied, their bytes, and the file image.
        checkpoint: part(mul(mul(params, 3 * (1 + opt)), elem), &param_cause),
        dataset: part(dataset, &data.cause),
        loading,
    }
}

/// Checks the run `config` against `limit` before its data is loaded, with the data's shape
/// predicted ([`DataShape::predict`]).
pub fn check_config(config: &Config, base_dir: &Path, limit: &MemoryLimit) -> Result<()> {
    let shape = DataShape::predict(&config.data, base_dir)?;
    estimate(config, &shape).check(limit)
}

/// Checks the run `config` with the model `spec` (sizes resolved) on the loaded `splits`
/// against `limit`, before the model is built.
pub(crate) fn check_loaded(
    config: &Config,
    spec: &ModelSpec,
    splits: &Splits,
    limit: &MemoryLimit,
) -> Result<()> {
    let shape = DataShape::of_splits(splits, data_cause(&config.data));
    let mut resolved = config.clone();
    resolved.model = spec.clone();
    estimate(&resolved, &shape).check(limit)
}

/// The field that sizes the data of `data` (without reading any file).
pub fn data_cause(data: &DataConfig) -> Cause {
    let n = |d: usize| Cause::new("data.n", data.n.unwrap_or(d));
    let path = |key: &str, p: &Option<PathBuf>| match p {
        Some(p) => Cause::new(
            format!("data.{key}"),
            format!("{:?}", p.display().to_string()),
        ),
        None => Cause::new(
            "data.source",
            serde_json::to_string(&data.source).unwrap_or_default(),
        ),
    };
    match data.source {
        DataSource::Digits => path("path", &None),
        DataSource::Spiral
        | DataSource::Gaussians
        | DataSource::Circles
        | DataSource::Xor
        | DataSource::Moons => n(600),
        DataSource::Adding | DataSource::TemporalOrder => {
            longer(&n(1000), "seq_len", data.seq_len.unwrap_or(50) as u64)
        }
        DataSource::CopyMemory => longer(&n(1000), "delay", data.delay.unwrap_or(50) as u64),
        DataSource::Csv | DataSource::Ucr => path("path", &data.path),
        DataSource::Idx => path("images", &data.images),
        DataSource::Text => {
            let t = data.seq_len.unwrap_or(64);
            match (data.stride, data.max_chars) {
                (Some(s), _) if s < t => Cause::new("data.stride", s),
                (_, Some(m)) => Cause::new("data.max_chars", m),
                _ => path("path", &data.path),
            }
        }
    }
}
