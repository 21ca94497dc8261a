//! The frame of a chart drawn by plotters — background, caption, axes with their
//! descriptions, grid and tick labels — and the [`Mapping`] from data to pixels that the
//! marks are placed with. A logarithmic axis is drawn as log10 of the value on a linear axis
//! labelled in decades (plotters' own log axis loses its labels below about 1e-15, and a
//! gradient through 100 time steps reaches 1e-30).

use anyhow::{anyhow, Result};
use plotters::prelude::*;

use super::style::FONT;
use crate::output::num;

/// How an axis shows its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Linear.
    Linear,
    /// Logarithmic (values ≤ 0 are not drawn).
    Log,
}

/// One axis.
#[derive(Clone, Debug)]
pub struct Axis<'a> {
    /// The description.
    pub label: &'a str,
    /// The data range shown (for a log axis: positive, in data units).
    pub range: (f64, f64),
    /// Linear or logarithmic.
    pub scale: Scale,
    /// Draw tick labels (a heatmap labels its cells itself).
    pub ticks: bool,
    /// At most this many tick labels.
    pub max_ticks: usize,
}

impl<'a> Axis<'a> {
    /// A linear axis over `range`.
    pub fn linear(label: &'a str, range: (f64, f64)) -> Self {
        Axis {
            label,
            range,
            scale: Scale::Linear,
            ticks: true,
            max_ticks: 10,
        }
    }

    /// An axis over `range` with `scale`.
    pub fn new(label: &'a str, range: (f64, f64), scale: Scale) -> Self {
        Axis {
            label,
            range,
            scale,
            ticks: true,
            max_ticks: 12,
        }
    }

    fn space(&self) -> (f64, f64) {
        match self.scale {
            Scale::Linear => self.range,
            Scale::Log => (self.range.0.log10(), self.range.1.log10()),
        }
    }
}

/// A chart's frame.
pub struct Frame<'a> {
    /// The caption above the plot (empty: none).
    pub title: &'a str,
    /// The caption's font size in pixels.
    pub title_size: u32,
    /// The x axis.
    pub x: Axis<'a>,
    /// The y axis.
    pub y: Axis<'a>,
    /// Pixels reserved below the frame (a legend).
    pub below: u32,
    /// Pixels reserved right of the frame (a colour bar).
    pub right: u32,
    /// Draw grid lines.
    pub grid: bool,
}

/// Maps data coordinates to the pixels of a drawn frame.
#[derive(Clone, Copy, Debug)]
pub struct Mapping {
    x: (f64, f64),
    y: (f64, f64),
    px: (f64, f64),
    py: (f64, f64),
    log_x: bool,
    log_y: bool,
}

impl Mapping {
    fn axis(v: f64, log: bool, (a, b): (f64, f64), (p, q): (f64, f64)) -> Option<f64> {
        let v = if log {
            (v > 0.0).then(|| v.log10())?
        } else {
            v
        };
        (v.is_finite() && b != a).then(|| p + (v - a) / (b - a) * (q - p))
    }

    /// The pixel x of data x (None when it cannot be drawn).
    pub fn x(&self, v: f64) -> Option<f64> {
        Self::axis(v, self.log_x, self.x, self.px)
    }

    /// The pixel y of data y (None when it cannot be drawn: not finite, ≤ 0 on a log axis).
    pub fn y(&self, v: f64) -> Option<f64> {
        Self::axis(v, self.log_y, self.y, self.py)
    }

    /// The pixel position of a data point.
    pub fn point(&self, (x, y): (f64, f64)) -> Option<(f64, f64)> {
        Some((self.x(x)?, self.y(y)?))
    }

    /// Left and right pixel edges of the plot.
    pub fn x_pixels(&self) -> (f64, f64) {
        self.px
    }

    /// Bottom and top pixel edges of the plot.
    pub fn y_pixels(&self) -> (f64, f64) {
        self.py
    }
}

/// Whole decades around `[lo, hi]` (at least one).
pub fn decades(lo: f64, hi: f64) -> (f64, f64) {
    let a = lo.log10().floor();
    let b = hi.log10().ceil().max(a + 1.0);
    (10f64.powf(a), 10f64.powf(b))
}

