//! `gradscope study NAME [--scale quick|paper] --out DIR`: a built-in study — a sweep that
//! reproduces a published claim — run like `gradscope sweep`, with the claims judged at the
//! top of the report and on the terminal.

use std::path::PathBuf;

use anyhow::Result;
use gradscope::study::{self, Scale, STUDIES};

use super::sweep::{run_sweep, Opts};
use crate::output::emit_or_stop;
use crate::render::Exporter;

/// Arguments of `gradscope study`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// The study: improved-sigmoid, glorot2010, pascanu2013, irnn2015 or schoenholz2017 (`list`
    /// prints them).
    name: String,
    /// quick (minutes on 2 cores) or paper (closer to the paper's setting).
    #[arg(long, default_value = "quick", value_parser = ["quick", "paper"])]
    scale: String,
    /// The study's sweep directory (default: `studies/<name>-<scale>`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Override a field of the study's base config, e.g. `--set training.epochs=1` for a
    /// smoke run (the report then names the overrides: its numbers are not the study's).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Print the study's sweep file and exit (to run it with `gradscope sweep`, or edit it).
    #[arg(long)]
    print_sweep: bool,
    #[command(flatten)]
    opts: Opts,
}

const AFTER_HELP: &str = "\
Writes what `gradscope sweep` writes (sweep.json, runs/, results.csv, summary.csv, report.html),
the report opening with each claim of the paper, the paper's numbers, ours and the verdict
(reproduced / partly / not reproduced) by the rule stated beside it. See docs/studies.md.

Examples:
  gradscope study list
  gradscope study improved-sigmoid --out studies/improved-sigmoid
  gradscope study glorot2010 --scale paper --out studies/glorot2010-paper";

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    if args.name == "list" {
        for s in STUDIES {
            emit_or_stop(&format!("{:<18} {}\n", s.name, s.title));
        }
        return Ok(());
    }
    let study = study::find(&args.name)?;
    let scale = Scale::parse(&args.scale)?;
    if args.print_sweep {
        emit_or_stop(&study.sweep_text(scale));
        return Ok(());
    }
    let sweep = study.sweep(scale, &args.sets)?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("studies").join(format!("{}-{}", study.name, scale.name()))
    });
    let mut claims = Vec::new();
    run_sweep(&args.opts, sweep, &out, |results| {
        claims = study.judge(results);
        crate::views::study::document(study, scale, &args.sets, &claims, results)
    })?;
    if !args.opts.quiet {
        let doc = crate::views::study::claims_document(study, scale, &args.sets, &claims);
        emit_or_stop(&crate::render::text::Text::terminal().export(&doc));
    }
    Ok(())
}
