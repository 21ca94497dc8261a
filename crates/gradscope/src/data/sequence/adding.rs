//! The adding problem (Hochreiter & Schmidhuber 1997; the version of Le, Jaitly & Hinton 2015).

use super::Dataset;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// A prediction of the adding problem counts as **solved** when its absolute error is below
/// this: `|prediction − target| < 0.04` (Hochreiter & Schmidhuber 1997).
pub const ADDING_TOLERANCE: f64 = 0.04;

/// Mean squared error of always predicting 1, the expected target: the variance of the sum of
/// two independent U[0, 1] values, 2/12 = 1/6 ≈ 0.1667. A model has learnt something only
/// below this (Le et al. 2015 quote 0.1767 for their sample).
pub const ADDING_BASELINE_MSE: f64 = 1.0 / 6.0;

/// The adding problem: `n` sequences of `seq_len` = T steps with 2 features per step,
/// `[value, marker]`.
///
/// - `value` ~ U[0, 1) at every step, independently;
/// - `marker` ∈ {0, 1}: exactly two steps are marked, one uniformly at random in the first
///   half, steps `0..⌊T/2⌋`, and one in the second half, steps `⌊T/2⌋..T`;
/// - the target (regression, k = 1) is the sum of the two marked values, in [0, 2).
///
/// The model reads the whole sequence and predicts the sum from its last state
/// (many-to-one); a prediction is solved when `|error| <` [`ADDING_TOLERANCE`], and
/// [`ADDING_BASELINE_MSE`] is the error of the best constant. T ≥ 2. Row layout (time-major):
/// `[v_0, m_0, v_1, m_1, …]`. Name `adding`. Draws per sample: the T values, then the first
/// and the second marked position.
pub fn adding_problem(n: usize, seq_len: usize, rng: &mut Rng) -> Result<Dataset> {
    if seq_len < 2 {
        return Err(Error::Invalid(format!(
            "adding problem: seq_len {seq_len} must be >= 2 (one marker in each half)"
        )));
    }
    let t = seq_len;
    let half = t / 2;
    let what = || format!("the adding problem (n = {n}, seq_len = {t})");
    let mut x = crate::data::try_vec(&[n, 2, t], what)?;
    let mut y = crate::data::try_vec(&[n], what)?;
    for _ in 0..n {
        let start = x.len();
        for _ in 0..t {
            x.push(rng.uniform01());
            x.push(0.0);
        }
        let first = rng.below(half);
        let second = half + rng.below(t - half);
        x[start + 2 * first + 1] = 1.0;
        x[start + 2 * second + 1] = 1.0;
        y.push(x[start + 2 * first] + x[start + 2 * second]);
    }
    Dataset::regression("adding", x, 2 * t, y, 1)?.with_seq_len(t)
}

/// Whether one adding-problem prediction is solved: `|prediction − target| <`
/// [`ADDING_TOLERANCE`].
pub fn adding_solved(prediction: f64, target: f64) -> bool {
    (prediction - target).abs() < ADDING_TOLERANCE
}

/// The fraction of predictions that are solved ([`adding_solved`]); 0 for no prediction.
///
/// # Panics
/// If the two slices differ in length.
pub fn adding_solved_fraction(predictions: &[f64], targets: &[f64]) -> f64 {
    assert_eq!(
        predictions.len(),
        targets.len(),
        "{} predictions for {} targets",
        predictions.len(),
        targets.len()
    );
    if predictions.is_empty() {
        return 0.0;
    }
    let solved = predictions
        .iter()
        .zip(targets)
        .filter(|(&p, &t)| adding_solved(p, t))
        .count();
    solved as f64 / predictions.len() as f64
}
