//! `zc serve`'s settings, checked before anything listens or touches the log directory.
//!
//! The command turns its flags into a [`ServeConfig`], calls [`ServeConfig::validate`] and
//! only then starts the broker, so a bad flag is an exit-code-2 message naming the flag and
//! the fix, never a half-started server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::fds;
use super::inspect::{HeaderFilter, InspectSpec};
use super::topics::TopicLimits;
use crate::error::UsageError;
use crate::log::batch::{LOG_OVERHEAD, MIN_BATCH_LENGTH};
use crate::log::partition::FlushPolicy;
use crate::net::CcChoice;
use crate::transfer::Mode;

/// What one connection, and the broker as a whole, may hold or do.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_connections: usize,
    /// Kafka's `max.connections.per.ip`.
    pub max_connections_per_ip: usize,
    pub max_request_bytes: u64,
    /// Bytes all partially received requests may hold together (Kafka's
    /// `queued.max.request.bytes`), beyond a small allowance per connection.
    pub max_queued_request_bytes: u64,
    pub idle_timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    /// `HOST:PORT` given to clients in Metadata; `None`: the bound address.
    pub advertise: Option<String>,
    /// `None`: serve a private copy of the default log.
    pub log_dir: Option<PathBuf>,
    pub transfer: Mode,
    pub chunk: usize,
    pub cc: CcChoice,
    pub segment_bytes: u64,
    pub flush: FlushPolicy,
    pub limits: Limits,
    pub auto_create: bool,
    /// Partitions of all topics together (`--max-partitions`).
    pub max_partitions: usize,
    /// Partitions of an auto-created topic (`--partitions`, Kafka's `num.partitions`).
    pub partitions: u32,
    /// Largest batch a producer may append (`--max-message-bytes`).
    pub max_message_bytes: u64,
    /// Topics one Metadata or Produce request may create (`--max-creations-per-request`).
    pub max_creations_per_request: usize,
    pub inspect: bool,
    pub inspect_header: Option<String>,
    /// `--tls`: the TLS listener's address, and the user's certificate and key files
    /// (`None`: a throwaway certificate).
    pub tls: Option<TlsListen>,
}

/// The TLS listener of `zc serve --tls`.
#[derive(Clone, Debug)]
pub struct TlsListen {
    pub addr: SocketAddr,
    pub cert_and_key: Option<(PathBuf, PathBuf)>,
}

impl ServeConfig {
    /// Checks what clap cannot: ranges, combinations, and the texts parsed later.
    pub fn validate(&self) -> Result<(), UsageError> {
        if let Some(tls) = &self.tls
            && tls.addr == self.addr
            && tls.addr.port() != 0
        {
            return Err(UsageError(format!(
                "--tls-addr {} is --addr too: the TLS listener needs a port of its own \
                 (Kafka's SSL listener is usually 9093)",
                tls.addr
            )));
        }
        if self.segment_bytes == 0 || self.segment_bytes > i32::MAX as u64 {
            return Err(UsageError(format!(
                "--segment-bytes must be 1 byte to {} (index positions are 32-bit), found {}",
                i32::MAX,
                self.segment_bytes
            )));
        }
        if self.limits.idle_timeout.is_zero() {
            // Sockets cannot take a zero timeout: every connection would fail its set-up.
            return Err(UsageError(
                "--idle-timeout must be at least 1 second, found 0".into(),
            ));
        }
        if self.limits.max_connections == 0 {
            return Err(UsageError(
                "--max-connections must be at least 1, found 0".into(),
            ));
        }
        if self.limits.max_connections_per_ip == 0 {
            return Err(UsageError(
                "--max-connections-per-ip must be at least 1, found 0".into(),
            ));
        }
        if self.partitions == 0 || self.partitions as usize > self.max_partitions {
            return Err(UsageError(format!(
                "--partitions must be 1 to --max-partitions ({}), found {}",
                self.max_partitions, self.partitions
            )));
        }
        if self.max_message_bytes < MIN_BATCH_LENGTH as u64 + LOG_OVERHEAD as u64
            || self.max_message_bytes > i32::MAX as u64
        {
            return Err(UsageError(format!(
                "--max-message-bytes must be {} (an empty batch) to {} bytes, found {}",
                MIN_BATCH_LENGTH as usize + LOG_OVERHEAD,
                i32::MAX,
                self.max_message_bytes
            )));
        }
        if self.max_partitions == 0 {
            return Err(UsageError(
                "--max-partitions must be at least 1, found 0".into(),
            ));
        }
        if self.limits.max_queued_request_bytes == 0 {
            return Err(UsageError(
                "--max-queued-request-bytes must be at least 1 byte, found 0".into(),
            ));
        }
        self.inspect_spec()?;
        self.advertised(self.addr)?;
        Ok(())
    }

