//! Colours, dashes and fonts shared by every chart.

/// Colours of successive series (matplotlib's tab10), as `#rrggbb`.
pub const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// A neutral grey for reference lines (thresholds).
pub const GREY: &str = "#7f7f7f";

/// The font family of every text.
pub const FONT: &str = "sans-serif";

/// The colour of series `i`.
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// How a line is stroked; the legend draws the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dash {
    /// Solid.
    Solid,
    /// Dashed (7 on, 5 off): theory, bounds, later steps.
    Dashed,
    /// Dotted: thresholds.
    Dotted,
}

impl Dash {
    /// The `stroke-dasharray` attribute (empty for solid).
    pub fn attribute(self) -> &'static str {
        match self {
            Dash::Solid => "",
            Dash::Dashed => " stroke-dasharray=\"7 5\"",
            Dash::Dotted => " stroke-dasharray=\"2 4\"",
        }
    }
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

/// The viridis colour of `t` in [0, 1] as `#rrggbb`.
pub fn viridis(t: f64) -> String {
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
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(a.0, b.0),
        mix(a.1, b.1),
        mix(a.2, b.2)
    )
}

/// The approximate width in pixels of `text` at `size` px in a sans-serif font (no font
/// metrics are available: about 0.6 em per character).
pub fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.6
}
