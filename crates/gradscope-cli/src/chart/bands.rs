//! Distributions over training as quantile bands (TensorBoard's distribution view), one small
//! panel per layer on a shared y axis: the 2–98% band, the 25–75% band and the median against
//! the training step, each step with a hover title holding its quantiles.

use anyhow::Result;

use super::frame::{self, Axis, Frame, Scale};
use super::legend::{self, Entry};
use super::line::value;
use super::style::{Dash, FONT};
use super::svg::{escape, Overlay};

/// One step of a panel: the five quantiles p2, p25, p50, p75, p98.
#[derive(Clone, Debug)]
pub struct Band {
    /// The training step.
    pub step: f64,
    /// p2, p25, median, p75, p98.
    pub q: [f64; 5],
    /// More numbers for the hover title (e.g. the share of zeros), or empty.
    pub note: String,
}

/// One layer's bands.
#[derive(Clone, Debug)]
pub struct Panel {
    /// The panel's title (the layer).
    pub title: String,
    /// One band per measured step.
    pub bands: Vec<Band>,
}

/// A grid of panels.
pub struct Bands<'a> {
    /// Title above the grid.
    pub title: &'a str,
    /// The panels' x-axis description.
    pub x_label: &'a str,
    /// The panels' y-axis description.
    pub y_label: &'a str,
    /// The quantity's name in hover titles.
    pub value_name: &'a str,
    /// The panels, in order (row by row).
    pub panels: Vec<Panel>,
    /// Linear or logarithmic y axis (shared by every panel).
    pub y_scale: Scale,
    /// Panels per row.
    pub columns: usize,
    /// Width of the whole image and height of one panel, in pixels.
    pub size: (u32, u32),
    /// The bands' colour.
    pub color: &'a str,
}

const HEADER: u32 = 40;

impl Bands<'_> {
    /// Renders the grid as one SVG document (each panel a nested `<svg>`).
    pub fn render(&self) -> Result<String> {
        let cols = self.columns.max(1);
        let rows = self.panels.len().div_ceil(cols).max(1);
        let (w, ph) = self.size;
        let pw = w / cols as u32;
        let entries = vec![
            Entry {
                label: "2–98% of samples".into(),
                color: self.color.into(),
                dash: Dash::Solid,
                marker: false,
                swatch: Some(0.18),
            },
            Entry {
                label: "25–75%".into(),
                color: self.color.into(),
                dash: Dash::Solid,
                marker: false,
                swatch: Some(0.4),
            },
            Entry {
                label: "median".into(),
                color: self.color.into(),
                dash: Dash::Solid,
                marker: false,
                swatch: None,
            },
        ];
        let legend_h = legend::height(&entries, w);
        let h = HEADER + rows as u32 * ph + legend_h;
        let log = self.y_scale == Scale::Log;
        let all = self
            .panels
            .iter()
            .flat_map(|p| p.bands.iter())
            .flat_map(|b| [b.q[0], b.q[4]]);
        let y = frame::bounds(all, self.y_scale);
        let mut out = format!(
            "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\n\
             <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n\
             <text x=\"{}\" y=\"26\" text-anchor=\"middle\" font-family=\"{FONT}\" font-size=\"20\" fill=\"#222222\">{}</text>\n",
            w / 2,
            escape(self.title)
        );
        for (i, p) in self.panels.iter().enumerate() {
            let (r, c) = (i / cols, i % cols);
            let steps = p.bands.iter().map(|b| b.step);
            let (lo, hi) = steps.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), s| {
                (a.min(s), b.max(s))
            });
            let x = if lo.is_finite() && hi > lo {
                (lo, hi)
            } else {
                (lo - 0.5, lo + 0.5)
            };
            let mut x = Axis::linear(self.x_label, x);
            let mut y = Axis::new(self.y_label, y, self.y_scale);
            x.max_ticks = 6;
            y.max_ticks = 5;
            let (svg, map) = frame::draw(
                &Frame {
                    title: &p.title,
                    title_size: 14,
                    x,
                    y,
                    below: 0,
                    right: 0,
                    grid: true,
                },
                (pw, ph),
            )?;
            let mut o = Overlay::default();
            let drawable = |v: f64| v.is_finite() && (!log || v > 0.0);
            let pts: Vec<&Band> = p
                .bands
                .iter()
                .filter(|b| b.q.iter().all(|v| drawable(*v)))
                .collect();
            let edge = |k: usize| -> Vec<(f64, f64)> {
                pts.iter()
                    .filter_map(|b| map.point((b.step, b.q[k])))
                    .collect()
            };
            for ((a, b), opacity) in [((0, 4), 0.18), ((1, 3), 0.4)] {
                let mut poly = edge(a);
                poly.extend(edge(b).into_iter().rev());
                if poly.len() >= 3 {
                    o.polygon(&poly, self.color, opacity, "");
                }
            }
            o.polyline(&edge(2), self.color, 2.0, Dash::Solid);
            for b in &pts {
                let Some(px) = map.point((b.step, b.q[2])) else {
                    continue;
                };
                let hover = format!(
                    "{}, step {}: {} median {}, 25–75% {} – {}, 2–98% {} – {}{}",
                    p.title,
                    b.step,
                    self.value_name,
                    value(b.q[2]),
                    value(b.q[1]),
                    value(b.q[3]),
                    value(b.q[0]),
                    value(b.q[4]),
                    b.note
                );
                o.circle(
                    px,
                    if pts.len() <= 30 { 2.5 } else { 4.0 },
                    self.color,
                    if pts.len() <= 30 { 1.0 } else { 0.0 },
                    &hover,
                );
            }
            let panel = o.apply(svg);
            let (x0, y0) = (c as u32 * pw, HEADER + r as u32 * ph);
            out.push_str(&panel.replacen("<svg ", &format!("<svg x=\"{x0}\" y=\"{y0}\" "), 1));
            out.push('\n');
        }
        let mut o = Overlay::default();
        legend::draw(
            &mut o,
            &entries,
            (
                legend::PLOT_LEFT,
                f64::from(HEADER + rows as u32 * ph) + 2.0,
            ),
            f64::from(w) - legend::PLOT_LEFT,
        );
        out.push_str("</svg>\n");
        Ok(o.apply(out))
    }
}
