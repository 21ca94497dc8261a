//! `report.html`: one self-contained page — inline CSS and inline SVG, no scripts, no
//! external resources, no URL at all. The output is also well-formed XML.

use super::{Block, Document, Exporter};
use crate::chart::svg::escape;

/// The HTML exporter.
pub struct Html;

const STYLE: &str = "
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin-top: 1.2em; }
.label { font-weight: bold; margin-right: 0.3em; }
.flow { display: inline-block; padding: 0.15em 0.6em; border-radius: 0.3em; color: #fff;
        font-weight: bold; text-transform: uppercase; margin-right: 0.8em; }
.vanishing { background: #3b6fb6; } .exploding { background: #c0392b; }
.healthy { background: #2e8b57; }
.reproduced { background: #2e8b57; } .partly { background: #b7950b; } .not { background: #c0392b; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.55em; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #555; }
svg { max-width: 100%; height: auto; }
.muted { color: #666; font-size: 0.9em; }
";

/// An SVG document ready to inline: without its XML namespace declarations (an inline `<svg>`
/// in HTML needs none), so the page holds no URL.
pub fn inline_svg(svg: &str) -> String {
    svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "")
        .replace(" xmlns:xlink=\"http://www.w3.org/1999/xlink\"", "")
}

impl Exporter for Html {
    fn export(&self, doc: &Document) -> String {
        let mut b = format!("<h1>{}</h1>\n", escape(&doc.title));
        for block in &doc.blocks {
            match block {
                Block::Heading { level, text } => {
                    b.push_str(&format!("<h{level}>{}</h{level}>\n", escape(text)));
                }
                Block::Paragraph(t) => b.push_str(&format!("<p>{}</p>\n", escape(t))),
                Block::Note(t) => b.push_str(&format!("<p class=\"muted\">{}</p>\n", escape(t))),
                Block::Verdict {
                    badges,
                    scope,
                    text,
                } => {
                    b.push_str("<p>");
                    for badge in badges {
                        b.push_str(&format!(
                            "<span class=\"label\">{}:</span><span class=\"flow {}\">{}</span>",
                            escape(&badge.label),
                            escape(&badge.flow),
                            escape(&badge.flow)
                        ));
                    }
                    let rest = match (scope.is_empty(), text.is_empty()) {
                        (false, false) => format!("{scope} — {text}"),
                        (false, true) => scope.clone(),
                        (true, _) => text.clone(),
                    };
                    b.push_str(&escape(&rest));
                    b.push_str("</p>\n");
                }
                Block::List { ordered, items } => {
                    let tag = if *ordered { "ol" } else { "ul" };
                    b.push_str(&format!("<{tag}>\n"));
                    for i in items {
                        b.push_str(&format!("<li>{}</li>\n", escape(i)));
                    }
                    b.push_str(&format!("</{tag}>\n"));
                }
                Block::Table(t) => {
                    let cls = |i: usize| {
                        if i < t.text_columns {
                            " class=\"l\""
                        } else {
                            ""
                        }
                    };
                    b.push_str("<table>\n<tr>");
                    for (i, h) in t.header.iter().enumerate() {
                        b.push_str(&format!("<th{}>{}</th>", cls(i), escape(h)));
                    }
                    b.push_str("</tr>\n");
                    for r in &t.rows {
                        b.push_str("<tr>");
                        for (i, c) in r.iter().enumerate() {
                            b.push_str(&format!("<td{}>{}</td>", cls(i), escape(c)));
                        }
                        b.push_str("</tr>\n");
                    }
                    b.push_str("</table>\n");
                }
                Block::Chart(c) => {
                    b.push_str("<figure>\n");
                    b.push_str(&inline_svg(&c.svg));
                    b.push_str(&format!(
                        "\n<figcaption>{}</figcaption>\n</figure>\n",
                        escape(&c.caption)
                    ));
                }
            }
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{b}</body>\n</html>\n",
            escape(&doc.title)
        )
    }
}
