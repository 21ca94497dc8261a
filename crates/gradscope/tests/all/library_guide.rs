//! The Rust snippets of docs/library.md, compiled and run: each region between `--8<--`
//! markers is copied into the guide, and tests/all/doc_snippets.rs checks that the copies
//! are still lines of this file.

use gradscope::config::Config;
use gradscope::diagnostics::Flow;
use gradscope::loss::Loss;
use gradscope::model::{MlpSpec, ModelSpec, SequenceSpec};
use gradscope::recurrent::{CellKind, RecurrentSpec};
use gradscope::train::Trainer;
use gradscope::{Activation, Rng, Tensor};

#[test]
fn the_typed_config_path() -> gradscope::Result<()> {
    // --8<-- [start:config]
    use gradscope::config::{Config, DataConfig, DataSource, TrainingConfig};
    use gradscope::diagnostics::DiagnosticsConfig;
    use gradscope::loss::Loss;
    use gradscope::model::{MlpSpec, SequenceSpec};
    use gradscope::optim::{ClipConfig, OptimizerConfig, SgdConfig};
    use gradscope::recurrent::{CellKind, RecurrentSpec};

    let sgd = SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        ..SgdConfig::default()
    };
    let training = TrainingConfig::default()
        .with_epochs(20)
        .with_batch_size(64)
        .with_optimizer(OptimizerConfig::Sgd(sgd))
        .with_clip(ClipConfig::Norm { max_norm: 1.0 });
    let probe = DiagnosticsConfig {
        every: 10,
        ..DiagnosticsConfig::default()
    };
    let mlp = Config::new(MlpSpec {
        hidden: vec![64; 4],
        ..MlpSpec::default()
    })
    .with_seed(7)
    .with_training(training)
    .with_diagnostics(probe);

    let adding = DataConfig {
        source: DataSource::Adding,
        n: Some(2000),
        seq_len: Some(50),
        ..DataConfig::default()
    };
    let encoder = RecurrentSpec::new(CellKind::Lstm, 32);
    let lstm = Config::new(SequenceSpec::new(0, encoder, MlpSpec::default()))
        .with_data(adding)
        .with_training(TrainingConfig::default().with_loss(Loss::Mse).with_lr(0.01));
    // --8<-- [end:config]
    mlp.validate()?;
    let trainer = Trainer::<f32>::from_config(lstm)?;
    let encoder = trainer.model.layers[0].as_recurrent().expect("the encoder");
    assert_eq!(encoder.input_size(), 2); // [value, marker] per step
    assert_eq!(trainer.splits.train.seq_len(), Some(50));
    Ok(())
}

#[test]
fn remedies_are_values() -> gradscope::Result<()> {
    let config = Config::new(MlpSpec {
        hidden: vec![16; 6],
        activation: Activation::Sigmoid,
        ..MlpSpec::default()
    });
    let diagnosis = Trainer::<f32>::from_config(config.clone())?.diagnose(10)?;
    assert_eq!(diagnosis.verdict.flow, Flow::Vanishing);
    // --8<-- [start:remedy]
    let advice = &diagnosis.verdict.remedies[0];
    let next: Config = advice.remedy.apply(&config)?; // the config with the remedy applied
    let sets: Vec<String> = advice.remedy.overrides(); // the same, as `--set` strings
    let mut trainer = Trainer::<f32>::from_config(next)?; // and judge again
    let after = trainer.diagnose(50)?;
    // --8<-- [end:remedy]
    assert_eq!(sets, advice.overrides);
    assert_eq!(after.verdict.flow, Flow::Healthy);
    Ok(())
}

#[test]
fn recurrent_gradients_per_step() -> gradscope::Result<()> {
    let encoder = RecurrentSpec::new(CellKind::Lstm, 8);
    let head = MlpSpec::new(0, &[], 1, Activation::Tanh);
    let spec = ModelSpec::from(SequenceSpec::new(2, encoder, head));
    let mut rng = Rng::seed(5);
    let mut model = spec.build::<f64>(&mut rng)?;
    let (b, t) = (3, 7);
    let x = Tensor::from_vec(&[b, 2 * t], (0..b * 2 * t).map(|_| rng.normal()).collect())?;
    let y = Tensor::from_vec(&[b, 1], vec![1.0; b])?;
    // --8<-- [start:recurrent]
    let encoder = model.layers[0]
        .as_recurrent_mut()
        .expect("a sequence model");
    encoder.set_keep_step_grads(true);
    model.forward_backward(&x, &y, Loss::Mse)?;
    let encoder = model.layers[0].as_recurrent().expect("a sequence model");
    let dh = encoder.grad_hidden(0).expect("kept"); // ∂L/∂h_t of layer 0, [T, B, H]
    let dc = encoder.grad_cell(0).expect("an LSTM"); // ∂L/∂c_t, [T, B, H]
                                                     // --8<-- [end:recurrent]
    assert_eq!(dh.shape(), [t, b, 8]);
    assert_eq!(dc.shape(), [t, b, 8]);
    Ok(())
}

#[test]
fn errors_name_the_field() {
    // --8<-- [start:errors]
    let text = "[model]\nhidden = [8]\n\n[training]\nepochs = 2\n# a typo'd sign:\nlr = -1\n";
    match Config::parse(text, "run.toml", &[]) {
        Err(e) if e.field() == Some("training.lr") => {
            assert_eq!((e.file(), e.line()), (Some("run.toml"), Some(7)));
            let printed = "run.toml:7: training.lr = -1 must be a finite number >= 0";
            assert_eq!(e.to_string(), printed);
        }
        other => panic!("{other:?}"),
    }
    // --8<-- [end:errors]
}
