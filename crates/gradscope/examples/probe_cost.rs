//! The probe's cost on W1's network (10 × (Linear 256→256 + tanh), batch 128, f32): the
//! fastest of `rounds` timings of one measurement (measure + finish) and of one training
//! step, and their ratio. `cargo run --release -p gradscope --example probe_cost [rounds]`.

use std::time::Instant;

use gradscope::diagnostics::{DiagnosticsConfig, Probe, StepContext};
use gradscope::loss::Loss;
use gradscope::model::MlpSpec;
use gradscope::{Activation, Rng, Tensor};

fn main() -> Result<(), gradscope::Error> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let mut rng = Rng::seed(0);
    let mut model = MlpSpec::new(256, &[256; 9], 10, Activation::Tanh).build::<f32>(&mut rng)?;
    let x: Vec<f64> = (0..128 * 256).map(|_| rng.normal()).collect();
    let x = Tensor::<f32>::from_f64_slice(&[128, 256], &x)?;
    let y: Vec<f64> = (0..128).map(|i| (i % 10) as f64).collect();
    let y = Tensor::<f32>::from_f64_slice(&[128], &y)?;
    let mut step = f64::INFINITY;
    for _ in 0..rounds {
        let t = Instant::now();
        model.forward_backward(&x, &y, Loss::CrossEntropy)?;
        step = step.min(t.elapsed().as_secs_f64());
    }
    let mut probe = Probe::new(DiagnosticsConfig::default());
    let at = StepContext {
        step: 1,
        epoch: 1,
        loss: 0.0,
        grad_norm: 0.0,
    };
    let mut measure = f64::INFINITY;
    for _ in 0..rounds {
        let t = Instant::now();
        probe.measure(&model, Some(&x), at);
        std::hint::black_box(probe.finish(&model));
        measure = measure.min(t.elapsed().as_secs_f64());
    }
    println!(
        "forward+backward {:.3} ms, one measurement {:.3} ms ({:.0}%)",
        step * 1e3,
        measure * 1e3,
        100.0 * measure / step
    );
    Ok(())
}
