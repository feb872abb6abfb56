//! RecordBatch v2: the unit Kafka stores on disk and sends on the wire, byte for byte.
//!
//! A batch is a 61-byte header followed by records. Kafka never rewrites a batch between
//! the producer, the log file and the consumer: the broker only stamps `baseOffset` and
//! `partitionLeaderEpoch`, which is why the CRC deliberately leaves them out. That is what
//! makes zero-copy serving possible at all: the bytes in the page cache are already the
//! bytes the consumer wants.
//!
//! ```text
//!  0  baseOffset            int64   \  "log overhead": not covered by the CRC,
//!  8  batchLength           int32   /  total batch size = 12 + batchLength
//! 12  partitionLeaderEpoch  int32      not covered by the CRC
//! 16  magic                 int8       always 2 here
//! 17  crc                   uint32     CRC-32C of bytes [21, end)
//! 21  attributes            int16      compression, timestamp type, transactional, control
//! 23  lastOffsetDelta       int32
//! 27  baseTimestamp         int64
//! 35  maxTimestamp          int64
//! 43  producerId            int64      -1: none
//! 51  producerEpoch         int16      -1: none
//! 53  baseSequence          int32      -1: none
//! 57  recordsCount          int32
//! 61  records...                       varint-framed, see `Record`
//! ```

use std::borrow::Cow;
use std::fmt;

use super::compression::{Codec, DecompressError};
use super::varint;

/// Bytes before `batchLength` counts: baseOffset (8) + batchLength (4).
pub const LOG_OVERHEAD: usize = 12;
/// Size of the fixed batch header, up to and including `recordsCount`.
pub const HEADER_LEN: usize = 61;
/// The only record format this crate writes or reads.
pub const MAGIC: i8 = 2;
/// First byte covered by the CRC (`attributes`).
const CRC_START: usize = 21;
/// Smallest legal `batchLength`: a header with no records.
pub const MIN_BATCH_LENGTH: i32 = (HEADER_LEN - LOG_OVERHEAD) as i32;

/// The decoded fixed header of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl BatchHeader {
    /// Decodes the fixed header from the front of `buf` and checks the two fields that
    /// decide whether the rest can be framed at all: `batchLength` and `magic`.
    pub fn parse(buf: &[u8]) -> Result<Self, BatchError> {
        if buf.len() < HEADER_LEN {
            return Err(BatchError::Truncated {
                needed: HEADER_LEN,
                available: buf.len(),
            });
        }
        let header = BatchHeader {
            base_offset: be_i64(buf, 0),
            batch_length: be_i32(buf, 8),
            partition_leader_epoch: be_i32(buf, 12),
            magic: buf[16] as i8,
            crc: be_i32(buf, 17) as u32,
            attributes: be_i16(buf, 21),
            last_offset_delta: be_i32(buf, 23),
            base_timestamp: be_i64(buf, 27),
            max_timestamp: be_i64(buf, 35),
            producer_id: be_i64(buf, 43),
            producer_epoch: be_i16(buf, 51),
            base_sequence: be_i32(buf, 53),
            records_count: be_i32(buf, 57),
        };
        if header.batch_length < MIN_BATCH_LENGTH {
            return Err(BatchError::BadLength {
                length: header.batch_length,
            });
        }
        if header.magic != MAGIC {
            return Err(BatchError::BadMagic {
                found: header.magic,
            });
        }
        Ok(header)
    }

    /// Total size of the batch in bytes, log overhead included.
    pub fn size(&self) -> usize {
        LOG_OVERHEAD + self.batch_length as usize
    }

    /// Offset of the batch's last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// Compression codec id (attributes bits 0-2): 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
    /// (see [`Codec::from_attributes`]).
    pub fn compression(&self) -> u8 {
        (self.attributes & 0x07) as u8
    }
}

