//! [`Probe`]: the one probe, over any model's modules. At a diagnostic step, after backward and
//! before the optimizer, [`Probe::measure`] walks the model ([`Model::visit_modules`]) and asks
//! each module for what it has — a weight, an activation, a recurrent state — instead of
//! matching on layer types; after the optimizer step [`Probe::finish`] adds the
//! update-to-weight ratio ‖ΔW‖/‖W‖.

use super::config::DiagnosticsConfig;
use super::external::{ActivationFacts, ActivationStats, WeightStats};
use super::records::{LayerRecord, StepRecord};
use super::recurrent::measure_recurrent;
use super::stats::{
    norm_and_max, sample_stride, sum_sq, update_sums, weight_pass, LogBins, QuantileScratch,
};
use crate::activation::Activation;
use crate::float::{DType, Float};
use crate::kernels::parallel;
use crate::model::Model;
use crate::tensor::Tensor;

/// A weight as it was before the optimizer step, for ‖ΔW‖/‖W‖, in the model's own float type
/// (exactly its values).
#[derive(Clone, Debug, Default)]
struct WeightCopy {
    f32: Vec<f32>,
    f64: Vec<f64>,
}

impl WeightCopy {
    /// The copy's buffer of the model's float type T.
    fn of<T: Float>(&mut self) -> &mut Vec<T> {
        use std::any::Any;
        let v: &mut dyn Any = match T::DTYPE {
            DType::F32 => &mut self.f32,
            DType::F64 => &mut self.f64,
        };
        v.downcast_mut::<Vec<T>>()
            .expect("T::DTYPE names T's own type")
    }

    /// [`WeightCopy::of`], read-only.
    fn get<T: Float>(&self) -> &[T] {
        use std::any::Any;
        let v: &dyn Any = match T::DTYPE {
            DType::F32 => &self.f32,
            DType::F64 => &self.f64,
        };
        v.downcast_ref::<Vec<T>>()
            .expect("T::DTYPE names T's own type")
    }
}

/// The decades of the |∂L/∂z| histogram: 10⁻¹⁴ to 10².
const GRAD_HIST_DECADES: (i32, i32) = (-14, 2);

/// Where and when a measurement is taken.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepContext {
    /// The step (1-based).
    pub step: u64,
    /// The epoch in progress (1-based).
    pub epoch: usize,
    /// The batch loss.
    pub loss: f64,
    /// The global gradient norm before clipping.
    pub grad_norm: f64,
}

/// Measures a model at diagnostic steps, reusing its buffers.
///
/// The [`Trainer`](crate::train::Trainer) runs one when the config has a `[diagnostics]`
/// table; a program running a model by hand measures it after backward:
///
/// ```
/// use gradscope::diagnostics::{DiagnosticsConfig, Probe, StepContext};
/// use gradscope::loss::Loss;
/// use gradscope::model::MlpSpec;
/// use gradscope::{Activation, Rng, Tensor};
///
/// let mut rng = Rng::seed(0);
/// let mut model = MlpSpec::new(4, &[8, 8, 8], 2, Activation::Sigmoid).build::<f64>(&mut rng)?;
/// let x = Tensor::from_vec(&[16, 4], (0..64).map(|_| rng.normal()).collect())?;
/// let y = Tensor::from_vec(&[16], (0..16).map(|i| (i % 2) as f64).collect())?;
/// let loss = model.forward_backward(&x, &y, Loss::CrossEntropy)?;
///
/// let mut probe = Probe::new(DiagnosticsConfig::default());
/// let at = StepContext { step: 1, epoch: 1, loss, grad_norm: 0.0 };
/// probe.measure(&model, Some(&x), at);
/// let record = probe.finish(&model).expect("a measured step");
/// // ‖∂L/∂z‖ of each hidden layer, by depth: sigmoid shrinks it towards the input.
/// let deltas = record.deltas();
/// assert_eq!(deltas.iter().map(|d| d.0).collect::<Vec<_>>(), [1, 2, 3]);
/// assert!(deltas[0].1 < deltas[2].1);
/// # Ok::<(), gradscope::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Probe {
    config: DiagnosticsConfig,
    facts: Vec<ActivationFacts>,
    before: Vec<WeightCopy>,
    scratch: [Scratch; 2],
    log_bins: Option<LogBins>,
    pending: Option<StepRecord>,
}

impl Probe {
    /// A probe with the given settings.
    pub fn new(config: DiagnosticsConfig) -> Self {
        Probe {
            config,
            ..Probe::default()
        }
    }

    /// The settings.
    pub fn config(&self) -> &DiagnosticsConfig {
        &self.config
    }

    fn facts(&mut self, act: Activation) -> ActivationFacts {
        if let Some(f) = self.facts.iter().find(|f| f.activation == act) {
            return *f;
        }
        let f = ActivationFacts::of(act);
        self.facts.push(f);
        f
    }

