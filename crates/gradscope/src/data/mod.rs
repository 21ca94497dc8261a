//! Data sets: the [`Dataset`] type, splitting, standardization, mini-batches, and the sources
//! that make or read one.
//!
//! - [`synthetic`]: seeded 2-D toy problems (spiral, circles, xor, gaussians, moons).
//! - [`csv`]: a CSV loader with header detection, label column choice and line-numbered errors.
//! - [`idx`]: the IDX format of MNIST and Fashion-MNIST, raw or gzip.
//! - [`digits`]: the 8×8 handwritten digits (1797 samples), embedded, no download.
//!
//! Features are always stored as `f64`, row-major `[n, d]`; [`Dataset::to_tensors`] gathers a
//! batch in the engine's precision. All randomness (synthetic sets, [`Dataset::split`],
//! [`BatchIter`]) comes from a caller-supplied [`Rng`].

mod batch;
pub mod csv;
mod digits;
pub mod idx;
pub mod sequence;
mod standardize;
pub mod synthetic;

pub use batch::{epoch_batches, BatchIter};
pub use digits::digits;
pub use standardize::Standardizer;

use crate::error::{Error, Result};
use crate::float::Float;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// The labels of a data set.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Classification: one class index in `0..num_classes` per sample.
    Classes {
        /// Class index of each sample.
        labels: Vec<usize>,
        /// Number of classes (every label is below it).
        num_classes: usize,
        /// Original label text of class `i` at index `i` (empty when the classes have no names,
        /// as for the synthetic sets).
        class_names: Vec<String>,
    },
    /// Regression: `k` real targets per sample, row-major `[n, k]`.
    Regression {
        /// The targets, row-major `[n, k]`.
        values: Vec<f64>,
        /// Targets per sample.
        k: usize,
    },
}

/// A labelled data set held in memory: features row-major `[n, d]` as `f64`, plus [`Targets`].
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    name: String,
    x: Vec<f64>,
    n: usize,
    d: usize,
    targets: Targets,
    feature_names: Option<Vec<String>>,
    seq_len: Option<usize>,
    target_steps: usize,
}

impl Dataset {
    /// A classification set: `x` row-major `[n, d]` with `n = labels.len()`, every label below
    /// `num_classes`.
    pub fn classification(
        name: impl Into<String>,
        x: Vec<f64>,
        d: usize,
        labels: Vec<usize>,
        num_classes: usize,
    ) -> Result<Self> {
        Dataset::labelled(name.into(), x, d, labels, 1, num_classes)
    }

