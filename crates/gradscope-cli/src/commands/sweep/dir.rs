//! A sweep directory: `sweep.json` (the definition), `runs/<run id>/` (one run directory per
//! run, complete when it holds `result.json`), and the merged outputs (`results.csv`,
//! `summary.csv`, the report).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use gradscope::io::SCHEMA_VERSION;
use gradscope::sweep::{Results, RunResult, RunSpec, Sweep};

use crate::output::write_atomic;
use crate::rundir::{self, RunDir};

/// The definition file.
pub const SWEEP_JSON: &str = "sweep.json";
/// The directory of the run directories.
pub const RUNS: &str = "runs";
/// The file that marks a run complete (written last).
pub const RESULT_JSON: &str = "result.json";
/// The files a sweep directory holds besides `runs/` (and the report's `*.svg`).
pub const SWEEP_OUTPUTS: &[&str] = &[
    SWEEP_JSON,
    RUNS,
    "results.csv",
    "summary.csv",
    "report.md",
    "report.html",
];

/// `sweep.json`.
#[derive(serde::Serialize, serde::Deserialize)]
struct SweepJson {
    schema_version: u32,
    sweep: Sweep,
}

/// The directory of `run` inside the sweep directory `dir`.
pub fn run_dir(dir: &Path, run: &RunSpec) -> PathBuf {
    dir.join(RUNS).join(&run.id)
}

/// The sweep recorded in `dir` (None when there is no `sweep.json`).
pub fn read_sweep(dir: &Path) -> Result<Option<Sweep>> {
    let path = dir.join(SWEEP_JSON);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let file: SweepJson = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not a gradscope sweep.json", path.display()))?;
    if file.schema_version != SCHEMA_VERSION {
        bail!(
            "`{}` has schema_version {}, this gradscope reads {SCHEMA_VERSION}",
            path.display(),
            file.schema_version
        );
    }
    let mut sweep = file.sweep;
    sweep.source = path.display().to_string();
    Ok(Some(sweep))
}

/// Refuses a directory holding files a sweep does not write, and one recorded for another
/// sweep; writes `sweep.json` when it is not there yet.
pub fn prepare(dir: &Path, sweep: &Sweep) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!("--out `{}` is a file, not a directory", dir.display());
    }
    fs::create_dir_all(dir.join(RUNS))
        .with_context(|| format!("cannot create `{}`", dir.join(RUNS).display()))?;
    let foreign: Vec<String> = entries(dir)?
        .into_iter()
        .filter(|n| {
            let ours = SWEEP_OUTPUTS.contains(&n.as_str())
                || n.ends_with(".svg")
                || n == rundir::LOCK_FILE
                || (n.starts_with('.') && n.ends_with(".tmp"));
            !ours
        })
        .collect();
    if !foreign.is_empty() {
        bail!(
            "--out `{}` holds files a sweep does not write ({}): it is not a sweep directory; \
             choose another --out",
            dir.display(),
            rundir::list(&foreign)
        );
    }
    match read_sweep(dir)? {
        Some(earlier) if !earlier.same_runs(sweep) => bail!(
            "--out `{}` holds another sweep (its sweep.json has other base config, axes or \
             seeds than {}); choose another --out",
            dir.display(),
            sweep.source
        ),
        Some(_) => Ok(()),
        None => {
            let json = serde_json::to_string_pretty(&SweepJson {
                schema_version: SCHEMA_VERSION,
                sweep: sweep.clone(),
            })? + "\n";
            write_atomic(&dir.join(SWEEP_JSON), json.as_bytes())
        }
    }
}

/// The result of `run` in `dir`, when its run directory holds a readable one for it.
pub fn read_result(dir: &Path, run: &RunSpec) -> Option<RunResult> {
    let text = fs::read_to_string(run_dir(dir, run).join(RESULT_JSON)).ok()?;
    let r: RunResult = serde_json::from_str(&text).ok()?;
    (r.id == run.id && r.schema_version == SCHEMA_VERSION).then_some(r)
}

/// Writes `results.csv`, `summary.csv` and the report `doc` (`report.html`, `report.md`,
/// charts).
pub fn write_outputs(dir: &Path, results: &Results, doc: crate::render::Document) -> Result<()> {
    write_atomic(
        &dir.join("results.csv"),
        results.table().to_csv().as_bytes(),
    )?;
    write_atomic(
        &dir.join("summary.csv"),
        results.summary().to_csv().as_bytes(),
    )?;
    crate::render::write_report(dir, &doc)
}

/// `gradscope sweep collect DIR`.
pub fn collect(dir: &Path, partial: bool, quiet: bool) -> Result<()> {
    let Some(sweep) = read_sweep(dir)? else {
        bail!(
            "`{}` holds no {SWEEP_JSON}: not a sweep directory (run `gradscope sweep run` or \
             `gradscope sweep` into it first)",
            dir.display()
        );
    };
    let lock = RunDir::lock(dir, "sweep collect")?;
    let runs = sweep.runs();
    let found: Vec<RunResult> = runs.iter().filter_map(|r| read_result(dir, r)).collect();
    let results = Results::new(sweep, found);
    let missing = results.missing();
    if !missing.is_empty() && !partial {
        let ids: Vec<String> = missing.iter().map(|r| r.id.clone()).collect();
        bail!(
            "{} of {} runs have no result yet ({}); run them (`gradscope sweep run ... \
             --resume`) or collect what there is with --partial",
            missing.len(),
            runs.len(),
            rundir::list(&ids)
        );
    }
    let doc = crate::views::sweep::document(&results)?;
    write_outputs(dir, &results, doc)?;
    drop(lock);
    if !quiet {
        crate::errln!(
            "collected {} of {} runs -> {}",
            runs.len() - missing.len(),
            runs.len(),
            dir.join("results.csv").display()
        );
    }
    Ok(())
}

pub use crate::rundir::entries;
