//! The broker's topics: each a fixed set of partitions, each partition a [`PartitionLog`]
//! behind its own mutex.
//!
//! Locking is deliberately coarse and short. A producer holds a partition's lock while it
//! appends (one writer per partition, like Kafka's log lock). A fetch holds it only long
//! enough to compute which file region to send; the bytes then go to the socket *after*
//! the lock is released. That is safe because segments only grow while the broker runs:
//! nothing truncates or deletes a segment that a fetch may still be sending
//! (docs/kafka-protocol.md §10, pitfall 10).
//!
//! Topics change shape only through the admin APIs. CreatePartitions swaps in a new
//! [`Topic`] holding the old partitions plus the new ones, so a request still holding the
//! old one sees a consistent, smaller topic. DeleteTopics marks the topic deleted, then
//! takes each partition's lock once (an append in progress finishes first; every later
//! lookup of the partition finds nothing), and only then renames the directories away and
//! removes them. A fetch already sending bytes keeps its open file: on Linux an unlinked
//! file's pages stay readable until the last descriptor closes, which is also how Kafka
//! deletes segments under its readers.
//!
//! An [`AppendSignal`] tells waiting fetches (`max_wait_ms`) that something was appended:
//! one per topic, so an append wakes only the fetches waiting on that topic (with hundreds
//! of idle consumers spread over topics, one broker-wide signal woke every one of them on
//! every append), plus one broker-wide for fetches that span several topics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};

use super::fds;
use crate::log::partition::{self, FlushPolicy, LogConfig, PartitionLog};
use crate::log::recovery::RecoveryReport;
use crate::log::segment;

/// Partitions of a topic created on first use, unless `zc serve --partitions` says
/// otherwise (Kafka's `num.partitions` default).
pub const AUTO_CREATE_PARTITIONS: u32 = 1;

pub struct Topic {
    pub partitions: Vec<Arc<Mutex<PartitionLog>>>,
    /// Raised after every append to any of this topic's partitions.
    pub appended: AppendSignal,
    /// Set by DeleteTopics, shared with the topic's earlier shapes (before CreatePartitions).
    deleted: Arc<AtomicBool>,
}

impl Topic {
    fn new(partitions: Vec<Arc<Mutex<PartitionLog>>>) -> Topic {
        Topic {
            partitions,
            appended: AppendSignal::default(),
            deleted: Arc::default(),
        }
    }
}

/// What [`Topics::create`] found or made.
pub enum Created {
    New(Arc<Topic>),
    /// The topic existed already; nothing was created.
    Existing(Arc<Topic>),
}

/// "Something was appended": a counter that only grows, and a condition variable to wait
/// for it to move. Waiters read the counter before looking for data and wait only while it
/// has not moved, so an append between the look and the wait is never missed.
#[derive(Default)]
pub struct AppendSignal {
    generation: Mutex<u64>,
    cv: Condvar,
}

impl AppendSignal {
    /// Wakes everything waiting on this signal.
    pub fn raise(&self) {
        *self.generation.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.cv.notify_all();
    }

    /// The current generation, to pass to [`AppendSignal::wait`].
    pub fn generation(&self) -> u64 {
        *self.generation.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until the signal is raised after `generation`, or `timeout` passes.
    pub fn wait(&self, generation: u64, timeout: Duration) {
        let guard = self.generation.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self
            .cv
            .wait_timeout_while(guard, timeout, |g| *g == generation);
    }
}

impl Topic {
    /// The partition, locked; `None` if there is no such partition or the topic was
    /// deleted (checked after taking the lock, which DeleteTopics takes after marking).
    pub fn partition(&self, index: i32) -> Option<MutexGuard<'_, PartitionLog>> {
        let p = self.partitions.get(usize::try_from(index).ok()?)?;
        // A panic while holding the lock cannot leave a half-appended batch visible
        // (appends publish their end offset last), so a poisoned lock is still usable.
        let guard = p.lock().unwrap_or_else(|e| e.into_inner());
        (!self.deleted.load(SeqCst)).then_some(guard)
    }
}

/// Why a topic could not be created.
#[derive(Debug)]
pub enum CreateError {
    /// The name breaks Kafka's rules: INVALID_TOPIC_EXCEPTION, and nothing touches the disk.
    InvalidName(String),
    /// `asked` more partitions would take the broker past `--max-partitions`.
    TooManyPartitions {
        max: usize,
        held: usize,
        asked: u32,
    },
    /// Opening the partition would eat into the descriptors connections need.
    OutOfDescriptors {
        open: u64,
        limit: u64,
        reserve: u64,
    },
    Io(anyhow::Error),
}

