//! `zc bench write --export results.csv`: `zc bench`'s long layout
//! ([`crate::report::send::csv`]) with `way,batch` as the naming columns.

use crate::bench::write::results::WriteReport;
use crate::report::csv::{metric_lines, model_line, names};

/// The report as CSV, in `zc bench`'s long layout with `way,batch` as the naming columns.
pub fn render(report: &WriteReport) -> Vec<u8> {
    let mut out = String::from(
        "way,batch,metric,label,unit,origin,source,median,min,max,runs,unavailable_reason\n",
    );
    for row in &report.rows {
        let names = names(&[row.way.name(), &row.batch.to_string()]);
        metric_lines(&mut out, &names, &row.metrics);
        let source = format!("textbook model: {}", row.model.note);
        for (key, label, unit, value) in [
            (
                "model_writes_per_batch",
                "write() calls per batch (model)",
                "1/batch",
                row.model.writes_per_batch as f64,
            ),
            (
                "model_fsyncs_per_batch",
                "fsyncs per batch (model)",
                "1/batch",
                row.model.fsyncs_per_batch as f64,
            ),
            (
                "model_syscalls_per_krec",
                "syscalls per 1,000 records (model)",
                "1/1000 records",
                row.model_syscalls_per_krec(),
            ),
        ] {
            model_line(
                &mut out,
                &names,
                [key, label, unit, &source],
                &value.to_string(),
            );
        }
    }
    out.into_bytes()
}
