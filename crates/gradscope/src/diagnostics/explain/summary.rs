//! A [`Diagnosis`] in words, as the reports open: the headline, the paragraphs that explain
//! it (severity, the chain-rule explanation, the verdict at initialization), the remedies and
//! the theory — the text every front end shows (the CLI's reports, the Python package).

use super::depth::{depth_headline, init_verdict, problems_text, severity_line};
use super::run::outcome;
use super::through_time::{lead_encoder, through_time_headline, verdict_scope};
use crate::diagnostics::{Diagnosis, Thresholds};

/// The words of a diagnosis.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// `vanishing`, `exploding` or `healthy`.
    pub flow: &'static str,
    /// What the verdict is about (the depth, or the gradient through time).
    pub scope: &'static str,
    /// One line with the numbers behind the verdict.
    pub headline: String,
    /// How the run ended, when it diverged.
    pub outcome: Option<String>,
    /// The explanation, paragraph by paragraph.
    pub paragraphs: Vec<String>,
    /// The remedies, most promising first.
    pub remedies: Vec<String>,
    /// The same remedies in PyTorch's terms ([`pytorch_text`](super::pytorch_text)), for a
    /// model watched by the Python package.
    pub remedies_pytorch: Vec<String>,
    /// The mean-field prediction against the measurement (feed-forward models), or None.
    pub theory: Option<String>,
}

/// The words of `d`, judged with thresholds `t`.
pub fn summary(d: &Diagnosis, t: &Thresholds) -> Summary {
    let v = &d.verdict;
    let lead = lead_encoder(v);
    let headline = match lead {
        Some(rv) => {
            let mut h = through_time_headline(rv, v.max_grad_norm);
            if let Some(p) = problems_text(v) {
                h.push_str(&format!("; problems in the head: {p}"));
            }
            h
        }
        None => depth_headline(v),
    };
    let mut paragraphs = Vec::new();
    match lead {
        Some(rv) => paragraphs.push(severity_line(
            &rv.severity,
            rv.flow,
            "‖∂L/∂h_1‖/‖∂L/∂h_T‖",
            "step",
            t,
        )),
        None if v.layers.len() >= 2 => paragraphs.push(severity_line(
            &v.severity,
            v.flow,
            "‖δ_1‖/‖δ_L‖",
            "layer",
            t,
        )),
        None => {}
    }
    if !v.recurrent.is_empty() && v.layers.len() >= 2 {
        paragraphs.push(format!(
            "Head ({} hidden layers): {}.",
            v.layers.len(),
            depth_headline(v)
        ));
    }
    paragraphs.push(v.explanation.clone());
    if v.recurrent.is_empty() && v.layers.len() >= 2 {
        paragraphs.push(init_verdict(&d.verdict_at_init));
    }
    Summary {
        flow: v.flow.name(),
        scope: verdict_scope(v),
        headline,
        outcome: outcome(&d.outcome),
        paragraphs,
        remedies: v.remedies.iter().map(|r| r.text.clone()).collect(),
        remedies_pytorch: v
            .remedies
            .iter()
            .map(|r| super::pytorch_text(&r.remedy))
            .collect(),
        theory: v.recurrent.is_empty().then(|| d.theory_summary.clone()),
    }
}
