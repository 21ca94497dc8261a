//! Heatmaps: a grid of cells coloured by value (viridis), rows bottom to top, each cell with a
//! hover title, and a colour bar with its labels right of it.

use anyhow::Result;

use super::frame::{self, Axis, Frame};
use super::line::value;
use super::style::{text_width, viridis, Dash, GREY};
use super::svg::{Anchor, Overlay};
use crate::output::num;

/// A heatmap: `values[row][col]`.
pub struct Heatmap<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// X-axis description.
    pub x_label: &'a str,
    /// Y-axis description.
    pub y_label: &'a str,
    /// The column quantity's name in hover titles.
    pub x_name: &'a str,
    /// The row quantity's name in hover titles.
    pub y_name: &'a str,
    /// Label of each column (the axis shows some of them).
    pub columns: Vec<String>,
    /// Label of each row, bottom first.
    pub rows: Vec<String>,
    /// Cell values; non-finite cells are grey.
    pub values: Vec<Vec<f64>>,
    /// The colour bar's description (the value's name in hover titles).
    pub scale_label: &'a str,
    /// Width and height in pixels.
    pub size: (u32, u32),
}

/// About `n` round values spanning [lo, hi].
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = hi - lo;
    if span.is_nan() || span <= 0.0 || span.is_infinite() {
        return vec![lo];
    }
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Every k-th index so that at most `max` of `n` are shown (always the first and last).
fn thinned(n: usize, max: usize) -> Vec<usize> {
    let k = n.div_ceil(max.max(1)).max(1);
    let mut v: Vec<usize> = (0..n).step_by(k).collect();
    if n > 0 && v.last() != Some(&(n - 1)) {
        if v.len() > 1 && n - 1 - v[v.len() - 1] <= k / 2 {
            v.pop();
        }
        v.push(n - 1);
    }
    v
}

const BAR_RESERVE: u32 = 130;

impl Heatmap<'_> {
    /// Renders the heatmap as an SVG document.
    pub fn render(&self) -> Result<String> {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in self.values.iter().flatten().filter(|v| v.is_finite()) {
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
        let (nx, ny) = (self.columns.len().max(1), self.rows.len().max(1));
        let mut x = Axis::linear(self.x_label, (0.0, nx as f64));
        let mut y = Axis::linear(self.y_label, (0.0, ny as f64));
        x.ticks = false;
        y.ticks = false;
        let (svg, map) = frame::draw(
            &Frame {
                title: self.title,
                title_size: 20,
                x,
                y,
                below: 0,
                right: BAR_RESERVE,
                grid: false,
            },
            self.size,
        )?;
        let mut o = Overlay::default();
        // Shared integer edges: neighbouring cells meet exactly, without seams.
        let xe: Vec<i64> = (0..=nx)
            .map(|i| map.x(i as f64).unwrap_or(0.0).round() as i64)
            .collect();
        let ye: Vec<i64> = (0..=ny)
            .map(|j| map.y(j as f64).unwrap_or(0.0).round() as i64)
            .collect();
        for (r, row) in self.values.iter().enumerate().take(ny) {
            for (c, v) in row.iter().enumerate().take(nx) {
                let color = if v.is_finite() {
                    viridis((v - lo) / (hi - lo))
                } else {
                    "#c8c8c8".to_string()
                };
                let hover = format!(
                    "{} {}, {} {}: {} = {}",
                    self.y_name,
                    self.rows.get(r).map_or("", String::as_str),
                    self.x_name,
                    self.columns.get(c).map_or("", String::as_str),
                    self.scale_label,
                    if v.is_finite() { value(*v) } else { "-".into() }
                );
                o.rect((xe[c], ye[r + 1]), (xe[c + 1], ye[r]), &color, &hover);
            }
        }
        // Cell labels at the cell centres.
        let (left, right) = map.x_pixels();
        let (bottom, top) = map.y_pixels();
        for c in thinned(self.columns.len(), 12) {
            let cx = (xe[c] + xe[c + 1]) as f64 / 2.0;
            o.line((cx, bottom), (cx, bottom + 4.0), GREY, 1.0, Dash::Solid);
            o.text(
                (cx, bottom + 14.0),
                &self.columns[c],
                13.0,
                Anchor::Middle,
                false,
            );
        }
        for r in thinned(self.rows.len(), 30) {
            let cy = (ye[r] + ye[r + 1]) as f64 / 2.0;
            o.line((left - 4.0, cy), (left, cy), GREY, 1.0, Dash::Solid);
            o.text((left - 7.0, cy), &self.rows[r], 13.0, Anchor::End, false);
        }
        // The colour bar, its ticks and labels right of it, its description right of those.
        let bx = right + 22.0;
        let bw = 16.0;
        let steps = 64;
        let yb = |t: f64| bottom + (top - bottom) * t;
        for i in 0..steps {
            let (a, b) = (i as f64 / steps as f64, (i + 1) as f64 / steps as f64);
            o.rect(
                (bx as i64, yb(b).round() as i64),
                ((bx + bw) as i64, yb(a).round() as i64),
                &viridis((i as f64 + 0.5) / steps as f64),
                "",
            );
        }
        o.frame_rect((bx, top), (bx + bw, bottom), GREY);
        let mut widest: f64 = 0.0;
        for v in nice_ticks(lo, hi, 6) {
            let py = yb((v - lo) / (hi - lo));
            let label = num(v, 3);
            widest = widest.max(text_width(&label, 12.0));
            o.line((bx + bw, py), (bx + bw + 4.0, py), GREY, 1.0, Dash::Solid);
            o.text((bx + bw + 7.0, py), &label, 12.0, Anchor::Start, false);
        }
        let lx = (bx + bw + 7.0 + widest + 14.0).min(f64::from(self.size.0) - 8.0);
        o.text(
            (lx, (top + bottom) / 2.0),
            self.scale_label,
            13.0,
            Anchor::Middle,
            true,
        );
        Ok(o.apply(svg))
    }
}
