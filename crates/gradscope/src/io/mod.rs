//! Files: safetensors tensors and atomic writes.

pub mod atomic;
pub mod safetensors;

pub use atomic::write_atomic;
