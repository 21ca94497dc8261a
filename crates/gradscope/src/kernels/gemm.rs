//! Matrix multiply C ← α·op(A)·op(B) + β·C, delegated to the `matrixmultiply` crate.
//!
//! Operands are strided views, so a transposed operand is the same memory with its row and
//! column strides swapped: no copy is made. The crate choice is measured in
//! `docs/gemm-choice.md`.
//!
//! Large products are split by rows of C into two blocks run on two cores, each block a
//! `matrixmultiply` call: every element of C is computed by the same kernel over the same K
//! blocking as in one call, so the result does not depend on the number of threads.

use crate::float::Float;

/// A read-only strided view of an `rows × cols` matrix: element (i, j) is at
/// `data[i·row_stride + j·col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, T: Float> MatRef<'a, T> {
    /// A row-major `rows × cols` view of `data` (which must hold exactly `rows·cols` values).
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "MatRef::row_major: {} values cannot form a {rows}×{cols} matrix",
            data.len()
        );
        MatRef {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose Aᵀ, as a view of the same memory.
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Element (i, j).
    pub fn get(&self, i: usize, j: usize) -> T {
        self.data[i * self.row_stride + j * self.col_stride]
    }
    /// The underlying slice, row stride and column stride.
    pub(crate) fn raw(&self) -> (&'a [T], usize, usize) {
        (self.data, self.row_stride, self.col_stride)
    }
}

/// A mutable row-major `rows × cols` view (the output of a multiply).
#[derive(Debug)]
pub struct MatMut<'a, T> {
    data: &'a mut [T],
    rows: usize,
    cols: usize,
}

impl<'a, T: Float> MatMut<'a, T> {
    /// A row-major `rows × cols` view of `data` (which must hold exactly `rows·cols` values).
    pub fn row_major(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "MatMut::row_major: {} values cannot form a {rows}×{cols} matrix",
            data.len()
        );
        MatMut { data, rows, cols }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The start of the row-major data (row stride = cols) and its length.
    pub(crate) fn into_raw(self) -> (*mut T, usize) {
        (self.data.as_mut_ptr(), self.data.len())
    }
}

/// C ← α·A·B + β·C, where A is m×k, B is k×n and C is m×n (β = 0 ignores C's old contents,
/// even NaN).
///
/// Panics if the shapes do not agree: that is a programming error, not a data error.
pub fn gemm<T: Float>(alpha: T, a: MatRef<'_, T>, b: MatRef<'_, T>, beta: T, c: MatMut<'_, T>) {
    assert_eq!(
        a.cols, b.rows,
        "gemm: inner dimensions differ ({}×{} · {}×{})",
        a.rows, a.cols, b.rows, b.cols
    );
    assert_eq!(
        (a.rows, b.cols),
        (c.rows, c.cols),
        "gemm: output is {}×{} but the product is {}×{}",
        c.rows,
        c.cols,
        a.rows,
        b.cols
    );
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    if super::parallel::available() && m * k * n >= PARALLEL_MIN_WORK {
        // Split the larger output dimension: each half then packs only half of that operand.
        if n >= m && n >= 2 * PARALLEL_MIN_ROWS && k > 0 {
            split_cols(alpha, a, b, beta, c);
            return;
        }
        if m >= 2 * PARALLEL_MIN_ROWS {
            split_rows(alpha, a, b, beta, c.data, n, m.div_ceil(2));
            return;
        }
    }
    gemm_serial(alpha, a, b, beta, c);
}

/// A raw pointer that may cross to the helper thread (the two column halves of C written
/// through it are disjoint).
#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
// SAFETY: only used in `split_cols`, for two disjoint column blocks of one C (T: Float is
// Send) that the caller borrows mutably and that outlive the join waiting for both halves.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as for Send: the two threads sharing it write disjoint elements only.
unsafe impl<T> Sync for SendPtr<T> {}

