//! [`RowwiseProperties`]: what softmax and log-softmax are as the row-wise maps they are.
//!
//! Their scalar numbers in [`super::Properties`] describe one reading only — the first output
//! of the two-entry row [x, 0], i.e. σ(x) and ln σ(x) — and would otherwise pass for the
//! numbers of an element-wise activation. Over a row of n entries with s = softmax(x):
//!
//! - softmax: y_i = s_i, Jacobian ∂y_i/∂x_j = s_i(δ_ij − s_j) = diag(s) − s·sᵀ (symmetric,
//!   rows summing to 0, singular along the all-ones direction); diagonal entries
//!   s_i(1 − s_i) ∈ (0, 1/4], off-diagonal −s_i·s_j ∈ [−1/4, 0); at x = 0: y_i = 1/n,
//!   diagonal 1/n − 1/n².
//! - log-softmax: y_i = x_i − ln Σ_j e^{x_j}, Jacobian δ_ij − s_j = I − 1·sᵀ; diagonal
//!   1 − s_i ∈ (0, 1), off-diagonal −s_j ∈ (−1, 0); at x = 0: y_i = −ln n, diagonal 1 − 1/n.

use super::Activation;

/// The row-wise description of softmax or log-softmax (formulas in the row width n).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RowwiseProperties {
    /// The Jacobian ∂y_i/∂x_j over a row, with s = softmax(x).
    pub jacobian: &'static str,
    /// y_i at x = 0, in n.
    pub f0: &'static str,
    /// The Jacobian's diagonal ∂y_i/∂x_i at x = 0, in n.
    pub df0: &'static str,
    /// sup |∂y_i/∂x_j| and where it is reached (or approached).
    pub max_abs_jacobian: &'static str,
    /// The ranges of the diagonal and off-diagonal entries.
    pub jacobian_range: &'static str,
    /// E(y_i) for x with independent N(0, 1) entries, in n.
    pub mean_output: &'static str,
    /// What the scalar numbers beside it (f(0), f'(0), moments, gain) are.
    pub scalar_view: &'static str,
}

/// The row-wise description of `act`; None for an element-wise activation.
pub fn rowwise_properties(act: &Activation) -> Option<RowwiseProperties> {
    match act {
        Activation::Softmax => Some(RowwiseProperties {
            jacobian: "diag(s) - s s^T (s_i (delta_ij - s_j))",
            f0: "1/n",
            df0: "1/n - 1/n^2",
            max_abs_jacobian: "1/4, at s_i = 1/2 (diagonal) or s_i = s_j = 1/2 (off-diagonal)",
            jacobian_range: "diagonal (0, 1/4], off-diagonal [-1/4, 0)",
            mean_output: "1/n",
            scalar_view: "the first output of the row [x, 0]: sigma(x)",
        }),
        Activation::LogSoftmax => Some(RowwiseProperties {
            jacobian: "I - 1 s^T (delta_ij - s_j)",
            f0: "-ln n",
            df0: "1 - 1/n",
            max_abs_jacobian: "1, approached as s_i -> 0 (diagonal) or s_j -> 1 (off-diagonal)",
            jacobian_range: "diagonal (0, 1), off-diagonal (-1, 0)",
            mean_output: "-E[ln sum_j e^{x_j}]: depends on n, no closed form",
            scalar_view: "the first output of the row [x, 0]: ln sigma(x)",
        }),
        _ => None,
    }
}
