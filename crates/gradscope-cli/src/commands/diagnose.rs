//! `gradscope diagnose CONFIG --out DIR`: train a few steps with the gradient scope on, then
//! give the verdict (vanishing / exploding / healthy) with its explanation and remedies, the
//! per-layer table, the mean-field prediction next to the measurement, and a self-contained
//! HTML report with the plots.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use gradscope::config::{Config, LoadedConfig};
use gradscope::diagnostics::{Diagnosis, DiagnosticsConfig, Flow};
use gradscope::memory::MemoryLimit;
use gradscope::train::Outcome;

use crate::output::{emit, write_atomic};
use crate::progress::{run_config, Progress};
use crate::render::text::Text;
use crate::render::{write_json, write_report, Exporter};
use crate::rundir::{self, RunDir};
use crate::views;

/// Arguments of `gradscope diagnose`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// The run's TOML config (see docs/config.md; examples/diagnose-*.toml).
    config: PathBuf,
    /// Output directory for diagnostics.jsonl, diagnosis.json, report.md and report.html.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Training steps to measure (sets training.max_steps; epochs are raised if needed).
    #[arg(long, value_name = "N", default_value_t = 50)]
    steps: u64,
    /// Measure every K steps (and step 1). Default: the config's diagnostics.every, or 1 when
    /// the config has no [diagnostics] table.
    #[arg(long, value_name = "K")]
    every: Option<u64>,
    /// Override a config field, e.g. `--set model.activation=relu`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// No progress bar, no "wrote" line.
    #[arg(long, short, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print each measured step (loss, gradient norm, ‖δ_1‖/‖δ_L‖) on stderr.
    #[arg(long, short)]
    verbose: bool,
    /// Print diagnosis.json to stdout instead of the text report (for scripts).
    #[arg(long)]
    json: bool,
    /// Exit with status 3 (after writing the report) when the verdict is one of these
    /// flows, e.g. `--fail-on vanishing,exploding` to guard a model's gradient health in CI.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "FLOWS")]
    fail_on: Vec<FailOn>,
    #[command(flatten)]
    memory: super::MemoryArgs,
}

const AFTER_HELP: &str = "\
Trains N steps of the config with per-layer instrumentation (the [diagnostics] table; one is
added with every = K when the config has none), then prints:
  the verdict      vanishing / exploding / healthy, why (with the numbers, following the chain
                   rule) and numbered remedies, most promising first
  the theory       mean-field prediction of the per-layer gradient factor sqrt(chi_1) from the
                   measured sigma_w^2 and the activation, next to the measured factor at step 1
  a per-layer table  depth, layer, |dL/dz| at the first and last measured steps, ratio to the
                   last hidden layer, mean |f'(z)|, saturated and dead %, update ratio
                   |dW|/|W|, predicted vs measured factor |delta_l|/|delta_(l+1)|

Writes into DIR:
  diagnostics.jsonl  one record per measured step (see docs/diagnostics.md)
  diagnosis.json     verdict, per-layer numbers, theory prediction, loss per step
  report.md          verdict, remedies and table in Markdown (links the SVGs)
  report.html        self-contained report (inline SVG, no scripts, opens offline)
  *.svg              the report's charts

Thresholds come from [diagnostics.thresholds] (see docs/diagnostics.md).

Exit status: 0 with a verdict, 3 when --fail-on names the verdict's flow (the report is
written first), 1 on an error.

DIR may be new, empty, or hold an earlier diagnose report (replaced once the new one is
written); a DIR with other files (a train run, your files) is refused, as is an output that
is an input (the config, a data file). One gradscope command at a time may use DIR.

Examples:
  gradscope diagnose examples/diagnose-sigmoid-deep.toml --out runs/sigmoid-deep
  gradscope diagnose examples/diagnose-tanh-exploding.toml --out runs/tanh --steps 20
  gradscope diagnose examples/digits-mlp.toml --out runs/digits-diag --every 5 --steps 200
  gradscope diagnose model.toml --out runs/ci --fail-on vanishing,exploding --json > diagnosis.json";

/// A flow `--fail-on` can name.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// The gradient shrinks towards the input.
    Vanishing,
    /// The gradient grows towards the input or blows up.
    Exploding,
    /// Neither.
    Healthy,
}

impl FailOn {
    fn flow(self) -> Flow {
        match self {
            FailOn::Vanishing => Flow::Vanishing,
            FailOn::Exploding => Flow::Exploding,
            FailOn::Healthy => Flow::Healthy,
        }
    }
}

/// Exit status of `--fail-on` when the verdict is one of the named flows.
pub const FAIL_ON_STATUS: u8 = 3;

