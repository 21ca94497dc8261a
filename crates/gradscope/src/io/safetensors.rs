//! Reading and writing named tensors in the safetensors format (F32 or F64 on disk; read
//! into either precision), with string metadata.
//!
//! Reading rejects a tensor that holds NaN or ±∞, or a value that does not fit the run's
//! precision (an F64 1e300 read as f32): weights, checkpoints and batches are all read here,
//! and a non-finite weight would silently poison every later step. The error names the file,
//! the tensor, the element and its value.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::error::{Error, Result};
use crate::float::{DType, Float};
use crate::tensor::Tensor;

/// Tensors by name, in file order, plus the file's `__metadata__`.
#[derive(Clone, Debug, Default)]
pub struct TensorFile<T> {
    /// (name, tensor) pairs, sorted by name.
    pub tensors: Vec<(String, Tensor<T>)>,
    /// String metadata.
    pub metadata: HashMap<String, String>,
}

impl<T: Float> TensorFile<T> {
    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&Tensor<T>> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// Removes and returns the tensor called `name`.
    pub fn take(&mut self, name: &str) -> Option<Tensor<T>> {
        let i = self.tensors.iter().position(|(n, _)| n == name)?;
        Some(self.tensors.remove(i).1)
    }
}

fn to_le_bytes<T: Float>(t: &Tensor<T>) -> Vec<u8> {
    match T::DTYPE {
        DType::F32 => t
            .data()
            .iter()
            .flat_map(|v| (v.to_f64() as f32).to_le_bytes())
            .collect(),
        DType::F64 => t
            .data()
            .iter()
            .flat_map(|v| v.to_f64().to_le_bytes())
            .collect(),
    }
}

/// Serializes named tensors (stored in T's precision) with metadata.
pub fn serialize<T: Float>(
    tensors: &[(String, &Tensor<T>)],
    metadata: &HashMap<String, String>,
) -> Result<Vec<u8>> {
    let dtype = match T::DTYPE {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
    };
    let bytes: Vec<Vec<u8>> = tensors.iter().map(|(_, t)| to_le_bytes(*t)).collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, t), b)| {
            TensorView::new(dtype, t.shape().to_vec(), b)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Io(format!("tensor `{name}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = (!metadata.is_empty()).then(|| metadata.clone());
    safetensors::serialize(views, meta).map_err(|e| Error::Io(format!("safetensors: {e}")))
}

/// Parses safetensors bytes; `source` names the file in errors. F32, F64, F16/BF16 and
/// integer tensors are converted to T.
pub fn deserialize<T: Float>(bytes: &[u8], source: &str) -> Result<TensorFile<T>> {
    let bad = |m: String| Error::Io(format!("{source}: {m}"));
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(format!("not a valid safetensors file ({e})")))?;
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a valid safetensors file ({e})")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let mut tensors = Vec::new();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    for name in names {
        let view = st
            .tensor(&name)
            .map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
        let raw = view.data();
        let values: Vec<f64> = match view.dtype() {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64)
                .collect(),
            Dtype::F64 => raw
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16) as f64)
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|c| f16_to_f64(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            Dtype::I64 => raw
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")) as f64)
                .collect(),
            Dtype::I32 => raw
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes")) as f64)
                .collect(),
            Dtype::U8 => raw.iter().map(|&b| b as f64).collect(),
            Dtype::BOOL => raw.iter().map(|&b| (b != 0) as u8 as f64).collect(),
            other => {
                return Err(bad(format!(
                    "tensor `{name}` has dtype {other:?}; supported: F32, F64, F16, BF16, I64, I32, U8, BOOL"
                )))
            }
        };
        let shape: Vec<usize> = view.shape().to_vec();
        let t = Tensor::<T>::from_f64_slice(&shape, &values)
            .map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
        if let Some(i) = t.data().iter().position(|v| !v.is_finite()) {
            let what = if values[i].is_finite() {
                format!(
                    "the value {:e}, which does not fit {} (stored as {:?})",
                    values[i],
                    T::DTYPE.name(),
                    view.dtype()
                )
            } else {
                format!("a non-finite value ({})", values[i])
            };
            return Err(bad(format!(
                "tensor `{name}` holds {what} at index {} of shape {shape:?}; weights, \
                 checkpoints and batches must be finite",
                multi_index(i, &shape)
            )));
        }
        tensors.push((name, t));
    }
    Ok(TensorFile { tensors, metadata })
}

/// The row-major multi-index of flat element `i` in `shape`, as `[i0, i1, ...]`.
fn multi_index(mut i: usize, shape: &[usize]) -> String {
    let mut idx = vec![0; shape.len()];
    for (d, &n) in shape.iter().enumerate().rev() {
        if n > 0 {
            idx[d] = i % n;
            i /= n;
        }
    }
    format!("{idx:?}")
}

fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// Reads a safetensors file.
pub fn read<T: Float>(path: &Path) -> Result<TensorFile<T>> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Io(format!("cannot read `{}`: {e}", path.display())))?;
    deserialize(&bytes, &path.display().to_string())
}

/// Writes a safetensors file atomically.
pub fn write<T: Float>(
    path: &Path,
    tensors: &[(String, &Tensor<T>)],
    metadata: &HashMap<String, String>,
) -> Result<()> {
    let bytes = serialize(tensors, metadata)?;
    super::write_atomic(path, &bytes)
}
