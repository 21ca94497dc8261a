//! A run within limits: the memory guard at construction, and the run id that ties a
//! checkpoint to the run that wrote it.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::path::Path;

use super::Trainer;
use crate::config::LoadedConfig;
use crate::error::{Error, Result};
use crate::float::Float;
use crate::memory::{self, MemoryLimit};

/// Checkpoint metadata key of the run id.
pub(super) const RUN_ID_KEY: &str = "run_id";

/// Largest safetensors header [`checkpoint_run_id`] reads.
const MAX_HEADER: u64 = 100 << 20;

/// A new run id: 16 hex digits from the process's random hasher keys, the time and the pid
/// (never from the run's seeded generators, which it must not disturb).
pub(super) fn fresh_run_id() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

impl<T: Float> Trainer<T> {
    /// [`Trainer::new`] within a memory limit: the run's memory is estimated
    /// ([`memory::estimate`]) from the config before the data is loaded (its shape
    /// predicted, [`memory::DataShape::predict`]) and again with the loaded data before the
    /// model is built; above `limit`, an error names the config field that sizes the largest
    /// part, the estimate and the limit, and nothing more is allocated.
    pub fn new_within(loaded: &LoadedConfig, limit: &MemoryLimit) -> Result<Self> {
        memory::check_config(&loaded.config, &loaded.base_dir, limit)?;
        Self::new_limited(loaded, Some(limit))
    }

    /// [`Trainer::resume`] within a memory limit (as [`Trainer::new_within`]).
    pub fn resume_within(loaded: &LoadedConfig, path: &Path, limit: &MemoryLimit) -> Result<Self> {
        memory::check_config(&loaded.config, &loaded.base_dir, limit)?;
        Self::resume_limited(loaded, path, Some(limit))
    }

    /// The run's id: fresh for a new run, the checkpoint's for a resumed one; written into
    /// every checkpoint ([`checkpoint_run_id`] reads it back).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// True when `path` holds a checkpoint written by this run (its id matches).
    pub fn wrote_checkpoint(&self, path: &Path) -> bool {
        checkpoint_run_id(path).is_ok_and(|id| id.as_deref() == Some(self.run_id.as_str()))
    }
}

/// The run id recorded in the checkpoint at `path` (`None` for a checkpoint without one),
/// reading only the file's header.
pub fn checkpoint_run_id(path: &Path) -> Result<Option<String>> {
    Ok(checkpoint_metadata(path)?.remove(RUN_ID_KEY))
}

/// The metadata of the safetensors file at `path`, reading only its header.
pub(super) fn checkpoint_metadata(path: &Path) -> Result<HashMap<String, String>> {
    let src = path.display();
    let io = |e: std::io::Error| Error::Io(format!("cannot read `{src}`: {e}"));
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let mut n = [0u8; 8];
    f.read_exact(&mut n).map_err(io)?;
    let n = u64::from_le_bytes(n);
    if n > MAX_HEADER || n > len.saturating_sub(8) {
        return Err(Error::Io(format!(
            "`{src}`: not a safetensors file (header of {n} bytes in a file of {len})"
        )));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(io)?;
    #[derive(serde::Deserialize)]
    struct Header {
        #[serde(rename = "__metadata__", default)]
        metadata: HashMap<String, String>,
    }
    let h: Header = serde_json::from_slice(&header)
        .map_err(|e| Error::Io(format!("`{src}`: unreadable safetensors header: {e}")))?;
    Ok(h.metadata)
}
