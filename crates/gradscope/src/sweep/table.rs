//! A typed table and its CSV form (RFC 4180, read as is by pandas and polars).

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// No value (an empty field: NaN / null when read).
    Empty,
    /// An integer.
    Int(i64),
    /// A float (NaN and ±∞ are written `NaN`, `inf`, `-inf`).
    Float(f64),
    /// A boolean (`true` / `false`).
    Bool(bool),
    /// Text.
    Text(String),
}

impl Cell {
    /// The cell as a number (integers and floats).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The cell as text: what its CSV field holds, unquoted.
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Int(i) => i.to_string(),
            // Debug is the shortest text that reads back as the same f64 (`0.1`, `3.0`,
            // `1e-7`); NaN, inf and -inf are what pandas and polars read.
            Cell::Float(f) => format!("{f:?}"),
            Cell::Bool(b) => b.to_string(),
            Cell::Text(s) => s.clone(),
        }
    }
}

/// Columns and rows of cells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// The index of the column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The cells of column `name`, in row order.
    pub fn values(&self, name: &str) -> Option<Vec<&Cell>> {
        let c = self.column(name)?;
        Some(self.rows.iter().map(|r| &r[c]).collect())
    }

    /// The table as CSV: a header line, then one line per row; a field holding a comma, a
    /// quote or a line break is quoted (quotes doubled); lines end with `\n`.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, fields: &mut dyn Iterator<Item = String>| {
            let mut first = true;
            for f in fields {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&csv_field(&f));
            }
            out.push('\n');
        };
        line(&mut out, &mut self.columns.iter().cloned());
        for r in &self.rows {
            line(&mut out, &mut r.iter().map(Cell::text));
        }
        out
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it_and_writes_numbers_exactly() {
        let t = Table {
            columns: vec!["a".into(), "model.hidden".into(), "x".into()],
            rows: vec![
                vec![
                    Cell::Int(3),
                    Cell::Text("[64, 64]".into()),
                    Cell::Float(0.1),
                ],
                vec![
                    Cell::Empty,
                    Cell::Text("say \"hi\"".into()),
                    Cell::Float(f64::NAN),
                ],
                vec![
                    Cell::Bool(true),
                    Cell::Text("x".into()),
                    Cell::Float(-f64::INFINITY),
                ],
            ],
        };
        assert_eq!(
            t.to_csv(),
            "a,model.hidden,x\n3,\"[64, 64]\",0.1\n,\"say \"\"hi\"\"\",NaN\ntrue,x,-inf\n"
        );
        assert_eq!(Cell::Float(1.0).text(), "1.0");
        assert_eq!(Cell::Float(1e-7).text(), "1e-7");
        assert_eq!(
            Cell::Float(0.30000000000000004).text(),
            "0.30000000000000004"
        );
        assert_eq!(t.values("x").unwrap()[0].as_f64(), Some(0.1));
    }
}
