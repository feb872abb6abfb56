//! `splice`: move page references file -> pipe -> socket. A pipe is a ring of page
//! pointers, so neither step copies bytes: the first puts references to page-cache pages in
//! the pipe, the second hands them to the socket. It is the machinery Linux itself uses to
//! implement sendfile, exposed as two syscalls.
//!
//! ```text
//!   disk ──DMA──► page cache ──(page refs)──► pipe ──(page refs)──► socket buffer ──DMA──► NIC
//!                     └─ splice(file -> pipe) ┘  └─ splice(pipe -> socket) ┘
//!
//!   user    ──splice──►│        │──splice──►│        │   per chunk: 2 syscalls,
//!   kernel             └─ refs ─┘           └─ refs ─┘   4 mode switches
//! ```
//!
//! Textbook, per chunk: 2 DMA copies, 1 CPU copy (pipe -> socket buffer; 0 with
//! scatter-gather DMA, which Linux TCP uses on loopback too), 4 mode switches, 2 syscalls;
//! no byte crosses the user/kernel boundary. Same copies as sendfile, twice the syscalls.
//!
//! Caveats:
//! - the pipe's capacity bounds each round: it is set to the chunk with `F_SETPIPE_SZ` in
//!   the constructor (the kernel rounds up to a power of two of pages;
//!   [`Transfer::pipe_capacity`] reports what it granted). An unprivileged process may not
//!   go above `/proc/sys/fs/pipe-max-size` (1 MiB by default): such a chunk is an error
//!   that names the limit and the fix. We do not clamp, because a splice run with a smaller
//!   chunk than the other modes would no longer be a fair comparison. (Root may exceed the
//!   limit, and gets what it asks for.)
//! - the pipe holds page *slots*, not bytes: a chunk at an unaligned offset straddles one
//!   page more than it fills, so the first round comes up short. The loop continues.
//! - `SPLICE_F_MORE` tells TCP more data follows (like `MSG_MORE`), so it may hold back a
//!   partial segment. It is set only while more of this transfer remains: on the last
//!   round it would leave the tail waiting, which stalls a request/response protocol.
//! - `SPLICE_F_MOVE` is a hint the kernel currently ignores; it documents intent.
//! - short transfers on both sides; 0 from the file side means the file ended early.
//! - if a send fails, bytes may be stranded in the pipe. The pipe is then dropped and a
//!   fresh one built at the next send (counted as `pipe2` + `fcntl`), so stale bytes can
//!   never lead the next transfer.

use std::fs::File;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, SpliceFFlags, fcntl, splice};

use super::{Cause, Job, Mode, Syscall, Tally, Transfer, TransferError};

/// Where Linux publishes the largest pipe an unprivileged process may ask for.
const PIPE_MAX_SIZE: &str = "/proc/sys/fs/pipe-max-size";

/// Sends with `splice(2)` through a pipe sized to `chunk`.
pub struct SpliceSender {
    chunk: usize,
    tally: Tally,
    /// `None` only after a failed send, until the next send rebuilds it.
    pipe: Option<Pipe>,
    capacity: usize,
}

impl SpliceSender {
    /// Creates the pipe and sizes it to `chunk`. Fails with a message naming
    /// `fs.pipe-max-size` if the kernel refuses that size.
    pub fn new(chunk: usize) -> io::Result<Self> {
        let pipe =
            Pipe::new(chunk).map_err(|(syscall, errno)| pipe_error(chunk, syscall, errno))?;
        Ok(SpliceSender {
            chunk,
            tally: Tally::default(),
            capacity: pipe.capacity,
            pipe: Some(pipe),
        })
    }
}

impl Transfer for SpliceSender {
    fn mode(&self) -> Mode {
        Mode::Splice
    }

