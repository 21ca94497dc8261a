//! The training loop: data → mini-batches → forward/backward → clip → optimizer step, with
//! evaluation every epoch, checkpoints, clean stops on request and on NaN/∞.
//!
//! All randomness comes from the config's seed, split into independent streams (data, init,
//! shuffling, dropout), so the same seed gives the same metrics, and a run resumed from a
//! checkpoint continues bit-identically.

mod batch;
mod best;
mod checkpoint;
mod collect;
mod limits;
mod origin;
mod records;

pub use batch::{check_targets, correct, gather, output_width};
pub use checkpoint::{CHECKPOINT_FORMAT, INPUT_MEAN_KEY, INPUT_STD_KEY, MODEL_FORMAT};
pub use collect::{Collect, LossPoint, Run};
pub use limits::checkpoint_run_id;
pub use origin::{checkpoint_origin, RunOrigin};
pub use records::{
    BestVal, BestWeights, EarlyStop, EpochRecord, Evaluation, Outcome, StepScalars, Summary,
};

use std::path::PathBuf;
use std::time::Instant;

use crate::config::{Config, LoadedConfig, Splits, TrainEval};
use crate::data::{BatchIter, Dataset};
use crate::diagnostics::{Probe, StepContext, StepRecord};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::loss::Loss;
use crate::memory::MemoryLimit;
use crate::model::Model;
use crate::optim::{
    clip_coef, clip_param_norm, clip_param_value, ClipConfig, GlobalNormClipper, LrSchedule,
    Optimizer, SchedulePer,
};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// What an observer tells the loop after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// Stop cleanly now (a checkpoint is written).
    Stop,
}

/// Progress of one step, for progress bars.
#[derive(Clone, Copy, Debug)]
pub struct StepInfo {
    /// Steps taken so far (this one included).
    pub step: u64,
    /// 0-based epoch in progress.
    pub epoch: usize,
    /// Batches of this epoch done.
    pub batch: usize,
    /// Batches per epoch.
    pub batches: usize,
    /// This step's training loss.
    pub loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}

/// Receives progress from [`Trainer::run`].
pub trait Observer {
    /// After every step; return [`Flow::Stop`] to stop (e.g. on Ctrl-C).
    fn on_step(&mut self, _info: &StepInfo) -> Flow {
        Flow::Continue
    }
    /// After every epoch's evaluation (before its checkpoint is written).
    fn on_epoch(&mut self, _record: &EpochRecord) -> Result<()> {
        Ok(())
    }
    /// After every diagnostic step (when the config has a `[diagnostics]` table).
    fn on_diagnostics(&mut self, _record: &StepRecord) -> Result<()> {
        Ok(())
    }
    /// After every `training.scalars_every`-th step (and step 1), when that key is set.
    fn on_scalars(&mut self, _scalars: &StepScalars) -> Result<()> {
        Ok(())
    }
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// Running sums over the batches of the epoch in progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct EpochAccum {
    loss_sum: f64,
    grad_sum: f64,
    grad_max: f64,
    batches: usize,
    lr: f64,
    /// Σ n_b·L_b over the batches (n_b samples each), for the running `train_loss`.
    #[serde(default)]
    sample_loss_sum: f64,
    /// Σ n_b.
    #[serde(default)]
    samples: usize,
    /// Correct predictions of the batches' forward passes.
    #[serde(default)]
    correct: usize,
    /// Some batch had no accuracy (regression without a tolerance).
    #[serde(default)]
    no_accuracy: bool,
}

impl EpochAccum {
    /// The running evaluation of [`TrainEval::Running`]: the sample-weighted mean of the
    /// batch losses and the share of correct predictions (`steps` labels per sample); None
    /// before the first batch.
    fn running(&self, steps: usize) -> Option<Evaluation> {
        (self.samples > 0).then(|| Evaluation {
            loss: self.sample_loss_sum / self.samples as f64,
            accuracy: (!self.no_accuracy)
                .then(|| self.correct as f64 / (self.samples * steps.max(1)) as f64),
            samples: self.samples,
        })
    }
}

