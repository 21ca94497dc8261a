//! The `gradscope` command: build, train and diagnose neural networks from the terminal.

mod commands;
mod output;
mod plot;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// gradscope: see where the gradient dies or blows up, why, and what fixes it.
///
/// Every command writes plain results to stdout (table, CSV or JSON) and errors to stderr,
/// exiting non-zero on any error.
#[derive(Parser, Debug)]
#[command(name = "gradscope", version, about, long_about = None, propagate_version = true)]
struct Cli {
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
    /// Train a network from a TOML config: progress bar, metrics.jsonl, summary.json,
    /// safetensors checkpoints, --resume, clean stop on Ctrl-C and NaN.
    Train(commands::train::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Activations(args) => commands::activations::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Train(args) => commands::train::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => match err.downcast_ref::<commands::ExitStatus>() {
            Some(status) => {
                eprintln!("{}", status.message);
                ExitCode::from(status.code)
            }
            None => {
                eprintln!("error: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}
