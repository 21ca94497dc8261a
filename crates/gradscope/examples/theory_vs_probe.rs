//! The mean-field theory's prediction against a measurement: a wide tanh network at
//! initialization, weights W ~ N(0, σ_w²/fan_in), one forward and backward pass on random
//! standardized inputs, measured by the gradient probe; the theory predicts the factor
//! ‖δ_l‖/‖δ_{l+1}‖ = √χ₁(q^l) layer by layer, with χ₁(q) = σ_w² E[f'(√q z)²] and q^l the
//! length map's variance of layer l (`gradscope::theory::propagate`).
//!
//! Run with `cargo run --release -p gradscope --example theory_vs_probe`.

use gradscope::diagnostics::{predict, DiagnosticsConfig, Probe, StepContext};
use gradscope::init::Init;
use gradscope::loss::Loss;
use gradscope::model::MlpSpec;
use gradscope::theory::{mean_field, propagate};
use gradscope::{Activation, Rng, Tensor};

const WIDTH: usize = 512;
const DEPTH: usize = 12;
const BATCH: usize = 64;

fn main() -> gradscope::Result<()> {
    let tanh = Activation::Tanh;
    // Ordered (σ_w² < 1: the gradient vanishes), the critical line of σ_b² = 0 and chaotic.
    for sigma_w2 in [0.5, 1.0, 3.0] {
        let spec = MlpSpec {
            init: Init::KaimingNormal {
                gain: f64::sqrt(sigma_w2),
                fan_out: false,
            },
            bias: false,
            ..MlpSpec::new(WIDTH, &[WIDTH; DEPTH], 10, tanh)
        };
        let mut rng = Rng::seed(7);
        let mut model = spec.build::<f64>(&mut rng)?;
        let x = Tensor::from_vec(
            &[BATCH, WIDTH],
            (0..BATCH * WIDTH).map(|_| rng.normal()).collect(),
        )?;
        let y = Tensor::from_vec(
            &[BATCH, 10],
            (0..BATCH * 10).map(|_| rng.normal()).collect(),
        )?;
        model.forward_backward(&x, &y, Loss::Mse)?;

        // The probe measures ‖δ_l‖ = ‖∂L/∂z_l‖ of every hidden layer (and q⁰ from the input).
        let mut probe = Probe::new(DiagnosticsConfig::default());
        let at = StepContext {
            step: 1,
            epoch: 1,
            loss: 0.0,
            grad_norm: 0.0,
        };
        probe.measure(&model, Some(&x), at);
        let record = probe.finish(&model).expect("measured");
        let deltas = record.deltas(); // (depth l, ‖δ_l‖), l = 1..=DEPTH

        // The theory: q⁰ = 1 (standard normal inputs), σ_b² = 0.
        let theory = propagate(&tanh, sigma_w2, 0.0, 1.0, DEPTH)?;
        let mf = mean_field(&tanh, sigma_w2, 0.0)?;
        println!(
            "tanh, σ_w² = {sigma_w2}: {} phase, q* = {:.3}, χ₁ = {:.3} at q*",
            mf.phase, mf.q_star, mf.chi1
        );
        println!("   l     q^l   predicted √χ₁(q^l)   measured ‖δ_l‖/‖δ_l+1‖");
        let mut worst: f64 = 0.0;
        for w in deltas.windows(2) {
            let ((l, dl), (_, dnext)) = (w[0], w[1]);
            let layer = &theory.layers[l - 1];
            let (predicted, measured) = (layer.chi1.sqrt(), dl / dnext);
            worst = worst.max((measured / predicted - 1.0).abs());
            println!(
                "  {l:>2}  {:6.3}   {predicted:18.4}   {measured:22.4}",
                layer.q
            );
        }
        let (first, last) = (deltas[0].1, deltas[DEPTH - 1].1);
        let predicted: f64 = theory.layers[..DEPTH - 1]
            .iter()
            .map(|l| l.chi1.sqrt())
            .product();
        println!(
            "  ‖δ_1‖/‖δ_{DEPTH}‖: predicted {predicted:.3e}, measured {:.3e}; largest per-layer \
             deviation {:.1}%",
            first / last,
            100.0 * worst
        );
        // The same comparison as `gradscope diagnose` makes it, from the record alone.
        if let Ok(p) = predict(&record) {
            println!(
                "  diagnostics::predict: transient factor {:.4}, measured {:.4}, phase {}\n",
                p.transient_factor, p.measured_factor, p.phase
            );
        }
        assert!(worst < 0.15, "the wide network departs from the theory");
    }
    Ok(())
}