/// A training run in progress.
///
/// Built from a config value ([`Trainer::from_config`]), a loaded file ([`Trainer::new`]) or a
/// config with data already in memory ([`Trainer::with_splits`]); the precision is `T`.
/// [`Trainer::run`] reports to an [`Observer`]; [`Trainer::run_collecting`] keeps everything
/// as a [`Run`]; [`Trainer::diagnose`] judges the gradient flow.
///
/// ```
/// use gradscope::config::{Config, TrainingConfig};
/// use gradscope::model::MlpSpec;
/// use gradscope::train::{Outcome, Silent, Trainer};
/// use gradscope::Activation;
///
/// let training = TrainingConfig::default().with_epochs(2).with_lr(0.01);
/// let config = Config::new(MlpSpec::new(0, &[32], 0, Activation::Relu)).with_training(training);
/// let mut trainer = Trainer::<f32>::from_config(config)?;
/// let run = trainer.run_collecting(&mut Silent)?;
/// assert_eq!(run.outcome, Outcome::Completed);
/// assert_eq!(run.epochs.len(), 2);
/// let val = run.summary.val.expect("the digits have a validation split");
/// assert!(val.accuracy.unwrap() > 0.8, "{val:?}");
/// # Ok::<(), gradscope::Error>(())
/// ```
pub struct Trainer<T: Float> {
    /// The configuration it runs.
    pub config: Config,
    /// The network.
    pub model: Model<T>,
    /// The data, split and standardized.
    pub splits: Splits,
    optimizer: Optimizer<T>,
    schedule: Option<LrSchedule>,
    batches: BatchIter,
    order: Vec<usize>,
    shuffle_rng: Rng,
    epoch_start_rng: Rng,
    /// Epochs completed.
    pub epoch: usize,
    /// Steps taken.
    pub step: u64,
    batch_in_epoch: usize,
    acc: EpochAccum,
    elapsed_before: f64,
    started: Instant,
    best_val: Option<(f64, usize)>,
    best: best::Best<T>,
    clipped_steps: u64,
    last_scalars: Option<StepScalars>,
    x: Tensor<T>,
    y: Tensor<T>,
    scratch: Tensor<T>,
    checkpoint_path: Option<PathBuf>,
    probe: Option<Probe>,
    last_diagnostics: Option<StepRecord>,
    source: String,
    /// Names this run in its checkpoints (kept across resumes).
    run_id: String,
    origin: Option<RunOrigin>,
}

fn nonfinite(t: &Tensor<impl Float>) -> Option<String> {
    t.data()
        .iter()
        .position(|v| !v.is_finite())
        .map(|i| format!("element {i} is {}", t.data()[i]))
}

impl<T: Float> Trainer<T> {
    /// Loads the data of a config file (paths relative to the file), builds the model and
    /// optimizer for a fresh run. The file's `dtype` must be T's.
    pub fn new(loaded: &LoadedConfig) -> Result<Self> {
        Self::new_limited(loaded, None)
    }

    /// [`Trainer::new`], refusing a run whose estimated memory
    /// ([`crate::memory::estimate`]) is above `limit` once its data is loaded.
    fn new_limited(loaded: &LoadedConfig, limit: Option<&MemoryLimit>) -> Result<Self> {
        let config = loaded.config.clone();
        if config.dtype != T::DTYPE {
            return Err(Error::config_field(
                "dtype",
                format!(
                    "dtype = \"{}\" but the trainer was built for {}",
                    config.dtype.name(),
                    T::DTYPE.name()
                ),
            ));
        }
        let mut t = Self::assemble(
            config,
            |c, rng| c.data.load_as(&loaded.base_dir, rng, T::DTYPE),
            limit,
        )?;
        t.source = loaded.source.clone();
        Ok(t)
    }

    /// Where the config came from (its file, or `<config>` for a value built in code).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// A fresh run of `config` (a value, e.g. built in code), its data loaded as
    /// `config.data` says with relative paths taken from the working directory. The
    /// precision is T: `config.dtype` is set to it.
    pub fn from_config(mut config: Config) -> Result<Self> {
        config.dtype = T::DTYPE;
        config.validate()?;
        Self::assemble(
            config,
            |c, rng| c.data.load_as(std::path::Path::new("."), rng, T::DTYPE),
            None,
        )
    }

