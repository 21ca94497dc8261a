//! The optimizer object: per-parameter state and the element-wise update kernels.

use serde::{Deserialize, Serialize};

use super::config::{
    AdagradConfig, AdamConfig, AdamWConfig, OptimizerConfig, RmsPropConfig, SgdConfig,
};
use crate::error::{Error, Result};
use crate::float::Float;
use crate::param::Param;
use crate::tensor::Tensor;

/// Buffer names of one optimizer kind, by slot position (PyTorch's `state_dict` names).
type Layout = [Option<&'static str>; 3];

/// State of one parameter: its identity, step count and up to three buffers.
#[derive(Clone, Debug)]
struct Slot<T> {
    /// The parameter's name when first updated (checked on every update).
    name: String,
    /// The parameter's shape when first updated.
    shape: Vec<usize>,
    /// Number of updates applied to this parameter (PyTorch's per-parameter `step`).
    step: u64,
    /// Value of the global step counter at the last update.
    last_global: u64,
    /// Buffers in [`Layout`] order; unused positions stay empty.
    bufs: [Vec<T>; 3],
}

/// Step counters of an [`Optimizer`], saved next to the tensors of [`Optimizer::state`].
///
/// Serializes to JSON such as
/// `{"kind":"adam","step":120,"params":[{"name":"0.weight","shape":[4,3],"step":120}, ...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerCounters {
    /// The optimizer kind (`"adam"`, ...); loading into another kind is an error.
    pub kind: String,
    /// Number of [`Optimizer::begin_step`] calls.
    pub step: u64,
    /// Per parameter index: `None` for an index never updated.
    pub params: Vec<Option<ParamCounter>>,
}

/// Identity and step count of one parameter's optimizer state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamCounter {
    /// The parameter's name (`Param::name`).
    pub name: String,
    /// The parameter's shape.
    pub shape: Vec<usize>,
    /// Number of updates applied (PyTorch's `state[p]["step"]`).
    pub step: u64,
}

/// An optimizer built from an [`OptimizerConfig`].
///
/// ```
/// use gradscope::optim::{Optimizer, OptimizerConfig, SgdConfig};
/// use gradscope::{Param, Tensor};
///
/// let config = OptimizerConfig::Sgd(SgdConfig { lr: 0.1, momentum: 0.9, ..SgdConfig::default() });
/// let mut opt = Optimizer::<f64>::new(&config)?;
/// let mut w = Param::new("w", Tensor::from_vec(&[2], vec![1.0, -1.0])?);
/// w.grad = Tensor::from_vec(&[2], vec![0.5, 0.5])?;
/// opt.begin_step();
/// opt.update(0, &mut w, opt.base_lr())?; // index 0: the parameter's slot of state
/// assert_eq!(w.value.data(), [0.95, -1.05]);
/// # Ok::<(), gradscope::Error>(())
/// ```
///
/// Protocol, with no allocation after each parameter's first update:
///
/// ```text
/// opt.begin_step();
/// for (i, p) in params_in_a_stable_order { opt.update(i, p, schedule.lr())?; }
/// ```
///
/// State buffers (momentum, Adam's m and v, ...) are created the first time an index is
/// updated and reused afterwards. Step counts are per parameter, as in PyTorch: bias
/// corrections and Adagrad's decay use the number of updates that parameter has received.
/// The update reads `param.grad` and writes `param.value`; the gradient is left unchanged
/// (weight decay and L1 are added to a private copy, as PyTorch does).
#[derive(Clone, Debug)]
pub struct Optimizer<T> {
    config: OptimizerConfig,
    layout: Layout,
    step: u64,
    slots: Vec<Option<Slot<T>>>,
}

fn layout_of(config: &OptimizerConfig) -> Layout {
    match config {
        OptimizerConfig::Sgd(c) => [(c.momentum != 0.0).then_some("momentum_buffer"), None, None],
        OptimizerConfig::Adam(AdamConfig { amsgrad, .. })
        | OptimizerConfig::AdamW(AdamWConfig { amsgrad, .. }) => [
            Some("exp_avg"),
            Some("exp_avg_sq"),
            amsgrad.then_some("max_exp_avg_sq"),
        ],
        OptimizerConfig::RmsProp(c) => [
            Some("square_avg"),
            (c.momentum > 0.0).then_some("momentum_buffer"),
            c.centered.then_some("grad_avg"),
        ],
        OptimizerConfig::Adagrad(_) => [Some("sum"), None, None],
    }
}

