//! Optimizers, learning-rate schedules and gradient clipping, matching `torch.optim`.
//!
//! - [`OptimizerConfig`] → [`Optimizer`]: SGD (momentum, Nesterov, dampening), Adam (AMSGrad),
//!   AdamW, RMSprop (centered, momentum), Adagrad (lr decay), each with L2 `weight_decay`
//!   (decoupled for AdamW) and an `l1` penalty. Updates follow PyTorch's single-tensor
//!   implementations operation for operation; state is allocated lazily per parameter index
//!   and checkpoints with [`Optimizer::state`] / [`Optimizer::counters`] /
//!   [`Optimizer::load_state`].
//! - [`LrScheduleConfig`] → [`LrSchedule`]: constant, step, exponential, cosine annealing,
//!   reduce-on-plateau, each with an optional linear [`Warmup`].
//! - [`clip`]: global-norm, per-parameter-norm and value clipping, non-finite detection.
//!
//! The hot loop does not allocate:
//!
//! ```text
//! opt.begin_step();
//! for (i, p) in params.iter_mut().enumerate() { opt.update(i, p, sched.lr())?; }
//! ```
//!
//! See `docs/optimizers.md` for formulas, TOML shapes and how the PyTorch fixtures that test
//! this module are regenerated.

pub mod clip;
mod config;
mod optimizer;
mod schedule;

pub use clip::{
    clip_coef, clip_grad_norm, clip_grad_norm_per_param, clip_grad_value, clip_param_norm,
    clip_param_value, first_non_finite_grad, global_grad_norm, scale_grads, ClipConfig,
    GlobalNormClipper,
};
pub use config::{
    AdagradConfig, AdamConfig, AdamWConfig, OptimizerConfig, RmsPropConfig, SgdConfig,
};
pub use optimizer::{Optimizer, OptimizerCounters, ParamCounter};
pub use schedule::{
    LrSchedule, LrScheduleConfig, LrScheduleState, PlateauMode, PlateauState, SchedulePer,
    ThresholdMode, Warmup,
};
