//! The results of a sweep as tables: one row per run (`results.csv`), mean, standard deviation
//! and count per point (`summary.csv`), and statistics of a metric grouped by axes.

use super::table::{Cell, Table};
use super::{RunResult, RunSpec, Sweep};

/// The columns that name a run, before the axes: its id, its point's id, its position in
/// expansion order and its repeat; the seed column, named after the sweep's seed key
/// (`seed`), follows them.
pub const IDENTITY_COLUMNS: &[&str] = &["run", "point", "index", "repeat"];

/// The columns of the verdict at initialization ([`super::AtInit`]), after the axes.
pub const AT_INIT_COLUMNS: &[&str] = &[
    "init_flow",
    "init_log10_ratio",
    "init_margin_decades",
    "init_confidence",
    "init_per_layer_log10_spread",
    "init_first_to_last",
    "init_per_layer_factor",
    "init_grad_norm",
    "init_saturated_layers",
    "init_dead_layers",
];

/// The columns of a run's `summary.json`, flattened (`test.accuracy` is `test_accuracy`,
/// `best_val_accuracy.epoch` is `best_val_accuracy_epoch`, `outcome.status` is `outcome`),
/// always present in this order; a field the summary gains later becomes a column after them.
pub const SUMMARY_METRICS: &[&str] = &[
    "outcome",
    "outcome_step",
    "outcome_location",
    "outcome_detail",
    "epochs",
    "steps",
    "train_loss",
    "train_accuracy",
    "train_samples",
    "val_loss",
    "val_accuracy",
    "val_samples",
    "test_loss",
    "test_accuracy",
    "test_samples",
    "best_val_accuracy",
    "best_val_accuracy_epoch",
    "num_params",
    "dtype",
    "elapsed_s",
];

/// Numeric columns of `results.csv` that describe a run rather than measure it (the split's
/// sizes, the parameter count): `summary.csv` does not average them.
pub const DESCRIPTIVE_COLUMNS: &[&str] =
    &["train_samples", "val_samples", "test_samples", "num_params"];

/// The metrics the report plots when the sweep names none: the first with a value.
const DEFAULT_METRICS: &[&str] = &[
    "test_accuracy",
    "val_accuracy",
    "test_loss",
    "val_loss",
    "train_loss",
];

/// Count, mean and spread of the finite values of a metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Number of finite values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator, as pandas' `std`); None for n = 1.
    pub std: Option<f64>,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Stats {
    /// The statistics of the finite values among `values`; None when there is none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stats> {
        let v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let std = (n > 1).then(|| {
            (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64).sqrt()
        });
        Some(Stats {
            n,
            mean,
            std,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }
}

/// The runs sharing the values of some axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// The value index on each grouped axis.
    pub coords: Vec<usize>,
    /// Runs with results in the group.
    pub runs: usize,
    /// The metric over them (None: no finite value).
    pub stats: Option<Stats>,
}

/// A sweep's runs and the results found for them.
#[derive(Clone, Debug)]
pub struct Results {
    /// The sweep.
    pub sweep: Sweep,
    /// Its runs, in expansion order.
    pub runs: Vec<RunSpec>,
    /// The result of each run, when there is one.
    pub results: Vec<Option<RunResult>>,
    table: Table,
}

impl Results {
    /// Matches `found` with the sweep's runs by id (a result of a run the sweep does not have
    /// is left out).
    pub fn new(sweep: Sweep, found: impl IntoIterator<Item = RunResult>) -> Results {
        let runs = sweep.runs();
        let mut by_id: std::collections::HashMap<String, RunResult> =
            found.into_iter().map(|r| (r.id.clone(), r)).collect();
        let results: Vec<Option<RunResult>> = runs.iter().map(|r| by_id.remove(&r.id)).collect();
        let table = build_table(&sweep, &runs, &results);
        Results {
            sweep,
            runs,
            results,
            table,
        }
    }

    /// The runs without a result.
    pub fn missing(&self) -> Vec<&RunSpec> {
        self.runs
            .iter()
            .zip(&self.results)
            .filter(|(_, r)| r.is_none())
            .map(|(s, _)| s)
            .collect()
    }

    /// The axis columns: every axis' keys, in order.
    pub fn axis_columns(&self) -> Vec<String> {
        self.sweep
            .axes
            .iter()
            .flat_map(|a| a.keys.iter().cloned())
            .collect()
    }

