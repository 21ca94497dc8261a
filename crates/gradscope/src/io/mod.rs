//! Files: safetensors tensors, written atomically (a reader sees the old file or the whole new one).

mod atomic;
pub mod safetensors;

pub(crate) use atomic::write_atomic;
