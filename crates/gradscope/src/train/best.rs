//! `training.keep_best` and `training.patience`: the best validation epoch, its weights, and
//! early stopping.
//!
//! The score of an epoch is its validation accuracy, or −(validation loss) when the task has
//! no accuracy; an epoch is better when its score is strictly higher (ties keep the earlier
//! epoch). With patience p the run stops after epoch e when e − (best epoch) = p.

use super::{BestWeights, EarlyStop, Evaluation, Split, Trainer};
use crate::config::{Splits, TrainingConfig};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::model::Model;
use crate::tensor::Tensor;

/// The best epoch so far, its weights (with `keep_best`), and the early stop once decided.
#[derive(Clone, Debug)]
pub(super) struct Best<T> {
    /// (score, epoch) of the best epoch so far.
    pub score: Option<(f64, usize)>,
    /// Its state dict, with `keep_best`.
    pub state: Option<Vec<(String, Tensor<T>)>>,
    /// Set when `patience` ran out.
    pub early_stop: Option<EarlyStop>,
}

impl<T> Default for Best<T> {
    fn default() -> Self {
        Best {
            score: None,
            state: None,
            early_stop: None,
        }
    }
}

/// An epoch's score: validation accuracy, or −loss without one (higher is better).
pub(super) fn score(val: &Evaluation) -> f64 {
    val.accuracy.unwrap_or(-val.loss)
}

impl<T: Float> Best<T> {
    /// Takes the validation result of `epoch` (1-based) of `model`.
    pub fn after_epoch(
        &mut self,
        training: &TrainingConfig,
        model: &Model<T>,
        epoch: usize,
        val: &Evaluation,
    ) {
        let s = score(val);
        if self.score.is_none_or(|(best, _)| s > best) {
            self.score = Some((s, epoch));
            if training.keep_best {
                self.state = Some(model.state_dict());
            }
        }
        if let (Some(patience), Some((_, best_epoch))) = (training.patience, self.score) {
            if epoch - best_epoch >= patience {
                self.early_stop = Some(EarlyStop {
                    epoch,
                    best_epoch,
                    patience,
                });
            }
        }
    }
}

/// `keep_best` and `patience` need a validation split.
pub(super) fn check_val_split(training: &TrainingConfig, splits: &Splits) -> Result<()> {
    let field = if training.keep_best {
        "training.keep_best"
    } else if training.patience.is_some() {
        "training.patience"
    } else {
        return Ok(());
    };
    if splits.val.is_empty() {
        return Err(Error::at_field(
            field,
            "needs a validation split, and the data has none (give data.split a validation \
             fraction > 0)",
        ));
    }
    Ok(())
}

impl<T: Float> Trainer<T> {
    /// Runs `f` with the kept best weights loaded in place of the current ones, then puts
    /// the current ones back; None without kept weights.
    fn with_best_weights<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R>,
    ) -> Result<Option<R>> {
        let Some(state) = self.best.state.clone() else {
            return Ok(None);
        };
        let current = self.model.state_dict();
        self.model
            .load_state_dict(&state, "the best weights", &[])?;
        let out = f(self);
        self.model
            .load_state_dict(&current, "the final weights", &[])?;
        out.map(Some)
    }

    /// The kept weights of the best validation epoch (`training.keep_best`) evaluated on
    /// every split; None without `keep_best`.
    pub fn evaluate_best(&mut self) -> Result<Option<BestWeights>> {
        let Some((_, epoch)) = self.best.score else {
            return Ok(None);
        };
        self.with_best_weights(|t| {
            Ok(BestWeights {
                epoch,
                train: t.evaluate(Split::Train)?,
                val: t.evaluate(Split::Val)?,
                test: t.evaluate(Split::Test)?,
            })
        })
    }

    /// Writes the kept best weights like [`Trainer::save_model`]; false (nothing written)
    /// without `keep_best` or before the first epoch ended.
    pub fn save_best_model(&mut self, path: &std::path::Path) -> Result<bool> {
        Ok(self.with_best_weights(|t| t.save_model(path))?.is_some())
    }

    /// The early stop, once `training.patience` ran out.
    pub fn early_stop(&self) -> Option<EarlyStop> {
        self.best.early_stop
    }
}
