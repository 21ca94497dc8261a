//! Training a config while collecting everything the reports need: the diagnostic records,
//! the loss of every step, the epoch records and the final summary.

use std::time::Instant;

use anyhow::Result;
use gradscope::config::LoadedConfig;
use gradscope::diagnostics::StepRecord;
use gradscope::train::{EpochRecord, Flow, Observer, Outcome, StepInfo, Summary, Trainer};
use gradscope::{DType, Float};
use indicatif::ProgressBar;

/// What a run produced.
pub struct Collected {
    /// Diagnostic records, in step order.
    pub records: Vec<StepRecord>,
    /// (step, batch loss) of every step.
    pub losses: Vec<(u64, f64)>,
    /// One record per completed epoch.
    pub epochs: Vec<EpochRecord>,
    /// How the run ended.
    pub outcome: Outcome,
    /// Final evaluation on every split.
    pub summary: Summary,
    /// Steps taken.
    pub steps: u64,
    /// Wall time of training and evaluation, seconds.
    pub wall_s: f64,
}

struct Collector<'a> {
    bar: &'a ProgressBar,
    prefix: String,
    records: Vec<StepRecord>,
    losses: Vec<(u64, f64)>,
    epochs: Vec<EpochRecord>,
    /// Sum of the batch losses of the epoch in progress, up to the previous step.
    epoch_sum: f64,
}

impl Observer for Collector<'_> {
    fn on_step(&mut self, info: &StepInfo) -> Flow {
        // `info.loss` is the running mean over the epoch's batches so far (a fresh run starts
        // each epoch at batch 1), so the batch loss is the difference of the running sums.
        if info.batch == 1 {
            self.epoch_sum = 0.0;
        }
        let sum = info.loss * info.batch as f64;
        self.losses.push((info.step, sum - self.epoch_sum));
        self.epoch_sum = sum;
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

    fn on_epoch(&mut self, record: &EpochRecord) -> gradscope::Result<()> {
        self.epochs.push(record.clone());
        Ok(())
    }

    fn on_diagnostics(&mut self, record: &StepRecord) -> gradscope::Result<()> {
        self.records.push(record.clone());
        Ok(())
    }
}

/// Trains `loaded` from scratch, reporting progress on `bar` (its message is prefixed with
/// `prefix`). With `min_steps`, the epoch budget is raised when needed so that
/// `training.max_steps` can be reached.
pub fn train_collect(
    loaded: &LoadedConfig,
    bar: &ProgressBar,
    prefix: &str,
    min_steps: Option<u64>,
) -> Result<Collected> {
    match loaded.config.dtype {
        DType::F32 => collect::<f32>(loaded, bar, prefix, min_steps),
        DType::F64 => collect::<f64>(loaded, bar, prefix, min_steps),
    }
}

fn collect<T: Float>(
    loaded: &LoadedConfig,
    bar: &ProgressBar,
    prefix: &str,
    min_steps: Option<u64>,
) -> Result<Collected> {
    let start = Instant::now();
    let mut trainer = Trainer::<T>::new(loaded)?;
    if let Some(n) = min_steps {
        let per_epoch = trainer.batches_per_epoch().max(1) as u64;
        let needed = n.div_ceil(per_epoch) as usize;
        let t = &mut trainer.config.training;
        t.epochs = t.epochs.max(needed);
    }
    let per_epoch = trainer.batches_per_epoch() as u64;
    let t = &trainer.config.training;
    bar.inc_length((per_epoch * t.epochs as u64).min(t.max_steps.unwrap_or(u64::MAX)));
    let mut c = Collector {
        bar,
        prefix: prefix.to_string(),
        records: Vec::new(),
        losses: Vec::new(),
        epochs: Vec::new(),
        epoch_sum: 0.0,
    };
    let outcome = trainer.run(&mut c)?;
    let summary = trainer.summary(outcome.clone())?;
    Ok(Collected {
        records: c.records,
        losses: c.losses,
        epochs: c.epochs,
        outcome,
        summary,
        steps: trainer.step,
        wall_s: start.elapsed().as_secs_f64(),
    })
}
