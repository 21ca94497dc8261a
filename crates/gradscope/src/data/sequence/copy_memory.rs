//! The copy memory problem (Arjovsky, Shah & Bengio 2016, after Hochreiter & Schmidhuber 1997).

use super::{push_one_hot, Dataset};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Symbols to remember in [`copy_memory`]: the first 10 steps.
pub const COPY_LENGTH: usize = 10;
/// Size of the alphabet the symbols to copy are drawn from (symbols 1..=8).
pub const COPY_SYMBOLS: usize = 8;
/// Input symbol 0: blank.
pub const COPY_BLANK: usize = 0;
/// Input symbol 9: the delimiter that asks for the copy.
pub const COPY_DELIMITER: usize = COPY_SYMBOLS + 1;
/// Width of the one-hot input: blank, the 8 symbols, the delimiter.
pub const COPY_INPUT_DIM: usize = COPY_SYMBOLS + 2;
/// Output classes: blank and the 8 symbols (the delimiter is never a target).
pub const COPY_CLASSES: usize = COPY_SYMBOLS + 1;
/// Names of the input symbols, in one-hot order: `_` (blank), `1`..`8`, `:` (delimiter).
pub const COPY_INPUT_NAMES: [&str; COPY_INPUT_DIM] =
    ["_", "1", "2", "3", "4", "5", "6", "7", "8", ":"];
/// Class names of [`copy_memory`]'s targets: `_` (blank), `1`..`8`.
pub const COPY_CLASS_NAMES: [&str; COPY_CLASSES] = ["_", "1", "2", "3", "4", "5", "6", "7", "8"];

/// The copy memory problem with a delay of `delay` = T: `n` sequences of T + 20 one-hot steps
/// ([`COPY_INPUT_DIM`] = 10 features per step), labelled at every step (many-to-many).
///
/// Input: 10 symbols drawn uniformly from `1..=8` (steps 0..10), then T − 1 blanks, the
/// delimiter `:` at step T + 9, then 10 blanks. Target: T + 10 blanks, then the 10 symbols
/// at the last 10 steps, T + 10..T + 20. Classes 0 = blank, 1..=8 = the symbols
/// ([`COPY_CLASS_NAMES`]). The loss is the cross-entropy averaged over all T + 20 steps;
/// [`copy_memory_baseline`] is that of the memoryless strategy. T ≥ 1. Name `copy_memory`.
/// Draws per sample: the 10 symbols.
pub fn copy_memory(n: usize, delay: usize, rng: &mut Rng) -> Result<Dataset> {
    if delay == 0 {
        return Err(Error::Invalid("copy memory: delay must be >= 1".into()));
    }
    let steps = delay.saturating_add(2 * COPY_LENGTH);
    let what = || format!("the copy memory problem (n = {n}, delay = {delay})");
    let mut x = crate::data::try_vec(&[n, steps, COPY_INPUT_DIM], what)?;
    let mut labels = crate::data::try_vec(&[n, steps], what)?;
    let mut symbols = [0usize; COPY_LENGTH];
    for _ in 0..n {
        for s in &mut symbols {
            *s = 1 + rng.below(COPY_SYMBOLS);
        }
        for &s in &symbols {
            push_one_hot(&mut x, s, COPY_INPUT_DIM);
        }
        for t in COPY_LENGTH..steps {
            let input = if t == delay + COPY_LENGTH - 1 {
                COPY_DELIMITER
            } else {
                COPY_BLANK
            };
            push_one_hot(&mut x, input, COPY_INPUT_DIM);
        }
        labels.extend(std::iter::repeat_n(COPY_BLANK, delay + COPY_LENGTH));
        labels.extend_from_slice(&symbols);
    }
    Dataset::sequence_classification(
        "copy_memory",
        x,
        steps * COPY_INPUT_DIM,
        labels,
        steps,
        COPY_CLASSES,
    )?
    .with_class_names(COPY_CLASS_NAMES.map(String::from).to_vec())
}

/// The mean per-step cross-entropy (nats) of the memoryless strategy on [`copy_memory`]:
/// predict blank for T + 10 steps, then a uniform guess over the 8 symbols,
/// `10·ln 8 / (T + 20)`. A model that beats it has carried information across the delay.
pub fn copy_memory_baseline(delay: usize) -> f64 {
    COPY_LENGTH as f64 * (COPY_SYMBOLS as f64).ln() / (delay + 2 * COPY_LENGTH) as f64
}
