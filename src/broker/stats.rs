//! Live counters of the broker, printed once a second so a classroom can watch a transfer
//! mode's effect while a consumer runs: fetch throughput, and what each MiB served cost in
//! system calls and in bytes copied through user space (sendfile: none; read-write: two
//! copies of every byte).
//!
//! With `--inspect` the line also gives the running totals of what the broker read in the
//! batches it sent: batches, records, corrupt batches, records matching the header filter.
//!
//! With `--tls` the TLS listener's fetches get a figure of their own: their records go
//! read → encrypt → write (never sendfile), and the line says so.
//!
//! The syscall figure is zc's own count on the fetch path (the transfer mode's calls plus
//! the writes of response headers): the kernel's tracepoints count per thread, and the
//! broker has one thread per connection.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::inspect::Inspection;
use crate::transfer::Tally;

#[derive(Default)]
pub struct Stats {
    pub connections: AtomicU64,
    pub fetch_record_bytes: AtomicU64,
    pub fetch_syscalls: AtomicU64,
    pub fetch_user_copied: AtomicU64,
    /// The same three for the TLS listener's fetches.
    pub tls_record_bytes: AtomicU64,
    pub tls_syscalls: AtomicU64,
    pub tls_user_copied: AtomicU64,
    pub produce_records: AtomicU64,
    pub inspected_batches: AtomicU64,
    pub inspected_records: AtomicU64,
    pub inspected_corrupt: AtomicU64,
    pub inspected_matches: AtomicU64,
    pub inspected_compressed: AtomicU64,
}

impl Stats {
    /// Adds what `--inspect` found in one file region of a fetch response.
    pub fn add_inspection(&self, found: &Inspection) {
        self.inspected_batches.fetch_add(found.batches, Relaxed);
        self.inspected_records.fetch_add(found.records, Relaxed);
        self.inspected_corrupt.fetch_add(found.corrupt, Relaxed);
        self.inspected_matches
            .fetch_add(found.header_matches, Relaxed);
        self.inspected_compressed
            .fetch_add(found.compressed, Relaxed);
    }

