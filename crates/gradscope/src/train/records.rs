//! What a training run reports: one record per epoch, and the final summary.

/// One line of `metrics.jsonl`: the state after an epoch.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochRecord {
    /// Optimizer steps taken so far.
    pub step: u64,
    /// Epochs completed (1-based).
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (as trained: train mode).
    pub loss: f64,
    /// Training-set loss: with `training.train_eval = "running"` (the default) the
    /// sample-weighted mean of the epoch's batch losses as trained (train mode, each batch
    /// with the weights of its step); with `"full"` a pass in evaluation mode at the end of
    /// the epoch.
    pub train_loss: f64,
    /// Training-set accuracy, measured as `train_loss` is (null for regression).
    pub train_accuracy: Option<f64>,
    /// Validation loss (null without a validation split).
    pub val_loss: Option<f64>,
    /// Validation accuracy (null without a validation split, or for regression).
    pub val_accuracy: Option<f64>,
    /// Learning rate used by the epoch's last step.
    pub lr: f64,
    /// Mean global L2 gradient norm (before clipping) over the epoch's steps.
    pub grad_norm: f64,
    /// Largest global gradient norm of the epoch.
    pub grad_norm_max: f64,
    /// Seconds since the run started (across resumes).
    pub elapsed_s: f64,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Every epoch (or `max_steps`) ran.
    Completed,
    /// Stopped on request (Ctrl-C) at a step boundary; a checkpoint was written.
    Interrupted {
        /// Steps completed.
        step: u64,
    },
    /// The loss or a gradient became NaN/∞; the last good checkpoint is kept.
    Diverged {
        /// The step (1-based) whose forward or backward produced the non-finite value.
        step: u64,
        /// Where it appeared first: a layer, the loss, or a parameter gradient.
        location: String,
        /// What was seen.
        detail: String,
    },
}

/// Loss and accuracy of a model on one split.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    /// Mean loss.
    pub loss: f64,
    /// Accuracy in [0, 1] (None for regression).
    pub accuracy: Option<f64>,
    /// Number of samples.
    pub samples: usize,
}

/// The best validation accuracy of a run and the epoch that reached it.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BestVal {
    /// Validation accuracy in [0, 1].
    pub accuracy: f64,
    /// The epoch (1-based) at whose end it was measured.
    pub epoch: usize,
}

/// `summary.json`: the outcome and final numbers of a run.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// How the run ended.
    pub outcome: Outcome,
    /// Epochs completed.
    pub epochs: usize,
    /// Steps taken.
    pub steps: u64,
    /// Final evaluation on the training split.
    pub train: Option<Evaluation>,
    /// Final evaluation on the validation split.
    pub val: Option<Evaluation>,
    /// Final evaluation on the test split.
    pub test: Option<Evaluation>,
    /// Best validation accuracy seen at an epoch end, and that epoch.
    pub best_val_accuracy: Option<BestVal>,
    /// With `training.keep_best`: the kept weights of the best validation epoch and their
    /// evaluations (`train`, `val`, `test` above are those of the final weights).
    #[serde(default)]
    pub best: Option<BestWeights>,
    /// With `training.patience`: the epoch the run stopped after, and its best epoch (null
    /// when it ran to its end).
    #[serde(default)]
    pub early_stop: Option<EarlyStop>,
    /// With `training.clip`: the steps whose gradients the clipping changed (null without
    /// clipping).
    #[serde(default)]
    pub clipped_steps: Option<u64>,
    /// Learnable scalars in the model.
    pub num_params: usize,
    /// The model, one layer per line.
    pub model: Vec<String>,
    /// Engine precision.
    pub dtype: String,
    /// Seconds, across resumes.
    pub elapsed_s: f64,
}

/// The weights kept by `training.keep_best`: the epoch with the best validation score
/// (the highest accuracy, or the lowest loss when the task has no accuracy), evaluated on
/// every split.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BestWeights {
    /// The epoch (1-based) whose end gave the kept weights.
    pub epoch: usize,
    /// Those weights on the training split.
    pub train: Option<Evaluation>,
    /// Those weights on the validation split.
    pub val: Option<Evaluation>,
    /// Those weights on the test split.
    pub test: Option<Evaluation>,
}

/// Why and when `training.patience` stopped a run.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EarlyStop {
    /// The last epoch (1-based) trained.
    pub epoch: usize,
    /// The epoch with the best validation score; `epoch − best_epoch` = patience.
    pub best_epoch: usize,
    /// The patience (epochs without a better validation score).
    pub patience: usize,
}

/// One line of the per-step scalar stream (`training.scalars_every`; the CLI's
/// `steps.jsonl`): what a clipping study needs at every step, without the per-layer records.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepScalars {
    /// The step (1-based).
    pub step: u64,
    /// The epoch (1-based) it belongs to.
    pub epoch: usize,
    /// Its batch loss (train mode).
    pub loss: f64,
    /// Its global L2 gradient norm ‖g‖ before clipping.
    pub grad_norm: f64,
    /// The learning rate it used.
    pub lr: f64,
    /// True when the clipping changed the gradient (false without `training.clip`).
    pub clipped: bool,
    /// `clip = { kind = "norm" }`: the factor min(1, max_norm / (‖g‖ + 1e-6)) the gradient
    /// was multiplied by (1 when not clipped); null for the other kinds and without clipping.
    pub clip_coef: Option<f64>,
}
