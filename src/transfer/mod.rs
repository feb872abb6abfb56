//! The transfer modes: the same bytes, file to socket, the four classic ways and four
//! beyond sendfile.
//!
//! Each mode lives in its own file with the same shape, so that `diff read_write.rs
//! sendfile.rs` shows exactly what zero-copy changes:
//!
//! | mode           | per chunk                                         | file             |
//! |----------------|---------------------------------------------------|------------------|
//! | `read-write`   | `pread` into a user buffer, `write` it out        | [`read_write`]   |
//! | `mmap`         | `write` a slice of a mapping of the file          | [`mmap`]         |
//! | `sendfile`     | `sendfile` file -> socket                         | [`sendfile`]     |
//! | `splice`       | `splice` file -> pipe, `splice` pipe -> socket    | [`splice`]       |
//! | `msg-zerocopy` | `send(MSG_ZEROCOPY)` a slice of a mapping         | [`msg_zerocopy`] |
//! | `io-uring`     | READ_FIXED + SEND, 32 chunks per `io_uring_enter` | [`io_uring`]     |
//! | `tls`          | `pread`, encrypt (rustls), `writev` the records   | [`tls`]          |
//! | `ktls`         | `sendfile` through kernel TLS (probe only here)   | [`ktls`]         |
//!
//! What lives here:
//! - [`Mode`]: the name of a mode, as the CLI and the JSON results spell it, and
//!   [`Mode::caveats`]: what the textbook picture leaves out for it (`caveats.rs`).
//! - [`Model`]: what the *textbook* predicts for a mode (copies, mode switches). It is data,
//!   not a measurement: reports print it in a column labelled "model", next to what the
//!   probe measured, so a student can see where the textbook and the kernel disagree.
//! - [`Transfer`]: the one trait every mode implements, and [`sender`] to build one.
//! - [`Tally`]: what a mode counted about itself while sending (bytes, bytes that went
//!   through user space, every syscall by name). It is exact and free, unlike kernel
//!   counters, and it is the fallback when those are unavailable.
//! - [`TransferError`]: the one error, naming the mode, the progress and the syscall.
//!
//! Rules every mode follows (docs/architecture.md §3, "expected states are not errors"):
//! - a call may move fewer bytes than asked: the loop continues from where it stopped;
//! - `EINTR` (a signal arrived) is retried;
//! - `EAGAIN` on the socket (a non-blocking socket whose buffer is full) waits in
//!   `poll(POLLOUT)` and retries; on a blocking socket it means its send timeout
//!   (`SO_SNDTIMEO`) passed, and is an error;
//! - retried calls are counted too: the kernel counts them, and so must we;
//! - a file that ends before `offset + len` is an error, never a silent short send.
//!
//! The modes write to the socket with `write`, `writev`, `send`, `sendfile`, `splice` and
//! io_uring SENDs, none of which take
//! `MSG_NOSIGNAL`: if the receiver is gone the kernel raises SIGPIPE. Rust programs ignore
//! SIGPIPE by default (the runtime sets it before `main`), so the call fails with `EPIPE`
//! instead and the mode returns a [`TransferError`]. A host program that restores the
//! default SIGPIPE disposition would be killed instead.

mod caveats;
pub mod io_uring;
pub mod ktls;
pub mod mmap;
pub mod msg_zerocopy;
pub mod read_write;
pub mod sendfile;
pub mod splice;
mod tally;
pub mod tls;

pub use io_uring::IoUringSender;
pub use mmap::MmapSender;
pub use msg_zerocopy::MsgZerocopySender;
pub use read_write::ReadWriteSender;
pub use sendfile::{SENDFILE_MAX, SendfileSender};
pub use splice::{SpliceSender, pipe_max_size};
pub use tally::{Completions, Syscall, SyscallTally, Tally};
pub use tls::TlsSender;

use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::BorrowedFd;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde::Serialize;

