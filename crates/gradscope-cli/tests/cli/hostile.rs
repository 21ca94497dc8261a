//! Hostile input, memory bombs and run directories: the standing defence of
//! docs/reliability.md. Every refusal is checked to exit non-zero with a message naming the
//! offending file, field or flag, without a panic or an abort (exit 134) or a kill (137),
//! leaving earlier output byte-identical; memory bombs run under `ulimit -v` of 2 GiB and
//! must fail fast.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use gradscope::config::Config;
use gradscope::io::safetensors;
use gradscope::{Rng, Tensor};

use crate::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_gradscope");
/// Address space of a capped run, KiB: 2 GiB.
const CAP_KIB: u64 = 2 << 20;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn digits() -> String {
    examples().join("digits-mlp.toml").display().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Runs `gradscope args` under `ulimit -v` of 2 GiB; returns the output and the wall time.
fn capped(args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {CAP_KIB} && exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(args)
        .output()
        .expect("sh runs");
    (out, start.elapsed())
}

/// Runs `gradscope args` without a cap.
fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("gradscope runs")
}

/// Asserts a clean refusal: non-zero exit, no panic, no abort or kill, every needle in
/// stderr; returns stderr.
#[track_caller]
fn refused(out: &Output, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let code = out.status.code();
    assert!(
        code.is_some(),
        "killed by a signal ({:?}): {err}",
        out.status
    );
    assert!(!out.status.success(), "accepted; stderr: {err}");
    assert!(
        !matches!(code, Some(134) | Some(137)),
        "aborted or killed ({code:?}): {err}"
    );
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(
        !err.contains("memory allocation of"),
        "allocation abort: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "stderr lacks `{n}`: {err}");
    }
    err
}

/// A memory bomb refused under the 2 GiB cap within 30 s of wall time (about 4 s alone; the margin is for a loaded machine — the cap and the message show the bounded path).
#[track_caller]
fn refused_fast(args: &[&str], needles: &[&str]) -> String {
    let (out, took) = capped(args);
    let err = refused(&out, needles);
    assert!(took < Duration::from_secs(30), "took {took:?}: {err}");
    err
}

#[track_caller]
fn succeeded(out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "failed ({:?}): {err}", out.status);
    assert!(!err.contains("panicked"), "{err}");
}

/// Every file of `dir` with its bytes (the lock file aside).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != ".gradscope.lock")
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    v.sort();
    v
}

/// A finished one-epoch digits run in `dir` (0.3 s).
fn earlier_run(dir: &Path) -> Vec<(String, Vec<u8>)> {
    succeeded(&run(&[
        "train",
        &digits(),
        "--out",
        s(dir),
        "-q",
        "--set",
        "training.epochs=1",
    ]));
    snapshot(dir)
}

// ---------------------------------------------------------------------------------------------
// 1. Sizes are checked before memory is asked for

#[test]
fn config_sizes_are_refused_before_allocating_naming_field_size_and_limit() {
    let t = TempDir::new("hostile-sizes");
    let out = t.0.join("run");
    let cases: [(&str, &[&str], &str); 4] = [
        (
            "digits-mlp.toml",
            &["model.hidden=[1000000000]"],
            "model.hidden = [1000000000]",
        ),
        (
            "spiral-minibatch.toml",
            &["data.n=1000000000000"],
            "data.n = 1000000000000",
        ),
        (
            "adding-lstm.toml",
            &["data.seq_len=100000000"],
            "data.seq_len = 100000000",
        ),
        (
            "copy-memory-gru.toml",
            &["data.delay=100000000"],
            "data.delay = 100000000",
        ),
    ];
    for (cfg, sets, field) in cases {
        let cfg = examples().join(cfg);
        let mut args = vec!["train", s(&cfg), "--out", s(&out), "-q"];
        for set in sets {
            args.extend(["--set", set]);
        }
        let err = refused_fast(&args, &[field, "needs an estimated", "memory limit of"]);
        assert!(
            err.contains("ulimit -v"),
            "the cap sets the default limit: {err}"
        );
        assert!(!out.exists(), "a refused run leaves no directory: {err}");
    }
    // The flag raises the limit and names itself; diagnose and demo have it too.
    let err = refused_fast(
        &[
            "diagnose",
            &digits(),
            "--out",
            s(&out),
            "--set",
            "model.hidden=[1000000000]",
            "--max-memory",
            "1T",
        ],
        &["model.hidden = [1000000000]", "--max-memory 1T"],
    );
    assert!(err.contains("TiB"), "{err}");
    refused(
        &run(&["demo", "--out", s(&out), "--max-memory", "1M"]),
        &["memory limit of 1.0 MiB (--max-memory 1M)"],
    );
    refused(
        &run(&["train", &digits(), "--out", s(&out), "--max-memory", "lots"]),
        &["--max-memory", "`lots` is not a size"],
    );
}

