//! One axis of a sweep: the config keys it sets and the values it takes — a list, a linear
//! range, a logarithmic range, or rows of values that several keys take together (a zipped
//! axis).

use super::value::{display, inline, number};
use crate::error::{Error, Result};

/// Most values one axis may take (a range with a typo in its step would otherwise expand to
/// millions of runs).
pub const MAX_AXIS_VALUES: usize = 100_000;

/// How an axis' values were given: it decides how a chart draws the axis (categories, a
/// linear or a logarithmic scale).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AxisKind {
    /// `values = [...]`.
    List,
    /// `range = { from, to, step | num }`.
    Range,
    /// `log_range = { from, to, num }`.
    LogRange,
}

/// An axis: the config keys it sets (`--set` paths; several for a zipped axis) and, for each
/// of its values, one value per key.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Axis {
    /// The config keys, e.g. `["model.activation"]`.
    pub keys: Vec<String>,
    /// Each value of the axis: one TOML value per key.
    pub values: Vec<Vec<toml::Value>>,
    /// How the values were given.
    pub kind: AxisKind,
}

impl Axis {
    /// `key` takes each of `values` in turn.
    pub fn values(key: impl Into<String>, values: Vec<toml::Value>) -> Result<Axis> {
        Axis::checked(
            vec![key.into()],
            values.into_iter().map(|v| vec![v]).collect(),
            AxisKind::List,
        )
    }

    /// `keys` take the values of each row together (a zipped axis: row i sets `keys[j]` to
    /// `rows[i][j]`).
    pub fn zip(keys: Vec<String>, rows: Vec<Vec<toml::Value>>) -> Result<Axis> {
        Axis::checked(keys, rows, AxisKind::List)
    }

    /// `key` takes `num` evenly spaced values from `from` to `to`, both included.
    pub fn linear(key: impl Into<String>, from: f64, to: f64, num: usize) -> Result<Axis> {
        let key = key.into();
        let values = linspace(&key, from, to, num)?;
        Axis::checked(
            vec![key],
            values
                .into_iter()
                .map(|v| vec![toml::Value::Float(v)])
                .collect(),
            AxisKind::Range,
        )
    }

    /// `key` takes `num` values evenly spaced on a logarithmic scale from `from` to `to`
    /// (both > 0, both included).
    pub fn log(key: impl Into<String>, from: f64, to: f64, num: usize) -> Result<Axis> {
        let key = key.into();
        let values = logspace(&key, from, to, num)?;
        Axis::checked(
            vec![key],
            values
                .into_iter()
                .map(|v| vec![toml::Value::Float(v)])
                .collect(),
            AxisKind::LogRange,
        )
    }

