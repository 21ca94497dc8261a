//! A run within limits: the memory estimate (exact parameter counts, predicted data shapes,
//! refusals naming the field), sizes, and the run id that ties a checkpoint to its run.

use std::path::PathBuf;

use gradscope::config::{Config, LoadedConfig};
use gradscope::memory::{estimate, parse_size, DataShape, MemoryLimit};
use gradscope::train::{checkpoint_run_id, Silent, Trainer};

fn loaded(text: &str, sets: &[&str]) -> LoadedConfig {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    LoadedConfig {
        config: Config::parse(text, "test.toml", &sets).unwrap(),
        source: "test.toml".into(),
        base_dir: PathBuf::from("."),
    }
}

const MLP: &str = "[data]\nsource = \"spiral\"\nn = 60\n[model]\nhidden = [7, 7, 5]\n\
                   [training]\nepochs = 1\nbatch_size = 8\n";
const LSTM: &str = "[data]\nsource = \"adding\"\nn = 40\nseq_len = 6\n[model]\noutput = 1\n\
                    hidden = [3]\n[model.recurrent]\ncell = \"lstm\"\nhidden = 5\nlayers = 2\n\
                    [training]\nloss = \"mse\"\nepochs = 1\nbatch_size = 8\n";
const GRU: &str = "[data]\nsource = \"copy_memory\"\nn = 20\ndelay = 3\n[model.recurrent]\n\
                   cell = \"gru\"\nhidden = 6\npredict = \"every_step\"\n[training]\nepochs = 1\n";

#[test]
fn the_estimate_counts_the_parameters_the_model_has() {
    for (text, sets) in [
        (MLP, &[][..]),
        (
            MLP,
            &["model.norm=\"batchnorm\"", "model.residual=true"][..],
        ),
        (MLP, &["model.bias=false", "data.source=\"circles\""][..]),
        (LSTM, &[][..]),
        (GRU, &[][..]),
        ("[model]\nhidden = [16]\n", &[][..]),
    ] {
        let l = loaded(text, sets);
        let t = Trainer::<f32>::new(&l).unwrap();
        let shape = DataShape::of_splits(&t.splits, Default::default());
        let e = estimate(&l.config, &shape);
        assert_eq!(e.num_params, t.model.num_params() as u64, "{text} {sets:?}");
        assert_eq!(e.gradients.bytes, 4 * e.num_params);
        // The prediction from the config alone agrees with the loaded data.
        let p = DataShape::predict(&l.config.data, &l.base_dir).unwrap();
        assert_eq!(
            (p.samples, p.features, p.steps, p.targets, p.outputs),
            (
                shape.samples,
                shape.features,
                shape.steps,
                shape.targets,
                shape.outputs
            ),
            "{text} {sets:?}"
        );
        assert_eq!(estimate(&l.config, &p).num_params, e.num_params);
    }
}

#[test]
fn the_estimate_scales_with_what_sizes_it() {
    let base = loaded(MLP, &[]);
    let t = Trainer::<f32>::new(&base).unwrap();
    let shape = DataShape::of_splits(&t.splits, Default::default());
    let e = estimate(&base.config, &shape);
    // f64 doubles every engine buffer; Adam (the default) keeps two buffers per parameter,
    // SGD with momentum one, without none.
    let f64_run = loaded(MLP, &["dtype=\"f64\""]);
    let e64 = estimate(&f64_run.config, &shape);
    assert_eq!(e64.parameters.bytes, 2 * e.parameters.bytes);
    assert_eq!(e64.activations.bytes, 2 * e.activations.bytes);
    let adam = loaded(MLP, &["training.optimizer={kind=\"adam\"}"]);
    assert_eq!(
        estimate(&adam.config, &shape).optimizer.bytes,
        2 * e.parameters.bytes
    );
    let sgd = loaded(MLP, &["training.optimizer={kind=\"sgd\", lr=0.1}"]);
    assert_eq!(
        estimate(&sgd.config, &shape).optimizer.bytes,
        0,
        "plain SGD keeps no buffer"
    );
    let momentum = loaded(MLP, &["training.optimizer={kind=\"sgd\", momentum=0.9}"]);
    assert_eq!(
        estimate(&momentum.config, &shape).optimizer.bytes,
        e.parameters.bytes
    );
    assert!(e.total() >= e.training() && e.total() >= e.dataset.bytes);
}

