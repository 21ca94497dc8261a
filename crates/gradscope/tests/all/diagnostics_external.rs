//! Records from another front end (`diagnostics::external`): a diagnosis from records alone
//! is the diagnosis of the run, the directory round-trips, and the shared statistics follow
//! their definitions.

use gradscope::config::Config;
use gradscope::diagnostics::{
    number_depths, read_diagnosis_dir, write_diagnosis_dir, ActivationFacts, ActivationStats,
    Diagnosis, DiagnosticsConfig, LayerRecord,
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
