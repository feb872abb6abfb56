//! The protocol's primitive types: how an integer, a string, an array or a byte blob looks
//! on the wire, and a [`Reader`] / [`Writer`] pair that every API file is built from.
//!
//! Kafka's wire format is deliberately boring: big-endian fixed-size integers, and
//! length-prefixed everything else. There are no delimiters and no self-description; the
//! only way to know what the next bytes mean is to know the API key and version of the
//! request (that is why the version travels in every request header).
//!
//! ```text
//! int16  string "demo"            int32 array [7, 9]               nullable string (null)
//! ┌─────┬─────────────┐          ┌────────────┬──────────┬──────────┐  ┌─────┐
//! │00 04│ d  e  m  o  │          │00 00 00 02 │00 00 00 07│00 00 00 09│  │ff ff│  N = -1
//! └─────┴─────────────┘          └────────────┴──────────┴──────────┘  └─────┘
//! ```
//!
//! A length prefix is the classic attack surface of a binary protocol: a peer (or a fuzzer)
//! can claim a string of 2 GiB in a 20-byte frame. The [`Reader`] therefore checks every
//! length against the bytes that are *actually left* before it allocates anything, so
//! memory use is bounded by the frame the server already agreed to read. Every error
//! names the field and the byte position, which is what you want in a log line when a
//! client you did not write sends something you did not expect.
//!
//! "Flexible" versions (KIP-482, used here only by ApiVersions v3) add *compact* forms:
//! lengths become unsigned varints holding `N + 1` (so 0 can mean null), and every
//! structure ends with a *tagged-field* section that lets Kafka add optional fields without
//! a new version. An empty tagged section is the single byte `00`.

use std::fmt;

/// What went wrong while reading one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// The input ended inside the field.
    Truncated { needed: usize, available: usize },
    /// A length prefix below -1, or -1 (null) where the field cannot be null.
    BadLength { length: i64 },
    /// A length (or array count) larger than the bytes left could possibly hold.
    LengthExceedsInput { length: u64, remaining: usize },
    /// An unsigned varint longer than 5 bytes.
    VarintTooLong,
    /// The body was fully decoded but bytes were left over: we and the client disagree
    /// about the version's layout, and guessing would be worse than stopping.
    TrailingBytes { count: usize },
}

/// A malformed field: its dotted name (e.g. `fetch.topics.partitions.fetch_offset`), the byte
/// position in the frame where reading it started, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub position: usize,
    pub kind: FieldErrorKind,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (field, pos) = (self.field, self.position);
        match &self.kind {
            FieldErrorKind::Truncated { needed, available } => write!(
                f,
                "field {field} at byte {pos}: truncated, needs {needed} bytes, {available} left"
            ),
            FieldErrorKind::BadLength { length } => {
                write!(f, "field {field} at byte {pos}: invalid length {length}")
            }
            FieldErrorKind::LengthExceedsInput { length, remaining } => write!(
                f,
                "field {field} at byte {pos}: length {length} exceeds the {remaining} bytes left"
            ),
            FieldErrorKind::VarintTooLong => {
                write!(f, "field {field} at byte {pos}: varint longer than 5 bytes")
            }
            FieldErrorKind::TrailingBytes { count } => {
                write!(
                    f,
                    "{count} unexpected bytes after the {field} at byte {pos}"
                )
            }
        }
    }
}

impl std::error::Error for FieldError {}

/// Result of reading one field.
pub type FieldResult<T> = Result<T, FieldError>;

/// One entry of a tagged-field section, kept as raw bytes: we understand none of the
/// optional tags of our APIs, but we keep them so that nothing is silently dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedField<'a> {
    pub tag: u32,
    pub data: &'a [u8],
}

