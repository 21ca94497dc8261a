//! `gradscope train CONFIG --out DIR`: train from a TOML config, with a progress bar, one line
//! per epoch, `metrics.jsonl`, `summary.json`, atomic safetensors checkpoints, `--resume`, and
//! clean stops on Ctrl-C and on NaN/∞.

use std::fs::{self, OpenOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use gradscope::config::{Config, LoadedConfig};
use gradscope::io::versioned;
use gradscope::memory::MemoryLimit;
use gradscope::train::{
    EpochRecord, Flow, Observer, Outcome, RunOrigin, StepInfo, StepScalars, Trainer,
};
use gradscope::{DType, Float};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ExitStatus;
use crate::errln;
use crate::output::{emit_or_stop, write_atomic};
use crate::rundir::{self, RunDir};

/// Arguments of `gradscope train`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// The run's TOML config (see docs/config.md and examples/). With --resume it may be left
    /// out: the run in --out DIR continues with its own config (DIR/config.toml, data paths
    /// resolved from where the original config lived).
    config: Option<PathBuf>,
    /// Output directory (default: the config's `output.dir`, else `runs/<config name>`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Override a config field, e.g. `--set training.lr=0.1 --set model.hidden=[64,64]`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Continue the run in DIR from DIR/checkpoint.safetensors (bit-identical to never
    /// stopping); `training.epochs` may be raised to train longer. The run's earlier --set
    /// overrides are remembered and applied before the new ones.
    #[arg(long, conflicts_with = "force")]
    resume: bool,
    /// Replace the earlier run in DIR: its files (config.toml, metrics.jsonl, checkpoint,
    /// model, summary, ...) are removed once the new run's data and model are ready. Without
    /// it, a DIR that holds files is refused.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    memory: super::MemoryArgs,
    /// No progress bar and no per-epoch lines.
    #[arg(long, short, conflicts_with = "verbose")]
    quiet: bool,
    /// Also print each diagnostics record (step, loss, gradient norm, ‖δ_1‖/‖δ_L‖) on stderr.
    #[arg(long, short)]
    verbose: bool,
    /// Print summary.json to stdout at the end instead of the per-epoch and "done" lines
    /// (for scripts; the progress bar and notes stay on stderr).
    #[arg(long)]
    json: bool,
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
  model.safetensors         final weights with PyTorch nn.Sequential names; the input
                            standardization (input_mean, input_std) as metadata
  summary.json              outcome (completed / interrupted / diverged), final train, val
                            and test loss and accuracy, best validation accuracy; with
                            training.keep_best the best epoch's weights evaluated on every
                            split (`best`), with training.patience the early stop, with
                            training.clip the number of clipped steps
  best.safetensors          with training.keep_best: the weights of the best validation
                            epoch, as model.safetensors
  steps.jsonl               with training.scalars_every: step, epoch, loss, grad_norm, lr,
                            clipped, clip_coef of every scalars_every-th step
  report.md, report.html    loss and accuracy curves, learning rate, gradient norm; with
                            [diagnostics]: gradient flow by depth over time, the recorded
                            histograms per layer, and the verdict (*.svg: the charts)
Every field of these files is described in docs/outputs.md.

DIR must be empty (or not exist) unless --resume continues the run in it or --force replaces
it; one gradscope command at a time may use DIR (it holds a lock, DIR/.gradscope.lock, with
its pid). Temporary files a killed run left in DIR are removed at the start. A config inside
DIR is never overwritten.

Exit status: 0 completed, 1 error or divergence (NaN/inf: the step and the first layer where
it appeared are named, the last good checkpoint of this run is kept), 130 interrupted by
Ctrl-C, 143 stopped by SIGTERM (both write a checkpoint and summary.json first; a second
signal ends the process at once). A closed stdout (`| head`) only stops the printing.

Examples:
  gradscope train examples/digits-mlp.toml --out runs/digits
  gradscope train examples/digits-mlp.toml --out runs/digits --set training.epochs=40 --resume
  gradscope train --resume --out runs/digits --set training.epochs=60";

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

/// The stop requests: SIGINT (Ctrl-C) and SIGTERM (a scheduler's preemption) set a flag the
/// training loop reads after every step; a second signal of either kind ends the process at
/// once (130, 143).
pub(crate) struct Signals {
    pub(crate) interrupt: Arc<AtomicBool>,
    terminate: Arc<AtomicBool>,
}

impl Signals {
    /// Installs the handlers.
    pub(crate) fn install() -> Result<Signals> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        use signal_hook::flag;
        let stopping = Arc::new(AtomicBool::new(false));
        let s = Signals {
            interrupt: Arc::new(AtomicBool::new(false)),
            terminate: Arc::new(AtomicBool::new(false)),
        };
        // Registered first, so they see `stopping` before this signal sets it.
        flag::register_conditional_shutdown(SIGINT, 130, stopping.clone())?;
        flag::register_conditional_shutdown(SIGTERM, 143, stopping.clone())?;
        for (sig, which) in [(SIGINT, &s.interrupt), (SIGTERM, &s.terminate)] {
            flag::register(sig, which.clone())?;
            flag::register(sig, stopping.clone())?;
        }
        Ok(s)
    }

    /// True once SIGINT or SIGTERM arrived.
    pub(crate) fn requested(&self) -> bool {
        self.interrupt.load(Ordering::SeqCst) || self.terminate.load(Ordering::SeqCst)
    }
}

