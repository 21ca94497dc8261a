//! `gradscope grads`: one forward + backward of a model with given weights on a given batch,
//! writing the loss, the output and every gradient (parameters, ∂L/∂z and ∂L/∂a of every
//! activation layer) to a safetensors file, by PyTorch `nn.Sequential` names. This is what
//! `scripts/torch_check.py` compares against PyTorch autograd.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use gradscope::config::Config;
use gradscope::io::safetensors;
use gradscope::loss::Loss;
use gradscope::model::grads::{activation_grads, has_batchnorm, input_width};
use gradscope::model::MlpSpec;
use gradscope::{DType, Float, Rng, Tensor};

/// Precision of the run.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Precision {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

/// Train or eval mode (PyTorch's `model.train()` / `model.eval()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// BatchNorm uses the batch statistics (and updates its running estimates), dropout and
    /// RReLU draw random masks and slopes.
    Train,
    /// BatchNorm uses its running estimates; dropout is the identity; RReLU uses the slope
    /// (lower + upper)/2.
    Eval,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Train => "train",
            Mode::Eval => "eval",
        }
    }
}

/// Arguments of `gradscope grads`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// TOML config whose `[model]` table describes the network (`input` and `output` must be
    /// set) and whose `training.loss` is the loss; other tables are ignored.
    #[arg(long, value_name = "MODEL.toml")]
    model: PathBuf,
    /// The weights: a safetensors file with every tensor of the model's state dict
    /// (PyTorch `nn.Sequential` names, see docs/weights.md).
    #[arg(long, value_name = "W.safetensors")]
    weights: PathBuf,
    /// The batch: a safetensors file with tensors `x` [N, input] and `y` (class indices [N]
    /// or [N, 1] for cross_entropy; [N, output] for bce_with_logits and mse).
    #[arg(long, value_name = "B.safetensors")]
    batch: PathBuf,
    /// Where to write the gradients (safetensors, written atomically, in the run's precision).
    #[arg(long, value_name = "G.safetensors")]
    out: PathBuf,
    /// Precision (default: the config's `dtype`).
    #[arg(long, value_enum)]
    dtype: Option<Precision>,
    /// Train or eval mode.
    #[arg(long, value_enum, default_value = "train")]
    mode: Mode,
    /// Override a config field, e.g. `--set model.activation=relu`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

const AFTER_HELP: &str = "\
Runs one forward and one backward pass (mean loss over the batch) and writes into G:
  loss            the loss, a scalar
  output          the network's output [N, output]
  grad.<param>    dL/dparam for every learnable parameter, e.g. grad.0.weight [out, in]
  dz.<layer>      dL/dz at the input (pre-activation) of every activation layer
  da.<layer>      dL/da at the output of every activation layer
<param> is the PyTorch state-dict name; <layer> is the layer's state-dict prefix without the
trailing dot (`1`, `2.block.2` inside the residual block at index 2). See docs/weights.md for
the names and layouts, and docs/torch-check.md for the comparison with PyTorch.

Examples:
  gradscope grads --model model.toml --weights w.safetensors --batch b.safetensors --out g.safetensors
  gradscope grads --model model.toml --weights w.safetensors --batch b.safetensors --out g.safetensors --dtype f64 --mode eval";

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    let loaded = Config::load(&args.model, &args.sets)?;
    let config = loaded.config;
    let spec = &config.model;
    let source = args.model.display();
    for (key, value) in [("input", spec.input), ("output", spec.output)] {
        if value == 0 {
            bail!(
                "{source}: model.{key} must be set (> 0) for `grads`, which has no data set to \
                 take it from (e.g. --set model.{key}=N)"
            );
        }
    }
    // MlpSpec::validate checks PReLU channels of the hidden layers only; a head PReLU with
    // the wrong count would trip an assertion in the forward pass.
    if let gradscope::Activation::Prelu { channels, .. } = spec.head {
        if channels != 1 && channels != spec.output {
            bail!(
                "{source}: model.head prelu channels = {channels} must be 1 or model.output = {}",
                spec.output
            );
        }
    }
    let dtype = match args.dtype {
        Some(Precision::F32) => DType::F32,
        Some(Precision::F64) => DType::F64,
        None => config.dtype,
    };
    let run = Run {
        args: &args,
        spec,
        loss: config.training.loss,
        seed: config.seed,
    };
    let summary = match dtype {
        DType::F32 => run.go::<f32>()?,
        DType::F64 => run.go::<f64>()?,
    };
    println!(
        "loss {:e} ({}, {} mode, {}); wrote {} tensors to {}",
        summary.loss,
        config.training.loss.name(),
        args.mode.name(),
        dtype.name(),
        summary.tensors,
        args.out.display()
    );
    Ok(())
}

