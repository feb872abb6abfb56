//! `zc serve --inspect`: the broker reads every batch it sends. RocketMQ's trade-off, made
//! visible.
//!
//! Kafka serves fetches with `sendfile`: fastest, but the broker never sees the bytes it
//! sends, so it cannot check them, count them or route them anywhere. RocketMQ keeps its
//! commit log in `mmap`ed files instead: the messages are in the broker's address space, so
//! it can read them, and serving a pull costs CPU copies (by default it copies the messages
//! into a heap buffer, `transferMsgByHeap`; without that, mmap + write, one copy). The mmap
//! mode here is that cheaper variant, plus the CPU time of reading
//! (docs/mmap-tradeoff.md).
//!
//! ```text
//!   sendfile:  page cache ─────────────────────────────► socket     broker sees nothing
//!   mmap:      page cache ══ mapping ──write (copy)────► socket
//!                               └─► Inspector: CRC, records, headers  (reads in place)
//! ```
//!
//! The [`Inspector`] is fed the bytes of one file region in the pieces the transfer mode
//! hands out ([`crate::transfer::Watched`]): the whole mapping at once (mmap), or each
//! chunk of the read buffer (read-write, whose chunks cut batches anywhere). Whole batches
//! in a piece are checked where they lie; a batch cut by a piece boundary is gathered in a
//! small carry buffer first. So with mmap inspection copies nothing; with read-write it
//! copies the batches that straddle a `--chunk` boundary (all of them when batches are
//! larger than the chunk).
//!
//! For each batch: the CRC-32C, every record decoded and the count checked against the
//! header ([`batch::validate`]), and optionally how many records carry a header
//! (`--inspect-header KEY[=VALUE]`). A bad batch is reported, not removed: its bytes are
//! on their way to the socket already, and the consumer checks the CRC too.

use std::fmt;

use crate::log::batch::{self, LOG_OVERHEAD, MIN_BATCH_LENGTH};

/// `--inspect-header KEY[=VALUE]`: count records with a header `KEY` (whose value is
/// `VALUE`, when given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderFilter {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

impl HeaderFilter {
    /// Parses `KEY` or `KEY=VALUE` (the first `=` splits; the key must not be empty).
    pub fn parse(text: &str) -> Result<HeaderFilter, String> {
        let (key, value) = match text.split_once('=') {
            Some((k, v)) => (k, Some(v.as_bytes().to_vec())),
            None => (text, None),
        };
        if key.is_empty() {
            return Err(format!(
                "--inspect-header {text}: the header key is empty; use KEY or KEY=VALUE"
            ));
        }
        Ok(HeaderFilter {
            key: key.as_bytes().to_vec(),
            value,
        })
    }

    fn matches(&self, headers: &[(&[u8], Option<&[u8]>)]) -> bool {
        headers.iter().any(|(k, v)| {
            *k == self.key.as_slice()
                && self
                    .value
                    .as_deref()
                    .is_none_or(|want| v.is_some_and(|v| v == want))
        })
    }
}

impl fmt::Display for HeaderFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.key))?;
        if let Some(v) = &self.value {
            write!(f, "={}", String::from_utf8_lossy(v))?;
        }
        Ok(())
    }
}

/// What `--inspect` looks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InspectSpec {
    pub header: Option<HeaderFilter>,
}

/// What inspection found, summed over batches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inspection {
    /// Batches that passed every check.
    pub batches: u64,
    /// Records in those batches.
    pub records: u64,
    /// Batches that failed a check (CRC, framing, records), or a region that ended inside
    /// a batch.
    pub corrupt: u64,
    /// Records with the `--inspect-header` header (uncompressed batches only).
    pub header_matches: u64,
    /// Compressed batches: counted and CRC-checked, but their headers cannot be filtered
    /// without decompressing.
    pub compressed: u64,
}

/// Checks the batches of one file region as its bytes go by. Feed it every piece in
/// order, then call [`Inspector::finish`].
pub struct Inspector<'s> {
    spec: &'s InspectSpec,
    /// The start of a batch cut by a piece boundary.
    carry: Vec<u8>,
    /// Bytes fed so far: where in the region the next piece starts.
    position: u64,
    /// Set once a batch's length cannot be trusted: nothing after it can be framed.
    lost_framing: bool,
    found: Inspection,
    problems: Vec<String>,
}

