//! Files: safetensors tensors, written atomically (a reader sees the old file or the whole new
//! one), and the version of the output schema.

mod atomic;
pub mod safetensors;

pub use atomic::write_atomic;

/// The version of the output schema (docs/outputs.md): every JSON document gradscope writes
/// carries it as `schema_version` — `diagnosis.json`, `demo.json`, `summary.json`, the JSON of
/// `activations` and `theory` — and so does every line of `metrics.jsonl` and
/// `diagnostics.jsonl`. One number for all files: it changes whenever a field of any of them
/// is renamed, removed or changes meaning.
pub const SCHEMA_VERSION: u32 = 3;

/// A value serialized with `schema_version` ([`SCHEMA_VERSION`]) as its first field: the
/// form of a JSON document or JSONL line whose type has no such field of its own
/// ([`crate::train::EpochRecord`], [`crate::train::Summary`],
/// [`crate::diagnostics::StepRecord`]). Reading back into the bare type ignores the field.
#[derive(Debug, serde::Serialize)]
pub struct Versioned<'a, T: serde::Serialize> {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The value, its fields flattened beside `schema_version`.
    #[serde(flatten)]
    pub value: &'a T,
}

/// `value` with the current [`SCHEMA_VERSION`].
pub fn versioned<T: serde::Serialize>(value: &T) -> Versioned<'_, T> {
    Versioned {
        schema_version: SCHEMA_VERSION,
        value,
    }
}
