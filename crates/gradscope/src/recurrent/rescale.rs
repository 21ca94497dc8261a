//! Exact power-of-two rescaling of the gradient carried back through time.
//!
//! A vanishing gradient soon reaches the subnormal range of the float type, where every
//! multiply costs a microcode assist (a product of 32×128 by 128×128 in f32 goes from 9 µs to
//! 1.1 ms). So backward keeps the carried gradient δ in range: when its size falls below 2⁻ˢ
//! (s = 40 for f32, 300 for f64) it is replaced by 2ˢ·δ, and each step remembers its exponent
//! e_t (what is stored is 2^(e_t)·δ_t). The factor is taken out again, v·2^(−e_t), where the
//! step's values enter the parameter and input gradients. Multiplying by a power of two is
//! exact, so as long as no rescaling happens every result is bit for bit the plain
//! computation's.

use crate::float::{DType, Float};

/// The power of two s by which a vanishing carried gradient is rescaled: 2⁻ˢ is far above
/// the subnormal range (2⁻¹²⁶ for f32, 2⁻¹⁰²² for f64) even after products with weights and
/// gate derivatives, and 2ˢ is representable.
pub(super) fn scale_step<T: Float>() -> i32 {
    match T::DTYPE {
        DType::F32 => 40,
        DType::F64 => 300,
    }
}

/// The smallest positive normal number of T.
pub(super) fn min_positive<T: Float>() -> f64 {
    match T::DTYPE {
        DType::F32 => f32::MIN_POSITIVE as f64,
        DType::F64 => f64::MIN_POSITIVE,
    }
}

/// 2ᵏ in f64 (exact for |k| ≤ 1022).
pub(super) fn pow2(k: i32) -> f64 {
    2f64.powi(k)
}

/// The change k of the carried gradient's exponent e (new e = e + k, a multiple of `step`,
/// never below 0) that brings its size `n` back into [2⁻ˢᵗᵉᵖ, 2ˢᵗᵉᵖ]; 0 when it is in
/// range, zero or not finite.
pub(super) fn rescale(n: f64, e: i32, step: i32) -> i32 {
    let (lo, hi) = (pow2(-step), pow2(step));
    let (mut m, mut k) = (n, 0);
    if m > 0.0 && m.is_finite() {
        while m < lo {
            m *= hi;
            k += step;
        }
        while e + k > 0 && m > hi {
            m *= lo;
            k -= step;
        }
    }
    k
}

/// v ← v·2ᵏ, k > 0 a multiple of `step` (one multiply by 2ˢᵗᵉᵖ per step: each factor is
/// representable).
pub(super) fn scale_up<T: Float>(v: &mut [T], k: i32, step: i32) {
    let f = T::from_f64(pow2(step));
    for _ in 0..k / step {
        for x in v.iter_mut() {
            *x *= f;
        }
    }
}

/// The factors 2⁻ᵏ is applied as (each a normal number of T), and the threshold below
/// which x·2⁻ᵏ would be subnormal.
fn down_factors<T: Float>(k: i32) -> (T, T, T) {
    let chunk = match T::DTYPE {
        DType::F32 => 100,
        DType::F64 => 1000,
    };
    let a = k.min(chunk);
    let b = (k - a).min(chunk);
    (
        T::from_f64(min_positive::<T>() * pow2(k)),
        T::from_f64(pow2(-a)),
        T::from_f64(pow2(-b)),
    )
}

/// v ← v·2⁻ᵏ (k ≥ 0), results below the smallest normal number flushed to zero. Values are
/// zeroed before the multiply, so no operation produces a subnormal (each would cost a
/// microcode assist).
pub(super) fn scale_down<T: Float>(v: &mut [T], k: i32) {
    if k == 0 {
        return;
    }
    let (thr, fa, fb) = down_factors::<T>(k);
    for x in v.iter_mut() {
        let m = if x.abs() < thr { T::ZERO } else { *x };
        *x = m * fa * fb;
    }
}

