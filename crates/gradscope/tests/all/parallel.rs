//! Work split over two cores gives the same results as on one.

use gradscope::kernels::gemm::{gemm, gemm_serial, MatMut, MatRef};
use gradscope::kernels::parallel;
use gradscope::Rng;

fn random(n: usize, rng: &mut Rng) -> Vec<f64> {
    (0..n).map(|_| rng.normal()).collect()
}

/// Products big enough to be split (by rows and by columns), with transposed operands, match
/// the single-thread product exactly and a naive triple loop closely.
#[test]
fn split_products_equal_single_thread_products() {
    let mut rng = Rng::seed(1);
    for (m, k, n) in [(128, 256, 300), (300, 128, 100), (64, 512, 64)] {
        let a = random(m * k, &mut rng);
        let b = random(k * n, &mut rng);
        let c0 = random(m * n, &mut rng);
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
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
            let mut split = c0.clone();
            gemm(0.5, av, bv, 2.0, MatMut::row_major(&mut split, m, n));
            let mut single = c0.clone();
            gemm_serial(0.5, av, bv, 2.0, MatMut::row_major(&mut single, m, n));
            assert_eq!(split, single, "{m}x{k}x{n} ta={ta} tb={tb}");
            for i in (0..m).step_by(37) {
                for j in (0..n).step_by(29) {
                    let naive: f64 = (0..k).map(|p| av.get(i, p) * bv.get(p, j)).sum();
                    let want = 0.5 * naive + 2.0 * c0[i * n + j];
                    assert!((split[i * n + j] - want).abs() < 1e-10 * (1.0 + want.abs()));
                }
            }
        }
    }
}

#[test]
fn element_wise_splits_cover_every_element() {
    let n = 3 * parallel::MIN_CHUNK + 17;
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let mut y = vec![0.0; n];
    parallel::map(&x, &mut y, &|a, b| {
        for (o, i) in b.iter_mut().zip(a) {
            *o = 2.0 * i;
        }
    });
    assert!(y.iter().enumerate().all(|(i, v)| *v == 2.0 * i as f64));
    let mut z = vec![0.0; n];
    parallel::map2(&x, &y, &mut z, &|a, b, o| {
        for ((o, a), b) in o.iter_mut().zip(a).zip(b) {
            *o = a + b;
        }
    });
    assert!(z.iter().enumerate().all(|(i, v)| *v == 3.0 * i as f64));
    let mut theta = x.clone();
    let mut s0 = vec![1.0; n];
    parallel::update(
        &mut theta,
        &y,
        &mut s0,
        &mut [],
        &mut [],
        &|t, g, s, e1, e2| {
            assert!(e1.is_empty() && e2.is_empty());
            for ((t, g), s) in t.iter_mut().zip(g).zip(s.iter_mut()) {
                *t -= g;
                *s += 1.0;
            }
        },
    );
    assert!(theta.iter().enumerate().all(|(i, v)| *v == -(i as f64)));
    assert!(s0.iter().all(|v| *v == 2.0));
}

#[test]
fn join_runs_both_and_propagates_panics() {
    let (mut a, mut b) = (0, 0);
    for _ in 0..1000 {
        parallel::join(|| a += 1, || b += 1);
    }
    assert_eq!((a, b), (1000, 1000));
    // Nested joins run inline rather than deadlock.
    let mut total = 0;
    parallel::join(
        || parallel::join(|| total += 1, || ()),
        || parallel::join(|| (), || ()),
    );
    assert_eq!(total, 1);
    let r = std::panic::catch_unwind(|| parallel::join(|| (), || panic!("boom")));
    assert!(r.is_err());
    let r = std::panic::catch_unwind(|| parallel::join(|| panic!("boom"), || ()));
    assert!(r.is_err());
    // Still usable afterwards.
    let mut c = 0;
    parallel::join(|| (), || c = 7);
    assert_eq!(c, 7);
}
