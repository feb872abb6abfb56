//! The log every run sends: the fixture's segment files in offset order, opened once for
//! all runs, with its hash checked against the manifest `zc fixture gen` wrote (a damaged
//! log is not benchmarked), and the whole-log reads `--verify` and the warm cache need.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::results::FixtureInfo;
use crate::log::fixture;

/// One `.log` file of the fixture, opened once for all runs.
pub(super) struct Segment {
    pub(super) path: PathBuf,
    pub(super) file: File,
    pub(super) len: u64,
}

/// The log to send: its segment files in offset order, partition after partition.
pub struct Fixture {
    pub info: FixtureInfo,
    pub(super) segments: Vec<Segment>,
}

impl Fixture {
    /// Opens the log at `path`. `known_hash` is the hash already checked by the caller
    /// (the default fixture); otherwise the log is hashed here (once per change of its
    /// files: see [`fixture::log_hash`]) and, when it has a
    /// `zc fixture gen` manifest, must match it: a damaged log is not benchmarked.
    pub fn open(path: &Path, known_hash: Option<String>) -> Result<Fixture> {
        let mut segments = Vec::new();
        for part in crate::log::check::partitions(path)? {
            for seg in crate::log::segment::list_segments(&part.path)? {
                let file = File::open(&seg.log)
                    .with_context(|| format!("cannot open {}", seg.log.display()))?;
                let len = file.metadata()?.len();
                segments.push(Segment {
                    path: seg.log,
                    file,
                    len,
                });
            }
        }
        let bytes = segments.iter().map(|s| s.len).sum();
        if bytes == 0 {
            bail!("{} holds no log bytes to send", path.display());
        }
        let default = known_hash.is_some();
        let blake3 = match known_hash {
            Some(h) => h,
            None => {
                let h = fixture::log_hash(path)?;
                if let Ok(manifest) = fixture::read_manifest(path)
                    && manifest.blake3 != h
                {
                    bail!(
                        "{} does not match its manifest ({}): the log changed since it was generated; \
                         run `zc fixture verify {}` to see where, or regenerate it",
                        path.display(),
                        fixture::MANIFEST,
                        path.display()
                    );
                }
                h
            }
        };
        Ok(Fixture {
            info: FixtureInfo {
                path: path.to_owned(),
                blake3,
                bytes,
                segments: segments.len(),
                default,
            },
            segments,
        })
    }

    pub(super) fn bytes(&self) -> u64 {
        self.info.bytes
    }

    /// Calls of at most `chunk` bytes a run makes: each segment is sent on its own.
    pub(super) fn chunks(&self, chunk: usize) -> u64 {
        self.segments
            .iter()
            .map(|s| s.len.div_ceil(chunk as u64))
            .sum()
    }
}

/// CRC-32C of the whole log, the figure `--verify` compares with the sink's.
pub(super) fn checksum(fixture: &Fixture) -> Result<u32> {
    let mut crc = 0;
    read_all(fixture, |b| crc = crc32c::crc32c_append(crc, b))?;
    Ok(crc)
}

/// Reads every segment once (which also leaves it in the page cache for warm runs).
pub(super) fn read_all(fixture: &Fixture, mut each: impl FnMut(&[u8])) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 1 << 20];
    for seg in &fixture.segments {
        let mut at = 0;
        while at < seg.len {
            let n = seg
                .file
                .read_at(&mut buf, at)
                .with_context(|| format!("cannot read {}", seg.path.display()))?;
            if n == 0 {
                bail!("{} shrank while being read", seg.path.display());
            }
            each(&buf[..n]);
            at += n as u64;
        }
    }
    Ok(())
}
