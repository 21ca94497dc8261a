//! Measurements of CPU tensors handed over without a copy (`tensor.numpy()` of a contiguous
//! float32/float64 tensor): what `gradscope.torch` records on a measured step, each in one
//! call that reads the buffer in place with the GIL released. The activation statistics are
//! the library's [`ActivationStats::measure_sampled`]: the passes gradscope's own probe
//! measures with, the quantiles and histogram of a strided sample.

use gradscope::diagnostics::{
    log_abs_histogram, norm_and_max, ActivationStats, Histogram, WeightStats,
};
use gradscope::{Activation, Float};
use numpy::PyReadonlyArrayDyn;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::activation::PyActivation;
use crate::py_err;

/// A float32 or float64 NumPy array, borrowed read-only.
enum Floats<'py> {
    F32(PyReadonlyArrayDyn<'py, f32>),
    F64(PyReadonlyArrayDyn<'py, f64>),
}

fn floats<'py>(x: &Bound<'py, PyAny>, what: &str) -> PyResult<Floats<'py>> {
    if let Ok(a) = x.extract::<PyReadonlyArrayDyn<'py, f32>>() {
        return Ok(Floats::F32(a));
    }
    if let Ok(a) = x.extract::<PyReadonlyArrayDyn<'py, f64>>() {
        return Ok(Floats::F64(a));
    }
    Err(py_err(format!(
        "`{what}` must be a float32 or float64 array"
    )))
}

/// The contiguous data of an array (an error names the argument otherwise).
fn data<'a, T: numpy::Element>(a: &'a PyReadonlyArrayDyn<'_, T>, what: &str) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| py_err(format!("`{what}` must be C-contiguous")))
}

/// The histogram as the tuple the recorder reads: (edges, counts, below, above).
type HistTuple = (Vec<f64>, Vec<u64>, u64, u64);

fn hist_tuple(h: Histogram) -> HistTuple {
    (h.edges, h.counts, h.below, h.above)
}

/// The statistics of an activation's output `a` (rows = first axis, `cols` units per row),
/// f' from `src` (z, or the output a itself when `from_output`: tanh, the sigmoid, ReLU), as
/// a dict of record fields: `act_mean`, `act_std`, `act_quantiles`, `dead_fraction`, and when
/// defined `range_end_fraction`, `mean_abs_derivative`, `mean_sq_derivative`,
/// `saturated_fraction`; `act_hist` with `bins`. Quantiles and histogram are those of a
/// strided sample of at most about `sample_limit` values
/// ([`ActivationStats::measure_sampled`]).
#[pyfunction]
#[pyo3(signature = (activation, a, cols, src=None, sample_limit=16384, bins=None))]
pub fn measure_activation<'py>(
    py: Python<'py>,
    activation: &PyActivation,
    a: &Bound<'py, PyAny>,
    cols: usize,
    src: Option<&Bound<'py, PyAny>>,
    sample_limit: usize,
    bins: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let facts = activation.facts;
    let a = floats(a, "a")?;
    let src = src.map(|s| floats(s, "src")).transpose()?;
    let nbins = bins.unwrap_or(1);
    let (s, h) = match (&a, &src) {
        (Floats::F32(a), None) => {
            let a = data(a, "a")?;
            py.detach(|| {
                ActivationStats::measure_sampled(&facts, None, a, cols, sample_limit, nbins)
            })
        }
        (Floats::F64(a), None) => {
            let a = data(a, "a")?;
            py.detach(|| {
                ActivationStats::measure_sampled(&facts, None, a, cols, sample_limit, nbins)
            })
        }
        (Floats::F32(a), Some(Floats::F32(z))) => {
            let (a, z) = (data(a, "a")?, data(z, "src")?);
            same_len(a.len(), z.len())?;
            py.detach(|| {
                ActivationStats::measure_sampled(&facts, Some(z), a, cols, sample_limit, nbins)
            })
        }
        (Floats::F64(a), Some(Floats::F64(z))) => {
            let (a, z) = (data(a, "a")?, data(z, "src")?);
            same_len(a.len(), z.len())?;
            py.detach(|| {
                ActivationStats::measure_sampled(&facts, Some(z), a, cols, sample_limit, nbins)
            })
        }
        _ => return Err(py_err("`a` and `src` must have the same dtype")),
    };
    let d = crate::activation::stats_dict(py, &s, false)?;
    if bins.is_some() {
        d.set_item("act_hist", hist_tuple(h))?;
    }
    Ok(d)
}

fn same_len(a: usize, z: usize) -> PyResult<()> {
    if a == z {
        Ok(())
    } else {
        Err(py_err(
            "`a` and `src` must have the same number of elements",
        ))
    }
}