#[test]
fn an_allocation_failure_past_the_estimate_is_a_clean_error_naming_the_stage() {
    // --max-memory above what the 2 GiB cap allows: the guard lets it through, the
    // allocation fails, and the allocator reports it instead of aborting.
    let t = TempDir::new("hostile-oom");
    let out = t.0.join("run");
    refused_fast(
        &[
            "train",
            &digits(),
            "--out",
            s(&out),
            "-q",
            "--set",
            "model.hidden=[30000,30000]",
            "--max-memory",
            "100G",
        ],
        &[
            "out of memory while loading the data and building the model",
            "GiB",
        ],
    );
}

#[test]
fn generate_streams_a_huge_length_in_bounded_memory() {
    let t = TempDir::new("hostile-generate");
    let run_dir = t.0.join("charlm");
    succeeded(&run(&[
        "train",
        s(&examples().join("charlm-shakespeare.toml")),
        "--out",
        s(&run_dir),
        "-q",
        "--set",
        "training.max_steps=2",
        "--set",
        "model.recurrent.hidden=8",
    ]));
    // 10⁹ characters, 8 GB as a list of indices: read 64 KiB, then close the pipe.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {CAP_KIB} && exec \"$0\" \"$@\""))
        .arg(BIN)
        .args(["generate", s(&run_dir), "--length", "1000000000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut got = vec![0u8; 1 << 16];
    child.stdout.take().unwrap().read_exact(&mut got).unwrap();
    let start = Instant::now();
    let out = child.wait_with_output().unwrap();
    succeeded(&out);
    assert!(start.elapsed() < Duration::from_secs(10));
}

// ---------------------------------------------------------------------------------------------
// Every input format

#[test]
fn toml_garbage_and_bad_values_name_the_file_and_field() {
    let t = TempDir::new("hostile-toml");
    std::fs::create_dir_all(&t.0).unwrap();
    let cfg = t.0.join("bad.toml");
    std::fs::write(&cfg, b"\xff\xfe[model\x00\nhidden = [").unwrap();
    refused_fast(
        &["train", s(&cfg), "--out", s(&t.0.join("o"))],
        &["bad.toml"],
    );
    for (set, needle) in [
        ("training.max_steps=0", "training.max_steps must be >= 1"),
        ("model.hidden=[-1]", "model.hidden"),
        ("training.batch_size=1e300", "batch_size"),
    ] {
        let out = t.0.join("o");
        let args = ["train", &digits(), "--out", s(&out), "--set", set];
        refused_fast(&args, &["digits-mlp.toml", needle]);
    }
}

#[test]
fn csv_values_and_size_bombs_name_the_file() {
    let t = TempDir::new("hostile-csv");
    std::fs::create_dir_all(&t.0).unwrap();
    let csv = t.0.join("big.csv");
    std::fs::write(&csv, "a,b,label\n1,2,0\n3,1e300,1\n").unwrap();
    let cfg = t.0.join("c.toml");
    std::fs::write(
        &cfg,
        "[data]\nsource = \"csv\"\npath = \"big.csv\"\nlimit = 4\n[model]\nhidden = [4]\n",
    )
    .unwrap();
    let out = t.0.join("o");
    refused_fast(
        &["train", s(&cfg), "--out", s(&out)],
        &["big.csv, line 3, column 2", "does not fit f32"],
    );
    // 3 GiB of CSV (sparse on disk): refused by its size before it is read.
    let f = std::fs::File::create(&csv).unwrap();
    f.set_len(3 << 30).unwrap();
    refused_fast(
        &["train", s(&cfg), "--out", s(&out)],
        &["data.path = \"big.csv\"", "memory limit of"],
    );
}

/// An IDX file header: magic, then one u32 per dimension.
fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn idx_config(dir: &Path, images: &str, labels: &str) -> PathBuf {
    let cfg = dir.join("idx.toml");
    std::fs::write(
        &cfg,
        format!(
            "[data]\nsource = \"idx\"\nimages = \"{images}\"\nlabels = \"{labels}\"\n\
             [model]\nhidden = [4]\n"
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn idx_raw_and_gzip_bombs_are_refused_fast() {
    let t = TempDir::new("hostile-idx");
    std::fs::create_dir_all(&t.0).unwrap();
    // A raw header promising 10⁶ images of 1000×1000 (8 TB as f64), on a 16-byte file.
    std::fs::write(t.0.join("img"), idx_header(0x803, &[1_000_000, 1000, 1000])).unwrap();
    std::fs::write(t.0.join("lab"), idx_header(0x801, &[1_000_000])).unwrap();
    let cfg = idx_config(&t.0, "img", "lab");
    let out = t.0.join("o");
    refused_fast(
        &["train", s(&cfg), "--out", s(&out)],
        &["data.images = \"img\"", "memory limit of"],
    );
    // The same promise gzipped.
    std::fs::write(
        t.0.join("img.gz"),
        gzip(&idx_header(0x803, &[1_000_000, 1000, 1000])),
    )
    .unwrap();
    let cfg = idx_config(&t.0, "img.gz", "lab");
    refused_fast(
        &["train", s(&cfg), "--out", s(&out)],
        &["data.images = \"img.gz\"", "memory limit of"],
    );
    // Labels that promise 4 and inflate to 256 MiB: read only to the promise.
    let mut img = idx_header(0x803, &[4, 2, 2]);
    img.extend([0u8; 16]);
    std::fs::write(t.0.join("small-img"), img).unwrap();
    let mut lab = idx_header(0x801, &[4]);
    lab.extend(vec![0u8; 256 << 20]);
    std::fs::write(t.0.join("bomb.gz"), gzip(&lab)).unwrap();
    let cfg = idx_config(&t.0, "small-img", "bomb.gz");
    refused_fast(
        &["train", s(&cfg), "--out", s(&out)],
        &["bomb.gz", "size mismatch"],
    );
}

#[test]
fn ts_gzip_bomb_is_bounded_and_refused_fast() {
    let t = TempDir::new("hostile-ts");
    std::fs::create_dir_all(&t.0).unwrap();
    // A valid header, then 64 MiB of `0,` per gzip member, 24 members: 1.5 GiB of text.
    let mut head = b"@problemName bomb\n@classLabel true 1 2\n@data\n".to_vec();
    head.extend(b"0,".repeat(32 << 20));
    let member = gzip(&head);
    let body = gzip(&b"0,".repeat(32 << 20));
    let mut f = std::fs::File::create(t.0.join("bomb.ts.gz")).unwrap();
    f.write_all(&member).unwrap();
    for _ in 0..23 {
        f.write_all(&body).unwrap();
    }
    drop(f);
    let cfg = t.0.join("ucr.toml");
    std::fs::write(
        &cfg,
        "[data]\nsource = \"ucr\"\npath = \"bomb.ts.gz\"\n[model]\nhidden = [4]\n",
    )
    .unwrap();
    let err = refused_fast(
        &["train", s(&cfg), "--out", s(&t.0.join("o"))],
        &["bomb.ts.gz"],
    );
    assert!(
        err.contains("more than the 1073741824 bytes") || err.contains("cannot allocate"),
        "{err}"
    );
}

#[test]
fn text_windows_bomb_and_empty_text_name_the_field_or_file() {
    let t = TempDir::new("hostile-text");
    std::fs::create_dir_all(&t.0).unwrap();
    // 4 MiB of text cut at every character: 4·10⁶ windows × 64 steps one-hot.
    let text: String = (0..(4 << 20))
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    std::fs::write(t.0.join("t.txt"), text).unwrap();
    std::fs::write(t.0.join("empty.txt"), "").unwrap();
    let cfg = |name: &str, extra: &str| {
        let p = t.0.join(format!("{name}.toml"));
        std::fs::write(
            &p,
            format!(
                "[data]\nsource = \"text\"\npath = \"{name}.txt\"\n{extra}\n[model.recurrent]\n\
                 cell = \"rnn\"\nhidden = 8\npredict = \"every_step\"\n"
            ),
        )
        .unwrap();
        p
    };
    let out = t.0.join("o");
    refused_fast(
        &["train", s(&cfg("t", "stride = 1")), "--out", s(&out)],
        &["data.stride = 1", "memory limit of"],
    );
    refused_fast(
        &["train", s(&cfg("empty", "")), "--out", s(&out)],
        &["empty.txt", "empty text file"],
    );
}

/// A sequence model with a BatchNorm head predicting every step, its weights and a batch of
/// one sequence of `steps` steps, written into `dir`; returns (model, weights, batch).
fn every_step_batchnorm(dir: &Path, steps: usize) -> (PathBuf, PathBuf, PathBuf) {
    let text = "[model]\ninput = 2\noutput = 3\nhidden = [4]\nnorm = \"batchnorm\"\n\
                [model.recurrent]\ncell = \"rnn\"\nhidden = 5\npredict = \"every_step\"\n";
    let model_path = dir.join("m.toml");
    std::fs::write(&model_path, text).unwrap();
    let config = Config::parse(text, "m.toml", &[]).unwrap();
    let model = config.model.build::<f32>(&mut Rng::seed(1)).unwrap();
    let state = model.state_dict();
    let named: Vec<(String, &Tensor<f32>)> = state.iter().map(|(n, t)| (n.clone(), t)).collect();
    let weights = dir.join("w.safetensors");
    safetensors::write(&weights, &named, &Default::default()).unwrap();
    let x: Vec<f64> = (0..2 * steps).map(|i| (i as f64 * 0.37).sin()).collect();
    let x = Tensor::<f32>::from_f64_slice(&[1, 2 * steps], &x).unwrap();
    let y: Vec<f64> = (0..steps).map(|i| (i % 3) as f64).collect();
    let y = Tensor::<f32>::from_f64_slice(&[steps], &y).unwrap();
    let batch = dir.join("b.safetensors");
    safetensors::write(
        &batch,
        &[("x".to_string(), &x), ("y".to_string(), &y)],
        &Default::default(),
    )
    .unwrap();
    (model_path, weights, batch)
}

#[test]
fn safetensors_garbage_and_grads_outputs_that_are_inputs() {
    let t = TempDir::new("hostile-st");
    std::fs::create_dir_all(&t.0).unwrap();
    let (m, w, b) = every_step_batchnorm(&t.0, 3);
    let g = t.0.join("g.safetensors");
    // One sequence of 3 steps reaches the BatchNorm head as 3 rows: PyTorch computes it.
    succeeded(&run(&[
        "grads",
        "--model",
        s(&m),
        "--weights",
        s(&w),
        "--batch",
        s(&b),
        "--out",
        s(&g),
    ]));
    let grads = safetensors::read::<f32>(&g).unwrap();
    assert!(grads.tensors.iter().any(|(n, _)| n == "grad.fc.1.weight"));
    // One step is one row: no batch statistics.
    let (m1, w1, b1) = every_step_batchnorm(&t.0, 1);
    refused(
        &run(&[
            "grads",
            "--model",
            s(&m1),
            "--weights",
            s(&w1),
            "--batch",
            s(&b1),
            "--out",
            s(&g),
        ]),
        &["b.safetensors", "N·T = 1·1 = 1 row"],
    );
    let (m, w, b) = every_step_batchnorm(&t.0, 3);
    // --out is an input (also through a symbolic link): refused, the input untouched.
    let before = std::fs::read(&w).unwrap();
    let link = t.0.join("link.safetensors");
    std::os::unix::fs::symlink(&w, &link).unwrap();
    for (out, what) in [
        (&w, "--weights"),
        (&link, "--weights"),
        (&b, "--batch"),
        (&m, "--model"),
    ] {
        refused(
            &run(&[
                "grads",
                "--model",
                s(&m),
                "--weights",
                s(&w),
                "--batch",
                s(&b),
                "--out",
                s(out),
            ]),
            &["--out", &format!("the {what}")],
        );
    }
    assert_eq!(std::fs::read(&w).unwrap(), before);
    // Garbage weights: a header length of 2⁶⁰ bytes, and random bytes.
    let bad = t.0.join("bad.safetensors");
    for bytes in [(1u64 << 60).to_le_bytes().to_vec(), vec![7u8; 100]] {
        std::fs::write(&bad, bytes).unwrap();
        refused_fast(
            &[
                "grads",
                "--model",
                s(&m),
                "--weights",
                s(&bad),
                "--batch",
                s(&b),
                "--out",
                s(&g),
            ],
            &["bad.safetensors"],
        );
    }
}

#[test]
fn bench_sizes_are_validated() {
    refused(
        &run(&["bench", "--mlp", "64x2"]),
        &["--mlp", "WIDTHxDEPTHxBATCH"],
    );
    refused(&run(&["bench", "--mlp", "64x0x3"]), &["DEPTH", ">= 1"]);
    refused(
        &run(&["bench", "--lstm", "8xax2"]),
        &["--lstm", "T", "\"a\""],
    );
    refused(&run(&["bench", "--mlp", "100000x100000x1"]), &["too large"]);
    // Under 2^31 values per tensor but about 3 GiB in all: refused under a 2 GiB cap before
    // anything is allocated, naming the limit.
    let (out, _) = capped(&["bench", "--mlp", "8192x4x1"]);
    refused(&out, &["--mlp", "too large for this machine", "ulimit -v"]);
    let (out, _) = capped(&["bench", "--lstm", "2048x1000x32"]);
    refused(&out, &["--lstm", "too large for this machine"]);
    refused(
        &run(&["bench", "--mlp", "8x2x2", "--only", "W1"]),
        &["--only"],
    );
    // A valid size runs the one workload.
    let out = run(&[
        "bench", "--json", "--mlp", "16x3x4", "--lstm", "8x5x2", "--steps", "1", "--warmup", "0",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["workload"].to_string())
        .collect();
    assert_eq!(names, ["\"mlp\"", "\"lstm\""]);
    assert!(
        text.contains("3 x (Linear 16->16 + tanh), batch 4"),
        "{text}"
    );
    assert!(text.contains("LSTM T=5, 8->8, batch 2"), "{text}");
}

#[test]
fn cli_flags_out_of_range_are_rejected() {
    let t = TempDir::new("hostile-flags");
    refused(&run(&["bench", "--steps", "0"]), &["--steps must be >= 1"]);
    refused(
        &run(&["train", &digits(), "--resume", "--force"]),
        &["--force"],
    );
    std::fs::create_dir_all(&t.0).unwrap();
    let file = t.0.join("a-file");
    std::fs::write(&file, "mine").unwrap();
    refused(
        &run(&["train", &digits(), "--out", s(&file)]),
        &["a-file", "is a file"],
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
}

// ---------------------------------------------------------------------------------------------
// 2. Nothing of the user's is overwritten or mixed

#[test]
fn train_refuses_a_non_empty_directory_and_force_replaces_it_whole() {
    let t = TempDir::new("hostile-nonempty");
    let dir = t.0.join("run");
    let before = earlier_run(&dir);
    let err = refused(
        &run(&[
            "train",
            &digits(),
            "--out",
            s(&dir),
            "--set",
            "training.epochs=2",
        ]),
        &[
            "already holds an earlier run",
            "checkpoint.safetensors",
            "--resume",
            "--force",
        ],
    );
    assert!(
        err.contains("metrics.jsonl") && err.contains("model.safetensors"),
        "{err}"
    );
    assert_eq!(snapshot(&dir), before, "the earlier run is intact");
    // A run that fails before it starts (a config error) leaves the earlier run alone too.
    refused(
        &run(&[
            "train",
            &digits(),
            "--out",
            s(&dir),
            "--force",
            "--set",
            "data.n=5",
        ]),
        &["data.n"],
    );
    assert_eq!(snapshot(&dir), before);
    // --force replaces every file of the earlier run; a diverging replacement keeps none
    // of them (no old model next to the new summary, no old checkpoint called "kept").
    let out = run(&[
        "train",
        &digits(),
        "--out",
        s(&dir),
        "--force",
        "--set",
        "training.lr=1e30",
    ]);
    let err = refused(&out, &["diverged", "no checkpoint was written by this run"]);
    assert!(!err.contains("(kept)"), "{err}");
    assert!(!dir.join("model.safetensors").exists());
    assert!(!dir.join("checkpoint.safetensors").exists());
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(summary.contains("diverged"), "{summary}");
}

#[test]
fn a_config_inside_the_output_directory_is_never_overwritten() {
    let t = TempDir::new("hostile-config");
    let dir = t.0.join("run");
    std::fs::create_dir_all(&dir).unwrap();
    let mine =
        std::fs::read_to_string(examples().join("digits-mlp.toml")).unwrap() + "# my comment\n";
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, &mine).unwrap();
    for extra in [&[][..], &["--force"][..]] {
        let mut args = vec![
            "train",
            s(&cfg),
            "--out",
            s(&dir),
            "--set",
            "training.epochs=1",
        ];
        args.extend(extra);
        refused(
            &run(&args),
            &["would overwrite the input config", "config.toml"],
        );
        assert_eq!(std::fs::read_to_string(&cfg).unwrap(), mine);
    }
    // A data file in DIR named like an output is an input too.
    let d2 = t.0.join("run2");
    std::fs::create_dir_all(&d2).unwrap();
    std::fs::copy(examples().join("data/moons.csv"), d2.join("metrics.jsonl")).unwrap();
    let c2 = t.0.join("c2.toml");
    std::fs::write(
        &c2,
        "[data]\nsource = \"csv\"\npath = \"run2/metrics.jsonl\"\n[model]\nhidden = [4]\n",
    )
    .unwrap();
    refused(
        &run(&["train", s(&c2), "--out", s(&d2), "--force"]),
        &["the data file (data.path)", "metrics.jsonl"],
    );
    // diagnose: its report may not overwrite the config either, nor land in a train run.
    let d3 = t.0.join("run3");
    let before = earlier_run(&d3);
    refused(
        &run(&["diagnose", &digits(), "--out", s(&d3), "--steps", "2"]),
        &["does not write", "checkpoint.safetensors"],
    );
    assert_eq!(snapshot(&d3), before);
}

#[test]
fn two_runs_on_one_directory_the_second_fails_naming_the_first_pid() {
    let t = TempDir::new("hostile-lock");
    let dir = t.0.join("run");
    let mut first = Command::new(BIN)
        .args([
            "train",
            &digits(),
            "--out",
            s(&dir),
            "-q",
            "--set",
            "training.batch_size=1",
            "--set",
            "training.epochs=3",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lock = dir.join(".gradscope.lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&lock).is_ok_and(|l| !l.is_empty()) {
        assert!(
            Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for args in [
        vec!["train", &digits(), "--out", s(&dir), "--force"],
        vec!["train", &digits(), "--out", s(&dir), "--resume"],
        vec!["diagnose", &digits(), "--out", s(&dir)],
    ] {
        refused(
            &run(&args),
            &[
                "is in use by another gradscope run",
                &format!("pid {}", first.id()),
            ],
        );
    }
    let status = first.wait().unwrap();
    assert!(status.success());
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let epochs: Vec<u64> = metrics
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["epoch"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(epochs, [1, 2, 3], "one run's metrics, not interleaved");
}

#[test]
fn sigterm_stops_like_ctrl_c_and_stale_temporary_files_are_removed() {
    let t = TempDir::new("hostile-term");
    let dir = t.0.join("run");
    let child = Command::new(BIN)
        .args([
            "train",
            &digits(),
            "--out",
            s(&dir),
            "-q",
            "--set",
            "training.batch_size=1",
            "--set",
            "training.epochs=200",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let metrics = dir.join("metrics.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&metrics).is_ok_and(|m| !m.is_empty()) {
        assert!(Instant::now() < deadline, "no epoch finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{err}");
    assert!(
        err.contains("terminated at step")
            && err.contains("by SIGTERM")
            && err.contains("--resume"),
        "{err}"
    );
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(summary.contains("\"interrupted\""), "{summary}");
    // What a SIGKILL mid-write leaves: a temporary file of a process that is gone.
    let stale = dir.join(".checkpoint.safetensors.4194303.tmp");
    std::fs::write(&stale, b"half a checkpoint").unwrap();
    let s_json: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let epochs = s_json["epochs"].as_u64().unwrap() + 1;
    succeeded(&run(&[
        "train",
        &digits(),
        "--out",
        s(&dir),
        "--resume",
        "--set",
        "training.batch_size=1",
        "--set",
        &format!("training.epochs={epochs}"),
    ]));
    assert!(!stale.exists(), "the stale temporary file is removed");
    assert!(dir.join("model.safetensors").exists());
}

#[test]
fn a_closed_stdout_ends_the_printing_and_the_work_goes_on() {
    let t = TempDir::new("hostile-pipe");
    let dir = t.0.join("run");
    // train: read the first epoch line, close the pipe; training finishes, files written.
    let mut child = Command::new(BIN)
        .args([
            "train",
            &digits(),
            "--out",
            s(&dir),
            "--set",
            "training.epochs=4",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("epoch"), "{line}");
    let out = child.wait_with_output().unwrap();
    succeeded(&out);
    assert!(dir.join("model.safetensors").exists());
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 4);
    // Every command that prints a lot: the first line, then the pipe is closed.
    for args in [
        vec!["theory", "--activation", "tanh", "--sweep", "0.25,4,800"],
        vec!["activations"],
        vec!["activations", "--format", "csv"],
    ] {
        let mut child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
