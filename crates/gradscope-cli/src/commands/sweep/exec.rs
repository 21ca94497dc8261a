//! Running the runs of a sweep (or of one shard): workers on threads, each training one run
//! at a time single-threaded in its own locked run directory; completed runs skipped with
//! `--resume`; a stop request ends the running runs without a result (trained again later).

use std::fs::{self, OpenOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use gradscope::config::LoadedConfig;
use gradscope::io::versioned;
use gradscope::memory::MemoryLimit;
use gradscope::sweep::{train_run, Results, RunResult, RunSpec, Shard, Sweep};
use gradscope::train::{EpochRecord, Flow, Observer, Outcome, StepInfo};
use gradscope::{DType, Float};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::dir::{self, RESULT_JSON};
use super::{Opts, RunArgs};
use crate::commands::train::Signals;
use crate::commands::ExitStatus;
use crate::errln;
use crate::output::{emit_or_stop, write_atomic};
use crate::rundir::{self, RunDir};

/// `gradscope sweep SWEEP --out DIR`: every run, then the merged outputs.
pub fn run_all(args: &RunArgs) -> Result<()> {
    let (sweep, out) = load(args)?;
    run_sweep(&args.opts, sweep, &out, |r| {
        crate::views::sweep::document(r)
    })
}

/// Runs every run of `sweep` into `out`, then writes `results.csv`, `summary.csv` and the
/// report `report` builds from the results.
pub fn run_sweep(
    opts: &Opts,
    sweep: Sweep,
    out: &Path,
    report: impl FnOnce(&Results) -> Result<crate::render::Document>,
) -> Result<()> {
    let lock = RunDir::lock(out, "sweep")?;
    if let Err(e) = dir::prepare(out, &sweep) {
        lock.abandon();
        return Err(e);
    }
    execute(opts, &sweep, out, Shard { index: 0, count: 1 })?;
    let runs = sweep.runs();
    let found: Vec<RunResult> = runs
        .iter()
        .filter_map(|r| dir::read_result(out, r))
        .collect();
    let results = Results::new(sweep, found);
    dir::write_outputs(out, &results, report(&results)?)?;
    drop(lock);
    if !opts.quiet {
        emit_or_stop(&format!(
            "results: {}, {}, {}\n",
            out.join("results.csv").display(),
            out.join("summary.csv").display(),
            out.join("report.html").display()
        ));
    }
    Ok(())
}

/// `gradscope sweep run SWEEP --shard K/N --out DIR`.
pub fn run_shard(args: &RunArgs, shard: Shard) -> Result<()> {
    let (sweep, out) = load(args)?;
    dir::prepare(&out, &sweep)?;
    execute(&args.opts, &sweep, &out, shard)?;
    if !args.opts.quiet {
        errln!(
            "shard {shard} done; merge the shards with `gradscope sweep collect {}`",
            out.display()
        );
    }
    Ok(())
}

fn load(args: &RunArgs) -> Result<(Sweep, PathBuf)> {
    let path = args.sweep.as_ref().expect("clap requires the sweep file");
    let sweep = Sweep::load(path, &args.sets)?;
    sweep.check_ids()?;
    // Every run's config is valid before anything is written.
    sweep.configs()?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("sweeps").join(&sweep.name));
    Ok((sweep, out))
}

/// What a worker tells the main thread.
enum Event {
    Done {
        run: RunSpec,
        result: Box<RunResult>,
        seconds: f64,
    },
    Stopped,
    Busy(RunSpec),
    Failed(RunSpec, anyhow::Error),
}

