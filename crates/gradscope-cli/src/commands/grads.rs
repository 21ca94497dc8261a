//! `gradscope grads`: one forward + backward of a model with given weights on a given batch,
//! writing the loss, the output and every gradient (parameters, ∂L/∂z and ∂L/∂a of every
//! activation layer; for a recurrent model also ∂L/∂h_t of every layer and step and their
//! norms) to a safetensors file, by PyTorch state-dict names. This is what
//! `scripts/torch_check.py` compares against PyTorch autograd.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use gradscope::config::Config;
use gradscope::diagnostics::{DiagnosticsConfig, Probe, StepContext};
use gradscope::io::safetensors;
use gradscope::layer::Layer;
use gradscope::layer::LayerKind;
use gradscope::loss::Loss;
use gradscope::model::grads::activation_grads;
use gradscope::model::ModelSpec;
use gradscope::recurrent::{to_time_major, CellKind, Predict, RecurrentEncoder};
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
    /// TOML config whose `[model]` table describes the network and whose `training.loss` is
    /// the loss; other tables are ignored. `model.input` and `model.output` may be left out:
    /// they are read from the weights' shapes (when given, they must agree with them).
    #[arg(long, value_name = "MODEL.toml")]
    model: PathBuf,
    /// The weights: a safetensors file with every tensor of the model's state dict
    /// (PyTorch `nn.Sequential` names, `rnn.*`/`fc.*` for recurrent models; see
    /// docs/weights.md and --rename).
    #[arg(long, value_name = "W.safetensors")]
    weights: PathBuf,
    /// The batch: a safetensors file with tensors `x` [N, input] (recurrent models: [N, T·input],
    /// T steps per row) and `y` (class indices [N] or [N, 1] for cross_entropy; [N, output]
    /// for bce_with_logits and mse; with `predict = "every_step"` one target per (sample,
    /// step), see docs/weights.md).
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
    /// Rename weight tensors by prefix before loading, e.g. `--rename lstm.=rnn.
    /// --rename linear.=fc.0.` (repeatable; each tensor takes the first rule whose OLD starts
    /// its name; every rule must match a tensor).
    #[arg(long = "rename", value_name = "OLD=NEW")]
    renames: Vec<String>,
    /// Also write the per-layer record gradscope's scope measures on this forward and
    /// backward (one line of diagnostics.jsonl, step 1; the update ratio is 0: no optimizer
    /// step): for checking another front end's records (the Python package's hooks).
    #[arg(long, value_name = "R.jsonl")]
    records: Option<PathBuf>,
}

const AFTER_HELP: &str = "\
Runs one forward and one backward pass (mean loss over the batch) and writes into G:
  loss            the loss, a scalar
  output          the network's output [N, output] ([N·T, output] for predict = every_step)
  grad.<param>    dL/dparam for every learnable parameter, e.g. grad.0.weight [out, in]
  dz.<layer>      dL/dz at the input (pre-activation) of every activation layer
  da.<layer>      dL/da at the output of every activation layer
and for a recurrent model ([model.recurrent], L stacked layers, T steps), k = 0..L-1:
  dout.rnn        dL/d(out) [T, N, H] for `out, _ = rnn(x)`: what the head sends to each h_t
  dh.l<k>         dL/dh_t [T, N, H] of layer k, total (own output and later steps)
  grad_norm_h.l<k>  ||dL/dh_t|| [T] of layer k (norm over the batch)
  grad_norm_c.l<k>  ||dL/dc_t|| [T] of LSTM layer k, the part arriving through c_(t+1)
