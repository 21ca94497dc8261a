//! The `[diagnostics]` config table: how often the scope measures, what it records, and the
//! verdict thresholds (`[diagnostics.thresholds]`, documented in docs/diagnostics.md).

use crate::error::{Error, Result};

fn default_every() -> u64 {
    100
}
fn default_bins() -> usize {
    24
}
fn default_true() -> bool {
    true
}

/// The `[diagnostics]` config table.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnosticsConfig {
    /// Measure every this many steps (and at step 1). The default, 100, keeps the cost under
    /// 5% of training time even on the tiny digits MLP (`gradscope bench --diagnostics-overhead`).
    #[serde(default = "default_every")]
    pub every: u64,
    /// Bins of each histogram.
    #[serde(default = "default_bins")]
    pub bins: usize,
    /// Record histograms of ∂L/∂z and of activations.
    #[serde(default = "default_true")]
    pub histograms: bool,
    /// Verdict thresholds.
    #[serde(default)]
    pub thresholds: Thresholds,
}

impl Default for DiagnosticsConfig {
    fn default() -> Self {
        DiagnosticsConfig {
            every: default_every(),
            bins: default_bins(),
            histograms: true,
            thresholds: Thresholds::default(),
        }
    }
}

impl DiagnosticsConfig {
    /// Checks ranges (messages start with the field path).
    pub fn validate(&self) -> Result<()> {
        if self.every == 0 {
            return Err(Error::at_field("diagnostics.every", "must be >= 1"));
        }
        if self.bins == 0 || self.bins > 1000 {
            return Err(Error::at_field(
                "diagnostics.bins",
                format_args!("= {} must be in 1..=1000", self.bins),
            ));
        }
        self.thresholds.validate()
    }

    /// True when step `step` (1-based) is measured.
    pub fn due(&self, step: u64) -> bool {
        step == 1 || step.is_multiple_of(self.every)
    }
}

fn d_vanish() -> f64 {
    1e-2
}
fn d_explode() -> f64 {
    1e2
}
fn d_norm() -> f64 {
    1e3
}
fn d_half() -> f64 {
    0.5
}
fn d_pl_vanish() -> f64 {
    0.9
}
fn d_pl_explode() -> f64 {
    1.1
}

/// Thresholds of the verdicts (the `[diagnostics.thresholds]` table).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// ‖δ_first‖/‖δ_last‖ below this: vanishing.
    #[serde(default = "d_vanish")]
    pub vanishing_ratio: f64,
    /// ‖δ_first‖/‖δ_last‖ above this: exploding.
    #[serde(default = "d_explode")]
    pub exploding_ratio: f64,
    /// Per-layer factor ‖δ_l‖/‖δ_{l+1}‖ (geometric mean) below this, with a total change of
    /// over 10×: vanishing (it will vanish with depth).
    #[serde(default = "d_pl_vanish")]
    pub per_layer_vanishing: f64,
    /// Per-layer factor above this, with a total change of over 10×: exploding.
    #[serde(default = "d_pl_explode")]
    pub per_layer_exploding: f64,
    /// Global gradient norm above this: exploding.
    #[serde(default = "d_norm")]
    pub exploding_norm: f64,
    /// Saturated fraction of a layer's units above this: saturated layer.
    #[serde(default = "d_half")]
    pub saturated: f64,
    /// Dead fraction of a layer's units above this: dead layer.
    #[serde(default = "d_half")]
    pub dead: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            vanishing_ratio: d_vanish(),
            exploding_ratio: d_explode(),
            per_layer_vanishing: d_pl_vanish(),
            per_layer_exploding: d_pl_explode(),
            exploding_norm: d_norm(),
            saturated: d_half(),
            dead: d_half(),
        }
    }
}

impl Thresholds {
    /// Checks ranges.
    pub fn validate(&self) -> Result<()> {
        let ok = self.vanishing_ratio > 0.0
            && self.vanishing_ratio < 1.0
            && self.exploding_ratio > 1.0
            && self.per_layer_vanishing > 0.0
            && self.per_layer_vanishing < 1.0
            && self.per_layer_exploding > 1.0
            && self.exploding_norm > 0.0
            && (0.0..=1.0).contains(&self.saturated)
            && (0.0..=1.0).contains(&self.dead);
        if ok {
            Ok(())
        } else {
            Err(Error::config_field(
                "diagnostics.thresholds",
                format!(
                    "diagnostics.thresholds: need 0 < vanishing_ratio < 1 < exploding_ratio, \
                 exploding_norm > 0, saturated and dead in [0, 1]; got {self:?}"
                ),
            ))
        }
    }
}
