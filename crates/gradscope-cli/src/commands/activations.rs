//! `gradscope activations`: the catalogue's computed properties, plots and point evaluation.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use gradscope::activation::{properties, spec, ActivationFn, Properties};
use gradscope::{Activation, DType, Float, Rng, Tensor};

use crate::chart::frame::Scale;
use crate::chart::{Dash, LineChart, Series};
use crate::output::parse_numbers;
use crate::output::{csv_table, write_atomic};
use crate::render::markdown::Markdown;
use crate::render::text::Text;
use crate::render::{Document, Exporter};
use crate::views;

/// Output format of the properties table.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// Aligned plain-text table.
    Table,
    /// GitHub-flavoured Markdown table.
    Markdown,
    /// CSV with one column per property (full precision; `inf`/`-inf` for infinite ends).
    Csv,
    /// JSON array of objects (null for an infinite range end or no saturation).
    Json,
}

/// Arguments of `gradscope activations`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// Only these activations: comma-separated text forms, e.g.
    /// `sigmoid,leaky_relu(0.2),improved_sigmoid(alpha=3, beta=0.05)`.
    #[arg(long, value_name = "NAME,...")]
    only: Option<String>,

    /// Output format of the properties table.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,

    /// Also write SVG plots of f and f' (one per activation, plus comparison figures such as
    /// sigmoid vs improved sigmoid on [-10, 10]) into this directory.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,

    /// x interval of the per-activation plots, as `LO,HI`.
    #[arg(
        long,
        value_name = "LO,HI",
        default_value = "-6,6",
        allow_hyphen_values = true
    )]
    plot_range: String,

    /// Instead of the table, print f and f' of this activation at the points of `--x` as
    /// JSON. For softmax and log-softmax the points form one row: prints the row's output and
    /// its Jacobian.
    #[arg(long, value_name = "NAME", requires = "x")]
    eval: Option<String>,

    /// Points for `--eval`, comma-separated, e.g. `--x=-2,0,2.5`.
    #[arg(
        long,
        value_name = "V1,V2,...",
        allow_hyphen_values = true,
        requires = "eval"
    )]
    x: Option<String>,

    /// Precision of `--eval`.
    #[arg(long, value_name = "DTYPE", default_value = "f64")]
    dtype: String,
}

const AFTER_HELP: &str = "\
Every number is computed from the activation's f and exact f' (sampled on a fine grid with
refinement; Gaussian moments by quadrature split at kinks), never typed in.

