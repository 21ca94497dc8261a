//! The SIMD f32 kernels against f64 references.

use gradscope::kernels::vmath::{exp_slice, sigmoid_slice, tanh_slice};

fn grid() -> Vec<f32> {
    let mut xs: Vec<f32> = (-20000..=20000).map(|i| i as f32 * 0.005).collect();
    xs.extend([
        0.0,
        -0.0,
        1e-30,
        -1e-30,
        1e-7,
        0.39999,
        0.4,
        0.40001,
        9.5,
        20.0,
        80.0,
        87.0,
        88.5,
        -87.0,
        -87.5,
        -100.0,
        100.0,
        1e30,
        -1e30,
        f32::MAX,
        f32::MIN,
    ]);
    xs
}

fn ulps(a: f32, b: f64) -> f64 {
    let b32 = b as f32;
    if a == b32 {
        return 0.0;
    }
    (a as f64 - b).abs() / (f32::EPSILON as f64 * b.abs().max(f32::MIN_POSITIVE as f64))
}

#[test]
fn tanh_within_4_ulp_and_exact_limits() {
    let xs = grid();
    let mut ys = vec![0.0; xs.len()];
    tanh_slice(&xs, &mut ys);
    for (x, y) in xs.iter().zip(&ys) {
        let want = (*x as f64).tanh();
        assert!(y.is_finite(), "tanh({x}) = {y}");
        assert!(ulps(*y, want) <= 4.0, "tanh({x}) = {y}, want {want}");
    }
    assert_eq!(ys[xs.iter().position(|x| *x == 1e30).unwrap()], 1.0);
}

#[test]
fn exp_within_4_ulp_with_ieee_overflow_and_underflow() {
    let mut xs: Vec<f32> = (-8733..=8872).map(|i| i as f32 * 0.01).collect();
    xs.push(88.7228);
    let mut ys = vec![0.0; xs.len()];
    exp_slice(&xs, &mut ys);
    for (x, y) in xs.iter().zip(&ys) {
        let want = (*x as f64).exp();
        if want < 1.2e-38 {
            continue; // the denormal range is flushed
        }
        assert!(ulps(*y, want) <= 4.0, "exp({x}) = {y}, want {want}");
    }
    let mut e = [0.0f32; 3];
    exp_slice(&[-1000.0, 1000.0, 0.0], &mut e);
    assert_eq!(e, [0.0, f32::INFINITY, 1.0]);
}

#[test]
fn sigmoid_within_4_ulp_and_saturates_exactly() {
    let xs = grid();
    let mut ys = vec![0.0; xs.len()];
    sigmoid_slice(&xs, &mut ys);
    for (x, y) in xs.iter().zip(&ys) {
        let want = 1.0 / (1.0 + (-(*x as f64)).exp());
        if want < 1.2e-38 {
            assert!(*y >= 0.0 && *y < 1.2e-38, "sigmoid({x}) = {y}");
            continue;
        }
        assert!(ulps(*y, want) <= 4.0, "sigmoid({x}) = {y}, want {want}");
    }
    let mut s = [0.0f32; 2];
    sigmoid_slice(&[-1000.0, 1000.0], &mut s);
    assert_eq!(s, [0.0, 1.0]);
}
