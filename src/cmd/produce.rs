//! `zc produce`: stdin lines (or generated values) in batches to one partition.
//!
//! Batching follows Kafka's producer: a batch grows until the next record would push it
//! past `--batch-size` (then it leaves, and that record starts the next one) or until
//! `--linger-ms` has passed since its first record. Lingering needs "wait for stdin, but
//! not longer than the deadline", so stdin is read with poll(2) and a timeout instead of
//! a blocking read; while a batch is empty, there is no deadline and the read blocks.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::cli::ProduceArgs;
use crate::client::{Acks, ClientConfig, ProduceSummary, Producer, connect_to_leader};
use crate::log::batch::{self, BatchBuilder, HEADER_LEN};
use crate::log::compression::Codec;
use crate::log::varint;
use crate::units::format_size;

/// A line longer than this is refused rather than buffered: no broker accepts a record
/// anywhere near it (Kafka's default limit is 1 MiB per batch).
const MAX_LINE: usize = 64 << 20;

pub fn run(args: ProduceArgs, quiet: bool) -> Result<()> {
    let config = ClientConfig {
        request_timeout: Duration::from_secs(args.request_timeout),
        ..ClientConfig::default()
    };
    let mut source = match args.records {
        Some(count) => Source::Generated(Generator::new(args.partition, count, args.record_size)?),
        None => Source::Lines(LineReader::new(stdin()?)),
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
    let value_bytes = send_all(
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

/// Stdin as a `File` of our own (a duplicate of fd 0), so that it can be polled and read
/// without std's internal buffer hiding bytes from poll.
fn stdin() -> Result<File> {
    let fd = io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .context("cannot duplicate stdin")?;
    Ok(File::from(fd))
}

/// Fills batches from `source` and hands them to the producer; returns the value bytes.
fn send_all(
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

fn summary_line(s: &ProduceSummary, value_bytes: u64, elapsed: Duration, acks: Acks) -> String {
    if s.records == 0 {
        return "zc produce: no records (stdin was empty)".into();
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    let mut line = format!(
        "zc produce: {} in {} ({} of batches, {} of values) in {secs:.2} s: \
         {:.1} MiB/s, {:.0} records/s",
        count(s.records, "record"),
        count(s.batches, "batch"),
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

/// `1 record`, `2 records`, `1 batch`, `2 batches`.
pub(super) fn count(n: u64, noun: &str) -> String {
    match (n, noun.ends_with("ch")) {
        (1, _) => format!("1 {noun}"),
        (_, true) => format!("{n} {noun}es"),
        (_, false) => format!("{n} {noun}s"),
    }
}

/// Where record values come from.
enum Source {
    Lines(LineReader),
    Generated(Generator),
}

/// The next value, or why there is none.
enum Next<'a> {
    Value(&'a [u8]),
    /// Nothing arrived before the deadline.
    Idle,
    /// No more values.
    End,
}

impl Source {
    fn next(&mut self, deadline: Option<Instant>) -> Result<Next<'_>> {
        match self {
            Source::Lines(lines) => lines.next(deadline),
            Source::Generated(generator) => Ok(generator.next()),
        }
    }

    /// Gives back the value just returned: it did not fit the batch and starts the next.
    fn unread(&mut self) {
        match self {
            Source::Lines(lines) => lines.unread(),
            Source::Generated(generator) => generator.unread(),
        }
    }
}

/// Splits a byte stream into lines (without their `\n`; a last line without one counts),
/// reading with a deadline when asked.
struct LineReader {
    input: File,
    buf: Vec<u8>,
    /// `buf[start..end]` is read and not yet returned.
    start: usize,
    end: usize,
    /// Where the last returned line started, for `unread`.
    last_start: usize,
    /// `buf[start..scanned]` is known to hold no newline.
    scanned: usize,
    eof: bool,
    line_number: u64,
}

impl LineReader {
    fn new(input: File) -> Self {
        LineReader {
            input,
            buf: vec![0; 256 << 10],
            start: 0,
            end: 0,
            last_start: 0,
            scanned: 0,
            eof: false,
            line_number: 0,
        }
    }

    fn next(&mut self, deadline: Option<Instant>) -> Result<Next<'_>> {
        loop {
            let newline = self.buf[self.scanned..self.end]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| self.scanned + i);
            if let Some(at) = newline {
                return Ok(Next::Value(self.take_line(at, at + 1)));
            }
            self.scanned = self.end;
            if self.eof {
                return Ok(if self.start < self.end {
                    Next::Value(self.take_line(self.end, self.end))
                } else {
                    Next::End
                });
            }
            self.make_room()?;
            if let Some(deadline) = deadline
                && !readable(&self.input, deadline)?
            {
                return Ok(Next::Idle);
            }
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).context("cannot read stdin"),
            }
        }
    }

    /// Returns `buf[start..line_end]` and moves past it to `next_start`.
    fn take_line(&mut self, line_end: usize, next_start: usize) -> &[u8] {
        let start = self.start;
        self.last_start = start;
        self.start = next_start;
        self.scanned = next_start;
        self.line_number += 1;
        &self.buf[start..line_end]
    }

    fn unread(&mut self) {
        self.start = self.last_start;
        self.scanned = self.start;
        self.line_number -= 1;
    }

    /// Moves the unfinished line to the front of the buffer, and grows the buffer when
    /// the line fills all of it.
    fn make_room(&mut self) -> Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned -= self.start;
            self.start = 0;
            self.last_start = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= MAX_LINE {
                bail!(
                    "line {} of stdin is longer than {}; no broker would accept it as one record",
                    self.line_number + 1,
                    format_size(MAX_LINE as u64)
                );
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        Ok(())
    }
}

/// Waits until `input` has bytes (or end of file) to read, or `deadline` passes.
fn readable(input: &File, deadline: Instant) -> Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(input.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(n) => return Ok(n > 0),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e).context("cannot poll stdin"),
        }
    }
}