    /// Measures every layer after backward (before the optimizer step). `input` is the
    /// model's input of the step (the batch the gradients were computed on): with it the
    /// first layer's activation statistics, a recurrent first layer's gates and q⁰ are
    /// measured exactly; without it they are left out where they need it.
    ///
    /// The walk collects one task per module; the tasks (every pass over a tensor) then run
    /// in two halves of about equal size on the two cores when they are large enough to pay
    /// for the hand-off ([`parallel::join`]); each task writes only its own record, so the
    /// values do not depend on the split.
    pub fn measure<T: Float>(
        &mut self,
        model: &Model<T>,
        input: Option<&Tensor<T>>,
        at: StepContext,
    ) {
        self.measure_split(model, input, at, &|tasks| halfway(tasks, Task::cost));
    }

    /// [`Probe::measure`] with the tasks split where `split` says (the tests try every split).
    fn measure_split<T: Float>(
        &mut self,
        model: &Model<T>,
        input: Option<&Tensor<T>>,
        at: StepContext,
        split: &dyn Fn(&[Task<'_, T>]) -> usize,
    ) {
        let mut tasks: Vec<Task<'_, T>> = Vec::new();
        let mut recurrent = Vec::new();
        let mut depth = 0;
        let mut weighted = 0;
        let mut last_out: Option<(*const T, usize)> = None;
        model.visit_modules(input, &mut |m| {
            let mut rec = LayerRecord::new(m.index, m.name.clone(), m.kind, m.module.describe());
            let grad_in = m.module.grad_input().data();
            let key = |g: &[T]| (g.as_ptr(), g.len());
            // Layer i's ∂L/∂input is often layer i−1's ∂L/∂output: measured once.
            let grad_in = match grad_in.is_empty() {
                true => GradIn::None,
                false if last_out == Some(key(grad_in)) => GradIn::SameAsPrevious,
                false => GradIn::Own(grad_in),
            };
            last_out = Some(key(m.grad_output.data()));
            let weight = m.module.weight().map(|w| {
                if self.before.len() <= weighted {
                    self.before.push(WeightCopy::default());
                }
                let copy = std::mem::take(&mut self.before[weighted]);
                weighted += 1;
                WeightTask {
                    value: w.param.value.data(),
                    grad: w.param.grad.data(),
                    bias: w.bias.map(|b| b.value.data()),
                    fan_in: w.fan_in,
                    copy,
                }
            });
            let act = m.module.activation().map(|act| {
                rec.activation = Some(act);
                if !m.is_output {
                    depth += 1;
                    rec.depth = Some(depth);
                }
                let out = m.module.output();
                ActivationTask {
                    facts: self.facts(act),
                    z: m.input.map(|z| z.data()).filter(|_| !act.is_rowwise()),
                    a: out.data(),
                    cols: out.cols(),
                    grad_in: m.module.grad_input().data(),
                }
            });
            if let Some(r) = m.module.as_recurrent() {
                recurrent.push(measure_recurrent(m.index, &m.name, r, m.input, &mut |a| {
                    self.facts(a).max_abs_derivative
                }));
            }
            tasks.push(Task {
                rec,
                grad_in,
                grad_out: m.grad_output.data(),
                weight,
                act,
            });
        });
        let bins = self.config.bins;
        let log_bins = match self.log_bins.take() {
            Some(b) if b.is(GRAD_HIST_DECADES.0, GRAD_HIST_DECADES.1, bins) => b,
            _ => LogBins::new(GRAD_HIST_DECADES.0, GRAD_HIST_DECADES.1, bins),
        };
        let setting = Setting {
            bins,
            histograms: self.config.histograms,
            log_bins: &log_bins,
        };
        let [s0, s1] = &mut self.scratch;
        let mid = split(&tasks).min(tasks.len());
        let (first, second) = tasks.split_at_mut(mid);
        if second.is_empty() {
            run_tasks(first, &setting, s0);
        } else {
            parallel::join(
                || run_tasks(first, &setting, s0),
                || run_tasks(second, &setting, s1),
            );
        }
        self.log_bins = Some(log_bins);
        let mut layers = Vec::with_capacity(tasks.len());
        let mut slot = 0;
        let mut previous_out = None;
        for mut t in tasks {
            if let GradIn::SameAsPrevious = t.grad_in {
                (t.rec.grad_in_norm, t.rec.grad_in_max) = match previous_out {
                    Some((n, m)) => (Some(n), Some(m)),
                    None => (None, None),
                };
            }
            previous_out = Some((t.rec.grad_out_norm, t.rec.grad_out_max));
            if let Some(w) = t.weight {
                self.before[slot] = w.copy;
                slot += 1;
            }
            layers.push(t.rec);
        }
        let input_q0 = input
            .filter(|x| !x.is_empty())
            .map(|x| sum_sq(x.data()) / x.len() as f64);
        self.pending = Some(StepRecord {
            step: at.step,
            epoch: at.epoch,
            loss: at.loss,
            grad_norm: at.grad_norm,
            input_q0,
            batch_size: input.filter(|x| !x.is_empty()).map(|x| x.rows()),
            layers,
            recurrent,
        });
    }

    /// After the optimizer step: adds ‖ΔW‖/‖W‖ and returns the record of the step measured.
    pub fn finish<T: Float>(&mut self, model: &Model<T>) -> Option<StepRecord> {
        let mut rec = self.pending.take()?;
        let mut pairs: Vec<(usize, &[T], &WeightCopy, f64)> = Vec::new();
        let before = &self.before;
        model.visit_modules(None, &mut |m| {
            if let Some(w) = m.module.weight() {
                if let Some(old) = before.get(pairs.len()) {
                    pairs.push((m.index, w.param.value.data(), old, f64::NAN));
                }
            }
        });
        let ratio = |(_, v, old, r): &mut (usize, &[T], &WeightCopy, f64)| {
            let (d2, w2) = update_sums(v, old.get::<T>());
            *r = if w2 > 0.0 { (d2 / w2).sqrt() } else { f64::NAN };
        };
        let mid = halfway(&pairs, |p| p.1.len());
        let (first, second) = pairs.split_at_mut(mid);
        parallel::join(
            || first.iter_mut().for_each(ratio),
            || second.iter_mut().for_each(ratio),
        );
        for (index, _, _, r) in pairs {
            if let Some(l) = rec.layers.get_mut(index) {
                l.update_ratio = Some(r);
            }
        }
        Some(rec)
    }
}

/// Fewest values a measurement must read before its tasks are split over two cores.
const PARALLEL_MIN_VALUES: usize = 1 << 16;

/// The index that splits `items` into two parts of about equal total `cost` (all of them in
/// the first part when the total is under [`PARALLEL_MIN_VALUES`] or the cores are busy).
fn halfway<I>(items: &[I], cost: impl Fn(&I) -> usize) -> usize {
    let total: usize = items.iter().map(&cost).sum();
    if total < PARALLEL_MIN_VALUES || !parallel::available() {
        return items.len();
    }
    let mut acc = 0;
    for (i, item) in items.iter().enumerate() {
        acc += cost(item);
        if 2 * acc >= total {
            // The middle item goes to whichever side it unbalances less.
            let before = acc - cost(item);
            return if 2 * acc - total <= total - 2 * before {
                i + 1
            } else {
                i
            };
        }
    }
    items.len()
}

/// How a module's ∂L/∂input is measured.
enum GradIn<'a, T> {
    /// It has none (the model's first layer skips it).
    None,
    /// The same tensor as the previous module's ∂L/∂output: copied from that record.
    SameAsPrevious,
    /// Its own tensor.
    Own(&'a [T]),
}

/// A weighted module's tensors: W, ∂L/∂W, the bias, and the copy of W kept for the update
/// ratio (moved out of the probe while the task runs).
struct WeightTask<'a, T> {
    value: &'a [T],
    grad: &'a [T],
    bias: Option<&'a [T]>,
    fan_in: Option<usize>,
    copy: WeightCopy,
}

/// An activation module's tensors: z (None when not needed), a = f(z) as `[rows, cols]`, and
/// ∂L/∂z for the histogram.
struct ActivationTask<'a, T> {
    facts: ActivationFacts,
    z: Option<&'a [T]>,
    a: &'a [T],
    cols: usize,
    grad_in: &'a [T],
}

