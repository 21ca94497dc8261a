//! Tensor basics and the GEMM wrapper.

use gradscope::kernels::gemm::{gemm, MatMut, MatRef};
use gradscope::{Error, Tensor};

use crate::common::normals;

#[test]
fn from_vec_checks_the_size() {
    let t = Tensor::from_vec(&[2, 3], vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    assert_eq!(t.shape(), &[2, 3]);
    assert_eq!((t.rows(), t.cols(), t.len()), (2, 3, 6));
    assert_eq!(t.row(1), &[4.0, 5.0, 6.0]);
    match Tensor::from_vec(&[2, 3], vec![1.0f64; 5]) {
        Err(Error::Shape(msg)) => assert!(msg.contains('6') && msg.contains('5'), "{msg}"),
        other => panic!("expected a shape error, got {other:?}"),
    }
    assert!(matches!(
        Tensor::<f32>::from_vec(&[4], vec![0.0; 3]),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        Tensor::<f64>::from_rows(&[vec![1.0, 2.0], vec![3.0]]),
        Err(Error::Shape(_))
    ));
    let r = Tensor::<f64>::from_rows(&[vec![1.0, 2.0], vec![3.0, 4.0]]).unwrap();
    assert_eq!(r.shape(), &[2, 2]);
    assert_eq!(r.data(), &[1.0, 2.0, 3.0, 4.0]);
}

#[test]
fn rows_and_cols_of_higher_rank() {
    let t = Tensor::<f64>::zeros(&[2, 3, 4]);
    assert_eq!((t.rows(), t.cols(), t.len()), (6, 4, 24));
    let s = Tensor::<f64>::zeros(&[]);
    assert_eq!((s.rows(), s.cols(), s.len()), (1, 1, 1));
}

#[test]
fn resize_reuses_the_allocation() {
    let mut t = Tensor::<f64>::full(&[10, 10], 7.0);
    let ptr = t.data().as_ptr();
    t.resize(&[3, 4]);
    assert_eq!(t.shape(), &[3, 4]);
    assert_eq!(t.len(), 12);
    assert!(t.data().iter().all(|v| *v == 7.0), "kept prefix");
    t.resize(&[5, 10]);
    assert_eq!(t.shape(), &[5, 10]);
    assert_eq!(t.len(), 50);
    assert_eq!(t.data().as_ptr(), ptr, "no reallocation below the capacity");
    assert!(t.data()[..12].iter().all(|v| *v == 7.0));
    assert!(
        t.data()[12..].iter().all(|v| *v == 0.0),
        "new elements are zero"
    );
    // Same length, new shape: values kept.
    t.resize(&[10, 5]);
    assert_eq!(t.shape(), &[10, 5]);
    assert_eq!(t.data().as_ptr(), ptr);
    // A default tensor grows on first use.
    let mut d = Tensor::<f32>::default();
    assert!(d.is_empty());
    d.resize(&[2, 2]);
    assert_eq!(d.data(), &[0.0; 4]);
}

#[test]
fn reshape_assign_fill_cast() {
    let t = Tensor::from_vec(&[2, 3], (0..6).map(f64::from).collect()).unwrap();
    let r = t.clone().reshape(&[3, 2]).unwrap();
    assert_eq!(r.shape(), &[3, 2]);
    assert_eq!(r.data(), t.data());
    assert!(matches!(t.clone().reshape(&[4, 2]), Err(Error::Shape(_))));
    let mut u = Tensor::<f64>::zeros(&[1, 1]);
    u.assign(&t);
    assert_eq!(u, t);
    u.fill(2.5);
    assert!(u.data().iter().all(|v| *v == 2.5));
    let c = t.cast::<f32>();
    assert_eq!(c.shape(), t.shape());
    assert_eq!(c.to_f64_vec(), t.to_f64_vec());
    let n = Tensor::from_vec(&[2], vec![3.0f64, -4.0]).unwrap();
    assert_eq!(n.norm_l2(), 5.0);
    assert_eq!(n.max_abs(), 4.0);
    assert!(n.all_finite());
    let bad = Tensor::from_vec(&[2], vec![1.0f64, f64::NAN]).unwrap();
    assert!(!bad.all_finite());
}

/// A naive C ← α·op(A)·op(B) + β·C on row-major arrays (op = transpose when the flag is set).
#[allow(clippy::too_many_arguments)]
fn naive(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    ta: bool,
    b: &[f64],
    tb: bool,
    beta: f64,
    c: &[f64],
) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0;
            for p in 0..k {
                let av = if ta { a[p * m + i] } else { a[i * k + p] };
                let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                s += av * bv;
            }
            out[i * n + j] = alpha * s
                + if beta == 0.0 {
                    0.0
                } else {
                    beta * c[i * n + j]
                };
        }
    }
    out
}

