//! Sampling a sequence of symbols from a trained many-to-many recurrent model (e.g. a
//! character-level language model): feed the prime, then repeatedly draw the next symbol
//! from softmax(logits / temperature) and feed it back, one step at a time with the
//! recurrent state carried (no recomputation of the prefix).

use std::ops::ControlFlow;

use crate::error::{Error, Result};
use crate::float::Float;
use crate::model::Model;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// How to draw the next symbol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// Softmax temperature τ: p_i ∝ exp(z_i/τ); τ → 0 is greedy (argmax), 1 samples the
    /// model's distribution, > 1 flattens it.
    pub temperature: f64,
}

/// p_i = exp((z_i − max z)/τ) / Σ_j exp((z_j − max z)/τ); τ = 0 puts all mass on the first
/// argmax.
pub fn softmax_with_temperature(logits: &[f64], temperature: f64) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if temperature <= 0.0 {
        let best = logits.iter().position(|&z| z == max).unwrap_or(0);
        return (0..logits.len()).map(|i| f64::from(i == best)).collect();
    }
    let e: Vec<f64> = logits
        .iter()
        .map(|z| ((z - max) / temperature).exp())
        .collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Draws an index from the probabilities `p` (summing to 1) with `rng`.
pub fn draw(p: &[f64], rng: &mut Rng) -> usize {
    let u = rng.uniform01();
    let mut acc = 0.0;
    for (i, &pi) in p.iter().enumerate() {
        acc += pi;
        if u < acc {
            return i;
        }
    }
    p.len().saturating_sub(1)
}

/// Continues `prime` (symbol indices, at least one) by `length` symbols drawn from `model`, a
/// recurrent model whose input at each step is the one-hot code of the previous symbol
/// (`vocab` wide) and whose output at each step is `vocab` logits. Returns only the new
/// symbols. Randomness comes from `rng` (same seed, same text). For long outputs use
/// [`generate_each`], which holds none of them.
pub fn generate<T: Float>(
    model: &mut Model<T>,
    vocab: usize,
    prime: &[usize],
    length: usize,
    sampling: Sampling,
    rng: &mut Rng,
) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    generate_each(model, vocab, prime, length, sampling, rng, |s| {
        out.push(s);
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

/// [`generate`], handing each new symbol to `each` as soon as it is drawn instead of
/// collecting them (memory does not grow with `length`); `each` returns
/// [`ControlFlow::Break`] to stop early. Returns the number of symbols generated.
pub fn generate_each<T: Float>(
    model: &mut Model<T>,
    vocab: usize,
    prime: &[usize],
    length: usize,
    sampling: Sampling,
    rng: &mut Rng,
    mut each: impl FnMut(usize) -> ControlFlow<()>,
) -> Result<usize> {
    let Some(rec) = model.recurrent_layers().first().copied() else {
        return Err(Error::Invalid(
            "text generation needs a recurrent model ([model.recurrent])".into(),
        ));
    };
    if rec.input_size() != vocab {
        return Err(Error::Invalid(format!(
            "the model reads {} features per step but the vocabulary has {vocab} symbols",
            rec.input_size()
        )));
    }
    if prime.is_empty() {
        return Err(Error::Invalid("the prime needs at least one symbol".into()));
    }
    if let Some(&bad) = prime.iter().find(|&&s| s >= vocab) {
        return Err(Error::Invalid(format!(
            "prime symbol {bad} is outside the vocabulary of {vocab}"
        )));
    }
    model.set_training(false);
    let mut x = Tensor::<T>::zeros(&[1, prime.len() * vocab]);
    for (t, &s) in prime.iter().enumerate() {
        x.data_mut()[t * vocab + s] = T::ONE;
    }
    let mut states = Vec::new();
    for k in 0..length {
        let logits = model.forward_stateful(&x, &mut states);
        if logits.cols() != vocab {
            return Err(Error::Invalid(format!(
                "the model predicts {} classes but the vocabulary has {vocab} symbols",
                logits.cols()
            )));
        }
        // The last row: the prediction after the last step fed (every row of a
        // many-to-many model's output is one step).
        let z: Vec<f64> = logits.data()[(logits.rows() - 1) * vocab..]
            .iter()
            .map(|v| v.to_f64())
            .collect();
        let next = draw(&softmax_with_temperature(&z, sampling.temperature), rng);
        if each(next).is_break() {
            return Ok(k + 1);
        }
        x = Tensor::zeros(&[1, vocab]);
        x.data_mut()[next] = T::ONE;
    }
    Ok(length)
}