/// One way of moving file bytes to a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// `pread` into a user buffer, then `write` it to the socket: the baseline.
    ReadWrite,
    /// Map the file and `write` slices of the mapping: saves the copy into user space.
    Mmap,
    /// `sendfile(2)`: the kernel moves file pages to the socket itself.
    Sendfile,
    /// `splice(2)` file -> pipe -> socket: page references travel through a pipe.
    Splice,
    /// `send(MSG_ZEROCOPY)` from a mapping of the file: the kernel pins the pages and says
    /// on the socket's error queue when it is done with them (or that it copied after all).
    MsgZerocopy,
    /// io_uring: read into registered buffers and send, many chunks per `io_uring_enter`.
    IoUring,
    /// Userspace TLS 1.3 (rustls): read, encrypt, write. What Kafka does under SSL.
    Tls,
    /// Kernel TLS: a rustls handshake, then `sendfile` through the kernel's `tls` ULP.
    Ktls,
}

/// A mode by the name it is written with (`read-write`, `sendfile`, ...).
impl<'de> serde::Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let name = String::deserialize(d)?;
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| D::Error::custom(format!("unknown mode {name:?}")))
    }
}

impl Mode {
    /// Every mode, in the order reports list them: the four classic ones (most copies
    /// first), then the ones beyond sendfile.
    pub const ALL: [Mode; 8] = [
        Mode::ReadWrite,
        Mode::Mmap,
        Mode::Sendfile,
        Mode::Splice,
        Mode::MsgZerocopy,
        Mode::IoUring,
        Mode::Tls,
        Mode::Ktls,
    ];

