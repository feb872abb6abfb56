//! What a `zc bench` result shows, in sentences computed from the measured medians: one
//! paragraph per chunk size comparing two modes (sendfile against read-write whenever both
//! ran, as the zero-copy articles do), and with `--consumers N` the copies of the log
//! measured next to the article's count for N consumers, which is a model and says so.
//!
//! A comparison is stated only when both of its sides were measured, and a ratio within
//! 5% reads "about the same". Every report prints these paragraphs as they are: the
//! terminal under "what this shows (measured)", Markdown under its heading.

use super::results::{BenchReport, CacheState, Row, chunks, keys, modes};
use crate::bench::results::{Fallback, SAME_WITHIN, ratio};
use crate::text::{join_and, sig3, times};
use crate::transfer::Mode;
use crate::units::format_size;

/// One paragraph per chunk size, computed from the measured medians only: a comparison is
/// stated only when both of its sides were measured. Every paragraph compares the same
/// two modes, so the paragraphs can be read against each other.
pub(crate) fn summary(report: &BenchReport) -> Vec<String> {
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
                    let disk = r.median(keys::STORAGE_READ_LOGS)?;
                    let user = r.median(keys::USER_COPIED_LOGS)?;
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
                .filter_map(|r| r.median(keys::STORAGE_READ_LOGS))
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
            .and_then(|r| r.median(keys::SENDER_CPU_PER_GIB))
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
    if let Some(r) = syscalls(keys::SYSCALLS_PER_GIB) {
        findings.push(finding(r, "made", syscall_words, ""));
    } else if let Some(r) = syscalls(keys::SYSCALLS_SELF_PER_GIB) {
        findings.push(finding(
            r,
            "made",
            syscall_words,
            " by its own count (kernel count n/a)",
        ));
    }
    if let Some(r) = ratio(
        base.median(keys::SENDER_CPU_PER_GIB),
        best.median(keys::SENDER_CPU_PER_GIB),
    ) {
        let rusage = [base, best].iter().any(|row| {
            row.metric(keys::SENDER_CPU_PER_GIB)
                .is_some_and(|m| m.fallback == Some(Fallback::Rusage))
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
    if let (Some(x), Some(y)) = (base.median(keys::THROUGHPUT), best.median(keys::THROUGHPUT)) {
        text.push_str(&format!(
            " Throughput: {c} {} GiB/s, {b} {} GiB/s.",
            sig3(y),
            sig3(x)
        ));
    }
    if let (Some(x), Some(y)) = (
        base.median(keys::USER_COPIED_PER_BYTE),
        best.median(keys::USER_COPIED_PER_BYTE),
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
            r.median(keys::MODE_SWITCHES_PER_CHUNK)
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
        (keys::THROUGHPUT, "ran at {} GiB/s"),
        (
            keys::SENDER_CPU_PER_GIB,
            "used {} CPU seconds per GiB in the sending thread",
        ),
        (keys::SYSCALLS_PER_GIB, "made {} syscalls per GiB"),
        (
            keys::USER_COPIED_PER_BYTE,
            "copied {} bytes through user space per byte sent",
        ),
        (
            keys::MODE_SWITCHES_PER_CHUNK,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::send::sample::{add_chunk, row, sample_report, set, set_fallback, stat};
    use crate::measure::Reading;

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
        set_fallback(&mut report, "sender_cpu_per_gib", Fallback::Rusage);
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
}
