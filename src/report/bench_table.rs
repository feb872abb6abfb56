//! The terminal report of `zc bench`: what was measured, what the textbook predicts, what
//! the difference shows, and the setup that produced it.
//!
//! Layout, top to bottom:
//!
//! ```text
//! MEASURED on this machine: throughput and CPU time   (comfy-table; median, min–max beneath)
//! MEASURED on this machine: kernel work               (comfy-table)
//!   n/a: <reason>                                     (each reason once, never a fake 0)
//! TEXTBOOK MODEL: predicted per chunk, NOT MEASURED   (comfy-table, notes beneath)
//! what this shows (measured): ...                     (ratios computed from the medians)
//! warning: ... / fix: ...
//! setup: ...                                          (provenance)
//! ```
//!
//! The measured figures are split into two tables so that each fits an 80-column terminal:
//! eleven columns of `median` + `min–max` do not. The model is a separate table with a
//! title that says it is not a measurement (DESIGN.md: "Measured vs modelled").
//!
//! The helpers marked `pub(super)` (number formatting, the summary, the setup facts) are
//! shared with the Markdown exporter so both say the same thing.

use std::collections::BTreeMap;

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::bench::results::{BenchReport, CacheState, Row, Setup, Stat};
use crate::measure::Reading;
use crate::transfer::Mode;
use crate::units::format_size;

/// The title of the model table, shared with the Markdown exporter and the tests.
pub(super) const MODEL_TITLE: &str = "TEXTBOOK MODEL: predicted per chunk, NOT MEASURED";

/// What a cell says when a metric is absent from the row altogether (an older or partial
/// result), as opposed to present but [`Reading::Unavailable`].
pub(super) const NOT_MEASURED: &str = "not measured";

