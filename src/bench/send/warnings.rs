//! Typed warnings: each says what went wrong with the measurement and what to do about it.
//!
//! A benchmark that quietly measures the wrong thing teaches the wrong lesson, so the
//! runner checks its own conditions (counters, cache state, the network stack, noise)
//! and reports them as data; the reporters print `warning: <message>` and `  fix: <remedy>`.

use serde::{Deserialize, Serialize};

use super::config::BenchConfig;
use super::results::{CacheState, Row, keys};
use crate::measure::{Probe, Reading};
use crate::net::{self, Congestion};
use crate::transfer::Mode;
use crate::units::format_size;

/// Runs whose throughput varies more than this share of the median are flagged as noisy.
const NOISY_SPREAD: f64 = 0.25;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// A probe counter could not be opened.
    CounterUnavailable { counter: String, reason: String },
    /// The congestion control in force paces packets, which caps loopback throughput.
    /// `why_not_cubic` says why `--cc auto` could not avoid it, when it tried.
    PacingCongestion {
        algorithm: String,
        why_not_cubic: Option<String>,
    },
    /// `--cc auto` could not get the algorithm it wanted (and the default does not pace).
    CongestionFallback { reason: String },
    /// No warm-up run: the first run of each mode pays first-touch costs.
    NoWarmup,
    /// `--verify` makes the sink copy every byte to checksum it.
    VerifyCopies,
    /// A warm run started with part of the fixture outside the page cache.
    NotInPageCache {
        mode: Mode,
        chunk: usize,
        residency: f64,
    },
    /// The runs of one row disagree by more than the threshold.
    NoisyRuns {
        mode: Mode,
        chunk: usize,
        metric: String,
        spread: f64,
    },
    /// Cold-cache runs measure the disk as much as the transfer mode.
    ColdCache,
    /// A run had to read from storage although it was meant to be warm.
    StorageReads {
        mode: Mode,
        chunk: usize,
        bytes: u64,
    },
}

impl Warning {
    pub fn message(&self) -> String {
        match self {
            Warning::CounterUnavailable { counter, reason } => {
                format!("counter {counter} unavailable: {reason}")
            }
            Warning::PacingCongestion {
                algorithm,
                why_not_cubic,
            } => {
                let mut m = format!(
                    "TCP congestion control {algorithm} paces packets; on loopback it caps throughput several-fold and hides the differences between modes"
                );
                if let Some(why) = why_not_cubic {
                    m.push_str(&format!(" ({why})"));
                }
                m
            }
            Warning::CongestionFallback { reason } => reason.clone(),
            Warning::NoWarmup => "--warmup 0: the first run of each mode pays for first-touch costs (page faults on buffers, TCP slow start, cold caches)".into(),
            Warning::VerifyCopies => "--verify: the sink reads and checksums every byte, so sink CPU and throughput include that copy".into(),
            Warning::NotInPageCache {
                mode,
                chunk,
                residency,
            } => format!(
                "{mode} chunk {}: only {:.0}% of the fixture was in the page cache before a warm run",
                format_size(*chunk as u64),
                residency * 100.0
            ),
            Warning::NoisyRuns {
                mode,
                chunk,
                metric,
                spread,
            } => format!(
                "{mode} chunk {}: {metric} varied by {:.0}% of the median between runs",
                format_size(*chunk as u64),
                spread * 100.0
            ),
            Warning::ColdCache => {
                "cold cache: every run reads the fixture from storage, so the disk dominates the figures".into()
            }
            Warning::StorageReads { mode, chunk, bytes } => format!(
                "{mode} chunk {}: a warm run read {} from storage",
                format_size(*chunk as u64),
                format_size(*bytes)
            ),
        }
    }