/// Values like the fixture's: `<partition>:<sequence, 12 digits> ` then letters, so a
/// consumer shows something a person can follow. The letters of each value are derived
/// from its sequence number alone, so the same run gives the same bytes.
struct Generator {
    partition: i32,
    next_seq: u64,
    count: u64,
    value: Vec<u8>,
}

impl Generator {
    fn new(partition: i32, count: u64, size: u64) -> Result<Self> {
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s <= MAX_LINE)
            .with_context(|| {
                format!(
                    "--record-size must be at most {}",
                    format_size(MAX_LINE as u64)
                )
            })?;
        Ok(Generator {
            partition,
            next_seq: 0,
            count,
            value: vec![0; size],
        })
    }

    fn next(&mut self) -> Next<'_> {
        if self.next_seq == self.count {
            return Next::End;
        }
        fill_value(&mut self.value, self.partition, self.next_seq);
        self.next_seq += 1;
        Next::Value(&self.value)
    }

    fn unread(&mut self) {
        self.next_seq -= 1;
    }
}

fn fill_value(value: &mut [u8], partition: i32, seq: u64) {
    use std::io::Write;
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
    const PREFIX: usize = 40;
    let mut prefix = [0u8; PREFIX];
    let mut cursor = &mut prefix[..];
    // 40 bytes hold any i32, any u64 in 12+ digits and the separators.
    let _ = write!(cursor, "{partition}:{seq:012} ");
    let prefix_len = PREFIX - cursor.len();
    let n = prefix_len.min(value.len());
    value[..n].copy_from_slice(&prefix[..n]);
    let mut state = seq;
    for chunk in value[n..].chunks_mut(8) {
        let bits = splitmix64(&mut state).to_le_bytes();
        for (byte, b) in chunk.iter_mut().zip(bits) {
            *byte = ALPHABET[usize::from(b & 63)];
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): one multiply-xorshift step per 8 letters.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::thread;

    fn pipe() -> (File, File) {
        let (r, w) = nix::unistd::pipe().expect("pipe");
        (File::from(r), File::from(w))
    }

    fn value(next: Next<'_>) -> Option<Vec<u8>> {
        match next {
            Next::Value(v) => Some(v.to_vec()),
            _ => None,
        }
    }

    #[test]
    fn lines_split_across_reads_and_a_last_line_without_newline() {
        let (r, mut w) = pipe();
        let writer = thread::spawn(move || {
            w.write_all(b"one\ntw").unwrap();
            thread::sleep(Duration::from_millis(20));
            w.write_all(b"o\n\nlast").unwrap();
        });
        let mut lines = LineReader::new(r);
        let mut got = Vec::new();
        while let Some(v) = value(lines.next(None).unwrap()) {
            got.push(v);
        }
        writer.join().unwrap();
        assert_eq!(got, [&b"one"[..], b"two", b"", b"last"]);
    }

    #[test]
    fn an_idle_stdin_returns_at_the_deadline_and_unread_gives_a_line_back() {
        let (r, mut w) = pipe();
        w.write_all(b"a\nb\n").unwrap();
        let mut lines = LineReader::new(r);
        assert_eq!(value(lines.next(None).unwrap()), Some(b"a".to_vec()));
        assert_eq!(value(lines.next(None).unwrap()), Some(b"b".to_vec()));
        lines.unread();
        assert_eq!(value(lines.next(None).unwrap()), Some(b"b".to_vec()));
        let started = Instant::now();
        let deadline = started + Duration::from_millis(50);
        assert!(matches!(lines.next(Some(deadline)).unwrap(), Next::Idle));
        assert!(started.elapsed() >= Duration::from_millis(45));
        drop(w);
        assert!(matches!(lines.next(None).unwrap(), Next::End));
    }

    #[test]
    fn a_line_longer_than_the_buffer_grows_it() {
        let (r, mut w) = pipe();
        let long = vec![b'x'; 600 << 10];
        let sent = long.clone();
        let writer = thread::spawn(move || {
            w.write_all(&sent).unwrap();
            w.write_all(b"\nshort\n").unwrap();
        });
        let mut lines = LineReader::new(r);
        assert_eq!(value(lines.next(None).unwrap()), Some(long));
        assert_eq!(value(lines.next(None).unwrap()), Some(b"short".to_vec()));
        writer.join().unwrap();
    }

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

    #[test]
    fn generated_values_are_readable_and_reproducible() {
        let mut g = Generator::new(0, 3, 40).unwrap();
        let first = value(g.next()).unwrap();
        assert!(first.starts_with(b"0:000000000000 "), "{first:?}");
        assert_eq!(first.len(), 40);
        assert!(first[15..].iter().all(u8::is_ascii_graphic));
        g.unread();
        assert_eq!(value(g.next()).unwrap(), first);
        assert_ne!(value(g.next()).unwrap(), first);
        value(g.next()).unwrap();
        assert!(matches!(g.next(), Next::End));
        // Shorter than the prefix: the prefix is cut.
        let mut tiny = Generator::new(3, 1, 4).unwrap();
        assert_eq!(value(tiny.next()).unwrap(), b"3:00");
    }
}
