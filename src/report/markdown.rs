//! Markdown tables of measured figures, shared by the Markdown exports of `zc bench` and
//! `zc bench write`: one row per metric, one column per mode (or way), the sources, then
//! the reasons of the `n/a` cells, numbered. Figures are formatted as in the terminal
//! (`table::stat_inline`) and carry the same fallback marks.

use crate::bench::results::{Metric, find, keys};
use crate::measure::Reading;
use crate::report::table::{NOT_MEASURED, stat_inline};

/// One row per metric (in the order of the first column that has it), one column per
/// `(name, metrics)`, then the sources; the reasons for `n/a` cells follow, numbered.
/// `zc bench` names its columns by mode, `zc bench write` by way.
pub(crate) fn metric_table(columns: &[(String, &[Metric])]) -> String {
    let mut keys: Vec<&str> = Vec::new();
    for (_, metrics) in columns {
        for m in metrics.iter() {
            if !keys.contains(&m.key.as_str()) {
                keys.push(&m.key);
            }
        }
    }
    let at = columns;
    let mut out = String::from("| metric | unit |");
    for (name, _) in at {
        out.push_str(&format!(" {} |", cell(name)));
    }
    out.push_str(" source |\n|---|---|");
    out.push_str(&"--:|".repeat(at.len()));
    out.push_str("---|\n");

    let mut reasons: Vec<String> = Vec::new();
    for key in keys {
        let first = at
            .iter()
            .find_map(|(_, metrics)| find(metrics, key))
            .expect("key from a column");
        let label = first.label.to_owned();
        out.push_str(&format!(
            "| {} | {} |",
            cell(&label),
            cell(display_unit(key, &first.unit))
        ));
        let mut sources: Vec<&str> = Vec::new();
        for (_, metrics) in at {
            let text = match find(metrics, key) {
                Some(m) => {
                    if !sources.contains(&m.source.as_str()) {
                        sources.push(&m.source);
                    }
                    match &m.value {
                        Reading::Value(stat) => {
                            let text = stat_inline(key, stat);
                            // As in the terminal: a fallback figure is not a perf figure.
                            match m.fallback {
                                Some(fallback) => format!("{text} {}", fallback.mark()),
                                None => text,
                            }
                        }
                        Reading::Unavailable(why) => na(&mut reasons, why),
                    }
                }
                None => na(&mut reasons, NOT_MEASURED),
            };
            out.push_str(&format!(" {text} |"));
        }
        out.push_str(&format!(" {} |\n", cell(&sources.join("; "))));
    }
    if !reasons.is_empty() {
        out.push('\n');
        for (i, why) in reasons.iter().enumerate() {
            // `[k] reason`, not `[k]: reason`, which Markdown would take for a link target.
            out.push_str(&format!("- n/a [{}] {}\n", i + 1, cell(why)));
        }
    }
    out
}

/// The unit of the cells as `table::stat_parts` formats them: those that carry their own unit
/// (`4.2 MiB`, `100%`) say what the figure is per.
fn display_unit<'a>(key: &str, unit: &'a str) -> &'a str {
    match key {
        keys::STORAGE_READ_BYTES => "per run",
        keys::RESIDENCY_BEFORE => "% of the fixture",
        _ => unit,
    }
}

/// `n/a [k]`, numbering each distinct reason once.
pub(crate) fn na(reasons: &mut Vec<String>, why: &str) -> String {
    let k = match reasons.iter().position(|r| r == why) {
        Some(i) => i + 1,
        None => {
            reasons.push(why.to_owned());
            reasons.len()
        }
    };
    format!("n/a [{k}]")
}

/// Text safe inside a table cell: a `|` would end the cell and a line break the row.
pub(crate) fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_pipes_and_line_breaks() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