/// A cursor over a request frame. It never panics and never reads past the end: every
/// read checks the remaining length first and returns a [`FieldError`] otherwise.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Byte position of the next read, counted from the start of the frame.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn error(&self, field: &'static str, kind: FieldErrorKind) -> FieldError {
        FieldError {
            field,
            position: self.pos,
            kind,
        }
    }

    /// Takes the next `n` bytes, or fails naming `field`.
    pub fn take(&mut self, field: &'static str, n: usize) -> FieldResult<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error(
                field,
                FieldErrorKind::Truncated {
                    needed: n,
                    available: self.remaining(),
                },
            ));
        }
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> FieldResult<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    pub fn i8(&mut self, field: &'static str) -> FieldResult<i8> {
        Ok(i8::from_be_bytes(self.array(field)?))
    }

    pub fn i16(&mut self, field: &'static str) -> FieldResult<i16> {
        Ok(i16::from_be_bytes(self.array(field)?))
    }

    pub fn i32(&mut self, field: &'static str) -> FieldResult<i32> {
        Ok(i32::from_be_bytes(self.array(field)?))
    }

    pub fn i64(&mut self, field: &'static str) -> FieldResult<i64> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    /// A boolean is one byte; like Kafka's `Type.BOOLEAN` any non-zero value reads as true.
    pub fn bool(&mut self, field: &'static str) -> FieldResult<bool> {
        Ok(self.i8(field)? != 0)
    }

    /// Checks a declared length against the input before anything is allocated.
    fn checked_len(&self, field: &'static str, start: usize, len: u64) -> FieldResult<usize> {
        match usize::try_from(len) {
            Ok(n) if n <= self.remaining() => Ok(n),
            _ => Err(FieldError {
                field,
                position: start,
                kind: FieldErrorKind::LengthExceedsInput {
                    length: len,
                    remaining: self.remaining(),
                },
            }),
        }
    }

    /// Reads `int16 N` + N bytes; `None` for N = -1. Shared by both string kinds.
    fn string_inner(&mut self, field: &'static str) -> FieldResult<Option<String>> {
        let start = self.pos;
        let len = self.i16(field)?;
        if len < -1 {
            return Err(FieldError {
                field,
                position: start,
                kind: FieldErrorKind::BadLength { length: len.into() },
            });
        }
        if len == -1 {
            return Ok(None);
        }
        let n = self.checked_len(field, start, len as u64)?;
        Ok(Some(utf8(self.take(field, n)?)))
    }

    /// `string`: int16 length (>= 0) + UTF-8 bytes.
    pub fn string(&mut self, field: &'static str) -> FieldResult<String> {
        let start = self.pos;
        self.string_inner(field)?.ok_or(FieldError {
            field,
            position: start,
            kind: FieldErrorKind::BadLength { length: -1 },
        })
    }

    /// `nullable string`: like `string`, but length -1 means null.
    pub fn nullable_string(&mut self, field: &'static str) -> FieldResult<Option<String>> {
        self.string_inner(field)
    }

    /// `nullable bytes`: int32 length + bytes, -1 = null. Borrowed, not copied: this is how
    /// a Produce request's record batches reach the handler without a copy.
    pub fn nullable_bytes(&mut self, field: &'static str) -> FieldResult<Option<&'a [u8]>> {
        let start = self.pos;
        let len = self.i32(field)?;
        if len < -1 {
            return Err(FieldError {
                field,
                position: start,
                kind: FieldErrorKind::BadLength { length: len.into() },
            });
        }
        if len == -1 {
            return Ok(None);
        }
        let n = self.checked_len(field, start, len as u64)?;
        Ok(Some(self.take(field, n)?))
    }

    /// `bytes`: like [`Reader::nullable_bytes`], but -1 (null) is an error.
    pub fn bytes(&mut self, field: &'static str) -> FieldResult<&'a [u8]> {
        let start = self.pos;
        self.nullable_bytes(field)?.ok_or(FieldError {
            field,
            position: start,
            kind: FieldErrorKind::BadLength { length: -1 },
        })
    }

    /// Reads an int32 array count; `None` for -1. `min_element` is the smallest number of
    /// bytes one element can occupy, so that a count the input cannot hold is refused
    /// before `Vec::with_capacity` sees it.
    fn array_len(&mut self, field: &'static str, min_element: usize) -> FieldResult<Option<usize>> {
        let start = self.pos;
        let len = self.i32(field)?;
        if len < -1 {
            return Err(FieldError {
                field,
                position: start,
                kind: FieldErrorKind::BadLength { length: len.into() },
            });
        }
        if len == -1 {
            return Ok(None);
        }
        let bytes = (len as u64).saturating_mul(min_element.max(1) as u64);
        self.checked_len(field, start, bytes)?;
        Ok(Some(len as usize))
    }

    /// `array`: int32 count + elements, each decoded by `element`. A null (-1) array is an
    /// error here; use [`Reader::nullable_array`] where the schema allows null.
    pub fn array_of<T>(
        &mut self,
        field: &'static str,
        min_element: usize,
        element: impl FnMut(&mut Self) -> FieldResult<T>,
    ) -> FieldResult<Vec<T>> {
        let start = self.pos;
        self.nullable_array(field, min_element, element)?
            .ok_or(FieldError {
                field,
                position: start,
                kind: FieldErrorKind::BadLength { length: -1 },
            })
    }

    /// `nullable array`: like [`Reader::array_of`], `None` for count -1.
    pub fn nullable_array<T>(
        &mut self,
        field: &'static str,
        min_element: usize,
        mut element: impl FnMut(&mut Self) -> FieldResult<T>,
    ) -> FieldResult<Option<Vec<T>>> {
        let Some(len) = self.array_len(field, min_element)? else {
            return Ok(None);
        };
        // `len` is bounded by the remaining input (checked above), and the loop runs at
        // most `len` times: no unbounded allocation, no endless loop.
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(element(self)?);
        }
        Ok(Some(out))
    }

    /// Unsigned base-128 varint, least-significant group first, at most 5 bytes (Kafka's
    /// `ByteUtils.readUnsignedVarint`).
    pub fn uvarint(&mut self, field: &'static str) -> FieldResult<u32> {
        let start = self.pos;
        let mut value: u32 = 0;
        for i in 0..5 {
            let byte = self.take(field, 1).map_err(|mut e| {
                e.position = start;
                e
            })?[0];
            value |= u32::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(FieldError {
            field,
            position: start,
            kind: FieldErrorKind::VarintTooLong,
        })
    }

    /// Compact length: uvarint holding N + 1, 0 = null. Returns `None` for null.
    fn compact_len(
        &mut self,
        field: &'static str,
        min_element: usize,
    ) -> FieldResult<Option<usize>> {
        let start = self.pos;
        let raw = self.uvarint(field)?;
        if raw == 0 {
            return Ok(None);
        }
        let len = u64::from(raw - 1);
        self.checked_len(field, start, len.saturating_mul(min_element.max(1) as u64))?;
        Ok(Some(len as usize))
    }

    /// `compact nullable string`.
    pub fn compact_nullable_string(&mut self, field: &'static str) -> FieldResult<Option<String>> {
        match self.compact_len(field, 1)? {
            None => Ok(None),
            Some(n) => Ok(Some(utf8(self.take(field, n)?))),
        }
    }

    /// `compact string` (non-null).
    pub fn compact_string(&mut self, field: &'static str) -> FieldResult<String> {
        let start = self.pos;
        self.compact_nullable_string(field)?.ok_or(FieldError {
            field,
            position: start,
            kind: FieldErrorKind::BadLength { length: -1 },
        })
    }

    /// `compact array` (non-null).
    pub fn compact_array_of<T>(
        &mut self,
        field: &'static str,
        min_element: usize,
        mut element: impl FnMut(&mut Self) -> FieldResult<T>,
    ) -> FieldResult<Vec<T>> {
        let start = self.pos;
        let Some(len) = self.compact_len(field, min_element)? else {
            return Err(FieldError {
                field,
                position: start,
                kind: FieldErrorKind::BadLength { length: -1 },
            });
        };
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(element(self)?);
        }
        Ok(out)
    }

    /// A tagged-field section: uvarint count, then per field uvarint tag, uvarint size and
    /// the bytes. Kept raw (see [`TaggedField`]).
    pub fn tagged_fields(&mut self, field: &'static str) -> FieldResult<Vec<TaggedField<'a>>> {
        let start = self.pos;
        let count = u64::from(self.uvarint(field)?);
        // Each entry needs at least a tag byte and a size byte.
        self.checked_len(field, start, count.saturating_mul(2))?;
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let tag = self.uvarint(field)?;
            let size_at = self.pos;
            let size = self.uvarint(field)?;
            let n = self.checked_len(field, size_at, size.into())?;
            out.push(TaggedField {
                tag,
                data: self.take(field, n)?,
            });
        }
        Ok(out)
    }

    /// Fails if any byte is left: called after the last field of a body. `after` names
    /// what was decoded (e.g. `"fetch request"`).
    pub fn finish(&self, after: &'static str) -> FieldResult<()> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(self.error(after, FieldErrorKind::TrailingBytes { count })),
        }
    }
}

