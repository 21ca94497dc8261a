//! Terminal habits: colour (`--color never|auto|always`, `NO_COLOR`), the width prose is
//! wrapped to, and how much is said (`-q`, `-v`). Set once by `main` from the global flags.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

/// `--color`: when verdicts are coloured.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorChoice {
    /// Never (as `NO_COLOR` does under `auto`).
    Never,
    /// When stdout is a terminal, `NO_COLOR` is unset or empty and `TERM` is not `dumb`.
    #[default]
    Auto,
    /// Always, even into a pipe.
    Always,
}

/// How much a command says on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: no progress bar, no "wrote" lines.
    Quiet = 0,
    /// The default.
    Normal = 1,
    /// `-v`: also what each measured step recorded.
    Verbose = 2,
}

static COLOR: AtomicBool = AtomicBool::new(false);
/// Wrap width; 0 = do not wrap.
static WIDTH: AtomicUsize = AtomicUsize::new(0);
static VERBOSITY: AtomicU8 = AtomicU8::new(1);

/// Whether `choice` colours output, given whether stdout is a terminal and the environment.
pub fn resolve_color(
    choice: ColorChoice,
    stdout_tty: bool,
    no_color: Option<&str>,
    term: Option<&str>,
) -> bool {
    match choice {
        ColorChoice::Never => false,
        ColorChoice::Always => true,
        ColorChoice::Auto => {
            stdout_tty && no_color.is_none_or(str::is_empty) && term != Some("dumb")
        }
    }
}

/// The width prose is wrapped to: the terminal's when stdout is one, else `COLUMNS` when set
/// (at least 20), else none (lines stay whole for scripts).
fn detect_width(stdout_tty: bool) -> usize {
    if stdout_tty {
        if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
            return usize::from(w).max(20);
        }
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .map_or(0, |w| w.max(20))
}

/// Sets colour and width from `--color` and the environment.
pub fn init(choice: ColorChoice) {
    let tty = std::io::stdout().is_terminal();
    let no_color = std::env::var("NO_COLOR").ok();
    let term = std::env::var("TERM").ok();
    COLOR.store(
        resolve_color(choice, tty, no_color.as_deref(), term.as_deref()),
        Ordering::Relaxed,
    );
    WIDTH.store(detect_width(tty), Ordering::Relaxed);
}

/// Sets the verbosity from a command's `-q` and `-v`.
pub fn set_verbosity(quiet: bool, verbose: bool) {
    let v = if quiet {
        Verbosity::Quiet
    } else if verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    VERBOSITY.store(v as u8, Ordering::Relaxed);
}

/// True under `-v`.
pub fn verbose() -> bool {
    VERBOSITY.load(Ordering::Relaxed) >= Verbosity::Verbose as u8
}

/// Whether output is coloured.
pub fn color() -> bool {
    COLOR.load(Ordering::Relaxed)
}

/// The wrap width (None: do not wrap).
pub fn width() -> Option<usize> {
    match WIDTH.load(Ordering::Relaxed) {
        0 => None,
        w => Some(w),
    }
}

/// The ANSI colour of a flow's label: red exploding, blue vanishing, green healthy.
pub fn flow_color(flow: &str) -> Option<&'static str> {
    match flow {
        "exploding" => Some("31"),
        "vanishing" => Some("34"),
        "healthy" => Some("32"),
        _ => None,
    }
}

/// `text` in bold and the flow's colour when `color` is on.
pub fn paint_flow(text: &str, flow: &str, color: bool) -> String {
    match flow_color(flow) {
        Some(code) if color => format!("\x1b[1;{code}m{text}\x1b[0m"),
        _ => text.to_string(),
    }
}

/// `text` wrapped to `width` (None: unchanged), later lines indented by `indent` spaces and
/// the first line prefixed by `first`.
pub fn wrap(text: &str, width: Option<usize>, first: &str, indent: usize) -> String {
    let Some(w) = width else {
        return format!("{first}{text}");
    };
    let rest = " ".repeat(indent);
    let options = textwrap::Options::new(w)
        .initial_indent(first)
        .subsequent_indent(&rest)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    textwrap::fill(text, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_colours_a_terminal_unless_no_color_or_dumb() {
        let auto = ColorChoice::Auto;
        assert!(resolve_color(auto, true, None, Some("xterm")));
        assert!(
            resolve_color(auto, true, Some(""), None),
            "empty NO_COLOR is unset"
        );
        assert!(!resolve_color(auto, true, Some("1"), None));
        assert!(!resolve_color(auto, true, None, Some("dumb")));
        assert!(!resolve_color(auto, false, None, None));
        assert!(resolve_color(ColorChoice::Always, false, Some("1"), None));
        assert!(!resolve_color(ColorChoice::Never, true, None, None));
    }

    #[test]
    fn flows_have_their_colours() {
        assert_eq!(paint_flow("X", "exploding", true), "\x1b[1;31mX\x1b[0m");
        assert_eq!(paint_flow("X", "vanishing", true), "\x1b[1;34mX\x1b[0m");
        assert_eq!(paint_flow("X", "healthy", true), "\x1b[1;32mX\x1b[0m");
        assert_eq!(paint_flow("X", "healthy", false), "X");
    }
}
