//! The Rust snippets of the guides that are excerpts of a compiled example stay excerpts:
//! a ```rust block right after `<!-- excerpt: PATH -->` in a Markdown file under docs/ (or
//! the README) must consist of lines of PATH (compared trimmed), so a snippet cannot rot
//! while the example it came from compiles and runs in CI.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// (markdown file, excerpt source, the block's lines) for every marked block.
fn excerpts() -> Vec<(PathBuf, String, Vec<String>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.push(repo().join("README.md"));
    files.sort();
    let mut out = Vec::new();
    for md in files {
        let text = std::fs::read_to_string(&md).unwrap();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let Some(rest) = line.trim().strip_prefix("<!-- excerpt:") else {
                continue;
            };
            let source = rest.trim().trim_end_matches("-->").trim().to_string();
            let fence = lines.next().unwrap_or("").trim().to_string();
            assert_eq!(fence, "```rust", "{}: excerpt of {source}", md.display());
            let block: Vec<String> = lines
                .by_ref()
                .take_while(|l| l.trim() != "```")
                .map(str::to_string)
                .collect();
            out.push((md.clone(), source, block));
        }
    }
    out
}

#[test]
fn marked_snippets_are_lines_of_their_example() {
    let all = excerpts();
    assert!(
        all.iter()
            .any(|(md, _, _)| md.ends_with("docs/optimizers.md")),
        "docs/optimizers.md's training loop is an excerpt"
    );
    for (md, source, block) in all {
        let code = std::fs::read_to_string(repo().join(&source))
            .unwrap_or_else(|e| panic!("{}: excerpt of {source}: {e}", md.display()));
        let have: Vec<&str> = code.lines().map(str::trim).collect();
        for line in block.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
            assert!(
                have.contains(&line),
                "{}: `{line}` is not a line of {source}",
                md.display()
            );
        }
    }
}
