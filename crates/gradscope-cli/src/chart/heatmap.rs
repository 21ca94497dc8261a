//! Heatmaps: a grid of cells coloured by value (viridis), rows bottom to top, each cell with a
//! hover title, and a colour bar with its labels right of it.

use anyhow::Result;

use super::frame::{self, Axis, Frame};
use super::legend::{self, Entry};
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
    /// Width and height in pixels (the legend's rows, for curves, are added to the height).
    pub size: (u32, u32),
    /// Curves drawn over the cells (a prediction), listed in a legend below the plot.
    pub curves: Vec<CellCurve>,
}

/// A curve over a heatmap, in cell units: column c spans [c, c + 1] (its centre c + 0.5),
/// row r spans [r, r + 1]. The curve is cut at the plot's edges; a non-finite point breaks
/// it.
#[derive(Clone, Debug)]
pub struct CellCurve {
    /// The legend's text.
    pub label: String,
    /// The points (column, row) in cell units.
    pub points: Vec<(f64, f64)>,
    /// Its colour.
    pub color: String,
    /// Its dash.
    pub dash: Dash,
}

/// The runs of `points` inside [0, w] × [0, h]: each segment clipped to the box (Liang–Barsky),
/// consecutive visible segments joined, a gap wherever the curve leaves the box or a point is
/// not finite.
pub fn clip_to_box(points: &[(f64, f64)], w: f64, h: f64) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let finite = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite();
    for pair in points.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let clipped = if finite(&a) && finite(&b) {
            clip_segment(a, b, w, h)
        } else {
            None
        };
        match clipped {
            Some((p, q)) => {
                if current.last() != Some(&p) {
                    if current.len() > 1 {
                        runs.push(std::mem::take(&mut current));
                    }
                    current.clear();
                    current.push(p);
                }
                current.push(q);
            }
            None => {
                if current.len() > 1 {
                    runs.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    if current.len() > 1 {
        runs.push(current);
    }
    runs
}

/// The part of segment a→b inside [0, w] × [0, h], None when none is.
fn clip_segment(a: (f64, f64), b: (f64, f64), w: f64, h: f64) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [(-dx, a.0), (dx, w - a.0), (-dy, a.1), (dy, h - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    (t0 <= t1).then_some((
        (a.0 + t0 * dx, a.1 + t0 * dy),
        (a.0 + t1 * dx, a.1 + t1 * dy),
    ))
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
        let entries: Vec<Entry> = self
            .curves
            .iter()
            .map(|c| Entry {
                label: c.label.clone(),
                color: c.color.clone(),
                dash: c.dash,
                marker: false,
                swatch: None,
            })
            .collect();
        let below = legend::height(&entries, self.size.0);
        let size = (self.size.0, self.size.1 + below);
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
                below,
                right: BAR_RESERVE,
                grid: false,
            },
            size,
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
        // The curves, in cell units: x = left + c·(right − left)/nx, y likewise from bottom.
        let px = |(c, r): (f64, f64)| {
            (
                left + c * (right - left) / nx as f64,
                bottom + r * (top - bottom) / ny as f64,
            )
        };
        for curve in &self.curves {
            for run in clip_to_box(&curve.points, nx as f64, ny as f64) {
                let pixels: Vec<(f64, f64)> = run.into_iter().map(px).collect();
                // A light halo under the line keeps it visible on every viridis colour.
                o.polyline(&pixels, "#ffffff", 4.5, Dash::Solid);
                o.polyline(&pixels, &curve.color, 2.5, curve.dash);
            }
        }
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
        legend::draw(
            &mut o,
            &entries,
            (left, f64::from(self.size.1) + 2.0),
            right - left,
        );
        Ok(o.apply(svg))
    }
}

#[cfg(test)]
mod tests {
    use super::clip_to_box;

    #[test]
    fn curves_are_cut_at_the_box_and_at_non_finite_points() {
        // Up through the top (y = 2) and back down: two pieces, each ending on the edge.
        let runs = clip_to_box(&[(0.5, 1.0), (1.5, 3.0), (2.5, 1.0)], 3.0, 2.0);
        assert_eq!(
            runs,
            vec![vec![(0.5, 1.0), (1.0, 2.0)], vec![(2.0, 2.0), (2.5, 1.0)]]
        );
        // A non-finite point breaks the line; a segment wholly outside is dropped.
        let runs = clip_to_box(
            &[
                (0.2, 0.5),
                (0.4, 0.6),
                (0.6, f64::INFINITY),
                (0.8, 0.5),
                (1.0, 0.4),
            ],
            3.0,
            2.0,
        );
        assert_eq!(
            runs,
            vec![vec![(0.2, 0.5), (0.4, 0.6)], vec![(0.8, 0.5), (1.0, 0.4)]]
        );
        assert!(clip_to_box(&[(0.0, 5.0), (1.0, 6.0)], 3.0, 2.0).is_empty());
    }
}
