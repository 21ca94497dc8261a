//! `pascanu2013`: Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent
//! neural networks": clipping the gradient's norm lets SGD train a recurrent network whose
//! gradient explodes, where unclipped SGD diverges.

use super::{cell, dec3, diverged, Agreement, Claim, Scale, Study};
use crate::sweep::Results;

/// The MSE of predicting the mean (1) on the adding problem: Var(u₁ + u₂) = 2/12 = 1/6.
const BASELINE: f64 = 1.0 / 6.0;

/// `max_norm` of the clipped arm.
const ON: &str = "1.0";

/// `max_norm` of the "off" arm: a threshold no finite gradient reaches, so nothing is clipped.
const OFF: &str = "1e30";

pub(super) const STUDY: Study = Study {
    name: "pascanu2013",
    title: "Pascanu, Mikolov & Bengio (2013): gradient norm clipping trains an RNN whose \
            gradient explodes",
    setting: "A tanh RNN (32 units) with W_hh rescaled to spectral radius 1.5 (exploding) on the \
              adding problem (target: the sum of the two marked values; predicting the mean \
              gives MSE 1/6), plain SGD, batch 32; norm clipping at max_norm 1 against no \
              clipping (max_norm 1e30, which never clips) × the learning rate, each point over \
              several seeds. quick: T = 10, 2000 sequences, 30 epochs, lr 0.03 and 0.1, 3 seeds; \
              paper: T = 20, 10000 sequences, 30 epochs, lr 0.01, 0.03, 0.1 and 0.3, 5 seeds. \
              The paper's sequences are far longer (T = 50–200) and it adds a regularizer for \
              the vanishing gradient, not used here.",
    sweep,
    judge,
    curve: None,
    figures: super::no_figures,
};

fn sweep(scale: Scale) -> String {
    let (seq_len, n, lrs, repeats) = match scale {
        Scale::Quick => (10, 2000, "[0.03, 0.1]", 3),
        Scale::Paper => (20, 10000, "[0.01, 0.03, 0.1, 0.3]", 5),
    };
    format!(
        r#"repeats = {repeats}
metric = "val_loss"

[[axis]]
key = "training.clip.max_norm"
values = [1.0, {OFF}]

[[axis]]
key = "training.optimizer.lr"
values = {lrs}

[base]
seed = 1
[base.data]
source = "adding"
n = {n}
seq_len = {seq_len}
split = [0.8, 0.1, 0.1]
[base.model]
output = 1
[base.model.recurrent]
cell = "rnn"
activation = "tanh"
hidden = 32
spectral_radius = 1.5
[base.training]
loss = "mse"
tolerance = 0.04
epochs = 30
batch_size = 32
optimizer = {{ kind = "sgd", lr = 0.1 }}
clip = {{ kind = "norm", max_norm = 1.0 }}
"#
    )
}

fn judge(r: &Results) -> Vec<Claim> {
    let lrs = &r.sweep.axes[1];
    let labels: Vec<String> = (0..lrs.len()).map(|i| lrs.label(i)).collect();
    let top = labels.last().cloned().unwrap_or_default();
    let at = |clip: &str, lr: &str| cell(r, "val_loss", &[(0, clip), (1, lr)]);
    let div = |clip: &str, lr: &str| diverged(r, &[(0, clip), (1, lr)]);
    // 1. At the largest lr, unclipped SGD diverges and clipped SGD learns.
    let (off_div, off_n) = div(OFF, &top);
    let (on_div, on_n) = div(ON, &top);
    let on_top = at(ON, &top);
    let off_diverges = off_n > 0 && 2 * off_div >= off_n;
    let on_learns = on_n > 0 && on_div == 0 && on_top.is_some_and(|s| s.mean < BASELINE / 2.0);
    let holding1 = usize::from(off_diverges) + usize::from(on_learns);
    // 2. The best clipped setting is at least as good as the best unclipped one.
    let best = |clip: &str| {
        labels
            .iter()
            .filter(|lr| div(clip, lr).0 == 0)
            .filter_map(|lr| at(clip, lr).map(|s| (s.mean, lr.clone())))
            .min_by(|a, b| a.0.total_cmp(&b.0))
    };
    let (best_on, best_off) = (best(ON), best(OFF));
    let agreement2 = match (&best_on, &best_off) {
        (Some(on), Some(off)) if on.0 <= off.0 && on.0 < BASELINE / 2.0 => Agreement::Reproduced,
        (Some(on), None) if on.0 < BASELINE / 2.0 => Agreement::Reproduced,
        (Some(on), Some(off)) if on.0 <= 1.1 * off.0 => Agreement::Partly,
        _ => Agreement::Not,
    };
    let show = |b: &Option<(f64, String)>| {
        b.as_ref().map_or("none (all diverged)".into(), |(m, lr)| {
            format!("{m:.3} at lr {lr}")
        })
    };
    let table: Vec<String> = labels
        .iter()
        .map(|lr| {
            let (d_on, n_on) = div(ON, lr);
            let (d_off, n_off) = div(OFF, lr);
            format!(
                "lr {lr}: clipped {}, unclipped {}",
                mse(at(ON, lr), d_on, n_on),
                mse(at(OFF, lr), d_off, n_off),
            )
        })
        .collect();
    vec![
        Claim {
            claim: "Without clipping, SGD on an RNN whose gradient explodes diverges at a \
                    learning rate where norm clipping lets it learn."
                .into(),
            paper: "Section 3.2 and Fig. 6 (the exploding gradient as a cliff in the error \
                    surface; Algorithm 1 rescales the gradient when its norm exceeds a \
                    threshold); section 4: clipped SGD trains where plain SGD does not."
                .into(),
            ours: format!(
                "Validation MSE (mean over seeds; predicting the mean gives {BASELINE:.3}): {}. \
                 Rule at the largest lr ({top}): unclipped diverges in at least half the seeds \
                 ({off_div}/{off_n}), clipped diverges in none and reaches under half the \
                 baseline ({}) — {holding1} of 2.",
                table.join("; "),
                dec3(on_top)
            ),
            agreement: Agreement::of(holding1, 2),
        },
        Claim {
            claim: "Clipping loses nothing: the best clipped run learns the task at least as \
                    well as the best unclipped one."
                .into(),
            paper: "Section 3.2: clipping changes only the steps whose gradient norm exceeds \
                    the threshold, so it is offered as a remedy that costs nothing where the \
                    gradient does not explode; section 4 trains the pathological tasks, the \
                    adding problem among them, with clipped SGD."
                .into(),
            ours: format!(
                "Best mean validation MSE over the learning rates without divergence: clipped \
                 {}, unclipped {}. Rule: reproduced when the clipped is ≤ the unclipped and \
                 under half the baseline, partly within 10% of it, else not.",
                show(&best_on),
                show(&best_off)
            ),
            agreement: agreement2,
        },
    ]
}

/// The mean validation MSE of a cell, or how many of its runs diverged (whose last loss,
/// huge but finite or not, would swamp the mean).
fn mse(s: Option<crate::sweep::Stats>, diverged: usize, n: usize) -> String {
    if diverged > 0 {
        format!("diverged in {diverged} of {n} runs")
    } else {
        dec3(s)
    }
}
