//! `gradscope report DIR`: the report of a diagnosis directory — `diagnosis.json` and
//! `diagnostics.jsonl` as `gradscope diagnose` or the Python package's `scope.write(DIR)`
//! wrote them — rendered again: the text report on stdout, report.md, report.html and the
//! charts in DIR (or `--out`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use gradscope::diagnostics::{read_diagnosis_dir, Thresholds};

use crate::output::emit;
use crate::render::text::Text;
use crate::render::{write_report, Exporter};
use crate::views;

/// Arguments of `gradscope report`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// A directory holding diagnosis.json and diagnostics.jsonl.
    dir: PathBuf,
    /// Write report.md, report.html and the charts here instead of DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Do not print the text report.
    #[arg(long, short)]
    quiet: bool,
}

const AFTER_HELP: &str = "\
Reads DIR/diagnosis.json and DIR/diagnostics.jsonl (written by `gradscope diagnose` or by the
Python package: `scope.write(DIR)` with gradscope.torch) and writes report.md, report.html and
the charts (*.svg) into DIR, or into --out. The severity line uses the default thresholds
(diagnosis.json records the verdict, not the thresholds it was judged with).

Examples:
  gradscope report runs/my-torch-model
  gradscope report runs/sigmoid-deep --out /tmp/report --quiet";

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    let (diagnosis, records) = read_diagnosis_dir(&args.dir)?;
    let doc = views::diagnose::document(&diagnosis, &records, &Thresholds::default())?;
    let out = args.out.clone().unwrap_or_else(|| args.dir.clone());
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    write_report(&out, &doc)?;
    if !args.quiet {
        emit(&Text::terminal().export(&doc.without_section("Charts")))?;
        crate::errln!("wrote report.md, report.html -> {}", out.display());
    }
    Ok(())
}
