//! The report of a sweep (`report.html`, `report.md`): the runs at a glance, a table by
//! point, the metric against each axis with error bars (± one standard deviation over the
//! seeds), a heatmap of the first two axes, and the verdict at initialization beside the
//! outcome.

use anyhow::Result;
use gradscope::sweep::{Results, Stats};

use crate::chart::frame::Scale;
use crate::chart::{Heatmap, LineChart, Series};
use crate::output::num;
use crate::render::{Chart, Document, Table};

/// `mean ± std` (or the mean alone for one value), `-` for none.
fn mean_std(s: Option<Stats>) -> String {
    match s {
        None => "-".into(),
        Some(Stats {
            mean, std: None, ..
        }) => num(mean, 4),
        Some(Stats {
            mean, std: Some(d), ..
        }) => format!("{} ± {}", num(mean, 4), num(d, 2)),
    }
}

/// The sweep's report.
pub fn document(results: &Results) -> Result<Document> {
    let sweep = &results.sweep;
    let mut doc = Document::new(format!("Sweep: {}", sweep.name));
    let metric = results
        .default_metric()
        .unwrap_or_else(|| "test_accuracy".into());
    let with: Vec<usize> = (0..results.runs.len())
        .filter(|&i| results.results[i].is_some())
        .collect();
    let status = |s: &str| {
        results
            .results
            .iter()
            .flatten()
            .filter(|r| outcome(r) == s)
            .count()
    };
    doc.p(format!(
        "{} points × {} seeds = {} runs; {} with results ({} completed, {} diverged), {} \
         missing. Metric shown: {metric} (mean ± sample standard deviation over the seeds; \
         n is the number of runs with a value).",
        sweep.points().len(),
        sweep.seeds.len(),
        results.runs.len(),
        with.len(),
        status("completed"),
        status("diverged"),
        results.runs.len() - with.len()
    ));
    let axes: Vec<String> = sweep.axes.iter().map(|a| a.name()).collect();
    if !axes.is_empty() {
        doc.note(format!("Axes, outermost first: {}.", axes.join("; ")));
    }

    doc.h2("Results by point");
    let all: Vec<usize> = (0..sweep.axes.len()).collect();
    let groups = results.group(&metric, &all);
    let init = results.group("init_log10_ratio", &all);
    let mut header: Vec<String> = axes.clone();
    header.extend(
        [
            "runs",
            metric.as_str(),
            "diverged",
            "verdict at init",
            "log₁₀ first/last at init",
        ]
        .map(String::from),
    );
    let mut rows = Vec::new();
    for (p, (g, gi)) in sweep.points().iter().zip(groups.iter().zip(&init)) {
        let mut row: Vec<String> = sweep
            .axes
            .iter()
            .zip(&p.coords)
            .map(|(a, &i)| a.label(i))
            .collect();
        let members: Vec<&gradscope::sweep::RunResult> = results
            .runs
            .iter()
            .zip(&results.results)
            .filter(|(s, _)| s.point == p.index)
            .filter_map(|(_, r)| r.as_ref())
            .collect();
        let diverged = members.iter().filter(|r| outcome(r) == "diverged").count();
        row.push(g.runs.to_string());
        row.push(mean_std(g.stats));
        row.push(diverged.to_string());
        row.push(flows(&members));
        row.push(mean_std(gi.stats));
        rows.push(row);
    }
    doc.table(Table::new(header, rows, axes.len()));

    if !sweep.axes.is_empty() {
        doc.h2(format!("{metric} against each axis"));
        doc.note(
            "Each point is the mean over the runs with that value (the other axes and the \
             seeds pooled, or one line per value of the other axis when there are two axes); \
             the bars are ± one sample standard deviation.",
        );
    }
    for (a, axis) in sweep.axes.iter().enumerate() {
        let (xs, x_label) = x_positions(results, a);
        let mut series = Vec::new();
        let other = (sweep.axes.len() == 2).then(|| 1 - a);
        match other {
            Some(b) => {
                for v in 0..sweep.axes[b].len() {
                    let gs = results.group(&metric, &[a, b]);
                    let sel: Vec<_> = gs.iter().filter(|g| g.coords[1] == v).collect();
                    let (pts, errs) = points(&xs, sel.iter().map(|g| g.stats));
                    series.push(
                        Series::new(
                            format!("{} = {}", sweep.axes[b].name(), sweep.axes[b].label(v)),
                            pts,
                            v,
                        )
                        .markers(true)
                        .errors(errs),
                    );
                }
            }
            None => {
                let gs = results.group(&metric, &[a]);
                let (pts, errs) = points(&xs, gs.iter().map(|g| g.stats));
                series.push(Series::new("", pts, 0).markers(true).errors(errs));
            }
        }
        let title = format!("{metric} against {}", axis.name());
        let svg = LineChart {
            title: &title,
            x_label: &x_label,
            y_label: &metric,
            x_name: &axis.name(),
            y_name: &metric,
            series,
            y_scale: Scale::Linear,
            y_range: None,
            size: (720, 400),
        }
        .render()?;
        doc.chart(Chart {
            title: title.clone(),
            file: format!("axis{}.svg", a + 1),
            svg,
            caption: format!("{metric} (mean ± std over runs) against {x_label}."),
        });
    }

    if sweep.axes.len() >= 2 {
        let (ra, ca) = (&sweep.axes[0], &sweep.axes[1]);
        doc.h2(format!("{metric} over {} and {}", ra.name(), ca.name()));
        let gs = results.group(&metric, &[0, 1]);
        let values: Vec<Vec<f64>> = (0..ra.len())
            .map(|r| {
                (0..ca.len())
                    .map(|c| gs[r * ca.len() + c].stats.map_or(f64::NAN, |s| s.mean))
                    .collect()
            })
            .collect();
        let title = format!("mean {metric}");
        let svg = Heatmap {
            title: &title,
            x_label: &ca.name(),
            y_label: &ra.name(),
            x_name: &ca.name(),
            y_name: &ra.name(),
            columns: (0..ca.len()).map(|i| ca.label(i)).collect(),
            rows: (0..ra.len()).map(|i| ra.label(i)).collect(),
            values,
            scale_label: &metric,
            size: (720, 480),
            curves: Vec::new(),
        }
        .render()?;
        doc.chart(Chart {
            title,
            file: "heatmap.svg".into(),
            svg,
            caption: format!(
                "Mean {metric} per pair of values of the first two axes{} (grey: no value).",
                if sweep.axes.len() > 2 {
                    ", the other axes pooled"
                } else {
                    ""
                }
            ),
        });
    }

    doc.h2("Verdict at initialization and outcome");
    doc.note(
        "The verdict on each run's first step (its initialization, as `gradscope diagnose` \
         judges step 1) beside what the run then did.",
    );
    let values = results.metric(&metric).unwrap_or_default();
    let mut rows = Vec::new();
    for flow in ["vanishing", "exploding", "healthy", "-"] {
        let idx: Vec<usize> = (0..results.runs.len())
            .filter(|&i| {
                results.results[i]
                    .as_ref()
                    .is_some_and(|r| r.at_init.as_ref().map_or("-", |a| a.flow.name()) == flow)
            })
            .collect();
        if idx.is_empty() {
            continue;
        }
        let of = |s: &str| {
            idx.iter()
                .filter(|&&i| results.results[i].as_ref().is_some_and(|r| outcome(r) == s))
                .count()
                .to_string()
        };
        let stats = Stats::of(idx.iter().filter_map(|&i| values.get(i).copied().flatten()));
        rows.push(vec![
            if flow == "-" {
                "not judged".into()
            } else {
                flow.to_string()
            },
            idx.len().to_string(),
            of("completed"),
            of("diverged"),
            mean_std(stats),
        ]);
    }
    doc.table(Table::new(
        [
            "verdict at init",
            "runs",
            "completed",
            "diverged",
            metric.as_str(),
        ]
        .map(String::from)
        .to_vec(),
        rows,
        1,
    ));
    Ok(doc)
}

