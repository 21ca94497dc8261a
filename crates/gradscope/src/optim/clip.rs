//! Gradient clipping (PyTorch `clip_grad_norm_` / `clip_grad_value_` semantics) and
//! non-finite gradient detection.
//!
//! Norms are accumulated in `f64` whatever the parameter precision, and do not overflow for
//! finite gradients: a tensor whose squared sum overflows is re-summed with scaling. No
//! function here ever applies a NaN or infinite gradient silently: every clipping entry point
//! checks first and returns [`Error::NonFiniteGrad`] naming the parameter. The slice functions
//! check every parameter before modifying any; the per-parameter functions check that
//! parameter before modifying it.

use std::borrow::{Borrow, BorrowMut};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::float::Float;
use crate::param::Param;

/// PyTorch's constant in `max_norm / (total_norm + 1e-6)`.
pub const CLIP_EPS: f64 = 1e-6;

/// Overflow-safe accumulator of a sum of squares: value = plain + scale²·ssq.
#[derive(Clone, Copy, Debug, Default)]
struct SumSq {
    plain: f64,
    scale: f64,
    ssq: f64,
    nan: bool,
    inf: bool,
}

impl SumSq {
    fn add_scaled(&mut self, scale: f64, ssq: f64) {
        if scale == 0.0 {
            return;
        }
        if scale > self.scale {
            let r = self.scale / scale;
            self.ssq = self.ssq * r * r + ssq;
            self.scale = scale;
        } else {
            let r = scale / self.scale;
            self.ssq += ssq * r * r;
        }
    }

    fn add<T: Float>(&mut self, xs: &[T]) {
        let ss: f64 = xs
            .iter()
            .map(|v| {
                let x = v.to_f64();
                x * x
            })
            .sum();
        if ss.is_nan() {
            self.nan = true;
        } else if ss.is_infinite() {
            let amax = xs.iter().fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
            if amax.is_infinite() {
                self.inf = true;
            } else {
                let q: f64 = xs
                    .iter()
                    .map(|v| {
                        let x = v.to_f64() / amax;
                        x * x
                    })
                    .sum();
                self.add_scaled(amax, q);
            }
        } else {
            let sum = self.plain + ss;
            if sum.is_infinite() {
                self.add_scaled(self.plain.sqrt(), 1.0);
                self.add_scaled(ss.sqrt(), 1.0);
                self.plain = 0.0;
            } else {
                self.plain = sum;
            }
        }
    }

    fn norm(&self) -> f64 {
        if self.nan {
            f64::NAN
        } else if self.inf {
            f64::INFINITY
        } else if self.scale == 0.0 {
            self.plain.sqrt()
        } else {
            let s = self.scale;
            s * (self.ssq + self.plain / s / s).sqrt()
        }
    }
}

/// ‖g‖₂ of one tensor's values, in f64, overflow-safe; NaN/∞ if an element is.
fn l2<T: Float>(xs: &[T]) -> f64 {
    let mut acc = SumSq::default();
    acc.add(xs);
    acc.norm()
}

/// The global gradient norm ‖g‖ = √(Σ_p Σ_i g_{p,i}²) over all parameters (PyTorch
/// `clip_grad_norm_`'s `total_norm` with `norm_type = 2`), accumulated in f64. NaN if any
/// gradient element is NaN, +∞ if any is infinite (and none is NaN); finite gradients never
/// overflow to ∞ unless the norm itself exceeds `f64::MAX`.
pub fn global_grad_norm<'a, T: Float>(params: impl IntoIterator<Item = &'a Param<T>>) -> f64 {
    let mut acc = SumSq::default();
    for p in params {
        acc.add(p.grad.data());
    }
    acc.norm()
}

/// The name of the first parameter (in iteration order) whose gradient holds a NaN or an
/// infinity, or `None` when all are finite.
pub fn first_non_finite_grad<'a, T: Float>(
    params: impl IntoIterator<Item = &'a Param<T>>,
) -> Option<&'a str> {
    params
        .into_iter()
        .find(|p| !p.grad.all_finite())
        .map(|p| p.name.as_str())
}

/// The error for parameter `p`'s non-finite gradient, locating the first bad element.
fn non_finite_error<T: Float>(p: &Param<T>) -> Error {
    let data = p.grad.data();
    let detail = match data.iter().position(|v| !v.is_finite()) {
        Some(i) => format!(
            "gradient element {i} of shape {:?} is {}",
            p.grad.shape(),
            data[i]
        ),
        None => "gradient norm is not finite".to_string(),
    };
    Error::NonFiniteGrad {
        param: p.name.clone(),
        detail,
    }
}

/// PyTorch's clipping coefficient min(1, max_norm / (total_norm + 1e-6)). Gradients are
/// multiplied by it; it is exactly 1 (no change) unless total_norm + 1e-6 > max_norm.
pub fn clip_coef(total_norm: f64, max_norm: f64) -> f64 {
    (max_norm / (total_norm + CLIP_EPS)).min(1.0)
}

