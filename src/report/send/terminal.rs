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
//! `table::Page::section`. The model is a separate table with a title that says it is not a
//! measurement.
//!
//! A figure that comes from a fallback source (getrusage instead of perf, zc's own count
//! instead of the kernel's tracepoints) is marked in its cell, `(rusage)` or
//! `(own count)`, so a table made without root is not mistaken for perf figures.
//! The parts every report shares live beside this file's folder: the measured tables in
//! [`crate::report::table`], the setup facts in [`crate::report::provenance`]; the "what
//! this shows" paragraphs are computed with the results, in [`crate::bench::send::analysis`].

use comfy_table::{Cell, Table};

use crate::bench::send::analysis::summary;
use crate::bench::send::results::{BenchReport, Row, keys, modes};
use crate::measure::{COPY_ROUTINES, PERIOD_NS};
use crate::report::provenance::{setup_facts, setup_section, shown_warnings};
use crate::report::table::{Column, NOT_MEASURED, Named, Page, right, table};
use crate::text::{count, wrap};
use crate::units::format_size;

/// The title of the model table, shared with the Markdown exporter and the tests.
pub(crate) const MODEL_TITLE: &str = "TEXTBOOK MODEL: predicted per chunk, NOT MEASURED";

/// The two meanings of "context switch", side by side, shared with Markdown.
pub(crate) const SWITCHES_LEGEND: &str = "mode switches = user<->kernel transitions, 2 per \
     syscall (what the zero-copy articles call context switches); sched switches = the \
     scheduler gave the CPU to another task (perf's context-switches). Not the same thing.";

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
        key: keys::THROUGHPUT,
        header: "GiB/s",
    },
    Column {
        key: keys::SENDER_CPU_PER_GIB,
        header: "sender\nCPU\ns/GiB",
    },
    Column {
        key: keys::SINK_CPU_PER_GIB,
        header: "sink\nCPU\ns/GiB",
    },
    Column {
        key: keys::SYSTEM_CPU_PER_GIB,
        header: "system\nCPU\ns/GiB",
    },
];

/// Shown only when some row measured it: on VMs without a PMU it would be a column of n/a.
const CYCLES: Column = Column {
    key: keys::CYCLES_PER_GIB,
    header: "cycles\n/GiB",
};

const KERNEL_WORK: [Column; 5] = [
    Column {
        key: keys::SYSCALLS_PER_GIB,
        header: "syscalls\n/GiB",
    },
    Column {
        key: keys::MODE_SWITCHES_PER_CHUNK,
        header: "mode\nswitches\n/chunk",
    },
    Column {
        key: keys::USER_COPIED_PER_BYTE,
        header: "user-\nspace\ncopies\n/byte\n(zc's\ncount)",
    },
    Column {
        key: keys::SCHED_SWITCHES_PER_GIB,
        header: "sched\nswitches\n/GiB",
    },
    Column {
        key: keys::MINOR_FAULTS_PER_GIB,
        header: "minor\nfaults\n/GiB",
    },
];

/// The kernel's copies, observed: sampled time in the copy routines, sender beside sink.
const KERNEL_COPIES: [Column; 4] = [
    Column {
        key: keys::SENDER_COPY_CPU_PER_GIB,
        header: "sender\ncopying\ns/GiB",
    },
    Column {
        key: keys::SENDER_COPY_SHARE,
        header: "sender\ncopying\n% of its\nCPU",
    },
    Column {
        key: keys::SINK_COPY_CPU_PER_GIB,
        header: "sink\ncopying\ns/GiB",
    },
    Column {
        key: keys::SINK_COPY_SHARE,
        header: "sink\ncopying\n% of its\nCPU",
    },
];

/// Where the bytes came from: the cache state is an explicit axis of every result.
const CACHE: [Column; 4] = [
    Column {
        key: keys::RESIDENCY_BEFORE,
        header: "in page\ncache\nbefore",
    },
    Column {
        key: keys::STORAGE_READ_BYTES,
        header: "read from\nstorage\nper run",
    },
    Column {
        key: keys::STORAGE_READ_LOGS,
        header: "read from\nstorage\n(logs)",
    },
    Column {
        key: keys::CPU_MIGRATIONS,
        header: "CPU\nmigrations\n/run",
    },
];

/// `--consumers N`: what N consumers of one page cache cost together, first on the page.
const FAN_OUT: [Column; 5] = [
    Column {
        key: keys::THROUGHPUT,
        header: "GiB/s\nall\ntogether",
    },
    Column {
        key: keys::STORAGE_READ_LOGS,
        header: "read from\nstorage\n(logs)",
    },
    Column {
        key: keys::USER_COPIED_LOGS,
        header: "copied\nthrough\nuser space\n(logs)",
    },
    Column {
        key: keys::SYSCALLS_PER_GIB,
        header: "syscalls\n/GiB",
    },
    Column {
        key: keys::SENDER_CPU_PER_GIB,
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
        &format!(
            "MEASURED on this machine: CPU time in the kernel's copy routines (sampled \
             every {} µs of CPU with kernel call chains)",
            PERIOD_NS / 1000
        ),
        &KERNEL_COPIES,
        &[copy_routines_note()],
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

/// Which functions count as copying, so a reader can check the attribution; and how the
/// sampled figures relate to the user-space column above. Shared with Markdown.
pub(crate) fn copy_routines_note() -> String {
    format!(
        "copy routines: {}. The user-space copies column above is zc's own accounting of \
         the bytes it passed through user buffers; these columns are what the kernel was \
         seen doing.",
        COPY_ROUTINES.join(", ")
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::Fallback;
    use crate::bench::send::analysis::summary;
    use crate::bench::send::results::CacheState;
    use crate::bench::send::sample::{
        NO_PMU, NO_SINK_CPU, metric, remote, row, sample_report, set, set_fallback, stat,
    };
    use crate::measure::Reading;
    use crate::transfer::Mode;

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
        set_fallback(&mut report, "sender_cpu_per_gib", Fallback::Rusage);
        set_fallback(&mut report, "sched_switches_per_gib", Fallback::Rusage);
        set_fallback(&mut report, "minor_faults_per_gib", Fallback::Rusage);
        set_fallback(&mut report, "mode_switches_per_chunk", Fallback::OwnCount);
        report.setup.sink_location = remote("[2001:db8::1234:5678]:9000");
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
        set_fallback(&mut report, "sender_cpu_per_gib", Fallback::Rusage);
        set_fallback(&mut report, "sched_switches_per_gib", Fallback::Rusage);
        set_fallback(&mut report, "mode_switches_per_chunk", Fallback::OwnCount);
        let text = render(&report, Some(160));
        // Sender CPU and scheduler switches of three rows each.
        assert_eq!(text.matches("(rusage)").count(), 6, "{text}");
        // Mode switches of three rows; user-space copies are self-counted by design.
        assert_eq!(text.matches("(own count)").count(), 3, "{text}");
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
}