    /// `results.csv`: one row per run with a result, in run order — the identity columns,
    /// the seed (named after the seed key), every axis key, the verdict at initialization
    /// ([`AT_INIT_COLUMNS`]) and every summary metric ([`SUMMARY_METRICS`], then the fields a
    /// newer summary has), `elapsed_s` (the run's wall time) always last.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The numeric columns of [`Results::table`] that are measurements (neither identity,
    /// seed, axis nor a description of the run: the split's sizes and `num_params`): the ones
    /// `summary.csv` aggregates.
    pub fn metric_columns(&self) -> Vec<String> {
        let fixed = self.fixed_columns();
        self.table
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| !fixed.contains(c) && !DESCRIPTIVE_COLUMNS.contains(&c.as_str()))
            .filter(|(i, _)| {
                let cells = self.table.rows.iter().map(|r| &r[*i]);
                let mut numeric = false;
                for c in cells {
                    match c {
                        Cell::Int(_) | Cell::Float(_) => numeric = true,
                        Cell::Empty => {}
                        Cell::Text(_) | Cell::Bool(_) => return false,
                    }
                }
                numeric
            })
            .map(|(_, c)| c.clone())
            .collect()
    }

    fn fixed_columns(&self) -> Vec<String> {
        let mut fixed: Vec<String> = IDENTITY_COLUMNS.iter().map(|s| s.to_string()).collect();
        fixed.push(self.sweep.seed_key.clone());
        fixed.extend(self.axis_columns());
        fixed
    }

    /// The metric the report shows: the sweep's, else the first of test_accuracy,
    /// val_accuracy, test_loss, val_loss, train_loss with a finite value.
    pub fn default_metric(&self) -> Option<String> {
        if let Some(m) = &self.sweep.metric {
            return Some(m.clone());
        }
        DEFAULT_METRICS
            .iter()
            .find(|m| {
                self.metric(m)
                    .is_some_and(|v| v.iter().any(|x| x.is_some_and(f64::is_finite)))
            })
            .map(|m| m.to_string())
            .or_else(|| self.metric_columns().into_iter().next())
    }

    /// The values of a numeric column for every run, in run order (None for a run without a
    /// result or without the value); None when the table has no such column.
    pub fn metric(&self, name: &str) -> Option<Vec<Option<f64>>> {
        let c = self.table.column(name)?;
        let mut rows = self.table.rows.iter();
        Some(
            self.results
                .iter()
                .map(|r| {
                    r.as_ref()
                        .and_then(|_| rows.next())
                        .and_then(|row| row[c].as_f64())
                })
                .collect(),
        )
    }

    /// `metric` grouped by the values of `axes` (indices into the sweep's axes, pooling the
    /// others and the seeds): one group per combination, in expansion order.
    pub fn group(&self, metric: &str, axes: &[usize]) -> Vec<Group> {
        let values = self.metric(metric).unwrap_or_default();
        let sizes: Vec<usize> = axes.iter().map(|&a| self.sweep.axes[a].len()).collect();
        let total: usize = sizes.iter().product();
        (0..total)
            .map(|g| {
                let mut rest = g;
                let mut coords = vec![0; axes.len()];
                for d in (0..axes.len()).rev() {
                    coords[d] = rest % sizes[d];
                    rest /= sizes[d];
                }
                let members: Vec<Option<f64>> = self
                    .runs
                    .iter()
                    .zip(&self.results)
                    .enumerate()
                    .filter(|(_, (s, r))| {
                        r.is_some() && axes.iter().zip(&coords).all(|(&a, &c)| s.coords[a] == c)
                    })
                    .map(|(i, _)| values.get(i).copied().flatten())
                    .collect();
                Group {
                    runs: members.len(),
                    stats: Stats::of(members.into_iter().flatten()),
                    coords,
                }
            })
            .collect()
    }

    /// `summary.csv`: one row per point, in expansion order — its id and index, the axis
    /// keys, `runs` (with results) and `missing`, how many `completed` and `diverged`, the
    /// most frequent verdict at initialization (`init_flow`) and how many runs had it
    /// (`init_flow_runs`), then `<metric>_mean`, `<metric>_std` and `<metric>_n` for every
    /// metric column ([`Results::metric_columns`]).
    pub fn summary(&self) -> Table {
        let metrics = self.metric_columns();
        let values: Vec<Vec<Option<f64>>> = metrics
            .iter()
            .map(|m| self.metric(m).unwrap_or_default())
            .collect();
        let mut columns: Vec<String> = vec!["point".into(), "index".into()];
        columns.extend(self.axis_columns());
        for c in [
            "runs",
            "missing",
            "completed",
            "diverged",
            "init_flow",
            "init_flow_runs",
        ] {
            columns.push(c.into());
        }
        for m in &metrics {
            for s in ["mean", "std", "n"] {
                columns.push(format!("{m}_{s}"));
            }
        }
        let mut rows = Vec::new();
        for p in self.sweep.points() {
            let members: Vec<usize> = (0..self.runs.len())
                .filter(|&i| self.runs[i].point == p.index)
                .collect();
            let present: Vec<&RunResult> = members
                .iter()
                .filter_map(|&i| self.results[i].as_ref())
                .collect();
            let mut row = vec![Cell::Text(p.id.clone()), Cell::Int(p.index as i64)];
            row.extend(axis_cells(&self.sweep, &p.coords));
            let status = |s: &str| present.iter().filter(|r| outcome_status(r) == s).count() as i64;
            row.push(Cell::Int(present.len() as i64));
            row.push(Cell::Int((members.len() - present.len()) as i64));
            row.push(Cell::Int(status("completed")));
            row.push(Cell::Int(status("diverged")));
            match mode_flow(&present) {
                Some((flow, n)) => {
                    row.push(Cell::Text(flow));
                    row.push(Cell::Int(n as i64));
                }
                None => {
                    row.push(Cell::Empty);
                    row.push(Cell::Int(0));
                }
            }
            for v in &values {
                match Stats::of(members.iter().filter_map(|&i| v.get(i).copied().flatten())) {
                    Some(s) => {
                        row.push(Cell::Float(s.mean));
                        row.push(s.std.map_or(Cell::Empty, Cell::Float));
                        row.push(Cell::Int(s.n as i64));
                    }
                    None => {
                        row.push(Cell::Empty);
                        row.push(Cell::Empty);
                        row.push(Cell::Int(0));
                    }
                }
            }
            rows.push(row);
        }
        Table { columns, rows }
    }
}