/// acc += src·2⁻ᵏ (k ≥ 0), flushing as [`scale_down`].
pub(super) fn add_scaled_down<T: Float>(acc: &mut [T], src: &[T], k: i32) {
    let (thr, fa, fb) = down_factors::<T>(k);
    for (a, x) in acc.iter_mut().zip(src) {
        let m = if x.abs() < thr { T::ZERO } else { *x };
        *a += m * fa * fb;
    }
}

/// v ← v·2⁻ᵉ (e ≥ 0) rounded once to the nearest value of T, subnormal or zero when the
/// true value is below T's normal range (the kept per-step gradients: their true values, on
/// a path that is not timed). The product is formed in f64 in exact steps of at most 2⁻¹⁰²²
/// while it stays normal; only the last multiply (or, for f32, the conversion) rounds.
pub(super) fn unscale<T: Float>(v: &mut [T], e: i32) {
    for x in v.iter_mut() {
        let (mut y, mut k) = (x.to_f64(), e);
        while k > 1022 {
            let a = (k - 1022).min(1022);
            y *= pow2(-a);
            k -= a;
        }
        *x = T::from_f64(y * pow2(-k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::param::Param;
    use crate::recurrent::test_util::{grads, random};
    use crate::recurrent::{
        CellWeights, GruCell, HiddenState, LstmCell, OutputGrad, RecurrentCell, RnnCell,
        UnrolledLayer,
    };
    use crate::rng::Rng;
    use crate::tensor::Tensor;
    use crate::Activation;

    /// A loss gradient 2⁻⁴⁰⁰ times smaller makes the carried gradient fall below the f64
    /// rescaling threshold (2⁻³⁰⁰) at once, and it stays in one scale: every gradient must
    /// come out exactly 2⁻⁴⁰⁰ times the unscaled one (powers of two are exact). At 2⁻⁶⁰⁰ the
    /// steps may fall into several scales, and the weight gradients are then summed in
    /// several products instead of one: equal up to rounding. With a given initial state,
    /// many-to-one and many-to-many.
    fn check_rescaling<C: RecurrentCell<f64>>(layer: &mut UnrolledLayer<f64, C>, seed: u64) {
        let (len, b) = (9, 3);
        let (i, h) = (layer.input_size(), layer.hidden_size());
        let mut rng = Rng::seed(seed);
        let x = random(&[len, b, i], 1.0, &mut rng);
        let state = HiddenState {
            h: random(&[b, h], 0.5, &mut rng),
            c: layer
                .cell
                .has_cell_state()
                .then(|| random(&[b, h], 0.5, &mut rng)),
        };
        for all in [false, true] {
            let shape = if all { vec![len, b, h] } else { vec![b, h] };
            let g: Tensor<f64> = random(&shape, 1.0, &mut rng);
            let mut run = |k: i32| {
                let mut gk = g.clone();
                gk.data_mut().iter_mut().for_each(|v| *v *= pow2(-k));
                layer.zero_grad();
                layer.forward(&x, Some(&state));
                layer.backward(if all {
                    OutputGrad::All(&gk)
                } else {
                    OutputGrad::Last(&gk)
                });
                (grads(layer), layer.step_scale.clone())
            };
            let (plain, e0) = run(0);
            assert!(e0.iter().all(|&e| e == 0));
            let (scaled, e400) = run(400);
            assert!(e400.iter().all(|&e| e == 300), "{e400:?}");
            for (k, (p, s)) in plain.iter().zip(&scaled).enumerate() {
                assert_eq!(p.len(), s.len());
                for (j, (a, b)) in p.iter().zip(s).enumerate() {
                    assert_eq!(a * pow2(-400), *b, "all = {all}, gradient {k}[{j}]");
                }
            }
            let (scaled, e600) = run(600);
            assert!(e600.iter().all(|&e| e >= 300), "{e600:?}");
            for (k, (p, s)) in plain.iter().zip(&scaled).enumerate() {
                for (j, (a, b)) in p.iter().zip(s).enumerate() {
                    let a = a * pow2(-600);
                    assert!(
                        (a - b).abs() <= 1e-13 * a.abs(),
                        "all = {all}, gradient {k}[{j}]: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn rescaled_backward_is_exact() {
        let mut rng = Rng::seed(1);
        let mut rnn = UnrolledLayer::new(RnnCell::<f64>::new(4, 5, &mut rng));
        check_rescaling(&mut rnn, 2);
        let mut lstm = UnrolledLayer::new(LstmCell::<f64>::new(4, 5, &mut rng));
        check_rescaling(&mut lstm, 3);
        let mut gru = UnrolledLayer::new(GruCell::<f64>::new(4, 5, &mut rng));
        check_rescaling(&mut gru, 4);
    }

    /// An f32 RNN whose gradient vanishes far below f32's range over 100 steps: the norms
    /// ‖∂L/∂h_t‖ still match f64 (where plain f32 arithmetic would give 0 or subnormal
    /// noise), and so do the parameter gradients.
    #[test]
    fn vanishing_f32_gradient_matches_f64() {
        let (len, b, i, h) = (100, 4, 8, 16);
        let mut rng = Rng::seed(5);
        let mut w64 = CellWeights::<f64>::uniform("", 1, i, h, &mut rng);
        w64.weight_hh
            .value
            .data_mut()
            .iter_mut()
            .for_each(|v| *v *= 0.5);
        let cast = |p: &Param<f64>| p.value.cast::<f32>();
        let w32 = CellWeights::<f32>::new(
            "",
            1,
            cast(&w64.weight_ih),
            cast(&w64.weight_hh),
            cast(&w64.bias_ih),
            cast(&w64.bias_hh),
        );
        let mut a = UnrolledLayer::new(RnnCell::from_weights(w64, Activation::Tanh));
        let mut c = UnrolledLayer::new(RnnCell::from_weights(w32, Activation::Tanh));
        let x = random::<f64>(&[len, b, i], 1.0, &mut rng);
        let g = random::<f64>(&[b, h], 1.0, &mut rng);
        a.forward(&x, None);
        c.forward(&x.cast(), None);
        let na = a.backward(OutputGrad::Last(&g));
        let nc = c.backward(OutputGrad::Last(&g.cast()));
        assert!(
            na[0] < 1e-45,
            "the gradient should vanish below f32's range: {}",
            na[0]
        );
        for (t, (p, q)) in na.iter().zip(&nc).enumerate() {
            assert!((p - q).abs() <= 1e-3 * p, "step {t}: f64 {p} vs f32 {q}");
        }
        for (p, q) in a.params().iter().zip(c.params()) {
            let (p, q) = (p.grad.to_f64_vec(), q.grad.to_f64_vec());
            let scale = p.iter().fold(0f64, |m, v| m.max(v.abs()));
            for (u, v) in p.iter().zip(&q) {
                assert!((u - v).abs() <= 1e-4 * scale, "{u} vs {v}");
            }
        }
    }

    #[test]
    fn rescale_edge_cases() {
        assert_eq!(rescale(0.0, 0, 40), 0);
        assert_eq!(rescale(f64::NAN, 80, 40), 0);
        assert_eq!(rescale(f64::INFINITY, 0, 40), 0);
        assert_eq!(rescale(f64::INFINITY, 80, 40), 0);
        assert_eq!(rescale(pow2(-100), 0, 40), 80);
        assert_eq!(rescale(1.0, 40, 40), 0);
        assert_eq!(rescale(pow2(100), 120, 40), -80);
        let mut v = [1.0f32, pow2(-130) as f32, -3.0, f32::MIN_POSITIVE];
        scale_down(&mut v, 20);
        assert_eq!(v, [pow2(-20) as f32, 0.0, -3.0 * pow2(-20) as f32, 0.0]);
    }
}
