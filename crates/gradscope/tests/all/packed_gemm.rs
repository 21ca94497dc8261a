//! The packed-operand product (`kernels::packed`, used by the recurrent time loop) against
//! `matrixmultiply` (`kernels::gemm`): random and edge shapes, transposed operands, β = 0
//! and 1, f32 and f64, every micro-kernel this CPU runs (AVX-512, AVX2, portable).

use gradscope::kernels::gemm::{gemm_serial, MatMut, MatRef};
use gradscope::kernels::packed::{gemm_packed, gemm_packed_on, gemm_packed_serial, Isa, PackedB};
use gradscope::{Float, Rng};

fn random<T: Float>(n: usize, rng: &mut Rng) -> Vec<T> {
    (0..n).map(|_| T::from_f64(rng.normal())).collect()
}

/// A view of `data` as an r×c matrix, stored row-major or as the transpose of a c×r one.
fn view<T: Float>(data: &[T], r: usize, c: usize, transposed: bool) -> MatRef<'_, T> {
    if transposed {
        MatRef::row_major(data, c, r).t()
    } else {
        MatRef::row_major(data, r, c)
    }
}

/// Σ_p |a_ip|·|b_pj| for every (i, j), the scale of a product's rounding error in any
/// summation order.
fn abs_product<T: Float>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> Vec<f64> {
    let (m, k, n) = (a.rows(), a.cols(), b.cols());
    let abs_a: Vec<f64> = (0..m * k)
        .map(|x| a.get(x / k, x % k).to_f64().abs())
        .collect();
    let abs_b: Vec<f64> = (0..k * n)
        .map(|x| b.get(x / n, x % n).to_f64().abs())
        .collect();
    let mut s = vec![0.0; m * n];
    gemm_serial(
        1.0,
        MatRef::row_major(&abs_a, m, k),
        MatRef::row_major(&abs_b, k, n),
        0.0,
        MatMut::row_major(&mut s, m, n),
    );
    s
}

/// Checks every element of `got` against `want` (both C ← α·A·B + β·C from `c0`): the error
/// relative to |α|·Σ_p |a_ip·b_pj| + |β·c_ij| (`abs_ab` holds the sums).
#[allow(clippy::too_many_arguments)]
fn check<T: Float>(
    got: &[T],
    want: &[T],
    abs_ab: &[f64],
    alpha: f64,
    beta: f64,
    c0: &[T],
    tol: f64,
    what: &str,
) {
    for (idx, ((g, w), s)) in got.iter().zip(want).zip(abs_ab).enumerate() {
        let c_part = if beta == 0.0 {
            0.0
        } else {
            (beta * c0[idx].to_f64()).abs()
        };
        let scale = (alpha.abs() * s + c_part).max(f64::MIN_POSITIVE);
        let (g, w) = (g.to_f64(), w.to_f64());
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}: element {idx} = {g}, matrixmultiply gives {w} (scale {scale})"
        );
    }
}

/// One product with every kernel (and on two threads) against
/// `matrixmultiply`, for every layout of A and B and β = 0 (C starting as NaN) and 1.
fn compare<T: Float>(
    m: usize,
    k: usize,
    n: usize,
    tol: f64,
    rng: &mut Rng,
    packed: &mut PackedB<T>,
) {
    let a = random::<T>(m * k, rng);
    let b = random::<T>(k * n, rng);
    let c_init = random::<T>(m * n, rng);
    for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
        let av = view(&a, m, k, ta);
        let bv = view(&b, k, n, tb);
        packed.pack(bv);
        assert_eq!((packed.rows(), packed.cols()), (k, n));
        let abs_ab = abs_product(av, bv);
        for (alpha, beta) in [(1.0, 0.0), (1.0, 1.0), (0.5, 2.0)] {
            let (al, be) = (T::from_f64(alpha), T::from_f64(beta));
            // β = 0 must not read C: start from NaN.
            let c0 = if beta == 0.0 {
                vec![T::from_f64(f64::NAN); m * n]
            } else {
                c_init.clone()
            };
            let mut want = c0.clone();
            gemm_serial(al, av, bv, be, MatMut::row_major(&mut want, m, n));
            let what = format!("{m}x{k}x{n} ta={ta} tb={tb} alpha={alpha} beta={beta}");
            let mut got = c0.clone();
            gemm_packed_serial(al, av, packed, be, MatMut::row_major(&mut got, m, n));
            check(&got, &want, &abs_ab, alpha, beta, &c0, tol, &what);
            for isa in Isa::supported() {
                let mut other = c0.clone();
                gemm_packed_on(isa, al, av, packed, be, MatMut::row_major(&mut other, m, n));
                check(
                    &other,
                    &want,
                    &abs_ab,
                    alpha,
                    beta,
                    &c0,
                    tol,
                    &format!("{what} {isa:?}"),
                );
                if isa != Isa::Portable {
                    // The SIMD kernels do one FMA per p in the same order: the same bits.
                    assert!(
                        other
                            .iter()
                            .zip(&got)
                            .all(|(x, y)| x.to_f64().to_bits() == y.to_f64().to_bits()),
                        "{what}: {isa:?} differs from {:?}",
                        Isa::best()
                    );
                }
            }
            let mut threads = c0.clone();
            gemm_packed(al, av, packed, be, MatMut::row_major(&mut threads, m, n));
            assert!(
                threads
                    .iter()
                    .zip(&got)
                    .all(|(x, y)| x.to_f64().to_bits() == y.to_f64().to_bits()),
                "{what}: the two-thread product differs from the one-thread one"
            );
        }
    }
}

