//! Line charts: series of (x, y) points on a linear or logarithmic y axis, each point with a
//! hover title, the legend below the plot.

use anyhow::Result;

use super::frame::{self, Axis, Frame, Scale};
use super::legend::{self, Entry};
use super::style::{color, Dash, GREY};
use super::svg::Overlay;
use crate::output::num;

/// One curve.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label (empty: not in the legend).
    pub label: String,
    /// (x, y) points in order; a point that cannot be drawn (not finite, y ≤ 0 on a log axis)
    /// breaks the line.
    pub points: Vec<(f64, f64)>,
    /// Its colour (`#rrggbb`).
    pub color: String,
    /// Its dash.
    pub dash: Dash,
    /// Draw a dot at every point.
    pub markers: bool,
    /// Error bars: the half-width at each point (y ± e), or empty for none; a non-finite or
    /// zero half-width draws no bar.
    pub errors: Vec<f64>,
}

impl Series {
    /// A solid series in palette colour `i`.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>, i: usize) -> Self {
        Series {
            label: label.into(),
            points,
            color: color(i).to_string(),
            dash: Dash::Solid,
            markers: false,
            errors: Vec::new(),
        }
    }

    /// With error bars: y ± `errors[i]` at point i.
    pub fn errors(mut self, errors: Vec<f64>) -> Self {
        self.errors = errors;
        self
    }

    /// With this dash.
    pub fn dash(mut self, dash: Dash) -> Self {
        self.dash = dash;
        self
    }

    /// With or without markers.
    pub fn markers(mut self, on: bool) -> Self {
        self.markers = on;
        self
    }
}

/// A line chart.
pub struct LineChart<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// X-axis description.
    pub x_label: &'a str,
    /// Y-axis description.
    pub y_label: &'a str,
    /// The x quantity's name in hover titles.
    pub x_name: &'a str,
    /// The y quantity's name in hover titles.
    pub y_name: &'a str,
    /// The curves.
    pub series: Vec<Series>,
    /// Linear or logarithmic y axis.
    pub y_scale: Scale,
    /// Fixed y range (else from the data).
    pub y_range: Option<(f64, f64)>,
    /// Width and height in pixels (the legend's rows are added to the height).
    pub size: (u32, u32),
}

/// A value for a hover title.
pub fn value(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e4).contains(&v.abs()) {
        format!("{v:.3e}")
    } else {
        num(v, 4)
    }
}

/// At most this many hover targets per series without markers (a dense curve gets one every
/// few points).
const MAX_HOVER: usize = 150;

