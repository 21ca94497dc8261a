//! Number formats of table cells.

use crate::output::num;

/// A number for tables: 4 significant digits, scientific when tiny or huge, `-` when not
/// finite.
pub fn sci(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v != 0.0 && !(1e-3..1e4).contains(&v.abs()) {
        return format!("{v:.2e}");
    }
    num(v, 4)
}

/// An optional number for tables.
pub fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), sci)
}

/// A fraction as a percentage with one decimal.
pub fn pct(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite())
        .map_or("-".into(), |v| format!("{:.1}%", 100.0 * v))
}

/// An accuracy as a percentage with one decimal.
pub fn acc(a: Option<f64>) -> String {
    a.map_or("-".into(), |a| format!("{:.1}%", 100.0 * a))
}

/// Up to `n` items spread evenly over `items`: the first, the last and some in between.
pub fn spread<T>(items: &[T], n: usize) -> Vec<&T> {
    let len = items.len();
    if len <= n {
        return items.iter().collect();
    }
    let mut idx: Vec<usize> = (0..n)
        .map(|i| ((i as f64) * (len - 1) as f64 / (n - 1).max(1) as f64).round() as usize)
        .collect();
    idx.dedup();
    idx.into_iter().map(|i| &items[i]).collect()
}
