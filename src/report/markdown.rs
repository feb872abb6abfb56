//! Markdown tables of measured figures, shared by the Markdown exports of `zc bench` and
//! `zc bench write`: one row per metric, one column per mode (or way), the sources, then
//! the reasons of the `n/a` cells, numbered. Figures are formatted as in the terminal
//! (`table::stat_inline`) and carry the same fallback marks.

use crate::bench::results::Metric;
use crate::report::grid::metric_grid;

/// One row per metric (in the order of the first column that has it), one column per
/// `(name, metrics)`, then the sources; the reasons for `n/a` cells follow, numbered.
/// `zc bench` names its columns by mode, `zc bench write` by way.
pub(crate) fn metric_table(columns: &[(String, &[Metric])]) -> String {
    let grid = metric_grid(columns);
    let line = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut out = line(&grid.header);
    out.push_str("|---|---|");
    out.push_str(&"--:|".repeat(columns.len()));
    out.push_str("---|\n");
    for row in &grid.rows {
        out.push_str(&line(row));
    }
    if !grid.reasons.is_empty() {
        out.push('\n');
        for (i, why) in grid.reasons.iter().enumerate() {
            // `[k] reason`, not `[k]: reason`, which Markdown would take for a link target.
            out.push_str(&format!("- n/a [{}] {}\n", i + 1, cell(why)));
        }
    }
    out
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
