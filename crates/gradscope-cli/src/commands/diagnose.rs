//! `gradscope diagnose CONFIG --out DIR`: train a few steps with the gradient scope on, then
//! give the verdict (vanishing / exploding / healthy) with its explanation and remedies, the
//! per-layer table, the mean-field prediction next to the measurement, and a self-contained
//! HTML report with the plots.

use std::fmt::Write as _;
use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use gradscope::config::{Config, LoadedConfig};
use gradscope::diagnostics::recurrent::RecurrentVerdict;
use gradscope::diagnostics::verdict::{judge, Verdict};
use gradscope::diagnostics::{DiagnosticsConfig, StepRecord};
use gradscope::train::{Evaluation, Outcome};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use plotters::prelude::SeriesLabelPosition;

use crate::output::{markdown_table, text_table, write_atomic};
use crate::report::charts::{heatmap, line_chart, Heatmap, Line, LineChart};
use crate::report::html::Page;
use crate::report::recurrent::{self as through, ThroughTime};
use crate::report::run::{train_collect, Collected};
use crate::report::theory::{predict, LayerPrediction, Prediction};
use crate::report::{
    deltas, emit, layer_rows, opt_sci, sci, spread, table_rows, LayerRow, TABLE_HEADER,
};

/// Arguments of `gradscope diagnose`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// The run's TOML config (see docs/config.md; examples/diagnose-*.toml).
    config: PathBuf,
    /// Output directory for diagnostics.jsonl, diagnosis.json, report.md and report.html.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Training steps to measure (sets training.max_steps; epochs are raised if needed).
    #[arg(long, value_name = "N", default_value_t = 50)]
    steps: u64,
    /// Measure every K steps (and step 1). Default: the config's diagnostics.every, or 1 when
    /// the config has no [diagnostics] table.
    #[arg(long, value_name = "K")]
    every: Option<u64>,
    /// Override a config field, e.g. `--set model.activation=relu`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// No progress bar, no "wrote" line.
    #[arg(long, short)]
    quiet: bool,
}

const AFTER_HELP: &str = "\
Trains N steps of the config with per-layer instrumentation (the [diagnostics] table; one is
added with every = K when the config has none), then prints:
  the verdict      vanishing / exploding / healthy, why (with the numbers, following the chain
                   rule) and numbered remedies, most promising first
  the theory       mean-field prediction of the per-layer gradient factor sqrt(chi_1) from the
                   measured sigma_w^2 and the activation, next to the measured factor at step 1
  a per-layer table  depth, layer, |dL/dz| at the first and last measured steps, ratio to the
                   last hidden layer, mean |f'(z)|, saturated and dead %, update ratio
                   |dW|/|W|, predicted vs measured factor |delta_l|/|delta_(l+1)|

Writes into DIR:
  diagnostics.jsonl  one record per measured step (see docs/diagnostics.md)
  diagnosis.json     verdict, per-layer numbers, theory prediction, loss per step
  report.md          verdict, remedies and table in Markdown (links the SVGs)
  report.html        self-contained report (inline SVG, no scripts, opens offline)
  *.svg              the report's charts

Thresholds come from [diagnostics.thresholds] (see docs/diagnostics.md).

Examples:
  gradscope diagnose examples/diagnose-sigmoid-deep.toml --out runs/sigmoid-deep
  gradscope diagnose examples/diagnose-tanh-exploding.toml --out runs/tanh --steps 20
  gradscope diagnose examples/digits-mlp.toml --out runs/digits-diag --every 5 --steps 200";

/// diagnosis.json.
#[derive(serde::Serialize)]
pub struct Diagnosis {
    /// The config file.
    pub config: String,
    /// Steps trained.
    pub steps: u64,
    /// Measurement interval.
    pub every: u64,
    /// Steps measured.
    pub measured_steps: Vec<u64>,
    /// How training ended (a diverged run is diagnosed from the steps before).
    pub outcome: Outcome,
    /// The verdict.
    pub verdict: Verdict,
    /// Per hidden layer.
    pub layers: Vec<LayerRow>,
    /// Mean-field prediction at initialization (null when it does not apply).
    pub theory: Option<Prediction>,
    /// Why there is no prediction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theory_unavailable: Option<String>,
    /// Recurrent models: ‖∂L/∂h_t‖ for every t at the first and last measured steps, with
    /// Pascanu et al.'s bound (the through-time verdict is `verdict.recurrent`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub through_time: Option<ThroughTime>,
    /// (step, batch loss) of every step.
    pub loss: Vec<(u64, f64)>,
    /// Final evaluation on the training split.
    pub train: Option<Evaluation>,
    /// Final evaluation on the validation split.
    pub val: Option<Evaluation>,
    /// Wall time, seconds.
    pub elapsed_s: f64,
}

