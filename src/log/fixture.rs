//! Deterministic fixtures: a segmented log generated from a few numbers and a seed.
//!
//! The same arguments give the same bytes on any machine, so a classroom, a CI run and a
//! bug report all talk about the same log. Records carry readable values
//! (`0:000000000042 ` followed by pseudo-random letters) so a consumer that prints them
//! shows something a person can follow, while the letters keep the data from being
//! trivially compressible.
//!
//! A generated log directory holds `<topic>-<partition>/` directories in Kafka's layout
//! and a manifest, `zc-fixture.json`, with the arguments and a BLAKE3 hash of every
//! segment file. Generation happens in a hidden temporary directory beside the target, renamed into
//! place only when complete, so an interrupted run never leaves a log that looks whole.
//! Nothing is fsynced: like Kafka, generation leaves write-back to the page cache, and a
//! fixture damaged by a power cut is caught by `zc fixture verify` and the manifest hash.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::batch::{BatchBuilder, HEADER_LEN};
use super::partition::{self, LogConfig, PartitionLog};
use super::varint;
use crate::error::UsageError;
use crate::units::format_size;

/// The manifest's file name inside a generated log directory.
pub const MANIFEST: &str = "zc-fixture.json";
/// Kafka's default `max.message.bytes`: a larger batch would be refused by a real broker.
pub const MAX_BATCH_BYTES: u64 = 1_048_588;
/// CreateTime of offset 0; each later record is one millisecond younger.
const BASE_TIMESTAMP: i64 = 1_700_000_000_000;
/// Kafka's `segment.bytes` cannot exceed `Integer.MAX_VALUE`: positions are int32.
const MAX_SEGMENT_BYTES: u64 = i32::MAX as u64;

/// How much log to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Amount {
    /// About this many bytes of `.log` in all, never more.
    Bytes(u64),
    /// Exactly this many records in all.
    Records(u64),
}

/// Everything that determines a fixture's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenSpec {
    pub topic: String,
    pub partitions: u32,
    pub amount: Amount,
    pub value_size: usize,
    /// 0 means null keys.
    pub key_size: usize,
    pub records_per_batch: u32,
    pub segment_bytes: u64,
    pub seed: u64,
}

/// The default benchmark fixture: about 256 MiB in 64 MiB segments, one partition of
/// topic `demo`. `zc fixture gen` with no options writes the same log.
pub fn default_spec() -> GenSpec {
    GenSpec {
        topic: "demo".into(),
        partitions: 1,
        amount: Amount::Bytes(256 << 20),
        value_size: 1000,
        key_size: 16,
        records_per_batch: 16,
        segment_bytes: 64 << 20,
        seed: 42,
    }
}

impl GenSpec {
    /// Size in bytes of one full batch of this spec's records (all batches but maybe the
    /// last have this size, since records differ only in content).
    pub fn batch_bytes(&self) -> u64 {
        let mut total = HEADER_LEN as u64;
        for i in 0..self.records_per_batch {
            total += self.record_bytes(i as i32, i64::from(i));
        }
        total
    }

    fn record_bytes(&self, offset_delta: i32, timestamp_delta: i64) -> u64 {
        let key = if self.key_size == 0 {
            varint::varint_len(-1)
        } else {
            varint::varint_len(self.key_size as i32) + self.key_size
        };
        let body = 1
            + varint::varlong_len(timestamp_delta)
            + varint::varint_len(offset_delta)
            + key
            + varint::varint_len(self.value_size as i32)
            + self.value_size
            + 1;
        (varint::varint_len(body as i32) + body) as u64
    }

    /// Expected total `.log` bytes, for progress bars.
    pub fn estimated_bytes(&self) -> u64 {
        match self.amount {
            Amount::Bytes(b) => b,
            Amount::Records(n) => {
                n.div_ceil(u64::from(self.records_per_batch.max(1))) * self.batch_bytes()
            }
        }
    }

