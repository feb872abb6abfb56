//! `io-uring`: the copies of read-write, but one `io_uring_enter` submits a whole batch of
//! chunks and waits for all of them. The lesson is mode switches: read-write pays 2
//! syscalls per chunk, this mode 1 per [`BATCH`] chunks, for the same bytes copied.
//!
//! ```text
//!   disk ──DMA──► page cache ──CPU──► registered buffer ──CPU──► socket buffer ──DMA──► NIC
//!                     READ_FIXED copies ─┘         └─ SEND copies
//!
//!   user    ──io_uring_enter(submit 2N, wait 2N)──►│                              │
//!   kernel                                         └ read,send,read,send,... (N) ┘
//! ```
//!
//! Why READ_FIXED + SEND, of the three ways io_uring can move a file to a socket:
//! - READ_FIXED into a registered buffer + SEND: exactly read-write's two copies, so the only
//!   difference from read-write is the number of syscalls. The buffer is registered (pinned
//!   once) so the kernel does not pin and unpin it on every read.
//! - SPLICE pairs would copy nothing, but io_uring runs a splice from a file on an io-wq
//!   worker thread, so the CPU it costs moves off the measured thread and the comparison
//!   with `splice` would measure that move, not the batching.
//! - SEND_ZC would mix in MSG_ZEROCOPY's pinning and completions (`msg-zerocopy` shows those
//!   alone) and on loopback it copies anyway.
//!
//! The batch is one chain of linked requests (`IOSQE_IO_LINK`): read 1, send 1, read 2,
//! send 2, ... Each starts only when the one before it completed, so the sends reach the
//! socket in file order and one buffer suffices. SEND carries `MSG_WAITALL`, which makes
//! io_uring retry a short send itself until the whole chunk is in the socket. A request
//! that fails or comes up short breaks the chain: the rest complete with `ECANCELED`, and
//! the next batch starts from the first byte not sent.
//!
//! Caveats:
//! - a send that cannot proceed (socket full) is not an error and takes no syscall: io_uring
//!   waits for the socket to become writable and resumes the chain, in this thread, while it
//!   sleeps in `io_uring_enter`, even on a non-blocking socket (no `EAGAIN` comes back). That also means a blocking socket's send timeout
//!   (`SO_SNDTIMEO`) is ignored by the ring; this mode reads it and waits at most that long
//!   for a batch to progress, then cancels the batch.
//! - `kernel.io_uring_disabled` (1: only root or `kernel.io_uring_group`; 2: nobody) and
//!   kernels built without `CONFIG_IO_URING` refuse `io_uring_setup`: [`supported`] says so.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use io_uring::types::{CancelBuilder, Fd, SubmitArgs, Timespec};
use io_uring::{IoUring, Probe, opcode, squeue};
use nix::errno::Errno;
use nix::sys::socket::{getsockopt, sockopt};

use super::{Cause, Job, Mode, Syscall, Tally, Transfer, TransferError};

/// Chunks per `io_uring_enter`: at 64 KiB, 2 MiB a batch and 1/32 syscall per chunk.
pub const BATCH: usize = 32;

/// The opcodes worth knowing about for moving a file to a socket, as the kernel's probe
/// names them (include/uapi/linux/io_uring.h).
const OPCODES: [(&str, u8); 7] = [
    ("READ", opcode::Read::CODE),
    ("READ_FIXED", opcode::ReadFixed::CODE),
    ("SEND", opcode::Send::CODE),
    ("SPLICE", opcode::Splice::CODE),
    ("SEND_ZC", opcode::SendZc::CODE),
    ("SENDMSG_ZC", opcode::SendMsgZc::CODE),
    ("LINK_TIMEOUT", opcode::LinkTimeout::CODE),
];

