//! One writer per log directory: an exclusive `flock` on a `.lock` file in it, as Kafka
//! holds `.lock` in each of its `log.dirs`.
//!
//! Two brokers appending to one partition would each believe they own the log end and
//! overwrite each other's acknowledged records. The lock is the kernel's, so it goes away
//! with the process however the process ends (even `kill -9`): a stale `.lock` file never
//! blocks a restart. The holder writes its pid into the file so that a refused second
//! broker can name it.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// The lock file's name, in the log directory.
pub const LOCK_FILE: &str = ".lock";

/// Held for as long as the broker runs; dropping it releases the lock.
pub struct DirLock {
    _lock: Flock<File>,
}

/// Why the lock could not be taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it; its pid, when the file names one.
    Held {
        path: PathBuf,
        pid: Option<u32>,
    },
    Io {
        path: PathBuf,
        error: io::Error,
    },
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held { path, pid } => {
                let who = pid.map_or("another process".to_owned(), |p| format!("process {p}"));
                write!(
                    f,
                    "{} is locked by {who}: another broker is serving this log directory, and \
                     two writers would overwrite each other's records. Stop it first, or give \
                     this one another --log-dir",
                    path.display()
                )
            }
            LockError::Io { path, error } => {
                write!(f, "cannot lock {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for LockError {}

impl DirLock {
    /// Takes the lock on `dir` without waiting, and records this process's pid in it.
    pub fn acquire(dir: &Path) -> Result<DirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |error| LockError::Io {
            path: path.clone(),
            error,
        };
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((mut file, Errno::EWOULDBLOCK)) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held {
                    path,
                    pid: text.trim().parse().ok(),
                });
            }
            Err((_, errno)) => return Err(io(errno.into())),
        };
        lock.set_len(0).map_err(io)?;
        lock.rewind().map_err(io)?;
        writeln!(lock, "{}", std::process::id()).map_err(io)?;
        Ok(DirLock { _lock: lock })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        // flock locks belong to the open file description: a second open in this process
        // conflicts just as another process would.
        match DirLock::acquire(dir.path()) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
        }
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }
}
