//! The four compression codecs of a Kafka record batch, and the framing each one uses.
//!
//! A producer may compress the *records* of a batch (never the 61-byte header): bits 0-2 of
//! the batch `attributes` name the codec, and everything after `recordsCount` is then one
//! compressed stream that inflates to the usual varint-framed records. The broker checks
//! the header and the CRC, which covers the compressed bytes, and stores the batch as it
//! came; only a consumer inflates it. That is why compression and zero-copy fetches get on:
//! the bytes in the segment file are still the bytes the consumer wants.
//!
//! Each codec has a framing detail that decides whether clients can read each other:
//! - gzip (1): an RFC 1952 gzip stream (Java's `GZIPOutputStream`).
//! - snappy (2): Java wraps raw snappy blocks in xerial's stream framing (an 8-byte magic,
//!   two version ints, then length-prefixed blocks); librdkafka writes one raw snappy block.
//!   Readers must take both, so [`Codec::decompress`] does, and we write xerial like Java.
//! - lz4 (3): the LZ4 *frame* format with independent blocks (Java's reader refuses linked
//!   blocks), not the bare block format.
//! - zstd (4): a standard zstd frame; Kafka allows it from Produce v7 and Fetch v10 on.
//!
//! The codec lives here, next to the batch format, so the broker, `zc produce`,
//! `zc consume`, the tests and the fuzzers all frame compressed data the same way.

use std::fmt;
use std::io::{self, Read, Write};

/// A batch's compression codec: attributes bits 0-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

/// Why compressed records could not be inflated.
#[derive(Debug)]
pub enum DecompressError {
    /// The codec's stream is broken (wrong magic, bad block, truncated...).
    Corrupt { codec: Codec, error: io::Error },
    /// The records inflate to more than the caller's limit (a decompression bomb, or a
    /// limit set too low).
    TooLarge { codec: Codec, limit: usize },
}

