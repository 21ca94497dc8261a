//! `schoenholz2017`: Schoenholz, Gilmer, Ganguli & Sohl-Dickstein (2017), "Deep information
//! propagation": a tanh network at weight variance σ_w² and bias variance σ_b² trains only
//! if its depth is below about 6 ξ_c, ξ_c = −1/ln χ_c the depth scale of the correlation map
//! ([`crate::theory::correlation()`]); ξ_c diverges at the order-to-chaos transition
//! (σ_w² ≈ 1.76 at σ_b² = 0.05), so the trainable depth peaks there.
//!
//! The sweep is depth × σ_w² (`model.init = "variance(σ_w²)"`, `model.init_bias =
//! "variance(0.05)"`); a run *trained* when its test accuracy reaches [`THRESHOLD`].

use super::{Agreement, Claim, Curve, Scale, Study};
use crate::activation::Activation;
use crate::error::{Error, Result};
use crate::init::Init;
use crate::sweep::Results;
use crate::theory;
use crate::train::Outcome;

/// σ_b², as in the paper's figure.
pub const SIGMA_B2: f64 = 0.05;

/// A run trained when its test accuracy is at least this (chance on the digits: 10%).
pub const THRESHOLD: f64 = 0.5;

/// Points of the predicted curve across the σ_w² range.
const CURVE_POINTS: usize = 97;

pub(super) const STUDY: Study = Study {
    name: "schoenholz2017",
    title: "Schoenholz et al. (2017): tanh networks train only up to a depth of about 6ξ_c, \
            which peaks at the order-to-chaos transition",
    setting: "Tanh MLPs on the embedded 8×8 digits, not MNIST (the paper: MNIST and CIFAR-10, \
              width 300, depths up to 300, many more steps): weights N(0, σ_w²/fan_in), \
              biases N(0, σ_b² = 0.05); the depth × σ_w² grid, every run with the same SGD \
              (lr 0.001, momentum 0.9, batch 32), counted as trained when its test accuracy \
              is ≥ 50% (chance: 10%). The prediction 6ξ_c(σ_w²) is the library's correlation \
              map at the fixed point q* (`gradscope theory`'s `trainable depth 6 xi_c`). \
              quick: width 32, depths 5–80, σ_w² 0.5–4 (7 values), 30 epochs, 1 seed; paper: \
              width 64, depths 5–160, σ_w² 0.5–4 (10 values), 60 epochs, 2 seeds.",
    sweep,
    judge,
    curve: Some(curve),
    figures: super::no_figures,
};

/// (depths, σ_w² values, width, epochs, repeats) at `scale`.
fn grid(scale: Scale) -> (Vec<usize>, Vec<f64>, usize, usize, usize) {
    match scale {
        Scale::Quick => (
            vec![5, 10, 20, 40, 80],
            vec![0.5, 1.0, 1.5, 1.76, 2.5, 3.25, 4.0],
            32,
            30,
            1,
        ),
        Scale::Paper => (
            vec![5, 10, 20, 40, 80, 160],
            vec![0.5, 1.0, 1.25, 1.5, 1.76, 2.0, 2.5, 3.0, 3.5, 4.0],
            64,
            60,
            2,
        ),
    }
}

fn sweep(scale: Scale) -> String {
    let (depths, sw2, width, epochs, repeats) = grid(scale);
    let depths: Vec<String> = depths.iter().map(|d| d.to_string()).collect();
    let inits: Vec<String> = sw2.iter().map(|v| format!("\"variance({v})\"")).collect();
    format!(
        r#"repeats = {repeats}
metric = "test_accuracy"

[[axis]]
key = "model.depth"
values = [{depths}]

[[axis]]
key = "model.init"
values = [{inits}]

[base]
seed = 1
dtype = "f32"
[base.data]
source = "digits"
split = [0.7, 0.15, 0.15]
standardize = true
[base.model]
depth = 5
width = {width}
activation = "tanh"
init_bias = "variance({SIGMA_B2})"
[base.training]
loss = "cross_entropy"
epochs = {epochs}
batch_size = 32
optimizer = {{ kind = "sgd", lr = 0.001, momentum = 0.9 }}
"#,
        depths = depths.join(", "),
        inits = inits.join(", "),
    )
}

