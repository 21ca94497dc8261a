//! A self-contained HTML page: inline CSS and inline SVG, no scripts, no external resources.
//! The output is also well-formed XML (every element closed, text escaped).

/// Escapes text for HTML/XML content and attribute values.
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

/// Prepares a plotters SVG document for inlining: drops the XML namespace declaration (an
/// inline `<svg>` in HTML does not need it) so the page holds no URL at all.
pub fn inline_svg(svg: &str) -> String {
    svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "")
        .replace(" xmlns:xlink=\"http://www.w3.org/1999/xlink\"", "")
}

const STYLE: &str = "
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin-top: 1.2em; }
.flow { display: inline-block; padding: 0.15em 0.6em; border-radius: 0.3em; color: #fff;
        font-weight: bold; text-transform: uppercase; }
.vanishing { background: #3b6fb6; } .exploding { background: #c0392b; }
.healthy { background: #2e8b57; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.55em; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #555; }
svg { max-width: 100%; height: auto; }
.muted { color: #666; font-size: 0.9em; }
code { background: #f4f4f4; padding: 0 0.2em; }
";

/// An HTML page under construction.
pub struct Page {
    body: String,
    title: String,
}

impl Page {
    /// A page with this `<title>` and `<h1>`.
    pub fn new(title: &str) -> Self {
        Page {
            body: format!("<h1>{}</h1>\n", escape(title)),
            title: title.to_string(),
        }
    }

    /// A section heading.
    pub fn h2(&mut self, text: &str) {
        self.body.push_str(&format!("<h2>{}</h2>\n", escape(text)));
    }

    /// A sub-section heading.
    pub fn h3(&mut self, text: &str) {
        self.body.push_str(&format!("<h3>{}</h3>\n", escape(text)));
    }

    /// A paragraph of plain text.
    pub fn p(&mut self, text: &str) {
        self.body.push_str(&format!("<p>{}</p>\n", escape(text)));
    }

    /// A paragraph in small grey type.
    pub fn note(&mut self, text: &str) {
        self.body
            .push_str(&format!("<p class=\"muted\">{}</p>\n", escape(text)));
    }

    /// A coloured badge for a flow (`vanishing`, `exploding`, `healthy`) followed by text.
    pub fn flow_line(&mut self, flow: &str, text: &str) {
        self.body.push_str(&format!(
            "<p><span class=\"flow {}\">{}</span> {}</p>\n",
            escape(flow),
            escape(flow),
            escape(text)
        ));
    }

    /// A numbered list.
    pub fn ol(&mut self, items: &[String]) {
        self.body.push_str("<ol>\n");
        for i in items {
            self.body.push_str(&format!("<li>{}</li>\n", escape(i)));
        }
        self.body.push_str("</ol>\n");
    }

    /// A bulleted list.
    pub fn ul(&mut self, items: &[String]) {
        self.body.push_str("<ul>\n");
        for i in items {
            self.body.push_str(&format!("<li>{}</li>\n", escape(i)));
        }
        self.body.push_str("</ul>\n");
    }

    /// A table; the first `left` columns are left-aligned (text), the rest right-aligned.
    pub fn table(&mut self, header: &[&str], rows: &[Vec<String>], left: usize) {
        let cls = |i: usize| if i < left { " class=\"l\"" } else { "" };
        self.body.push_str("<table>\n<tr>");
        for (i, h) in header.iter().enumerate() {
            self.body
                .push_str(&format!("<th{}>{}</th>", cls(i), escape(h)));
        }
        self.body.push_str("</tr>\n");
        for r in rows {
            self.body.push_str("<tr>");
            for (i, c) in r.iter().enumerate() {
                self.body
                    .push_str(&format!("<td{}>{}</td>", cls(i), escape(c)));
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</table>\n");
    }

    /// An inline SVG figure with a caption.
    pub fn figure(&mut self, svg: &str, caption: &str) {
        self.body.push_str("<figure>\n");
        self.body.push_str(&inline_svg(svg));
        self.body.push_str(&format!(
            "\n<figcaption>{}</figcaption>\n</figure>\n",
            escape(caption)
        ));
    }

    /// The finished document.
    pub fn finish(self) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
            escape(&self.title),
            self.body
        )
    }
}
