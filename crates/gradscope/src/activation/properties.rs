//! Properties of an activation computed from f and f' — never typed in.
//!
//! f and f' are sampled (in f64) on a fine central grid (step 10⁻³ over
//! [−C, C], C = 10 + the largest |kink|), a coarser outer grid out to ±1000 and log-spaced tail
//! points out to ±10³⁰⁰; interior extrema are refined by golden-section search and saturation
//! points by bisection. Gaussian moments use [`crate::quadrature`], split at the activation's
//! kinks so that they are exact to quadrature precision.

use super::Activation;
use crate::quadrature::gaussian_expectation;

/// A sampled point: x, f(x), f'(x).
#[derive(Clone, Copy)]
struct Sample {
    x: f64,
    f: f64,
    df: f64,
}

/// The computed properties of one activation (all from its f and f').
#[derive(Clone, Debug, serde::Serialize)]
pub struct Properties {
    /// Text form of the activation (`leaky_relu(slope=0.01)`).
    pub name: String,
    /// The formula in plain text.
    pub formula: String,
    /// Output range [inf f, sup f]; `None` for an infinite end.
    pub range: [Option<f64>; 2],
    /// Whether each end of the range is attained (closed) rather than only approached.
    pub range_closed: [bool; 2],
    /// The range in interval notation, e.g. `(0, 1)` or `[0, inf)`.
    pub range_text: String,
    /// f(0).
    pub f0: f64,
    /// f'(0) (PyTorch's convention at a kink).
    pub df0: f64,
    /// [inf f', sup f'] over the real line: the seeds' "gradient range".
    pub derivative_range: [f64; 2],
    /// sup |f'(x)|.
    pub max_abs_derivative: f64,
    /// The x nearest 0 where |f'| reaches its sup (snapped to a kink it borders); `None` when
    /// the sup is only approached as x → ±∞ (log-softmax).
    pub argmax_derivative: Option<f64>,
    /// The interval on which |f'| equals its sup (a single point for smooth peaks); `None`
    /// for an infinite end.
    pub argmax_derivative_interval: [Option<f64>; 2],
    /// f is non-decreasing on the whole line (f' ≥ 0).
    pub monotonic: bool,
    /// E[f(z)] for z ~ N(0, 1), the mean output at unit-variance input: 0 for a zero-centred
    /// activation, 1/2 for the sigmoid, 1/√(2π) for ReLU. (Called `zero_centered_mean` before
    /// schema version 3.)
    #[serde(alias = "zero_centered_mean")]
    pub mean_output: f64,
    /// The |x| beyond which |f'| stays under 1% of its max on both sides; `None` if f' does
    /// not fall that low on some side (the activation does not saturate there).
    pub saturation_x: Option<f64>,
    /// The x below which |f'| stays under 1% of its max (left saturation), if any.
    pub saturates_left: Option<f64>,
    /// The x above which |f'| stays under 1% of its max (right saturation), if any.
    pub saturates_right: Option<f64>,
    /// E[f'(z)²], z ~ N(0, 1): the per-layer gradient factor at unit variance.
    pub mean_sq_derivative: f64,
    /// E[f(z)²], z ~ N(0, 1).
    pub mean_sq_output: f64,
    /// Variance-preserving init gain 1/√E[f(z)²] (√2 for ReLU).
    pub gain: f64,
    /// Softmax and log-softmax only: what they are over a row of n entries (their Jacobian);
    /// the scalar numbers above are then those of the first output of the row [x, 0].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rowwise: Option<super::RowwiseProperties>,
}

/// Share of max |f'| under which a unit counts as saturated.
pub const SATURATION_FRACTION: f64 = 0.01;

fn sample(act: &Activation) -> (Vec<Sample>, f64) {
    let kmax = act.kinks().iter().fold(0.0f64, |m, k| m.max(k.abs()));
    let c = 10.0 + kmax.ceil();
    let mut xs: Vec<f64> = Vec::new();
    let n = (c * 1000.0).round() as i64;
    for i in -n..=n {
        xs.push(i as f64 / 1000.0);
    }
    let outer = 1000.0f64.max(c * 2.0);
    let mut x = c + 0.1;
    while x <= outer {
        xs.push(x);
        xs.push(-x);
        x += 0.1;
    }
    // Log-spaced tails out to 1e300, so that slowly converging functions (softsign's 1/x
    // tail) reach their limit to f64 precision.
    for e in (4..=300).step_by(4) {
        let t = 10f64.powi(e);
        xs.push(t);
        xs.push(-t);
    }
    xs.extend(act.kinks());
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let samples = xs
        .into_iter()
        .map(|x| Sample {
            x,
            f: act.f(x),
            df: act.df(x),
        })
        .collect();
    (samples, c)
}

