//! SVG charts for the reports and `activations --plot`: one module for every chart.
//!
//! Plotters (SVG backend, no fonts: text is SVG `<text>` rendered by the viewer) draws each
//! chart's frame — caption, axes, grid, tick labels ([`frame`]). The data marks — lines,
//! markers, heatmap cells, bands — and the legend are then written as SVG elements of their
//! own ([`svg::Overlay`]) at the frame's pixel [`frame::Mapping`], so that every point or cell
//! carries a `<title>` with its numbers (hover values), dashes are real `stroke-dasharray`
//! (legend samples look like their series) and heatmap cells share exact pixel edges. A new
//! chart kind (the phase diagram) is a frame plus an overlay.

pub mod bands;
pub mod frame;
pub mod heatmap;
pub mod legend;
pub mod line;
pub mod style;
pub mod svg;

pub use bands::{Band, Bands, Panel};
pub use heatmap::Heatmap;
pub use line::{LineChart, Series};
pub use style::Dash;
