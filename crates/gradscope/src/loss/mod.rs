//! Losses with fused, numerically stable gradients. Each takes the network's raw outputs
//! (logits) and returns the mean loss; its gradient w.r.t. the logits is ready afterwards.

mod bce;
mod cross_entropy;
mod mse;

pub use bce::bce_with_logits;
pub use cross_entropy::softmax_cross_entropy;
pub use mse::mse;

use crate::error::Result;
use crate::float::Float;
use crate::tensor::Tensor;

/// Which loss.
///
/// ```
/// use gradscope::loss::Loss;
/// use gradscope::Tensor;
///
/// // Two samples, three classes; targets are class indices.
/// let logits = Tensor::from_vec(&[2, 3], vec![2.0, 0.0, 0.0, 0.0, 0.0, 0.0])?;
/// let target = Tensor::from_vec(&[2], vec![0.0, 2.0])?;
/// let mut grad = Tensor::default();
/// let loss = Loss::CrossEntropy.forward_backward(&logits, &target, &mut grad)?;
/// let uniform = 3f64.ln(); // the second sample's loss
/// assert!(loss > 0.0 && loss < uniform);
/// // ∂L/∂logits = (softmax − one-hot) / N: each row sums to 0.
/// assert!(grad.row(0).iter().sum::<f64>().abs() < 1e-12);
/// # Ok::<(), gradscope::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Softmax cross-entropy on integer class labels: mean over samples of
    /// ln Σⱼ e^(zⱼ) − z_y (PyTorch `nn.CrossEntropyLoss`).
    CrossEntropy,
    /// Binary cross-entropy with logits: mean over elements of
    /// max(z, 0) − z·y + ln(1 + e^(−|z|)) (PyTorch `nn.BCEWithLogitsLoss`).
    BceWithLogits,
    /// Mean squared error: mean over elements of (z − y)² (PyTorch `nn.MSELoss`).
    Mse,
}

impl Loss {
    /// Name as used in configs.
    pub fn name(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "cross_entropy",
            Loss::BceWithLogits => "bce_with_logits",
            Loss::Mse => "mse",
        }
    }

    /// Computes the mean loss of `logits` `[N, K]` against `target` and writes ∂L/∂logits into
    /// `grad`. Targets: class indices `[N]` (cross-entropy), values in [0, 1] of the logits'
    /// shape (BCE), or real values of the logits' shape (MSE).
    pub fn forward_backward<T: Float>(
        self,
        logits: &Tensor<T>,
        target: &Tensor<T>,
        grad: &mut Tensor<T>,
    ) -> Result<f64> {
        match self {
            Loss::CrossEntropy => softmax_cross_entropy(logits, target, grad),
            Loss::BceWithLogits => bce_with_logits(logits, target, grad),
            Loss::Mse => mse(logits, target, grad),
        }
    }
}

pub(crate) fn check_same_len<T: Float>(
    what: &str,
    logits: &Tensor<T>,
    target: &Tensor<T>,
) -> Result<()> {
    if logits.len() != target.len() {
        return Err(crate::Error::Shape(format!(
            "{what}: outputs have shape {:?} but targets have shape {:?}",
            logits.shape(),
            target.shape()
        )));
    }
    Ok(())
}
