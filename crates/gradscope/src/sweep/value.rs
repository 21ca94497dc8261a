//! Axis values as text: the canonical TOML inline form (what a `--set` override and a point's
//! id are made of) and the form shown in tables, where a string is bare.

/// `v` in TOML inline syntax, the same text for the same value on every platform: strings
/// quoted with TOML's escapes, floats in Rust's shortest round-trip form (`0.1`, `1e-5`,
/// `1.0`; `nan`, `inf`), tables with their keys in sorted order.
pub fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => quote(s),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => float(*f),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(a) => {
            let items: Vec<String> = a.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        toml::Value::Table(t) => {
            let mut keys: Vec<&String> = t.keys().collect();
            keys.sort();
            if keys.is_empty() {
                return "{}".into();
            }
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{} = {}", key(k), inline(&t[k])))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
    }
}

/// `v` for a table cell or a chart label: a string as it is (`relu`), anything else as
/// [`inline`] (`[64, 64]`, `0.01`).
pub fn display(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => inline(other),
    }
}

/// The number `v` holds (integers and floats), for numeric axes.
pub fn number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        // Debug is the shortest text that reads back as the same f64, with a `.0` or an
        // exponent, both valid TOML floats.
        format!("{f:?}")
    }
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be, quoted otherwise.
fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        k.to_string()
    } else {
        quote(k)
    }
}

/// 64-bit FNV-1a of `bytes`: a hash fixed by its definition (the standard library's hasher
/// may change between Rust releases), for ids that must stay the same across versions and
/// machines.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> toml::Value {
        toml::from_str::<toml::Table>(&format!("v = {text}")).unwrap()["v"].clone()
    }

    #[test]
    fn inline_reads_back_as_the_same_value() {
        for text in [
            "\"relu\"",
            "\"leaky_relu(0.1)\"",
            "\"a \\\"quoted\\\" \\\\ string\\n\"",
            "3",
            "-7",
            "0.1",
            "1e-5",
            "1.0",
            "2.5e300",
            "true",
            "[64, 64]",
            "[]",
            "{ kind = \"adam\", lr = 0.001 }",
            "{ \"odd key\" = 1 }",
            "inf",
            "-inf",
        ] {
            let v = parse(text);
            assert_eq!(parse(&inline(&v)), v, "{text} -> {}", inline(&v));
        }
        assert_eq!(inline(&parse("0.30000000000000004")), "0.30000000000000004");
        assert_eq!(inline(&parse("{ b = 1, a = 2 }")), "{ a = 2, b = 1 }");
        assert_eq!(display(&parse("\"relu\"")), "relu");
        assert_eq!(display(&parse("[64, 32]")), "[64, 32]");
        assert_eq!(inline(&parse("nan")), "nan");
    }

    #[test]
    fn fnv1a_is_the_published_function() {
        // Test vectors of the FNV reference (Fowler, Noll, Vo).
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