/// g ← coef·g for every parameter (the second pass of global-norm clipping). A coefficient of
/// exactly 1 leaves the gradients untouched without visiting them.
pub fn scale_grads<'a, T: Float>(params: impl IntoIterator<Item = &'a mut Param<T>>, coef: f64) {
    if coef == 1.0 {
        return;
    }
    let c = T::from_f64(coef);
    for p in params {
        p.grad.data_mut().iter_mut().for_each(|g| *g *= c);
    }
}

fn check_positive(field: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "`clip.{field}` = {value} must be a finite number > 0"
        )))
    }
}

/// Two-pass global-norm clipping for parameters visited by a loop (no slice, no allocation
/// after the first error message):
///
/// ```
/// # use gradscope::{model::MlpSpec, optim::GlobalNormClipper, loss::Loss, Activation, Rng, Tensor};
/// # let mut model = MlpSpec::new(2, &[3], 1, Activation::Tanh).build::<f64>(&mut Rng::seed(0))?;
/// # let x = Tensor::from_vec(&[1, 2], vec![0.5, -1.0])?;
/// # model.forward_backward(&x, &Tensor::from_vec(&[1, 1], vec![9.0])?, Loss::Mse)?;
/// let mut clipper = GlobalNormClipper::new(1.0)?;
/// clipper.reset();
/// model.visit_params(&mut |_, p| clipper.observe(p)); // pass 1: Σ g²
/// let norm = clipper.finish()?; // pre-clip ‖g‖, or the bad parameter
/// model.visit_params_mut(&mut |_, p| clipper.apply(p)); // pass 2: g ← coef·g
/// assert!(norm > 1.0 && clipper.coef() < 1.0);
/// # Ok::<(), gradscope::Error>(())
/// ```
///
/// With ‖g‖ the global norm, coef = min(1, max_norm / (‖g‖ + 1e-6)) (PyTorch
/// `clip_grad_norm_`). `finish` returns ‖g‖ *before* clipping, or
/// [`Error::NonFiniteGrad`] naming the first parameter with a NaN/∞ gradient; after an error
/// `apply` changes nothing.
#[derive(Clone, Debug)]
pub struct GlobalNormClipper {
    max_norm: f64,
    acc: SumSq,
    /// `(param, detail)` of the first non-finite gradient seen.
    first_bad: Option<(String, String)>,
    coef: f64,
}

impl GlobalNormClipper {
    /// A clipper for `max_norm` (finite, > 0).
    pub fn new(max_norm: f64) -> Result<Self> {
        check_positive("max_norm", max_norm)?;
        Ok(GlobalNormClipper {
            max_norm,
            acc: SumSq::default(),
            first_bad: None,
            coef: 1.0,
        })
    }

    /// The threshold.
    pub fn max_norm(&self) -> f64 {
        self.max_norm
    }

    /// Starts a new step.
    pub fn reset(&mut self) {
        self.acc = SumSq::default();
        self.first_bad = None;
        self.coef = 1.0;
    }

    /// Pass 1: adds one parameter's gradient to the norm.
    pub fn observe<T: Float>(&mut self, param: &Param<T>) {
        let before = (self.acc.nan, self.acc.inf);
        self.acc.add(param.grad.data());
        if self.first_bad.is_none() && (self.acc.nan, self.acc.inf) != before {
            if let Error::NonFiniteGrad { param, detail } = non_finite_error(param) {
                self.first_bad = Some((param, detail));
            }
        }
    }

    /// Ends pass 1: the global norm before clipping, and prepares the coefficient. Errors when
    /// the norm is not finite (then [`GlobalNormClipper::apply`] is a no-op).
    pub fn finish(&mut self) -> Result<f64> {
        let norm = self.acc.norm();
        if !norm.is_finite() {
            self.coef = 1.0;
            return Err(match self.first_bad.clone() {
                Some((param, detail)) => Error::NonFiniteGrad { param, detail },
                None => Error::NonFiniteGrad {
                    param: "(all)".into(),
                    detail: "every gradient is finite but the global L2 norm exceeds f64::MAX"
                        .into(),
                },
            });
        }
        self.coef = clip_coef(norm, self.max_norm);
        Ok(norm)
    }

    /// The coefficient prepared by [`GlobalNormClipper::finish`] (1 before it).
    pub fn coef(&self) -> f64 {
        self.coef
    }

    /// Pass 2: g ← coef·g.
    pub fn apply<T: Float>(&self, param: &mut Param<T>) {
        scale_grads(std::iter::once(param), self.coef);
    }
}

/// PyTorch `clip_grad_norm_(params, max_norm)` (L2): with ‖g‖ the global norm over all
/// parameters, g ← g·min(1, max_norm / (‖g‖ + 1e-6)). Returns ‖g‖ *before* clipping.
///
/// Errors, modifying nothing, with [`Error::NonFiniteGrad`] naming the first parameter with a
/// NaN/∞ gradient (PyTorch would scale everything by NaN), or when `max_norm` is not a finite
/// number > 0. Accepts `&mut [Param<T>]` or `&mut [&mut Param<T>]`.
pub fn clip_grad_norm<T: Float, P: BorrowMut<Param<T>>>(
    params: &mut [P],
    max_norm: f64,
) -> Result<f64> {
    let mut c = GlobalNormClipper::new(max_norm)?;
    for p in params.iter() {
        c.observe(p.borrow());
    }
    let norm = c.finish()?;
    for p in params.iter_mut() {
        c.apply(p.borrow_mut());
    }
    Ok(norm)
}