/// The outputs of `train` in `dir` that would overwrite an input, and the run directory's
/// state: refuses a non-empty DIR without --resume or --force, and outputs that are inputs.
fn check_dir(args: &Args, config: &Path, loaded: &LoadedConfig, dir: &Path) -> Result<bool> {
    let mut inputs = vec![("the config".to_string(), config.to_path_buf())];
    inputs.extend(crate::rundir::data_inputs(loaded));
    // `train DIR/config.toml --out DIR --resume` continues the run with its own (perhaps
    // edited) config: that file is read, not rewritten.
    let config_in_dir = rundir::same_file(config, &dir.join("config.toml"));
    if config_in_dir && !args.resume {
        bail!(
            "--out `{}`: writing the resolved config would overwrite the input config `{}`; \
             choose another --out (or continue that run with --resume)",
            dir.display(),
            config.display()
        );
    }
    let outputs: Vec<PathBuf> = rundir::TRAIN_OUTPUTS
        .iter()
        .filter(|n| !(config_in_dir && **n == "config.toml"))
        .filter(|n| !(args.resume && **n == CHECKPOINT))
        .map(|n| dir.join(n))
        .collect();
    rundir::refuse_inputs_as_outputs("--out", &outputs, &inputs)?;
    Ok(config_in_dir)
}

