//! `gradscope sweep SWEEP.toml --out DIR`: every run of a sweep (axes × seeds), in parallel on
//! the machine's cores, resumable, each run a normal run directory; then `results.csv`,
//! `summary.csv` and `report.html`. `sweep plan`, `sweep run --shard K/N` and `sweep collect`
//! split the same work over the jobs of a cluster scheduler (a Slurm job array, a Kubernetes
//! Indexed Job).

mod dir;
mod exec;

pub use exec::run_sweep;

use std::path::PathBuf;

use anyhow::{bail, Result};
use gradscope::sweep::{Cell, Shard, Sweep, Table};

use crate::output::emit;

/// Arguments of `gradscope sweep`.
#[derive(clap::Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_long_help = AFTER_HELP
)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Subcommand, Debug)]
enum Sub {
    /// The runs of a sweep in order, with the shard each belongs to (CSV on stdout): what
    /// `sweep run --shard K/N` will run.
    Plan(PlanArgs),
    /// Run one shard of a sweep (K/N: runs whose index is K modulo N) into DIR, as one task of
    /// a job array; `sweep collect DIR` merges the shards' results.
    Run(ShardArgs),
    /// Merge the runs found in DIR into results.csv, summary.csv and report.html.
    Collect(CollectArgs),
}

/// What running (all or a shard of) a sweep takes.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The sweep file (see docs/sweeps.md and examples/sweep-depth.toml).
    #[arg(required = true)]
    sweep: Option<PathBuf>,
    /// The sweep directory (default: `sweeps/<sweep name>`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Override a field of the base config, e.g. `--set training.epochs=5`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    #[command(flatten)]
    opts: Opts,
}

/// How the runs are run: shared by `sweep`, `sweep run` and `study`.
#[derive(clap::Args, Debug)]
pub struct Opts {
    /// Runs trained at the same time, each on one thread (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Continue in DIR: runs with a result.json are skipped, unfinished ones are trained
    /// again from the start.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Train every run again: earlier run directories (of this shard) are removed first.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub memory: super::MemoryArgs,
    /// No progress bar and no per-run lines.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(clap::Args, Debug)]
struct ShardArgs {
    /// Which shard: K/N with 0 <= K < N (K = $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX).
    #[arg(long, value_name = "K/N")]
    shard: String,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args, Debug)]
struct PlanArgs {
    /// The sweep file.
    sweep: PathBuf,
    /// Number of shards to split the runs into.
    #[arg(long, default_value_t = 1, value_name = "N")]
    shards: usize,
    /// Override a field of the base config.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct CollectArgs {
    /// The sweep directory (holding sweep.json and runs/).
    dir: PathBuf,
    /// Write the tables and the report even when some runs have no result yet.
    #[arg(long)]
    partial: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

const AFTER_HELP: &str = "\
Writes into DIR:
  sweep.json                the sweep's definition (base config, axes, seeds)
  runs/<run id>/            one run directory per run: config.toml, metrics.jsonl,
                            diagnostics.jsonl (step 1, or every measured step when the
                            config has a [diagnostics] table), summary.json,
                            model.safetensors, result.json (written last: the run is
                            complete)
  results.csv               one row per run: ids, seed, every axis, the verdict at
                            initialization, every summary metric
  summary.csv               one row per point: mean, std and n of every metric
  report.html, report.md    the metric against each axis with error bars, a heatmap of the
                            first two axes, the verdict at initialization beside the outcome
  *.svg                     the report's charts

A run id is <point id>-s<seed>; a point id is a hash of its axis values, so it stays when
axes are reordered or extended. Every run is trained single-threaded (so a run's numbers do
not depend on the machine's load or on the shard that ran it); --jobs runs that many at once.

Without --resume or --force, DIR must not hold runs of this sweep (or of this shard). Each
run directory is locked while it trains; a Ctrl-C or SIGTERM stops the running runs (they
are trained again by --resume) and exits 130 / 143.

Examples:
  gradscope sweep examples/sweep-depth.toml --out sweeps/depth
  gradscope sweep plan examples/sweep-depth.toml --shards 4
  gradscope sweep run examples/sweep-depth.toml --shard 0/4 --out sweeps/depth --resume
  gradscope sweep collect sweeps/depth
Cluster scripts: examples/cluster/sweep.sbatch (Slurm), examples/cluster/sweep-job.yaml
(Kubernetes Indexed Job).";

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        None => exec::run_all(&args.run),
        Some(Sub::Run(a)) => {
            let shard = Shard::parse(&a.shard).map_err(|e| anyhow::anyhow!("--shard: {e}"))?;
            exec::run_shard(&a.run, shard)
        }
        Some(Sub::Plan(a)) => plan(&a),
        Some(Sub::Collect(a)) => dir::collect(&a.dir, a.partial, a.quiet),
    }
}

fn plan(args: &PlanArgs) -> Result<()> {
    if args.shards == 0 {
        bail!("--shards 0: give at least 1");
    }
    let sweep = Sweep::load(&args.sweep, &args.sets)?;
    sweep.check_ids()?;
    // Every run's config is valid before a cluster job is submitted.
    sweep.configs()?;
    let runs = sweep.runs();
    let mut t = Table {
        columns: ["index", "run", "point", "seed", "shard", "overrides"]
            .map(String::from)
            .to_vec(),
        rows: Vec::new(),
    };
    for r in &runs {
        t.rows.push(vec![
            Cell::Int(r.index as i64),
            Cell::Text(r.id.clone()),
            Cell::Text(r.point_id.clone()),
            Cell::Text(r.seed.to_string()),
            Cell::Int(Shard::of(r.index, args.shards) as i64),
            Cell::Text(r.overrides.join(" ")),
        ]);
    }
    emit(&t.to_csv())?;
    let per = runs.len().div_ceil(args.shards);
    crate::errln!(
        "{}: {} points × {} seeds = {} runs in {} shards (at most {per} each); run shard K with \
         `gradscope sweep run {} --shard K/{} --out DIR --resume`",
        sweep.name,
        sweep.points().len(),
        sweep.seeds.len(),
        runs.len(),
        args.shards,
        args.sweep.display(),
        args.shards
    );
    Ok(())
}
