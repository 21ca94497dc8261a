//! `gradscope sweep`: a sweep on one machine, resumed after a crash, refused over another
//! sweep; the same sweep as shards in separate processes — through the shipped Slurm and
//! Kubernetes scripts — gives exactly the single-machine results.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{fails, gradscope, ok, TempDir};

const SWEEP: &str = r#"
name = "tiny"
repeats = 2

[[axis]]
key = "model.activation"
values = ["tanh", "relu"]

[[axis]]
key = "training.lr"
log_range = { from = 0.01, to = 0.1, num = 2 }

[base]
seed = 5
[base.data]
source = "digits"
[base.model]
hidden = [8, 8]
[base.training]
epochs = 1
batch_size = 64
"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn write_sweep(dir: &Path) -> String {
    fs::create_dir_all(dir).unwrap();
    let p = dir.join("tiny.toml");
    fs::write(&p, SWEEP).unwrap();
    p.to_str().unwrap().to_string()
}

/// `results.csv` without its timing column (elapsed_s), the only one that may differ.
fn without_timing(csv: &str) -> String {
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let t = header
        .iter()
        .position(|c| *c == "elapsed_s")
        .expect("elapsed_s column");
    assert_eq!(t, header.len() - 1, "elapsed_s is the last column");
    csv.lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
        .collect()
}

fn single_machine(tmp: &TempDir, sweep: &str) -> (PathBuf, String) {
    let out = tmp.0.join("single");
    ok(&[
        "sweep",
        sweep,
        "--out",
        out.to_str().unwrap(),
        "--jobs",
        "2",
        "--quiet",
    ]);
    let csv = fs::read_to_string(out.join("results.csv")).unwrap();
    (out, csv)
}

