//! The terminal report of `zc bench`: what was measured, what the textbook predicts, what
//! the difference shows, and the setup that produced it.
//!
//! Layout, top to bottom:
//!
//! ```text
//! MEASURED on this machine: throughput and CPU time   (comfy-table; median, min–max beneath)
//! MEASURED on this machine: kernel work               (comfy-table)
//! MEASURED on this machine: page cache and storage    (comfy-table)
//!   n/a: <reason>                                     (each reason once per section)
//! TEXTBOOK MODEL: predicted per chunk, NOT MEASURED   (comfy-table, notes beneath)
//! what this shows (measured): ...                     (ratios computed from the medians)
//! warning: ... / fix: ...
//! setup: ...                                          (provenance)
//! ```
//!
//! The measured figures are split into three sections so that each table fits an
//! 80-column terminal: eleven columns of `median` + `min–max` do not. Every section has
//! the same shape (title, table, notes, the reasons for its `n/a` cells), built by
//! `Page::section`. The model is a separate table with a title that says it is not a
//! measurement (docs/architecture.md §3, "Measured vs modelled").
//!
//! A figure that comes from a fallback source (getrusage instead of perf, zc's own count
//! instead of the kernel's tracepoints) is marked in its cell, `(rusage)` or
//! `(own count)`, so a table made without root is not mistaken for perf figures.
//!
//! The helpers marked `pub(super)` (number formatting, the summary, the setup facts, the
//! warnings worth showing) are shared with the Markdown exporter so both say the same
//! thing.

use std::collections::{BTreeMap, BTreeSet};

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::bench::results::{BenchReport, CacheState, Metric, Row, Setup, Stat};
use crate::bench::warnings::Warning;
use crate::measure::{Environment, Reading};
use crate::transfer::Mode;
use crate::units::format_size;

/// The title of the model table, shared with the Markdown exporter and the tests.
pub(super) const MODEL_TITLE: &str = "TEXTBOOK MODEL: predicted per chunk, NOT MEASURED";

/// What a cell says when a metric is absent from the row altogether (an older or partial
/// result), as opposed to present but [`Reading::Unavailable`].
pub(super) const NOT_MEASURED: &str = "not measured";

/// The two meanings of "context switch" (docs/architecture.md §3), shared with Markdown.
pub(super) const SWITCHES_LEGEND: &str = "mode switches = user<->kernel transitions, 2 per \
     syscall (what the zero-copy articles call context switches); sched switches = the \
     scheduler gave the CPU to another task (perf's context-switches). Not the same thing.";

/// A measured column: the metric key it shows and its (abbreviated) header.
#[derive(Clone, Copy)]
pub(super) struct Column {
    pub key: &'static str,
    pub header: &'static str,
}

/// One table row of measured figures: the cells that name it (mode and chunk here; way
/// and batch in `zc bench write`) and its metrics. The measured tables are drawn from
/// these, so every report of zc draws them the same way.
pub(super) struct Named<'a> {
    pub names: Vec<String>,
    pub metrics: &'a [Metric],
}

/// The rows of `zc bench`, named by mode and chunk size.
fn named(rows: &[Row]) -> Vec<Named<'_>> {
    rows.iter()
        .map(|row| Named {
            names: vec![row.mode.name().to_owned(), format_size(row.chunk as u64)],
            metrics: &row.metrics,
        })
        .collect()
}

const THROUGHPUT_AND_CPU: [Column; 4] = [
    Column {
        key: "throughput",
        header: "GiB/s",
    },
    Column {
        key: "sender_cpu_per_gib",
        header: "sender\nCPU\ns/GiB",
    },
    Column {
        key: "sink_cpu_per_gib",
        header: "sink\nCPU\ns/GiB",
    },
    Column {
        key: "system_cpu_per_gib",
        header: "system\nCPU\ns/GiB",
    },
];

/// Shown only when some row measured it: on VMs without a PMU it would be a column of n/a.
const CYCLES: Column = Column {
    key: "cycles_per_gib",
    header: "cycles\n/GiB",
};

const KERNEL_WORK: [Column; 5] = [
    Column {
        key: "syscalls_per_gib",
        header: "syscalls\n/GiB",
    },
    Column {
        key: "mode_switches_per_chunk",
        header: "mode\nswitches\n/chunk",
    },
    Column {
        key: "user_copied_per_byte",
        header: "user-\nspace\ncopies\n/byte",
    },
    Column {
        key: "sched_switches_per_gib",
        header: "sched\nswitches\n/GiB",
    },
    Column {
        key: "minor_faults_per_gib",
        header: "minor\nfaults\n/GiB",
    },
];

/// Where the bytes came from: the cache state is an explicit axis of every result.
const CACHE: [Column; 4] = [
    Column {
        key: "residency_before",
        header: "in page\ncache\nbefore",
    },
    Column {
        key: "storage_read_bytes",
        header: "read from\nstorage\nper run",
    },
    Column {
        key: "storage_read_logs",
        header: "read from\nstorage\n(logs)",
    },
    Column {
        key: "cpu_migrations",
        header: "CPU\nmigrations\n/run",
    },
];

/// `--consumers N`: what N consumers of one page cache cost together, first on the page.
const FAN_OUT: [Column; 5] = [
    Column {
        key: "throughput",
        header: "GiB/s\nall\ntogether",
    },
    Column {
        key: "storage_read_logs",
        header: "read from\nstorage\n(logs)",
    },
    Column {
        key: "user_copied_logs",
        header: "copied\nthrough\nuser space\n(logs)",
    },
    Column {
        key: "syscalls_per_gib",
        header: "syscalls\n/GiB",
    },
    Column {
        key: "sender_cpu_per_gib",
        header: "sender\nCPU\ns/GiB",
    },
];

/// Renders the whole terminal report. `width` is the terminal width; `None` lets
/// comfy-table detect it (and leaves prose unwrapped when stdout is not a terminal).
pub fn render(report: &BenchReport, width: Option<u16>) -> String {
    let width = width.or_else(|| Table::new().width());
    let wrap_at = width.map(usize::from);
    let page = Page {
        names: &["mode", "chunk"],
        rows: named(&report.rows),
        width,
        wrap_at,
    };
    let mut out = String::new();

    let consumers = report.setup.consumers;
    if consumers > 1 {
        out.push_str(&page.section(
            &format!(
                "MEASURED on this machine: {consumers} consumers at once, one page cache \
                 (every figure covers all {consumers} together; logs = multiples of the \
                 log's size)"
            ),
            &FAN_OUT,
            &[],
        ));
        out.push('\n');
    }

    let hardware_measured = report.rows.iter().any(|r| r.median(CYCLES.key).is_some());
    let mut first = THROUGHPUT_AND_CPU.to_vec();
    let mut first_notes = Vec::new();
    if hardware_measured {
        first.push(CYCLES);
    } else {
        let why = report
            .rows
            .iter()
            .find_map(|r| match r.metric(CYCLES.key) {
                Some(m) => m.value.reason().map(str::to_owned),
                None => None,
            })
            .unwrap_or_else(|| NOT_MEASURED.to_owned());
        first_notes.push(format!("hardware counters: n/a ({why})"));
    }
    out.push_str(&page.section(
        &format!(
            "MEASURED on this machine: throughput and CPU time per GiB sent \
             (median of {}; min–max beneath)",
            count(report.setup.runs as usize, "run", "runs")
        ),
        &first,
        &first_notes,
    ));

    out.push('\n');
    out.push_str(&page.section(
        "MEASURED on this machine: kernel work",
        &KERNEL_WORK,
        &[SWITCHES_LEGEND.to_owned()],
    ));

    out.push('\n');
    out.push_str(&page.section(
        "MEASURED on this machine: page cache and storage (mincore before each run, \
         /proc/thread-self/io during it)",
        &CACHE,
        &[],
    ));

    out.push('\n');
    out.push_str(&model_section(&report.rows, width, wrap_at));

    out.push('\n');
    out.push_str("what this shows (measured):\n");
    for paragraph in summary(report) {
        out.push_str(&wrap(&paragraph, wrap_at, "  ", "  "));
    }

    let warnings = shown_warnings(report);
    if !warnings.is_empty() {
        out.push('\n');
        for w in warnings {
            out.push_str(&wrap(
                &format!("warning: {}", w.message()),
                wrap_at,
                "",
                "         ",
            ));
            out.push_str(&wrap(&w.remedy(), wrap_at, "  fix: ", "       "));
        }
    }

    out.push('\n');
    out.push_str(&setup_section(setup_facts(report), wrap_at));
    out
}