impl LineChart<'_> {
    /// Renders the chart as an SVG document.
    pub fn render(&self) -> Result<String> {
        self.draw(false)
    }

    /// Renders the chart with grey axes through the origin (x = 0 and y = 0, where shown).
    pub fn render_with_origin(&self) -> Result<String> {
        self.draw(true)
    }

    fn draw(&self, origin: bool) -> Result<String> {
        let log = self.y_scale == Scale::Log;
        let drawable = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite() && (!log || p.1 > 0.0);
        let pts = || {
            self.series
                .iter()
                .flat_map(|s| s.points.iter())
                .filter(|p| drawable(p))
        };
        let x = frame::bounds(pts().map(|p| p.0), Scale::Linear);
        let x = {
            // No padding on x: the data spans the axis.
            let (lo, hi) = pts()
                .map(|p| p.0)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(v), b.max(v))
                });
            if lo.is_finite() && hi > lo {
                (lo, hi)
            } else {
                x
            }
        };
        // The error bars' ends count towards the y range.
        let ends = self.series.iter().flat_map(|s| {
            s.points
                .iter()
                .zip(&s.errors)
                .filter(|(p, e)| drawable(p) && e.is_finite())
                .flat_map(|(p, e)| [p.1 - e, p.1 + e])
        });
        let ys: Vec<f64> = pts()
            .map(|p| p.1)
            .chain(ends.filter(|v| !log || *v > 0.0))
            .collect();
        let y = self
            .y_range
            .unwrap_or_else(|| frame::bounds(ys.into_iter(), self.y_scale));
        let entries: Vec<Entry> = self
            .series
            .iter()
            .filter(|s| !s.label.is_empty())
            .map(|s| Entry {
                label: s.label.clone(),
                color: s.color.clone(),
                dash: s.dash,
                marker: s.markers,
                swatch: None,
            })
            .collect();
        let below = legend::height(&entries, self.size.0);
        let size = (self.size.0, self.size.1 + below);
        // Whole-number x (epochs, steps, depths) over a short span: one tick per value, so that
        // no tick falls between two of them (epoch 1.5).
        let mut x_axis = Axis::linear(self.x_label, x);
        let span = x.1 - x.0;
        if pts().all(|p| p.0.fract() == 0.0) && span >= 1.0 && span < x_axis.max_ticks as f64 {
            x_axis.max_ticks = span as usize + 1;
        }
        let (svg, map) = frame::draw(
            &Frame {
                title: self.title,
                title_size: 20,
                x: x_axis,
                y: Axis::new(self.y_label, y, self.y_scale),
                below,
                right: 0,
                grid: true,
            },
            size,
        )?;
        let mut o = Overlay::default();
        if origin {
            let ((x0, x1), (y0, y1)) = (map.x_pixels(), map.y_pixels());
            if let Some(px) = map.x(0.0).filter(|_| x.0 < 0.0 && x.1 > 0.0) {
                o.line((px, y0), (px, y1), GREY, 1.0, Dash::Solid);
            }
            if let Some(py) = map.y(0.0).filter(|_| y.0 < 0.0 && y.1 > 0.0 && !log) {
                o.line((x0, py), (x1, py), GREY, 1.0, Dash::Solid);
            }
        }
        for s in &self.series {
            let mut run: Vec<(f64, f64)> = Vec::new();
            for p in &s.points {
                match map.point(*p).filter(|_| drawable(p)) {
                    Some(px) => run.push(px),
                    None => {
                        o.polyline(&run, &s.color, 2.0, s.dash);
                        run.clear();
                    }
                }
            }
            o.polyline(&run, &s.color, 2.0, s.dash);
            for (p, e) in s.points.iter().zip(&s.errors) {
                if !(drawable(p) && e.is_finite() && *e > 0.0) {
                    continue;
                }
                let lo = if log {
                    (p.1 - e).max(p.1 * 1e-3)
                } else {
                    p.1 - e
                };
                let (Some(a), Some(b)) = (map.point((p.0, lo)), map.point((p.0, p.1 + e))) else {
                    continue;
                };
                o.line(a, b, &s.color, 1.5, Dash::Solid);
                for y in [a.1, b.1] {
                    o.line((a.0 - 4.0, y), (a.0 + 4.0, y), &s.color, 1.5, Dash::Solid);
                }
            }
            let stride = if s.markers {
                1
            } else {
                s.points.len().div_ceil(MAX_HOVER).max(1)
            };
            for p in s.points.iter().step_by(stride).filter(|p| drawable(p)) {
                let Some(px) = map.point(*p) else { continue };
                let i = s
                    .points
                    .iter()
                    .position(|q| std::ptr::eq(q, p))
                    .unwrap_or(0);
                let pm = match s.errors.get(i) {
                    Some(e) if e.is_finite() => format!(" ± {}", value(*e)),
                    _ => String::new(),
                };
                let hover = format!(
                    "{}{}{} = {}, {} = {}{pm}",
                    s.label,
                    if s.label.is_empty() { "" } else { ": " },
                    self.x_name,
                    value(p.0),
                    self.y_name,
                    value(p.1)
                );
                if s.markers {
                    o.circle(px, 3.0, &s.color, 1.0, &hover);
                } else {
                    o.circle(px, 4.0, &s.color, 0.0, &hover);
                }
            }
        }
        let (left, right) = map.x_pixels();
        let top = f64::from(self.size.1) + 2.0;
        legend::draw(&mut o, &entries, (left, top), right - left);
        Ok(o.apply(svg))
    }
}
