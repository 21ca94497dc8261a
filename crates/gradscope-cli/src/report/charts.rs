//! SVG charts for the reports, drawn with plotters' SVG backend into strings: line charts on a
//! linear or logarithmic y-axis, and a heatmap with a colour bar. No fonts are embedded: text
//! is emitted as SVG `<text>` and rendered by the viewer.

use anyhow::{anyhow, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Colours of successive series (matplotlib's tab10).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// One curve.
pub struct Line {
    /// Legend label.
    pub label: String,
    /// (x, y) points in order; non-finite y (and y ≤ 0 on a log axis) are skipped.
    pub points: Vec<(f64, f64)>,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// Index into [`PALETTE`].
    pub color: usize,
    /// Draw a dot at every point.
    pub markers: bool,
}

/// A line chart.
pub struct LineChart<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// X-axis label.
    pub x_label: &'a str,
    /// Y-axis label.
    pub y_label: &'a str,
    /// The curves.
    pub lines: Vec<Line>,
    /// Logarithmic y-axis.
    pub log_y: bool,
    /// Fixed y range (else from the data).
    pub y_range: Option<(f64, f64)>,
    /// Where the legend goes.
    pub legend: SeriesLabelPosition,
}

fn err(title: &str, e: &dyn std::fmt::Display) -> anyhow::Error {
    anyhow!("plot `{title}`: {e}")
}

fn visible(p: &(f64, f64), log_y: bool) -> bool {
    p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0)
}

fn x_bounds(lines: &[Line], log_y: bool) -> (f64, f64) {
    let (mut x0, mut x1) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in lines.iter().flat_map(|l| &l.points) {
        if visible(p, log_y) {
            x0 = x0.min(p.0);
            x1 = x1.max(p.0);
        }
    }
    if !x0.is_finite() {
        return (0.0, 1.0);
    }
    if x1 - x0 < 1e-12 {
        return (x0 - 0.5, x1 + 0.5);
    }
    (x0, x1)
}

