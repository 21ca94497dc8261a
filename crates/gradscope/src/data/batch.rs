//! Mini-batch index lists for an epoch.

use crate::error::{Error, Result};
use crate::rng::Rng;

/// Cuts `0..n` into mini-batches of `batch_size` indices, epoch after epoch.
///
/// Each [`BatchIter::epoch`] starts from the identity order `0..n` and, when shuffling is on,
/// permutes it with the given [`Rng`], so an epoch's batches depend only on the generator's
/// state. `batch_size = n` (or larger) gives one full batch, `1` gives stochastic (per-sample)
/// steps; the last batch is kept even when it is shorter.
#[derive(Clone, Debug)]
pub struct BatchIter {
    order: Vec<usize>,
    batch_size: usize,
    shuffle: bool,
}

impl BatchIter {
    /// Batches of `batch_size` over `n` samples; `batch_size` 0 is an error, a size above `n`
    /// is taken as `n`.
    pub fn new(n: usize, batch_size: usize, shuffle: bool) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::Invalid("batch size must be at least 1".into()));
        }
        Ok(BatchIter {
            order: (0..n).collect(),
            batch_size: batch_size.min(n.max(1)),
            shuffle,
        })
    }

    /// Number of samples per epoch.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when there is no sample.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The effective batch size (at most `n`).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch, ⌈n / batch_size⌉.
    pub fn num_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// The batches of the next epoch, reshuffled with `rng` when shuffling is on (the
    /// generator is not touched otherwise).
    pub fn epoch(&mut self, rng: &mut Rng) -> std::slice::Chunks<'_, usize> {
        for (i, v) in self.order.iter_mut().enumerate() {
            *v = i;
        }
        if self.shuffle {
            rng.shuffle(&mut self.order);
        }
        self.order.chunks(self.batch_size)
    }
}

/// One shuffled epoch of `0..n` in batches of `batch_size` (the last one possibly shorter), as
/// owned lists.
pub fn epoch_batches(n: usize, batch_size: usize, rng: &mut Rng) -> Result<Vec<Vec<usize>>> {
    let mut it = BatchIter::new(n, batch_size, true)?;
    Ok(it.epoch(rng).map(<[usize]>::to_vec).collect())
}