/// Per-parameter norm clipping (not a PyTorch function): for each parameter separately,
/// g_p ← g_p·min(1, max_norm / (‖g_p‖ + 1e-6)). Returns the parameter's norm before
/// clipping; errors, modifying nothing, if its gradient is not finite.
pub fn clip_param_norm<T: Float>(param: &mut Param<T>, max_norm: f64) -> Result<f64> {
    check_positive("max_norm", max_norm)?;
    let norm = l2(param.grad.data());
    if !norm.is_finite() {
        return Err(non_finite_error(param));
    }
    scale_grads(std::iter::once(param), clip_coef(norm, max_norm));
    Ok(norm)
}

/// [`clip_param_norm`] on every parameter. Returns the *global* norm before clipping (as
/// [`clip_grad_norm`] does, for logging). Checks all gradients first: on error nothing is
/// modified.
pub fn clip_grad_norm_per_param<T: Float, P: BorrowMut<Param<T>>>(
    params: &mut [P],
    max_norm: f64,
) -> Result<f64> {
    check_positive("max_norm", max_norm)?;
    let norm = checked_global_norm(params)?;
    for p in params.iter_mut() {
        clip_param_norm(p.borrow_mut(), max_norm)?;
    }
    Ok(norm)
}

/// PyTorch `clip_grad_value_` on one parameter: g ← clamp(g, −clip_value, clip_value).
/// Errors, modifying nothing, if the gradient holds a NaN or ∞ (clamping would turn ∞ into a
/// finite value silently).
pub fn clip_param_value<T: Float>(param: &mut Param<T>, clip_value: f64) -> Result<()> {
    check_positive("clip_value", clip_value)?;
    if !param.grad.all_finite() {
        return Err(non_finite_error(param));
    }
    let hi = T::from_f64(clip_value);
    let lo = -hi;
    for g in param.grad.data_mut() {
        if *g > hi {
            *g = hi;
        } else if *g < lo {
            *g = lo;
        }
    }
    Ok(())
}

/// PyTorch `clip_grad_value_(params, clip_value)`: g ← clamp(g, −clip_value, clip_value) on
/// every parameter. Checks all gradients first: on a NaN/∞ nothing is modified and the error
/// names the parameter.
pub fn clip_grad_value<T: Float, P: BorrowMut<Param<T>>>(
    params: &mut [P],
    clip_value: f64,
) -> Result<()> {
    check_positive("clip_value", clip_value)?;
    if let Some(p) = params
        .iter()
        .map(Borrow::borrow)
        .find(|p| !p.grad.all_finite())
    {
        return Err(non_finite_error(p));
    }
    for p in params.iter_mut() {
        clip_param_value(p.borrow_mut(), clip_value)?;
    }
    Ok(())
}

fn checked_global_norm<T: Float, P: Borrow<Param<T>>>(params: &[P]) -> Result<f64> {
    let mut c = GlobalNormClipper::new(1.0)?;
    for p in params {
        c.observe(p.borrow());
    }
    c.finish()
}

/// Gradient clipping as configured: `clip = { kind = "norm", max_norm = 1.0 }`,
/// `{ kind = "per_param_norm", max_norm = 1.0 }` or `{ kind = "value", clip_value = 0.5 }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClipConfig {
    /// [`clip_grad_norm`]: one L2 norm over all parameters.
    Norm {
        /// Threshold on the global norm (> 0).
        max_norm: f64,
    },
    /// [`clip_grad_norm_per_param`]: each parameter's norm separately.
    PerParamNorm {
        /// Threshold on each parameter's norm (> 0).
        max_norm: f64,
    },
    /// [`clip_grad_value`]: element-wise clamp.
    Value {
        /// Bound on |g| (> 0).
        clip_value: f64,
    },
}

impl ClipConfig {
    /// Checks the threshold is a finite number > 0 (the error names the field).
    pub fn validate(&self) -> Result<()> {
        match self {
            ClipConfig::Norm { max_norm } | ClipConfig::PerParamNorm { max_norm } => {
                check_positive("max_norm", *max_norm)
            }
            ClipConfig::Value { clip_value } => check_positive("clip_value", *clip_value),
        }
    }

    /// Clips `params` and returns the global L2 gradient norm before clipping. Errors,
    /// modifying nothing, on a non-finite gradient (naming the parameter).
    pub fn apply<T: Float, P: BorrowMut<Param<T>>>(&self, params: &mut [P]) -> Result<f64> {
        match *self {
            ClipConfig::Norm { max_norm } => clip_grad_norm(params, max_norm),
            ClipConfig::PerParamNorm { max_norm } => clip_grad_norm_per_param(params, max_norm),
            ClipConfig::Value { clip_value } => {
                self.validate()?;
                let norm = checked_global_norm(params)?;
                clip_grad_value(params, clip_value)?;
                Ok(norm)
            }
        }
    }
}