/// The config of the run: CONFIG with the --set overrides; when resuming, the run's own
/// (DIR/config.toml without CONFIG) with its data paths resolved from the directory of the
/// config the run started from, or CONFIG with the run's earlier --set overrides first —
/// both recorded in its checkpoint.
fn load_config(args: &Args) -> Result<(LoadedConfig, PathBuf)> {
    let config_path = match (&args.config, &args.out) {
        (Some(c), _) => c.clone(),
        (None, Some(out)) if args.resume => out.join("config.toml"),
        (None, None) if args.resume => {
            bail!("--resume without CONFIG needs --out DIR (the run to continue)")
        }
        (None, _) => bail!(
            "the CONFIG argument is required (or continue the run in DIR with --resume --out DIR)"
        ),
    };
    if args.config.is_none() && !config_path.is_file() {
        bail!(
            "--resume --out `{}`: no config.toml there (is it a gradscope train directory?)",
            args.out.as_deref().unwrap_or(Path::new(".")).display()
        );
    }
    let loaded = Config::load(&config_path, &args.sets)?;
    if !args.resume {
        return Ok((loaded, config_path));
    }
    let dir = out_dir(&args.out, &loaded, &config_path);
    let ckpt = dir.join(CHECKPOINT);
    let origin = match ckpt.is_file() {
        true => gradscope::train::checkpoint_origin(&ckpt)?,
        false => None,
    };
    let Some(origin) = origin else {
        return Ok((loaded, config_path));
    };
    if rundir::same_file(&config_path, &dir.join("config.toml")) {
        // The resolved config: its --set overrides are in it; its paths are the original's.
        let mut loaded = loaded;
        loaded.base_dir = origin.config_dir;
        Ok((loaded, config_path))
    } else {
        let mut sets = origin.sets;
        sets.extend(args.sets.iter().cloned());
        Ok((Config::load(&config_path, &sets)?, config_path))
    }
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    crate::term::set_verbosity(args.quiet, args.verbose);
    let (loaded, config_path) = load_config(&args)?;
    let dir = out_dir(&args.out, &loaded, &config_path);
    let config_in_dir = check_dir(&args, &config_path, &loaded, &dir)?;
    // The memory a run needs is estimated before anything is created or allocated.
    let limit = args.memory.limit()?;
    gradscope::memory::check_config(&loaded.config, &loaded.base_dir, &limit)
        .map_err(|e| anyhow::anyhow!("{}: {e}", loaded.source))?;
    let run_dir = RunDir::lock(&dir, "train")?;
    let stale = run_dir.remove_stale_temps()?;
    if !stale.is_empty() && !args.quiet {
        errln!(
            "removed temporary files a killed run left in {}: {}",
            dir.display(),
            rundir::list(&stale)
        );
    }
    let earlier = run_dir.contents()?;
    if !args.resume && !args.force && !earlier.is_empty() {
        let what = if earlier
            .iter()
            .any(|n| rundir::TRAIN_OUTPUTS.contains(&n.as_str()))
        {
            "an earlier run"
        } else {
            "files"
        };
        bail!(
            "--out `{}` already holds {what} ({}); continue it with --resume, replace it with \
             --force, or choose another --out",
            dir.display(),
            rundir::list(&earlier)
        );
    }
    let signals = Signals::install()?;
    crate::oom::stage(format!(
        "loading the data and building the model of {}",
        loaded.source
    ));
    let ctx = Ctx {
        args: &args,
        loaded: &loaded,
        dir: &run_dir,
        limit: &limit,
        config_in_dir,
        signals,
    };
    let result = match loaded.config.dtype {
        DType::F32 => train::<f32>(&ctx),
        DType::F64 => train::<f64>(&ctx),
    };
    drop(ctx);
    if result.is_err() {
        run_dir.abandon();
    }
    result
}

/// What `train` works with.
struct Ctx<'a> {
    args: &'a Args,
    loaded: &'a LoadedConfig,
    dir: &'a RunDir,
    limit: &'a MemoryLimit,
    config_in_dir: bool,
    signals: Signals,
}

struct Progress<'a> {
    bar: ProgressBar,
    metrics: fs::File,
    diagnostics: Option<fs::File>,
    steps: Option<fs::File>,
    /// No epoch lines on stdout (`-q`, `--json`).
    quiet: bool,
    signals: &'a Signals,
}

