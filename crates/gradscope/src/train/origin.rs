//! [`RunOrigin`]: where a run's config came from, kept in its checkpoints so that a resume
//! re-uses the run's own config: relative data paths resolved from the original config's
//! directory, and the `--set` overrides of the command that started it.

use std::path::{Path, PathBuf};

use super::limits::checkpoint_metadata;
use super::Trainer;
use crate::error::{Error, Result};
use crate::float::Float;

/// Checkpoint metadata key of the [`RunOrigin`] (JSON).
pub(super) const ORIGIN_KEY: &str = "origin";

/// Where a run's config came from.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunOrigin {
    /// The config file the run started from, as given.
    pub config: String,
    /// The directory its relative data paths are resolved against (absolute when the
    /// working directory was known).
    pub config_dir: PathBuf,
    /// The `--set KEY=VALUE` overrides of the run, in order (those of resumes appended).
    pub sets: Vec<String>,
}

impl RunOrigin {
    /// The origin of a run of `config` (resolving paths from `config_dir`) with `sets`;
    /// `config_dir` is made absolute from the working directory.
    pub fn new(config: &str, config_dir: &Path, sets: &[String]) -> RunOrigin {
        let config_dir = std::path::absolute(config_dir).unwrap_or_else(|_| config_dir.into());
        RunOrigin {
            config: config.to_string(),
            config_dir,
            sets: sets.to_vec(),
        }
    }
}

/// The origin recorded in the checkpoint at `path` (None for a checkpoint written without
/// one), reading only the file's header.
pub fn checkpoint_origin(path: &Path) -> Result<Option<RunOrigin>> {
    let meta = checkpoint_metadata(path)?;
    meta.get(ORIGIN_KEY)
        .map(|text| {
            serde_json::from_str(text)
                .map_err(|e| Error::Io(format!("{}: metadata `{ORIGIN_KEY}`: {e}", path.display())))
        })
        .transpose()
}

impl<T: Float> Trainer<T> {
    /// Records where the run's config came from (written into its checkpoints).
    pub fn set_origin(&mut self, origin: Option<RunOrigin>) {
        self.origin = origin;
    }

    /// Where the run's config came from, when recorded.
    pub fn origin(&self) -> Option<&RunOrigin> {
        self.origin.as_ref()
    }
}
