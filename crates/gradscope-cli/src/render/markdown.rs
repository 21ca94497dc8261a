//! `report.md`: GitHub-flavoured Markdown; charts are links to their SVG files.

use super::{Block, Document, Exporter};
use crate::output::markdown_table;

/// The Markdown exporter.
pub struct Markdown;

impl Exporter for Markdown {
    fn export(&self, doc: &Document) -> String {
        let mut s = if doc.title.is_empty() {
            String::new()
        } else {
            format!("# {}\n\n", doc.title)
        };
        for b in &doc.blocks {
            match b {
                Block::Heading { level, text } => {
                    s.push_str(&format!("{} {text}\n\n", "#".repeat(usize::from(*level))));
                }
                Block::Paragraph(t) | Block::Note(t) => s.push_str(&format!("{t}\n\n")),
                Block::Verdict {
                    badges,
                    scope,
                    text,
                } => {
                    let labels: Vec<String> = badges
                        .iter()
                        .map(|b| format!("**{}: {}**", b.label, b.flow))
                        .collect();
                    s.push_str(&labels.join(" · "));
                    if !scope.is_empty() {
                        s.push_str(&format!(" {scope}"));
                    }
                    if !text.is_empty() {
                        s.push_str(&format!(" — {text}"));
                    }
                    s.push_str("\n\n");
                }
                Block::List { ordered, items } => {
                    for (i, item) in items.iter().enumerate() {
                        if *ordered {
                            s.push_str(&format!("{}. {item}\n", i + 1));
                        } else {
                            s.push_str(&format!("- {item}\n"));
                        }
                    }
                    s.push('\n');
                }
                Block::Table(t) => {
                    let header: Vec<&str> = t.header.iter().map(String::as_str).collect();
                    s.push_str(&markdown_table(&header, &t.rows));
                    s.push('\n');
                }
                Block::Chart(c) => {
                    s.push_str(&format!("![{}]({})\n\n{}\n\n", c.title, c.file, c.caption));
                }
            }
        }
        if doc.charts().next().is_some() {
            s.push_str("The same report with the charts inline: `report.html`.\n");
        }
        s.trim_end().to_string() + "\n"
    }
}
