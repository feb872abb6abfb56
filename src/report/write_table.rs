//! The report of `zc bench write`: terminal tables, Markdown and CSV, in the style and
//! with the helpers of `zc bench`'s report ([`super::bench_table`]), JSON via
//! [`super::json`].
//!
//! Layout, top to bottom:
//!
//! ```text
//! MEASURED on this machine: throughput and CPU     (way x batch; median, min–max beneath)
//! MEASURED on this machine: system calls per 1,000 records
//! MEASURED on this machine: storage, per byte of log written
//! TEXTBOOK MODEL: predicted, NOT MEASURED          (per way x batch, notes beneath)
//! the claim (textbook) / what was measured         (kept apart, ratios from the medians)
//! setup: ...                                       (provenance: device, filesystem, writeback)
//! ```

use comfy_table::Cell;

use super::bench_table::{
    Column, Named, Page, count, environment_facts, reading_text, right, setup_section, sig3, table,
    times, wrap,
};
use super::export::{Exportable, Format};
use crate::bench::write::{Way, WriteReport, WriteRow};
use crate::measure::Reading;
use crate::units::format_size;

/// The title of the model table, here and in Markdown.
const MODEL_TITLE: &str = "TEXTBOOK MODEL: predicted, NOT MEASURED";

const THROUGHPUT: [Column; 4] = [
    Column {
        key: "mib_per_s",
        header: "MiB/s",
    },
    Column {
        key: "records_per_s",
        header: "records\n/s",
    },
    Column {
        key: "durable_mib_per_s",
        header: "MiB/s\nincl.\nflush",
    },
    Column {
        key: "cpu_per_gib",
        header: "CPU\ns/GiB",
    },
];

const SYSCALLS: [Column; 4] = [
    Column {
        key: "syscalls_per_krec",
        header: "syscalls",
    },
    Column {
        key: "writes_per_krec",
        header: "pwrite64",
    },
    Column {
        key: "fsyncs_per_krec",
        header: "fsyncs",
    },
    Column {
        key: "sched_switches_per_krec",
        header: "sched\nswitches",
    },
];

const STORAGE: [Column; 4] = [
    Column {
        key: "dirtied_per_byte",
        header: "write_\nbytes\n/byte",
    },
    Column {
        key: "device_loop_per_byte",
        header: "device\nin loop\n/byte",
    },
    Column {
        key: "flush_after_ms",
        header: "flush\nafter\nms",
    },
    Column {
        key: "device_flush_per_byte",
        header: "device\nin flush\n/byte",
    },
];

/// Said under the first table: what the exports hold that the screen has no room for.
const MORE_IN_EXPORTS: &str = "More in the exports (--export .json, .csv, .md): system CPU (all CPUs, \
     includes the kernel's writeback threads and everything else running), self-counted \
     syscalls, MiB written per run, every run's raw counters.";

const SYSCALL_NOTE: &str = "syscalls = every system call the writing thread made in the \
     loop, counted by the kernel; pwrite64 and fsyncs (fdatasync + fsync) are its share. The \
     model predicts them exactly; anything above is the probe's noise or a page fault's work.";

const STORAGE_NOTE: &str = "write_bytes (/proc/thread-self/io) is charged to the thread when \
     it dirties a page of the page cache, in whole pages, not when the page reaches the disk: \
     the kernel's flusher threads write it back later, and their writes are not charged again. \
     Above 1 means pages were dirtied again after a flush had cleaned them (small batches + \
     fsync). device = sectors the block layer wrote to the whole device (filesystem journal, \
     kernel writeback, other processes too); flush after = the fdatasync right after the \
     loop, outside it: the device work the page cache had deferred.";

/// The rows of the report, named by way and batch size.
fn named(rows: &[WriteRow]) -> Vec<Named<'_>> {
    rows.iter()
        .map(|row| Named {
            names: vec![row.way.name().to_owned(), row.batch.to_string()],
            metrics: &row.metrics,
        })
        .collect()
}