    fn send(
        &mut self,
        file: &File,
        offset: u64,
        len: u64,
        sock: BorrowedFd<'_>,
    ) -> Result<(), TransferError> {
        let mut job = Job::start(self.mode(), offset, len, &mut self.tally)?;
        if job.remaining() == 0 {
            return Ok(());
        }
        let pipe = ready_pipe(&mut self.pipe, self.chunk, &mut job)?;
        let result = pump(&mut job, pipe, file, sock, self.chunk);
        if result.is_err() {
            // Bytes may be stranded in the pipe; they must not lead the next transfer.
            self.pipe = None;
        }
        result
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

    fn pipe_capacity(&self) -> Option<usize> {
        Some(self.capacity)
    }
}

/// The pipe the pages travel through.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    /// Bytes the kernel granted, at least the size asked for.
    capacity: usize,
}

impl Pipe {
    /// Creates a pipe and asks for `capacity` bytes; on failure, says which call failed.
    fn new(capacity: usize) -> Result<Pipe, (Syscall, Errno)> {
        let (read, write) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|errno| (Syscall::Pipe2, errno))?;
        let size = libc::c_int::try_from(capacity).map_err(|_| (Syscall::Fcntl, Errno::EINVAL))?;
        let granted =
            fcntl(&write, FcntlArg::F_SETPIPE_SZ(size)).map_err(|errno| (Syscall::Fcntl, errno))?;
        Ok(Pipe {
            read,
            write,
            capacity: granted as usize,
        })
    }
}

/// The pipe to use, rebuilt (and counted) if a failed send dropped it.
fn ready_pipe<'p>(
    slot: &'p mut Option<Pipe>,
    chunk: usize,
    job: &mut Job<'_>,
) -> Result<&'p Pipe, TransferError> {
    let pipe = match slot.take() {
        Some(pipe) => pipe,
        None => {
            job.count(Syscall::Pipe2);
            job.count(Syscall::Fcntl);
            Pipe::new(chunk).map_err(|(syscall, errno)| job.fail(Cause::Os { syscall, errno }))?
        }
    };
    Ok(slot.insert(pipe))
}

/// The transfer loop: fill the pipe from the file, empty it into the socket, repeat.
fn pump(
    job: &mut Job<'_>,
    pipe: &Pipe,
    file: &File,
    sock: BorrowedFd<'_>,
    chunk: usize,
) -> Result<(), TransferError> {
    while job.remaining() > 0 {
        let want = job.next_len(chunk.min(pipe.capacity));
        let mut pos = job.file_pos();
        // Step 1: page references, page cache -> pipe. The pipe is empty, so this never
        // waits for room and never returns EAGAIN.
        let filled = job.call(Syscall::Splice, None, || {
            splice(
                file,
                Some(&mut pos),
                &pipe.write,
                None,
                want,
                SpliceFFlags::SPLICE_F_MOVE,
            )
        })?;
        if filled == 0 {
            return Err(job.fail(Cause::FileTooShort {
                syscall: Syscall::Splice,
                file_len: None,
            }));
        }
        drain_pipe(job, pipe, sock, filled)?;
    }
    Ok(())
}

/// Step 2: page references, pipe -> socket, until the `in_pipe` bytes are all gone.
fn drain_pipe(
    job: &mut Job<'_>,
    pipe: &Pipe,
    sock: BorrowedFd<'_>,
    mut in_pipe: usize,
) -> Result<(), TransferError> {
    while in_pipe > 0 {
        let mut flags = SpliceFFlags::SPLICE_F_MOVE;
        if job.remaining() > in_pipe as u64 {
            flags |= SpliceFFlags::SPLICE_F_MORE;
        }
        let moved = job.call(Syscall::Splice, Some(sock), || {
            splice(&pipe.read, None, sock, None, in_pipe, flags)
        })?;
        if moved == 0 {
            return Err(job.fail(Cause::WroteZero {
                syscall: Syscall::Splice,
            }));
        }
        job.sent(moved);
        in_pipe -= moved;
    }
    Ok(())
}

