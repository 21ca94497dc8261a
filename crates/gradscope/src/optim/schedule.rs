//! Learning-rate schedules with PyTorch's `torch.optim.lr_scheduler` semantics.
//!
//! A schedule counts *ticks*: [`LrSchedule::step`] is called once per epoch (the default, as
//! in PyTorch's examples) or once per optimizer step (`per = "step"`); the `per` field only
//! records the intent for the training loop, the arithmetic is the same. Before the first
//! tick the learning rate is the value at t = 0 (the base rate, or the warm-up's first rate),
//! exactly like a freshly constructed PyTorch scheduler.
//!
//! Closed forms are used (PyTorch's `_get_closed_form_lr`); PyTorch's default chainable
//! recursion gives the same values up to rounding (the fixtures check 1e-12 relative).

use serde::{Deserialize, Serialize};

use super::config::non_negative;
use crate::error::{Error, Result};

/// When the training loop calls [`LrSchedule::step`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchedulePer {
    /// Once per epoch, after validation (PyTorch's usual placement).
    #[default]
    Epoch,
    /// Once per optimizer step.
    Step,
}

/// Linear warm-up (PyTorch `LinearLR(start_factor, end_factor=1, total_iters=warmup_steps)`
/// followed by the wrapped schedule as in `SequentialLR(milestones=[warmup_steps])`):
///
/// ```text
/// t < W:  lr(t) = base·(f₀ + (1 − f₀)·t/W)
/// t ≥ W:  lr(t) = inner(t − W)      (the wrapped schedule starts its own clock at W)
/// ```
///
/// TOML: `warmup = { warmup_steps = 5, start_factor = 0.333 }` inside any schedule table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warmup {
    /// W ≥ 1: number of ticks of warm-up (PyTorch `total_iters`, default 5).
    #[serde(default = "default_warmup_steps")]
    pub warmup_steps: u64,
    /// f₀ ∈ (0, 1]: the first rate is f₀·base (PyTorch default 1/3).
    #[serde(default = "default_start_factor")]
    pub start_factor: f64,
}

fn default_warmup_steps() -> u64 {
    5
}
fn default_start_factor() -> f64 {
    1.0 / 3.0
}
fn default_gamma_step() -> f64 {
    0.1
}
fn default_plateau_factor() -> f64 {
    0.1
}
fn default_patience() -> u64 {
    10
}
fn default_threshold() -> f64 {
    1e-4
}
fn default_plateau_eps() -> f64 {
    1e-8
}

/// Whether a smaller (`min`) or larger (`max`) metric is better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlateauMode {
    /// Lower is better (a loss).
    #[default]
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// How [`LrScheduleConfig::ReduceOnPlateau`]'s threshold is applied.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMode {
    /// Better means < best·(1 − threshold) (`min`) or > best·(1 + threshold) (`max`).
    #[default]
    Rel,
    /// Better means < best − threshold (`min`) or > best + threshold (`max`).
    Abs,
}