/// ‖x‖ = √Σxᵢ² and max |xᵢ| (NaN when the sum is), accumulated in f64, in one pass.
#[pyfunction]
pub fn norm_max(py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<(f64, f64)> {
    match floats(x, "x")? {
        Floats::F32(x) => {
            let x = data(&x, "x")?;
            Ok(py.detach(|| norm_and_max(x)))
        }
        Floats::F64(x) => {
            let x = data(&x, "x")?;
            Ok(py.detach(|| norm_and_max(x)))
        }
    }
}

/// What the backward of an activation gives: (‖g‖, max |g|) of g = ∂L/∂a, and, with `src`,
/// (‖g ⊙ f'‖, max |g ⊙ f'|) of ∂L/∂z = g ⊙ f'(z) (f' from `src` as in
/// [`measure_activation`]), and with `bins` the histogram of |∂L/∂z| over `bins` log-spaced
/// bins from 10⁻¹⁴ to 10² of its strided sample (at most about `sample_limit` values).
#[pyfunction]
#[pyo3(signature = (activation, g, src=None, from_output=false, sample_limit=16384, bins=None))]
#[allow(clippy::type_complexity)]
pub fn activation_grad<'py>(
    py: Python<'py>,
    activation: &PyActivation,
    g: &Bound<'py, PyAny>,
    src: Option<&Bound<'py, PyAny>>,
    from_output: bool,
    sample_limit: usize,
    bins: Option<usize>,
) -> PyResult<((f64, f64), Option<(f64, f64)>, Option<HistTuple>)> {
    let act = activation.facts.activation;
    let g = floats(g, "g")?;
    let src = src.map(|s| floats(s, "src")).transpose()?;
    let out = match (&g, &src) {
        (Floats::F32(g), None) => {
            let g = data(g, "g")?;
            (py.detach(|| norm_and_max(g)), None)
        }
        (Floats::F64(g), None) => {
            let g = data(g, "g")?;
            (py.detach(|| norm_and_max(g)), None)
        }
        (Floats::F32(g), Some(Floats::F32(s))) => {
            let (g, s) = (data(g, "g")?, data(s, "src")?);
            same_len(g.len(), s.len())?;
            py.detach(|| through(&act, g, s, from_output, sample_limit, bins))
        }
        (Floats::F64(g), Some(Floats::F64(s))) => {
            let (g, s) = (data(g, "g")?, data(s, "src")?);
            same_len(g.len(), s.len())?;
            py.detach(|| through(&act, g, s, from_output, sample_limit, bins))
        }
        _ => return Err(py_err("`g` and `src` must have the same dtype")),
    };
    let ((gn, gm), gin) = out;
    Ok((
        (gn, gm),
        gin.as_ref().map(|(n, m, _)| (*n, *m)),
        gin.and_then(|(_, _, h)| h).map(hist_tuple),
    ))
}

type Through = ((f64, f64), Option<(f64, f64, Option<Histogram>)>);

/// [`through_with`] for activation `act`, |f'| from `src` as [`ActivationStats::measure`]
/// takes it: ReLU's 0 for src ≤ 0 else 1 (the same of z and of a = max(z, 0)); tanh's
/// 1 − a² and the sigmoid's a(1 − a) from the output when `from_output`; else the catalogue's
/// f' at z.
fn through<T: Float>(
    act: &Activation,
    g: &[T],
    src: &[T],
    from_output: bool,
    sample_limit: usize,
    bins: Option<usize>,
) -> Through {
    let stride = g.len().div_ceil(sample_limit.max(1)).max(1);
    match (act, from_output) {
        (Activation::Relu, _) => {
            through_with(g, src, stride, bins, |v| if v <= 0.0 { 0.0 } else { 1.0 })
        }
        (Activation::Tanh, true) => through_with(g, src, stride, bins, |y| (1.0 - y * y).abs()),
        (Activation::Sigmoid, true) => {
            through_with(g, src, stride, bins, |y| (y * (1.0 - y)).abs())
        }
        _ => through_with(g, src, stride, bins, |v| act.df(v).abs()),
    }
}

/// One pass over g and src (eight lanes, so the loop vectorizes): the norm and max of g and
/// of |gᵢ|·`d`(srcᵢ); the log histogram of the latter at every `stride`-th element.
#[inline(always)]
fn through_with<T: Float>(
    g: &[T],
    src: &[T],
    stride: usize,
    bins: Option<usize>,
    d: impl Fn(f64) -> f64,
) -> Through {
    let (mut sq, mut mx) = ([0.0f64; 8], [0.0f64; 8]);
    let (mut sq_in, mut mx_in) = ([0.0f64; 8], [0.0f64; 8]);
    let n = g.len().min(src.len());
    let whole = n / 8 * 8;
    for (cg, cs) in g[..whole].chunks_exact(8).zip(src[..whole].chunks_exact(8)) {
        for i in 0..8 {
            let x = cg[i].to_f64().abs();
            let y = x * d(cs[i].to_f64());
            sq[i] += x * x;
            mx[i] = if x > mx[i] { x } else { mx[i] };
            sq_in[i] += y * y;
            mx_in[i] = if y > mx_in[i] { y } else { mx_in[i] };
        }
    }
    for (i, (gv, sv)) in g[whole..n].iter().zip(&src[whole..n]).enumerate() {
        let x = gv.to_f64().abs();
        let y = x * d(sv.to_f64());
        sq[i] += x * x;
        mx[i] = if x > mx[i] { x } else { mx[i] };
        sq_in[i] += y * y;
        mx_in[i] = if y > mx_in[i] { y } else { mx_in[i] };
    }
    let finish = |sq: [f64; 8], mx: [f64; 8]| {
        let s: f64 = sq.iter().sum();
        // A NaN makes the sum NaN: report it in the max too (as `norm_and_max`).
        let m = if s.is_nan() {
            f64::NAN
        } else {
            mx.iter().copied().fold(0.0, f64::max)
        };
        (s.sqrt(), m)
    };
    let hist = bins.map(|bins| {
        let sample: Vec<f64> = g
            .iter()
            .zip(src)
            .step_by(stride)
            .map(|(gv, sv)| gv.to_f64() * d(sv.to_f64()))
            .collect();
        log_abs_histogram(&sample, -14, 2, bins)
    });
    let (n, m) = finish(sq_in, mx_in);
    (finish(sq, mx), Some((n, m, hist)))
}

