//! Typed configuration errors: a program matches on the field, the file and the line
//! instead of parsing the message, and the printed message stays what the CLI prints.

use gradscope::config::Config;
use gradscope::model::MlpSpec;
use gradscope::train::Trainer;
use gradscope::{Activation, Error, Rng};

fn parse_err(text: &str, sets: &[&str]) -> Error {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Config::parse(text, "run.toml", &sets).unwrap_err()
}

#[test]
fn a_bad_value_names_its_field_file_and_line() {
    let text = "[model]\nhidden = [8]\n\n[training]\nepochs = 2\n# a typo'd sign:\nlr = -1\n";
    let e = parse_err(text, &[]);
    assert_eq!(e.field(), Some("training.lr"));
    assert_eq!(e.file(), Some("run.toml"));
    assert_eq!(e.line(), Some(7));
    assert!(matches!(&e, Error::Config(c) if c.field() == Some("training.lr")));
    let c = e.as_config().unwrap();
    assert_eq!(c.message(), "training.lr = -1 must be a finite number >= 0");
    assert_eq!(
        e.to_string(),
        "run.toml:7: training.lr = -1 must be a finite number >= 0"
    );
}

#[test]
fn every_table_names_its_fields() {
    // (config text, field, line, printed message)
    let cases: &[(&str, &str, Option<usize>, &str)] = &[
        (
            "[model]\nhidden = [4, 0]\n",
            "model.hidden[1]",
            Some(1),
            "run.toml:1: model.hidden[1] must be > 0",
        ),
        (
            "[model]\ndropout = 1.5\n",
            "model.dropout",
            Some(2),
            "run.toml:2: model.dropout = 1.5 must be in [0, 1)",
        ),
        (
            "[model]\nhead = \"tanh\"\n",
            "model.head",
            Some(2),
            "run.toml:2: model.head = \"tanh\": training.loss = \"cross_entropy\" takes raw \
             logits; use head = \"identity\"",
        ),
        (
            "[model]\ninput = 2\n[model.recurrent]\ncell = \"lstm\"\nhidden = 0\n",
            "model.recurrent.hidden",
            Some(5),
            "run.toml:5: model.recurrent.hidden must be > 0",
        ),
        (
            "[data]\nsplit = [0.5, 0.5, 0.5]\n[model]\n",
            "data.split",
            Some(2),
            "run.toml:2: data.split = [0.5, 0.5, 0.5] must be three fractions in [0, 1] \
             summing to 1",
        ),
        (
            "[data]\nsource = \"digits\"\nnoise = 0.1\n[model]\n",
            "data.noise",
            Some(3),
            "run.toml:3: data.noise does not apply to source = \"digits\" (its keys: none)",
        ),
        (
            "[model]\n[diagnostics]\nevery = 0\n",
            "diagnostics.every",
            Some(3),
            "run.toml:3: diagnostics.every must be >= 1",
        ),
        (
            "[model]\n[training]\nepochs = 0\n",
            "training.epochs",
            Some(3),
            "run.toml:3: training.epochs must be >= 1",
        ),
        (
            "[model]\nhidden = [4]\n[training]\noptimizer = { kind = \"adam\", beta1 = 2.0 }\n",
            "training.optimizer",
            Some(4),
            "run.toml:4: training.optimizer invalid argument: `adam.beta1` = 2 must be in [0, 1)",
        ),
        (
            "[model]\nhidden = [4]\n[training]\nclip = { kind = \"norm\", max_norm = -1.0 }\n",
            "training.clip",
            Some(4),
            "run.toml:4: training.clip invalid argument: `clip.max_norm` = -1 must be a finite \
             number > 0",
        ),
    ];
    for &(text, field, line, printed) in cases {
        let e = parse_err(text, &[]);
        assert_eq!(e.field(), Some(field), "{text}");
        assert_eq!(e.line(), line, "{text}");
        assert_eq!(e.file(), Some("run.toml"), "{text}");
        assert_eq!(e.to_string(), printed, "{text}");
    }
}

