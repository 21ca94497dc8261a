//! A dense, row-major, owned tensor.

use crate::error::{Error, Result};
use crate::float::Float;
pub use crate::kernels::gemm::{MatMut, MatRef};

/// A dense row-major tensor of `T` with an arbitrary shape.
///
/// ```
/// use gradscope::Tensor;
///
/// let t = Tensor::<f64>::from_vec(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// assert_eq!((t.rows(), t.cols()), (2, 3));
/// assert_eq!(t.row(1), [4.0, 5.0, 6.0]);
/// assert!(Tensor::<f64>::from_vec(&[2, 2], vec![1.0]).is_err()); // a shape error
/// let t = t.reshape(&[3, 2])?;
/// assert_eq!(t.row(2), [5.0, 6.0]);
/// assert_eq!(t.cast::<f32>().data()[0], 1.0_f32);
/// # Ok::<(), gradscope::Error>(())
/// ```
///
/// Most of the engine treats a tensor as a matrix of `rows() = ∏ shape[..last]` rows and
/// `cols() = shape[last]` columns (a batch of row vectors). Buffers are reused across steps
/// with [`Tensor::resize`], which never shrinks the allocation.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor<T> {
    shape: Vec<usize>,
    data: Vec<T>,
}

impl<T: Float> Default for Tensor<T> {
    fn default() -> Self {
        Tensor {
            shape: vec![0, 0],
            data: Vec::new(),
        }
    }
}

impl<T: Float> Tensor<T> {
    /// A tensor of zeros with the given shape.
    pub fn zeros(shape: &[usize]) -> Self {
        let n = shape.iter().product();
        Tensor {
            shape: shape.to_vec(),
            data: vec![T::ZERO; n],
        }
    }

    /// A tensor filled with `value`.
    pub fn full(shape: &[usize], value: T) -> Self {
        let n = shape.iter().product();
        Tensor {
            shape: shape.to_vec(),
            data: vec![value; n],
        }
    }

    /// Wraps `data` (row-major) with `shape`; errors if the sizes disagree.
    pub fn from_vec(shape: &[usize], data: Vec<T>) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::Shape(format!(
                "shape {shape:?} needs {n} values, got {}",
                data.len()
            )));
        }
        Ok(Tensor {
            shape: shape.to_vec(),
            data,
        })
    }

    /// A 2-D tensor from rows of equal length.
    pub fn from_rows(rows: &[Vec<T>]) -> Result<Self> {
        let cols = rows.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, r) in rows.iter().enumerate() {
            if r.len() != cols {
                return Err(Error::Shape(format!(
                    "row {i} has {} values, row 0 has {cols}",
                    r.len()
                )));
            }
            data.extend_from_slice(r);
        }
        Tensor::from_vec(&[rows.len(), cols], data)
    }

    /// Converts every element from `f64`.
    pub fn from_f64_slice(shape: &[usize], values: &[f64]) -> Result<Self> {
        Tensor::from_vec(shape, values.iter().map(|&v| T::from_f64(v)).collect())
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor holds no element.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Size of the last dimension (1 for a scalar).
    pub fn cols(&self) -> usize {
        self.shape.last().copied().unwrap_or(1)
    }

    /// Product of all dimensions but the last.
    pub fn rows(&self) -> usize {
        match self.shape.len() {
            0 => 1,
            d => self.shape[..d - 1].iter().product(),
        }
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The elements in row-major order, mutable.
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// Consumes the tensor, returning its elements.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// Row `i` of the matrix view.
    pub fn row(&self, i: usize) -> &[T] {
        let c = self.cols();
        &self.data[i * c..(i + 1) * c]
    }

    /// Row `i` of the matrix view, mutable.
    pub fn row_mut(&mut self, i: usize) -> &mut [T] {
        let c = self.cols();
        &mut self.data[i * c..(i + 1) * c]
    }

    /// Reshapes in place, reusing the allocation; new elements are zero, old values are kept
    /// only where the length did not change.
    pub fn resize(&mut self, shape: &[usize]) {
        let n: usize = shape.iter().product();
        if self.shape.as_slice() != shape {
            self.shape.clear();
            self.shape.extend_from_slice(shape);
        }
        self.data.resize(n, T::ZERO);
    }

    /// Same data, new shape with the same number of elements.
    pub fn reshape(mut self, shape: &[usize]) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != self.data.len() {
            return Err(Error::Shape(format!(
                "cannot reshape {:?} ({} values) to {shape:?}",
                self.shape,
                self.data.len()
            )));
        }
        self.shape = shape.to_vec();
        Ok(self)
    }

    /// Sets every element to `value`.
    pub fn fill(&mut self, value: T) {
        self.data.iter_mut().for_each(|v| *v = value);
    }

    /// Copies another tensor's shape and values into this one, reusing the allocation.
    pub fn assign(&mut self, other: &Tensor<T>) {
        self.resize(&other.shape);
        self.data.copy_from_slice(&other.data);
    }

    /// The matrix view (rows × cols) for [`crate::kernels::gemm::gemm`].
    pub fn mat(&self) -> MatRef<'_, T> {
        MatRef::row_major(&self.data, self.rows(), self.cols())
    }

    /// The mutable matrix view (rows × cols) for [`crate::kernels::gemm::gemm`].
    pub fn mat_mut(&mut self) -> MatMut<'_, T> {
        let (r, c) = (self.rows(), self.cols());
        MatMut::row_major(&mut self.data, r, c)
    }

    /// Converts to another precision.
    pub fn cast<U: Float>(&self) -> Tensor<U> {
        Tensor {
            shape: self.shape.clone(),
            data: self.data.iter().map(|v| U::from_f64(v.to_f64())).collect(),
        }
    }

    /// The values as `f64`.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        self.data.iter().map(|v| v.to_f64()).collect()
    }

    /// Euclidean norm ‖x‖₂ = √Σxᵢ², accumulated in f64.
    pub fn norm_l2(&self) -> f64 {
        self.data
            .iter()
            .map(|v| {
                let x = v.to_f64();
                x * x
            })
            .sum::<f64>()
            .sqrt()
    }

    /// max |xᵢ| (0 for an empty tensor).
    pub fn max_abs(&self) -> f64 {
        self.data
            .iter()
            .fold(0.0f64, |m, v| m.max(v.to_f64().abs()))
    }

    /// True when every element is finite.
    pub fn all_finite(&self) -> bool {
        self.data.iter().all(|v| v.is_finite())
    }
}
