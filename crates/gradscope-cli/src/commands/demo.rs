//! `gradscope demo`: one deep network (10 hidden layers of width 64) on the embedded digits,
//! trained five ways with the same seed, optimizer and budget (sigmoid with standard init,
//! tanh with Xavier, ReLU with He, the improved sigmoid, sigmoid with BatchNorm) with the
//! gradient scope on; a comparison table, and a report whose "what this shows" is generated
//! from the measured verdicts.
//!
//! The five configs are `examples/demo/*.toml`, embedded in the binary: the demo needs no
//! files.

use std::fmt::Write as _;
use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use gradscope::config::{Config, LoadedConfig};
use gradscope::diagnostics::verdict::{judge, Flow, Verdict};
use gradscope::train::{EpochRecord, Outcome};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use plotters::prelude::SeriesLabelPosition;

use crate::output::{markdown_table, text_table, write_atomic};
use crate::report::charts::{line_chart, Line, LineChart};
use crate::report::html::Page;
use crate::report::run::train_collect;
use crate::report::theory::{predict, Prediction};
use crate::report::{deltas, emit, first_to_last, sci};

/// One variant: a key, a label and its embedded config.
struct Variant {
    key: &'static str,
    label: &'static str,
    file: &'static str,
    text: &'static str,
}

const VARIANTS: [Variant; 5] = [
    Variant {
        key: "sigmoid-standard",
        label: "sigmoid + standard init",
        file: "examples/demo/sigmoid-standard.toml",
        text: include_str!("../../../../examples/demo/sigmoid-standard.toml"),
    },
    Variant {
        key: "tanh-xavier",
        label: "tanh + Xavier",
        file: "examples/demo/tanh-xavier.toml",
        text: include_str!("../../../../examples/demo/tanh-xavier.toml"),
    },
    Variant {
        key: "relu-he",
        label: "ReLU + He",
        file: "examples/demo/relu-he.toml",
        text: include_str!("../../../../examples/demo/relu-he.toml"),
    },
    Variant {
        key: "improved-sigmoid",
        label: "improved sigmoid + Kaiming",
        file: "examples/demo/improved-sigmoid.toml",
        text: include_str!("../../../../examples/demo/improved-sigmoid.toml"),
    },
    Variant {
        key: "sigmoid-batchnorm",
        label: "sigmoid + BatchNorm",
        file: "examples/demo/sigmoid-batchnorm.toml",
        text: include_str!("../../../../examples/demo/sigmoid-batchnorm.toml"),
    },
];

/// Epochs of `--quick`.
const QUICK_EPOCHS: usize = 3;
/// Samples of `--quick` (before the 70/15/15 split).
const QUICK_SAMPLES: usize = 600;

/// Arguments of `gradscope demo`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// Output directory for demo.json, report.md, report.html and the charts.
    #[arg(long, value_name = "DIR", default_value = "demo-out")]
    out: PathBuf,
    /// Epochs per variant (default: the configs' 20; 3 with --quick).
    #[arg(long, value_name = "E")]
    epochs: Option<usize>,
    /// Reduced budget: 600 of the 1797 samples and 3 epochs (still all five variants).
    #[arg(long)]
    quick: bool,
    /// No progress bar and no per-variant lines.
    #[arg(long, short)]
    quiet: bool,
}

const AFTER_HELP: &str = "\
Trains one network — 10 hidden layers of width 64 on the embedded 8x8 digits — five ways,
with the same seed, data split, optimizer (SGD, lr 0.01, momentum 0.9, batch 32) and epochs:
  sigmoid-standard    sigmoid, init = \"standard\" (PyTorch's default U[-1/sqrt(n), 1/sqrt(n)])
  tanh-xavier         tanh, init = \"xavier_normal\"
  relu-he             relu, init = \"kaiming_normal\" (He)
  improved-sigmoid    improved_sigmoid(alpha=2, beta=0.1), init = \"kaiming_normal\"
  sigmoid-batchnorm   sigmoid, init = \"standard\", norm = \"batchnorm\"