/// The largest pipe an unprivileged process may ask for, from `/proc/sys/fs/pipe-max-size`.
pub fn pipe_max_size() -> io::Result<usize> {
    let text = std::fs::read_to_string(PIPE_MAX_SIZE)?;
    text.trim()
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{PIPE_MAX_SIZE}: {e}")))
}

/// Turns a failure to build the pipe into an error a user can act on.
fn pipe_error(chunk: usize, syscall: Syscall, errno: Errno) -> io::Error {
    let limit = match pipe_max_size() {
        Ok(max) => format!("{max} bytes"),
        Err(e) => format!("unknown: {e}"),
    };
    let message = match (syscall, errno) {
        (Syscall::Fcntl, Errno::EPERM) => format!(
            "splice: the kernel refused a pipe of {chunk} bytes (F_SETPIPE_SZ: EPERM). \
             Pipes are limited by fs.pipe-max-size ({limit}; processes with \
             CAP_SYS_RESOURCE may exceed it) and, per user, by \
             fs.pipe-user-pages-soft/-hard. Use a chunk of at most fs.pipe-max-size, or \
             raise it: sudo sysctl fs.pipe-max-size={chunk}"
        ),
        (Syscall::Fcntl, Errno::EINVAL) => format!(
            "splice: a pipe cannot hold {chunk} bytes (F_SETPIPE_SZ: EINVAL); \
             use a smaller chunk (fs.pipe-max-size is {limit})"
        ),
        _ => format!("splice: could not create the pipe: {syscall} failed: {errno}"),
    };
    io::Error::new(io::Error::from(errno).kind(), message)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn copies_nothing_through_user_space() {
        let len = 2 * MIB + 300;
        let file = fixture(&pattern(len));
        let mut tx = SpliceSender::new(64 * KIB).unwrap();
        send_and_collect(&mut tx, file.as_file(), 0, len).unwrap();
        let tally = tx.tally();
        assert_eq!(tally.user_copied_bytes, 0);
        // Two calls per chunk (file -> pipe, pipe -> socket), more only after short ones.
        let chunks = len.div_ceil(64 * KIB) as u64;
        assert!(tally.syscalls.splice >= 2 * chunks);
        assert!(tally.syscalls.splice <= 2 * chunks + chunks / 2);
        assert_eq!(
            tally.syscalls.total(),
            tally.syscalls.splice + tally.syscalls.poll
        );
    }

    #[test]
    fn pipe_is_sized_to_the_chunk() {
        for chunk in [4 * KIB, 64 * KIB, 100 * KIB, 1000] {
            let tx = SpliceSender::new(chunk).unwrap();
            let granted = tx.pipe_capacity().unwrap();
            assert!(granted >= chunk, "asked {chunk}, got {granted}");
            assert!(granted.is_power_of_two(), "{granted}");
        }
    }

    #[test]
    fn failed_send_leaves_no_stale_bytes_in_the_pipe() {
        let len = 4 * MIB;
        let data = pattern(len);
        let file = fixture(&data);
        let mut tx = SpliceSender::new(64 * KIB).unwrap();
        send_to_vanishing_sink(&mut tx, file.as_file(), len).expect_err("sink left");
        tx.reset_tally();
        let got = send_and_collect(&mut tx, file.as_file(), 0, 100 * KIB).unwrap();
        assert!(got == data[..100 * KIB], "the retry must start with byte 0");
        assert_eq!(
            (tx.tally().syscalls.pipe2, tx.tally().syscalls.fcntl),
            (1, 1)
        );
    }

    #[test]
    fn refused_pipe_size_names_the_limit_and_the_fix() {
        let err = pipe_error(8 * MIB, Syscall::Fcntl, Errno::EPERM);
        let text = err.to_string();
        assert!(text.contains("fs.pipe-max-size"), "{text}");
        assert!(text.contains("sysctl fs.pipe-max-size=8388608"), "{text}");
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn pipe_max_size_is_readable() {
        assert!(pipe_max_size().unwrap() >= 4096);
    }
}
