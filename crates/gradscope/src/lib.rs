//! # gradscope
//!
//! Build, train and *diagnose* neural networks, centred on activation functions and on
//! vanishing and exploding gradients.
//!
//! - [`activation`]: the activation catalogue, each with an exact hand-derived derivative, and
//!   the properties computed from them ([`activation::properties`]).
//! - [`tensor`], [`gemm`], [`float`]: the dense numeric core.
//! - [`quadrature`]: Gaussian expectations E[g(z)], z ~ N(0, 1), exact at kinks.
//! - [`rng`]: the seeded generator all randomness flows through.

pub mod activation;
pub mod error;
pub mod float;
pub mod gemm;
pub mod quadrature;
pub mod rng;
pub mod tensor;

pub use activation::Activation;
pub use error::{Error, Result};
pub use float::{DType, Float};
pub use rng::Rng;
pub use tensor::Tensor;