/// ‖W‖, σ_w = std(W)·√fan_in and σ_b² = mean b² of a weight (σ's only with `fan_in`), as
/// the library's [`WeightStats::measure`]: `bias` of W's dtype.
#[pyfunction]
#[pyo3(signature = (w, fan_in=None, bias=None))]
pub fn measure_weight(
    py: Python<'_>,
    w: &Bound<'_, PyAny>,
    fan_in: Option<usize>,
    bias: Option<&Bound<'_, PyAny>>,
) -> PyResult<(f64, Option<f64>, Option<f64>)> {
    let bias = bias.map(|b| floats(b, "bias")).transpose()?;
    let s = match (floats(w, "w")?, &bias) {
        (Floats::F32(w), None) => {
            let w = data(&w, "w")?;
            py.detach(|| WeightStats::measure::<f32>(w, fan_in, None))
        }
        (Floats::F64(w), None) => {
            let w = data(&w, "w")?;
            py.detach(|| WeightStats::measure::<f64>(w, fan_in, None))
        }
        (Floats::F32(w), Some(Floats::F32(b))) => {
            let (w, b) = (data(&w, "w")?, data(b, "bias")?);
            py.detach(|| WeightStats::measure(w, fan_in, Some(b)))
        }
        (Floats::F64(w), Some(Floats::F64(b))) => {
            let (w, b) = (data(&w, "w")?, data(b, "bias")?);
            py.detach(|| WeightStats::measure(w, fan_in, Some(b)))
        }
        _ => return Err(py_err("`w` and `bias` must have the same dtype")),
    };
    Ok((s.norm, s.sigma_w, s.sigma_b2))
}

/// The update ratio ‖W − W₀‖/‖W₀‖ of a weight W after a step from W₀ (`before`), in f64;
/// NaN when ‖W₀‖ = 0.
#[pyfunction]
pub fn update_ratio(
    py: Python<'_>,
    before: &Bound<'_, PyAny>,
    now: &Bound<'_, PyAny>,
) -> PyResult<f64> {
    match (floats(before, "before")?, floats(now, "now")?) {
        (Floats::F32(b), Floats::F32(w)) => {
            let (b, w) = (data(&b, "before")?, data(&w, "now")?);
            same_len(b.len(), w.len())?;
            Ok(py.detach(|| ratio(b, w)))
        }
        (Floats::F64(b), Floats::F64(w)) => {
            let (b, w) = (data(&b, "before")?, data(&w, "now")?);
            same_len(b.len(), w.len())?;
            Ok(py.detach(|| ratio(b, w)))
        }
        _ => Err(py_err("`before` and `now` must have the same dtype")),
    }
}

/// √(Σ(wᵢ − bᵢ)² / Σbᵢ²), NaN when Σbᵢ² = 0; eight lanes.
fn ratio<T: Float>(before: &[T], now: &[T]) -> f64 {
    let (mut d2, mut b2) = ([0.0f64; 8], [0.0f64; 8]);
    let whole = before.len() / 8 * 8;
    for (cb, cw) in before[..whole]
        .chunks_exact(8)
        .zip(now[..whole].chunks_exact(8))
    {
        for i in 0..8 {
            let (b, w) = (cb[i].to_f64(), cw[i].to_f64());
            d2[i] += (w - b) * (w - b);
            b2[i] += b * b;
        }
    }
    for (i, (b, w)) in before[whole..].iter().zip(&now[whole..]).enumerate() {
        let (b, w) = (b.to_f64(), w.to_f64());
        d2[i] += (w - b) * (w - b);
        b2[i] += b * b;
    }
    let (d2, b2): (f64, f64) = (d2.iter().sum(), b2.iter().sum());
    if b2 > 0.0 {
        (d2 / b2).sqrt()
    } else {
        f64::NAN
    }
}