    /// The name used on the command line and in JSON results.
    pub fn name(self) -> &'static str {
        match self {
            Mode::ReadWrite => "read-write",
            Mode::Mmap => "mmap",
            Mode::Sendfile => "sendfile",
            Mode::Splice => "splice",
            Mode::MsgZerocopy => "msg-zerocopy",
            Mode::IoUring => "io-uring",
            Mode::Tls => "tls",
            Mode::Ktls => "ktls",
        }
    }

    /// Whether the bytes pass through memory this program can read on their way to the
    /// socket (read-write: its buffer; mmap: the mapping). Only then can a server look at
    /// what it sends ([`Watched`]); sendfile and splice keep the bytes inside the kernel.
    pub fn bytes_reach_user_space(self) -> bool {
        matches!(self, Mode::ReadWrite | Mode::Mmap)
    }

    /// Whether the receiver must speak TLS to read what this mode sends.
    pub fn encrypts(self) -> bool {
        matches!(self, Mode::Tls | Mode::Ktls)
    }

    /// Whether this kernel and this build can run the mode, and if not, why and what to
    /// do about it. Asked once before a run, so that an unsupported mode shows `n/a`
    /// with the reason while the others keep running.
    pub fn supported(self) -> Result<(), String> {
        match self {
            Mode::MsgZerocopy => msg_zerocopy::supported(),
            Mode::IoUring => io_uring::supported(),
            Mode::Ktls => ktls::supported(),
            _ => Ok(()),
        }
    }

    /// What the textbook predicts for this mode, per chunk sent. Not measured.
    pub fn model(self) -> Model {
        match self {
            Mode::ReadWrite => Model {
                dma_copies: 2,
                cpu_copies: 2,
                mode_switches: 4,
                syscalls_per_chunk: 2,
                user_copies_per_byte: 2,
                note: "DMA disk->page cache and socket buffer->NIC; the CPU copies page cache->\
                       user buffer (read) and user buffer->socket buffer (write). With a warm \
                       cache the disk DMA already happened; on loopback there is no NIC DMA.",
            },
            Mode::Mmap => Model {
                dma_copies: 2,
                cpu_copies: 1,
                mode_switches: 2,
                syscalls_per_chunk: 1,
                user_copies_per_byte: 1,
                note: "Per chunk: one write, so 2 switches. The textbook's 4 also counts the \
                       mmap call, as if the whole file were one chunk; here mmap, madvise and \
                       munmap happen once per segment, outside the per-chunk cost. The one CPU copy is mapping->socket \
                       buffer inside write; page faults on the mapping are taken inside the \
                       kernel during that copy, and the model does not count them.",
            },
            Mode::Sendfile => Model {
                dma_copies: 2,
                cpu_copies: 1,
                mode_switches: 2,
                syscalls_per_chunk: 1,
                user_copies_per_byte: 0,
                note: "The classic figure copies page cache->socket buffer once. With \
                       scatter-gather DMA it is 0: Linux TCP attaches page-cache pages to the \
                       socket by reference on any SG-capable device, loopback included. On \
                       loopback there is no NIC DMA either.",
            },
            Mode::Splice => Model {
                dma_copies: 2,
                cpu_copies: 1,
                mode_switches: 4,
                syscalls_per_chunk: 2,
                user_copies_per_byte: 0,
                note: "Page references move file->pipe; pipe->socket the classic figure \
                       copies once, like sendfile, and with scatter-gather DMA (any SG-capable \
                       device, loopback included) the pages are attached by reference: 0 CPU \
                       copies. Two syscalls per chunk, so twice sendfile's mode switches for \
                       the same copies.",
            },
            Mode::MsgZerocopy => Model {
                dma_copies: 2,
                cpu_copies: 1,
                mode_switches: 2,
                syscalls_per_chunk: 1,
                user_copies_per_byte: 0,
                note: "send(MSG_ZEROCOPY) pins the mapped page-cache pages and, on a device \
                       with scatter-gather DMA, attaches them to the socket by reference (0 CPU \
                       copies; without it the kernel copies them, 1, as sendfile's classic \
                       figure counts); the NIC reads them by DMA. The completions \
                       are reaped with recvmsg(MSG_ERRQUEUE), one call for many sends, outside \
                       the per-chunk figure. On loopback the kernel copies after all (1 CPU \
                       copy): a pinned user page may not sit in a local receiver's queue, so \
                       delivery copies it and the completion says COPIED.",
            },
            Mode::IoUring => Model {
                dma_copies: 2,
                cpu_copies: 2,
                mode_switches: 0,
                syscalls_per_chunk: 0,
                user_copies_per_byte: 2,
                note: "The copies of read-write (READ_FIXED into a registered buffer, SEND out \
                       of it), but one io_uring_enter submits and waits for a whole batch of \
                       chunks: 2/N mode switches per chunk for N chunks a batch, which the \
                       whole-number model rounds to 0.",
            },
            Mode::Tls => Model {
                dma_copies: 2,
                cpu_copies: 3,
                mode_switches: 4,
                syscalls_per_chunk: 2,
                user_copies_per_byte: 2,
                note: "read-write plus a pass of encryption: pread copies page cache->user \
                       buffer, AES-GCM reads every byte and writes ciphertext into a TLS \
                       record, write copies the record to the socket buffer. The 3rd CPU \
                       'copy' is the encryption pass (plus 22 bytes of record framing per \
                       16 KiB record).",
            },
            Mode::Ktls => Model {
                dma_copies: 2,
                cpu_copies: 1,
                mode_switches: 2,
                syscalls_per_chunk: 1,
                user_copies_per_byte: 0,
                note: "sendfile through the kernel's tls ULP: no byte enters user space, but \
                       software kTLS still reads every page-cache byte and writes ciphertext \
                       into new socket-buffer pages (1 CPU pass). Only a NIC with TLS offload \
                       removes it, and even then the kernel copies file pages to a bounce \
                       buffer unless TLS_TX_ZEROCOPY_RO is set.",
            },
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The textbook's cost of sending one chunk in a mode. Data to print beside the measured
/// values, clearly labelled "model"; never a measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Model {
    /// Copies done by a device without the CPU (disk -> memory, memory -> NIC).
    pub dma_copies: u32,
    /// Copies done by the CPU (`memcpy` in the kernel).
    pub cpu_copies: u32,
    /// User<->kernel mode switches: two per syscall. Not scheduler context switches.
    pub mode_switches: u32,
    /// Syscalls per chunk in the steady state.
    pub syscalls_per_chunk: u32,
    /// How many times each byte crosses the user/kernel boundary.
    pub user_copies_per_byte: u32,
    /// Where the figures come from and where the real kernel differs.
    pub note: &'static str,
}

/// A mode ready to send: owns its per-mode state (buffer, pipe) and its [`Tally`].
pub trait Transfer {
    /// Which mode this is.
    fn mode(&self) -> Mode;

    /// Sends exactly `len` bytes of `file`, starting at `offset`, to the connected socket
    /// `sock`, in calls of at most [`Transfer::chunk`] bytes. The file offset of `file`
    /// is not used or moved (every call takes an explicit offset), so one `File` can be
    /// shared by concurrent senders.
    fn send(
        &mut self,
        file: &File,
        offset: u64,
        len: u64,
        sock: BorrowedFd<'_>,
    ) -> Result<(), TransferError>;

    /// What this sender counted since it was built or last reset.
    fn tally(&self) -> &Tally;

    /// Zeroes the tally, so that a runner can bracket one run.
    fn reset_tally(&mut self);

    /// The largest number of bytes one call moves.
    fn chunk(&self) -> usize;

    /// The capacity of the pipe the kernel granted, for modes that use one (splice).
    /// It may exceed the chunk: the kernel rounds up to a power of two of pages.
    fn pipe_capacity(&self) -> Option<usize> {
        None
    }
}

/// A mode that can show the caller every byte it sends, because the bytes pass through
/// memory the program can read: RocketMQ serves from mmap for exactly this, to look at the
/// messages (and re-route failed ones) while serving them. Only read-write and mmap
/// implement it; sendfile and splice cannot, their bytes never leave the kernel.
pub trait Watched: Transfer {
    /// [`Transfer::send`], handing `watch` every byte, in order, before it goes to the
    /// socket: each chunk of the user buffer as it is read (read-write), or the whole
    /// mapped region at once (mmap). Reading those bytes costs CPU (and, for mmap, a page
    /// past the end of a truncated file is SIGBUS: see `mmap.rs`); the sender copies
    /// nothing to hand them over.
    fn send_watched(
        &mut self,
        file: &File,
        offset: u64,
        len: u64,
        sock: BorrowedFd<'_>,
        watch: &mut dyn FnMut(&[u8]),
    ) -> Result<(), TransferError>;
}

/// A [`Watched`] sender for `mode`, or `None` when the mode's bytes never reach user
/// space (sendfile, splice).
pub fn watched_sender(mode: Mode, chunk: usize) -> io::Result<Option<Box<dyn Watched + Send>>> {
    if chunk == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "chunk size must be at least 1 byte",
        ));
    }
    Ok(match mode {
        Mode::ReadWrite => Some(Box::new(ReadWriteSender::new(chunk)?)),
        Mode::Mmap => Some(Box::new(MmapSender::new(chunk))),
        _ => None,
    })
}

