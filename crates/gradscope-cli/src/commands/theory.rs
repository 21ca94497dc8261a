//! `gradscope theory`: mean-field signal propagation (Poole et al. 2016, Schoenholz et al.
//! 2017) for one activation and initialization. Everything printed is computed by
//! [`gradscope::theory`] (the report by `mean_field_from` and `propagate`, the critical point by
//! `transition`, the sweep by `sweep`, the phase diagram by `PhaseDiagram`); this file parses
//! the flags and formats the returned values as text, JSON, CSV or SVG.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use gradscope::theory::{
    self, FixedPointKind, MeanField, PhaseDiagram, Propagation, Sweep, Transition, CRITICAL_RANGE,
    MAX_VARIANCE,
};
use gradscope::Activation;
use serde_json::{json, Value};

use crate::output::{csv_table, num, parse_numbers, text_table, write_atomic};
use crate::phase_plot::phase_diagram_svg;

/// Arguments of `gradscope theory`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// The activation (text form, e.g. `tanh`, `relu`, `leaky_relu(0.2)`); element-wise only
    /// (not softmax / log_softmax).
    #[arg(long, value_name = "NAME")]
    activation: String,

    /// Weight variance sigma_w^2: weights ~ N(0, sigma_w^2/fan_in) (He for ReLU: 2;
    /// Xavier/LeCun: 1).
    /// Required unless --critical or --sweep is given.
    #[arg(long = "sigma-w2", value_name = "X", allow_hyphen_values = true)]
    sigma_w2: Option<f64>,

    /// Bias variance sigma_b^2: biases ~ N(0, sigma_b^2) (0 for zero-initialized biases).
    #[arg(
        long = "sigma-b2",
        value_name = "Y",
        default_value_t = 0.0,
        allow_hyphen_values = true
    )]
    sigma_b2: f64,

    /// Mean square q0 of the input's entries, (1/N_0) |x|^2 (1 for standardized inputs). The
    /// first layer's pre-activations have variance q1 = sigma_w^2 q0 + sigma_b^2, where the
    /// length map starts: when it has several attracting fixed points (GELU, Swish, Mish at
    /// sigma_w^2 ~ 2-3) q0 decides which one the network reaches.
    #[arg(
        long,
        value_name = "Q0",
        default_value_t = theory::DEFAULT_Q0,
        allow_hyphen_values = true
    )]
    q0: f64,

    /// Depth L for the predicted gradient-norm ratio over L layers: chi1^(L/2) at the fixed
    /// point, and the product of sqrt(chi1(q_l)) over layers 1..L from the input.
    #[arg(long, value_name = "L", default_value_t = 10)]
    depth: usize,

    /// Print JSON instead of the table (infinite values are null; see `fixed_point`).
    #[arg(long)]
    json: bool,

    /// Find the critical sigma_w^2 (chi1 = 1, the edge of chaos) for the given sigma_b^2. Without
    /// --sigma-w2 the analysis is then done at that sigma_w^2.
    #[arg(long)]
    critical: bool,

    /// Half-width of the critical band: |chi1 - 1| < TOL counts as critical.
    #[arg(long, value_name = "TOL", default_value_t = theory::DEFAULT_CRITICAL_TOL)]
    tol: f64,

    /// Write the order-to-chaos phase diagram (the chi1 = 1 curve in the (sigma_w^2,
    /// sigma_b^2) plane, regions labelled, the given point marked) as SVG to this file
    /// (written atomically).
    #[arg(long, value_name = "FILE.svg")]
    phase_plot: Option<PathBuf>,

    /// Axis ends of the phase diagram, `MAX_SIGMA_W2,MAX_SIGMA_B2` (default: fitted to the
    /// curve and the point).
    #[arg(long, value_name = "W,B", requires = "phase_plot")]
    phase_range: Option<String>,

    /// Instead of the report, print chi1 over a sigma_w^2 grid (at the given sigma_b^2) as CSV
    /// (JSON with --json): `LO,HI,N` gives N evenly spaced sigma_w^2 from LO to HI.
    #[arg(
        long,
        value_name = "LO,HI,N",
        num_args = 0..=1,
        default_missing_value = "0.25,4,16",
        conflicts_with = "critical"
    )]
    sweep: Option<String>,
}

