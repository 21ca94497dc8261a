//! Built-in studies: sweeps that reproduce a published claim at a stated scale, and the
//! judgement of each claim from the sweep's results — our number beside the paper's, and
//! whether it reproduced (`reproduced`, `partly`, `not`).
//!
//! A study is a sweep file kept in the library ([`Study::sweep_text`], one per [`Scale`]) and
//! a function from the sweep's [`Results`] to [`Claim`]s; `gradscope study NAME` runs it like
//! `gradscope sweep` and puts the claims at the top of the report.

mod glorot;
mod improved_sigmoid;
mod irnn;
mod pascanu;
mod schoenholz;

use std::path::Path;

use crate::error::{Error, Result};
use crate::sweep::{Results, Stats, Sweep};
use crate::train::Outcome;

/// How much compute a study spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Minutes on 2 cores: smaller networks, fewer epochs and seeds.
    Quick,
    /// Closer to the paper's setting (still the embedded data unless the study says otherwise).
    Paper,
}

impl Scale {
    /// `quick` or `paper`.
    pub fn name(self) -> &'static str {
        match self {
            Scale::Quick => "quick",
            Scale::Paper => "paper",
        }
    }

    /// Parses `quick` or `paper`.
    pub fn parse(text: &str) -> Result<Scale> {
        match text {
            "quick" => Ok(Scale::Quick),
            "paper" => Ok(Scale::Paper),
            other => Err(Error::Invalid(format!(
                "scale `{other}`: expected quick or paper"
            ))),
        }
    }
}

/// Whether our measurement agrees with a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// Every part of the claim holds in our runs.
    Reproduced,
    /// Some parts hold, or the effect has the claimed sign but not the claimed size.
    Partly,
    /// It does not hold in our runs.
    Not,
}

impl Agreement {
    /// `reproduced`, `partly` or `not reproduced`.
    pub fn name(self) -> &'static str {
        match self {
            Agreement::Reproduced => "reproduced",
            Agreement::Partly => "partly",
            Agreement::Not => "not reproduced",
        }
    }

    /// Reproduced when all `n` parts hold, partly when some do, not when none does.
    pub fn of(holding: usize, n: usize) -> Agreement {
        match holding {
            0 => Agreement::Not,
            h if h >= n => Agreement::Reproduced,
            _ => Agreement::Partly,
        }
    }
}

/// One claim of a paper, judged.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Claim {
    /// What the paper says.
    pub claim: String,
    /// The paper's numbers (or the figure) behind it.
    pub paper: String,
    /// Ours, with the rule applied.
    pub ours: String,
    /// The verdict.
    pub agreement: Agreement,
}

/// A curve the theory predicts, to draw over a study's heatmap of its first two axes (the
/// first axis on the rows, the second on the columns): e.g. Schoenholz et al.'s trainable
/// depth 6ξ_c(σ_w²) over the grid σ_w² × depth.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Curve {
    /// What the curve is (the legend's text).
    pub label: String,
    /// The column quantity's name (`σ_w²`).
    pub x_name: String,
    /// The row quantity's name (`depth`).
    pub y_name: String,
    /// The number each column (value of the second axis) stands for, in axis order.
    pub columns: Vec<f64>,
    /// The number each row (value of the first axis) stands for, in axis order.
    pub rows: Vec<f64>,
    /// Whether the rows are spaced evenly in log y (depths 5, 10, 20, …) rather than in y.
    pub log_rows: bool,
    /// The curve's points (x, y) in the quantities' units, x increasing; y may be +∞ (off
    /// the top of the grid).
    pub points: Vec<(f64, f64)>,
}

/// A line chart a study adds to its report (e.g. Glorot & Bengio's Fig. 2: each hidden
/// layer's mean activation over training), its numbers computed by the library.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Figure {
    /// The chart's title.
    pub title: String,
    /// The x quantity (`step`).
    pub x_name: String,
    /// The y quantity.
    pub y_name: String,
    /// One line per series: its label and its (x, y) points.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    /// What the chart shows and how it was measured.
    pub caption: String,
}