/// Loads the config with `--set` overrides, `training.max_steps = steps`, and a
/// `[diagnostics]` table (added with `every` when missing; `every` overrides it when given).
pub fn load_for_diagnosis(
    path: &Path,
    sets: &[String],
    steps: u64,
    every: Option<u64>,
) -> Result<LoadedConfig> {
    if steps == 0 {
        bail!("--steps must be >= 1");
    }
    if every == Some(0) {
        bail!("--every must be >= 1");
    }
    let mut loaded = Config::load(path, sets)?;
    let c = &mut loaded.config;
    c.training.max_steps = Some(steps);
    match (&mut c.diagnostics, every) {
        (Some(d), Some(k)) => d.every = k,
        (Some(_), None) => {}
        (None, k) => {
            c.diagnostics = Some(DiagnosticsConfig {
                every: k.unwrap_or(1),
                ..DiagnosticsConfig::default()
            })
        }
    }
    c.validate()
        .map_err(|e| anyhow::anyhow!("{}: {e}", loaded.source))?;
    Ok(loaded)
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

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    let loaded = load_for_diagnosis(&args.config, &args.sets, args.steps, args.every)?;
    let diag = loaded.config.diagnostics.clone().expect("set above");
    fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output directory `{}`", args.out.display()))?;
    let bar = progress_bar(args.quiet);
    let run = train_collect(&loaded, &bar, "", Some(args.steps))?;
    bar.finish_and_clear();
    let mut jsonl = String::new();
    for r in &run.records {
        jsonl.push_str(&serde_json::to_string(r)?);
        jsonl.push('\n');
    }
    write_atomic(&args.out.join("diagnostics.jsonl"), jsonl.as_bytes())?;
    if let Outcome::Diverged {
        step,
        location,
        detail,
    } = &run.outcome
    {
        eprintln!(
            "warning: training diverged at step {step} (non-finite value first in {location}: \
             {detail}); diagnosing the {} measured steps before it",
            run.records.len()
        );
    }
    if run.records.is_empty() {
        bail!(
            "no step was measured (training stopped at step {})",
            run.steps
        );
    }
    if run.records[0].recurrent.is_none() && run.records[0].activations().count() == 0 {
        bail!(
            "{}: the model has no hidden activation layers outside residual blocks: nothing to \
             diagnose (model.hidden is empty or model.residual = true)",
            loaded.source
        );
    }
    let diagnosis = diagnose(&loaded.source, &diag, &run);
    let text = render_text(&diagnosis);
    emit(&text)?;
    write_reports(&args.out, &diagnosis, &run)?;
    if !args.quiet {
        eprintln!(
            "wrote diagnosis.json, report.md, report.html, diagnostics.jsonl -> {}",
            args.out.display()
        );
    }
    Ok(())
}

/// Judges the records and assembles diagnosis.json.
pub fn diagnose(source: &str, diag: &DiagnosticsConfig, run: &Collected) -> Diagnosis {
    let verdict = judge(&run.records, &diag.thresholds);
    let recurrent = run.records[0].recurrent.is_some();
    let (theory, theory_unavailable) = if recurrent {
        (
            None,
            Some(
                "the mean-field theory covers plain Linear → activation stacks; a recurrent \
                 model's gradient through time is judged by the spectrum of W_hh against \
                 Pascanu et al.'s threshold 1/γ instead"
                    .to_string(),
            ),
        )
    } else {
        match predict(&run.records[0]) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        }
    };
    let predicted: Vec<(usize, f64, f64)> = theory
        .as_ref()
        .map(|p| {
            p.layers
                .iter()
                .map(|l| (l.depth, l.predicted_factor, l.transient_factor))
                .collect()
        })
        .unwrap_or_default();
    let layers = layer_rows(&run.records, &verdict, &predicted);
    Diagnosis {
        config: source.to_string(),
        steps: run.steps,
        every: diag.every,
        measured_steps: run.records.iter().map(|r| r.step).collect(),
        outcome: run.outcome.clone(),
        verdict,
        layers,
        theory,
        theory_unavailable,
        through_time: through::through_time(&run.records),
        loss: run.losses.clone(),
        train: run.summary.train,
        val: run.summary.val,
        elapsed_s: run.wall_s,
    }
}