#[test]
fn a_refusal_names_the_field_the_estimate_and_the_limit() {
    let limit = MemoryLimit::new(1 << 30, "a test limit");
    let cases = [
        (
            MLP,
            "model.hidden=[1000000000]",
            "model.hidden = [1000000000]",
        ),
        (
            MLP,
            "model.hidden=[8, 1000000000]",
            "model.hidden[1] = 1000000000",
        ),
        (MLP, "data.n=1000000000000", "data.n = 1000000000000"),
        (LSTM, "data.seq_len=100000000", "data.seq_len = 100000000"),
        (GRU, "data.delay=100000000", "data.delay = 100000000"),
        (
            LSTM,
            "model.recurrent.hidden=1000000",
            "model.recurrent.hidden = 1000000",
        ),
    ];
    for (text, set, field) in cases {
        let l = loaded(text, &[set]);
        let err = match Trainer::<f32>::new_within(&l, &limit) {
            Ok(_) => panic!("{set} was accepted"),
            Err(e) => e.to_string(),
        };
        for needle in [field, "needs an estimated", "1.0 GiB (a test limit)"] {
            assert!(err.contains(needle), "{set}: no `{needle}` in: {err}");
        }
    }
    // A batch larger than the data is the data (60 rows): accepted.
    let l = loaded(MLP, &["training.batch_size=100000000"]);
    assert!(Trainer::<f32>::new_within(&l, &limit).is_ok());
}

#[test]
fn sizes_parse_with_units_and_reject_nonsense() {
    assert_eq!(parse_size("1073741824").unwrap(), 1 << 30);
    assert_eq!(parse_size("2G").unwrap(), 2 << 30);
    assert_eq!(parse_size("1.5GiB").unwrap(), 3 << 29);
    assert_eq!(parse_size("500MB").unwrap(), 500_000_000);
    assert_eq!(parse_size(" 8 k ").unwrap(), 8192);
    for bad in [
        "",
        "G",
        "-1G",
        "0",
        "1.2.3G",
        "12 parsecs",
        "1e400",
        "99999999999T",
    ] {
        assert!(parse_size(bad).is_err(), "{bad:?} was accepted");
    }
}

#[test]
fn a_checkpoint_belongs_to_the_run_that_wrote_it() {
    let dir = std::env::temp_dir().join(format!("gradscope-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ckpt = dir.join("checkpoint.safetensors");
    let l = loaded(MLP, &[]);
    let mut first = Trainer::<f32>::new(&l).unwrap();
    first.set_checkpoint_path(Some(ckpt.clone()));
    first.run(&mut Silent).unwrap();
    assert_eq!(
        checkpoint_run_id(&ckpt).unwrap().as_deref(),
        Some(first.run_id())
    );
    assert!(first.wrote_checkpoint(&ckpt));
    // A new run of the same config is another run: the file is not its checkpoint.
    let second = Trainer::<f32>::new(&l).unwrap();
    assert_ne!(second.run_id(), first.run_id());
    assert!(!second.wrote_checkpoint(&ckpt));
    // A resumed run goes on as the run that wrote it, within a limit too.
    let limit = MemoryLimit::new(u64::MAX, "none");
    let resumed = Trainer::<f32>::resume_within(&l, &ckpt, &limit).unwrap();
    assert_eq!(resumed.run_id(), first.run_id());
    assert!(resumed.wrote_checkpoint(&ckpt));
    // Not a safetensors file: an error naming it, not a panic.
    let junk = dir.join("junk");
    std::fs::write(&junk, [0xffu8; 64]).unwrap();
    let err = checkpoint_run_id(&junk).unwrap_err().to_string();
    assert!(err.contains("junk"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn ts_files_are_read_only_up_to_max_bytes() {
    use gradscope::data::sequence::ts::{load_ts, TsOptions};
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("gradscope-limits-ts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = "@classLabel true a b\n@data\n1,2,3:a\n4,5,6:b\n";
    let raw = dir.join("small.ts");
    std::fs::write(&raw, text).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    let gzp = dir.join("small.ts.gz");
    std::fs::write(&gzp, gz.finish().unwrap()).unwrap();
    for path in [&raw, &gzp] {
        let fits = TsOptions {
            max_bytes: Some(text.len() as u64),
            ..TsOptions::default()
        };
        assert_eq!(load_ts(path, &fits).unwrap().len(), 2);
        let short = TsOptions {
            max_bytes: Some(text.len() as u64 - 1),
            ..TsOptions::default()
        };
        let err = load_ts(path, &short).unwrap_err().to_string();
        assert!(
            err.contains("small.ts") && err.contains("TsOptions::max_bytes"),
            "{err}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}
