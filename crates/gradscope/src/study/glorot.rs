//! `glorot2010`: Glorot & Bengio (2010), "Understanding the difficulty of training deep
//! feedforward neural networks": sigmoid, tanh and softsign networks of 5 hidden layers with
//! the standard and the normalized (Xavier) initialization, on MNIST when `data/mnist/` holds
//! it (`scripts/fetch-data.sh mnist`), else on the embedded 8×8 digits; each hidden layer's
//! activation mean and std over training (the paper's Fig. 2) from the gradient scope.

use std::path::Path;

use super::{cell, dec, pct, Agreement, Claim, Figure, Scale, Study};
use crate::config::DataSource;
use crate::sweep::{ActivationStep, Results};

const ACTS: [&str; 3] = ["sigmoid", "tanh", "softsign"];

/// Where the study looks for MNIST, relative to the working directory (where
/// `scripts/fetch-data.sh mnist` puts it).
pub const MNIST_DIR: &str = "data/mnist";

/// The four raw IDX files of MNIST.
const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// A sigmoid layer's mean activation below this counts as saturated at 0 (Fig. 2: the top
/// layer's mean falls from 0.5 to near 0).
const SATURATED_MEAN: f64 = 0.1;

pub(super) const STUDY: Study = Study {
    name: "glorot2010",
    title: "Glorot & Bengio (2010): activations and the normalized initialization in deep \
            feedforward networks",
    setting: "5 hidden layers on MNIST when data/mnist/ (relative to the working directory) \
              holds its four IDX files (`scripts/fetch-data.sh mnist`; quick: 6000 training \
              images drawn with the seed, the full 10 000 test images), else on the embedded \
              8×8 digits (claim 1 says which was used); the paper: MNIST, 1000 units per \
              layer. Plain SGD (lr 0.1, batch 10); the activation (sigmoid, tanh, softsign) × \
              the initialization (standard U[±1/√fan_in], normalized = xavier_uniform), each \
              point over several seeds. quick: width 64, 10 epochs, 2 seeds; paper: width \
              256, 20 epochs, 3 seeds (all of MNIST's 60 000 training images when present: \
              hours on 2 cores). The gradient scope measures every hidden layer's activation \
              mean and std every few steps (the paper's Fig. 2).",
    sweep,
    judge,
    curve: None,
    figures,
};

/// Whether `dir` holds MNIST's four IDX files.
pub fn mnist_in(dir: &Path) -> bool {
    MNIST_FILES.iter().all(|f| dir.join(f).is_file())
}

/// The `[base.data]` table and the diagnostics interval (steps) at `scale`: MNIST when
/// [`MNIST_DIR`] holds it, else the digits.
fn data_table(scale: Scale) -> (String, u64) {
    if mnist_in(Path::new(MNIST_DIR)) {
        let limit = match scale {
            Scale::Quick => "limit = 6000\n",
            Scale::Paper => "",
        };
        let f = |i: usize| format!("{MNIST_DIR}/{}", MNIST_FILES[i]);
        let every = match scale {
            Scale::Quick => 100,
            Scale::Paper => 1000,
        };
        (
            format!(
                "source = \"idx\"\nimages = \"{}\"\nlabels = \"{}\"\ntest_images = \"{}\"\n\
                 test_labels = \"{}\"\nsplit = [0.85, 0.15, 0.0]\nstandardize = true\n{limit}",
                f(0),
                f(1),
                f(2),
                f(3)
            ),
            every,
        )
    } else {
        (
            "source = \"digits\"\nsplit = [0.7, 0.15, 0.15]\nstandardize = true\n".into(),
            20,
        )
    }
}

fn sweep(scale: Scale) -> String {
    let (width, epochs, repeats) = match scale {
        Scale::Quick => (64, 10, 2),
        Scale::Paper => (256, 20, 3),
    };
    let (data, every) = data_table(scale);
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
{data}[base.model]
hidden = [{hidden}]
[base.training]
loss = "cross_entropy"
epochs = {epochs}
batch_size = 10
optimizer = {{ kind = "sgd", lr = 0.1 }}
[base.diagnostics]
every = {every}
histograms = false
"#,
        hidden = vec![width.to_string(); 5].join(", ")
    )
}

/// The measured activation statistics of the first seed's run at (activation, init).
fn trace<'a>(r: &'a Results, act: &str, init: &str) -> Option<&'a [ActivationStep]> {
    let (a, i) = (&r.sweep.axes.first()?, &r.sweep.axes.get(1)?);
    r.runs
        .iter()
        .zip(&r.results)
        .filter(|(s, _)| a.label(s.coords[0]) == act && i.label(s.coords[1]) == init)
        .find_map(|(_, res)| res.as_ref())
        .map(|res| res.activations.as_slice())
        .filter(|t| !t.is_empty())
}