/// Golden-section search for an extremum of g on [a, b] (`sign` = 1 for max, −1 for min).
fn golden(g: impl Fn(f64) -> f64, mut a: f64, mut b: f64, sign: f64) -> (f64, f64) {
    let r = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - r * (b - a);
    let mut d = a + r * (b - a);
    for _ in 0..200 {
        if sign * g(c) > sign * g(d) {
            b = d;
        } else {
            a = c;
        }
        c = b - r * (b - a);
        d = a + r * (b - a);
        if (b - a).abs() < 1e-13 {
            break;
        }
    }
    let x = 0.5 * (a + b);
    (x, g(x))
}

/// The extreme value of `val` over the samples, refined inside the grid; returns
/// (value, x, attained).
fn extreme(
    act: &Activation,
    s: &[Sample],
    val: impl Fn(&Sample) -> f64,
    g: impl Fn(f64) -> f64,
    sign: f64,
    central: f64,
) -> (f64, f64, bool) {
    let mut best = 0;
    for (i, p) in s.iter().enumerate() {
        if sign * val(p) > sign * val(&s[best]) {
            best = i;
        }
    }
    let mut v = val(&s[best]);
    let mut x = s[best].x;
    let kinks = act.kinks();
    let at_kink = kinks.contains(&x);
    // Refine a smooth interior extremum: it is attained where it is found.
    let mut interior = false;
    if best > 0 && best + 1 < s.len() && !at_kink && x.abs() < central {
        interior = true;
        let (xr, vr) = golden(&g, s[best - 1].x, s[best + 1].x, sign);
        if sign * vr > sign * v {
            v = vr;
            x = xr;
        }
    }
    // Otherwise it is attained only if a central sample reaches it exactly (a plateau or a
    // corner); saturating functions get within 1e-9 of their limit at |x| = 10 but no closer.
    let tol = 1e-15 * v.abs().max(1.0);
    let attained = interior
        || s.iter()
            .filter(|p| p.x.abs() <= central)
            .any(|p| sign * (val(p) - v) >= -tol);
    (v, x, attained)
}

fn fmt_end(v: Option<f64>) -> String {
    match v {
        None => "inf".to_string(),
        Some(v) => {
            let r = (v * 1e4).round() / 1e4;
            if r == 0.0 {
                "0".to_string()
            } else {
                format!("{r}")
            }
        }
    }
}

/// The x where |f'| crosses `thr`, by bisection between `inside` (|f'| ≥ thr) and `outside`.
fn crossing(act: &Activation, mut inside: f64, mut outside: f64, thr: f64) -> f64 {
    for _ in 0..100 {
        let mid = 0.5 * (inside + outside);
        if act.df(mid).abs() >= thr {
            inside = mid;
        } else {
            outside = mid;
        }
    }
    0.5 * (inside + outside)
}

