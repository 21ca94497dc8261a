//! [`Collect`]: an observer that keeps everything a run reports — the diagnostic records,
//! the loss of every step, the epoch records — and passes each event on to another observer
//! (a progress bar); [`Trainer::run_collecting`] returns it all as a [`Run`].

use super::{
    EpochRecord, Flow, Observer, Outcome, Silent, StepInfo, StepScalars, Summary, Trainer,
};
use crate::diagnostics::{Diagnosis, DiagnosticsConfig, Probe, StepRecord};
use crate::error::Result;
use crate::float::Float;

/// One step's batch loss.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossPoint {
    /// The step (1-based).
    pub step: u64,
    /// Its batch loss.
    pub loss: f64,
}

/// What a run produced, as values.
#[derive(Clone, Debug)]
pub struct Run {
    /// Diagnostic records, in step order (empty without a `[diagnostics]` table).
    pub records: Vec<StepRecord>,
    /// The batch loss of every step.
    pub losses: Vec<LossPoint>,
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

/// Keeps the records of a run and forwards every event to `inner`.
pub struct Collect<'a> {
    inner: &'a mut dyn Observer,
    /// Diagnostic records so far.
    pub records: Vec<StepRecord>,
    /// Batch losses so far.
    pub losses: Vec<LossPoint>,
    /// Epoch records so far.
    pub epochs: Vec<EpochRecord>,
    /// Per-step scalars so far (with `training.scalars_every`).
    pub scalars: Vec<StepScalars>,
    /// Sum of the batch losses of the epoch in progress, up to the previous step.
    epoch_sum: f64,
}

impl<'a> Collect<'a> {
    /// A collector forwarding to `inner` (use [`super::Silent`] for none).
    pub fn new(inner: &'a mut dyn Observer) -> Self {
        Collect {
            inner,
            records: Vec::new(),
            losses: Vec::new(),
            epochs: Vec::new(),
            scalars: Vec::new(),
            epoch_sum: 0.0,
        }
    }
}

impl Observer for Collect<'_> {
    fn on_step(&mut self, info: &StepInfo) -> Flow {
        // `info.loss` is the running mean over the epoch's batches so far, so the batch loss
        // is the difference of the running sums.
        if info.batch == 1 {
            self.epoch_sum = 0.0;
        }
        let sum = info.loss * info.batch as f64;
        self.losses.push(LossPoint {
            step: info.step,
            loss: sum - self.epoch_sum,
        });
        self.epoch_sum = sum;
        self.inner.on_step(info)
    }

    fn on_epoch(&mut self, record: &EpochRecord) -> Result<()> {
        self.epochs.push(record.clone());
        self.inner.on_epoch(record)
    }

    fn on_diagnostics(&mut self, record: &StepRecord) -> Result<()> {
        self.records.push(record.clone());
        self.inner.on_diagnostics(record)
    }

    fn on_scalars(&mut self, scalars: &StepScalars) -> Result<()> {
        self.scalars.push(*scalars);
        self.inner.on_scalars(scalars)
    }
}

impl<T: Float> Trainer<T> {
    /// Runs to the end (see [`Trainer::run`]) keeping every record, then evaluates every
    /// split; `observer` still sees every event (a progress bar).
    pub fn run_collecting(&mut self, observer: &mut dyn Observer) -> Result<Run> {
        let start = std::time::Instant::now();
        let mut c = Collect::new(observer);
        let outcome = self.run(&mut c)?;
        let Collect {
            records,
            losses,
            epochs,
            ..
        } = c;
        let summary = self.summary(outcome.clone())?;
        Ok(Run {
            records,
            losses,
            epochs,
            outcome,
            summary,
            steps: self.step,
            wall_s: start.elapsed().as_secs_f64(),
        })
    }
}

impl<T: Float> Trainer<T> {
    /// Trains `steps` more steps with the gradient scope on and returns the [`Diagnosis`]
    /// of those steps. Without a `[diagnostics]` table the scope measures every step; the
    /// epoch budget is raised when `steps` needs more.
    ///
    /// ```
    /// use gradscope::config::Config;
    /// use gradscope::diagnostics::Flow;
    /// use gradscope::init::Init;
    /// use gradscope::model::MlpSpec;
    /// use gradscope::train::Trainer;
    /// use gradscope::Activation;
    ///
    /// // tanh with weights of variance 9/fan_in: every layer amplifies the gradient.
    /// let model = MlpSpec {
    ///     hidden: vec![64; 16],
    ///     activation: Activation::Tanh,
    ///     init: Init::KaimingNormal { gain: 3.0, fan_out: false },
    ///     ..MlpSpec::default()
    /// };
    /// let mut trainer = Trainer::<f32>::from_config(Config::new(model))?;
    /// let diagnosis = trainer.diagnose(5)?;
    /// assert_eq!(diagnosis.measured_steps, [1, 2, 3, 4, 5]);
    /// assert_eq!(diagnosis.verdict_at_init.flow, Flow::Exploding);
    /// let theory = diagnosis.theory.as_ref().expect("an MLP the theory covers");
    /// assert_eq!(theory.phase, "chaotic");
    /// # Ok::<(), gradscope::Error>(())
    /// ```
    pub fn diagnose(&mut self, steps: u64) -> Result<Diagnosis> {
        let diag = match &self.config.diagnostics {
            Some(d) => d.clone(),
            None => {
                let d = DiagnosticsConfig {
                    every: 1,
                    ..DiagnosticsConfig::default()
                };
                self.config.diagnostics = Some(d.clone());
                d
            }
        };
        if self.probe.is_none() {
            self.probe = Some(Probe::new(diag.clone()));
        }
        let target = self.step + steps;
        let per_epoch = self.batches_per_epoch().max(1) as u64;
        let t = &mut self.config.training;
        t.max_steps = Some(target);
        t.epochs = t.epochs.max(target.div_ceil(per_epoch) as usize);
        let run = self.run_collecting(&mut Silent)?;
        Diagnosis::from_run(&self.source, &diag, &run)
    }
}
