//! `training.train_eval`: each epoch's train_loss/train_accuracy as the running mean of the
//! batches (default) or a full pass; and no ∂L/∂x for the first layer unless asked.

use std::path::PathBuf;

use gradscope::config::{Config, LoadedConfig, TrainEval};
use gradscope::diagnostics::{DiagnosticsConfig, Probe, StepContext};
use gradscope::loss::Loss;
use gradscope::model::{MlpSpec, ModelSpec, SequenceSpec};
use gradscope::recurrent::{CellKind, RecurrentSpec};
use gradscope::train::{Observer, Split, StepScalars, Trainer};
use gradscope::{Activation, Rng, Tensor};

fn loaded(text: &str, sets: &[&str]) -> LoadedConfig {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    LoadedConfig {
        config: Config::parse(text, "run.toml", &sets).unwrap(),
        source: "run.toml".into(),
        base_dir: PathBuf::from("."),
    }
}

const DIGITS: &str = r#"
seed = 3
dtype = "f64"
[data]
source = "digits"
limit = 300
[model]
hidden = [16]
[training]
epochs = 2
batch_size = 50
scalars_every = 1
optimizer = { kind = "sgd", lr = 0.1 }
"#;

#[derive(Default)]
struct Losses(Vec<StepScalars>);
impl Observer for Losses {
    fn on_scalars(&mut self, s: &StepScalars) -> gradscope::Result<()> {
        self.0.push(*s);
        Ok(())
    }
}

#[test]
fn running_train_loss_is_the_sample_weighted_mean_of_the_batch_losses() {
    let l = loaded(DIGITS, &[]);
    assert_eq!(l.config.training.train_eval, TrainEval::Running);
    let mut t = Trainer::<f64>::new(&l).unwrap();
    let n = t.splits.train.len();
    let bs = 50;
    assert!(
        !n.is_multiple_of(bs),
        "a short last batch makes the weights matter: n = {n}"
    );
    let mut steps = Losses::default();
    let run = t.run_collecting(&mut steps).unwrap();
    let per_epoch = n.div_ceil(bs);
    assert_eq!(steps.0.len(), 2 * per_epoch);
    for (e, rec) in run.epochs.iter().enumerate() {
        let batches = &steps.0[e * per_epoch..(e + 1) * per_epoch];
        let weighted: f64 = batches
            .iter()
            .enumerate()
            .map(|(b, s)| s.loss * (bs.min(n - b * bs)) as f64)
            .sum();
        let want = weighted / n as f64;
        assert!(
            (rec.train_loss - want).abs() < 1e-12 * want,
            "epoch {}: {} vs {want}",
            e + 1,
            rec.train_loss
        );
        // Not the unweighted mean of the batch losses (`loss`): the last batch is short.
        assert_ne!(rec.train_loss, rec.loss);
        let acc = rec.train_accuracy.expect("classification");
        assert!((0.0..=1.0).contains(&acc), "{acc}");
        // A whole number of correct predictions out of n.
        assert!(((acc * n as f64) - (acc * n as f64).round()).abs() < 1e-9);
    }
    // The final summary is a full pass whatever the mode.
    assert_eq!(run.summary.train, t.evaluate(Split::Train).unwrap());
}

#[test]
fn running_mode_with_one_full_batch_measures_the_weights_at_the_epochs_start() {
    // One batch of every sample, no dropout/batch norm, no shuffling: the running value is
    // the training set's loss and accuracy at the weights before the epoch's step.
    let sets = [
        "training.batch_size=0",
        "training.shuffle=false",
        "training.epochs=1",
    ];
    let mut t = Trainer::<f64>::new(&loaded(DIGITS, &sets)).unwrap();
    let before = t.evaluate(Split::Train).unwrap().unwrap();
    let run = t.run_collecting(&mut Losses::default()).unwrap();
    let rec = &run.epochs[0];
    assert!(
        (rec.train_loss - before.loss).abs() < 1e-12,
        "{rec:?} {before:?}"
    );
    assert_eq!(rec.train_accuracy, before.accuracy);
    // The end-of-epoch weights give another value: what "full" reports.
    let after = t.evaluate(Split::Train).unwrap().unwrap();
    assert!((after.loss - before.loss).abs() > 1e-6);
}

