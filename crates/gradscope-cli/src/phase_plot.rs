//! The order-to-chaos phase diagram as SVG: the χ₁ = 1 curve in the (σ_w², σ_b²) plane with
//! the ordered and chaotic regions shaded and labelled, and one point marked (plotters, SVG
//! backend, text as SVG `<text>`).

use anyhow::{anyhow, Result};
use plotters::prelude::*;

/// One point of the phase boundary.
#[derive(Clone, Copy, Debug)]
pub struct BoundaryPoint {
    /// σ_b² (the y axis).
    pub sigma_b2: f64,
    /// σ_w² of the transition (the x axis), if χ₁ crosses 1 in the searched range.
    pub sigma_w2: Option<f64>,
    /// False when χ₁ jumps across 1 here instead of passing through it (drawn dashed).
    pub continuous: bool,
}

/// Which phase lies where, for the rows where the boundary is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// χ₁ < 1.
    Ordered,
    /// χ₁ > 1.
    Chaotic,
}

/// A phase diagram.
pub struct PhaseDiagram<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// The boundary, by increasing σ_b² (the first at 0, the last at `max_sigma_b2`).
    pub boundary: Vec<BoundaryPoint>,
    /// For each boundary row without a transition: the phase of the whole row.
    pub row_phase: Vec<Side>,
    /// Right end of the σ_w² axis.
    pub max_sigma_w2: f64,
    /// Top of the σ_b² axis.
    pub max_sigma_b2: f64,
    /// The marked point (σ_w², σ_b²) and its label, if any.
    pub point: Option<((f64, f64), String)>,
}

const ORDERED: RGBColor = RGBColor(214, 230, 246);
const CHAOTIC: RGBColor = RGBColor(248, 217, 210);
const BOUNDARY: RGBColor = RGBColor(20, 20, 20);
const MARK: RGBColor = RGBColor(214, 39, 40);

