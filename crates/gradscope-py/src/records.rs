//! Ingestion: per-module measurements (one dict per module, its keys the fields of
//! [`LayerRecord`]) become typed [`StepRecord`]s; [`Recorder::diagnosis`] judges them.

use gradscope::diagnostics::recurrent::RecurrentRecord;
use gradscope::diagnostics::{
    number_depths, write_diagnosis_dir, Diagnosis, DiagnosticsConfig, Histogram, LayerRecord,
    Quantiles, StepRecord,
};
use gradscope::layer::LayerKind;
use gradscope::train::LossPoint;
use gradscope::Activation;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::diagnosis::PyDiagnosis;
use crate::py_err;

/// Collects the records of a run measured outside gradscope and judges them.
#[pyclass(module = "gradscope._gradscope")]
pub struct Recorder {
    config: DiagnosticsConfig,
    records: Vec<StepRecord>,
    losses: Vec<LossPoint>,
    steps: u64,
    elapsed_s: f64,
}

fn histogram(v: &Bound<'_, PyAny>) -> PyResult<Histogram> {
    let (edges, counts, below, above): (Vec<f64>, Vec<u64>, u64, u64) = v.extract()?;
    if edges.len() != counts.len() + 1 {
        return Err(py_err("a histogram needs one more edge than counts"));
    }
    Ok(Histogram {
        edges,
        counts,
        below,
        above,
    })
}

/// One module's measurements as a typed record; unknown keys are an error (a typo would
/// otherwise drop a measurement silently).
fn layer_record(d: &Bound<'_, PyDict>) -> PyResult<LayerRecord> {
    let get = |k: &str| d.get_item(k);
    let kind: LayerKind = match get("kind")? {
        Some(k) => k.extract::<String>()?.parse().map_err(py_err)?,
        None => return Err(py_err("a layer record needs `kind`")),
    };
    let path: String = get("path")?
        .map(|p| p.extract())
        .transpose()?
        .unwrap_or_default();
    let name: String = get("name")?
        .map(|p| p.extract())
        .transpose()?
        .unwrap_or_else(|| kind.name().to_string());
    let mut r = LayerRecord::new(0, path, kind, name);
    for (k, v) in d.iter() {
        let key: String = k.extract()?;
        let f = || -> PyResult<Option<f64>> { v.extract() };
        let at = |e: PyErr| {
            let msg = Python::attach(|py| e.value(py).to_string());
            py_err(format!("layer `{}`, field `{key}`: {msg}", r.path))
        };
        match key.as_str() {
            "kind" | "path" | "name" => {}
            "activation" => {
                let spec: Option<String> = v.extract().map_err(at)?;
                r.activation = spec
                    .map(|s| s.parse::<Activation>())
                    .transpose()
                    .map_err(|e| at(py_err(e)))?;
            }
            "grad_in_norm" => r.grad_in_norm = f().map_err(at)?,
            "grad_in_max" => r.grad_in_max = f().map_err(at)?,
            "grad_out_norm" => r.grad_out_norm = v.extract().map_err(at)?,
            "grad_out_max" => r.grad_out_max = v.extract().map_err(at)?,
            "weight_norm" => r.weight_norm = f().map_err(at)?,
            "weight_grad_norm" => r.weight_grad_norm = f().map_err(at)?,
            "weight_grad_max" => r.weight_grad_max = f().map_err(at)?,
            "update_ratio" => r.update_ratio = f().map_err(at)?,
            "sigma_w" => r.sigma_w = f().map_err(at)?,
            "sigma_b2" => r.sigma_b2 = f().map_err(at)?,
            "act_mean" => r.act_mean = f().map_err(at)?,
            "act_std" => r.act_std = f().map_err(at)?,
            "range_end_fraction" => r.range_end_fraction = f().map_err(at)?,
            "mean_abs_derivative" => r.mean_abs_derivative = f().map_err(at)?,
            "mean_sq_derivative" => r.mean_sq_derivative = f().map_err(at)?,
            "saturated_fraction" => r.saturated_fraction = f().map_err(at)?,
            "dead_fraction" => r.dead_fraction = f().map_err(at)?,
            "act_quantiles" => {
                let q: Option<(f64, f64, f64, f64, f64)> = v.extract().map_err(at)?;
                r.act_quantiles = q.map(|(p02, p25, p50, p75, p98)| Quantiles {
                    p02,
                    p25,
                    p50,
                    p75,
                    p98,
                });
            }
            "grad_hist" if v.is_none() => r.grad_hist = None,
            "grad_hist" => r.grad_hist = Some(histogram(&v).map_err(at)?),
            "act_hist" if v.is_none() => r.act_hist = None,
            "act_hist" => r.act_hist = Some(histogram(&v).map_err(at)?),
            _ => return Err(at(py_err("unknown field"))),
        }
    }
    Ok(r)
}