#[test]
fn a_sweep_writes_run_directories_tables_and_a_report() {
    let tmp = TempDir::new("sweep");
    let sweep = write_sweep(&tmp.0);
    let (out, csv) = single_machine(&tmp, &sweep);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 8, "{csv}");
    let header: Vec<&str> = lines[0].split(',').collect();
    for c in [
        "run",
        "point",
        "seed",
        "model.activation",
        "training.lr",
        "init_flow",
        "test_accuracy",
        "outcome",
    ] {
        assert!(header.contains(&c), "{c} in {header:?}");
    }
    // The first axis outermost, seeds innermost; every row the same number of fields.
    assert!(
        lines[1].contains(",tanh,0.01,") && lines[1].contains(",5,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(",tanh,0.01,") && lines[2].contains(",6,"),
        "{}",
        lines[2]
    );
    assert!(lines[8].contains(",relu,0.1,"), "{}", lines[8]);
    for l in &lines {
        assert_eq!(l.split(',').count(), header.len(), "{l}");
    }
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 1 + 4);
    assert!(summary
        .lines()
        .next()
        .unwrap()
        .contains("test_accuracy_mean,test_accuracy_std,test_accuracy_n"));
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    for needle in [
        "Results by point",
        "against each axis",
        "Verdict at initialization",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(out.join("heatmap.svg").exists() && out.join("axis2.svg").exists());
    // Each run is a run directory `gradscope train` would write, plus its result.
    let id = lines[1].split(',').next().unwrap();
    for f in [
        "config.toml",
        "metrics.jsonl",
        "summary.json",
        "model.safetensors",
        "result.json",
    ] {
        assert!(out.join("runs").join(id).join(f).exists(), "{f}");
    }
    let config = fs::read_to_string(out.join("runs").join(id).join("config.toml")).unwrap();
    assert!(
        config.contains("seed = 5") && config.contains("tanh"),
        "{config}"
    );

    // Again without --resume or --force: refused, nothing touched.
    let e = fails(&["sweep", &sweep, "--out", out.to_str().unwrap()]);
    assert!(e.contains("--resume") && e.contains("--force"), "{e}");
    // A crash: one run lost its result (and a stale temporary file lies there). --resume
    // trains that run alone, and the results are the same.
    let lost = out.join("runs").join(id);
    fs::remove_file(lost.join("result.json")).unwrap();
    fs::write(lost.join(".summary.json.999999999.tmp"), "x").unwrap();
    let o = gradscope(&["sweep", &sweep, "--out", out.to_str().unwrap(), "--resume"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("1 to train (7 already complete)"), "{err}");
    assert!(!lost.join(".summary.json.999999999.tmp").exists());
    let again = fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(without_timing(&again), without_timing(&csv));
    // Another sweep in the same directory: refused.
    let other = tmp.0.join("other.toml");
    fs::write(&other, SWEEP.replace("repeats = 2", "repeats = 3")).unwrap();
    let e = fails(&[
        "sweep",
        other.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--resume",
    ]);
    assert!(e.contains("another sweep"), "{e}");
}

#[test]
fn shards_in_separate_processes_give_the_single_machine_results() {
    let tmp = TempDir::new("sweep-shards");
    let sweep = write_sweep(&tmp.0);
    let (_, single) = single_machine(&tmp, &sweep);
    let out = tmp.0.join("sharded");
    let o = out.to_str().unwrap();
    let plan = ok(&["sweep", "plan", &sweep, "--shards", "3"]);
    assert_eq!(plan.lines().count(), 1 + 8);
    // Three shards at once, as three processes.
    let children: Vec<_> = (0..3)
        .map(|k| {
            Command::new(env!("CARGO_BIN_EXE_gradscope"))
                .args([
                    "sweep",
                    "run",
                    &sweep,
                    "--shard",
                    &format!("{k}/3"),
                    "--out",
                    o,
                    "--jobs",
                    "1",
                    "--quiet",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("runs")
        })
        .collect();
    for c in children {
        let c = c.wait_with_output().unwrap();
        assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    }
    ok(&["sweep", "collect", o, "--quiet"]);
    let sharded = fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(without_timing(&sharded), without_timing(&single));
    // A shard twice without --resume is refused; with it, nothing is left to train.
    let e = fails(&["sweep", "run", &sweep, "--shard", "1/3", "--out", o]);
    assert!(e.contains("of this shard"), "{e}");
    let bad = fails(&["sweep", "run", &sweep, "--shard", "3/3", "--out", o]);
    assert!(bad.contains("--shard") && bad.contains("K/N"), "{bad}");
}

#[test]
fn collect_refuses_missing_runs_unless_partial() {
    let tmp = TempDir::new("sweep-partial");
    let sweep = write_sweep(&tmp.0);
    let out = tmp.0.join("half");
    let o = out.to_str().unwrap();
    ok(&[
        "sweep", "run", &sweep, "--shard", "0/2", "--out", o, "--quiet",
    ]);
    let e = fails(&["sweep", "collect", o]);
    assert!(
        e.contains("4 of 8 runs have no result") && e.contains("--partial"),
        "{e}"
    );
    ok(&["sweep", "collect", o, "--partial", "--quiet"]);
    let csv = fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4);
}

#[test]
fn the_slurm_script_runs_its_array_tasks_shard() {
    let tmp = TempDir::new("sweep-slurm");
    let sweep = write_sweep(&tmp.0);
    let (_, single) = single_machine(&tmp, &sweep);
    let out = tmp.0.join("slurm");
    let script = repo().join("examples/cluster/sweep.sbatch");
    for k in 0..2 {
        // What Slurm sets for array task k of `sbatch --array=0-1` (no sbatch here).
        let o = Command::new("bash")
            .arg(&script)
            .env("SWEEP", &sweep)
            .env("OUT", &out)
            .env("SLURM_ARRAY_TASK_ID", k.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "2")
            .env("SLURM_CPUS_PER_TASK", "1")
            .env("GRADSCOPE", env!("CARGO_BIN_EXE_gradscope"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let done = fs::read_dir(out.join("runs")).unwrap().count();
        assert_eq!(done, 4 * (k + 1), "task {k} ran its shard");
    }
    // A requeued task (run again) continues: nothing to do, no error.
    let o = Command::new("bash")
        .arg(&script)
        .env("SWEEP", &sweep)
        .env("OUT", &out)
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("SHARDS", "2")
        .env("GRADSCOPE", env!("CARGO_BIN_EXE_gradscope"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ok(&["sweep", "collect", out.to_str().unwrap(), "--quiet"]);
    let csv = fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(without_timing(&csv), without_timing(&single));
    // Without the array variables it says what is missing.
    let o = Command::new("bash")
        .arg(&script)
        .env("SWEEP", &sweep)
        .env("OUT", &out)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--array"));
}

#[test]
fn the_indexed_job_runs_its_completion_indexs_shard() {
    let yaml = fs::read_to_string(repo().join("examples/cluster/sweep-job.yaml")).unwrap();
    assert!(yaml.contains("completionMode: Indexed"));
    let field = |key: &str| -> String {
        let l = yaml
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap();
        l.split_once(':')
            .unwrap()
            .1
            .trim()
            .trim_matches('"')
            .to_string()
    };
    // `completions` and the SHARDS the pods use agree.
    let completions = field("completions:");
    let shards_line = yaml
        .lines()
        .position(|l| l.contains("name: SHARDS"))
        .unwrap();
    let shards = yaml
        .lines()
        .nth(shards_line + 1)
        .unwrap()
        .split_once(':')
        .unwrap()
        .1;
    assert_eq!(shards.trim().trim_matches('"'), completions);
    // The pod's command, run by sh as the container would, for each completion index.
    let command = yaml
        .lines()
        .find(|l| l.contains("gradscope sweep run"))
        .unwrap()
        .trim_start()
        .trim_start_matches("- ")
        .to_string();
    assert!(command.contains("$JOB_COMPLETION_INDEX/$SHARDS") && command.contains("--resume"));
    let tmp = TempDir::new("sweep-k8s");
    let sweep = write_sweep(&tmp.0);
    let (_, single) = single_machine(&tmp, &sweep);
    let bin = tmp.0.join("bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gradscope"), bin.join("gradscope")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tmp.0.join("k8s");
    let n: usize = completions.parse().unwrap();
    for k in 0..n {
        let o = Command::new("/bin/sh")
            .args(["-c", &command])
            .env("PATH", &path)
            .env("SWEEP", &sweep)
            .env("OUT", &out)
            .env("SHARDS", n.to_string())
            .env("JOB_COMPLETION_INDEX", k.to_string())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    ok(&["sweep", "collect", out.to_str().unwrap(), "--quiet"]);
    let csv = fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(without_timing(&csv), without_timing(&single));
}

#[test]
fn bad_sweep_files_name_their_line() {
    let tmp = TempDir::new("sweep-bad");
    fs::create_dir_all(&tmp.0).unwrap();
    let p = tmp.0.join("bad.toml");
    fs::write(
        &p,
        SWEEP.replace(
            "log_range = { from = 0.01, to = 0.1, num = 2 }",
            "log_range = { from = 0.01, to = 0.1 }",
        ),
    )
    .unwrap();
    let e = fails(&[
        "sweep",
        p.to_str().unwrap(),
        "--out",
        tmp.0.join("o").to_str().unwrap(),
    ]);
    assert!(
        e.contains("bad.toml:9: axis 2: (training.lr) log_range needs num"),
        "{e}"
    );
    assert!(!tmp.0.join("o").exists(), "a refused sweep creates nothing");
    fs::write(
        &p,
        SWEEP.replace(
            "values = [\"tanh\", \"relu\"]",
            "values = [\"tanh\", \"nope\"]",
        ),
    )
    .unwrap();
    let e = fails(&["sweep", "plan", p.to_str().unwrap()]);
    assert!(e.contains("model.activation") && e.contains("nope"), "{e}");
}

#[test]
fn sigterm_stops_the_running_runs_and_resume_finishes_the_sweep() {
    use std::time::{Duration, Instant};
    let tmp = TempDir::new("sweep-term");
    let sweep = write_sweep(&tmp.0);
    let out = tmp.0.join("term");
    let o = out.to_str().unwrap();
    let slow = [
        "--set",
        "training.epochs=30",
        "--set",
        "training.batch_size=4",
    ];
    let mut args = vec![
        "sweep",
        sweep.as_str(),
        "--out",
        o,
        "--jobs",
        "2",
        "--quiet",
    ];
    args.extend(slow);
    let child = Command::new(env!("CARGO_BIN_EXE_gradscope"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let complete = || {
        fs::read_dir(out.join("runs"))
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().join("result.json").exists())
                })
                .count()
            })
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while complete() == 0 {
        assert!(Instant::now() < deadline, "no run finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let end = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&end.stderr);
    if end.status.success() {
        // The signal came after the last run: nothing to resume (a slow machine).
        return;
    }
    assert_eq!(end.status.code(), Some(143), "{err}");
    assert!(
        err.contains("stopped:") && err.contains("--resume"),
        "{err}"
    );
    let done = complete();
    assert!((1..8).contains(&done), "{done} complete");
    // The stopped runs kept no result; --resume trains exactly the others.
    let mut again = vec!["sweep", sweep.as_str(), "--out", o, "--resume"];
    again.extend(slow);
    let r = gradscope(&again);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{err}");
    assert!(
        err.contains(&format!("{} to train ({done} already complete)", 8 - done)),
        "{err}"
    );
    let csv = fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 8);
}