/// PyTorch's `torch.lerp(a, b, w)`: a + w(b − a), computed from the nearer end.
#[inline(always)]
fn lerp<T: Float>(a: T, b: T, w: T) -> T {
    if w.abs() < T::from_f64(0.5) {
        a + w * (b - a)
    } else {
        b - (b - a) * (T::ONE - w)
    }
}

/// sign(x) ∈ {−1, 0, 1}; NaN stays NaN.
#[inline(always)]
fn sign<T: Float>(x: T) -> T {
    if x > T::ZERO {
        T::ONE
    } else if x < T::ZERO {
        -T::ONE
    } else {
        x * T::ZERO
    }
}

/// The regularized gradient g + l1·sign(θ) + λθ (each term only when its factor is non-zero).
#[derive(Clone, Copy)]
struct Reg<T> {
    l1: Option<T>,
    wd: Option<T>,
}

impl<T: Float> Reg<T> {
    fn new(l1: f64, wd: f64) -> Self {
        Reg {
            l1: (l1 != 0.0).then(|| T::from_f64(l1)),
            wd: (wd != 0.0).then(|| T::from_f64(wd)),
        }
    }
    #[inline(always)]
    fn apply(self, g: T, theta: T) -> T {
        let mut g = g;
        if let Some(l1) = self.l1 {
            g += l1 * sign(theta);
        }
        if let Some(wd) = self.wd {
            g += wd * theta;
        }
        g
    }
}

impl<T: Float> Optimizer<T> {
    /// Validates `config` ([`OptimizerConfig::validate`]) and builds an optimizer with no state.
    pub fn new(config: &OptimizerConfig) -> Result<Self> {
        config.validate()?;
        Ok(Optimizer {
            layout: layout_of(config),
            config: config.clone(),
            step: 0,
            slots: Vec::new(),
        })
    }

    /// The configuration this optimizer was built from.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The base learning rate of the configuration (a schedule starts from it).
    pub fn base_lr(&self) -> f64 {
        self.config.lr()
    }

    /// Marks the start of an optimization step: increments [`Optimizer::step_count`]. Each
    /// parameter index may then be updated at most once until the next `begin_step`.
    pub fn begin_step(&mut self) {
        self.step += 1;
    }

    /// Number of [`Optimizer::begin_step`] calls (restored by [`Optimizer::load_state`]).
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Number of updates parameter `index` has received (0 if never updated).
    pub fn param_step(&self, index: usize) -> u64 {
        self.slots
            .get(index)
            .and_then(Option::as_ref)
            .map_or(0, |s| s.step)
    }

    /// Drops all state and counters, as if newly built.
    pub fn reset(&mut self) {
        self.step = 0;
        self.slots.clear();
    }