/// One line on the mean-field prediction.
pub fn theory_sentence(d: &Diagnosis) -> String {
    match (&d.theory, &d.theory_unavailable) {
        (Some(p), _) => {
            let first = p.layers.first();
            let mean_w2 = p.layers.iter().map(|l| l.sigma_w2).sum::<f64>() / p.layers.len() as f64;
            format!(
                "Mean-field theory (σ_b² = 0, measured σ_w²{}): per-layer factor √χ₁ = {} \
                 (geometric mean; {} phase{}), so ‖δ_1‖/‖δ_L‖ ≈ {} at initialization; with \
                 each layer's own variance q_l (before the fixed point q*): ×{} per layer, {} in \
                 all. Measured at step {}: ×{} per layer, ‖δ_1‖/‖δ_L‖ = {}.",
                first.map_or(String::new(), |l| format!(
                    " = {} on average for {}",
                    sci(mean_w2),
                    l.activation
                )),
                sci(p.predicted_factor),
                p.phase,
                p.depth_scale.map_or(String::new(), |x| format!(
                    ", depth scale {} layers",
                    sci(x)
                )),
                sci(p.predicted_first_to_last),
                sci(p.transient_factor),
                sci(p.transient_first_to_last),
                p.step,
                sci(p.measured_factor),
                sci(p.measured_first_to_last),
            )
        }
        (None, Some(why)) => format!("No mean-field prediction: {why}."),
        (None, None) => String::new(),
    }
}

fn outcome_sentence(o: &Outcome) -> Option<String> {
    match o {
        Outcome::Diverged {
            step,
            location,
            detail,
        } => Some(format!(
            "Training diverged at step {step}: non-finite value first in {location} ({detail}). \
             The verdict uses the steps measured before."
        )),
        _ => None,
    }
}

/// The terminal output: verdict, remedies, theory line and per-layer table.
pub fn render_text(d: &Diagnosis) -> String {
    let v = &d.verdict;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}: {} steps, measured at {} steps (every {})",
        d.config,
        d.steps,
        d.measured_steps.len(),
        d.every
    );
    if let Some(o) = outcome_sentence(&d.outcome) {
        let _ = writeln!(s, "{o}");
    }
    if let Some(rv) = &v.recurrent {
        let _ = writeln!(
            s,
            "\nverdict: {} {} ({})",
            v.flow.name().to_uppercase(),
            verdict_scope(v),
            through::headline(rv, v.max_grad_norm)
        );
        if v.layers.len() >= 2 {
            let _ = writeln!(
                s,
                "head ({} hidden layers): ‖δ_1‖/‖δ_L‖ = {}, ×{} per layer",
                v.layers.len(),
                sci(v.first_to_last),
                sci(v.per_layer_factor)
            );
        }
    } else {
        let _ = writeln!(
            s,
            "\nverdict: {} (‖δ_1‖/‖δ_L‖ = {}, ×{} per layer, max global gradient norm {})",
            v.flow.name().to_uppercase(),
            sci(v.first_to_last),
            sci(v.per_layer_factor),
            sci(v.max_grad_norm)
        );
    }
    let _ = writeln!(s, "{}", v.explanation);
    if !v.remedies.is_empty() {
        let _ = writeln!(s, "\nremedies:");
        for (i, r) in v.remedies.iter().enumerate() {
            let _ = writeln!(s, "  {}. {r}", i + 1);
        }
    }
    if let (Some(rv), Some(tt)) = (&v.recurrent, &d.through_time) {
        through_time_text(&mut s, rv, tt);
        if d.layers.is_empty() {
            return s;
        }
    } else {
        let t = theory_sentence(d);
        if !t.is_empty() {
            let _ = writeln!(s, "\n{t}");
        }
    }
    let steps = (
        d.measured_steps.first().copied().unwrap_or(0),
        d.measured_steps.last().copied().unwrap_or(0),
    );
    let _ = writeln!(
        s,
        "\nper layer (first = step {}, last = step {}; factor = ‖δ_l‖/‖δ_(l+1)‖ at step {}):",
        steps.0, steps.1, steps.0
    );
    s.push_str(&text_table(&TABLE_HEADER, &table_rows(&d.layers)));
    s
}

