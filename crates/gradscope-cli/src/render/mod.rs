//! One rendering layer: a command builds a [`Document`] from the library's values, and each
//! output format is one [`Exporter`] — the terminal ([`text`]), `report.md` ([`markdown`]),
//! the self-contained `report.html` ([`html`]) — so every format shows the same content.

pub mod document;
pub mod html;
pub mod markdown;
pub mod text;

pub use document::{Badge, Block, Chart, Document, Table};

/// Renders a [`Document`] in one format.
pub trait Exporter {
    /// The document as this format's text.
    fn export(&self, doc: &Document) -> String;
}

use std::path::Path;

use anyhow::Result;

use crate::output::write_atomic;

/// Writes a document's report into `dir`: every chart as its SVG file, `report.md` and the
/// self-contained `report.html`.
pub fn write_report(dir: &Path, doc: &Document) -> Result<()> {
    for c in doc.charts() {
        write_atomic(&dir.join(&c.file), c.svg.as_bytes())?;
    }
    write_atomic(
        &dir.join("report.md"),
        markdown::Markdown.export(doc).as_bytes(),
    )?;
    write_atomic(&dir.join("report.html"), html::Html.export(doc).as_bytes())?;
    Ok(())
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let json = serde_json::to_string_pretty(value)? + "\n";
    write_atomic(path, json.as_bytes())
}