fn outcome_status(r: &RunResult) -> String {
    serde_json::to_value(&r.summary.outcome)
        .ok()
        .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(str::to_string))
        .unwrap_or_default()
}

/// The most frequent verdict at initialization and its count (ties: vanishing, exploding,
/// healthy in that order).
fn mode_flow(results: &[&RunResult]) -> Option<(String, usize)> {
    use crate::diagnostics::Flow;
    let order = [Flow::Vanishing, Flow::Exploding, Flow::Healthy];
    let counts: Vec<usize> = order
        .iter()
        .map(|f| {
            results
                .iter()
                .filter(|r| r.at_init.as_ref().is_some_and(|a| a.flow == *f))
                .count()
        })
        .collect();
    let (i, n) = counts.iter().enumerate().fold(
        (0, 0),
        |best, (i, &n)| if n > best.1 { (i, n) } else { best },
    );
    (n > 0).then(|| (order[i].name().to_string(), n))
}

fn value_cell(v: &toml::Value) -> Cell {
    match v {
        toml::Value::Integer(i) => Cell::Int(*i),
        toml::Value::Float(f) => Cell::Float(*f),
        toml::Value::Boolean(b) => Cell::Bool(*b),
        other => Cell::Text(super::value::display(other)),
    }
}

fn axis_cells(sweep: &Sweep, coords: &[usize]) -> Vec<Cell> {
    sweep
        .axes
        .iter()
        .zip(coords)
        .flat_map(|(a, &i)| a.values[i].iter().map(value_cell))
        .collect()
}

fn at_init_cells(r: &RunResult) -> Vec<Cell> {
    let Some(a) = &r.at_init else {
        return vec![Cell::Empty; AT_INIT_COLUMNS.len()];
    };
    let conf = serde_json::to_value(a.severity.confidence)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    vec![
        Cell::Text(a.flow.name().to_string()),
        Cell::Float(a.severity.log10_ratio),
        Cell::Float(a.severity.margin_decades),
        Cell::Text(conf),
        Cell::Float(a.severity.per_layer_log10_spread),
        Cell::Float(a.first_to_last),
        Cell::Float(a.per_layer_factor),
        Cell::Float(a.grad_norm),
        Cell::Int(a.saturated_layers.len() as i64),
        Cell::Int(a.dead_layers.len() as i64),
    ]
}