Columns: range (round bracket = approached, square = attained), f(0), f'(0), max |f'| and
where, the range of f', monotonic, E[f(z)] for z ~ N(0,1) (0 = zero-centred), saturation
|x| (beyond which |f'| < 1% of its max on both sides; `-` = does not saturate),
E[f'(z)^2] (gradient factor per layer at unit variance) and the variance-preserving init
gain 1/sqrt(E[f(z)^2]) (sqrt 2 for ReLU).

Examples:
  gradscope activations
  gradscope activations --only sigmoid,tanh,relu --format json
  gradscope activations --format csv > activations.csv
  gradscope activations --plot plots/
  gradscope activations --eval 'improved_sigmoid(alpha=2, beta=0.1)' --x=-10,0,10";

/// Splits `a,b(c, d),e` at the commas outside parentheses.
fn split_top_level(list: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0i32);
    for ch in list.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_activation(text: &str) -> Result<Activation> {
    text.parse::<Activation>()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    let dtype: DType = args
        .dtype
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--dtype: {e}"))?;
    if let (Some(name), Some(xs)) = (&args.eval, &args.x) {
        let act = parse_activation(name).context("--eval")?;
        let xs = parse_numbers("--x", xs)?;
        if dtype == DType::F32 {
            if let Some(x) = xs.iter().find(|x| !(**x as f32).is_finite()) {
                bail!("--x: {x} is outside the f32 range (use --dtype f64)");
            }
        }
        let json = match dtype {
            DType::F32 => eval_json::<f32>(act, &xs),
            DType::F64 => eval_json::<f64>(act, &xs),
        };
        crate::outln!("{}", serde_json::to_string_pretty(&json)?)?;
        return Ok(());
    }
    let acts = match &args.only {
        Some(list) => {
            let names = split_top_level(list);
            if names.is_empty() {
                bail!(
                    "--only: empty list; valid activations: {}",
                    spec::valid_names()
                );
            }
            names
                .iter()
                .map(|n| parse_activation(n).context("--only"))
                .collect::<Result<Vec<_>>>()?
        }
        None => Activation::catalogue(),
    };
    let props: Vec<Properties> = acts.iter().map(properties).collect();
    if let Some(dir) = &args.plot {
        let range = parse_numbers("--plot-range", &args.plot_range)?;
        let [lo, hi] = range[..] else {
            bail!(
                "--plot-range: expected two numbers LO,HI, got {}",
                range.len()
            );
        };
        if lo >= hi {
            bail!("--plot-range: LO = {lo} must be below HI = {hi}");
        }
        if lo.abs().max(hi.abs()) > 1e100 {
            bail!("--plot-range: |LO| and |HI| must be at most 1e100 (got {lo},{hi})");
        }
        let written = write_plots(dir, &acts, lo, hi)?;
        crate::errln!("wrote {} SVG plots to {}", written, dir.display());
    }
    crate::output::emit(&render(&props, args.format)?)?;
    Ok(())
}

fn eval_json<T: Float>(act: Activation, xs: &[f64]) -> serde_json::Value {
    let dtype = T::DTYPE.name();
    if act.is_rowwise() {
        let n = xs.len();
        let z = Tensor::<T>::from_f64_slice(&[1, n], xs).expect("row of n values");
        let mut f = ActivationFn::<T>::new(act);
        let mut a = Tensor::default();
        f.forward(&z, &mut a, &mut Rng::seed(0));
        // Row i of the Jacobian J_ij = ∂y_i/∂x_j is the backward of the unit vector e_i.
        let mut jac = vec![vec![0.0; n]; n];
        let mut gz = Tensor::default();
        for (i, jac_row) in jac.iter_mut().enumerate() {
            let mut e = Tensor::<T>::zeros(&[1, n]);
            e.data_mut()[i] = T::ONE;
            f.backward(&z, &a, &e, &mut gz);
            for (j, v) in gz.data().iter().enumerate() {
                jac_row[j] = v.to_f64();
            }
        }
        serde_json::json!({
            "schema_version": gradscope::io::SCHEMA_VERSION,
            "activation": act.to_string(),
            "dtype": dtype,
            "x": xs,
            "f": a.to_f64_vec(),
            "jacobian": jac,
        })
    } else {
        let f: Vec<f64> = xs.iter().map(|&x| act.f(T::from_f64(x)).to_f64()).collect();
        let df: Vec<f64> = xs
            .iter()
            .map(|&x| act.df(T::from_f64(x)).to_f64())
            .collect();
        serde_json::json!({
            "schema_version": gradscope::io::SCHEMA_VERSION,
            "activation": act.to_string(),
            "dtype": dtype,
            "x": xs,
            "f": f,
            "df": df,
        })
    }
}

fn render(props: &[Properties], format: Format) -> Result<String> {
    let doc = || {
        let mut d = Document::default();
        d.table(views::activations::properties_table(props));
        d
    };
    Ok(match format {
        Format::Table => Text::terminal().export(&doc()),
        Format::Markdown => Markdown.export(&doc()),
        Format::Json => {
            let doc = serde_json::json!({
                "schema_version": gradscope::io::SCHEMA_VERSION,
                "activations": props,
            });
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        Format::Csv => {
            let end = |v: Option<f64>, inf: &str| v.map_or(inf.to_string(), |v| v.to_string());
            let o = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
            let header = [
                "name",
                "formula",
                "range_lo",
                "range_hi",
                "range_text",
                "f0",
                "df0",
                "derivative_min",
                "derivative_max",
                "max_abs_derivative",
                "argmax_derivative",
                "monotonic",
                "mean_output",
                "saturation_x",
                "saturates_left",
                "saturates_right",
                "mean_sq_derivative",
                "mean_sq_output",
                "gain",
            ];
            let rows: Vec<Vec<String>> = props
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        p.formula.clone(),
                        end(p.range[0], "-inf"),
                        end(p.range[1], "inf"),
                        p.range_text.clone(),
                        p.f0.to_string(),
                        p.df0.to_string(),
                        p.derivative_range[0].to_string(),
                        p.derivative_range[1].to_string(),
                        p.max_abs_derivative.to_string(),
                        o(p.argmax_derivative),
                        p.monotonic.to_string(),
                        p.mean_output.to_string(),
                        o(p.saturation_x),
                        o(p.saturates_left),
                        o(p.saturates_right),
                        p.mean_sq_derivative.to_string(),
                        p.mean_sq_output.to_string(),
                        p.gain.to_string(),
                    ]
                })
                .collect();
            csv_table(&header, &rows)
        }
    })
}