#[test]
fn full_mode_is_an_eval_pass_at_the_end_of_the_epoch() {
    let sets = ["training.train_eval=\"full\"", "training.epochs=1"];
    let l = loaded(DIGITS, &sets);
    assert_eq!(l.config.training.train_eval, TrainEval::Full);
    let mut t = Trainer::<f64>::new(&l).unwrap();
    let run = t.run_collecting(&mut Losses::default()).unwrap();
    let end = t.evaluate(Split::Train).unwrap().unwrap();
    assert_eq!(run.epochs[0].train_loss, end.loss);
    assert_eq!(run.epochs[0].train_accuracy, end.accuracy);
}

#[test]
fn a_bad_train_eval_names_the_file_line_field_and_values() {
    let text = "[model]\n[training]\ntrain_eval = \"sometimes\"\n";
    let e = Config::parse(text, "run.toml", &[])
        .unwrap_err()
        .to_string();
    for part in ["run.toml", "line 3", "train_eval", "running", "full"] {
        assert!(e.contains(part), "{part} missing from: {e}");
    }
    // Only the default is left out of a resolved config.
    let full = "[model]\n[training]\ntrain_eval = \"full\"\n";
    let full = Config::parse(full, "run.toml", &[]).unwrap();
    assert!(toml::to_string(&full)
        .unwrap()
        .contains("train_eval = \"full\""));
    let running = Config::parse("[model]\n", "run.toml", &[]).unwrap();
    assert!(!toml::to_string(&running).unwrap().contains("train_eval"));
}

/// Training computes no ∂L/∂x for the model's first layer (nothing reads it: the probe and
/// `grads` start at layer 0's output); every later layer's is computed.
#[test]
fn the_first_layers_input_gradient_is_skipped() {
    let mut rng = Rng::seed(5);
    let mlp = ModelSpec::from(MlpSpec::new(6, &[8, 8], 3, Activation::Relu));
    let head = MlpSpec::new(0, &[], 3, Activation::Identity);
    let seq = ModelSpec::from(SequenceSpec::new(
        2,
        RecurrentSpec::new(CellKind::Gru, 5),
        head,
    ));
    for (spec, cols) in [(mlp, 6), (seq, 2 * 4)] {
        let mut model = spec.build::<f64>(&mut rng).unwrap();
        let x =
            Tensor::from_vec(&[4, cols], (0..4 * cols).map(|_| rng.normal()).collect()).unwrap();
        let y = Tensor::from_vec(&[4], vec![0.0, 1.0, 2.0, 1.0]).unwrap();
        let loss = model.forward_backward(&x, &y, Loss::CrossEntropy).unwrap();
        assert!(model.layers[0].grad_input().is_empty(), "{spec:?}");
        for (i, l) in model.layers.iter().enumerate().skip(1) {
            assert_eq!(l.grad_input().len(), model.layers[i - 1].output().len());
        }
        // The probe measures every layer without it.
        let mut probe = Probe::new(DiagnosticsConfig::default());
        let at = StepContext {
            step: 1,
            epoch: 1,
            loss,
            grad_norm: 0.0,
        };
        probe.measure(&model, Some(&x), at);
        let rec = probe.finish(&model).unwrap();
        assert_eq!(rec.layers[0].grad_in_norm, None);
        if cols == 6 {
            // The first Linear's ∂L/∂W is there all the same.
            assert!(rec.layers[0].weight_grad_norm.is_some_and(|g| g > 0.0));
        }
        assert!(rec.layers[1..].iter().all(|l| l.grad_in_norm.is_some()));
    }
}
