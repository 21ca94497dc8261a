//! `gradscope theory`: mean-field signal propagation (Poole et al. 2016, Schoenholz et al.
//! 2017) for one activation and initialization: q*, χ₁, depth scale, predicted gradient
//! ratios and the phase; the critical σ_w²; the order-to-chaos phase diagram; a χ₁ sweep.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use gradscope::theory::{
    self, FixedPointKind, MeanField, Phase, Propagation, Transition, CRITICAL_RANGE, MAX_VARIANCE,
};
use gradscope::Activation;
use serde_json::{json, Value};

use crate::output::parse_numbers;
use crate::output::{csv_table, num, text_table, write_atomic};
use crate::phase_plot::{phase_diagram_svg, BoundaryPoint, PhaseDiagram, Side};

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
fan_in) and b ~ N(0, sigma_b^2) (Poole et al. 2016; Schoenholz et al. 2017). In the wide limit
the pre-activation variance follows the length map q -> sigma_w^2 E[f(sqrt(q) z)^2] + sigma_b^2
(z ~ N(0,1)) to a fixed point q*, and back-propagation multiplies the mean squared gradient by

  chi1 = sigma_w^2 E[f'(sqrt(q*) z)^2]   per layer.

chi1 < 1: ordered phase, gradients vanish like chi1^(L/2) over L layers; chi1 > 1: chaotic
phase, they explode; chi1 = 1: the edge of chaos, where deep networks train. The depth scale
xi = -1/ln(chi1) is the number of layers over which the mean squared gradient changes by e
(negative when it grows: then it grows by e every -xi layers). Expectations are exact
Gauss-Legendre quadratures split at the activation's kinks. q* = 0 (the signal dies, e.g.
tanh with sigma_b^2 = 0, sigma_w^2 <= 1) and q -> inf (ReLU with sigma_w^2 > 2) are reported
as such; chi1 is then the limit.

Output: q*, chi1, xi, the gradient-norm ratio per layer (sqrt(chi1)) and over --depth layers
(chi1^(L/2)), the phase and what it means. --critical adds the sigma_w^2 with chi1 = 1 for the
given sigma_b^2 (searched in [1e-3, 1e6]; some activations such as GELU or Swish at small
sigma_b^2 have none: chi1 jumps across 1, which is reported).

Examples:
  gradscope theory --activation tanh --sigma-w2 1.5 --sigma-b2 0.05
  gradscope theory --activation relu --sigma-w2 2 --depth 50 --json
  gradscope theory --activation tanh --sigma-b2 0.05 --critical
  gradscope theory --activation tanh --sigma-w2 4 --sigma-b2 0.05 --phase-plot phase.svg
  gradscope theory --activation sigmoid --sigma-b2 0.1 --sweep 1,200,20";

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
    let sigma_w2 = args.sigma_w2.or(critical_w2);
    let analysis = match sigma_w2 {
        Some(sw) => Some((
            theory::mean_field_from(&act, sw, args.sigma_b2, args.q0)?,
            theory::propagate(&act, sw, args.sigma_b2, args.q0, args.depth)?,
        )),
        None => None,
    };

    let mut out = String::new();
    if let Some((lo, hi, n)) = sweep {
        out = render_sweep(&act, args.sigma_b2, args.q0, lo, hi, n, args.tol, args.json)?;
    } else if args.json {
        out = serde_json::to_string_pretty(&report_json(
            &act,
            args.sigma_b2,
            analysis.as_ref().map(|(m, p)| (m, p)),
            args.depth,
            args.tol,
            transition,
        ))? + "\n";
    } else {
        out.push_str(&report_text(
            &act,
            args.sigma_b2,
            analysis.as_ref().map(|(m, p)| (m, p)),
            args.depth,
            args.tol,
            transition,
        ));
    }
    if let Some(path) = &args.phase_plot {
        let point = analysis
            .as_ref()
            .map(|(m, _)| (m.sigma_w2, m.sigma_b2, m.phase_with_tol(args.tol), m.chi1));
        write_phase_plot(path, &act, args.sigma_b2, args.q0, point, range)?;
        eprintln!("wrote phase diagram to {}", path.display());
    }
    print!("{out}");
    Ok(())
}

