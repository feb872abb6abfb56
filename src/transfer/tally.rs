//! What a mode counts about itself while it sends: bytes, bytes that crossed the
//! user/kernel boundary, MSG_ZEROCOPY completions, and every system call by name. These
//! counts are exact and free (no permission needed), and they are zc's own accounting:
//! reports label them so and put the kernel's counters beside them.

use std::fmt;

use serde::Serialize;

/// What a sender counted about itself. Cumulative across `send` calls until reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Bytes the socket accepted.
    pub bytes_sent: u64,
    /// Bytes the CPU copied across the user/kernel boundary, summed from the return values
    /// of the calls that touched a user buffer (read-write: `pread` + `write`; mmap:
    /// `write`; sendfile and splice: none).
    pub user_copied_bytes: u64,
    /// Every syscall made while sending, by name, retries included.
    pub syscalls: SyscallTally,
    /// How many of those calls returned `EINTR` and were retried.
    pub eintr: u64,
    /// How many of those calls returned `EAGAIN` (socket full) and were retried after
    /// `poll`.
    pub eagain: u64,
    /// What the kernel's `MSG_ZEROCOPY` completions said (msg-zerocopy only; `None` for
    /// the modes that make no zero-copy sends, rather than a row of zeros).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zerocopy: Option<Completions>,
}

/// The `MSG_ZEROCOPY` completions reaped from a socket's error queue. Each successful
/// `send` gets a number; one notification covers a range of them, flagged
/// `SO_EE_CODE_ZEROCOPY_COPIED` when the kernel had to copy the bytes after all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Completions {
    /// `send` calls that took bytes and so await a completion.
    pub sends: u64,
    /// Notifications read from the error queue (one `recvmsg` each).
    pub notifications: u64,
    /// Of those, the ones flagged COPIED.
    pub copied_notifications: u64,
    /// Bytes of the sends the completions covered: equals `bytes_sent` once all are in.
    pub completed_bytes: u64,
    /// Of those, the bytes the kernel copied instead of sending the pinned pages.
    pub copied_bytes: u64,
}

impl Completions {
    fn plus(&self, o: &Completions) -> Completions {
        Completions {
            sends: self.sends + o.sends,
            notifications: self.notifications + o.notifications,
            copied_notifications: self.copied_notifications + o.copied_notifications,
            completed_bytes: self.completed_bytes + o.completed_bytes,
            copied_bytes: self.copied_bytes + o.copied_bytes,
        }
    }
}

impl Tally {
    /// What two senders counted together (several consumers served at once).
    pub fn plus(&self, o: &Tally) -> Tally {
        let mut syscalls = self.syscalls;
        for (call, n) in o.syscalls.iter() {
            syscalls.add(call, n);
        }
        Tally {
            bytes_sent: self.bytes_sent + o.bytes_sent,
            user_copied_bytes: self.user_copied_bytes + o.user_copied_bytes,
            syscalls,
            eintr: self.eintr + o.eintr,
            eagain: self.eagain + o.eagain,
            zerocopy: match (self.zerocopy, o.zerocopy) {
                (Some(a), Some(b)) => Some(a.plus(&b)),
                (a, b) => a.or(b),
            },
        }
    }
}

/// A syscall a mode makes while sending. [`Syscall::name`] is the libc name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Syscall {
    /// `pread(2)`; the kernel's tracepoint calls it `pread64`.
    Pread,
    Write,
    /// `sendfile(2)`; the kernel's tracepoint calls it `sendfile64`.
    Sendfile,
    Splice,
    Mmap,
    Munmap,
    Madvise,
    /// `fstat(2)`; glibc may issue it as `newfstatat` or `statx`.
    Fstat,
    Poll,
    Pipe2,
    Fcntl,
    /// `send(2)`; the kernel implements it as `sendto`, and its tracepoint says so.
    Send,
    /// `recvmsg(2)`, here only with `MSG_ERRQUEUE` (zero-copy completions).
    Recvmsg,
    /// `setsockopt(2)` (`SO_ZEROCOPY`, `TCP_ULP`, `TLS_TX`).
    Setsockopt,
    /// `getsockopt(2)` (`SO_SNDTIMEO`, for io-uring).
    Getsockopt,
    /// `read(2)` and `writev(2)`: a TLS handshake reading the peer, records written out.
    Read,
    Writev,
    IoUringEnter,
}

