//! `zc bench --export results.csv`: one line per figure, for spreadsheets and plotting.
//!
//! The layout is "long" (one figure per line) rather than "wide" (one column per metric),
//! so that a new metric adds lines, not columns, and every figure keeps its own unit,
//! origin and source:
//!
//! ```text
//! mode,chunk,metric,label,unit,origin,source,median,min,max,runs,unavailable_reason
//! read-write,65536,syscalls_per_gib,syscalls / GiB,1/GiB,measured,tracepoint ...,32768,...
//! read-write,65536,model_mode_switches_per_chunk,...,model,"textbook model: ...",4,4,4,,
//! ```
//!
//! After the measured metrics of a row come its textbook-model figures with origin
//! `model` and a `model_` prefix, named like the measured figure they predict
//! (`model_mode_switches_per_chunk` beside `mode_switches_per_chunk`), so a pivot table
//! can put prediction and measurement side by side without mistaking one for the other.
//!
//! `chunk` is in bytes and numbers are printed in full (Rust's shortest round-trip form),
//! not rounded for display: this file is for computing with. An unavailable figure has
//! empty numbers and its reason in the last column, never a fake 0.
//!
//! Written by hand (RFC 4180 quoting is a few lines) rather than with the `csv` crate:
//! the writer is the only CSV code zc needs.

use crate::bench::send::results::{BenchReport, Row};
use crate::report::csv::{metric_lines, model_line, names};

const HEADER: &str =
    "mode,chunk,metric,label,unit,origin,source,median,min,max,runs,unavailable_reason";

/// The report as CSV: the header, then each row's metrics followed by its model figures.
pub fn render(report: &BenchReport) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(HEADER);
    out.push('\n');
    for row in &report.rows {
        let names = names(&[row.mode.name(), &row.chunk.to_string()]);
        metric_lines(&mut out, &names, &row.metrics);
        model_lines(&mut out, row);
    }
    out.into_bytes()
}

/// The textbook model of the row's mode, one figure per line, origin `model`. The model's
/// note (where the figures come from, where the kernel differs) is its source.
fn model_lines(out: &mut String, row: &Row) {
    let model = &row.model;
    let source = format!("textbook model: {}", model.note);
    let figures = [
        (
            "model_dma_copies",
            "DMA copies per chunk (model)",
            "copies",
            model.dma_copies,
        ),
        (
            "model_cpu_copies",
            "CPU copies per chunk (model)",
            "copies",
            model.cpu_copies,
        ),
        (
            "model_mode_switches_per_chunk",
            "user<->kernel mode switches per chunk (model)",
            "1/chunk",
            model.mode_switches,
        ),
        (
            "model_syscalls_per_chunk",
            "syscalls per chunk (model)",
            "1/chunk",
            model.syscalls_per_chunk,
        ),
        (
            "model_user_copied_per_byte",
            "user-space copies per byte (model)",
            "B/B",
            model.user_copies_per_byte,
        ),
    ];
    let names = names(&[row.mode.name(), &row.chunk.to_string()]);
    for (key, label, unit, value) in figures {
        model_line(out, &names, [key, label, unit, &source], &value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::send::sample::{NO_PMU, sample_report};

    const COLUMNS: usize = 12;

    #[test]
    fn one_line_per_metric_and_model_figure() {
        let report = sample_report();
        let text = String::from_utf8(render(&report)).expect("utf-8");
        let metrics: usize = report.rows.iter().map(|r| r.metrics.len()).sum();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + metrics + 5 * report.rows.len());
        assert_eq!(lines[0], HEADER);
        assert_eq!(HEADER.split(',').count(), COLUMNS);
        // Lines without quoted fields parse by splitting on commas.
        let plain: Vec<Vec<&str>> = lines[1..]
            .iter()
            .filter(|l| !l.contains('"'))
            .map(|l| l.split(',').collect())
            .collect();
        assert!(!plain.is_empty());
        for fields in &plain {
            assert_eq!(fields.len(), COLUMNS, "{fields:?}");
        }
        let syscalls = plain
            .iter()
            .find(|f| f[0] == "read-write" && f[2] == "syscalls_per_gib")
            .expect("syscalls line");
        assert_eq!(syscalls[1], "65536");
        assert_eq!(syscalls[5], "measured");
        assert_eq!(&syscalls[7..11], ["32768", "32768", "32768", "5"]);
        let cycles = plain
            .iter()
            .find(|f| f[2] == "cycles_per_gib")
            .expect("cycles line");
        assert_eq!(&cycles[7..], ["", "", "", "", NO_PMU]);
    }

    #[test]
    fn model_figures_are_labelled_and_their_notes_quoted() {
        let text = String::from_utf8(render(&sample_report())).expect("utf-8");
        let line = text
            .lines()
            .find(|l| l.starts_with("sendfile,65536,model_mode_switches_per_chunk,"))
            .expect("model line");
        assert!(line.contains(",model,\"textbook model: "), "{line}");
        assert!(line.ends_with("\",2,2,2,,"), "{line}");
    }

    /// Binary units and percentages are for reading (terminal, Markdown); this file is for
    /// computing, so it keeps bytes as bytes and the residency as a fraction of 1.
    #[test]
    fn numbers_stay_raw_in_their_own_units() {
        let text = String::from_utf8(render(&sample_report())).expect("utf-8");
        let fields = |key: &str| -> Vec<String> {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("read-write,65536,{key},")))
                .unwrap_or_else(|| panic!("no {key} line"));
            line.split(',').map(str::to_owned).collect()
        };
        let storage = fields("storage_read_bytes");
        assert_eq!(storage[4], "bytes");
        assert_eq!(&storage[7..10], ["4404019", "0", "4404019"]);
        let residency = fields("residency_before");
        assert_eq!(residency[4], "fraction");
        assert_eq!(&residency[7..10], ["1", "0.000201", "1"]);
    }
}