<param> is the PyTorch state-dict name; <layer> is the layer's state-dict prefix without the
trailing dot (`1`, `2.block.2` inside the residual block at index 2, `fc.1` in a recurrent
model's head). See docs/weights.md for the names and layouts, and docs/torch-check.md for the
comparison with PyTorch.

Examples:
  gradscope grads --model model.toml --weights w.safetensors --batch b.safetensors --out g.safetensors
  gradscope grads --model model.toml --weights w.safetensors --batch b.safetensors --out g.safetensors --dtype f64 --mode eval
  gradscope grads --model lstm.toml --weights state_dict.safetensors --rename lstm.=rnn. --rename linear.=fc.0. --batch b.safetensors --out g.safetensors";

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    crate::rundir::refuse_inputs_as_outputs(
        "--out",
        std::slice::from_ref(&args.out),
        &[
            ("the --model config".to_string(), args.model.clone()),
            ("the --weights file".to_string(), args.weights.clone()),
            ("the --batch file".to_string(), args.batch.clone()),
        ],
    )?;
    crate::rundir::refuse_inputs_as_outputs(
        "--records",
        args.records.as_slice(),
        &[
            ("the --model config".to_string(), args.model.clone()),
            ("the --weights file".to_string(), args.weights.clone()),
            ("the --batch file".to_string(), args.batch.clone()),
            ("the --out file".to_string(), args.out.clone()),
        ],
    )?;
    let loaded = Config::load(&args.model, &args.sets)?;
    let config = loaded.config;
    let spec = &config.model;
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
    crate::outln!(
        "loss {:e} ({}, {} mode, {}); wrote {} tensors to {}",
        summary.loss,
        config.training.loss.name(),
        args.mode.name(),
        dtype.name(),
        summary.tensors,
        args.out.display()
    )?;
    Ok(())
}

#[derive(Clone, Copy)]
struct Run<'a> {
    args: &'a Args,
    spec: &'a ModelSpec,
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

/// The `--rename OLD=NEW` rules, parsed.
fn parse_renames(rules: &[String]) -> Result<Vec<(String, String)>> {
    rules
        .iter()
        .map(|r| match r.split_once('=') {
            Some((old, new)) if !old.is_empty() => Ok((old.to_string(), new.to_string())),
            _ => bail!(
                "--rename {r:?}: expected OLD=NEW with a non-empty OLD prefix, e.g. \
                 --rename lstm.=rnn."
            ),
        })
        .collect()
}

/// Renames the tensors of the weights file `src` by prefix: each name takes the first rule
/// whose OLD starts it. Every rule must match at least one tensor, and no two tensors may end
/// up with the same name.
fn rename<T: Float>(
    tensors: &mut [(String, Tensor<T>)],
    rules: &[(String, String)],
    src: &str,
) -> Result<()> {
    if rules.is_empty() {
        return Ok(());
    }
    let before: Vec<String> = tensors.iter().map(|(n, _)| n.clone()).collect();
    let mut used = vec![false; rules.len()];
    for (name, _) in tensors.iter_mut() {
        if let Some(k) = rules
            .iter()
            .position(|(old, _)| name.starts_with(old.as_str()))
        {
            used[k] = true;
            *name = format!("{}{}", rules[k].1, &name[rules[k].0.len()..]);
        }
    }
    if let Some(k) = used.iter().position(|u| !u) {
        let (old, new) = &rules[k];
        bail!("{src}: --rename {old}={new} matches no tensor; the file has {before:?}");
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, (name, _)) in tensors.iter().enumerate() {
        if let Some(&j) = seen.get(name.as_str()) {
            bail!(
                "{src}: --rename gives two tensors the name `{name}` (`{}` and `{}`)",
                before[j],
                before[i]
            );
        }
        seen.insert(name, i);
    }
    Ok(())
}

/// The recurrent tensors of `grads` (see AFTER_HELP) for the stack `r` after a backward that
/// kept its per-step gradients and whose gradient at the stack's output was `grad_out`
/// (`[B, H]` or `[B·T, H]`, B = `b`).
fn recurrent_tensors<T: Float>(
    r: &RecurrentEncoder<T>,
    b: usize,
    grad_out: &Tensor<T>,
) -> Vec<(String, Tensor<T>)> {
    let spec = r.spec();
    let (t, h) = (r.steps(), r.hidden_size());
    let mut dout = Tensor::zeros(&[t, b, h]);
    match spec.predict {
        Predict::Last => {
            if t > 0 {
                dout.data_mut()[(t - 1) * b * h..].copy_from_slice(grad_out.data());
            }
        }
        Predict::EveryStep => to_time_major(grad_out.data(), b, t, h, &mut dout),
    }
    let mut out = vec![("dout.rnn".to_string(), dout)];
    let norms = |v: &[f64]| Tensor::<T>::from_f64_slice(&[v.len()], v).expect("shape");
    for k in 0..r.num_layers() {
        // ∂L/∂h_t of every layer, as the engine's backward kept it. With truncated BPTT it
        // is cut between chunks; like PyTorch's h_t.grad of one full backward, `dh` means the
        // full gradient, so it is left out then.
        if spec.truncate.is_none() {
            if let Some(dh) = r.grad_hidden(k) {
                out.push((format!("dh.l{k}"), dh.clone()));
            }
        }
        out.push((format!("grad_norm_h.l{k}"), norms(r.grad_norms(k))));
        if spec.cell == CellKind::Lstm {
            out.push((format!("grad_norm_c.l{k}"), norms(r.cell_grad_norms(k))));
        }
    }
    out
}