impl Observer for Progress<'_> {
    fn on_diagnostics(&mut self, r: &gradscope::diagnostics::StepRecord) -> gradscope::Result<()> {
        if let Some(f) = &mut self.diagnostics {
            crate::output::append_jsonl(f, "diagnostics.jsonl", r)?;
        }
        if crate::term::verbose() {
            let ratio = r
                .first_to_last()
                .map_or("-".to_string(), |v| format!("{v:.3e}"));
            self.bar.suspend(|| {
                crate::errln!(
                    "diagnostics: step {:>6}  epoch {:>3}  loss {:.4}  |g| {:.3e}  |delta_1|/|delta_L| {ratio}",
                    r.step,
                    r.epoch,
                    r.loss,
                    r.grad_norm
                )
            });
        }
        Ok(())
    }

    fn on_scalars(&mut self, s: &StepScalars) -> gradscope::Result<()> {
        if let Some(f) = &mut self.steps {
            crate::output::append_jsonl(f, "steps.jsonl", s)?;
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
        if self.signals.requested() {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    fn on_epoch(&mut self, r: &EpochRecord) -> gradscope::Result<()> {
        crate::output::append_jsonl(&mut self.metrics, "metrics.jsonl", r)?;
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
            self.bar.suspend(|| emit_or_stop(&format!("{text}\n")));
        }
        Ok(())
    }
}

/// Keeps the lines of the JSONL file `path` whose record (read as `T`) satisfies `keep`,
/// dropping the rest: a resumed run rewrites what came after its checkpoint
/// (`metrics.jsonl` by epoch, `steps.jsonl` by step). A missing file is left missing.
fn truncate_jsonl<T: serde::de::DeserializeOwned>(
    path: &Path,
    keep: impl Fn(&T) -> bool,
) -> Result<()> {
    let Ok(text) = fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| serde_json::from_str::<T>(l).is_ok_and(|r| keep(&r)))
        .collect();
    let mut body = kept.join("\n");
    if !body.is_empty() {
        body.push('\n');
    }
    write_atomic(path, body.as_bytes())
}

/// The JSON lines of `path` as `T` (none when the file is missing); a line that does not
/// parse is an error naming the file and line.
fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let Ok(text) = fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not a record", path.display(), i + 1))
        })
        .collect()
}

/// Writes report.md, report.html and their charts into `dir` from the run's files (the
/// whole run, across resumes).
fn write_train_report(
    dir: &Path,
    source: &str,
    summary: &gradscope::train::Summary,
    config: &Config,
) -> Result<()> {
    let metrics: Vec<EpochRecord> = read_jsonl(&dir.join("metrics.jsonl"))?;
    let (records, thresholds) = match &config.diagnostics {
        Some(d) => (
            read_jsonl(&dir.join("diagnostics.jsonl"))?,
            d.thresholds.clone(),
        ),
        None => (Vec::new(), Default::default()),
    };
    let doc = crate::views::train::document(source, summary, &metrics, &records, &thresholds)?;
    crate::render::write_report(dir, &doc)
}

/// A config error (a field path first) prefixed with the config file, as `Config::load` does.
fn with_source(e: gradscope::Error, loaded: &LoadedConfig) -> anyhow::Error {
    match e {
        gradscope::Error::Config(c) if c.file().is_none() => gradscope::Error::Config(c)
            .in_file(&loaded.source, None)
            .into(),
        other => other.into(),
    }
}

