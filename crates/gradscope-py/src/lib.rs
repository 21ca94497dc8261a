//! `gradscope._gradscope`: the Python bindings of the gradscope library. The Python package
//! (`python/gradscope`) wraps them; the PyTorch adapter (`gradscope.torch`) measures a model
//! with hooks and hands typed per-module records to [`Recorder`], which judges them with the
//! library's verdict engine ([`gradscope::diagnostics::Diagnosis::from_records`]).
//!
//! Files: `activation.rs` (the catalogue over NumPy arrays), `measure.rs` (the adapter's
//! measurements of CPU tensors, zero-copy), `records.rs` (ingestion of per-module
//! measurements), `diagnosis.rs` (the `Diagnosis` class), `html.rs` (its compact
//! HTML).

mod activation;
mod diagnosis;
mod html;
mod measure;
mod records;

use pyo3::prelude::*;

/// A library error as a Python `ValueError`.
pub(crate) fn py_err(e: impl std::fmt::Display) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(e.to_string())
}

#[pymodule]
fn _gradscope(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<activation::PyActivation>()?;
    m.add_function(wrap_pyfunction!(activation::catalogue, m)?)?;
    m.add_function(wrap_pyfunction!(activation::activation_stats, m)?)?;
    m.add_function(wrap_pyfunction!(activation::weight_stats, m)?)?;
    m.add_function(wrap_pyfunction!(measure::measure_activation, m)?)?;
    m.add_function(wrap_pyfunction!(measure::activation_grad, m)?)?;
    m.add_function(wrap_pyfunction!(measure::norm_max, m)?)?;
    m.add_function(wrap_pyfunction!(measure::measure_weight, m)?)?;
    m.add_function(wrap_pyfunction!(measure::update_ratio, m)?)?;
    m.add_class::<records::Recorder>()?;
    m.add_class::<diagnosis::PyDiagnosis>()?;
    m.add_function(wrap_pyfunction!(diagnosis::read_dir, m)?)?;
    Ok(())
}
