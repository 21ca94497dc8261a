//! SVG line charts with plotters (SVG backend, no system fonts: text is emitted as SVG
//! `<text>` and rendered by the viewer).

use anyhow::{anyhow, Result};
use plotters::prelude::*;

/// One curve of a chart.
pub struct Series {
    /// Legend label.
    pub label: String,
    /// (x, y) points in order.
    pub points: Vec<(f64, f64)>,
    /// Dashed instead of solid.
    pub dashed: bool,
}

/// A line chart.
pub struct Chart<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// X-axis label.
    pub x_label: &'a str,
    /// Y-axis label.
    pub y_label: &'a str,
    /// The curves.
    pub series: Vec<Series>,
}

const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(23, 190, 207),
];

fn bounds(series: &[Series]) -> (f64, f64, f64, f64) {
    let pts = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|p| p.1.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if y1 - y0 < 1e-9 {
        y0 -= 0.5;
        y1 += 0.5;
    }
    let pad = 0.06 * (y1 - y0);
    (x0, x1, y0 - pad, y1 + pad)
}

/// Renders the chart to an SVG document (800×500).
pub fn line_chart_svg(chart: &Chart<'_>) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 500)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| anyhow!("plot `{}`: {e}", chart.title);
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (x0, x1, y0, y1) = bounds(&chart.series);
        let mut ctx = ChartBuilder::on(&root)
            .caption(chart.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        ctx.configure_mesh()
            .x_desc(chart.x_label)
            .y_desc(chart.y_label)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| err(&e))?;
        // Axes through the origin, as in the seeds' figures.
        if x0 < 0.0 && x1 > 0.0 {
            ctx.draw_series(LineSeries::new([(0.0, y0), (0.0, y1)], BLACK.mix(0.4)))
                .map_err(|e| err(&e))?;
        }
        if y0 < 0.0 && y1 > 0.0 {
            ctx.draw_series(LineSeries::new([(x0, 0.0), (x1, 0.0)], BLACK.mix(0.4)))
                .map_err(|e| err(&e))?;
        }
        for (i, s) in chart.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let style = ShapeStyle::from(&color).stroke_width(2);
            let pts: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|p| p.1.is_finite())
                .collect();
            if s.dashed {
                ctx.draw_series(DashedLineSeries::new(pts, 8, 5, style))
                    .map_err(|e| err(&e))?
                    .label(s.label.clone())
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
            } else {
                ctx.draw_series(LineSeries::new(pts, style))
                    .map_err(|e| err(&e))?
                    .label(s.label.clone())
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
            }
        }
        ctx.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
