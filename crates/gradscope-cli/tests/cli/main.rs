//! Integration tests of the `gradscope` binary: one test binary, one module per subcommand.

mod activations;
mod browser;
mod conventions;
mod demo;
mod diagnose;
mod doc_numbers;
mod grads;
mod hostile;
mod knobs;
mod outputs;
mod study;
mod sweep;
mod theory;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Runs `gradscope` with `args`.
pub fn gradscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gradscope"))
        .args(args)
        .output()
        .expect("the gradscope binary runs")
}

/// Runs `gradscope` with `args` (stdout discarded), killing it after `limit`: `None` when it
/// had to be killed, else its exit status and stderr.
pub fn gradscope_with_timeout(
    args: &[&str],
    limit: Duration,
) -> Option<(std::process::ExitStatus, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gradscope"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the gradscope binary runs");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let out = child.wait_with_output().expect("stderr");
            return Some((status, String::from_utf8_lossy(&out.stderr).to_string()));
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `gradscope` with `args`, asserts success and returns stdout.
#[track_caller]
pub fn ok(args: &[&str]) -> String {
    let out = gradscope(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "gradscope {args:?} failed ({:?}): {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs `gradscope` with `args`, asserts a clean failure (non-zero exit, no panic, a message
/// on stderr, nothing on stdout) and returns stderr.
#[track_caller]
pub fn fails(args: &[&str]) -> String {
    let out = gradscope(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "gradscope {args:?} should fail, stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        out.status.code().is_some(),
        "killed by a signal: {:?}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "panic on {args:?}: {stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
    assert!(
        stderr.to_lowercase().contains("error"),
        "no error message: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "stdout on error: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// A fresh, not yet existing directory under the system temp dir; removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let p = std::env::temp_dir().join(format!(
            "gradscope-cli-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        assert!(!p.exists());
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
mod train;
