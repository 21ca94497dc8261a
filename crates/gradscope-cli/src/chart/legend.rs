//! A legend below the plot, outside the data area: one entry per series with a sample of its
//! line as drawn (colour, dash, marker), laid out in rows.

use super::style::{text_width, Dash};
use super::svg::{Anchor, Overlay};

/// One legend entry.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The series' label.
    pub label: String,
    /// Its colour.
    pub color: String,
    /// Its dash.
    pub dash: Dash,
    /// A marker on the sample (the series draws markers).
    pub marker: bool,
    /// A filled swatch instead of a line (bands).
    pub swatch: Option<f64>,
}

const FONT_SIZE: f64 = 13.0;
const ROW: f64 = 20.0;
const SAMPLE: f64 = 30.0;
const GAP: f64 = 22.0;
/// Pixels from the left edge of the image to the plot's left edge (margin + y label area).
pub const PLOT_LEFT: f64 = 78.0;

fn width_of(e: &Entry) -> f64 {
    SAMPLE + 6.0 + text_width(&e.label, FONT_SIZE) + GAP
}

/// Each entry's offset (x, row) within a legend `width` pixels wide.
fn layout(entries: &[Entry], width: f64) -> Vec<(f64, usize)> {
    let mut out = Vec::new();
    let (mut x, mut row) = (0.0, 0);
    for e in entries {
        let w = width_of(e);
        if x > 0.0 && x + w > width {
            x = 0.0;
            row += 1;
        }
        out.push((x, row));
        x += w;
    }
    out
}

/// The pixels a legend of `entries` needs below a chart `image_width` wide (0 for none).
pub fn height(entries: &[Entry], image_width: u32) -> u32 {
    if entries.is_empty() {
        return 0;
    }
    let rows = layout(entries, image_width as f64 - PLOT_LEFT - 14.0)
        .last()
        .map_or(0, |l| l.1 + 1);
    (rows as f64 * ROW + 10.0).ceil() as u32
}

/// Draws the legend with its top-left corner at `origin`, `width` pixels wide.
pub fn draw(o: &mut Overlay, entries: &[Entry], origin: (f64, f64), width: f64) {
    for (e, (dx, row)) in entries.iter().zip(layout(entries, width)) {
        let x = origin.0 + dx;
        let y = origin.1 + ROW * (row as f64 + 0.5);
        match e.swatch {
            Some(opacity) => o.polygon(
                &[
                    (x, y - 6.0),
                    (x + SAMPLE, y - 6.0),
                    (x + SAMPLE, y + 6.0),
                    (x, y + 6.0),
                ],
                &e.color,
                opacity,
                "",
            ),
            None => o.line((x, y), (x + SAMPLE, y), &e.color, 2.0, e.dash),
        }
        if e.marker {
            o.circle((x + SAMPLE / 2.0, y), 3.0, &e.color, 1.0, "");
        }
        o.text(
            (x + SAMPLE + 6.0, y),
            &e.label,
            FONT_SIZE,
            Anchor::Start,
            false,
        );
    }
}
