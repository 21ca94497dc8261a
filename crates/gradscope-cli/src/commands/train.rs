//! `gradscope train CONFIG --out DIR`: train from a TOML config, with a progress bar, one line
//! per epoch, `metrics.jsonl`, `summary.json`, atomic safetensors checkpoints, `--resume`, and
//! clean stops on Ctrl-C and on NaN/∞.

use std::fs::{self, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use gradscope::config::{Config, LoadedConfig};
use gradscope::train::{EpochRecord, Flow, Observer, Outcome, StepInfo, Trainer};
use gradscope::{DType, Float};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ExitStatus;
use crate::output::write_atomic;

/// Arguments of `gradscope train`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// The run's TOML config (see docs/config.md and examples/).
    config: PathBuf,
    /// Output directory (default: the config's `output.dir`, else `runs/<config name>`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Override a config field, e.g. `--set training.lr=0.1 --set model.hidden=[64,64]`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Continue the run in DIR from DIR/checkpoint.safetensors (bit-identical to never
    /// stopping); `training.epochs` may be raised to train longer.
    #[arg(long)]
    resume: bool,
    /// No progress bar and no per-epoch lines.
    #[arg(long, short)]
    quiet: bool,
}

const AFTER_HELP: &str = "\
Writes into DIR:
  config.toml               the resolved config (after --set)
  diagnostics.jsonl         with a [diagnostics] table: per-layer gradient records every
                            diagnostics.every steps (see docs/diagnostics.md)
  metrics.jsonl             one JSON object per epoch: step, epoch, loss, train/val loss and
                            accuracy, lr, grad_norm (mean global L2 norm before clipping),
                            grad_norm_max, elapsed_s
  checkpoint.safetensors    the last good checkpoint (model, optimizer, RNG states), written
                            atomically every training.checkpoint_every epochs and on Ctrl-C
  model.safetensors         final weights with PyTorch nn.Sequential names
  summary.json              outcome (completed / interrupted / diverged), final train, val
                            and test loss and accuracy, best validation accuracy

Exit status: 0 completed, 1 error or divergence (NaN/inf: the step and the first layer where
it appeared are named, the last good checkpoint is kept), 130 interrupted by Ctrl-C.

Examples:
  gradscope train examples/digits-mlp.toml --out runs/digits
  gradscope train examples/digits-mlp.toml --out runs/digits --set training.epochs=40 --resume";

/// Checkpoint file name inside the output directory.
pub const CHECKPOINT: &str = "checkpoint.safetensors";

fn out_dir(args_out: &Option<PathBuf>, loaded: &LoadedConfig, config_path: &Path) -> PathBuf {
    if let Some(o) = args_out {
        return o.clone();
    }
    if let Some(d) = &loaded.config.output.dir {
        return if d.is_absolute() {
            d.clone()
        } else {
            loaded.base_dir.join(d)
        };
    }
    let stem = config_path
        .file_stem()
        .map_or("run".into(), |s| s.to_string_lossy().into_owned());
    PathBuf::from("runs").join(stem)
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    let loaded = Config::load(&args.config, &args.sets)?;
    let dir = out_dir(&args.out, &loaded, &args.config);
    fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create output directory `{}`", dir.display()))?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C while stopping kills the process the usual way.
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
    }
    match loaded.config.dtype {
        DType::F32 => train::<f32>(&args, &loaded, &dir, stop),
        DType::F64 => train::<f64>(&args, &loaded, &dir, stop),
    }
}

struct Progress {
    bar: ProgressBar,
    metrics: fs::File,
    diagnostics: Option<fs::File>,
    quiet: bool,
    stop: Arc<AtomicBool>,
}

impl Observer for Progress {
    fn on_diagnostics(&mut self, r: &gradscope::diagnostics::StepRecord) -> gradscope::Result<()> {
        if let Some(f) = &mut self.diagnostics {
            let line = serde_json::to_string(r).expect("serializable");
            writeln!(f, "{line}")
                .and_then(|_| f.flush())
                .map_err(|e| gradscope::Error::Io(format!("diagnostics.jsonl: {e}")))?;
        }
        Ok(())
    }

