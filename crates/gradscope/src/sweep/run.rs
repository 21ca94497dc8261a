//! Training one run of a sweep: its config from scratch with the gradient scope on its first
//! step, the verdict at initialization judged from that step, the outcome summarized.

use super::RunSpec;
use crate::config::LoadedConfig;
use crate::diagnostics::{judge, DiagnosticsConfig, Flow, Severity, StepRecord, Thresholds};
use crate::error::Result;
use crate::float::{DType, Float};
use crate::memory::MemoryLimit;
use crate::train::{Observer, Run, Summary, Trainer};

/// The version of `result.json`: the library's one output schema version.
pub const RUN_RESULT_SCHEMA_VERSION: u32 = crate::io::SCHEMA_VERSION;

/// The verdict on a run's first step (its initialization), as `gradscope diagnose` gives it
/// for step 1 — what a calibration compares with the run's outcome.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AtInit {
    /// Vanishing, exploding or healthy.
    pub flow: Flow,
    /// The continuous measure behind `flow`: log₁₀ ‖δ_1‖/‖δ_L‖, margin, confidence.
    pub severity: Severity,
    /// ‖δ_first‖ / ‖δ_last‖.
    pub first_to_last: f64,
    /// Geometric-mean factor of ‖δ‖ per layer towards the input.
    pub per_layer_factor: f64,
    /// The global gradient norm of step 1 (before clipping).
    pub grad_norm: f64,
    /// Depths of the hidden layers saturated beyond the threshold.
    pub saturated_layers: Vec<usize>,
    /// Depths of the hidden layers dead beyond the threshold.
    pub dead_layers: Vec<usize>,
}

impl AtInit {
    /// Judges the first record, which must be step 1; None when there is none or the model
    /// has nothing to judge (no hidden activation layer and no recurrent encoder).
    pub fn judge(records: &[StepRecord], thresholds: &Thresholds) -> Option<AtInit> {
        let first = records.first().filter(|r| r.step == 1)?;
        if first.recurrent.is_empty() && first.activations().count() == 0 {
            return None;
        }
        let v = judge(std::slice::from_ref(first), thresholds);
        Some(AtInit {
            flow: v.flow,
            severity: v.severity,
            first_to_last: v.first_to_last,
            per_layer_factor: v.per_layer_factor,
            grad_norm: first.grad_norm,
            saturated_layers: v.saturated_depths(),
            dead_layers: v.dead_depths(),
        })
    }
}

/// One hidden activation layer's output statistics at one measured step.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerActivation {
    /// The hidden layer's depth (1 = nearest the input).
    pub depth: usize,
    /// Mean of its output a over the batch and units.
    pub mean: f64,
    /// Standard deviation of a.
    pub std: f64,
    /// Share of unit-samples within 2% of the width of f's range of one of its finite ends
    /// (Glorot & Bengio's saturation; absent for an activation without a finite end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_end_fraction: Option<f64>,
}

/// The hidden layers' activation statistics at one step the gradient scope measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActivationStep {
    /// The step (1 = the initialization).
    pub step: u64,
    /// The epoch in progress (1-based).
    pub epoch: usize,
    /// The hidden activation layers, by depth.
    pub layers: Vec<LayerActivation>,
}

impl ActivationStep {
    /// The activation layers of `record` that have a mean and a standard deviation.
    pub fn of(record: &StepRecord) -> ActivationStep {
        ActivationStep {
            step: record.step,
            epoch: record.epoch,
            layers: record
                .activations()
                .filter_map(|l| {
                    Some(LayerActivation {
                        depth: l.depth?,
                        mean: l.act_mean?,
                        std: l.act_std?,
                        range_end_fraction: l.range_end_fraction,
                    })
                })
                .collect(),
        }
    }
}

/// `result.json`: what one run of a sweep gave. A run directory holding one is complete.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RunResult {
    /// [`RUN_RESULT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The run's id ([`RunSpec::id`]).
    pub id: String,
    /// Its point's id.
    pub point_id: String,
    /// Its seed.
    pub seed: u64,
    /// The overrides that made its config from the sweep's base.
    pub overrides: Vec<String>,
    /// The verdict on step 1 (null when the model has nothing to judge).
    pub at_init: Option<AtInit>,
    /// The run's `summary.json`.
    pub summary: Summary,
    /// The hidden layers' activation mean and std at every step the gradient scope measured
    /// (step 1 and every `diagnostics.every` steps), for a run whose config has a
    /// `[diagnostics]` table (Glorot & Bengio's Fig. 2); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activations: Vec<ActivationStep>,
}

/// A trained run: the trainer (its model, for saving), what it reported, and its result.
pub struct Trained<T: Float> {
    /// The trainer after the run.
    pub trainer: Trainer<T>,
    /// Records, losses and epoch records.
    pub run: Run,
    /// The result.
    pub result: RunResult,
}

/// Trains `run` of a sweep from scratch: `loaded` is its config ([`super::Sweep::config`]),
/// `limit` the memory it may take, `observer` sees every step and epoch (and may stop the
/// run: its result then says `interrupted`). The gradient scope measures step 1 (with the
/// config's `[diagnostics]` settings, or the defaults), from which [`AtInit`] is judged. The
/// config's dtype must be T's.
pub fn train_run<T: Float>(
    loaded: &LoadedConfig,
    run: &RunSpec,
    limit: Option<&MemoryLimit>,
    observer: &mut dyn Observer,
) -> Result<Trained<T>> {
    let mut trainer = match limit {
        Some(l) => Trainer::<T>::new_within(loaded, l)?,
        None => Trainer::<T>::new(loaded)?,
    };
    let diagnostics = loaded
        .config
        .diagnostics
        .clone()
        .unwrap_or(DiagnosticsConfig {
            histograms: false,
            ..DiagnosticsConfig::default()
        });
    trainer.probe_first_step(diagnostics.clone());
    let collected = trainer.run_collecting(observer)?;
    let result = RunResult {
        schema_version: RUN_RESULT_SCHEMA_VERSION,
        id: run.id.clone(),
        point_id: run.point_id.clone(),
        seed: run.seed,
        overrides: run.overrides.clone(),
        at_init: AtInit::judge(&collected.records, &diagnostics.thresholds),
        summary: collected.summary.clone(),
        activations: if loaded.config.diagnostics.is_some() {
            collected.records.iter().map(ActivationStep::of).collect()
        } else {
            Vec::new()
        },
    };
    Ok(Trained {
        trainer,
        run: collected,
        result,
    })
}

/// [`train_run`] in the config's precision, keeping only the result (for a program that
/// needs numbers, not files).
pub fn run_one(
    loaded: &LoadedConfig,
    run: &RunSpec,
    limit: Option<&MemoryLimit>,
    observer: &mut dyn Observer,
) -> Result<RunResult> {
    Ok(match loaded.config.dtype {
        DType::F32 => train_run::<f32>(loaded, run, limit, observer)?.result,
        DType::F64 => train_run::<f64>(loaded, run, limit, observer)?.result,
    })
}