    /// Applies one update of the configured algorithm to `param.value` from `param.grad` with
    /// learning rate `lr` (usually [`super::LrSchedule::lr`]); see the per-kind config
    /// structs for the formulas.
    ///
    /// `index` identifies the parameter's state: visit parameters in a stable order and use
    /// small dense indices (0, 1, 2, ...; the state is a vector indexed by them). Errors
    /// (nothing is modified) when `lr` is negative or not finite, when value and gradient
    /// shapes differ, when the state at `index` belongs to a parameter of another name or
    /// size, or when `index` was already updated since the last [`Optimizer::begin_step`].
    /// Non-finite gradients are applied as they are: check them first with
    /// [`super::first_non_finite_grad`] or a clipping function.
    pub fn update(&mut self, index: usize, param: &mut Param<T>, lr: f64) -> Result<()> {
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(Error::Invalid(format!(
                "learning rate {lr} for `{}` must be a finite number >= 0",
                param.name
            )));
        }
        let n = param.value.len();
        if param.grad.shape() != param.value.shape() {
            return Err(Error::Shape(format!(
                "parameter `{}`: gradient shape {:?} differs from value shape {:?}",
                param.name,
                param.grad.shape(),
                param.value.shape()
            )));
        }
        if index >= self.slots.len() {
            self.slots.resize_with(index + 1, || None);
        }
        let global = self.step;
        let layout = self.layout;
        let slot = match &mut self.slots[index] {
            Some(slot) => {
                if slot.name != param.name {
                    return Err(Error::Invalid(format!(
                        "optimizer state at index {index} belongs to `{}`, not `{}`: visit \
                         parameters in the same order every step",
                        slot.name, param.name
                    )));
                }
                if slot.shape.as_slice() != param.value.shape() {
                    return Err(Error::Shape(format!(
                        "parameter `{}` has shape {:?} but its optimizer state has shape {:?}",
                        param.name,
                        param.value.shape(),
                        slot.shape
                    )));
                }
                if slot.step > 0 && slot.last_global == global {
                    return Err(Error::Invalid(format!(
                        "parameter `{}` (index {index}) updated twice in step {global}: call \
                         begin_step() before each step",
                        param.name
                    )));
                }
                slot
            }
            empty @ None => {
                let init = match &self.config {
                    OptimizerConfig::Adagrad(c) => T::from_f64(c.initial_accumulator_value),
                    _ => T::ZERO,
                };
                let buf = |used: Option<&str>| {
                    if used.is_some() {
                        vec![init; n]
                    } else {
                        Vec::new()
                    }
                };
                empty.insert(Slot {
                    name: param.name.clone(),
                    shape: param.value.shape().to_vec(),
                    step: 0,
                    last_global: global,
                    bufs: [buf(layout[0]), buf(layout[1]), buf(layout[2])],
                })
            }
        };
        let first = slot.step == 0;
        slot.step += 1;
        slot.last_global = global;
        let t = slot.step;
        let theta = param.value.data_mut();
        let grad = param.grad.data();
        let [b0, b1, b2] = &mut slot.bufs;
        let config = &self.config;
        // Element-wise, so large parameters are updated in chunks on every core.
        crate::kernels::parallel::update(theta, grad, b0, b1, b2, &|theta, grad, b0, b1, b2| {
            apply(config, first, t, lr, theta, grad, b0, b1, b2)
        });
        Ok(())
    }

    /// The state tensors, named `"{index}.{buffer}"` with PyTorch's buffer names:
    /// `momentum_buffer` (SGD with momentum, RMSprop with momentum), `exp_avg`, `exp_avg_sq`,
    /// `max_exp_avg_sq` (Adam/AdamW, the last with amsgrad), `square_avg`, `grad_avg`
    /// (RMSprop, the last when centered), `sum` (Adagrad). Save them together with
    /// [`Optimizer::counters`].
    pub fn state(&self) -> Vec<(String, Tensor<T>)> {
        let mut out = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(slot) = slot else { continue };
            for (k, name) in self.layout.iter().enumerate() {
                if let Some(name) = name {
                    let t = Tensor::from_vec(&slot.shape, slot.bufs[k].clone())
                        .expect("optimizer buffer matches its shape");
                    out.push((format!("{i}.{name}"), t));
                }
            }
        }
        out
    }

    /// The step counters and parameter identities that go with [`Optimizer::state`].
    pub fn counters(&self) -> OptimizerCounters {
        OptimizerCounters {
            kind: self.config.kind().to_string(),
            step: self.step,
            params: self
                .slots
                .iter()
                .map(|s| {
                    s.as_ref().map(|s| ParamCounter {
                        name: s.name.clone(),
                        shape: s.shape.clone(),
                        step: s.step,
                    })
                })
                .collect(),
        }
    }

    /// Restores what [`Optimizer::counters`] and [`Optimizer::state`] returned, replacing all
    /// current state; continuing afterwards is bit-identical to never having stopped.
    ///
    /// Errors (and leaves the optimizer unchanged) when the kind differs, a tensor name is
    /// malformed, unknown for this configuration (e.g. `max_exp_avg_sq` without amsgrad) or
    /// duplicated, a shape disagrees with the counters, or a buffer is missing.
    pub fn load_state(
        &mut self,
        counters: &OptimizerCounters,
        tensors: &[(String, Tensor<T>)],
    ) -> Result<()> {
        let kind = self.config.kind();
        if counters.kind != kind {
            return Err(Error::Invalid(format!(
                "optimizer state was saved by `{}`, cannot load it into `{kind}`",
                counters.kind
            )));
        }
        let mut slots: Vec<Option<Slot<T>>> = counters
            .params
            .iter()
            .map(|p| {
                p.as_ref().map(|p| Slot {
                    name: p.name.clone(),
                    shape: p.shape.clone(),
                    step: p.step,
                    last_global: counters.step,
                    bufs: [Vec::new(), Vec::new(), Vec::new()],
                })
            })
            .collect();
        let mut filled = vec![[false; 3]; slots.len()];
        for (key, tensor) in tensors {
            let bad = || Error::Invalid(format!("unexpected {kind} optimizer state `{key}`"));
            let (idx, buf) = key.split_once('.').ok_or_else(bad)?;
            let idx: usize = idx.parse().map_err(|_| bad())?;
            let k = self
                .layout
                .iter()
                .position(|n| *n == Some(buf))
                .ok_or_else(|| {
                    let expected: Vec<&str> = self.layout.iter().flatten().copied().collect();
                    Error::Invalid(format!(
                        "unexpected {kind} optimizer state `{key}`: this configuration keeps \
                         {expected:?}"
                    ))
                })?;
            let slot = slots.get_mut(idx).and_then(Option::as_mut).ok_or_else(|| {
                Error::Invalid(format!(
                    "optimizer state `{key}` has no counters for parameter index {idx}"
                ))
            })?;
            if tensor.shape() != slot.shape.as_slice() {
                return Err(Error::Shape(format!(
                    "optimizer state `{key}` has shape {:?}, parameter `{}` has {:?}",
                    tensor.shape(),
                    slot.name,
                    slot.shape
                )));
            }
            if std::mem::replace(&mut filled[idx][k], true) {
                return Err(Error::Invalid(format!(
                    "optimizer state `{key}` appears twice"
                )));
            }
            slot.bufs[k] = tensor.data().to_vec();
        }
        for (i, slot) in slots.iter().enumerate() {
            if slot.is_none() {
                continue;
            }
            for (k, name) in self.layout.iter().enumerate() {
                if let (Some(name), false) = (name, filled[i][k]) {
                    return Err(Error::Invalid(format!(
                        "missing {kind} optimizer state `{i}.{name}`"
                    )));
                }
            }
        }
        self.step = counters.step;
        self.slots = slots;
        Ok(())
    }
}