/// Renders the whole terminal report. `width` as in [`super::bench_table::render`].
pub fn render(report: &WriteReport, width: Option<u16>) -> String {
    let width = width.or_else(|| comfy_table::Table::new().width());
    let wrap_at = width.map(usize::from);
    let page = Page {
        names: &["way", "batch"],
        rows: named(&report.rows),
        width,
        wrap_at,
    };
    let runs = count(report.setup.runs as usize, "run", "runs");
    let mut out = page.section(
        &format!(
            "MEASURED on this machine: writing {} records of {} as a Kafka log \
             (median of {runs}; min–max beneath; batch = records per batch)",
            report.setup.records,
            format_size(report.setup.record_size)
        ),
        &THROUGHPUT,
        &[MORE_IN_EXPORTS.to_owned()],
    );
    out.push('\n');
    out.push_str(&page.section(
        "MEASURED on this machine: system calls per 1,000 records",
        &SYSCALLS,
        &[SYSCALL_NOTE.to_owned()],
    ));
    out.push('\n');
    out.push_str(&page.section(
        "MEASURED on this machine: storage, per byte of log written",
        &STORAGE,
        &[STORAGE_NOTE.to_owned()],
    ));
    for note in stopped_notes(report) {
        out.push_str(&wrap(&note, wrap_at, "", "  "));
    }

    out.push('\n');
    out.push_str(&wrap(MODEL_TITLE, wrap_at, "", ""));
    let header = vec![
        Cell::new("way"),
        right("batch"),
        right("write()s\n/batch"),
        right("fsyncs\n/batch"),
        right("syscalls\n/1k rec"),
        Cell::new("reaches the device\nin the loop"),
    ];
    let mut t = table(header, width);
    for row in &report.rows {
        let m = &row.model;
        t.add_row(vec![
            Cell::new(row.way.name()),
            right(row.batch),
            right(m.writes_per_batch),
            right(m.fsyncs_per_batch),
            right(sig3(model_syscalls_per_krec(row))),
            Cell::new(m.device_in_loop),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    out.push_str("model notes:\n");
    for way in ways(&report.rows) {
        out.push_str(&wrap(
            &format!("{way}: {}", way.model(1).note),
            wrap_at,
            "  ",
            "    ",
        ));
    }

    out.push('\n');
    out.push_str("the claim (textbook, NOT MEASURED):\n");
    for line in claim(&report.rows) {
        out.push_str(&wrap(&line, wrap_at, "  ", "  "));
    }
    out.push_str("what was measured (ratios of the medians above):\n");
    for line in summary(report) {
        out.push_str(&wrap(&line, wrap_at, "  - ", "    "));
    }

    out.push('\n');
    out.push_str(&setup_section(setup_facts(report), wrap_at));
    out
}

/// System calls per 1,000 records the model predicts: (writes + fsyncs) per batch, over
/// the records of a batch.
fn model_syscalls_per_krec(row: &WriteRow) -> f64 {
    let m = &row.model;
    (m.writes_per_batch + m.fsyncs_per_batch) as f64 * 1000.0 / f64::from(row.batch)
}

/// The ways in the report, once each, in report order.
fn ways(rows: &[WriteRow]) -> Vec<Way> {
    let mut seen = Vec::new();
    for row in rows {
        if !seen.contains(&row.way) {
            seen.push(row.way);
        }
    }
    seen
}

fn batches(rows: &[WriteRow]) -> Vec<u32> {
    let mut seen: Vec<u32> = rows.iter().map(|r| r.batch).collect();
    seen.sort_unstable();
    seen.dedup();
    seen
}

fn find(report: &WriteReport, way: Way, batch: u32) -> Option<&WriteRow> {
    report
        .rows
        .iter()
        .find(|r| r.way == way && r.batch == batch)
}

/// Rows whose runs stopped at `--max-seconds`: their figures cover fewer records.
fn stopped_notes(report: &WriteReport) -> Vec<String> {
    report
        .rows
        .iter()
        .filter(|r| r.runs.iter().any(|run| run.stopped_early))
        .map(|r| {
            let least = r.runs.iter().map(|run| run.records).min().unwrap_or(0);
            format!(
                "note: {} at batch {} stopped at --max-seconds {} (at least {least} of {} \
                 records written); its figures are per record and per byte written.",
                r.way, r.batch, report.setup.max_seconds, report.setup.records
            )
        })
        .collect()
}

/// The textbook claim, for the batch sizes in the report's rows.
fn claim(rows: &[WriteRow]) -> Vec<String> {
    let b = batches(rows);
    let (small, large) = (b[0], *b.last().unwrap_or(&b[0]));
    // With one batch size there is no batching to compare.
    let batching = if small < large {
        format!(
            "batching {large} records per write makes {} fewer write() calls than {small} \
             per write; ",
            times(f64::from(large) / f64::from(small))
        )
    } else {
        String::new()
    };
    vec![
        "Kafka writes fast because it only appends, lets the page cache absorb the writes \
         and flushes asynchronously, and batches many records per write."
            .to_owned(),
        format!(
            "Modelled: {batching}fsync after every batch adds one wait for the device per \
             batch; one write() per record makes {large}x the system calls of one per batch \
             of {large}; random offsets cost a seek each on a spinning disk and nothing \
             extra in the page cache."
        ),
    ]
}

/// How two ways compare, given `r` = the rate of the first / the rate of the second, in
/// `unit`. Within 5% is a tie on any machine: said so rather than "1.0x as fast", and
/// whichever is faster is named first, so a noisy run never reads "1/0.6 of".
fn faster((a, b): (&str, &str), r: f64, unit: &str) -> String {
    if r.max(1.0 / r) <= 1.05 {
        format!("{a} and {b} ran at about the same {unit}")
    } else if r > 1.0 {
        format!("{a} was {} as fast as {b} in {unit}", times(r))
    } else {
        format!("{b} was {} as fast as {a} in {unit}", times(1.0 / r))
    }
}

/// `a / b` when both are measured and positive.
fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()).then_some(a / b)
}

/// What the medians show, one sentence per comparison whose two sides were measured.
pub(super) fn summary(report: &WriteReport) -> Vec<String> {
    let b = batches(&report.rows);
    let (small, large) = (b[0], *b.last().unwrap_or(&b[0]));
    let median = |way, batch, key| find(report, way, batch).and_then(|r| r.median(key));
    let mut out = Vec::new();
    if large != small
        && let Some(r) = ratio(
            median(Way::Append, large, "records_per_s"),
            median(Way::Append, small, "records_per_s"),
        )
    {
        let sys = ratio(
            median(Way::Append, small, "syscalls_per_krec"),
            median(Way::Append, large, "syscalls_per_krec"),
        )
        .map_or_else(String::new, |s| {
            format!(" with {} fewer system calls", times(s))
        });
        out.push(format!(
            "batching {large} records per write (append): {} the records/s of {small} per \
             write{sys} (model: {} fewer).",
            times(r),
            times(f64::from(large) / f64::from(small))
        ));
    }
    for batch in [large, small] {
        if let Some(r) = ratio(
            median(Way::Append, batch, "records_per_s"),
            median(Way::AppendFsync, batch, "records_per_s"),
        ) {
            let per_fsync = median(Way::AppendFsync, batch, "records_per_s")
                .zip(median(Way::AppendFsync, batch, "fsyncs_per_krec"))
                .filter(|(_, f)| *f > 0.0)
                .map_or_else(String::new, |(rps, f)| {
                    format!(
                        "; one write + fdatasync took {} ms",
                        sig3(1000.0 / (rps * f / 1000.0))
                    )
                });
            out.push(format!(
                "fsync after every batch of {batch}: {}{per_fsync}.",
                faster(("append", "append-fsync"), r, "records/s")
            ));
        }
        if small == large {
            break;
        }
    }
    if let Some(r) = ratio(
        median(Way::Append, large, "records_per_s"),
        median(Way::PerRecord, large, "records_per_s"),
    ) {
        let sys = median(Way::PerRecord, large, "syscalls_per_krec")
            .zip(median(Way::Append, large, "syscalls_per_krec"))
            .map_or_else(String::new, |(p, a)| {
                format!(
                    " ({} vs {} system calls per 1,000 records)",
                    sig3(p),
                    sig3(a)
                )
            });
        out.push(format!(
            "one write per record, same bytes as append at batch {large}: append wrote {} \
             the records/s{sys}.",
            times(r)
        ));
    }
    if let Some(r) = ratio(
        median(Way::Append, large, "mib_per_s"),
        median(Way::Random, large, "mib_per_s"),
    ) {
        let flush = median(Way::Random, large, "flush_after_ms")
            .zip(median(Way::Append, large, "flush_after_ms"))
            .map_or_else(String::new, |(r, a)| {
                format!(
                    "; the flush after took {} ms (random) vs {} ms (append)",
                    sig3(r),
                    sig3(a)
                )
            });
        out.push(format!(
            "random offsets, batch {large}, through the page cache (and without the log's \
             offset and index upkeep, which append pays): {}{flush}.",
            faster(("append", "random"), r, "MiB/s")
        ));
    }
    let rates = (
        median(Way::Append, large, "mib_per_s"),
        median(Way::Append, large, "durable_mib_per_s"),
    );
    if let (Some(loop_rate), Some(durable), Reading::Unavailable(why)) =
        (rates.0, rates.1, &report.setup.device)
    {
        // No device to hide (tmpfs), or none zc can count: do not claim one.
        out.push(format!(
            "no device counter under --dir ({why}), so nothing shows what the page cache \
             hides: append at batch {large} ran at {} MiB/s, {} MiB/s counting the \
             fdatasync after it.",
            sig3(loop_rate),
            sig3(durable)
        ));
    } else if let (Some(loop_rate), Some(durable)) = rates {
        let device =
            median(Way::Append, large, "device_loop_per_byte").map_or_else(String::new, |d| {
                format!(
                    " The device wrote {} bytes per log byte during append's loop",
                    sig3(d)
                )
            });
        out.push(format!(
            "the page cache hides the device: append at batch {large} ran at {} MiB/s, but \
             only {} MiB/s counting the fdatasync after it.{device}{}",
            sig3(loop_rate),
            sig3(durable),
            if device.is_empty() {
                ""
            } else {
                " (whole device, others' writes included)."
            }
        ));
    }
    if let Some(d) = median(Way::AppendFsync, small, "dirtied_per_byte")
        && d > 1.05
    {
        out.push(format!(
            "append-fsync at batch {small} dirtied {} bytes of page cache per log byte: each \
             fdatasync cleans the half-written last page, and the next batch dirties it again.",
            sig3(d)
        ));
    }
    if out.is_empty() {
        out.push(
            "no comparison has both of its sides measured (run more ways or batch sizes).".into(),
        );
    }
    out
}

/// The provenance, as (name, fact) pairs.
fn setup_facts(report: &WriteReport) -> Vec<(&'static str, String)> {
    let s = &report.setup;
    let device = match &s.device {
        Reading::Value(d) => format!(
            "{} ({}{}{})",
            d.name,
            d.sysfs,
            d.rotational.map_or(String::new(), |r| format!(
                ", rotational {}",
                if r {
                    "yes (as the kernel reports it)"
                } else {
                    "no"
                }
            )),
            d.write_cache
                .as_ref()
                .map_or(String::new(), |w| format!(", write cache: {w}")),
        ),
        Reading::Unavailable(why) => format!("n/a ({why})"),
    };
    let dirty: Vec<String> = s
        .dirty_settings
        .iter()
        .map(|(k, v)| format!("{k}={}", reading_text(v)))
        .collect();
    let mut facts = vec![
        (
            "log",
            format!(
                "{} records per run, values of {} + {}-byte keys, batches of {} records; \
                 one segment",
                s.records,
                format_size(s.record_size),
                s.key_size,
                s.batches
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        ("dir", s.dir.display().to_string()),
        ("filesystem", reading_text(&s.filesystem)),
        ("device", device),
        ("writeback", dirty.join(", ")),
        (
            "runs",
            format!(
                "{} measured after {}, interleaved; each stops after --max-seconds {}",
                count(s.runs as usize, "run", "runs"),
                count(s.warmup as usize, "warm-up run", "warm-up runs"),
                s.max_seconds
            ),
        ),
    ];
    facts.extend(environment_facts(&s.environment, &s.counters, s.zc_version));
    facts
}

/// The report as Markdown: one table per batch size (metrics as rows, ways as columns),
/// the model, the claim and the findings, the setup.
fn markdown(report: &WriteReport) -> Vec<u8> {
    use super::markdown::{cell, metric_table};
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
            sig3(model_syscalls_per_krec(row)),
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
    for (name, fact) in setup_facts(report) {
        out.push_str(&format!("- **{name}**: {}\n", cell(&fact)));
    }
    out.into_bytes()
}

/// The report as CSV, in `zc bench`'s long layout with `way,batch` as the naming columns.
fn csv(report: &WriteReport) -> Vec<u8> {
    use super::csv::{metric_lines, model_line, names};
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
                model_syscalls_per_krec(row),
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

impl Exportable for WriteReport {
    fn render(&self, format: Format) -> anyhow::Result<Vec<u8>> {
        Ok(match format {
            Format::Json => super::json::render_any(self),
            Format::Csv => csv(self),
            Format::Markdown => markdown(self),
            Format::Svg => anyhow::bail!("{}", NO_CHART),
        })
    }
}

/// Why `zc bench write --export x.svg` is refused (before any run, and here as a backstop).
pub const NO_CHART: &str =
    "zc bench write draws no chart (charts are for zc bench); export .json, .csv or .md";

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(batches: &[u32]) -> Vec<WriteRow> {
        batches
            .iter()
            .map(|&batch| WriteRow {
                way: Way::Append,
                batch,
                model: Way::Append.model(batch),
                metrics: Vec::new(),
                runs: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn the_claim_compares_batch_sizes_only_when_there_are_two() {
        let one = claim(&rows(&[256])).join(" ");
        assert!(!one.contains("fewer write() calls"), "{one}");
        assert!(one.contains("fsync after every batch"), "{one}");
        let two = claim(&rows(&[1, 256])).join(" ");
        assert!(
            two.contains("batching 256 records per write makes 256x fewer write() calls than 1"),
            "{two}"
        );
    }

    #[test]
    fn a_comparison_names_the_faster_way_or_calls_a_tie() {
        // append-fsync measured faster than append (tmpfs, noise): no "1/0.6 of".
        let slower = faster(("append", "append-fsync"), 0.6, "records/s");
        assert_eq!(
            slower,
            "append-fsync was 1.7x as fast as append in records/s"
        );
        let quicker = faster(("append", "append-fsync"), 17.0, "records/s");
        assert_eq!(
            quicker,
            "append was 17x as fast as append-fsync in records/s"
        );
        let tie = faster(("append", "random"), 1.0 / 1.04, "MiB/s");
        assert_eq!(tie, "append and random ran at about the same MiB/s");
    }
}
