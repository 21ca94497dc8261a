//! One module per subcommand.

pub mod activations;
pub mod bench;
pub mod completions;
pub mod demo;
pub mod diagnose;
pub mod generate;
pub mod grads;
pub mod man;
pub mod report;
pub mod study;
pub mod sweep;
pub mod theory;
pub mod train;

/// An error that ends the command with a specific exit status (e.g. 130 after Ctrl-C).
#[derive(Debug)]
pub struct ExitStatus {
    /// Process exit code.
    pub code: u8,
    /// What to print on stderr.
    pub message: String,
}

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExitStatus {}

/// `--max-memory`, shared by train, diagnose and demo.
#[derive(clap::Args, Debug, Clone)]
pub struct MemoryArgs {
    /// Refuse a run whose estimated memory (parameters, gradients, optimizer state,
    /// activations at the batch size, the data set; see docs/reliability.md) is above SIZE,
    /// e.g. 8G, 1.5GiB, 500MB. Default: 3/4 of the physical memory (/proc/meminfo), or of
    /// the cgroup limit or the address space left under `ulimit -v` when lower.
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,
}

impl MemoryArgs {
    /// The limit: `--max-memory`, else the machine's default, else none.
    pub fn limit(&self) -> anyhow::Result<gradscope::memory::MemoryLimit> {
        use gradscope::memory::{parse_size, MemoryLimit};
        match &self.max_memory {
            Some(text) => {
                let bytes = parse_size(text).map_err(|e| anyhow::anyhow!("--max-memory: {e}"))?;
                Ok(MemoryLimit::new(bytes, format!("--max-memory {text}")))
            }
            None => Ok(match MemoryLimit::for_this_machine() {
                Some(mut l) => {
                    l.origin += "; raise it with --max-memory";
                    l
                }
                None => MemoryLimit::new(u64::MAX, "physical memory unknown: no limit"),
            }),
        }
    }
}