    /// A fresh run of `config` on data already split in memory (`config.data` is not read).
    /// Model sizes left at 0 are taken from the data; the precision is T.
    ///
    /// ```
    /// use gradscope::config::{Config, Splits};
    /// use gradscope::data::Dataset;
    /// use gradscope::model::MlpSpec;
    /// use gradscope::train::{Silent, Trainer};
    /// use gradscope::{Activation, Rng};
    ///
    /// // XOR-like points: the class is whether x and y have the same sign.
    /// let mut rng = Rng::seed(1);
    /// let (mut x, mut labels) = (Vec::new(), Vec::new());
    /// for _ in 0..400 {
    ///     let (a, b) = (rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0));
    ///     x.extend([a, b]);
    ///     labels.push(usize::from(a * b > 0.0));
    /// }
    /// let all = Dataset::classification("xor", x, 2, labels, 2)?;
    /// let (train, val, test) = all.split((0.8, 0.2, 0.0), &mut rng)?;
    /// let splits = Splits { train, val, test, standardizer: None };
    ///
    /// let mut config = Config::new(MlpSpec::new(0, &[16, 16], 0, Activation::Tanh));
    /// config.training = config.training.with_epochs(30).with_lr(0.02);
    /// let mut trainer = Trainer::<f64>::with_splits(config, splits)?;
    /// let run = trainer.run_collecting(&mut Silent)?;
    /// let accuracy = run.summary.val.and_then(|v| v.accuracy).unwrap();
    /// assert!(accuracy > 0.9, "{accuracy}");
    /// # Ok::<(), gradscope::Error>(())
    /// ```
    pub fn with_splits(mut config: Config, splits: Splits) -> Result<Self> {
        config.dtype = T::DTYPE;
        config.validate()?;
        Self::assemble(config, |_, _| Ok(splits), None)
    }

    /// Builds the run: `load` gets the data from the config with the data generator (the
    /// generators of the data, initialization and shuffling streams come from
    /// [`Config::stream_rngs`] whatever `load` does, so the same seeds give the same weights
    /// and batches).
    fn assemble(
        config: Config,
        load: impl FnOnce(&Config, &mut Rng) -> Result<Splits>,
        limit: Option<&MemoryLimit>,
    ) -> Result<Self> {
        let (mut data_rng, mut init_rng, shuffle_rng) = config.stream_rngs();
        let splits = load(&config, &mut data_rng)?;
        let train = &splits.train;
        if train.is_empty() {
            return Err(Error::config("data: the training split is empty"));
        }
        best::check_val_split(&config.training, &splits)?;
        let loss = config.training.loss;
        let mut spec = config.model.clone();
        if let Some(rec) = spec.recurrent() {
            let mut input = spec.input();
            check_sequence_fit(train, rec, &mut input)?;
            spec.set_input(input);
        } else if spec.input() == 0 {
            spec.set_input(train.dim());
        } else if spec.input() != train.dim() {
            return Err(Error::at_field(
                "model.input",
                format_args!(
                    "= {} but the data has {} features",
                    spec.input(),
                    train.dim()
                ),
            ));
        }
        if spec.output() == 0 {
            spec.set_output(output_width(train, loss));
        }
        check_targets(train, loss, spec.output())?;
        if let Some(limit) = limit {
            crate::memory::check_loaded(&config, &spec, &splits, limit)?;
        }
        let model = spec.build::<T>(&mut init_rng).map_err(|e| match e {
            Error::Invalid(m) => Error::config(m),
            other => other,
        })?;
        let optimizer = Optimizer::new(&config.training.optimizer()).map_err(|e| {
            Error::config_field("training.optimizer", format!("training.optimizer: {e}"))
        })?;
        let schedule = match &config.training.schedule {
            Some(s) => Some(LrSchedule::new(s, optimizer.base_lr()).map_err(|e| {
                Error::config_field("training.schedule", format!("training.schedule: {e}"))
            })?),
            None => None,
        };
        let n = train.len();
        let bs = match config.training.batch_size {
            0 => n,
            b => b.min(n),
        };
        let batches = BatchIter::new(n, bs, config.training.shuffle)?;
        let config_probe = config.diagnostics.clone().map(Probe::new);
        Ok(Trainer {
            config,
            model,
            splits,
            optimizer,
            schedule,
            batches,
            order: Vec::new(),
            epoch_start_rng: shuffle_rng.clone(),
            shuffle_rng,
            epoch: 0,
            step: 0,
            batch_in_epoch: 0,
            acc: EpochAccum::default(),
            elapsed_before: 0.0,
            started: Instant::now(),
            best_val: None,
            best: best::Best::default(),
            clipped_steps: 0,
            last_scalars: None,
            x: Tensor::default(),
            y: Tensor::default(),
            scratch: Tensor::default(),
            checkpoint_path: None,
            probe: config_probe,
            last_diagnostics: None,
            source: "<config>".into(),
            run_id: limits::fresh_run_id(),
            origin: None,
        })
    }

