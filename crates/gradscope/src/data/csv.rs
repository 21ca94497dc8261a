//! CSV loading: comma-separated (or another delimiter) numeric features and one label column.
//!
//! Fields may be quoted with `"` (RFC 4180: a doubled `""` inside quotes is one quote, and
//! quoted fields may hold delimiters and line breaks). Whitespace around fields is ignored,
//! blank lines are skipped, a UTF-8 byte-order mark is dropped, and `\r\n` line ends are
//! accepted. Every error names the source, and where it applies the 1-based line and column.
//!
//! Every value must be a finite number that fits the run's precision ([`CsvOptions::dtype`]):
//! `nan`, `inf` and, in an f32 run, `1e300` are errors at their line and column (features are
//! held as f64 and converted when a batch is built, where they would silently become ±∞).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::Dataset;
use crate::error::{Error, Result};
use crate::float::DType;

/// Whether the first row holds column names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Header {
    /// A header when some non-empty field of the first row is not a number while the same
    /// column of the second row is one (or, for a one-row file, when any field is not a
    /// number). A header made only of numbers needs [`Header::Present`].
    #[default]
    Auto,
    /// The first row is a header.
    Present,
    /// Every row is data.
    Absent,
}

/// Which column holds the label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LabelColumn {
    /// The last column.
    #[default]
    Last,
    /// The column at this 0-based index (error messages count columns from 1).
    Index(usize),
    /// The column with this header name (needs a header).
    Name(String),
}

/// How the label column is read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LabelKind {
    /// Class labels (any text): the distinct values are sorted — numerically when all are
    /// numbers, else as strings — and mapped to 0..k in that order; the original text of
    /// class `i` is kept as class name `i` ([`Dataset::class_names`]).
    #[default]
    Classes,
    /// A real target: the label column must be numeric; targets are `[n, 1]`.
    Regression,
}

/// Options of [`load_csv`] and [`read_csv`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// Header row handling (default: auto-detect).
    pub header: Header,
    /// Label column (default: the last).
    pub label: LabelColumn,
    /// Classes or regression (default: classes).
    pub label_kind: LabelKind,
    /// Field delimiter (default `,`; `b'\t'` for TSV, `b';'`…).
    pub delimiter: u8,
    /// Data set name (default: the file stem, or the source name given to [`read_csv`]).
    pub name: Option<String>,
    /// The precision the values will be trained in (default f64): a numeric value beyond its
    /// range (|v| > 3.4e38 for f32) is an error naming its line and column.
    pub dtype: DType,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: Header::Auto,
            label: LabelColumn::Last,
            label_kind: LabelKind::Classes,
            delimiter: b',',
            name: None,
            dtype: DType::F64,
        }
    }
}

/// Loads a CSV file (see the [module docs](self) and [`CsvOptions`]); errors name the file.
pub fn load_csv(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let src = path.display().to_string();
    let file =
        std::fs::File::open(path).map_err(|e| Error::Data(format!("{src}: cannot open: {e}")))?;
    let mut opts = opts.clone();
    if opts.name.is_none() {
        opts.name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .or(Some(src.clone()));
    }
    read_csv(std::io::BufReader::new(file), &src, &opts)
}