/// Edge shapes: 1 in every dimension, sizes around the 6-row tile and the 16-column (f32) or
/// 8-column (f64) panel, k past the 256-value block, and the recurrent shapes (B×H·H×G·H).
const EDGE: [(usize, usize, usize); 17] = [
    (1, 1, 1),
    (1, 300, 1),
    (64, 1, 300),
    (1, 1, 17),
    (5, 7, 15),
    (6, 16, 16),
    (7, 17, 33),
    (12, 9, 8),
    (13, 31, 9),
    (16, 128, 512),
    (16, 128, 128),
    (32, 257, 40),
    (3, 513, 24),
    (64, 300, 300),
    (17, 300, 1200),
    (2, 1200, 300),
    (33, 65, 7),
];

#[test]
fn packed_products_match_matrixmultiply_on_edge_shapes_f32() {
    let mut rng = Rng::seed(14);
    let mut packed = PackedB::new();
    for (m, k, n) in EDGE {
        compare::<f32>(m, k, n, 1e-5, &mut rng, &mut packed);
    }
}

#[test]
fn packed_products_match_matrixmultiply_on_edge_shapes_f64() {
    let mut rng = Rng::seed(15);
    let mut packed = PackedB::new();
    for (m, k, n) in EDGE {
        compare::<f64>(m, k, n, 1e-13, &mut rng, &mut packed);
    }
}

/// Random recurrent shapes: batch 1..64 rows, H = 1..300, G ∈ {1, 3, 4}, both the forward
/// product (B×H · H×G·H) and the backward one (B×G·H · G·H×H); one `PackedB` reused, growing
/// and shrinking.
#[test]
fn packed_products_match_matrixmultiply_on_random_recurrent_shapes() {
    let mut rng = Rng::seed(16);
    let mut p32 = PackedB::new();
    let mut p64 = PackedB::new();
    for round in 0..24 {
        let b = 1 + rng.below(64);
        let h = 1 + rng.below(300);
        let g = [1, 3, 4][rng.below(3)] * h;
        let (k, n) = if round % 2 == 0 { (h, g) } else { (g, h) };
        compare::<f32>(b, k, n, 1e-5, &mut rng, &mut p32);
        if round % 4 < 2 {
            compare::<f64>(b, k, n, 1e-13, &mut rng, &mut p64);
        }
    }
}

/// Rows computed in two blocks (the recurrent layer's two batch halves) give the same bits as
/// all rows at once, so the split does not change results.
#[test]
fn packed_products_do_not_depend_on_the_row_split() {
    let mut rng = Rng::seed(17);
    let (m, k, n) = (37, 300, 130);
    let a = random::<f32>(m * k, &mut rng);
    let b = random::<f32>(k * n, &mut rng);
    let c0 = random::<f32>(m * n, &mut rng);
    let mut packed = PackedB::new();
    packed.pack(MatRef::row_major(&b, k, n));
    let mut whole = c0.clone();
    gemm_packed_serial(
        1.0,
        MatRef::row_major(&a, m, k),
        &packed,
        1.0,
        MatMut::row_major(&mut whole, m, n),
    );
    for cut in [1, 6, 16, 19, 36] {
        let mut parts = c0.clone();
        let (top, bottom) = parts.split_at_mut(cut * n);
        let (a0, a1) = a.split_at(cut * k);
        gemm_packed_serial(
            1.0,
            MatRef::row_major(a0, cut, k),
            &packed,
            1.0,
            MatMut::row_major(top, cut, n),
        );
        gemm_packed_serial(
            1.0,
            MatRef::row_major(a1, m - cut, k),
            &packed,
            1.0,
            MatMut::row_major(bottom, m - cut, n),
        );
        assert!(
            parts
                .iter()
                .zip(&whole)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "split at row {cut} changes the result"
        );
    }
}

/// k = 0: C ← β·C (0 for β = 0, whatever C held).
#[test]
fn packed_product_with_empty_inner_dimension_scales_c() {
    let mut packed = PackedB::<f32>::new();
    packed.pack(MatRef::row_major(&[], 0, 3));
    let mut c = vec![1.0, f32::NAN, 3.0, 4.0, 5.0, 6.0];
    gemm_packed_serial(
        1.0,
        MatRef::row_major(&[], 2, 0),
        &packed,
        0.0,
        MatMut::row_major(&mut c, 2, 3),
    );
    assert_eq!(c, vec![0.0; 6]);
    let mut c = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    gemm_packed_serial(
        1.0,
        MatRef::row_major(&[], 2, 0),
        &packed,
        2.0,
        MatMut::row_major(&mut c, 2, 3),
    );
    assert_eq!(c, vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
}