/// The x position of each value of axis `a` and the x axis' description: the value for a
/// numeric axis (its log₁₀ for a logarithmic one), else the value's index.
fn x_positions(results: &Results, a: usize) -> (Vec<f64>, String) {
    let axis = &results.sweep.axes[a];
    if axis.is_logarithmic() {
        let xs = (0..axis.len())
            .map(|i| axis.number(i).map_or(f64::NAN, f64::log10))
            .collect();
        (xs, format!("log₁₀ {}", axis.name()))
    } else if axis.is_numeric() {
        let xs = (0..axis.len())
            .map(|i| axis.number(i).unwrap_or(f64::NAN))
            .collect();
        (xs, axis.name())
    } else {
        let labels: Vec<String> = (0..axis.len())
            .map(|i| format!("{i} = {}", axis.label(i)))
            .collect();
        (
            (0..axis.len()).map(|i| i as f64).collect(),
            format!("{} ({})", axis.name(), labels.join(", ")),
        )
    }
}

/// (x, mean) points and their error half-widths (the std; 0 for one run).
fn points(xs: &[f64], stats: impl Iterator<Item = Option<Stats>>) -> (Vec<(f64, f64)>, Vec<f64>) {
    xs.iter()
        .zip(stats)
        .map(|(x, s)| match s {
            Some(s) => ((*x, s.mean), s.std.unwrap_or(0.0)),
            None => ((*x, f64::NAN), 0.0),
        })
        .unzip()
}

fn outcome(r: &gradscope::sweep::RunResult) -> &'static str {
    match r.summary.outcome {
        gradscope::train::Outcome::Completed => "completed",
        gradscope::train::Outcome::Interrupted { .. } => "interrupted",
        gradscope::train::Outcome::Diverged { .. } => "diverged",
    }
}

/// The verdicts at initialization of a point's runs: `vanishing (3/3)`, or several.
fn flows(members: &[&gradscope::sweep::RunResult]) -> String {
    let n = members.len();
    let mut parts = Vec::new();
    for flow in ["vanishing", "exploding", "healthy"] {
        let k = members
            .iter()
            .filter(|r| r.at_init.as_ref().is_some_and(|a| a.flow.name() == flow))
            .count();
        if k > 0 {
            parts.push(format!("{flow} ({k}/{n})"));
        }
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}
