//! The document model every output is rendered from: headings, paragraphs, notes, verdict
//! lines, lists, tables and charts, in order.

/// A rendered report: a title and its blocks in order.
#[derive(Clone, Debug, Default)]
pub struct Document {
    /// The title (Markdown `#`, HTML `<h1>`; the terminal does not print it).
    pub title: String,
    /// The content.
    pub blocks: Vec<Block>,
}

/// A verdict label: "verdict: vanishing", "at initialization: healthy".
#[derive(Clone, Debug, PartialEq)]
pub struct Badge {
    /// What is judged ("Verdict", "At initialization").
    pub label: String,
    /// The flow (`vanishing`, `exploding`, `healthy`).
    pub flow: String,
}

/// A table: a header and rows of cells; the first `text_columns` columns hold text
/// (left-aligned), the others numbers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Column headers.
    pub header: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
    /// Leading text columns.
    pub text_columns: usize,
}

/// A chart: an SVG document and the file it is written to.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Its title.
    pub title: String,
    /// The file name the SVG is written to (`grad_norms.svg`).
    pub file: String,
    /// The SVG document.
    pub svg: String,
    /// What it shows.
    pub caption: String,
}

/// One block of a document.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A section (level 2) or sub-section (level 3) heading.
    Heading {
        /// 2 or 3.
        level: u8,
        /// The heading.
        text: String,
    },
    /// A paragraph.
    Paragraph(String),
    /// A paragraph of secondary information (definitions, captions of tables).
    Note(String),
    /// Verdict labels followed by a scope and a one-line summary.
    Verdict {
        /// The labels, most important first.
        badges: Vec<Badge>,
        /// Where the verdict comes from ("through time"), or empty.
        scope: String,
        /// The numbers behind it.
        text: String,
    },
    /// A numbered or bulleted list.
    List {
        /// Numbered.
        ordered: bool,
        /// The items.
        items: Vec<String>,
    },
    /// A table.
    Table(Table),
    /// A chart.
    Chart(Chart),
}

impl Document {
    /// An empty document with this title.
    pub fn new(title: impl Into<String>) -> Self {
        Document {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    /// Adds a section heading.
    pub fn h2(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Heading {
            level: 2,
            text: text.into(),
        });
    }

    /// Adds a sub-section heading.
    pub fn h3(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Heading {
            level: 3,
            text: text.into(),
        });
    }

    /// Adds a paragraph (nothing for empty text).
    pub fn p(&mut self, text: impl Into<String>) {
        let t = text.into();
        if !t.is_empty() {
            self.blocks.push(Block::Paragraph(t));
        }
    }

    /// Adds a note (nothing for empty text).
    pub fn note(&mut self, text: impl Into<String>) {
        let t = text.into();
        if !t.is_empty() {
            self.blocks.push(Block::Note(t));
        }
    }

    /// Adds a verdict line.
    pub fn verdict(
        &mut self,
        badges: Vec<Badge>,
        scope: impl Into<String>,
        text: impl Into<String>,
    ) {
        self.blocks.push(Block::Verdict {
            badges,
            scope: scope.into(),
            text: text.into(),
        });
    }

    /// Adds a list (nothing for no items).
    pub fn list(&mut self, ordered: bool, items: Vec<String>) {
        if !items.is_empty() {
            self.blocks.push(Block::List { ordered, items });
        }
    }

    /// Adds a table.
    pub fn table(&mut self, table: Table) {
        self.blocks.push(Block::Table(table));
    }

    /// Adds a chart.
    pub fn chart(&mut self, chart: Chart) {
        self.blocks.push(Block::Chart(chart));
    }

    /// The document without the level-2 section headed `heading` (its heading and every
    /// block up to the next level-2 heading): the terminal leaves out what only a report
    /// shows.
    pub fn without_section(&self, heading: &str) -> Document {
        let mut blocks = Vec::new();
        let mut skipping = false;
        for b in &self.blocks {
            if let Block::Heading { level: 2, text } = b {
                skipping = text == heading;
            }
            if !skipping {
                blocks.push(b.clone());
            }
        }
        Document {
            title: self.title.clone(),
            blocks,
        }
    }

    /// The charts, in order.
    pub fn charts(&self) -> impl Iterator<Item = &Chart> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Chart(c) => Some(c),
            _ => None,
        })
    }
}

impl Badge {
    /// A badge.
    pub fn new(label: impl Into<String>, flow: impl Into<String>) -> Self {
        Badge {
            label: label.into(),
            flow: flow.into(),
        }
    }
}

impl Table {
    /// A table with `text_columns` leading text columns.
    pub fn new(header: Vec<String>, rows: Vec<Vec<String>>, text_columns: usize) -> Self {
        Table {
            header,
            rows,
            text_columns,
        }
    }
}
