//! The run configuration: one TOML file describing data, model, training and output.
//!
//! Every table rejects unknown keys; every value is checked, and errors name the field (and,
//! when the value came from the file, its line). `--set path=value` overrides any field after
//! the file is read. The schema is documented in `docs/config.md` with examples in
//! `examples/`.

mod data;
mod locate;
mod train_eval;

pub use data::{DataConfig, DataSource, HeaderSpec, LabelSpec, Splits, Task};
pub(crate) use locate::line_of;
pub use train_eval::TrainEval;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::float::DType;
use crate::loss::Loss;
use crate::model::ModelSpec;
use crate::optim::{ClipConfig, LrScheduleConfig, OptimizerConfig};
use crate::rng::Rng;

fn default_dtype() -> DType {
    DType::F32
}
fn default_loss() -> Loss {
    Loss::CrossEntropy
}
fn default_epochs() -> usize {
    10
}
fn default_batch() -> usize {
    32
}
fn default_true() -> bool {
    true
}
fn default_one() -> usize {
    1
}

/// The whole run.
///
/// Built in code with [`Config::new`] and the `with_*` builders (every table not given keeps
/// its defaults), or parsed from TOML with [`Config::parse`] / [`Config::load`]:
///
/// ```
/// use gradscope::config::{Config, TrainingConfig};
/// use gradscope::model::MlpSpec;
/// use gradscope::Activation;
///
/// let config = Config::new(MlpSpec::new(0, &[32, 32], 0, Activation::Relu))
///     .with_seed(7)
///     .with_training(TrainingConfig::default().with_epochs(3).with_lr(0.01));
/// config.validate()?;
/// assert_eq!(config.training.optimizer().lr(), 0.01);
/// // The same config as the CLI's TOML file:
/// let text = toml::to_string(&config).expect("serializable");
/// assert_eq!(Config::parse(&text, "same.toml", &[])?, config);
/// # Ok::<(), gradscope::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Seed of every random draw (data split, init, shuffling, dropout), unless one of the
    /// three streams has its own seed below.
    #[serde(default)]
    pub seed: u64,
    /// Seed of the data stream (synthetic samples, `limit`'s choice, the split); default
    /// `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_seed: Option<u64>,
    /// Seed of the initialization stream (weights, biases, and the dropout/RReLU generator
    /// forked from it); default `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_seed: Option<u64>,
    /// Seed of the shuffling stream (the order of the training samples each epoch); default
    /// `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shuffle_seed: Option<u64>,
    /// Precision of the engine: `"f32"` (fast) or `"f64"` (for checking).
    #[serde(default = "default_dtype")]
    pub dtype: DType,
    /// Where the data comes from.
    #[serde(default)]
    pub data: DataConfig,
    /// The network.
    pub model: ModelSpec,
    /// How it is trained.
    #[serde(default)]
    pub training: TrainingConfig,
    /// Where results go.
    #[serde(default)]
    pub output: OutputConfig,
    /// Per-layer gradient instrumentation (`diagnostics.jsonl`); off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<crate::diagnostics::DiagnosticsConfig>,
}

impl Default for Config {
    /// Seed 0, f32, the embedded digits, an MLP with sizes from the data and no hidden layer,
    /// the `[training]` defaults, no diagnostics.
    fn default() -> Self {
        Config::new(crate::model::MlpSpec::default())
    }
}

impl Config {
    /// A config for `model` with every other table at its defaults.
    pub fn new(model: impl Into<ModelSpec>) -> Self {
        Config {
            seed: 0,
            data_seed: None,
            init_seed: None,
            shuffle_seed: None,
            dtype: default_dtype(),
            data: DataConfig::default(),
            model: model.into(),
            training: TrainingConfig::default(),
            output: OutputConfig::default(),
            diagnostics: None,
        }
    }

    /// With this seed (data split, initialization, shuffling and dropout all derive from it).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The generators of the data, initialization and shuffling streams. Stream k (0, 1, 2)
    /// of seed s is the (k+1)-th fork of `Rng::seed(s)`, so with no per-stream seed (or each
    /// set to `seed`) the three are exactly the forks of one `Rng::seed(seed)` in that order,
    /// as before the per-stream seeds existed.
    ///
    /// ```
    /// use gradscope::config::Config;
    ///
    /// let one = Config::default().with_seed(5);
    /// let mut three = Config::default().with_seed(9);
    /// (three.data_seed, three.init_seed, three.shuffle_seed) = (Some(5), Some(5), Some(5));
    /// assert_eq!(one.stream_rngs(), three.stream_rngs());
    /// ```
    pub fn stream_rngs(&self) -> (Rng, Rng, Rng) {
        fn stream(seed: u64, k: usize) -> Rng {
            let mut master = Rng::seed(seed);
            let mut r = master.fork();
            for _ in 0..k {
                r = master.fork();
            }
            r
        }
        (
            stream(self.data_seed.unwrap_or(self.seed), 0),
            stream(self.init_seed.unwrap_or(self.seed), 1),
            stream(self.shuffle_seed.unwrap_or(self.seed), 2),
        )
    }