    /// What the topics may grow to; the descriptors every connection may need are kept
    /// out of the partitions' budget.
    pub fn topic_limits(&self) -> TopicLimits {
        TopicLimits {
            default_partitions: self.partitions,
            max_partitions: self.max_partitions,
            max_creations_per_request: self.max_creations_per_request,
            fd_reserve: fds::BASE_RESERVE
                + fds::PER_CONNECTION * self.limits.max_connections as u64,
        }
    }

    /// `--inspect` and `--inspect-header`: inspecting needs the bytes in user space.
    pub fn inspect_spec(&self) -> Result<Option<InspectSpec>, UsageError> {
        if !self.inspect {
            return Ok(None);
        }
        let mode = self.transfer;
        if !mode.bytes_reach_user_space() {
            let how = match mode {
                Mode::Sendfile => "sendfile(2) hands page-cache pages to the socket",
                _ => "splice(2) moves page references file -> pipe -> socket",
            };
            return Err(UsageError(format!(
                "--inspect cannot work with --transfer {mode}: {how} inside the kernel, so the \
                 record bytes never reach the broker's memory and there is nothing to read. \
                 That is the price of zero-copy. Use --transfer mmap (RocketMQ's choice: the \
                 broker reads the mapping, then write() copies it to the socket) or \
                 --transfer read-write."
            )));
        }
        let header = self
            .inspect_header
            .as_deref()
            .map(HeaderFilter::parse)
            .transpose()
            .map_err(UsageError)?;
        Ok(Some(InspectSpec { header }))
    }

    /// The host:port clients are told to use: `--advertise`, or the bound address (with a
    /// wildcard replaced by loopback: clients cannot connect to 0.0.0.0).
    pub fn advertised(&self, bound: SocketAddr) -> Result<(String, i32), UsageError> {
        if let Some(text) = &self.advertise {
            let (host, port) = text
                .rsplit_once(':')
                .ok_or_else(|| UsageError(format!("--advertise {text}: expected HOST:PORT")))?;
            let port: u16 = port.parse().map_err(|_| {
                UsageError(format!("--advertise {text}: {port} is not a port number"))
            })?;
            return Ok((host.to_owned(), i32::from(port)));
        }
        let host = if bound.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            bound.ip().to_string()
        };
        Ok((host, i32::from(bound.port())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::partition::DEFAULT_MAX_MESSAGE_BYTES;

    fn config() -> ServeConfig {
        ServeConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            advertise: None,
            log_dir: None,
            transfer: Mode::Sendfile,
            chunk: 256 << 10,
            cc: "auto".parse().unwrap(),
            segment_bytes: 64 << 20,
            flush: FlushPolicy::Os,
            limits: Limits {
                max_connections: 256,
                max_connections_per_ip: 256,
                max_request_bytes: 100 << 20,
                max_queued_request_bytes: 512 << 20,
                idle_timeout: Duration::from_secs(600),
            },
            auto_create: true,
            max_partitions: 10_000,
            partitions: 1,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_creations_per_request: 100,
            inspect: false,
            inspect_header: None,
            tls: None,
        }
    }

    #[test]
    fn the_defaults_are_valid() {
        config().validate().unwrap();
    }

    #[test]
    fn each_bad_setting_names_its_flag() {
        type Break = fn(&mut ServeConfig);
        let cases: [(Break, &str); 12] = [
            (|c| c.partitions = 0, "--partitions"),
            (|c| c.partitions = 10_001, "--partitions"),
            (|c| c.max_message_bytes = 10, "--max-message-bytes"),
            (|c| c.segment_bytes = 0, "--segment-bytes"),
            (|c| c.segment_bytes = 1 << 31, "--segment-bytes"),
            (|c| c.limits.idle_timeout = Duration::ZERO, "--idle-timeout"),
            (|c| c.limits.max_connections = 0, "--max-connections"),
            (|c| c.max_partitions = 0, "--max-partitions"),
            (
                |c| c.limits.max_connections_per_ip = 0,
                "--max-connections-per-ip",
            ),
            (
                |c| c.limits.max_queued_request_bytes = 0,
                "--max-queued-request-bytes",
            ),
            (
                |c| c.inspect = true,
                "--inspect cannot work with --transfer sendfile",
            ),
            (
                |c| c.advertise = Some("host:port".into()),
                "--advertise host:port",
            ),
        ];
        for (breaks, flag) in cases {
            let mut c = config();
            breaks(&mut c);
            let err = c.validate().unwrap_err().0;
            assert!(err.contains(flag), "{err}");
        }
    }

    #[test]
    fn a_wildcard_address_is_advertised_as_loopback() {
        let bound = "0.0.0.0:9092".parse().unwrap();
        assert_eq!(
            config().advertised(bound).unwrap(),
            ("127.0.0.1".into(), 9092)
        );
    }
}