/// The closing "setup:" section of a terminal report: one named fact per line, wrapped
/// under its value.
pub(crate) fn setup_section(facts: Vec<(&'static str, String)>, wrap_at: Option<usize>) -> String {
    let mut out = String::from("setup:\n");
    for (name, fact) in facts {
        out.push_str(&wrap(
            &fact,
            wrap_at,
            &format!("  {name:<11} "),
            &" ".repeat(14),
        ));
    }
    out
}

/// `1 run`, `5 runs`: English needs the count to pick the word.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// What every measured section needs: the rows and the room to draw them in.
pub(super) struct Page<'a> {
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
    pub(super) fn section(&self, title: &str, columns: &[Column], notes: &[String]) -> String {
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
pub(super) fn table(header: Vec<Cell>, width: Option<u16>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    if let Some(w) = width {
        t.set_width(w);
    }
    t
}

pub(super) fn right(v: impl ToString) -> Cell {
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

/// The metric `key` among `metrics`.
fn find<'a>(metrics: &'a [Metric], key: &str) -> Option<&'a Metric> {
    metrics.iter().find(|m| m.key == key)
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
            if key == "minor_faults_per_gib"
                && let Some(major) = find(metrics, "major_faults_per_gib")
                    .and_then(|m| m.value.value())
                    .map(|s| s.median)
                && major > 0.0
            {
                lines.push(format!("+{} major", sig3(major)));
            }
            if let Some(mark) = find(metrics, key).and_then(|m| fallback_marker(&m.source)) {
                lines.push(mark.to_owned());
            }
        }
        Err(why) => {
            note_reason(reasons, why);
            // The kernel's count is the honest one, but when tracepoints are refused the
            // program's own count still shows the difference between the modes.
            let own_key = key.replace("syscalls_", "syscalls_self_");
            match reading(metrics, &own_key) {
                Ok(own) if key.starts_with("syscalls_") && own_key != key => {
                    lines.push(stat_lines(&own_key, own));
                    lines.push("(own count)".to_owned());
                }
                _ => lines.push("n/a".to_owned()),
            }
        }
    }
    lines.join("\n")
}

