//! Spectral quantities of a recurrent matrix: through BPTT the gradient reaching step t−k
//! contains the product of k Jacobians diag(f'(a))·W_hh, so the spectral radius ρ(W_hh) and
//! the largest singular value σ_max(W_hh) decide whether it can vanish or explode
//! (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural
//! networks").

use nalgebra::DMatrix;

/// Iteration budget of the Schur and SVD iterations (nalgebra's own default is unbounded).
fn max_iterations(n: usize) -> usize {
    1000 + 100 * n
}

/// lim ‖Aᵏ‖^(1/k) (Gelfand's formula) with k = 2²⁴ by repeated squaring, renormalized at every
/// squaring: the spectral radius of a square matrix when its Schur iteration does not
/// converge (e.g. I + ε·abᵀ, whose eigenvalue 1 has multiplicity n − 1). Accurate to a factor
/// κ^(1/k) for a diagonalizable matrix with eigenvector condition number κ.
fn gelfand_radius(m: &DMatrix<f64>) -> f64 {
    let mut a = m.clone();
    let mut log_scale = 0.0f64;
    let mut k = 1.0f64;
    for _ in 0..24 {
        let n = a.norm();
        if n == 0.0 {
            return 0.0;
        }
        if !n.is_finite() {
            return f64::NAN;
        }
        a /= n;
        log_scale += n.ln();
        a = &a * &a;
        log_scale *= 2.0;
        k *= 2.0;
    }
    let n = a.norm();
    if n == 0.0 {
        return 0.0;
    }
    ((log_scale + n.ln()) / k).exp()
}

/// ρ(W) = max |λᵢ| of a row-major `n × n` matrix: Schur decomposition with a bounded number
/// of iterations, Gelfand's formula when it does not converge. (nalgebra's
/// `complex_eigenvalues` iterates without bound and never returns on some matrices, such as
/// the identity after one Adam step: I + lr·sign pattern of rank one.)
pub fn spectral_radius(w: &[f64], n: usize) -> f64 {
    assert_eq!(w.len(), n * n, "spectral_radius needs an n x n matrix");
    if n == 0 {
        return 0.0;
    }
    if w.iter().any(|v| !v.is_finite()) {
        return f64::NAN;
    }
    let m = DMatrix::from_row_slice(n, n, w);
    match nalgebra::linalg::Schur::try_new(m.clone(), f64::EPSILON, max_iterations(n)) {
        Some(s) => s
            .complex_eigenvalues()
            .iter()
            .map(|z| z.norm())
            .fold(0.0, f64::max),
        None => gelfand_radius(&m),
    }
}

/// σ_max(W) = ‖W‖₂ of a row-major `rows × cols` matrix: SVD with a bounded number of
/// iterations, √ρ(WᵀW) by Gelfand's formula when it does not converge.
pub fn largest_singular_value(w: &[f64], rows: usize, cols: usize) -> f64 {
    assert_eq!(w.len(), rows * cols, "matrix size");
    if rows == 0 || cols == 0 {
        return 0.0;
    }
    if w.iter().any(|v| !v.is_finite()) {
        return f64::NAN;
    }
    let m = DMatrix::from_row_slice(rows, cols, w);
    match m
        .clone()
        .try_svd(false, false, f64::EPSILON, max_iterations(rows.max(cols)))
    {
        Some(svd) => svd.singular_values.iter().copied().fold(0.0, f64::max),
        None => gelfand_radius(&(m.transpose() * &m)).sqrt(),
    }
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
