//! Comparing variants of one network trained the same way (the demo's five): each variant's
//! numbers ([`Variant`]) and what the comparison shows ([`Finding`]), as typed values; the
//! sentences are rendered by [`super::explain::finding`].

use super::explain;
use super::prediction::{predict, Factor, Prediction, Unavailable};
use super::verdict::{judge, Flow, Verdict};
use crate::activation::Activation;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::init::Init;
use crate::model::Norm;
use crate::train::{EpochRecord, Outcome, Run};

/// ‖∂L/∂z‖ of one hidden layer.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DepthNorm {
    /// 1-based depth.
    pub depth: usize,
    /// ‖∂L/∂z‖.
    pub norm: f64,
}

/// One variant's results.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Variant {
    /// Short key (the config's file stem).
    pub key: String,
    /// Display label.
    pub label: String,
    /// The config file it came from.
    pub config: String,
    /// Hidden activation.
    pub activation: Activation,
    /// Initializer.
    pub init: Init,
    /// Normalization.
    pub norm: Norm,
    /// How training ended.
    pub outcome: Outcome,
    /// Epochs completed.
    pub epochs: usize,
    /// Steps taken.
    pub steps: u64,
    /// Test accuracy after training.
    pub test_accuracy: Option<f64>,
    /// Test loss after training.
    pub test_loss: Option<f64>,
    /// Best validation accuracy at an epoch end.
    pub best_val_accuracy: Option<f64>,
    /// ‖δ_1‖/‖δ_L‖ at step 1 (initialization).
    pub ratio_init: Option<f64>,
    /// ‖δ_1‖/‖δ_L‖ at the last measured step.
    pub ratio_end: Option<f64>,
    /// The last measured step.
    pub end_step: u64,
    /// Verdict on the step-1 record alone.
    pub flow_init: Flow,
    /// Verdict on the last record alone.
    pub flow_end: Flow,
    /// Verdict over every measured step of the run.
    pub verdict: Verdict,
    /// Mean-field prediction at initialization.
    pub theory: Option<Prediction>,
    /// Why there is no prediction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theory_unavailable: Option<Unavailable>,
    /// ‖∂L/∂z‖ per hidden layer at step 1.
    pub grad_norms_init: Vec<DepthNorm>,
    /// ‖∂L/∂z‖ per hidden layer at the last measured step.
    pub grad_norms_end: Vec<DepthNorm>,
    /// One record per epoch (training loss, accuracies).
    pub history: Vec<EpochRecord>,
    /// Wall time of this variant, seconds.
    pub wall_s: f64,
}

/// The version of the `demo.json` schema ([`Comparison`]).
pub const DEMO_SCHEMA_VERSION: u32 = crate::io::SCHEMA_VERSION;

/// ‖∂L/∂z‖ of each hidden layer over that of the last hidden layer, as (depth, ratio).
fn relative(norms: &[DepthNorm]) -> Vec<(usize, f64)> {
    let last = norms.last().map_or(f64::NAN, |n| n.norm);
    norms.iter().map(|n| (n.depth, n.norm / last)).collect()
}

impl Variant {
    /// ‖∂L/∂z_l‖/‖∂L/∂z_L‖ per hidden layer at step 1, as (depth, ratio).
    pub fn relative_norms_init(&self) -> Vec<(usize, f64)> {
        relative(&self.grad_norms_init)
    }

    /// ‖∂L/∂z_l‖/‖∂L/∂z_L‖ per hidden layer at the last measured step.
    pub fn relative_norms_end(&self) -> Vec<(usize, f64)> {
        relative(&self.grad_norms_end)
    }

    /// The mean-field prediction of [`Variant::relative_norms_init`] with each layer's own
    /// variance q_l (None without a prediction).
    pub fn theory_relative_init(&self) -> Option<Vec<(usize, f64)>> {
        let depths: Vec<usize> = self.grad_norms_init.iter().map(|n| n.depth).collect();
        self.theory
            .as_ref()?
            .profile(&depths, 1.0, Factor::Transient)
    }

    /// The per-layer factor at initialization: ratio_init^(1/(L−1)).
    pub fn factor_init(&self) -> Option<f64> {
        let n = self.grad_norms_init.len().saturating_sub(1).max(1) as f64;
        self.ratio_init.map(|x| x.powf(1.0 / n))
    }

