//! The numbers in the docs are the numbers the code gives: every documented example that
//! runs in seconds is re-run and its documented output compared with what it prints today.
//!
//! In README.md and docs/*.md:
//! - a fenced block whose first line is `$ gradscope …` (or `$ cargo run --release -- …`)
//!   is an example: the command is run (its `--out` in a temporary directory) and each
//!   stretch of the block between elisions (`...`, `…`) must appear, in order, in its output
//!   (whitespace-insensitive, so the docs may wrap lines);
//! - `<!-- numbers: COMMAND -->` before a paragraph or table: every number in it outside code
//!   spans and parentheses must be a number of the command's output or of a JSON file it
//!   wrote, as rounded in the doc;
//! - `<!-- numbers per row: COMMAND ;; COMMAND ;; … -->` before a table: the same for each
//!   row against its own command (an empty command leaves the row unchecked);
//! - `<!-- slow: COMMAND; YYYY-MM-DD -->` before a block or line marks numbers from a run too
//!   long for the tests: the command and the date that produced them (the example block or
//!   numbers after it are not run).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use super::TempDir;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Markdown files checked.
fn docs() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md")];
    let mut d: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    d.sort();
    files.extend(d);
    files
}

/// Splits a command line as a shell would (single and double quotes, no expansions).
fn split(cmd: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in cmd.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (_, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// What a command printed and the JSON files it wrote.
#[derive(Clone)]
struct Ran {
    stdout: String,
    files: String,
}

/// Runs a documented command line (`gradscope …` or `cargo run --release -- …`) with the
/// test's binary in the repository root, `--out` redirected into a fresh directory under
/// `tmp`. The same command (up to its `--out`) runs once.
fn run(cmd: &str, tmp: &Path) -> Result<Ran, String> {
    static CACHE: Mutex<Option<HashMap<Vec<String>, Ran>>> = Mutex::new(None);
    let mut words = split(cmd);
    if words.first().is_some_and(|w| w == "cargo") {
        let sep = words
            .iter()
            .position(|w| w == "--")
            .ok_or("cargo without --")?;
        words.drain(..=sep);
        words.insert(0, "gradscope".into());
    }
    if words.first().map(String::as_str) != Some("gradscope") {
        return Err(format!("not a gradscope command: {cmd}"));
    }
    words.remove(0);
    let n = std::fs::read_dir(tmp).map_or(0, |d| d.count());
    let out_dir = tmp.join(format!("run{n}"));
    let mut key = words.clone();
    let mut has_out = false;
    for i in 0..words.len() {
        if words[i] == "--out" && i + 1 < words.len() {
            words[i + 1] = out_dir.to_string_lossy().into_owned();
            key[i + 1] = String::new();
            has_out = true;
        }
    }
    if !has_out && words.first().is_some_and(|w| w == "demo") {
        words.extend(["--out".into(), out_dir.to_string_lossy().into_owned()]);
    }
    if let Some(r) = CACHE
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .get(&key)
    {
        return Ok(r.clone());
    }
    let out = Command::new(env!("CARGO_BIN_EXE_gradscope"))
        .args(&words)
        .current_dir(repo())
        .env_remove("COLUMNS")
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "`{cmd}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut files = String::new();
    if let Ok(dir) = std::fs::read_dir(&out_dir) {
        for f in dir.map(|e| e.unwrap().path()) {
            if f.extension().is_some_and(|e| e == "json") {
                files.push_str(&std::fs::read_to_string(&f).unwrap_or_default());
                files.push('\n');
            }
        }
    }
    let ran = Ran {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        files,
    };
    CACHE
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(key, ran.clone());
    Ok(ran)
}

/// [`run`]'s stdout followed by the JSON files the command wrote (where a doc's
/// full-precision numbers come from).
fn run_with_files(cmd: &str, tmp: &Path) -> Result<String, String> {
    run(cmd, tmp).map(|r| format!("{}\n{}", r.stdout, r.files))
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The stretches of a documented output block between elisions, each whitespace-squashed.
fn stretches(block: &[&str]) -> Vec<String> {
    let text = block.join("\n").replace('…', "...");
    text.split("...")
        .map(squash)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Checks that the stretches appear in order in `output`; the first one missing otherwise.
fn find_in_order(stretches: &[String], output: &str) -> Result<(), String> {
    let out = squash(output);
    let mut at = 0;
    for s in stretches {
        match out[at..].find(s.as_str()) {
            Some(i) => at += i + s.len(),
            None => {
                // The longest prefix found, to show where it differs.
                let words: Vec<&str> = s.split(' ').collect();
                let mut n = words.len();
                while n > 0 && !out[at..].contains(&words[..n].join(" ")) {
                    n -= 1;
                }
                return Err(format!(
                    "not in the output: «{s}»\n  found up to: «{}»",
                    words[..n].join(" ")
                ));
            }
        }
    }
    Ok(())
}

/// Numbers in a text: (value, significant digits as written) of each decimal token, the
/// sign and a leading × included.
fn numbers(text: &str) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'));
        if !starts {
            i += 1;
            continue;
        }
        let begin = i;
        while i < chars.len()
            && (chars[i].is_ascii_digit()
                || (chars[i] == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
                || ((chars[i] == 'e' || chars[i] == 'E')
                    && chars
                        .get(i + 1)
                        .is_some_and(|c| c.is_ascii_digit() || *c == '-' || *c == '+')))
        {
            if chars[i] == 'e' || chars[i] == 'E' {
                i += 1; // the exponent's sign or first digit
            }
            i += 1;
        }
        let tok: String = chars[begin..i].iter().collect();
        let neg = begin > 0 && (chars[begin - 1] == '-' || chars[begin - 1] == '−');
        if let Ok(v) = tok.parse::<f64>() {
            out.push((if neg { -v } else { v }, tok));
        }
    }
    out
}

/// Whether `value` printed to the precision of `written` gives `written`'s value.
fn rounds_to(value: f64, written: &str, target: f64) -> bool {
    let mantissa = written.split(['e', 'E']).next().unwrap_or(written);
    let decimals = mantissa.split('.').nth(1).map_or(0, str::len);
    let exp = written
        .split(['e', 'E'])
        .nth(1)
        .and_then(|e| e.parse::<i32>().ok())
        .unwrap_or(0);
    let unit = 10f64.powi(exp - decimals as i32);
    (value - target).abs() <= 0.5 * unit * (1.0 + 1e-9)
}

/// The text outside code spans and parentheses (where the doc names settings, not results).
fn prose_numbers_part(line: &str) -> String {
    let mut out = String::new();
    let (mut code, mut depth) = (false, 0usize);
    for c in line.chars() {
        match c {
            '`' => code = !code,
            '(' if !code => depth += 1,
            ')' if !code => depth = depth.saturating_sub(1),
            _ if !code && depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn check_numbers(block: &[&str], output: &str) -> Result<(), String> {
    let found: Vec<f64> = numbers(output).into_iter().map(|(v, _)| v).collect();
    let mut missing = Vec::new();
    for line in block {
        for (v, tok) in numbers(&prose_numbers_part(line)) {
            if !found.iter().any(|&o| rounds_to(o, &tok, v)) {
                missing.push(tok);
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("numbers not in the output: {}", missing.join(", ")))
    }
}

/// The block after line `i`: a fenced block's lines (without the fences), or the lines up to
/// the next blank line.
fn block_after(lines: &[&str], mut i: usize) -> (Vec<String>, usize) {
    while i < lines.len() && lines[i].trim().is_empty() {
        i += 1;
    }
    let mut out = Vec::new();
    if lines.get(i).is_some_and(|l| l.starts_with("```")) {
        i += 1;
        while i < lines.len() && !lines[i].starts_with("```") {
            out.push(lines[i].to_string());
            i += 1;
        }
        return (out, i + 1);
    }
    while i < lines.len() && !lines[i].trim().is_empty() {
        out.push(lines[i].to_string());
        i += 1;
    }
    (out, i)
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s.chars()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[test]
fn documented_numbers_are_what_the_code_gives() {
    let tmp = TempDir::new("docnumbers");
    std::fs::create_dir_all(&tmp.0).unwrap();
    let (mut failures, mut checked, mut slow) = (Vec::new(), 0, 0);
    for file in docs() {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let name = file
            .strip_prefix(repo())
            .unwrap_or(&file)
            .display()
            .to_string();
        let mut i = 0;
        let mut slow_next = false;
        while i < lines.len() {
            let line = lines[i].trim();
            let at = format!("{name}:{}", i + 1);
            if let Some(m) = line
                .strip_prefix("<!-- slow:")
                .and_then(|m| m.strip_suffix("-->"))
            {
                let (cmd, date) = m.rsplit_once(';').unwrap_or((m, ""));
                if !is_date(date.trim()) || !cmd.trim().starts_with("gradscope") {
                    failures.push(format!(
                        "{at}: a slow marker needs `gradscope …; YYYY-MM-DD`, got `{m}`"
                    ));
                }
                slow += 1;
                slow_next = true;
                i += 1;
                continue;
            }
            if let Some(cmds) = line
                .strip_prefix("<!-- numbers per row:")
                .and_then(|m| m.strip_suffix("-->"))
            {
                let (block, next) = block_after(&lines, i + 1);
                let rows: Vec<&String> = block.iter().skip(2).collect();
                let cmds: Vec<&str> = cmds.split(";;").map(str::trim).collect();
                if cmds.len() != rows.len() {
                    failures.push(format!(
                        "{at}: {} commands for {} table rows",
                        cmds.len(),
                        rows.len()
                    ));
                }
                for (cmd, row) in cmds.iter().zip(rows).filter(|(c, _)| !c.is_empty()) {
                    match run_with_files(cmd, &tmp.0)
                        .and_then(|out| check_numbers(&[row.as_str()], &out))
                    {
                        Ok(()) => checked += 1,
                        Err(e) => failures.push(format!("{at}: row `{row}`: `{cmd}`: {e}")),
                    }
                }
                i = next;
                continue;
            }
            if let Some(cmd) = line
                .strip_prefix("<!-- numbers:")
                .and_then(|m| m.strip_suffix("-->"))
            {
                let (block, next) = block_after(&lines, i + 1);
                let block: Vec<&str> = block.iter().map(String::as_str).collect();
                match run_with_files(cmd.trim(), &tmp.0).and_then(|out| check_numbers(&block, &out))
                {
                    Ok(()) => checked += 1,
                    Err(e) => failures.push(format!("{at}: `{}`: {e}", cmd.trim())),
                }
                i = next;
                continue;
            }
            if line.starts_with("```") {
                let (block, next) = block_after(&lines, i);
                let cmd = block.first().and_then(|l| {
                    l.strip_prefix("$ gradscope ")
                        .map(|c| format!("gradscope {c}"))
                        .or_else(|| {
                            l.strip_prefix("$ cargo run --release -- ")
                                .map(|c| format!("gradscope {c}"))
                        })
                });
                if let Some(cmd) = cmd {
                    if slow_next {
                        slow_next = false;
                    } else {
                        let expected: Vec<&str> = block[1..].iter().map(String::as_str).collect();
                        match run(&cmd, &tmp.0)
                            .and_then(|out| find_in_order(&stretches(&expected), &out.stdout))
                        {
                            Ok(()) => checked += 1,
                            Err(e) => failures.push(format!("{at}: `{cmd}`: {e}")),
                        }
                    }
                }
                i = next;
                continue;
            }
            if !line.is_empty() {
                slow_next = false;
            }
            i += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "docs disagree with the code ({} failures):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(checked >= 10, "only {checked} documented examples found");
    eprintln!("{checked} documented examples checked, {slow} marked slow");
}

#[test]
fn the_checker_reads_numbers_and_elisions() {
    assert_eq!(
        numbers("×1.076, 1.4e3 and 6.70% at T = 100; x2 no")
            .iter()
            .map(|n| n.1.as_str())
            .collect::<Vec<_>>(),
        ["1.076", "1.4e3", "6.70", "100"]
    );
    assert!(rounds_to(1401.3, "1.4e3", 1400.0));
    assert!(!rounds_to(1776.0, "1.4e3", 1400.0));
    assert!(!rounds_to(0.06703, "6.70", 6.70));
    assert!(rounds_to(1.0764, "1.076", 1.076));
    assert!(!rounds_to(1.0794, "1.076", 1.076));
    assert_eq!(
        prose_numbers_part("| `a-1.toml` (ρ = 1.5) | 2.5 |"),
        "|   | 2.5 |"
    );
    let s = stretches(&["verdict: X (a = 1,", "  b = 2) ...", "remedies: ... end"]);
    assert_eq!(s, ["verdict: X (a = 1, b = 2)", "remedies:", "end"]);
    assert!(find_in_order(&s, "verdict: X (a = 1,\nb = 2) more\nremedies: 1. foo\nend").is_ok());
    assert!(find_in_order(&s, "remedies: end verdict: X (a = 1, b = 2)").is_err());
    assert_eq!(
        split(r#"a --set x='"o"' "b c""#),
        ["a", "--set", r#"x="o""#, "b c"]
    );
    assert!(is_date("2026-12-05") && !is_date("2026-12-5"));
}
