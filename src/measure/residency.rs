//! Is the file in the page cache? `mincore(2)` answers page by page.
//!
//! Cache state is an axis of every experiment: a warm file is served from RAM,
//! a cold one from storage, and zero-copy saves different things in each case.
//! [`residency`] maps each file (mapping does not fault any page in) and asks
//! `mincore` which pages are resident; [`drop_from_cache`] evicts a file with
//! `posix_fadvise(POSIX_FADV_DONTNEED)` for a cold run.
//!
//! What it can NOT see or do:
//! - since Linux 5.0, `mincore` tells the truth only for files the caller owns or
//!   may write; for others it claims *every* page is resident. We refuse those
//!   files instead of reporting a fake 100%.
//! - `DONTNEED` is advice: dirty pages (hence the `fdatasync` first), pages under
//!   writeback, and pages still mapped by some process stay. On tmpfs and other
//!   memory-backed filesystems the cache *is* the file and nothing is dropped.
//!   Callers should re-measure residency after dropping rather than assume 0.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
use nix::unistd::{AccessFlags, access};
use serde::Serialize;

use super::procfs::euid;

/// How much of a set of files sits in the page cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Residency {
    pub resident_bytes: u64,
    pub total_bytes: u64,
}

impl Residency {
    /// Resident share in `0.0..=1.0` (1.0 for an empty set: nothing is missing).
    pub fn fraction(&self) -> f64 {
        if self.total_bytes == 0 {
            1.0
        } else {
            self.resident_bytes as f64 / self.total_bytes as f64
        }
    }
}

/// Page-cache residency of `paths`, summed.
pub fn residency<P: AsRef<Path>>(paths: &[P]) -> io::Result<Residency> {
    let page = page_size();
    let mut total = Residency::default();
    for path in paths {
        let path = path.as_ref();
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let len = meta.len();
        if len == 0 {
            continue;
        }
        if !mincore_tells_the_truth(path, meta.uid()) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{}: mincore cannot see the page cache of a file you neither own nor may \
                     write (Linux >= 5.0 reports it as fully resident); run as its owner or root",
                    path.display()
                ),
            ));
        }
        // SAFETY: the mapping's bytes are never read or written here: only its
        // address goes to mincore, so a concurrent truncation cannot SIGBUS us.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        let len_usize = map.len();
        let pages = len_usize.div_ceil(page);
        let mut vec = vec![0u8; pages];
        // SAFETY: `map` is a live mapping of `len_usize` bytes starting at a
        // page-aligned address, and `vec` has one byte per page of it.
        let rc = unsafe {
            libc::mincore(
                map.as_ptr() as *mut libc::c_void,
                len_usize,
                vec.as_mut_ptr(),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let resident: u64 = vec
            .iter()
            .enumerate()
            .filter(|(_, v)| *v & 1 == 1)
            .map(|(i, _)| {
                // The last page is only partly file.
                let start = i as u64 * page as u64;
                (len - start).min(page as u64)
            })
            .sum();
        total.resident_bytes += resident;
        total.total_bytes += len;
    }
    Ok(total)
}

/// Linux >= 5.0 answers mincore truthfully only for files the caller owns or
/// could open for writing (root passes both through its capabilities).
fn mincore_tells_the_truth(path: &Path, owner: u32) -> bool {
    let me = euid();
    me == 0 || me == owner || access(path, AccessFlags::W_OK).is_ok()
}

/// Asks the kernel to evict `path` from the page cache. Dirty pages cannot be
/// evicted, so the file is `fdatasync`ed first. Best effort: see module docs.
pub fn drop_from_cache(path: &Path) -> io::Result<()> {
    let file = File::open(path)?;
    file.sync_data()?;
    posix_fadvise(&file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED)?;
    Ok(())
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects; it only returns a value.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).unwrap_or(4096).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn written_file_is_resident_then_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("segment.log");
        let mut f = File::create(&path).expect("create");
        // Not a whole number of pages, to exercise the partial last page.
        let data = vec![0xabu8; 4 * 1024 * 1024 + 100];
        f.write_all(&data).expect("write");
        drop(f);

        let before = residency(&[&path]).expect("residency");
        assert_eq!(before.total_bytes, data.len() as u64);
        assert!(before.fraction() > 0.99, "{before:?}");

        drop_from_cache(&path).expect("drop");
        let after = residency(&[&path]).expect("residency");
        // Dropping is advice and may be partial; it must never add pages.
        assert!(after.resident_bytes <= before.resident_bytes, "{after:?}");
        // On a disk filesystem (ext4 here) it empties the cache; on tmpfs the
        // cache is the file and nothing can be dropped.
        let fs = nix::sys::statfs::statfs(&path).expect("statfs");
        if fs.filesystem_type() != nix::sys::statfs::TMPFS_MAGIC {
            assert!(after.fraction() < 0.05, "{after:?}");
        }
    }

    #[test]
    fn empty_set_and_empty_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("empty");
        File::create(&path).expect("create");
        let r = residency(&[&path]).expect("residency");
        assert_eq!(r, Residency::default());
        assert_eq!(r.fraction(), 1.0);
    }
}
