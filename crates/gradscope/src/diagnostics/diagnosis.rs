//! [`Diagnosis`]: everything `gradscope diagnose` concludes about a run, as one value — the
//! verdict over the run and at initialization, the per-layer table, the mean-field
//! prediction, the gradient through time — computed from the run's records alone. It is
//! `diagnosis.json`; the CLI only renders it.

use super::config::DiagnosticsConfig;
use super::explain;
use super::prediction::{predict, Prediction, Unavailable};
use super::profile::{through_time, ThroughTime};
use super::records::StepRecord;
use super::table::{layer_rows, LayerRow};
use super::verdict::{judge, Flow, Problem, Severity, Verdict};
use crate::error::{Error, Result};
use crate::layer::LayerKind;
use crate::train::{Evaluation, LossPoint, Outcome, Run};

/// The version of the `diagnosis.json` schema: the output schema's
/// [`crate::io::SCHEMA_VERSION`] (docs/outputs.md).
pub const DIAGNOSIS_SCHEMA_VERSION: u32 = crate::io::SCHEMA_VERSION;

/// The verdict on the first measured step alone (step 1: the initialization).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InitVerdict {
    /// The step judged.
    pub step: u64,
    /// Its flow.
    pub flow: Flow,
    /// ‖δ_1‖/‖δ_L‖ at that step.
    pub first_to_last: f64,
    /// Per-layer factor at that step.
    pub per_layer_factor: f64,
    /// The continuous measure behind `flow`.
    pub severity: Severity,
    /// Dead units and saturated layers at that step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// The verdict's prediction at that step that the network trains: `flow` healthy and no
    /// problem ([`Verdict::will_train`]; docs/diagnostics.md, "Calibration", measures it).
    #[serde(default)]
    pub will_train: bool,
}

/// `diagnosis.json`.
///
/// Every conclusion of a run as one value ([`crate::train::Trainer::diagnose`], or
/// [`Diagnosis::from_run`] on a run's records); it serializes to the CLI's `diagnosis.json`.
///
/// ```
/// use gradscope::config::Config;
/// use gradscope::diagnostics::{Diagnosis, DiagnosticsConfig, Flow};
/// use gradscope::model::{MlpSpec, Norm};
/// use gradscope::train::{Silent, Trainer};
/// use gradscope::Activation;
///
/// // Sigmoid layers with batch normalization before each activation.
/// let model = MlpSpec {
///     norm: Norm::Batchnorm,
///     ..MlpSpec::new(0, &[32; 8], 0, Activation::Sigmoid)
/// };
/// let diagnostics = DiagnosticsConfig { every: 1, ..DiagnosticsConfig::default() };
/// let mut config = Config::new(model).with_diagnostics(diagnostics.clone());
/// config.training.max_steps = Some(5);
/// let run = Trainer::<f32>::from_config(config)?.run_collecting(&mut Silent)?;
///
/// let diagnosis = Diagnosis::from_run("in code", &diagnostics, &run)?;
/// assert_eq!(diagnosis.steps, 5);
/// assert_eq!(diagnosis.layers.len(), 8);
/// assert_ne!(diagnosis.verdict.flow, Flow::Vanishing);
/// // The theory does not cover batch norm, and says so as a value.
/// assert!(diagnosis.theory.is_none() && diagnosis.theory_unavailable.is_some());
/// # Ok::<(), gradscope::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Diagnosis {
    /// [`DIAGNOSIS_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Where the network came from (the config file).
    pub config: String,
    /// Steps trained.
    pub steps: u64,
    /// Measurement interval.
    pub every: u64,
    /// Steps measured.
    pub measured_steps: Vec<u64>,
    /// How training ended (a diverged run is diagnosed from the steps before).
    pub outcome: Outcome,
    /// The verdict over every measured step.
    pub verdict: Verdict,
    /// The verdict on the first measured step alone.
    pub verdict_at_init: InitVerdict,
    /// Per hidden layer.
    pub layers: Vec<LayerRow>,
    /// Mean-field prediction at initialization (null when it does not apply).
    pub theory: Option<Prediction>,
    /// Why there is no prediction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theory_unavailable: Option<Unavailable>,
    /// The prediction against the measurement in one sentence (or why there is none).
    pub theory_summary: String,
    /// Recurrent models: ‖∂L/∂h_t‖ for every t at the first and last measured steps, with
    /// Pascanu et al.'s bound, per encoder (the verdicts are `verdict.recurrent`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub through_time: Vec<ThroughTime>,
    /// The batch loss of every step.
    pub loss: Vec<LossPoint>,
    /// Final evaluation on the training split.
    pub train: Option<Evaluation>,
    /// Final evaluation on the validation split.
    pub val: Option<Evaluation>,
    /// Wall time, seconds.
    pub elapsed_s: f64,
}