impl<'s> Inspector<'s> {
    pub fn new(spec: &'s InspectSpec) -> Self {
        Inspector {
            spec,
            carry: Vec::new(),
            position: 0,
            lost_framing: false,
            found: Inspection::default(),
            problems: Vec::new(),
        }
    }

    /// The next piece of the region.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        let start = self.position;
        self.position += bytes.len() as u64;
        if self.lost_framing {
            return;
        }
        while !bytes.is_empty() {
            if !self.carry.is_empty() {
                // Complete the cut batch: first its length field, then the rest.
                let want = match frame_len(&self.carry) {
                    Ok(Some(n)) => n,
                    Ok(None) => LOG_OVERHEAD,
                    Err(length) => return self.lose_framing(start, length),
                };
                let take = (want - self.carry.len()).min(bytes.len());
                self.carry.extend_from_slice(&bytes[..take]);
                bytes = &bytes[take..];
                if frame_len(&self.carry) == Ok(Some(self.carry.len())) {
                    let whole = std::mem::take(&mut self.carry);
                    self.check(&whole);
                }
                continue;
            }
            match frame_len(bytes) {
                Ok(Some(n)) if n <= bytes.len() => {
                    self.check(&bytes[..n]);
                    bytes = &bytes[n..];
                }
                Ok(_) => {
                    self.carry.extend_from_slice(bytes);
                    return;
                }
                Err(length) => {
                    let at = self.position - bytes.len() as u64;
                    return self.lose_framing(at, length);
                }
            }
        }
    }

    /// What the region held, and one line per problem found. `sent_whole` is false when
    /// the send failed part-way (the client went away): the region was then cut by the
    /// failure, not by the data, and a batch left unfinished is not a fault of the log.
    pub fn finish(mut self, sent_whole: bool) -> (Inspection, Vec<String>) {
        if sent_whole && !self.carry.is_empty() && !self.lost_framing {
            let need = frame_len(&self.carry)
                .ok()
                .flatten()
                .unwrap_or(LOG_OVERHEAD);
            self.found.corrupt += 1;
            self.problems.push(format!(
                "the region ends inside a batch: {} of its {need} bytes were sent",
                self.carry.len()
            ));
        }
        (self.found, self.problems)
    }

    fn check(&mut self, bytes: &[u8]) {
        let base_offset = i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
        match batch::validate(bytes) {
            Ok(header) => {
                self.found.batches += 1;
                self.found.records += header.records_count.max(0) as u64;
                if header.compression() != 0 {
                    self.found.compressed += 1;
                } else if let Some(filter) = &self.spec.header {
                    // validate() decoded every record already, so these cannot fail.
                    self.found.header_matches += batch::records(bytes)
                        .filter_map(Result::ok)
                        .filter(|r| filter.matches(&r.headers))
                        .count() as u64;
                }
            }
            Err(e) => {
                self.found.corrupt += 1;
                self.problems
                    .push(format!("batch at offset {base_offset}: {e}"));
            }
        }
    }

    fn lose_framing(&mut self, at: u64, length: i32) {
        self.lost_framing = true;
        self.found.corrupt += 1;
        self.problems.push(format!(
            "byte {at} of the region: batchLength {length} is impossible (at least \
             {MIN_BATCH_LENGTH}), so the rest of the region cannot be split into batches"
        ));
        self.carry.clear();
    }
}

