//! The temporal order problem (Hochreiter & Schmidhuber 1997, experiment 6a).

use std::ops::RangeInclusive;

use super::{push_one_hot, Dataset};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// The input symbols of [`temporal_order`], in one-hot order: `E` (start), `B` (end), the
/// distractors `a b c d`, and the relevant symbols `X`, `Y`.
pub const TEMPORAL_ORDER_SYMBOLS: [&str; 8] = ["E", "B", "a", "b", "c", "d", "X", "Y"];

/// The classes of [`temporal_order`]: the relevant symbols in order of appearance
/// (Hochreiter & Schmidhuber's Q, R, S, U).
pub const TEMPORAL_ORDER_CLASSES: [&str; 4] = ["XX", "XY", "YX", "YY"];

const E: usize = 0;
const B: usize = 1;
const FIRST_DISTRACTOR: usize = 2;
const X: usize = 6;

/// The two windows where [`temporal_order`] places its relevant symbols for `seq_len` = T:
/// t₁ ∈ [max(1, ⌊T/10⌋), ⌊2T/10⌋] and t₂ ∈ [⌊5T/10⌋, ⌊6T/10⌋] (T = 100 gives
/// [10, 20] and [50, 60], the paper's windows). T ≥ 10 so the windows are non-empty, disjoint
/// and leave the first and last steps to `E` and `B`.
pub fn temporal_order_windows(seq_len: usize) -> (RangeInclusive<usize>, RangeInclusive<usize>) {
    let t = seq_len;
    ((t / 10).max(1)..=2 * t / 10, 5 * t / 10..=6 * t / 10)
}

/// The temporal order problem: `n` sequences of `seq_len` = T one-hot symbols over
/// [`TEMPORAL_ORDER_SYMBOLS`] (8 features per step), 4 classes.
///
/// Step 0 is `E`, step T−1 is `B`, every other step is a distractor drawn uniformly from
/// `a b c d`, except two steps t₁ < t₂ drawn uniformly in the windows of
/// [`temporal_order_windows`] that hold the relevant symbols `X` or `Y`. The class is their
/// order, `XX`, `XY`, `YX` or `YY` ([`TEMPORAL_ORDER_CLASSES`], class names kept), drawn
/// uniformly so the classes are balanced in expectation. The network must remember the two
/// symbols across the distractors and answer at the end (many-to-one). Fixed length T ≥ 10
/// (the paper draws the length in 100–110). Name `temporal_order`. Draws per sample: the
/// class, t₁, t₂, then the T − 2 distractors.
pub fn temporal_order(n: usize, seq_len: usize, rng: &mut Rng) -> Result<Dataset> {
    if seq_len < 10 {
        return Err(Error::Invalid(format!(
            "temporal order: seq_len {seq_len} must be >= 10 (two windows at 10-20% and 50-60%)"
        )));
    }
    let t = seq_len;
    let v = TEMPORAL_ORDER_SYMBOLS.len();
    let (w1, w2) = temporal_order_windows(t);
    let what = || format!("the temporal order problem (n = {n}, seq_len = {t})");
    let mut x = crate::data::try_vec(&[n, t, v], what)?;
    let mut labels = crate::data::try_vec(&[n], what)?;
    let mut symbols: Vec<usize> = crate::data::try_vec(&[t], what)?;
    symbols.resize(t, 0);
    for _ in 0..n {
        let class = rng.below(4);
        let t1 = w1.start() + rng.below(w1.end() - w1.start() + 1);
        let t2 = w2.start() + rng.below(w2.end() - w2.start() + 1);
        symbols[0] = E;
        symbols[t - 1] = B;
        for s in &mut symbols[1..t - 1] {
            *s = FIRST_DISTRACTOR + rng.below(4);
        }
        symbols[t1] = X + class / 2;
        symbols[t2] = X + class % 2;
        for &s in &symbols {
            push_one_hot(&mut x, s, v);
        }
        labels.push(class);
    }
    Dataset::classification("temporal_order", x, t * v, labels, 4)?
        .with_class_names(TEMPORAL_ORDER_CLASSES.map(String::from).to_vec())?
        .with_seq_len(t)
}
