//! Output directories: one command at a time per directory (an exclusive lock holding the
//! holder's pid), no output that is an input, no earlier run replaced or mixed without being
//! asked, and no temporary file of a killed run left behind.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use fs4::{FileExt, TryLockError};

/// The lock file inside an output directory (it stays; its content is the last holder).
pub const LOCK_FILE: &str = ".gradscope.lock";

/// The files `gradscope train` writes into its directory.
pub const TRAIN_OUTPUTS: &[&str] = &[
    "config.toml",
    "metrics.jsonl",
    "diagnostics.jsonl",
    "checkpoint.safetensors",
    "model.safetensors",
    "best.safetensors",
    "summary.json",
    "steps.jsonl",
    "vocab.json",
    "report.md",
    "report.html",
    "loss.svg",
    "accuracy.svg",
    "lr.svg",
    "grad_norm.svg",
    "grad_flow.svg",
    "heatmap.svg",
    "grad_distribution.svg",
    "act_distribution.svg",
];

/// The files `gradscope diagnose` writes (and its charts, `*.svg`).
pub const DIAGNOSE_OUTPUTS: &[&str] = &[
    "diagnostics.jsonl",
    "diagnosis.json",
    "report.md",
    "report.html",
];

/// The files `gradscope demo` writes (and its charts, `*.svg`).
pub const DEMO_OUTPUTS: &[&str] = &["demo.json", "report.md", "report.html"];

/// An output directory this process holds the exclusive lock of (released when dropped, or
/// by the system when the process ends, however it ends).
pub struct RunDir {
    path: PathBuf,
    /// The lock file, open and locked.
    _lock: File,
    /// Whether this process created the directory.
    created: bool,
    /// Outputs of an earlier run of the same command found there (replaced when this run
    /// writes its own, see [`RunDir::remove_leftovers`]).
    earlier: Vec<String>,
}

impl RunDir {
    /// Creates `dir` when needed and takes its lock, writing this process's pid and
    /// `command` into the lock file. Fails, naming the holder's pid, when another gradscope
    /// process holds it.
    pub fn lock(dir: &Path, command: &str) -> Result<RunDir> {
        if dir.exists() && !dir.is_dir() {
            bail!(
                "--out `{}` is a file, not a directory: choose a directory",
                dir.display()
            );
        }
        let created = !dir.exists();
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create output directory `{}`", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file `{}`", path.display()))?;
        match FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                let mut words = holder.split_whitespace();
                let who = match (words.next(), words.next()) {
                    (Some(pid), Some(cmd)) => format!("`gradscope {cmd}`, pid {pid}"),
                    (Some(pid), None) => format!("pid {pid}"),
                    _ => "pid not yet recorded".to_string(),
                };
                bail!(
                    "the output directory `{}` is in use by another gradscope run ({who}); \
                     wait for it to end or choose another --out",
                    dir.display()
                );
            }
            Err(TryLockError::Error(e)) => {
                bail!("cannot lock `{}`: {e}", path.display())
            }
        }
        file.set_len(0)
            .and_then(|_| writeln!(file, "{} {command}", std::process::id()))
            .and_then(|_| file.flush())
            .with_context(|| format!("cannot write the lock file `{}`", path.display()))?;
        Ok(RunDir {
            path: dir.to_path_buf(),
            _lock: file,
            created,
            earlier: Vec::new(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the temporary files (`.NAME.PID.tmp`) that atomic writes of a process no
    /// longer running left behind (a run killed with SIGKILL mid-write); returns their names.
    pub fn remove_stale_temps(&self) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for name in entries(&self.path)? {
            if let Some(pid) = temp_pid(&name) {
                if pid != std::process::id() && !process_running(pid) {
                    fs::remove_file(self.path.join(&name)).with_context(|| {
                        format!("cannot remove the stale temporary file `{name}`")
                    })?;
                    removed.push(name);
                }
            }
        }
        Ok(removed)
    }

    /// The directory's entries other than the lock file and temporary files, sorted.
    pub fn contents(&self) -> Result<Vec<String>> {
        Ok(entries(&self.path)?
            .into_iter()
            .filter(|n| n != LOCK_FILE && temp_pid(n).is_none())
            .collect())
    }

    /// Removes the files among `names` (and, with `svg`, every `*.svg`) that are there;
    /// returns the names removed.
    pub fn remove_outputs(&self, names: &[&str], svg: bool) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for name in self.contents()? {
            if names.contains(&name.as_str()) || (svg && name.ends_with(".svg")) {
                let p = self.path.join(&name);
                if p.is_file() {
                    fs::remove_file(&p)
                        .with_context(|| format!("cannot remove `{}`", p.display()))?;
                    removed.push(name);
                }
            }
        }
        Ok(removed)
    }

    /// After this run wrote `written`: removes the earlier run's outputs it did not replace
    /// (a chart the new report does not have), so the directory holds one run's files.
    pub fn remove_leftovers(&self, written: &[String]) -> Result<()> {
        for name in &self.earlier {
            if !written.contains(name) {
                let p = self.path.join(name);
                if p.is_file() {
                    fs::remove_file(&p)
                        .with_context(|| format!("cannot remove `{}`", p.display()))?;
                }
            }
        }
        Ok(())
    }

    /// After a failure: removes the directory again when this process created it and wrote
    /// nothing into it (so a refused run leaves nothing behind).
    pub fn abandon(self) {
        if self.created && self.contents().is_ok_and(|c| c.is_empty()) {
            let _ = fs::remove_file(self.path.join(LOCK_FILE));
            let _ = fs::remove_dir(&self.path);
        }
    }
}