/// Keys of `given` that the typed value dropped: not a field of the record (a typo), unless
/// null, false or empty (a field left at its default). Fields are compared one level deep
/// and inside each element of `layers`.
fn dropped_keys(given: &serde_json::Value, kept: &serde_json::Value, at: &str) -> Vec<String> {
    let (Some(g), Some(k)) = (given.as_object(), kept.as_object()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, v) in g {
        let empty = v.is_null()
            || v == &serde_json::Value::Bool(false)
            || v.as_array().is_some_and(|a| a.is_empty());
        match k.get(key) {
            None if !empty => out.push(format!("{at}{key}")),
            Some(kv) if key == "layers" => {
                if let (Some(ga), Some(ka)) = (v.as_array(), kv.as_array()) {
                    for (i, (gl, kl)) in ga.iter().zip(ka).enumerate() {
                        out.extend(dropped_keys(gl, kl, &format!("layers[{i}].")));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// One recurrent module's through-time record (a dict, or its JSON text, with the fields of
/// the library's [`RecurrentRecord`]; a non-finite number as None, read as NaN); a missing or
/// mistyped field, or an unknown one, is an error naming it.
fn recurrent_record(v: &Bound<'_, PyAny>, i: usize) -> PyResult<RecurrentRecord> {
    let at = |e: &dyn std::fmt::Display| py_err(format!("recurrent record {i}: {e}"));
    let text: String = match v.extract::<String>() {
        Ok(s) => s,
        Err(_) => {
            // JSON has no NaN: a non-finite number must come as None (read back as NaN).
            let kwargs = PyDict::new(v.py());
            kwargs.set_item("allow_nan", false)?;
            v.py()
                .import("json")?
                .call_method("dumps", (v,), Some(&kwargs))
                .map_err(|e| {
                    at(&format!(
                        "{} (give a non-finite number as None: it is read as NaN)",
                        Python::attach(|py| e.value(py).to_string())
                    ))
                })?
                .extract()?
        }
    };
    let given: serde_json::Value = serde_json::from_str(&text).map_err(|e| at(&e))?;
    let rec: RecurrentRecord = serde_json::from_value(given.clone()).map_err(|e| at(&e))?;
    let kept = serde_json::to_value(&rec).map_err(|e| at(&e))?;
    let unknown = dropped_keys(&given, &kept, "");
    if !unknown.is_empty() {
        return Err(at(&format!("unknown field(s) {}", unknown.join(", "))));
    }
    Ok(rec)
}

#[pymethods]
impl Recorder {
    /// A recorder measuring every `every` steps (recorded in the diagnosis), with
    /// gradscope's default thresholds.
    #[new]
    #[pyo3(signature = (every=10))]
    fn new(every: u64) -> PyResult<Self> {
        if every == 0 {
            return Err(py_err("every must be >= 1"));
        }
        Ok(Recorder {
            config: DiagnosticsConfig {
                every,
                ..DiagnosticsConfig::default()
            },
            records: Vec::new(),
            losses: Vec::new(),
            steps: 0,
            elapsed_s: 0.0,
        })
    }

    /// Adds the record of a measured step: `layers` is one dict per module in forward
    /// order (keys: the fields of a layer record; `kind` one of `linear`, `activation`,
    /// `batchnorm1d`, `layernorm`, `dropout`, `residual`, `recurrent`; `activation` a
    /// catalogue text form). Hidden activation layers are numbered here. `recurrent`: one
    /// through-time record per recurrent module (a dict or JSON text with the fields of the
    /// library's `RecurrentRecord`: ‖∂L/∂h_t‖ per step, gates, spectrum, … — what
    /// `gradscope.torch.watch(model, unroll_recurrent=True)` measures).
    #[pyo3(signature = (step, loss, grad_norm, layers, batch_size=None, input_q0=None, recurrent=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_step(
        &mut self,
        step: u64,
        loss: f64,
        grad_norm: f64,
        layers: Vec<Bound<'_, PyDict>>,
        batch_size: Option<usize>,
        input_q0: Option<f64>,
        recurrent: Option<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<()> {
        let mut recs = layers
            .iter()
            .map(layer_record)
            .collect::<PyResult<Vec<_>>>()?;
        number_depths(&mut recs);
        let mut r = StepRecord::new(step, loss, grad_norm, recs);
        r.batch_size = batch_size;
        r.input_q0 = input_q0;
        r.recurrent = recurrent
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, v)| recurrent_record(v, i))
            .collect::<PyResult<Vec<_>>>()?;
        self.records.push(r);
        self.steps = self.steps.max(step);
        Ok(())
    }

    /// Records the batch loss of a step (every step, measured or not).
    fn add_loss(&mut self, step: u64, loss: f64) {
        self.losses.push(LossPoint { step, loss });
        self.steps = self.steps.max(step);
    }

    /// Adds wall time (seconds) to the run's total.
    fn add_time(&mut self, seconds: f64) {
        self.elapsed_s += seconds;
    }

    /// Sets the update ratio ‖ΔW‖/‖W‖ of layer `index` of the last record (measured after
    /// the optimizer step).
    fn set_update_ratio(&mut self, index: usize, ratio: f64) -> PyResult<()> {
        let rec = self
            .records
            .last_mut()
            .and_then(|r| r.layers.get_mut(index))
            .ok_or_else(|| py_err(format!("no layer {index} in the last record")))?;
        rec.update_ratio = Some(ratio);
        Ok(())
    }

    /// Adds the records of `diagnostics.jsonl` text (from `gradscope diagnose`, `gradscope
    /// grads --records` or `records_jsonl`).
    fn add_jsonl(&mut self, text: &str) -> PyResult<()> {
        let recs =
            gradscope::diagnostics::external::parse_diagnostics_jsonl(text, "diagnostics.jsonl")
                .map_err(py_err)?;
        for r in recs {
            self.steps = self.steps.max(r.step);
            self.records.push(r);
        }
        Ok(())
    }

    /// Steps measured so far.
    fn __len__(&self) -> usize {
        self.records.len()
    }

    /// The records as `diagnostics.jsonl` text (one JSON line per measured step).
    fn records_jsonl(&self) -> PyResult<String> {
        gradscope::diagnostics::external::diagnostics_jsonl(&self.records).map_err(py_err)
    }

    /// Judges the records: the library's `Diagnosis`.
    #[pyo3(signature = (source="pytorch model"))]
    fn diagnosis(&self, source: &str) -> PyResult<PyDiagnosis> {
        let d = Diagnosis::from_records(
            source,
            &self.config,
            &self.records,
            self.steps,
            self.losses.clone(),
            self.elapsed_s,
        )
        .map_err(py_err)?;
        Ok(PyDiagnosis::new(d, self.config.thresholds.clone()))
    }

    /// Writes `diagnostics.jsonl`, `diagnosis.json` and a compact `report.html` into `dir`
    /// (created if missing); returns the diagnosis.
    #[pyo3(signature = (dir, source="pytorch model"))]
    fn write(&self, dir: std::path::PathBuf, source: &str) -> PyResult<PyDiagnosis> {
        let d = self.diagnosis(source)?;
        write_diagnosis_dir(&dir, &self.records, &d.inner).map_err(py_err)?;
        d.write_html(&dir.join("report.html"))?;
        Ok(d)
    }
}
