//! Draws a [`gradscope::theory::PhaseDiagram`] as SVG: its cells shaded by phase, its χ₁ = 1
//! boundary on top, the regions labelled and one point marked (plotters, SVG backend, text as
//! SVG `<text>`). Nothing here computes the theory: every number drawn comes from the
//! diagram.

use anyhow::{anyhow, Result};
use gradscope::theory::{PhaseCell, PhaseDiagram};
use plotters::prelude::*;

const ORDERED: RGBColor = RGBColor(214, 230, 246);
const CHAOTIC: RGBColor = RGBColor(248, 217, 210);
const BOUNDARY: RGBColor = RGBColor(20, 20, 20);
const MARK: RGBColor = RGBColor(214, 39, 40);

/// The shading side of a cell: ordered when χ₁ < 1.
fn is_ordered(c: &PhaseCell) -> bool {
    c.chi1 < 1.0
}

/// Renders `d` to an SVG document (800×560) titled `title`, with `point` — a (σ_w², σ_b²) and
/// its legend label — marked if given.
pub fn phase_diagram_svg(
    d: &PhaseDiagram,
    title: &str,
    point: Option<((f64, f64), String)>,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 560)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| anyhow!("phase plot `{title}`: {e}");
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (x0, x1) = d.sigma_w2_range;
        let (y0, y1) = d.sigma_b2_range;
        let mut ctx = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        let n = d.resolution;
        let (dx, dy) = ((x1 - x0) / n as f64, (y1 - y0) / n as f64);
        // Cells, one rectangle per run of equal phase along each σ_b² row.
        let mut polys: Vec<(Vec<(f64, f64)>, RGBColor)> = Vec::new();
        for row in 0..n {
            let (lo, hi) = (y0 + row as f64 * dy, y0 + (row + 1) as f64 * dy);
            let mut start = 0;
            for col in 1..=n {
                let side = is_ordered(d.cell(row, start));
                if col < n && is_ordered(d.cell(row, col)) == side {
                    continue;
                }
                let (l, r) = (x0 + start as f64 * dx, x0 + col as f64 * dx);
                let color = if side { ORDERED } else { CHAOTIC };
                polys.push((vec![(l, lo), (r, lo), (r, hi), (l, hi)], color));
                start = col;
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
        let clip = |x: f64| x.clamp(x0, x1);
        let solid = ShapeStyle::from(&BOUNDARY).stroke_width(3);
        let mut labelled_solid = false;
        let mut labelled_jump = false;
        for w in d.boundary.windows(2) {
            let (Some(a), Some(b)) = (w[0].transition, w[1].transition) else {
                continue;
            };
            let seg = vec![
                (clip(a.sigma_w2), a.sigma_b2),
                (clip(b.sigma_w2), b.sigma_b2),
            ];
            if a.continuous && b.continuous {
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
        // Region labels at the centroid of each region's cells.
        let centroid = |ordered: bool| {
            let cells: Vec<&PhaseCell> = d
                .cells
                .iter()
                .filter(|c| is_ordered(c) == ordered)
                .collect();
            (!cells.is_empty()).then(|| {
                let k = cells.len() as f64;
                (
                    cells.iter().map(|c| c.sigma_w2).sum::<f64>() / k,
                    cells.iter().map(|c| c.sigma_b2).sum::<f64>() / k,
                )
            })
        };
        let font = ("sans-serif", 18).into_font().color(&BLACK.mix(0.75));
        let centred = |(x, y): (f64, f64), text: &str| {
            // Shift left by about half the text width (≈ 0.55 em per character).
            let px_per_x = 700.0 / (x1 - x0);
            let half = 0.5 * 0.55 * 18.0 * text.chars().count() as f64 / px_per_x;
            Text::new(
                text.to_string(),
                ((x - half).clamp(x0, x1), y),
                font.clone(),
            )
        };
        let mut labels = Vec::new();
        for (ordered, head, tail) in [
            (true, "ORDERED  chi1 < 1", "gradients vanish"),
            (false, "CHAOTIC  chi1 > 1", "gradients explode"),
        ] {
            if let Some((x, y)) = centroid(ordered) {
                labels.push(centred((x, y), head));
                labels.push(centred((x, y - 0.06 * (y1 - y0)), tail));
            }
        }
        ctx.draw_series(labels).map_err(|e| err(&e))?;
        if let Some(((x, y), label)) = &point {
            let (x, y) = (clip(*x), y.clamp(y0, y1));
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