/// Everything measured on one module, and the record it fills.
struct Task<'a, T> {
    rec: LayerRecord,
    grad_in: GradIn<'a, T>,
    grad_out: &'a [T],
    weight: Option<WeightTask<'a, T>>,
    act: Option<ActivationTask<'a, T>>,
}

impl<T> Task<'_, T> {
    /// Values read, a proxy for the time the task takes.
    fn cost(&self) -> usize {
        let own = match self.grad_in {
            GradIn::Own(g) => g.len(),
            _ => 0,
        };
        own + self.grad_out.len()
            + self.weight.as_ref().map_or(0, |w| 3 * w.value.len())
            + self.act.as_ref().map_or(0, |a| 4 * a.a.len())
    }
}

/// The settings every task reads.
struct Setting<'a> {
    bins: usize,
    histograms: bool,
    log_bins: &'a LogBins,
}

/// One core's scratch space: the quantiles' bins and keys, the live-unit flags and the log
/// histogram's slots.
#[derive(Clone, Debug, Default)]
struct Scratch {
    quantiles: QuantileScratch,
    alive: Vec<bool>,
    log_slots: Vec<u16>,
}

fn run_tasks<T: Float>(tasks: &mut [Task<'_, T>], setting: &Setting<'_>, scratch: &mut Scratch) {
    for t in tasks {
        let rec = &mut t.rec;
        if let GradIn::Own(g) = t.grad_in {
            let (n, mx) = norm_and_max(g);
            rec.grad_in_norm = Some(n);
            rec.grad_in_max = Some(mx);
        }
        (rec.grad_out_norm, rec.grad_out_max) = norm_and_max(t.grad_out);
        if let Some(w) = &mut t.weight {
            measure_weight(w, rec);
        }
        if let Some(a) = &t.act {
            measure_activation(a, setting, scratch, rec);
        }
    }
}

/// ‖W‖, σ_w, σ_b², ‖∂L/∂W‖, and the copy of W for the update ratio, in one pass.
fn measure_weight<T: Float>(w: &mut WeightTask<'_, T>, rec: &mut LayerRecord) {
    let copy = w.copy.of::<T>();
    copy.resize(w.value.len(), T::ZERO);
    let sums = weight_pass(w.value, w.grad, copy);
    WeightStats::from_sums(sums.sum, sums.sum_sq, w.value.len(), w.fan_in, w.bias).apply(rec);
    rec.weight_grad_norm = Some(sums.grad_norm);
    rec.weight_grad_max = Some(sums.grad_max);
}

/// Output statistics, f'(z) statistics from the input z, dead units, histograms.
fn measure_activation<T: Float>(
    t: &ActivationTask<'_, T>,
    setting: &Setting<'_>,
    scratch: &mut Scratch,
    rec: &mut LayerRecord,
) {
    let (stats, act_hist) = ActivationStats::measure_with(
        &t.facts,
        t.z,
        t.a,
        t.cols,
        setting.bins,
        &mut scratch.quantiles,
        &mut scratch.alive,
    );
    stats.apply(rec);
    if setting.histograms {
        let g = t.grad_in;
        let stride = sample_stride(g.len());
        let hist = setting
            .log_bins
            .histogram_with(g, stride, &mut scratch.log_slots);
        rec.grad_hist = Some(hist);
        rec.act_hist = Some(act_hist);
    }
}

/// The ε of [`LayerRecord::range_end_fraction`](super::LayerRecord::range_end_fraction), as a
/// share of the range's width (of 1 when only one end is finite): 2%. A sigmoid unit at 0.02
/// or 0.98, a tanh unit at ±0.96, has |f'| under 8% of its maximum; a top sigmoid layer stuck
/// at 0.012 (Glorot & Bengio 2010's saturation at 0) counts, which 1% missed.
pub const RANGE_END_EPSILON: f64 = 0.02;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Loss;
    use crate::model::MlpSpec;
    use crate::{Activation, Rng};

    /// Wherever the per-module tasks are split between the two halves, the record is the
    /// same as measured in one piece: each task writes only its own record, and ∂L/∂input
    /// copied from the previous module's ∂L/∂output crosses the split.
    #[test]
    fn the_record_does_not_depend_on_where_the_work_is_split() {
        let mut rng = Rng::seed(3);
        let mut model = MlpSpec::new(6, &[16, 16, 16], 3, Activation::Tanh)
            .build::<f32>(&mut rng)
            .unwrap();
        let x: Vec<f64> = (0..40 * 6).map(|_| rng.normal()).collect();
        let x = Tensor::<f32>::from_f64_slice(&[40, 6], &x).unwrap();
        let y: Vec<f64> = (0..40).map(|i| (i % 3) as f64).collect();
        let y = Tensor::<f32>::from_f64_slice(&[40], &y).unwrap();
        model.forward_backward(&x, &y, Loss::CrossEntropy).unwrap();
        let at = StepContext {
            step: 1,
            epoch: 1,
            loss: 0.0,
            grad_norm: 0.0,
        };
        let record = |split: usize| {
            let mut probe = Probe::new(DiagnosticsConfig::default());
            probe.measure_split(&model, Some(&x), at, &|_| split);
            probe.finish(&model).unwrap()
        };
        let whole = record(usize::MAX);
        assert_eq!(whole.layers.len(), 7);
        assert!(whole.layers[2].grad_in_norm.is_some());
        for split in 0..=whole.layers.len() {
            assert_eq!(record(split), whole, "split at {split}");
        }
    }

    #[test]
    fn halfway_balances_the_cost_and_keeps_small_work_whole() {
        let small = [10usize; 8];
        assert_eq!(halfway(&small, |c| *c), small.len());
        if parallel::available() {
            let big = [PARALLEL_MIN_VALUES; 4];
            assert_eq!(halfway(&big, |c| *c), 2);
            let skewed = [3 * PARALLEL_MIN_VALUES, 1, 1, PARALLEL_MIN_VALUES];
            assert_eq!(halfway(&skewed, |c| *c), 1);
        }
    }
}
