//! `mmap`: map the file region into our address space, then `write` slices of the mapping
//! to the socket. The page cache *is* the buffer, so the copy into user space disappears;
//! the copy into the socket buffer stays.
//!
//! ```text
//!   disk ──DMA──► page cache ════ mapped into our address space (no copy)
//!                     │
//!                     └──CPU──► socket buffer ──DMA──► NIC
//!                write() copies ─┘
//!
//!   user    ──mmap, madvise── (once) ──write──►│          │ ... ──munmap── (once)
//!   kernel                                     └─ copy ───┘
//! ```
//!
//! Textbook, per chunk: 2 DMA copies, 1 CPU copy, 4 mode switches (the textbook counts
//! `mmap` + `write`; here `mmap`, `madvise` and `munmap` happen once per transfer, so in
//! the steady state a chunk costs 1 syscall, 2 switches); every byte crosses the
//! user/kernel boundary once (inside `write`).
//!
//! Caveats:
//! - SIGBUS (the classroom version is in [`Mode::caveats`](super::Mode::caveats)): this mode
//!   never reads the mapping from user space; only the kernel does, inside `write`, where a
//!   fault past EOF becomes `EFAULT` (the test `truncated_while_mapped_is_efault_not_sigbus`
//!   shows it). [`Watched::send_watched`] does let a caller read the mapping (`zc serve
//!   --inspect`): safe only while nobody truncates the file, which the broker's append-only
//!   segments guarantee while they are served.
//! - the file must hold the whole range *before* mapping: `fstat` checks it, because a
//!   mapping past EOF is exactly the SIGBUS case above.
//! - `madvise(MADV_SEQUENTIAL)` asks for aggressive read-ahead and early reclaim behind us.
//! - page faults: the mapping starts empty; each first touch (inside `write`) faults the
//!   page table in. They are minor faults on a warm cache and show in the probe's counters.
//! - short transfers: `write` may accept less than the slice; the loop continues.
//! - `mmap` needs a page-aligned file offset; memmap2 rounds it down and hides the
//!   difference, so the slice still starts exactly at `offset`.

use std::fs::File;
use std::os::fd::BorrowedFd;

use memmap2::{Advice, Mmap, MmapOptions};
use nix::errno::Errno;

use super::{Cause, Job, Mode, Syscall, Tally, Transfer, TransferError, Watched};

/// Sends by writing `chunk`-byte slices of a mapping of the file.
pub struct MmapSender {
    chunk: usize,
    tally: Tally,
}

impl MmapSender {
    /// Nothing to set up: the mapping is per transfer, because it covers that transfer's
    /// range of the file.
    pub fn new(chunk: usize) -> Self {
        MmapSender {
            chunk,
            tally: Tally::default(),
        }
    }
}

impl Transfer for MmapSender {
    fn mode(&self) -> Mode {
        Mode::Mmap
    }

    fn send(
        &mut self,
        file: &File,
        offset: u64,
        len: u64,
        sock: BorrowedFd<'_>,
    ) -> Result<(), TransferError> {
        self.send_watched(file, offset, len, sock, &mut |_| {})
    }

    fn tally(&self) -> &Tally {
        &self.tally
    }

    fn reset_tally(&mut self) {
        self.tally = Tally::default();
    }

    fn chunk(&self) -> usize {
        self.chunk
    }
}

/// Maps `[offset, offset + len)` of `file` read-only and advises sequential access.
/// Checks first that the file is long enough, since mapping past its end invites SIGBUS.
pub(super) fn map_range(
    job: &mut Job<'_>,
    file: &File,
    offset: u64,
    len: u64,
) -> Result<Mmap, TransferError> {
    let file_len = job.call(Syscall::Fstat, None, || {
        nix::sys::stat::fstat(file).map(|stat| stat.st_size as usize)
    })? as u64;
    if file_len < offset + len {
        return Err(job.fail(Cause::FileTooShort {
            syscall: Syscall::Fstat,
            file_len: Some(file_len),
        }));
    }
    // mmap and madvise never return EINTR or EAGAIN worth retrying, so they are counted
    // and called once instead of going through `job.call`.
    job.count(Syscall::Mmap);
    let map_len = usize::try_from(len).map_err(|_| {
        job.fail(Cause::Os {
            syscall: Syscall::Mmap,
            errno: Errno::ENOMEM,
        })
    })?;
    // SAFETY: memmap2 marks mapping unsafe because another process may modify or truncate
    // the file while it is mapped, and Rust assumes the bytes behind a `&[u8]` neither
    // change nor disappear. Our contract: the caller does not truncate or rewrite this
    // range while `send` runs (the log only appends; a segment being sent is never
    // truncated). Even if that is broken, we never dereference the mapping in Rust: its
    // slices only go to write(2), where a page past EOF is EFAULT, not SIGBUS.
    let map = unsafe { MmapOptions::new().offset(offset).len(map_len).map(file) }
        .map_err(|e| job.fail(os_cause(Syscall::Mmap, &e)))?;
    job.count(Syscall::Madvise);
    map.advise(Advice::Sequential)
        .map_err(|e| job.fail(os_cause(Syscall::Madvise, &e)))?;
    Ok(map)
}