    /// Checks every argument before anything is written; each error names the argument,
    /// the allowed range and what to change.
    pub fn validate(&self) -> Result<(), UsageError> {
        let fail = |msg: String| Err(UsageError(msg));
        if let Err(e) = partition::validate_topic(&self.topic) {
            return fail(format!("--topic: {e}"));
        }
        if !(1..=1024).contains(&self.partitions) {
            return fail(format!(
                "--partitions must be 1 to 1024, found {}",
                self.partitions
            ));
        }
        if !(1..=100_000).contains(&self.records_per_batch) {
            return fail(format!(
                "--records-per-batch must be 1 to 100000, found {}",
                self.records_per_batch
            ));
        }
        for (arg, size) in [
            ("--value-size", self.value_size),
            ("--key-size", self.key_size),
        ] {
            if size > MAX_BATCH_BYTES as usize {
                return fail(format!(
                    "{arg} {size} is larger than a whole batch may be ({MAX_BATCH_BYTES} bytes, Kafka's max.message.bytes); use at most that"
                ));
            }
        }
        let batch = self.batch_bytes();
        if batch > MAX_BATCH_BYTES {
            return fail(format!(
                "a batch of {} records of this size is {batch} bytes, above Kafka's max.message.bytes ({MAX_BATCH_BYTES}); lower --records-per-batch or --value-size",
                self.records_per_batch
            ));
        }
        if self.segment_bytes < batch || self.segment_bytes > MAX_SEGMENT_BYTES {
            return fail(format!(
                "--segment-bytes must be between one batch ({batch} bytes) and {MAX_SEGMENT_BYTES} (Kafka's limit), found {}",
                self.segment_bytes
            ));
        }
        match self.amount {
            Amount::Bytes(b) if b < batch * u64::from(self.partitions) => fail(format!(
                "--size {b} is smaller than one batch per partition ({} bytes); raise --size or lower --records-per-batch",
                batch * u64::from(self.partitions)
            )),
            Amount::Bytes(b) if b > 1 << 40 => fail(format!(
                "--size must be at most 1 TiB, found {}",
                format_size(b)
            )),
            Amount::Records(n) if n < u64::from(self.partitions) => fail(format!(
                "--records must be at least one per partition ({}), found {n}",
                self.partitions
            )),
            _ => Ok(()),
        }
    }
}

/// What a generated directory says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub generator: String,
    pub spec: GenSpec,
    pub records: u64,
    pub bytes: u64,
    /// BLAKE3 of the partition files, see [`hash_log`].
    pub blake3: String,
}

/// Generates the log described by `spec` at `out`. `progress` is told the `.log` bytes
/// written so far. An existing `out` is replaced only with `force`.
pub fn generate(
    spec: &GenSpec,
    out: &Path,
    force: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Manifest> {
    spec.validate()?;
    if out.exists() && !force {
        return Err(UsageError(format!(
            "{} already exists; pass --force to replace it, or choose another --out",
            out.display()
        ))
        .into());
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".zc-gen-")
        .tempdir_in(parent)
        .with_context(|| {
            format!(
                "cannot create a temporary directory in {}",
                parent.display()
            )
        })?;

    let (records, bytes) = write_partitions(spec, staging.path(), progress)?;
    let blake3 = hash_log(staging.path())?;
    let manifest = Manifest {
        generator: "zc fixture gen".into(),
        spec: spec.clone(),
        records,
        bytes,
        blake3,
    };
    let json = serde_json::to_string_pretty(&manifest)? + "\n";
    fs::write(staging.path().join(MANIFEST), json).context("cannot write the manifest")?;

    // Move the finished log into place. A directory cannot be renamed over a non-empty
    // one, so an old log steps aside first and is deleted only after the swap.
    let staged = staging.keep();
    let retired = if out.exists() {
        let aside = parent.join(format!(".zc-old-{}", std::process::id()));
        fs::rename(out, &aside).with_context(|| format!("cannot move {} aside", out.display()))?;
        Some(aside)
    } else {
        None
    };
    fs::rename(&staged, out).with_context(|| format!("cannot rename into {}", out.display()))?;
    if let Some(old) = retired {
        fs::remove_dir_all(&old).with_context(|| format!("cannot remove {}", old.display()))?;
    }
    // The files are final now (renaming the directory changes none of their stamps).
    remember_hash(out, files_stamp(out)?, &manifest.blake3);
    Ok(manifest)
}

/// Reads a directory's manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a zc manifest", path.display()))
}

