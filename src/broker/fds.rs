//! File descriptors: the one resource every partition and every connection takes.
//!
//! Each partition keeps its active segment's `.log`, `.index` and `.timeindex` open, and the
//! `.log` of each older segment; each connection holds its socket (and, with splice, a
//! pipe). The common default soft limit is 1,024, far below what the kernel allows, so the
//! broker raises its soft limit to the hard limit at start (as systemd and the JVM do), then
//! checks the budget before opening a partition instead of finding out from `EMFILE` halfway
//! through creating one.

use std::io;

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Descriptors one connection may hold: its socket, and splice's pipe pair.
pub const PER_CONNECTION: u64 = 3;
/// Descriptors the process needs besides partitions and connections (the listener,
/// stdio, `/proc` reads, the accept loop's spare, files opened while creating a topic).
pub const BASE_RESERVE: u64 = 64;
/// Descriptors a new partition takes: one segment's three files.
pub const PER_NEW_PARTITION: u64 = 3;

/// The soft and hard limits on open descriptors, after raising the soft one to the hard
/// one (a failure to raise leaves the soft limit as it was).
pub fn raise_limit() -> io::Result<(u64, u64)> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return Ok((hard, hard));
    }
    Ok((soft, hard))
}

/// The soft limit: how many descriptors this process may hold.
pub fn limit() -> io::Result<u64> {
    Ok(getrlimit(Resource::RLIMIT_NOFILE)?.0)
}

/// How many descriptors this process holds now (the entries of `/proc/self/fd`).
pub fn open_count() -> io::Result<u64> {
    // The directory handle read_dir holds is one of the entries; it is not counted.
    Ok(std::fs::read_dir("/proc/self/fd")?
        .count()
        .saturating_sub(1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_sees_files_opened_and_the_soft_limit_reaches_the_hard_one() {
        // Other tests open and close files meanwhile: only a lower bound is certain.
        let files: Vec<_> = (0..64)
            .map(|_| std::fs::File::open("/proc/self/status").unwrap())
            .collect();
        assert!(open_count().unwrap() >= 64);
        drop(files);
        let (soft, hard) = raise_limit().unwrap();
        assert!(soft <= hard && limit().unwrap() == soft);
    }
}