/// The names in `dir`, sorted (none when it does not exist).
pub fn entries(dir: &Path) -> Result<Vec<String>> {
    let Ok(read) = fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for e in read {
        let e = e.with_context(|| format!("cannot list `{}`", dir.display()))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The pid in the name of an atomic write's temporary file, `.NAME.PID.tmp`.
fn temp_pid(name: &str) -> Option<u32> {
    let stem = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (_, pid) = stem.rsplit_once('.')?;
    pid.parse().ok()
}

/// Whether process `pid` is running (Linux: `/proc/PID`; elsewhere assumed not, since the
/// directory's lock is held).
fn process_running(pid: u32) -> bool {
    Path::new("/proc/self").exists() && Path::new("/proc").join(pid.to_string()).exists()
}

/// `names` as `a, b, c` (at most 12, then `and N more`).
pub fn list(names: &[String]) -> String {
    const MAX: usize = 12;
    let mut s = names
        .iter()
        .take(MAX)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > MAX {
        s += &format!(" and {} more", names.len() - MAX);
    }
    s
}

/// True when `a` and `b` name the same existing file (the same device and inode on Unix, the
/// same canonical path elsewhere): hard links and symbolic links are seen through.
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (fs::metadata(a), fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        ma.dev() == mb.dev() && ma.ino() == mb.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
    }
}

/// Refuses when an output would overwrite an input: each input is `(what, path)`, e.g.
/// `("the config", …)`; `flag` names the output option.
pub fn refuse_inputs_as_outputs(
    flag: &str,
    outputs: &[PathBuf],
    inputs: &[(String, PathBuf)],
) -> Result<()> {
    for out in outputs {
        if let Some((what, input)) = inputs.iter().find(|(_, i)| same_file(out, i)) {
            bail!(
                "{flag}: writing `{}` would overwrite {what} `{}`, an input of this command; \
                 choose another {flag}",
                out.display(),
                input.display()
            );
        }
    }
    Ok(())
}

/// The data files a config reads (`[data]` paths, resolved against `base_dir`), named by
/// their field.
pub fn data_inputs(loaded: &gradscope::config::LoadedConfig) -> Vec<(String, PathBuf)> {
    let d = &loaded.config.data;
    let resolve = |p: &PathBuf| {
        if p.is_absolute() {
            p.clone()
        } else {
            loaded.base_dir.join(p)
        }
    };
    [
        ("data.path", &d.path),
        ("data.test_path", &d.test_path),
        ("data.images", &d.images),
        ("data.labels", &d.labels),
        ("data.test_images", &d.test_images),
        ("data.test_labels", &d.test_labels),
    ]
    .into_iter()
    .filter_map(|(k, p)| {
        p.as_ref()
            .map(|p| (format!("the data file ({k})"), resolve(p)))
    })
    .collect()
}

/// Makes `dir` ready for the outputs of a report command (`own`, and charts `*.svg`) after
/// checking that none of them is an input: locks it, removes stale temporary files, and
/// refuses a directory holding files `command` does not write (another run's, the user's).
/// An earlier report of `command` there is kept until the new one is written (then
/// [`RunDir::remove_leftovers`] removes what the new one did not replace).
pub fn prepare_report_dir(
    dir: &Path,
    command: &str,
    own: &[&str],
    inputs: &[(String, PathBuf)],
    quiet: bool,
) -> Result<RunDir> {
    let outputs: Vec<PathBuf> = own.iter().map(|n| dir.join(n)).collect();
    refuse_inputs_as_outputs("--out", &outputs, inputs)?;
    let svgs: Vec<PathBuf> = entries(dir)?
        .into_iter()
        .filter(|n| n.ends_with(".svg"))
        .map(|n| dir.join(n))
        .collect();
    refuse_inputs_as_outputs("--out", &svgs, inputs)?;
    let run = RunDir::lock(dir, command)?;
    let stale = run.remove_stale_temps()?;
    if !quiet && !stale.is_empty() {
        crate::errln!(
            "removed temporary files a killed run left in {}: {}",
            dir.display(),
            list(&stale)
        );
    }
    let foreign: Vec<String> = run
        .contents()?
        .into_iter()
        .filter(|n| !own.contains(&n.as_str()) && !n.ends_with(".svg"))
        .collect();
    if !foreign.is_empty() {
        bail!(
            "--out `{}` holds files `gradscope {command}` does not write ({}): it is not a \
             {command} output directory, and its files are kept; choose another --out",
            dir.display(),
            list(&foreign)
        );
    }
    let mut run = run;
    run.earlier = run.contents()?;
    Ok(run)
}