The configs are examples/demo/*.toml (embedded: no files needed). Each run measures every
layer at step 1 (initialization) and every 10 steps.

Prints a comparison table (test accuracy, |dL/dz| first/last hidden layer at initialization
and at the end, mean-field prediction, verdicts) and writes into DIR:
  demo.json     every number of the table, verdicts with explanations, per-layer norms,
                loss curves, wall time
  report.md     the table and the generated \"what this shows\" paragraph
  report.html   self-contained report with the charts inline (opens offline)
  *.svg         the charts

Examples:
  gradscope demo
  gradscope demo --out runs/demo --epochs 40
  gradscope demo --quick";

/// One variant's results in demo.json.
#[derive(serde::Serialize)]
pub struct VariantResult {
    /// Short key (the config's file stem).
    pub key: String,
    /// Display label.
    pub label: String,
    /// The config file it came from (embedded).
    pub config: String,
    /// Hidden activation (text form).
    pub activation: String,
    /// Initializer (text form).
    pub init: String,
    /// Normalization (`none` or `batchnorm`).
    pub norm: String,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theory_unavailable: Option<String>,
    /// (depth, ‖∂L/∂z‖) at step 1.
    pub grad_norms_init: Vec<(usize, f64)>,
    /// (depth, ‖∂L/∂z‖) at the last measured step.
    pub grad_norms_end: Vec<(usize, f64)>,
    /// One record per epoch (training loss, accuracies).
    pub history: Vec<EpochRecord>,
    /// Wall time of this variant, seconds.
    pub wall_s: f64,
}

/// demo.json.
#[derive(serde::Serialize)]
pub struct DemoResult {
    /// Epochs per variant.
    pub epochs: usize,
    /// Reduced budget.
    pub quick: bool,
    /// Samples used (None = all 1797).
    pub samples: Option<usize>,
    /// Wall time of the whole demo (training, evaluation, reports), seconds.
    pub wall_s: f64,
    /// The five variants.
    pub variants: Vec<VariantResult>,
    /// The generated "what this shows" sentences.
    pub findings: Vec<String>,
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    b.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps [{elapsed_precise}] {msg}")
            .expect("template"),
    );
    b
}

/// Parses an embedded config with the budget overrides.
fn load(v: &Variant, epochs: Option<usize>, limit: Option<usize>) -> Result<LoadedConfig> {
    let mut sets = Vec::new();
    if let Some(e) = epochs {
        sets.push(format!("training.epochs={e}"));
    }
    if let Some(n) = limit {
        sets.push(format!("data.limit={n}"));
    }
    let source = format!("{} (embedded)", v.file);
    let config = Config::parse(v.text, &source, &sets)?;
    Ok(LoadedConfig {
        config,
        source,
        base_dir: PathBuf::from("."),
    })
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    let start = Instant::now();
    if args.epochs == Some(0) {
        bail!("--epochs must be >= 1");
    }
    let epochs = args.epochs.or(args.quick.then_some(QUICK_EPOCHS));
    let limit = args.quick.then_some(QUICK_SAMPLES);
    let loaded: Vec<LoadedConfig> = VARIANTS
        .iter()
        .map(|v| load(v, epochs, limit))
        .collect::<Result<_>>()?;
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output directory `{}`", args.out.display()))?;
    let bar = progress_bar(args.quiet);
    let mut results = Vec::new();
    for (v, l) in VARIANTS.iter().zip(&loaded) {
        let run = train_collect(l, &bar, &format!("{}: ", v.label), None)?;
        let result = summarize(v, l, run)?;
        if !args.quiet {
            bar.suspend(|| {
                eprintln!(
                    "{:<28} {} steps in {:.2} s, test accuracy {}",
                    result.label,
                    result.steps,
                    result.wall_s,
                    acc(result.test_accuracy)
                )
            });
        }
        results.push(result);
    }
    bar.finish_and_clear();
    let findings = findings(&results);
    let mut demo = DemoResult {
        epochs: loaded[0].config.training.epochs,
        quick: args.quick,
        samples: limit,
        wall_s: 0.0,
        variants: results,
        findings,
    };
    emit(&render_text(&demo))?;
    let charts = charts(&demo)?;
    demo.wall_s = start.elapsed().as_secs_f64();
    write_reports(&args.out, &demo, &charts)?;
    emit(&format!(
        "\n{} variants x {} epochs in {:.1} s\n",
        demo.variants.len(),
        demo.epochs,
        demo.wall_s
    ))?;
    if !args.quiet {
        eprintln!(
            "wrote demo.json, report.md, report.html -> {}",
            args.out.display()
        );
    }
    Ok(())
}

fn summarize(
    v: &Variant,
    l: &LoadedConfig,
    run: crate::report::run::Collected,
) -> Result<VariantResult> {
    let (Some(first), Some(last)) = (run.records.first(), run.records.last()) else {
        bail!(
            "{}: no step was measured (training stopped at step {})",
            v.label,
            run.steps
        );
    };
    let t = &l.config.diagnostics.clone().unwrap_or_default().thresholds;
    let (theory, theory_unavailable) = match predict(first) {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    let m = &l.config.model;
    Ok(VariantResult {
        key: v.key.into(),
        label: v.label.into(),
        config: v.file.into(),
        activation: m.activation.to_string(),
        init: m.init.to_string(),
        norm: match m.norm {
            gradscope::model::Norm::None => "none".into(),
            gradscope::model::Norm::Batchnorm => "batchnorm".into(),
        },
        outcome: run.outcome.clone(),
        epochs: run.epochs.len(),
        steps: run.steps,
        test_accuracy: run.summary.test.and_then(|e| e.accuracy),
        test_loss: run.summary.test.map(|e| e.loss),
        best_val_accuracy: run.summary.best_val_accuracy.map(|b| b.0),
        ratio_init: first_to_last(first),
        ratio_end: first_to_last(last),
        end_step: last.step,
        flow_init: judge(std::slice::from_ref(first), t).flow,
        flow_end: judge(std::slice::from_ref(last), t).flow,
        verdict: judge(&run.records, t),
        theory,
        theory_unavailable,
        grad_norms_init: deltas(first),
        grad_norms_end: deltas(last),
        history: run.epochs,
        wall_s: run.wall_s,
    })
}

fn acc(a: Option<f64>) -> String {
    a.map_or("-".into(), |a| format!("{:.1}%", 100.0 * a))
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), sci)
}

const HEADER: [&str; 8] = [
    "variant",
    "test acc",
    "|dL/dz1|/|dL/dzL| init",
    "|dL/dz1|/|dL/dzL| end",
    "theory √χ₁",
    "theory q_l",
    "verdict init",
    "verdict run",
];

fn rows(d: &DemoResult) -> Vec<Vec<String>> {
    d.variants
        .iter()
        .map(|r| {
            vec![
                r.label.clone(),
                acc(r.test_accuracy),
                opt(r.ratio_init),
                opt(r.ratio_end),
                r.theory
                    .as_ref()
                    .map_or("-".into(), |p| sci(p.predicted_first_to_last)),
                r.theory
                    .as_ref()
                    .map_or("-".into(), |p| sci(p.transient_first_to_last)),
                r.flow_init.name().into(),
                r.verdict.flow.name().into(),
            ]
        })
        .collect()
}

fn render_text(d: &DemoResult) -> String {
    let mut s = format!(
        "gradscope demo: 10 hidden layers x 64 on the digits{}, {} epochs, SGD lr 0.01 \
         momentum 0.9, batch 32, seed 1\n\n",
        d.samples
            .map_or(String::new(), |n| format!(" ({n} samples)")),
        d.epochs
    );
    s.push_str(&text_table(&HEADER, &rows(d)));
    let _ = writeln!(
        s,
        "\n(|dL/dz1|/|dL/dzL|: gradient norm at the first hidden layer over the last, at step 1 \
         and at the last measured step; theory: mean-field prediction of that ratio at init, \
         from √χ₁ at the fixed point q* or from each layer's own variance q_l; verdict init: \
         step 1 alone; verdict run: every measured step)"
    );
    for (r, o) in d
        .variants
        .iter()
        .filter_map(|r| matches!(r.outcome, Outcome::Diverged { .. }).then_some((r, &r.outcome)))
    {
        if let Outcome::Diverged { step, location, .. } = o {
            let _ = writeln!(s, "note: {} diverged at step {step} ({location})", r.label);
        }
    }
    let _ = writeln!(s, "\nWhat this shows:");
    for f in &d.findings {
        let _ = writeln!(s, "- {f}");
    }
    s
}

/// The "what this shows" sentences, generated from the measured numbers and verdicts.
fn findings(rs: &[VariantResult]) -> Vec<String> {
    let mut out = Vec::new();
    let label_list = |v: &[&VariantResult]| {
        v.iter()
            .map(|r| r.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let factor = |r: &VariantResult| {
        let n = r.grad_norms_init.len().saturating_sub(1).max(1) as f64;
        r.ratio_init.map(|x| x.powf(1.0 / n))
    };
    for r in rs.iter().filter(|r| r.flow_init != Flow::Healthy) {
        let theory = r.theory.as_ref().map_or(String::new(), |p| {
            format!(
                "; the mean-field theory predicts ×{} per layer at its fixed point, ×{} with \
                 each layer's own variance, {} in all",
                sci(p.predicted_factor),
                sci(p.transient_factor),
                sci(p.transient_first_to_last)
            )
        });
        out.push(format!(
            "{}: at initialization ‖∂L/∂z‖ at the first hidden layer is {} of the last one \
             (×{} per layer{theory}) — {}. {}",
            r.label,
            opt(r.ratio_init),
            opt(factor(r)),
            match r.flow_init {
                Flow::Vanishing => "the gradient vanishes before it reaches the first layers",
                Flow::Exploding => "the gradient explodes towards the input",
                Flow::Healthy => "healthy",
            },
            if r.verdict.flow == r.flow_init {
                format!(
                    "It stays {} over the run (ratio {} at step {}) and ends at {} test accuracy.",
                    r.verdict.flow.name(),
                    opt(r.ratio_end),
                    r.end_step,
                    acc(r.test_accuracy)
                )
            } else {
                format!(
                    "Training moves it: the ratio is {} at step {} and the run as a whole is \
                     judged {}; it ends at {} test accuracy.",
                    opt(r.ratio_end),
                    r.end_step,
                    r.verdict.flow.name(),
                    acc(r.test_accuracy)
                )
            }
        ));
    }
    let healthy: Vec<&VariantResult> = rs.iter().filter(|r| r.flow_init == Flow::Healthy).collect();
    if !healthy.is_empty() {
        let ratios: Vec<f64> = healthy.iter().filter_map(|r| r.ratio_init).collect();
        let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let accs: Vec<f64> = healthy.iter().filter_map(|r| r.test_accuracy).collect();
        out.push(format!(
            "{}: healthy at initialization — the first hidden layer gets {} of the last \
             layer's gradient{}; test accuracy {}.",
            label_list(&healthy),
            if ratios.len() > 1 {
                format!("between {} and {}", sci(lo), sci(hi))
            } else {
                opt(ratios.first().copied())
            },
            {
                let changed: Vec<&&VariantResult> = healthy
                    .iter()
                    .filter(|r| r.verdict.flow != Flow::Healthy)
                    .collect();
                if changed.is_empty() {
                    " and they stay healthy over the run".to_string()
                } else {
                    format!(
                        ", though over the run {} is judged {}",
                        changed
                            .iter()
                            .map(|r| r.label.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        changed[0].verdict.flow.name()
                    )
                }
            },
            if accs.len() > 1 {
                format!(
                    "{}–{}",
                    acc(accs.iter().copied().reduce(f64::min)),
                    acc(accs.iter().copied().reduce(f64::max))
                )
            } else {
                acc(accs.first().copied())
            }
        ));
    }
    // Does accuracy follow the verdict at initialization?
    let bad: Vec<f64> = rs
        .iter()
        .filter(|r| r.flow_init != Flow::Healthy)
        .filter_map(|r| r.test_accuracy)
        .collect();
    let good: Vec<f64> = healthy.iter().filter_map(|r| r.test_accuracy).collect();
    if let (Some(b), Some(g)) = (
        bad.iter().copied().reduce(f64::max),
        good.iter().copied().reduce(f64::min),
    ) {
        if b < g {
            out.push(format!(
                "Accuracy follows the gradient flow: every variant judged unhealthy at \
                 initialization ends at or below {}, every healthy one at or above {}.",
                acc(Some(b)),
                acc(Some(g))
            ));
        } else {
            out.push(format!(
                "Accuracy does not follow the verdict at initialization alone: an unhealthy \
                 start still reached {}, while the weakest healthy variant reached {} — \
                 training can repair (or spoil) the flow, see the ratios at the end.",
                acc(Some(b)),
                acc(Some(g))
            ));
        }
    }
    // Same activation, with and without BatchNorm.
    for bn in rs.iter().filter(|r| r.norm == "batchnorm") {
        if let Some(plain) = rs
            .iter()
            .find(|r| r.norm == "none" && r.activation == bn.activation && r.init == bn.init)
        {
            out.push(format!(
                "BatchNorm alone (same {} network, same init) takes the verdict at \
                 initialization from {} to {} (‖δ_1‖/‖δ_L‖ {} → {}) and test accuracy from {} \
                 to {}.",
                bn.activation,
                plain.flow_init.name(),
                bn.flow_init.name(),
                opt(plain.ratio_init),
                opt(bn.ratio_init),
                acc(plain.test_accuracy),
                acc(bn.test_accuracy)
            ));
        }
    }
    // Theory against measurement.
    let with_theory: Vec<&VariantResult> = rs.iter().filter(|r| r.theory.is_some()).collect();
    if !with_theory.is_empty() {
        let parts: Vec<String> = with_theory
            .iter()
            .filter_map(|r| {
                let p = r.theory.as_ref()?;
                Some(format!(
                    "{} ×{} (√χ₁) or ×{} (q_l) predicted vs ×{} measured",
                    r.label,
                    sci(p.predicted_factor),
                    sci(p.transient_factor),
                    sci(p.measured_factor)
                ))
            })
            .collect();
        out.push(format!(
            "Mean-field theory against the measurement at initialization, per layer: {}.",
            parts.join("; ")
        ));
    }
    if let Some(best) = rs
        .iter()
        .filter(|r| r.test_accuracy.is_some())
        .max_by(|a, b| {
            a.test_accuracy
                .partial_cmp(&b.test_accuracy)
                .expect("finite")
        })
    {
        out.push(format!(
            "Best test accuracy: {} ({}).",
            best.label,
            acc(best.test_accuracy)
        ));
    }
    out
}

type ChartFile = (String, String, String, String);

fn charts(d: &DemoResult) -> Result<Vec<ChartFile>> {
    let mut out = Vec::new();
    let normalized = |pts: &[(usize, f64)]| -> Vec<(f64, f64)> {
        let last = pts.last().map_or(f64::NAN, |p| p.1);
        pts.iter().map(|&(d, g)| (d as f64, g / last)).collect()
    };
    for (init, title, file, caption) in [
        (
            true,
            "Gradient norm by depth at initialization (step 1)",
            "grad_norms_init.svg",
            "‖∂L/∂z‖ of each hidden layer divided by that of the last hidden layer, at step 1, \
             for the five variants (solid); dashed: the mean-field prediction from the measured \
             σ_w² with each layer's own pre-activation variance q_l, where it applies (not with \
             BatchNorm).",
        ),
        (
            false,
            "Gradient norm by depth at the end of training",
            "grad_norms_end.svg",
            "The same ratio at the last measured step.",
        ),
    ] {
        let mut lines = Vec::new();
        for (i, r) in d.variants.iter().enumerate() {
            let pts = if init {
                &r.grad_norms_init
            } else {
                &r.grad_norms_end
            };
            lines.push(Line {
                label: r.label.clone(),
                points: normalized(pts),
                dashed: false,
                color: i,
                markers: true,
            });
            if let (true, Some(p)) = (init, &r.theory) {
                let mut cur = 1.0;
                let mut pts = vec![(r.grad_norms_init.len() as f64, 1.0)];
                for (depth, _) in r.grad_norms_init.iter().rev().skip(1) {
                    if let Some(l) = p.layers.iter().find(|l| l.depth == *depth) {
                        cur *= l.transient_factor;
                        pts.push((*depth as f64, cur));
                    }
                }
                lines.push(Line {
                    label: format!("{} (theory)", r.label),
                    points: pts,
                    dashed: true,
                    color: i,
                    markers: false,
                });
            }
        }
        let svg = line_chart(
            &LineChart {
                title,
                x_label: "hidden layer depth (1 = next to the input)",
                y_label: "|dL/dz| / |dL/dz| at the last hidden layer",
                lines,
                log_y: true,
                y_range: None,
                legend: SeriesLabelPosition::LowerRight,
            },
            (860, 540),
        )?;
        out.push((title.into(), file.into(), svg, caption.into()));
    }
    for (title, file, y_label, caption, get) in [
        (
            "Training loss by epoch",
            "loss.svg",
            "mean training loss",
            "Mean training loss over each epoch's mini-batches.",
            (|e: &EpochRecord| Some(e.loss)) as fn(&EpochRecord) -> Option<f64>,
        ),
        (
            "Validation accuracy by epoch",
            "val_accuracy.svg",
            "validation accuracy",
            "Validation accuracy at the end of each epoch.",
            |e: &EpochRecord| e.val_accuracy,
        ),
    ] {
        let lines = d
            .variants
            .iter()
            .enumerate()
            .map(|(i, r)| Line {
                label: r.label.clone(),
                points: r
                    .history
                    .iter()
                    .map(|e| (e.epoch as f64, get(e).unwrap_or(f64::NAN)))
                    .collect(),
                dashed: false,
                color: i,
                markers: r.history.len() <= 40,
            })
            .collect();
        let svg = line_chart(
            &LineChart {
                title,
                x_label: "epoch",
                y_label,
                lines,
                log_y: false,
                y_range: None,
                legend: SeriesLabelPosition::MiddleRight,
            },
            (860, 440),
        )?;
        out.push((title.into(), file.into(), svg, caption.into()));
    }
    Ok(out)
}

fn write_reports(dir: &Path, d: &DemoResult, charts: &[ChartFile]) -> Result<()> {
    let json = serde_json::to_string_pretty(d)? + "\n";
    write_atomic(&dir.join("demo.json"), json.as_bytes())?;
    for (_, file, svg, _) in charts {
        write_atomic(&dir.join(file), svg.as_bytes())?;
    }
    let setup = format!(
        "One network — 10 hidden layers of width 64 — trained on the embedded 8×8 digits{} five \
         ways, with the same seed, split, optimizer (SGD, lr 0.01, momentum 0.9, batch 32) and \
         {} epochs. Every layer is measured at step 1 (initialization) and every 10 steps. \
         Wall time {:.1} s.",
        d.samples
            .map_or(String::new(), |n| format!(" ({n} samples)")),
        d.epochs,
        d.wall_s
    );
    let legend = "‖∂L/∂z₁‖/‖∂L/∂z_L‖: gradient norm at the first hidden layer over the last, at \
                  step 1 (init) and at the last measured step (end). theory: the mean-field \
                  prediction of that ratio at init, from √χ₁ at the fixed point q* or with each \
                  layer's own variance q_l (the network may not reach q* in 10 layers). verdict init: judged on step 1 alone; \
                  verdict run: on every measured step.";
    let r = rows(d);
    let mut md = format!(
        "# gradscope demo: one deep network, five ways\n\n{setup}\n\n{}\n{legend}\n\n## What \
         this shows\n\n",
        markdown_table(&HEADER, &r)
    );
    for f in &d.findings {
        md.push_str(&format!("- {f}\n"));
    }
    md.push_str("\n## Verdicts\n\n");
    for v in &d.variants {
        md.push_str(&format!(
            "**{}** ({}, init {}{}): {} — {}\n\n",
            v.label,
            v.activation,
            v.init,
            if v.norm == "none" {
                String::new()
            } else {
                format!(", {}", v.norm)
            },
            v.verdict.flow.name(),
            v.verdict.explanation
        ));
    }
    md.push_str("## Charts\n\n");
    for (title, file, _, caption) in charts {
        md.push_str(&format!("![{title}]({file})\n\n{caption}\n\n"));
    }
    md.push_str("The same report with the charts inline: `report.html`.\n");
    write_atomic(&dir.join("report.md"), md.as_bytes())?;

    let mut page = Page::new("gradscope demo: one deep network, five ways");
    page.p(&setup);
    page.table(&HEADER, &r, 1);
    page.note(legend);
    page.h2("What this shows");
    page.ul(&d.findings);
    page.h2("Charts");
    for (_, _, svg, caption) in charts {
        page.figure(svg, caption);
    }
    page.h2("Verdicts");
    for v in &d.variants {
        page.flow_line(
            v.verdict.flow.name(),
            &format!("{} ({}, init {})", v.label, v.activation, v.init),
        );
        page.p(&v.verdict.explanation);
        if !v.verdict.remedies.is_empty() {
            page.ol(&v.verdict.remedies);
        }
    }
    write_atomic(&dir.join("report.html"), page.finish().as_bytes())?;
    Ok(())
}