/// Loads the config with `--set` overrides, `training.max_steps = steps`, and a
/// `[diagnostics]` table (added with `every` when missing; `every` overrides it when given).
pub fn load_for_diagnosis(
    path: &Path,
    sets: &[String],
    steps: u64,
    every: Option<u64>,
) -> Result<LoadedConfig> {
    if steps == 0 {
        bail!("--steps must be >= 1");
    }
    if every == Some(0) {
        bail!("--every must be >= 1");
    }
    let mut loaded = Config::load(path, sets)?;
    let c = &mut loaded.config;
    c.training.max_steps = Some(steps);
    match (&mut c.diagnostics, every) {
        (Some(d), Some(k)) => d.every = k,
        (Some(_), None) => {}
        (None, k) => {
            c.diagnostics = Some(DiagnosticsConfig {
                every: k.unwrap_or(1),
                ..DiagnosticsConfig::default()
            })
        }
    }
    c.validate()
        .map_err(|e| anyhow::anyhow!("{}: {e}", loaded.source))?;
    Ok(loaded)
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    crate::term::set_verbosity(args.quiet, args.verbose);
    let loaded = load_for_diagnosis(&args.config, &args.sets, args.steps, args.every)?;
    let diag = loaded.config.diagnostics.clone().expect("set above");
    let limit = args.memory.limit()?;
    gradscope::memory::check_config(&loaded.config, &loaded.base_dir, &limit)
        .map_err(|e| anyhow::anyhow!("{}: {e}", loaded.source))?;
    let mut inputs = vec![("the config".to_string(), args.config.clone())];
    inputs.extend(rundir::data_inputs(&loaded));
    let dir = rundir::prepare_report_dir(
        &args.out,
        "diagnose",
        rundir::DIAGNOSE_OUTPUTS,
        &inputs,
        args.quiet,
    )?;
    match diagnose(&args, &loaded, &diag, &limit, &dir) {
        Ok(()) => Ok(()),
        Err(e) => {
            dir.abandon();
            Err(e)
        }
    }
}

fn diagnose(
    args: &Args,
    loaded: &LoadedConfig,
    diag: &DiagnosticsConfig,
    limit: &MemoryLimit,
    dir: &RunDir,
) -> Result<()> {
    let mut progress = Progress::new(args.quiet);
    let run = run_config(loaded, &mut progress, Some(args.steps), limit)?;
    progress.finish();
    if crate::term::verbose() {
        for r in &run.records {
            crate::errln!(
                "step {:>5}  loss {:.4}  |g| {:.3e}  |delta_1|/|delta_L| {}",
                r.step,
                r.loss,
                r.grad_norm,
                r.first_to_last()
                    .map_or("-".to_string(), |v| format!("{v:.3e}"))
            );
        }
    }
    let mut jsonl = String::new();
    for r in &run.records {
        jsonl.push_str(&serde_json::to_string(&gradscope::io::versioned(r))?);
        jsonl.push('\n');
    }
    write_atomic(&args.out.join("diagnostics.jsonl"), jsonl.as_bytes())?;
    if let Outcome::Diverged {
        step,
        location,
        detail,
    } = &run.outcome
    {
        crate::errln!(
            "warning: training diverged at step {step} (non-finite value first in {location}: \
             {detail}); diagnosing the {} measured steps before it",
            run.records.len()
        );
    }
    let diagnosis = Diagnosis::from_run(&loaded.source, diag, &run)?;
    let doc = views::diagnose::document(&diagnosis, &run.records, &diag.thresholds)?;
    if args.json {
        emit(&(serde_json::to_string_pretty(&diagnosis)? + "\n"))?;
    } else {
        emit(&Text::terminal().export(&doc.without_section("Charts")))?;
    }
    write_json(&args.out.join("diagnosis.json"), &diagnosis)?;
    write_report(&args.out, &doc)?;
    let mut written: Vec<String> = rundir::DIAGNOSE_OUTPUTS
        .iter()
        .map(|s| s.to_string())
        .collect();
    written.extend(doc.charts().map(|c| c.file.clone()));
    dir.remove_leftovers(&written)?;
    if !args.quiet {
        crate::errln!(
            "wrote diagnosis.json, report.md, report.html, diagnostics.jsonl -> {}",
            args.out.display()
        );
    }
    let flow = diagnosis.verdict.flow;
    if args.fail_on.iter().any(|f| f.flow() == flow) {
        return Err(super::ExitStatus {
            code: FAIL_ON_STATUS,
            message: format!(
                "verdict: {} (--fail-on {}); the report is in {}",
                flow.name(),
                flow.name(),
                args.out.display()
            ),
        }
        .into());
    }
    Ok(())
}
