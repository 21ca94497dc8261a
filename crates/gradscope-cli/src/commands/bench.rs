//! `gradscope bench`: standard training-step workloads, timed (ms/step and GFLOP/s).
//!
//! The same workloads run in PyTorch via `bench/pytorch_ref.py`; `bench/compare.sh` runs both
//! on the same machine and prints the ratios.

use std::time::Instant;

use anyhow::{bail, Result};
use gradscope::layer::{Linear, Module};
use gradscope::loss::Loss;
use gradscope::model::{MlpSpec, Model};
use gradscope::optim::{Optimizer, OptimizerConfig, SgdConfig};
use gradscope::recurrent::{LstmCell, OutputGrad, RecurrentCell, RnnCell, UnrolledLayer};
use gradscope::{Activation, Param, Rng, Tensor};

/// Arguments of `gradscope bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print one JSON object per workload (for scripts) instead of a line of text.
    #[arg(long)]
    json: bool,
    /// Comma-separated workloads to run.
    #[arg(long, default_value = "W1,W2,W3,W4", value_name = "W1,W2,...")]
    only: String,
    /// Training steps per timed block (the median of 5 blocks is reported).
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// Instead, measure the cost of the gradient scope: one diagnostic measurement against one
    /// training step of examples/digits-mlp.toml, and the overhead at the default interval.
    #[arg(long)]
    diagnostics_overhead: bool,
}

/// Median seconds of `f` over 7 blocks of `n` calls.
fn median_time(n: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut blocks = Vec::new();
    for _ in 0..7 {
        let t0 = Instant::now();
        for _ in 0..n {
            f()?;
        }
        blocks.push(t0.elapsed().as_secs_f64() / n as f64);
    }
    blocks.sort_by(f64::total_cmp);
    Ok(blocks[3])
}

fn diagnostics_overhead(json: bool) -> Result<()> {
    use gradscope::config::{Config, LoadedConfig};
    use gradscope::diagnostics::{DiagnosticsConfig, Probe, StepContext};
    use gradscope::train::{gather, Trainer};
    let text = include_str!("../../../../examples/digits-mlp.toml");
    let loaded = LoadedConfig {
        config: Config::parse(text, "examples/digits-mlp.toml", &[])?,
        source: "examples/digits-mlp.toml".into(),
        base_dir: ".".into(),
    };
    let mut t = Trainer::<f32>::new(&loaded)?;
    let idx: Vec<usize> = (0..32).collect();
    let (mut x, mut y) = (Tensor::default(), Tensor::default());
    gather(&t.splits.train, &idx, Loss::CrossEntropy, &mut x, &mut y);
    let mut opt = Optimizer::<f32>::new(&t.config.training.optimizer())?;
    let model = &mut t.model;
    let step = median_time(2000, || {
        model.forward_backward(&x, &y, Loss::CrossEntropy)?;
        sgd_step(model, &mut opt, 0.01)
    })?;
    let config = DiagnosticsConfig::default();
    let every = config.every;
    let mut probe = Probe::new(config);
    let measure = median_time(500, || {
        // As the trainer measures: with the batch.
        let at = StepContext {
            step: 1,
            epoch: 1,
            loss: 0.0,
            grad_norm: 0.0,
        };
        probe.measure(model, Some(&x), at);
        probe.finish(model);
        Ok(())
    })?;
    let overhead = measure / (every as f64 * step);
    if json {
        crate::outln!(
            "{}",
            serde_json::json!({
                "schema_version": gradscope::io::SCHEMA_VERSION,
                "workload": "diagnostics-overhead",
                "step_ms": step * 1e3,
                "measure_ms": measure * 1e3,
                "every": every,
                "overhead": overhead,
            })
        )?;
    } else {
        crate::outln!(
            "digits-mlp step {:.4} ms, one diagnostic measurement {:.4} ms; at every = {every}: overhead {:.2}%",
            step * 1e3,
            measure * 1e3,
            100.0 * overhead
        )?;
    }
    Ok(())
}

/// What a workload trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `depth` × (Linear width→width + tanh), softmax cross-entropy.
    Mlp,
    /// A recurrent layer over `depth` time steps with a Linear(width→1) head on the last h,
    /// MSE loss; the cell has `gates` gates (1: RNN tanh, 4: LSTM).
    Recurrent { gates: usize },
}

struct Workload {
    name: &'static str,
    description: &'static str,
    kind: Kind,
    /// Layers (MLP) or time steps T (recurrent).
    depth: usize,
    width: usize,
    batch: usize,
}

