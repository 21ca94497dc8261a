//! Weights, checkpoints and batches with NaN, ±∞ or values beyond the run's precision are
//! rejected when read, with the file, the tensor, the element and the value in the error.

use std::collections::HashMap;
use std::path::PathBuf;

use gradscope::config::{Config, LoadedConfig};
use gradscope::io::safetensors::{deserialize, read, serialize, write};
use gradscope::train::{EpochRecord, Flow, Observer, StepInfo, Trainer};
use gradscope::Tensor;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gradscope-weights-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn file_with<T: gradscope::Float>(name: &str, values: &[f64]) -> Vec<u8> {
    let good = Tensor::<T>::from_f64_slice(&[2], &[0.5, -0.5]).unwrap();
    let t = Tensor::<T>::from_f64_slice(&[2, 2], values).unwrap();
    serialize(
        &[("a.ok".to_string(), &good), (name.to_string(), &t)],
        &HashMap::new(),
    )
    .unwrap()
}

#[test]
fn nan_and_infinity_in_a_tensor_are_rejected_naming_file_tensor_and_element() {
    for (bad, shown) in [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        let bytes = file_with::<f32>("layers.1.weight", &[1.0, 2.0, bad, 4.0]);
        for err in [
            deserialize::<f32>(&bytes, "w.safetensors").unwrap_err(),
            deserialize::<f64>(&bytes, "w.safetensors").unwrap_err(),
        ] {
            let err = err.to_string();
            assert!(
                err.starts_with("w.safetensors:")
                    && err.contains("`layers.1.weight`")
                    && err.contains(&format!("non-finite value ({shown})"))
                    && err.contains("index [1, 0] of shape [2, 2]"),
                "{err}"
            );
        }
    }
    // The same values, finite, load.
    let bytes = file_with::<f32>("layers.1.weight", &[1.0, 2.0, 3.0, 4.0]);
    let f = deserialize::<f32>(&bytes, "w.safetensors").unwrap();
    assert_eq!(
        f.get("layers.1.weight").unwrap().data(),
        &[1.0, 2.0, 3.0, 4.0]
    );
}

#[test]
fn an_f64_value_beyond_f32_is_rejected_in_an_f32_run_only() {
    let bytes = file_with::<f64>("w", &[1.0, 1e300, 3.0, 4.0]);
    let err = deserialize::<f32>(&bytes, "big.safetensors")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("big.safetensors:")
            && err.contains("`w`")
            && err.contains("1e300")
            && err.contains("does not fit f32")
            && err.contains("index [0, 1]"),
        "{err}"
    );
    let f = deserialize::<f64>(&bytes, "big.safetensors").unwrap();
    assert_eq!(f.get("w").unwrap().data()[1], 1e300);
}

#[test]
fn read_names_the_path() {
    let dir = temp_dir("read");
    let path = dir.join("model.safetensors");
    std::fs::write(
        &path,
        file_with::<f32>("head.bias", &[0.0, 0.0, 0.0, f64::NAN]),
    )
    .unwrap();
    let err = read::<f32>(&path).unwrap_err().to_string();
    assert!(
        err.contains(&path.display().to_string()) && err.contains("`head.bias`"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}

struct Quiet;
impl Observer for Quiet {
    fn on_step(&mut self, _: &StepInfo) -> Flow {
        Flow::Continue
    }
    fn on_epoch(&mut self, _: &EpochRecord) -> gradscope::Result<()> {
        Ok(())
    }
}

/// `--resume` from a checkpoint whose weights hold a NaN fails before training, naming the
/// checkpoint and the tensor.
#[test]
fn resume_rejects_a_checkpoint_with_a_nan_weight() {
    let dir = temp_dir("resume");
    let ckpt = dir.join("checkpoint.safetensors");
    let text = "seed = 3\n[data]\nsource = \"digits\"\n[model]\nhidden = [8]\n\
                [training]\nepochs = 1\nbatch_size = 100\n";
    let cfg = LoadedConfig {
        config: Config::parse(text, "test.toml", &[]).unwrap(),
        source: "test.toml".into(),
        base_dir: PathBuf::from("."),
    };
    let mut t = Trainer::<f32>::new(&cfg).unwrap();
    t.set_checkpoint_path(Some(ckpt.clone()));
    t.run(&mut Quiet).unwrap();
    // The clean checkpoint resumes.
    Trainer::<f32>::resume(&cfg, &ckpt).unwrap();

    // Poison one weight and write it back with the same metadata.
    let mut file = read::<f32>(&ckpt).unwrap();
    let (name, tensor) = file
        .tensors
        .iter_mut()
        .find(|(n, _)| n.starts_with("model.") && n.ends_with("weight"))
        .expect("a weight");
    let name = name.clone();
    tensor.data_mut()[5] = f32::NAN;
    let tensors: Vec<(String, &Tensor<f32>)> =
        file.tensors.iter().map(|(n, t)| (n.clone(), t)).collect();
    write(&ckpt, &tensors, &file.metadata).unwrap();

    let err = Trainer::<f32>::resume(&cfg, &ckpt)
        .err()
        .expect("a NaN weight must not resume")
        .to_string();
    assert!(
        err.contains(&ckpt.display().to_string())
            && err.contains(&format!("`{name}`"))
            && err.contains("NaN"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}
