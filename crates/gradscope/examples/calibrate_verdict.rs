//! Calibration of the verdict at initialization against what trains (docs/diagnostics.md,
//! "Calibration"): over a grid of activations × initializations × depths × normalization ×
//! optimizer on the embedded digits, the verdict's `will_train` at step 1 against whether
//! the run *trains* — test accuracy ≥ [`TRAINS`] after [`EPOCHS`] epochs. Prints every run,
//! the confusion matrix, the agreement and the disagreements.
//!
//! Run with `cargo run --release -p gradscope --example calibrate_verdict` (one process,
//! one seed per grid point, about 10 minutes on one core); `-- --quick` runs a 24-point
//! subset.

use gradscope::config::{Config, TrainingConfig};
use gradscope::diagnostics::{DiagnosticsConfig, Flow};
use gradscope::init::Init;
use gradscope::model::{MlpSpec, Norm};
use gradscope::optim::{AdamConfig, OptimizerConfig, SgdConfig};
use gradscope::train::{Split, Trainer};
use gradscope::Activation;

/// "Trains": test accuracy at least this after [`EPOCHS`] epochs (chance is 10%).
const TRAINS: f64 = 0.80;
/// Epochs of every run.
const EPOCHS: usize = 10;
/// Hidden width.
const WIDTH: usize = 64;

/// One grid point.
#[derive(Clone)]
struct Point {
    activation: Activation,
    init: (&'static str, Init),
    depth: usize,
    norm: Norm,
    optimizer: &'static str,
}

/// What the verdict said at step 1 and what the run reached.
struct Outcome {
    flow: Flow,
    log10_ratio: f64,
    confidence: &'static str,
    /// The largest dead share of a hidden layer at step 1.
    dead: f64,
    problems: String,
    will_train: bool,
    accuracy: f64,
}

fn optimizer(name: &str) -> OptimizerConfig {
    match name {
        "sgd" => OptimizerConfig::Sgd(SgdConfig {
            lr: 0.01,
            momentum: 0.9,
            ..SgdConfig::default()
        }),
        _ => OptimizerConfig::Adam(AdamConfig {
            lr: 1e-3,
            ..AdamConfig::default()
        }),
    }
}

fn run(p: &Point, seed: u64) -> gradscope::Result<Outcome> {
    let model = MlpSpec {
        hidden: vec![WIDTH; p.depth],
        activation: p.activation,
        init: p.init.1,
        norm: p.norm,
        ..MlpSpec::default()
    };
    // Measure step 1 alone (the initialization); no histograms.
    let probe = DiagnosticsConfig {
        every: u64::MAX,
        histograms: false,
        ..DiagnosticsConfig::default()
    };
    let config = Config::new(model)
        .with_seed(seed)
        .with_training(
            TrainingConfig::default()
                .with_optimizer(optimizer(p.optimizer))
                .with_batch_size(32)
                .with_epochs(EPOCHS),
        )
        .with_diagnostics(probe);
    let mut trainer = Trainer::<f32>::from_config(config)?;
    let steps = (EPOCHS * trainer.batches_per_epoch()) as u64;
    let d = trainer.diagnose(steps)?;
    let accuracy = trainer
        .evaluate(Split::Test)?
        .and_then(|e| e.accuracy)
        .filter(|a| a.is_finite())
        .unwrap_or(0.0);
    let init = &d.verdict_at_init;
    Ok(Outcome {
        flow: init.flow,
        log10_ratio: init.severity.log10_ratio,
        confidence: init.severity.confidence.name(),
        dead: d
            .layers
            .iter()
            .filter_map(|l| l.dead_fraction)
            .fold(0.0, f64::max),
        problems: init
            .problems
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join("+"),
        will_train: init.will_train,
        accuracy,
    })
}

fn grid(quick: bool) -> Vec<Point> {
    let acts = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::Gelu,
        Activation::Softsign,
    ];
    let inits: [(&str, Init); 3] = [
        ("standard", Init::Standard),
        ("xavier", Init::XavierNormal { gain: 1.0 }),
        (
            "kaiming",
            Init::KaimingNormal {
                gain: 0.0,
                fan_out: false,
            },
        ),
    ];
    let depths: &[usize] = if quick { &[3, 20] } else { &[3, 10, 30] };
    let norms: &[Norm] = if quick {
        &[Norm::None]
    } else {
        &[Norm::None, Norm::Batchnorm]
    };
    let opts: &[&str] = if quick { &["sgd"] } else { &["sgd", "adam"] };
    let mut out = Vec::new();
    for &activation in acts.iter().take(if quick { 4 } else { 5 }) {
        for &init in &inits {
            for &depth in depths {
                for &norm in norms {
                    for &optimizer in opts {
                        out.push(Point {
                            activation,
                            init,
                            depth,
                            norm,
                            optimizer,
                        });
                    }
                }
            }
        }
    }
    if quick {
        out.truncate(24);
    }
    out
}