impl Workload {
    /// FLOPs of one step's matrix products (2 per multiply-add), counted as
    /// `bench/pytorch_ref.py` counts them.
    fn flops(&self) -> f64 {
        let (b, w, d) = (self.batch as f64, self.width as f64, self.depth as f64);
        match self.kind {
            // forward: depth products; backward: ∂W (depth) + ∂x (depth − 1)
            Kind::Mlp => 2.0 * b * w * w * (3.0 * d - 1.0),
            // per time step: the input and the recurrent product, forward and two backward
            // products each
            Kind::Recurrent { gates } => 2.0 * b * w * gates as f64 * w * 2.0 * 3.0 * d,
        }
    }
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "W1",
        description: "10 x (Linear 256->256 + tanh), batch 128, CE, SGD, f32",
        kind: Kind::Mlp,
        depth: 10,
        width: 256,
        batch: 128,
    },
    Workload {
        name: "W2",
        description: "50 x (Linear 64->64 + tanh), batch 32, CE, SGD, f32",
        kind: Kind::Mlp,
        depth: 50,
        width: 64,
        batch: 32,
    },
    Workload {
        name: "W3",
        description: "RNN tanh T=100, 128->128, batch 32, MSE head, SGD, f32",
        kind: Kind::Recurrent { gates: 1 },
        depth: 100,
        width: 128,
        batch: 32,
    },
    Workload {
        name: "W4",
        description: "LSTM T=100, 128->128, batch 32, MSE head, SGD, f32",
        kind: Kind::Recurrent { gates: 4 },
        depth: 100,
        width: 128,
        batch: 32,
    },
];

/// depth × (Linear width→width + tanh): hidden layers plus the output layer with a tanh head.
fn build(w: &Workload, rng: &mut Rng) -> Result<Model<f32>> {
    let mut spec = MlpSpec::new(
        w.width,
        &vec![w.width; w.depth - 1],
        w.width,
        Activation::Tanh,
    );
    spec.head = Activation::Tanh;
    Ok(spec.build::<f32>(rng)?)
}

/// A recurrent training step as in `bench/pytorch_ref.py`: x `[T, B, W]` through the
/// recurrent layer, a Linear(W→1) head on the last h, MSE against y `[B, 1]`, backward through
/// time, SGD. x needs no gradient (as in PyTorch), so the layer does not compute ∂L/∂x.
struct RecurrentStep<C> {
    layer: UnrolledLayer<f32, C>,
    head: Linear<f32>,
    x: Tensor<f32>,
    y: Tensor<f32>,
    last: Tensor<f32>,
    grad_out: Tensor<f32>,
    opt: Optimizer<f32>,
}

impl<C: RecurrentCell<f32>> RecurrentStep<C> {
    fn new(cell: C, w: &Workload, rng: &mut Rng) -> Result<Self> {
        let mut layer = UnrolledLayer::new(cell);
        layer.set_need_input_grad(false);
        // nn.Linear's default init: U[−1/√in, 1/√in] for weight and bias.
        let k = 1.0 / (w.width as f64).sqrt();
        let weight: Vec<f64> = (0..w.width).map(|_| rng.uniform(-k, k)).collect();
        let head = Linear::new(
            "head.",
            Tensor::from_f64_slice(&[1, w.width], &weight)?,
            Some(Tensor::from_f64_slice(&[1], &[rng.uniform(-k, k)])?),
        );
        let n = w.depth * w.batch * w.width;
        let x: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let y: Vec<f64> = (0..w.batch).map(|_| rng.normal()).collect();
        Ok(RecurrentStep {
            layer,
            head,
            x: Tensor::from_f64_slice(&[w.depth, w.batch, w.width], &x)?,
            y: Tensor::from_f64_slice(&[w.batch, 1], &y)?,
            last: Tensor::zeros(&[w.batch, w.width]),
            grad_out: Tensor::default(),
            opt: Optimizer::<f32>::new(&OptimizerConfig::Sgd(SgdConfig {
                lr: 0.01,
                ..SgdConfig::default()
            }))?,
        })
    }