impl Diagnosis {
    /// Judges the records of a run. `source` names the network (a config file). Errors when
    /// no step was measured or the model has nothing to diagnose (no hidden activation
    /// layer and no recurrent encoder).
    pub fn from_run(source: &str, config: &DiagnosticsConfig, run: &Run) -> Result<Diagnosis> {
        let mut d = Diagnosis::from_records(
            source,
            config,
            &run.records,
            run.steps,
            run.losses.clone(),
            run.wall_s,
        )?;
        d.outcome = run.outcome.clone();
        d.train = run.summary.train;
        d.val = run.summary.val;
        Ok(d)
    }

    /// Judges records measured by any front end (a PyTorch model's hooks: see
    /// [`super::external`]): `steps` trained, the batch `losses` of the steps, `elapsed_s`
    /// wall seconds; the outcome is [`Outcome::Completed`] and there is no final
    /// evaluation. Errors as [`Diagnosis::from_run`].
    pub fn from_records(
        source: &str,
        config: &DiagnosticsConfig,
        records: &[StepRecord],
        steps: u64,
        losses: Vec<LossPoint>,
        elapsed_s: f64,
    ) -> Result<Diagnosis> {
        let Some(first) = records.first() else {
            return Err(Error::Invalid(format!(
                "{source}: no step was measured (training stopped at step {steps})"
            )));
        };
        if first.recurrent.is_empty() && first.activations().count() == 0 {
            // What would make the model diagnosable, for the front end that recorded it.
            let hint = if first.layers.iter().any(|l| l.kind == LayerKind::Recurrent) {
                "its recurrent layers were measured without their gradient through time (in \
                 PyTorch: gradscope.torch.watch(model, unroll_recurrent=True))"
            } else {
                "a TOML model needs model.hidden; a PyTorch model needs its activations as \
                 modules (self.act = nn.ReLU(), not F.relu)"
            };
            return Err(Error::Invalid(format!(
                "{source}: the model has no hidden activation layers: nothing to diagnose \
                 ({hint})"
            )));
        }
        let t = &config.thresholds;
        let verdict = judge(records, t);
        let init = judge(std::slice::from_ref(first), t);
        let (theory, theory_unavailable) = match predict(first) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        };
        let layers = layer_rows(records, &verdict, theory.as_ref());
        let theory_summary =
            explain::theory_summary(theory.as_ref(), theory_unavailable.as_ref(), first);
        Ok(Diagnosis {
            schema_version: DIAGNOSIS_SCHEMA_VERSION,
            config: source.to_string(),
            steps,
            every: config.every,
            measured_steps: records.iter().map(|r| r.step).collect(),
            outcome: Outcome::Completed,
            verdict_at_init: InitVerdict {
                step: first.step,
                flow: init.flow,
                first_to_last: init.first_to_last,
                per_layer_factor: init.per_layer_factor,
                severity: init.severity,
                problems: init.problems,
                will_train: init.will_train,
            },
            verdict,
            layers,
            theory,
            theory_unavailable,
            theory_summary,
            through_time: through_time(records),
            loss: losses,
            train: None,
            val: None,
            elapsed_s,
        })
    }
}