/// The range an axis needs for `values`: whole decades on a log axis (positive values only),
/// 6% padding on a linear one; a default for no values.
pub fn bounds(values: impl Iterator<Item = f64>, scale: Scale) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (scale == Scale::Linear || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return match scale {
            Scale::Log => (0.1, 10.0),
            Scale::Linear => (0.0, 1.0),
        };
    }
    match scale {
        Scale::Log => decades(lo, hi),
        Scale::Linear => {
            if hi - lo < 1e-12 * lo.abs().max(1.0) {
                (lo - 0.5, hi + 0.5)
            } else {
                let pad = 0.06 * (hi - lo);
                (lo - pad, hi + pad)
            }
        }
    }
}

/// `1e-8`, `0.01`, `1`, `100`.
pub fn decade_label(v: f64) -> String {
    if v <= 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let e = v.log10();
    if (e - e.round()).abs() < 1e-6 {
        match e.round() as i32 {
            e @ -2..=3 => num(10f64.powi(e), 3),
            e => format!("1e{e}"),
        }
    } else {
        format!("{v:.0e}")
    }
}

fn tick_label(v: f64, scale: Scale) -> String {
    match scale {
        Scale::Linear => num(v, 4),
        Scale::Log if (v - v.round()).abs() < 1e-9 => decade_label(10f64.powi(v.round() as i32)),
        Scale::Log => String::new(),
    }
}

fn tick_count(axis: &Axis<'_>) -> usize {
    if !axis.ticks {
        return 0;
    }
    let max = axis.max_ticks.max(2);
    match axis.scale {
        // One per decade (or per few) while they fit, so the ticks land on whole decades.
        Scale::Log => {
            let (a, b) = axis.space();
            let n = (b - a).round() as usize + 1;
            if n <= max {
                n
            } else {
                n.div_ceil(n.div_ceil(max))
            }
        }
        Scale::Linear => max,
    }
}

/// Draws `frame` on an SVG document of `size` pixels; returns the document (marks still to
/// be added) and the mapping of the plot area.
pub fn draw(frame: &Frame<'_>, size: (u32, u32)) -> Result<(String, Mapping)> {
    let err = |e: &dyn std::fmt::Display| anyhow!("chart `{}`: {e}", frame.title);
    let (x0, x1) = frame.x.space();
    let (y0, y1) = frame.y.space();
    let mut svg = String::new();
    let mapping;
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (top, _) = root.split_vertically(size.1.saturating_sub(frame.below));
        let (area, _) = top.split_horizontally(size.0.saturating_sub(frame.right));
        let mut builder = ChartBuilder::on(&area);
        if !frame.title.is_empty() {
            builder.caption(frame.title, (FONT, frame.title_size));
        }
        let mut ctx = builder
            .margin(14)
            .x_label_area_size(42)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        let (xs, ys) = (frame.x.scale, frame.y.scale);
        let x_fmt = move |v: &f64| tick_label(*v, xs);
        let y_fmt = move |v: &f64| tick_label(*v, ys);
        let mut mesh = ctx.configure_mesh();
        mesh.x_desc(frame.x.label)
            .y_desc(frame.y.label)
            .x_labels(tick_count(&frame.x))
            .y_labels(tick_count(&frame.y))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .max_light_lines(4)
            .light_line_style(RGBColor(238, 238, 238))
            .bold_line_style(RGBColor(220, 220, 220));
        if !frame.grid {
            mesh.disable_mesh();
        }
        mesh.draw().map_err(|e| err(&e))?;
        let spec = ctx.as_coord_spec();
        let a = spec.translate(&(x0, y0));
        let b = spec.translate(&(x1, y1));
        mapping = Mapping {
            x: (x0, x1),
            y: (y0, y1),
            px: (a.0 as f64, b.0 as f64),
            py: (a.1 as f64, b.1 as f64),
            log_x: frame.x.scale == Scale::Log,
            log_y: frame.y.scale == Scale::Log,
        };
        root.present().map_err(|e| err(&e))?;
    }
    Ok((svg, mapping))
}
