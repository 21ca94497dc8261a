//! # gradscope
//!
//! Build, train and *diagnose* neural networks, centred on activation functions and on
//! vanishing and exploding gradients.
//!
//! - [`activation`]: the activation catalogue, each with an exact hand-derived derivative, and
//!   the properties computed from them ([`activation::properties`]).
//! - [`tensor`], [`float`]: the dense numeric core (its kernels, matrix products included,
//!   live in the internal `kernels` module).
//! - [`quadrature`]: Gaussian expectations E[g(z)], z ~ N(0, 1), exact at kinks.
//! - [`rng`]: the seeded generator all randomness flows through.
//! - [`sweep`]: sweeps over config keys and seeds, their runs and their aggregated results.

pub mod activation;
pub mod config;
pub mod data;
pub mod diagnostics;
pub mod error;
pub mod float;
pub mod init;
pub mod io;
#[doc(hidden)]
pub mod kernels;
pub mod layer;
pub mod loss;
pub mod memory;
pub mod model;
pub mod optim;
pub mod param;
pub mod quadrature;
pub mod recurrent;
pub mod rng;
pub mod sweep;
pub mod tensor;
pub mod textform;
pub mod theory;
pub mod train;

pub use activation::Activation;
pub use error::{Error, Result};
pub use float::{DType, Float};
pub use param::Param;
pub use rng::Rng;
pub use tensor::Tensor;