/// Builds a sender for `mode` moving at most `chunk` bytes per call. Everything that is
/// not per transfer (the user buffer, the pipe and its size) is set up here, outside the
/// timed region.
pub fn sender(mode: Mode, chunk: usize) -> io::Result<Box<dyn Transfer + Send>> {
    if chunk == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "chunk size must be at least 1 byte",
        ));
    }
    Ok(match mode {
        Mode::ReadWrite => Box::new(ReadWriteSender::new(chunk)?),
        Mode::Mmap => Box::new(MmapSender::new(chunk)),
        Mode::Sendfile => Box::new(SendfileSender::new(chunk)),
        Mode::Splice => Box::new(SpliceSender::new(chunk)?),
        Mode::MsgZerocopy => Box::new(MsgZerocopySender::new(chunk)),
        Mode::IoUring => Box::new(IoUringSender::new(chunk)?),
        Mode::Tls => Box::new(TlsSender::new(chunk)?),
        Mode::Ktls => return Err(ktls::sender_unavailable()),
    })
}

/// A transfer that stopped before sending all it was asked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferError {
    /// The mode that was sending.
    pub mode: Mode,
    /// Bytes the socket had accepted in this `send` before it failed.
    pub sent: u64,
    /// Bytes this `send` was asked to move.
    pub len: u64,
    /// What went wrong.
    pub cause: Cause,
}