/// The Adam hyper-parameters of an `AdamConfig` or `AdamWConfig` (same fields), with
/// decoupled (AdamW) or coupled weight decay.
macro_rules! adam_hyper {
    ($c:expr, $decoupled:expr) => {
        AdamHyper {
            beta1: $c.beta1,
            beta2: $c.beta2,
            eps: $c.eps,
            amsgrad: $c.amsgrad,
            weight_decay: $c.weight_decay,
            decoupled: $decoupled,
            l1: $c.l1,
        }
    };
}

/// One kind's element-wise update of a chunk.
#[allow(clippy::too_many_arguments)]
fn apply<T: Float>(
    config: &OptimizerConfig,
    first: bool,
    t: u64,
    lr: f64,
    theta: &mut [T],
    grad: &[T],
    b0: &mut [T],
    b1: &mut [T],
    b2: &mut [T],
) {
    match config {
        OptimizerConfig::Sgd(c) => sgd(c, first, lr, theta, grad, b0),
        OptimizerConfig::Adam(c) => {
            let h = adam_hyper!(c, false);
            adam(&h, t, lr, theta, grad, b0, b1, b2);
        }
        OptimizerConfig::AdamW(c) => {
            let h = adam_hyper!(c, true);
            adam(&h, t, lr, theta, grad, b0, b1, b2);
        }
        OptimizerConfig::RmsProp(c) => rmsprop(c, lr, theta, grad, b0, b1, b2),
        OptimizerConfig::Adagrad(c) => adagrad(c, t, lr, theta, grad, b0),
    }
}

fn sgd<T: Float>(c: &SgdConfig, first: bool, lr: f64, theta: &mut [T], grad: &[T], buf: &mut [T]) {
    let reg = Reg::<T>::new(c.l1, c.weight_decay);
    let neg_lr = T::from_f64(-lr);
    if c.momentum == 0.0 {
        for (th, &g) in theta.iter_mut().zip(grad) {
            let g = reg.apply(g, *th);
            *th += neg_lr * g;
        }
        return;
    }
    let mu = T::from_f64(c.momentum);
    let damp = T::from_f64(1.0 - c.dampening);
    for ((th, &g), b) in theta.iter_mut().zip(grad).zip(buf.iter_mut()) {
        let g = reg.apply(g, *th);
        *b = if first { g } else { *b * mu + damp * g };
        let d = if c.nesterov { g + mu * *b } else { *b };
        *th += neg_lr * d;
    }
}