/// Sends `chunk`-byte chunks through io_uring, [`BATCH`] of them per `io_uring_enter`.
pub struct IoUringSender {
    chunk: usize,
    ring: IoUring,
    /// Registered as fixed buffer 0; the ring's requests point into it, so it lives as long
    /// as the ring (fields drop in order: the ring first).
    buf: Vec<u8>,
    tally: Tally,
}

impl IoUringSender {
    /// Sets up the ring and registers the buffer (both outside the timed region). Fails
    /// with the reason and the fix when the kernel has no usable io_uring.
    pub fn new(chunk: usize) -> io::Result<Self> {
        let chunk = chunk.min(u32::MAX as usize);
        let ring = new_ring((2 * BATCH) as u32)?;
        let probe = probe_ring(&ring)?;
        for (name, code) in [
            ("READ_FIXED", opcode::ReadFixed::CODE),
            ("SEND", opcode::Send::CODE),
        ] {
            if !probe.is_supported(code) {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("this kernel's io_uring lacks {name} (Linux 5.6 or later has it)"),
                ));
            }
        }
        let mut buf = Vec::new();
        buf.try_reserve_exact(chunk)
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
        // Touched now, like read-write's buffer, so no first-touch fault lands in a run.
        buf.resize(chunk, 0xa5);
        let iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: `buf` is never resized or freed while the ring exists (it is dropped
        // after the ring), so the registered range stays valid.
        unsafe { ring.submitter().register_buffers(&[iov]) }
            .map_err(|e| annotate(e, "io_uring_register(IORING_REGISTER_BUFFERS)"))?;
        Ok(IoUringSender {
            chunk,
            ring,
            buf,
            tally: Tally::default(),
        })
    }
}

impl Transfer for IoUringSender {
    fn mode(&self) -> Mode {
        Mode::IoUring
    }