/// The model's sizes read from the weights: `model.input` and `model.output` left at 0 in the
/// config are taken from the shapes of the tensors that carry them, and values given in the
/// config are checked against those shapes.
///
/// Which tensor dimension carries the input or the output width is found by building the
/// model twice with different widths and comparing the state dicts' shapes: a dimension that
/// follows the input width (the first weight matrix's columns, `weight_ih_l0`'s for a
/// recurrent model) or the output width (the last linear layer's rows and bias) is read from
/// the same tensor of the weights file.
fn sizes_from_weights<T: Float>(
    spec: &ModelSpec,
    weights: &[(String, Tensor<T>)],
    model_src: &str,
    wsrc: &str,
) -> Result<ModelSpec> {
    let probe = |input: usize, output: usize| -> Result<Vec<(String, Vec<usize>)>> {
        let mut s = spec.clone();
        s.set_input(input);
        s.set_output(output);
        let m = s
            .build::<f32>(&mut Rng::seed(0))
            .with_context(|| format!("{model_src}: cannot build the model"))?;
        Ok(m.state_dict()
            .into_iter()
            .map(|(n, t)| (n, t.shape().to_vec()))
            .collect())
    };
    // Widths no hidden layer is likely to share; only dimensions that change between the two
    // builds are read, so a coincidence with a fixed width cannot mislead.
    let (a, b) = (probe(11, 13)?, probe(17, 19)?);
    let mut found: [Option<(usize, String)>; 2] = [None, None];
    for ((name, sa), (_, sb)) in a.iter().zip(&b) {
        for (d, (&x, &y)) in sa.iter().zip(sb).enumerate() {
            let which = match (x, y) {
                (11, 17) => 0,
                (13, 19) => 1,
                _ => continue,
            };
            if found[which].is_some() {
                continue;
            }
            let Some((_, t)) = weights.iter().find(|(n, _)| n == name) else {
                continue;
            };
            if let Some(&w) = t.shape().get(d) {
                found[which] = Some((w, format!("`{name}` has shape {:?}", t.shape())));
            }
        }
    }
    let mut out = spec.clone();
    for (which, key) in [(0, "input"), (1, "output")] {
        let given = if which == 0 {
            spec.input()
        } else {
            spec.output()
        };
        match (&found[which], given) {
            (Some((w, _)), 0) => {
                if which == 0 {
                    out.set_input(*w);
                } else {
                    out.set_output(*w);
                }
            }
            (Some((w, from)), g) if *w != g => bail!(
                "{model_src}: model.{key} = {g}, but in the weights {wsrc} {from}, which fixes \
                 model.{key} = {w} (leave model.{key} out to take it from the weights)"
            ),
            (Some(_), _) => {}
            (None, 0) => bail!(
                "{model_src}: model.{key} is not set and the weights {wsrc} have no tensor \
                 that fixes it (set it, e.g. --set model.{key}=N)"
            ),
            (None, _) => {}
        }
    }
    Ok(out)
}

/// `MlpSpec::validate` checks PReLU channels of the hidden layers only; a head PReLU with the
/// wrong count would trip an assertion in the forward pass.
fn check_head_prelu(spec: &ModelSpec, source: &str) -> Result<()> {
    if let gradscope::Activation::Prelu { channels, .. } = spec.mlp().head {
        if channels != 1 && channels != spec.output() {
            bail!(
                "{source}: model.head prelu channels = {channels} must be 1 or model.output = {}",
                spec.output()
            );
        }
    }
    Ok(())
}