/// Renders the diagram to an SVG document (800×560).
pub fn phase_diagram_svg(d: &PhaseDiagram<'_>) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 560)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| anyhow!("phase plot `{}`: {e}", d.title);
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (xmax, ymax) = (d.max_sigma_w2, d.max_sigma_b2);
        let mut ctx = ChartBuilder::on(&root)
            .caption(d.title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..xmax, 0.0..ymax)
            .map_err(|e| err(&e))?;
        let clip = |x: f64| x.clamp(0.0, xmax);
        // Regions: between consecutive boundary rows, left of the boundary is ordered and right
        // of it chaotic; a row without a transition has one phase throughout.
        let mut polys: Vec<(Vec<(f64, f64)>, RGBColor)> = Vec::new();
        for (i, w) in d.boundary.windows(2).enumerate() {
            let (a, b) = (w[0], w[1]);
            match (a.sigma_w2, b.sigma_w2) {
                (Some(ca), Some(cb)) => {
                    let (ca, cb) = (clip(ca), clip(cb));
                    polys.push((
                        vec![
                            (0.0, a.sigma_b2),
                            (ca, a.sigma_b2),
                            (cb, b.sigma_b2),
                            (0.0, b.sigma_b2),
                        ],
                        ORDERED,
                    ));
                    polys.push((
                        vec![
                            (ca, a.sigma_b2),
                            (xmax, a.sigma_b2),
                            (xmax, b.sigma_b2),
                            (cb, b.sigma_b2),
                        ],
                        CHAOTIC,
                    ));
                }
                _ => {
                    let side = d
                        .row_phase
                        .get(if a.sigma_w2.is_none() { i } else { i + 1 })
                        .copied()
                        .unwrap_or(Side::Ordered);
                    let color = if side == Side::Ordered {
                        ORDERED
                    } else {
                        CHAOTIC
                    };
                    polys.push((
                        vec![
                            (0.0, a.sigma_b2),
                            (xmax, a.sigma_b2),
                            (xmax, b.sigma_b2),
                            (0.0, b.sigma_b2),
                        ],
                        color,
                    ));
                }
            }
        }
        for (pts, color) in polys {
            ctx.draw_series(std::iter::once(Polygon::new(pts, color.filled())))
                .map_err(|e| err(&e))?;
        }
        ctx.configure_mesh()
            .x_desc("sigma_w^2  (weights ~ N(0, sigma_w^2 / fan_in))")
            .y_desc("sigma_b^2  (biases ~ N(0, sigma_b^2))")
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .map_err(|e| err(&e))?;
        // The boundary: solid where χ₁ passes through 1, dashed where it jumps across 1.
        let solid = ShapeStyle::from(&BOUNDARY).stroke_width(3);
        let mut labelled_solid = false;
        let mut labelled_jump = false;
        for w in d.boundary.windows(2) {
            let (Some(ca), Some(cb)) = (w[0].sigma_w2, w[1].sigma_w2) else {
                continue;
            };
            let seg = vec![(clip(ca), w[0].sigma_b2), (clip(cb), w[1].sigma_b2)];
            if w[0].continuous && w[1].continuous {
                let s = ctx
                    .draw_series(LineSeries::new(seg, solid))
                    .map_err(|e| err(&e))?;
                if !labelled_solid {
                    s.label("chi1 = 1 (edge of chaos)")
                        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], solid));
                    labelled_solid = true;
                }
            } else {
                let s = ctx
                    .draw_series(DashedLineSeries::new(seg, 6, 4, solid))
                    .map_err(|e| err(&e))?;
                if !labelled_jump {
                    s.label("chi1 jumps across 1 (discontinuous)")
                        .legend(move |(x, y)| {
                            plotters::element::DashedPathElement::new(
                                [(x, y), (x + 20, y)],
                                6,
                                4,
                                solid,
                            )
                        });
                    labelled_jump = true;
                }
            }
        }
        // Region labels, at mid-height: the middle of the ordered part and of the chaotic part.
        let mid = d
            .boundary
            .iter()
            .min_by(|a, b| {
                (a.sigma_b2 - 0.5 * ymax)
                    .abs()
                    .total_cmp(&(b.sigma_b2 - 0.5 * ymax).abs())
            })
            .and_then(|p| p.sigma_w2.map(|c| (clip(c), p.sigma_b2)));
        let font = ("sans-serif", 18).into_font().color(&BLACK.mix(0.75));
        let (ordered_at, chaotic_at) = match mid {
            Some((c, y)) => ((0.5 * c, y), (0.5 * (c + xmax), y)),
            None => ((0.25 * xmax, 0.5 * ymax), (0.75 * xmax, 0.5 * ymax)),
        };
        let centred = |(x, y): (f64, f64), text: &str| {
            // Shift left by about half the text width (≈ 0.55 em per character).
            let px_per_x = 700.0 / xmax;
            let half = 0.5 * 0.55 * 18.0 * text.chars().count() as f64 / px_per_x;
            Text::new(
                text.to_string(),
                ((x - half).clamp(0.0, xmax), y),
                font.clone(),
            )
        };
        let mut labels = Vec::new();
        if mid.is_some() || d.row_phase.contains(&Side::Ordered) {
            labels.push(centred(ordered_at, "ORDERED  chi1 < 1"));
            labels.push(centred(
                (ordered_at.0, ordered_at.1 - 0.06 * ymax),
                "gradients vanish",
            ));
        }
        if mid.is_some() || d.row_phase.contains(&Side::Chaotic) {
            labels.push(centred(chaotic_at, "CHAOTIC  chi1 > 1"));
            labels.push(centred(
                (chaotic_at.0, chaotic_at.1 - 0.06 * ymax),
                "gradients explode",
            ));
        }
        ctx.draw_series(labels).map_err(|e| err(&e))?;
        if let Some(((x, y), label)) = &d.point {
            let (x, y) = (clip(*x), y.clamp(0.0, ymax));
            ctx.draw_series(std::iter::once(Circle::new((x, y), 6, MARK.filled())))
                .map_err(|e| err(&e))?
                .label(label.clone())
                .legend(|(x, y)| Circle::new((x + 10, y), 5, MARK.filled()));
        }
        ctx.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
