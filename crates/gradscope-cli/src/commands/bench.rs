//! `gradscope bench`: standard training-step workloads, timed (ms/step and GFLOP/s).
//!
//! The same workloads run in PyTorch via `bench/pytorch_ref.py`; `bench/compare.sh` runs both
//! on the same machine and prints the ratios.

use std::borrow::Cow;
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
    #[arg(long, default_value = "W1,W2,W3,W4,W5,W6,W7", value_name = "W1,W2,...")]
    only: String,
    /// Training steps per timed block (the median of 5 blocks is reported); W7, whose step is
    /// ten times slower, runs a tenth of them (and of the warm-up).
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// Instead, measure the cost of the gradient scope: one diagnostic measurement against one
    /// training step of examples/digits-mlp.toml, and the overhead at the default interval.
    #[arg(long, conflicts_with_all = ["only", "mlp", "lstm"])]
    diagnostics_overhead: bool,
    /// Instead of `--only`: W1's kind of network at the given size, `depth` × (Linear
    /// width→width + tanh) on a batch of `batch` (e.g. `512x10x128`; for scaling curves,
    /// `bench/scaling.py`).
    #[arg(long, value_name = "WIDTHxDEPTHxBATCH", conflicts_with = "only")]
    mlp: Option<String>,
    /// Instead of `--only`: W4's kind of workload at the given size, an LSTM with `h` units
    /// over `t` time steps on a batch of `batch` (e.g. `128x1000x32`).
    #[arg(long, value_name = "HxTxBATCH", conflicts_with = "only")]
    lstm: Option<String>,
}

/// Parses `AxBxC` (three integers ≥ 1, as `--flag` gives them) into `[A, B, C]`, and checks
/// that the workload's largest tensor, `largest([A, B, C])` elements, stays below 2³¹.
fn parse_size(
    flag: &str,
    form: &str,
    text: &str,
    largest: impl Fn([usize; 3]) -> Option<usize>,
) -> Result<[usize; 3]> {
    let parts: Vec<&str> = text.trim().split(['x', 'X']).collect();
    let [a, b, c] = parts[..] else {
        bail!("--{flag} {text:?}: expected {form}, three integers joined by `x` (e.g. 256x10x128)");
    };
    let mut out = [0usize; 3];
    for ((v, part), name) in out.iter_mut().zip([a, b, c]).zip(form.split('x')) {
        *v = match part.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => bail!("--{flag} {text:?}: {name} must be an integer >= 1, got {part:?}"),
        };
    }
    match largest(out) {
        Some(n) if n < 1 << 31 => Ok(out),
        _ => bail!(
            "--{flag} {text:?}: too large (a tensor of this workload would hold 2^31 or more \
             values)"
        ),
    }
}

/// Refuses a sized workload whose f32 tensors (`values` in all, estimated) would not fit in
/// the memory this machine allows ([`gradscope::memory::MemoryLimit::for_this_machine`]),
/// before anything is allocated.
fn check_memory(flag: &str, text: &str, values: Option<usize>) -> Result<()> {
    let bytes = values
        .and_then(|v| (v as u64).checked_mul(4))
        .unwrap_or(u64::MAX);
    if let Some(limit) = gradscope::memory::MemoryLimit::for_this_machine() {
        if bytes > limit.bytes {
            bail!(
                "--{flag} {text:?}: too large for this machine: its tensors need about {}, \
                 more than {}",
                gradscope::memory::format_bytes(bytes),
                limit.origin
            );
        }
    }
    Ok(())
}