/// A measured column: the metric key it shows and its (abbreviated) header.
struct Column {
    key: &'static str,
    header: &'static str,
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
const CACHE: [Column; 3] = [
    Column {
        key: "residency_before",
        header: "in page\ncache\nbefore\n(share)",
    },
    Column {
        key: "storage_read_bytes",
        header: "read from\nstorage\nbytes/run",
    },
    Column {
        key: "cpu_migrations",
        header: "CPU\nmigrations\n/run",
    },
];

/// Renders the whole terminal report. `width` is the terminal width; `None` lets
/// comfy-table detect it (and leaves prose unwrapped when stdout is not a terminal).
pub fn render(report: &BenchReport, width: Option<u16>) -> String {
    let width = width.or_else(|| Table::new().width());
    let wrap_at = width.map(usize::from);
    let mut out = String::new();
    let runs = report.setup.runs;

    let hardware_measured = report.rows.iter().any(|r| r.median(CYCLES.key).is_some());
    let mut first: Vec<&Column> = THROUGHPUT_AND_CPU.iter().collect();
    if hardware_measured {
        first.push(&CYCLES);
    }
    out.push_str(&wrap(
        &format!(
            "MEASURED on this machine: throughput and CPU time per GiB sent \
             (median of {runs} runs; min–max beneath)"
        ),
        wrap_at,
        "",
        "",
    ));
    let (table, reasons) = measured_table(&report.rows, &first, width);
    out.push_str(&table);
    if !hardware_measured {
        let why = report
            .rows
            .iter()
            .find_map(|r| match r.metric(CYCLES.key) {
                Some(m) => m.value.reason().map(str::to_owned),
                None => None,
            })
            .unwrap_or_else(|| NOT_MEASURED.to_owned());
        out.push_str(&wrap(
            &format!("hardware counters: n/a ({why})"),
            wrap_at,
            "",
            "  ",
        ));
    }
    out.push_str(&reason_lines(&reasons, wrap_at));

    out.push('\n');
    out.push_str(&wrap(
        "MEASURED on this machine: kernel work",
        wrap_at,
        "",
        "",
    ));
    let second: Vec<&Column> = KERNEL_WORK.iter().collect();
    let (table, reasons) = measured_table(&report.rows, &second, width);
    out.push_str(&table);
    out.push_str(&wrap(
        "mode switches = user<->kernel transitions, 2 per syscall (what the zero-copy \
         articles call context switches); sched switches = the scheduler gave the CPU to \
         another task (perf's context-switches). Not the same thing.",
        wrap_at,
        "",
        "",
    ));
    out.push_str(&reason_lines(&reasons, wrap_at));

    out.push('\n');
    out.push_str(&wrap(
        "MEASURED on this machine: page cache and storage (mincore before each run, \
         /proc/thread-self/io during it)",
        wrap_at,
        "",
        "",
    ));
    let third: Vec<&Column> = CACHE.iter().collect();
    let (table, reasons) = measured_table(&report.rows, &third, width);
    out.push_str(&table);
    out.push_str(&reason_lines(&reasons, wrap_at));

    out.push('\n');
    out.push_str(&model_section(&report.rows, width, wrap_at));

    out.push('\n');
    out.push_str("what this shows (measured):\n");
    for paragraph in summary(report) {
        out.push_str(&wrap(&paragraph, wrap_at, "  ", "  "));
    }

    if !report.warnings.is_empty() {
        out.push('\n');
        for w in &report.warnings {
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
    out.push_str("setup:\n");
    for (name, fact) in setup_facts(&report.setup) {
        out.push_str(&wrap(
            &fact,
            wrap_at,
            &format!("  {name:<11} "),
            &" ".repeat(14),
        ));
    }
    out
}

/// A table in the style of the other zc tables, shrinking to `width` when given.
fn table(header: Vec<Cell>, width: Option<u16>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    if let Some(w) = width {
        t.set_width(w);
    }
    t
}

fn right(v: impl ToString) -> Cell {
    Cell::new(v.to_string()).set_alignment(CellAlignment::Right)
}

/// One row per mode x chunk; returns the table and the distinct reasons of its n/a cells.
fn measured_table(rows: &[Row], columns: &[&Column], width: Option<u16>) -> (String, Vec<String>) {
    let mut header = vec![Cell::new("mode"), right("chunk")];
    header.extend(columns.iter().map(|c| right(c.header)));
    let mut t = table(header, width);
    let mut reasons = Vec::new();
    for row in rows {
        let mut cells = vec![
            Cell::new(row.mode.name()),
            right(format_size(row.chunk as u64)),
        ];
        for column in columns {
            cells.push(right(cell_text(row, column.key, &mut reasons)));
        }
        t.add_row(cells);
    }
    (format!("{t}\n"), reasons)
}

/// The text of one measured cell: the median, and beneath it `min–max` when the runs
/// disagreed. Unavailable figures become `n/a` and their reason goes to `reasons`.
fn cell_text(row: &Row, key: &str, reasons: &mut Vec<String>) -> String {
    let mut text = match reading(row, key) {
        Ok(stat) => stat_lines(stat),
        Err(why) => {
            note_reason(reasons, why);
            "n/a".to_owned()
        }
    };
    match key {
        // The kernel's count is the honest one, but when tracepoints are refused the
        // program's own count still shows the difference between the modes.
        "syscalls_per_gib" if text == "n/a" => {
            if let Ok(own) = reading(row, "syscalls_self_per_gib") {
                text = format!("{}\n(own count)", stat_lines(own));
            }
        }
        // Major faults are 0 with a warm cache; show them only when there were some
        // rather than adding medians of two different counters.
        "minor_faults_per_gib" => {
            if let Some(major) = row.median("major_faults_per_gib")
                && major > 0.0
            {
                text = format!("{text}\n+{} major", sig3(major));
            }
        }
        _ => {}
    }
    text
}

/// The figure for `key`, or the reason there is none.
fn reading<'a>(row: &'a Row, key: &str) -> Result<&'a Stat, &'a str> {
    match row.metric(key).map(|m| &m.value) {
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

/// The median, and `min–max` when the runs disagree at three significant digits (a range
/// of identical numbers is noise on screen).
pub(super) fn stat_parts(stat: &Stat) -> (String, Option<String>) {
    let (min, max) = (sig3(stat.min), sig3(stat.max));
    let range = (min != max).then(|| format!("{min}–{max}"));
    (sig3(stat.median), range)
}

/// `3.21` alone, or `3.21` with `3.10–3.30` on the line beneath.
fn stat_lines(stat: &Stat) -> String {
    match stat_parts(stat) {
        (median, None) => median,
        (median, Some(range)) => format!("{median}\n{range}"),
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

// --- what this shows ----------------------------------------------------------------------

/// One paragraph per chunk size, computed from the measured medians only: a comparison is
/// stated only when both of its sides were measured.
pub(super) fn summary(report: &BenchReport) -> Vec<String> {
    chunks(&report.rows)
        .into_iter()
        .map(|chunk| {
            let at: Vec<&Row> = report.rows.iter().filter(|r| r.chunk == chunk).collect();
            let size = format_size(chunk as u64);
            match pick_pair(&at) {
                Some((base, best)) => compare(base, best, &at, &size),
                None => describe(at[0], &size),
            }
        })
        .collect()
}

/// The baseline (read-write, or the mode with most copies present) and the mode to hold
/// against it: the zero-copy mode (sendfile, splice) that used least sender CPU.
fn pick_pair<'a>(at: &[&'a Row]) -> Option<(&'a Row, &'a Row)> {
    let base = *at
        .iter()
        .min_by_key(|r| Mode::ALL.iter().position(|m| *m == r.mode))?;
    let others: Vec<&Row> = at.iter().copied().filter(|r| r.mode != base.mode).collect();
    let zero_copy: Vec<&Row> = others
        .iter()
        .copied()
        .filter(|r| matches!(r.mode, Mode::Sendfile | Mode::Splice))
        .collect();
    let candidates = if zero_copy.is_empty() {
        others
    } else {
        zero_copy
    };
    let best = candidates
        .iter()
        .filter_map(|r| Some((*r, r.median("sender_cpu_per_gib")?)))
        .min_by(|(_, a), (_, b)| a.total_cmp(b))
        .map(|(r, _)| r)
        // No CPU figure anywhere: any candidate will do, the summary states only what
        // was measured.
        .or_else(|| candidates.first().copied())?;
    Some((base, best))
}

/// `a / b` when both are measured, positive and finite; otherwise no ratio is stated.
fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()).then_some(a / b)
}

fn times(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.1}x")
    } else {
        format!("{r:.0}x")
    }
}

