//! Train a 10-layer sigmoid MLP on the embedded digits, diagnose its gradient flow, apply
//! the first remedy and diagnose again — the library alone, no CLI.
//!
//! Run with `cargo run --release -p gradscope --example diagnose_mlp`.

use gradscope::activation::Activation;
use gradscope::config::{Config, TrainingConfig};
use gradscope::diagnostics::Flow;
use gradscope::init::Init;
use gradscope::model::MlpSpec;
use gradscope::optim::{OptimizerConfig, SgdConfig};
use gradscope::train::Trainer;

fn main() -> gradscope::Result<()> {
    let model = MlpSpec {
        hidden: vec![64; 10],
        activation: Activation::Sigmoid,
        init: Init::Standard,
        ..MlpSpec::default()
    };
    let sgd = OptimizerConfig::Sgd(SgdConfig {
        lr: 0.01,
        momentum: 0.9,
        ..SgdConfig::default()
    });
    let config = Config::new(model)
        .with_seed(1)
        .with_training(TrainingConfig::default().with_optimizer(sgd));

    // 50 steps with every layer measured; sizes come from the data.
    let mut trainer = Trainer::<f32>::from_config(config.clone())?;
    let diagnosis = trainer.diagnose(50)?;
    let v = &diagnosis.verdict;
    println!(
        "verdict: {:?}, ‖δ₁‖/‖δ_L‖ = {:.2e}",
        v.flow, v.first_to_last
    );
    println!("{}", v.explanation);
    for (i, a) in v.remedies.iter().enumerate() {
        println!("  {}. {}", i + 1, a.text);
    }
    assert_eq!(v.flow, Flow::Vanishing);

    // Apply the first remedy (a typed value) and judge again.
    let fixed = v.remedies[0].remedy.apply(&config)?;
    let mut trainer = Trainer::<f32>::from_config(fixed)?;
    let after = trainer.diagnose(50)?;
    println!(
        "after `{}`: {:?}, ‖δ₁‖/‖δ_L‖ = {:.2e}",
        v.remedies[0].overrides.join(" "),
        after.verdict.flow,
        after.verdict.first_to_last
    );
    assert_eq!(after.verdict.flow, Flow::Healthy);
    Ok(())
}