/// What is wrong with a batch. Each variant keeps the expected and found values so that
/// `zc fixture verify` can print a precise message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// Fewer bytes than the header or the declared length needs.
    Truncated {
        needed: usize,
        available: usize,
    },
    /// `batchLength` smaller than an empty batch.
    BadLength {
        length: i32,
    },
    BadMagic {
        found: i8,
    },
    /// `stored` is the CRC in the header, `computed` the CRC-32C of the bytes.
    BadCrc {
        stored: u32,
        computed: u32,
    },
    /// A record inside the batch cannot be decoded.
    BadRecord {
        index: usize,
        what: &'static str,
    },
    /// The records do not agree with the header's `recordsCount` / `lastOffsetDelta`.
    CountMismatch {
        field: &'static str,
        expected: i64,
        found: i64,
    },
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Truncated { needed, available } => write!(
                f,
                "truncated batch: expected {needed} bytes, found {available}"
            ),
            BatchError::BadLength { length } => write!(
                f,
                "impossible batchLength: expected at least {MIN_BATCH_LENGTH}, found {length}"
            ),
            BatchError::BadMagic { found } => {
                write!(f, "wrong magic byte: expected {MAGIC}, found {found}")
            }
            BatchError::BadCrc { stored, computed } => write!(
                f,
                "CRC-32C mismatch: header says {stored:#010x}, bytes give {computed:#010x}"
            ),
            BatchError::BadRecord { index, what } => write!(f, "record {index}: {what}"),
            BatchError::CountMismatch {
                field,
                expected,
                found,
            } => write!(f, "{field} mismatch: expected {expected}, found {found}"),
        }
    }
}

impl std::error::Error for BatchError {}

/// Fully validates one batch that occupies exactly `batch`: header, length, CRC and, for
/// uncompressed batches, every record and the record count. Compressed batches are checked
/// up to the CRC only (decompressing is not this tool's business).
pub fn validate(batch: &[u8]) -> Result<BatchHeader, BatchError> {
    validate_with(batch, |_| {})
}

/// [`validate`], handing each record to `on_record` as it is decoded, so a reader that
/// wants the records decodes them once, not once to check and again to use. The batch is
/// only valid if this returns `Ok`: records seen before an error must be discarded.
pub fn validate_with<'a>(
    batch: &'a [u8],
    on_record: impl FnMut(Record<'a>),
) -> Result<BatchHeader, BatchError> {
    let header = BatchHeader::parse(batch)?;
    if batch.len() != header.size() {
        return Err(BatchError::Truncated {
            needed: header.size(),
            available: batch.len(),
        });
    }
    let computed = crc32c::crc32c(&batch[CRC_START..]);
    if computed != header.crc {
        return Err(BatchError::BadCrc {
            stored: header.crc,
            computed,
        });
    }
    if header.compression() == 0 {
        check_records(&header, &batch[HEADER_LEN..], on_record)?;
    }
    Ok(header)
}

/// Decodes every record of a records section (the bytes after the header; for a compressed
/// batch, after inflating them) and checks them against the header's `recordsCount` and
/// `lastOffsetDelta`, handing each to `on_record`.
pub fn check_records<'a>(
    header: &BatchHeader,
    section: &'a [u8],
    mut on_record: impl FnMut(Record<'a>),
) -> Result<(), BatchError> {
    let mut count = 0i64;
    let mut last_delta = -1i64;
    for record in records_in(section) {
        let record = record?;
        last_delta = i64::from(record.offset_delta);
        count += 1;
        on_record(record);
    }
    if count != i64::from(header.records_count) {
        return Err(BatchError::CountMismatch {
            field: "recordsCount",
            expected: i64::from(header.records_count),
            found: count,
        });
    }
    if count > 0 && last_delta != i64::from(header.last_offset_delta) {
        return Err(BatchError::CountMismatch {
            field: "lastOffsetDelta",
            expected: i64::from(header.last_offset_delta),
            found: last_delta,
        });
    }
    Ok(())
}

/// The records section of a whole, CRC-checked batch: borrowed when uncompressed, inflated
/// (at most `limit` bytes) when compressed.
pub fn records_section<'a>(
    header: &BatchHeader,
    batch: &'a [u8],
    limit: usize,
) -> Result<Cow<'a, [u8]>, DecompressError> {
    let section = batch.get(HEADER_LEN..).unwrap_or_default();
    match Codec::from_attributes(header.attributes) {
        Ok(Codec::None) => Ok(Cow::Borrowed(section)),
        Ok(codec) => codec.decompress(section, limit).map(Cow::Owned),
        Err(id) => Err(DecompressError::Corrupt {
            codec: Codec::None,
            error: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("unknown compression codec id {id}"),
            ),
        }),
    }
}