    /// Zero grads, forward, loss, backward, SGD update.
    fn step(&mut self) -> Result<()> {
        self.layer.zero_grad();
        for p in self.head_params() {
            p.zero_grad();
        }
        let out = self.layer.forward(&self.x, None);
        let n = self.last.len();
        self.last
            .data_mut()
            .copy_from_slice(&out.data()[out.len() - n..]);
        // A linear layer draws nothing from the generator.
        self.head.forward(&self.last, &mut Rng::seed(0));
        Loss::Mse.forward_backward(self.head.output(), &self.y, &mut self.grad_out)?;
        self.head.backward(&self.last, &self.grad_out, true);
        self.layer
            .backward(OutputGrad::Last(self.head.grad_input()));
        self.opt.begin_step();
        let RecurrentStep {
            layer, head, opt, ..
        } = self;
        let head_params = [Some(&mut head.weight), head.bias.as_mut()];
        for (i, p) in layer
            .params_mut()
            .into_iter()
            .chain(head_params.into_iter().flatten())
            .enumerate()
        {
            opt.update(i, p, 0.01)?;
        }
        Ok(())
    }

    fn head_params(&mut self) -> impl Iterator<Item = &mut Param<f32>> {
        std::iter::once(&mut self.head.weight).chain(self.head.bias.as_mut())
    }
}

/// One optimizer step with the library's SGD (the same code `train` uses).
fn sgd_step(model: &mut Model<f32>, opt: &mut Optimizer<f32>, lr: f64) -> Result<()> {
    opt.begin_step();
    let mut err = None;
    model.visit_params_mut(&mut |i, p| {
        if let Err(e) = opt.update(i, p, lr) {
            err.get_or_insert(e);
        }
    });
    err.map_or(Ok(()), |e| Err(e.into()))
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    if args.steps == 0 {
        bail!("--steps must be >= 1 (training steps per timed block), got 0");
    }
    if args.diagnostics_overhead {
        return diagnostics_overhead(args.json);
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for name in args.only.split(',').map(str::trim) {
        let Some(w) = WORKLOADS.iter().find(|w| w.name.eq_ignore_ascii_case(name)) else {
            bail!(
                "--only: unknown workload `{name}`; valid: {}",
                WORKLOADS
                    .iter()
                    .map(|w| w.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        let mut rng = Rng::seed(0);
        let mut step: Box<dyn FnMut() -> Result<()>> = match w.kind {
            Kind::Mlp => {
                let mut model = build(w, &mut rng)?;
                let x: Vec<f64> = (0..w.batch * w.width).map(|_| rng.normal()).collect();
                let x = Tensor::<f32>::from_f64_slice(&[w.batch, w.width], &x)?;
                let y: Vec<f64> = (0..w.batch).map(|_| rng.below(w.width) as f64).collect();
                let y = Tensor::<f32>::from_f64_slice(&[w.batch], &y)?;
                let mut opt = Optimizer::<f32>::new(&OptimizerConfig::Sgd(SgdConfig {
                    lr: 0.01,
                    ..SgdConfig::default()
                }))?;
                Box::new(move || {
                    model.forward_backward(&x, &y, Loss::CrossEntropy)?;
                    sgd_step(&mut model, &mut opt, 0.01)
                })
            }
            Kind::Recurrent { gates: 1 } => {
                let cell = RnnCell::new(w.width, w.width, &mut rng);
                let mut s = RecurrentStep::new(cell, w, &mut rng)?;
                Box::new(move || s.step())
            }
            Kind::Recurrent { .. } => {
                let cell = LstmCell::new(w.width, w.width, &mut rng);
                let mut s = RecurrentStep::new(cell, w, &mut rng)?;
                Box::new(move || s.step())
            }
        };
        for _ in 0..args.warmup {
            step()?;
        }
        let mut blocks = Vec::new();
        for _ in 0..5 {
            let t0 = Instant::now();
            for _ in 0..args.steps {
                step()?;
            }
            blocks.push(t0.elapsed().as_secs_f64() / args.steps as f64);
        }
        blocks.sort_by(f64::total_cmp);
        let ms = blocks[2] * 1e3;
        let flops = w.flops();
        let gflops = flops / (ms * 1e-3) / 1e9;
        if args.json {
            crate::outln!(
                "{}",
                serde_json::json!({
                    "schema_version": gradscope::io::SCHEMA_VERSION,
                    "workload": w.name,
                    "framework": "gradscope",
                    "version": env!("CARGO_PKG_VERSION"),
                    "threads": threads,
                    "ms_per_step": ms,
                    "gflops": gflops,
                    "description": w.description,
                })
            )?;
        } else {
            crate::outln!(
                "{}  {ms:8.3} ms/step  {gflops:7.2} GFLOP/s  ({})",
                w.name,
                w.description
            )?;
        }
    }
    Ok(())
}