/// "through time", or where the verdict comes from when the gradient through time is fine.
fn verdict_scope(v: &Verdict) -> &'static str {
    match &v.recurrent {
        Some(rv) if rv.flow != v.flow => "in the head's hidden layers (through time: healthy)",
        Some(rv) if through::main_layer(rv).is_some_and(|l| l.flow != rv.flow) => {
            "by the global gradient norm (through time: within the thresholds)"
        }
        _ => "through time",
    }
}

/// The through-time tables: ‖∂L/∂h_t‖ sampled over t, the spectrum of W_hh, the gates.
fn through_time_text(s: &mut String, rv: &RecurrentVerdict, tt: &ThroughTime) {
    let _ = writeln!(
        s,
        "\n{} ({}), T = {} steps",
        tt.name,
        through::predict_text(rv.predict),
        rv.steps
    );
    for l in &tt.layers {
        let (header, rows) = through::profile_table(l);
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let _ = writeln!(
            s,
            "\ngradient through time{}: ‖∂L/∂h_t‖ at steps {} and {}; ratio{} relative to t = T \
             at step {}:",
            if tt.layers.len() > 1 {
                format!(", layer {}", l.layer)
            } else {
                String::new()
            },
            l.first_step,
            l.last_step,
            if l.bound_first.is_some() {
                " and bound"
            } else {
                ""
            },
            l.first_step
        );
        s.push_str(&text_table(&header, &rows));
    }
    let header = through::spectral_header(rv);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let _ = writeln!(
        s,
        "\nW_hh (γ = max |f'| of the RNN activation; Pascanu et al. 2013: σ_max < 1/γ forces the \
         gradient through time to vanish, σ_max > 1/γ is needed for it to explode):"
    );
    s.push_str(&text_table(&header, &through::spectral_rows(rv)));
    let _ = writeln!(
        s,
        "\ngates ({}; saturated: |f'(a)| under 1% of its maximum, low: a < 0, high: a ≥ 0):",
        through::gates_when(rv)
    );
    let rows = through::gate_rows(rv);
    if !rows.is_empty() {
        s.push_str(&text_table(&through::GATE_HEADER, &rows));
    }
    if let Some(n) = through::gates_note(rv) {
        let _ = writeln!(s, "{n}");
    }
}

/// The report's charts: (title, file name, SVG, caption).
fn charts(d: &Diagnosis, run: &Collected) -> Result<Vec<(String, String, String, String)>> {
    let mut out = Vec::new();
    if let Some(tt) = &d.through_time {
        out.extend(through::charts(&run.records, tt)?);
    }
    if !deltas(&run.records[0]).is_empty() {
        depth_charts(d, run, &mut out)?;
    }
    // (d) loss curve.
    let title = "Training loss";
    let svg = line_chart(
        &LineChart {
            title,
            x_label: "step",
            y_label: "batch loss",
            lines: vec![Line {
                label: String::new(),
                points: run.losses.iter().map(|&(s, l)| (s as f64, l)).collect(),
                dashed: false,
                color: 0,
                markers: run.losses.len() <= 60,
            }],
            log_y: false,
            y_range: None,
            legend: SeriesLabelPosition::UpperRight,
        },
        (820, 380),
    )?;
    out.push((
        title.to_string(),
        "loss.svg".to_string(),
        svg,
        "The training loss of every step (one mini-batch each).".to_string(),
    ));
    Ok(out)
}