    fn send(
        &mut self,
        file: &File,
        offset: u64,
        len: u64,
        sock: BorrowedFd<'_>,
    ) -> Result<(), TransferError> {
        let mut job = Job::start(self.mode(), offset, len, &mut self.tally)?;
        if len == 0 {
            return Ok(());
        }
        let timeout = send_timeout(&mut job, sock)?;
        // After a short read, the next batch starts with a chunk of just the bytes that
        // read found, so that the file's end is reached (and reported) instead of re-read.
        let mut first_cap = self.chunk;
        while job.remaining() > 0 {
            let wants = queue_batch(
                &mut self.ring,
                &mut self.buf,
                &job,
                first_cap,
                self.chunk,
                file,
                sock,
            );
            let results = complete_batch(&mut self.ring, &mut job, 2 * wants.len(), timeout)?;
            first_cap = account(&mut job, &wants, &results)?.unwrap_or(self.chunk);
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

/// The socket's `SO_SNDTIMEO`, if one is set: the ring would otherwise wait forever for a
/// receiver that stopped reading.
fn send_timeout(
    job: &mut Job<'_>,
    sock: BorrowedFd<'_>,
) -> Result<Option<Duration>, TransferError> {
    job.count(Syscall::Getsockopt);
    let tv = getsockopt(&sock, sockopt::SendTimeout).map_err(|errno| {
        job.fail(Cause::Os {
            syscall: Syscall::Getsockopt,
            errno,
        })
    })?;
    let timeout =
        Duration::from_secs(tv.tv_sec() as u64) + Duration::from_micros(tv.tv_usec() as u64);
    Ok((!timeout.is_zero()).then_some(timeout))
}

/// Puts the next batch's linked read/send pairs in the submission queue and returns the
/// length of each chunk. Request `2i` reads chunk `i`, request `2i + 1` sends it.
fn queue_batch(
    ring: &mut IoUring,
    buf: &mut [u8],
    job: &Job<'_>,
    first_cap: usize,
    chunk: usize,
    file: &File,
    sock: BorrowedFd<'_>,
) -> Vec<u32> {
    let mut wants = Vec::with_capacity(BATCH);
    let mut queued = 0u64;
    while wants.len() < BATCH && queued < job.remaining() {
        let cap = if wants.is_empty() { first_cap } else { chunk };
        let want = (job.remaining() - queued).min(cap as u64) as u32;
        let pos = job.file_pos() as u64 + queued;
        let i = wants.len() as u64;
        let read = opcode::ReadFixed::new(Fd(file.as_raw_fd()), buf.as_mut_ptr(), want, 0)
            .offset(pos)
            .build()
            .flags(squeue::Flags::IO_LINK)
            .user_data(2 * i);
        let send = opcode::Send::new(Fd(sock.as_raw_fd()), buf.as_ptr(), want)
            .flags(libc::MSG_WAITALL)
            .build()
            .user_data(2 * i + 1);
        queued += u64::from(want);
        wants.push(want);
        let last = wants.len() == BATCH || queued == job.remaining();
        let send = if last {
            send
        } else {
            send.flags(squeue::Flags::IO_LINK)
        };
        // SAFETY: the buffer and both fds outlive the requests: `complete_batch` waits for
        // every completion (or cancels) before `send` returns.
        unsafe {
            let mut sq = ring.submission();
            sq.push(&read).expect("the ring holds 2 * BATCH requests");
            sq.push(&send).expect("the ring holds 2 * BATCH requests");
        }
    }
    wants
}

/// Submits what is queued and waits for `n` completions, in as few `io_uring_enter` calls
/// as the kernel allows (one, unless a signal interrupts the wait). Returns each request's
/// result by its number.
fn complete_batch(
    ring: &mut IoUring,
    job: &mut Job<'_>,
    n: usize,
    timeout: Option<Duration>,
) -> Result<Vec<i32>, TransferError> {
    let mut results = vec![0; n];
    let mut got = 0;
    while got < n {
        job.count(Syscall::IoUringEnter);
        let waited = match timeout {
            None => ring.submit_and_wait(n - got),
            Some(t) => {
                let ts = Timespec::from(t);
                let args = SubmitArgs::new().timespec(&ts);
                ring.submitter().submit_with_args(n - got, &args)
            }
        };
        match waited.map_err(|e| e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)) {
            Ok(_) | Err(Errno::EBUSY) => {}
            Err(Errno::EINTR) => job.tally.eintr += 1,
            Err(Errno::ETIME) if ring.completion().is_empty() => {
                // No request finished within the socket's send timeout: the receiver
                // stopped reading. Cancel the chain, so nothing uses the buffer after we
                // return, and fail as a blocking write would.
                job.count(Syscall::IoUringEnter);
                let _ = ring
                    .submitter()
                    .register_sync_cancel(None, CancelBuilder::any().all());
                ring.completion().for_each(drop);
                return Err(job.fail(Cause::Os {
                    syscall: Syscall::IoUringEnter,
                    errno: Errno::EAGAIN,
                }));
            }
            Err(Errno::ETIME) => {}
            Err(errno) => {
                return Err(job.fail(Cause::Os {
                    syscall: Syscall::IoUringEnter,
                    errno,
                }));
            }
        }
        for cqe in ring.completion() {
            results[cqe.user_data() as usize] = cqe.result();
            got += 1;
        }
    }
    Ok(results)
}

/// Counts what a batch moved, in file order, up to the first chunk not sent whole.
/// Returns the length a short read found, if one broke the chain.
fn account(
    job: &mut Job<'_>,
    wants: &[u32],
    results: &[i32],
) -> Result<Option<usize>, TransferError> {
    let os = |syscall, res: i32| Cause::Os {
        syscall,
        errno: Errno::from_raw(-res),
    };
    for (i, &want) in wants.iter().enumerate() {
        let (read, sent) = (results[2 * i], results[2 * i + 1]);
        match read {
            0 => {
                return Err(job.fail(Cause::FileTooShort {
                    syscall: Syscall::Pread,
                    file_len: None,
                }));
            }
            r if r < 0 => return Err(job.fail(os(Syscall::Pread, r))),
            r => job.copied(r as usize),
        }
        if read < want as i32 {
            // The chain broke after a short read: its send was cancelled.
            return Ok(Some(read as usize));
        }
        if sent < 0 && sent != -libc::ECANCELED {
            return Err(job.fail(os(Syscall::Send, sent)));
        }
        let sent = sent.max(0) as usize;
        job.sent(sent);
        job.copied(sent);
        if sent < want as usize {
            // A signal cut the send short: the next batch starts from the first byte the
            // socket did not take.
            return Ok(None);
        }
    }
    Ok(None)
}

/// A ring of `entries` requests, or why this kernel will not give one, with the fix.
fn new_ring(entries: u32) -> io::Result<IoUring> {
    IoUring::new(entries).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(libc::ENOSYS) => {
                "this kernel has no io_uring (built without CONFIG_IO_URING); use a kernel \
                 that has it"
                    .to_string()
            }
            Some(libc::EPERM) => match disabled_sysctl().as_deref() {
                Some("2") => "kernel.io_uring_disabled = 2: io_uring is off for every process; \
                              `sysctl kernel.io_uring_disabled=0` turns it on"
                    .to_string(),
                Some("1") => "kernel.io_uring_disabled = 1: only root and members of \
                              kernel.io_uring_group may use io_uring; run as root or \
                              `sysctl kernel.io_uring_disabled=0`"
                    .to_string(),
                _ => "io_uring_setup was refused (EPERM): a seccomp filter (a container's \
                      default profile) or a security module forbids it"
                    .to_string(),
            },
            _ => format!("io_uring_setup failed: {e}"),
        };
        io::Error::new(io::ErrorKind::Unsupported, why)
    })
}

