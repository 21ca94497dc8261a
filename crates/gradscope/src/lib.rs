//! # gradscope
//!
//! Build, train and *diagnose* neural networks, centred on activation functions and on
//! vanishing and exploding gradients: where the gradient dies or blows up, why (the chain
//! rule with the measured numbers), what the mean-field theory predicts for it, and which
//! remedy fixes it — every result a typed value a program can use.
//!
//! ```
//! use gradscope::config::{Config, TrainingConfig};
//! use gradscope::diagnostics::Flow;
//! use gradscope::model::MlpSpec;
//! use gradscope::train::Trainer;
//! use gradscope::Activation;
//!
//! // A 6-layer sigmoid MLP on the embedded 8×8 digits (sizes come from the data).
//! let model = MlpSpec {
//!     hidden: vec![16; 6],
//!     activation: Activation::Sigmoid,
//!     ..MlpSpec::default()
//! };
//! let config = Config::new(model).with_training(TrainingConfig::default().with_lr(0.01));
//!
//! // Train 20 steps with every layer measured, and judge the gradient flow.
//! let mut trainer = Trainer::<f32>::from_config(config.clone())?;
//! let diagnosis = trainer.diagnose(20)?;
//! assert_eq!(diagnosis.verdict.flow, Flow::Vanishing);
//! println!("{}", diagnosis.verdict.explanation);
//!
//! // The first remedy is a value: apply it to the config and judge again.
//! let fixed = diagnosis.verdict.remedies[0].remedy.apply(&config)?;
//! let after = Trainer::<f32>::from_config(fixed)?.diagnose(20)?;
//! assert_eq!(after.verdict.flow, Flow::Healthy);
//! # Ok::<(), gradscope::Error>(())
//! ```
//!
//! ## Where to start
//!
//! A run is a [`config::Config`] (built in code, or parsed from the TOML files the CLI
//! reads), run by a [`train::Trainer`]; [`train::Trainer::diagnose`] returns a
//! [`diagnostics::Diagnosis`] and [`train::Trainer::run_collecting`] a [`train::Run`].
//! Below that level, [`model::MlpSpec::build`] gives a [`model::Model`] to run forward and
//! backward by hand, and [`diagnostics::Probe`] measures any model. The guide for programs
//! that embed the library is `docs/library.md` in the repository; its examples are in
//! `crates/gradscope/examples/`.
//!
//! ## Modules
//!
//! From the bottom up; a module only uses the ones above it.
//!
//! | module | what is in it |
//! | --- | --- |
//! | [`float`] | [`Float`] (the engine runs in `f32` or `f64`) and [`DType`] |
//! | [`tensor`] | [`Tensor`]: dense, row-major, reusable buffers |
//! | [`rng`] | [`Rng`]: the seeded generator every random draw comes from |
//! | [`error`] | [`Error`] and [`Result`]; configuration errors name their field, file and line |
//! | [`quadrature`] | Gaussian expectations E\[g(z)\], z ~ N(0, 1), exact at kinks |
//! | [`activation`] | the catalogue: [`Activation`] with f and its hand-derived f', text forms, computed [`activation::properties()`] |
//! | [`init`] | weight initializers ([`init::Init`]) with their text forms |
//! | [`param`] | [`Param`]: a value and its gradient |
//! | [`loss`] | cross-entropy, BCE with logits, MSE, with fused gradients |
//! | [`optim`] | optimizers, learning-rate schedules and gradient clipping, matching `torch.optim` |
//! | [`layer`] | the [`layer::Module`] trait and the layers (linear, activation, batch norm, dropout, residual, recurrent) |
//! | [`recurrent`] | RNN, LSTM and GRU cells, explicit BPTT, the per-step gradients ∂L/∂h_t |
//! | [`model`] | [`model::ModelSpec`] (what to build: [`model::MlpSpec`], [`model::SequenceSpec`]) and [`model::Model`] |
//! | [`data`] | [`data::Dataset`], splits, standardization, mini-batches; synthetic, CSV, IDX, sequence tasks, the embedded digits |
//! | [`config`] | the run as a value: [`config::Config`] with its builders, TOML parsing, `--set` overrides |
//! | [`io`] | safetensors checkpoints and weights |
//! | [`train`] | [`train::Trainer`], the [`train::Observer`] between the loop and its watchers, [`train::Run`] |
//! | [`theory`] | the mean-field theory: fixed points, χ₁ per layer, depth scales, the phase diagram |
//! | [`diagnostics`] | the gradient scope: [`diagnostics::Probe`], verdicts, the theory's prediction, [`diagnostics::Remedy`], [`diagnostics::Diagnosis`] |
//! | [`sweep`] | sweeps: axes over config keys and repeats over seeds, their runs (shardable) and their results as tables |
//! | [`study`] | built-in studies: sweeps that reproduce a published claim, and the claims judged from their results |
//!
//! ## Build settings for a program that embeds it
//!
//! gradscope trains networks, and much of its code is generic (`Trainer<T>`, `Model<T>`):
//! it is compiled in *your* crate, with your crate's optimization level. A debug build
//! without optimization runs a diagnosis about 27× slower (CPU time) than a release build (measured in
//! `docs/library.md`); add to your `Cargo.toml`:
//!
//! ```toml
//! [profile.dev]
//! opt-level = 1
//!
//! [profile.dev.package."*"]
//! opt-level = 3
//! ```

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
pub mod study;
pub mod sweep;
pub mod tensor;
mod textform;
pub mod theory;
pub mod train;

pub use activation::Activation;
pub use error::{Error, Result};
pub use float::{DType, Float};
pub use param::Param;
pub use rng::Rng;
pub use tensor::Tensor;