    /// A variant's results from its config and run (which must have diagnostic records).
    pub fn from_run(
        key: &str,
        label: &str,
        file: &str,
        config: &Config,
        run: &Run,
    ) -> Result<Variant> {
        let (Some(first), Some(last)) = (run.records.first(), run.records.last()) else {
            return Err(Error::Invalid(format!(
                "{label}: no step was measured (training stopped at step {})",
                run.steps
            )));
        };
        let t = &config.diagnostics.clone().unwrap_or_default().thresholds;
        let (theory, theory_unavailable) = match predict(first) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        };
        let norms = |r: &super::StepRecord| {
            r.deltas()
                .into_iter()
                .map(|(depth, norm)| DepthNorm { depth, norm })
                .collect()
        };
        let m = config.model.mlp();
        Ok(Variant {
            key: key.into(),
            label: label.into(),
            config: file.into(),
            activation: m.activation,
            init: m.init,
            norm: m.norm,
            outcome: run.outcome.clone(),
            epochs: run.epochs.len(),
            steps: run.steps,
            test_accuracy: run.summary.test.and_then(|e| e.accuracy),
            test_loss: run.summary.test.map(|e| e.loss),
            best_val_accuracy: run.summary.best_val_accuracy.map(|b| b.accuracy),
            ratio_init: first.first_to_last(),
            ratio_end: last.first_to_last(),
            end_step: last.step,
            flow_init: judge(std::slice::from_ref(first), t).flow,
            flow_end: judge(std::slice::from_ref(last), t).flow,
            verdict: judge(&run.records, t),
            theory,
            theory_unavailable,
            grad_norms_init: norms(first),
            grad_norms_end: norms(last),
            history: run.epochs.clone(),
            wall_s: run.wall_s,
        })
    }
}

/// One thing the comparison shows.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// A variant unhealthy at initialization, and what training made of it.
    UnhealthyAtInit {
        /// The variant.
        label: String,
        /// Its verdict at initialization.
        flow_init: Flow,
        /// ‖δ_1‖/‖δ_L‖ at initialization.
        ratio_init: Option<f64>,
        /// Per-layer factor at initialization.
        factor_init: Option<f64>,
        /// The theory's (√χ₁, transient, transient total) prediction.
        theory: Option<[f64; 3]>,
        /// The verdict over the run.
        flow_run: Flow,
        /// ‖δ_1‖/‖δ_L‖ at the last measured step.
        ratio_end: Option<f64>,
        /// That step.
        end_step: u64,
        /// Test accuracy.
        test_accuracy: Option<f64>,
    },
    /// The variants healthy at initialization.
    HealthyAtInit {
        /// Their labels.
        labels: Vec<String>,
        /// Smallest and largest ‖δ_1‖/‖δ_L‖ at initialization.
        ratio_range: [f64; 2],
        /// Those judged otherwise over the run, with that verdict.
        changed: Vec<(String, Flow)>,
        /// Smallest and largest test accuracy.
        accuracy_range: Option<[f64; 2]>,
    },
    /// Whether accuracy separates the variants unhealthy at initialization from the healthy.
    AccuracyFollowsVerdict {
        /// True when every unhealthy variant ends below every healthy one.
        follows: bool,
        /// The best accuracy among the unhealthy.
        best_unhealthy: f64,
        /// The worst accuracy among the healthy.
        worst_healthy: f64,
    },
    /// The same network and init with and without BatchNorm.
    BatchNormEffect {
        /// The activation.
        activation: Activation,
        /// Verdict at initialization without, with.
        flow: [Flow; 2],
        /// ‖δ_1‖/‖δ_L‖ at initialization without, with.
        ratio: [Option<f64>; 2],
        /// Test accuracy without, with.
        accuracy: [Option<f64>; 2],
    },
    /// The theory's per-layer factor against the measurement, per variant: (label, √χ₁,
    /// transient, measured).
    TheoryVsMeasured {
        /// One entry per variant with a prediction.
        entries: Vec<(String, f64, f64, f64)>,
    },
    /// The best variant.
    Best {
        /// Its label.
        label: String,
        /// Its test accuracy.
        accuracy: f64,
    },
}

/// A [`Finding`] with its sentence.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExplainedFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// It as a sentence ([`explain::finding`]).
    pub text: String,
}

/// A comparison of variants trained on one budget: `demo.json`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Comparison {
    /// [`DEMO_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Epochs per variant.
    pub epochs: usize,
    /// Reduced budget.
    pub quick: bool,
    /// Samples used (None = the whole data set).
    pub samples: Option<usize>,
    /// Wall time of the whole comparison (training and evaluating every variant), seconds.
    pub wall_s: f64,
    /// The variants.
    pub variants: Vec<Variant>,
    /// What the comparison shows.
    pub findings: Vec<ExplainedFinding>,
}

