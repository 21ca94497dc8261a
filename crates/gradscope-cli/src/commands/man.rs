//! `gradscope man [--out DIR]`: the man page, generated from the command line's definition by
//! `clap_mangen` (so it cannot drift from `--help`).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

use crate::output::{emit, write_atomic};

/// Arguments of `gradscope man`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = "\
Examples:
  gradscope man | man -l -
  gradscope man --out ~/.local/share/man/man1   (gradscope.1, gradscope-train.1, ...)")]
pub struct Args {
    /// Write gradscope.1 and one gradscope-COMMAND.1 per command into DIR (created if
    /// missing; existing pages are replaced) instead of printing gradscope.1.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

fn page(cmd: clap::Command) -> Result<Vec<u8>> {
    let mut roff = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut roff)
        .context("rendering the man page")?;
    Ok(roff)
}

/// Prints or writes the pages of `cmd`.
pub fn run(args: Args, cmd: clap::Command) -> Result<()> {
    let cmd = cmd.name("gradscope");
    let Some(dir) = args.out else {
        return emit(&String::from_utf8(page(cmd)?)?);
    };
    if dir.exists() && !dir.is_dir() {
        bail!("--out `{}` is not a directory", dir.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let mut written = vec!["gradscope.1".to_string()];
    write_atomic(&dir.join("gradscope.1"), &page(cmd.clone())?)?;
    for sub in cmd.get_subcommands() {
        let name = format!("gradscope-{}", sub.get_name());
        // clap names are static strings; the program ends right after.
        let static_name: &'static str = Box::leak(name.clone().into_boxed_str());
        let sub = sub
            .clone()
            .name(static_name)
            .version(env!("CARGO_PKG_VERSION"));
        write_atomic(&dir.join(format!("{name}.1")), &page(sub)?)?;
        written.push(format!("{name}.1"));
    }
    crate::errln!("wrote {} -> {}", written.join(", "), dir.display());
    Ok(())
}