impl std::fmt::Display for CreateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CreateError::InvalidName(why) => f.write_str(why),
            CreateError::TooManyPartitions { max, held, asked } => write!(
                f,
                "{asked} more partition(s) would make {} on this broker, over its limit of \
                 {max} (zc serve --max-partitions {max}; {held} are held now)",
                held + *asked as usize
            ),
            CreateError::OutOfDescriptors {
                open,
                limit,
                reserve,
            } => write!(
                f,
                "{open} of {limit} file descriptors are open and {reserve} are kept for \
                 connections: raise the limit (ulimit -n, LimitNOFILE) or lower \
                 --max-connections"
            ),
            CreateError::Io(e) => write!(f, "{e:#}"),
        }
    }
}

/// What the topics may grow to.
#[derive(Clone, Copy, Debug)]
pub struct TopicLimits {
    /// Partitions of a topic created on first use or without a count (`--partitions`).
    pub default_partitions: u32,
    /// Partitions the broker holds at most, all topics together (`--max-partitions`).
    pub max_partitions: usize,
    /// Topics one request may create (`--max-creations-per-request`).
    pub max_creations_per_request: usize,
    /// Descriptors kept free for connections and the rest of the process.
    pub fd_reserve: u64,
}

/// The name prefix of a partition directory being created: it is renamed into place only
/// once complete, so a crash or a failure halfway never leaves a partition without its
/// files. `~` cannot appear in a topic name, so no partition directory looks like this,
/// and the name stays short (a 249-character topic's directory name is near the 255 limit).
const CREATING: &str = "~creating-";
/// The name prefix of a partition directory being deleted, for the same reason.
const DELETING: &str = "~deleting-";

pub struct Topics {
    log_dir: PathBuf,
    config: LogConfig,
    pub limits: TopicLimits,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Raised after every append to any topic, for fetches that span several.
    appended: AppendSignal,
}

impl Topics {
    /// Opens every partition found in `log_dir`, recovering each; returns what recovery
    /// did, per partition directory, so the server can log it.
    pub fn open(
        log_dir: &Path,
        config: LogConfig,
        limits: TopicLimits,
    ) -> Result<(Topics, Vec<(PathBuf, RecoveryReport)>)> {
        std::fs::create_dir_all(log_dir)
            .with_context(|| format!("cannot create the log directory {}", log_dir.display()))?;
        remove_unfinished(log_dir)?;
        let dirs = partition::list_partitions(log_dir)
            .with_context(|| format!("cannot list {}", log_dir.display()))?;
        check_descriptors(log_dir, &dirs)?;
        let mut by_topic: BTreeMap<String, Vec<(u32, PartitionLog)>> = BTreeMap::new();
        let mut reports = Vec::new();
        for dir in dirs {
            let (log, report) = PartitionLog::open(&dir.path, config)
                .with_context(|| format!("cannot open {}", dir.path.display()))?;
            reports.push((dir.path.clone(), report));
            by_topic
                .entry(dir.topic)
                .or_default()
                .push((dir.partition, log));
        }
        let mut topics = BTreeMap::new();
        for (name, mut parts) in by_topic {
            parts.sort_by_key(|(p, _)| *p);
            // Kafka numbers partitions 0..n; a gap would make a partition unreachable.
            if let Some((i, (p, _))) = parts
                .iter()
                .enumerate()
                .find(|(i, (p, _))| *p as usize != *i)
            {
                anyhow::bail!(
                    "topic {name} has partition {p} but not partition {i}: partitions must be numbered 0, 1, 2, ... in {}",
                    log_dir.display()
                );
            }
            let partitions = parts
                .into_iter()
                .map(|(_, log)| Arc::new(Mutex::new(log)))
                .collect();
            topics.insert(name, Arc::new(Topic::new(partitions)));
        }
        Ok((
            Topics {
                log_dir: log_dir.to_owned(),
                config,
                limits,
                topics: RwLock::new(topics),
                appended: AppendSignal::default(),
            },
            reports,
        ))
    }

    /// The settings every partition is created and opened with.
    pub fn config(&self) -> LogConfig {
        self.config
    }