struct AdamHyper {
    beta1: f64,
    beta2: f64,
    eps: f64,
    amsgrad: bool,
    weight_decay: f64,
    decoupled: bool,
    l1: f64,
}

#[allow(clippy::too_many_arguments)]
fn adam<T: Float>(
    h: &AdamHyper,
    t: u64,
    lr: f64,
    theta: &mut [T],
    grad: &[T],
    m: &mut [T],
    v: &mut [T],
    vmax: &mut [T],
) {
    let reg = Reg::<T>::new(h.l1, if h.decoupled { 0.0 } else { h.weight_decay });
    let decay =
        (h.decoupled && h.weight_decay != 0.0).then(|| T::from_f64(1.0 - lr * h.weight_decay));
    let tf = t as f64;
    let bc1 = 1.0 - h.beta1.powf(tf);
    let bc2 = 1.0 - h.beta2.powf(tf);
    let neg_step = T::from_f64(-(lr / bc1));
    let bc2_sqrt = T::from_f64(bc2.sqrt());
    let w1 = T::from_f64(1.0 - h.beta1);
    let b2 = T::from_f64(h.beta2);
    let w2 = T::from_f64(1.0 - h.beta2);
    let eps = T::from_f64(h.eps);
    for (j, (th, &g)) in theta.iter_mut().zip(grad).enumerate() {
        let g = reg.apply(g, *th);
        if let Some(d) = decay {
            *th *= d;
        }
        let mj = lerp(m[j], g, w1);
        m[j] = mj;
        let vj = v[j] * b2 + w2 * g * g;
        v[j] = vj;
        let vhat = if h.amsgrad {
            let old = vmax[j];
            let mx = if vj > old || vj.is_nan() { vj } else { old };
            vmax[j] = mx;
            mx
        } else {
            vj
        };
        let denom = vhat.sqrt() / bc2_sqrt + eps;
        *th += neg_step * (mj / denom);
    }
}

fn rmsprop<T: Float>(
    c: &RmsPropConfig,
    lr: f64,
    theta: &mut [T],
    grad: &[T],
    sq: &mut [T],
    mom: &mut [T],
    gavg: &mut [T],
) {
    let reg = Reg::<T>::new(c.l1, c.weight_decay);
    let alpha = T::from_f64(c.alpha);
    let w = T::from_f64(1.0 - c.alpha);
    let eps = T::from_f64(c.eps);
    let mu = T::from_f64(c.momentum);
    let neg_lr = T::from_f64(-lr);
    let use_mom = c.momentum > 0.0;
    for (j, (th, &g)) in theta.iter_mut().zip(grad).enumerate() {
        let g = reg.apply(g, *th);
        let s = sq[j] * alpha + w * g * g;
        sq[j] = s;
        let avg = if c.centered {
            let ga = lerp(gavg[j], g, w);
            gavg[j] = ga;
            (s + -ga * ga).sqrt()
        } else {
            s.sqrt()
        } + eps;
        if use_mom {
            let b = mom[j] * mu + g / avg;
            mom[j] = b;
            *th += neg_lr * b;
        } else {
            *th += neg_lr * (g / avg);
        }
    }
}

fn adagrad<T: Float>(
    c: &AdagradConfig,
    t: u64,
    lr: f64,
    theta: &mut [T],
    grad: &[T],
    sum: &mut [T],
) {
    let reg = Reg::<T>::new(c.l1, c.weight_decay);
    let clr = lr / (1.0 + (t as f64 - 1.0) * c.lr_decay);
    let neg_clr = T::from_f64(-clr);
    let eps = T::from_f64(c.eps);
    for ((th, &g), s) in theta.iter_mut().zip(grad).zip(sum.iter_mut()) {
        let g = reg.apply(g, *th);
        *s += g * g;
        let std = s.sqrt() + eps;
        *th += neg_clr * (g / std);
    }
}
