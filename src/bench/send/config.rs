//! A benchmark's settings, checked before anything runs.

use std::net::SocketAddr;

use super::results::CacheState;
use super::sink::SinkKind;
use crate::error::UsageError;
use crate::net::{CcChoice, Pin};
use crate::transfer::Mode;

/// Largest `--chunk`: beyond this a "chunk" is the whole file and the modes stop differing
/// in syscall count; it also bounds the user buffer read-write allocates.
pub const MAX_CHUNK: usize = 64 << 20;

/// Largest `--consumers`: each consumer is a sender thread and a sink thread, and on a
/// small machine hundreds of them would measure the scheduler rather than the data path.
pub const MAX_CONSUMERS: u32 = 64;

#[derive(Clone, Debug)]
pub struct BenchConfig {
    pub modes: Vec<Mode>,
    pub chunks: Vec<usize>,
    pub runs: u32,
    pub warmup: u32,
    pub cache: CacheState,
    pub sink: SinkKind,
    /// A remote `zc sink` instead of the in-process one.
    pub connect: Option<SocketAddr>,
    pub verify: bool,
    pub cc: CcChoice,
    pub pin: Option<Pin>,
    /// False with `--no-counters`: no perf counters or tracepoints, to measure their cost.
    pub counters: bool,
    /// False with `--no-profile`: no CPU-clock sampling of sender and sink.
    pub profile: bool,
    /// Consumers served at once: every run sends the whole log over this many
    /// connections concurrently, one sender thread each (`--consumers`).
    pub consumers: u32,
}

impl BenchConfig {
    /// Checks what clap cannot: combinations and machine limits.
    pub fn validate(&self) -> Result<(), UsageError> {
        if self.modes.is_empty() || self.chunks.is_empty() {
            return Err(UsageError(
                "give at least one --mode and one --chunk".into(),
            ));
        }
        if let Some(&c) = self.chunks.iter().find(|&&c| c == 0 || c > MAX_CHUNK) {
            return Err(UsageError(format!(
                "--chunk {c} is out of range: use 1 byte to {} (e.g. 4K,64K,1M)",
                crate::units::format_size(MAX_CHUNK as u64)
            )));
        }
        if self.consumers == 0 || self.consumers > MAX_CONSUMERS {
            return Err(UsageError(format!(
                "--consumers {} is out of range: use 1 to {MAX_CONSUMERS}",
                self.consumers
            )));
        }
        if self.consumers > 1 && self.connect.is_some() {
            return Err(UsageError(
                "--consumers above 1 needs the in-process sinks: `zc sink` serves one \
                 connection at a time, so the consumers would take turns instead of \
                 reading concurrently; drop --connect"
                    .into(),
            ));
        }
        if self.runs == 0 {
            return Err(UsageError("--runs must be at least 1".into()));
        }
        if let Some(pin) = self.pin {
            let online = crate::net::online_cpus()
                .map_err(|e| UsageError(format!("--pin: cannot count online CPUs: {e}")))?;
            pin.validate(online)
                .map_err(|e| UsageError(format!("--pin: {e}")))?;
        }
        Ok(())
    }
}