/// Reads CSV text from any reader; `source` names it in errors (a path, `"<stdin>"`…).
pub fn read_csv<R: Read>(mut reader: R, source: &str, opts: &CsvOptions) -> Result<Dataset> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| Error::Data(format!("{source}: read error: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
        Error::Data(format!("{source}, line {line}: not valid UTF-8 text"))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let records = parse_records(text, opts.delimiter, source)?;
    build(records, source, opts)
}

/// One record: the 1-based line it starts on and its trimmed fields.
struct Record {
    line: usize,
    fields: Vec<String>,
}

fn parse_records(text: &str, delim: u8, source: &str) -> Result<Vec<Record>> {
    let delim = delim as char;
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut was_quoted = false; // the current field was a quoted one (now closed)
    let mut any_quoted = false; // some field of the current record was quoted
    let mut line = 1;
    let mut rec_line = 1;
    let mut quote_line = 1;
    let mut chars = text.chars().peekable();

    let end_field = |field: &mut String, was_quoted: bool, fields: &mut Vec<String>| {
        let f = std::mem::take(field);
        fields.push(if was_quoted { f } else { f.trim().to_string() });
    };

    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '\n' => {
                end_field(&mut field, was_quoted, &mut fields);
                let blank = fields.len() == 1 && fields[0].is_empty() && !any_quoted;
                if !blank {
                    records.push(Record {
                        line: rec_line,
                        fields: std::mem::take(&mut fields),
                    });
                }
                fields.clear();
                was_quoted = false;
                any_quoted = false;
                line += 1;
                rec_line = line;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            c if c == delim => {
                end_field(&mut field, was_quoted, &mut fields);
                was_quoted = false;
            }
            '"' if !was_quoted && field.trim().is_empty() => {
                field.clear();
                in_quotes = true;
                was_quoted = true;
                any_quoted = true;
                quote_line = line;
            }
            c if was_quoted => {
                if !c.is_whitespace() {
                    return Err(Error::Data(format!(
                        "{source}, line {line}, column {}: unexpected `{c}` after a closing quote",
                        fields.len() + 1
                    )));
                }
            }
            '"' => {
                return Err(Error::Data(format!(
                    "{source}, line {line}, column {}: stray `\"` inside an unquoted field \
                     (quote the whole field and double inner quotes)",
                    fields.len() + 1
                )));
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(Error::Data(format!(
            "{source}, line {quote_line}: unterminated quoted field (no closing `\"`)"
        )));
    }
    end_field(&mut field, was_quoted, &mut fields);
    let blank = fields.len() == 1 && fields[0].is_empty() && !any_quoted;
    if !blank {
        records.push(Record {
            line: rec_line,
            fields,
        });
    }
    Ok(records)
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Why a numeric field was refused, if it was.
fn check_value(f: &str, dtype: DType) -> std::result::Result<f64, String> {
    let Ok(v) = f.trim().parse::<f64>() else {
        return Err(format!("non-numeric value `{f}`"));
    };
    if v.is_nan() {
        return Err(format!(
            "`{f}` is not a number (NaN); values must be finite"
        ));
    }
    let fits = match dtype {
        DType::F64 => v.is_finite(),
        DType::F32 => (v as f32).is_finite(),
    };
    if !fits {
        let largest = match dtype {
            DType::F64 => f64::MAX,
            DType::F32 => f64::from(f32::MAX),
        };
        return Err(format!(
            "value `{f}` does not fit {} (largest finite magnitude {largest:e})",
            dtype.name()
        ));
    }
    Ok(v)
}

fn looks_like_header(records: &[Record]) -> bool {
    let first = &records[0].fields;
    match records.get(1) {
        None => first
            .iter()
            .any(|f| !f.is_empty() && parse_number(f).is_none()),
        Some(second) => first.iter().enumerate().any(|(c, f)| {
            !f.is_empty()
                && parse_number(f).is_none()
                && second
                    .fields
                    .get(c)
                    .is_some_and(|g| parse_number(g).is_some())
        }),
    }
}

fn build(records: Vec<Record>, source: &str, opts: &CsvOptions) -> Result<Dataset> {
    if records.is_empty() {
        return Err(Error::Data(format!("{source}: empty file (no rows)")));
    }
    let has_header = match opts.header {
        Header::Present => true,
        Header::Absent => false,
        Header::Auto => looks_like_header(&records),
    };
    let width = records[0].fields.len();
    let first_line = records[0].line;
    for r in &records {
        if r.fields.len() != width {
            return Err(Error::Data(format!(
                "{source}, line {}: ragged row: {} fields, but line {first_line} has {width}",
                r.line,
                r.fields.len()
            )));
        }
    }
    let (header, data) = if has_header {
        (Some(&records[0].fields), &records[1..])
    } else {
        (None, &records[..])
    };
    if data.is_empty() {
        return Err(Error::Data(format!(
            "{source}: no data rows after the header (line {first_line})"
        )));
    }
    if width < 2 {
        return Err(Error::Data(format!(
            "{source}, line {first_line}: {width} column; need at least one feature column and a label column"
        )));
    }
    let label = match &opts.label {
        LabelColumn::Last => width - 1,
        LabelColumn::Index(i) => {
            if *i >= width {
                return Err(Error::Data(format!(
                    "{source}: label column index {i} (0-based) is out of range: rows have {width} columns"
                )));
            }
            *i
        }
        LabelColumn::Name(name) => {
            let Some(h) = header else {
                return Err(Error::Data(format!(
                    "{source}: label column `{name}` is given by name, but the file has no header row"
                )));
            };
            h.iter().position(|c| c == name.trim()).ok_or_else(|| {
                Error::Data(format!(
                    "{source}: unknown label column `{name}`; the header (line {first_line}) has: {}",
                    h.join(", ")
                ))
            })?
        }
    };
    let col_desc = |c: usize| match header {
        Some(h) => format!("column {} (`{}`)", c + 1, h[c]),
        None => format!("column {}", c + 1),
    };
    let n = data.len();
    let d = width - 1;
    let mut x = Vec::with_capacity(n * d);
    let mut raw_labels: Vec<&str> = Vec::with_capacity(n);
    let mut y = Vec::new();
    for r in data {
        for (c, f) in r.fields.iter().enumerate() {
            if f.is_empty() {
                return Err(Error::Data(format!(
                    "{source}, line {}, {}: missing value",
                    r.line,
                    col_desc(c)
                )));
            }
            let numeric = c != label || opts.label_kind == LabelKind::Regression;
            if !numeric {
                raw_labels.push(f);
                continue;
            }
            let v = check_value(f, opts.dtype).map_err(|why| {
                Error::Data(format!("{source}, line {}, {}: {why}", r.line, col_desc(c)))
            })?;
            if c == label {
                y.push(v);
            } else {
                x.push(v);
            }
        }
    }
    let name = opts.name.clone().unwrap_or_else(|| source.to_string());
    let ds = match opts.label_kind {
        LabelKind::Regression => Dataset::regression(name, x, d, y, 1)?,
        LabelKind::Classes => {
            let (labels, names) = map_classes(&raw_labels);
            Dataset::classification(name, x, d, labels, names.len())?.with_class_names(names)?
        }
    };
    match header {
        Some(h) => {
            let names = h
                .iter()
                .enumerate()
                .filter(|&(c, _)| c != label)
                .map(|(_, s)| s.clone())
                .collect();
            ds.with_feature_names(names)
        }
        None => Ok(ds),
    }
}

/// Maps label strings to 0..k in sorted order (numeric when all are numbers); returns the
/// labels and the sorted distinct names.
fn map_classes(raw: &[&str]) -> (Vec<usize>, Vec<String>) {
    let mut distinct: Vec<&str> = raw.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let numeric: Option<Vec<f64>> = distinct.iter().map(|s| parse_number(s)).collect();
    if let Some(vals) = numeric {
        let mut pairs: Vec<(f64, &str)> = vals.into_iter().zip(distinct).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)));
        distinct = pairs.into_iter().map(|(_, s)| s).collect();
    }
    let index: HashMap<&str, usize> = distinct.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    let labels = raw.iter().map(|s| index[s]).collect();
    (labels, distinct.into_iter().map(String::from).collect())
}