/// A learning-rate schedule: `schedule = { kind = "...", ... }` with PyTorch's defaults. The
/// rate is a function of the tick count t (see each variant) times the optimizer's base
/// learning rate; every variant also takes `per` (default `"epoch"`) and an optional
/// [`Warmup`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrScheduleConfig {
    /// `lr(t) = base`. TOML: `{ kind = "constant" }`.
    Constant {
        /// When `step` is called.
        #[serde(default)]
        per: SchedulePer,
        /// Optional linear warm-up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warmup: Option<Warmup>,
    },
    /// PyTorch `StepLR`: `lr(t) = base·γ^⌊t/step_size⌋`.
    /// TOML: `{ kind = "step", step_size = 30, gamma = 0.1 }`.
    Step {
        /// Ticks between decays (≥ 1, required).
        step_size: u64,
        /// Multiplicative decay γ > 0 (default 0.1).
        #[serde(default = "default_gamma_step")]
        gamma: f64,
        /// When `step` is called.
        #[serde(default)]
        per: SchedulePer,
        /// Optional linear warm-up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warmup: Option<Warmup>,
    },
    /// PyTorch `ExponentialLR`: `lr(t) = base·γᵗ`. TOML: `{ kind = "exponential", gamma = 0.95 }`.
    Exponential {
        /// Multiplicative decay γ > 0 per tick (required).
        gamma: f64,
        /// When `step` is called.
        #[serde(default)]
        per: SchedulePer,
        /// Optional linear warm-up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warmup: Option<Warmup>,
    },
    /// PyTorch `CosineAnnealingLR`:
    /// `lr(t) = η_min + (base − η_min)·(1 + cos(π·t/T_max))/2` (periodic beyond T_max, as in
    /// PyTorch). TOML: `{ kind = "cosine", t_max = 100, eta_min = 0.0 }`.
    #[serde(alias = "cosine_annealing")]
    Cosine {
        /// Half-period T_max ≥ 1 in ticks (required).
        t_max: u64,
        /// Floor η_min ≥ 0 (default 0).
        #[serde(default)]
        eta_min: f64,
        /// When `step` is called.
        #[serde(default)]
        per: SchedulePer,
        /// Optional linear warm-up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warmup: Option<Warmup>,
    },
    /// PyTorch `ReduceLROnPlateau`. Each tick takes a metric m; with best the best metric so
    /// far (initially +∞ for `min`, −∞ for `max`):
    ///
    /// ```text
    /// if better(m, best): best = m, bad = 0   else: bad += 1
    /// if cooldown_counter > 0: cooldown_counter −= 1, bad = 0
    /// if bad > patience: new = max(lr·factor, min_lr); if lr − new > eps: lr = new
    ///                    cooldown_counter = cooldown, bad = 0
    /// ```
    ///
    /// TOML: `{ kind = "reduce_on_plateau", mode = "min", factor = 0.1, patience = 10,
    /// threshold = 1e-4, threshold_mode = "rel", cooldown = 0, min_lr = 0.0, eps = 1e-8 }`.
    #[serde(alias = "plateau")]
    ReduceOnPlateau {
        /// `"min"` (default) or `"max"`.
        #[serde(default)]
        mode: PlateauMode,
        /// Reduction factor ∈ [0, 1) (default 0.1).
        #[serde(default = "default_plateau_factor")]
        factor: f64,
        /// Bad ticks tolerated before a reduction (default 10).
        #[serde(default = "default_patience")]
        patience: u64,
        /// Improvement threshold ≥ 0 (default 1e-4).
        #[serde(default = "default_threshold")]
        threshold: f64,
        /// `"rel"` (default) or `"abs"`.
        #[serde(default)]
        threshold_mode: ThresholdMode,
        /// Ticks to wait after a reduction before counting bad ticks again (default 0).
        #[serde(default)]
        cooldown: u64,
        /// Lower bound ≥ 0 of the rate (default 0).
        #[serde(default)]
        min_lr: f64,
        /// Reductions smaller than eps ≥ 0 are skipped (default 1e-8).
        #[serde(default = "default_plateau_eps")]
        eps: f64,
        /// When `step` is called.
        #[serde(default)]
        per: SchedulePer,
        /// Optional linear warm-up; metrics given during warm-up are ignored.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warmup: Option<Warmup>,
    },
}

impl Default for LrScheduleConfig {
    /// `{ kind = "constant" }`.
    fn default() -> Self {
        LrScheduleConfig::Constant {
            per: SchedulePer::Epoch,
            warmup: None,
        }
    }
}

fn positive(kind: &str, field: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "`{kind}.{field}` = {value} must be a finite number > 0"
        )))
    }
}

fn at_least_one(kind: &str, field: &str, value: u64) -> Result<()> {
    if value >= 1 {
        Ok(())
    } else {
        Err(Error::Invalid(format!("`{kind}.{field}` = 0 must be >= 1")))
    }
}

impl LrScheduleConfig {
    /// The `kind` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            LrScheduleConfig::Constant { .. } => "constant",
            LrScheduleConfig::Step { .. } => "step",
            LrScheduleConfig::Exponential { .. } => "exponential",
            LrScheduleConfig::Cosine { .. } => "cosine",
            LrScheduleConfig::ReduceOnPlateau { .. } => "reduce_on_plateau",
        }
    }

    /// When the training loop should call [`LrSchedule::step`].
    pub fn per(&self) -> SchedulePer {
        match self {
            LrScheduleConfig::Constant { per, .. }
            | LrScheduleConfig::Step { per, .. }
            | LrScheduleConfig::Exponential { per, .. }
            | LrScheduleConfig::Cosine { per, .. }
            | LrScheduleConfig::ReduceOnPlateau { per, .. } => *per,
        }
    }

    /// The warm-up, if any.
    pub fn warmup(&self) -> Option<&Warmup> {
        match self {
            LrScheduleConfig::Constant { warmup, .. }
            | LrScheduleConfig::Step { warmup, .. }
            | LrScheduleConfig::Exponential { warmup, .. }
            | LrScheduleConfig::Cosine { warmup, .. }
            | LrScheduleConfig::ReduceOnPlateau { warmup, .. } => warmup.as_ref(),
        }
    }

    /// True for `reduce_on_plateau`, whose [`LrSchedule::step`] needs a metric.
    pub fn needs_metric(&self) -> bool {
        matches!(self, LrScheduleConfig::ReduceOnPlateau { .. })
    }

    /// Checks ranges; the error names the field, e.g. ``invalid argument: `step.step_size` = 0
    /// must be >= 1``.
    pub fn validate(&self) -> Result<()> {
        let k = self.kind();
        match self {
            LrScheduleConfig::Constant { .. } => {}
            LrScheduleConfig::Step {
                step_size, gamma, ..
            } => {
                at_least_one(k, "step_size", *step_size)?;
                positive(k, "gamma", *gamma)?;
            }
            LrScheduleConfig::Exponential { gamma, .. } => positive(k, "gamma", *gamma)?,
            LrScheduleConfig::Cosine { t_max, eta_min, .. } => {
                at_least_one(k, "t_max", *t_max)?;
                non_negative(k, "eta_min", *eta_min)?;
            }
            LrScheduleConfig::ReduceOnPlateau {
                factor,
                threshold,
                min_lr,
                eps,
                ..
            } => {
                if !(0.0..1.0).contains(factor) {
                    return Err(Error::Invalid(format!(
                        "`{k}.factor` = {factor} must be in [0, 1)"
                    )));
                }
                non_negative(k, "threshold", *threshold)?;
                non_negative(k, "min_lr", *min_lr)?;
                non_negative(k, "eps", *eps)?;
            }
        }
        if let Some(w) = self.warmup() {
            at_least_one(k, "warmup.warmup_steps", w.warmup_steps)?;
            if !(w.start_factor > 0.0 && w.start_factor <= 1.0) {
                return Err(Error::Invalid(format!(
                    "`{k}.warmup.start_factor` = {} must be in (0, 1]",
                    w.start_factor
                )));
            }
        }
        Ok(())
    }
}

