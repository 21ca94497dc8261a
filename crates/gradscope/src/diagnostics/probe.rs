//! [`Probe`]: the one probe, over any model's modules. At a diagnostic step, after backward and
//! before the optimizer, [`Probe::measure`] walks the model ([`Model::visit_modules`]) and asks
//! each module for what it has — a weight, an activation, a recurrent state — instead of
//! matching on layer types; after the optimizer step [`Probe::finish`] adds the
//! update-to-weight ratio ‖ΔW‖/‖W‖.

use super::config::DiagnosticsConfig;
use super::external::{ActivationFacts, ActivationStats, WeightStats};
use super::records::{LayerRecord, StepRecord};
use super::recurrent::measure_recurrent;
use super::stats::{log_abs_histogram, norm_and_max, sum_sq, update_sums, weight_pass};
use crate::activation::Activation;
use crate::float::{DType, Float};
use crate::model::{Model, ModuleView};
use crate::tensor::Tensor;

/// A weight as it was before the optimizer step, for ‖ΔW‖/‖W‖: in f32 for an f32 model
/// (exactly its values, at half the memory traffic of f64), else in f64.
#[derive(Clone, Debug, Default)]
struct WeightCopy {
    f32: Vec<f32>,
    f64: Vec<f64>,
}

/// ‖∂L/∂output‖ and max |∂L/∂output| of the module visited last, by the address and length of
/// the gradient: the next module's ∂L/∂input is often the same tensor.
type LastGradNorm<T> = Option<(*const T, usize, (f64, f64))>;

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
    alive: Vec<bool>,
    scratch: Vec<i64>,
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
    pub fn measure<T: Float>(
        &mut self,
        model: &Model<T>,
        input: Option<&Tensor<T>>,
        at: StepContext,
    ) {
        let mut layers = Vec::new();
        let mut recurrent = Vec::new();
        let mut depth = 0;
        let mut weighted = 0;
        let mut last: LastGradNorm<T> = None;
        let norm = |t: &Tensor<T>, last: &mut LastGradNorm<T>| {
            let key = (t.data().as_ptr(), t.len());
            match *last {
                Some((p, n, v)) if (p, n) == key => v,
                _ => {
                    let v = norm_and_max(t.data());
                    *last = Some((key.0, key.1, v));
                    v
                }
            }
        };
        model.visit_modules(input, &mut |m| {
            let mut rec = LayerRecord::new(m.index, m.name.clone(), m.kind, m.module.describe());
            let grad_in = m.module.grad_input();
            if !grad_in.is_empty() {
                // Layer i's ∂L/∂input is layer i−1's ∂L/∂output, measured a moment ago.
                let (n, mx) = norm(grad_in, &mut last);
                rec.grad_in_norm = Some(n);
                rec.grad_in_max = Some(mx);
            }
            (rec.grad_out_norm, rec.grad_out_max) = norm(m.grad_output, &mut last);
            self.measure_weight(&m, &mut rec, weighted);
            if m.module.weight().is_some() {
                weighted += 1;
            }
            if let Some(act) = m.module.activation() {
                rec.activation = Some(act);
                if !m.is_output {
                    depth += 1;
                    rec.depth = Some(depth);
                }
                self.measure_activation(&m, act, &mut rec);
            }
            if let Some(r) = m.module.as_recurrent() {
                recurrent.push(measure_recurrent(m.index, &m.name, r, m.input, &mut |a| {
                    self.facts(a).max_abs_derivative
                }));
            }
            layers.push(rec);
        });
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

    /// ‖W‖, σ_w, σ_b², ‖∂L/∂W‖, and a copy of W for the update ratio (slot `k`).
    fn measure_weight<T: Float>(&mut self, m: &ModuleView<'_, T>, rec: &mut LayerRecord, k: usize) {
        let Some(w) = m.module.weight() else {
            return;
        };
        if self.before.len() <= k {
            self.before.push(WeightCopy::default());
        }
        // One pass: a copy for the update ratio, the sums for ‖W‖ and σ_w, ‖∂L/∂W‖.
        let copy = &mut self.before[k];
        let (v, g) = (w.param.value.data(), w.param.grad.data());
        let sums = if T::DTYPE == DType::F32 {
            copy.f32.resize(v.len(), 0.0);
            weight_pass(v, g, &mut copy.f32, |x| x.to_f64() as f32)
        } else {
            copy.f64.resize(v.len(), 0.0);
            weight_pass(v, g, &mut copy.f64, |x| x.to_f64())
        };
        let bias = w.bias.map(|b| b.value.data());
        WeightStats::from_sums(sums.sum, sums.sum_sq, w.param.len(), w.fan_in, bias).apply(rec);
        rec.weight_grad_norm = Some(sums.grad_norm);
        rec.weight_grad_max = Some(sums.grad_max);
    }

    /// Output statistics, f'(z) statistics from the input z, dead units, histograms.
    fn measure_activation<T: Float>(
        &mut self,
        m: &ModuleView<'_, T>,
        act: Activation,
        rec: &mut LayerRecord,
    ) {
        let facts = self.facts(act);
        let out = m.module.output();
        let z = m.input.map(|z| z.data()).filter(|_| !act.is_rowwise());
        let bins = self.config.bins;
        let (stats, act_hist) = ActivationStats::measure_with(
            &facts,
            z,
            out.data(),
            out.cols(),
            bins,
            &mut self.scratch,
            &mut self.alive,
        );
        stats.apply(rec);
        if self.config.histograms {
            rec.grad_hist = Some(log_abs_histogram(
                m.module.grad_input().data(),
                -14,
                2,
                bins,
            ));
            rec.act_hist = Some(act_hist);
        }
    }

    /// After the optimizer step: adds ‖ΔW‖/‖W‖ and returns the record of the step measured.
    pub fn finish<T: Float>(&mut self, model: &Model<T>) -> Option<StepRecord> {
        let mut rec = self.pending.take()?;
        let mut k = 0;
        let before = &self.before;
        let layers = &mut rec.layers;
        model.visit_modules(None, &mut |m| {
            if let Some(w) = m.module.weight() {
                let old = &before[k];
                k += 1;
                let v = w.param.value.data();
                let (d2, w2) = if T::DTYPE == DType::F32 {
                    update_sums(v, &old.f32, f64::from)
                } else {
                    update_sums(v, &old.f64, |x| x)
                };
                if let Some(r) = layers.get_mut(m.index) {
                    r.update_ratio = Some(if w2 > 0.0 { (d2 / w2).sqrt() } else { f64::NAN });
                }
            }
        });
        Some(rec)
    }
}

/// The ε of [`LayerRecord::range_end_fraction`](super::LayerRecord::range_end_fraction), as a
/// share of the range's width (of 1 when only one end is finite): 2%. A sigmoid unit at 0.02
/// or 0.98, a tanh unit at ±0.96, has |f'| under 8% of its maximum; a top sigmoid layer stuck
/// at 0.012 (Glorot & Bengio 2010's saturation at 0) counts, which 1% missed.
pub const RANGE_END_EPSILON: f64 = 0.02;
