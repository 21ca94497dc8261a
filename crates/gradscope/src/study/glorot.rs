//! `glorot2010`: Glorot & Bengio (2010), "Understanding the difficulty of training deep
//! feedforward neural networks": sigmoid, tanh and softsign networks of 5 hidden layers with
//! the standard and the normalized (Xavier) initialization.

use super::{cell, dec, pct, Agreement, Claim, Scale, Study};
use crate::sweep::Results;

const ACTS: [&str; 3] = ["sigmoid", "tanh", "softsign"];

pub(super) const STUDY: Study = Study {
    name: "glorot2010",
    title: "Glorot & Bengio (2010): activations and the normalized initialization in deep \
            feedforward networks",
    setting: "5 hidden layers on the embedded 8×8 digits, not MNIST (the paper: MNIST, 1000 \
              units per layer); plain SGD (lr 0.1, batch 10); the activation (sigmoid, tanh, \
              softsign) × the initialization (standard U[±1/√fan_in], normalized = \
              xavier_uniform), each point over several seeds. quick: width 64, 10 epochs, 2 \
              seeds; paper: width 256, 20 epochs, 3 seeds. Not measured here: the saturation \
              of the top sigmoid layer over training (the paper's Fig. 2).",
    sweep,
    judge,
    curve: None,
};

fn sweep(scale: Scale) -> String {
    let (width, epochs, repeats) = match scale {
        Scale::Quick => (64, 10, 2),
        Scale::Paper => (256, 20, 3),
    };
    format!(
        r#"repeats = {repeats}
metric = "test_accuracy"

[[axis]]
key = "model.activation"
values = ["sigmoid", "tanh", "softsign"]

[[axis]]
key = "model.init"
values = ["standard", "xavier_uniform"]

[base]
seed = 1
dtype = "f32"
[base.data]
source = "digits"
split = [0.7, 0.15, 0.15]
standardize = true
[base.model]
hidden = [{hidden}]
[base.training]
loss = "cross_entropy"
epochs = {epochs}
batch_size = 10
optimizer = {{ kind = "sgd", lr = 0.1 }}
"#,
        hidden = vec![width.to_string(); 5].join(", ")
    )
}

fn judge(r: &Results) -> Vec<Claim> {
    let at = |m: &str, act: &str, init: &str| cell(r, m, &[(0, act), (1, init)]);
    let acc = |act: &str, init: &str| at("test_accuracy", act, init);
    // 1. The sigmoid is the worst activation (standard init).
    let (s, t, o) = (
        acc("sigmoid", "standard"),
        acc("tanh", "standard"),
        acc("softsign", "standard"),
    );
    let worse = [t, o]
        .iter()
        .filter(|x| matches!((s, x), (Some(s), Some(x)) if x.mean - s.mean >= 0.01))
        .count();
    // 2. The normalized init helps tanh.
    let (ts, tn) = (acc("tanh", "standard"), acc("tanh", "xavier_uniform"));
    let tanh_gain = match (ts, tn) {
        (Some(a), Some(b)) => b.mean - a.mean,
        _ => f64::NAN,
    };
    let tanh_agreement = if tanh_gain >= 0.005 {
        Agreement::Reproduced
    } else if tanh_gain > -0.005 {
        Agreement::Partly
    } else {
        Agreement::Not
    };
    // 3. The normalized init keeps the back-propagated gradient closer to constant.
    let mut flatter = 0;
    let mut grads = Vec::new();
    for act in ACTS {
        let (a, b) = (
            at("init_log10_ratio", act, "standard"),
            at("init_log10_ratio", act, "xavier_uniform"),
        );
        if let (Some(a), Some(b)) = (a, b) {
            if b.mean.abs() < a.mean.abs() {
                flatter += 1;
            }
        }
        grads.push(format!("{act} {} → {}", dec(a), dec(b)));
    }
    vec![
        Claim {
            claim: "The sigmoid gives the worst test error of the three activations (standard \
                    init)."
                .into(),
            paper: "Table 1, MNIST test error: sigmoid 2.21%, tanh 1.76%, softsign 1.64%.".into(),
            ours: format!(
                "Test accuracy, standard init: sigmoid {}, tanh {}, softsign {}. Rule: the \
                 sigmoid at least 1 point below each ({worse} of 2).",
                pct(s),
                pct(t),
                pct(o)
            ),
            agreement: Agreement::of(worse, 2),
        },
        Claim {
            claim: "The normalized initialization improves tanh.".into(),
            paper: "Table 1, MNIST test error: tanh 1.76%, tanh with normalized init 1.64%.".into(),
            ours: format!(
                "Test accuracy of tanh: standard {} → normalized {} ({:+.1} points). Rule: \
                 reproduced at ≥ +0.5 points, partly within ±0.5, else not.",
                pct(ts),
                pct(tn),
                100.0 * tanh_gain
            ),
            agreement: tanh_agreement,
        },
        Claim {
            claim: "With the normalized initialization the back-propagated gradient keeps its \
                    size across layers; with the standard one it shrinks towards the input."
                .into(),
            paper: "Fig. 7 (normalized init: back-propagated gradients of similar variance at \
                    every layer) and the analysis of section 4.2.1."
                .into(),
            ours: format!(
                "log₁₀ ‖δ_1‖/‖δ_L‖ at initialization, standard → normalized: {}. Rule: closer \
                 to 0 with the normalized init, per activation ({flatter} of 3).",
                grads.join("; ")
            ),
            agreement: Agreement::of(flatter, 3),
        },
    ]
}
