//! Records from another front end (`diagnostics::external`): a diagnosis from records alone
//! is the diagnosis of the run, the directory round-trips, and the shared statistics follow
//! their definitions.

use gradscope::config::Config;
use gradscope::diagnostics::{
    number_depths, quantiles, read_diagnosis_dir, write_diagnosis_dir, ActivationFacts,
    ActivationStats, Diagnosis, DiagnosticsConfig, LayerRecord,
};
use gradscope::layer::LayerKind;
use gradscope::model::MlpSpec;
use gradscope::train::{Silent, Trainer};
use gradscope::Activation;

fn run() -> (DiagnosticsConfig, gradscope::train::Run) {
    let diagnostics = DiagnosticsConfig {
        every: 2,
        ..DiagnosticsConfig::default()
    };
    let mut config = Config::new(MlpSpec::new(0, &[16; 5], 0, Activation::Tanh))
        .with_diagnostics(diagnostics.clone());
    config.training.max_steps = Some(6);
    let run = Trainer::<f32>::from_config(config)
        .unwrap()
        .run_collecting(&mut Silent)
        .unwrap();
    (diagnostics, run)
}

#[test]
fn from_records_judges_as_from_run() {
    let (config, run) = run();
    let a = Diagnosis::from_run("x", &config, &run).unwrap();
    let b = Diagnosis::from_records(
        "x",
        &config,
        &run.records,
        run.steps,
        run.losses.clone(),
        run.wall_s,
    )
    .unwrap();
    assert_eq!(a.verdict, b.verdict);
    assert_eq!(a.layers, b.layers);
    assert_eq!(a.theory, b.theory);
    assert_eq!(a.measured_steps, [1, 2, 4, 6]);
}

