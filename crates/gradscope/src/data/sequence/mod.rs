//! Sequence data sets for recurrent networks: built-in seeded tasks, character-level language
//! modelling on text, and time-series classification files.
//!
//! Every set here marks its rows as sequences ([`Dataset::seq_len`]): a row of `d = T·f`
//! features is `T` time steps of `f` features, time-major (step `t` is `row[t·f..(t+1)·f]`).
//! A set is either **many-to-one** (one target per sample: [`Dataset::classification`] or
//! [`Dataset::regression`], predicted from the last step) or **many-to-many** (one class per
//! sample and step: [`Dataset::sequence_classification`], [`Dataset::target_steps`] = `T`).
//!
//! | task | call | steps × features | targets |
//! | --- | --- | --- | --- |
//! | adding problem | [`adding_problem`] | `T` × 2 | regression, k = 1 |
//! | temporal order | [`temporal_order`] | `T` × 8 (one-hot) | 4 classes |
//! | copy memory | [`copy_memory`] | `delay + 20` × 10 (one-hot) | 9 classes at every step |
//! | character LM | [`char_lm`] | `T` × V (one-hot) | V classes at every step |
//! | `.ts` files | [`ts::load_ts`] | from the file | header's classes (or a real target) |
//! | CSV sequences | [`load_csv_sequences`] | `T` × (columns / T) | as the CSV loader |
//!
//! The tasks draw from a caller-seeded [`Rng`](crate::rng::Rng): the same seed gives the same
//! data. One-hot inputs are stored as `f64` like every feature, so a set takes
//! `n · T · f · 8` bytes.

mod adding;
mod copy_memory;
mod csv_seq;
mod temporal_order;
mod text;
pub mod ts;
mod vocab;

pub use adding::{
    adding_problem, adding_solved, adding_solved_fraction, ADDING_BASELINE_MSE, ADDING_TOLERANCE,
};
pub use copy_memory::{
    copy_memory, copy_memory_baseline, COPY_BLANK, COPY_CLASSES, COPY_CLASS_NAMES, COPY_DELIMITER,
    COPY_INPUT_DIM, COPY_INPUT_NAMES, COPY_LENGTH, COPY_SYMBOLS,
};
pub use csv_seq::load_csv_sequences;
pub use temporal_order::{
    temporal_order, temporal_order_windows, TEMPORAL_ORDER_CLASSES, TEMPORAL_ORDER_SYMBOLS,
};
pub use text::{
    char_lm, char_lm_with_vocab, load_text, load_text_prefix, shakespeare_sample,
    SHAKESPEARE_SAMPLE_NAME,
};
pub use vocab::CharVocab;

use super::Dataset;

/// Appends a one-hot vector of width `width` with a 1 at `index` to `x`.
fn push_one_hot(x: &mut Vec<f64>, index: usize, width: usize) {
    debug_assert!(index < width, "one-hot index {index} >= width {width}");
    let start = x.len();
    x.resize(start + width, 0.0);
    x[start + index] = 1.0;
}