fn train<T: Float>(ctx: &Ctx) -> Result<()> {
    let Ctx { args, loaded, .. } = *ctx;
    let dir = ctx.dir.path();
    let ckpt = dir.join(CHECKPOINT);
    let metrics_path = dir.join("metrics.jsonl");
    let mut trainer = if args.resume {
        if !ckpt.exists() {
            bail!(
                "--resume: no checkpoint at `{}` (train without --resume first)",
                ckpt.display()
            );
        }
        let t = Trainer::<T>::resume_within(loaded, &ckpt, ctx.limit)
            .map_err(|e| with_source(e, loaded))?;
        truncate_jsonl(&metrics_path, |r: &EpochRecord| r.epoch <= t.epoch)?;
        t
    } else {
        let t = Trainer::<T>::new_within(loaded, ctx.limit).map_err(|e| with_source(e, loaded))?;
        if args.force {
            // The data and model are ready: now the earlier run's files go, so none of them
            // is mixed with this run's.
            let removed = ctx.dir.remove_outputs(rundir::TRAIN_OUTPUTS, false)?;
            if !removed.is_empty() && !args.quiet {
                errln!(
                    "--force: removed the earlier run's {} from {}",
                    rundir::list(&removed),
                    dir.display()
                );
            }
        }
        write_atomic(&metrics_path, b"")?;
        t
    };
    trainer.set_checkpoint_path(Some(ckpt.clone()));
    let origin = match trainer.origin().cloned() {
        // A resumed run remembers its new --set overrides too.
        Some(mut o) => {
            o.sets.extend(args.sets.iter().cloned());
            o
        }
        None => RunOrigin::new(&loaded.source, &loaded.base_dir, &args.sets),
    };
    trainer.set_origin(Some(origin));
    if !ctx.config_in_dir {
        let resolved = toml::to_string(&trainer.config).context("serializing the config")?;
        write_atomic(&dir.join("config.toml"), resolved.as_bytes())?;
    }
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
        errln!(
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
    let steps = match trainer.config.training.scalars_every {
        Some(_) => {
            let path = dir.join("steps.jsonl");
            if args.resume {
                truncate_jsonl(&path, |r: &StepScalars| r.step <= trainer.step)?;
            } else {
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
    crate::oom::stage(format!(
        "training {} ({} parameters)",
        loaded.source,
        trainer.model.num_params()
    ));
    let mut progress = Progress {
        bar,
        metrics,
        diagnostics,
        steps,
        quiet: args.quiet || args.json,
        signals: &ctx.signals,
    };
    let outcome = trainer.run(&mut progress)?;
    progress.bar.finish_and_clear();
    let summary = trainer.summary(outcome.clone())?;
    let json = serde_json::to_string_pretty(&versioned(&summary))? + "\n";
    write_atomic(&dir.join("summary.json"), json.as_bytes())?;
    if args.json {
        emit_or_stop(&json);
    }
    write_train_report(dir, &loaded.source, &summary, &trainer.config)?;
    let pct = |e: Option<gradscope::train::Evaluation>| {
        e.and_then(|e| e.accuracy)
            .map_or("-".to_string(), |a| format!("{:.2}%", 100.0 * a))
    };
    match outcome {
        Outcome::Completed => {
            trainer.save_model(&dir.join("model.safetensors"))?;
            trainer.save_best_model(&dir.join("best.safetensors"))?;
            if !args.quiet && !args.json {
                if let Some(e) = summary.early_stop {
                    emit_or_stop(&format!(
                        "early stop after epoch {}: no better validation score since epoch {} \
                         (patience {})\n",
                        e.epoch, e.best_epoch, e.patience
                    ));
                }
                if let Some(b) = summary.best {
                    emit_or_stop(&format!(
                        "best validation epoch {}: test loss {}, test accuracy {} -> {}\n",
                        b.epoch,
                        b.test.map_or("-".into(), |e| format!("{:.4}", e.loss)),
                        pct(b.test),
                        dir.join("best.safetensors").display()
                    ));
                }
                emit_or_stop(&format!(
                    "done: {} epochs, {} steps; test loss {}, test accuracy {} -> {}\n",
                    trainer.epoch,
                    trainer.step,
                    summary
                        .test
                        .map_or("-".into(), |e| format!("{:.4}", e.loss)),
                    pct(summary.test),
                    dir.display()
                ));
            }
            Ok(())
        }
        Outcome::Interrupted { step } => {
            let (code, what, by) = if ctx.signals.interrupt.load(Ordering::SeqCst) {
                (130, "interrupted", "Ctrl-C")
            } else {
                (143, "terminated", "SIGTERM")
            };
            Err(ExitStatus {
                code,
                message: format!(
                    "{what} at step {step} (epoch {}) by {by}; checkpoint written to {}; \
                     continue with --resume",
                    trainer.epoch + 1,
                    ckpt.display()
                ),
            }
            .into())
        }
        Outcome::Diverged {
            step,
            location,
            detail,
        } => {
            // Only a checkpoint this run wrote (or the run it resumes) is its last good one.
            let kept = if trainer.wrote_checkpoint(&ckpt) {
                format!("the last good checkpoint is {} (kept)", ckpt.display())
            } else {
                "no checkpoint was written by this run yet".to_string()
            };
            Err(ExitStatus {
                code: 1,
                message: format!(
                    "training diverged at step {step}: non-finite value first in {location} \
                     ({detail}); {kept}. Try a smaller learning rate, gradient clipping \
                     (training.clip = {{ kind = \"norm\", max_norm = 1.0 }}) or a smaller init."
                ),
            }
            .into())
        }
    }
}
