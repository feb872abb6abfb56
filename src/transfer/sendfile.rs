//! `sendfile`: one syscall asks the kernel to move file bytes straight to the socket. The
//! bytes never enter user space. This is what Kafka does for every Fetch (through Java's
//! `FileChannel.transferTo`).
//!
//! ```text
//!   disk ──DMA──► page cache ──(CPU copy, or page reference with SG-DMA)──► socket buffer ──DMA──► NIC
//!                          └──────────── sendfile() ────────────┘
//!
//!   user    ──sendfile──►│          │   per chunk: 1 syscall, 2 mode switches
//!   kernel               └─ move ───┘
//! ```
//!
//! Textbook, per chunk: 2 DMA copies, 1 CPU copy (0 when the NIC does scatter-gather DMA:
//! Linux TCP then attaches page-cache pages to the packet by reference, and loopback counts
//! as SG-capable), 2 mode switches, 1 syscall; no byte crosses the user/kernel boundary.
//!
//! Caveats:
//! - one call moves at most 0x7ffff000 bytes (2 GiB - 4 KiB), whatever is asked: larger
//!   chunks are capped so the count we ask for is the count the kernel honours.
//! - sendfile can block on a page-cache miss (see [`Mode::caveats`](super::Mode::caveats)).
//! - short transfers: it may move fewer bytes than asked; the loop continues from the new
//!   offset. 0 means the file ended early: an error.
//! - with an explicit offset the file's own position is neither used nor moved.

use std::fs::File;
use std::os::fd::BorrowedFd;

use super::{Cause, Job, Mode, Syscall, Tally, Transfer, TransferError};

/// The most bytes Linux moves in one sendfile call (`MAX_RW_COUNT`, sendfile(2) NOTES).
pub const SENDFILE_MAX: usize = 0x7fff_f000;

/// Sends with `sendfile(2)`, at most `chunk` bytes per call.
pub struct SendfileSender {
    chunk: usize,
    tally: Tally,
}

impl SendfileSender {
    /// Nothing to set up: the kernel needs no buffer from us.
    pub fn new(chunk: usize) -> Self {
        SendfileSender {
            chunk,
            tally: Tally::default(),
        }
    }
}

impl Transfer for SendfileSender {
    fn mode(&self) -> Mode {
        Mode::Sendfile
    }

    fn send(
        &mut self,
        file: &File,
        offset: u64,
        len: u64,
        sock: BorrowedFd<'_>,
    ) -> Result<(), TransferError> {
        let mut job = Job::start(self.mode(), offset, len, &mut self.tally)?;
        while job.remaining() > 0 {
            let want = job.next_len(self.chunk.min(SENDFILE_MAX));
            let mut pos = job.file_pos();
            // The only step: page cache -> socket, inside the kernel.
            let moved = job.call(Syscall::Sendfile, Some(sock), || {
                nix::sys::sendfile::sendfile64(sock, file, Some(&mut pos), want)
            })?;
            if moved == 0 {
                return Err(job.fail(Cause::FileTooShort {
                    syscall: Syscall::Sendfile,
                    file_len: None,
                }));
            }
            job.sent(moved);
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn copies_nothing_through_user_space() {
        let len = 2 * MIB + 300;
        let file = fixture(&pattern(len));
        let mut tx = SendfileSender::new(64 * KIB);
        send_and_collect(&mut tx, file.as_file(), 0, len).unwrap();
        let tally = tx.tally();
        assert_eq!(tally.user_copied_bytes, 0);
        // One call per chunk, plus one more for each short transfer (rare on loopback).
        let chunks = len.div_ceil(64 * KIB) as u64;
        assert!(tally.syscalls.sendfile >= chunks);
        assert!(tally.syscalls.sendfile <= chunks + chunks / 4);
        assert_eq!(
            tally.syscalls.total(),
            tally.syscalls.sendfile + tally.syscalls.poll
        );
    }

    #[test]
    fn huge_chunk_is_capped_per_call() {
        let file = fixture(&pattern(64 * KIB));
        let mut tx = SendfileSender::new(usize::MAX);
        let got = send_and_collect(&mut tx, file.as_file(), 0, 64 * KIB).unwrap();
        assert_eq!(got.len(), 64 * KIB);
    }
}