/// Charts (a)–(c): by depth of the hidden activation layers.
#[allow(clippy::type_complexity)]
fn depth_charts(
    d: &Diagnosis,
    run: &Collected,
    out: &mut Vec<(String, String, String, String)>,
) -> Result<()> {
    // (a) ‖∂L/∂z‖ against depth for some steps, and the theory's line at init.
    let mut lines: Vec<Line> = spread(&run.records, 5)
        .into_iter()
        .enumerate()
        .map(|(i, r)| Line {
            label: format!("step {}", r.step),
            points: deltas(r).into_iter().map(|(d, g)| (d as f64, g)).collect(),
            dashed: false,
            color: i,
            markers: true,
        })
        .collect();
    if let Some(p) = &d.theory {
        let fixed = predicted_line(&run.records[0], p, |l| l.predicted_factor);
        let transient = predicted_line(&run.records[0], p, |l| l.transient_factor);
        if let (Some(fixed), Some(transient)) = (fixed, transient) {
            lines.push(Line {
                label: format!("theory at step {}: √χ₁ (at q*)", p.step),
                points: fixed,
                dashed: true,
                color: 7,
                markers: false,
            });
            lines.push(Line {
                label: format!("theory at step {}: with each layer's q_l", p.step),
                points: transient,
                dashed: true,
                color: 5,
                markers: false,
            });
        }
    }
    let title = "Gradient norm |dL/dz| by layer depth";
    let svg = line_chart(
        &LineChart {
            title,
            x_label: "hidden layer depth (1 = next to the input)",
            y_label: "|dL/dz| (log scale)",
            lines,
            log_y: true,
            y_range: None,
            legend: SeriesLabelPosition::UpperRight,
        },
        (820, 500),
    )?;
    out.push((
        title.to_string(),
        "grad_norms.svg".to_string(),
        svg,
        "‖∂L/∂z‖ of each hidden layer (L2 norm over the batch) at several measured steps; the \
         dashed lines are the mean-field predictions at initialization, anchored at the last \
         hidden layer and multiplied per layer towards the input by √χ₁ (at the fixed point q*) \
         or by σ_w·√E[f'(√q_l z)²] with each layer's own variance q_l."
            .to_string(),
    ));
    // (b) heatmap of log10 ‖δ‖, layer × step.
    let depths: Vec<usize> = deltas(&run.records[0]).iter().map(|x| x.0).collect();
    let values: Vec<Vec<f64>> = depths
        .iter()
        .map(|&depth| {
            run.records
                .iter()
                .map(|r| {
                    r.activations()
                        .find(|l| l.depth == depth)
                        .map_or(f64::NAN, |l| l.grad_in_norm.log10())
                })
                .collect()
        })
        .collect();
    let title = "log10 |dL/dz| by layer and step";
    let svg = heatmap(
        &Heatmap {
            title,
            x_label: "measured step",
            y_label: "hidden layer depth",
            columns: run.records.iter().map(|r| r.step.to_string()).collect(),
            rows: depths.iter().map(|d| d.to_string()).collect(),
            values,
            scale_label: "log10 |dL/dz|",
        },
        (820, 460),
    )?;
    out.push((
        title.to_string(),
        "heatmap.svg".to_string(),
        svg,
        "Each cell is log10 ‖∂L/∂z‖ of one hidden layer (rows, input at the bottom) at one \
         measured step (columns). A vertical colour gradient is a gradient that shrinks or \
         grows with depth."
            .to_string(),
    ));
    // (c) saturated and dead fractions per layer.
    let (first, last) = (&run.records[0], &run.records[run.records.len() - 1]);
    let frac = |r: &StepRecord, f: fn(&gradscope::diagnostics::LayerRecord) -> Option<f64>| {
        r.activations()
            .map(|l| (l.depth as f64, f(l).map_or(f64::NAN, |v| 100.0 * v)))
            .collect::<Vec<_>>()
    };
    let mut lines = vec![
        Line {
            label: format!("saturated, step {}", first.step),
            points: frac(first, |l| l.saturated_fraction),
            dashed: false,
            color: 3,
            markers: true,
        },
        Line {
            label: format!("dead, step {}", first.step),
            points: frac(first, |l| l.dead_fraction),
            dashed: false,
            color: 0,
            markers: true,
        },
    ];
    if last.step != first.step {
        lines.push(Line {
            label: format!("saturated, step {}", last.step),
            points: frac(last, |l| l.saturated_fraction),
            dashed: true,
            color: 3,
            markers: true,
        });
        lines.push(Line {
            label: format!("dead, step {}", last.step),
            points: frac(last, |l| l.dead_fraction),
            dashed: true,
            color: 0,
            markers: true,
        });
    }
    let title = "Saturated and dead units by layer";
    let svg = line_chart(
        &LineChart {
            title,
            x_label: "hidden layer depth",
            y_label: "% of units",
            lines,
            log_y: false,
            y_range: Some((-2.0, 102.0)),
            legend: SeriesLabelPosition::UpperRight,
        },
        (820, 420),
    )?;
    out.push((
        title.to_string(),
        "saturation.svg".to_string(),
        svg,
        "Saturated: share of unit-samples with |f'(z)| below 1% of max |f'|. Dead: share of \
         units whose output is 0 for every sample of the batch. At the first and last measured \
         steps."
            .to_string(),
    ));
    Ok(())
}

