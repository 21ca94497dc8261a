//! The `name(p1, key=value, ...)` text form shared by activations and initializers.
//!
//! Names are case-insensitive and `-` may stand for `_`. Positional values fill parameters in
//! declaration order; omitted parameters take their defaults. Errors name the thing being
//! parsed and list what is valid.

/// One parameter of a text-form call.
#[derive(Debug)]
pub struct ParamSpec {
    /// Parameter name.
    pub name: &'static str,
    /// Default value (for a choice parameter: the index of the default choice).
    pub default: f64,
    /// What it means.
    pub doc: &'static str,
    /// For a parameter that takes a word rather than a number: the valid words. The bound
    /// value is the index of the word.
    pub choices: &'static [&'static str],
    /// A numeric parameter whose value 0 means "computed": written and read as `auto`.
    pub auto_zero: bool,
}

/// A numeric parameter.
pub const fn num(name: &'static str, default: f64, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        default,
        doc,
        choices: &[],
        auto_zero: false,
    }
}

/// A numeric parameter whose default, `auto` (bound as 0), means "computed".
pub const fn num_auto(name: &'static str, doc: &'static str) -> ParamSpec {
    ParamSpec {
        name,
        default: 0.0,
        doc,
        choices: &[],
        auto_zero: true,
    }
}

/// A parameter taking one of `choices` (default: `choices[default]`).
pub const fn choice(
    name: &'static str,
    default: usize,
    choices: &'static [&'static str],
    doc: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        default: default as f64,
        doc,
        choices,
        auto_zero: false,
    }
}

impl ParamSpec {
    /// `name=default`, as shown in lists of valid names.
    pub fn with_default(&self) -> String {
        format!("{}={}", self.name, self.show(self.default))
    }

    /// The text of a bound value.
    pub fn show(&self, value: f64) -> String {
        if !self.choices.is_empty() {
            self.choices[value as usize].to_string()
        } else if self.auto_zero && value == 0.0 {
            "auto".to_string()
        } else {
            format!("{value}")
        }
    }
}

/// Normalizes a name: trimmed, lower case, `-` → `_`.
pub fn normalize(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('-', "_")
}

/// Splits `name(args)` into the normalized name and the argument text (None without
/// parentheses). `what` names the kind of thing for error messages.
pub fn split_call<'a>(what: &str, text: &'a str) -> Result<(String, Option<&'a str>), String> {
    let text = text.trim();
    let (name, args) = match text.find('(') {
        Some(open) => {
            let Some(inner) = text[open + 1..].strip_suffix(')') else {
                return Err(format!("{what} `{text}`: missing closing `)`"));
            };
            (&text[..open], Some(inner))
        }
        None => (text, None),
    };
    Ok((normalize(name), args))
}

/// `name(p=default, ...)` for each entry, comma-separated.
pub fn signature(name: &str, params: &[ParamSpec]) -> String {
    if params.is_empty() {
        name.to_string()
    } else {
        let ps: Vec<String> = params.iter().map(ParamSpec::with_default).collect();
        format!("{name}({})", ps.join(", "))
    }
}

