//! The activation catalogue over NumPy arrays: f and f' from the library, and the statistics
//! the probe records (saturated, at range end, dead), computed by the library's own code.

use gradscope::diagnostics::{ActivationFacts, ActivationStats, WeightStats};
use gradscope::Activation;
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::py_err;

/// An activation of gradscope's catalogue, from its text form (`"tanh"`,
/// `"leaky_relu(0.01)"`, `"elu(alpha=1.0)"`).
#[pyclass(name = "Activation", module = "gradscope._gradscope", frozen)]
#[derive(Clone)]
pub struct PyActivation {
    pub(crate) facts: ActivationFacts,
}

impl PyActivation {
    pub(crate) fn parse(spec: &str) -> PyResult<Self> {
        let act: Activation = spec.parse().map_err(py_err)?;
        Ok(PyActivation {
            facts: ActivationFacts::of(act),
        })
    }
}

#[pymethods]
impl PyActivation {
    #[new]
    fn new(spec: &str) -> PyResult<Self> {
        Self::parse(spec)
    }

    /// The family name (`sigmoid`, `leaky_relu`, …).
    #[getter]
    fn name(&self) -> &'static str {
        self.facts.activation.name()
    }

    /// max |f'| over the real line.
    #[getter]
    fn max_abs_derivative(&self) -> f64 {
        self.facts.max_abs_derivative
    }

    /// The ends of f's range (None where infinite).
    #[getter]
    fn range(&self) -> (Option<f64>, Option<f64>) {
        (self.facts.range[0], self.facts.range[1])
    }

    /// A unit is saturated when |f'(z)| is below this (1% of max |f'|).
    #[getter]
    fn saturation_threshold(&self) -> f64 {
        self.facts.saturation_threshold()
    }

    /// ε of the range-end share (None when the range has no finite end).
    #[getter]
    fn range_end_epsilon(&self) -> Option<f64> {
        self.facts.range_end_epsilon()
    }

    /// True for the row-wise softmax and log-softmax (no elementwise f').
    #[getter]
    fn is_rowwise(&self) -> bool {
        self.facts.activation.is_rowwise()
    }

    /// f(x), elementwise, in float64.
    fn f<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArrayDyn<'py, f64>,
    ) -> Bound<'py, PyArrayDyn<f64>> {
        let act = self.facts.activation;
        x.as_array().mapv(|v| act.f(v)).into_pyarray(py)
    }

    /// f'(x), elementwise, in float64 (PyTorch's values at kinks).
    fn df<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArrayDyn<'py, f64>,
    ) -> Bound<'py, PyArrayDyn<f64>> {
        let act = self.facts.activation;
        x.as_array().mapv(|v| act.df(v)).into_pyarray(py)
    }

    fn __str__(&self) -> String {
        self.facts.activation.to_string()
    }

    fn __repr__(&self) -> String {
        format!("Activation('{}')", self.facts.activation)
    }
}

/// The text form of every activation of the catalogue.
#[pyfunction]
pub fn catalogue() -> Vec<String> {
    Activation::catalogue()
        .iter()
        .map(|a| a.to_string())
        .collect()
}

fn flat(x: &PyReadonlyArrayDyn<'_, f64>) -> Vec<f64> {
    x.as_array().iter().copied().collect()
}

/// The statistics of an activation layer's output `a` = f(`z`) (rows = first axis, every
/// other axis a unit) as gradscope's probe records them: a dict with `act_mean`, `act_std`,
/// `act_quantiles`, `range_end_fraction`, `mean_abs_derivative`, `mean_sq_derivative`,
/// `saturated_fraction`, `dead_fraction`.
#[pyfunction]
#[pyo3(signature = (activation, z, a))]
pub fn activation_stats<'py>(
    py: Python<'py>,
    activation: &str,
    z: Option<PyReadonlyArrayDyn<'py, f64>>,
    a: PyReadonlyArrayDyn<'py, f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let act = PyActivation::parse(activation)?;
    let shape = a.as_array().shape().to_vec();
    let cols = if shape.is_empty() {
        1
    } else {
        shape[1..].iter().product::<usize>()
    };
    let av = flat(&a);
    let zv = z.as_ref().map(flat);
    if zv.as_ref().is_some_and(|z| z.len() != av.len()) {
        return Err(py_err("z and a must have the same number of elements"));
    }
    let s = ActivationStats::measure(&act.facts, zv.as_deref(), &av, cols);
    stats_dict(py, &s, true)
}

/// The statistics as a dict with the record's field names; an optional field that is None
/// is set to None (`keep_none`) or left out.
pub(crate) fn stats_dict<'py>(
    py: Python<'py>,
    s: &ActivationStats,
    keep_none: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("act_mean", s.mean)?;
    d.set_item("act_std", s.std)?;
    d.set_item(
        "act_quantiles",
        s.quantiles.map(|q| (q.p02, q.p25, q.p50, q.p75, q.p98)),
    )?;
    d.set_item("dead_fraction", s.dead_fraction)?;
    let optional = [
        ("range_end_fraction", s.range_end_fraction),
        ("mean_abs_derivative", s.mean_abs_derivative),
        ("mean_sq_derivative", s.mean_sq_derivative),
        ("saturated_fraction", s.saturated_fraction),
    ];
    for (k, v) in optional {
        if keep_none || v.is_some() {
            d.set_item(k, v)?;
        }
    }
    Ok(d)
}

/// ‖W‖, σ_w = std(W)·√fan_in and σ_b² = mean b² of a weight, as the probe records them: a
/// dict with `weight_norm`, `sigma_w`, `sigma_b2` (None without `fan_in`).
#[pyfunction]
#[pyo3(signature = (w, fan_in=None, bias=None))]
pub fn weight_stats<'py>(
    py: Python<'py>,
    w: PyReadonlyArrayDyn<'py, f64>,
    fan_in: Option<usize>,
    bias: Option<PyReadonlyArrayDyn<'py, f64>>,
) -> PyResult<Bound<'py, PyDict>> {
    let b = bias.as_ref().map(flat);
    let s = WeightStats::measure(&flat(&w), fan_in, b.as_deref());
    let d = PyDict::new(py);
    d.set_item("weight_norm", s.norm)?;
    d.set_item("sigma_w", s.sigma_w)?;
    d.set_item("sigma_b2", s.sigma_b2)?;
    Ok(d)
}