fn y_bounds(lines: &[Line], log_y: bool) -> (f64, f64) {
    let (mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in lines.iter().flat_map(|l| &l.points) {
        if visible(p, log_y) {
            y0 = y0.min(p.1);
            y1 = y1.max(p.1);
        }
    }
    if !y0.is_finite() {
        return if log_y { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log_y {
        // Whole decades, at least one.
        let lo = y0.log10().floor();
        let hi = y1.log10().ceil().max(lo + 1.0);
        (10f64.powf(lo), 10f64.powf(hi))
    } else {
        if y1 - y0 < 1e-12 {
            y0 -= 0.5;
            y1 += 0.5;
        }
        let pad = 0.06 * (y1 - y0);
        (y0 - pad, y1 + pad)
    }
}

/// `1e-8`, `0.01`, `1`, `100`.
pub fn decade_label(v: f64) -> String {
    if v <= 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let e = v.log10();
    if (e - e.round()).abs() < 1e-6 {
        let e = e.round() as i32;
        match e {
            -2..=3 => crate::output::num(v, 3),
            _ => format!("1e{e}"),
        }
    } else {
        format!("{v:.0e}")
    }
}

fn draw_lines<'a, 'b: 'a, Y>(
    ctx: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Y>>,
    chart: &LineChart<'_>,
) -> Result<()>
where
    Y: Ranged<ValueType = f64>,
{
    let title = chart.title;
    for l in &chart.lines {
        let color = PALETTE[l.color % PALETTE.len()];
        let style = ShapeStyle::from(&color).stroke_width(2);
        // Split at gaps (skipped points) so that a missing value does not draw a bridge.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for p in &l.points {
            if visible(p, chart.log_y) {
                runs.last_mut().expect("non-empty").push(*p);
            } else if !runs.last().expect("non-empty").is_empty() {
                runs.push(Vec::new());
            }
        }
        let mut labelled = false;
        for run in runs.into_iter().filter(|r| !r.is_empty()) {
            let anno = if l.dashed {
                ctx.draw_series(DashedLineSeries::new(run.clone(), 7, 5, style))
                    .map_err(|e| err(title, &e))?
            } else {
                ctx.draw_series(LineSeries::new(run.clone(), style))
                    .map_err(|e| err(title, &e))?
            };
            if !labelled {
                anno.label(l.label.clone())
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
                labelled = true;
            }
            if l.markers {
                ctx.draw_series(
                    run.iter()
                        .map(|&p| Circle::new(p, 3, ShapeStyle::from(&color).filled())),
                )
                .map_err(|e| err(title, &e))?;
            }
        }
    }
    if chart.lines.iter().any(|l| !l.label.is_empty()) {
        ctx.configure_series_labels()
            .position(legend_position(&chart.legend))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(|e| err(title, &e))?;
    }
    Ok(())
}

fn legend_position(p: &SeriesLabelPosition) -> SeriesLabelPosition {
    use SeriesLabelPosition as P;
    match p {
        P::UpperLeft => P::UpperLeft,
        P::MiddleLeft => P::MiddleLeft,
        P::LowerLeft => P::LowerLeft,
        P::UpperMiddle => P::UpperMiddle,
        P::MiddleMiddle => P::MiddleMiddle,
        P::LowerMiddle => P::LowerMiddle,
        P::UpperRight => P::UpperRight,
        P::MiddleRight => P::MiddleRight,
        P::LowerRight => P::LowerRight,
        P::Coordinate(x, y) => P::Coordinate(*x, *y),
    }
}

/// Smallest value plotters' log axis labels: below ~f64::EPSILON it takes key points for its
/// zero point and draws neither labels nor grid lines.
const LOG_AXIS_FLOOR: f64 = 1e-15;

/// Renders a line chart as an SVG document of `size` pixels.
pub fn line_chart(chart: &LineChart<'_>, size: (u32, u32)) -> Result<String> {
    if chart.log_y && chart.y_range.is_none() && y_bounds(&chart.lines, true).0 < LOG_AXIS_FLOOR {
        return log10_chart(chart, size);
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let title = chart.title;
        root.fill(&WHITE).map_err(|e| err(title, &e))?;
        let (x0, x1) = x_bounds(&chart.lines, chart.log_y);
        let (y0, y1) = chart
            .y_range
            .unwrap_or_else(|| y_bounds(&chart.lines, chart.log_y));
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(title, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(42)
            .y_label_area_size(64);
        if chart.log_y {
            let mut ctx = builder
                .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                .map_err(|e| err(title, &e))?;
            ctx.configure_mesh()
                .x_desc(chart.x_label)
                .y_desc(chart.y_label)
                .x_label_formatter(&|v| crate::output::num(*v, 4))
                .y_label_formatter(&|v| decade_label(*v))
                .light_line_style(RGBColor(238, 238, 238))
                .draw()
                .map_err(|e| err(title, &e))?;
            draw_lines(&mut ctx, chart)?;
        } else {
            let mut ctx = builder
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| err(title, &e))?;
            ctx.configure_mesh()
                .x_desc(chart.x_label)
                .y_desc(chart.y_label)
                .x_label_formatter(&|v| crate::output::num(*v, 4))
                .y_label_formatter(&|v| crate::output::num(*v, 4))
                .light_line_style(RGBColor(238, 238, 238))
                .draw()
                .map_err(|e| err(title, &e))?;
            draw_lines(&mut ctx, chart)?;
        }
        root.present().map_err(|e| err(title, &e))?;
    }
    Ok(svg)
}

/// A log-y chart whose values go below [`LOG_AXIS_FLOOR`] (a gradient through 100 time
/// steps reaches 1e-30): log10 y on a linear axis, labelled in decades.
fn log10_chart(chart: &LineChart<'_>, size: (u32, u32)) -> Result<String> {
    let lines = chart
        .lines
        .iter()
        .map(|l| Line {
            label: l.label.clone(),
            points: l
                .points
                .iter()
                .map(|&(x, y)| (x, if y > 0.0 { y.log10() } else { f64::NAN }))
                .collect(),
            dashed: l.dashed,
            color: l.color,
            markers: l.markers,
        })
        .collect();
    let (y0, y1) = y_bounds(&chart.lines, true);
    let linear = LineChart {
        title: chart.title,
        x_label: chart.x_label,
        y_label: chart.y_label,
        lines,
        log_y: false,
        y_range: Some((y0.log10(), y1.log10())),
        legend: legend_position(&chart.legend),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let title = chart.title;
        root.fill(&WHITE).map_err(|e| err(title, &e))?;
        let (x0, x1) = x_bounds(&linear.lines, false);
        let (lo, hi) = (y0.log10(), y1.log10());
        let mut ctx = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(14)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, lo..hi)
            .map_err(|e| err(title, &e))?;
        ctx.configure_mesh()
            .x_desc(chart.x_label)
            .y_desc(chart.y_label)
            .x_label_formatter(&|v| crate::output::num(*v, 4))
            .y_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-9 {
                    decade_label(10f64.powi(v.round() as i32))
                } else {
                    String::new()
                }
            })
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(|e| err(title, &e))?;
        draw_lines(&mut ctx, &linear)?;
        root.present().map_err(|e| err(title, &e))?;
    }
    Ok(svg)
}