/// The workloads of `--mlp` and `--lstm`, if given.
fn sized_workloads(args: &Args) -> Result<Vec<Workload>> {
    let mut out = Vec::new();
    if let Some(text) = &args.mlp {
        let [width, depth, batch] = parse_size("mlp", "WIDTHxDEPTHxBATCH", text, |[w, d, b]| {
            // the weights and the activations kept for backward
            let weights = w.checked_mul(w)?.checked_mul(d)?;
            Some(weights.max(b.checked_mul(w)?.checked_mul(d)?))
        })?;
        // weights, their gradients and momenta; outputs, pre-activations and gradients kept
        check_memory(
            "mlp",
            text,
            width
                .checked_mul(width)
                .and_then(|w2| w2.checked_mul(depth))
                .and_then(|w| w.checked_mul(3))
                .and_then(|w| {
                    batch
                        .checked_mul(width)?
                        .checked_mul(depth)?
                        .checked_mul(3)?
                        .checked_add(w)
                }),
        )?;
        out.push(Workload {
            name: "mlp",
            description: Cow::Owned(format!(
                "{depth} x (Linear {width}->{width} + tanh), batch {batch}, CE, SGD, f32"
            )),
            kind: Kind::Mlp,
            depth,
            width,
            batch,
            slow: 1,
        });
    }
    if let Some(text) = &args.lstm {
        let [h, t, batch] = parse_size("lstm", "HxTxBATCH", text, |[h, t, b]| {
            // the input x [T, B, H] and the gate caches [T, B, 4H]
            t.checked_mul(b)?.checked_mul(h)?.checked_mul(4)
        })?;
        // x, the hidden states and the gate caches over T steps (and their gradients)
        check_memory(
            "lstm",
            text,
            t.checked_mul(batch)
                .and_then(|tb| tb.checked_mul(h))
                .and_then(|v| v.checked_mul(2 * (1 + 2 + 4))),
        )?;
        out.push(Workload {
            name: "lstm",
            description: Cow::Owned(format!(
                "LSTM T={t}, {h}->{h}, batch {batch}, MSE head, SGD, f32"
            )),
            kind: Kind::Recurrent { gates: 4 },
            depth: t,
            width: h,
            batch,
            slow: 1,
        });
    }
    Ok(out)
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

/// The cost of the gradient scope: one probe measurement (measure + finish, as `train` runs
/// it) against one training step, on examples/digits-mlp.toml's network and batch of 32, and
/// on W1's network and batch.
fn diagnostics_overhead(json: bool) -> Result<()> {
    use gradscope::config::{Config, LoadedConfig};
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
    let opt = Optimizer::<f32>::new(&t.config.training.optimizer())?;
    probe_cost(json, "digits-mlp", &mut t.model, &x, &y, opt, 2000)?;
    let w1 = &WORKLOADS[0];
    let mut rng = Rng::seed(0);
    let mut model = build(w1, &mut rng)?;
    let (x, y) = mlp_batch(w1, &mut rng)?;
    let opt = Optimizer::<f32>::new(&OptimizerConfig::Sgd(SgdConfig {
        lr: 0.01,
        ..SgdConfig::default()
    }))?;
    probe_cost(json, "W1", &mut model, &x, &y, opt, 100)
}

/// Times one training step of `model` on (x, y) and one probe measurement at the default
/// settings, and prints both with the overhead at the default interval and at every step.
fn probe_cost(
    json: bool,
    name: &str,
    model: &mut Model<f32>,
    x: &Tensor<f32>,
    y: &Tensor<f32>,
    mut opt: Optimizer<f32>,
    n: usize,
) -> Result<()> {
    use gradscope::diagnostics::{DiagnosticsConfig, Probe, StepContext};
    let step = median_time(n, || {
        model.forward_backward(x, y, Loss::CrossEntropy)?;
        sgd_step(model, &mut opt, 0.01)
    })?;
    let config = DiagnosticsConfig::default();
    let every = config.every;
    let mut probe = Probe::new(config);
    let measure = median_time(n.div_ceil(4), || {
        // As the trainer measures: with the batch.
        let at = StepContext {
            step: 1,
            epoch: 1,
            loss: 0.0,
            grad_norm: 0.0,
        };
        probe.measure(model, Some(x), at);
        std::hint::black_box(probe.finish(model));
        Ok(())
    })?;
    let overhead = measure / (every as f64 * step);
    if json {
        crate::outln!(
            "{}",
            serde_json::json!({
                "schema_version": gradscope::io::SCHEMA_VERSION,
                "workload": "diagnostics-overhead",
                "network": name,
                "step_ms": step * 1e3,
                "measure_ms": measure * 1e3,
                "every": every,
                "overhead": overhead,
                "overhead_every_step": measure / step,
            })
        )?;
    } else {
        crate::outln!(
            "{name} step {:.4} ms, one diagnostic measurement {:.4} ms ({:.1}% of a step); \
             at every = {every}: overhead {:.2}%",
            step * 1e3,
            measure * 1e3,
            100.0 * measure / step,
            100.0 * overhead
        )?;
    }
    Ok(())
}

/// A batch for an MLP workload: x `[batch, width]` standard normal, labels below `width`.
fn mlp_batch(w: &Workload, rng: &mut Rng) -> Result<(Tensor<f32>, Tensor<f32>)> {
    let x: Vec<f64> = (0..w.batch * w.width).map(|_| rng.normal()).collect();
    let x = Tensor::<f32>::from_f64_slice(&[w.batch, w.width], &x)?;
    let y: Vec<f64> = (0..w.batch).map(|_| rng.below(w.width) as f64).collect();
    let y = Tensor::<f32>::from_f64_slice(&[w.batch], &y)?;
    Ok((x, y))
}

/// What a workload trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `depth` × (Linear width→width + tanh), softmax cross-entropy.
    Mlp,
    /// A recurrent layer over `depth` time steps with a Linear(width→1) head on the last h,
    /// MSE loss; the cell has `gates` gates (1: RNN tanh, 4: LSTM).
    Recurrent { gates: usize },
    /// [`MNIST_SIZES`] with ReLU, softmax cross-entropy, SGD with momentum 0.9, on one
    /// synthetic batch of MNIST's shape; with `probe`, the diagnostics probe measures every step
    /// (as `[diagnostics] every = 1` does in `train`).
    Mnist { probe: bool },
    /// A char-level GRU: one-hot characters of a [`VOCAB`]-symbol alphabet, `depth` = T steps,
    /// `width` = H, a Linear(H→vocab) head at every step, softmax cross-entropy, SGD.
    CharGru,
}