fn execute(args: &Opts, sweep: &Sweep, out: &Path, shard: Shard) -> Result<()> {
    let runs = sweep.shard(shard);
    // Every run's config is checked before the first is trained.
    let configs: Vec<LoadedConfig> = runs
        .iter()
        .map(|r| sweep.config(r))
        .collect::<gradscope::Result<_>>()?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, runs.len().max(1));
    if args.jobs == Some(0) {
        bail!("--jobs 0: give at least 1");
    }
    let limit = args.memory.limit()?;
    // The runs train at the same time: each gets its share of the limit.
    let share = MemoryLimit::new(
        limit.bytes / jobs as u64,
        format!("1/{jobs} of {} (--jobs {jobs})", limit.origin),
    );
    for c in &configs {
        gradscope::memory::check_config(&c.config, &c.base_dir, &share)
            .map_err(|e| anyhow::anyhow!("{}: {e}", c.source))?;
    }
    // Earlier runs of this shard: skipped (complete) or trained again with --resume,
    // removed with --force, refused otherwise.
    let earlier: Vec<usize> = (0..runs.len())
        .filter(|&i| {
            dir::entries(&dir::run_dir(out, &runs[i]))
                .is_ok_and(|e| e.iter().any(|n| n != rundir::LOCK_FILE))
        })
        .collect();
    if !earlier.is_empty() && !args.resume && !args.force {
        let ids: Vec<String> = earlier.iter().map(|&i| runs[i].id.clone()).collect();
        bail!(
            "--out `{}` already holds {} run(s) of this {} ({}); continue with --resume, \
             train them again with --force, or choose another --out",
            out.display(),
            ids.len(),
            if shard.count == 1 { "sweep" } else { "shard" },
            rundir::list(&ids)
        );
    }
    let mut todo = Vec::new();
    let mut skipped = 0usize;
    for (i, r) in runs.iter().enumerate() {
        if args.resume && dir::read_result(out, r).is_some() {
            skipped += 1;
        } else {
            todo.push(i);
        }
    }
    if args.force {
        for &i in &earlier {
            let d = dir::run_dir(out, &runs[i]);
            let lock = RunDir::lock(&d, "sweep")?;
            for name in dir::entries(&d)? {
                if name != rundir::LOCK_FILE {
                    let p = d.join(&name);
                    fs::remove_file(&p)
                        .or_else(|_| fs::remove_dir_all(&p))
                        .with_context(|| format!("cannot remove `{}`", p.display()))?;
                }
            }
            drop(lock);
        }
    }
    if !args.quiet {
        errln!(
            "{}: {} runs{}, {} to train ({} already complete), {jobs} at a time -> {}",
            sweep.name,
            runs.len(),
            if shard.count == 1 {
                String::new()
            } else {
                format!(" in shard {shard}")
            },
            todo.len(),
            skipped,
            out.display()
        );
    }
    // Each run on one thread: results do not depend on --jobs, the load or the shard.
    gradscope::kernels::parallel::set_single_threaded(true);
    let signals = Signals::install()?;
    let bar = progress_bar(todo.len() as u64, args.quiet);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let (tx, rx) = mpsc::channel::<Event>();
    let mut failures: Vec<(RunSpec, anyhow::Error)> = Vec::new();
    let (mut done, mut stopped, mut busy, mut run_seconds) = (0usize, 0usize, 0usize, 0.0f64);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (todo, runs, configs) = (&todo, &runs, &configs);
            let (next, stop, signals, share) = (&next, &stop, &signals, &share);
            s.spawn(move || loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                if k >= todo.len() || stop.load(Ordering::SeqCst) || signals.requested() {
                    break;
                }
                let i = todo[k];
                let event = one_run(out, &runs[i], &configs[i], share, signals);
                if tx.send(event).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for event in rx {
            match event {
                Event::Done {
                    run,
                    result,
                    seconds,
                } => {
                    done += 1;
                    run_seconds += seconds;
                    bar.inc(1);
                    if !args.quiet {
                        let line = run_line(&run, &result, seconds);
                        bar.suspend(|| emit_or_stop(&line));
                    }
                }
                Event::Stopped => stopped += 1,
                Event::Busy(run) => {
                    busy += 1;
                    bar.suspend(|| {
                        errln!(
                            "run {} is in use by another gradscope process: skipped",
                            run.id
                        )
                    });
                }
                Event::Failed(run, e) => {
                    stop.store(true, Ordering::SeqCst);
                    failures.push((run, e));
                }
            }
        }
    });
    bar.finish_and_clear();
    let wall = start.elapsed().as_secs_f64();
    if !args.quiet && done > 0 {
        errln!(
            "trained {done} runs in {wall:.1} s on {jobs} worker(s) (sum of run times {run_seconds:.1} s, \
             {:.2} runs at a time on average)",
            run_seconds / wall.max(1e-9)
        );
    }
    if let Some((run, e)) = failures.into_iter().next() {
        return Err(e.context(format!("run {} ({})", run.id, run.overrides.join(" "))));
    }
    if signals.requested() {
        let code = if signals.interrupt.load(Ordering::SeqCst) {
            130
        } else {
            143
        };
        return Err(ExitStatus {
            code,
            message: format!(
                "stopped: {done} runs completed, {stopped} stopped mid-training (no result: \
                 trained again by --resume), {} not started; continue with --resume",
                todo.len().saturating_sub(done + stopped + busy)
            ),
        }
        .into());
    }
    if busy > 0 {
        bail!("{busy} run(s) were in use by another gradscope process and were not trained");
    }
    Ok(())
}

fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    b.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} runs [{elapsed_precise}<{eta_precise}]")
            .expect("template"),
    );
    b
}

fn run_line(run: &RunSpec, r: &RunResult, seconds: f64) -> String {
    let outcome = match &r.summary.outcome {
        Outcome::Completed => "completed".to_string(),
        Outcome::Interrupted { .. } => "interrupted".to_string(),
        Outcome::Diverged { step, .. } => format!("diverged at step {step}"),
    };
    let acc = r
        .summary
        .test
        .and_then(|e| e.accuracy)
        .map_or(String::new(), |a| format!(", test acc {:.2}%", 100.0 * a));
    let init = r
        .at_init
        .as_ref()
        .map_or(String::new(), |a| format!(", at init {}", a.flow.name()));
    format!(
        "run {:>4} {} [{}]: {outcome}{acc}{init} ({seconds:.1} s)\n",
        run.index,
        run.id,
        run.overrides.join(" ")
    )
}

/// Writes each epoch's record to `metrics.jsonl` and stops on request.
struct RunObserver<'a> {
    metrics: fs::File,
    signals: &'a Signals,
}

impl Observer for RunObserver<'_> {
    fn on_step(&mut self, _: &StepInfo) -> Flow {
        if self.signals.requested() {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    fn on_epoch(&mut self, r: &EpochRecord) -> gradscope::Result<()> {
        crate::output::append_jsonl(&mut self.metrics, "metrics.jsonl", r)
    }
}

fn one_run(
    out: &Path,
    run: &RunSpec,
    loaded: &LoadedConfig,
    limit: &MemoryLimit,
    signals: &Signals,
) -> Event {
    let d = dir::run_dir(out, run);
    let lock = match RunDir::lock(&d, "sweep") {
        Ok(l) => l,
        Err(e) if e.to_string().contains("in use by another") => return Event::Busy(run.clone()),
        Err(e) => return Event::Failed(run.clone(), e),
    };
    let start = Instant::now();
    let r = match loaded.config.dtype {
        DType::F32 => train_in::<f32>(&lock, run, loaded, limit, signals),
        DType::F64 => train_in::<f64>(&lock, run, loaded, limit, signals),
    };
    match r {
        Ok(Some(result)) => Event::Done {
            run: run.clone(),
            result: Box::new(result),
            seconds: start.elapsed().as_secs_f64(),
        },
        Ok(None) => Event::Stopped,
        Err(e) => Event::Failed(run.clone(), e),
    }
}

/// Trains `run` from scratch in its locked directory; None when it was stopped (then it has
/// no `result.json`).
fn train_in<T: Float>(
    d: &RunDir,
    run: &RunSpec,
    loaded: &LoadedConfig,
    limit: &MemoryLimit,
    signals: &Signals,
) -> Result<Option<RunResult>> {
    let path = d.path();
    d.remove_stale_temps()?;
    // An unfinished earlier attempt: its files go, the run starts again.
    let mut stale: Vec<&str> = rundir::TRAIN_OUTPUTS.to_vec();
    stale.push(RESULT_JSON);
    d.remove_outputs(&stale, false)?;
    let resolved = toml::to_string(&loaded.config).context("serializing the config")?;
    write_atomic(&path.join("config.toml"), resolved.as_bytes())?;
    let metrics_path = path.join("metrics.jsonl");
    write_atomic(&metrics_path, b"")?;
    let metrics = OpenOptions::new()
        .append(true)
        .open(&metrics_path)
        .with_context(|| format!("cannot open `{}`", metrics_path.display()))?;
    let mut observer = RunObserver { metrics, signals };
    let trained = train_run::<T>(loaded, run, Some(limit), &mut observer)?;
    if matches!(trained.run.outcome, Outcome::Interrupted { .. }) {
        return Ok(None);
    }
    let mut lines = String::new();
    for r in &trained.run.records {
        lines += &serde_json::to_string(&versioned(r))?;
        lines.push('\n');
    }
    write_atomic(&path.join("diagnostics.jsonl"), lines.as_bytes())?;
    let summary = serde_json::to_string_pretty(&versioned(&trained.result.summary))? + "\n";
    write_atomic(&path.join("summary.json"), summary.as_bytes())?;
    if matches!(trained.run.outcome, Outcome::Completed) {
        trained
            .trainer
            .save_model(&path.join("model.safetensors"))?;
    }
    let result = serde_json::to_string_pretty(&trained.result)? + "\n";
    write_atomic(&path.join(RESULT_JSON), result.as_bytes())?;
    Ok(Some(trained.result))
}