/// The cause behind an error from memmap2 (EINVAL if it refused before asking the kernel).
fn os_cause(syscall: Syscall, e: &std::io::Error) -> Cause {
    let errno = e.raw_os_error().map_or(Errno::EINVAL, Errno::from_raw);
    Cause::Os { syscall, errno }
}

impl Watched for MmapSender {
    fn send_watched(
        &mut self,
        file: &File,
        offset: u64,
        len: u64,
        sock: BorrowedFd<'_>,
        watch: &mut dyn FnMut(&[u8]),
    ) -> Result<(), TransferError> {
        let mut job = Job::start(self.mode(), offset, len, &mut self.tally)?;
        if len == 0 {
            // mmap(2) rejects a zero-length mapping; there is nothing to send anyway.
            return Ok(());
        }
        let map = map_range(&mut job, file, offset, len)?;
        // The watcher reads the whole region in place, in one piece, so no batch is ever
        // cut by a chunk boundary and nothing is copied to look at it (a truncated file
        // would be SIGBUS here, see above). Then the kernel reads it again for write(2).
        watch(&map);
        for slice in map.chunks(self.chunk) {
            // Copy 1 (the only one): mapping (page cache) -> socket buffer.
            job.write_all(sock, slice)?;
        }
        job.count(Syscall::Munmap);
        drop(map);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use std::io::Read;
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::os::fd::AsFd;
    use std::thread;

    use nix::sys::socket::{setsockopt, sockopt};

    #[test]
    fn copies_every_byte_once_through_user_space() {
        let len = 2 * MIB + 300;
        let file = fixture(&pattern(len));
        let mut tx = MmapSender::new(64 * KIB);
        send_and_collect(&mut tx, file.as_file(), 4096 + 7, len - 4096 - 7).unwrap();
        let tally = tx.tally();
        assert_eq!(tally.user_copied_bytes, (len - 4096 - 7) as u64);
        let calls = &tally.syscalls;
        assert_eq!(
            (calls.fstat, calls.mmap, calls.madvise, calls.munmap),
            (1, 1, 1, 1)
        );
        assert!(calls.write >= (len - 4096 - 7).div_ceil(64 * KIB) as u64);
        assert_eq!(calls.pread, 0);
    }

    /// Truncating the file while a send is in flight must give a TransferError (EFAULT from
    /// write), not kill the process with SIGBUS.
    #[test]
    fn truncated_while_mapped_is_efault_not_sigbus() {
        let len = 4 * MIB;
        let file = fixture(&pattern(len));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        setsockopt(&listener, sockopt::RcvBuf, &(64 * KIB)).unwrap();
        let addr = listener.local_addr().unwrap();
        let truncate = file.reopen().unwrap();
        let reader = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut first = vec![0; 64 * KIB];
            stream.read_exact(&mut first).unwrap();
            // The sender is now blocked with most of the file still to go.
            truncate.set_len(0).unwrap();
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest);
        });
        let stream = TcpStream::connect(addr).unwrap();
        setsockopt(&stream, sockopt::SndBuf, &(64 * KIB)).unwrap();
        let mut tx = MmapSender::new(64 * KIB);
        let err = tx
            .send(file.as_file(), 0, len as u64, stream.as_fd())
            .expect_err("the file was truncated under the mapping");
        stream.shutdown(Shutdown::Write).unwrap();
        reader.join().unwrap();
        assert_eq!(err.errno(), Some(Errno::EFAULT), "{err}");
        assert_eq!(err.syscall(), Some(Syscall::Write));
    }
}
