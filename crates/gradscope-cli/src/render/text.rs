//! The terminal: plain text, section headings as `name:` lines, aligned tables, verdict labels
//! in capitals, charts listed by file.

use super::{Block, Document, Exporter};
use crate::output::text_table;

/// The terminal exporter.
pub struct Text;

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
                    s.push_str(t);
                    s.push('\n');
                }
                Block::Verdict {
                    badges,
                    scope,
                    text,
                } => {
                    let labels: Vec<String> = badges
                        .iter()
                        .map(|b| format!("{}: {}", lower_first(&b.label), b.flow.to_uppercase()))
                        .collect();
                    s.push_str(&format!("\n{}", labels.join(", ")));
                    if !scope.is_empty() {
                        s.push_str(&format!(" {scope}"));
                    }
                    if !text.is_empty() {
                        s.push_str(&format!(" ({text})"));
                    }
                    s.push('\n');
                }
                Block::List { ordered, items } => {
                    for (i, item) in items.iter().enumerate() {
                        if *ordered {
                            s.push_str(&format!("  {}. {item}\n", i + 1));
                        } else {
                            s.push_str(&format!("- {item}\n"));
                        }
                    }
                }
                Block::Table(t) => {
                    let header: Vec<&str> = t.header.iter().map(String::as_str).collect();
                    s.push_str(&text_table(&header, &t.rows));
                }
                Block::Chart(c) => {
                    s.push_str(&format!("  {}  {}\n", c.file, c.title));
                }
            }
        }
        s
    }
}
