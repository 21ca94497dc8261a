//! Checkpoints: one safetensors file holding the model's state dict (`model.*`), the
//! optimizer's buffers (`optim.*`) and, as metadata, everything else a bit-identical resume
//! needs (counters, generator states, schedule, epoch accumulators, the config).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use super::limits::RUN_ID_KEY;
use super::{EpochAccum, Trainer};
use crate::config::LoadedConfig;
use crate::error::{Error, Result};
use crate::float::Float;
use crate::io::safetensors;
use crate::memory::MemoryLimit;
use crate::optim::{LrScheduleState, OptimizerCounters};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Value of the `format` metadata key.
pub const CHECKPOINT_FORMAT: &str = "gradscope-checkpoint/1";

/// Value of the `format` metadata key of `model.safetensors` ([`Trainer::save_model`]).
pub const MODEL_FORMAT: &str = "gradscope-model/1";

/// Metadata key of `model.safetensors` holding the per-feature input means (a JSON array).
pub const INPUT_MEAN_KEY: &str = "input_mean";

/// Metadata key of `model.safetensors` holding the per-feature input standard deviations
/// (a JSON array).
pub const INPUT_STD_KEY: &str = "input_std";

fn json<S: serde::Serialize>(v: &S) -> String {
    serde_json::to_string(v).expect("serializable")
}

impl<T: Float> Trainer<T> {
    /// Writes the model's final weights for inference: the state dict by PyTorch names and,
    /// as metadata, `format` ([`MODEL_FORMAT`]), `dtype` and — when the data were
    /// standardized — the per-feature input statistics (`input_mean`, `input_std`, JSON
    /// arrays of one number per value of an input row), so that raw inputs can be run
    /// through the model as `(x − input_mean) / input_std` (docs/weights.md).
    pub fn save_model(&self, path: &Path) -> Result<()> {
        let state = self.model.state_dict();
        let named: Vec<(String, &Tensor<T>)> = state.iter().map(|(n, t)| (n.clone(), t)).collect();
        let mut meta = HashMap::new();
        meta.insert("format".to_string(), MODEL_FORMAT.to_string());
        meta.insert("dtype".into(), T::DTYPE.name().into());
        if let Some(s) = &self.splits.standardizer {
            meta.insert(INPUT_MEAN_KEY.into(), json(&s.mean));
            meta.insert(INPUT_STD_KEY.into(), json(&s.std));
        }
        safetensors::write(path, &named, &meta)
    }

    /// Writes a checkpoint atomically (temp file + rename).
    pub fn save_checkpoint(&self, path: &Path) -> Result<()> {
        let model = self.model.state_dict();
        let optim = self.optimizer.state();
        let mut tensors: Vec<(String, &Tensor<T>)> = Vec::new();
        for (n, t) in &model {
            tensors.push((format!("model.{n}"), t));
        }
        for (n, t) in &optim {
            tensors.push((format!("optim.{n}"), t));
        }
        for (n, t) in self.best.state.iter().flatten() {
            tensors.push((format!("best.{n}"), t));
        }
        let mut meta = HashMap::new();
        meta.insert("format".to_string(), CHECKPOINT_FORMAT.to_string());
        meta.insert("dtype".into(), T::DTYPE.name().into());
        meta.insert(RUN_ID_KEY.into(), self.run_id.clone());
        if let Some(o) = &self.origin {
            meta.insert(super::origin::ORIGIN_KEY.into(), json(o));
        }
        meta.insert(
            "config".into(),
            toml::to_string(&self.config).map_err(|e| Error::Io(format!("config: {e}")))?,
        );
        meta.insert("epoch".into(), self.epoch.to_string());
        meta.insert("step".into(), self.step.to_string());
        meta.insert("batch_in_epoch".into(), self.batch_in_epoch.to_string());
        meta.insert("shuffle_rng".into(), json(&self.shuffle_rng));
        meta.insert("epoch_start_rng".into(), json(&self.epoch_start_rng));
        meta.insert("model_rng".into(), json(&self.model.rng));
        meta.insert("optimizer".into(), json(&self.optimizer.counters()));
        if let Some(s) = &self.schedule {
            meta.insert("schedule".into(), json(&s.state()));
        }
        meta.insert("accum".into(), json(&self.acc));
        meta.insert("elapsed_s".into(), json(&self.elapsed()));
        meta.insert("best_val".into(), json(&self.best_val));
        meta.insert("best_score".into(), json(&self.best.score));
        meta.insert("early_stop".into(), json(&self.best.early_stop));
        meta.insert("clipped_steps".into(), json(&self.clipped_steps));
        if let Some(s) = &self.splits.standardizer {
            meta.insert("standardizer".into(), json(s));
        }
        safetensors::write(path, &tensors, &meta)
    }

    /// Rebuilds the run from its config and continues it from the checkpoint at `path`.
    /// The config must describe the same run (seed, dtype, data, model, loss, optimizer);
    /// `training.epochs` and `training.max_steps` may differ.
    pub fn resume(loaded: &LoadedConfig, path: &Path) -> Result<Self> {
        Self::resume_limited(loaded, path, None)
    }

