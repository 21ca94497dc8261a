//! [`TrainEval`]: how the per-epoch training-set metrics are measured (`training.train_eval`).

/// How `train_loss` and `train_accuracy` of each epoch's record are measured.
///
/// `Running` costs nothing beyond the training steps; `Full` costs one forward pass over the
/// whole training set per epoch (see docs/performance.md). The final summary's `train` entry
/// is a full pass in either mode.
///
/// ```
/// use gradscope::config::{TrainEval, TrainingConfig};
///
/// assert_eq!(TrainingConfig::default().train_eval, TrainEval::Running);
/// let t: TrainingConfig = toml::from_str("train_eval = \"full\"").unwrap();
/// assert_eq!(t.train_eval, TrainEval::Full);
/// assert!(toml::from_str::<TrainingConfig>("train_eval = \"all\"").is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainEval {
    /// The running mean over the epoch's batches, from the forward passes of the training
    /// steps themselves: loss = Σ_b n_b·L_b / Σ_b n_b, accuracy = Σ_b correct_b / Σ_b n_b, in
    /// train mode (dropout on, batch statistics) and with the weights as they were at each
    /// batch — not the end-of-epoch weights a full pass measures.
    #[default]
    Running,
    /// A full pass over the training set in evaluation mode with the end-of-epoch weights.
    Full,
}

impl TrainEval {
    /// Whether this is the default, [`TrainEval::Running`] (not written to a resolved config).
    pub fn is_running(&self) -> bool {
        *self == TrainEval::Running
    }
}