const AFTER_HELP: &str = "\
Mean-field theory of a deep random network h_{l+1} = W f(h_l) + b with W ~ N(0, sigma_w^2 /
fan_in) and b ~ N(0, sigma_b^2) (Poole et al. 2016; Schoenholz et al. 2017). An input whose
entries have mean square q0 gives the first layer variance q1 = sigma_w^2 q0 + sigma_b^2; in the
wide limit the variance then follows the length map q -> sigma_w^2 E[f(sqrt(q) z)^2] + sigma_b^2
(z ~ N(0,1)) to a fixed point q*, and back-propagation multiplies the mean squared gradient by

  chi1 = sigma_w^2 E[f'(sqrt(q*) z)^2]   per layer.

chi1 < 1: ordered phase, gradients vanish like chi1^(L/2) over L layers; chi1 > 1: chaotic
phase, they explode; chi1 = 1: the edge of chaos, where deep networks train. Two length scales:

  gradient scale     xi_grad = 1/|ln chi1|: layers per factor e of decay (ordered) or growth
                     (chaotic) of the mean squared gradient;
  correlation depth  xi_c = -1/ln chi_c: layers over which the correlation of two inputs
                     approaches its fixed point c* by a factor e, with the correlation map
                     c -> (sigma_w^2 E[f(u1) f(u2)] + sigma_b^2)/q* (u1, u2 Gaussian, variance
                     q*, correlation c) and chi_c = sigma_w^2 E[f'(u1) f'(u2)] at c* (c* = 1 and
                     chi_c = chi1 in the ordered phase). Networks train up to about 6 xi_c
                     layers (the trainable depth).

Both diverge at the edge of chaos. Expectations are exact Gauss-Legendre quadratures split at
the activation's kinks (2-D for the correlation map). q* = 0 (the signal dies, e.g. tanh with
sigma_b^2 = 0, sigma_w^2 <= 1) and q -> inf (ReLU with sigma_w^2 > 2) are reported as such;
chi1 is then the limit, and the correlation map (normalised by q*) is not defined.

Output: q*, chi1, xi_grad, c*, chi_c, xi_c, 6 xi_c, the gradient-norm ratio per layer
(sqrt(chi1)) and over --depth layers (chi1^(L/2) at q*, and the product of sqrt(chi1(q_l)) with
q_l from q1), the phase and what it means. --critical adds the sigma_w^2 with chi1 = 1 for the
given sigma_b^2 and q0 (searched in [1e-3, 1e6]; some activations such as GELU or Swish at
small sigma_b^2 have none: chi1 jumps across 1, which is reported).

Examples:
  gradscope theory --activation tanh --sigma-w2 1.5 --sigma-b2 0.05
  gradscope theory --activation tanh --sigma-w2 4 --sigma-b2 0.05 --json
  gradscope theory --activation gelu --sigma-w2 2.35 --q0 1 --depth 29
  gradscope theory --activation tanh --sigma-b2 0.05 --critical
  gradscope theory --activation tanh --sigma-w2 4 --sigma-b2 0.05 --phase-plot phase.svg
  gradscope theory --activation sigmoid --sigma-b2 0.1 --sweep 1,200,20";

/// Cells per axis of the phase diagram drawn by --phase-plot (and σ_b² rows of its boundary,
/// plus one).
const PLOT_RESOLUTION: usize = 32;