#[test]
fn parser_errors_type_the_line_and_print_toml_s_snippet() {
    let e = parse_err("[model]\nhiden = [4]\n", &[]);
    assert_eq!(
        (e.file(), e.line(), e.field()),
        (Some("run.toml"), Some(2), None)
    );
    let s = e.to_string();
    assert!(
        s.starts_with("run.toml: TOML parse error at line 2, column 1"),
        "{s}"
    );
    assert!(s.contains("unknown field `hiden`"), "{s}");
    let e = parse_err("[model\n", &[]);
    assert_eq!(e.line(), Some(1));
}

#[test]
fn set_overrides_name_their_key() {
    let e = parse_err("[model]\n", &["training.lr=abc"]);
    assert_eq!(e.field(), Some("training.lr"));
    assert_eq!(
        e.to_string(),
        "run.toml with --set training.lr: invalid type: string \"abc\", expected f64"
    );
    // A value that parses but is out of range: the field, no line (the file does not set it).
    let e = parse_err("[model]\n", &["training.lr=-1"]);
    assert_eq!((e.field(), e.line()), (Some("training.lr"), None));
    assert_eq!(
        e.to_string(),
        "run.toml: training.lr = -1 must be a finite number >= 0"
    );
    let e = Config::default()
        .with_overrides(&["model.hidden=[4, 0]".into()])
        .unwrap_err();
    assert_eq!((e.field(), e.file()), (Some("model.hidden[1]"), None));
}

#[test]
fn values_built_in_code_fail_with_the_same_fields() {
    let spec = MlpSpec {
        input: 4,
        output: 1,
        head: Activation::Softmax,
        ..MlpSpec::default()
    };
    let e = spec.build::<f32>(&mut Rng::seed(0)).unwrap_err();
    assert_eq!(e.field(), Some("model.head"));
    assert_eq!(e.to_string(), "model.head softmax needs model.output >= 2");

    let mut c = Config::new(MlpSpec {
        input: 5,
        ..MlpSpec::default()
    });
    c.training.lr = Some(f64::NAN);
    let e = c.validate().unwrap_err();
    assert_eq!(
        (e.field(), e.file(), e.line()),
        (Some("training.lr"), None, None)
    );

    // Errors found when the data is loaded name the field too.
    c.training.lr = None;
    let e = Trainer::<f32>::from_config(c).err().unwrap();
    assert_eq!(e.field(), Some("model.input"));
    assert_eq!(
        e.to_string(),
        "model.input = 5 but the data has 64 features"
    );
}

#[test]
fn other_errors_carry_no_field() {
    let e = "relu(3)".parse::<Activation>().unwrap_err();
    assert_eq!((e.field(), e.file(), e.line()), (None, None, None));
    assert!(e.as_config().is_none());
}

/// `model.recurrent.activation` belongs to the plain RNN: an LSTM or GRU (fixed sigmoid/tanh
/// gates) refuses it naming the field, an RNN takes it (a mutant that swapped the cell test
/// survived the mutation sample of docs/testing.md).
#[test]
fn a_recurrent_activation_applies_only_to_the_rnn_cell() {
    for cell in ["lstm", "gru"] {
        let text = format!(
            "[model]\ninput = 2\n[model.recurrent]\ncell = \"{cell}\"\nhidden = 4\nactivation = \"relu\"\n"
        );
        let e = parse_err(&text, &[]);
        assert_eq!(e.field(), Some("model.recurrent.activation"), "{cell}: {e}");
        assert!(
            e.to_string().contains("only applies to cell = \"rnn\""),
            "{e}"
        );
    }
    let text = "[model]\ninput = 2\n[model.recurrent]\ncell = \"rnn\"\nhidden = 4\nactivation = \"relu\"\n";
    let sets: Vec<String> = Vec::new();
    Config::parse(text, "run.toml", &sets).expect("an RNN takes an activation");
}
