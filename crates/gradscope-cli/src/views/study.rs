//! The report of a built-in study: the claims (the paper's, ours, the verdict) first, then
//! the sweep's report.

use anyhow::Result;
use gradscope::study::{Claim, Curve, Figure, Scale, Study};
use gradscope::sweep::Results;

use crate::chart::frame::Scale as AxisScale;
use crate::chart::heatmap::CellCurve;
use crate::chart::{Dash, Heatmap, LineChart, Series};
use crate::output::num;
use crate::render::{Badge, Chart, Document};

/// The claims alone (what the terminal prints).
pub fn claims_document(study: &Study, scale: Scale, sets: &[String], claims: &[Claim]) -> Document {
    let mut doc = Document::new(format!("Study {}: {}", study.name, study.title));
    doc.p(format!("Scale: {}. {}", scale.name(), study.setting));
    if !sets.is_empty() {
        doc.note(format!(
            "Changed from the study's setting with --set: {}. The numbers below are not the \
             study's.",
            sets.join(", ")
        ));
    }
    for (i, c) in claims.iter().enumerate() {
        doc.h3(format!(
            "Claim {}: {}",
            i + 1,
            c.claim.trim_end_matches('.')
        ));
        doc.verdict(
            vec![Badge::new("Result", c.agreement.name())],
            "",
            c.ours.clone(),
        );
        doc.note(format!("Paper: {}", c.paper));
    }
    doc
}

/// The claims, then the sweep's report.
pub fn document(
    study: &Study,
    scale: Scale,
    sets: &[String],
    claims: &[Claim],
    results: &Results,
) -> Result<Document> {
    let mut doc = claims_document(study, scale, sets, claims);
    if let Some(curve) = study.curve(results) {
        predicted(&mut doc, results, &curve?)?;
    }
    for (i, figure) in study.figures(results).iter().enumerate() {
        line_figure(&mut doc, figure, i)?;
    }
    doc.h2("The sweep");
    let sweep = super::sweep::document(results)?;
    doc.blocks.extend(sweep.blocks);
    Ok(doc)
}

/// The heatmap of the metric over the first two axes with the theory's curve drawn on it.
fn predicted(doc: &mut Document, results: &Results, curve: &Curve) -> Result<()> {
    let metric = results
        .default_metric()
        .unwrap_or_else(|| "test_accuracy".into());
    let (nr, nc) = (curve.rows.len(), curve.columns.len());
    let gs = results.group(&metric, &[0, 1]);
    let values: Vec<Vec<f64>> = (0..nr)
        .map(|r| {
            (0..nc)
                .map(|c| {
                    gs.get(r * nc + c)
                        .and_then(|g| g.stats)
                        .map_or(f64::NAN, |s| s.mean)
                })
                .collect()
        })
        .collect();
    let title = format!("{metric} over {} and {}", curve.x_name, curve.y_name);
    doc.h2(format!("Prediction: {}", curve.label));
    let svg = Heatmap {
        title: &title,
        x_label: &curve.x_name,
        y_label: &curve.y_name,
        x_name: &curve.x_name,
        y_name: &curve.y_name,
        columns: curve.columns.iter().map(|v| num(*v, 3)).collect(),
        rows: curve.rows.iter().map(|v| num(*v, 3)).collect(),
        values,
        scale_label: &metric,
        size: (720, 480),
        curves: vec![CellCurve {
            label: curve.label.clone(),
            points: curve
                .points
                .iter()
                .map(|&(x, y)| {
                    (
                        cell_position(&curve.columns, x, false),
                        cell_position(&curve.rows, y, curve.log_rows),
                    )
                })
                .collect(),
            color: "#d62728".into(),
            dash: Dash::Dashed,
        }],
    }
    .render()?;
    doc.chart(Chart {
        title,
        file: "prediction.svg".into(),
        svg,
        caption: format!(
            "Mean {metric} per cell (grey: no value), {} across, {} up; the dashed line is the \
             library's prediction ({}), placed between the cells by interpolating between \
             their centres{}.",
            curve.x_name,
            curve.y_name,
            curve.label,
            if curve.log_rows {
                " (in log of the row value)"
            } else {
                ""
            }
        ),
    });
    Ok(())
}

/// A study's line chart.
fn line_figure(doc: &mut Document, f: &Figure, i: usize) -> Result<()> {
    doc.h2(f.title.clone());
    let svg = LineChart {
        title: &f.title,
        x_label: &f.x_name,
        y_label: &f.y_name,
        x_name: &f.x_name,
        y_name: &f.y_name,
        series: f
            .series
            .iter()
            .enumerate()
            .map(|(k, (label, points))| Series::new(label.clone(), points.clone(), k))
            .collect(),
        y_scale: AxisScale::Linear,
        y_range: None,
        size: (720, 400),
    }
    .render()?;
    doc.chart(Chart {
        title: f.title.clone(),
        file: format!("figure{}.svg", i + 1),
        svg,
        caption: f.caption.clone(),
    });
    Ok(())
}

/// The position of `v` in cell units over cells standing for `centres` (in increasing
/// order; cell i spans [i, i + 1]): linear between neighbouring centres (in ln v when `log`),
/// extended beyond the first and last with the nearest pair's slope. NaN when `v` cannot be
/// placed (not finite, ≤ 0 on a log scale, fewer than two cells).
pub fn cell_position(centres: &[f64], v: f64, log: bool) -> f64 {
    let t = |x: f64| if log { x.ln() } else { x };
    let c: Vec<f64> = centres.iter().map(|&x| t(x)).collect();
    let v = t(v);
    if c.len() < 2 || !v.is_finite() || c.iter().any(|x| !x.is_finite()) {
        return if c.len() == 1 && v.is_finite() {
            0.5
        } else {
            f64::NAN
        };
    }
    let i = c.windows(2).position(|w| v <= w[1]).unwrap_or(c.len() - 2);
    let (a, b) = (c[i], c[i + 1]);
    if b == a {
        return i as f64 + 0.5;
    }
    i as f64 + 0.5 + (v - a) / (b - a)
}

#[cfg(test)]
mod tests {
    use super::cell_position;

    #[test]
    fn cell_positions_interpolate_between_centres_and_extend_beyond() {
        let depths = [5.0, 10.0, 20.0, 40.0];
        assert!((cell_position(&depths, 10.0, true) - 1.5).abs() < 1e-12);
        // √(10·20) is half-way between the centres of 10 and 20 in log.
        assert!((cell_position(&depths, 200f64.sqrt(), true) - 2.0).abs() < 1e-12);
        // 80 is one doubling above 40: one cell above its centre.
        assert!((cell_position(&depths, 80.0, true) - 4.5).abs() < 1e-12);
        assert!((cell_position(&depths, 2.5, true) + 0.5).abs() < 1e-12);
        let sw2 = [1.0, 2.0, 4.0];
        assert!((cell_position(&sw2, 3.0, false) - 2.0).abs() < 1e-12);
        assert!(cell_position(&sw2, f64::INFINITY, false).is_nan());
        assert!(cell_position(&depths, 0.0, true).is_nan());
    }
}
