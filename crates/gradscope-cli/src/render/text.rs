//! The terminal: plain text, section headings as `name:` lines, aligned tables, verdict labels
//! in capitals (coloured on a terminal), prose wrapped to the terminal's width, charts listed
//! by file.

use super::{Block, Document, Exporter, Table};
use crate::output::text_table;
use crate::term;

/// The terminal exporter: prose wrapped to `width` (None: lines kept whole), verdict labels
/// coloured when `color`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Text {
    /// Wrap width.
    pub width: Option<usize>,
    /// ANSI colour on verdict labels.
    pub color: bool,
}

impl Text {
    /// As the terminal asks (`--color`, `NO_COLOR`, its width; see [`term`]).
    pub fn terminal() -> Text {
        Text {
            width: term::width(),
            color: term::color(),
        }
    }
}

/// A table as aligned columns, or, when its lines are wider than `width`, one record per row
/// (`header cell` of the first column, then `header: cell` lines), so that nothing wraps mid-column.
fn table(t: &Table, width: Option<usize>) -> String {
    let header: Vec<&str> = t.header.iter().map(String::as_str).collect();
    let aligned = text_table(&header, &t.rows);
    let widest = aligned
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    match width {
        Some(w) if widest > w && t.header.len() > 1 => {
            let mut s = String::new();
            for row in &t.rows {
                s.push_str(&format!(
                    "{} {}\n",
                    t.header[0],
                    row.first().map_or("", String::as_str)
                ));
                for (h, c) in t.header.iter().zip(row).skip(1) {
                    s.push_str(&term::wrap(&format!("{h}: {c}"), Some(w), "    ", 6));
                    s.push('\n');
                }
            }
            s
        }
        _ => aligned,
    }
}

/// `s` with its first character in lower case ("Remedies" → "remedies").
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| {
        f.to_lowercase().collect::<String>() + c.as_str()
    })
}

impl Exporter for Text {
    fn export(&self, doc: &Document) -> String {
        let mut s = String::new();
        let mut previous: Option<&Block> = None;
        for b in &doc.blocks {
            // A blank line between a paragraph and a table, and after a table.
            match (previous, b) {
                (Some(Block::Paragraph(_)), Block::Table(_))
                | (
                    Some(Block::Table(_)),
                    Block::Paragraph(_) | Block::Note(_) | Block::List { .. },
                ) => s.push('\n'),
                _ => {}
            }
            previous = Some(b);
            match b {
                Block::Heading { text, .. } => {
                    s.push_str(&format!("\n{}:\n", lower_first(text)));
                }
                Block::Paragraph(t) | Block::Note(t) => {
                    s.push_str(&term::wrap(t, self.width, "", 0));
                    s.push('\n');
                }
                Block::Verdict {
                    badges,
                    scope,
                    text,
                } => {
                    let labels: Vec<String> = badges
                        .iter()
                        .map(|b| {
                            let flow =
                                term::paint_flow(&b.flow.to_uppercase(), &b.flow, self.color);
                            format!("{}: {flow}", lower_first(&b.label))
                        })
                        .collect();
                    let mut line = labels.join(", ");
                    if !scope.is_empty() {
                        line.push_str(&format!(" {scope}"));
                    }
                    if !text.is_empty() {
                        line.push_str(&format!(" ({text})"));
                    }
                    s.push('\n');
                    s.push_str(&term::wrap(&line, self.width, "", 2));
                    s.push('\n');
                }
                Block::List { ordered, items } => {
                    for (i, item) in items.iter().enumerate() {
                        let first = if *ordered {
                            format!("  {}. ", i + 1)
                        } else {
                            "- ".to_string()
                        };
                        let indent = first.chars().count();
                        s.push_str(&term::wrap(item, self.width, &first, indent));
                        s.push('\n');
                    }
                }
                Block::Table(t) => s.push_str(&table(t, self.width)),
                Block::Chart(c) => {
                    s.push_str(&format!("  {}  {}\n", c.file, c.title));
                }
            }
        }
        s
    }
}