#[test]
fn gemm_matches_naive_triple_loop() {
    let shapes = [(1, 1, 1), (3, 4, 5), (7, 2, 9), (16, 17, 15), (33, 8, 1)];
    for (idx, &(m, k, n)) in shapes.iter().enumerate() {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            for (alpha, beta) in [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25), (1.0, -1.0)] {
                let seed = idx as u64 * 100;
                let a = normals(m * k, 1.0, seed + 1);
                let b = normals(k * n, 1.0, seed + 2);
                let c0 = normals(m * n, 1.0, seed + 3);
                let expect = naive(m, k, n, alpha, &a, ta, &b, tb, beta, &c0);
                // A is stored as m×k, or as k×m when it enters transposed (likewise B).
                let av = if ta {
                    MatRef::row_major(&a, k, m).t()
                } else {
                    MatRef::row_major(&a, m, k)
                };
                let bv = if tb {
                    MatRef::row_major(&b, n, k).t()
                } else {
                    MatRef::row_major(&b, k, n)
                };
                assert_eq!((av.rows(), av.cols()), (m, k));
                assert_eq!((bv.rows(), bv.cols()), (k, n));
                let mut c = c0.clone();
                gemm(alpha, av, bv, beta, MatMut::row_major(&mut c, m, n));
                for (i, (got, want)) in c.iter().zip(&expect).enumerate() {
                    assert!(
                        (got - want).abs() < 1e-12 * (1.0 + want.abs()),
                        "{m}×{k}×{n} ta={ta} tb={tb} α={alpha} β={beta} [{i}]: {got} vs {want}"
                    );
                }
            }
        }
    }
}

#[test]
fn gemm_through_tensor_views_and_f32() {
    let a = Tensor::from_vec(&[2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let b = Tensor::from_vec(&[3, 2], vec![7.0f32, 8.0, 9.0, 10.0, 11.0, 12.0]).unwrap();
    let mut c = Tensor::<f32>::zeros(&[2, 2]);
    gemm(1.0, a.mat(), b.mat(), 0.0, c.mat_mut());
    assert_eq!(c.data(), &[58.0, 64.0, 139.0, 154.0]);
    // Aᵀ·A is 3×3 and symmetric.
    let mut g = Tensor::<f32>::zeros(&[3, 3]);
    gemm(1.0, a.mat().t(), a.mat(), 0.0, g.mat_mut());
    assert_eq!(
        g.data(),
        &[17.0, 22.0, 27.0, 22.0, 29.0, 36.0, 27.0, 36.0, 45.0]
    );
    assert_eq!(a.mat().get(1, 2), 6.0);
    assert_eq!(a.mat().t().get(2, 1), 6.0);
}

#[test]
fn gemm_beta_zero_ignores_nan_in_c() {
    let a = normals(12, 1.0, 5);
    let b = normals(20, 1.0, 6);
    let mut c = vec![f64::NAN; 15];
    gemm(
        1.0,
        MatRef::row_major(&a, 3, 4),
        MatRef::row_major(&b, 4, 5),
        0.0,
        MatMut::row_major(&mut c, 3, 5),
    );
    let expect = naive(3, 4, 5, 1.0, &a, false, &b, false, 0.0, &[]);
    for (g, e) in c.iter().zip(&expect) {
        assert!((g - e).abs() < 1e-12, "{g} vs {e}");
    }
    // Also with an empty inner dimension: C ← β·C = 0.
    let mut c = vec![f64::NAN; 6];
    gemm(
        1.0,
        MatRef::row_major(&[], 2, 0),
        MatRef::row_major(&[], 0, 3),
        0.0,
        MatMut::row_major(&mut c, 2, 3),
    );
    assert_eq!(c, vec![0.0; 6]);
    let mut c = vec![2.0; 6];
    gemm(
        1.0,
        MatRef::row_major(&[], 2, 0),
        MatRef::row_major(&[], 0, 3),
        0.5,
        MatMut::row_major(&mut c, 2, 3),
    );
    assert_eq!(c, vec![1.0; 6]);
}

#[test]
#[should_panic(expected = "inner dimensions")]
fn gemm_panics_on_inner_dimension_mismatch() {
    let a = [0.0f64; 6];
    let b = [0.0f64; 8];
    let mut c = [0.0f64; 8];
    gemm(
        1.0,
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 2, 4),
        0.0,
        MatMut::row_major(&mut c, 2, 4),
    );
}

#[test]
#[should_panic(expected = "output")]
fn gemm_panics_on_output_shape_mismatch() {
    let a = [0.0f64; 6];
    let b = [0.0f64; 12];
    let mut c = [0.0f64; 6];
    gemm(
        1.0,
        MatRef::row_major(&a, 2, 3),
        MatRef::row_major(&b, 3, 4),
        0.0,
        MatMut::row_major(&mut c, 2, 3),
    );
}

#[test]
#[should_panic(expected = "cannot form")]
fn matref_panics_on_wrong_length() {
    let a = [0.0f64; 5];
    let _ = MatRef::row_major(&a, 2, 3);
}

#[test]
#[should_panic(expected = "cannot form")]
fn matmut_panics_on_wrong_length() {
    let mut c = [0.0f32; 7];
    let _ = MatMut::row_major(&mut c, 2, 3);
}
