//! The `demo` report from a [`Comparison`]: the comparison table with each ratio labelled by
//! when it was taken, what the comparison shows, each variant's verdicts at initialization and
//! over the run, the charts.

use anyhow::Result;
use gradscope::diagnostics::compare::{Comparison, Variant};
use gradscope::diagnostics::explain;
use gradscope::model::Norm;
use gradscope::train::Outcome;

use super::cells::{acc, opt, sci};
use super::demo_charts;
use crate::render::{Badge, Document, Table};

/// The comparison table's header.
const HEADER: [&str; 9] = [
    "variant",
    "test acc",
    "ratio step 1",
    "ratio run",
    "ratio end",
    "theory √χ₁",
    "theory q_l",
    "verdict step 1",
    "verdict run",
];

fn table(c: &Comparison) -> Table {
    let rows = c
        .variants
        .iter()
        .map(|v| {
            vec![
                v.label.clone(),
                acc(v.test_accuracy),
                opt(v.ratio_init),
                sci(v.verdict.first_to_last),
                opt(v.ratio_end),
                v.theory
                    .as_ref()
                    .map_or("-".into(), |p| sci(p.predicted_first_to_last)),
                v.theory
                    .as_ref()
                    .map_or("-".into(), |p| sci(p.transient_first_to_last)),
                v.flow_init.name().into(),
                v.verdict.flow.name().into(),
            ]
        })
        .collect();
    Table::new(HEADER.iter().map(|h| h.to_string()).collect(), rows, 1)
}

/// The one definition of the ratio the table and the verdicts quote.
const RATIO: &str = "ratio = ‖∂L/∂z₁‖/‖∂L/∂z_L‖, the gradient norm at the first hidden layer \
                     over that at the last: step 1 — at initialization (what \"verdict step 1\" \
                     judges); run — the geometric mean over every measured step (what \"verdict \
                     run\" judges); end — at the last measured step. theory: the mean-field \
                     prediction of the ratio at step 1, from √χ₁ at the fixed point q* or with \
                     each layer's own variance q_l (the network may not reach q* in 10 layers).";

fn setup(c: &Comparison) -> String {
    format!(
        "One network — 10 hidden layers of width 64 — trained on the embedded 8×8 digits{} five \
         ways, with the same seed, split, optimizer (SGD, lr 0.01, momentum 0.9, batch 32) and \
         {} epochs. Every layer is measured at step 1 (initialization) and every 10 steps.",
        c.samples
            .map_or(String::new(), |n| format!(" ({n} samples)")),
        c.epochs
    )
}

fn describe(v: &Variant) -> String {
    format!(
        "{} ({}, init {}{})",
        v.label,
        v.activation,
        v.init,
        if v.norm == Norm::None {
            String::new()
        } else {
            format!(", {}", v.norm.name())
        }
    )
}

/// The demo's report (the terminal prints it without the "Verdicts" and "Charts" sections).
pub fn document(c: &Comparison) -> Result<Document> {
    let mut doc = Document::new("gradscope demo: one deep network, five ways");
    doc.p(setup(c));
    doc.table(table(c));
    doc.note(RATIO);
    for v in &c.variants {
        if let Outcome::Diverged { step, location, .. } = &v.outcome {
            doc.note(format!("{} diverged at step {step} ({location}).", v.label));
        }
    }
    doc.h2("What this shows");
    doc.list(false, c.findings.iter().map(|f| f.text.clone()).collect());
    doc.h2("Verdicts");
    for v in &c.variants {
        doc.h3(describe(v));
        doc.verdict(
            vec![
                Badge::new("At initialization", v.flow_init.name()),
                Badge::new("Over the run", v.verdict.flow.name()),
            ],
            "",
            "",
        );
        doc.p(explain::variant_ratios(v));
        doc.p(v.verdict.explanation.clone());
        doc.list(
            true,
            v.verdict.remedies.iter().map(|r| r.text.clone()).collect(),
        );
    }
    doc.h2("Charts");
    demo_charts::charts(&mut doc, c)?;
    doc.note(format!("Wall time {:.1} s.", c.wall_s));
    Ok(doc)
}