fn parse_sweep(text: &str) -> Result<(f64, f64, usize)> {
    let v = parse_numbers("--sweep", text)?;
    let [lo, hi, n] = v[..] else {
        bail!("--sweep: expected LO,HI,N, got `{text}`");
    };
    if n.fract() != 0.0 || !(2.0..=10_000.0).contains(&n) {
        bail!("--sweep: N = {n} must be a whole number from 2 to 10000");
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

fn depth_scale_cells(m: &MeanField) -> (String, String) {
    let xi = m.depth_scale;
    if xi.is_infinite() {
        ("inf".into(), "no exponential decay or growth".into())
    } else if xi >= 0.0 {
        (
            num(xi, 4),
            format!(
                "layers over which the mean squared gradient shrinks by e (the norm: {})",
                num(2.0 * xi, 4)
            ),
        )
    } else {
        (
            num(xi, 4),
            format!(
                "negative: the mean squared gradient grows by e every {} layers",
                num(-xi, 4)
            ),
        )
    }
}

fn transition_text(act: &Activation, sigma_b2: f64, t: Option<Transition>) -> String {
    match t {
        Some(t) if t.continuous => format!(
            "critical sigma_w^2 = {} for {act} at sigma_b^2 = {}: chi1 = 1 there, i.e. weights ~ \
             N(0, {}/fan_in) put the network at the edge of chaos.\n",
            num(t.sigma_w2, 6),
            num(sigma_b2, 4),
            num(t.sigma_w2, 4)
        ),
        Some(t) => format!(
            "no critical sigma_w^2 for {act} at sigma_b^2 = {}: chi1 never equals 1, it jumps from \
             {} to {} at sigma_w^2 = {} (the variance fixed point reached from q = 1 switches \
             branch there: a discontinuous order-to-chaos transition).\n",
            num(sigma_b2, 4),
            num(t.chi1_below, 4),
            num(t.chi1_above, 4),
            num(t.sigma_w2, 6)
        ),
        None => format!(
            "no critical sigma_w^2 for {act} at sigma_b^2 = {}: chi1 does not cross 1 for \
             sigma_w^2 in [{:e}, {:e}].\n",
            num(sigma_b2, 4),
            CRITICAL_RANGE.0,
            CRITICAL_RANGE.1
        ),
    }
}

fn report_text(
    act: &Activation,
    sigma_b2: f64,
    m: Option<(&MeanField, &Propagation)>,
    depth: usize,
    tol: f64,
    transition: Option<Option<Transition>>,
) -> String {
    let mut out = String::new();
    if let Some((m, p)) = m {
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
        let (xi_value, xi_meaning) = depth_scale_cells(m);
        let row = |a: &str, b: String, c: &str| vec![a.to_string(), b, c.to_string()];
        let rows = vec![
            row("fixed point q*", fp_value, &fp_meaning),
            row(
                "chi1",
                num(m.chi1, 6),
                "per-layer factor of the mean squared gradient, sigma_w^2 E[f'(sqrt(q*) z)^2]",
            ),
            row("depth scale xi", xi_value, &xi_meaning),
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
        ];
        out.push_str(&text_table(&["quantity", "value", "meaning"], &rows));
        out.push('\n');
        out.push_str(phase.explanation());
        out.push('\n');
    }
    if let Some(t) = transition {
        if m.is_some() {
            out.push('\n');
        }
        out.push_str(&transition_text(act, sigma_b2, t));
    }
    out
}

fn report_json(
    act: &Activation,
    sigma_b2: f64,
    m: Option<(&MeanField, &Propagation)>,
    depth: usize,
    tol: f64,
    transition: Option<Option<Transition>>,
) -> Value {
    let mut v = json!({
        "activation": act.to_string(),
        "sigma_b2": sigma_b2,
        "depth": depth,
        "critical_tol": tol,
    });
    if let Some((m, p)) = m {
        let phase = m.phase_with_tol(tol);
        let obj = v.as_object_mut().expect("an object");
        for (k, val) in [
            ("sigma_w2", json!(m.sigma_w2)),
            ("q0", json!(m.q0)),
            ("q1", json!(m.q1)),
            ("q_star", jnum(m.q_star)),
            ("fixed_point", json!(m.fixed_point.kind.as_str())),
            ("iterations", json!(m.fixed_point.iterations)),
            ("chi1", jnum(m.chi1)),
            ("depth_scale", jnum(m.depth_scale)),
            (
                "growth_scale",
                if m.chi1 > 1.0 {
                    jnum(m.gradient_scale)
                } else {
                    Value::Null
                },
            ),
            ("grad_ratio_per_layer", jnum(m.grad_ratio_per_layer)),
            ("grad_ratio_depth", jnum(m.gradient_ratio(depth))),
            ("grad_ratio_depth_from_input", jnum(p.grad_ratio)),
            ("phase", json!(phase.as_str())),
            ("explanation", json!(phase.explanation())),
        ] {
            obj.insert(k.into(), val);
        }
    }
    if let Some(t) = transition {
        v["critical"] = json!({
            "sigma_b2": sigma_b2,
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

#[allow(clippy::too_many_arguments)]
fn render_sweep(
    act: &Activation,
    sigma_b2: f64,
    q0: f64,
    lo: f64,
    hi: f64,
    n: usize,
    tol: f64,
    as_json: bool,
) -> Result<String> {
    let grid: Vec<f64> = (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect();
    let results = parallel_map(&grid, |&sw| theory::mean_field_from(act, sw, sigma_b2, q0))
        .into_iter()
        .collect::<gradscope::Result<Vec<_>>>()?;
    if as_json {
        let rows: Vec<Value> = results
            .iter()
            .map(|m| {
                json!({
                    "sigma_w2": m.sigma_w2,
                    "sigma_b2": m.sigma_b2,
                    "q_star": jnum(m.q_star),
                    "fixed_point": m.fixed_point.kind.as_str(),
                    "chi1": jnum(m.chi1),
                    "depth_scale": jnum(m.depth_scale),
                    "grad_ratio_per_layer": jnum(m.grad_ratio_per_layer),
                    "phase": m.phase_with_tol(tol).as_str(),
                })
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&rows)? + "\n");
    }
    let header = [
        "sigma_w2",
        "sigma_b2",
        "q_star",
        "fixed_point",
        "chi1",
        "depth_scale",
        "grad_ratio_per_layer",
        "phase",
    ];
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|m| {
            vec![
                m.sigma_w2.to_string(),
                m.sigma_b2.to_string(),
                m.q_star.to_string(),
                m.fixed_point.kind.as_str().into(),
                m.chi1.to_string(),
                m.depth_scale.to_string(),
                m.grad_ratio_per_layer.to_string(),
                m.phase_with_tol(tol).as_str().into(),
            ]
        })
        .collect();
    Ok(csv_table(&header, &rows))
}

/// `f` over `items` on up to all cores (scoped threads; results in order).
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len())
        .max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    let mut parts: Vec<Vec<(usize, R)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    items
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, x)| (i, f(x)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a theory worker thread panicked"))
            .collect()
    });
    let mut all: Vec<(usize, R)> = parts.drain(..).flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Rows of the phase diagram's σ_b² grid (spaced quadratically: the curve is steepest near
/// σ_b² = 0, where e.g. tanh's critical σ_w² goes like 1 + c·√σ_b²).
const PLOT_ROWS: usize = 33;

fn write_phase_plot(
    path: &Path,
    act: &Activation,
    sigma_b2: f64,
    q0: f64,
    point: Option<(f64, f64, Phase, f64)>,
    range: Option<(f64, f64)>,
) -> Result<()> {
    let max_b2 = match range {
        Some((_, b)) => b,
        None => (1.25 * point.map_or(sigma_b2, |p| p.1)).max(1.0),
    };
    let rows: Vec<f64> = (0..PLOT_ROWS)
        .map(|i| max_b2 * (i as f64 / (PLOT_ROWS - 1) as f64).powi(2))
        .collect();
    let transitions = parallel_map(&rows, |&b| theory::transition(act, b, q0))
        .into_iter()
        .collect::<gradscope::Result<Vec<_>>>()
        .context("--phase-plot: the chi1 = 1 curve")?;
    let max_w2 = match range {
        Some((w, _)) => w,
        None => {
            let curve_max = transitions
                .iter()
                .flatten()
                .map(|t| t.sigma_w2)
                .fold(0.0, f64::max);
            let p = point.map_or(0.0, |p| p.0);
            (1.6 * curve_max).max(1.2 * p).clamp(1.0, MAX_VARIANCE)
        }
    };
    // A row without a transition has one phase: the phase at mid-width.
    let row_phase = parallel_map(&rows, |&b| {
        theory::mean_field_from(act, 0.5 * max_w2, b, q0).map(|m| {
            if m.chi1 < 1.0 {
                Side::Ordered
            } else {
                Side::Chaotic
            }
        })
    })
    .into_iter()
    .collect::<gradscope::Result<Vec<_>>>()?;
    let boundary = rows
        .iter()
        .zip(&transitions)
        .map(|(&b, t)| BoundaryPoint {
            sigma_b2: b,
            sigma_w2: t.map(|t| t.sigma_w2),
            continuous: t.is_none_or(|t| t.continuous),
        })
        .collect();
    let title = format!("Order-to-chaos phase diagram: {act}");
    let diagram = PhaseDiagram {
        title: &title,
        boundary,
        row_phase,
        max_sigma_w2: max_w2,
        max_sigma_b2: max_b2,
        point: point.map(|(w, b, phase, chi1)| {
            (
                (w, b),
                format!(
                    "sigma_w^2 = {}, sigma_b^2 = {}: {phase}, chi1 = {}",
                    num(w, 4),
                    num(b, 4),
                    num(chi1, 4)
                ),
            )
        }),
    };
    let svg = phase_diagram_svg(&diagram)?;
    write_atomic(path, svg.as_bytes()).with_context(|| format!("--phase-plot `{}`", path.display()))
}