/// Re-encodes an uncompressed batch with its records compressed by `codec`: same header
/// fields, the codec in `attributes`, new `batchLength` and CRC. This is what a producer
/// does before sending (`zc produce --compression`).
pub fn compress(batch: &[u8], codec: Codec) -> std::io::Result<Vec<u8>> {
    let packed = codec.compress(batch.get(HEADER_LEN..).unwrap_or_default())?;
    let mut out = Vec::with_capacity(HEADER_LEN + packed.len());
    out.extend_from_slice(&batch[..HEADER_LEN]);
    out.extend_from_slice(&packed);
    let batch_length = i32::try_from(out.len() - LOG_OVERHEAD)
        .map_err(|_| std::io::Error::other("compressed batch larger than 2 GiB"))?;
    out[8..12].copy_from_slice(&batch_length.to_be_bytes());
    let attributes = (be_i16(&out, 21) & !0x07) | i16::from(codec.id());
    out[21..23].copy_from_slice(&attributes.to_be_bytes());
    let crc = crc32c::crc32c(&out[CRC_START..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    Ok(out)
}

/// One decoded record, borrowing its key, value and headers from the batch bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: Vec<(&'a [u8], Option<&'a [u8]>)>,
}

/// Iterates the records of an uncompressed batch. Yields an error (and then stops) at the
/// first record that does not decode.
pub fn records(batch: &[u8]) -> Records<'_> {
    records_in(batch.get(HEADER_LEN..).unwrap_or_default())
}

/// Iterates the records of a records section (see [`records_section`]).
pub fn records_in(section: &[u8]) -> Records<'_> {
    Records {
        rest: section,
        index: 0,
        failed: false,
    }
}