impl fmt::Display for DecompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecompressError::Corrupt { codec, error } => {
                write!(f, "the {codec} stream does not decompress: {error}")
            }
            DecompressError::TooLarge { codec, limit } => {
                write!(f, "the {codec} records inflate to more than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for DecompressError {}

/// The most a batch's records may inflate to before zc gives up on them (zc's guard
/// against decompression bombs; Kafka's own limit is the JVM heap).
pub const MAX_INFLATED: usize = 256 << 20;

/// xerial snappy-java's stream header: magic, then version 1 and minimum compatible version 1.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_HEADER_LEN: usize = 16;
/// snappy-java's default block size, so our blocks look like Java's.
const XERIAL_BLOCK: usize = 32 * 1024;

impl Codec {
    /// Every codec, in id order.
    pub const ALL: [Codec; 5] = [
        Codec::None,
        Codec::Gzip,
        Codec::Snappy,
        Codec::Lz4,
        Codec::Zstd,
    ];

    /// The codec of a batch's `attributes`; `Err(id)` for an id Kafka does not define (5-7).
    pub fn from_attributes(attributes: i16) -> Result<Codec, u8> {
        let id = (attributes & 0x07) as u8;
        Codec::ALL.get(usize::from(id)).copied().ok_or(id)
    }

    /// The id in attributes bits 0-2.
    pub const fn id(self) -> u8 {
        match self {
            Codec::None => 0,
            Codec::Gzip => 1,
            Codec::Snappy => 2,
            Codec::Lz4 => 3,
            Codec::Zstd => 4,
        }
    }

    /// Kafka's name (`compression.type`).
    pub const fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Gzip => "gzip",
            Codec::Snappy => "snappy",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }

    /// Compresses the records section of a batch.
    pub fn compress(self, records: &[u8]) -> io::Result<Vec<u8>> {
        match self {
            Codec::None => Ok(records.to_vec()),
            Codec::Gzip => {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(records)?;
                e.finish()
            }
            Codec::Snappy => {
                let mut out = Vec::with_capacity(XERIAL_HEADER_LEN + records.len() / 2);
                out.extend_from_slice(&XERIAL_MAGIC);
                out.extend_from_slice(&1i32.to_be_bytes());
                out.extend_from_slice(&1i32.to_be_bytes());
                let mut encoder = snap::raw::Encoder::new();
                for block in records.chunks(XERIAL_BLOCK) {
                    let compressed = encoder.compress_vec(block).map_err(io::Error::other)?;
                    out.extend_from_slice(&(compressed.len() as i32).to_be_bytes());
                    out.extend_from_slice(&compressed);
                }
                Ok(out)
            }
            Codec::Lz4 => {
                let info = lz4_flex::frame::FrameInfo::new()
                    .block_mode(lz4_flex::frame::BlockMode::Independent);
                let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
                e.write_all(records)?;
                e.finish().map_err(io::Error::other)
            }
            Codec::Zstd => zstd::bulk::compress(records, zstd::DEFAULT_COMPRESSION_LEVEL),
        }
    }

    /// Inflates the records section of a batch, refusing to produce more than `limit` bytes.
    pub fn decompress(self, data: &[u8], limit: usize) -> Result<Vec<u8>, DecompressError> {
        let corrupt = |error| DecompressError::Corrupt { codec: self, error };
        let out = match self {
            Codec::None => Ok(data.to_vec()),
            Codec::Gzip => read_limited(flate2::read::MultiGzDecoder::new(data), limit),
            Codec::Snappy => snappy_decompress(data, limit),
            Codec::Lz4 => read_limited(lz4_flex::frame::FrameDecoder::new(data), limit),
            Codec::Zstd => zstd::stream::read::Decoder::new(data)
                .and_then(|d| read_limited(d.single_frame(), limit)),
        }
        .map_err(corrupt)?;
        if out.len() > limit {
            return Err(DecompressError::TooLarge { codec: self, limit });
        }
        Ok(out)
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Codec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Codec::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown codec {s:?}: expected none, gzip, snappy, lz4 or zstd"))
    }
}

/// Reads `r` to the end, but at most `limit + 1` bytes: one more than allowed is enough
/// for the caller to see the limit was passed, without inflating a bomb.
fn read_limited(r: impl Read, limit: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(limit as u64 + 1).read_to_end(&mut out)?;
    Ok(out)
}

/// Snappy in either framing: xerial's stream (Java, kafka-python) or one raw block
/// (librdkafka). Over-long output is cut at `limit + 1` like [`read_limited`].
fn snappy_decompress(data: &[u8], limit: usize) -> io::Result<Vec<u8>> {
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut decoder = snap::raw::Decoder::new();
    let mut block = |compressed: &[u8], out: &mut Vec<u8>| -> io::Result<()> {
        let len = snap::raw::decompress_len(compressed).map_err(|e| invalid(e.to_string()))?;
        if out.len() + len > limit {
            out.resize(limit + 1, 0);
            return Ok(());
        }
        let start = out.len();
        out.resize(start + len, 0);
        decoder
            .decompress(compressed, &mut out[start..])
            .map_err(|e| invalid(e.to_string()))?;
        Ok(())
    };
    let mut out = Vec::new();
    if !data.starts_with(&XERIAL_MAGIC) {
        block(data, &mut out)?;
        return Ok(out);
    }
    let mut rest = data
        .get(XERIAL_HEADER_LEN..)
        .ok_or_else(|| invalid("xerial snappy header cut short".into()))?;
    while !rest.is_empty() && out.len() <= limit {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| invalid("xerial snappy block length cut short".into()))?;
        let len = usize::try_from(i32::from_be_bytes(*len))
            .map_err(|_| invalid("negative xerial snappy block length".into()))?;
        if len > tail.len() {
            return Err(invalid(format!(
                "xerial snappy block of {len} bytes but only {} left",
                tail.len()
            )));
        }
        let (compressed, tail) = tail.split_at(len);
        block(compressed, &mut out)?;
        rest = tail;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..100_000u32)
            .flat_map(|i| (i % 251).to_be_bytes())
            .collect()
    }

    #[test]
    fn every_codec_round_trips_and_compresses_repetitive_data() {
        let data = sample();
        for codec in Codec::ALL {
            let packed = codec.compress(&data).unwrap();
            if codec != Codec::None {
                assert!(packed.len() < data.len() / 2, "{codec}: {}", packed.len());
            }
            assert_eq!(
                codec.decompress(&packed, data.len()).unwrap(),
                data,
                "{codec}"
            );
        }
    }

    #[test]
    fn output_beyond_the_limit_is_refused_for_every_codec() {
        let data = sample();
        for codec in Codec::ALL {
            let packed = codec.compress(&data).unwrap();
            let err = codec.decompress(&packed, data.len() - 1).unwrap_err();
            assert!(
                matches!(err, DecompressError::TooLarge { .. }),
                "{codec}: {err}"
            );
        }
    }

    #[test]
    fn snappy_reads_a_raw_block_as_librdkafka_writes_it() {
        let data = sample();
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(Codec::Snappy.decompress(&raw, data.len()).unwrap(), data);
    }

    #[test]
    fn lz4_writes_a_frame_with_independent_blocks() {
        let packed = Codec::Lz4.compress(b"hello").unwrap();
        assert_eq!(packed[..4], [0x04, 0x22, 0x4d, 0x18], "LZ4 frame magic");
        assert_ne!(packed[4] & 0x20, 0, "FLG block independence bit");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for codec in [Codec::Gzip, Codec::Snappy, Codec::Lz4, Codec::Zstd] {
            for junk in [&b""[..], b"\x00\x01\x02", &XERIAL_MAGIC] {
                let _ = codec.decompress(junk, 1 << 20);
            }
            assert!(
                codec
                    .decompress(b"definitely not compressed", 1 << 20)
                    .is_err()
            );
        }
    }

    #[test]
    fn ids_and_names_match_kafka() {
        assert_eq!(Codec::from_attributes(0x14), Ok(Codec::Zstd));
        assert_eq!(Codec::from_attributes(0x07), Err(7));
        assert_eq!("lz4".parse::<Codec>(), Ok(Codec::Lz4));
        assert!("brotli".parse::<Codec>().is_err());
    }
}
