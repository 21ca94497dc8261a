//! A compact HTML rendering of a [`Diagnosis`] for `Diagnosis.to_html` and Jupyter: the
//! verdict, explanation, remedies, theory and the per-layer table. The full report with
//! charts is the CLI's (`gradscope report DIR`); the library holds no HTML, and the CLI's
//! renderer pulls plotting dependencies a Python wheel does not need.

use gradscope::diagnostics::{explain, Diagnosis, Thresholds};

/// `s` with `&`, `<`, `>` and `"` escaped.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.3e}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{:.1}%", 100.0 * x))
}

/// The diagnosis as an HTML fragment (a `<div>`).
pub fn fragment(d: &Diagnosis, t: &Thresholds) -> String {
    let s = explain::summary(d, t);
    let colour = match s.flow {
        "healthy" => "#1a7f37",
        "vanishing" => "#9a6700",
        _ => "#cf222e",
    };
    let mut h = String::from("<div class=\"gradscope-diagnosis\">\n");
    h.push_str(&format!(
        "<p><strong style=\"color:{colour}\">Verdict: {}</strong> ({}) — {}</p>\n",
        esc(s.flow),
        esc(s.scope),
        esc(&s.headline)
    ));
    if let Some(o) = &s.outcome {
        h.push_str(&format!("<p><em>{}</em></p>\n", esc(o)));
    }
    for p in &s.paragraphs {
        h.push_str(&format!("<p>{}</p>\n", esc(p)));
    }
    if !s.remedies.is_empty() {
        h.push_str("<p><strong>Remedies</strong></p>\n<ol>\n");
        for (r, t) in s.remedies.iter().zip(&s.remedies_pytorch) {
            h.push_str(&format!("<li>{}<br><code>{}</code></li>\n", esc(r), esc(t)));
        }
        h.push_str("</ol>\n");
    }
    if let Some(th) = &s.theory {
        h.push_str(&format!("<p><strong>Theory.</strong> {}</p>\n", esc(th)));
    }
    if !d.layers.is_empty() {
        h.push_str(
            "<table>\n<tr><th>depth</th><th>layer</th><th>|dL/dz| first</th>\
             <th>|dL/dz| last</th><th>ratio to last</th><th>mean |f'|</th><th>saturated</th>\
             <th>dead</th><th>factor √χ₁</th><th>factor meas</th></tr>\n",
        );
        for r in &d.layers {
            let layer = r
                .activation
                .map_or_else(|| r.name.clone(), |a| a.to_string());
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3e}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                r.depth,
                esc(&layer),
                num(r.grad_norm_first),
                num(r.grad_norm_last),
                r.ratio_to_last,
                num(r.mean_abs_derivative),
                pct(r.saturated_fraction),
                pct(r.dead_fraction),
                num(r.predicted_factor),
                num(r.measured_factor),
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str("</div>\n");
    h
}

/// A self-contained HTML page of the diagnosis.
pub fn page(d: &Diagnosis, t: &Thresholds) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Gradient diagnosis: {}</title>\n<style>body{{font-family:sans-serif;\
         max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}</style></head>\n\
         <body>\n<h1>Gradient diagnosis: {}</h1>\n<p>{} steps, measured at {} steps (every {}).</p>\n{}\
         <p>The full report with charts: <code>gradscope report DIR</code> on the directory \
         <code>scope.write(DIR)</code> wrote.</p>\n</body></html>\n",
        esc(&d.config),
        esc(&d.config),
        d.steps,
        d.measured_steps.len(),
        d.every,
        fragment(d, t)
    )
}