    pub fn remedy(&self) -> String {
        match self {
            // The probe's reasons already say what to change (permissions, PMU, tracefs).
            Warning::CounterUnavailable { .. } => {
                "see the reason; the figures that do not need this counter are unaffected".into()
            }
            Warning::PacingCongestion { .. } => {
                "run as root (--cc auto then picks cubic), or add cubic to net.ipv4.tcp_allowed_congestion_control".into()
            }
            Warning::CongestionFallback { .. } => {
                "run as root, or add cubic to net.ipv4.tcp_allowed_congestion_control".into()
            }
            Warning::NoWarmup => "keep at least --warmup 1 for figures to compare".into(),
            Warning::VerifyCopies => {
                "use --verify to check correctness, and runs without it for timing".into()
            }
            Warning::NotInPageCache { .. } | Warning::StorageReads { .. } => {
                "free memory or use a smaller --fixture; the machine is evicting the fixture between runs".into()
            }
            Warning::NoisyRuns { .. } => {
                "raise --runs, stop other work on the machine, or pin the threads with --pin".into()
            }
            Warning::ColdCache => {
                "compare with --cache warm to see the transfer modes themselves".into()
            }
        }
    }
}

/// The warnings the set-up calls for before any run: counters that could not open, the
/// congestion control in force, the cache state, and what `--verify` costs.
pub(super) fn static_warnings(
    cfg: &BenchConfig,
    congestion: &Congestion,
    probe: &Probe,
    loopback: bool,
) -> Vec<Warning> {
    let mut w = Vec::new();
    if cfg.counters {
        // One warning per distinct reason, naming every counter it affects.
        let mut by_reason: Vec<(String, Vec<&str>)> = Vec::new();
        for (name, reading) in probe.availability() {
            if let Reading::Unavailable(why) = reading {
                match by_reason.iter_mut().find(|(r, _)| *r == why) {
                    Some((_, names)) => names.push(name),
                    None => by_reason.push((why, vec![name])),
                }
            }
        }
        w.extend(
            by_reason
                .into_iter()
                .map(|(reason, names)| Warning::CounterUnavailable {
                    counter: names.join(", "),
                    reason,
                }),
        );
    }
    if loopback && net::is_pacing(&congestion.name) {
        w.push(Warning::PacingCongestion {
            algorithm: congestion.name.clone(),
            why_not_cubic: congestion.warning.clone(),
        });
    } else if let Some(reason) = &congestion.warning {
        w.push(Warning::CongestionFallback {
            reason: reason.clone(),
        });
    }
    if cfg.cache == CacheState::Cold {
        w.push(Warning::ColdCache);
    }
    if cfg.warmup == 0 {
        w.push(Warning::NoWarmup);
    }
    if cfg.verify {
        w.push(Warning::VerifyCopies);
    }
    w
}

/// The warnings one row's figures call for: a log not in the page cache (or read from
/// storage) when the cache should be warm, and runs too noisy to compare.
pub(super) fn row_warnings(row: &Row, cfg: &BenchConfig) -> Vec<Warning> {
    let mut w = Vec::new();
    let stat = |key| row.metric(key).and_then(|m| m.value.value());
    if cfg.cache == CacheState::Warm {
        if let Some(min) = stat(keys::RESIDENCY_BEFORE).map(|s| s.min)
            && min < 0.99
        {
            w.push(Warning::NotInPageCache {
                mode: row.mode,
                chunk: row.chunk,
                residency: min,
            });
        }
        // One log's size: with several consumers a run delivers it several times.
        let bytes = row
            .runs
            .first()
            .map_or(0, |r| r.bytes / u64::from(r.consumers.max(1))) as f64;
        if let Some(max) = stat(keys::STORAGE_READ_BYTES).map(|s| s.max)
            && max > 0.01 * bytes
        {
            w.push(Warning::StorageReads {
                mode: row.mode,
                chunk: row.chunk,
                bytes: max as u64,
            });
        }
    }
    if let Some(s) = stat(keys::THROUGHPUT)
        && s.runs > 1
        && s.spread() > NOISY_SPREAD
    {
        w.push(Warning::NoisyRuns {
            mode: row.mode,
            chunk: row.chunk,
            metric: keys::THROUGHPUT.into(),
            spread: s.spread(),
        });
    }
    w
}