/// The whole size of the batch that starts `buf`, once its length field is there;
/// `Err(length)` for a length no batch can have.
fn frame_len(buf: &[u8]) -> Result<Option<usize>, i32> {
    let Some(field) = buf.get(8..LOG_OVERHEAD) else {
        return Ok(None);
    };
    let length = i32::from_be_bytes(field.try_into().expect("4 bytes"));
    if length < MIN_BATCH_LENGTH {
        return Err(length);
    }
    Ok(Some(LOG_OVERHEAD + length as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::BatchBuilder;

    /// Three batches of `n` records each; every second record has header route=dlq.
    fn batches(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for b in 0..3 {
            let mut builder = BatchBuilder::new(&mut out, (b * n) as i64);
            for i in 0..n {
                let headers: &[(&[u8], Option<&[u8]>)] = if i % 2 == 0 {
                    &[(b"route", Some(b"dlq"))]
                } else {
                    &[(b"route", Some(b"main"))]
                };
                builder.append(1_700_000_000_000, Some(b"k"), Some(b"value"), headers);
            }
            builder.finish();
        }
        out
    }

    fn inspect(spec: &InspectSpec, bytes: &[u8], piece: usize) -> (Inspection, Vec<String>) {
        let mut inspector = Inspector::new(spec);
        for p in bytes.chunks(piece) {
            inspector.feed(p);
        }
        inspector.finish(true)
    }

    #[test]
    fn counts_batches_records_and_headers_whatever_the_piece_size() {
        let bytes = batches(5);
        let spec = InspectSpec {
            header: Some(HeaderFilter::parse("route=dlq").unwrap()),
        };
        for piece in [1, 7, 12, 61, 100, bytes.len()] {
            let (found, problems) = inspect(&spec, &bytes, piece);
            assert_eq!(problems, Vec::<String>::new(), "piece {piece}");
            assert_eq!(
                (
                    found.batches,
                    found.records,
                    found.header_matches,
                    found.corrupt
                ),
                (3, 15, 9, 0),
                "piece {piece}"
            );
        }
        let any_route = InspectSpec {
            header: Some(HeaderFilter::parse("route").unwrap()),
        };
        assert_eq!(inspect(&any_route, &bytes, 64).0.header_matches, 15);
    }

    #[test]
    fn a_flipped_byte_is_one_corrupt_batch_and_the_others_still_count() {
        let mut bytes = batches(5);
        let second = frame_len(&bytes).unwrap().unwrap();
        bytes[second + 70] ^= 0x20;
        let (found, problems) = inspect(&InspectSpec::default(), &bytes, 33);
        assert_eq!((found.batches, found.records, found.corrupt), (2, 10, 1));
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("batch at offset 5") && problems[0].contains("CRC-32C"),
            "{problems:?}"
        );
    }

    #[test]
    fn an_impossible_length_stops_the_framing_and_a_cut_batch_is_reported() {
        let mut bytes = batches(2);
        bytes[8..12].copy_from_slice(&3i32.to_be_bytes());
        let (found, problems) = inspect(&InspectSpec::default(), &bytes, 50);
        assert_eq!((found.batches, found.corrupt), (0, 1));
        assert!(problems[0].contains("batchLength 3"), "{problems:?}");

        let bytes = batches(2);
        let (found, problems) = inspect(&InspectSpec::default(), &bytes[..bytes.len() - 1], 50);
        assert_eq!((found.batches, found.corrupt), (2, 1));
        assert!(problems[0].contains("ends inside a batch"), "{problems:?}");
    }

    /// Regression: a consumer that went away mid-fetch made the unsent rest of a batch
    /// look like a corrupt log.
    #[test]
    fn a_send_that_failed_part_way_is_not_a_cut_batch() {
        let bytes = batches(2);
        let spec = InspectSpec::default();
        let mut inspector = Inspector::new(&spec);
        inspector.feed(&bytes[..bytes.len() - 10]);
        let (found, problems) = inspector.finish(false);
        assert_eq!((found.batches, found.corrupt), (2, 0));
        assert_eq!(problems, Vec::<String>::new());
    }

    #[test]
    fn header_filter_syntax() {
        assert_eq!(
            HeaderFilter::parse("a=b=c").unwrap(),
            HeaderFilter {
                key: b"a".to_vec(),
                value: Some(b"b=c".to_vec())
            }
        );
        assert_eq!(HeaderFilter::parse("k").unwrap().value, None);
        assert!(HeaderFilter::parse("=v").unwrap_err().contains("empty"));
        assert_eq!(HeaderFilter::parse("k=").unwrap().to_string(), "k=");
    }
}
