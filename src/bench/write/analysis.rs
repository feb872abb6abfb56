//! What a `zc bench write` result shows: the textbook claim (a model, NOT MEASURED) for the
//! batch sizes that ran, and one sentence per comparison whose two sides were measured,
//! from the medians. Every report prints these sentences as they are.

use super::Way;
use super::results::{WriteReport, WriteRow, batches, keys};
use crate::bench::results::{SAME_WITHIN, ratio};
use crate::measure::Reading;
use crate::text::{sig3, times};

/// Rows whose runs stopped at `--max-seconds`: their figures cover fewer records.
pub(crate) fn stopped_notes(report: &WriteReport) -> Vec<String> {
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
pub(crate) fn claim(rows: &[WriteRow]) -> Vec<String> {
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
    if r.max(1.0 / r) <= 1.0 + SAME_WITHIN {
        format!("{a} and {b} ran at about the same {unit}")
    } else if r > 1.0 {
        format!("{a} was {} as fast as {b} in {unit}", times(r))
    } else {
        format!("{b} was {} as fast as {a} in {unit}", times(1.0 / r))
    }
}

/// What the medians show, one sentence per comparison whose two sides were measured.
pub(crate) fn summary(report: &WriteReport) -> Vec<String> {
    let b = batches(&report.rows);
    let (small, large) = (b[0], *b.last().unwrap_or(&b[0]));
    let median = |way, batch, key| report.row(way, batch).and_then(|r| r.median(key));
    let mut out = Vec::new();
    if large != small
        && let Some(r) = ratio(
            median(Way::Append, large, keys::RECORDS_PER_S),
            median(Way::Append, small, keys::RECORDS_PER_S),
        )
    {
        let sys = ratio(
            median(Way::Append, small, keys::SYSCALLS_PER_KREC),
            median(Way::Append, large, keys::SYSCALLS_PER_KREC),
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
            median(Way::Append, batch, keys::RECORDS_PER_S),
            median(Way::AppendFsync, batch, keys::RECORDS_PER_S),
        ) {
            let per_fsync = median(Way::AppendFsync, batch, keys::RECORDS_PER_S)
                .zip(median(Way::AppendFsync, batch, keys::FSYNCS_PER_KREC))
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
        median(Way::Append, large, keys::RECORDS_PER_S),
        median(Way::PerRecord, large, keys::RECORDS_PER_S),
    ) {
        let sys = median(Way::PerRecord, large, keys::SYSCALLS_PER_KREC)
            .zip(median(Way::Append, large, keys::SYSCALLS_PER_KREC))
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
        median(Way::Append, large, keys::MIB_PER_S),
        median(Way::Random, large, keys::MIB_PER_S),
    ) {
        let flush = median(Way::Random, large, keys::FLUSH_AFTER_MS)
            .zip(median(Way::Append, large, keys::FLUSH_AFTER_MS))
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
        median(Way::Append, large, keys::MIB_PER_S),
        median(Way::Append, large, keys::DURABLE_MIB_PER_S),
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
            median(Way::Append, large, keys::DEVICE_LOOP_PER_BYTE).map_or_else(String::new, |d| {
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
    if let Some(d) = median(Way::AppendFsync, small, keys::DIRTIED_PER_BYTE)
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