/// Resumable state of an [`LrSchedule`]: everything but the configuration and base rate.
///
/// JSON: `{"ticks":12}` or, for `reduce_on_plateau`,
/// `{"ticks":12,"plateau":{"best":"0.4213","num_bad_epochs":3,"cooldown_counter":0,"reductions":1}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrScheduleState {
    /// Number of [`LrSchedule::step`] calls.
    pub ticks: u64,
    /// The plateau detector (only for `reduce_on_plateau`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plateau: Option<PlateauState>,
}

/// The state of `ReduceLROnPlateau`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlateauState {
    /// Best metric so far (±∞ before the first metric). Serialized as a decimal string so that
    /// a JSON round trip is exact and ±∞/NaN survive; a JSON number is accepted too.
    #[serde(with = "exact_f64")]
    pub best: f64,
    /// Consecutive ticks without improvement.
    pub num_bad_epochs: u64,
    /// Ticks left in the cool-down.
    pub cooldown_counter: u64,
    /// Number of reductions applied so far (the rate is recomputed from it, exactly).
    pub reductions: u32,
}

/// A running learning-rate schedule built from an [`LrScheduleConfig`] and a base rate.
///
/// ```text
/// let mut sched = LrSchedule::new(&cfg, opt.base_lr())?;
/// for epoch in .. { train(lr = sched.lr()); sched.step(Some(val_loss))?; }
/// ```
#[derive(Clone, Debug)]
pub struct LrSchedule {
    config: LrScheduleConfig,
    base_lr: f64,
    ticks: u64,
    plateau: PlateauState,
    plateau_lr: f64,
    lr: f64,
}

impl LrSchedule {
    /// Validates `config` and `base_lr` (finite, ≥ 0) and starts at t = 0.
    pub fn new(config: &LrScheduleConfig, base_lr: f64) -> Result<Self> {
        config.validate()?;
        non_negative("optimizer", "lr", base_lr)?;
        let mut s = LrSchedule {
            config: config.clone(),
            base_lr,
            ticks: 0,
            plateau: PlateauState {
                best: 0.0,
                num_bad_epochs: 0,
                cooldown_counter: 0,
                reductions: 0,
            },
            plateau_lr: base_lr,
            lr: base_lr,
        };
        s.plateau.best = s.worst();
        s.lr = s.compute();
        Ok(s)
    }

    /// The configuration.
    pub fn config(&self) -> &LrScheduleConfig {
        &self.config
    }

    /// The base learning rate the schedule scales.
    pub fn base_lr(&self) -> f64 {
        self.base_lr
    }

    /// When the training loop should call [`LrSchedule::step`].
    pub fn per(&self) -> SchedulePer {
        self.config.per()
    }