/// Layer widths of the MNIST-shaped MLP of W5 and W6.
const MNIST_SIZES: [usize; 4] = [784, 256, 256, 10];
/// Alphabet size of W7 (the tiny-Shakespeare character set).
const VOCAB: usize = 65;

struct Workload {
    name: &'static str,
    description: Cow<'static, str>,
    kind: Kind,
    /// Layers (MLP) or time steps T (recurrent).
    depth: usize,
    width: usize,
    batch: usize,
    /// `--steps` and `--warmup` are divided by this (rounded up), so that a slow
    /// step still gives a short timed loop.
    slow: usize,
}

impl Workload {
    /// FLOPs of one step's matrix products (2 per multiply-add), counted as
    /// `bench/pytorch_ref.py` counts them.
    fn flops(&self) -> f64 {
        let (b, w, d) = (self.batch as f64, self.width as f64, self.depth as f64);
        match self.kind {
            // forward: depth products; backward: ∂W (depth) + ∂x (depth − 1)
            Kind::Mlp => 2.0 * b * w * w * (3.0 * d - 1.0),
            // per time step: the input product (forward, ∂W_ih; x needs no gradient) and the
            // recurrent product (forward, ∂W_hh, ∂h): five products of b × w × gates·w
            Kind::Recurrent { gates } => 2.0 * b * w * gates as f64 * w * 5.0 * d,
            // forward and ∂W for every layer, ∂x for all but the first
            Kind::Mnist { .. } => {
                let prods: Vec<f64> = MNIST_SIZES
                    .windows(2)
                    .map(|p| 2.0 * b * (p[0] * p[1]) as f64)
                    .collect();
                2.0 * prods.iter().sum::<f64>() + prods[1..].iter().sum::<f64>()
            }
            // per step: the input product (forward, ∂W_ih; the one-hot x needs no gradient)
            // and the recurrent product (forward, ∂W_hh, ∂h) over 3 gates; the head over all
            // T·B rows (forward, ∂W, ∂h)
            Kind::CharGru => {
                let v = VOCAB as f64;
                d * (2.0 * b * v * 3.0 * w * 2.0 + 2.0 * b * w * 3.0 * w * 3.0)
                    + 3.0 * 2.0 * b * d * w * v
            }
        }
    }
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "W1",
        description: Cow::Borrowed("10 x (Linear 256->256 + tanh), batch 128, CE, SGD, f32"),
        kind: Kind::Mlp,
        depth: 10,
        width: 256,
        batch: 128,
        slow: 1,
    },
    Workload {
        name: "W2",
        description: Cow::Borrowed("50 x (Linear 64->64 + tanh), batch 32, CE, SGD, f32"),
        kind: Kind::Mlp,
        depth: 50,
        width: 64,
        batch: 32,
        slow: 1,
    },
    Workload {
        name: "W3",
        description: Cow::Borrowed("RNN tanh T=100, 128->128, batch 32, MSE head, SGD, f32"),
        kind: Kind::Recurrent { gates: 1 },
        depth: 100,
        width: 128,
        batch: 32,
        slow: 1,
    },
    Workload {
        name: "W4",
        description: Cow::Borrowed("LSTM T=100, 128->128, batch 32, MSE head, SGD, f32"),
        kind: Kind::Recurrent { gates: 4 },
        depth: 100,
        width: 128,
        batch: 32,
        slow: 1,
    },
    Workload {
        name: "W5",
        description: Cow::Borrowed(
            "MNIST-shaped MLP 784->256->256->10 ReLU, batch 64, CE, SGD momentum 0.9, f32",
        ),
        kind: Kind::Mnist { probe: false },
        depth: 3,
        width: 256,
        batch: 64,
        slow: 1,
    },
    Workload {
        name: "W6",
        description: Cow::Borrowed("W5 with the diagnostics probe measuring every step, f32"),
        kind: Kind::Mnist { probe: true },
        depth: 3,
        width: 256,
        batch: 64,
        slow: 1,
    },
    Workload {
        name: "W7",
        description: Cow::Borrowed(
            "char GRU one-hot 65 -> H=256, T=100, batch 32, Linear head every step, CE, SGD, f32",
        ),
        kind: Kind::CharGru,
        depth: 100,
        width: 256,
        batch: 32,
        slow: 10,
    },
];

