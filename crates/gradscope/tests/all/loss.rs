//! Loss values against closed forms, stability at extreme logits, bad labels.

use gradscope::loss::Loss;
use gradscope::Tensor;

fn t(shape: &[usize], v: &[f64]) -> Tensor<f64> {
    Tensor::from_f64_slice(shape, v).unwrap()
}

#[test]
fn closed_forms() {
    let mut g = Tensor::default();
    // Uniform logits over K classes: ln K; gradient (1/K − onehot)/N.
    let l = Loss::CrossEntropy
        .forward_backward(&t(&[2, 4], &[0.0; 8]), &t(&[2], &[1.0, 3.0]), &mut g)
        .unwrap();
    assert!((l - 4f64.ln()).abs() < 1e-15);
    assert!((g.data()[1] - (0.25 - 1.0) / 2.0).abs() < 1e-15);
    assert!((g.data()[0] - 0.25 / 2.0).abs() < 1e-15);
    // BCE at z = 0 is ln 2 whatever the target.
    let l = Loss::BceWithLogits
        .forward_backward(&t(&[2, 1], &[0.0, 0.0]), &t(&[2, 1], &[0.0, 1.0]), &mut g)
        .unwrap();
    assert!((l - 2f64.ln()).abs() < 1e-15);
    // MSE.
    let l = Loss::Mse
        .forward_backward(&t(&[1, 2], &[1.0, 3.0]), &t(&[1, 2], &[0.0, 1.0]), &mut g)
        .unwrap();
    assert_eq!(l, 2.5);
    assert_eq!(g.data(), &[1.0, 2.0]);
}

#[test]
fn extreme_logits_stay_finite() {
    let mut g = Tensor::<f32>::default();
    let z = Tensor::<f32>::from_f64_slice(&[1, 3], &[1e30, -1e30, 0.0]).unwrap();
    let l = Loss::CrossEntropy
        .forward_backward(&z, &Tensor::from_f64_slice(&[1], &[1.0]).unwrap(), &mut g)
        .unwrap();
    assert!(l.is_finite() && l > 1e29, "{l}");
    assert!(g.all_finite());
    let z = Tensor::<f32>::from_f64_slice(&[2, 1], &[1000.0, -1000.0]).unwrap();
    let y = Tensor::<f32>::from_f64_slice(&[2, 1], &[0.0, 1.0]).unwrap();
    let l = Loss::BceWithLogits
        .forward_backward(&z, &y, &mut g)
        .unwrap();
    assert!((l - 1000.0).abs() < 1e-3, "{l}");
    assert!(g.all_finite());
}

#[test]
fn bad_labels_and_shapes_are_errors() {
    let mut g = Tensor::default();
    let z = t(&[2, 3], &[0.0; 6]);
    let e = Loss::CrossEntropy
        .forward_backward(&z, &t(&[2], &[0.0, 3.0]), &mut g)
        .unwrap_err()
        .to_string();
    assert!(e.contains("label 3") && e.contains("sample 1"), "{e}");
    let e = Loss::CrossEntropy
        .forward_backward(&z, &t(&[2], &[0.5, 1.0]), &mut g)
        .unwrap_err()
        .to_string();
    assert!(e.contains("0.5"), "{e}");
    assert!(Loss::CrossEntropy
        .forward_backward(&z, &t(&[3], &[0.0; 3]), &mut g)
        .is_err());
    assert!(Loss::Mse
        .forward_backward(&z, &t(&[2, 2], &[0.0; 4]), &mut g)
        .is_err());
}
