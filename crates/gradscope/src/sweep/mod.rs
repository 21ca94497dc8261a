//! Sweeps: one base config, axes over any config key and repeats over seeds, expanded into
//! runs in a fixed order with stable ids, each run trained like `gradscope train` with its
//! verdict at initialization recorded next to its outcome, and the results aggregated into a
//! tidy table.
//!
//! - [`Sweep`]: the definition (a sweep file, `docs/sweeps.md`, or built in code with
//!   [`Sweep::new`] and [`Axis`]).
//! - [`Sweep::points`] and [`Sweep::runs`]: the expansion — the cartesian product of the axes
//!   in file order (the first axis outermost), every point repeated over the seeds; a point's
//!   id is a hash of its key = value assignments, so it does not change when the axes are
//!   reordered or another value is added to an axis. [`Sweep::shard`] splits the runs into N
//!   disjoint shards (run i goes to shard i mod N).
//! - [`run_one`] / [`train_run`]: trains one run from scratch with the gradient scope on its
//!   first step, returning a [`RunResult`] (the `Summary` and the verdict at initialization).
//! - [`Results`]: the results of a sweep's runs as tables — one row per run
//!   ([`Results::table`], `results.csv`) and mean, standard deviation and count per point
//!   ([`Results::summary`], `summary.csv`) — and grouped statistics ([`Results::group`]) for
//!   charts.
//!
//! A run's result depends only on its config (seed included): not on the order, the thread
//! or the process that ran it, provided the engine runs single-threaded
//! (`kernels::parallel::set_single_threaded`, as `gradscope sweep` does).

mod axis;
mod plan;
mod results;
mod run;
mod table;
pub mod value;

pub use axis::{Axis, AxisKind, MAX_AXIS_VALUES};
pub use plan::{PointSpec, RunSpec, Shard, MAX_RUNS};
pub use results::{Group, Results, Stats, AT_INIT_COLUMNS, IDENTITY_COLUMNS, SUMMARY_METRICS};
pub use run::{
    run_one, train_run, ActivationStep, AtInit, LayerActivation, RunResult, Trained,
    RUN_RESULT_SCHEMA_VERSION,
};
pub use table::{Cell, Table};

use std::path::{Path, PathBuf};

use crate::config::{line_of, Config, LoadedConfig};
use crate::error::{Error, Result};

/// The version of `sweep.json` (the definition a sweep directory was run with): the
/// library's one output schema version.
pub const SWEEP_SCHEMA_VERSION: u32 = crate::io::SCHEMA_VERSION;

/// A sweep: a base config, axes, and the seeds every point is repeated with.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sweep {
    /// Its name (the sweep file's stem unless the file gives one).
    pub name: String,
    /// The config every run starts from (the file's `base`, with its `set` overrides).
    pub base: Config,
    /// The axes, outermost first.
    pub axes: Vec<Axis>,
    /// The config key each repeat sets to its seed (`seed`).
    pub seed_key: String,
    /// The seeds each point is run with, in order (one per repeat).
    pub seeds: Vec<u64>,
    /// The metric the report plots (a column of `results.csv`); None: the first of
    /// test_accuracy, val_accuracy, test_loss, val_loss, train_loss that has values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Where it came from (the sweep file), for messages.
    #[serde(skip, default = "unknown_source")]
    pub source: String,
    /// Directory the base config's relative paths (data files) are resolved against.
    #[serde(skip, default = "dot")]
    pub base_dir: PathBuf,
}

fn unknown_source() -> String {
    "<sweep>".into()
}

fn dot() -> PathBuf {
    PathBuf::from(".")
}

/// The sweep file (see docs/sweeps.md).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    name: Option<String>,
    base: toml::Value,
    #[serde(default)]
    set: Vec<String>,
    repeats: Option<usize>,
    seeds: Option<Vec<u64>>,
    seed_key: Option<String>,
    metric: Option<String>,
    #[serde(default, rename = "axis")]
    axes: Vec<axis::AxisFile>,
}

impl Sweep {
    /// A sweep of `base` without axes, one run at the base's seed (add axes with
    /// [`Sweep::with_axis`], seeds with [`Sweep::with_repeats`] or [`Sweep::with_seeds`]).
    pub fn new(name: impl Into<String>, base: Config) -> Sweep {
        let seed = base.seed;
        Sweep {
            name: name.into(),
            base,
            axes: Vec::new(),
            seed_key: "seed".into(),
            seeds: vec![seed],
            metric: None,
            source: unknown_source(),
            base_dir: dot(),
        }
    }