/// "2.0x fewer" when `r` (baseline / candidate) is at least 1, "1.3x more" otherwise.
fn fewer_or_more(r: f64, fewer: &str, more: &str) -> String {
    if r >= 1.0 {
        format!("{} {fewer}", times(r))
    } else {
        format!("{} {more}", times(1.0 / r))
    }
}

fn compare(base: &Row, best: &Row, at: &[&Row], size: &str) -> String {
    let (b, c) = (base.mode, best.mode);
    let mut findings = Vec::new();
    let syscalls = |k| ratio(base.median(k), best.median(k));
    if let Some(r) = syscalls("syscalls_per_gib") {
        findings.push(format!(
            "made {}",
            fewer_or_more(r, "fewer syscalls", "more syscalls")
        ));
    } else if let Some(r) = syscalls("syscalls_self_per_gib") {
        findings.push(format!(
            "made {} by its own count (kernel count n/a)",
            fewer_or_more(r, "fewer syscalls", "more syscalls")
        ));
    }
    if let Some(r) = ratio(
        base.median("sender_cpu_per_gib"),
        best.median("sender_cpu_per_gib"),
    ) {
        findings.push(format!(
            "used {} per GiB in the sending thread",
            fewer_or_more(r, "less CPU", "more CPU")
        ));
    }
    let mut text = if findings.is_empty() {
        format!(
            "At {size} chunks, no figure was measured for both {c} and {b}, so there is \
             nothing to compare."
        )
    } else {
        format!(
            "Measured at {size} chunks, {c} {} than {b}.",
            join_and(&findings)
        )
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
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

// --- setup ----------------------------------------------------------------------------------

/// The provenance, as (name, fact) pairs for the terminal footer and the Markdown list.
pub(super) fn setup_facts(setup: &Setup) -> Vec<(&'static str, String)> {
    let f = &setup.fixture;
    let env = &setup.environment;
    let hash: String = f.blake3.chars().take(16).collect();
    let mut facts = vec![
        (
            "fixture",
            format!(
                "{} ({}, {} segments, blake3 {hash}{})",
                f.path.display(),
                format_size(f.bytes),
                f.segments,
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
        (
            "sink",
            format!(
                "{} sink, {}{}",
                setup.sink,
                setup.sink_location,
                if setup.verify {
                    ", verifying CRC-32C (an extra copy in the sink)"
                } else {
                    ""
                }
            ),
        ),
        (
            "congestion",
            format!("{} (read back from the socket)", setup.congestion),
        ),
        (
            "buffers",
            format!(
                "send {}, receive {} (as the kernel reports them)",
                format_size(setup.send_buffer as u64),
                setup
                    .receive_buffer
                    .map_or_else(|| "n/a (remote sink)".to_owned(), |b| format_size(b as u64))
            ),
        ),
        (
            "pinning",
            setup.pin.map_or_else(
                || "none (the scheduler places the threads)".to_owned(),
                |p| format!("sender on CPU {}, sink on CPU {}", p.sender, p.sink),
            ),
        ),
        (
            "runs",
            format!(
                "{} measured after {} warm-up, chunks {}",
                setup.runs,
                setup.warmup,
                setup
                    .chunks
                    .iter()
                    .map(|c| format_size(*c as u64))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
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
    facts.extend(counter_facts(&setup.counters));
    facts.push(("zc", setup.zc_version.to_owned()));
    facts.extend(env.notes.iter().map(|n| ("note", n.clone())));
    facts
}

/// `counters: available: a, b` then one `n/a` line per distinct reason with its counters.
fn counter_facts(counters: &[(&'static str, Reading<()>)]) -> Vec<(&'static str, String)> {
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

fn reading_text<T: ToString>(r: &Reading<T>) -> String {
    match r {
        Reading::Value(v) => v.to_string(),
        Reading::Unavailable(why) => format!("n/a ({why})"),
    }
}

// --- wrapping -------------------------------------------------------------------------------

/// Greedy word wrap to `width` columns (no wrapping when `None`), each line ending in `\n`.
/// `first` prefixes the first line, `rest` the continuation lines. A word longer than a
/// line (a path) is cut, so that no line ever exceeds `width`.
fn wrap(text: &str, width: Option<usize>, first: &str, rest: &str) -> String {
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
pub(super) mod tests {
    use super::*;
    use crate::bench::results::{FixtureInfo, Metric, Origin, SCHEMA};
    use crate::bench::sink::SinkKind;
    use crate::bench::warnings::Warning;
    use crate::measure::Environment;

    /// A metric as the runner would produce it.
    fn metric(key: &'static str, unit: &'static str, value: Reading<Stat>) -> Metric {
        Metric {
            key,
            label: key,
            unit,
            origin: Origin::Measured,
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

    /// Figures chosen so the ratios are obvious: sendfile makes half read-write's syscalls
    /// (32768 vs 16384 per GiB: 2.0x) and uses 0.62 vs 0.20 CPU s/GiB (3.1x).
    fn row(mode: Mode, syscalls: f64, cpu: f64, copies: f64, switches: f64) -> Row {
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
                metric("storage_read_bytes", "B", stat(0.0, 0.0, 0.0)),
                metric("cycles_per_gib", "1/GiB", unavailable(NO_PMU)),
                metric("instructions_per_gib", "1/GiB", unavailable(NO_PMU)),
                metric("cache_misses_per_gib", "1/GiB", unavailable(NO_PMU)),
                metric("residency_before", "share", stat(1.0, 1.0, 1.0)),
            ],
            runs: Vec::new(),
        }
    }

    /// Three modes at 64 KiB, one warning, hardware counters unavailable.
    pub(in crate::report) fn sample_report() -> BenchReport {
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
                sink_location: "in-process".into(),
                verify: false,
                chunks: vec![64 << 10],
                runs: 5,
                warmup: 1,
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
            warnings: vec![Warning::PacingCongestion {
                algorithm: "bbr".into(),
            }],
        }
    }

    fn set(report: &mut BenchReport, mode: Mode, key: &str, value: Reading<Stat>) {
        let row = report.rows.iter_mut().find(|r| r.mode == mode).unwrap();
        row.metrics.iter_mut().find(|m| m.key == key).unwrap().value = value;
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
        assert!(text.contains("warning: TCP congestion control bbr paces packets"));
        assert!(text.contains("  fix: use --cc cubic"));
        assert!(text.contains("cubic (read back from the socket)"));
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
        for line in text.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} columns: {line}",
                line.chars().count()
            );
        }
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