struct Run<'a> {
    args: &'a Args,
    spec: &'a MlpSpec,
    loss: Loss,
    seed: u64,
}

struct Summary {
    loss: f64,
    tensors: usize,
}

fn names<T: Float>(tensors: &[(String, Tensor<T>)]) -> Vec<String> {
    tensors
        .iter()
        .map(|(n, t)| format!("{n} {:?}", t.shape()))
        .collect()
}

/// Takes tensor `name` from the batch file, or explains what the file has.
fn take<T: Float>(
    file: &mut safetensors::TensorFile<T>,
    name: &str,
    path: &Path,
) -> Result<Tensor<T>> {
    let have = names(&file.tensors);
    file.take(name).with_context(|| {
        format!(
            "{}: no tensor `{name}`; the batch file must hold `x` and `y` (it has {have:?})",
            path.display()
        )
    })
}

impl Run<'_> {
    fn go<T: Float>(&self) -> Result<Summary> {
        let args = self.args;
        let model_src = args.model.display();
        let mut model = self
            .spec
            .build::<T>(&mut Rng::seed(self.seed))
            .with_context(|| format!("{model_src}: cannot build the model"))?;

        // Weights: every tensor of the state dict, with its shape, and nothing else.
        let weights = safetensors::read::<T>(&args.weights)?;
        let wsrc = args.weights.display().to_string();
        model
            .load_state_dict(&weights.tensors, &wsrc, &[])
            .with_context(|| format!("the weights do not fit the model of {model_src}"))?;
        drop(weights);

        // The batch.
        let bpath = &args.batch;
        let bsrc = bpath.display();
        let mut batch = safetensors::read::<T>(bpath)?;
        let x = take(&mut batch, "x", bpath)?;
        let y = take(&mut batch, "y", bpath)?;
        let input = input_width(&model).unwrap_or(self.spec.input);
        if x.shape().len() != 2 || x.shape()[1] != input || x.shape()[0] == 0 {
            bail!(
                "{bsrc}: tensor `x` has shape {:?}; the model of {model_src} needs [N, {input}] \
                 with N >= 1",
                x.shape()
            );
        }
        let n = x.shape()[0];
        let out_w = self.spec.output;
        match self.loss {
            Loss::CrossEntropy => {
                if !(y.shape() == [n] || y.shape() == [n, 1]) {
                    bail!(
                        "{bsrc}: tensor `y` has shape {:?}; cross_entropy needs {n} class \
                         indices, shape [{n}] or [{n}, 1]",
                        y.shape()
                    );
                }
            }
            Loss::BceWithLogits | Loss::Mse => {
                let fits = y.shape() == [n, out_w] || (out_w == 1 && y.shape() == [n]);
                if !fits {
                    bail!(
                        "{bsrc}: tensor `y` has shape {:?}; {} needs the output's shape [{n}, \
                         {out_w}]",
                        y.shape(),
                        self.loss.name()
                    );
                }
            }
        }
        let training = args.mode == Mode::Train;
        if training && n < 2 && has_batchnorm(&model) {
            bail!(
                "{bsrc}: a batch of one sample has no batch statistics: BatchNorm1d in train \
                 mode needs N >= 2 (use --mode eval)"
            );
        }

        model.set_training(training);
        let loss = model
            .forward_backward(&x, &y, self.loss)
            .with_context(|| format!("{bsrc}: cannot compute the loss"))?;

        let loss_t = Tensor::<T>::full(&[], T::from_f64(loss));
        let output = model.output().cloned().unwrap_or_else(|| x.clone());
        let mut out: Vec<(String, &Tensor<T>)> = vec![
            ("loss".to_string(), &loss_t),
            ("output".to_string(), &output),
        ];
        for p in model.params() {
            out.push((format!("grad.{}", p.name), &p.grad));
        }
        for a in activation_grads(&model) {
            out.push((format!("dz.{}", a.name), a.dz));
            out.push((format!("da.{}", a.name), a.da));
        }
        let metadata: HashMap<String, String> = [
            ("format", "gradscope-grads/1".to_string()),
            ("loss", format!("{loss:e}")),
            ("loss_fn", self.loss.name().to_string()),
            ("mode", args.mode.name().to_string()),
            ("dtype", T::DTYPE.name().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        safetensors::write(&args.out, &out, &metadata)
            .with_context(|| format!("cannot write the gradients to `{}`", args.out.display()))?;
        Ok(Summary {
            loss,
            tensors: out.len(),
        })
    }
}
