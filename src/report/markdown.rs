//! `zc bench --export results.md`: the report as Markdown, to paste into docs and issues.
//!
//! Same content as the terminal report ([`super::bench_table`]), shaped for a page rather
//! than an 80-column screen:
//! - the measured figures, one table per chunk size with one row per metric and one
//!   column per mode, so every metric is exported and the modes sit side by side
//!   (eighteen metric columns would not fit a page); `n/a [k]` cells point to their reason
//!   beneath the table;
//! - the textbook model in its own table, titled as not measured, notes included;
//! - the "what this shows" summary, the warnings with their fixes, and the setup.

use crate::bench::results::{BenchReport, Origin, Row};
use crate::measure::Reading;

use super::bench_table::{
    MODEL_TITLE, NOT_MEASURED, chunks, modes, setup_facts, stat_parts, summary,
};
use crate::units::format_size;

/// The report as a Markdown document (UTF-8), starting at a level-2 heading so it can be
/// pasted under a page's own title.
pub fn render(report: &BenchReport) -> Vec<u8> {
    let mut out = String::from("## zc bench results\n\n");
    out.push_str(&format!(
        "### Measured on this machine\n\nMedian of {} runs, min–max in brackets.\n\n",
        report.setup.runs
    ));
    for chunk in chunks(&report.rows) {
        let at: Vec<&Row> = report.rows.iter().filter(|r| r.chunk == chunk).collect();
        out.push_str(&format!("#### {} chunks\n\n", format_size(chunk as u64)));
        out.push_str(&measured_table(&at));
        out.push('\n');
    }

    out.push_str(&format!("### {MODEL_TITLE}\n\n"));
    out.push_str(
        "| mode | DMA copies | CPU copies | user<->kernel mode switches | syscalls | \
         user-space copies / byte | note |\n|---|--:|--:|--:|--:|--:|---|\n",
    );
    for mode in modes(&report.rows) {
        let m = mode.model();
        out.push_str(&format!(
            "| {mode} | {} | {} | {} | {} | {} | {} |\n",
            m.dma_copies,
            m.cpu_copies,
            m.mode_switches,
            m.syscalls_per_chunk,
            m.user_copies_per_byte,
            cell(m.note)
        ));
    }

    out.push_str("\n### What this shows (measured)\n\n");
    for paragraph in summary(report) {
        out.push_str(&paragraph);
        out.push_str("\n\n");
    }

    if !report.warnings.is_empty() {
        out.push_str("### Warnings\n\n");
        for w in &report.warnings {
            // Two trailing spaces: a Markdown line break, so the fix sits under its warning.
            out.push_str(&format!(
                "- **warning:** {}  \n  **fix:** {}\n",
                w.message(),
                w.remedy()
            ));
        }
        out.push('\n');
    }

    out.push_str("### Setup\n\n");
    for (name, fact) in setup_facts(&report.setup) {
        out.push_str(&format!("- **{name}**: {fact}\n"));
    }
    out.into_bytes()
}

/// One row per metric (in the order the runner produced them), one column per mode, then
/// where the figures come from; the reasons for `n/a` cells follow, numbered.
fn measured_table(at: &[&Row]) -> String {
    let mut keys: Vec<&str> = Vec::new();
    for row in at {
        for m in &row.metrics {
            if !keys.contains(&m.key) {
                keys.push(m.key);
            }
        }
    }
    let mut out = String::from("| metric | unit |");
    for row in at {
        out.push_str(&format!(" {} |", row.mode));
    }
    out.push_str(" source |\n|---|---|");
    out.push_str(&"--:|".repeat(at.len()));
    out.push_str("---|\n");

    let mut reasons: Vec<String> = Vec::new();
    for key in keys {
        let first = at
            .iter()
            .find_map(|r| r.metric(key))
            .expect("key from a row");
        let label = match first.origin {
            Origin::Measured => first.label.to_owned(),
            Origin::Model => format!("{} (model)", first.label),
        };
        out.push_str(&format!("| {} | {} |", cell(&label), cell(first.unit)));
        let mut sources: Vec<&str> = Vec::new();
        for row in at {
            let text = match row.metric(key) {
                Some(m) => {
                    if !sources.contains(&m.source.as_str()) {
                        sources.push(&m.source);
                    }
                    match &m.value {
                        Reading::Value(stat) => match stat_parts(stat) {
                            (median, None) => median,
                            (median, Some(range)) => format!("{median} ({range})"),
                        },
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

/// `n/a [k]`, numbering each distinct reason once.
fn na(reasons: &mut Vec<String>, why: &str) -> String {
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
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::bench_table::tests::{NO_PMU, sample_report};

    #[test]
    fn tables_with_every_mode_model_summary_warnings_and_setup() {
        let text = String::from_utf8(render(&sample_report())).expect("utf-8");
        assert!(
            text.contains("| metric | unit | read-write | mmap | sendfile | source |"),
            "{text}"
        );
        assert!(text.contains("#### 64 KiB chunks"));
        for mode in ["read-write", "mmap", "sendfile"] {
            assert!(
                text.contains(&format!("| {mode} | 2 |")),
                "model row of {mode}"
            );
        }
        assert!(text.contains(&format!("### {MODEL_TITLE}")));
        assert!(
            text.contains("| throughput | GiB/s | 3.21 (3.10–3.30) |"),
            "{text}"
        );
        // Every metric is exported, including those the terminal table leaves out.
        assert!(text.contains("| storage_read_bytes |"));
        assert!(text.contains(&format!("- n/a [2] {NO_PMU}")), "{text}");
        assert!(text.contains("sendfile made 2.0x fewer syscalls"));
        assert!(text.contains("- **warning:** TCP congestion control bbr"));
        assert!(text.contains("- **congestion**: cubic (read back from the socket)"));
    }

    #[test]
    fn cells_escape_pipes_and_line_breaks() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