/// A built-in study.
pub struct Study {
    /// Its name on the command line.
    pub name: &'static str,
    /// The paper (or source) and its claim, in one line.
    pub title: &'static str,
    /// What the study varies and how, and what differs from the paper's setting.
    pub setting: &'static str,
    sweep: fn(Scale) -> String,
    judge: fn(&Results) -> Vec<Claim>,
    curve: Option<fn(&Results) -> Result<Curve>>,
    figures: fn(&Results) -> Vec<Figure>,
}

/// No figures beyond the sweep's report.
fn no_figures(_: &Results) -> Vec<Figure> {
    Vec::new()
}

/// Every built-in study.
pub const STUDIES: &[Study] = &[
    improved_sigmoid::STUDY,
    glorot::STUDY,
    pascanu::STUDY,
    irnn::STUDY,
    schoenholz::STUDY,
];

/// The study called `name`.
pub fn find(name: &str) -> Result<&'static Study> {
    STUDIES.iter().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = STUDIES.iter().map(|s| s.name).collect();
        Error::Invalid(format!(
            "no study `{name}`; the studies are {}",
            names.join(", ")
        ))
    })
}

impl Study {
    /// The sweep file of this study at `scale` (TOML, as docs/sweeps.md describes).
    pub fn sweep_text(&self, scale: Scale) -> String {
        (self.sweep)(scale)
    }

    /// The sweep at `scale`, with `sets` (`--set`-style `key=value` overrides of its base
    /// config, e.g. `training.epochs=1` for a smoke run) applied.
    pub fn sweep(&self, scale: Scale, sets: &[String]) -> Result<Sweep> {
        let name = format!("{}-{}", self.name, scale.name());
        Sweep::parse(
            &self.sweep_text(scale),
            &format!("study {name}"),
            &name,
            Path::new("."),
            sets,
        )
    }

    /// The claims, judged from the sweep's results.
    pub fn judge(&self, results: &Results) -> Vec<Claim> {
        (self.judge)(results)
    }

    /// The study's own charts (beyond the sweep's report), from the results.
    pub fn figures(&self, results: &Results) -> Vec<Figure> {
        (self.figures)(results)
    }

    /// The theory's curve to draw over the heatmap of the sweep's first two axes, for a
    /// study that has one (None otherwise).
    pub fn curve(&self, results: &Results) -> Option<Result<Curve>> {
        self.curve.map(|f| f(results))
    }
}

/// The statistics of `metric` over the runs whose axis values have the labels `at`
/// (`(axis index, label)`), the other axes and the seeds pooled.
pub fn cell(results: &Results, metric: &str, at: &[(usize, &str)]) -> Option<Stats> {
    let axes: Vec<usize> = at.iter().map(|(a, _)| *a).collect();
    let want: Vec<usize> = at
        .iter()
        .map(|(a, label)| {
            let axis = &results.sweep.axes[*a];
            (0..axis.len())
                .find(|&i| axis.label(i) == *label)
                .unwrap_or(usize::MAX)
        })
        .collect();
    results
        .group(metric, &axes)
        .into_iter()
        .find(|g| g.coords == want)
        .and_then(|g| g.stats)
}

/// How many of the runs whose axis values have the labels `at` (as in [`cell`]) diverged,
/// and how many of them have a result: `(diverged, with result)`.
pub fn diverged(results: &Results, at: &[(usize, &str)]) -> (usize, usize) {
    let mut count = (0, 0);
    for (spec, result) in results.runs.iter().zip(&results.results) {
        let matches = at
            .iter()
            .all(|(a, label)| results.sweep.axes[*a].label(spec.coords[*a]) == *label);
        if let (true, Some(result)) = (matches, result) {
            count.1 += 1;
            if matches!(result.summary.outcome, Outcome::Diverged { .. }) {
                count.0 += 1;
            }
        }
    }
    count
}

/// `x` as a percentage with one decimal (`93.4%`), `-` for none.
fn pct(s: Option<Stats>) -> String {
    s.map_or("-".into(), |s| format!("{:.1}%", 100.0 * s.mean))
}

/// A mean with two decimals, `-` for none.
fn dec(s: Option<Stats>) -> String {
    s.map_or("-".into(), |s| format!("{:.2}", s.mean))
}

/// A mean with three decimals, `-` for none.
fn dec3(s: Option<Stats>) -> String {
    s.map_or("-".into(), |s| format!("{:.3}", s.mean))
}
