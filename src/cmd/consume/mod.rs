//! `zc consume`: record values of one partition to stdout, or the throughput (`--bench`).
//!
//! When to stop is the interesting part. A partition has no "end": producers may append
//! at any moment. So without `--count`, zc asks at start where the partition ends
//! (ListOffsets latest, the high watermark) and stops once it has read up to there, like
//! `kcat -e`; `--follow` keeps fetching instead, each Fetch waiting up to `--max-wait-ms`
//! at the broker for new records (long polling), so an idle follower costs a request
//! every half second, not a busy loop.
//!
//! With `--group`, zc is a member of a consumer group ([`group`]): the group decides
//! which partitions it reads and remembers (commits) how far it got, so the next run of
//! the same group starts there.

use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

mod group;

use crate::cli::client::ConsumeArgs;
use crate::client::{ClientConfig, Consumer, OffsetSpec, connect_to_leader};
use crate::kafka::ApiKey;
use crate::text::count;
use crate::units::format_size;

pub fn run(args: ConsumeArgs, quiet: bool) -> Result<()> {
    if let Some(group) = &args.group {
        return group::run(&args, group, quiet);
    }
    let config = ClientConfig::default();
    let conn = connect_to_leader(&args.bootstrap, &args.topic, args.partition, false, &config)?;
    let fetch_version = conn.version(ApiKey::Fetch)?;
    let broker = conn.broker().to_owned();
    let mut consumer = Consumer::new(
        conn,
        &args.topic,
        args.partition,
        args.from,
        args.fetch_max_bytes,
    )?;
    consumer.set_fetch_min_bytes(args.fetch_min_bytes);
    let start = consumer.position();
    wait_for_start(&mut consumer, &args, quiet)?;
    let end_at = if args.follow || args.count.is_some() {
        None
    } else {
        Some(
            consumer
                .connection()?
                .list_offset(&args.topic, args.partition, OffsetSpec::Latest)?,
        )
    };
    // Each Fetch is sent before the previous response is checked, except past the end.
    consumer.set_ahead_limit(end_at);
    if !quiet {
        let until = match (args.count, end_at) {
            (Some(n), _) => count(n as usize, "record", "records"),
            (None, Some(end)) => format!("offset {end}, the end at start"),
            (None, None) => "interrupted".to_owned(),
        };
        eprintln!(
            "zc consume: {}-{} at {broker} (Fetch v{fetch_version}) from offset {start} until {until}",
            args.topic, args.partition
        );
    }

    let max_wait = Duration::from_millis(args.max_wait_ms);
    let deadline = args.timeout.map(|t| Instant::now() + t);
    let mut out = BufWriter::with_capacity(64 << 10, io::stdout().lock());
    let mut tally = Tally::default();
    let started = Instant::now();
    loop {
        if args.count.is_some_and(|n| tally.records >= n)
            || end_at.is_some_and(|end| consumer.position() >= end)
        {
            break;
        }
        let wait = match deadline {
            None => max_wait,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    if args.follow && args.count.is_none() {
                        break;
                    }
                    bail!(
                        "gave up after {:.1} s with {} read, at offset {} ({})",
                        args.timeout.unwrap_or_default().as_secs_f64(),
                        count(tally.records as usize, "record", "records"),
                        consumer.position(),
                        match (args.count, end_at) {
                            (Some(n), _) => format!("{n} were asked for"),
                            (None, Some(end)) => format!("the partition ended at {end}"),
                            (None, None) => "following".to_owned(),
                        }
                    );
                }
                left.min(max_wait)
            }
        };
        let mut write_error = None;
        let polled = consumer.poll(wait, |record| {
            if !args.bench {
                let value = record.value.unwrap_or_default();
                if let Err(e) = out.write_all(value).and_then(|()| out.write_all(b"\n")) {
                    write_error = Some(e);
                    return ControlFlow::Break(());
                }
            }
            tally.add(record.offset, record.value.map_or(0, <[u8]>::len));
            if args.count.is_some_and(|n| tally.records >= n) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        tally.batch_bytes += polled.batch_bytes;
        // Show what arrived before waiting in the next Fetch (matters with --follow).
        if polled.records > 0 && write_error.is_none() && !args.bench {
            write_error = out.flush().err();
        }
        match write_error {
            None => {}
            // The reader of our stdout (`| head`) has all it wants: a normal end.
            Some(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Some(e) => return Err(e.into()),
        }
    }
    match out.flush() {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        other => other?,
    }
    let line = tally.summary(started.elapsed(), args.bench);
    if args.bench {
        crate::cmd::print(&format!("{line}\n"))?;
    } else if !quiet {
        eprintln!("{line}");
    }
    Ok(())
}

/// An offset past the partition's end is an error that says so (Kafka would answer its
/// Fetch OFFSET_OUT_OF_RANGE), unless `--follow` asks to wait until the partition gets
/// there, as a consumer started ahead of its producer would.
fn wait_for_start(consumer: &mut Consumer, args: &ConsumeArgs, quiet: bool) -> Result<()> {
    let start = consumer.position();
    let mut told = false;
    let deadline = args.timeout.map(|t| Instant::now() + t);
    loop {
        let end =
            consumer
                .connection()?
                .list_offset(&args.topic, args.partition, OffsetSpec::Latest)?;
        if start <= end {
            return Ok(());
        }
        if !args.follow {
            bail!(
                "offset {start} is past the end of {}-{}: the next record will get offset \
                 {end}; start at or before it, or add --follow to wait until the partition \
                 reaches offset {start}",
                args.topic,
                args.partition
            );
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            bail!(
                "gave up after {:.1} s waiting for {}-{} to reach offset {start} (it ends at {end})",
                args.timeout.unwrap_or_default().as_secs_f64(),
                args.topic,
                args.partition
            );
        }
        if !quiet && !told {
            eprintln!(
                "zc consume: {}-{} ends at offset {end}; waiting until it reaches offset {start}",
                args.topic, args.partition
            );
            told = true;
        }
        std::thread::sleep(Duration::from_millis(args.max_wait_ms.clamp(10, 1000)));
    }
}

/// What was consumed.
#[derive(Debug, Default)]
pub(super) struct Tally {
    records: u64,
    value_bytes: u64,
    pub(super) batch_bytes: u64,
    first_offset: Option<i64>,
    last_offset: Option<i64>,
}

impl Tally {
    pub(super) fn add(&mut self, offset: i64, value_len: usize) {
        self.records += 1;
        self.value_bytes += value_len as u64;
        self.first_offset.get_or_insert(offset);
        self.last_offset = Some(offset);
    }

    pub(super) fn summary(&self, elapsed: Duration, bench: bool) -> String {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let offsets = match (self.first_offset, self.last_offset) {
            (Some(first), Some(last)) => format!(" (offsets {first}..={last})"),
            _ => String::new(),
        };
        format!(
            "zc consume{}: {}{offsets}, {} of batches ({} of values) in {secs:.2} s: \
             {:.1} MiB/s, {:.0} records/s",
            if bench { " --bench" } else { "" },
            count(self.records as usize, "record", "records"),
            format_size(self.batch_bytes),
            format_size(self.value_bytes),
            self.batch_bytes as f64 / f64::from(1 << 20) / secs,
            self.records as f64 / secs,
        )
    }
}