/// A heatmap: `values[row][col]`, rows drawn bottom to top.
pub struct Heatmap<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// X-axis label.
    pub x_label: &'a str,
    /// Y-axis label.
    pub y_label: &'a str,
    /// Label of each column (shown on the x-axis, thinned out).
    pub columns: Vec<String>,
    /// Label of each row.
    pub rows: Vec<String>,
    /// Cell values; non-finite cells are drawn grey.
    pub values: Vec<Vec<f64>>,
    /// Label of the colour bar.
    pub scale_label: &'a str,
}

/// Viridis, sampled at 9 points.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// The viridis colour of `t` in [0, 1].
pub fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Renders a heatmap with a colour bar as an SVG document of `size` pixels.
pub fn heatmap(h: &Heatmap<'_>, size: (u32, u32)) -> Result<String> {
    let title = h.title;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in h.values.iter().flatten().filter(|v| v.is_finite()) {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-9 {
        lo -= 0.5;
        hi += 0.5;
    }
    let nx = h.columns.len().max(1);
    let ny = h.rows.len().max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(title, &e))?;
        let root = root
            .titled(title, ("sans-serif", 20))
            .map_err(|e| err(title, &e))?;
        let (main, bar) = root.split_horizontally(size.0.saturating_sub(120));
        let columns = &h.columns;
        let rows = &h.rows;
        let mut ctx = ChartBuilder::on(&main)
            .margin(14)
            .x_label_area_size(42)
            .y_label_area_size(56)
            .build_cartesian_2d((0..nx).into_segmented(), (0..ny).into_segmented())
            .map_err(|e| err(title, &e))?;
        let label = |names: &Vec<String>, v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < names.len() => names[*i].clone(),
            _ => String::new(),
        };
        ctx.configure_mesh()
            .disable_mesh()
            .x_desc(h.x_label)
            .y_desc(h.y_label)
            .x_labels(nx.min(12))
            .y_labels(ny.min(30))
            .x_label_formatter(&|v| label(columns, v))
            .y_label_formatter(&|v| label(rows, v))
            .draw()
            .map_err(|e| err(title, &e))?;
        let cells = h.values.iter().enumerate().flat_map(|(r, row)| {
            row.iter().enumerate().map(move |(c, v)| {
                let color = if v.is_finite() {
                    viridis((v - lo) / (hi - lo))
                } else {
                    RGBColor(200, 200, 200)
                };
                Rectangle::new(
                    [
                        (SegmentValue::Exact(c), SegmentValue::Exact(r)),
                        (SegmentValue::Exact(c + 1), SegmentValue::Exact(r + 1)),
                    ],
                    color.filled(),
                )
            })
        });
        ctx.draw_series(cells).map_err(|e| err(title, &e))?;
        // The colour bar.
        let mut cb = ChartBuilder::on(&bar)
            .margin_top(14)
            .margin_bottom(56)
            .margin_right(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..1.0, lo..hi)
            .map_err(|e| err(title, &e))?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(h.scale_label)
            .y_labels(8)
            .y_label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 13))
            .y_label_formatter(&|v| crate::output::num(*v, 3))
            .draw()
            .map_err(|e| err(title, &e))?;
        let steps = 64;
        cb.draw_series((0..steps).map(|i| {
            let a = lo + (hi - lo) * i as f64 / steps as f64;
            let b = lo + (hi - lo) * (i + 1) as f64 / steps as f64;
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                viridis((i as f64 + 0.5) / steps as f64).filled(),
            )
        }))
        .map_err(|e| err(title, &e))?;
        root.present().map_err(|e| err(title, &e))?;
    }
    Ok(svg)
}