    /// A classification set with `steps` labels per sample (1 = one per sample).
    fn labelled(
        name: String,
        x: Vec<f64>,
        d: usize,
        labels: Vec<usize>,
        steps: usize,
        num_classes: usize,
    ) -> Result<Self> {
        if steps == 0 || !labels.len().is_multiple_of(steps) {
            return Err(Error::Data(format!(
                "{} labels do not fill rows of {steps} time steps",
                labels.len()
            )));
        }
        let n = labels.len() / steps;
        check_x(&x, n, d)?;
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= num_classes) {
            let at = if steps == 1 {
                format!("sample {i}")
            } else {
                format!("sample {} step {}", i / steps, i % steps)
            };
            return Err(Error::Data(format!(
                "{at} has label {l}, but there are only {num_classes} classes"
            )));
        }
        Ok(Dataset {
            name,
            x,
            n,
            d,
            targets: Targets::Classes {
                labels,
                num_classes,
                class_names: Vec::new(),
            },
            feature_names: None,
            seq_len: None,
            target_steps: steps,
        })
    }

    /// A regression set: `x` row-major `[n, d]`, `y` row-major `[n, k]`.
    pub fn regression(
        name: impl Into<String>,
        x: Vec<f64>,
        d: usize,
        y: Vec<f64>,
        k: usize,
    ) -> Result<Self> {
        if k == 0 {
            return Err(Error::Data("regression needs at least one target".into()));
        }
        if !y.len().is_multiple_of(k) {
            return Err(Error::Data(format!(
                "{} target values do not fill rows of {k}",
                y.len()
            )));
        }
        let n = y.len() / k;
        check_x(&x, n, d)?;
        Ok(Dataset {
            name: name.into(),
            x,
            n,
            d,
            targets: Targets::Regression { values: y, k },
            feature_names: None,
            seq_len: None,
            target_steps: 1,
        })
    }

    /// Sets the feature names (one per feature).
    pub fn with_feature_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() != self.d {
            return Err(Error::Data(format!(
                "{} feature names for {} features",
                names.len(),
                self.d
            )));
        }
        self.feature_names = Some(names);
        Ok(self)
    }

    /// Sets the class names (one per class); an error for a regression set.
    pub fn with_class_names(mut self, names: Vec<String>) -> Result<Self> {
        match &mut self.targets {
            Targets::Classes {
                num_classes,
                class_names,
                ..
            } => {
                if names.len() != *num_classes {
                    return Err(Error::Data(format!(
                        "{} class names for {num_classes} classes",
                        names.len()
                    )));
                }
                *class_names = names;
                Ok(self)
            }
            Targets::Regression { .. } => Err(Error::Data(
                "class names given for a regression data set".into(),
            )),
        }
    }

    /// Renames the data set.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Marks every row as a sequence of `steps` time steps of `d / steps` features each,
    /// time-major within the row: step t is `row[t·f..(t+1)·f]`. Recurrent models read rows
    /// this way; `d` must be a multiple of `steps`.
    pub fn with_seq_len(mut self, steps: usize) -> Result<Self> {
        if steps == 0 || !self.d.is_multiple_of(steps) {
            return Err(Error::Data(format!(
                "{} features cannot be cut into {steps} time steps",
                self.d
            )));
        }
        self.seq_len = Some(steps);
        Ok(self)
    }

    /// Time steps per row, when the rows are sequences ([`Dataset::with_seq_len`]).
    pub fn seq_len(&self) -> Option<usize> {
        self.seq_len
    }

    /// Features per time step: `d / seq_len` for a sequence set, else `d`.
    pub fn step_dim(&self) -> usize {
        self.seq_len.map_or(self.d, |t| self.d / t)
    }

    /// A sequence-labelling set (many-to-many, e.g. next-character prediction): `x` row-major
    /// `[n, steps·f]` (time-major within a row), `labels` `[n, steps]`: one class per sample
    /// and time step. [`Dataset::labels`] then holds `n·steps` entries, sample i's at
    /// `[i·steps, (i+1)·steps)`.
    pub fn sequence_classification(
        name: impl Into<String>,
        x: Vec<f64>,
        d: usize,
        labels: Vec<usize>,
        steps: usize,
        num_classes: usize,
    ) -> Result<Self> {
        Dataset::labelled(name.into(), x, d, labels, steps, num_classes)?.with_seq_len(steps)
    }

    /// Labelled time steps per sample: 1, or `steps` for a
    /// [`Dataset::sequence_classification`] set.
    pub fn target_steps(&self) -> usize {
        self.target_steps
    }

    /// The data set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of samples n.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when there is no sample.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Features per sample d.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// All features, row-major `[n, d]`.
    pub fn x(&self) -> &[f64] {
        &self.x
    }

    /// All features, row-major `[n, d]`, mutable (for in-place preprocessing).
    pub fn x_mut(&mut self) -> &mut [f64] {
        &mut self.x
    }

    /// The features of sample `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// The labels.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Class indices, or `None` for a regression set.
    pub fn labels(&self) -> Option<&[usize]> {
        match &self.targets {
            Targets::Classes { labels, .. } => Some(labels),
            Targets::Regression { .. } => None,
        }
    }

    /// Number of classes, or `None` for a regression set.
    pub fn num_classes(&self) -> Option<usize> {
        match &self.targets {
            Targets::Classes { num_classes, .. } => Some(*num_classes),
            Targets::Regression { .. } => None,
        }
    }

    /// Class names (index = class), empty when unnamed or for a regression set.
    pub fn class_names(&self) -> &[String] {
        match &self.targets {
            Targets::Classes { class_names, .. } => class_names,
            Targets::Regression { .. } => &[],
        }
    }

    /// Number of samples of each class (empty for a regression set).
    pub fn class_counts(&self) -> Vec<usize> {
        match &self.targets {
            Targets::Classes {
                labels,
                num_classes,
                ..
            } => {
                let mut c = vec![0; *num_classes];
                for &l in labels {
                    c[l] += 1;
                }
                c
            }
            Targets::Regression { .. } => Vec::new(),
        }
    }

    /// Feature names, when known.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }

    /// Width of the `y` tensor of [`Dataset::to_tensors`]: 1 for classes (`steps` for a
    /// sequence-labelling set), `k` for regression.
    pub fn target_dim(&self) -> usize {
        match &self.targets {
            Targets::Classes { .. } => self.target_steps,
            Targets::Regression { k, .. } => *k,
        }
    }

    /// Gathers the samples `indices` (in that order) into a batch `(x, y)`.
    ///
    /// `x` has shape `[b, d]`. `y` has shape `[b, 1]` holding the class index as a float
    /// (0.0, 1.0, …) for a classification set, or `[b, k]` holding the targets for a regression
    /// set, so that `y` is always a batch of `b` rows like `x`. [`Dataset::one_hot`] gives
    /// `[b, num_classes]` instead.
    ///
    /// # Panics
    /// If an index is `>= len()`.
    pub fn to_tensors<T: Float>(&self, indices: &[usize]) -> (Tensor<T>, Tensor<T>) {
        let b = indices.len();
        let mut x = Vec::with_capacity(b * self.d);
        for &i in indices {
            assert!(i < self.n, "index {i} out of range for {} samples", self.n);
            x.extend(self.row(i).iter().map(|&v| T::from_f64(v)));
        }
        let (y, k) = match &self.targets {
            Targets::Classes { labels, .. } => {
                let s = self.target_steps;
                (
                    indices
                        .iter()
                        .flat_map(|&i| labels[i * s..(i + 1) * s].iter())
                        .map(|&l| T::from_f64(l as f64))
                        .collect::<Vec<T>>(),
                    s,
                )
            }
            Targets::Regression { values, k } => {
                let mut y = Vec::with_capacity(b * k);
                for &i in indices {
                    y.extend(values[i * k..(i + 1) * k].iter().map(|&v| T::from_f64(v)));
                }
                (y, *k)
            }
        };
        let x = Tensor::from_vec(&[b, self.d], x).expect("batch features fit their shape");
        let y = Tensor::from_vec(&[b, k], y).expect("batch targets fit their shape");
        (x, y)
    }

    /// The whole set as one batch, `to_tensors(0..n)`.
    pub fn all_tensors<T: Float>(&self) -> (Tensor<T>, Tensor<T>) {
        let all: Vec<usize> = (0..self.n).collect();
        self.to_tensors(&all)
    }

    /// One-hot targets `[b, num_classes]` of the samples `indices`; an error for a regression
    /// set.
    ///
    /// # Panics
    /// If an index is `>= len()`.
    pub fn one_hot<T: Float>(&self, indices: &[usize]) -> Result<Tensor<T>> {
        let Targets::Classes {
            labels,
            num_classes,
            ..
        } = &self.targets
        else {
            return Err(Error::Data(format!(
                "`{}` is a regression data set: no one-hot targets",
                self.name
            )));
        };
        if self.target_steps != 1 {
            return Err(Error::Data(format!(
                "`{}` labels every time step: no one-hot targets per sample",
                self.name
            )));
        }
        let mut y = Tensor::zeros(&[indices.len(), *num_classes]);
        for (r, &i) in indices.iter().enumerate() {
            y.row_mut(r)[labels[i]] = T::ONE;
        }
        Ok(y)
    }

    /// A new data set of the samples `indices` (in that order; repeats allowed), keeping names,
    /// class count and class names.
    ///
    /// # Panics
    /// If an index is `>= len()`.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut x = Vec::with_capacity(indices.len() * self.d);
        for &i in indices {
            assert!(i < self.n, "index {i} out of range for {} samples", self.n);
            x.extend_from_slice(self.row(i));
        }
        let targets = match &self.targets {
            Targets::Classes {
                labels,
                num_classes,
                class_names,
            } => Targets::Classes {
                labels: indices
                    .iter()
                    .flat_map(|&i| {
                        let s = self.target_steps;
                        labels[i * s..(i + 1) * s].iter().copied()
                    })
                    .collect(),
                num_classes: *num_classes,
                class_names: class_names.clone(),
            },
            Targets::Regression { values, k } => {
                let mut y = Vec::with_capacity(indices.len() * k);
                for &i in indices {
                    y.extend_from_slice(&values[i * k..(i + 1) * k]);
                }
                Targets::Regression { values: y, k: *k }
            }
        };
        Dataset {
            name: self.name.clone(),
            x,
            n: indices.len(),
            d: self.d,
            targets,
            feature_names: self.feature_names.clone(),
            seq_len: self.seq_len,
            target_steps: self.target_steps,
        }
    }

    /// Shuffles the samples with `rng` and cuts them into train, validation and test sets of
    /// the given fractions (see [`split_indices`]); the parts are named `NAME/train`,
    /// `NAME/val` and `NAME/test`.
    pub fn split(
        &self,
        fractions: (f64, f64, f64),
        rng: &mut Rng,
    ) -> Result<(Dataset, Dataset, Dataset)> {
        let (tr, va, te) = split_indices(self.n, fractions, rng)?;
        let part =
            |idx: &[usize], what: &str| self.subset(idx).with_name(format!("{}/{what}", self.name));
        Ok((part(&tr, "train"), part(&va, "val"), part(&te, "test")))
    }
}