pub struct Records<'a> {
    rest: &'a [u8],
    index: usize,
    failed: bool,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        let index = self.index;
        self.index += 1;
        let result = decode_record(self.rest).map_err(|what| BatchError::BadRecord { index, what });
        match result {
            Ok((record, used)) => {
                self.rest = &self.rest[used..];
                Some(Ok(record))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// A small cursor over a record's bytes; each read names what it was reading on failure.
struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn varint(&mut self, what: &'static str) -> Result<i32, &'static str> {
        let (v, used) = varint::get_varint(self.buf).map_err(|_| what)?;
        self.buf = &self.buf[used..];
        Ok(v)
    }

    fn varlong(&mut self, what: &'static str) -> Result<i64, &'static str> {
        let (v, used) = varint::get_varlong(self.buf).map_err(|_| what)?;
        self.buf = &self.buf[used..];
        Ok(v)
    }

    fn bytes(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], &'static str> {
        if self.buf.len() < len {
            return Err(what);
        }
        let (head, tail) = self.buf.split_at(len);
        self.buf = tail;
        Ok(head)
    }

    /// A varint length followed by that many bytes; -1 means null.
    fn nullable_bytes(&mut self, what: &'static str) -> Result<Option<&'a [u8]>, &'static str> {
        match self.varint(what)? {
            -1 => Ok(None),
            n if n < 0 => Err(what),
            n => self.bytes(n as usize, what).map(Some),
        }
    }
}

fn decode_record(buf: &[u8]) -> Result<(Record<'_>, usize), &'static str> {
    let mut outer = Cursor { buf };
    let length = outer.varint("bad record length")?;
    if length < 0 {
        return Err("negative record length");
    }
    let body = outer.bytes(length as usize, "record runs past the end of the batch")?;
    let used = buf.len() - outer.buf.len();

    let mut c = Cursor { buf: body };
    c.bytes(1, "missing record attributes")?;
    let timestamp_delta = c.varlong("bad timestampDelta")?;
    let offset_delta = c.varint("bad offsetDelta")?;
    let key = c.nullable_bytes("bad key")?;
    let value = c.nullable_bytes("bad value")?;
    let header_count = c.varint("bad header count")?;
    if header_count < 0 {
        return Err("negative header count");
    }
    let mut headers = Vec::new();
    for _ in 0..header_count {
        let key_len = c.varint("bad header key length")?;
        if key_len < 0 {
            return Err("null header key");
        }
        let key = c.bytes(key_len as usize, "header key runs past the record")?;
        let value = c.nullable_bytes("bad header value")?;
        headers.push((key, value));
    }
    if !c.buf.is_empty() {
        return Err("record length disagrees with its fields");
    }
    Ok((
        Record {
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        },
        used,
    ))
}

/// Writes one uncompressed batch straight into a caller-owned buffer, so that generating
/// a large log allocates nothing per record.
///
/// ```
/// let mut buf = Vec::new();
/// let mut batch = zc::log::batch::BatchBuilder::new(&mut buf, 0);
/// batch.append(1_700_000_000_000, Some(b"k"), Some(b"v"), &[]);
/// batch.finish();
/// assert_eq!(buf.len(), 70);
/// ```
pub struct BatchBuilder<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    base_offset: i64,
    base_timestamp: i64,
    max_timestamp: i64,
    count: i32,
}

/// A record header: a non-null key and an optional value.
pub type Header<'a> = (&'a [u8], Option<&'a [u8]>);

impl<'a> BatchBuilder<'a> {
    /// Starts a batch at the end of `out`; its first record gets offset `base_offset`.
    pub fn new(out: &'a mut Vec<u8>, base_offset: i64) -> Self {
        let start = out.len();
        out.resize(start + HEADER_LEN, 0);
        BatchBuilder {
            out,
            start,
            base_offset,
            base_timestamp: 0,
            max_timestamp: i64::MIN,
            count: 0,
        }
    }

    /// Appends a record with the next offset and CreateTime `timestamp` (ms since epoch).
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header<'_>],
    ) {
        if self.count == 0 {
            self.base_timestamp = timestamp;
        }
        let timestamp_delta = timestamp - self.base_timestamp;
        let offset_delta = self.count;
        let nullable_len = |b: Option<&[u8]>| b.map_or(-1, |b| b.len() as i32);
        let nullable_size =
            |b: Option<&[u8]>| varint::varint_len(nullable_len(b)) + b.map_or(0, <[u8]>::len);

        let mut body_len = 1
            + varint::varlong_len(timestamp_delta)
            + varint::varint_len(offset_delta)
            + nullable_size(key)
            + nullable_size(value)
            + varint::varint_len(headers.len() as i32);
        for &(k, v) in headers {
            body_len += varint::varint_len(k.len() as i32) + k.len() + nullable_size(v);
        }

        let out = &mut *self.out;
        varint::put_varint(out, body_len as i32);
        out.push(0); // record attributes: unused
        varint::put_varlong(out, timestamp_delta);
        varint::put_varint(out, offset_delta);
        put_nullable(out, key);
        put_nullable(out, value);
        varint::put_varint(out, headers.len() as i32);
        for &(k, v) in headers {
            varint::put_varint(out, k.len() as i32);
            out.extend_from_slice(k);
            put_nullable(out, v);
        }
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.count += 1;
    }

    /// Bytes of the batch so far (header included): after an `append`, where that
    /// record ends. `zc bench write --way per-record` cuts its writes there.
    pub fn len(&self) -> usize {
        self.out.len() - self.start
    }

    /// True before the first record (the header is reserved from the start).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Fills in the header and the CRC; returns the batch size in bytes.
    pub fn finish(self) -> usize {
        let batch = &mut self.out[self.start..];
        let batch_length = (batch.len() - LOG_OVERHEAD) as i32;
        let max_timestamp = if self.count == 0 {
            -1
        } else {
            self.max_timestamp
        };
        batch[0..8].copy_from_slice(&self.base_offset.to_be_bytes());
        batch[8..12].copy_from_slice(&batch_length.to_be_bytes());
        batch[12..16].copy_from_slice(&0i32.to_be_bytes()); // partitionLeaderEpoch
        batch[16] = MAGIC as u8;
        batch[21..23].copy_from_slice(&0i16.to_be_bytes()); // no compression, CreateTime
        batch[23..27].copy_from_slice(&(self.count - 1).max(0).to_be_bytes());
        batch[27..35].copy_from_slice(&self.base_timestamp.to_be_bytes());
        batch[35..43].copy_from_slice(&max_timestamp.to_be_bytes());
        batch[43..51].copy_from_slice(&(-1i64).to_be_bytes()); // producerId: none
        batch[51..53].copy_from_slice(&(-1i16).to_be_bytes()); // producerEpoch: none
        batch[53..57].copy_from_slice(&(-1i32).to_be_bytes()); // baseSequence: none
        batch[57..61].copy_from_slice(&self.count.to_be_bytes());
        let crc = crc32c::crc32c(&batch[CRC_START..]);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
        batch.len()
    }
}

fn put_nullable(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => varint::put_varint(out, -1),
        Some(b) => {
            varint::put_varint(out, b.len() as i32);
            out.extend_from_slice(b);
        }
    }
}

