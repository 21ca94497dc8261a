//! The `activations` table of the catalogue's computed properties.

use gradscope::activation::Properties;

use crate::output::num;
use crate::render::Table;

fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| num(v, 4))
}

/// One row per activation: range, f(0), f'(0), max |f'| and where, the range of f',
/// monotonicity, E[f(z)], the saturation point, E[f'(z)²] and the init gain. Softmax and
/// log-softmax, row-wise, get formulas in the row width n from their Jacobian instead.
pub fn properties_table(props: &[Properties]) -> Table {
    let header = [
        "activation",
        "range",
        "f(0)",
        "f'(0)",
        "max|f'|",
        "at x",
        "f' range",
        "monotonic",
        "E[f(z)]",
        "saturation |x|",
        "E[f'(z)^2]",
        "gain",
    ];
    let rows: Vec<Vec<String>> = props
        .iter()
        .map(|p| {
            if let Some(r) = &p.rowwise {
                // A row-wise map has no scalar f: its cells are formulas in the row width n.
                return vec![
                    format!("{} (row-wise, n entries)", p.name),
                    p.range_text.clone(),
                    r.f0.to_string(),
                    format!("{} (Jacobian diagonal)", r.df0),
                    r.max_abs_jacobian.to_string(),
                    "-".into(),
                    r.jacobian_range.to_string(),
                    "in its own x_i".into(),
                    r.mean_output.to_string(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ];
            }
            vec![
                p.name.clone(),
                p.range_text.clone(),
                num(p.f0, 4),
                num(p.df0, 4),
                num(p.max_abs_derivative, 4),
                match p.argmax_derivative {
                    Some(x) => num(x, 4),
                    None if p.argmax_derivative_interval[0].is_none() => "-inf".into(),
                    None => "inf".into(),
                },
                format!(
                    "[{}, {}]",
                    num(p.derivative_range[0], 3),
                    num(p.derivative_range[1], 4)
                ),
                if p.monotonic { "yes" } else { "no" }.into(),
                num(p.mean_output, 3),
                opt(p.saturation_x),
                num(p.mean_sq_derivative, 4),
                num(p.gain, 4),
            ]
        })
        .collect();
    Table::new(header.iter().map(|h| h.to_string()).collect(), rows, 2)
}