    /// Where checkpoints are written (periodically, on a stop request, never after a NaN).
    pub fn set_checkpoint_path(&mut self, path: Option<PathBuf>) {
        self.checkpoint_path = path;
    }

    /// The learning rate the next step uses.
    pub fn lr(&self) -> f64 {
        self.schedule
            .as_ref()
            .map_or(self.optimizer.base_lr(), LrSchedule::lr)
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.batches.num_batches()
    }

    /// Seconds of training so far, across resumes.
    pub fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// Runs until every epoch is done, `max_steps` is reached, the observer says stop, or a
    /// NaN/∞ appears.
    pub fn run(&mut self, observer: &mut dyn Observer) -> Result<Outcome> {
        let epochs = self.config.training.epochs;
        let max_steps = self.config.training.max_steps.unwrap_or(u64::MAX);
        let bs = self.batches.batch_size();
        let n = self.splits.train.len();
        let nb = self.batches.num_batches();
        while self.epoch < epochs && self.step < max_steps && self.best.early_stop.is_none() {
            if self.batch_in_epoch == 0 {
                self.epoch_start_rng = self.shuffle_rng.clone();
                self.acc = EpochAccum::default();
            }
            // The epoch's order depends only on the generator state at its start, so a resumed
            // run regenerates the same order.
            let mut rng = self.epoch_start_rng.clone();
            let mut order = std::mem::take(&mut self.order);
            order.clear();
            order.extend(self.batches.epoch(&mut rng).flatten().copied());
            self.shuffle_rng = rng;
            self.model.set_training(true);
            let mut stop = None;
            for b in self.batch_in_epoch..nb {
                let idx = &order[b * bs..((b + 1) * bs).min(n)];
                if let Some(diverged) = self.train_step(idx)? {
                    self.order = order;
                    return Ok(diverged);
                }
                if let Some(rec) = self.last_diagnostics.take() {
                    observer.on_diagnostics(&rec)?;
                }
                if let Some(s) = self.last_scalars.take() {
                    observer.on_scalars(&s)?;
                }
                self.batch_in_epoch = b + 1;
                let info = StepInfo {
                    step: self.step,
                    epoch: self.epoch,
                    batch: b + 1,
                    batches: nb,
                    loss: self.acc.loss_sum / self.acc.batches as f64,
                    lr: self.acc.lr,
                    grad_norm: self.acc.grad_sum / self.acc.batches as f64,
                };
                if observer.on_step(&info) == Flow::Stop {
                    stop = Some(Outcome::Interrupted { step: self.step });
                    break;
                }
                if self.step >= max_steps {
                    break;
                }
            }
            self.order = order;
            if let Some(outcome) = stop {
                self.write_checkpoint()?;
                return Ok(outcome);
            }
            self.end_epoch(observer)?;
        }
        Ok(Outcome::Completed)
    }

