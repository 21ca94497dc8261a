//! The gradient through time as profiles over t for a diagnosis: ‖∂L/∂h_t‖ at the first and
//! last measured steps with Pascanu et al.'s geometric bound and, when every step receives
//! its own gradient, the Jacobian product.

use super::records::StepRecord;
use super::recurrent::{GradientSource, RecurrentLayerRecord};

/// One stacked layer's profiles.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThroughTimeLayer {
    /// 1-based position in the stack.
    pub layer: usize,
    /// Time steps T.
    pub steps: usize,
    /// The first measured training step.
    pub first_step: u64,
    /// The last measured training step.
    pub last_step: u64,
    /// ‖∂L/∂h_t‖, t = 1..T, at the first measured step.
    pub grad_norms_first: Vec<f64>,
    /// ‖∂L/∂h_t‖, t = 1..T, at the last measured step.
    pub grad_norms_last: Vec<f64>,
    /// LSTM: ‖∂L/∂c_t‖ at the first measured step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_grad_norms_first: Option<Vec<f64>>,
    /// RNN: ‖∂L/∂h_T‖·(γ·σ_max)^(T−t) at the first measured step — Pascanu et al.'s bound on
    /// a gradient that enters at step T.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_first: Option<Vec<f64>>,
    /// RNN: the Jacobian product on a unit vector injected at T, at the first measured step
    /// (scaled to ‖∂L/∂h_T‖).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jacobian_first: Option<Vec<f64>>,
}

/// One sampled time step of a [`ThroughTimeLayer`]'s profiles: the norms and their ratios to
/// the last step's ‖∂L/∂h_T‖ at the first measured step.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProfileRow {
    /// The time step t (1-based; T is where the loss enters).
    pub t: usize,
    /// ‖∂L/∂h_t‖ at the first measured step.
    pub grad_first: f64,
    /// ‖∂L/∂h_t‖ at the last measured step.
    pub grad_last: Option<f64>,
    /// ‖∂L/∂h_t‖/‖∂L/∂h_T‖ at the first measured step.
    pub ratio_first: f64,
    /// RNN: Pascanu et al.'s bound (γ·σ_max)^(T−t) (the bound over ‖∂L/∂h_T‖).
    pub bound_ratio: Option<f64>,
    /// RNN whose steps each receive their own gradient: the Jacobian product from T, relative
    /// to ‖∂L/∂h_T‖.
    pub jacobian_ratio: Option<f64>,
    /// LSTM: ‖∂L/∂c_t‖ at the first measured step.
    pub cell_grad_first: Option<f64>,
}

impl ThroughTimeLayer {
    /// The profiles at about 11 time steps from T down to 1 ([`sampled_steps`]).
    pub fn sampled_rows(&self) -> Vec<ProfileRow> {
        let last = self.grad_norms_first.last().copied().unwrap_or(f64::NAN);
        sampled_steps(self.steps)
            .into_iter()
            .filter(|t| *t <= self.grad_norms_first.len())
            .map(|t| {
                let i = t - 1;
                let g = self.grad_norms_first[i];
                ProfileRow {
                    t,
                    grad_first: g,
                    grad_last: self.grad_norms_last.get(i).copied(),
                    ratio_first: g / last,
                    bound_ratio: self
                        .bound_first
                        .as_ref()
                        .and_then(|b| b.get(i))
                        .map(|b| b / last),
                    jacobian_ratio: self
                        .jacobian_first
                        .as_ref()
                        .and_then(|j| j.get(i))
                        .map(|j| j / last),
                    cell_grad_first: self
                        .cell_grad_norms_first
                        .as_ref()
                        .and_then(|c| c.get(i))
                        .copied(),
                }
            })
            .collect()
    }
}

/// The profiles of one recurrent encoder.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThroughTime {
    /// The encoder's state-dict prefix (`rnn`).
    pub path: String,
    /// Its description.
    pub name: String,
    /// Per stacked layer.
    pub layers: Vec<ThroughTimeLayer>,
}

/// ‖∂L/∂h_T‖·(γσ_max)^(T−t) for t = 1..T.
fn bound(l: &RecurrentLayerRecord) -> Option<Vec<f64>> {
    let f = l.gamma? * l.sigma_max;
    let last = *l.grad_norms.last()?;
    let t = l.grad_norms.len();
    Some((0..t).map(|i| last * f.powi((t - 1 - i) as i32)).collect())
}

fn jacobian_scaled(l: &RecurrentLayerRecord) -> Option<Vec<f64>> {
    let last = *l.grad_norms.last()?;
    Some(
        l.jacobian_norms
            .as_ref()?
            .iter()
            .map(|v| v * last)
            .collect(),
    )
}

/// The profiles of every recurrent encoder at the first and last measured steps.
pub fn through_time(records: &[StepRecord]) -> Vec<ThroughTime> {
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Vec::new();
    };
    first
        .recurrent
        .iter()
        .enumerate()
        .map(|(e, rr)| {
            let layers = rr
                .layers
                .iter()
                .enumerate()
                .filter_map(|(k, a)| {
                    let b = last.recurrent.get(e)?.layers.get(k)?;
                    Some(ThroughTimeLayer {
                        layer: k + 1,
                        steps: a.steps,
                        first_step: first.step,
                        last_step: last.step,
                        grad_norms_first: a.grad_norms.clone(),
                        grad_norms_last: b.grad_norms.clone(),
                        cell_grad_norms_first: a.cell_grad_norms.clone(),
                        bound_first: bound(a),
                        jacobian_first: (a.source == GradientSource::EveryStep)
                            .then(|| jacobian_scaled(a))
                            .flatten(),
                    })
                })
                .collect();
            ThroughTime {
                path: rr.path.clone(),
                name: rr.name.clone(),
                layers,
            }
        })
        .collect()
}

/// About 11 time steps from T down to 1 (1-based): T, then every ⌈T/10⌉ steps back, and 1.
pub fn sampled_steps(t: usize) -> Vec<usize> {
    if t == 0 {
        return Vec::new();
    }
    let stride = t.div_ceil(10).max(1);
    let mut v: Vec<usize> = (0..)
        .map(|k| t as i64 - (k * stride) as i64)
        .take_while(|s| *s >= 1)
        .map(|s| s as usize)
        .collect();
    if v.last() != Some(&1) {
        v.push(1);
    }
    v
}
