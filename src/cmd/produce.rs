//! `zc produce`: stdin lines (or generated values) in batches to one partition. The
//! command builds the client's settings, connects, and hands the values to the client's
//! batcher ([`crate::client::batcher`], [`crate::client::source`]); then it prints what
//! the broker acknowledged.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::client::ProduceArgs;
use crate::client::batcher;
use crate::client::source::Source;
use crate::client::{Acks, ClientConfig, ProduceSummary, Producer, connect_to_leader};
use crate::text::count;
use crate::units::format_size;

pub fn run(args: ProduceArgs, quiet: bool) -> Result<()> {
    let config = ClientConfig {
        request_timeout: Duration::from_secs(args.request_timeout),
        metadata_wait: Duration::from_secs(args.max_block),
        ..ClientConfig::default()
    };
    let mut source = match args.records {
        Some(count) => Source::generated(args.partition, count, args.record_size)?,
        None => Source::stdin()?,
    };
    let conn = connect_to_leader(&args.bootstrap, &args.topic, args.partition, true, &config)?;
    if !quiet {
        let version = conn.version(crate::kafka::ApiKey::Produce)?;
        eprintln!(
            "zc produce: {} to {}-{} at {} (Produce v{version}, acks={})",
            match args.records {
                Some(n) => format!("{n} generated records"),
                None => "stdin lines".to_owned(),
            },
            args.topic,
            args.partition,
            conn.broker(),
            args.acks.wire()
        );
    }
    let mut producer = Producer::new(
        conn,
        &args.topic,
        args.partition,
        args.acks,
        args.max_in_flight as usize,
    )?;
    let started = Instant::now();
    let value_bytes = batcher::send_all(
        &mut source,
        &mut producer,
        args.batch_size,
        Duration::from_millis(args.linger_ms),
        args.compression,
    )?;
    let summary = producer.finish()?;
    if !quiet {
        eprintln!(
            "{}",
            summary_line(&summary, value_bytes, started.elapsed(), args.acks)
        );
    }
    Ok(())
}

fn summary_line(s: &ProduceSummary, value_bytes: u64, elapsed: Duration, acks: Acks) -> String {
    if s.records == 0 {
        return "zc produce: no records (stdin was empty)".into();
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    let mut line = format!(
        "zc produce: {} in {} ({} of batches, {} of values) in {secs:.2} s: \
         {:.1} MiB/s, {:.0} records/s",
        count(s.records as usize, "record", "records"),
        count(s.batches as usize, "batch", "batches"),
        format_size(s.batch_bytes),
        format_size(value_bytes),
        s.batch_bytes as f64 / f64::from(1 << 20) / secs,
        s.records as f64 / secs,
    );
    match (s.first_offset, s.last_offset, s.log_end_offset) {
        (Some(first), Some(last), _) => {
            line += &format!("; offsets {first}..={last} (acks={})", acks.wire());
        }
        (_, _, Some(end)) => {
            line += &format!("; acks=0, so no offsets came back; the partition now ends at {end}");
        }
        _ => {}
    }
    line
}