/// Why a transfer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A syscall failed with `errno` (after EINTR/EAGAIN retries, which are not failures).
    Os { syscall: Syscall, errno: Errno },
    /// The file ends before `offset + len`: `syscall` returned 0 (end of file) or, for
    /// mmap, `fstat` showed the file is shorter. `file_len` is known only from `fstat`.
    FileTooShort {
        syscall: Syscall,
        file_len: Option<u64>,
    },
    /// The socket accepted 0 bytes of a non-empty write. Not expected from a connected TCP
    /// socket; checked so that the loop can never spin.
    WroteZero { syscall: Syscall },
    /// `offset + len` does not fit in the kernel's signed 64-bit file offset.
    RangeTooLarge { offset: u64 },
    /// TLS failed (`tls`): the handshake, or rustls itself. `reason` names the fix.
    Tls { reason: &'static str },
}

impl TransferError {
    /// The errno, if a syscall failed.
    pub fn errno(&self) -> Option<Errno> {
        match self.cause {
            Cause::Os { errno, .. } => Some(errno),
            _ => None,
        }
    }

    /// The syscall that failed or came up short, if any.
    pub fn syscall(&self) -> Option<Syscall> {
        match self.cause {
            Cause::Os { syscall, .. }
            | Cause::FileTooShort { syscall, .. }
            | Cause::WroteZero { syscall } => Some(syscall),
            Cause::RangeTooLarge { .. } | Cause::Tls { .. } => None,
        }
    }

    /// True when the receiver went away (`EPIPE`, `ECONNRESET`): the sink's fault, not ours.
    pub fn peer_gone(&self) -> bool {
        matches!(self.errno(), Some(Errno::EPIPE | Errno::ECONNRESET))
    }
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: sent {} of {} bytes, then ",
            self.mode, self.sent, self.len
        )?;
        match self.cause {
            Cause::Os { syscall, errno } => {
                // nix's Errno display is already "ECONNRESET: Connection reset by peer".
                write!(f, "{syscall} failed: {errno}")?;
                if self.peer_gone() {
                    f.write_str(" (the receiver closed the connection)")?;
                } else if errno == Errno::EAGAIN {
                    f.write_str(
                        " (the socket's send timeout passed: the receiver stopped reading)",
                    )?;
                }
                Ok(())
            }
            Cause::FileTooShort {
                syscall,
                file_len: Some(n),
            } => write!(f, "{syscall} showed the file is only {n} bytes long"),
            Cause::FileTooShort { syscall, .. } => {
                write!(f, "{syscall} hit the end of the file early")
            }
            Cause::WroteZero { syscall } => write!(f, "{syscall} accepted 0 bytes"),
            Cause::RangeTooLarge { offset } => write!(
                f,
                "offset {offset} + length does not fit in a 64-bit signed file offset"
            ),
            Cause::Tls { reason } => write!(f, "TLS failed: {reason}"),
        }
    }
}

impl std::error::Error for TransferError {}

/// One `send` in progress: how far it got, and the tally it adds to. Every mode drives one
/// of these, so progress, counting and error reports work the same way everywhere.
struct Job<'t> {
    mode: Mode,
    offset: u64,
    len: u64,
    sent: u64,
    tally: &'t mut Tally,
    /// Whether the socket is non-blocking, once an `EAGAIN` made it worth asking.
    non_blocking: Option<bool>,
}

impl<'t> Job<'t> {
    /// Starts a send of `len` bytes at `offset`, checking the range fits in an `off_t`.
    fn start(
        mode: Mode,
        offset: u64,
        len: u64,
        tally: &'t mut Tally,
    ) -> Result<Self, TransferError> {
        let job = Job {
            mode,
            offset,
            len,
            sent: 0,
            tally,
            non_blocking: None,
        };
        match offset.checked_add(len) {
            Some(end) if i64::try_from(end).is_ok() => Ok(job),
            _ => Err(job.fail(Cause::RangeTooLarge { offset })),
        }
    }

    fn remaining(&self) -> u64 {
        self.len - self.sent
    }

    /// The size of the next call: at most `limit` bytes, never past the end of the range.
    fn next_len(&self, limit: usize) -> usize {
        usize::try_from(self.remaining()).map_or(limit, |rest| rest.min(limit))
    }

    /// The file offset of the next byte to send, as the kernel wants it. Cannot overflow:
    /// `start` checked that `offset + len` fits.
    fn file_pos(&self) -> i64 {
        (self.offset + self.sent) as i64
    }

