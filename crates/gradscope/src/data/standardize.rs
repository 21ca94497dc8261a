//! Per-feature standardization fitted on a training set.

use serde::{Deserialize, Serialize};

use super::Dataset;
use crate::error::{Error, Result};
use crate::float::Float;
use crate::tensor::Tensor;

/// Per-feature affine map x ↦ (x − mean) / std, fitted on the training split and then applied
/// unchanged to every split (and at inference).
///
/// `std` is the population standard deviation (divide by n), so the fitted set comes out with
/// mean 0 and variance 1 exactly; a feature that is constant on the training set (std 0, or
/// below 1e-12·max(1, |mean|)) gets std 1, i.e. is only centred. Serializable, so a checkpoint
/// can carry it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Per-feature mean.
    pub mean: Vec<f64>,
    /// Per-feature standard deviation (1 where the feature was constant).
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Fits the per-feature mean and standard deviation of `data`.
    pub fn fit(data: &Dataset) -> Standardizer {
        Standardizer::fit_rows(data.x(), data.dim())
    }

    /// Fits on raw row-major `[n, d]` features.
    ///
    /// # Panics
    /// If `d` is 0 while `x` is not empty, or `x.len()` is not a multiple of `d`.
    pub fn fit_rows(x: &[f64], d: usize) -> Standardizer {
        if d == 0 {
            assert!(x.is_empty(), "features of width 0 with values");
            return Standardizer {
                mean: Vec::new(),
                std: Vec::new(),
            };
        }
        assert_eq!(x.len() % d, 0, "{} values do not fill rows of {d}", x.len());
        let n = x.len() / d;
        let mut mean = vec![0.0; d];
        let mut var = vec![0.0; d];
        if n > 0 {
            for row in x.chunks_exact(d) {
                for (m, &v) in mean.iter_mut().zip(row) {
                    *m += v;
                }
            }
            mean.iter_mut().for_each(|m| *m /= n as f64);
            for row in x.chunks_exact(d) {
                for ((s, &m), &v) in var.iter_mut().zip(&mean).zip(row) {
                    *s += (v - m) * (v - m);
                }
            }
        }
        let std = var
            .iter()
            .zip(&mean)
            .map(|(&s, &m)| {
                let sd = if n > 0 { (s / n as f64).sqrt() } else { 0.0 };
                if sd.is_finite() && sd > 1e-12 * m.abs().max(1.0) {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        Standardizer { mean, std }
    }

    /// Number of features it was fitted on.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Standardizes one sample in place.
    ///
    /// # Panics
    /// If `row.len() != dim()`.
    pub fn apply_row(&self, row: &mut [f64]) {
        assert_eq!(row.len(), self.dim(), "row width vs standardizer width");
        for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
            *v = (*v - m) / s;
        }
    }

    /// Undoes [`Standardizer::apply_row`] on one sample.
    ///
    /// # Panics
    /// If `row.len() != dim()`.
    pub fn invert_row(&self, row: &mut [f64]) {
        assert_eq!(row.len(), self.dim(), "row width vs standardizer width");
        for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
            *v = *v * s + m;
        }
    }

    /// Standardizes a data set's features in place; an error if its width differs.
    pub fn transform_in_place(&self, data: &mut Dataset) -> Result<()> {
        self.check(data.dim(), data.name())?;
        let d = data.dim();
        if d > 0 {
            for row in data.x_mut().chunks_exact_mut(d) {
                self.apply_row(row);
            }
        }
        Ok(())
    }

    /// A standardized copy of a data set; an error if its width differs.
    pub fn transform(&self, data: &Dataset) -> Result<Dataset> {
        let mut out = data.clone();
        self.transform_in_place(&mut out)?;
        Ok(out)
    }

    /// Standardizes a batch tensor `[b, d]` in place; an error if its last dimension differs.
    pub fn transform_tensor<T: Float>(&self, x: &mut Tensor<T>) -> Result<()> {
        self.check(x.cols(), "tensor")?;
        let d = self.dim();
        if d > 0 {
            for row in x.data_mut().chunks_exact_mut(d) {
                for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                    *v = T::from_f64((v.to_f64() - m) / s);
                }
            }
        }
        Ok(())
    }

    fn check(&self, d: usize, what: &str) -> Result<()> {
        if d != self.dim() {
            return Err(Error::Data(format!(
                "standardizer fitted on {} features applied to `{what}` with {d}",
                self.dim()
            )));
        }
        Ok(())
    }
}
