//! Helpers shared by the integration-test modules.

#![allow(dead_code)]

use gradscope::{Activation, Float, Rng};

/// The non-default parameter variants every per-activation test also covers.
pub fn variants() -> Vec<Activation> {
    vec![
        Activation::LeakyRelu { slope: 0.2 },
        Activation::Elu { alpha: 0.5 },
        Activation::Swish { beta: 2.0 },
        Activation::Softplus {
            beta: 2.0,
            threshold: 20.0,
        },
        Activation::HardTanh {
            min: -2.0,
            max: 0.5,
        },
        Activation::ImprovedSigmoid {
            alpha: 3.0,
            beta: 0.05,
        },
        Activation::Prelu {
            init: 0.1,
            channels: 1,
        },
    ]
}

/// The whole catalogue (default parameters) followed by [`variants`].
pub fn all_activations() -> Vec<Activation> {
    let mut v = Activation::catalogue();
    v.extend(variants());
    v
}

/// The element-wise activations of [`all_activations`] (everything but softmax and
/// log-softmax).
pub fn elementwise_activations() -> Vec<Activation> {
    all_activations()
        .into_iter()
        .filter(|a| !a.is_rowwise())
        .collect()
}

/// True when `x` lies within `dist` of one of `act`'s kinks.
pub fn near_kink(act: &Activation, x: f64, dist: f64) -> bool {
    act.kinks().iter().any(|k| (x - k).abs() < dist)
}

/// Central finite difference of `act.f` at `x` in f64, step 1e-5·max(1, |x|).
pub fn central_diff(act: &Activation, x: f64) -> f64 {
    let h = 1e-5 * x.abs().max(1.0);
    (act.f(x + h) - act.f(x - h)) / (2.0 * h)
}

/// |a − b| / max(|b|, floor).
pub fn rel_err(a: f64, b: f64, floor: f64) -> f64 {
    (a - b).abs() / b.abs().max(floor)
}

/// Asserts |actual − expected| <= rel·|expected| + abs, with a message naming `what`.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, rel: f64, abs: f64, what: &str) {
    let tol = rel * expected.abs() + abs;
    assert!(
        (actual - expected).abs() <= tol,
        "{what}: got {actual:e}, expected {expected:e} (|diff| = {:e} > tol {tol:e})",
        (actual - expected).abs()
    );
}

/// The test grid: [-8, 8] in steps of 0.05, plus `n_random` seeded uniform points in
/// [-8, 8].
pub fn grid(n_random: usize, seed: u64) -> Vec<f64> {
    let mut xs: Vec<f64> = (-160..=160).map(|i| i as f64 * 0.05).collect();
    let mut rng = Rng::seed(seed);
    xs.extend((0..n_random).map(|_| rng.uniform(-8.0, 8.0)));
    xs
}

/// `n` seeded standard-normal values scaled by `scale`.
pub fn normals(n: usize, scale: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng::seed(seed);
    (0..n).map(|_| scale * rng.normal()).collect()
}

/// Values of a generic float as f64.
pub fn to_f64s<T: Float>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64()).collect()
}

/// A crude but independent reference: the SELU constants of Klambauer et al. (2017).
pub const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;
/// SELU's α.
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;

/// The logistic function written out directly (reference, no shared code with the library).
pub fn logistic(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// An observer that keeps every diagnostic record of a run.
#[derive(Default)]
pub struct Collect(pub Vec<gradscope::diagnostics::StepRecord>);

impl gradscope::train::Observer for Collect {
    fn on_diagnostics(&mut self, r: &gradscope::diagnostics::StepRecord) -> gradscope::Result<()> {
        self.0.push(r.clone());
        Ok(())
    }
}
