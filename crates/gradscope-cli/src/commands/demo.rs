//! `gradscope demo`: one deep network (10 hidden layers of width 64) on the embedded digits,
//! trained five ways with the same seed, optimizer and budget (sigmoid with standard init,
//! tanh with Xavier, ReLU with He, the improved sigmoid, sigmoid with BatchNorm) with the
//! gradient scope on; a comparison table, and a report whose "what this shows" is generated
//! from the measured verdicts.
//!
//! The five configs are `examples/demo/*.toml`, embedded in the binary: the demo needs no
//! files.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use gradscope::config::{Config, LoadedConfig};
use gradscope::diagnostics::compare::{self, Comparison};
use gradscope::memory::MemoryLimit;

use crate::output::emit;
use crate::progress::{run_config, Progress};
use crate::render::text::Text;
use crate::render::{write_json, write_report, Exporter};
use crate::rundir::{self, RunDir};
use crate::views;
use crate::views::cells::acc;

/// One variant: a key, a label and its embedded config.
struct Variant {
    key: &'static str,
    label: &'static str,
    file: &'static str,
    text: &'static str,
}

const VARIANTS: [Variant; 5] = [
    Variant {
        key: "sigmoid-standard",
        label: "sigmoid + standard init",
        file: "examples/demo/sigmoid-standard.toml",
        text: include_str!("../../../../examples/demo/sigmoid-standard.toml"),
    },
    Variant {
        key: "tanh-xavier",
        label: "tanh + Xavier",
        file: "examples/demo/tanh-xavier.toml",
        text: include_str!("../../../../examples/demo/tanh-xavier.toml"),
    },
    Variant {
        key: "relu-he",
        label: "ReLU + He",
        file: "examples/demo/relu-he.toml",
        text: include_str!("../../../../examples/demo/relu-he.toml"),
    },
    Variant {
        key: "improved-sigmoid",
        label: "improved sigmoid + Kaiming",
        file: "examples/demo/improved-sigmoid.toml",
        text: include_str!("../../../../examples/demo/improved-sigmoid.toml"),
    },
    Variant {
        key: "sigmoid-batchnorm",
        label: "sigmoid + BatchNorm",
        file: "examples/demo/sigmoid-batchnorm.toml",
        text: include_str!("../../../../examples/demo/sigmoid-batchnorm.toml"),
    },
];

/// Epochs of `--quick`.
const QUICK_EPOCHS: usize = 3;
/// Samples of `--quick` (before the 70/15/15 split).
const QUICK_SAMPLES: usize = 600;

/// Arguments of `gradscope demo`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// Output directory for demo.json, report.md, report.html and the charts.
    #[arg(long, value_name = "DIR", default_value = "demo-out")]
    out: PathBuf,
    /// Epochs per variant (default: the configs' 20; 3 with --quick).
    #[arg(long, value_name = "E")]
    epochs: Option<usize>,
    /// Reduced budget: 600 of the 1797 samples and 3 epochs (still all five variants).
    #[arg(long)]
    quick: bool,
    /// No progress bar and no per-variant lines.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    memory: super::MemoryArgs,
}

const AFTER_HELP: &str = "\
Trains one network — 10 hidden layers of width 64 on the embedded 8x8 digits — five ways,
with the same seed, data split, optimizer (SGD, lr 0.01, momentum 0.9, batch 32) and epochs:
  sigmoid-standard    sigmoid, init = \"standard\" (PyTorch's default U[-1/sqrt(n), 1/sqrt(n)])
  tanh-xavier         tanh, init = \"xavier_normal\"
  relu-he             relu, init = \"kaiming_normal\" (He)
  improved-sigmoid    improved_sigmoid(alpha=2, beta=0.1), init = \"kaiming_normal\"
  sigmoid-batchnorm   sigmoid, init = \"standard\", norm = \"batchnorm\"
