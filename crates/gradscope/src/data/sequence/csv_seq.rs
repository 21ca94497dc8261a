//! Sequences from a CSV file: every row's features are T·f values, time-major.

use std::path::Path;

use super::Dataset;
use crate::data::csv::{load_csv, CsvOptions};
use crate::error::{Error, Result};

/// Loads a CSV file with [`load_csv`] and marks its rows as sequences of `seq_len` = T steps
/// ([`Dataset::with_seq_len`]): the feature columns, in file order without the label column,
/// are `T·f` values, time-major — the first `f` columns are step 0, the next `f` step 1, and
/// so on. One label per row (many-to-one). An error names the file when the number of
/// feature columns is not a multiple of T.
pub fn load_csv_sequences(
    path: impl AsRef<Path>,
    opts: &CsvOptions,
    seq_len: usize,
) -> Result<Dataset> {
    let path = path.as_ref();
    let ds = load_csv(path, opts)?;
    let d = ds.dim();
    ds.with_seq_len(seq_len).map_err(|_| {
        Error::Data(format!(
            "{}: {d} feature columns cannot be cut into seq_len = {seq_len} time steps \
             (need a multiple of {seq_len})",
            path.display()
        ))
    })
}
