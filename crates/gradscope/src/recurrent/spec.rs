//! [`RecurrentSpec`]: the `[model.recurrent]` table — which cell, how wide, how deep, how it
//! is initialized and what it predicts from.

use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::init::{BiasInit, Init};

/// The recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellKind {
    /// Elman RNN, h_t = f(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh).
    Rnn,
    /// LSTM (gates i, f, g, o).
    Lstm,
    /// GRU (gates r, z, n).
    Gru,
}

impl CellKind {
    /// `"rnn"`, `"lstm"` or `"gru"`.
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Rnn => "rnn",
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
        }
    }

    /// Gate blocks G in W_ih `[G·H, I]` and W_hh `[G·H, H]`: 1, 4 or 3.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Rnn => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }

    /// Names of the gate blocks, in PyTorch's order.
    pub fn gate_names(self) -> &'static [&'static str] {
        match self {
            CellKind::Rnn => &["h"],
            CellKind::Lstm => &["i", "f", "g", "o"],
            CellKind::Gru => &["r", "z", "n"],
        }
    }
}

/// What the network predicts from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Predict {
    /// Many-to-one: the last hidden state h_T of the top layer feeds the head.
    #[default]
    Last,
    /// Many-to-many: every h_t feeds the head (one prediction per step, e.g. the next
    /// character); the loss is averaged over all steps.
    EveryStep,
}

fn default_layers() -> usize {
    1
}

/// The `[model.recurrent]` table: a stack of `layers` recurrent layers of width `hidden`
/// (PyTorch `nn.RNN`/`nn.LSTM`/`nn.GRU` with `num_layers = layers`), read from rows that are
/// sequences of `model.input` features per step, followed by the `[model]` MLP head.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecurrentSpec {
    /// `"rnn"`, `"lstm"` or `"gru"`.
    pub cell: CellKind,
    /// Hidden width H.
    pub hidden: usize,
    /// Stacked layers (layer k > 0 reads the hidden states of layer k − 1).
    #[serde(default = "default_layers")]
    pub layers: usize,
    /// RNN only: the element-wise activation f (default tanh; any element-wise catalogue
    /// activation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// `"last"` (many-to-one, default) or `"every_step"` (many-to-many).
    #[serde(default)]
    pub predict: Predict,
    /// Initializer of each gate block `[H, I]` of W_ih (default: PyTorch's U[−1/√H, 1/√H]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_ih: Option<Init>,
    /// Initializer of each gate block `[H, H]` of W_hh, e.g. `"orthogonal"` or
    /// `"identity"` (IRNN, Le et al. 2015) (default: PyTorch's U[−1/√H, 1/√H]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_hh: Option<Init>,
    /// Initializer of both biases b_ih and b_hh, e.g. `"zeros"` or `"variance(0.05)"`
    /// (default: PyTorch's U[−1/√H, 1/√H], or zeros when `init_ih`/`init_hh` is given);
    /// `forget_bias` is added after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_bias: Option<BiasInit>,
    /// After initialization, rescale each gate block of W_hh to this spectral radius ρ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spectral_radius: Option<f64>,
    /// LSTM only: added to the forget-gate block of `bias_ih` (1 is the usual choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forget_bias: Option<f64>,
    /// Truncated BPTT: no gradient crosses the boundary between chunks of this many steps
    /// (the state is still carried forward exactly). Absent = full BPTT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate: Option<usize>,
}

impl RecurrentSpec {
    /// A spec with defaults for everything but the cell and width.
    pub fn new(cell: CellKind, hidden: usize) -> Self {
        RecurrentSpec {
            cell,
            hidden,
            layers: 1,
            activation: None,
            predict: Predict::Last,
            init_ih: None,
            init_hh: None,
            init_bias: None,
            spectral_radius: None,
            forget_bias: None,
            truncate: None,
        }
    }

    /// The RNN activation (tanh unless given).
    pub fn activation(&self) -> Activation {
        self.activation.unwrap_or(Activation::Tanh)
    }

    /// Checks sizes and ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        // Messages start with the key; the field is its path under `model.recurrent`.
        let bad = |key: &str, m: String| {
            Err(Error::config_field(
                format!("model.recurrent.{key}"),
                format!("model.recurrent.{m}"),
            ))
        };
        if self.hidden == 0 {
            return bad("hidden", "hidden must be > 0".into());
        }
        if self.layers == 0 {
            return bad("layers", "layers must be > 0".into());
        }
        if let Some(a) = self.activation {
            if self.cell != CellKind::Rnn {
                return bad(
                    "activation",
                    format!(
                    "activation = \"{a}\" only applies to cell = \"rnn\" (the {} cell has fixed \
                     sigmoid/tanh gates)",
                    self.cell.name()
                ),
                );
            }
            if a.is_rowwise() || matches!(a, Activation::Prelu { .. }) {
                return bad(
                    "activation",
                    format!(
                        "activation = \"{a}\": a recurrent cell needs an element-wise activation \
                     without parameters"
                    ),
                );
            }
        }
        if self.forget_bias.is_some() && self.cell != CellKind::Lstm {
            return bad(
                "forget_bias",
                format!(
                    "forget_bias only applies to cell = \"lstm\", not \"{}\"",
                    self.cell.name()
                ),
            );
        }
        if let Some(b) = self.forget_bias {
            if !b.is_finite() {
                return bad("forget_bias", format!("forget_bias = {b} must be finite"));
            }
        }
        if let Some(r) = self.spectral_radius {
            if !(r.is_finite() && r > 0.0) {
                return bad(
                    "spectral_radius",
                    format!("spectral_radius = {r} must be > 0"),
                );
            }
        }
        if self.truncate == Some(0) {
            return bad(
                "truncate",
                "truncate must be >= 1 (or absent for full BPTT)".into(),
            );
        }
        Ok(())
    }

    /// One line, e.g. `lstm(2 -> 64, layers=1, last)`.
    pub fn describe(&self, input: usize) -> String {
        let mut s = format!("{}({input} -> {}", self.cell.name(), self.hidden);
        if self.cell == CellKind::Rnn {
            s += &format!(", {}", self.activation());
        }
        if self.layers > 1 {
            s += &format!(", layers={}", self.layers);
        }
        s += match self.predict {
            Predict::Last => ", last",
            Predict::EveryStep => ", every_step",
        };
        if let Some(k) = self.truncate {
            s += &format!(", truncate={k}");
        }
        s + ")"
    }
}
