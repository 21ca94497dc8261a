//! The `gradscope` command: build, train and diagnose neural networks from the terminal.

mod chart;
mod commands;
mod oom;
mod output;
mod phase_plot;
mod progress;
mod render;
mod rundir;
mod term;
mod views;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Out of memory is a clean error naming what was being built, not an abort.
#[global_allocator]
static ALLOCATOR: oom::Guarded = oom::Guarded;

/// gradscope: see where the gradient dies or blows up, why, and what fixes it.
///
/// Every command writes plain results to stdout (table, CSV or JSON) and errors to stderr,
/// exiting non-zero on any error.
#[derive(Parser, Debug)]
#[command(name = "gradscope", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Colour the verdicts (red exploding, blue vanishing, green healthy): `auto` when stdout
    /// is a terminal and NO_COLOR is unset or empty.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = term::ColorChoice::Auto)]
    color: term::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The activation catalogue: computed properties (range, f(0), max |f'|, saturation,
    /// Gaussian moments, init gain), plots of f and f', and point evaluation.
    Activations(commands::activations::Args),
    /// Time standard training-step workloads (ms/step, GFLOP/s); compare with
    /// `bench/compare.sh`, which also runs the PyTorch reference.
    Bench(commands::bench::Args),
    /// Print a shell completion script: `gradscope completions bash > ~/.local/share/bash-completion/completions/gradscope`.
    Completions(commands::completions::Args),
    /// The demo: one deep network on the embedded digits trained five ways (sigmoid, tanh,
    /// ReLU, improved sigmoid, sigmoid + BatchNorm), compared by gradient flow and accuracy.
    Demo(commands::demo::Args),
    /// Diagnose the gradient flow of a config: train a few steps with the gradient scope,
    /// print the verdict (vanishing / exploding / healthy), why, remedies, the per-layer
    /// table and the theory's prediction; write an HTML report.
    Diagnose(commands::diagnose::Args),
    /// Generate text from a character-level model trained with `gradscope train` on
    /// `[data] source = "text"`: a prime, then characters drawn one at a time.
    Generate(commands::generate::Args),
    /// One forward + backward of a model with given weights (safetensors) on a given batch:
    /// writes the loss, the output and every gradient (parameters, dL/dz and dL/da of every
    /// activation) by PyTorch names, for checking against PyTorch autograd.
    Grads(commands::grads::Args),
    /// Run a sweep: a base config over axes of config values and seeds, in parallel on every
    /// core, resumable, each run a run directory; results.csv, summary.csv, report.html.
    /// `sweep plan`, `sweep run --shard K/N` and `sweep collect` split it over a cluster.
    Sweep(commands::sweep::Args),
    /// A built-in study: a sweep that reproduces a published result (improved-sigmoid,
    /// glorot2010, pascanu2013, irnn2015, schoenholz2017), its report putting our numbers beside the paper's claims and saying
    /// reproduced / partly / not.
    Study(commands::study::Args),
    /// Print the man page (roff) to stdout, or write one page per command into a directory
    /// with `--out`: `gradscope man | man -l -`.
    Man(commands::man::Args),
    /// Render the report of a diagnosis directory (diagnosis.json + diagnostics.jsonl from
    /// `diagnose` or the Python package's `scope.write`): report.md, report.html, charts.
    Report(commands::report::Args),
    /// Mean-field theory of signal propagation (Poole et al. 2016, Schoenholz et al. 2017):
    /// fixed point q*, chi1, depth scale, predicted gradient ratios and the phase (ordered /
    /// critical / chaotic) of an activation and init; the critical sigma_w^2; phase diagram.
    Theory(commands::theory::Args),
    /// Train a network from a TOML config: progress bar, metrics.jsonl, summary.json,
    /// safetensors checkpoints, --resume, clean stop on Ctrl-C, SIGTERM and NaN, one run per
    /// directory, a memory guard (--max-memory).
    Train(commands::train::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::init(cli.color);
    oom::stage("reading the command line and the config");
    let result = match cli.command {
        Command::Activations(args) => commands::activations::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Completions(args) => commands::completions::run(args, &mut Cli::command()),
        Command::Demo(args) => commands::demo::run(args),
        Command::Diagnose(args) => commands::diagnose::run(args),
        Command::Generate(args) => commands::generate::run(args),
        Command::Grads(args) => commands::grads::run(args),
        Command::Sweep(args) => commands::sweep::run(args),
        Command::Study(args) => commands::study::run(args),
        Command::Man(args) => commands::man::run(args, Cli::command()),
        Command::Report(args) => commands::report::run(args),
        Command::Theory(args) => commands::theory::run(args),
        Command::Train(args) => commands::train::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => match err.downcast_ref::<commands::ExitStatus>() {
            Some(status) => {
                output::note(&status.message);
                ExitCode::from(status.code)
            }
            None => {
                output::note(&format!("error: {err:#}"));
                ExitCode::FAILURE
            }
        },
    }
}
