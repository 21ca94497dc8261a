//! SVG elements written by hand on top of a plotters frame: every mark can carry a `<title>`
//! (the viewer shows it on hover).

use std::fmt::Write as _;

use super::style::{Dash, FONT};

/// Escapes text for SVG/XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// SVG elements to add to a chart.
#[derive(Default)]
pub struct Overlay {
    body: String,
}

fn title(t: &str) -> String {
    if t.is_empty() {
        String::new()
    } else {
        format!("<title>{}</title>", escape(t))
    }
}

/// Text anchoring.
#[derive(Clone, Copy)]
pub enum Anchor {
    /// Left end at x.
    Start,
    /// Centred on x.
    Middle,
    /// Right end at x.
    End,
}

impl Overlay {
    /// A polyline through `points` (pixels).
    pub fn polyline(&mut self, points: &[(f64, f64)], color: &str, width: f64, dash: Dash) {
        if points.len() < 2 {
            return;
        }
        let mut pts = String::new();
        for (x, y) in points {
            let _ = write!(pts, "{x:.1},{y:.1} ");
        }
        let _ = writeln!(
            self.body,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\"{} points=\"{}\"/>",
            dash.attribute(),
            pts.trim_end()
        );
    }

    /// A filled polygon (no stroke).
    pub fn polygon(&mut self, points: &[(f64, f64)], color: &str, opacity: f64, hover: &str) {
        let mut pts = String::new();
        for (x, y) in points {
            let _ = write!(pts, "{x:.1},{y:.1} ");
        }
        let _ = writeln!(
            self.body,
            "<polygon fill=\"{color}\" fill-opacity=\"{opacity}\" stroke=\"none\" points=\"{}\">{}</polygon>",
            pts.trim_end(),
            title(hover)
        );
    }

    /// A circle; `opacity` 0 makes an invisible hover target (it still receives the pointer).
    pub fn circle(&mut self, (x, y): (f64, f64), r: f64, color: &str, opacity: f64, hover: &str) {
        let _ = writeln!(
            self.body,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\" fill=\"{color}\" fill-opacity=\"{opacity}\">{}</circle>",
            title(hover)
        );
    }

    /// A filled rectangle with integer pixel edges (no seams between neighbours).
    pub fn rect(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), color: &str, hover: &str) {
        let (x, y) = (x0.min(x1), y0.min(y1));
        let (w, h) = ((x1 - x0).abs(), (y1 - y0).abs());
        let _ = writeln!(
            self.body,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{color}\" \
             shape-rendering=\"crispEdges\">{}</rect>",
            title(hover)
        );
    }

    /// An unfilled rectangle outline.
    pub fn frame_rect(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), color: &str) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"{color}\"/>",
            x0.min(x1),
            y0.min(y1),
            (x1 - x0).abs(),
            (y1 - y0).abs()
        );
    }

    /// A line segment.
    pub fn line(&mut self, a: (f64, f64), b: (f64, f64), color: &str, width: f64, dash: Dash) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{color}\" stroke-width=\"{width}\"{}/>",
            a.0,
            a.1,
            b.0,
            b.1,
            dash.attribute()
        );
    }

    /// Text at (x, y) (the baseline's vertical centre), optionally rotated by −90°.
    pub fn text(
        &mut self,
        (x, y): (f64, f64),
        text: &str,
        size: f64,
        anchor: Anchor,
        vertical: bool,
    ) {
        let a = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let rotate = if vertical {
            format!(" transform=\"rotate(-90, {x:.1}, {y:.1})\"")
        } else {
            String::new()
        };
        let _ = writeln!(
            self.body,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" dy=\"0.35em\" text-anchor=\"{a}\" font-family=\"{FONT}\" \
             font-size=\"{size}\" fill=\"#222222\"{rotate}>{}</text>",
            escape(text)
        );
    }

    /// The chart `svg` (a whole `<svg>` document) with these elements added on top.
    pub fn apply(self, svg: String) -> String {
        match svg.rfind("</svg>") {
            Some(end) => {
                let mut out = svg[..end].to_string();
                out.push_str("<g class=\"marks\">\n");
                out.push_str(&self.body);
                out.push_str("</g>\n");
                out.push_str(&svg[end..]);
                out
            }
            None => svg,
        }
    }
}