impl Syscall {
    /// Every syscall the tally knows, in the order [`SyscallTally::iter`] yields them.
    pub const ALL: [Syscall; 18] = [
        Syscall::Pread,
        Syscall::Write,
        Syscall::Sendfile,
        Syscall::Splice,
        Syscall::Mmap,
        Syscall::Munmap,
        Syscall::Madvise,
        Syscall::Fstat,
        Syscall::Poll,
        Syscall::Pipe2,
        Syscall::Fcntl,
        Syscall::Send,
        Syscall::Recvmsg,
        Syscall::Setsockopt,
        Syscall::Getsockopt,
        Syscall::Read,
        Syscall::Writev,
        Syscall::IoUringEnter,
    ];

    /// The libc name, as in the man page section 2.
    pub fn name(self) -> &'static str {
        match self {
            Syscall::Pread => "pread",
            Syscall::Write => "write",
            Syscall::Sendfile => "sendfile",
            Syscall::Splice => "splice",
            Syscall::Mmap => "mmap",
            Syscall::Munmap => "munmap",
            Syscall::Madvise => "madvise",
            Syscall::Fstat => "fstat",
            Syscall::Poll => "poll",
            Syscall::Pipe2 => "pipe2",
            Syscall::Fcntl => "fcntl",
            Syscall::Send => "send",
            Syscall::Recvmsg => "recvmsg",
            Syscall::Setsockopt => "setsockopt",
            Syscall::Getsockopt => "getsockopt",
            Syscall::Read => "read",
            Syscall::Writev => "writev",
            Syscall::IoUringEnter => "io_uring_enter",
        }
    }
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Syscalls made while sending, counted by the mode itself. Calls that returned `EINTR` or
/// `EAGAIN` are counted like any other: the kernel entered and left all the same.
///
/// `pipe2` and `fcntl` stay 0 unless a splice sender had to rebuild its pipe after a
/// failed send; set-up done in a constructor is never counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyscallTally {
    pub pread: u64,
    pub write: u64,
    pub sendfile: u64,
    pub splice: u64,
    pub mmap: u64,
    pub munmap: u64,
    pub madvise: u64,
    pub fstat: u64,
    pub poll: u64,
    pub pipe2: u64,
    pub fcntl: u64,
    pub send: u64,
    pub recvmsg: u64,
    pub setsockopt: u64,
    pub getsockopt: u64,
    pub read: u64,
    pub writev: u64,
    pub io_uring_enter: u64,
}

impl SyscallTally {
    /// The count for one syscall.
    pub fn get(&self, call: Syscall) -> u64 {
        match call {
            Syscall::Pread => self.pread,
            Syscall::Write => self.write,
            Syscall::Sendfile => self.sendfile,
            Syscall::Splice => self.splice,
            Syscall::Mmap => self.mmap,
            Syscall::Munmap => self.munmap,
            Syscall::Madvise => self.madvise,
            Syscall::Fstat => self.fstat,
            Syscall::Poll => self.poll,
            Syscall::Pipe2 => self.pipe2,
            Syscall::Fcntl => self.fcntl,
            Syscall::Send => self.send,
            Syscall::Recvmsg => self.recvmsg,
            Syscall::Setsockopt => self.setsockopt,
            Syscall::Getsockopt => self.getsockopt,
            Syscall::Read => self.read,
            Syscall::Writev => self.writev,
            Syscall::IoUringEnter => self.io_uring_enter,
        }
    }

    /// Counts one more call.
    pub fn count(&mut self, call: Syscall) {
        self.add(call, 1);
    }

    /// Counts `n` more calls.
    pub fn add(&mut self, call: Syscall, n: u64) {
        let slot = match call {
            Syscall::Pread => &mut self.pread,
            Syscall::Write => &mut self.write,
            Syscall::Sendfile => &mut self.sendfile,
            Syscall::Splice => &mut self.splice,
            Syscall::Mmap => &mut self.mmap,
            Syscall::Munmap => &mut self.munmap,
            Syscall::Madvise => &mut self.madvise,
            Syscall::Fstat => &mut self.fstat,
            Syscall::Poll => &mut self.poll,
            Syscall::Pipe2 => &mut self.pipe2,
            Syscall::Fcntl => &mut self.fcntl,
            Syscall::Send => &mut self.send,
            Syscall::Recvmsg => &mut self.recvmsg,
            Syscall::Setsockopt => &mut self.setsockopt,
            Syscall::Getsockopt => &mut self.getsockopt,
            Syscall::Read => &mut self.read,
            Syscall::Writev => &mut self.writev,
            Syscall::IoUringEnter => &mut self.io_uring_enter,
        };
        *slot += n;
    }

    /// Every syscall with its count, zeros included.
    pub fn iter(&self) -> impl Iterator<Item = (Syscall, u64)> + '_ {
        Syscall::ALL.into_iter().map(|call| (call, self.get(call)))
    }

    /// All syscalls made.
    pub fn total(&self) -> u64 {
        self.iter().map(|(_, n)| n).sum()
    }
}