/// One training step of W5 (and, with `probe`, W6): forward, cross-entropy, backward, [probe
/// measurement,] SGD with momentum 0.9, [the probe's update ratio].
fn mnist_step(w: &Workload, probe: bool, rng: &mut Rng) -> Result<Box<dyn FnMut() -> Result<()>>> {
    use gradscope::diagnostics::{DiagnosticsConfig, Probe, StepContext};
    let [input, h1, h2, out] = MNIST_SIZES;
    let mut model = MlpSpec::new(input, &[h1, h2], out, Activation::Relu).build::<f32>(rng)?;
    // Pixel intensities in [0, 1) and labels 0..9: MNIST's shape, no download.
    let x: Vec<f64> = (0..w.batch * input)
        .map(|_| rng.uniform(0.0, 1.0))
        .collect();
    let x = Tensor::<f32>::from_f64_slice(&[w.batch, input], &x)?;
    let y: Vec<f64> = (0..w.batch).map(|_| rng.below(out) as f64).collect();
    let y = Tensor::<f32>::from_f64_slice(&[w.batch], &y)?;
    let mut opt = Optimizer::<f32>::new(&OptimizerConfig::Sgd(SgdConfig {
        lr: 0.01,
        momentum: 0.9,
        ..SgdConfig::default()
    }))?;
    let mut probe = probe.then(|| {
        Probe::new(DiagnosticsConfig {
            every: 1,
            ..DiagnosticsConfig::default()
        })
    });
    let mut step = 0u64;
    Ok(Box::new(move || {
        step += 1;
        let loss = model.forward_backward(&x, &y, Loss::CrossEntropy)?;
        if let Some(p) = &mut probe {
            let at = StepContext {
                step,
                epoch: 1,
                loss,
                grad_norm: 0.0,
            };
            p.measure(&model, Some(&x), at);
        }
        sgd_step(&mut model, &mut opt, 0.01)?;
        if let Some(p) = &mut probe {
            std::hint::black_box(p.finish(&model));
        }
        Ok(())
    }))
}