/// Computes every property of `act` from its f and f'.
///
/// ```
/// use gradscope::activation::properties;
/// use gradscope::Activation;
///
/// let p = properties(&Activation::Tanh);
/// assert_eq!(p.range, [Some(-1.0), Some(1.0)]);
/// assert!((p.max_abs_derivative - 1.0).abs() < 1e-12);
/// assert!(p.monotonic);
/// // E[f'(z)²], z ~ N(0, 1): the activation's share of the gradient factor χ₁ at q = 1.
/// assert!(p.mean_sq_derivative > 0.4 && p.mean_sq_derivative < 0.5);
/// ```
pub fn properties(act: &Activation) -> Properties {
    let (s, central) = sample(act);
    let f = |x: f64| act.f(x);
    let df_abs = |x: f64| act.df(x).abs();

    // Output range.
    let (hi, _, hi_att) = extreme(act, &s, |p| p.f, f, 1.0, central);
    let (lo, _, lo_att) = extreme(act, &s, |p| p.f, f, -1.0, central);
    let unbounded = 1e9;
    let range = [
        (lo > -unbounded).then_some(lo + 0.0),
        (hi < unbounded).then_some(hi + 0.0),
    ];
    let range_closed = [range[0].is_some() && lo_att, range[1].is_some() && hi_att];
    let range_text = format!(
        "{}{}, {}{}",
        if range_closed[0] { "[" } else { "(" },
        range[0].map_or("-inf".to_string(), |v| fmt_end(Some(v))),
        fmt_end(range[1]),
        if range_closed[1] { "]" } else { ")" },
    );

    // Derivative extremes.
    let (max_abs, argmax, max_attained) = extreme(act, &s, |p| p.df.abs(), df_abs, 1.0, central);
    let (dmin, _, _) = extreme(act, &s, |p| p.df, |x| act.df(x), -1.0, central);
    let (dmax, _, _) = extreme(act, &s, |p| p.df, |x| act.df(x), 1.0, central);
    let tol = 1e-9 * max_abs.max(1e-300);
    let on_plateau: Vec<&Sample> = s.iter().filter(|p| p.df.abs() >= max_abs - tol).collect();
    let central_plateau: Vec<&Sample> = on_plateau
        .iter()
        .copied()
        .filter(|p| p.x.abs() <= central)
        .collect();
    let snap = |x: f64| {
        act.kinks()
            .into_iter()
            .find(|k| (x - k).abs() <= 1.0e-3 + 1e-12)
            .unwrap_or(x)
    };
    let (xmin, xmax) = (s[0].x, s[s.len() - 1].x);
    let mut argmax_derivative = Some(argmax);
    let mut interval = [Some(argmax), Some(argmax)];
    if !max_attained {
        // The sup is only approached as x → ±∞.
        argmax_derivative = None;
        interval = if argmax < 0.0 {
            [None, Some(-central)]
        } else {
            [Some(central), None]
        };
    } else if central_plateau.len() > 1 {
        let first = on_plateau[0].x;
        let last = on_plateau[on_plateau.len() - 1].x;
        interval = [
            (first > xmin).then(|| snap(first)),
            (last < xmax).then(|| snap(last)),
        ];
        // The attaining point nearest 0, snapped to a kink it borders.
        let nearest = central_plateau
            .iter()
            .map(|p| p.x)
            .fold(f64::INFINITY, |b, x| if x.abs() < b.abs() { x } else { b });
        argmax_derivative = Some(snap(nearest));
    }
    // A refined peak is only accurate to ~1e-8: report it to 6 decimals.
    let argmax_derivative = argmax_derivative.map(|x| (x * 1e6).round() / 1e6 + 0.0);
    // Tail samples reach f' ~ 1e-24 where the true infimum is 0.
    let clean = |v: f64| if v.abs() < 1e-12 * max_abs { 0.0 } else { v };
    let derivative_range = [clean(dmin), clean(dmax)];

    // Saturation: where |f'| stays below 1% of its max.
    let thr = SATURATION_FRACTION * max_abs;
    let right = s.iter().rfind(|p| p.x > 0.0 && p.df.abs() >= thr);
    let saturates_right = match right {
        Some(p) if p.x >= s[s.len() - 1].x => None,
        Some(p) => {
            let next = s.iter().find(|q| q.x > p.x).map_or(p.x, |q| q.x);
            Some(crossing(act, p.x, next, thr))
        }
        None => Some(0.0),
    };
    let left = s.iter().find(|p| p.x < 0.0 && p.df.abs() >= thr);
    let saturates_left = match left {
        Some(p) if p.x <= s[0].x => None,
        Some(p) => {
            let prev = s.iter().rfind(|q| q.x < p.x).map_or(p.x, |q| q.x);
            Some(crossing(act, p.x, prev, thr))
        }
        None => Some(0.0),
    };
    let saturation_x = match (saturates_left, saturates_right) {
        (Some(l), Some(r)) => Some(l.abs().max(r.abs())),
        _ => None,
    };

    // Gaussian moments.
    let kinks = act.kinks();
    let mean = gaussian_expectation(f, &kinks);
    let mean_sq_output = gaussian_expectation(|x| f(x).powi(2), &kinks);
    let mean_sq_derivative = gaussian_expectation(|x| act.df(x).powi(2), &kinks);

    let spec = super::spec::spec_of(act);
    Properties {
        name: act.to_string(),
        formula: spec.formula.to_string(),
        range,
        range_closed,
        range_text,
        f0: act.f(0.0),
        df0: act.df(0.0),
        derivative_range,
        max_abs_derivative: max_abs,
        argmax_derivative,
        argmax_derivative_interval: interval,
        monotonic: dmin >= -1e-15,
        mean_output: mean,
        saturation_x,
        saturates_left,
        saturates_right,
        mean_sq_derivative,
        mean_sq_output,
        gain: 1.0 / mean_sq_output.sqrt(),
        rowwise: super::rowwise_properties(act),
    }
}

/// The variance-preserving init gain 1/√E[f(z)²], z ~ N(0, 1), alone (cheaper than
/// [`properties`]): √2 for ReLU, 1 for identity.
pub fn init_gain(act: &Activation) -> f64 {
    let m = gaussian_expectation(|x| act.f(x).powi(2), &act.kinks());
    1.0 / m.sqrt()
}
