//! `irnn2015`: Le, Jaitly & Hinton (2015), "A Simple Way to Initialize Recurrent Networks of
//! Rectified Linear Units": a ReLU RNN with W_hh = I (the IRNN) learns the adding problem at
//! sequence lengths where a tanh RNN stays at the predict-the-mean baseline.

use super::{cell, dec3, Agreement, Claim, Scale, Study};
use crate::diagnostics::Flow;
use crate::sweep::Results;

/// The MSE of predicting the mean (1) on the adding problem: Var(u₁ + u₂) = 2/12 = 1/6.
const BASELINE: f64 = 1.0 / 6.0;

/// The two models, as the zipped axis labels them.
const IRNN: &str = "relu / identity(1.0)";
const TANH: &str = "tanh / standard";

pub(super) const STUDY: Study = Study {
    name: "irnn2015",
    title: "Le, Jaitly & Hinton (2015): a ReLU RNN with identity W_hh (IRNN) learns the adding \
            problem where a tanh RNN does not",
    setting: "RNNs of 32 units on the adding problem (target: the sum of the two marked values; \
              predicting the mean gives MSE 1/6): the IRNN (ReLU, W_hh = I, biases 0) against a \
              tanh RNN with W_hh ~ U[±1/√H] (biases 0), both with Adam (lr 0.001, batch 32) and \
              norm clipping at 1, each over several seeds. quick: T = 50, 4000 sequences, 20 \
              epochs, 3 seeds; paper: T = 50 and 100, 10000 sequences, 20 epochs, 3 seeds. The \
              paper: T = 150–400, 100 000 sequences, 100 units, plain SGD with clipping, an \
              LSTM beside them.",
    sweep,
    judge,
    curve: None,
    figures: super::no_figures,
};

fn sweep(scale: Scale) -> String {
    let (lens, n, repeats) = match scale {
        Scale::Quick => ("[50]", 4000, 3),
        Scale::Paper => ("[50, 100]", 10000, 3),
    };
    format!(
        r#"repeats = {repeats}
metric = "val_loss"

[[axis]]
keys = ["model.recurrent.activation", "model.recurrent.init_hh"]
values = [["relu", "identity(1.0)"], ["tanh", "standard"]]

[[axis]]
key = "data.seq_len"
values = {lens}

[base]
seed = 1
[base.data]
source = "adding"
n = {n}
seq_len = 50
split = [0.8, 0.1, 0.1]
[base.model]
output = 1
[base.model.recurrent]
cell = "rnn"
hidden = 32
[base.training]
loss = "mse"
tolerance = 0.04
epochs = 20
batch_size = 32
optimizer = {{ kind = "adam", lr = 0.001 }}
clip = {{ kind = "norm", max_norm = 1.0 }}
"#
    )
}

fn judge(r: &Results) -> Vec<Claim> {
    let lens = &r.sweep.axes[1];
    let labels: Vec<String> = (0..lens.len()).map(|i| lens.label(i)).collect();
    let mse = |model: &str, len: &str| cell(r, "val_loss", &[(0, model), (1, len)]);
    // 1. At each length, the IRNN goes under half the baseline, the tanh RNN stays above
    //    0.8 × the baseline.
    let mut holding = 0;
    let mut parts = Vec::new();
    for len in &labels {
        let (i, t) = (mse(IRNN, len), mse(TANH, len));
        if i.is_some_and(|s| s.mean < BASELINE / 2.0) {
            holding += 1;
        }
        if t.is_some_and(|s| s.mean >= 0.8 * BASELINE) {
            holding += 1;
        }
        parts.push(format!("T = {len}: IRNN {}, tanh {}", dec3(i), dec3(t)));
    }
    // 2. At initialization the gradient through time vanishes in the tanh RNN, not in the
    //    IRNN (the verdict of step 1).
    let (iv, ie, in_) = flows(r, IRNN);
    let (tv, _, tn) = flows(r, TANH);
    let held2 = usize::from(in_ > 0 && iv == 0) + usize::from(tn > 0 && tv == tn);
    vec![
        Claim {
            claim: "The IRNN learns the adding problem at sequence lengths where the tanh RNN \
                    stays at the predict-the-mean baseline."
                .into(),
            paper: "Fig. 2 (adding problem, T = 150, 200, 300, 400): the IRNN's test MSE falls \
                    far below the baseline, like the LSTM's; the tanh RNN stays at the baseline \
                    from T = 150 on."
                .into(),
            ours: format!(
                "Validation MSE, mean over seeds (baseline {BASELINE:.3}): {}. Rule, per \
                 length: the IRNN under half the baseline, the tanh RNN at ≥ 0.8 × the baseline \
                 ({holding} of {}).",
                parts.join("; "),
                2 * labels.len()
            ),
            agreement: Agreement::of(holding, 2 * labels.len()),
        },
        Claim {
            claim: "With W_hh = I and ReLU the gradient through time does not vanish at the \
                    start; with tanh and a small random W_hh it does."
                .into(),
            paper: "Section 3 (the identity initialization: with no input the hidden state \
                    stays the same, so the error derivatives flow back unchanged)."
                .into(),
            ours: format!(
                "The verdict at initialization (step 1): vanishing in {iv} of {in_} IRNN runs \
                 (exploding in {ie} of them) and {tv} of {tn} tanh runs. Rule: vanishing in \
                 none of the IRNN's runs, in all of the tanh's ({held2} of 2)."
            ),
            agreement: Agreement::of(held2, 2),
        },
    ]
}

/// The verdicts at initialization of the runs of `model`: `(vanishing, exploding, with a
/// verdict)`.
fn flows(r: &Results, model: &str) -> (usize, usize, usize) {
    let axis = &r.sweep.axes[0];
    let mut count = (0, 0, 0);
    for (spec, result) in r.runs.iter().zip(&r.results) {
        if axis.label(spec.coords[0]) != model {
            continue;
        }
        if let Some(at) = result.as_ref().and_then(|x| x.at_init.as_ref()) {
            count.2 += 1;
            match at.flow {
                Flow::Vanishing => count.0 += 1,
                Flow::Exploding => count.1 += 1,
                Flow::Healthy => {}
            }
        }
    }
    count
}