    /// One step on the batch `idx`; returns `Some(Outcome::Diverged)` on NaN/∞.
    fn train_step(&mut self, idx: &[usize]) -> Result<Option<Outcome>> {
        let loss = self.config.training.loss;
        gather(&self.splits.train, idx, loss, &mut self.x, &mut self.y);
        let l = self.model.forward_backward(&self.x, &self.y, loss)?;
        let step = self.step + 1;
        if !l.is_finite() {
            let (location, detail) = self.locate_forward_nonfinite(l);
            return Ok(Some(Outcome::Diverged {
                step,
                location,
                detail,
            }));
        }
        // The global gradient norm by the library's clipper (`optim::clip`, tested against
        // PyTorch's `clip_grad_norm_`): the same overflow-safe sum, and with
        // `clip = { kind = "norm" }` the same coefficient, as `clip_grad_norm`. The threshold
        // only matters when the clipper is applied (kind = "norm", below).
        let max_norm = match self.config.training.clip {
            Some(ClipConfig::Norm { max_norm }) => max_norm,
            _ => 1.0,
        };
        let mut clipper = GlobalNormClipper::new(max_norm)?;
        self.model.visit_params(&mut |_, p| clipper.observe(p));
        let norm = match clipper.finish() {
            Ok(norm) => norm,
            Err(_) => {
                // A NaN/∞ gradient (or a norm beyond f64::MAX): the first parameter holding
                // one, for the report.
                let bad_param = self
                    .model
                    .params()
                    .into_iter()
                    .find_map(|p| nonfinite(&p.grad).map(|d| format!("{}: {d}", p.name)));
                let (location, detail) = self.locate_backward_nonfinite(bad_param);
                return Ok(Some(Outcome::Diverged {
                    step,
                    location,
                    detail,
                }));
            }
        };
        let measured = match &mut self.probe {
            Some(p) if p.config().due(step) => {
                // With the batch, a recurrent layer's gates are recomputed exactly.
                p.measure(
                    &self.model,
                    Some(&self.x),
                    StepContext {
                        step,
                        epoch: self.epoch + 1,
                        loss: l,
                        grad_norm: norm,
                    },
                );
                true
            }
            _ => false,
        };
        // (changed the gradient, coefficient of global-norm clipping)
        let (clipped, clip_coef) = match self.config.training.clip {
            Some(ClipConfig::Norm { .. }) => {
                // g ← g·min(1, max_norm / (‖g‖ + 1e-6)) with ‖g‖ over every parameter.
                self.model.visit_params_mut(&mut |_, p| clipper.apply(p));
                (clipper.coef() < 1.0, Some(clipper.coef()))
            }
            Some(ClipConfig::PerParamNorm { max_norm }) => {
                let mut err = None;
                let mut clipped = false;
                self.model
                    .visit_params_mut(&mut |_, p| match clip_param_norm(p, max_norm) {
                        Ok(n) => clipped |= clip_coef(n, max_norm) < 1.0,
                        Err(e) => {
                            err.get_or_insert(e);
                        }
                    });
                if let Some(e) = err {
                    return Err(e);
                }
                (clipped, None)
            }
            Some(ClipConfig::Value { clip_value }) => {
                let mut err = None;
                let mut clipped = false;
                self.model.visit_params_mut(&mut |_, p| {
                    clipped |= p.grad.data().iter().any(|g| g.to_f64().abs() > clip_value);
                    if let Err(e) = clip_param_value(p, clip_value) {
                        err.get_or_insert(e);
                    }
                });
                if let Some(e) = err {
                    return Err(e);
                }
                (clipped, None)
            }
            None => (false, None),
        };
        self.clipped_steps += u64::from(clipped);
        let lr = self.lr();
        self.optimizer.begin_step();
        let mut err = None;
        let opt = &mut self.optimizer;
        self.model.visit_params_mut(&mut |i, p| {
            if err.is_none() {
                if let Err(e) = opt.update(i, p, lr) {
                    err = Some(e);
                }
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        if measured {
            self.last_diagnostics = self.probe.as_mut().and_then(|p| p.finish(&self.model));
        }
        if let Some(s) = &mut self.schedule {
            if s.per() == SchedulePer::Step {
                s.step(Some(l))?;
            }
        }
        self.step = step;
        if self
            .config
            .training
            .scalars_every
            .is_some_and(|k| step == 1 || step.is_multiple_of(k))
        {
            self.last_scalars = Some(StepScalars {
                step,
                epoch: self.epoch + 1,
                loss: l,
                grad_norm: norm,
                lr,
                clipped,
                clip_coef,
            });
        }
        if self.config.training.train_eval == TrainEval::Running {
            // The batch's own forward pass (train mode, this step's weights) gives the
            // running train_loss/train_accuracy, with no extra pass over the data.
            let tolerance = self.config.training.tolerance;
            let right = self
                .model
                .output()
                .and_then(|out| correct(out, &self.splits.train, idx, tolerance));
            match right {
                Some(c) => self.acc.correct += c,
                None => self.acc.no_accuracy = true,
            }
            self.acc.sample_loss_sum += l * idx.len() as f64;
            self.acc.samples += idx.len();
        }
        self.acc.loss_sum += l;
        self.acc.grad_sum += norm;
        self.acc.grad_max = self.acc.grad_max.max(norm);
        self.acc.batches += 1;
        self.acc.lr = lr;
        Ok(None)
    }

    fn locate_forward_nonfinite(&self, loss: f64) -> (String, String) {
        for (i, layer) in self.model.layers.iter().enumerate() {
            if let Some(d) = nonfinite(layer.output()) {
                return (
                    format!(
                        "layer {i} ({}) output in the forward pass",
                        layer.describe()
                    ),
                    format!("{d}; loss = {loss}"),
                );
            }
        }
        (
            "loss".into(),
            format!("loss = {loss} with finite network outputs"),
        )
    }

    fn locate_backward_nonfinite(&self, bad_param: Option<String>) -> (String, String) {
        // Backward runs from the last layer down: the highest layer with a non-finite
        // ∂L/∂input is where it appeared first.
        for (i, layer) in self.model.layers.iter().enumerate().rev() {
            if i == 0 {
                break;
            }
            if let Some(d) = nonfinite(layer.grad_input()) {
                return (
                    format!(
                        "layer {i} ({}) gradient in the backward pass",
                        layer.describe()
                    ),
                    d,
                );
            }
        }
        match bad_param {
            Some(p) => ("parameter gradient".into(), p),
            None => (
                "gradient norm".into(),
                "the global gradient norm overflowed".into(),
            ),
        }
    }

    /// Loss and accuracy on a data split, in evaluation mode.
    pub fn evaluate(&mut self, which: Split) -> Result<Option<Evaluation>> {
        let data = match which {
            Split::Train => &self.splits.train,
            Split::Val => &self.splits.val,
            Split::Test => &self.splits.test,
        };
        evaluate(
            &mut self.model,
            data,
            self.config.training.loss,
            self.config.training.tolerance,
            &mut self.x,
            &mut self.y,
            &mut self.scratch,
        )
    }

    fn end_epoch(&mut self, observer: &mut dyn Observer) -> Result<()> {
        self.epoch += 1;
        self.batch_in_epoch = 0;
        let train = match self.config.training.train_eval {
            TrainEval::Running => self.acc.running(self.splits.train.target_steps()),
            TrainEval::Full => self.evaluate(Split::Train)?,
        };
        let val = self.evaluate(Split::Val)?;
        if let Some(s) = &mut self.schedule {
            if s.per() == SchedulePer::Epoch {
                let metric = val.map(|v| v.loss).or(train.map(|t| t.loss));
                s.step(metric)?;
            }
        }
        if let Some(acc) = val.and_then(|v| v.accuracy) {
            if self.best_val.is_none_or(|(b, _)| acc > b) {
                self.best_val = Some((acc, self.epoch));
            }
        }
        if let Some(v) = val {
            self.best
                .after_epoch(&self.config.training, &self.model, self.epoch, &v);
        }
        let batches = self.acc.batches.max(1) as f64;
        let record = EpochRecord {
            step: self.step,
            epoch: self.epoch,
            loss: self.acc.loss_sum / batches,
            train_loss: train.map_or(f64::NAN, |t| t.loss),
            train_accuracy: train.and_then(|t| t.accuracy),
            val_loss: val.map(|v| v.loss),
            val_accuracy: val.and_then(|v| v.accuracy),
            lr: self.acc.lr,
            grad_norm: self.acc.grad_sum / batches,
            grad_norm_max: self.acc.grad_max,
            elapsed_s: self.elapsed(),
        };
        observer.on_epoch(&record)?;
        let every = self.config.training.checkpoint_every.max(1);
        let last = self.epoch >= self.config.training.epochs || self.best.early_stop.is_some();
        if self.epoch.is_multiple_of(every) || last {
            self.write_checkpoint()?;
        }
        Ok(())
    }

    fn write_checkpoint(&self) -> Result<()> {
        match &self.checkpoint_path {
            Some(p) => self.save_checkpoint(p),
            None => Ok(()),
        }
    }

    /// The final summary: evaluations on every split (in evaluation mode).
    pub fn summary(&mut self, outcome: Outcome) -> Result<Summary> {
        let train = self.evaluate(Split::Train)?;
        let val = self.evaluate(Split::Val)?;
        let test = self.evaluate(Split::Test)?;
        let best = self.evaluate_best()?;
        Ok(Summary {
            outcome,
            epochs: self.epoch,
            steps: self.step,
            train,
            val,
            test,
            best_val_accuracy: self
                .best_val
                .map(|(accuracy, epoch)| BestVal { accuracy, epoch }),
            best,
            early_stop: self.best.early_stop,
            clipped_steps: self
                .config
                .training
                .clip
                .is_some()
                .then_some(self.clipped_steps),
            num_params: self.model.num_params(),
            model: self.model.summary().lines().map(str::to_string).collect(),
            dtype: T::DTYPE.name().to_string(),
            elapsed_s: self.elapsed(),
        })
    }
}

/// Checks that a recurrent model fits the data: rows cut into steps of `input` features
/// (taken from the data's sequence shape when 0), and per-step labels exactly when the model
/// predicts at every step.
fn check_sequence_fit(
    train: &Dataset,
    rec: &crate::recurrent::RecurrentSpec,
    input: &mut usize,
) -> Result<()> {
    use crate::recurrent::Predict;
    if *input == 0 {
        if train.seq_len().is_none() {
            return Err(Error::config_field(
                "model.input",
                format!(
                    "model.recurrent reads rows as sequences, but the data's {} features have no \
                 time axis: set model.input to the features per step (or data.seq_len)",
                    train.dim()
                ),
            ));
        }
        *input = train.step_dim();
    } else if !train.dim().is_multiple_of(*input) {
        return Err(Error::at_field(
            "model.input",
            format_args!(
                "= {input} features per step does not divide the data's {} features per row",
                train.dim()
            ),
        ));
    }
    let steps = train.dim() / *input;
    match (rec.predict, train.target_steps()) {
        (Predict::Last, 1) => Ok(()),
        (Predict::Last, s) => Err(Error::config_field(
            "model.recurrent.predict",
            format!(
                "the data labels every time step ({s} per sample): set \
                 model.recurrent.predict = \"every_step\""
            ),
        )),
        (Predict::EveryStep, s) if s == steps => Ok(()),
        (Predict::EveryStep, 1) => Err(Error::config_field(
            "model.recurrent.predict",
            "model.recurrent.predict = \"every_step\" needs a label per time step, but the data \
             has one target per sample (use predict = \"last\")",
        )),
        (Predict::EveryStep, s) => Err(Error::config(format!(
            "the data has {s} labels per sample but its rows have {steps} steps of {input} \
             features"
        ))),
    }
}

/// Which split to evaluate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// Training samples.
    Train,
    /// Validation samples.
    Val,
    /// Test samples.
    Test,
}

/// Mean loss and accuracy of `model` on `data` in evaluation mode (batches of 1024); None for
/// an empty split. Accuracy of a regression set is the fraction within `tolerance` (see
/// [`correct`]). Leaves the model in evaluation mode.
pub fn evaluate<T: Float>(
    model: &mut Model<T>,
    data: &Dataset,
    loss: Loss,
    tolerance: Option<f64>,
    x: &mut Tensor<T>,
    y: &mut Tensor<T>,
    scratch: &mut Tensor<T>,
) -> Result<Option<Evaluation>> {
    if data.is_empty() {
        return Ok(None);
    }
    model.set_training(false);
    let n = data.len();
    let mut total = 0.0;
    let mut right = 0usize;
    let mut has_acc = true;
    let idx: Vec<usize> = (0..n).collect();
    for chunk in idx.chunks(1024) {
        gather(data, chunk, loss, x, y);
        let out = model.forward(x);
        total += loss.forward_backward(out, y, scratch)? * chunk.len() as f64;
        match correct(out, data, chunk, tolerance) {
            Some(c) => right += c,
            None => has_acc = false,
        }
    }
    Ok(Some(Evaluation {
        loss: total / n as f64,
        accuracy: has_acc.then(|| right as f64 / (n * data.target_steps()) as f64),
        samples: n,
    }))
}