/// One training step of W7: x `[B, T·V]` one-hot characters through a GRU(V→H) reading the
/// rows as sequences, a Linear(H→V) head on every h_t, cross-entropy against the next
/// characters `[B·T]`, backward through time (no ∂L/∂x), SGD.
fn char_gru_step(w: &Workload, rng: &mut Rng) -> Result<Box<dyn FnMut() -> Result<()>>> {
    use gradscope::model::{ModelSpec, SequenceSpec};
    use gradscope::recurrent::{CellKind, Predict, RecurrentSpec};
    let mut encoder = RecurrentSpec::new(CellKind::Gru, w.width);
    encoder.predict = Predict::EveryStep;
    let head = MlpSpec::new(0, &[], VOCAB, Activation::Identity);
    let spec = ModelSpec::from(SequenceSpec::new(VOCAB, encoder, head));
    let mut model = spec.build::<f32>(rng)?;
    let (b, t) = (w.batch, w.depth);
    let chars: Vec<usize> = (0..b * (t + 1)).map(|_| rng.below(VOCAB)).collect();
    let mut x = vec![0.0; b * t * VOCAB];
    let mut y = Vec::with_capacity(b * t);
    for s in 0..b {
        for k in 0..t {
            x[(s * t + k) * VOCAB + chars[s * (t + 1) + k]] = 1.0;
            y.push(chars[s * (t + 1) + k + 1] as f64);
        }
    }
    let x = Tensor::<f32>::from_f64_slice(&[b, t * VOCAB], &x)?;
    let y = Tensor::<f32>::from_f64_slice(&[b * t], &y)?;
    let mut opt = Optimizer::<f32>::new(&OptimizerConfig::Sgd(SgdConfig {
        lr: 0.01,
        ..SgdConfig::default()
    }))?;
    Ok(Box::new(move || {
        model.forward_backward(&x, &y, Loss::CrossEntropy)?;
        sgd_step(&mut model, &mut opt, 0.01)
    }))
}

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
    let sized = sized_workloads(&args)?;
    let mut chosen: Vec<&Workload> = sized.iter().collect();
    if sized.is_empty() {
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
            chosen.push(w);
        }
    }
    for w in chosen {
        let mut rng = Rng::seed(0);
        let mut step: Box<dyn FnMut() -> Result<()>> = match w.kind {
            Kind::Mlp => {
                let mut model = build(w, &mut rng)?;
                let (x, y) = mlp_batch(w, &mut rng)?;
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
            Kind::Mnist { probe } => mnist_step(w, probe, &mut rng)?,
            Kind::CharGru => char_gru_step(w, &mut rng)?,
        };
        let (steps, warmup) = (args.steps.div_ceil(w.slow), args.warmup.div_ceil(w.slow));
        for _ in 0..warmup {
            step()?;
        }
        let mut blocks = Vec::new();
        for _ in 0..5 {
            let t0 = Instant::now();
            for _ in 0..steps {
                step()?;
            }
            blocks.push(t0.elapsed().as_secs_f64() / steps as f64);
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
