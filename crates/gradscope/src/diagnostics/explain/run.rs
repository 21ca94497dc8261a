//! How a run ended, in words.

use crate::train::Outcome;

/// How a diverged run ended, as a sentence (None for any other outcome).
pub fn outcome(o: &Outcome) -> Option<String> {
    match o {
        Outcome::Diverged {
            step,
            location,
            detail,
        } => Some(format!(
            "Training diverged at step {step}: non-finite value first in {location} ({detail}). \
             The verdict uses the steps measured before."
        )),
        _ => None,
    }
}