#[test]
fn the_directory_round_trips() {
    let (config, run) = run();
    let d = Diagnosis::from_run("x", &config, &run).unwrap();
    let dir = std::env::temp_dir().join(format!("gradscope-external-{}", std::process::id()));
    write_diagnosis_dir(&dir, &run.records, &d).unwrap();
    let (back, records) = read_diagnosis_dir(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(records, run.records);
    assert_eq!(back.verdict, d.verdict);
    let err = read_diagnosis_dir(&dir).unwrap_err().to_string();
    assert!(err.contains("diagnosis.json"), "{err}");
}

#[test]
fn statistics_follow_their_definitions() {
    let facts = ActivationFacts::of(Activation::Relu);
    // Two rows of three units; unit 1 is 0 in both rows (dead); z = a where positive.
    let z = [1.0f64, -2.0, 0.01, 3.0, -1.0, -0.5];
    let a: Vec<f64> = z.iter().map(|&v| Activation::Relu.f(v)).collect();
    let s = ActivationStats::measure(&facts, Some(&z), &a, 3);
    assert_eq!(s.dead_fraction, 1.0 / 3.0);
    assert_eq!(s.saturated_fraction, Some(3.0 / 6.0)); // relu'(z) = 0 for z <= 0
    assert_eq!(s.range_end_fraction, Some(4.0 / 6.0)); // a <= 0.02: three zeros and 0.01
    let mut layers = vec![
        LayerRecord::new(9, "a", LayerKind::Linear, "linear"),
        LayerRecord::new(9, "b", LayerKind::Activation, "relu"),
        LayerRecord::new(9, "c", LayerKind::Activation, "relu"),
    ];
    for l in &mut layers[1..] {
        l.activation = Some(Activation::Relu);
    }
    number_depths(&mut layers);
    let depths: Vec<_> = layers.iter().map(|l| (l.index, l.depth)).collect();
    // The last layer is the output, not hidden.
    assert_eq!(depths, [(0, None), (1, Some(1)), (2, None)]);
}

/// The mean, std, f' sums and fractions by their definitions, one value at a time in f64.
fn by_definition(act: Activation, z: &[f64], a: &[f64], cols: usize) -> [f64; 6] {
    let facts = ActivationFacts::of(act);
    let n = a.len() as f64;
    let mean = a.iter().sum::<f64>() / n;
    let std = (a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let d: Vec<f64> = z.iter().map(|&v| act.df(v).abs()).collect();
    let sat = d
        .iter()
        .filter(|&&v| v < facts.saturation_threshold())
        .count() as f64
        / n;
    let dead = (0..cols)
        .filter(|&j| a.chunks(cols).all(|row| row[j] == 0.0))
        .count() as f64
        / cols as f64;
    [
        mean,
        std,
        d.iter().sum::<f64>() / n,
        d.iter().map(|v| v * v).sum::<f64>() / n,
        sat,
        dead,
    ]
}

#[test]
fn sampled_statistics_are_the_full_ones_but_the_quantiles_and_histogram() {
    // 1000 values (100 rows of 10 units), ReLU and tanh; a NaN and both infinities in z.
    let mut z: Vec<f64> = (0..1000)
        .map(|i| ((i * 37 % 101) as f64 - 50.0) / 7.0)
        .collect();
    z[3] = f64::NAN;
    z[500] = f64::INFINITY;
    z[501] = f64::NEG_INFINITY;
    for act in [Activation::Relu, Activation::Tanh] {
        let facts = ActivationFacts::of(act);
        let a: Vec<f64> = z.iter().map(|&v| act.f(v)).collect();
        let full = ActivationStats::measure(&facts, Some(&z), &a, 10);
        // A limit at or above n: everything equals measure's.
        let (same, _) = ActivationStats::measure_sampled(&facts, Some(&z), &a, 10, 1000, 8);
        assert_eq!(format!("{same:?}"), format!("{full:?}"), "{act}"); // NaN mean: by text
                                                                       // A limit of 64: the strided sample a[0], a[16], … (⌈1000 / 64⌉ = 16).
        let (s, h) = ActivationStats::measure_sampled(&facts, Some(&z), &a, 10, 64, 8);
        let sample: Vec<f64> = a.iter().step_by(16).copied().collect();
        assert_eq!(s.quantiles, quantiles(&sample, &mut Vec::new()), "{act}");
        // The sample's histogram, its 8 bins spanning the finite extremes of all 1000 values.
        let finite = a.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
        let mut counts = vec![0u64; 8];
        for v in sample.iter().filter(|v| v.is_finite()) {
            counts[(((v - lo) * (8.0 / (hi - lo))) as usize).min(7)] += 1;
        }
        let above = sample.iter().filter(|v| !v.is_finite()).count() as u64;
        assert_eq!((h.edges[0], h.edges[8]), (lo, hi), "{act}");
        assert_eq!(
            (h.counts.clone(), h.below, h.above),
            (counts, 0, above),
            "{act}"
        );
        assert_eq!(h.total(), sample.len() as u64);
        let (q_full, q_s) = (full.quantiles.unwrap(), s.quantiles.unwrap());
        assert_ne!(q_full, q_s, "{act}: a sample of 63 values, not all 1000");
        let rest = |x: &ActivationStats| {
            (
                x.mean.to_bits(),
                x.std.to_bits(),
                x.range_end_fraction,
                x.dead_fraction,
            )
        };
        assert_eq!(rest(&s), rest(&full), "{act}");
        let f_sums = |x: &ActivationStats| {
            let d = (
                x.mean_abs_derivative,
                x.mean_sq_derivative,
                x.saturated_fraction,
            );
            format!("{d:?}") // tanh's mean |f'| is NaN here (a NaN in a): compared as text
        };
        assert_eq!(f_sums(&s), f_sums(&full), "{act}");
    }
    // The fast passes against the definitions, on finite values (ReLU's f' sums are counts;
    // tanh's f' from the output, 1 − a²).
    let zf: Vec<f64> = z
        .iter()
        .map(|v| if v.is_finite() { *v } else { 0.5 })
        .collect();
    for act in [Activation::Relu, Activation::Tanh, Activation::Gelu] {
        let facts = ActivationFacts::of(act);
        let a: Vec<f64> = zf.iter().map(|&v| act.f(v)).collect();
        let s = ActivationStats::measure(&facts, Some(&zf), &a, 10);
        let want = by_definition(act, &zf, &a, 10);
        let got = [
            s.mean,
            s.std,
            s.mean_abs_derivative.unwrap(),
            s.mean_sq_derivative.unwrap(),
            s.saturated_fraction.unwrap(),
            s.dead_fraction,
        ];
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                "{act}: {got:?} != {want:?}"
            );
        }
    }
    // ReLU's f' is 1 at NaN (as relu_grad): the NaN counts as not saturated.
    let facts = ActivationFacts::of(Activation::Relu);
    let z = [f64::NAN, -1.0, 2.0, 0.0];
    let a: Vec<f64> = z.iter().map(|&v| Activation::Relu.f(v)).collect();
    let s = ActivationStats::measure(&facts, Some(&z), &a, 4);
    assert_eq!(s.mean_abs_derivative, Some(0.5));
    assert_eq!(s.saturated_fraction, Some(0.5));
}
