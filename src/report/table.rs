//! The measured tables of the terminal reports, drawn one way for every report (`zc bench`
//! names its rows by mode and chunk, `zc bench write` by way and batch): a title, one
//! comfy-table row per named row, the notes, then the reason of each kind of `n/a` cell,
//! once. A cell holds the median, the `min–max` of the runs beneath it when they disagree,
//! and beneath that a mark when the figure comes from a fallback source: `(rusage)` or
//! `(own count)`, so a table made without root is not mistaken for perf figures.
//!
//! The figures are formatted here by what they measure (`format_value`): the Markdown
//! exports and `zc explain` use the same formatting, so a figure reads the same everywhere.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::bench::results::{Fallback, Metric, Stat, find};
use crate::bench::send::results::keys;
use crate::bench::write::results::keys as write_keys;
use crate::measure::Reading;
use crate::text::{percent, sig3, wrap};
use crate::units::format_size;

/// What a cell says when a metric is absent from the row altogether (an older or partial
/// result), as opposed to present but [`Reading::Unavailable`].
pub(crate) const NOT_MEASURED: &str = "not measured";

/// A measured column: the metric key it shows and its (abbreviated) header.
#[derive(Clone, Copy)]
pub(crate) struct Column {
    pub key: &'static str,
    pub header: &'static str,
}

/// One table row of measured figures: the cells that name it (mode and chunk here; way
/// and batch in `zc bench write`) and its metrics. The measured tables are drawn from
/// these, so every report of zc draws them the same way.
pub(crate) struct Named<'a> {
    pub names: Vec<String>,
    pub metrics: &'a [Metric],
}

/// What every measured section needs: the rows and the room to draw them in.
pub(crate) struct Page<'a> {
    /// Headers of the naming columns, e.g. `mode`, `chunk`.
    pub names: &'a [&'a str],
    pub rows: Vec<Named<'a>>,
    pub width: Option<u16>,
    pub wrap_at: Option<usize>,
}

impl Page<'_> {
    /// A measured section: its title, one table row per mode x chunk with `columns`,
    /// `notes` beneath the table, then the reason for each kind of `n/a` cell, once (a
    /// reason a note already gives is not repeated).
    pub(crate) fn section(&self, title: &str, columns: &[Column], notes: &[String]) -> String {
        let mut out = wrap(title, self.wrap_at, "", "");
        let (table, reasons) = measured_table(self.names, &self.rows, columns, self.width);
        out.push_str(&table);
        for note in notes {
            out.push_str(&wrap(note, self.wrap_at, "", "  "));
        }
        let reasons: Vec<String> = reasons
            .into_iter()
            .filter(|why| !notes.iter().any(|n| n.contains(why.as_str())))
            .collect();
        out.push_str(&reason_lines(&reasons, self.wrap_at));
        out
    }
}

/// A table in the style of the other zc tables, shrinking to `width` when given.
pub(crate) fn table(header: Vec<Cell>, width: Option<u16>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    if let Some(w) = width {
        t.set_width(w);
    }
    t
}

pub(crate) fn right(v: impl ToString) -> Cell {
    Cell::new(v.to_string()).set_alignment(CellAlignment::Right)
}

/// One table row per named row (the first name left-aligned, the others right-aligned);
/// returns the table and the distinct reasons of its n/a cells.
fn measured_table(
    names: &[&str],
    rows: &[Named<'_>],
    columns: &[Column],
    width: Option<u16>,
) -> (String, Vec<String>) {
    let align = |i: usize, text: &str| {
        if i == 0 { Cell::new(text) } else { right(text) }
    };
    let mut header: Vec<Cell> = names.iter().enumerate().map(|(i, n)| align(i, n)).collect();
    header.extend(columns.iter().map(|c| right(c.header)));
    let mut t = table(header, width);
    let mut reasons = Vec::new();
    for row in rows {
        let mut cells: Vec<Cell> = row
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| align(i, n))
            .collect();
        for column in columns {
            cells.push(right(cell_text(row.metrics, column.key, &mut reasons)));
        }
        t.add_row(cells);
    }
    (format!("{t}\n"), reasons)
}