/// A file name for an activation: its base name when its parameters are the defaults,
/// otherwise its text form with unsafe characters replaced.
fn file_stem(act: &Activation) -> String {
    let default = spec::spec_of(act).default;
    if *act == default {
        return act.name().to_string();
    }
    act.to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._=-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_end_matches('_')
        .to_string()
}

fn curve(act: &Activation, lo: f64, hi: f64, deriv: bool) -> Vec<(f64, f64)> {
    let n = 600;
    (0..=n)
        .map(|i| {
            let x = lo + (hi - lo) * i as f64 / n as f64;
            (x, if deriv { act.df(x) } else { act.f(x) })
        })
        .collect()
}

/// An activation plot: x against the series' values, with the axes through the origin.
fn plot<'a>(title: &'a str, y_label: &'a str, series: Vec<Series>) -> LineChart<'a> {
    LineChart {
        title,
        x_label: "x",
        y_label,
        x_name: "x",
        y_name: y_label,
        series,
        y_scale: Scale::Linear,
        y_range: None,
        size: (800, 500),
    }
}

fn write_svg(dir: &Path, stem: &str, chart: &LineChart<'_>) -> Result<()> {
    let svg = chart.render_with_origin()?;
    write_atomic(&dir.join(format!("{stem}.svg")), svg.as_bytes())
}

fn write_plots(dir: &Path, acts: &[Activation], lo: f64, hi: f64) -> Result<usize> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--plot: cannot create directory `{}`", dir.display()))?;
    let mut n = 0;
    for act in acts {
        let name = act.to_string();
        let title = if act.is_rowwise() {
            format!("{name}: first output for the row [x, 0]")
        } else {
            name.clone()
        };
        let chart = plot(
            &title,
            "value",
            vec![
                Series::new("f(x)", curve(act, lo, hi, false), 0),
                Series::new("f'(x)", curve(act, lo, hi, true), 1).dash(Dash::Dashed),
            ],
        );
        write_svg(dir, &file_stem(act), &chart)?;
        n += 1;
    }
    // Comparison figures, as in the seeds.
    let improved = Activation::ImprovedSigmoid {
        alpha: 2.0,
        beta: 0.1,
    };
    /// (file stem, title, plot f' instead of f, activations, x range)
    type Comparison = (&'static str, &'static str, bool, Vec<Activation>, f64, f64);
    let comparisons: [Comparison; 4] = [
        (
            "sigmoid_vs_improved_sigmoid",
            "Improved sigmoid vs sigmoid",
            false,
            vec![Activation::Sigmoid, improved],
            -10.0,
            10.0,
        ),
        (
            "sigmoid_vs_improved_sigmoid_derivative",
            "Derivatives: improved sigmoid vs sigmoid",
            true,
            vec![Activation::Sigmoid, improved],
            -10.0,
            10.0,
        ),
        (
            "derivatives",
            "f'(x): saturating vs rectifying activations",
            true,
            vec![
                Activation::Sigmoid,
                Activation::Tanh,
                Activation::Relu,
                Activation::Elu { alpha: 1.0 },
                Activation::Swish { beta: 1.0 },
                Activation::Gelu,
            ],
            -6.0,
            6.0,
        ),
        (
            "relu_family",
            "The ReLU family",
            false,
            vec![
                Activation::Relu,
                Activation::LeakyRelu { slope: 0.1 },
                Activation::Elu { alpha: 1.0 },
                Activation::Selu,
                Activation::Gelu,
                Activation::Swish { beta: 1.0 },
            ],
            -4.0,
            3.0,
        ),
    ];
    for (stem, title, deriv, set, clo, chi) in comparisons {
        let series = set
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let s = Series::new(a.to_string(), curve(a, clo, chi, deriv), i);
                if i == 0 && set.len() == 2 {
                    s.dash(Dash::Dashed)
                } else {
                    s
                }
            })
            .collect();
        let chart = plot(title, if deriv { "f'(x)" } else { "f(x)" }, series);
        write_svg(dir, stem, &chart)?;
        n += 1;
    }
    Ok(n)
}