/// σ_w² of an axis value `variance(σ_w²)`.
fn sigma_w2(label: &str) -> Result<f64> {
    match Init::parse(label)? {
        Init::Variance { sigma_w2 } => Ok(sigma_w2),
        other => Err(Error::Invalid(format!(
            "schoenholz2017: the init axis holds `{other}`, not variance(σ_w²)"
        ))),
    }
}

/// 6 ξ_c of tanh at (σ_w², [`SIGMA_B2`]) from the library's theory (+∞ at the transition,
/// NaN when the theory has no finite q* there).
pub fn trainable_depth(sigma_w2: f64) -> f64 {
    theory::mean_field(&Activation::Tanh, sigma_w2, SIGMA_B2)
        .ok()
        .and_then(|m| m.correlation)
        .map_or(f64::NAN, |c| c.trainable_depth)
}

/// The grid read back from the results: depths (axis 0) and σ_w² (axis 1).
fn axes(r: &Results) -> Result<(Vec<f64>, Vec<f64>)> {
    if r.sweep.axes.len() < 2 {
        return Err(Error::Invalid(
            "schoenholz2017 needs the axes model.depth and model.init".into(),
        ));
    }
    let (d, s) = (&r.sweep.axes[0], &r.sweep.axes[1]);
    let depths = (0..d.len())
        .map(|i| {
            d.number(i).ok_or_else(|| {
                Error::Invalid(format!(
                    "schoenholz2017: depth `{}` is not a number",
                    d.label(i)
                ))
            })
        })
        .collect::<Result<Vec<f64>>>()?;
    let sw2 = (0..s.len())
        .map(|i| sigma_w2(&s.label(i)))
        .collect::<Result<Vec<f64>>>()?;
    Ok((depths, sw2))
}

/// 6 ξ_c(σ_w²) over the σ_w² range of the results' grid, with the grid's depths and σ_w².
fn curve(r: &Results) -> Result<Curve> {
    let (depths, sw2) = axes(r)?;
    let lo = sw2.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = sw2.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let points = (0..CURVE_POINTS)
        .map(|i| {
            let x = lo + (hi - lo) * i as f64 / (CURVE_POINTS - 1) as f64;
            (x, trainable_depth(x))
        })
        .collect();
    Ok(Curve {
        label: format!("predicted trainable depth 6ξ_c (tanh, σ_b² = {SIGMA_B2})"),
        x_name: "σ_w²".into(),
        y_name: "depth".into(),
        columns: sw2,
        rows: depths,
        log_rows: true,
        points,
    })
}

/// Per cell (depth index, σ_w² index): runs with a result and runs that trained (completed
/// with test accuracy ≥ [`THRESHOLD`]).
fn outcomes(r: &Results, rows: usize, cols: usize) -> Vec<Vec<(usize, usize)>> {
    let acc = r.metric("test_accuracy").unwrap_or_default();
    let mut cells = vec![vec![(0, 0); cols]; rows];
    for (i, (spec, result)) in r.runs.iter().zip(&r.results).enumerate() {
        let Some(result) = result else { continue };
        let (d, s) = (spec.coords[0], spec.coords[1]);
        let cell = &mut cells[d][s];
        cell.0 += 1;
        let completed = matches!(result.summary.outcome, Outcome::Completed);
        if completed
            && acc
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|a| a >= THRESHOLD)
        {
            cell.1 += 1;
        }
    }
    cells
}

/// The fraction `k/n` as `k of n` and a verdict: reproduced at ≥ 90%, partly at ≥ 50%.
fn share(k: usize, n: usize) -> Agreement {
    if n == 0 {
        Agreement::Not
    } else if k * 10 >= n * 9 {
        Agreement::Reproduced
    } else if k * 2 >= n {
        Agreement::Partly
    } else {
        Agreement::Not
    }
}