    /// Number of [`LrSchedule::step`] calls so far (t).
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The current learning rate lr(t), to pass to [`super::Optimizer::update`].
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Advances t by one. `reduce_on_plateau` needs `metric` (an error otherwise, except
    /// during warm-up, whose metrics are ignored); the other kinds ignore it. A NaN metric
    /// counts as "not better", as in PyTorch.
    pub fn step(&mut self, metric: Option<f64>) -> Result<()> {
        let warm = self.config.warmup().map_or(0, |w| w.warmup_steps);
        if self.config.needs_metric() && self.ticks + 1 > warm {
            let Some(m) = metric else {
                return Err(Error::Invalid(
                    "`reduce_on_plateau` schedule stepped without a metric".into(),
                ));
            };
            self.plateau_step(m);
        }
        self.ticks += 1;
        self.lr = self.compute();
        Ok(())
    }

    /// The state to save for resuming.
    pub fn state(&self) -> LrScheduleState {
        LrScheduleState {
            ticks: self.ticks,
            plateau: self.config.needs_metric().then(|| self.plateau.clone()),
        }
    }

    /// Restores a state from [`LrSchedule::state`]; afterwards `lr()` and every later value
    /// are bit-identical to the saved run's. Errors when the plateau part is missing or
    /// unexpected for this configuration.
    pub fn load_state(&mut self, state: &LrScheduleState) -> Result<()> {
        match (&state.plateau, self.config.needs_metric()) {
            (Some(p), true) => {
                self.plateau = p.clone();
                self.plateau_lr = self.replay_reductions(p.reductions);
            }
            (None, false) => {}
            (None, true) => {
                return Err(Error::Invalid(
                    "schedule state lacks the `plateau` part needed by `reduce_on_plateau`".into(),
                ))
            }
            (Some(_), false) => {
                return Err(Error::Invalid(format!(
                    "schedule state has a `plateau` part but the schedule is `{}`",
                    self.config.kind()
                )))
            }
        }
        self.ticks = state.ticks;
        self.lr = self.compute();
        Ok(())
    }

    fn worst(&self) -> f64 {
        match self.config {
            LrScheduleConfig::ReduceOnPlateau {
                mode: PlateauMode::Max,
                ..
            } => f64::NEG_INFINITY,
            _ => f64::INFINITY,
        }
    }

    /// The rate after `k` applied reductions: lr ← max(lr·factor, min_lr), k times.
    fn replay_reductions(&self, k: u32) -> f64 {
        let LrScheduleConfig::ReduceOnPlateau { factor, min_lr, .. } = self.config else {
            return self.base_lr;
        };
        let mut lr = self.base_lr;
        for _ in 0..k {
            lr = (lr * factor).max(min_lr);
        }
        lr
    }

    fn plateau_step(&mut self, current: f64) {
        let LrScheduleConfig::ReduceOnPlateau {
            mode,
            factor,
            patience,
            threshold,
            threshold_mode,
            cooldown,
            min_lr,
            eps,
            ..
        } = self.config
        else {
            return;
        };
        let p = &mut self.plateau;
        let best = p.best;
        let better = match (mode, threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => current < best * (1.0 - threshold),
            (PlateauMode::Min, ThresholdMode::Abs) => current < best - threshold,
            (PlateauMode::Max, ThresholdMode::Rel) => current > best * (threshold + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => current > best + threshold,
        };
        if better {
            p.best = current;
            p.num_bad_epochs = 0;
        } else {
            p.num_bad_epochs += 1;
        }
        if p.cooldown_counter > 0 {
            p.cooldown_counter -= 1;
            p.num_bad_epochs = 0;
        }
        if p.num_bad_epochs > patience {
            let old = self.plateau_lr;
            let new = (old * factor).max(min_lr);
            if old - new > eps {
                self.plateau_lr = new;
                p.reductions += 1;
            }
            p.cooldown_counter = cooldown;
            p.num_bad_epochs = 0;
        }
    }

    /// lr(t) in closed form.
    fn compute(&self) -> f64 {
        let base = self.base_lr;
        let mut t = self.ticks;
        if let Some(w) = self.config.warmup() {
            if t < w.warmup_steps {
                let f0 = w.start_factor;
                return base * (f0 + (1.0 - f0) * t as f64 / w.warmup_steps as f64);
            }
            t -= w.warmup_steps;
        }
        match self.config {
            LrScheduleConfig::Constant { .. } => base,
            LrScheduleConfig::Step {
                step_size, gamma, ..
            } => base * gamma.powf((t / step_size) as f64),
            LrScheduleConfig::Exponential { gamma, .. } => base * gamma.powf(t as f64),
            LrScheduleConfig::Cosine { t_max, eta_min, .. } => {
                eta_min
                    + (base - eta_min)
                        * (1.0 + (std::f64::consts::PI * t as f64 / t_max as f64).cos())
                        / 2.0
            }
            LrScheduleConfig::ReduceOnPlateau { .. } => self.plateau_lr,
        }
    }
}

/// Serializes an f64 as its shortest round-trip decimal string (`"0.1"`, `"inf"`, `"NaN"`);
/// deserializes such a string or a plain number.
mod exact_f64 {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{x:?}"))
    }

    struct V;
    impl Visitor<'_> for V {
        type Value = f64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number or a decimal string such as \"0.25\", \"inf\", \"-inf\", \"NaN\"")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            v.trim()
                .parse::<f64>()
                .map_err(|_| E::custom(format!("`{v}` is not a number")))
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(V)
    }
}