/// The text of one measured cell: the median, beneath it `min–max` when the runs
/// disagreed, and beneath that the fallback marker when the figure is not from the
/// preferred counter. Unavailable figures become `n/a` and their reason goes to `reasons`.
fn cell_text(metrics: &[Metric], key: &str, reasons: &mut Vec<String>) -> String {
    let mut lines = Vec::new();
    match reading(metrics, key) {
        Ok(stat) => {
            lines.push(stat_lines(key, stat));
            // Major faults are 0 with a warm cache; show them only when there were some
            // rather than adding medians of two different counters.
            if key == keys::MINOR_FAULTS_PER_GIB
                && let Some(major) = find(metrics, keys::MAJOR_FAULTS_PER_GIB)
                    .and_then(|m| m.value.value())
                    .map(|s| s.median)
                && major > 0.0
            {
                lines.push(format!("+{} major", sig3(major)));
            }
            if let Some(fallback) = find(metrics, key).and_then(|m| m.fallback) {
                lines.push(fallback.mark().to_owned());
            }
        }
        Err(why) => {
            note_reason(reasons, why);
            // The kernel's count is the honest one, but when tracepoints are refused the
            // program's own count still shows the difference between the modes.
            match own_count_of(key).map(|own| (own, reading(metrics, own))) {
                Some((own, Ok(stat))) => {
                    lines.push(stat_lines(own, stat));
                    lines.push(Fallback::OwnCount.mark().to_owned());
                }
                _ => lines.push("n/a".to_owned()),
            }
        }
    }
    lines.join("\n")
}

/// The program's own count that stands in for the kernel's syscall count `key` when the
/// tracepoints are refused, in both benchmarks.
fn own_count_of(key: &str) -> Option<&'static str> {
    match key {
        keys::SYSCALLS_PER_GIB => Some(keys::SYSCALLS_SELF_PER_GIB),
        write_keys::SYSCALLS_PER_KREC => Some(write_keys::SYSCALLS_SELF_PER_KREC),
        _ => None,
    }
}

/// The figure for `key`, or the reason there is none.
fn reading<'a>(metrics: &'a [Metric], key: &str) -> Result<&'a Stat, &'a str> {
    match find(metrics, key).map(|m| &m.value) {
        Some(Reading::Value(stat)) => Ok(stat),
        Some(Reading::Unavailable(why)) => Err(why),
        None => Err(NOT_MEASURED),
    }
}

fn note_reason(reasons: &mut Vec<String>, why: &str) {
    if !reasons.iter().any(|r| r == why) {
        reasons.push(why.to_owned());
    }
}

fn reason_lines(reasons: &[String], wrap_at: Option<usize>) -> String {
    reasons
        .iter()
        .map(|why| wrap(&format!("n/a: {why}"), wrap_at, "", "     "))
        .collect()
}

/// The median, and `min–max` when the runs disagree once formatted (a range of identical
/// numbers is noise on screen). `key` picks the format, see [`format_value`].
pub(crate) fn stat_parts(key: &str, stat: &Stat) -> (String, Option<String>) {
    let (min, max) = (format_value(key, stat.min), format_value(key, stat.max));
    let range = (min != max).then(|| format!("{min}–{max}"));
    (format_value(key, stat.median), range)
}

/// `3.21` alone, or `3.21 (3.10–3.30)` on one line (Markdown, `zc explain`).
pub(crate) fn stat_inline(key: &str, stat: &Stat) -> String {
    match stat_parts(key, stat) {
        (median, None) => median,
        (median, Some(range)) => format!("{median} ({range})"),
    }
}

/// `3.21` alone, or `3.21` with `3.10–3.30` on the line beneath.
pub(crate) fn stat_lines(key: &str, stat: &Stat) -> String {
    match stat_parts(key, stat) {
        (median, None) => median,
        (median, Some(range)) => format!("{median}\n{range}"),
    }
}

/// One figure as people read it: bytes in binary units (`4.2 MiB`, like the chunk sizes),
/// shares as percentages (`100%`, `0.0201%`), anything else to three significant digits.
pub(crate) fn format_value(key: &str, x: f64) -> String {
    match key {
        keys::STORAGE_READ_BYTES if x.is_finite() => format_size(x.max(0.0).round() as u64),
        keys::RESIDENCY_BEFORE | keys::SENDER_COPY_SHARE | keys::SINK_COPY_SHARE => percent(x),
        _ => sig3(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::send::sample::STORAGE_READ;

    #[test]
    fn bytes_in_binary_units_and_residency_in_percent() {
        assert_eq!(format_value("storage_read_bytes", STORAGE_READ), "4.2 MiB");
        assert_eq!(format_value("storage_read_bytes", 4.0 * 1048576.0), "4 MiB");
        assert_eq!(format_value("storage_read_bytes", 0.0), "0 B");
        assert_eq!(format_value("residency_before", 1.0), "100%");
        assert_eq!(format_value("residency_before", 0.0), "0%");
        assert_eq!(format_value("residency_before", 0.000201), "0.0201%");
        assert_eq!(format_value("residency_before", 0.0005), "0.05%");
        assert_eq!(format_value("residency_before", 0.5), "50%");
        assert_eq!(format_value("residency_before", 0.9997), ">99.9%");
        assert_eq!(format_value("throughput", 3.214), "3.21");
    }
}