fn disabled_sysctl() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()
        .map(|s| s.trim().to_string())
}

fn probe_ring(ring: &IoUring) -> io::Result<Probe> {
    let mut probe = Probe::new();
    ring.submitter()
        .register_probe(&mut probe)
        .map_err(|e| annotate(e, "io_uring_register(IORING_REGISTER_PROBE)"))?;
    Ok(probe)
}

fn annotate(e: io::Error, call: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{call} failed: {e}"))
}

/// Which of the opcodes that matter for file -> socket this kernel's io_uring supports.
pub fn supported_opcodes() -> io::Result<Vec<(&'static str, bool)>> {
    let ring = new_ring(2)?;
    let probe = probe_ring(&ring)?;
    Ok(OPCODES
        .iter()
        .map(|&(name, code)| (name, probe.is_supported(code)))
        .collect())
}

/// Whether this mode can run here; the reason and the fix if not.
pub fn supported() -> Result<(), String> {
    IoUringSender::new(4096)
        .map(drop)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn one_enter_per_batch_and_read_writes_copies() {
        let len = 4 * MIB + 99;
        let data = pattern(len);
        let file = fixture(&data);
        let mut tx = IoUringSender::new(64 * KIB).unwrap();
        let got = send_and_collect(&mut tx, file.as_file(), 0, len).unwrap();
        assert!(got == data, "bytes differ");
        let tally = tx.tally();
        assert_eq!(tally.user_copied_bytes, 2 * len as u64);
        let chunks = len.div_ceil(64 * KIB) as u64;
        let enters = tally.syscalls.io_uring_enter;
        // One enter per batch, give or take an interrupted wait.
        assert!(enters >= chunks.div_ceil(BATCH as u64), "{tally:?}");
        assert!(enters * 4 < chunks, "{enters} enters for {chunks} chunks");
        assert_eq!(tally.syscalls.pread + tally.syscalls.write, 0);
    }

    #[test]
    fn the_probe_names_the_opcodes_this_mode_needs() {
        let ops = supported_opcodes().unwrap();
        let has = |name| ops.iter().any(|&(n, ok)| n == name && ok);
        assert!(has("READ_FIXED") && has("SEND"), "{ops:?}");
    }
}