/// The theory's ‖δ_l‖ by depth: anchored at the last hidden layer's measured norm, multiplied
/// by the predicted factor per layer towards the input.
pub fn predicted_line(
    record: &StepRecord,
    p: &Prediction,
    factor: impl Fn(&LayerPrediction) -> f64,
) -> Option<Vec<(f64, f64)>> {
    let d = deltas(record);
    let &(last_depth, last) = d.last()?;
    let mut pts = vec![(last_depth as f64, last)];
    let mut cur = last;
    for &(depth, _) in d.iter().rev().skip(1) {
        let f = factor(p.layers.iter().find(|l| l.depth == depth)?);
        cur *= f;
        pts.push((depth as f64, cur));
    }
    pts.reverse();
    Some(pts)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

/// A report section: (title, note, table header, table rows).
type Section = (String, String, Vec<String>, Vec<Vec<String>>);

/// The through-time tables of the reports.
fn time_tables(rv: &RecurrentVerdict, tt: &ThroughTime) -> Vec<Section> {
    let mut out = Vec::new();
    for l in &tt.layers {
        let (header, rows) = through::profile_table(l);
        out.push((
            if tt.layers.len() > 1 {
                format!("‖∂L/∂h_t‖ against t, layer {}", l.layer)
            } else {
                "‖∂L/∂h_t‖ against t".to_string()
            },
            format!(
                "{} ({}), T = {}. ‖∂L/∂h_t‖ at training steps {} and {}; the ratio to t = T{} at \
                 step {}.",
                tt.name,
                through::predict_text(rv.predict),
                rv.steps,
                l.first_step,
                l.last_step,
                if l.bound_first.is_some() {
                    " and Pascanu et al.'s bound (γ·σ_max(W_hh))^(T−t)"
                } else if l.cell_grad_norms_first.is_some() {
                    " and the memory's ‖∂L/∂c_t‖"
                } else {
                    ""
                },
                l.first_step
            ),
            header,
            rows,
        ));
    }
    out.push((
        "Spectrum of W_hh".to_string(),
        "ρ: spectral radius (largest |eigenvalue|), σ_max: largest singular value, γ = max |f'| \
         of the RNN activation (from the catalogue's computed properties). By the chain rule \
         ∂h_t/∂h_{t−1} = diag(f'(a_t))·W_hh, so each step scales the gradient by at most \
         γ·σ_max: σ_max < 1/γ forces it to vanish, σ_max > 1/γ is needed for it to explode \
         (Pascanu, Mikolov & Bengio 2013). LSTM/GRU: each gate block of W_hh, and the whole."
            .to_string(),
        through::spectral_header(rv),
        through::spectral_rows(rv),
    ));
    let mut note = format!(
        "{} of every time step, sample and unit. saturated: |f'(a)| under 1% of its maximum (low: a < 0 — a sigmoid gate \
                    shut, tanh at −1; high: a ≥ 0 — a gate wide open, tanh at +1).",
        capitalize(&through::gates_when(rv))
    );
    if let Some(n) = through::gates_note(rv) {
        note.push(' ');
        note.push_str(&n);
    }
    out.push((
        "Gates".to_string(),
        note,
        through::GATE_HEADER.iter().map(|h| h.to_string()).collect(),
        through::gate_rows(rv),
    ));
    out
}

fn write_reports(dir: &Path, d: &Diagnosis, run: &Collected) -> Result<()> {
    let json = serde_json::to_string_pretty(d)? + "\n";
    write_atomic(&dir.join("diagnosis.json"), json.as_bytes())?;
    let charts = charts(d, run)?;
    for (_, file, svg, _) in &charts {
        write_atomic(&dir.join(file), svg.as_bytes())?;
    }
    let v = &d.verdict;
    let rows = table_rows(&d.layers);
    let headline = match &v.recurrent {
        Some(rv) => format!(
            "{}: {} ({} steps, {} measured).",
            verdict_scope(v),
            through::headline(rv, v.max_grad_norm),
            d.steps,
            d.measured_steps.len()
        ),
        None => format!(
            "‖δ_1‖/‖δ_L‖ = {}, ×{} per layer towards the input, max global gradient norm {} ({} \
             steps, {} measured).",
            sci(v.first_to_last),
            sci(v.per_layer_factor),
            sci(v.max_grad_norm),
            d.steps,
            d.measured_steps.len()
        ),
    };
    let time_tables = match (&v.recurrent, &d.through_time) {
        (Some(rv), Some(tt)) => Some(time_tables(rv, tt)),
        _ => None,
    };
    // Markdown.
    let mut md = format!(
        "# Gradient diagnosis: {}\n\n**Verdict: {}** — {headline}\n\n{}\n\n",
        d.config,
        v.flow.name(),
        v.explanation
    );
    if let Some(o) = outcome_sentence(&d.outcome) {
        md.push_str(&format!("> {o}\n\n"));
    }
    if !v.remedies.is_empty() {
        md.push_str("## Remedies\n\n");
        for (i, r) in v.remedies.iter().enumerate() {
            md.push_str(&format!("{}. {r}\n", i + 1));
        }
        md.push('\n');
    }
    if let Some(tables) = &time_tables {
        md.push_str("## Gradient through time\n\n");
        for (title, note, header, rows) in tables {
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            md.push_str(&format!("### {title}\n\n{note}\n\n"));
            if !rows.is_empty() {
                md.push_str(&markdown_table(&header, rows));
                md.push('\n');
            }
        }
    } else {
        md.push_str(&format!("## Theory\n\n{}\n\n", theory_sentence(d)));
    }
    if !d.layers.is_empty() {
        md.push_str(&format!(
        "## Per layer\n\nFirst = step {}, last = step {}; factor = ‖δ_l‖/‖δ_(l+1)‖ at the first \
         step: mean-field √χ₁ at the fixed point q*, with the layer's own variance q_l, and \
         measured.\n\n",
        d.measured_steps.first().unwrap_or(&0),
        d.measured_steps.last().unwrap_or(&0)
    ));
        md.push_str(&markdown_table(&TABLE_HEADER, &rows));
    }
    md.push_str("\n## Charts\n\n");
    for (title, file, _, caption) in &charts {
        md.push_str(&format!("![{title}]({file})\n\n{caption}\n\n"));
    }
    md.push_str("The same report with the charts inline: `report.html`.\n");
    write_atomic(&dir.join("report.md"), md.as_bytes())?;
    // HTML.
    let mut page = Page::new(&format!("Gradient diagnosis: {}", d.config));
    page.flow_line(v.flow.name(), &headline);
    page.p(&v.explanation);
    if let Some(o) = outcome_sentence(&d.outcome) {
        page.p(&o);
    }
    if !v.remedies.is_empty() {
        page.h2("Remedies");
        page.ol(&v.remedies);
    }
    if let Some(tables) = &time_tables {
        page.h2("Gradient through time");
        for (title, note, header, rows) in tables {
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            page.h3(title);
            page.note(note);
            if !rows.is_empty() {
                // Text columns: the gates table's first three, the spectrum's first two.
                let left = match header.first().copied() {
                    Some("layer") if header.get(1) == Some(&"gate") => 3,
                    Some("layer") => 2,
                    _ => 0,
                };
                page.table(&header, rows, left);
            }
        }
    } else {
        page.h2("Theory");
        page.p(&theory_sentence(d));
    }
    if !d.layers.is_empty() {
        page.h2("Per layer");
        page.note(&format!(
        "First = step {}, last = step {}. ratio to last: ‖δ_l‖/‖δ_L‖, geometric mean over the \
         measured steps. factor: ‖δ_l‖/‖δ_(l+1)‖ at the first step, predicted by the mean-field \
         theory (√χ₁ at the fixed point q*; with the layer's own variance q_l) and measured. update ratio: ‖ΔW‖/‖W‖ of the layer's incoming weights, mean.",
        d.measured_steps.first().unwrap_or(&0),
        d.measured_steps.last().unwrap_or(&0)
    ));
        page.table(&TABLE_HEADER, &rows, 2);
    }
    page.h2("Charts");
    for (_, _, svg, caption) in &charts {
        page.figure(svg, caption);
    }
    page.note(&format!(
        "Final batch-mode evaluation: train loss {}, validation loss {}. Wall time {:.2} s.",
        opt_sci(d.train.map(|e| e.loss)),
        opt_sci(d.val.map(|e| e.loss)),
        d.elapsed_s
    ));
    write_atomic(&dir.join("report.html"), page.finish().as_bytes())?;
    Ok(())
}