    /// Adds what one fetch response cost: `tally` from the transfer mode, plus the header
    /// writes made around it; `tls` when it went out on the TLS listener.
    pub fn add_fetch(&self, tally: &Tally, header_writes: u64, header_bytes: u64, tls: bool) {
        let (bytes, syscalls, copied) = if tls {
            (
                &self.tls_record_bytes,
                &self.tls_syscalls,
                &self.tls_user_copied,
            )
        } else {
            (
                &self.fetch_record_bytes,
                &self.fetch_syscalls,
                &self.fetch_user_copied,
            )
        };
        bytes.fetch_add(tally.bytes_sent, Relaxed);
        syscalls.fetch_add(tally.syscalls.total() + header_writes, Relaxed);
        // Header bytes are built in user memory and copied into the socket by write().
        copied.fetch_add(tally.user_copied_bytes + header_bytes, Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            connections: self.connections.load(Relaxed),
            fetch_record_bytes: self.fetch_record_bytes.load(Relaxed),
            fetch_syscalls: self.fetch_syscalls.load(Relaxed),
            fetch_user_copied: self.fetch_user_copied.load(Relaxed),
            tls_record_bytes: self.tls_record_bytes.load(Relaxed),
            tls_syscalls: self.tls_syscalls.load(Relaxed),
            tls_user_copied: self.tls_user_copied.load(Relaxed),
            produce_records: self.produce_records.load(Relaxed),
            inspected_batches: self.inspected_batches.load(Relaxed),
            inspected_records: self.inspected_records.load(Relaxed),
            inspected_corrupt: self.inspected_corrupt.load(Relaxed),
            inspected_matches: self.inspected_matches.load(Relaxed),
            inspected_compressed: self.inspected_compressed.load(Relaxed),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub connections: u64,
    pub fetch_record_bytes: u64,
    pub fetch_syscalls: u64,
    pub fetch_user_copied: u64,
    /// The same three for the TLS listener's fetches.
    pub tls_record_bytes: u64,
    pub tls_syscalls: u64,
    pub tls_user_copied: u64,
    pub produce_records: u64,
    pub inspected_batches: u64,
    pub inspected_records: u64,
    pub inspected_corrupt: u64,
    pub inspected_matches: u64,
    pub inspected_compressed: u64,
}

impl Snapshot {
    /// `--inspect`'s running totals: `inspected 953 batches, 19060 records, 0 corrupt`,
    /// and the header matches when a filter is given (`header` names it).
    pub fn inspected(&self, header: Option<&str>) -> String {
        let mut text = format!(
            "inspected {} batches, {} records, {} corrupt",
            self.inspected_batches, self.inspected_records, self.inspected_corrupt
        );
        if let Some(h) = header {
            text.push_str(&format!(
                ", {} records with header {h}",
                self.inspected_matches
            ));
            // Their records are compressed: counted and CRC-checked, but not searched.
            if self.inspected_compressed > 0 {
                text.push_str(&format!(
                    " (not searched: {} compressed batches)",
                    self.inspected_compressed
                ));
            }
        }
        text
    }

    /// One status line for the interval from `earlier` to `self` of `secs` seconds, or
    /// `None` when nothing happened and the connection count did not change.
    /// `inspect` is `Some(header filter or None)` under `--inspect`: the line then ends
    /// with the inspection totals so far.
    pub fn line(
        &self,
        earlier: &Snapshot,
        secs: f64,
        mode: &str,
        inspect: Option<Option<&str>>,
    ) -> Option<String> {
        let bytes = self.fetch_record_bytes - earlier.fetch_record_bytes;
        let tls = self.tls_record_bytes - earlier.tls_record_bytes;
        let records = self.produce_records - earlier.produce_records;
        if bytes + tls == 0 && records == 0 && self.connections == earlier.connections {
            return None;
        }
        let mut line = format!("{} connections | fetch ", self.connections);
        line.push_str(&fetch_rate(
            bytes,
            self.fetch_syscalls - earlier.fetch_syscalls,
            self.fetch_user_copied - earlier.fetch_user_copied,
            secs,
            mode,
        ));
        if tls > 0 {
            line.push_str(" | TLS fetch ");
            line.push_str(&fetch_rate(
                tls,
                self.tls_syscalls - earlier.tls_syscalls,
                self.tls_user_copied - earlier.tls_user_copied,
                secs,
                "read → encrypt → write, no sendfile under TLS",
            ));
        }
        line.push_str(&format!(
            " | produce {:.0} records/s",
            records as f64 / secs
        ));
        if let Some(header) = inspect {
            line.push_str(&format!(" | {} (totals)", self.inspected(header)));
        }
        Some(line)
    }
}

/// `2.0 MiB/s (sendfile: 16 syscalls/MiB (zc's own count), 0.00 MiB copied ...)`.
fn fetch_rate(bytes: u64, syscalls: u64, copied: u64, secs: f64, path: &str) -> String {
    let mib = bytes as f64 / (1 << 20) as f64;
    let mut text = format!("{:.1} MiB/s ({path}", mib / secs);
    if bytes > 0 {
        text.push_str(&format!(
            ": {:.0} syscalls/MiB (zc's own count), {:.2} MiB copied through user space per MiB",
            syscalls as f64 / mib,
            copied as f64 / bytes as f64
        ));
    }
    text.push(')');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_intervals_print_nothing_and_busy_ones_give_rates() {
        let a = Snapshot::default();
        assert_eq!(a.line(&a, 1.0, "sendfile", None), None);
        let b = Snapshot {
            connections: 2,
            fetch_record_bytes: 4 << 20,
            fetch_syscalls: 64,
            fetch_user_copied: 8 << 20,
            produce_records: 500,
            ..Snapshot::default()
        };
        let line = b.line(&a, 2.0, "read-write", None).unwrap();
        assert!(line.contains("2 connections"), "{line}");
        assert!(line.contains("fetch 2.0 MiB/s"), "{line}");
        assert!(line.contains("16 syscalls/MiB"), "{line}");
        assert!(line.contains("2.00 MiB copied"), "{line}");
        assert!(line.contains("produce 250 records/s"), "{line}");
        assert!(!line.contains("inspected"), "{line}");
        assert!(!line.contains("TLS"), "{line}");
        let tls = Snapshot {
            tls_record_bytes: 2 << 20,
            tls_syscalls: 20,
            tls_user_copied: 4 << 20,
            ..b
        };
        let line = tls.line(&a, 2.0, "sendfile", None).unwrap();
        assert!(
            line.contains(
                "| TLS fetch 1.0 MiB/s (read → encrypt → write, no sendfile under TLS: 10 \
                 syscalls/MiB"
            ),
            "{line}"
        );
        let c = Snapshot {
            inspected_batches: 3,
            inspected_records: 60,
            inspected_corrupt: 1,
            inspected_matches: 7,
            ..b
        };
        let line = c.line(&a, 2.0, "mmap", Some(Some("route=dlq"))).unwrap();
        assert!(
            line.ends_with(
                "| inspected 3 batches, 60 records, 1 corrupt, 7 records with header route=dlq (totals)"
            ),
            "{line}"
        );
        let d = Snapshot {
            inspected_compressed: 2,
            ..c
        };
        assert!(
            d.inspected(Some("route=dlq"))
                .ends_with("7 records with header route=dlq (not searched: 2 compressed batches)"),
            "{}",
            d.inspected(Some("route=dlq"))
        );
    }
}