    /// With another axis (inside the ones before it).
    pub fn with_axis(mut self, axis: Axis) -> Sweep {
        self.axes.push(axis);
        self
    }

    /// Every point run with these seeds.
    pub fn with_seeds(mut self, seeds: Vec<u64>) -> Sweep {
        self.seeds = seeds;
        self
    }

    /// Every point run `n` times, with seeds base, base + 1, …, base + n − 1 (base: the base
    /// config's value at the seed key).
    pub fn with_repeats(mut self, n: usize) -> Result<Sweep> {
        let first = seed_of(&self.base, &self.seed_key)?;
        self.seeds = (0..n as u64).map(|r| first.wrapping_add(r)).collect();
        Ok(self)
    }

    /// Each repeat sets `key` (default `seed`) to its seed: e.g. an initialization seed, to
    /// repeat over initializations with the data split kept.
    pub fn with_seed_key(mut self, key: impl Into<String>) -> Sweep {
        self.seed_key = key.into();
        self
    }

    /// Reads a sweep file; `sets` (`--set KEY=VALUE`) are applied to the base config after
    /// the file's own `set`.
    pub fn load(path: &Path, sets: &[String]) -> Result<Sweep> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read sweep `{}`: {e}", path.display())))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(dot, Path::to_path_buf);
        let stem = path
            .file_stem()
            .map_or_else(|| "sweep".into(), |s| s.to_string_lossy().into_owned());
        Sweep::parse(&text, &path.display().to_string(), &stem, &dir, sets)
    }

    /// Parses a sweep file's text. `source` names it in errors, `default_name` is its name
    /// when it gives none, `dir` is where a base config path is resolved from.
    pub fn parse(
        text: &str,
        source: &str,
        default_name: &str,
        dir: &Path,
        sets: &[String],
    ) -> Result<Sweep> {
        let file: SweepFile =
            toml::from_str(text).map_err(|e| crate::config::toml_error(source, text, e))?;
        let at =
            |key: &str, m: String| Error::config_field(key, m).in_file(source, line_of(text, key));
        let mut all_sets = file.set.clone();
        all_sets.extend(sets.iter().cloned());
        let (base, base_dir) = match &file.base {
            toml::Value::String(p) => {
                let path = dir.join(p);
                let loaded = Config::load(&path, &all_sets).map_err(|e| {
                    at(
                        "base",
                        format!("base = {p:?} (resolved to `{}`): {e}", path.display()),
                    )
                })?;
                (loaded.config, loaded.base_dir)
            }
            toml::Value::Table(t) => {
                let config: Config = toml::Value::Table(t.clone())
                    .try_into()
                    .map_err(|e: toml::de::Error| at("base", format!("[base]: {}", e.message())))?;
                let config = config
                    .with_overrides(&all_sets)
                    .map_err(|e| at("base", format!("[base]: {e}")))?;
                (config, dir.to_path_buf())
            }
            other => {
                return Err(at(
                    "base",
                    format!(
                        "base = {} must be a config file path (relative to the sweep file) \
                         or a [base] table",
                        value::inline(other)
                    ),
                ))
            }
        };
        let mut axes = Vec::with_capacity(file.axes.len());
        let axis_lines = header_lines(text, "axis");
        for (i, a) in file.axes.into_iter().enumerate() {
            let axis = a
                .build(&format!("axis {}", i + 1))
                .map_err(|e| e.in_file(source, axis_lines.get(i).copied()))?;
            axes.push(axis);
        }
        let name = file.name.unwrap_or_else(|| default_name.to_string());
        let mut sweep = Sweep::new(name, base);
        sweep.source = source.to_string();
        sweep.base_dir = base_dir;
        sweep.axes = axes;
        sweep.metric = file.metric;
        if let Some(k) = file.seed_key {
            sweep.seed_key = k;
        }
        sweep = match (file.repeats, file.seeds) {
            (Some(_), Some(_)) => {
                return Err(at(
                    "seeds",
                    "give repeats (seeds counted from the base's) or seeds = [...], not both"
                        .into(),
                ))
            }
            (Some(0), None) => return Err(at("repeats", "repeats must be >= 1".into())),
            (Some(n), None) => sweep
                .with_repeats(n)
                .map_err(|e| at("seed_key", e.to_string()))?,
            (None, Some(s)) => sweep.with_seeds(s),
            (None, None) => {
                let s = seed_of(&sweep.base, &sweep.seed_key)
                    .map_err(|e| at("seed_key", e.to_string()))?;
                sweep.with_seeds(vec![s])
            }
        };
        sweep.check().map_err(|e| {
            let line = e.field().and_then(|f| line_of(text, f));
            e.in_file(source, line)
        })?;
        Ok(sweep)
    }

    /// Checks what the axes and seeds can be checked for without building configs: no key
    /// set by two axes or by an axis and the seeds, seeds given and distinct, the number of
    /// runs within [`MAX_RUNS`].
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::config(m));
        if self.seeds.is_empty() {
            return bad("seeds = [] gives no run".into());
        }
        for (i, s) in self.seeds.iter().enumerate() {
            if self.seeds[..i].contains(s) {
                return bad(format!("seed {s} is given twice"));
            }
        }
        if self.seed_key.trim().is_empty() || self.seed_key.split('.').any(str::is_empty) {
            return bad(format!(
                "seed_key = {:?} is not a config path",
                self.seed_key
            ));
        }
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for (i, a) in self.axes.iter().enumerate() {
            for k in &a.keys {
                if k == &self.seed_key {
                    return bad(format!(
                        "axis {} sets {k}, which the repeats set (seed_key): give the seeds \
                         with repeats or seeds = [...]",
                        i + 1
                    ));
                }
                if let Some((_, j)) = seen.iter().find(|(s, _)| *s == k.as_str()) {
                    return bad(format!("axes {} and {} both set {k}", j + 1, i + 1));
                }
                seen.push((k, i));
            }
        }
        let runs = self
            .axes
            .iter()
            .try_fold(self.seeds.len(), |n, a| n.checked_mul(a.len()));
        match runs {
            Some(n) if n <= MAX_RUNS => Ok(()),
            _ => bad(format!(
                "the sweep expands to more than {MAX_RUNS} runs ({} seeds × {})",
                self.seeds.len(),
                self.axes
                    .iter()
                    .map(|a| a.len().to_string())
                    .collect::<Vec<_>>()
                    .join(" × ")
            )),
        }
    }

    /// The config of `run`: the base with the run's overrides (its axis values and seed),
    /// validated; relative data paths resolve against [`Sweep::base_dir`].
    pub fn config(&self, run: &RunSpec) -> Result<LoadedConfig> {
        let config = self.base.with_overrides(&run.overrides).map_err(|e| {
            let message = format!("run {} ({}): {e}", run.id, run.overrides.join(" "));
            match e.field() {
                Some(f) => Error::config_field(f, message),
                None => Error::config(message),
            }
            .in_file(&self.source, None)
        })?;
        Ok(LoadedConfig {
            config,
            source: format!("{} run {}", self.source, run.id),
            base_dir: self.base_dir.clone(),
        })
    }

    /// The config of every run, in run order; the first invalid one is an error naming the
    /// run and its overrides.
    pub fn configs(&self) -> Result<Vec<LoadedConfig>> {
        self.runs().iter().map(|r| self.config(r)).collect()
    }

    /// True when `other` expands to the same runs with the same configs (the name, the
    /// report's metric and where the files are may differ).
    pub fn same_runs(&self, other: &Sweep) -> bool {
        let key = |s: &Sweep| {
            serde_json::json!({
                "base": serde_json::to_value(&s.base).ok(),
                "axes": serde_json::to_value(&s.axes).ok(),
                "seed_key": s.seed_key,
                "seeds": s.seeds,
            })
        };
        key(self) == key(other)
    }
}

/// The integer at the dotted `key` of `config` (0 when the key is absent).
fn seed_of(config: &Config, key: &str) -> Result<u64> {
    let value =
        toml::Value::try_from(config).map_err(|e| Error::config(format!("base config: {e}")))?;
    let mut cur = &value;
    for part in key.split('.') {
        match cur.get(part) {
            Some(v) => cur = v,
            None => return Ok(0),
        }
    }
    match cur {
        toml::Value::Integer(i) if *i >= 0 => Ok(*i as u64),
        other => Err(Error::config(format!(
            "seed_key = {key:?}: the base config's value there is {}, not a seed (an integer >= 0)",
            value::inline(other)
        ))),
    }
}

/// The 1-based lines of the `[[name]]` headers of `text`, in order.
fn header_lines(text: &str, name: &str) -> Vec<usize> {
    let header = format!("[[{name}]]");
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            l.split('#')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect::<String>()
                == header
        })
        .map(|(i, _)| i + 1)
        .collect()
}