/// A finite number, or null.
fn jnum(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

fn check_variance(flag: &str, v: f64) -> Result<()> {
    // Every variance flag, and --q0 (a mean square), must be finite, >= 0 and at most 1e6.
    if !v.is_finite() {
        bail!("{flag}: {v} is not a finite number");
    }
    if v < 0.0 {
        bail!("{flag}: {v} is negative; a variance must be >= 0");
    }
    if v > MAX_VARIANCE {
        bail!("{flag}: {v} is above the supported maximum {MAX_VARIANCE:e}");
    }
    Ok(())
}

fn parse_activation(text: &str) -> Result<Activation> {
    let act = text
        .parse::<Activation>()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("--activation")?;
    theory::check_activation(&act).map_err(|e| anyhow::anyhow!("--activation: {e}"))?;
    Ok(act)
}

/// The report at one σ_w²: the mean-field analysis and the layer-by-layer prediction.
struct Analysis {
    m: MeanField,
    p: Propagation,
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    let act = parse_activation(&args.activation)?;
    check_variance("--sigma-b2", args.sigma_b2)?;
    check_variance("--q0", args.q0)?;
    if let Some(sw) = args.sigma_w2 {
        check_variance("--sigma-w2", sw)?;
    }
    if !(args.tol > 0.0 && args.tol < 1.0) {
        bail!("--tol: {} must be in (0, 1)", args.tol);
    }
    let sweep = args.sweep.as_deref().map(parse_sweep).transpose()?;
    let range = args
        .phase_range
        .as_deref()
        .map(|t| {
            let v = parse_numbers("--phase-range", t)?;
            match v[..] {
                [w, b] if w > 0.0 && b > 0.0 && w <= MAX_VARIANCE && b <= MAX_VARIANCE => {
                    Ok((w, b))
                }
                _ => bail!(
                    "--phase-range: expected two positive numbers MAX_SIGMA_W2,MAX_SIGMA_B2 \
                     (at most {MAX_VARIANCE:e}), got `{t}`"
                ),
            }
        })
        .transpose()?;
    if args.sigma_w2.is_none() && !args.critical && sweep.is_none() {
        bail!(
            "--sigma-w2 is required (or use --critical to find the critical sigma_w^2, or --sweep)"
        );
    }

    let transition = if args.critical {
        Some(theory::transition(&act, args.sigma_b2, args.q0).context("critical sigma_w^2")?)
    } else {
        None
    };
    let critical_w2 = transition
        .flatten()
        .filter(|t| t.continuous)
        .map(|t| t.sigma_w2);
    let analysis = match args.sigma_w2.or(critical_w2) {
        Some(sw) => Some(Analysis {
            m: theory::mean_field_from(&act, sw, args.sigma_b2, args.q0)?,
            p: theory::propagate(&act, sw, args.sigma_b2, args.q0, args.depth)?,
        }),
        None => None,
    };

    let out = if let Some((lo, hi, n)) = sweep {
        let s = theory::sweep(&act, (lo, hi), n, args.sigma_b2, args.q0)?;
        if args.json {
            serde_json::to_string_pretty(&sweep_json(&s, args.tol))? + "\n"
        } else {
            sweep_csv(&s, args.tol)
        }
    } else if args.json {
        let v = report_json(&act, &args, analysis.as_ref(), transition);
        serde_json::to_string_pretty(&v)? + "\n"
    } else {
        report_text(&act, &args, analysis.as_ref(), transition)
    };
    if let Some(path) = &args.phase_plot {
        write_phase_plot(path, &act, &args, analysis.as_ref().map(|a| &a.m), range)?;
        crate::errln!("wrote phase diagram to {}", path.display());
    }
    crate::output::emit(&out)?;
    Ok(())
}

fn parse_sweep(text: &str) -> Result<(f64, f64, usize)> {
    let v = parse_numbers("--sweep", text)?;
    let [lo, hi, n] = v[..] else {
        bail!("--sweep: expected LO,HI,N, got `{text}`");
    };
    if n.fract() != 0.0 || !(2.0..=theory::sweep::MAX_SWEEP_POINTS as f64).contains(&n) {
        bail!(
            "--sweep: N = {n} must be a whole number from 2 to {}",
            theory::sweep::MAX_SWEEP_POINTS
        );
    }
    check_variance("--sweep LO", lo)?;
    check_variance("--sweep HI", hi)?;
    if lo >= hi {
        bail!("--sweep: LO = {lo} must be below HI = {hi}");
    }
    Ok((lo, hi, n as usize))
}

fn fixed_point_cells(m: &MeanField) -> (String, String) {
    let fp = &m.fixed_point;
    match fp.kind {
        FixedPointKind::Finite => (
            num(fp.q_star, 5),
            "variance of the pre-activations deep in the network".into(),
        ),
        FixedPointKind::Zero => (
            "0".into(),
            "the signal dies out: the pre-activation variance shrinks to 0 with depth".into(),
        ),
        FixedPointKind::Divergent => (
            "inf".into(),
            format!(
                "the pre-activation variance grows without bound with depth (past {:e})",
                theory::Q_MAX
            ),
        ),
    }
}

fn gradient_scale_cells(m: &MeanField) -> (String, String) {
    let xi = m.gradient_scale;
    if xi.is_infinite() {
        (
            "inf".into(),
            "1/|ln chi1|: no exponential decay or growth of the gradient".into(),
        )
    } else {
        let way = if m.chi1 < 1.0 { "shrinks" } else { "grows" };
        (
            num(xi, 4),
            format!(
                "1/|ln chi1|: layers over which the mean squared gradient {way} by e (the \
                 norm: {})",
                num(m.gradient_norm_scale(), 4)
            ),
        )
    }
}

/// The rows of the correlation map, or one row saying why there is none.
fn correlation_rows(m: &MeanField) -> Vec<Vec<String>> {
    let row = |a: &str, b: String, c: String| vec![a.to_string(), b, c];
    let Some(c) = m.correlation else {
        let why = match m.fixed_point.kind {
            FixedPointKind::Zero => "q* = 0",
            _ => "q* = inf",
        };
        return vec![row(
            "correlation map",
            "n/a".into(),
            format!(
                "needs a finite q* > 0 ({why}: the map c -> (sigma_w^2 E[f(u1)f(u2)] + \
                 sigma_b^2)/q* is undefined)"
            ),
        )];
    };
    let c_meaning = if c.c_star == 1.0 {
        "correlation two inputs' pre-activations converge to with depth: 1, all inputs end up \
         alike"
            .to_string()
    } else {
        "correlation two inputs' pre-activations converge to with depth: < 1, nearby inputs \
         decorrelate"
            .to_string()
    };
    let (xi, six) = if c.depth_scale.is_finite() {
        (num(c.depth_scale, 4), num(c.trainable_depth, 4))
    } else {
        ("inf".into(), "inf".into())
    };
    vec![
        row("correlation c*", num(c.c_star, 6), c_meaning),
        row(
            "chi_c",
            num(c.chi_c, 6),
            "slope of the correlation map at c*, sigma_w^2 E[f'(u1) f'(u2)] (= chi1 when c* = 1)"
                .into(),
        ),
        row(
            "correlation depth xi_c",
            xi,
            "-1/ln chi_c: layers over which |c_l - c*| shrinks by e, how deep input information \
             survives"
                .into(),
        ),
        row(
            "trainable depth 6 xi_c",
            six,
            "Schoenholz et al.: networks much deeper than this do not train from this init".into(),
        ),
    ]
}

fn transition_text(act: &Activation, sigma_b2: f64, q0: f64, t: Option<Transition>) -> String {
    let inputs = if q0 == theory::DEFAULT_Q0 {
        String::new()
    } else {
        format!(" and q0 = {}", num(q0, 4))
    };
    match t {
        Some(t) if t.continuous => format!(
            "critical sigma_w^2 = {} for {act} at sigma_b^2 = {}{inputs}: chi1 = 1 there, i.e. \
             weights ~ N(0, {}/fan_in) put the network at the edge of chaos.\n",
            num(t.sigma_w2, 6),
            num(sigma_b2, 4),
            num(t.sigma_w2, 4)
        ),
        Some(t) => format!(
            "no critical sigma_w^2 for {act} at sigma_b^2 = {}{inputs}: chi1 never equals 1, it \
             jumps from {} to {} at sigma_w^2 = {} (the variance fixed point reached from q1 = \
             sigma_w^2 q0 + sigma_b^2 switches branch there: a discontinuous order-to-chaos \
             transition).\n",
            num(sigma_b2, 4),
            num(t.chi1_below, 4),
            num(t.chi1_above, 4),
            num(t.sigma_w2, 6)
        ),
        None => format!(
            "no critical sigma_w^2 for {act} at sigma_b^2 = {}{inputs}: chi1 does not cross 1 \
             for sigma_w^2 in [{:e}, {:e}].\n",
            num(sigma_b2, 4),
            CRITICAL_RANGE.0,
            CRITICAL_RANGE.1
        ),
    }
}

fn report_text(
    act: &Activation,
    args: &Args,
    a: Option<&Analysis>,
    transition: Option<Option<Transition>>,
) -> String {
    let (depth, tol) = (args.depth, args.tol);
    let mut out = String::new();
    if let Some(Analysis { m, p }) = a {
        out.push_str(&format!(
            "Mean-field theory: {act}, sigma_w^2 = {}, sigma_b^2 = {}, input mean square q0 = {}  \
             (weights ~ N(0, sigma_w^2/fan_in), biases ~ N(0, sigma_b^2); the first layer's \
             pre-activations have variance q1 = sigma_w^2 q0 + sigma_b^2 = {})\n\n",
            num(m.sigma_w2, 6),
            num(m.sigma_b2, 6),
            num(m.q0, 6),
            num(m.q1, 6)
        ));
        let phase = m.phase_with_tol(tol);
        let (fp_value, fp_meaning) = fixed_point_cells(m);
        let (xi_value, xi_meaning) = gradient_scale_cells(m);
        let row = |a: &str, b: String, c: &str| vec![a.to_string(), b, c.to_string()];
        let mut rows = vec![
            row("fixed point q*", fp_value, &fp_meaning),
            row(
                "chi1",
                num(m.chi1, 6),
                "per-layer factor of the mean squared gradient, sigma_w^2 E[f'(sqrt(q*) z)^2]",
            ),
            row("gradient scale xi_grad", xi_value, &xi_meaning),
        ];
        rows.extend(correlation_rows(m));
        rows.extend([
            row(
                "gradient ratio / layer",
                num(m.grad_ratio_per_layer, 6),
                "|dL/dh_l| / |dL/dh_(l+1)| = sqrt(chi1)",
            ),
            row(
                &format!("gradient ratio / {depth} layers"),
                num(m.gradient_ratio(depth), 4),
                &format!("chi1^(L/2): gradient norm {depth} layers down vs at the top"),
            ),
            row(
                "... from the input",
                num(p.grad_ratio, 4),
                &format!(
                    "prod sqrt(chi1(q_l)), l = 1..{depth}: the same with q_l from q1 instead of q*"
                ),
            ),
            row(
                "phase",
                phase.to_string(),
                &format!("critical when |chi1 - 1| < {}", num(tol, 3)),
            ),
        ]);
        out.push_str(&text_table(&["quantity", "value", "meaning"], &rows));
        out.push('\n');
        out.push_str(phase.explanation());
        out.push('\n');
    }
    if let Some(t) = transition {
        if a.is_some() {
            out.push('\n');
        }
        out.push_str(&transition_text(act, args.sigma_b2, args.q0, t));
    }
    out
}

/// The correlation fields of a JSON object: c*, χ_c, ξ_c, 6ξ_c (null when undefined or
/// infinite).
fn correlation_json(m: &MeanField) -> [(&'static str, Value); 4] {
    let c = m.correlation;
    [
        ("c_star", c.map_or(Value::Null, |c| jnum(c.c_star))),
        ("chi_c", c.map_or(Value::Null, |c| jnum(c.chi_c))),
        (
            "correlation_depth",
            c.map_or(Value::Null, |c| jnum(c.depth_scale)),
        ),
        (
            "trainable_depth",
            c.map_or(Value::Null, |c| jnum(c.trainable_depth)),
        ),
    ]
}

fn report_json(
    act: &Activation,
    args: &Args,
    a: Option<&Analysis>,
    transition: Option<Option<Transition>>,
) -> Value {
    let mut v = json!({
        "schema_version": gradscope::io::SCHEMA_VERSION,
        "activation": act.to_string(),
        "sigma_b2": args.sigma_b2,
        "q0": args.q0,
        "depth": args.depth,
        "critical_tol": args.tol,
    });
    if let Some(Analysis { m, p }) = a {
        let phase = m.phase_with_tol(args.tol);
        let obj = v.as_object_mut().expect("an object");
        for (k, val) in [
            ("sigma_w2", json!(m.sigma_w2)),
            ("q1", json!(m.q1)),
            ("q_star", jnum(m.q_star)),
            ("fixed_point", json!(m.fixed_point.kind.as_str())),
            ("iterations", json!(m.fixed_point.iterations)),
            ("chi1", jnum(m.chi1)),
            ("gradient_scale", jnum(m.gradient_scale)),
            ("grad_ratio_per_layer", jnum(m.grad_ratio_per_layer)),
            ("grad_ratio_depth", jnum(m.gradient_ratio(args.depth))),
            ("grad_ratio_depth_from_input", jnum(p.grad_ratio)),
            ("phase", json!(phase.as_str())),
            ("explanation", json!(phase.explanation())),
        ]
        .into_iter()
        .chain(correlation_json(m))
        {
            obj.insert(k.into(), val);
        }
    }
    if let Some(t) = transition {
        v["critical"] = json!({
            "sigma_b2": args.sigma_b2,
            "q0": args.q0,
            "sigma_w2": t.filter(|t| t.continuous).map(|t| t.sigma_w2),
            "transition_sigma_w2": t.map(|t| t.sigma_w2),
            "continuous": t.map(|t| t.continuous),
            "chi1_below": t.map(|t| t.chi1_below),
            "chi1_above": t.map(|t| t.chi1_above),
            "searched": [CRITICAL_RANGE.0, CRITICAL_RANGE.1],
        });
    }
    v
}

fn sweep_json(s: &Sweep, tol: f64) -> Value {
    let rows: Vec<Value> = s
        .rows
        .iter()
        .map(|m| {
            let mut v = json!({
                "sigma_w2": m.sigma_w2,
                "sigma_b2": m.sigma_b2,
                "q0": m.q0,
                "q_star": jnum(m.q_star),
                "fixed_point": m.fixed_point.kind.as_str(),
                "chi1": jnum(m.chi1),
                "gradient_scale": jnum(m.gradient_scale),
                "grad_ratio_per_layer": jnum(m.grad_ratio_per_layer),
                "phase": m.phase_with_tol(tol).as_str(),
            });
            for (k, val) in correlation_json(m) {
                v[k] = val;
            }
            v
        })
        .collect();
    json!({
        "schema_version": gradscope::io::SCHEMA_VERSION,
        "activation": s.activation.to_string(),
        "sigma_b2": s.sigma_b2,
        "q0": s.q0,
        "critical_tol": tol,
        "sweep": rows,
    })
}

fn sweep_csv(s: &Sweep, tol: f64) -> String {
    let header = [
        "sigma_w2",
        "sigma_b2",
        "q_star",
        "fixed_point",
        "chi1",
        "gradient_scale",
        "grad_ratio_per_layer",
        "phase",
        "q0",
        "c_star",
        "chi_c",
        "correlation_depth",
        "trainable_depth",
    ];
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let rows: Vec<Vec<String>> = s
        .rows
        .iter()
        .map(|m| {
            let c = m.correlation;
            vec![
                m.sigma_w2.to_string(),
                m.sigma_b2.to_string(),
                m.q_star.to_string(),
                m.fixed_point.kind.as_str().into(),
                m.chi1.to_string(),
                m.gradient_scale.to_string(),
                m.grad_ratio_per_layer.to_string(),
                m.phase_with_tol(tol).as_str().into(),
                m.q0.to_string(),
                opt(c.map(|c| c.c_star)),
                opt(c.map(|c| c.chi_c)),
                opt(c.map(|c| c.depth_scale)),
                opt(c.map(|c| c.trainable_depth)),
            ]
        })
        .collect();
    csv_table(&header, &rows)
}

fn write_phase_plot(
    path: &Path,
    act: &Activation,
    args: &Args,
    m: Option<&MeanField>,
    range: Option<(f64, f64)>,
) -> Result<()> {
    let diagram = match range {
        Some((w, b)) => PhaseDiagram::compute(act, (0.0, w), (0.0, b), PLOT_RESOLUTION, args.q0),
        None => {
            // The σ_b² axis shows the given point with some room (at least up to 1).
            let max_b2 = (1.25 * m.map_or(args.sigma_b2, |m| m.sigma_b2)).max(1.0);
            PhaseDiagram::compute_fitted(
                act,
                (0.0, max_b2),
                PLOT_RESOLUTION,
                args.q0,
                m.map(|m| m.sigma_w2),
            )
        }
    }
    .context("--phase-plot: the phase diagram")?;
    let title = if args.q0 == theory::DEFAULT_Q0 {
        format!("Order-to-chaos phase diagram: {act}")
    } else {
        format!(
            "Order-to-chaos phase diagram: {act}, q0 = {}",
            num(args.q0, 4)
        )
    };
    let point = m.map(|m| {
        (
            (m.sigma_w2, m.sigma_b2),
            format!(
                "sigma_w^2 = {}, sigma_b^2 = {}: {}, chi1 = {}",
                num(m.sigma_w2, 4),
                num(m.sigma_b2, 4),
                m.phase_with_tol(args.tol),
                num(m.chi1, 4)
            ),
        )
    });
    let svg = phase_diagram_svg(&diagram, &title, point)?;
    write_atomic(path, svg.as_bytes()).with_context(|| format!("--phase-plot `{}`", path.display()))
}