/// The name of field `key` inside `parent` (`train` + `loss` = `train_loss`; a key the
/// parent's name ends with, or a tag `status`, keeps the parent's name).
fn child_name(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else if key == "status" || parent == key || parent.ends_with(&format!("_{key}")) {
        parent.to_string()
    } else {
        format!("{parent}_{key}")
    }
}

/// The leaves of a JSON value as named cells (arrays are left out: the model's layers).
fn flatten(v: &serde_json::Value, name: &str, out: &mut Vec<(String, Cell)>) {
    use serde_json::Value as J;
    let cell = match v {
        J::Null => Cell::Empty,
        J::Bool(b) => Cell::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Cell::Int(i),
            (None, Some(f)) => Cell::Float(f),
            (None, None) => Cell::Empty,
        },
        J::String(s) => Cell::Text(s.clone()),
        J::Array(_) => return,
        J::Object(map) => {
            for (k, child) in map {
                flatten(child, &child_name(name, k), out);
            }
            return;
        }
    };
    if !out.iter().any(|(n, _)| n == name) {
        out.push((name.to_string(), cell));
    }
}

/// The summary's cells by column name. Floats that JSON cannot hold (NaN, ±∞: a diverged
/// run's loss) are read from the value itself, not its JSON (where they would be null).
fn summary_cells(r: &RunResult) -> Vec<(String, Cell)> {
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(&r.summary) {
        flatten(&v, "", &mut out);
    }
    let s = &r.summary;
    let mut exact = |name: &str, x: Option<f64>| {
        if let (Some(x), Some(slot)) = (x, out.iter_mut().find(|(n, _)| n == name)) {
            slot.1 = Cell::Float(x);
        }
    };
    exact("train_loss", s.train.map(|e| e.loss));
    exact("val_loss", s.val.map(|e| e.loss));
    exact("test_loss", s.test.map(|e| e.loss));
    exact("train_accuracy", s.train.and_then(|e| e.accuracy));
    exact("val_accuracy", s.val.and_then(|e| e.accuracy));
    exact("test_accuracy", s.test.and_then(|e| e.accuracy));
    exact("elapsed_s", Some(s.elapsed_s));
    out
}

fn build_table(sweep: &Sweep, runs: &[RunSpec], results: &[Option<RunResult>]) -> Table {
    let axis_cols: Vec<String> = sweep
        .axes
        .iter()
        .flat_map(|a| a.keys.iter().cloned())
        .collect();
    let mut columns: Vec<String> = IDENTITY_COLUMNS.iter().map(|s| s.to_string()).collect();
    columns.push(sweep.seed_key.clone());
    columns.extend(axis_cols.iter().cloned());
    columns.extend(AT_INIT_COLUMNS.iter().map(|s| s.to_string()));
    let mut metric_cols: Vec<String> = SUMMARY_METRICS
        .iter()
        .map(|s| s.to_string())
        .filter(|c| !axis_cols.contains(c))
        .collect();
    let flat: Vec<Option<Vec<(String, Cell)>>> = results
        .iter()
        .map(|r| r.as_ref().map(summary_cells))
        .collect();
    for cells in flat.iter().flatten() {
        for (name, _) in cells {
            if !metric_cols.contains(name) && !axis_cols.contains(name) && !columns.contains(name) {
                metric_cols.push(name.clone());
            }
        }
    }
    // The one column that differs between two runs of the same config goes last.
    if let Some(i) = metric_cols.iter().position(|c| c == "elapsed_s") {
        let t = metric_cols.remove(i);
        metric_cols.push(t);
    }
    columns.extend(metric_cols.iter().cloned());
    let mut rows = Vec::new();
    for ((spec, result), cells) in runs.iter().zip(results).zip(&flat) {
        let (Some(result), Some(cells)) = (result, cells) else {
            continue;
        };
        let mut row = vec![
            Cell::Text(spec.id.clone()),
            Cell::Text(spec.point_id.clone()),
            Cell::Int(spec.index as i64),
            Cell::Int(spec.repeat as i64),
            i64::try_from(spec.seed).map_or_else(|_| Cell::Text(spec.seed.to_string()), Cell::Int),
        ];
        row.extend(axis_cells(sweep, &spec.coords));
        row.extend(at_init_cells(result));
        for m in &metric_cols {
            row.push(
                cells
                    .iter()
                    .find(|(n, _)| n == m)
                    .map_or(Cell::Empty, |(_, c)| c.clone()),
            );
        }
        rows.push(row);
    }
    Table { columns, rows }
}