/// Binds the argument text of `what` `name` to `params`, returning one value per parameter.
pub fn bind(
    what: &str,
    name: &str,
    args: Option<&str>,
    params: &[ParamSpec],
) -> Result<Vec<f64>, String> {
    let valid = || {
        if params.is_empty() {
            "it takes no parameters".to_string()
        } else {
            let ps: Vec<String> = params
                .iter()
                .map(|p| format!("{} (default {}: {})", p.name, p.show(p.default), p.doc))
                .collect();
            format!("valid parameters: {}", ps.join(", "))
        }
    };
    let mut values: Vec<Option<f64>> = vec![None; params.len()];
    if let Some(args) = args.filter(|a| !a.trim().is_empty()) {
        let count = args.split(',').count();
        let mut seen_named = false;
        for (i, arg) in args.split(',').enumerate() {
            let arg = arg.trim();
            let (slot, raw) = match arg.split_once('=') {
                Some((k, v)) => {
                    seen_named = true;
                    let k = normalize(k);
                    let slot = params.iter().position(|p| p.name == k).ok_or_else(|| {
                        format!("{what} `{name}`: unknown parameter `{k}`; {}", valid())
                    })?;
                    (slot, v.trim())
                }
                None => {
                    if seen_named {
                        return Err(format!(
                            "{what} `{name}`: positional value `{arg}` after a named one"
                        ));
                    }
                    if i >= params.len() {
                        return Err(format!(
                            "{what} `{name}`: too many values ({count} given); {}",
                            valid()
                        ));
                    }
                    (i, arg)
                }
            };
            let spec = &params[slot];
            let value = if spec.auto_zero && normalize(raw.trim_matches(['"', '\''])) == "auto" {
                0.0
            } else if spec.choices.is_empty() {
                raw.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        format!(
                            "{what} `{name}`: parameter `{}` = `{raw}` is not a finite number",
                            spec.name
                        )
                    })?
            } else {
                let word = normalize(raw.trim_matches(['"', '\'']));
                spec.choices
                    .iter()
                    .position(|c| *c == word)
                    .ok_or_else(|| {
                        format!(
                            "{what} `{name}`: parameter `{}` = `{raw}` is not one of {}",
                            spec.name,
                            spec.choices.join(", ")
                        )
                    })? as f64
            };
            if values[slot].replace(value).is_some() {
                return Err(format!(
                    "{what} `{name}`: parameter `{}` given twice",
                    spec.name
                ));
            }
        }
    }
    Ok(values
        .iter()
        .zip(params)
        .map(|(v, p)| v.unwrap_or(p.default))
        .collect())
}

/// The canonical text of a call: `name` without parameters, else `name(p₁=v₁, p₂=v₂, …)`
/// with each value as [`ParamSpec::show`] prints it.
pub fn call_text(name: &str, params: &[ParamSpec], values: &[f64]) -> String {
    if values.is_empty() {
        return name.to_string();
    }
    let args: Vec<String> = params
        .iter()
        .zip(values)
        .map(|(p, v)| format!("{}={}", p.name, p.show(*v)))
        .collect();
    format!("{name}({})", args.join(", "))
}

/// `FromStr` by `$parse`, and serde as the text form (serialized with `Display`, deserialized
/// by parsing), for a type written as a text-form call in configs and outputs.
macro_rules! text_form_traits {
    ($t:ty, $parse:path) => {
        impl std::str::FromStr for $t {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
                $parse(s)
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use text_form_traits;

/// One constructor of a text form: its name, its parameters, and how the bound values (one
/// per parameter, in order) build the value.
pub struct CallSpec<T: 'static> {
    /// The canonical name.
    pub name: &'static str,
    /// Its parameters, in positional order.
    pub params: &'static [ParamSpec],
    /// The value from the bound parameters.
    pub build: fn(&[f64]) -> T,
}

/// Every constructor of `specs` with its defaults, comma-separated (for error messages).
pub fn signatures<T>(specs: &[CallSpec<T>]) -> String {
    specs
        .iter()
        .map(|s| signature(s.name, s.params))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `text` as a call of one of `specs` (`aliases` map other names to canonical ones):
/// the constructor found and the value it built. `what` names the kind of thing in errors
/// ("initializer"), which list the valid forms.
pub fn parse_call<T>(
    what: &str,
    text: &str,
    specs: &'static [CallSpec<T>],
    aliases: &[(&str, &str)],
) -> Result<(&'static CallSpec<T>, T), String> {
    let (name, args) = split_call(what, text)?;
    let name = aliases
        .iter()
        .find(|(a, _)| *a == name)
        .map_or(name.as_str(), |(_, n)| n);
    let spec = specs.iter().find(|s| s.name == name).ok_or_else(|| {
        format!(
            "unknown {what} `{name}`; valid {what}s: {}",
            signatures(specs)
        )
    })?;
    let values = bind(what, spec.name, args, spec.params)?;
    Ok((spec, (spec.build)(&values)))
}
