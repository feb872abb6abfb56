//! Where `zc produce` gets its record values: the lines of stdin, or values generated as
//! the fixture's are ([`crate::log::fixture::ValueGen`]).
//!
//! Batching wants "the next value, but not later than the deadline" (a batch lingers
//! only so long for more records; see [`super::batcher`]), so stdin is read with poll(2)
//! and a timeout instead of a blocking read; without a deadline the read blocks.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::log::fixture::{ValueGen, default_spec};
use crate::units::format_size;

/// A line longer than this is refused rather than buffered: no broker accepts a record
/// anywhere near it (Kafka's default limit is 1 MiB per batch).
const MAX_LINE: usize = 64 << 20;

/// Where record values come from.
pub enum Source {
    Lines(LineReader),
    Generated(Generator),
}

/// The next value, or why there is none.
pub enum Next<'a> {
    Value(&'a [u8]),
    /// Nothing arrived before the deadline.
    Idle,
    /// No more values.
    End,
}

impl Source {
    /// The lines of stdin (see [`LineReader`]).
    pub fn stdin() -> Result<Source> {
        Ok(Source::Lines(LineReader::new(stdin()?)))
    }

    /// `count` values of `size` bytes for `partition`, as the fixture's.
    pub fn generated(partition: i32, count: u64, size: u64) -> Result<Source> {
        Ok(Source::Generated(Generator::new(partition, count, size)?))
    }

    pub fn next(&mut self, deadline: Option<Instant>) -> Result<Next<'_>> {
        match self {
            Source::Lines(lines) => lines.next(deadline),
            Source::Generated(generator) => Ok(generator.next()),
        }
    }

    /// Gives back the value just returned: it did not fit the batch and starts the next.
    pub fn unread(&mut self) {
        match self {
            Source::Lines(lines) => lines.unread(),
            Source::Generated(generator) => generator.unread(),
        }
    }
}

/// Splits a byte stream into lines (without their `\n`; a last line without one counts),
/// reading with a deadline when asked.
pub struct LineReader {
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

/// Stdin as a `File` of our own (a duplicate of fd 0), so that it can be polled and read
/// without std's internal buffer hiding bytes from poll.
fn stdin() -> Result<File> {
    let fd = io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .context("cannot duplicate stdin")?;
    Ok(File::from(fd))
}

/// The fixture's values (same format, same letters, same seed), `count` of them.
pub struct Generator {
    values: ValueGen,
    next_seq: u64,
    count: u64,
    /// `unread` was called: return the last value again.
    again: bool,
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
        let partition = u32::try_from(partition)
            .with_context(|| format!("partition {partition} is negative"))?;
        Ok(Generator {
            values: ValueGen::new(default_spec().seed, partition, size),
            next_seq: 0,
            count,
            again: false,
        })
    }

    fn next(&mut self) -> Next<'_> {
        if self.again {
            self.again = false;
            return Next::Value(self.values.last());
        }
        if self.next_seq == self.count {
            return Next::End;
        }
        let seq = self.next_seq as i64;
        self.next_seq += 1;
        Next::Value(self.values.value(seq))
    }

    fn unread(&mut self) {
        self.again = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::thread;
    use std::time::Duration;

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
