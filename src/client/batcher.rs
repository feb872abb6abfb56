//! Filling batches the way Kafka's producer does, for `zc produce`: a batch grows until
//! the next record would push it past the batch size (then it leaves, and that record
//! starts the next one) or until the linger time has passed since its first record.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use super::Producer;
use super::source::{Next, Source};
use crate::log::batch::{self, BatchBuilder, HEADER_LEN};
use crate::log::compression::Codec;
use crate::log::varint;

/// Fills batches from `source` and hands them to the producer; returns the value bytes.
pub fn send_all(
    source: &mut Source,
    producer: &mut Producer,
    batch_size: usize,
    linger: Duration,
    codec: Codec,
) -> Result<u64> {
    let mut buf = Vec::with_capacity(batch_size);
    let mut value_bytes = 0u64;
    loop {
        buf.clear();
        let mut batch = BatchBuilder::new(&mut buf, 0);
        let (mut size, mut count) = (HEADER_LEN, 0u32);
        let (mut base_timestamp, mut deadline) = (0, None);
        let mut end = false;
        loop {
            match source.next(deadline)? {
                Next::End => {
                    end = true;
                    break;
                }
                // The linger time is over.
                Next::Idle => break,
                Next::Value(value) => {
                    let now = now_ms();
                    if count == 0 {
                        base_timestamp = now;
                        deadline = Some(Instant::now() + linger);
                    }
                    let record = record_size(now - base_timestamp, count, value.len());
                    if count > 0 && size + record > batch_size {
                        source.unread();
                        break;
                    }
                    batch.append(now, None, Some(value), &[]);
                    size += record;
                    count += 1;
                    value_bytes += value.len() as u64;
                }
            }
        }
        batch.finish();
        if count > 0 && codec != Codec::None {
            let packed = batch::compress(&buf, codec)
                .with_context(|| format!("cannot compress a batch with {codec}"))?;
            producer.send(&packed, count)?;
        } else if count > 0 {
            producer.send(&buf, count)?;
        }
        if end {
            return Ok(value_bytes);
        }
    }
}

/// The exact size of a record with a null key, no headers and `value_len` value bytes,
/// as [`BatchBuilder::append`] writes it (varints make it depend on the deltas).
fn record_size(timestamp_delta: i64, offset_delta: u32, value_len: usize) -> usize {
    let value_len = i32::try_from(value_len).unwrap_or(i32::MAX);
    let body = 1 // attributes
        + varint::varlong_len(timestamp_delta)
        + varint::varint_len(offset_delta as i32)
        + varint::varint_len(-1) // null key
        + varint::varint_len(value_len)
        + value_len as usize
        + varint::varint_len(0); // no headers
    varint::varint_len(body as i32) + body
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Size of a batch of records given as (timestamp, value length).
    fn batch_len(records: &[(i64, usize)]) -> usize {
        let mut buf = Vec::new();
        let mut b = BatchBuilder::new(&mut buf, 0);
        for &(timestamp, len) in records {
            b.append(timestamp, None, Some(&vec![b'v'; len]), &[]);
        }
        b.finish()
    }

    #[test]
    fn record_size_matches_what_the_builder_writes() {
        for (delta, count, len) in [(0, 0, 0), (5, 1, 100), (100_000, 200, 70_000), (-3, 63, 1)] {
            let mut records = vec![(0, 1); count as usize];
            let without = batch_len(&records);
            records.push((delta, len));
            assert_eq!(
                batch_len(&records) - without,
                record_size(delta, count, len),
                "delta {delta}, offset delta {count}, {len} bytes"
            );
        }
    }
}
