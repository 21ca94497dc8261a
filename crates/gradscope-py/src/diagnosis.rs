//! The `Diagnosis` class: the library's [`Diagnosis`] with its words
//! ([`explain::summary`]), JSON and compact HTML.

use std::path::Path;

use gradscope::diagnostics::{explain, read_diagnosis_dir, Diagnosis, Thresholds};
use pyo3::prelude::*;

use crate::py_err;

/// A diagnosis: the verdict (`vanishing`, `exploding`, `healthy`), its explanation with the
/// measured numbers, the remedies, the per-layer table and the mean-field prediction.
#[pyclass(name = "Diagnosis", module = "gradscope._gradscope", frozen)]
pub struct PyDiagnosis {
    pub(crate) inner: Diagnosis,
    thresholds: Thresholds,
}

impl PyDiagnosis {
    pub(crate) fn new(inner: Diagnosis, thresholds: Thresholds) -> Self {
        PyDiagnosis { inner, thresholds }
    }

    pub(crate) fn write_html(&self, path: &Path) -> PyResult<()> {
        let html = crate::html::page(&self.inner, &self.thresholds);
        gradscope::io::write_atomic(path, html.as_bytes()).map_err(py_err)
    }
}

#[pymethods]
impl PyDiagnosis {
    /// `vanishing`, `exploding` or `healthy`.
    #[getter]
    fn verdict(&self) -> &'static str {
        self.inner.verdict.flow.name()
    }

    /// The problems found: `saturation`, `dead units`.
    #[getter]
    fn problems(&self) -> Vec<&'static str> {
        self.inner
            .verdict
            .problems
            .iter()
            .map(|p| p.name())
            .collect()
    }

    /// The remedies, most promising first (sentences with the numbers).
    #[getter]
    fn remedies(&self) -> Vec<String> {
        self.inner
            .verdict
            .remedies
            .iter()
            .map(|r| r.text.clone())
            .collect()
    }

    /// The same remedies in PyTorch's terms: the module, `nn.init` call or optimizer
    /// argument that applies each.
    #[getter]
    fn remedies_pytorch(&self) -> Vec<String> {
        self.inner
            .verdict
            .remedies
            .iter()
            .map(|r| explain::pytorch_text(&r.remedy))
            .collect()
    }

    /// ‖δ_1‖/‖δ_L‖, geometric mean over the measured steps.
    #[getter]
    fn first_to_last(&self) -> f64 {
        self.inner.verdict.first_to_last
    }

    /// The factor by which ‖δ‖ changes per layer towards the input.
    #[getter]
    fn per_layer_factor(&self) -> f64 {
        self.inner.verdict.per_layer_factor
    }

    /// The headline: the numbers behind the verdict in one line.
    #[getter]
    fn headline(&self) -> String {
        explain::summary(&self.inner, &self.thresholds).headline
    }

    /// The steps measured.
    #[getter]
    fn measured_steps(&self) -> Vec<u64> {
        self.inner.measured_steps.clone()
    }

    /// The mean-field prediction against the measurement, in one sentence (or why none).
    #[getter]
    fn theory(&self) -> String {
        self.inner.theory_summary.clone()
    }

    /// The verdict, explanation, remedies and theory as text.
    fn explain(&self) -> String {
        let s = explain::summary(&self.inner, &self.thresholds);
        let mut out = format!("Verdict: {} — {}\n", s.flow, s.headline);
        if let Some(o) = s.outcome {
            out.push_str(&format!("\n{o}\n"));
        }
        for p in s.paragraphs {
            out.push_str(&format!("\n{p}\n"));
        }
        if !s.remedies.is_empty() {
            out.push_str("\nRemedies:\n");
            for (i, (r, t)) in s.remedies.iter().zip(&s.remedies_pytorch).enumerate() {
                out.push_str(&format!("  {}. {r}\n     → {t}.\n", i + 1));
            }
        }
        if let Some(t) = s.theory {
            out.push_str(&format!("\nTheory: {t}\n"));
        }
        out
    }

    fn __str__(&self) -> String {
        self.explain()
    }

    fn __repr__(&self) -> String {
        let v = &self.inner.verdict;
        let steps = self.inner.measured_steps.len();
        // A recurrent model without a hidden stack is judged through time only: no
        // per-layer factor to show.
        if !v.recurrent.is_empty() && v.layers.len() < 2 {
            return format!(
                "<gradscope.Diagnosis {} (through time) over {steps} measured steps>",
                self.verdict()
            );
        }
        format!(
            "<gradscope.Diagnosis {}: ×{:.3} per layer over {steps} measured steps>",
            self.verdict(),
            v.per_layer_factor,
        )
    }

    /// `diagnosis.json` (pretty JSON).
    fn to_json(&self) -> PyResult<String> {
        gradscope::diagnostics::external::diagnosis_json(&self.inner).map_err(py_err)
    }

    /// A self-contained HTML page of the diagnosis, written to `path`.
    fn to_html(&self, path: std::path::PathBuf) -> PyResult<()> {
        self.write_html(&path)
    }

    /// The diagnosis as an HTML fragment (Jupyter renders it inline).
    fn _repr_html_(&self) -> String {
        crate::html::fragment(&self.inner, &self.thresholds)
    }
}

/// Reads a diagnosis directory (`diagnosis.json` and `diagnostics.jsonl`, from
/// `gradscope diagnose` or `scope.write`): its diagnosis and the number of records.
#[pyfunction]
pub fn read_dir(dir: std::path::PathBuf) -> PyResult<(PyDiagnosis, usize)> {
    let (d, records) = read_diagnosis_dir(&dir).map_err(py_err)?;
    Ok((PyDiagnosis::new(d, Thresholds::default()), records.len()))
}
