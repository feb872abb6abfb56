//! `zc bench --export results.md`: the report as Markdown, to paste into docs and issues.
//!
//! Same content as the terminal report ([`super::terminal`]), shaped for a page rather
//! than an 80-column screen:
//! - the measured figures, one table per chunk size with one row per metric and one
//!   column per mode, so every metric is exported and the modes sit side by side
//!   (eighteen metric columns would not fit a page); `n/a [k]` cells point to their reason
//!   beneath the table;
//! - the textbook model in its own table, titled as not measured, notes included;
//! - the "what this shows" summary, the warnings with their fixes, and the setup.
//!
//! The numbers are formatted as in the terminal (bytes in binary units, page-cache
//! residency in percent), and the sentences are the terminal's own: the summary, the
//! setup facts and the warnings worth showing come from [`crate::bench::send::analysis`] and [`crate::report::provenance`]. The
//! per-metric `source` column says where each figure came from, and a figure from a
//! fallback source carries the terminal's mark, `(rusage)` or `(own count)`.

use crate::bench::results::Metric;
use crate::bench::send::analysis::summary;
use crate::bench::send::results::{BenchReport, Row, chunks, modes};
use crate::report::markdown::{cell, metric_table};
use crate::report::provenance::{setup_facts, shown_warnings};
use crate::text::count;
use crate::units::format_size;

use super::terminal::{MODEL_TITLE, SWITCHES_LEGEND};

/// The report as a Markdown document (UTF-8), starting at a level-2 heading so it can be
/// pasted under a page's own title.
pub fn render(report: &BenchReport) -> Vec<u8> {
    let mut out = String::from("## zc bench results\n\n");
    out.push_str(&format!(
        "### Measured on this machine\n\nMedian of {}, min–max in brackets.\n\n{SWITCHES_LEGEND}\n\n",
        count(report.setup.runs as usize, "run", "runs")
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

    let warnings = shown_warnings(report);
    if !warnings.is_empty() {
        out.push_str("### Warnings\n\n");
        for w in warnings {
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
    for (name, fact) in setup_facts(report) {
        out.push_str(&format!("- **{name}**: {fact}\n"));
    }
    out.into_bytes()
}

/// One row per metric (in the order the runner produced them), one column per mode, then
/// where the figures come from; the reasons for `n/a` cells follow, numbered.
fn measured_table(at: &[&Row]) -> String {
    let columns: Vec<(String, &[Metric])> = at
        .iter()
        .map(|r| (r.mode.to_string(), &r.metrics[..]))
        .collect();
    metric_table(&columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::Fallback;
    use crate::bench::send::sample::{NO_PMU, remote, sample_report};

    fn text(report: &BenchReport) -> String {
        String::from_utf8(render(report)).expect("utf-8")
    }

    #[test]
    fn tables_with_every_mode_model_summary_warnings_and_setup() {
        let text = text(&sample_report());
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
        assert!(text.contains("- **warning:** read-write chunk 64 KiB: a warm run read 4.2 MiB"));
        assert!(text.contains("- **congestion**: cubic (read back from the socket)"));
        assert!(text.contains("mode switches = user<->kernel transitions"));
    }

    #[test]
    fn same_sections_as_the_terminal_report() {
        let text = text(&sample_report());
        let headings: Vec<&str> = text.lines().filter(|l| l.starts_with("###")).collect();
        assert_eq!(
            headings,
            [
                "### Measured on this machine",
                "#### 64 KiB chunks",
                &format!("### {MODEL_TITLE}"),
                "### What this shows (measured)",
                "### Warnings",
                "### Setup",
            ],
            "{text}"
        );
    }

    #[test]
    fn one_run_is_singular() {
        let mut report = sample_report();
        report.setup.runs = 1;
        report.setup.fixture.segments = 1;
        let text = text(&report);
        assert!(text.contains("Median of 1 run, min–max"), "{text}");
        assert!(
            text.contains("- **runs**: 1 run measured after 1 warm-up run"),
            "{text}"
        );
        assert!(
            !text.contains("1 runs") && !text.contains("1 segments"),
            "{text}"
        );
    }

    #[test]
    fn bytes_in_binary_units_and_residency_in_percent() {
        let text = text(&sample_report());
        let line = |key: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("| {key} |")))
                .unwrap_or_else(|| panic!("no {key} row:\n{text}"))
                .to_owned()
        };
        assert!(
            line("storage_read_bytes")
                .starts_with("| storage_read_bytes | per run | 4.2 MiB (0 B–4.2 MiB) |"),
            "{text}"
        );
        assert!(
            line("residency_before")
                .starts_with("| residency_before | % of the fixture | 100% (0.0201%–100%) |"),
            "{text}"
        );
    }

    #[test]
    fn no_pmu_reason_once_per_table_and_once_in_the_setup() {
        let text = text(&sample_report());
        // The chunk table's footnote and the setup's counters line; not as a warning.
        assert_eq!(text.matches(NO_PMU).count(), 2, "{text}");
        assert!(!text.contains("**warning:** counter"), "{text}");
    }

    #[test]
    fn remote_sink_setup_claims_nothing_about_the_remote_side() {
        let mut report = sample_report();
        report.setup.sink_location = remote("10.0.0.2:9000");
        let text = text(&report);
        assert!(
            text.contains("- **sink**: remote zc sink at 10.0.0.2:9000 (its kind, CPU and CPU time are measured on its side)\n"),
            "{text}"
        );
    }

    #[test]
    fn figures_from_fallback_sources_are_marked() {
        let mut report = sample_report();
        for row in &mut report.rows {
            for m in &mut row.metrics {
                if m.key == "sender_cpu_per_gib" {
                    m.fallback = Some(Fallback::Rusage);
                }
            }
        }
        let text = text(&report);
        assert!(
            text.contains("| sender_cpu_per_gib | s/GiB | 0.620 (0.558–0.682) (rusage) |"),
            "{text}"
        );
        assert!(
            !text.contains("| throughput | GiB/s | 3.21 (3.10–3.30) ("),
            "{text}"
        );
    }
}
