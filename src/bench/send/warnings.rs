//! Typed warnings: each says what went wrong with the measurement and what to do about it.
//!
//! A benchmark that quietly measures the wrong thing teaches the wrong lesson, so the
//! runner checks its own conditions (counters, cache state, the network stack, noise)
//! and reports them as data; the reporters print `warning: <message>` and `  fix: <remedy>`.

use serde::{Deserialize, Serialize};

use crate::transfer::Mode;
use crate::units::format_size;

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