impl Comparison {
    /// The comparison of `variants`, with its findings; `wall_s` is 0 until set.
    pub fn new(epochs: usize, quick: bool, samples: Option<usize>, variants: Vec<Variant>) -> Self {
        let findings = findings(&variants)
            .into_iter()
            .map(|f| ExplainedFinding {
                text: explain::finding(&f),
                finding: f,
            })
            .collect();
        Comparison {
            schema_version: DEMO_SCHEMA_VERSION,
            epochs,
            quick,
            samples,
            wall_s: 0.0,
            variants,
            findings,
        }
    }
}

/// What the comparison of `variants` shows.
pub fn findings(variants: &[Variant]) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in variants.iter().filter(|r| r.flow_init != Flow::Healthy) {
        out.push(Finding::UnhealthyAtInit {
            label: r.label.clone(),
            flow_init: r.flow_init,
            ratio_init: r.ratio_init,
            factor_init: r.factor_init(),
            theory: r.theory.as_ref().map(|p| {
                [
                    p.predicted_factor,
                    p.transient_factor,
                    p.transient_first_to_last,
                ]
            }),
            flow_run: r.verdict.flow,
            ratio_end: r.ratio_end,
            end_step: r.end_step,
            test_accuracy: r.test_accuracy,
        });
    }
    let healthy: Vec<&Variant> = variants
        .iter()
        .filter(|r| r.flow_init == Flow::Healthy)
        .collect();
    let range = |xs: &[f64]| {
        (!xs.is_empty()).then(|| {
            [
                xs.iter().copied().fold(f64::INFINITY, f64::min),
                xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ]
        })
    };
    if !healthy.is_empty() {
        let ratios: Vec<f64> = healthy.iter().filter_map(|r| r.ratio_init).collect();
        let accs: Vec<f64> = healthy.iter().filter_map(|r| r.test_accuracy).collect();
        out.push(Finding::HealthyAtInit {
            labels: healthy.iter().map(|r| r.label.clone()).collect(),
            ratio_range: range(&ratios).unwrap_or([f64::NAN, f64::NAN]),
            changed: healthy
                .iter()
                .filter(|r| r.verdict.flow != Flow::Healthy)
                .map(|r| (r.label.clone(), r.verdict.flow))
                .collect(),
            accuracy_range: range(&accs),
        });
    }
    let bad: Vec<f64> = variants
        .iter()
        .filter(|r| r.flow_init != Flow::Healthy)
        .filter_map(|r| r.test_accuracy)
        .collect();
    let good: Vec<f64> = healthy.iter().filter_map(|r| r.test_accuracy).collect();
    if let (Some(b), Some(g)) = (
        bad.iter().copied().reduce(f64::max),
        good.iter().copied().reduce(f64::min),
    ) {
        out.push(Finding::AccuracyFollowsVerdict {
            follows: b < g,
            best_unhealthy: b,
            worst_healthy: g,
        });
    }
    for bn in variants.iter().filter(|r| r.norm == Norm::Batchnorm) {
        if let Some(plain) = variants
            .iter()
            .find(|r| r.norm == Norm::None && r.activation == bn.activation && r.init == bn.init)
        {
            out.push(Finding::BatchNormEffect {
                activation: bn.activation,
                flow: [plain.flow_init, bn.flow_init],
                ratio: [plain.ratio_init, bn.ratio_init],
                accuracy: [plain.test_accuracy, bn.test_accuracy],
            });
        }
    }
    let entries: Vec<(String, f64, f64, f64)> = variants
        .iter()
        .filter_map(|r| {
            let p = r.theory.as_ref()?;
            Some((
                r.label.clone(),
                p.predicted_factor,
                p.transient_factor,
                p.measured_factor,
            ))
        })
        .collect();
    if !entries.is_empty() {
        out.push(Finding::TheoryVsMeasured { entries });
    }
    if let Some(best) = variants
        .iter()
        .filter_map(|r| Some((r, r.test_accuracy?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
    {
        out.push(Finding::Best {
            label: best.0.label.clone(),
            accuracy: best.1,
        });
    }
    out
}

/// The thresholds a variant was judged with.
pub fn thresholds_of(config: &Config) -> super::Thresholds {
    config.diagnostics.clone().unwrap_or_default().thresholds
}