impl Run<'_> {
    /// Checks `y` against the loss and the output rows (`rows` = N, or N·T for a model that
    /// predicts every step) and brings it to the layout the loss takes.
    fn shape_targets<T: Float>(&self, y: Tensor<T>, n: usize, steps: usize) -> Result<Tensor<T>> {
        let bsrc = self.args.batch.display();
        let out_w = self.spec.output();
        let every = self
            .spec
            .recurrent()
            .is_some_and(|r| r.predict == Predict::EveryStep);
        let rows = if every { n * steps } else { n };
        let shape = y.shape().to_vec();
        match self.loss {
            Loss::CrossEntropy => {
                let fits = shape == [rows] || shape == [rows, 1] || (every && shape == [n, steps]);
                if !fits {
                    if every {
                        bail!(
                            "{bsrc}: tensor `y` has shape {shape:?}; cross_entropy with predict \
                             = \"every_step\" needs a class index per sample and step: shape \
                             [{n}, {steps}] or [{rows}] (sample-major), or [{rows}, 1]"
                        );
                    }
                    bail!(
                        "{bsrc}: tensor `y` has shape {shape:?}; cross_entropy needs {n} class \
                         indices, shape [{n}] or [{n}, 1]"
                    );
                }
                Ok(y.reshape(&[rows]).expect("same length"))
            }
            Loss::BceWithLogits | Loss::Mse => {
                let fits = shape == [rows, out_w]
                    || (out_w == 1 && shape == [rows])
                    || (every
                        && (shape == [n, steps, out_w] || (out_w == 1 && shape == [n, steps])));
                if !fits {
                    let name = self.loss.name();
                    if every {
                        bail!(
                            "{bsrc}: tensor `y` has shape {shape:?}; {name} with predict = \
                             \"every_step\" needs the output's shape [{rows}, {out_w}] \
                             (sample-major rows) or [{n}, {steps}, {out_w}]"
                        );
                    }
                    bail!(
                        "{bsrc}: tensor `y` has shape {shape:?}; {name} needs the output's shape \
                         [{n}, {out_w}]"
                    );
                }
                Ok(y.reshape(&[rows, out_w]).expect("same length"))
            }
        }
    }

    fn go<T: Float>(&self) -> Result<Summary> {
        let args = self.args;
        let model_src = args.model.display();
        let renames = parse_renames(&args.renames)?;
        crate::oom::stage(format!(
            "reading the weights {} and the batch {}",
            args.weights.display(),
            args.batch.display()
        ));
        // Weights: every tensor of the state dict, with its shape, and nothing else.
        let mut weights = safetensors::read::<T>(&args.weights)?;
        let wsrc = args.weights.display().to_string();
        rename(&mut weights.tensors, &renames, &wsrc)?;
        let spec = sizes_from_weights(self.spec, &weights.tensors, &model_src.to_string(), &wsrc)?;
        check_head_prelu(&spec, &model_src.to_string())?;
        let run = Run {
            spec: &spec,
            ..*self
        };
        run.go_with(weights, renames)
    }

    fn go_with<T: Float>(
        &self,
        weights: safetensors::TensorFile<T>,
        renames: Vec<(String, String)>,
    ) -> Result<Summary> {
        let args = self.args;
        let model_src = args.model.display();
        let wsrc = args.weights.display().to_string();
        let mut model = self
            .spec
            .build::<T>(&mut Rng::seed(self.seed))
            .with_context(|| format!("{model_src}: cannot build the model"))?;
        model
            .load_state_dict(&weights.tensors, &wsrc, &[])
            .with_context(|| {
                let after = if renames.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (names after {})",
                        args.renames
                            .iter()
                            .map(|r| format!("--rename {r}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                };
                format!("the weights do not fit the model of {model_src}{after}")
            })?;
        drop(weights);

        // The batch.
        let bpath = &args.batch;
        let bsrc = bpath.display();
        let mut batch = safetensors::read::<T>(bpath)?;
        let x = take(&mut batch, "x", bpath)?;
        let y = take(&mut batch, "y", bpath)?;
        let mut steps = 1;
        if self.spec.recurrent().is_some() {
            let i = self.spec.input();
            let s = x.shape();
            if s.len() != 2 || s[0] == 0 || s[1] == 0 || s[1] % i != 0 {
                bail!(
                    "{bsrc}: tensor `x` has shape {s:?}; the recurrent model of {model_src} \
                     reads rows of T steps of model.input = {i} features: shape [N, T·{i}] \
                     with N >= 1, T >= 1"
                );
            }
            steps = s[1] / i;
        } else {
            let input = model.input_width().unwrap_or(self.spec.input());
            if x.shape().len() != 2 || x.shape()[1] != input || x.shape()[0] == 0 {
                bail!(
                    "{bsrc}: tensor `x` has shape {:?}; the model of {model_src} needs [N, \
                     {input}] with N >= 1",
                    x.shape()
                );
            }
        }
        let n = x.shape()[0];
        let y = self.shape_targets(y, n, steps)?;
        let training = args.mode == Mode::Train;
        // A BatchNorm1d in train mode needs two rows or more: N, or N·T in the head of a
        // recurrent model that predicts every step (its head reads every h_t).
        let every = self
            .spec
            .recurrent()
            .is_some_and(|r| r.predict == Predict::EveryStep);
        let bn_rows = if every { n * steps } else { n };
        if training && bn_rows < 2 && model.contains(LayerKind::BatchNorm1d) {
            let rows = if every {
                format!("N·T = {n}·{steps} = {bn_rows} row")
            } else {
                format!("N = {n} row")
            };
            bail!(
                "{bsrc}: BatchNorm1d in train mode needs at least 2 rows to have batch \
                 statistics, but {rows} reaches it (use --mode eval, or a batch of 2 or more)"
            );
        }

        model.set_training(training);
        // A recurrent model keeps ∂L/∂h_t of every layer and step for `dh.l<k>`.
        if let Some(Layer::Recurrent(r)) = model.layers.first_mut() {
            r.set_keep_step_grads(true);
        }
        let loss = model
            .forward_backward(&x, &y, self.loss)
            .with_context(|| format!("{bsrc}: cannot compute the loss"))?;

        let loss_t = Tensor::<T>::full(&[], T::from_f64(loss));
        let output = model.output().cloned().unwrap_or_else(|| x.clone());
        let recurrent = match model.layers.first() {
            Some(Layer::Recurrent(r)) => recurrent_tensors(r, x.rows(), model.grad_of_output(0)),
            _ => Vec::new(),
        };
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
        out.extend(recurrent.iter().map(|(n, t)| (n.clone(), t)));
        let mut metadata: HashMap<String, String> = [
            ("format", "gradscope-grads/1".to_string()),
            ("loss", format!("{loss:e}")),
            ("loss_fn", self.loss.name().to_string()),
            ("mode", args.mode.name().to_string()),
            ("dtype", T::DTYPE.name().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if self.spec.recurrent().is_some() {
            metadata.insert("steps".to_string(), steps.to_string());
        }
        safetensors::write(&args.out, &out, &metadata)
            .with_context(|| format!("cannot write the gradients to `{}`", args.out.display()))?;
        if let Some(path) = &args.records {
            let grad_norm = model
                .params()
                .iter()
                .map(|p| {
                    p.grad
                        .data()
                        .iter()
                        .map(|g| g.to_f64().powi(2))
                        .sum::<f64>()
                })
                .sum::<f64>()
                .sqrt();
            let mut probe = Probe::new(DiagnosticsConfig {
                every: 1,
                ..DiagnosticsConfig::default()
            });
            let at = StepContext {
                step: 1,
                epoch: 1,
                loss,
                grad_norm,
            };
            probe.measure(&model, Some(&x), at);
            let record = probe.finish(&model).expect("measured above");
            let line = gradscope::diagnostics::external::diagnostics_jsonl(&[record])?;
            crate::output::write_atomic(path, line.as_bytes())?;
        }
        Ok(Summary {
            loss,
            tensors: out.len(),
        })
    }
}
