//! `zc bench write --export results.md`: one table per batch size (metrics as rows, ways
//! as columns), the model, the claim and the findings, the setup.

use crate::bench::write::analysis::{claim, stopped_notes, summary};
use crate::bench::write::results::{WriteReport, batches, ways};
use crate::report::markdown::{cell, metric_table};
use crate::report::provenance::write_setup_facts;
use crate::text::{count, sig3};
use crate::units::format_size;

use super::terminal::{MODEL_TITLE, STORAGE_NOTE, SYSCALL_NOTE};

/// The report as Markdown: one table per batch size (metrics as rows, ways as columns),
/// the model, the claim and the findings, the setup.
pub fn render(report: &WriteReport) -> Vec<u8> {
    let mut out = String::from("## zc bench write results\n\n");
    out.push_str(&format!(
        "### Measured on this machine\n\n{} records of {} per run; median of {}, \
         min–max in brackets.\n\n{SYSCALL_NOTE}\n\n{STORAGE_NOTE}\n\n",
        report.setup.records,
        format_size(report.setup.record_size),
        count(report.setup.runs as usize, "run", "runs")
    ));
    for batch in batches(&report.rows) {
        let columns: Vec<(String, &[crate::bench::results::Metric])> = report
            .rows
            .iter()
            .filter(|r| r.batch == batch)
            .map(|r| (r.way.to_string(), &r.metrics[..]))
            .collect();
        out.push_str(&format!(
            "#### batches of {}\n\n",
            count(batch as usize, "record", "records")
        ));
        out.push_str(&metric_table(&columns));
        out.push('\n');
    }
    for note in stopped_notes(report) {
        out.push_str(&format!("{note}\n\n"));
    }
    out.push_str(&format!("### {MODEL_TITLE}\n\n"));
    out.push_str(
        "| way | batch | write()s / batch | fsyncs / batch | syscalls / 1k records | \
         reaches the device in the loop |\n|---|--:|--:|--:|--:|---|\n",
    );
    for row in &report.rows {
        let m = &row.model;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            row.way,
            row.batch,
            m.writes_per_batch,
            m.fsyncs_per_batch,
            sig3(row.model_syscalls_per_krec()),
            cell(m.device_in_loop)
        ));
    }
    out.push('\n');
    for way in ways(&report.rows) {
        out.push_str(&format!("- **{way}**: {}\n", cell(way.model(1).note)));
    }
    out.push_str("\n### The claim (textbook, not measured)\n\n");
    for line in claim(&report.rows) {
        out.push_str(&format!("{line}\n\n"));
    }
    out.push_str("### What was measured\n\n");
    for line in summary(report) {
        out.push_str(&format!("- {line}\n"));
    }
    out.push_str("\n### Setup\n\n");
    for (name, fact) in write_setup_facts(report) {
        out.push_str(&format!("- **{name}**: {}\n", cell(&fact)));
    }
    out.into_bytes()
}
