//! A training loop written by hand, without the `Trainer`: the model, the optimizer, the
//! learning-rate schedule and two-pass global-norm clipping driven directly, as
//! docs/optimizers.md describes them (its snippets are excerpts of this file, and a test
//! checks that they still are).
//!
//! Run with `cargo run --release -p gradscope --example training_loop`.

use gradscope::activation::Activation;
use gradscope::data::{digits, BatchIter, Standardizer};
use gradscope::loss::Loss;
use gradscope::model::MlpSpec;
use gradscope::optim::{
    GlobalNormClipper, LrSchedule, LrScheduleConfig, Optimizer, OptimizerConfig, SchedulePer,
    SgdConfig,
};
use gradscope::train::{evaluate, gather};
use gradscope::{Rng, Tensor};

fn main() -> gradscope::Result<()> {
    let mut rng = Rng::seed(3);
    // The embedded digits, split 80/20 and standardized with the training split's statistics.
    let (mut train, mut val, _) = digits().split((0.8, 0.2, 0.0), &mut rng)?;
    let standardizer = Standardizer::fit(&train);
    standardizer.transform_in_place(&mut train)?;
    standardizer.transform_in_place(&mut val)?;

    let mut model = MlpSpec::new(64, &[64, 64], 10, Activation::Relu).build::<f32>(&mut rng)?;
    let loss = Loss::CrossEntropy;
    let optimizer = OptimizerConfig::Sgd(SgdConfig {
        lr: 0.05,
        momentum: 0.9,
        ..SgdConfig::default()
    });
    let epochs = 8;
    let schedule = LrScheduleConfig::Cosine {
        t_max: epochs,
        eta_min: 0.0,
        per: SchedulePer::Epoch,
        warmup: None,
    };

    // --8<-- [start:loop]
    let mut opt = Optimizer::<f32>::new(&optimizer)?; // no state yet
    let mut sched = LrSchedule::new(&schedule, opt.base_lr())?; // base rate = optimizer `lr`
    let mut clipper = GlobalNormClipper::new(1.0)?;
    let mut batches = BatchIter::new(train.len(), 32, true)?;
    let (mut x, mut y) = (Tensor::default(), Tensor::default());
    let mut largest_norm: f64 = 0.0;
    for _epoch in 0..epochs {
        for batch in batches.epoch(&mut rng) {
            gather(&train, batch, loss, &mut x, &mut y);
            // Forward and backward fill every param.grad; then two-pass global-norm clipping.
            model.forward_backward(&x, &y, loss)?;
            clipper.reset();
            model.visit_params(&mut |_, p| clipper.observe(p)); // pass 1: Σ g²
            let norm = clipper.finish()?; // pre-clip ‖g‖, or the bad parameter
            largest_norm = largest_norm.max(norm);
            model.visit_params_mut(&mut |_, p| clipper.apply(p)); // pass 2: g ← coef·g
            opt.begin_step();
            let mut result = Ok(());
            model.visit_params_mut(&mut |i, p| {
                if result.is_ok() {
                    result = opt.update(i, p, sched.lr()); // i: the parameter's stable index
                }
            });
            result?;
        }
        sched.step(None)?; // per = "epoch" (the default)
    }
    // --8<-- [end:loop]

    let (mut s, mut x, mut y) = (Tensor::default(), Tensor::default(), Tensor::default());
    let v = evaluate(&mut model, &val, loss, None, &mut x, &mut y, &mut s)?.expect("a val split");
    let accuracy = v.accuracy.expect("classes");
    println!(
        "{} steps (largest gradient norm before clipping {largest_norm:.2}), validation loss \
         {:.4}, accuracy {:.1}%",
        opt.step_count(),
        v.loss,
        100.0 * accuracy
    );
    assert!(accuracy > 0.9, "a 2-layer ReLU net learns the digits");
    Ok(())
}
