//! Gathering a mini-batch into reusable tensors, with the target layout each loss expects.

use crate::data::{Dataset, Targets};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::loss::Loss;
use crate::tensor::Tensor;

/// Width of the network output this data and loss need: classes for cross-entropy, 1 for
/// binary BCE (else one output per class), the one-hot width or target width for MSE.
pub fn output_width(data: &Dataset, loss: Loss) -> usize {
    match (data.targets(), loss) {
        (Targets::Classes { num_classes, .. }, Loss::BceWithLogits) if *num_classes == 2 => 1,
        (Targets::Classes { num_classes, .. }, _) => *num_classes,
        (Targets::Regression { k, .. }, _) => *k,
    }
}

/// Checks that the loss can be used with these targets and this output width.
pub fn check_targets(data: &Dataset, loss: Loss, width: usize) -> Result<()> {
    let bad = |field: &str, m: String| Err(Error::config_field(field, m));
    match (data.targets(), loss) {
        (Targets::Regression { .. }, Loss::CrossEntropy | Loss::BceWithLogits) => bad(
            "training.loss",
            format!(
                "training.loss = \"{}\" needs class labels, but the data has real-valued targets \
             (use loss = \"mse\")",
                loss.name()
            ),
        ),
        (Targets::Classes { num_classes, .. }, Loss::CrossEntropy) if width < *num_classes => bad(
            "model.output",
            format!("model.output = {width} but the data has {num_classes} classes"),
        ),
        (Targets::Classes { num_classes, .. }, Loss::BceWithLogits | Loss::Mse)
            if width != output_width(data, loss) =>
        {
            bad(
                "model.output",
                format!(
                    "model.output = {width} does not fit {} with {num_classes} classes (use {})",
                    loss.name(),
                    output_width(data, loss)
                ),
            )
        }
        (Targets::Regression { k, .. }, Loss::Mse) if width != *k => bad(
            "model.output",
            format!("model.output = {width} but the data has {k} target columns"),
        ),
        _ => Ok(()),
    }
}

/// Writes rows `idx` of `data` into `x` `[b, d]` and the targets into `y`: class indices `[b]`
/// (cross-entropy), 0/1 `[b, 1]` (binary BCE) or one-hot `[b, K]` (BCE, MSE on classes), real
/// targets `[b, k]` (MSE on regression data). Reuses the tensors' allocations.
pub fn gather<T: Float>(
    data: &Dataset,
    idx: &[usize],
    loss: Loss,
    x: &mut Tensor<T>,
    y: &mut Tensor<T>,
) {
    let (b, d) = (idx.len(), data.dim());
    x.resize(&[b, d]);
    for (row, &i) in x.data_mut().chunks_exact_mut(d).zip(idx) {
        for (v, s) in row.iter_mut().zip(data.row(i)) {
            *v = T::from_f64(*s);
        }
    }
    match data.targets() {
        Targets::Classes {
            labels,
            num_classes,
            ..
        } => {
            // One label per sample, or `steps` per sample (rows of the output are then
            // (sample, step) pairs, sample-major).
            let steps = data.target_steps();
            let rows = || {
                idx.iter()
                    .flat_map(move |&i| labels[i * steps..(i + 1) * steps].iter().copied())
            };
            match loss {
                Loss::CrossEntropy => {
                    y.resize(&[b * steps]);
                    for (v, l) in y.data_mut().iter_mut().zip(rows()) {
                        *v = T::from_f64(l as f64);
                    }
                }
                Loss::BceWithLogits if *num_classes == 2 => {
                    y.resize(&[b * steps, 1]);
                    for (v, l) in y.data_mut().iter_mut().zip(rows()) {
                        *v = T::from_f64(l as f64);
                    }
                }
                _ => {
                    let k = *num_classes;
                    y.resize(&[b * steps, k]);
                    y.fill(T::ZERO);
                    for (row, l) in y.data_mut().chunks_exact_mut(k).zip(rows()) {
                        row[l] = T::ONE;
                    }
                }
            }
        }
        Targets::Regression { values, k } => {
            y.resize(&[b, *k]);
            for (row, &i) in y.data_mut().chunks_exact_mut(*k).zip(idx) {
                for (v, s) in row.iter_mut().zip(&values[i * k..(i + 1) * k]) {
                    *v = T::from_f64(*s);
                }
            }
        }
    }
}

/// Number of correct predictions in a batch: argmax for cross-entropy (and one-hot targets),
/// sign of the logit for binary BCE. For a sequence-labelling set the output has one row per
/// (sample, step) and every step counts. For regression, with a `tolerance`, a sample is
/// correct when every output is within it of its target (|ŷ − y| < tolerance, e.g. 0.04 for
/// the adding problem); without one, None.
pub fn correct<T: Float>(
    out: &Tensor<T>,
    data: &Dataset,
    idx: &[usize],
    tolerance: Option<f64>,
) -> Option<usize> {
    if let Targets::Regression { values, k } = data.targets() {
        let tol = tolerance?;
        let n = out
            .data()
            .chunks_exact(*k)
            .zip(idx)
            .filter(|(row, &i)| {
                row.iter()
                    .zip(&values[i * k..(i + 1) * k])
                    .all(|(p, y)| (p.to_f64() - y).abs() < tol)
            })
            .count();
        return Some(n);
    }
    let labels = data.labels()?;
    let steps = data.target_steps();
    let k = out.cols();
    let mut n = 0;
    let targets = idx
        .iter()
        .flat_map(|&i| labels[i * steps..(i + 1) * steps].iter());
    for (row, &label) in out.data().chunks_exact(k).zip(targets) {
        let pred = if k == 1 {
            usize::from(row[0] > T::ZERO)
        } else {
            let mut best = 0;
            for j in 1..k {
                if row[j] > row[best] {
                    best = j;
                }
            }
            best
        };
        if pred == label {
            n += 1;
        }
    }
    Some(n)
}
