//! Finding the line of a dotted key (`training.optimizer.lr`) in TOML text, for error
//! messages about values that parsed but are out of range.

/// The 1-based line where `path` is set in `text`: a `key = value` line under the matching
/// `[table]` header, a dotted key, or a key inside an inline table on the line of its parent.
/// Falls back to the longest prefix of the path that is found; None if nothing is.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let keys: Vec<&str> = path.split('.').filter(|k| !k.is_empty()).collect();
    let mut best: Option<(usize, usize)> = None; // (matched keys, line)
    let mut table: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            let name = line.trim_matches(|c| c == '[' || c == ']').trim();
            table = name.split('.').map(|s| s.trim().to_string()).collect();
            let n = matched(&keys, &table);
            if n == table.len() && best.is_none_or(|(b, _)| n > b) {
                best = Some((n, i + 1));
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let mut full = table.clone();
        full.extend(
            key.trim()
                .split('.')
                .map(|s| s.trim().trim_matches('"').to_string()),
        );
        let mut n = matched(&keys, &full);
        if n < full.len() {
            continue;
        }
        // Keys of an inline table on this line: `optimizer = { kind = "sgd", lr = 0.1 }`.
        if n < keys.len() && value.contains('{') {
            let needle = format!("{} ", keys[n]);
            let needle_eq = format!("{}=", keys[n]);
            if value.contains(&needle) || value.contains(&needle_eq) {
                n += 1;
            }
        }
        if best.is_none_or(|(b, _)| n > b) {
            best = Some((n, i + 1));
        }
    }
    best.filter(|(n, _)| *n > 0).map(|(_, l)| l)
}

fn matched(keys: &[&str], found: &[String]) -> usize {
    keys.iter()
        .zip(found)
        .take_while(|(a, b)| **a == b.as_str())
        .count()
}