    /// [`Trainer::resume`], with the run's memory checked against `limit` once its data is
    /// loaded.
    pub(super) fn resume_limited(
        loaded: &LoadedConfig,
        path: &Path,
        limit: Option<&MemoryLimit>,
    ) -> Result<Self> {
        let source = path.display().to_string();
        let mut file = safetensors::read::<T>(path)?;
        let meta = &file.metadata;
        let get = |k: &str| {
            meta.get(k).ok_or_else(|| {
                Error::Io(format!(
                    "{source}: not a gradscope checkpoint (no `{k}` metadata)"
                ))
            })
        };
        if get("format")? != CHECKPOINT_FORMAT {
            return Err(Error::Io(format!(
                "{source}: checkpoint format `{}`, expected `{CHECKPOINT_FORMAT}`",
                get("format")?
            )));
        }
        fn parse<V: serde::de::DeserializeOwned>(
            meta: &HashMap<String, String>,
            k: &str,
            source: &str,
        ) -> Result<V> {
            let text = meta.get(k).ok_or_else(|| {
                Error::Io(format!(
                    "{source}: not a gradscope checkpoint (no `{k}` metadata)"
                ))
            })?;
            serde_json::from_str(text)
                .map_err(|e| Error::Io(format!("{source}: metadata `{k}`: {e}")))
        }
        let saved: crate::config::Config = toml::from_str(get("config")?)
            .map_err(|e| Error::Io(format!("{source}: metadata `config`: {e}")))?;
        let c = &loaded.config;
        let differs = [
            ("seed", saved.stream_seeds() != c.stream_seeds()),
            ("dtype", saved.dtype != c.dtype),
            ("data", saved.data != c.data),
            ("model", saved.model != c.model),
            ("training.loss", saved.training.loss != c.training.loss),
            (
                "training.batch_size",
                saved.training.batch_size != c.training.batch_size,
            ),
            (
                "training.optimizer",
                saved.training.optimizer() != c.training.optimizer(),
            ),
            (
                "training.schedule",
                saved.training.schedule != c.training.schedule,
            ),
            ("training.clip", saved.training.clip != c.training.clip),
            (
                "training.keep_best",
                saved.training.keep_best != c.training.keep_best,
            ),
        ];
        if let Some((field, _)) = differs.iter().find(|(_, d)| *d) {
            return Err(Error::config_field(
                *field,
                format!(
                    "`{field}` differs from the run that wrote {source}; resume needs the same \
                     config (only training.epochs, training.max_steps, \
                     training.checkpoint_every, training.patience and training.scalars_every \
                     may change)"
                ),
            )
            .in_file(&loaded.source, None));
        }
        let mut t = Trainer::<T>::new_limited(loaded, limit)?;
        // The run goes on: it keeps the id of the run that wrote the checkpoint.
        if let Some(id) = meta.get(RUN_ID_KEY) {
            t.run_id = id.clone();
        }
        if meta.contains_key(super::origin::ORIGIN_KEY) {
            t.origin = parse(meta, super::origin::ORIGIN_KEY, &source)?;
        }
        let mut model_tensors = Vec::new();
        let mut optim_tensors = Vec::new();
        let mut best_tensors = Vec::new();
        for (name, tensor) in std::mem::take(&mut file.tensors) {
            if let Some(n) = name.strip_prefix("model.") {
                model_tensors.push((n.to_string(), tensor));
            } else if let Some(n) = name.strip_prefix("optim.") {
                optim_tensors.push((n.to_string(), tensor));
            } else if let Some(n) = name.strip_prefix("best.") {
                best_tensors.push((n.to_string(), tensor));
            }
        }
        t.model.load_state_dict(&model_tensors, &source, &[])?;
        let counters: OptimizerCounters = parse(meta, "optimizer", &source)?;
        t.optimizer.load_state(&counters, &optim_tensors)?;
        if let Some(s) = &mut t.schedule {
            let state: LrScheduleState = parse(meta, "schedule", &source)?;
            s.load_state(&state)?;
        }
        let num = |k: &str| -> Result<u64> {
            get(k)?
                .parse()
                .map_err(|e| Error::Io(format!("{source}: metadata `{k}`: {e}")))
        };
        t.epoch = num("epoch")? as usize;
        t.step = num("step")?;
        t.batch_in_epoch = num("batch_in_epoch")? as usize;
        t.shuffle_rng = parse::<Rng>(meta, "shuffle_rng", &source)?;
        t.epoch_start_rng = parse::<Rng>(meta, "epoch_start_rng", &source)?;
        t.model.rng = parse::<Rng>(meta, "model_rng", &source)?;
        t.acc = parse::<EpochAccum>(meta, "accum", &source)?;
        t.elapsed_before = parse::<f64>(meta, "elapsed_s", &source)?;
        t.best_val = parse(meta, "best_val", &source)?;
        // Checkpoints written before these keys existed resume with none of them.
        if meta.contains_key("best_score") {
            t.best.score = parse(meta, "best_score", &source)?;
            t.best.early_stop = parse(meta, "early_stop", &source)?;
            t.clipped_steps = parse(meta, "clipped_steps", &source)?;
        }
        if !best_tensors.is_empty() {
            // Checked against the model's own state dict, then kept as saved.
            let mut probe = t.model.clone();
            probe.load_state_dict(&best_tensors, &source, &[])?;
            t.best.state = Some(probe.state_dict());
        }
        t.started = Instant::now();
        Ok(t)
    }
}
