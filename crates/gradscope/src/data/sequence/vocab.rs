//! A character vocabulary for character-level language models.

use std::collections::HashMap;

use super::{push_one_hot, Dataset};
use crate::error::{Error, Result};

/// A character vocabulary: V distinct characters (Unicode scalar values), character `i` being
/// class and one-hot position `i`.
///
/// [`CharVocab::from_text`] sorts the distinct characters of a text by code point, so the
/// same text always gives the same vocabulary. A [`char_lm`](super::char_lm) data set carries
/// it as its class names — class `i`'s name is the character itself, a one-character string,
/// with no escaping: a newline is named `"\n"`, a space `" "`, a tab `"\t"` — and
/// [`CharVocab::from_dataset`] or [`CharVocab::from_class_names`] rebuild it exactly (a text
/// generator needs nothing else). [`CharVocab::display`] gives a printable form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CharVocab {
    chars: Vec<char>,
    index: HashMap<char, usize>,
}

impl CharVocab {
    /// The sorted distinct characters of `text`; an error for an empty text.
    pub fn from_text(text: &str) -> Result<CharVocab> {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        if chars.is_empty() {
            return Err(Error::Data(
                "empty text: no characters for a vocabulary".into(),
            ));
        }
        CharVocab::from_chars(chars)
    }

    /// The characters in the given order (class `i` = the `i`-th); an error when one repeats
    /// or there is none.
    pub fn from_chars(chars: impl IntoIterator<Item = char>) -> Result<CharVocab> {
        let chars: Vec<char> = chars.into_iter().collect();
        if chars.is_empty() {
            return Err(Error::Data(
                "a vocabulary needs at least one character".into(),
            ));
        }
        let mut index = HashMap::with_capacity(chars.len());
        for (i, &c) in chars.iter().enumerate() {
            if let Some(j) = index.insert(c, i) {
                return Err(Error::Data(format!(
                    "character {} appears twice in the vocabulary (positions {j} and {i})",
                    CharVocab::display(c)
                )));
            }
        }
        Ok(CharVocab { chars, index })
    }

    /// From class names that are each exactly one character (as a [`char_lm`](super::char_lm)
    /// set has them).
    pub fn from_class_names(names: &[String]) -> Result<CharVocab> {
        let chars = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mut it = name.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => Ok(c),
                    _ => Err(Error::Data(format!(
                        "class name {i} is {name:?}: a character vocabulary needs names of \
                         exactly one character"
                    ))),
                }
            })
            .collect::<Result<Vec<char>>>()?;
        CharVocab::from_chars(chars)
    }

    /// The vocabulary carried by a character-level data set's class names.
    pub fn from_dataset(ds: &Dataset) -> Result<CharVocab> {
        if ds.class_names().is_empty() {
            return Err(Error::Data(format!(
                "`{}` has no class names, so no character vocabulary",
                ds.name()
            )));
        }
        CharVocab::from_class_names(ds.class_names())
    }

    /// Number of characters V.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Always false: a vocabulary has at least one character.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The characters, index = class.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// The class index of `c`, if it is in the vocabulary.
    pub fn index_of(&self, c: char) -> Option<usize> {
        self.index.get(&c).copied()
    }

    /// The character of class `i`, if `i < len()`.
    pub fn char_of(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    /// The class index of every character of `text`; an error names the first character that
    /// is not in the vocabulary and its 0-based character position.
    pub fn encode(&self, text: &str) -> Result<Vec<usize>> {
        text.chars()
            .enumerate()
            .map(|(pos, c)| {
                self.index_of(c).ok_or_else(|| {
                    Error::Data(format!(
                        "character {} at position {pos} is not in the vocabulary of {} characters",
                        CharVocab::display(c),
                        self.len()
                    ))
                })
            })
            .collect()
    }

    /// The text of class indices; an error names the first index `>= len()`.
    pub fn decode(&self, indices: &[usize]) -> Result<String> {
        indices
            .iter()
            .enumerate()
            .map(|(pos, &i)| {
                self.char_of(i).ok_or_else(|| {
                    Error::Data(format!(
                        "index {i} at position {pos} is outside the vocabulary of {} characters",
                        self.len()
                    ))
                })
            })
            .collect()
    }

    /// One-hot rows `[indices.len(), V]`, row-major: the input of a character-level model.
    ///
    /// # Panics
    /// If an index is `>= len()`.
    pub fn one_hot(&self, indices: &[usize]) -> Vec<f64> {
        let mut x = Vec::with_capacity(indices.len() * self.len());
        for &i in indices {
            assert!(
                i < self.len(),
                "index {i} outside the vocabulary of {}",
                self.len()
            );
            push_one_hot(&mut x, i, self.len());
        }
        x
    }

    /// The class names: each character as a one-character string.
    pub fn class_names(&self) -> Vec<String> {
        self.chars.iter().map(|c| c.to_string()).collect()
    }

    /// A printable form of a character for messages and tables: `\n`, `\t`, `\r` and `\\`
    /// escaped, a space as `' '`, other control characters as `\u{..}`; any other character is
    /// itself in backquotes.
    pub fn display(c: char) -> String {
        match c {
            '\n' => "`\\n`".into(),
            '\t' => "`\\t`".into(),
            '\r' => "`\\r`".into(),
            '\\' => "`\\\\`".into(),
            ' ' => "' '".into(),
            c if c.is_control() => format!("`\\u{{{:x}}}`", c as u32),
            c => format!("`{c}`"),
        }
    }
}
