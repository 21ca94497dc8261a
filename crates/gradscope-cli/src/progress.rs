//! Training a config with a progress bar: [`Progress`] is the [`Observer`] the library's
//! [`Trainer::run_collecting`] forwards every step to; [`run_config`] trains a config from
//! scratch and returns the library's [`Run`].

use std::io::IsTerminal;

use anyhow::Result;
use gradscope::config::LoadedConfig;
use gradscope::memory::MemoryLimit;
use gradscope::train::{Flow, Observer, Run, StepInfo, Trainer};
use gradscope::{DType, Float};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar on stderr (hidden when quiet or when stderr is not a terminal).
pub struct Progress {
    bar: ProgressBar,
    prefix: String,
}

impl Progress {
    /// A bar, hidden when `quiet` or when stderr is not a terminal.
    pub fn new(quiet: bool) -> Self {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} steps [{elapsed_precise}] {msg}",
                )
                .expect("template"),
            );
            b
        };
        Progress {
            bar,
            prefix: String::new(),
        }
    }

    /// Prefixes the bar's message (the variant being trained).
    pub fn set_prefix(&mut self, prefix: &str) {
        self.prefix = prefix.to_string();
    }

    /// Runs `f` with the bar hidden (to print a line).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Progress {
    fn on_step(&mut self, info: &StepInfo) -> Flow {
        self.bar.inc(1);
        if info.step.is_multiple_of(8) || info.batch == info.batches {
            self.bar.set_message(format!(
                "{}epoch {} loss {:.4}",
                self.prefix,
                info.epoch + 1,
                info.loss
            ));
        }
        Flow::Continue
    }
}

/// Trains `loaded` from scratch, reporting on `progress`, within the memory `limit`. With
/// `min_steps`, the epoch budget is raised when needed so that `training.max_steps` can be
/// reached.
pub fn run_config(
    loaded: &LoadedConfig,
    progress: &mut Progress,
    min_steps: Option<u64>,
    limit: &MemoryLimit,
) -> Result<Run> {
    match loaded.config.dtype {
        DType::F32 => run::<f32>(loaded, progress, min_steps, limit),
        DType::F64 => run::<f64>(loaded, progress, min_steps, limit),
    }
}

fn run<T: Float>(
    loaded: &LoadedConfig,
    progress: &mut Progress,
    min_steps: Option<u64>,
    limit: &MemoryLimit,
) -> Result<Run> {
    crate::oom::stage(format!(
        "loading the data and building the model of {}",
        loaded.source
    ));
    let mut trainer = Trainer::<T>::new_within(loaded, limit)
        .map_err(|e| anyhow::anyhow!("{}: {e}", loaded.source))?;
    let per_epoch = trainer.batches_per_epoch().max(1) as u64;
    if let Some(n) = min_steps {
        let t = &mut trainer.config.training;
        t.epochs = t.epochs.max(n.div_ceil(per_epoch) as usize);
    }
    let t = &trainer.config.training;
    progress
        .bar
        .inc_length((per_epoch * t.epochs as u64).min(t.max_steps.unwrap_or(u64::MAX)));
    crate::oom::stage(format!("training {}", loaded.source));
    Ok(trainer.run_collecting(progress)?)
}
