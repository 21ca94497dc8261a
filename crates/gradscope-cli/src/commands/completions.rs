//! `gradscope completions SHELL`: the shell completion script, generated from the command
//! line's definition by `clap_complete`.

use anyhow::Result;
use clap_complete::Shell;

use crate::output::emit;

/// Arguments of `gradscope completions`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = "\
Install, e.g.:
  bash  gradscope completions bash > ~/.local/share/bash-completion/completions/gradscope
  zsh   gradscope completions zsh > ~/.zfunc/_gradscope   (with fpath+=~/.zfunc)
  fish  gradscope completions fish > ~/.config/fish/completions/gradscope.fish")]
pub struct Args {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
}

/// Prints the script for `args.shell` to stdout.
pub fn run(args: Args, cmd: &mut clap::Command) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, cmd, "gradscope", &mut script);
    emit(&String::from_utf8(script)?)
}