/// Columns `first..first+cols` of B as a view.
fn col_block<'a, T: Float>(b: MatRef<'a, T>, first: usize, cols: usize) -> MatRef<'a, T> {
    let start = first * b.col_stride;
    MatRef {
        data: &b.data[start..],
        rows: b.rows,
        cols,
        row_stride: b.row_stride,
        col_stride: b.col_stride,
    }
}

/// C ← α·A·B + β·C with the two column halves of C computed on two cores.
fn split_cols<T: Float>(alpha: T, a: MatRef<'_, T>, b: MatRef<'_, T>, beta: T, c: MatMut<'_, T>) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let left = n.div_ceil(2);
    let (b0, b1) = (col_block(b, 0, left), col_block(b, left, n - left));
    let c_ptr = SendPtr(c.data.as_mut_ptr());
    let run = move |bb: MatRef<'_, T>, offset: usize| {
        let p = c_ptr;
        // SAFETY: A and the B block cover their shapes (checked views); the C block starts at
        // column `offset` of the m×n row-major C borrowed mutably by the caller, spans
        // bb.cols columns with row stride n, and the two blocks are disjoint.
        unsafe {
            T::gemm_raw(
                m,
                k,
                bb.cols,
                alpha,
                a.data.as_ptr(),
                a.row_stride as isize,
                a.col_stride as isize,
                bb.data.as_ptr(),
                bb.row_stride as isize,
                bb.col_stride as isize,
                beta,
                p.0.add(offset),
                n as isize,
                1,
            );
        }
    };
    super::parallel::join(|| run(b0, 0), || run(b1, left));
}

/// Below this many multiply-adds a product runs on one thread (thread hand-off costs more).
pub const PARALLEL_MIN_WORK: usize = 1 << 21;
/// Fewest rows of C per parallel block.
const PARALLEL_MIN_ROWS: usize = 16;

/// Rows `first..first+rows` of A as a view.
fn row_block<'a, T: Float>(a: MatRef<'a, T>, first: usize, rows: usize) -> MatRef<'a, T> {
    let start = first * a.row_stride;
    MatRef {
        data: &a.data[start..],
        rows,
        cols: a.cols,
        row_stride: a.row_stride,
        col_stride: a.col_stride,
    }
}

fn split_rows<T: Float>(
    alpha: T,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    beta: T,
    c: &mut [T],
    n: usize,
    rows_per: usize,
) {
    let m = a.rows;
    if m <= rows_per {
        gemm_serial(alpha, a, b, beta, MatMut::row_major(c, m, n));
        return;
    }
    let (top, bottom) = c.split_at_mut(rows_per * n);
    let a_top = row_block(a, 0, rows_per);
    let a_bottom = row_block(a, rows_per, m - rows_per);
    super::parallel::join(
        || gemm_serial(alpha, a_top, b, beta, MatMut::row_major(top, rows_per, n)),
        || split_rows(alpha, a_bottom, b, beta, bottom, n, rows_per),
    );
}

/// C ← α·A·B + β·C on the calling thread (no splitting), for callers that already run
/// independent products side by side.
pub fn gemm_serial<T: Float>(
    alpha: T,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    beta: T,
    c: MatMut<'_, T>,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if k == 0 {
        for v in c.data.iter_mut() {
            *v = if beta == T::ZERO { T::ZERO } else { *v * beta };
        }
        return;
    }
    // SAFETY: every view was checked to cover its shape: the largest offset a view can reach is
    // (rows−1)·row_stride + (cols−1)·col_stride < len for the row-major constructors and their
    // transposes, and C is a unique borrow.
    unsafe {
        T::gemm_raw(
            m,
            k,
            n,
            alpha,
            a.data.as_ptr(),
            a.row_stride as isize,
            a.col_stride as isize,
            b.data.as_ptr(),
            b.row_stride as isize,
            b.col_stride as isize,
            beta,
            c.data.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}