    fn on_step(&mut self, info: &StepInfo) -> Flow {
        self.bar.inc(1);
        if info.batch == info.batches || info.step.is_multiple_of(16) {
            self.bar.set_message(format!(
                "epoch {} loss {:.4} |g| {:.3e}",
                info.epoch + 1,
                info.loss,
                info.grad_norm
            ));
        }
        if self.stop.load(Ordering::SeqCst) {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    fn on_epoch(&mut self, r: &EpochRecord) -> gradscope::Result<()> {
        let line = serde_json::to_string(r).expect("serializable");
        writeln!(self.metrics, "{line}")
            .and_then(|_| self.metrics.flush())
            .map_err(|e| gradscope::Error::Io(format!("metrics.jsonl: {e}")))?;
        if !self.quiet {
            let pct = |v: Option<f64>| v.map_or("-".to_string(), |a| format!("{:.2}%", 100.0 * a));
            let text = format!(
                "epoch {:>3}  step {:>6}  loss {:.4}  train acc {}  val loss {}  val acc {}  lr {:.3e}  |g| {:.3e}",
                r.epoch,
                r.step,
                r.loss,
                pct(r.train_accuracy),
                r.val_loss.map_or("-".into(), |v| format!("{v:.4}")),
                pct(r.val_accuracy),
                r.lr,
                r.grad_norm
            );
            self.bar.suspend(|| println!("{text}"));
        }
        Ok(())
    }
}

/// Keeps the metrics lines of epochs up to `epoch` (a resumed run rewrites the rest).
fn truncate_metrics(path: &Path, epoch: usize) -> Result<()> {
    let Ok(text) = fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| serde_json::from_str::<EpochRecord>(l).is_ok_and(|r| r.epoch <= epoch))
        .collect();
    let mut body = kept.join("\n");
    if !body.is_empty() {
        body.push('\n');
    }
    write_atomic(path, body.as_bytes())
}

fn train<T: Float>(
    args: &Args,
    loaded: &LoadedConfig,
    dir: &Path,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    let ckpt = dir.join(CHECKPOINT);
    let metrics_path = dir.join("metrics.jsonl");
    let mut trainer = if args.resume {
        if !ckpt.exists() {
            anyhow::bail!(
                "--resume: no checkpoint at `{}` (train without --resume first)",
                ckpt.display()
            );
        }
        let t = Trainer::<T>::resume(loaded, &ckpt)?;
        truncate_metrics(&metrics_path, t.epoch)?;
        t
    } else {
        let t = Trainer::<T>::new(loaded)?;
        write_atomic(&metrics_path, b"")?;
        t
    };
    trainer.set_checkpoint_path(Some(ckpt.clone()));
    let resolved = toml::to_string(&trainer.config).context("serializing the config")?;
    write_atomic(&dir.join("config.toml"), resolved.as_bytes())?;
    if trainer.config.data.source == gradscope::config::DataSource::Text {
        // What `gradscope generate` needs to turn indices back into characters.
        let vocab = gradscope::data::sequence::CharVocab::from_dataset(&trainer.splits.train)?;
        super::generate::write_vocab(dir, &vocab)?;
    }

    let metrics = OpenOptions::new()
        .append(true)
        .open(&metrics_path)
        .with_context(|| format!("cannot open `{}`", metrics_path.display()))?;
    let per_epoch = trainer.batches_per_epoch() as u64;
    let total = trainer
        .config
        .training
        .max_steps
        .unwrap_or(u64::MAX)
        .min(per_epoch * trainer.config.training.epochs as u64);
    let bar = if args.quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} steps [{elapsed_precise}<{eta_precise}] {msg}",
            )
            .expect("template"),
        );
        b
    };
    bar.set_position(trainer.step.min(total));
    if !args.quiet {
        eprintln!(
            "training {} parameters ({}), {} train / {} val / {} test samples, {} steps per epoch -> {}",
            trainer.model.num_params(),
            T::DTYPE.name(),
            trainer.splits.train.len(),
            trainer.splits.val.len(),
            trainer.splits.test.len(),
            per_epoch,
            dir.display()
        );
    }
    let diagnostics = match &trainer.config.diagnostics {
        Some(_) => {
            let path = dir.join("diagnostics.jsonl");
            if !args.resume {
                write_atomic(&path, b"")?;
            }
            Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("cannot open `{}`", path.display()))?,
            )
        }
        None => None,
    };
    let mut progress = Progress {
        bar,
        metrics,
        diagnostics,
        quiet: args.quiet,
        stop,
    };
    let outcome = trainer.run(&mut progress)?;
    progress.bar.finish_and_clear();
    let summary = trainer.summary(outcome.clone())?;
    let json = serde_json::to_string_pretty(&summary)? + "\n";
    write_atomic(&dir.join("summary.json"), json.as_bytes())?;
    let pct = |e: Option<gradscope::train::Evaluation>| {
        e.and_then(|e| e.accuracy)
            .map_or("-".to_string(), |a| format!("{:.2}%", 100.0 * a))
    };
    match outcome {
        Outcome::Completed => {
            let state = trainer.model.state_dict();
            let named: Vec<(String, &gradscope::Tensor<T>)> =
                state.iter().map(|(n, t)| (n.clone(), t)).collect();
            gradscope::io::safetensors::write(
                &dir.join("model.safetensors"),
                &named,
                &Default::default(),
            )?;
            if !args.quiet {
                println!(
                    "done: {} epochs, {} steps; test loss {}, test accuracy {} -> {}",
                    trainer.epoch,
                    trainer.step,
                    summary.test.map_or("-".into(), |e| format!("{:.4}", e.loss)),
                    pct(summary.test),
                    dir.display()
                );
            }
            Ok(())
        }
        Outcome::Interrupted { step } => Err(ExitStatus {
            code: 130,
            message: format!(
                "interrupted at step {step} (epoch {}); checkpoint written to {}; continue with --resume",
                trainer.epoch + 1,
                ckpt.display()
            ),
        }
        .into()),
        Outcome::Diverged {
            step,
            location,
            detail,
        } => Err(ExitStatus {
            code: 1,
            message: format!(
                "training diverged at step {step}: non-finite value first in {location} ({detail}); \
                 the last good checkpoint is {} ({}). Try a smaller learning rate, gradient clipping \
                 (training.clip = {{ kind = \"norm\", max_norm = 1.0 }}) or a smaller init.",
                ckpt.display(),
                if ckpt.exists() { "kept" } else { "none was written yet" }
            ),
        }
        .into()),
    }
}
