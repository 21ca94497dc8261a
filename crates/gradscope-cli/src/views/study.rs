//! The report of a built-in study: the claims (the paper's, ours, the verdict) first, then
//! the sweep's report.

use anyhow::Result;
use gradscope::study::{Claim, Scale, Study};
use gradscope::sweep::Results;

use crate::render::{Badge, Document};

/// The claims alone (what the terminal prints).
pub fn claims_document(study: &Study, scale: Scale, claims: &[Claim]) -> Document {
    let mut doc = Document::new(format!("Study {}: {}", study.name, study.title));
    doc.p(format!("Scale: {}. {}", scale.name(), study.setting));
    for (i, c) in claims.iter().enumerate() {
        doc.h3(format!(
            "Claim {}: {}",
            i + 1,
            c.claim.trim_end_matches('.')
        ));
        doc.verdict(
            vec![Badge::new("Result", c.agreement.name())],
            "",
            c.ours.clone(),
        );
        doc.note(format!("Paper: {}", c.paper));
    }
    doc
}

/// The claims, then the sweep's report.
pub fn document(
    study: &Study,
    scale: Scale,
    claims: &[Claim],
    results: &Results,
) -> Result<Document> {
    let mut doc = claims_document(study, scale, claims);
    doc.h2("The sweep");
    let sweep = super::sweep::document(results)?;
    doc.blocks.extend(sweep.blocks);
    Ok(doc)
}