The configs are examples/demo/*.toml (embedded: no files needed). Each run measures every
layer at step 1 (initialization) and every 10 steps.

Prints a comparison table (test accuracy; the ratio |dL/dz1|/|dL/dzL| of the first hidden
layer's gradient to the last's at step 1, as the geometric mean over the run and at the end;
the mean-field prediction; the verdicts at step 1 and over the run) and writes into DIR:
  demo.json     every number of the table, verdicts with explanations, per-layer norms,
                loss curves, the findings with their sentences, wall time
  report.md     the table, \"what this shows\", each variant's verdicts at step 1 and over
                the run with explanation and remedies; links the charts
  report.html   the same report, self-contained with the charts inline (opens offline)
  *.svg         the charts

DIR may be new, empty, or hold an earlier demo (replaced once the new one is written); a DIR
with other files is refused. One gradscope command at a time may use DIR.

Examples:
  gradscope demo
  gradscope demo --out runs/demo --epochs 40
  gradscope demo --quick";

/// Parses an embedded config with the budget overrides.
fn load(v: &Variant, epochs: Option<usize>, limit: Option<usize>) -> Result<LoadedConfig> {
    let mut sets = Vec::new();
    if let Some(e) = epochs {
        sets.push(format!("training.epochs={e}"));
    }
    if let Some(n) = limit {
        sets.push(format!("data.limit={n}"));
    }
    let source = format!("{} (embedded)", v.file);
    let config = Config::parse(v.text, &source, &sets)?;
    Ok(LoadedConfig {
        config,
        source,
        base_dir: PathBuf::from("."),
    })
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    let start = Instant::now();
    if args.epochs == Some(0) {
        bail!("--epochs must be >= 1");
    }
    let epochs = args.epochs.or(args.quick.then_some(QUICK_EPOCHS));
    let limit_samples = args.quick.then_some(QUICK_SAMPLES);
    let loaded: Vec<LoadedConfig> = VARIANTS
        .iter()
        .map(|v| load(v, epochs, limit_samples))
        .collect::<Result<_>>()?;
    let limit = args.memory.limit()?;
    for l in &loaded {
        gradscope::memory::check_config(&l.config, &l.base_dir, &limit)
            .map_err(|e| anyhow::anyhow!("{}: {e}", l.source))?;
    }
    let dir = rundir::prepare_report_dir(&args.out, "demo", rundir::DEMO_OUTPUTS, &[], args.quiet)?;
    match demo(&args, &loaded, &limit, &dir, start, limit_samples) {
        Ok(()) => Ok(()),
        Err(e) => {
            dir.abandon();
            Err(e)
        }
    }
}

fn demo(
    args: &Args,
    loaded: &[LoadedConfig],
    limit: &MemoryLimit,
    dir: &RunDir,
    start: Instant,
    limit_samples: Option<usize>,
) -> Result<()> {
    let mut progress = Progress::new(args.quiet);
    let mut variants = Vec::new();
    for (v, l) in VARIANTS.iter().zip(loaded) {
        progress.set_prefix(&format!("{}: ", v.label));
        let run = run_config(l, &mut progress, None, limit)?;
        let result = compare::Variant::from_run(v.key, v.label, v.file, &l.config, &run)?;
        if !args.quiet {
            progress.suspend(|| {
                crate::errln!(
                    "{:<28} {} steps in {:.2} s, test accuracy {}",
                    result.label,
                    result.steps,
                    result.wall_s,
                    acc(result.test_accuracy)
                )
            });
        }
        variants.push(result);
    }
    progress.finish();
    let mut comparison = Comparison::new(
        loaded[0].config.training.epochs,
        args.quick,
        limit_samples,
        variants,
    );
    comparison.wall_s = start.elapsed().as_secs_f64();
    let doc = views::demo::document(&comparison)?;
    let terminal = doc.without_section("Verdicts").without_section("Charts");
    emit(&Text::terminal().export(&terminal))?;
    write_json(&args.out.join("demo.json"), &comparison)?;
    write_report(&args.out, &doc)?;
    let mut written: Vec<String> = rundir::DEMO_OUTPUTS.iter().map(|s| s.to_string()).collect();
    written.extend(doc.charts().map(|c| c.file.clone()));
    dir.remove_leftovers(&written)?;
    emit(&format!(
        "\n{} variants x {} epochs in {:.1} s\n",
        comparison.variants.len(),
        comparison.epochs,
        comparison.wall_s
    ))?;
    if !args.quiet {
        crate::errln!(
            "wrote demo.json, report.md, report.html -> {}",
            args.out.display()
        );
    }
    Ok(())
}