/// (step, mean) of hidden layer `depth` along a trace.
fn layer_means(t: &[ActivationStep], depth: usize) -> Vec<(f64, f64)> {
    t.iter()
        .filter_map(|s| {
            let l = s.layers.iter().find(|l| l.depth == depth)?;
            Some((s.step as f64, l.mean))
        })
        .collect()
}

/// Which data set the runs used, in words.
fn data_note(r: &Results) -> String {
    match r.sweep.base.data.source {
        DataSource::Idx => format!(
            "Data: MNIST from {MNIST_DIR}/{}.",
            r.sweep.base.data.limit.map_or(String::new(), |l| format!(
                " ({l} training images drawn with the seed)"
            ))
        ),
        DataSource::Digits => format!(
            "Data: the embedded 8×8 digits ({MNIST_DIR}/ does not hold MNIST; \
             `scripts/fetch-data.sh mnist` fetches it)."
        ),
        other => format!("Data: {other:?}."),
    }
}

/// Fig. 2: each hidden layer's mean activation over training, sigmoid with the standard init.
fn figures(r: &Results) -> Vec<Figure> {
    let Some(t) = trace(r, "sigmoid", "standard") else {
        return Vec::new();
    };
    let depths = t.first().map_or(0, |s| s.layers.len());
    let series = (1..=depths)
        .map(|d| (format!("layer {d}"), layer_means(t, d)))
        .collect();
    vec![Figure {
        title: "Sigmoid, standard init: mean activation of each hidden layer".into(),
        x_name: "step".into(),
        y_name: "mean activation".into(),
        series,
        caption: format!(
            "Glorot & Bengio's Fig. 2 at our scale: the mean over the batch and the units of \
             each hidden layer's output, measured by the gradient scope at step 1 and every \
             {} steps, first seed. {}",
            t.get(1).map_or(0, |s| s.step),
            data_note(r)
        ),
    }]
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
        let ratio = |x: Option<crate::sweep::Stats>| {
            x.map_or("-".into(), |x| format!("{:.2e}", 10f64.powf(x.mean)))
        };
        grads.push(format!(
            "{act} {} → {} (‖δ_1‖/‖δ_L‖ {} → {})",
            dec(a),
            dec(b),
            ratio(a),
            ratio(b)
        ));
    }
    // 4. Fig. 2: the top sigmoid layer saturates at 0; the lower ones do not.
    let sat = trace(r, "sigmoid", "standard").map(|t| {
        let depths = t.first().map_or(0, |s| s.layers.len());
        let top = layer_means(t, depths);
        let first = layer_means(t, 1);
        let (min_step, min) =
            top.iter()
                .copied()
                .fold((0.0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
        let start = top.first().map_or(f64::NAN, |p| p.1);
        let (last_step, end) = top.last().copied().unwrap_or((f64::NAN, f64::NAN));
        let first_range = first
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |a, p| {
                (a.0.min(p.1), a.1.max(p.1))
            });
        (depths, start, min_step, min, last_step, end, first_range)
    });
    let (sat_parts, sat_text) = match sat {
        Some((depths, start, min_step, min, last_step, end, (lo, hi))) => {
            let parts = usize::from(min < SATURATED_MEAN) + usize::from(lo > 0.2 && hi < 0.8);
            let text = format!(
                "Sigmoid, standard init, first seed: the top hidden layer's (layer {depths}) \
                 mean activation {start:.3} at step 1, lowest {min:.3} at step {min_step}, \
                 {end:.3} at the last measured step ({last_step}); layer 1's mean stays in \
                 [{lo:.3}, {hi:.3}]. Rule: the top layer's mean falls below {SATURATED_MEAN} \
                 and layer 1's stays within [0.2, 0.8] ({parts} of 2)."
            );
            (parts, text)
        }
        None => (
            0,
            "No activation statistics over training in the results (they are recorded since \
             the study measures them; run it again) (0 of 2)."
                .to_string(),
        ),
    };
    vec![
        Claim {
            claim: "The sigmoid gives the worst test error of the three activations (standard \
                    init)."
                .into(),
            paper: "Table 1, MNIST test error: sigmoid 2.21%, tanh 1.76%, softsign 1.64%.".into(),
            ours: format!(
                "{} Test accuracy, standard init: sigmoid {}, tanh {}, softsign {}. Rule: the \
                 sigmoid at least 1 point below each ({worse} of 2).",
                data_note(r),
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
        Claim {
            claim: "With the sigmoid, the top hidden layer saturates at 0 early in training \
                    (and leaves it only slowly), while the lower layers stay away from it."
                .into(),
            paper: "Fig. 2 (sigmoid network, standard init): the top hidden layer's mean \
                    activation quickly drops to ~0 and desaturates slowly, around epoch 100; \
                    the lower layers' means stay near 0.5."
                .into(),
            ours: sat_text,
            agreement: Agreement::of(sat_parts, 2),
        },
    ]
}