/// A random partition of `0..n` into three disjoint index lists of sizes
/// `round(n·train)`, `round(n·val)` and the rest, after a shuffle with `rng`.
///
/// The fractions must be non-negative and sum to 1 (±1e-6); `(0.8, 0.2, 0.0)` gives an empty
/// test set.
pub fn split_indices(
    n: usize,
    fractions: (f64, f64, f64),
    rng: &mut Rng,
) -> Result<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    let (a, b, c) = fractions;
    if [a, b, c].iter().any(|f| !(f.is_finite() && *f >= 0.0)) || ((a + b + c) - 1.0).abs() > 1e-6 {
        return Err(Error::Invalid(format!(
            "split fractions ({a}, {b}, {c}) must be non-negative and sum to 1"
        )));
    }
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let n_train = ((n as f64) * a).round() as usize;
    let n_train = n_train.min(n);
    let n_val = (((n as f64) * b).round() as usize).min(n - n_train);
    let n_test = if c == 0.0 { 0 } else { n - n_train - n_val };
    // With c = 0 any rounding remainder goes to the training set.
    let n_train = n - n_val - n_test;
    let test = order.split_off(n_train + n_val);
    let val = order.split_off(n_train);
    Ok((order, val, test))
}

/// The samples `data.limit` keeps of `n`: `None` when `limit >= n` (keep all, `rng` unused),
/// else the first `limit` of a shuffle of `0..n` with `rng`, sorted. Loaders that stream
/// ([`idx::load_idx_pair_limited`]) call it with the count from a file header to convert only
/// those samples; the index list is reserved with `try_reserve`, so an absurd count is an
/// error, not an abort.
pub fn limit_indices(n: usize, limit: usize, rng: &mut Rng) -> Result<Option<Vec<usize>>> {
    if limit >= n {
        return Ok(None);
    }
    let mut idx: Vec<usize> = Vec::new();
    idx.try_reserve_exact(n).map_err(|_| {
        Error::Data(format!(
            "cannot allocate memory to choose data.limit = {limit} of {n} samples"
        ))
    })?;
    idx.extend(0..n);
    rng.shuffle(&mut idx);
    idx.truncate(limit);
    idx.sort_unstable();
    Ok(Some(idx))
}

/// An empty `Vec` with room for the product of `dims` elements, or an error naming `what`
/// when the product overflows or that much memory cannot be had (`Vec::with_capacity` would
/// panic or abort the process instead).
pub(crate) fn try_vec<T>(dims: &[usize], what: impl FnOnce() -> String) -> Result<Vec<T>> {
    let mut v = Vec::new();
    let len = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if len.is_none_or(|len| v.try_reserve_exact(len).is_err()) {
        let shape: Vec<String> = dims.iter().map(usize::to_string).collect();
        return Err(Error::Data(format!(
            "cannot allocate memory for {}: {} values of {} bytes",
            what(),
            shape.join(" × "),
            std::mem::size_of::<T>()
        )));
    }
    Ok(v)
}

fn check_x(x: &[f64], n: usize, d: usize) -> Result<()> {
    if x.len() != n * d {
        return Err(Error::Data(format!(
            "{} feature values for {n} samples of {d} features (need {})",
            x.len(),
            n * d
        )));
    }
    Ok(())
}
