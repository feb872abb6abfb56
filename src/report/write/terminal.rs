//! The report of `zc bench write`: terminal tables, Markdown and CSV, drawn with the same
//! tables as `zc bench`'s ([`crate::report::table`]).
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

use crate::bench::write::analysis::{claim, stopped_notes, summary};
use crate::bench::write::results::{WriteReport, WriteRow, keys, ways};
use crate::report::provenance::{setup_section, write_setup_facts};
use crate::report::table::{Column, Named, Page, right, table};
use crate::text::{count, sig3, wrap};
use crate::units::format_size;

/// The title of the model table, here and in Markdown.
pub(crate) const MODEL_TITLE: &str = "TEXTBOOK MODEL: predicted, NOT MEASURED";

const THROUGHPUT: [Column; 4] = [
    Column {
        key: keys::MIB_PER_S,
        header: "MiB/s",
    },
    Column {
        key: keys::RECORDS_PER_S,
        header: "records\n/s",
    },
    Column {
        key: keys::DURABLE_MIB_PER_S,
        header: "MiB/s\nincl.\nflush",
    },
    Column {
        key: keys::CPU_PER_GIB,
        header: "CPU\ns/GiB",
    },
];

const SYSCALLS: [Column; 4] = [
    Column {
        key: keys::SYSCALLS_PER_KREC,
        header: "syscalls",
    },
    Column {
        key: keys::WRITES_PER_KREC,
        header: "pwrite64",
    },
    Column {
        key: keys::FSYNCS_PER_KREC,
        header: "fsyncs",
    },
    Column {
        key: keys::SCHED_SWITCHES_PER_KREC,
        header: "sched\nswitches",
    },
];

const STORAGE: [Column; 4] = [
    Column {
        key: keys::DIRTIED_PER_BYTE,
        header: "write_\nbytes\n/byte",
    },
    Column {
        key: keys::DEVICE_LOOP_PER_BYTE,
        header: "device\nin loop\n/byte",
    },
    Column {
        key: keys::FLUSH_AFTER_MS,
        header: "flush\nafter\nms",
    },
    Column {
        key: keys::DEVICE_FLUSH_PER_BYTE,
        header: "device\nin flush\n/byte",
    },
];

/// Said under the first table: what the exports hold that the screen has no room for.
const MORE_IN_EXPORTS: &str = "More in the exports (--export .json, .csv, .md): system CPU (all CPUs, \
     includes the kernel's writeback threads and everything else running), self-counted \
     syscalls, MiB written per run, every run's raw counters.";

pub(crate) const SYSCALL_NOTE: &str = "syscalls = every system call the writing thread made in the \
     loop, counted by the kernel; pwrite64 and fsyncs (fdatasync + fsync) are its share. The \
     model predicts them exactly; anything above is the probe's noise or a page fault's work.";

pub(crate) const STORAGE_NOTE: &str = "write_bytes (/proc/thread-self/io) is charged to the thread when \
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

/// Renders the whole terminal report. `width` as in [`crate::report::send::terminal::render`].
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
            right(sig3(row.model_syscalls_per_krec())),
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
    out.push_str(&setup_section(write_setup_facts(report), wrap_at));
    out
}