fn write_partitions(
    spec: &GenSpec,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<(u64, u64)> {
    let parts = u64::from(spec.partitions);
    let mut written = 0u64;
    let mut records = 0u64;
    for p in 0..spec.partitions {
        // Spread the amount evenly; the first partitions take any remainder.
        let share = |total: u64| total / parts + u64::from(u64::from(p) < total % parts);
        let limit = match spec.amount {
            Amount::Bytes(b) => Amount::Bytes(share(b)),
            Amount::Records(n) => Amount::Records(share(n)),
        };
        let path = dir.join(partition::dir_name(&spec.topic, p));
        let (n, b) = write_partition(spec, p, limit, &path, &mut |b| progress(written + b))
            .with_context(|| format!("cannot write {}", path.display()))?;
        records += n;
        written += b;
    }
    Ok((records, written))
}

fn write_partition(
    spec: &GenSpec,
    partition: u32,
    limit: Amount,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> io::Result<(u64, u64)> {
    let config = LogConfig {
        segment_bytes: spec.segment_bytes,
        ..LogConfig::default()
    };
    let mut log = PartitionLog::create(dir, config)?;
    let mut generator = RecordGen::new(spec, partition);
    let mut batch = Vec::with_capacity(spec.batch_bytes() as usize);
    let (mut records, mut bytes) = (0u64, 0u64);
    loop {
        let count = match limit {
            Amount::Records(n) => (n - records).min(u64::from(spec.records_per_batch)),
            Amount::Bytes(_) => u64::from(spec.records_per_batch),
        };
        if count == 0 {
            break;
        }
        batch.clear();
        generator.batch(&mut batch, log.log_end_offset(), count, None);
        if let Amount::Bytes(max) = limit
            && bytes + batch.len() as u64 > max
        {
            break;
        }
        log.append_batches(&mut batch).map_err(io::Error::other)?;
        records += count;
        bytes += batch.len() as u64;
        progress(bytes);
    }
    log.close()?;
    Ok((records, bytes))
}

/// The fixture's records, in offset order: the one generator behind `zc fixture gen` and
/// `zc bench write`, so both write the same bytes for the same arguments.
pub struct RecordGen {
    values: ValueGen,
    key: Vec<u8>,
}

impl RecordGen {
    /// The generator of partition `partition` of `spec` (only its sizes and seed matter).
    pub fn new(spec: &GenSpec, partition: u32) -> Self {
        RecordGen {
            values: ValueGen::new(spec.seed, partition, spec.value_size),
            key: vec![0u8; spec.key_size],
        }
    }

    /// Appends one batch holding records `first..first + count` to `out`, built as a
    /// producer builds it (base offset 0: appending assigns the offsets). With
    /// `record_ends`, pushes where each record ends, relative to the batch's start (the
    /// first one includes the 61-byte header).
    pub fn batch(
        &mut self,
        out: &mut Vec<u8>,
        first: i64,
        count: u64,
        mut record_ends: Option<&mut Vec<usize>>,
    ) -> usize {
        let mut builder = BatchBuilder::new(out, 0);
        for offset in first..first + count as i64 {
            let value = self.values.value(offset);
            fill_key(&mut self.key, offset);
            let key = (!self.key.is_empty()).then_some(&self.key[..]);
            builder.append(BASE_TIMESTAMP + offset, key, Some(value), &[]);
            if let Some(ends) = record_ends.as_deref_mut() {
                ends.push(builder.len());
            }
        }
        builder.finish()
    }
}

/// The fixture's record values, one after another: `0:000000000042 ` then letters,
/// readable, numbered and different in every record. `zc fixture gen` and `zc bench
/// write` get them through [`RecordGen`]; `zc produce --records` directly.
pub struct ValueGen {
    partition: u32,
    rng: SplitMix64,
    letters: Letters,
    value: Vec<u8>,
}

impl ValueGen {
    /// Values of `size` bytes for `partition`, from `seed` (a fixture's [`GenSpec::seed`]).
    pub fn new(seed: u64, partition: u32, size: usize) -> Self {
        let mut rng = SplitMix64::new(seed ^ u64::from(partition).wrapping_mul(GOLDEN_GAMMA));
        let letters = Letters::new(size, &mut rng);
        ValueGen {
            partition,
            rng,
            letters,
            value: vec![0u8; size],
        }
    }

    /// The value of the record at `offset` (the next draw: call in offset order).
    pub fn value(&mut self, offset: i64) -> &[u8] {
        fill_value(
            &mut self.value,
            self.partition,
            offset,
            &self.letters,
            &mut self.rng,
        );
        &self.value
    }

    /// The value [`ValueGen::value`] returned last, again.
    pub fn last(&self) -> &[u8] {
        &self.value
    }
}

/// Pseudo-random letters to cut values from. Drawing every byte of every value from the
/// generator costs about a nanosecond a byte, as much as writing it; copying a slice from
/// a random place in a pool is a `memcpy`, and values still differ from record to record.
struct Letters {
    pool: Vec<u8>,
}

impl Letters {
    /// A pool of at least 1 MiB, and at least twice the longest value.
    fn new(value_size: usize, rng: &mut SplitMix64) -> Self {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
        let mut pool = vec![0u8; (1 << 20).max(2 * value_size)];
        for chunk in pool.chunks_mut(8) {
            let bits = rng.next().to_le_bytes();
            for (byte, b) in chunk.iter_mut().zip(bits) {
                *byte = ALPHABET[usize::from(b & 63)];
            }
        }
        Letters { pool }
    }

    /// `len` letters from a pseudo-random place in the pool.
    fn slice(&self, len: usize, rng: &mut SplitMix64) -> &[u8] {
        let start = (rng.next() % (self.pool.len() - len + 1) as u64) as usize;
        &self.pool[start..start + len]
    }
}

/// `0:000000000042 ` then letters: readable, numbered, and different in every record.
fn fill_value(
    value: &mut [u8],
    partition: u32,
    offset: i64,
    letters: &Letters,
    rng: &mut SplitMix64,
) {
    let mut prefix = [0u8; 32];
    let mut cursor = &mut prefix[..];
    write!(cursor, "{partition}:{offset:012} ").expect("fits in 32 bytes");
    let prefix_len = 32 - cursor.len();
    let n = prefix_len.min(value.len());
    value[..n].copy_from_slice(&prefix[..n]);
    let rest = value.len() - n;
    value[n..].copy_from_slice(letters.slice(rest, rng));
}

/// The offset in decimal, zero-padded (or cut to its last digits) to the key size.
fn fill_key(key: &mut [u8], offset: i64) {
    let mut n = offset as u64;
    for byte in key.iter_mut().rev() {
        *byte = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64 (Steele, Lea, Flood 2014). Written out rather than taken from a crate on
/// purpose: the fixture's bytes are a contract pinned by a byte-identity test, so the
/// generator must be a fixed, published function that no dependency update can change.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Every file of every partition directory of the log at `dir`, in sorted order.
fn log_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for part in super::check::partitions(dir)? {
        for entry in fs::read_dir(&part.path)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// BLAKE3 over every file of every partition directory, in sorted order, each preceded
/// by its relative path and length, so renaming or moving bytes changes the hash too.
/// BLAKE3 rather than SHA-256 because it hashes several times faster, and any
/// cryptographic hash would do here. Benchmarks call [`log_hash`], which reuses it.
pub fn hash_log(dir: &Path) -> Result<String> {
    let mut hasher = blake3::Hasher::new();
    for path in log_files(dir)? {
        let rel = path.strip_prefix(dir).unwrap_or(&path);
        let file = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        let len = file.metadata()?.len();
        hasher.update(rel.to_string_lossy().as_bytes());
        hasher.update(&[0]);
        hasher.update(&len.to_be_bytes());
        if len > 0 {
            // Hashing from a mapping saves read()'s copy of every byte into a buffer.
            // SAFETY: a fixture is not modified while it is hashed; if another process
            // truncated it anyway, the access would fault (SIGBUS) rather than hash garbage.
            let map = unsafe { memmap2::Mmap::map(&file) }
                .with_context(|| format!("cannot map {}", path.display()))?;
            hasher.update(&map);
        }
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// What [`log_hash`] remembers about one log directory.
#[derive(Serialize, Deserialize)]
struct HashCache {
    /// [`files_stamp`] when `blake3` was computed.
    stamp: String,
    blake3: String,
}

/// Where [`log_hash`] keeps its answer for the log at `dir`: in zc's cache directory
/// (never inside the log, which may be read-only or committed to a repository), one
/// file per log directory, named after the directory's canonical path.
fn hash_cache_file(dir: &Path) -> Option<PathBuf> {
    let canonical = fs::canonicalize(dir).ok()?;
    let key = blake3::hash(canonical.as_os_str().as_encoded_bytes()).to_hex();
    Some(
        cache_dir()
            .ok()?
            .join("log-hashes")
            .join(format!("{key}.json")),
    )
}

/// What changes whenever a file of the log could have changed: each file's name, size,
/// inode, modification and status-change times. The status-change time (ctime) cannot be
/// set back by a user (`touch -d` sets it to now), so a rewrite always shows.
fn files_stamp(dir: &Path) -> Result<String> {
    use std::os::unix::fs::MetadataExt;
    let mut stamp = blake3::Hasher::new();
    for path in log_files(dir)? {
        let m = fs::metadata(&path).with_context(|| format!("cannot stat {}", path.display()))?;
        let line = format!(
            "{}\0{} {} {}.{} {}.{}\n",
            path.strip_prefix(dir).unwrap_or(&path).display(),
            m.len(),
            m.ino(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        );
        stamp.update(line.as_bytes());
    }
    Ok(stamp.finalize().to_hex().to_string())
}

/// The log's [`hash_log`], recomputed only when a file changed since it was last computed
/// (hashing 1 GiB costs ~0.3 s of CPU, at every benchmark start otherwise). The answer is
/// kept in zc's cache directory, keyed by the log's path and its files' stamps.
pub fn log_hash(dir: &Path) -> Result<String> {
    let stamp = files_stamp(dir)?;
    let cached = hash_cache_file(dir)
        .and_then(|file| fs::read_to_string(file).ok())
        .and_then(|text| serde_json::from_str::<HashCache>(&text).ok());
    if let Some(c) = cached
        && c.stamp == stamp
    {
        return Ok(c.blake3);
    }
    let blake3 = hash_log(dir)?;
    remember_hash(dir, stamp, &blake3);
    Ok(blake3)
}

/// Best effort: without the cache the next start hashes again, nothing worse.
fn remember_hash(dir: &Path, stamp: String, blake3: &str) {
    let Some(file) = hash_cache_file(dir) else {
        return;
    };
    let cache = HashCache {
        stamp,
        blake3: blake3.to_owned(),
    };
    if let (Some(parent), Ok(json)) = (file.parent(), serde_json::to_string(&cache)) {
        let _ = fs::create_dir_all(parent).and_then(|()| fs::write(&file, json + "\n"));
    }
}

/// Where the default fixture lives: `$ZC_CACHE_DIR`, else `$XDG_CACHE_HOME/zc`, else
/// `~/.cache/zc`.
pub fn cache_dir() -> Result<PathBuf> {
    let var = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("ZC_CACHE_DIR") {
        return Ok(dir);
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return Ok(dir.join("zc"));
    }
    match var("HOME") {
        Some(home) => Ok(home.join(".cache").join("zc")),
        None => bail!("no cache directory: set ZC_CACHE_DIR (or XDG_CACHE_HOME or HOME)"),
    }
}

/// The default fixture, and whether it had to be (re)made this time and why.
pub struct DefaultFixture {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub regenerated: Option<String>,
}

/// Returns the default benchmark fixture, generating it into the cache directory the
/// first time, and again whenever its manifest or contents no longer match.
pub fn default_fixture(progress: &mut dyn FnMut(u64)) -> Result<DefaultFixture> {
    cached(&default_spec(), &cache_dir()?.join("default-log"), progress)
}

/// The log of `spec` at `path`: reused when its manifest has the same spec and its files
/// still hash to the manifest's hash, (re)generated otherwise.
fn cached(spec: &GenSpec, path: &Path, progress: &mut dyn FnMut(u64)) -> Result<DefaultFixture> {
    let reason = match read_manifest(path) {
        Err(_) if !path.exists() => "it did not exist yet".to_owned(),
        Err(e) => format!("unreadable manifest ({e:#})"),
        Ok(m) if m.spec != *spec => "generated with other settings".into(),
        Ok(m) => match log_hash(path) {
            Ok(h) if h == m.blake3 => {
                return Ok(DefaultFixture {
                    path: path.to_owned(),
                    manifest: m,
                    regenerated: None,
                });
            }
            Ok(_) => "contents no longer match the manifest hash".into(),
            Err(e) => format!("cannot be read ({e:#})"),
        },
    };
    let manifest = generate(spec, path, true, progress)?;
    Ok(DefaultFixture {
        path: path.to_owned(),
        manifest,
        regenerated: Some(reason),
    })
}

#[cfg(test)]
mod tests;