fn be_i16(buf: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([buf[at], buf[at + 1]])
}

fn be_i32(buf: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}

fn be_i64(buf: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(buf[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of docs/kafka-protocol.md §9, accepted by kafka-python's decoder.
    const VECTOR: [u8; 70] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x00, 0x00, 0x00,
        0x00, 0x02, 0xe9, 0x9b, 0x8d, 0xd8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
        0x01, 0x10, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x02, 0x76, 0x00,
    ];

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn builder_reproduces_the_reference_vector() {
        let mut buf = Vec::new();
        let mut b = BatchBuilder::new(&mut buf, 0);
        b.append(1_700_000_000_000, Some(b"k"), Some(b"v"), &[]);
        assert_eq!(b.finish(), 70);
        assert_eq!(buf, VECTOR);
    }

    #[test]
    fn validate_decodes_the_reference_vector() {
        let h = validate(&VECTOR).expect("valid");
        assert_eq!(h.crc, 0xE99B_8DD8);
        assert_eq!(h.records_count, 1);
        assert_eq!(h.last_offset(), 0);
        let r: Vec<_> = records(&VECTOR).collect::<Result<_, _>>().unwrap();
        assert_eq!(r[0].key, Some(&b"k"[..]));
        assert_eq!(r[0].value, Some(&b"v"[..]));
    }

    #[test]
    fn headers_null_keys_and_values_round_trip() {
        let mut buf = Vec::new();
        let mut b = BatchBuilder::new(&mut buf, 42);
        b.append(
            10,
            None,
            Some(b"first"),
            &[(b"h1", Some(b"x")), (b"h2", None)],
        );
        b.append(7, Some(b"key"), None, &[]);
        b.finish();
        let h = validate(&buf).expect("valid");
        assert_eq!((h.base_offset, h.last_offset()), (42, 43));
        assert_eq!((h.base_timestamp, h.max_timestamp), (10, 10));
        let r: Vec<_> = records(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            r[0].headers,
            vec![(&b"h1"[..], Some(&b"x"[..])), (&b"h2"[..], None)]
        );
        assert_eq!((r[1].timestamp_delta, r[1].offset_delta), (-3, 1));
        assert_eq!((r[1].key, r[1].value), (Some(&b"key"[..]), None));
    }

    #[test]
    fn every_flipped_byte_after_the_magic_is_caught() {
        for at in CRC_START..VECTOR.len() {
            let mut bad = VECTOR;
            bad[at] ^= 0x40;
            assert!(
                matches!(validate(&bad), Err(BatchError::BadCrc { .. })),
                "flip at {at} not caught"
            );
        }
    }

    #[test]
    fn header_problems_are_named() {
        let mut bad = VECTOR;
        bad[16] = 1;
        assert_eq!(validate(&bad), Err(BatchError::BadMagic { found: 1 }));
        assert_eq!(
            validate(&VECTOR[..69]),
            Err(BatchError::Truncated {
                needed: 70,
                available: 69
            })
        );
        let mut bad = VECTOR;
        bad[8..12].copy_from_slice(&5i32.to_be_bytes());
        assert_eq!(validate(&bad), Err(BatchError::BadLength { length: 5 }));
    }

    #[test]
    fn count_mismatch_is_reported_even_with_a_valid_crc() {
        let mut buf = VECTOR.to_vec();
        buf[57..61].copy_from_slice(&2i32.to_be_bytes());
        let crc = crc32c::crc32c(&buf[CRC_START..]);
        buf[17..21].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            validate(&buf),
            Err(BatchError::CountMismatch {
                field: "recordsCount",
                expected: 2,
                found: 1
            })
        );
    }
}