fn judge(r: &Results) -> Vec<Claim> {
    let (depths, sw2) = match axes(r) {
        Ok(a) => a,
        Err(e) => {
            return vec![Claim {
                claim: "Tanh networks train up to a depth of about 6ξ_c.".into(),
                paper: "The trainability experiment.".into(),
                ours: format!("Not judged: {e}"),
                agreement: Agreement::Not,
            }]
        }
    };
    let cells = outcomes(r, depths.len(), sw2.len());
    let predicted: Vec<f64> = sw2.iter().map(|&s| trainable_depth(s)).collect();
    // A cell trains when most of its runs do.
    let trains = |d: usize, s: usize| {
        let (n, k) = cells[d][s];
        n > 0 && 2 * k > n
    };
    let judged = |d: usize, s: usize| cells[d][s].0 > 0;
    let (mut shallow, mut shallow_ok, mut deep, mut deep_ok) = (0, 0, 0, 0);
    let (mut shallow_misses, mut deep_misses) = (Vec::new(), Vec::new());
    for (s, &limit) in predicted.iter().enumerate() {
        for (d, &depth) in depths.iter().enumerate() {
            if !judged(d, s) || limit.is_nan() {
                continue;
            }
            let ok = if depth <= limit {
                shallow += 1;
                trains(d, s)
            } else {
                deep += 1;
                !trains(d, s)
            };
            if ok {
                if depth <= limit {
                    shallow_ok += 1;
                } else {
                    deep_ok += 1;
                }
            } else if depth <= limit {
                shallow_misses.push(format!("depth {depth} at σ_w² {}", sw2[s]));
            } else {
                deep_misses.push(format!("depth {depth} at σ_w² {}", sw2[s]));
            }
        }
    }
    // The measured trainable depth per σ_w²: the deepest grid depth up to which every depth
    // trains (0 when the shallowest fails).
    let measured: Vec<f64> = (0..sw2.len())
        .map(|s| {
            let mut best = 0.0;
            for (d, &depth) in depths.iter().enumerate() {
                if trains(d, s) {
                    best = depth;
                } else {
                    break;
                }
            }
            best
        })
        .collect();
    let table: Vec<String> = sw2
        .iter()
        .zip(measured.iter().zip(&predicted))
        .map(|(s, (m, p))| format!("{s}: {m} (6ξ_c {p:.0})"))
        .collect();
    let critical = theory::critical_sigma_w2(&Activation::Tanh, SIGMA_B2, 1.0)
        .ok()
        .flatten()
        .unwrap_or(f64::NAN);
    let nearest = (0..sw2.len())
        .min_by(|&a, &b| {
            (sw2[a] - critical)
                .abs()
                .total_cmp(&(sw2[b] - critical).abs())
        })
        .unwrap_or(0);
    let top = measured.iter().copied().fold(0.0, f64::max);
    let peak_at_critical = top > 0.0 && measured[nearest] == top;
    let (first, last) = (measured[0], measured[measured.len() - 1]);
    let ends_lower = first < top && last < top;
    let peak_parts = usize::from(peak_at_critical) + usize::from(ends_lower);
    let listed = |what: &str, cells: &[String]| {
        if cells.is_empty() {
            String::new()
        } else {
            format!(" {what}: {}.", cells.join(", "))
        }
    };
    let shallow_misses = listed("Failed below the curve", &shallow_misses);
    let deep_misses = listed("Trained above the curve", &deep_misses);
    vec![
        Claim {
            claim: "Networks shallower than about 6ξ_c train.".into(),
            paper: "The trainability experiment (MNIST and CIFAR-10, SGD and RMSProp: accuracy \
                    over σ_w² × depth at σ_b² = 0.05 with 6ξ_c drawn on it): the networks \
                    under the curve train."
                .into(),
            ours: format!(
                "Cells of the grid with depth ≤ 6ξ_c that trained (test accuracy ≥ {:.0}% in \
                 most runs): {shallow_ok} of {shallow}. Rule: reproduced at ≥ 90% of the \
                 cells, partly at ≥ 50%.{shallow_misses}",
                100.0 * THRESHOLD
            ),
            agreement: share(shallow_ok, shallow),
        },
        Claim {
            claim: "Networks deeper than about 6ξ_c do not train.".into(),
            paper: "The same experiment: well above 6ξ_c the accuracy stays at chance.".into(),
            ours: format!(
                "Cells with depth > 6ξ_c that failed: {deep_ok} of {deep}. Rule: reproduced at \
                 ≥ 90% of the cells, partly at ≥ 50% (no cell above the curve: not \
                 reproduced, as nothing was tested).{deep_misses}"
            ),
            agreement: share(deep_ok, deep),
        },
        Claim {
            claim: format!(
                "The trainable depth peaks at the order-to-chaos transition (σ_w² ≈ {critical:.2} \
                 at σ_b² = {SIGMA_B2})."
            ),
            paper: "The same experiment: the trainable region is deepest at the critical σ_w², \
                    where ξ_c diverges (\"arbitrarily deep networks may be trained only \
                    sufficiently close to criticality\")."
                .into(),
            ours: format!(
                "Measured trainable depth (the deepest grid depth up to which every depth \
                 trains) per σ_w², with 6ξ_c: {}. Rule: largest (ties allowed) at the grid's \
                 σ_w² nearest the critical one ({}: {}), and smaller at both ends of the grid \
                 ({} of 2).",
                table.join("; "),
                sw2[nearest],
                if peak_at_critical { "yes" } else { "no" },
                peak_parts
            ),
            agreement: Agreement::of(peak_parts, 2),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::RunResult;

    /// A completed run of `spec` with test accuracy `acc`.
    fn run(spec: &crate::sweep::RunSpec, acc: f64) -> RunResult {
        serde_json::from_value(serde_json::json!({
            "schema_version": 3,
            "id": spec.id,
            "point_id": spec.point_id,
            "seed": spec.seed,
            "overrides": spec.overrides,
            "at_init": null,
            "summary": {
                "outcome": {"status": "completed"},
                "epochs": 1, "steps": 1, "train": null, "val": null,
                "test": {"loss": 1.0, "accuracy": acc, "samples": 100},
                "best_val_accuracy": null, "num_params": 1, "model": [],
                "dtype": "f32", "elapsed_s": 0.0
            }
        }))
        .unwrap()
    }

    /// The quick grid's results with accuracy `acc(depth, σ_w²)` for every run.
    fn results(acc: impl Fn(f64, f64) -> f64) -> Results {
        let sweep = STUDY.sweep(Scale::Quick, &[]).unwrap();
        let found: Vec<RunResult> = sweep
            .runs()
            .iter()
            .map(|s| {
                let depth = sweep.axes[0].number(s.coords[0]).unwrap();
                let sw2 = sigma_w2(&sweep.axes[1].label(s.coords[1])).unwrap();
                run(s, acc(depth, sw2))
            })
            .collect();
        Results::new(sweep, found)
    }

    fn verdicts(r: &Results) -> Vec<Agreement> {
        judge(r).iter().map(|c| c.agreement).collect()
    }

    #[test]
    fn runs_that_train_exactly_below_6_xi_c_reproduce_every_claim() {
        let r = results(|d, s| if d <= trainable_depth(s) { 0.9 } else { 0.1 });
        assert_eq!(
            verdicts(&r),
            vec![Agreement::Reproduced; 3],
            "{:#?}",
            judge(&r)
        );
        let c = curve(&r).unwrap();
        assert_eq!(c.columns, vec![0.5, 1.0, 1.5, 1.76, 2.5, 3.25, 4.0]);
        assert_eq!(c.rows, vec![5.0, 10.0, 20.0, 40.0, 80.0]);
        // 6ξ_c of tanh at σ_b² = 0.05: 21.8 at σ_w² = 1 (`gradscope theory`), ∞-like at 1.76.
        assert!((trainable_depth(1.0) - 21.76).abs() < 0.05);
        assert!(trainable_depth(1.76) > 1000.0);
        let peak = c.points.iter().map(|p| p.1).fold(0.0, f64::max);
        assert!(peak > 1000.0 && c.points.len() == CURVE_POINTS);
    }

    #[test]
    fn runs_that_all_train_contradict_the_depth_limit_and_the_peak() {
        let r = results(|_, _| 0.9);
        let v = verdicts(&r);
        // Below the curve all trained; above it none failed; the trainable depth is the
        // same (80) everywhere: a peak at the critical σ_w² but not lower at the ends.
        assert_eq!(
            v,
            vec![Agreement::Reproduced, Agreement::Not, Agreement::Partly]
        );
        let claims = judge(&r);
        assert!(
            claims[1].ours.contains("failed: 0 of"),
            "{}",
            claims[1].ours
        );
        // Each claim lists the cells that contradict it, and only those.
        assert!(
            claims[1]
                .ours
                .contains("Trained above the curve: depth 10 at σ_w² 0.5,"),
            "{}",
            claims[1].ours
        );
        assert!(!claims[0].ours.contains("curve:"), "{}", claims[0].ours);
    }

    #[test]
    fn runs_that_train_only_far_from_the_transition_fail_the_peak_claim() {
        // Deep networks train only at the extreme σ_w² (the opposite of the prediction).
        let r = results(|d, s| {
            if d <= 10.0 || (s - 1.76).abs() > 1.0 {
                0.9
            } else {
                0.1
            }
        });
        assert_eq!(verdicts(&r)[2], Agreement::Not, "{:#?}", judge(&r));
    }
}
