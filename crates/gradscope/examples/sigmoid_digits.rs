//! The embedding program of docs/library.md: a 10-layer sigmoid MLP on the embedded digits,
//! trained, probed, judged and compared with the mean-field theory through the public API.
//!
//! Run with `cargo run --release -p gradscope --example sigmoid_digits`.

// --8<-- [start:program]
use gradscope::config::{Config, TrainingConfig};
use gradscope::diagnostics::DiagnosticsConfig;
use gradscope::model::MlpSpec;
use gradscope::train::Trainer;
use gradscope::Activation;

fn main() -> gradscope::Result<()> {
    // The network and the run, as values; input and output sizes come from the data.
    let model = MlpSpec {
        hidden: vec![32; 10],
        activation: Activation::Sigmoid,
        ..MlpSpec::default()
    };
    let probe = DiagnosticsConfig {
        every: 10,
        ..DiagnosticsConfig::default()
    };
    let config = Config::new(model)
        .with_seed(1)
        .with_training(TrainingConfig::default().with_lr(0.01))
        .with_diagnostics(probe);

    // Train 300 steps, the probe measuring every 10th; the records are judged.
    let mut trainer = Trainer::<f32>::from_config(config.clone())?;
    let diagnosis = trainer.diagnose(300)?;
    let verdict = &diagnosis.verdict;
    println!(
        "{:?}: ‖δ₁‖/‖δ_L‖ = {:.1e}",
        verdict.flow, verdict.first_to_last
    );
    println!("{}", verdict.explanation);

    // The mean-field theory's factor ‖δ_l‖/‖δ_l+1‖ at initialization, against the probe's.
    for l in diagnosis.theory.iter().flat_map(|t| &t.layers) {
        let (depth, theory, measured) = (l.depth, l.transient_factor, l.measured_factor);
        println!("layer {depth:>2}: theory ×{theory:.3}, measured ×{measured:.3}");
    }
    println!("{}", diagnosis.theory_summary);

    // How well it learned, and the first remedy as the config to run next.
    let accuracy = diagnosis.val.and_then(|v| v.accuracy).unwrap_or(0.0);
    println!("validation accuracy: {:.1}%", 100.0 * accuracy);
    if let Some(first) = verdict.remedies.first() {
        let _next: Config = first.remedy.apply(&config)?;
        println!("next: {}", first.overrides.join(" "));
    }
    Ok(())
}
// --8<-- [end:program]