/// Kafka's Java code decodes strings with `new String(bytes, UTF_8)`, which replaces invalid
/// sequences instead of failing; we do the same, so a bad topic name becomes a per-topic
/// error (INVALID_TOPIC_EXCEPTION) in the handler rather than a dropped connection.
fn utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Appends primitives to a growing buffer. Encoding cannot fail: values that do not fit
/// their wire type are clamped (see each method), which only happens for inputs far beyond
/// anything a request can carry.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer { buf: Vec::new() }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }

    /// Hands out what was written so far and starts an empty buffer (used by the Fetch
    /// encoder to cut a byte part in front of a file region).
    pub fn take_buf(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Overwrites 4 bytes at `at` with `v`: used to fill in a size field reserved earlier.
    pub fn patch_i32(&mut self, at: usize, v: i32) {
        if let Some(slot) = self.buf.get_mut(at..at + 4) {
            slot.copy_from_slice(&v.to_be_bytes());
        }
    }

    pub fn i8(&mut self, v: i8) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn i16(&mut self, v: i16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// `string`. A Kafka string holds at most 32767 bytes; a longer one is cut at a
    /// character boundary rather than making every encoder fallible.
    pub fn string(&mut self, s: &str) {
        let s = clamp_str(s, i16::MAX as usize);
        self.i16(s.len() as i16);
        self.raw(s.as_bytes());
    }

    pub fn nullable_string(&mut self, s: Option<&str>) {
        match s {
            None => self.i16(-1),
            Some(s) => self.string(s),
        }
    }

    /// `bytes`: int32 length + bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.i32(len_i32(b.len()));
        self.raw(b);
    }

    pub fn nullable_bytes(&mut self, b: Option<&[u8]>) {
        match b {
            None => self.i32(-1),
            Some(b) => self.bytes(b),
        }
    }

    /// The int32 count in front of an array's elements.
    pub fn array_len(&mut self, len: usize) {
        self.i32(len_i32(len));
    }

    /// Count + elements, each written by `element`.
    pub fn array_of<T>(&mut self, items: &[T], mut element: impl FnMut(&mut Self, &T)) {
        self.array_len(items.len());
        for item in items {
            element(self, item);
        }
    }

    /// Nullable array: count -1 for `None`.
    pub fn nullable_array_of<T>(
        &mut self,
        items: Option<&[T]>,
        element: impl FnMut(&mut Self, &T),
    ) {
        match items {
            None => self.i32(-1),
            Some(items) => self.array_of(items, element),
        }
    }

    pub fn uvarint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    /// Compact array count: N + 1.
    pub fn compact_array_len(&mut self, len: usize) {
        self.uvarint(u32::try_from(len).unwrap_or(u32::MAX - 1).saturating_add(1));
    }

    pub fn compact_string(&mut self, s: &str) {
        let s = clamp_str(s, i16::MAX as usize);
        self.compact_array_len(s.len());
        self.raw(s.as_bytes());
    }

    pub fn compact_nullable_string(&mut self, s: Option<&str>) {
        match s {
            None => self.uvarint(0),
            Some(s) => self.compact_string(s),
        }
    }

    /// A tagged-field section.
    pub fn tagged_fields(&mut self, fields: &[TaggedField<'_>]) {
        self.uvarint(u32::try_from(fields.len()).unwrap_or(u32::MAX));
        for f in fields {
            self.uvarint(f.tag);
            self.uvarint(u32::try_from(f.data.len()).unwrap_or(u32::MAX));
            self.raw(f.data);
        }
    }
}

/// A length as the int32 the wire wants. Anything above 2 GiB cannot be in a frame (the
/// frame size itself is an int32), so saturating is only a guard against misuse.
pub fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

fn clamp_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian() {
        let mut w = Writer::new();
        w.i16(0x0102);
        w.i32(-2);
        w.i64(1);
        let buf = w.into_inner();
        assert_eq!(buf, [1, 2, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 1]);
        let mut r = Reader::new(&buf);
        assert_eq!(r.i16("a").unwrap(), 0x0102);
        assert_eq!(r.i32("b").unwrap(), -2);
        assert_eq!(r.i64("c").unwrap(), 1);
        assert!(r.finish("test").is_ok());
    }

    #[test]
    fn strings_and_nulls_round_trip() {
        let mut w = Writer::new();
        w.string("demo");
        w.nullable_string(None);
        w.nullable_bytes(None);
        w.bytes(b"xy");
        let buf = w.into_inner();
        assert_eq!(&buf[..8], b"\x00\x04demo\xff\xff");
        let mut r = Reader::new(&buf);
        assert_eq!(r.string("s").unwrap(), "demo");
        assert_eq!(r.nullable_string("n").unwrap(), None);
        assert_eq!(r.nullable_bytes("b").unwrap(), None);
        assert_eq!(r.nullable_bytes("b").unwrap(), Some(&b"xy"[..]));
    }

    #[test]
    fn null_where_not_nullable_is_an_error() {
        let mut r = Reader::new(&[0xff, 0xff]);
        let e = r.string("topic").unwrap_err();
        assert_eq!(e.field, "topic");
        assert_eq!(e.kind, FieldErrorKind::BadLength { length: -1 });
    }

    #[test]
    fn absurd_array_count_fails_before_allocating() {
        // 0x7fffffff elements of 8 bytes each claimed by a 6-byte input.
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff, 0, 0]);
        let e = r.array_of("offsets", 8, |r| r.i64("offset")).unwrap_err();
        assert_eq!(e.position, 0);
        assert_eq!(
            e.kind,
            FieldErrorKind::LengthExceedsInput {
                length: 0x7fff_ffff * 8,
                remaining: 2
            }
        );
    }

    #[test]
    fn absurd_string_and_bytes_lengths_fail() {
        let mut r = Reader::new(&[0x7f, 0xff, b'a']);
        assert!(matches!(
            r.string("s").unwrap_err().kind,
            FieldErrorKind::LengthExceedsInput {
                length: 32767,
                remaining: 1
            }
        ));
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff]);
        assert!(r.nullable_bytes("records").is_err());
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xfe]);
        assert!(matches!(
            r.nullable_bytes("records").unwrap_err().kind,
            FieldErrorKind::BadLength { length: -2 }
        ));
    }

    #[test]
    fn uvarint_round_trips_and_rejects_overlong() {
        for v in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut w = Writer::new();
            w.uvarint(v);
            let buf = w.into_inner();
            let mut r = Reader::new(&buf);
            assert_eq!(r.uvarint("v").unwrap(), v);
            assert_eq!(r.remaining(), 0);
        }
        let mut r = Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
        assert_eq!(
            r.uvarint("v").unwrap_err().kind,
            FieldErrorKind::VarintTooLong
        );
        let mut r = Reader::new(&[0x80]);
        assert_eq!(r.uvarint("v").unwrap_err().position, 0);
    }

    #[test]
    fn compact_forms_use_n_plus_one() {
        let mut w = Writer::new();
        w.compact_string("ab");
        w.compact_nullable_string(None);
        w.tagged_fields(&[]);
        let buf = w.into_inner();
        assert_eq!(buf, [3, b'a', b'b', 0, 0]);
        let mut r = Reader::new(&buf);
        assert_eq!(r.compact_string("s").unwrap(), "ab");
        assert_eq!(r.compact_nullable_string("n").unwrap(), None);
        assert!(r.tagged_fields("tags").unwrap().is_empty());
    }

    #[test]
    fn tagged_fields_are_kept_raw_and_bounded() {
        let buf = [1, 5, 2, 0xaa, 0xbb];
        let mut r = Reader::new(&buf);
        let tags = r.tagged_fields("tags").unwrap();
        assert_eq!(
            tags,
            [TaggedField {
                tag: 5,
                data: &[0xaa, 0xbb][..]
            }]
        );
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(r.tagged_fields("tags").is_err());
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let r = Reader::new(&[1, 2]);
        assert_eq!(
            r.finish("body").unwrap_err().kind,
            FieldErrorKind::TrailingBytes { count: 2 }
        );
    }

    #[test]
    fn long_strings_are_clamped_at_a_char_boundary() {
        let s = "é".repeat(20_000); // 40_000 bytes
        let mut w = Writer::new();
        w.string(&s);
        let buf = w.into_inner();
        let mut r = Reader::new(&buf);
        let back = r.string("s").unwrap();
        assert_eq!(back.len(), 32_766);
        assert!(r.finish("s").is_ok());
    }
}