    /// Counts a syscall made directly rather than through [`Job::call`].
    fn count(&mut self, syscall: Syscall) {
        self.tally.syscalls.count(syscall);
    }

    /// Records `n` more bytes accepted by the socket.
    fn sent(&mut self, n: usize) {
        self.sent += n as u64;
        self.tally.bytes_sent += n as u64;
    }

    /// Records `n` bytes the CPU copied across the user/kernel boundary.
    fn copied(&mut self, n: usize) {
        self.tally.user_copied_bytes += n as u64;
    }

    fn fail(&self, cause: Cause) -> TransferError {
        TransferError {
            mode: self.mode,
            sent: self.sent,
            len: self.len,
            cause,
        }
    }

    /// Makes one syscall, counting it, until it returns something other than `EINTR` or
    /// `EAGAIN`. `EAGAIN` is expected only from a socket whose send buffer is full, so it
    /// waits for `socket` to become writable; for calls that do not write to the socket
    /// (`socket` is `None`) it is an error like any other.
    fn call(
        &mut self,
        syscall: Syscall,
        socket: Option<BorrowedFd<'_>>,
        mut f: impl FnMut() -> nix::Result<usize>,
    ) -> Result<usize, TransferError> {
        loop {
            self.tally.syscalls.count(syscall);
            match (f(), socket) {
                (Ok(n), _) => return Ok(n),
                (Err(Errno::EINTR), _) => self.tally.eintr += 1,
                (Err(Errno::EAGAIN), Some(sock)) => {
                    self.tally.eagain += 1;
                    // A *blocking* socket says EAGAIN only when its send timeout
                    // (SO_SNDTIMEO) has passed: the receiver stopped reading. Waiting on in
                    // poll would defeat the timeout and hold the sender forever.
                    if !self.non_blocking(sock) {
                        return Err(self.fail(Cause::Os {
                            syscall,
                            errno: Errno::EAGAIN,
                        }));
                    }
                    self.wait_writable(sock)?;
                }
                (Err(errno), _) => return Err(self.fail(Cause::Os { syscall, errno })),
            }
        }
    }

    /// Whether `sock` is non-blocking (`O_NONBLOCK`); asked once per send, on its first
    /// `EAGAIN`, with a counted `fcntl(F_GETFL)`. A socket whose flags cannot be read is
    /// taken as non-blocking: the old behaviour, waiting in poll.
    fn non_blocking(&mut self, sock: BorrowedFd<'_>) -> bool {
        if let Some(known) = self.non_blocking {
            return known;
        }
        self.count(Syscall::Fcntl);
        let known = nix::fcntl::fcntl(sock, nix::fcntl::FcntlArg::F_GETFL).map_or(true, |flags| {
            nix::fcntl::OFlag::from_bits_truncate(flags).contains(nix::fcntl::OFlag::O_NONBLOCK)
        });
        self.non_blocking = Some(known);
        known
    }

    /// Blocks until `sock` can take more bytes. Returns also on error or hang-up, so that
    /// the retried call reports the real error (`EPIPE`, `ECONNRESET`).
    fn wait_writable(&mut self, sock: BorrowedFd<'_>) -> Result<(), TransferError> {
        self.call(Syscall::Poll, None, || {
            let mut fds = [PollFd::new(sock, PollFlags::POLLOUT)];
            poll(&mut fds, PollTimeout::NONE).map(|ready| ready as usize)
        })
        .map(drop)
    }

    /// Writes all of `buf`, a user-space buffer, to the socket, continuing after short
    /// writes. Shared by the two modes that hand the kernel a user pointer.
    fn write_all(&mut self, sock: BorrowedFd<'_>, mut buf: &[u8]) -> Result<(), TransferError> {
        while !buf.is_empty() {
            let n = self.call(Syscall::Write, Some(sock), || nix::unistd::write(sock, buf))?;
            if n == 0 {
                return Err(self.fail(Cause::WroteZero {
                    syscall: Syscall::Write,
                }));
            }
            self.sent(n);
            self.copied(n);
            buf = &buf[n..];
        }
        Ok(())
    }
}

#[cfg(test)]
mod testing;

#[cfg(test)]
mod tests;