    pub fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.read().get(name).cloned()
    }

    /// Every topic, sorted by name.
    pub fn all(&self) -> Vec<(String, Arc<Topic>)> {
        self.read()
            .iter()
            .map(|(n, t)| (n.clone(), t.clone()))
            .collect()
    }

    /// The topic, created with `--partitions` partitions if it does not exist yet, within
    /// the partition cap and the descriptor budget.
    pub fn get_or_create(&self, name: &str) -> Result<Arc<Topic>, CreateError> {
        if let Some(t) = self.get(name) {
            return Ok(t);
        }
        match self.create(name, self.limits.default_partitions, false)? {
            Created::New(t) | Created::Existing(t) => Ok(t),
        }
    }

    /// Creates `name` with `partitions` partitions (CreateTopics, auto-creation), within the
    /// partition cap and the descriptor budget; with `validate_only`, checks and stops there
    /// (the returned topic is then an empty stand-in, never registered).
    pub fn create(
        &self,
        name: &str,
        partitions: u32,
        validate_only: bool,
    ) -> Result<Created, CreateError> {
        partition::validate_topic(name).map_err(CreateError::InvalidName)?;
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        // Another connection may have created it while we waited for the write lock.
        if let Some(t) = topics.get(name) {
            return Ok(Created::Existing(t.clone()));
        }
        self.check_room(&topics, partitions)?;
        if validate_only {
            return Ok(Created::New(Arc::new(Topic::new(Vec::new()))));
        }
        let partitions = (0..partitions)
            .map(|p| {
                self.create_partition(name, p)
                    .map(|log| Arc::new(Mutex::new(log)))
            })
            .collect::<Result<Vec<_>>>()
            .map_err(CreateError::Io)?;
        let topic = Arc::new(Topic::new(partitions));
        topics.insert(name.to_owned(), topic.clone());
        Ok(Created::New(topic))
    }

    /// Grows `name` to `total` partitions (CreatePartitions). `Ok(None)`: no such topic.
    /// The caller has checked that `total` is larger than the current count.
    pub fn add_partitions(
        &self,
        name: &str,
        total: u32,
        validate_only: bool,
    ) -> Result<Option<Arc<Topic>>, CreateError> {
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        let Some(old) = topics.get(name).cloned() else {
            return Ok(None);
        };
        let have = old.partitions.len() as u32;
        self.check_room(&topics, total.saturating_sub(have))?;
        if validate_only {
            return Ok(Some(old));
        }
        let mut partitions = old.partitions.clone();
        for p in have..total {
            let log = self.create_partition(name, p).map_err(CreateError::Io)?;
            partitions.push(Arc::new(Mutex::new(log)));
        }
        let topic = Arc::new(Topic {
            partitions,
            appended: AppendSignal::default(),
            deleted: old.deleted.clone(),
        });
        topics.insert(name.to_owned(), topic.clone());
        // Fetches waiting on the old shape's signal look again (and find the new shape).
        old.appended.raise();
        Ok(Some(topic))
    }

    /// Deletes `name` (DeleteTopics): false if there is no such topic. See the module docs
    /// for why a fetch still sending from the topic's files is not disturbed.
    pub fn delete(&self, name: &str) -> Result<bool> {
        let Some(topic) = self
            .topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
        else {
            return Ok(false);
        };
        topic.deleted.store(true, SeqCst);
        // Wait out any append or read that took a partition's lock before the mark.
        for p in &topic.partitions {
            drop(p.lock().unwrap_or_else(|e| e.into_inner()));
        }
        static NEXT: AtomicU64 = AtomicU64::new(0);
        for p in 0..topic.partitions.len() as u32 {
            let dir = self.log_dir.join(partition::dir_name(name, p));
            // Renamed first, so a crash before the removal ends leaves no half-deleted
            // partition under the topic's name (start-up removes the leftovers).
            let doomed = self.log_dir.join(format!(
                "{DELETING}{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Relaxed)
            ));
            std::fs::rename(&dir, &doomed)
                .with_context(|| format!("cannot rename {} away", dir.display()))?;
            segment::sync_dir(&self.log_dir)?;
            std::fs::remove_dir_all(&doomed)
                .with_context(|| format!("cannot remove {}", doomed.display()))?;
        }
        self.appended.raise();
        topic.appended.raise();
        Ok(true)
    }

    /// Fails unless `more` partitions fit the cap and the descriptor budget.
    fn check_room(
        &self,
        topics: &BTreeMap<String, Arc<Topic>>,
        more: u32,
    ) -> Result<(), CreateError> {
        let held: usize = topics.values().map(|t| t.partitions.len()).sum();
        if held + more as usize > self.limits.max_partitions {
            return Err(CreateError::TooManyPartitions {
                max: self.limits.max_partitions,
                held,
                asked: more,
            });
        }
        self.check_headroom(u64::from(more) * fds::PER_NEW_PARTITION)
    }

    /// Fails unless `needed` more descriptors leave the reserve untouched.
    fn check_headroom(&self, needed: u64) -> Result<(), CreateError> {
        let io = |e: std::io::Error| CreateError::Io(anyhow::Error::new(e));
        let (open, limit) = (fds::open_count().map_err(io)?, fds::limit().map_err(io)?);
        let reserve = self.limits.fd_reserve;
        if open + needed + reserve > limit {
            return Err(CreateError::OutOfDescriptors {
                open,
                limit,
                reserve,
            });
        }
        Ok(())
    }

    /// Creates partition `p` of `topic` under a temporary name, renames it into place and
    /// opens it: the directory appears whole or not at all.
    fn create_partition(&self, topic: &str, p: u32) -> Result<PartitionLog> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = self.log_dir.join(partition::dir_name(topic, p));
        let creating = self
            .log_dir
            .join(format!("{CREATING}{}", NEXT.fetch_add(1, Relaxed)));
        let made = (|| {
            if creating.exists() {
                std::fs::remove_dir_all(&creating)?;
            }
            drop(PartitionLog::create(&creating, self.config)?);
            std::fs::rename(&creating, &dir)?;
            if self.config.flush == FlushPolicy::Always {
                segment::sync_dir(&self.log_dir)?;
            }
            Ok::<_, std::io::Error>(())
        })();
        if let Err(e) = made {
            let _ = std::fs::remove_dir_all(&creating);
            return Err(e).with_context(|| format!("cannot create {}", dir.display()));
        }
        // Reopened under its final name (the segments know their paths); an empty segment
        // is recovered in a few system calls.
        let (log, _) = PartitionLog::open(&dir, self.config)
            .with_context(|| format!("cannot open {}", dir.display()))?;
        Ok(log)
    }

    /// The highest idempotent producer id found in any partition.
    pub fn max_producer_id(&self) -> Option<i64> {
        let topics = self.read();
        let partitions = topics.values().flat_map(|t| t.partitions.iter());
        partitions
            .filter_map(|p| {
                p.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .max_producer_id()
            })
            .max()
    }

    /// Wakes the fetches waiting for data in `topic`, and those waiting on any topic.
    pub fn notify_appended(&self, topic: &Topic) {
        topic.appended.raise();
        self.appended.raise();
    }

    /// The signal a fetch of several topics waits on: raised by an append to any topic.
    pub fn any_append(&self) -> &AppendSignal {
        &self.appended
    }

    /// Closes every partition cleanly (indexes trimmed, clean-shutdown marker written).
    pub fn shutdown(self) -> Result<()> {
        let topics = self.topics.into_inner().unwrap_or_else(|e| e.into_inner());
        for (name, topic) in topics {
            let topic = Arc::try_unwrap(topic)
                .map_err(|_| anyhow::anyhow!("topic {name} is still in use at shutdown"))?;
            for (p, log) in topic.partitions.into_iter().enumerate() {
                let log = Arc::try_unwrap(log).map_err(|_| {
                    anyhow::anyhow!("partition {name}-{p} is still in use at shutdown")
                })?;
                log.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .shutdown()
                    .with_context(|| format!("cannot close {name}-{p}"))?;
            }
        }
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Topic>>> {
        self.topics.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Removes partition directories whose creation never finished (a crash mid-way).
fn remove_unfinished(log_dir: &Path) -> Result<()> {
    for entry in
        std::fs::read_dir(log_dir).with_context(|| format!("cannot list {}", log_dir.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() && (name.starts_with(CREATING) || name.starts_with(DELETING))
        {
            std::fs::remove_dir_all(entry.path())
                .with_context(|| format!("cannot remove {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Refuses to start when the partitions found could not all be opened within the
/// descriptor limit, naming the figures and the fix, rather than failing on `EMFILE`
/// somewhere in the middle.
fn check_descriptors(log_dir: &Path, dirs: &[partition::PartitionDir]) -> Result<()> {
    let reserve = fds::BASE_RESERVE;
    let mut segments = 0u64;
    for dir in dirs {
        segments += segment::list_segments(&dir.path)
            .with_context(|| format!("cannot list {}", dir.path.display()))?
            .len()
            .max(1) as u64;
    }
    // One `.log` per segment, and the active segment's two index files.
    let needed = segments + 2 * dirs.len() as u64;
    let (open, limit) = (fds::open_count()?, fds::limit()?);
    if open + needed + reserve > limit {
        anyhow::bail!(
            "{} holds {} partitions in {segments} segments, which need {needed} file \
             descriptors, {reserve} more are needed to serve at all, and this process may \
             open {limit} ({open} open already). Raise the limit (ulimit -n; LimitNOFILE= \
             for a systemd service)",
            log_dir.display(),
            dirs.len()
        );
    }
    Ok(())
}