/// How a cell marks a figure from a fallback source, from the metric's `source` (see
/// `bench::metrics`: a fallback's source names it and says what was unavailable). A
/// figure that is self-counted by design (user-space copies: no kernel counter exists
/// for them) is no fallback and gets no mark.
pub(super) fn fallback_marker(source: &str) -> Option<&'static str> {
    if !source.contains("unavailable") {
        None
    } else if source.starts_with("getrusage") {
        Some("(rusage)")
    } else if source.contains("self-counted") {
        Some("(own count)")
    } else {
        None
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
pub(super) fn stat_parts(key: &str, stat: &Stat) -> (String, Option<String>) {
    let (min, max) = (format_value(key, stat.min), format_value(key, stat.max));
    let range = (min != max).then(|| format!("{min}–{max}"));
    (format_value(key, stat.median), range)
}

/// `3.21` alone, or `3.21` with `3.10–3.30` on the line beneath.
pub(super) fn stat_lines(key: &str, stat: &Stat) -> String {
    match stat_parts(key, stat) {
        (median, None) => median,
        (median, Some(range)) => format!("{median}\n{range}"),
    }
}

/// One figure as people read it: bytes in binary units (`4.2 MiB`, like the chunk sizes),
/// shares as percentages (`100%`, `0.0201%`), anything else to three significant digits.
pub(crate) fn format_value(key: &str, x: f64) -> String {
    match key {
        "storage_read_bytes" if x.is_finite() => format_size(x.max(0.0).round() as u64),
        "residency_before" => percent(x),
        _ => sig3(x),
    }
}

/// A share in 0..=1 as a percentage with up to three significant digits. A share just
/// short of 1 reads `>99.9%`, never `100%`: "all of it was cached" must be true.
fn percent(share: f64) -> String {
    if !share.is_finite() {
        return share.to_string();
    }
    let digits = sig3(share * 100.0);
    let digits = if digits.contains('.') {
        digits.trim_end_matches('0').trim_end_matches('.')
    } else {
        &digits
    };
    if digits == "100" && share < 1.0 {
        ">99.9%".to_owned()
    } else {
        format!("{digits}%")
    }
}

/// Three significant digits, with k/M/G/T above 1000: `3.21`, `0.0321`, `32.8k`, `1.07G`.
/// Benchmarks vary by more than 0.1% run to run, so more digits would only be noise.
pub(super) fn sig3(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    // Round to three significant digits first, so that 999.7 becomes 1.00k, not 1000.
    let rounded: f64 = format!("{x:.2e}").parse().unwrap_or(x);
    let (scaled, suffix) = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        .into_iter()
        .find(|(scale, _)| rounded.abs() >= *scale)
        .map_or((rounded, ""), |(scale, suffix)| (rounded / scale, suffix));
    let magnitude = scaled.abs().log10().floor() as i32;
    let decimals = usize::try_from(2 - magnitude).unwrap_or(0);
    format!("{scaled:.decimals$}{suffix}")
}

/// One row per mode (the model does not depend on the chunk size), notes beneath: a note
/// column would be a few characters wide in 80 columns.
fn model_section(rows: &[Row], width: Option<u16>, wrap_at: Option<usize>) -> String {
    let mut out = wrap(MODEL_TITLE, wrap_at, "", "");
    let header = vec![
        Cell::new("mode"),
        right("DMA\ncopies"),
        right("CPU\ncopies"),
        right("user<->\nkernel\nmode\nswitches"),
        right("syscalls"),
        right("user-\nspace\ncopies\n/byte"),
    ];
    let mut t = table(header, width);
    for mode in modes(rows) {
        let m = mode.model();
        t.add_row(vec![
            Cell::new(mode.name()),
            right(m.dma_copies),
            right(m.cpu_copies),
            right(m.mode_switches),
            right(m.syscalls_per_chunk),
            right(m.user_copies_per_byte),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    out.push_str("model notes:\n");
    for mode in modes(rows) {
        out.push_str(&wrap(
            &format!("{mode}: {}", mode.model().note),
            wrap_at,
            "  ",
            "    ",
        ));
    }
    out
}

/// The modes present in the report, once each, in report order.
pub(super) fn modes(rows: &[Row]) -> Vec<Mode> {
    let mut seen = Vec::new();
    for row in rows {
        if !seen.contains(&row.mode) {
            seen.push(row.mode);
        }
    }
    seen
}

/// The chunk sizes present in the report, once each, in report order.
pub(super) fn chunks(rows: &[Row]) -> Vec<usize> {
    let mut seen = Vec::new();
    for row in rows {
        if !seen.contains(&row.chunk) {
            seen.push(row.chunk);
        }
    }
    seen
}

/// The warnings worth printing: a counter warning only repeats a `counters` line of the
/// setup (same counters, same reason, and its fix is "see the reason"), so it is left to
/// that line rather than said a third time after the tables' footnotes.
pub(super) fn shown_warnings(report: &BenchReport) -> Vec<&Warning> {
    report
        .warnings
        .iter()
        .filter(|w| match w {
            Warning::CounterUnavailable { reason, .. } => !report
                .setup
                .counters
                .iter()
                .any(|(_, r)| r.reason() == Some(reason.as_str())),
            _ => true,
        })
        .collect()
}

// --- what this shows ----------------------------------------------------------------------

/// One paragraph per chunk size, computed from the measured medians only: a comparison is
/// stated only when both of its sides were measured. Every paragraph compares the same
/// two modes, so the paragraphs can be read against each other.
pub(super) fn summary(report: &BenchReport) -> Vec<String> {
    let pair = pick_pair(&report.rows);
    let mut paragraphs: Vec<String> = chunks(&report.rows)
        .into_iter()
        .map(|chunk| {
            let at: Vec<&Row> = report.rows.iter().filter(|r| r.chunk == chunk).collect();
            let size = format_size(chunk as u64);
            let find = |mode: Mode| at.iter().copied().find(|r| r.mode == mode);
            match pair.map(|(base, best)| (find(base), find(best))) {
                Some((Some(base), Some(best))) => {
                    compare(base, best, &at, &size, report.setup.consumers)
                }
                // One side of the pair is missing at this size (a partial export): say
                // what the other measured rather than switch to another pair.
                Some((Some(one), None) | (None, Some(one))) => describe(one, &size),
                _ => describe(at[0], &size),
            }
        })
        .collect();
    if report.setup.consumers > 1 {
        paragraphs.extend(fan_out(report));
    }
    paragraphs
}

/// `--consumers N`: the copies of the log measured per mode, next to the article's count
/// for N consumers (classic 4 x N, zero-copy 1 + N), which is a model and says so.
///
/// Measured: storage reads and copies through user space, each in log sizes. Not
/// measurable here, and said so: each consumer's own send (into the socket buffer, then
/// the NIC's DMA; loopback has no NIC), which the article counts once per consumer in
/// both paths.
fn fan_out(report: &BenchReport) -> Vec<String> {
    let n = report.setup.consumers;
    let cold = report.setup.cache == CacheState::Cold;
    chunks(&report.rows)
        .into_iter()
        .map(|chunk| {
            let at: Vec<&Row> = report.rows.iter().filter(|r| r.chunk == chunk).collect();
            let totals: Vec<String> = at
                .iter()
                .filter_map(|r| {
                    let disk = r.median("storage_read_logs")?;
                    let user = r.median("user_copied_logs")?;
                    Some(format!(
                        "{} {} + {} = {}",
                        r.mode,
                        sig3(disk),
                        sig3(user),
                        sig3(disk + user)
                    ))
                })
                .collect();
            let mut text = format!(
                "Fan-out at {} chunks, {n} consumers at once. ",
                format_size(chunk as u64)
            );
            if totals.is_empty() {
                text.push_str(
                    "Copies of the log: not measured (storage reads need /proc/thread-self/io). ",
                );
            } else {
                text.push_str(&format!(
                    "Copies of the log MEASURED (read from storage + copied through user \
                     space, in log sizes): {}. ",
                    totals.join(", ")
                ));
            }
            text.push_str(&format!(
                "The article's count, a MODEL, NOT MEASURED: classic 4 x {n} = {} copies, \
                 zero-copy 1 + {n} = {}. The measured totals leave out what loopback cannot \
                 show: each consumer's own send (socket buffer, NIC DMA), which the article \
                 counts once per consumer in both paths.",
                4 * n,
                1 + n
            ));
            let reads: Vec<f64> = at
                .iter()
                .filter_map(|r| r.median("storage_read_logs"))
                .collect();
            let most = reads.iter().copied().fold(f64::NAN, f64::max);
            if cold && !reads.is_empty() {
                if most <= 1.5 {
                    text.push_str(&format!(
                        " With a cold cache every mode read the log from storage about once \
                         (at most {} log sizes) for {n} consumers: they shared one page \
                         cache, so the classic path's {n} disk reads in 4 x {n} do not happen \
                         on Linux; what grows with the consumers is the copies through user \
                         space.",
                        sig3(most)
                    ));
                } else {
                    text.push_str(&format!(
                        " With a cold cache some mode read {} log sizes from storage for {n} \
                         consumers: the page cache did not keep the log for all of them \
                         (memory pressure, or consumers too far apart).",
                        sig3(most)
                    ));
                }
            } else if !reads.is_empty() {
                text.push_str(&format!(
                    " Warm cache: the log was already in the page cache (at most {} log \
                     sizes read from storage); --cache cold shows the one read.",
                    sig3(most)
                ));
            }
            text
        })
        .collect()
}

/// The two modes every paragraph compares: the baseline and the mode held against it.
///
/// sendfile against read-write whenever both ran: that is the comparison the zero-copy
/// articles make. Otherwise the baseline is the mode with most copies present and the
/// other the zero-copy mode (sendfile, splice) that used least sender CPU over the chunk
/// sizes where every candidate was measured. One pair for the whole report.
fn pick_pair(rows: &[Row]) -> Option<(Mode, Mode)> {
    let present = modes(rows);
    if present.contains(&Mode::ReadWrite) && present.contains(&Mode::Sendfile) {
        return Some((Mode::ReadWrite, Mode::Sendfile));
    }
    let base = *present
        .iter()
        .min_by_key(|m| Mode::ALL.iter().position(|a| a == *m))?;
    let others: Vec<Mode> = present.into_iter().filter(|m| *m != base).collect();
    let zero_copy: Vec<Mode> = others
        .iter()
        .copied()
        .filter(|m| matches!(m, Mode::Sendfile | Mode::Splice))
        .collect();
    let candidates = if zero_copy.is_empty() {
        others
    } else {
        zero_copy
    };
    let cpu = |mode: Mode, chunk: usize| {
        rows.iter()
            .find(|r| r.mode == mode && r.chunk == chunk)
            .and_then(|r| r.median("sender_cpu_per_gib"))
    };
    let shared: Vec<usize> = chunks(rows)
        .into_iter()
        .filter(|&c| candidates.iter().all(|&m| cpu(m, c).is_some()))
        .collect();
    let total = |mode: Mode| -> f64 { shared.iter().filter_map(|&c| cpu(mode, c)).sum() };
    // No CPU figure anywhere: every total is 0 and the first candidate is kept; the
    // summary states only what was measured.
    let best = candidates
        .into_iter()
        .min_by(|&a, &b| total(a).total_cmp(&total(b)))?;
    Some((base, best))
}

/// `a / b` when both are measured, positive and finite; otherwise no ratio is stated.
fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()).then_some(a / b)
}

/// Ratios this close to 1 are stated as "about the same": runs vary by more than that,
/// and "1.0x fewer" would read as a finding when it is a tie.
const SAME_WITHIN: f64 = 0.05;

pub(super) fn times(r: f64) -> String {
    if r < 9.95 {
        format!("{r:.1}x")
    } else {
        format!("{r:.0}x")
    }
}

/// How the mode compares with the baseline on one figure.
enum Finding {
    /// "made 2.0x fewer syscalls": completed by `than BASELINE`.
    Differs(String),
    /// "made about the same number of syscalls": completed by `as BASELINE`.
    Same(String),
}

/// `r` is baseline / mode: "2.0x fewer" when at least 1, "1.3x more" below, and `same`
/// within ±5%. `verb` and `tail` go around the comparison.
fn finding(r: f64, verb: &str, [fewer, more, same]: [&str; 3], tail: &str) -> Finding {
    if r.max(1.0 / r) <= 1.0 + SAME_WITHIN {
        Finding::Same(format!("{verb} {same}{tail}"))
    } else if r > 1.0 {
        Finding::Differs(format!("{verb} {} {fewer}{tail}", times(r)))
    } else {
        Finding::Differs(format!("{verb} {} {more}{tail}", times(1.0 / r)))
    }
}

/// `consumers`: how many sending threads the CPU figures sum (`zc bench --consumers`).
fn compare(base: &Row, best: &Row, at: &[&Row], size: &str, consumers: u32) -> String {
    let (b, c) = (base.mode, best.mode);
    let mut findings = Vec::new();
    let syscalls = |k| ratio(base.median(k), best.median(k));
    let syscall_words = [
        "fewer syscalls",
        "more syscalls",
        "about the same number of syscalls",
    ];
    if let Some(r) = syscalls("syscalls_per_gib") {
        findings.push(finding(r, "made", syscall_words, ""));
    } else if let Some(r) = syscalls("syscalls_self_per_gib") {
        findings.push(finding(
            r,
            "made",
            syscall_words,
            " by its own count (kernel count n/a)",
        ));
    }
    if let Some(r) = ratio(
        base.median("sender_cpu_per_gib"),
        best.median("sender_cpu_per_gib"),
    ) {
        let rusage = [base, best].iter().any(|row| {
            row.metric("sender_cpu_per_gib")
                .is_some_and(|m| fallback_marker(&m.source) == Some("(rusage)"))
        });
        let threads = match consumers {
            1 => "the sending thread".to_owned(),
            n => format!("the {n} sending threads together"),
        };
        let how = if rusage {
            " (by getrusage, perf n/a)"
        } else {
            ""
        };
        findings.push(finding(
            r,
            "used",
            ["less CPU", "more CPU", "about the same CPU"],
            &format!(" per GiB in {threads}{how}"),
        ));
    }
    let (mut differs, mut same) = (Vec::new(), Vec::new());
    for f in findings {
        match f {
            Finding::Differs(text) => differs.push(text),
            Finding::Same(text) => same.push(text),
        }
    }
    let mut clauses = Vec::new();
    if !differs.is_empty() {
        clauses.push(format!("{} than {b}", join_and(&differs)));
    }
    if !same.is_empty() {
        clauses.push(format!("{} as {b}", join_and(&same)));
    }
    let mut text = if clauses.is_empty() {
        format!(
            "At {size} chunks, no figure was measured for both {c} and {b}, so there is \
             nothing to compare."
        )
    } else {
        format!("Measured at {size} chunks, {c} {}.", join_and(&clauses))
    };
    // Throughput as the two figures rather than a ratio: on loopback both ends share the
    // CPUs, and "1.0x faster" would read as a finding when it is a tie.
    if let (Some(x), Some(y)) = (base.median("throughput"), best.median("throughput")) {
        text.push_str(&format!(
            " Throughput: {c} {} GiB/s, {b} {} GiB/s.",
            sig3(y),
            sig3(x)
        ));
    }
    if let (Some(x), Some(y)) = (
        base.median("user_copied_per_byte"),
        best.median("user_copied_per_byte"),
    ) {
        text.push_str(&format!(
            " {b} copied {} bytes through user space per byte sent, {c} {}.",
            sig3(x),
            sig3(y)
        ));
    }
    let switches: Vec<String> = at
        .iter()
        .filter_map(|r| {
            r.median("mode_switches_per_chunk")
                .map(|m| format!("{} {} vs {}", r.mode, sig3(m), r.model.mode_switches))
        })
        .collect();
    if !switches.is_empty() {
        text.push_str(&format!(
            " User<->kernel mode switches per chunk, measured vs textbook model: {}.",
            switches.join(", ")
        ));
    }
    text
}

/// A single mode at this chunk size: its own measured figures, nothing to compare.
fn describe(row: &Row, size: &str) -> String {
    let parts: Vec<String> = [
        ("throughput", "ran at {} GiB/s"),
        (
            "sender_cpu_per_gib",
            "used {} CPU seconds per GiB in the sending thread",
        ),
        ("syscalls_per_gib", "made {} syscalls per GiB"),
        (
            "user_copied_per_byte",
            "copied {} bytes through user space per byte sent",
        ),
        (
            "mode_switches_per_chunk",
            "made {} user<->kernel mode switches per chunk",
        ),
    ]
    .into_iter()
    .filter_map(|(key, phrase)| row.median(key).map(|v| phrase.replace("{}", &sig3(v))))
    .collect();
    if parts.is_empty() {
        format!("{} at {size} chunks: nothing was measured.", row.mode)
    } else {
        format!(
            "Measured at {size} chunks, {} {}.",
            row.mode,
            join_and(&parts)
        )
    }
}

/// `a`, `a and b`, `a, b and c`.
pub(super) fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

// --- setup ----------------------------------------------------------------------------------

/// The address of the remote `zc sink`, or `None` for the in-process sink thread.
///
/// The runner writes `in-process thread` or the address into `Setup::sink_location`;
/// only the in-process sink's kind, CPU and CPU time are known here.
fn remote_sink(setup: &Setup) -> Option<&str> {
    let location = setup.sink_location.as_str();
    (!location.starts_with("in-process")).then_some(location)
}

/// The provenance, as (name, fact) pairs for the terminal footer and the Markdown list.
pub(super) fn setup_facts(report: &BenchReport) -> Vec<(&'static str, String)> {
    let setup = &report.setup;
    let f = &setup.fixture;
    let env = &setup.environment;
    let hash: String = f.blake3.chars().take(16).collect();
    let remote = remote_sink(setup);
    let sink = match remote {
        Some(addr) => format!(
            "remote zc sink at {addr} (its kind, CPU and CPU time are measured on its \
             side){}",
            if setup.verify {
                ", its CRC-32C of every run checked against the fixture's"
            } else {
                ""
            }
        ),
        None => format!(
            "{} sink, {}{}",
            setup.sink,
            setup.sink_location,
            if setup.verify {
                ", verifying CRC-32C (an extra copy in the sink)"
            } else {
                ""
            }
        ),
    };
    let runs = report.rows.iter().flat_map(|r| &r.runs);
    let mut placement = pinning(
        setup.pin.map(|p| p.to_string()),
        remote.is_some(),
        runs.clone().filter_map(|r| r.sender_cpu).collect(),
        runs.filter_map(|r| r.sink_cpu_id).collect(),
    );
    if setup.consumers > 1 {
        // RunRecord keeps one sender and one sink CPU per run: the first consumer's.
        placement.push_str(" (CPUs observed for the first consumer's threads)");
    }
    let mut facts = vec![
        (
            "fixture",
            format!(
                "{} ({}, {}, blake3 {hash}{})",
                f.path.display(),
                format_size(f.bytes),
                count(f.segments, "segment", "segments"),
                if f.default {
                    ", the default fixture"
                } else {
                    ""
                }
            ),
        ),
        (
            "cache",
            match setup.cache {
                CacheState::Warm => "warm (read once before the runs)".to_owned(),
                CacheState::Cold => {
                    "cold (dropped from the page cache before every run)".to_owned()
                }
            },
        ),
        ("sink", sink),
        (
            "congestion",
            format!("{} (read back from the socket)", setup.congestion),
        ),
        (
            "buffers",
            match setup.receive_buffer {
                Some(receive) => format!(
                    "send {}, receive {} (as the kernel reported them after the transfer)",
                    format_size(setup.send_buffer as u64),
                    format_size(receive as u64)
                ),
                None => format!(
                    "send {} (as the kernel reported it after the transfer); receive n/a \
                     (the remote sink's)",
                    format_size(setup.send_buffer as u64)
                ),
            },
        ),
        ("pinning", placement),
        (
            "runs",
            format!(
                "{} measured after {}, chunks {}",
                count(setup.runs as usize, "run", "runs"),
                count(setup.warmup as usize, "warm-up run", "warm-up runs"),
                setup
                    .chunks
                    .iter()
                    .map(|c| format_size(*c as u64))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    ];
    facts.extend(environment_facts(env, &setup.counters, setup.zc_version));
    facts
}

/// The facts of the machine every report ends its setup with: kernel, CPU, permissions,
/// which counters worked, zc's version and the environment's notes. Shared with
/// `zc bench write`'s report.
pub(super) fn environment_facts(
    env: &Environment,
    counters: &[(&'static str, Reading<()>)],
    zc_version: &str,
) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("kernel", reading_text(&env.kernel_release)),
        (
            "CPU",
            format!(
                "{} ({} online)",
                reading_text(&env.cpu_model),
                reading_text(&env.cpus_online)
            ),
        ),
        (
            "permissions",
            format!(
                "perf_event_paranoid {}, {}",
                reading_text(&env.perf_event_paranoid),
                if env.root { "root" } else { "not root" }
            ),
        ),
    ];
    facts.extend(counter_facts(counters));
    facts.push(("zc", zc_version.to_owned()));
    facts.extend(env.notes.iter().map(|n| ("note", n.clone())));
    facts
}

/// Where the threads ran, as observed at the end of each run (`RunRecord::sender_cpu`,
/// `sink_cpu_id`), every distinct CPU once; `pin` is the `--pin` asked for. A remote
/// sink is neither pinned by `--pin` nor observed from here.
fn pinning(
    pin: Option<String>,
    remote: bool,
    sender: BTreeSet<usize>,
    sink: BTreeSet<usize>,
) -> String {
    let verb = if pin.is_some() { "ran on" } else { "on" };
    let mut observed = vec![placed("sender", verb, &sender)];
    if !remote {
        observed.push(placed("sink", "on", &sink));
    }
    let observed = observed.join(", ");
    let remote_note = if remote {
        "; the remote sink's CPU is measured on its side"
    } else {
        ""
    };
    match pin {
        Some(pin) if remote => format!(
            "{observed} (pinned: --pin {pin}, whose sink CPU applies only to the \
             in-process sink){remote_note}"
        ),
        Some(pin) => format!("{observed} (pinned: --pin {pin})"),
        None => format!("not pinned; observed: {observed}{remote_note}"),
    }
}

/// `sender on CPU 0`, `sender on CPUs {0,1}`, or that it was not observed.
fn placed(role: &str, verb: &str, cpus: &BTreeSet<usize>) -> String {
    match cpus.len() {
        0 => format!("{role} CPU not observed"),
        1 => format!("{role} {verb} CPU {}", cpus.first().expect("one CPU")),
        _ => format!(
            "{role} {verb} CPUs {{{}}}",
            cpus.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// `counters: available: a, b` then one `n/a` line per distinct reason with its counters.
pub(super) fn counter_facts(
    counters: &[(&'static str, Reading<()>)],
) -> Vec<(&'static str, String)> {
    let available: Vec<&str> = counters
        .iter()
        .filter(|(_, r)| r.value().is_some())
        .map(|(name, _)| *name)
        .collect();
    // BTreeMap: a stable order, so the same machine always prints the same report.
    let mut missing: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, r) in counters {
        if let Some(why) = r.reason() {
            missing.entry(why).or_default().push(name);
        }
    }
    let mut facts = vec![(
        "counters",
        if available.is_empty() {
            "none available".to_owned()
        } else {
            format!("available: {}", available.join(", "))
        },
    )];
    facts.extend(
        missing
            .into_iter()
            .map(|(why, names)| ("counters", format!("n/a: {} ({why})", names.join(", ")))),
    );
    facts
}

pub(super) fn reading_text<T: ToString>(r: &Reading<T>) -> String {
    match r {
        Reading::Value(v) => v.to_string(),
        Reading::Unavailable(why) => format!("n/a ({why})"),
    }
}

// --- wrapping -------------------------------------------------------------------------------

/// Greedy word wrap to `width` columns (no wrapping when `None`), each line ending in `\n`.
/// `first` prefixes the first line, `rest` the continuation lines. A word longer than a
/// line (a path) is cut, so that no line ever exceeds `width`.
pub(crate) fn wrap(text: &str, width: Option<usize>, first: &str, rest: &str) -> String {
    let Some(width) = width else {
        return format!("{first}{text}\n");
    };
    let mut out = String::new();
    let mut line = first.to_owned();
    let mut empty = true; // no word on `line` yet, only the prefix
    for word in text.split_whitespace() {
        let used = line.chars().count();
        if !empty && used + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_owned();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        let mut chars = word.chars().peekable();
        while chars.peek().is_some() {
            let room = width.saturating_sub(line.chars().count()).max(1);
            line.extend(chars.by_ref().take(room));
            if chars.peek().is_some() {
                out.push_str(&line);
                out.push('\n');
                line = rest.to_owned();
            }
        }
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bench::results::{FixtureInfo, SCHEMA};
    use crate::bench::sink::SinkKind;
    use crate::bench::warnings::Warning;
    use crate::measure::Environment;

    /// A metric as the runner would produce it.
    fn metric(key: &'static str, unit: &'static str, value: Reading<Stat>) -> Metric {
        Metric {
            key,
            label: key,
            unit,
            source: format!("test source of {key}"),
            value,
        }
    }

    fn stat(median: f64, min: f64, max: f64) -> Reading<Stat> {
        Reading::Value(Stat {
            median,
            min,
            max,
            runs: 5,
        })
    }

    pub(in crate::report) const NO_PMU: &str = "no PMU on this VM";
    pub(in crate::report) const NO_SINK_CPU: &str = "remote sink, its CPU time is not ours";
    /// Bytes a warm run read from storage in the sample (4.2 MiB).
    pub(in crate::report) const STORAGE_READ: f64 = 4_404_019.0;

    // The fallback sources exactly as `bench::metrics` writes them.
    const RUSAGE_CPU: &str = "getrusage(RUSAGE_THREAD) user + system (perf task-clock unavailable)";
    const RUSAGE_SCHED: &str =
        "getrusage voluntary + involuntary switches (perf context-switches unavailable)";
    const RUSAGE_FAULTS: &str = "getrusage minflt/majflt (perf page-faults unavailable)";
    const OWN_SWITCHES: &str = "2 per syscall / (bytes / chunk); syscalls self-counted by zc \
                                (kernel tracepoints unavailable)";
    const OWN_COPIES: &str =
        "self-counted from the return values of calls that touched user buffers";

    /// Figures chosen so the ratios are obvious: sendfile makes half read-write's syscalls
    /// (32768 vs 16384 per GiB: 2.0x) and uses 0.62 vs 0.20 CPU s/GiB (3.1x).
    pub(in crate::report) fn row(
        mode: Mode,
        syscalls: f64,
        cpu: f64,
        copies: f64,
        switches: f64,
    ) -> Row {
        let unavailable = |why: &str| Reading::Unavailable(why.to_owned());
        Row {
            mode,
            chunk: 64 << 10,
            model: mode.model(),
            metrics: vec![
                metric("throughput", "GiB/s", stat(3.21, 3.1, 3.3)),
                metric(
                    "sender_cpu_per_gib",
                    "s/GiB",
                    stat(cpu, cpu * 0.9, cpu * 1.1),
                ),
                metric("sink_cpu_per_gib", "s/GiB", unavailable(NO_SINK_CPU)),
                metric("system_cpu_per_gib", "s/GiB", stat(1.5, 1.4, 1.6)),
                metric(
                    "syscalls_per_gib",
                    "1/GiB",
                    stat(syscalls, syscalls, syscalls),
                ),
                metric(
                    "syscalls_self_per_gib",
                    "1/GiB",
                    stat(syscalls, syscalls, syscalls),
                ),
                metric(
                    "mode_switches_per_gib",
                    "1/GiB",
                    stat(2.0 * syscalls, 2.0 * syscalls, 2.0 * syscalls),
                ),
                metric(
                    "mode_switches_per_chunk",
                    "1/chunk",
                    stat(switches, switches, switches),
                ),
                metric("user_copied_per_byte", "B/B", stat(copies, copies, copies)),
                metric("sched_switches_per_gib", "1/GiB", stat(12.0, 9.0, 20.0)),
                metric("cpu_migrations", "count", stat(0.0, 0.0, 1.0)),
                metric("minor_faults_per_gib", "1/GiB", stat(3.0, 2.0, 4.0)),
                metric("major_faults_per_gib", "1/GiB", stat(0.0, 0.0, 0.0)),
                metric(
                    "storage_read_bytes",
                    "bytes",
                    stat(STORAGE_READ, 0.0, STORAGE_READ),
                ),
                metric("cycles_per_gib", "1/GiB", unavailable(NO_PMU)),
                metric("instructions_per_gib", "1/GiB", unavailable(NO_PMU)),
                metric("cache_misses_per_gib", "1/GiB", unavailable(NO_PMU)),
                metric("residency_before", "fraction", stat(1.0, 0.000201, 1.0)),
            ],
            runs: Vec::new(),
        }
    }

    /// Three modes at 64 KiB, two warnings (one only repeating a counter's reason),
    /// hardware counters unavailable.
    pub(crate) fn sample_report() -> BenchReport {
        BenchReport {
            schema: SCHEMA,
            setup: Setup {
                zc_version: "0.1.0",
                environment: Environment {
                    kernel_release: Reading::Value("6.8.0-test".into()),
                    cpu_model: Reading::Value("Test CPU, 8 cores".into()),
                    cpus_online: Reading::Value(8),
                    perf_event_paranoid: Reading::Value(2),
                    root: false,
                    tracefs: Reading::unavailable("not mounted"),
                    notes: vec![],
                },
                counters: vec![
                    ("task_clock", Reading::Value(())),
                    ("syscalls", Reading::Value(())),
                    ("cycles", Reading::unavailable(NO_PMU)),
                    ("instructions", Reading::unavailable(NO_PMU)),
                ],
                fixture: FixtureInfo {
                    path: "/tmp/zc/fixture".into(),
                    blake3: "0123456789abcdef0123456789abcdef".into(),
                    bytes: 256 << 20,
                    segments: 4,
                    default: true,
                },
                cache: CacheState::Warm,
                sink: SinkKind::Splice,
                sink_location: "in-process thread".into(),
                verify: false,
                chunks: vec![64 << 10],
                runs: 5,
                warmup: 1,
                consumers: 1,
                congestion: "cubic".into(),
                send_buffer: 4 << 20,
                receive_buffer: Some(6 << 20),
                pin: None,
            },
            rows: vec![
                row(Mode::ReadWrite, 32768.0, 0.62, 2.0, 4.0),
                row(Mode::Mmap, 16384.0, 0.45, 1.0, 2.0),
                row(Mode::Sendfile, 16384.0, 0.20, 0.0, 2.0),
            ],
            warnings: vec![
                Warning::CounterUnavailable {
                    counter: "cycles, instructions".into(),
                    reason: NO_PMU.into(),
                },
                Warning::StorageReads {
                    mode: Mode::ReadWrite,
                    chunk: 64 << 10,
                    bytes: STORAGE_READ as u64,
                },
            ],
        }
    }

    fn set(report: &mut BenchReport, mode: Mode, key: &str, value: Reading<Stat>) {
        for row in report.rows.iter_mut().filter(|r| r.mode == mode) {
            row.metrics.iter_mut().find(|m| m.key == key).unwrap().value = value.clone();
        }
    }

    fn set_source(report: &mut BenchReport, key: &str, source: &str) {
        for row in &mut report.rows {
            row.metrics
                .iter_mut()
                .find(|m| m.key == key)
                .unwrap()
                .source = source.into();
        }
    }

    /// The same rows again at `chunk`, after those already there.
    fn add_chunk(report: &mut BenchReport, chunk: usize) {
        let more: Vec<Row> = report
            .rows
            .iter()
            .filter(|r| r.chunk == 64 << 10)
            .cloned()
            .map(|mut r| {
                r.chunk = chunk;
                r
            })
            .collect();
        report.rows.extend(more);
    }

    fn assert_fits(text: &str, width: usize) {
        for line in text.lines() {
            assert!(
                line.chars().count() <= width,
                "{} columns: {line}",
                line.chars().count()
            );
        }
    }

    #[test]
    fn table_shows_every_mode_the_model_and_why_figures_are_missing() {
        let text = render(&sample_report(), Some(100));
        for mode in ["read-write", "mmap", "sendfile"] {
            assert!(text.contains(mode), "{mode} missing:\n{text}");
        }
        assert!(text.contains(MODEL_TITLE));
        assert!(text.contains("n/a"));
        assert!(text.contains(&format!("n/a: {NO_SINK_CPU}")));
        // Each reason once, however many cells it explains.
        assert_eq!(text.matches(NO_SINK_CPU).count(), 1, "{text}");
        assert!(text.contains(&format!("hardware counters: n/a ({NO_PMU})")));
        assert!(text.contains("64 KiB"));
        assert!(text.contains("3.10–3.30"), "min–max of throughput:\n{text}");
        assert!(text.contains("warning: read-write chunk 64 KiB: a warm run read 4.2 MiB"));
        assert!(text.contains("  fix: free memory"));
        assert!(text.contains("cubic (read back from the socket)"));
        assert!(
            text.contains(
                "send 4 MiB, receive 6 MiB (as the kernel reported them after the transfer)"
            ),
            "{text}"
        );
    }

    #[test]
    fn measured_sections_share_one_shape() {
        // Wide enough that no title wraps.
        let text = render(&sample_report(), Some(200));
        let titles = [
            "MEASURED on this machine: throughput and CPU time per GiB sent",
            "MEASURED on this machine: kernel work",
            "MEASURED on this machine: page cache and storage",
        ];
        let mut at = 0;
        for title in titles {
            let found = text[at..].find(title).unwrap_or_else(|| {
                panic!("{title} missing or out of order:\n{text}");
            });
            at += found + title.len();
            // Each title is followed by its table.
            assert!(
                text[at..]
                    .lines()
                    .nth(1)
                    .is_some_and(|l| l.starts_with('┌')),
                "{text}"
            );
        }
        assert!(text.contains("mode switches = user<->kernel transitions"));
    }

    #[test]
    fn every_line_fits_80_columns() {
        let mut report = sample_report();
        report.rows.push(row(Mode::Splice, 32768.0, 0.21, 0.0, 4.0));
        for r in &mut report.rows {
            r.metrics
                .iter_mut()
                .find(|m| m.key == "cycles_per_gib")
                .unwrap()
                .value = stat(1.23e9, 1.2e9, 1.3e9);
        }
        let text = render(&report, Some(80));
        assert!(
            text.contains("cycles"),
            "hardware column shown when measured"
        );
        assert_fits(&text, 80);
    }

    #[test]
    fn every_line_fits_80_columns_without_root_and_with_a_remote_sink() {
        let mut report = sample_report();
        report.rows.push(row(Mode::Splice, 32768.0, 0.21, 0.0, 4.0));
        set(
            &mut report,
            Mode::ReadWrite,
            "major_faults_per_gib",
            stat(7.0, 6.0, 8.0),
        );
        for mode in Mode::ALL {
            set(
                &mut report,
                mode,
                "syscalls_per_gib",
                Reading::unavailable("refused"),
            );
        }
        set_source(&mut report, "sender_cpu_per_gib", RUSAGE_CPU);
        set_source(&mut report, "sched_switches_per_gib", RUSAGE_SCHED);
        set_source(&mut report, "minor_faults_per_gib", RUSAGE_FAULTS);
        set_source(&mut report, "mode_switches_per_chunk", OWN_SWITCHES);
        report.setup.sink_location = "[2001:db8::1234:5678]:9000".into();
        report.setup.receive_buffer = None;
        let text = render(&report, Some(80));
        // At 80 columns comfy-table may break "(own count)" over two lines.
        assert!(text.contains("(rusage)") && text.contains("(own"), "{text}");
        assert_fits(&text, 80);
    }

    #[test]
    fn missing_metric_renders_as_not_measured() {
        let mut report = sample_report();
        report.rows[0]
            .metrics
            .retain(|m| m.key != "sched_switches_per_gib");
        let text = render(&report, Some(120));
        assert!(text.contains(&format!("n/a: {NOT_MEASURED}")));
    }

    #[test]
    fn refused_kernel_syscall_count_falls_back_to_the_own_count_and_says_so() {
        let mut report = sample_report();
        let why = "tracepoints refused: perf_event_paranoid=2";
        set(
            &mut report,
            Mode::Sendfile,
            "syscalls_per_gib",
            Reading::unavailable(why),
        );
        let text = render(&report, Some(120));
        assert!(text.contains("(own count)"), "{text}");
        assert!(text.contains(&format!("n/a: {why}")), "{text}");
    }

    #[test]
    fn figures_from_fallback_sources_are_marked() {
        let mut report = sample_report();
        set_source(&mut report, "sender_cpu_per_gib", RUSAGE_CPU);
        set_source(&mut report, "sched_switches_per_gib", RUSAGE_SCHED);
        set_source(&mut report, "mode_switches_per_chunk", OWN_SWITCHES);
        set_source(&mut report, "user_copied_per_byte", OWN_COPIES);
        let text = render(&report, Some(160));
        // Sender CPU and scheduler switches of three rows each.
        assert_eq!(text.matches("(rusage)").count(), 6, "{text}");
        // Mode switches of three rows; user-space copies are self-counted by design.
        assert_eq!(text.matches("(own count)").count(), 3, "{text}");
    }

    #[test]
    fn fallback_marker_follows_the_metric_sources() {
        assert_eq!(fallback_marker(RUSAGE_CPU), Some("(rusage)"));
        assert_eq!(fallback_marker(RUSAGE_SCHED), Some("(rusage)"));
        assert_eq!(fallback_marker(RUSAGE_FAULTS), Some("(rusage)"));
        assert_eq!(fallback_marker(OWN_SWITCHES), Some("(own count)"));
        assert_eq!(
            fallback_marker("self-counted by zc (kernel tracepoints unavailable)"),
            Some("(own count)")
        );
        assert_eq!(fallback_marker(OWN_COPIES), None);
        assert_eq!(
            fallback_marker("perf task-clock of the sender thread, user + kernel"),
            None
        );
        assert_eq!(
            fallback_marker(
                "2 per syscall; syscalls tracepoint raw_syscalls:sys_enter (kernel-counted)"
            ),
            None
        );
    }

    #[test]
    fn no_pmu_reason_once_in_the_tables_and_once_in_the_setup() {
        let mut report = sample_report();
        // The same reason on a cell of the section that already names it in its note.
        set(
            &mut report,
            Mode::Mmap,
            "system_cpu_per_gib",
            Reading::unavailable(NO_PMU),
        );
        let text = render(&report, Some(120));
        assert_eq!(text.matches(NO_PMU).count(), 2, "{text}");
        assert!(text.contains(&format!("hardware counters: n/a ({NO_PMU})")));
        assert!(text.contains(&format!("n/a: cycles, instructions ({NO_PMU})")));
        assert!(!text.contains("warning: counter"), "{text}");
        // Other warnings stay.
        assert!(text.contains("warning: read-write chunk 64 KiB"), "{text}");
    }

    #[test]
    fn a_counter_warning_the_setup_does_not_repeat_is_kept() {
        let mut report = sample_report();
        report.warnings.push(Warning::CounterUnavailable {
            counter: "cache_misses".into(),
            reason: "only in the warning".into(),
        });
        assert_eq!(shown_warnings(&report).len(), 2);
    }

    #[test]
    fn one_run_is_singular() {
        let mut report = sample_report();
        report.setup.runs = 1;
        report.setup.fixture.segments = 1;
        let text = render(&report, None);
        assert!(
            text.contains("(median of 1 run; min–max beneath)"),
            "{text}"
        );
        assert!(
            text.contains("1 run measured after 1 warm-up run, chunks 64 KiB"),
            "{text}"
        );
        assert!(text.contains("256 MiB, 1 segment, blake3"), "{text}");
        assert!(
            !text.contains("1 runs") && !text.contains("1 segments"),
            "{text}"
        );
        report.setup.runs = 5;
        report.setup.warmup = 2;
        let text = render(&report, None);
        assert!(text.contains("(median of 5 runs;"), "{text}");
        assert!(
            text.contains("5 runs measured after 2 warm-up runs"),
            "{text}"
        );
    }

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
        let text = render(&sample_report(), Some(120));
        assert!(text.contains("4.2 MiB"), "{text}");
        assert!(text.contains("0 B–4.2 MiB"), "{text}");
        assert!(
            text.contains("100%") && text.contains("0.0201%–100%"),
            "{text}"
        );
        assert!(
            !text.contains("4.40M") && !text.contains("0.000201"),
            "{text}"
        );
    }

    #[test]
    fn summary_states_measured_ratios() {
        let text = summary(&sample_report()).join("\n");
        assert!(text.contains("Measured at 64 KiB chunks"), "{text}");
        assert!(text.contains("sendfile made 2.0x fewer syscalls"), "{text}");
        assert!(text.contains("used 3.1x less CPU per GiB"), "{text}");
        assert!(text.contains("than read-write"), "{text}");
        assert!(
            text.contains(
                "read-write copied 2.00 bytes through user space per byte sent, sendfile 0."
            ),
            "{text}"
        );
        assert!(text.contains("read-write 4.00 vs 4"), "{text}");
    }

    #[test]
    fn summary_compares_sendfile_with_read_write_even_when_splice_used_less_cpu() {
        let mut report = sample_report();
        report.rows.push(row(Mode::Splice, 8192.0, 0.05, 0.0, 2.0));
        add_chunk(&mut report, 1 << 20);
        let paragraphs = summary(&report);
        assert_eq!(paragraphs.len(), 2);
        for p in &paragraphs {
            assert!(p.contains(", sendfile made 2.0x fewer syscalls and used 3.1x less CPU per GiB in the sending thread than read-write."), "{p}");
            assert!(!p.contains("splice made"), "{p}");
        }
    }

    #[test]
    fn summary_without_read_write_keeps_one_pair_at_every_chunk_size() {
        let mut report = sample_report();
        report.rows.retain(|r| r.mode != Mode::ReadWrite);
        report.rows.push(row(Mode::Splice, 16384.0, 0.10, 0.0, 4.0));
        add_chunk(&mut report, 1 << 20);
        // splice is cheaper at 64 KiB, sendfile at 1 MiB and over both sizes.
        let big = |r: &Row| r.chunk == 1 << 20 && r.mode != Mode::Mmap;
        for r in report.rows.iter_mut().filter(|r| big(r)) {
            let cpu = if r.mode == Mode::Splice { 0.40 } else { 0.05 };
            r.metrics
                .iter_mut()
                .find(|m| m.key == "sender_cpu_per_gib")
                .unwrap()
                .value = stat(cpu, cpu, cpu);
        }
        let paragraphs = summary(&report);
        assert_eq!(paragraphs.len(), 2);
        for p in &paragraphs {
            assert!(p.contains(", sendfile ") && p.contains(" than mmap"), "{p}");
            assert!(
                !p.contains("splice made") && !p.contains("splice used"),
                "{p}"
            );
        }
    }

    #[test]
    fn summary_says_about_the_same_within_5_percent() {
        let mut report = sample_report();
        set(
            &mut report,
            Mode::Sendfile,
            "syscalls_per_gib",
            stat(31600.0, 31600.0, 31600.0),
        );
        set(
            &mut report,
            Mode::Sendfile,
            "sender_cpu_per_gib",
            stat(0.64, 0.6, 0.7),
        );
        let text = summary(&report).join("\n");
        assert!(
            text.contains(
                ", sendfile made about the same number of syscalls and used about the same \
                 CPU per GiB in the sending thread as read-write."
            ),
            "{text}"
        );
        assert!(!text.contains("1.0x"), "{text}");

        set(
            &mut report,
            Mode::Sendfile,
            "syscalls_per_gib",
            stat(16384.0, 16384.0, 16384.0),
        );
        let text = summary(&report).join("\n");
        assert!(
            text.contains(
                ", sendfile made 2.0x fewer syscalls than read-write and used about the same \
                 CPU per GiB in the sending thread as read-write."
            ),
            "{text}"
        );

        // Just outside the band: a ratio again.
        set(
            &mut report,
            Mode::Sendfile,
            "sender_cpu_per_gib",
            stat(0.58, 0.5, 0.6),
        );
        let text = summary(&report).join("\n");
        assert!(text.contains("used 1.1x less CPU"), "{text}");
    }

    #[test]
    fn summary_says_when_cpu_came_from_getrusage() {
        let mut report = sample_report();
        set_source(&mut report, "sender_cpu_per_gib", RUSAGE_CPU);
        let text = summary(&report).join("\n");
        assert!(
            text.contains("used 3.1x less CPU per GiB in the sending thread (by getrusage, perf n/a) than read-write"),
            "{text}"
        );
    }

    #[test]
    fn summary_omits_a_comparison_with_an_unmeasured_side() {
        let mut report = sample_report();
        let gone = || Reading::unavailable("tracepoints refused");
        set(&mut report, Mode::Sendfile, "syscalls_per_gib", gone());
        set(&mut report, Mode::Sendfile, "syscalls_self_per_gib", gone());
        let text = summary(&report).join("\n");
        assert!(!text.contains("syscalls"), "{text}");
        assert!(text.contains("3.1x less CPU"), "{text}");
    }

    #[test]
    fn summary_falls_back_to_the_programs_own_syscall_count() {
        let mut report = sample_report();
        set(
            &mut report,
            Mode::Sendfile,
            "syscalls_per_gib",
            Reading::unavailable("refused"),
        );
        let text = summary(&report).join("\n");
        assert!(
            text.contains("2.0x fewer syscalls by its own count"),
            "{text}"
        );
    }

    #[test]
    fn summary_describes_a_single_mode_alone() {
        let mut report = sample_report();
        report.rows.truncate(1);
        let text = summary(&report).join("\n");
        assert!(
            text.contains("Measured at 64 KiB chunks, read-write ran at 3.21 GiB/s"),
            "{text}"
        );
        assert!(!text.contains(" than "), "{text}");
    }

    #[test]
    fn remote_sink_setup_claims_nothing_about_the_remote_side() {
        let mut report = sample_report();
        report.setup.sink_location = "10.0.0.2:9000".into();
        report.setup.receive_buffer = None;
        let text = render(&report, None);
        assert!(
            text.contains(
                "sink        remote zc sink at 10.0.0.2:9000 (its kind, CPU and CPU time are \
                 measured on its side)\n"
            ),
            "{text}"
        );
        assert!(!text.contains("splice sink"), "{text}");
        assert!(
            text.contains(
                "send 4 MiB (as the kernel reported it after the transfer); receive n/a \
                 (the remote sink's)"
            ),
            "{text}"
        );
        assert!(
            text.contains("not pinned; observed: sender CPU not observed; the remote sink's CPU is measured on its side"),
            "{text}"
        );
        let text = render(&sample_report(), None);
        assert!(text.contains("splice sink, in-process thread"), "{text}");
    }

    #[test]
    fn pinning_reports_the_cpus_observed() {
        let set = |cpus: &[usize]| cpus.iter().copied().collect::<BTreeSet<usize>>();
        assert_eq!(
            pinning(Some("0,1".into()), false, set(&[0]), set(&[1])),
            "sender ran on CPU 0, sink on CPU 1 (pinned: --pin 0,1)"
        );
        assert_eq!(
            pinning(None, false, set(&[1, 0, 1]), set(&[1])),
            "not pinned; observed: sender on CPUs {0,1}, sink on CPU 1"
        );
        assert_eq!(
            pinning(None, false, set(&[]), set(&[])),
            "not pinned; observed: sender CPU not observed, sink CPU not observed"
        );
        assert_eq!(
            pinning(Some("2,3".into()), true, set(&[2]), set(&[])),
            "sender ran on CPU 2 (pinned: --pin 2,3, whose sink CPU applies only to the \
             in-process sink); the remote sink's CPU is measured on its side"
        );
        // Through the report: no runs recorded in the sample.
        let text = render(&sample_report(), None);
        assert!(
            text.contains(
                "pinning     not pinned; observed: sender CPU not observed, sink CPU not observed"
            ),
            "{text}"
        );
    }

    /// `--consumers 10`: a fan-out table first, and a summary with the measured copy
    /// totals next to the article's 40 vs 11, which is labelled as a model.
    #[test]
    fn fan_out_states_measured_totals_apart_from_the_articles_model() {
        let mut report = sample_report();
        report.setup.consumers = 10;
        report.setup.cache = CacheState::Cold;
        for row in &mut report.rows {
            let copies = row.median("user_copied_per_byte").unwrap();
            row.metrics
                .push(metric("storage_read_logs", "logs", stat(1.0, 0.99, 1.0)));
            row.metrics.push(metric(
                "user_copied_logs",
                "logs",
                stat(10.0 * copies, 10.0 * copies, 10.0 * copies),
            ));
        }
        let text = render(&report, Some(80));
        assert_fits(&text, 80);
        assert!(
            text.starts_with("MEASURED on this machine: 10 consumers at once, one page cache"),
            "{text}"
        );
        let summary = summary(&report).join("\n");
        assert!(
            summary.contains(
                "Copies of the log MEASURED (read from storage + copied through user space, \
                 in log sizes): read-write 1.00 + 20.0 = 21.0, mmap 1.00 + 10.0 = 11.0, \
                 sendfile 1.00 + 0 = 1.00."
            ),
            "{summary}"
        );
        assert!(
            summary.contains(
                "The article's count, a MODEL, NOT MEASURED: classic 4 x 10 = 40 copies, \
                 zero-copy 1 + 10 = 11."
            ),
            "{summary}"
        );
        assert!(
            summary.contains("read the log from storage about once"),
            "{summary}"
        );

        // One consumer: no fan-out table, no fan-out paragraph.
        report.setup.consumers = 1;
        let text = render(&report, Some(80));
        assert!(!text.contains("consumers at once"), "{text}");
    }

    #[test]
    fn three_significant_digits() {
        assert_eq!(sig3(0.0), "0");
        assert_eq!(sig3(3.2145), "3.21");
        assert_eq!(sig3(0.03214), "0.0321");
        assert_eq!(sig3(321.4), "321");
        assert_eq!(sig3(2.0), "2.00");
        assert_eq!(sig3(999.7), "1.00k");
        assert_eq!(sig3(32768.0), "32.8k");
        assert_eq!(sig3(1.234e9), "1.23G");
        assert_eq!(sig3(-4.5), "-4.50");
    }

    #[test]
    fn wrap_never_exceeds_the_width() {
        let text = wrap(
            "a long-ish sentence with /a/very/long/path/that/cannot/break",
            Some(12),
            "> ",
            "  ",
        );
        for line in text.lines() {
            assert!(line.chars().count() <= 12, "{line}");
        }
        assert!(text.starts_with("> a long-ish"));
        assert_eq!(wrap("as is", None, "", ""), "as is\n");
    }
}
