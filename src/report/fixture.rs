//! Tables for `zc fixture info`.

use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};

use crate::log::check::LogReport;
use crate::units::format_size;

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    t
}

fn right(v: impl ToString) -> Cell {
    Cell::new(v.to_string()).set_alignment(CellAlignment::Right)
}

/// One row per segment, then a total row.
pub fn segments_table(report: &LogReport) -> String {
    let mut t = table(&[
        "partition",
        "segment (base offset)",
        "last offset",
        "batches",
        "records",
        "bytes",
        ".index entries",
        ".timeindex entries",
    ]);
    for s in &report.segments {
        t.add_row(vec![
            Cell::new(&s.partition),
            right(s.files.base_offset),
            right(
                s.last_offset
                    .map_or_else(|| "(empty)".into(), |o| o.to_string()),
            ),
            right(s.batches),
            right(s.records),
            right(format_size(s.bytes)),
            right(s.index_entries),
            right(s.time_index_entries),
        ]);
    }
    t.add_row(vec![
        Cell::new("total"),
        right(format!("{} segments", report.segments.len())),
        Cell::new(""),
        right(report.batches()),
        right(report.records()),
        right(format_size(report.bytes())),
        right(
            report
                .segments
                .iter()
                .map(|s| s.index_entries)
                .sum::<usize>(),
        ),
        right(
            report
                .segments
                .iter()
                .map(|s| s.time_index_entries)
                .sum::<usize>(),
        ),
    ]);
    format!("{t}\n")
}

/// One row per batch, like `kafka-dump-log --print-data-log` without the payloads.
pub fn batches_table(report: &LogReport) -> String {
    let mut t = table(&[
        "partition",
        "position",
        "base offset",
        "last offset",
        "records",
        "size",
        "crc",
        "base timestamp",
        "max timestamp",
    ]);
    for s in &report.segments {
        for b in &s.batch_list {
            t.add_row(vec![
                Cell::new(&s.partition),
                right(b.position),
                right(b.base_offset),
                right(b.last_offset),
                right(b.records),
                right(b.size),
                right(format!("{:08x}", b.crc)),
                right(b.base_timestamp),
                right(b.max_timestamp),
            ]);
        }
    }
    format!("{t}\n")
}