    fn checked(keys: Vec<String>, values: Vec<Vec<toml::Value>>, kind: AxisKind) -> Result<Axis> {
        let bad = |m: String| Err(Error::config(m));
        let name = keys.join(", ");
        if keys.is_empty() {
            return bad("an axis needs a key".into());
        }
        for k in &keys {
            if k.trim().is_empty() || k.split('.').any(|p| p.trim().is_empty()) {
                return bad(format!(
                    "axis key `{k}` is not a config path like training.lr"
                ));
            }
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].contains(k) {
                return bad(format!("axis ({name}): key `{k}` is given twice"));
            }
        }
        if values.is_empty() {
            return bad(format!("axis ({name}) has no values"));
        }
        if values.len() > MAX_AXIS_VALUES {
            return bad(format!(
                "axis ({name}) has {} values, more than {MAX_AXIS_VALUES}",
                values.len()
            ));
        }
        for (i, row) in values.iter().enumerate() {
            if row.len() != keys.len() {
                return bad(format!(
                    "axis ({name}): value {} has {} entries for {} keys",
                    i + 1,
                    row.len(),
                    keys.len()
                ));
            }
        }
        for (i, row) in values.iter().enumerate() {
            if values[..i].contains(row) {
                return bad(format!(
                    "axis ({name}): the value {} is given twice",
                    row.iter().map(inline).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        Ok(Axis { keys, values, kind })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for an axis without values (never, once built).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The axis' name: its key, or the keys of a zipped axis joined by ` + `.
    pub fn name(&self) -> String {
        self.keys.join(" + ")
    }

    /// Value `i` as shown in tables and charts (`relu`, `0.01`, `relu / kaiming_normal`).
    pub fn label(&self, i: usize) -> String {
        self.values[i]
            .iter()
            .map(display)
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// Value `i` as a number, for an axis of one key whose values are all numbers.
    pub fn number(&self, i: usize) -> Option<f64> {
        if !self.is_numeric() {
            return None;
        }
        number(&self.values[i][0])
    }

    /// One key, every value a number.
    pub fn is_numeric(&self) -> bool {
        self.keys.len() == 1 && self.values.iter().all(|r| number(&r[0]).is_some())
    }

    /// A numeric axis best drawn on a logarithmic scale: a `log_range`, or positive values
    /// spanning more than two decades.
    pub fn is_logarithmic(&self) -> bool {
        if !self.is_numeric() {
            return false;
        }
        if self.kind == AxisKind::LogRange {
            return true;
        }
        let v: Vec<f64> = (0..self.len()).filter_map(|i| self.number(i)).collect();
        let (lo, hi) = v
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
                (a.min(*x), b.max(*x))
            });
        lo > 0.0 && hi / lo > 100.0
    }

    /// The `--set` overrides of value `i`: `key=value` for each key, the value in TOML
    /// inline syntax.
    pub fn overrides(&self, i: usize) -> Vec<String> {
        self.keys
            .iter()
            .zip(&self.values[i])
            .map(|(k, v)| format!("{k}={}", inline(v)))
            .collect()
    }
}

/// The `[[axis]]` table of a sweep file.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AxisFile {
    key: Option<String>,
    keys: Option<Vec<String>>,
    values: Option<Vec<toml::Value>>,
    range: Option<RangeFile>,
    log_range: Option<RangeFile>,
}

/// `range = { from, to, step }` / `{ from, to, num }`, `log_range = { from, to, num }`.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeFile {
    from: toml::Value,
    to: toml::Value,
    step: Option<toml::Value>,
    num: Option<usize>,
}

impl AxisFile {
    /// The axis this table describes; errors start with `what` (e.g. `axis 2`).
    pub(super) fn build(self, what: &str) -> Result<Axis> {
        let bad = |m: String| Err(Error::config(format!("{what}: {m}")));
        // `keys = [...]` is a zipped axis (one array per value), even of a single key.
        let zipped = self.keys.is_some();
        let keys = match (self.key, self.keys) {
            (Some(k), None) => vec![k],
            (None, Some(ks)) if !ks.is_empty() => ks,
            (None, Some(_)) => return bad("keys = [] names no config key".into()),
            (Some(_), Some(_)) => {
                return bad("give key (one config key) or keys (a zipped axis), not both".into())
            }
            (None, None) => {
                return bad(
                    "needs key = \"section.field\" (or keys = [...] for a zipped axis)".into(),
                )
            }
        };
        let given = [
            self.values.is_some(),
            self.range.is_some(),
            self.log_range.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given != 1 {
            return bad(
                "give exactly one of values = [...], range = { ... }, log_range = { ... }".into(),
            );
        }
        let name = keys.join(", ");
        let with_what = |r: Result<Axis>| {
            r.map_err(|e| match e {
                Error::Config(c) => Error::config(format!("{what}: {}", c.message())),
                other => other,
            })
        };
        if let Some(values) = self.values {
            if zipped {
                let mut rows = Vec::with_capacity(values.len());
                for (i, v) in values.into_iter().enumerate() {
                    match v {
                        toml::Value::Array(row) => rows.push(row),
                        other => {
                            return bad(format!(
                                "({name}) value {} is {}: a zipped axis takes one array per \
                                 value, e.g. values = [[\"relu\", \"kaiming_normal\"], ...]",
                                i + 1,
                                inline(&other)
                            ))
                        }
                    }
                }
                return with_what(Axis::zip(keys, rows));
            }
            return with_what(Axis::values(keys[0].clone(), values));
        }
        if zipped {
            return bad(format!(
                "({name}) a zipped axis takes values = [[...], ...], not a range"
            ));
        }
        let key = keys[0].clone();
        if let Some(r) = self.range {
            return with_what(range(key, r));
        }
        let r = self.log_range.expect("one of the three is given");
        with_what(log_range(key, r))
    }
}

fn as_number(key: &str, field: &str, v: &toml::Value) -> Result<f64> {
    number(v).filter(|x| x.is_finite()).ok_or_else(|| {
        Error::config(format!(
            "({key}) {field} = {} must be a finite number",
            inline(v)
        ))
    })
}

/// `x` rounded to 12 significant digits: a range's 0.30000000000000004 becomes 0.3.
fn round12(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.11e}").parse().unwrap_or(x)
}

fn linspace(key: &str, from: f64, to: f64, num: usize) -> Result<Vec<f64>> {
    if !(from.is_finite() && to.is_finite()) {
        return Err(Error::config(format!(
            "({key}) range: from and to must be finite"
        )));
    }
    match num {
        0 => Err(Error::config(format!("({key}) range: num must be >= 1"))),
        1 => Ok(vec![from]),
        n if n > MAX_AXIS_VALUES => Err(Error::config(format!(
            "({key}) range: num = {n} is more than {MAX_AXIS_VALUES} values"
        ))),
        n => Ok((0..n)
            .map(|i| {
                if i + 1 == n {
                    to
                } else {
                    round12(from + (to - from) * i as f64 / (n - 1) as f64)
                }
            })
            .collect()),
    }
}

fn logspace(key: &str, from: f64, to: f64, num: usize) -> Result<Vec<f64>> {
    if !(from > 0.0 && to > 0.0 && from.is_finite() && to.is_finite()) {
        return Err(Error::config(format!(
            "({key}) log_range: from = {from} and to = {to} must both be > 0"
        )));
    }
    let logs = linspace(key, from.log10(), to.log10(), num)?;
    let n = logs.len();
    Ok(logs
        .into_iter()
        .enumerate()
        .map(|(i, l)| match i {
            0 => from,
            i if i + 1 == n => to,
            _ => round12(10f64.powf(l)),
        })
        .collect())
}

fn range(key: String, r: RangeFile) -> Result<Axis> {
    let ints = matches!(
        (&r.from, &r.to, &r.step),
        (
            toml::Value::Integer(_),
            toml::Value::Integer(_),
            None | Some(toml::Value::Integer(_))
        )
    );
    let from = as_number(&key, "range.from", &r.from)?;
    let to = as_number(&key, "range.to", &r.to)?;
    let values: Vec<toml::Value> = match (&r.step, r.num) {
        (Some(_), Some(_)) => {
            return Err(Error::config(format!(
                "({key}) range: give step or num, not both"
            )))
        }
        (None, Some(num)) => {
            let v = linspace(&key, from, to, num)?;
            if ints && v.iter().all(|x| x.fract() == 0.0) {
                v.into_iter()
                    .map(|x| toml::Value::Integer(x as i64))
                    .collect()
            } else {
                v.into_iter().map(toml::Value::Float).collect()
            }
        }
        (step, None) => {
            let step = match step {
                Some(s) => as_number(&key, "range.step", s)?,
                None if ints => 1.0,
                None => {
                    return Err(Error::config(format!(
                        "({key}) range of floats: give step or num"
                    )))
                }
            };
            if step == 0.0 || (to - from) * step < 0.0 {
                return Err(Error::config(format!(
                    "({key}) range: step = {step} does not go from {from} to {to}"
                )));
            }
            let count = ((to - from) / step + 1e-9).floor() + 1.0;
            if count > MAX_AXIS_VALUES as f64 {
                return Err(Error::config(format!(
                    "({key}) range: from {from} to {to} by {step} is more than \
                     {MAX_AXIS_VALUES} values"
                )));
            }
            (0..count as usize)
                .map(|i| {
                    let x = from + step * i as f64;
                    if ints {
                        toml::Value::Integer(x.round() as i64)
                    } else {
                        toml::Value::Float(round12(x))
                    }
                })
                .collect()
        }
    };
    Axis::checked(
        vec![key],
        values.into_iter().map(|v| vec![v]).collect(),
        AxisKind::Range,
    )
}

fn log_range(key: String, r: RangeFile) -> Result<Axis> {
    if r.step.is_some() {
        return Err(Error::config(format!(
            "({key}) log_range takes num (values from `from` to `to`), not step"
        )));
    }
    let num = r.num.ok_or_else(|| {
        Error::config(format!(
            "({key}) log_range needs num, e.g. log_range = {{ from = 1e-4, to = 1e-1, num = 4 }}"
        ))
    })?;
    let ints = matches!(
        (&r.from, &r.to),
        (toml::Value::Integer(_), toml::Value::Integer(_))
    );
    let from = as_number(&key, "log_range.from", &r.from)?;
    let to = as_number(&key, "log_range.to", &r.to)?;
    let v = logspace(&key, from, to, num)?;
    let values: Vec<toml::Value> = if ints {
        // Integer ends give integer values (widths, batch sizes), rounded.
        v.into_iter()
            .map(|x| toml::Value::Integer(x.round() as i64))
            .collect()
    } else {
        v.into_iter().map(toml::Value::Float).collect()
    };
    Axis::checked(
        vec![key],
        values.into_iter().map(|v| vec![v]).collect(),
        AxisKind::LogRange,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(text: &str) -> Result<Axis> {
        let f: AxisFile = toml::from_str(text).unwrap();
        f.build("axis 1")
    }

    fn labels(a: &Axis) -> Vec<String> {
        (0..a.len()).map(|i| a.label(i)).collect()
    }

    #[test]
    fn lists_ranges_and_log_ranges_expand_as_documented() {
        let a = axis("key = \"model.activation\"\nvalues = [\"relu\", \"tanh\"]").unwrap();
        assert_eq!(labels(&a), ["relu", "tanh"]);
        assert_eq!(a.overrides(1), ["model.activation=\"tanh\""]);
        let a = axis("key = \"data.limit\"\nrange = { from = 100, to = 500, step = 200 }").unwrap();
        assert_eq!(labels(&a), ["100", "300", "500"]);
        let a = axis("key = \"x\"\nrange = { from = 1, to = 4 }").unwrap();
        assert_eq!(labels(&a), ["1", "2", "3", "4"]);
        let a = axis("key = \"x\"\nrange = { from = 0.1, to = 0.5, num = 5 }").unwrap();
        assert_eq!(labels(&a), ["0.1", "0.2", "0.3", "0.4", "0.5"]);
        let a = axis("key = \"x\"\nrange = { from = 0.0, to = 1.0, step = 0.25 }").unwrap();
        assert_eq!(labels(&a), ["0.0", "0.25", "0.5", "0.75", "1.0"]);
        let a =
            axis("key = \"training.lr\"\nlog_range = { from = 1e-3, to = 1e-1, num = 5 }").unwrap();
        assert_eq!(
            labels(&a),
            [
                "0.001",
                "0.00316227766017",
                "0.01",
                "0.0316227766017",
                "0.1"
            ]
        );
        assert!(a.is_logarithmic());
        let a = axis("key = \"w\"\nlog_range = { from = 16, to = 256, num = 5 }").unwrap();
        assert_eq!(labels(&a), ["16", "32", "64", "128", "256"]);
        let a = axis(
            "keys = [\"model.activation\", \"model.init\"]\nvalues = [[\"relu\", \"kaiming_normal\"], [\"tanh\", \"xavier_normal\"]]",
        )
        .unwrap();
        assert_eq!(
            labels(&a),
            ["relu / kaiming_normal", "tanh / xavier_normal"]
        );
        assert_eq!(
            a.overrides(0),
            ["model.activation=\"relu\"", "model.init=\"kaiming_normal\""]
        );
        assert!(!a.is_numeric());
    }

    #[test]
    fn bad_axes_are_refused_naming_the_axis() {
        for (text, needle) in [
            ("values = [1]", "needs key"),
            ("key = \"a\"", "exactly one of"),
            ("key = \"a\"\nvalues = []", "no values"),
            ("key = \"a\"\nvalues = [1, 1]", "given twice"),
            ("key = \"a..b\"\nvalues = [1]", "not a config path"),
            (
                "key = \"a\"\nrange = { from = 0.0, to = 1.0 }",
                "give step or num",
            ),
            (
                "key = \"a\"\nrange = { from = 1, to = 0, step = 1 }",
                "does not go",
            ),
            (
                "key = \"a\"\nrange = { from = 0, to = 1e9, step = 1 }",
                "more than",
            ),
            (
                "key = \"a\"\nlog_range = { from = 0.0, to = 1.0, num = 3 }",
                "> 0",
            ),
            (
                "key = \"a\"\nlog_range = { from = 1, to = 10 }",
                "needs num",
            ),
            (
                "keys = [\"a\", \"b\"]\nvalues = [1, 2]",
                "one array per value",
            ),
            (
                "keys = [\"a\", \"b\"]\nvalues = [[1]]",
                "1 entries for 2 keys",
            ),
            ("keys = [\"a\", \"a\"]\nvalues = [[1, 2]]", "given twice"),
        ] {
            let e = axis(text).unwrap_err().to_string();
            assert!(e.starts_with("axis 1"), "{text}: {e}");
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
