//! Remedies as sentences: what to change, why, and the config keys that change it.

use crate::diagnostics::remedy::Remedy;
use crate::diagnostics::verdict::{sci, Advice, Verdict, SMALL_BATCH};
use crate::model::Norm;

/// The numbers a remedy's sentence may quote, from the verdict that recommends it.
#[derive(Clone, Debug, Default)]
pub struct RemedyContext {
    /// RNN: the cell's activation (text form).
    pub rnn_activation: Option<String>,
    /// RNN: γ = max |f'| of that activation.
    pub gamma: Option<f64>,
    /// RNN: Pascanu et al.'s threshold 1/γ.
    pub threshold: Option<f64>,
    /// σ_max(W_hh) at the first measured step.
    pub sigma_max: Option<f64>,
    /// The span of steps the gradient crosses.
    pub span: Option<usize>,
    /// The LSTM's current forget bias.
    pub forget_bias: Option<f64>,
    /// The training batch's rows (why a normalization remedy is LayerNorm).
    pub batch_size: Option<usize>,
    /// The model is a sequence model (its head gets the normalization).
    pub sequence_model: bool,
}

/// The remedy with its sentence and overrides.
pub fn advice_with(remedy: Remedy, ctx: &RemedyContext) -> Advice {
    Advice {
        text: remedy_text(&remedy, ctx),
        overrides: remedy.overrides(),
        remedy,
    }
}

/// A depth remedy with its sentence.
pub fn advice(remedy: Remedy, v: &Verdict) -> Advice {
    let ctx = RemedyContext {
        batch_size: v.batch_size,
        sequence_model: !v.recurrent.is_empty(),
        ..RemedyContext::default()
    };
    advice_with(remedy, &ctx)
}

fn overrides_text(r: &Remedy) -> String {
    let o = r.overrides();
    if o.is_empty() {
        String::new()
    } else {
        format!(" ({})", o.join(", "))
    }
}

/// One remedy as a sentence, naming the config keys that apply it.
pub fn remedy_text(r: &Remedy, ctx: &RemedyContext) -> String {
    let keys = overrides_text(r);
    match r {
        Remedy::Activation { activation, init } => format!(
            "Use a non-saturating activation from the ReLU family with a matching init: \
             {activation} with {init}{keys}: f'(z) = 1 on active units, so the activations no \
             longer shrink the gradient."
        ),
        Remedy::Norm { norm } => match norm {
            Norm::None => format!("Use no normalization layer{keys}."),
            Norm::Batchnorm => format!(
                "Normalize before each activation (batchnorm){keys}: it keeps z in the \
                 high-slope region of f whatever the weights do."
            ),
            Norm::Layernorm => {
                let why = if ctx.sequence_model {
                    "the normalization of recurrent networks (Ba et al. 2016), for a sequence \
                     model's head whatever its batch"
                        .to_string()
                } else {
                    match ctx.batch_size {
                        Some(1) => {
                            "batches of one row have no batch variance for BatchNorm".to_string()
                        }
                        Some(n) => format!(
                            "with batches of {n} rows (fewer than {SMALL_BATCH}) BatchNorm's \
                             batch mean and variance would be off by about {:.0}% of σ and \
                             {:.0}% of σ²",
                            100.0 / (n as f64).sqrt(),
                            100.0 * (2.0 / (n as f64 - 1.0)).sqrt()
                        ),
                        None => "BatchNorm needs larger batches".to_string(),
                    }
                };
                format!(
                    "Normalize each sample over its units before each activation \
                     (layernorm){keys}: it keeps z in the high-slope region of f whatever the \
                     weights do, from the sample's own mean and variance — {why}."
                )
            }
        },
        Remedy::Residual => format!(
            "Add residual connections{keys}: the identity path carries the gradient past each \
             layer."
        ),
        Remedy::Init { init } => format!(
            "Initialize at the activation's critical variance: {init}{keys} (`gradscope theory \
             --critical` gives σ_w² where the per-layer factor χ₁ = 1)."
        ),
        Remedy::ClipNorm { max_norm } => format!(
            "Clip the gradient's global norm to {}{keys} (Pascanu et al. 2013: it rescales the \
             rare huge steps and keeps their direction).",
            sci(*max_norm)
        ),
        Remedy::LowerLearningRate { factor } => format!(
            "Lower the learning rate (training.lr), e.g. ×{}.",
            sci(*factor)
        ),
        Remedy::WeightDecay { weight_decay } => format!(
            "Add L2 regularization (weight decay {}){keys} to keep the weights small.",
            sci(*weight_decay)
        ),
        Remedy::LeakyActivation { activation } => format!(
            "Dead units pass no gradient: use {activation}{keys} (or elu), a lower learning \
             rate, and He init."
        ),
        Remedy::RecurrentActivation { activation } => match (ctx.gamma, ctx.threshold) {
            (Some(g), Some(thr)) => format!(
                "Use {activation} instead of {}: γ = 1 instead of {}, so W_hh needs σ_max ≈ 1 \
                 instead of {} to carry the gradient{keys}.",
                ctx.rnn_activation.as_deref().unwrap_or("this activation"),
                sci(g),
                sci(thr)
            ),
            _ => format!("Use {activation} in the RNN cell{keys}."),
        },
        Remedy::GatedCell { cell, .. } => format!(
            "Use a gated cell ({}){keys}: the memory carries the gradient along the forget \
             gate instead of through W_hh and f'.",
            cell.name()
        ),
        Remedy::RecurrentInit { init } => format!(
            "Initialize W_hh as {init}{keys}: orthogonal makes σ_max = ρ = 1, so only the \
             shrinkage by f' < γ of the units remains."
        ),
        Remedy::SpectralRadius { radius } => match (ctx.sigma_max, ctx.threshold) {
            (Some(s), Some(thr)) => format!(
                "Bring σ_max(W_hh) (now {}) down towards 1/γ = {}: rescale W_hh to spectral \
                 radius {}{keys}.",
                sci(s),
                sci(thr),
                sci(*radius)
            ),
            _ => format!("Shrink W_hh to spectral radius {}{keys}.", sci(*radius)),
        },
        Remedy::Irnn => format!(
            "IRNN (Le et al. 2015): ReLU units with W_hh = I pass the gradient unchanged on \
             active units; pair it with gradient clipping{keys}."
        ),
        Remedy::ForgetBias { bias } => match (ctx.forget_bias, ctx.span) {
            (Some(b), Some(span)) if b >= 1.0 => format!(
                "Open the forget gate further: forget bias {} (now {}){keys}: over {span} steps \
                 the memory keeps f^{span} of its gradient, so f must be close to 1 (σ(3) = \
                 0.95).",
                sci(*bias),
                sci(b)
            ),
            _ => format!(
                "Bias the forget gate open{keys} (2–3 for longer sequences): f_t near 1 keeps \
                 both the memory and its gradient."
            ),
        },
        Remedy::Truncate { steps } => format!(
            "Truncated BPTT over {steps} steps{keys} multiplies at most that many Jacobians per \
             gradient."
        ),
        Remedy::ShorterPath => "Shorten the distance the gradient must cross (shorter \
             sequences, or model.recurrent.predict = \"every_step\" when there is a target per \
             step)."
            .to_string(),
        Remedy::StandardizeInputs => format!(
            "Standardize the inputs{keys} so that the units start in the high-slope region of \
             f."
        ),
    }
}