fn main() -> gradscope::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let points = grid(quick);
    let start = std::time::Instant::now();
    // [predicted][actual]: index 0 = trains, 1 = does not.
    let mut confusion = [[0usize; 2]; 2];
    let mut by_optimizer: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    let mut by_confidence: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    let mut disagreements = Vec::new();
    println!(
        "{:<9} {:<9} {:>5} {:<9} {:<4} | {:<9} {:>6} {:<6} {:>5} {:<11} {:>4} | {:>6} {:>6}",
        "act",
        "init",
        "depth",
        "norm",
        "opt",
        "flow",
        "log10",
        "conf",
        "dead%",
        "problems",
        "pred",
        "test%",
        "trains"
    );
    for (i, p) in points.iter().enumerate() {
        let o = run(p, 1 + i as u64)?;
        let trains = o.accuracy >= TRAINS;
        confusion[usize::from(!o.will_train)][usize::from(!trains)] += 1;
        let e = by_optimizer.entry(p.optimizer).or_default();
        e.0 += usize::from(o.will_train == trains);
        e.1 += 1;
        let c = by_confidence.entry(o.confidence).or_default();
        c.0 += usize::from(o.will_train == trains);
        c.1 += 1;
        let line = format!(
            "{:<9} {:<9} {:>5} {:<9} {:<4} | {:<9} {:>+6.2} {:<6} {:>5.0} {:<11} {:>4} | {:>6.1} {:>6}",
            p.activation.to_string(),
            p.init.0,
            p.depth,
            p.norm.name(),
            p.optimizer,
            o.flow.name(),
            o.log10_ratio,
            o.confidence,
            100.0 * o.dead,
            if o.problems.is_empty() { "-" } else { &o.problems },
            if o.will_train { "yes" } else { "no" },
            100.0 * o.accuracy,
            if trains { "yes" } else { "no" }
        );
        println!("{line}");
        if o.will_train != trains {
            disagreements.push(line);
        }
    }
    let n = points.len();
    let agree = confusion[0][0] + confusion[1][1];
    println!(
        "\n{n} runs, {EPOCHS} epochs each, width {WIDTH}; trains = test accuracy >= {:.0}%; \
         {:.0} s",
        100.0 * TRAINS,
        start.elapsed().as_secs_f64()
    );
    println!("\n| verdict at init \\ outcome | trains | does not train |");
    println!("| --- | --- | --- |");
    println!(
        "| will train (healthy, no problem) | {} | {} |",
        confusion[0][0], confusion[0][1]
    );
    println!(
        "| will not train | {} | {} |",
        confusion[1][0], confusion[1][1]
    );
    println!(
        "\nagreement: {agree}/{n} = {:.1}%",
        100.0 * agree as f64 / n as f64
    );
    for (key, (a, m)) in by_optimizer.iter().chain(&by_confidence) {
        println!("  {key}: {a}/{m} = {:.1}%", 100.0 * *a as f64 / *m as f64);
    }
    println!("\ndisagreements ({}):", disagreements.len());
    for d in &disagreements {
        println!("{d}");
    }
    Ok(())
}
