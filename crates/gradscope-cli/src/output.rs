//! Writing results: atomic files and plain-text tables.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

/// Writes `bytes` to `path` atomically through the library's
/// [`gradscope::io::write_atomic`] (a synced temporary file renamed over the target), with
/// the path in the error's context.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    gradscope::io::write_atomic(path, bytes)
        .with_context(|| format!("cannot write `{}`", path.display()))
}

/// Renders rows as a space-aligned text table with a header rule.
pub fn text_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&rule.join("  "));
    out.push('\n');
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// Renders rows as a GitHub-flavoured Markdown table.
pub fn markdown_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = format!(
        "| {} |\n",
        header
            .iter()
            .map(|h| esc(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    out.push_str(&format!("|{}\n", " --- |".repeat(header.len())));
    for r in rows {
        out.push_str(&format!(
            "| {} |\n",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        ));
    }
    out
}

/// Renders rows as RFC-4180 CSV (fields quoted when they hold a comma, quote or newline).
pub fn csv_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = header
        .iter()
        .map(|h| field(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// A number with `sig` significant digits, without trailing noise (`0.25`, `1.414`, `4e-9`).
pub fn num(v: f64, sig: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-4..6).contains(&mag) {
        return format!("{:.*e}", sig.saturating_sub(1), v)
            .replace("e-0", "e-")
            .replace(".0e", "e");
    }
    let decimals = (sig as i32 - 1 - mag).max(0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Parses a comma-separated list of finite numbers; errors name the flag and the bad value.
pub fn parse_numbers(flag: &str, text: &str) -> Result<Vec<f64>> {
    text.split(',')
        .map(|v| {
            let v = v.trim();
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .with_context(|| format!("{flag}: `{v}` is not a finite number"))
        })
        .collect()
}

/// Set once stdout turned out to be closed (`gradscope … | head`): later output is dropped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout. A closed pipe (`gradscope demo | head`) is not an error: the
/// output stops quietly and the command goes on (its files are still written); other write
/// errors are.
pub fn emit(text: &str) -> Result<()> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("cannot write to stdout: {e}")),
    }
}

/// True once a write to stdout found the pipe closed.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// [`emit`] for output that must not stop the work (a training run's epoch lines): any write
/// error ends the printing, with one warning on stderr unless the pipe was simply closed.
pub fn emit_or_stop(text: &str) {
    if let Err(e) = emit(text) {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        note(&format!("warning: {e:#}; no more output on stdout"));
    }
}

/// Writes a line to stderr; never panics (`eprintln!` does when stderr is closed) and
/// ignores write errors: there is nowhere left to report them.
pub fn note(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err
        .write_all(text.as_bytes())
        .and_then(|_| err.write_all(b"\n"));
}

/// `println!` through [`emit`]: returns an error only for a write error other than a
/// closed pipe.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::emit(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` through [`note`]: never panics.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::note(&format!($($arg)*))
    };
}

/// Appends `value` with its `schema_version` ([`gradscope::io::versioned`]) as one line of the
/// JSONL file `f` (named `name` in the error) and flushes it, so that a reader or a crash sees
/// whole lines: how `metrics.jsonl`, `diagnostics.jsonl` and `steps.jsonl` grow during a run.
pub fn append_jsonl<T: serde::Serialize>(
    f: &mut std::fs::File,
    name: &str,
    value: &T,
) -> gradscope::Result<()> {
    let line = serde_json::to_string(&gradscope::io::versioned(value)).expect("serializable");
    writeln!(f, "{line}")
        .and_then(|_| f.flush())
        .map_err(|e| gradscope::Error::Io(format!("{name}: {e}")))
}