    /// The seeds of the data, initialization and shuffling streams (`seed` where a stream
    /// has none of its own).
    pub fn stream_seeds(&self) -> [u64; 3] {
        [
            self.data_seed.unwrap_or(self.seed),
            self.init_seed.unwrap_or(self.seed),
            self.shuffle_seed.unwrap_or(self.seed),
        ]
    }

    /// With this `[data]` table.
    pub fn with_data(mut self, data: DataConfig) -> Self {
        self.data = data;
        self
    }

    /// With this `[training]` table.
    pub fn with_training(mut self, training: TrainingConfig) -> Self {
        self.training = training;
        self
    }

    /// With the gradient scope on (the `[diagnostics]` table).
    pub fn with_diagnostics(mut self, diagnostics: crate::diagnostics::DiagnosticsConfig) -> Self {
        self.diagnostics = Some(diagnostics);
        self
    }
}

/// The `[training]` table.
///
/// Its defaults: cross-entropy, 10 epochs, batches of 32, shuffled, Adam with PyTorch's
/// defaults (lr = 1e-3), no schedule, no clipping.
///
/// ```
/// use gradscope::config::TrainingConfig;
/// use gradscope::optim::{AdamConfig, ClipConfig, OptimizerConfig};
///
/// let t = TrainingConfig::default();
/// assert_eq!(t.optimizer(), OptimizerConfig::Adam(AdamConfig::default()));
/// assert_eq!(t.optimizer().lr(), 1e-3);
/// assert_eq!((t.epochs, t.batch_size), (10, 32));
///
/// let t = t.with_lr(0.05).with_clip(ClipConfig::Norm { max_norm: 1.0 });
/// assert_eq!(t.optimizer().lr(), 0.05);
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// `"cross_entropy"`, `"bce_with_logits"` or `"mse"`.
    #[serde(default = "default_loss")]
    pub loss: Loss,
    /// Passes over the training set.
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Samples per step: 1 = stochastic, n or 0 = full batch, else mini-batch.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Learning rate (overrides `optimizer.lr` when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// The optimizer, e.g. `{ kind = "sgd", momentum = 0.9 }`.
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule, e.g. `{ kind = "cosine", t_max = 20 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<LrScheduleConfig>,
    /// Gradient clipping, e.g. `{ kind = "norm", max_norm = 1.0 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<ClipConfig>,
    /// Reshuffle the training set every epoch.
    #[serde(default = "default_true")]
    pub shuffle: bool,
    /// Write a checkpoint every this many epochs (the last epoch always gets one).
    #[serde(default = "default_one")]
    pub checkpoint_every: usize,
    /// Stop after this many steps (for quick runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<u64>,
    /// Regression only: report as accuracy the fraction of samples whose every output is
    /// within this of its target (0.04 for the adding problem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Keep the weights of the epoch with the best validation score (accuracy, or the loss
    /// when there is none) and report the test metrics of those weights too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_best: bool,
    /// Early stopping: stop after this many epochs without a better validation score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patience: Option<usize>,
    /// Report the scalars of every this many steps (step, loss, gradient norm, clipping) to
    /// the observer's `on_scalars` (the CLI's `steps.jsonl`). Absent = off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalars_every: Option<u64>,
    /// How each epoch's `train_loss`/`train_accuracy` are measured: `"running"` (the mean over
    /// the epoch's batches as trained, free) or `"full"` (an eval-mode pass over the training
    /// set at the end of the epoch).
    #[serde(default, skip_serializing_if = "TrainEval::is_running")]
    pub train_eval: TrainEval,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

/// The `[output]` table.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Output directory (the CLI's `--out` overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
}

impl TrainingConfig {
    /// With this many epochs.
    pub fn with_epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// With this batch size (0 = full batch).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// With this optimizer.
    pub fn with_optimizer(mut self, optimizer: OptimizerConfig) -> Self {
        self.optimizer = optimizer;
        self
    }

    /// With this learning rate (overrides the optimizer's).
    pub fn with_lr(mut self, lr: f64) -> Self {
        self.lr = Some(lr);
        self
    }

    /// With this loss.
    pub fn with_loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// With gradient clipping.
    pub fn with_clip(mut self, clip: ClipConfig) -> Self {
        self.clip = Some(clip);
        self
    }

    /// The optimizer with `lr` applied.
    pub fn optimizer(&self) -> OptimizerConfig {
        let mut o = self.optimizer.clone();
        if let Some(lr) = self.lr {
            match &mut o {
                OptimizerConfig::Sgd(c) => c.lr = lr,
                OptimizerConfig::Adam(c) => c.lr = lr,
                OptimizerConfig::AdamW(c) => c.lr = lr,
                OptimizerConfig::RmsProp(c) => c.lr = lr,
                OptimizerConfig::Adagrad(c) => c.lr = lr,
            }
        }
        o
    }
}

/// A config together with the text it came from (for line numbers) and its file name.
#[derive(Clone, Debug)]
pub struct LoadedConfig {
    /// The parsed, overridden and validated config.
    pub config: Config,
    /// Where it came from (a path, or `<string>`).
    pub source: String,
    /// Directory relative data paths are resolved against.
    pub base_dir: PathBuf,
}

pub(crate) fn toml_error(source: &str, text: &str, e: toml::de::Error) -> Error {
    // toml's message already carries "line N, column M" and a snippet; the line is typed too.
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    // A table's own check (the `[model]` table's `depth`/`width`) starts its message with
    // the field's dotted path: the error is typed with it.
    let field = e
        .message()
        .split_once(' ')
        .map(|(head, _)| head)
        .filter(|h| {
            h.starts_with("model.")
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        })
        .map(str::to_string);
    Error::config_parse(source, line, field, e.to_string())
}

/// Parses `path=value` (value as a TOML value, or a bare string) and sets it in `root`.
fn apply_set(root: &mut toml::Value, assignment: &str) -> Result<()> {
    let (path, raw) = assignment.split_once('=').ok_or_else(|| {
        Error::config(format!(
            "--set `{assignment}`: expected KEY=VALUE, e.g. training.lr=0.1"
        ))
    })?;
    let path = path.trim();
    let raw = raw.trim();
    let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let keys: Vec<&str> = path.split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(Error::config(format!(
            "--set `{assignment}`: empty key in `{path}`"
        )));
    }
    let mut cur = root;
    for (i, key) in keys.iter().enumerate() {
        let table = cur.as_table_mut().ok_or_else(|| {
            Error::config_field(
                path,
                format!("--set {path}: `{}` is not a table", keys[..i].join(".")),
            )
        })?;
        if i + 1 == keys.len() {
            if i == 1 && keys[0] == "model" {
                replace_hidden_shorthand(table, key);
            }
            table.insert((*key).to_string(), value);
            return Ok(());
        }
        cur = table
            .entry((*key).to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    }
    unreachable!("keys is non-empty")
}

/// `--set model.hidden=…` replaces `model.depth`/`model.width`, and `--set model.depth=…` or
/// `model.width=…` replaces `model.hidden` (its length and common width fill in the other
/// shorthand key when it is missing), so an override never conflicts with the form the file
/// (or a resolved config, which always has `hidden`) used.
fn replace_hidden_shorthand(model: &mut toml::Table, key: &str) {
    match key {
        "hidden" => {
            model.remove("depth");
            model.remove("width");
        }
        "depth" | "width" => {
            let Some(hidden) = model.remove("hidden") else {
                return;
            };
            let widths: Vec<i64> = hidden
                .as_array()
                .map(|a| a.iter().filter_map(toml::Value::as_integer).collect())
                .unwrap_or_default();
            let uniform = !widths.is_empty() && widths.iter().all(|w| *w == widths[0]);
            if uniform {
                model
                    .entry("depth")
                    .or_insert(toml::Value::Integer(widths.len() as i64));
                model
                    .entry("width")
                    .or_insert(toml::Value::Integer(widths[0]));
            } else if !widths.is_empty() {
                // A list of different widths has no shorthand: keep it, so the error says
                // both forms are given.
                model.insert("hidden".into(), hidden);
            }
        }
        _ => {}
    }
}

impl Config {
    /// Parses TOML text, applies `--set` overrides, and validates. `source` names the file
    /// in errors.
    ///
    /// ```
    /// use gradscope::config::Config;
    ///
    /// let text = r#"
    /// seed = 1
    /// [model]
    /// hidden = [64, 64]
    /// activation = "elu(alpha=0.5)"
    /// [training]
    /// optimizer = { kind = "sgd", lr = 0.1, momentum = 0.9 }
    /// "#;
    /// let sets = ["model.activation=\"tanh\"".to_string()];
    /// let config = Config::parse(text, "run.toml", &sets)?;
    /// assert_eq!(config.model.mlp().hidden, [64, 64]);
    /// assert_eq!(config.model.mlp().activation.to_string(), "tanh");
    /// assert_eq!(config.training.optimizer().kind(), "sgd");
    /// # Ok::<(), gradscope::Error>(())
    /// ```
    pub fn parse(text: &str, source: &str, sets: &[String]) -> Result<Config> {
        let config: Config = toml::from_str(text).map_err(|e| toml_error(source, text, e))?;
        let config = if sets.is_empty() {
            config
        } else {
            let mut value = toml::Value::try_from(&config)
                .map_err(|e| Error::config(format!("{source}: {e}")))?;
            for s in sets {
                apply_set(&mut value, s)?;
            }
            let keys: Vec<&str> = sets
                .iter()
                .map(|s| s.split('=').next().unwrap_or(""))
                .collect();
            value.try_into().map_err(|e: toml::de::Error| {
                set_error(
                    &keys,
                    format!("{source} with --set {}: {}", keys.join(", "), e.message()),
                )
            })?
        };
        // A field's error gets the line where the file sets it.
        config.validate().map_err(|e| {
            let line = e.field().and_then(|f| line_of(text, f));
            e.in_file(source, line)
        })?;
        Ok(config)
    }

    /// This config with `--set`-style overrides (`KEY=VALUE`, the value in TOML syntax)
    /// applied and validated.
    pub fn with_overrides(&self, sets: &[String]) -> Result<Config> {
        if sets.is_empty() {
            return Ok(self.clone());
        }
        let mut value =
            toml::Value::try_from(self).map_err(|e| Error::config(format!("config: {e}")))?;
        for s in sets {
            apply_set(&mut value, s)?;
        }
        let config: Config = value.try_into().map_err(|e: toml::de::Error| {
            let keys: Vec<&str> = sets
                .iter()
                .map(|s| s.split('=').next().unwrap_or(""))
                .collect();
            set_error(&keys, format!("--set {}: {}", sets.join(", "), e.message()))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path, sets: &[String]) -> Result<LoadedConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read config `{}`: {e}", path.display())))?;
        let source = path.display().to_string();
        let config = Config::parse(&text, &source, sets)?;
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Ok(LoadedConfig {
            config,
            source,
            base_dir,
        })
    }

    /// Checks every value; the error names the field ([`Error::field`]) and its message
    /// starts with the field's dotted path.
    pub fn validate(&self) -> Result<()> {
        self.data.validate()?;
        if let Some(d) = &self.diagnostics {
            d.validate()?;
        }
        let t = &self.training;
        if t.epochs == 0 && t.max_steps.is_none() {
            return Err(Error::at_field("training.epochs", "must be >= 1"));
        }
        if t.max_steps == Some(0) {
            return Err(Error::at_field(
                "training.max_steps",
                "must be >= 1 (or absent for no step limit)",
            ));
        }
        if t.checkpoint_every == 0 {
            return Err(Error::at_field("training.checkpoint_every", "must be >= 1"));
        }
        if t.patience == Some(0) {
            return Err(Error::at_field(
                "training.patience",
                "must be >= 1 (epochs without a better validation score; absent = no early \
                 stopping)",
            ));
        }
        if t.scalars_every == Some(0) {
            return Err(Error::at_field(
                "training.scalars_every",
                "must be >= 1 (or absent for no per-step scalars)",
            ));
        }
        if let Some(lr) = t.lr {
            if !(lr.is_finite() && lr >= 0.0) {
                return Err(Error::at_field(
                    "training.lr",
                    format_args!("= {lr} must be a finite number >= 0"),
                ));
            }
        }
        if let Some(tol) = t.tolerance {
            if !(tol.is_finite() && tol > 0.0) {
                return Err(Error::at_field(
                    "training.tolerance",
                    format_args!("= {tol} must be > 0"),
                ));
            }
            if t.loss != Loss::Mse {
                return Err(Error::at_field(
                    "training.tolerance",
                    format_args!(
                        "applies to regression (loss = \"mse\"), not \"{}\"",
                        t.loss.name()
                    ),
                ));
            }
        }
        t.optimizer()
            .validate()
            .map_err(|e| Error::at_field("training.optimizer", e))?;
        if let Some(c) = &t.clip {
            c.validate()
                .map_err(|e| Error::at_field("training.clip", e))?;
        }
        let m = self.model.mlp();
        if m.head != crate::Activation::Identity
            && matches!(t.loss, Loss::CrossEntropy | Loss::BceWithLogits)
        {
            return Err(Error::at_field(
                "model.head",
                format_args!(
                    "= \"{}\": training.loss = \"{}\" takes raw logits; use head = \"identity\"",
                    m.head,
                    t.loss.name()
                ),
            ));
        }
        // Sizes may come from the data (0), so only the rest of the spec is checked here.
        let mut probe = self.model.clone();
        probe.set_input(probe.input().max(1));
        probe.set_output(probe.output().max(2));
        probe.validate().map_err(|e| match e {
            Error::Invalid(msg) => Error::config(msg),
            other => other,
        })?;
        Ok(())
    }
}

/// The error of `--set` values that do not fit the schema: about the field when one was set.
fn set_error(keys: &[&str], message: String) -> Error {
    match keys {
        [one] => Error::config_field(one.trim(), message),
        _ => Error::config(message),
    }
}
