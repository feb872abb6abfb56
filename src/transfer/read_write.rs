//! `read-write`: `pread` into a user buffer, then `write` it to the socket. The baseline,
//! and what Kafka falls back to under TLS (it must see the bytes to encrypt them).
//!
//! ```text
//!   disk ──DMA──► page cache ──CPU──► user buffer ──CPU──► socket buffer ──DMA──► NIC
//!                         pread() copies ─┘      └─ write() copies
//!
//!   user    ──pread──►│          │──write──►│          │   per chunk: 2 syscalls,
//!   kernel            └─ copy ───┘          └─ copy ───┘   4 mode switches
//! ```
//!
//! Textbook, per chunk: 2 DMA copies, 2 CPU copies, 4 user<->kernel mode switches,
//! 2 syscalls; every byte crosses the user/kernel boundary twice.
//!
//! Caveats:
//! - short transfers: `pread` may return less than asked and `write` may accept less than
//!   given; both loops continue from where they stopped. `pread` returning 0 means the file
//!   ended early: an error.
//! - the buffer is allocated *and touched* in the constructor, so its page faults are not
//!   charged to the timed transfer.
//! - with a cold cache `pread` blocks on the disk; the time shows up here, not in `write`.

use std::fs::File;
use std::io;
use std::os::fd::BorrowedFd;

use super::{Cause, Job, Mode, Syscall, Tally, Transfer, TransferError, Watched};

/// Sends through a user-space buffer of `chunk` bytes.
pub struct ReadWriteSender {
    chunk: usize,
    tally: Tally,
    buf: Vec<u8>,
}

impl ReadWriteSender {
    /// Allocates the user buffer. Fails (instead of aborting) if `chunk` bytes cannot be
    /// allocated.
    pub fn new(chunk: usize) -> io::Result<Self> {
        let mut buf = Vec::new();
        buf.try_reserve_exact(chunk)
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
        // A non-zero fill writes every page now. A zero-filled allocation may come back
        // as untouched pages whose first-touch faults would land inside the timed pread.
        buf.resize(chunk, 0xa5);
        Ok(ReadWriteSender {
            chunk,
            tally: Tally::default(),
            buf,
        })
    }
}

impl Transfer for ReadWriteSender {
    fn mode(&self) -> Mode {
        Mode::ReadWrite
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

impl Watched for ReadWriteSender {
    fn send_watched(
        &mut self,
        file: &File,
        offset: u64,
        len: u64,
        sock: BorrowedFd<'_>,
        watch: &mut dyn FnMut(&[u8]),
    ) -> Result<(), TransferError> {
        let mut job = Job::start(self.mode(), offset, len, &mut self.tally)?;
        while job.remaining() > 0 {
            let want = job.next_len(self.chunk);
            let buf = &mut self.buf[..want];
            let pos = job.file_pos();
            // Copy 1: page cache -> user buffer.
            let got = job.call(Syscall::Pread, None, || {
                nix::sys::uio::pread(file, buf, pos)
            })?;
            if got == 0 {
                return Err(job.fail(Cause::FileTooShort {
                    syscall: Syscall::Pread,
                    file_len: None,
                }));
            }
            job.copied(got);
            // The bytes are in our buffer anyway: a caller may look (no copy).
            watch(&self.buf[..got]);
            // Copy 2: user buffer -> socket buffer.
            job.write_all(sock, &self.buf[..got])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn copies_every_byte_twice_through_user_space() {
        let len = 2 * MIB + 300;
        let file = fixture(&pattern(len));
        let mut tx = ReadWriteSender::new(64 * KIB).unwrap();
        send_and_collect(&mut tx, file.as_file(), 0, len).unwrap();
        let tally = tx.tally();
        assert_eq!(tally.user_copied_bytes, 2 * len as u64);
        // One pread per chunk; at least one write per chunk (more only if a write was short).
        let chunks = len.div_ceil(64 * KIB) as u64;
        assert_eq!(tally.syscalls.pread, chunks);
        assert!(tally.syscalls.write >= chunks);
        assert!(tally.syscalls.total() <= 2 * chunks + chunks / 4 + tally.syscalls.poll);
        assert_eq!(tally.syscalls.sendfile + tally.syscalls.splice, 0);
    }
}
