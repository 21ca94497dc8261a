//! Spectral quantities of a recurrent matrix: through BPTT the gradient reaching step t−k
//! contains the product of k Jacobians diag(f'(a))·W_hh, so the spectral radius ρ(W_hh) and
//! the largest singular value σ_max(W_hh) decide whether it can vanish or explode
//! (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural
//! networks").

use nalgebra::DMatrix;

/// ρ(W) = max |λᵢ(W)| of a square row-major `n × n` matrix (real Schur decomposition).
pub fn spectral_radius(w: &[f64], n: usize) -> f64 {
    assert_eq!(w.len(), n * n, "spectral_radius needs an n x n matrix");
    if n == 0 {
        return 0.0;
    }
    let m = DMatrix::from_row_slice(n, n, w);
    m.complex_eigenvalues()
        .iter()
        .map(|z| z.norm())
        .fold(0.0, f64::max)
}

/// σ_max(W) = ‖W‖₂, the largest singular value of a row-major `rows × cols` matrix.
pub fn largest_singular_value(w: &[f64], rows: usize, cols: usize) -> f64 {
    assert_eq!(w.len(), rows * cols, "matrix size");
    if rows == 0 || cols == 0 {
        return 0.0;
    }
    let m = DMatrix::from_row_slice(rows, cols, w);
    m.singular_values().iter().copied().fold(0.0, f64::max)
}

/// The bound γ on |f'| of a recurrent activation in the Pascanu et al. criterion:
/// ‖diag(f'(a))‖ ≤ γ, so σ_max(W_hh) < 1/γ is sufficient for the gradient through time to
/// vanish, and σ_max(W_hh) > 1/γ is necessary for it to explode. γ = 1 for tanh, 1/4 for
/// sigmoid; in general max |f'|.
pub fn pascanu_threshold(gamma: f64) -> f64 {
    if gamma > 0.0 {
        1.0 / gamma
    } else {
        f64::INFINITY
    }
}
