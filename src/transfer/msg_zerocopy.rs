//! `msg-zerocopy`: `send(MSG_ZEROCOPY)` slices of a mapping of the file. The kernel pins
//! the pages and attaches them to the packets by reference instead of copying them into the
//! socket buffer; since it now holds our memory after `send` returns, it tells us when it is
//! done with each send through the socket's *error queue*.
//!
//! ```text
//!   disk ──DMA──► page cache ════ mapped into our address space (no copy)
//!                     │
//!                     └── pinned, referenced by the socket buffer ──DMA──► NIC
//!                send(MSG_ZEROCOPY) pins ─┘
//!                     on loopback: delivery to the local socket copies (COPIED)
//!
//!   user    ──send──►│   │──send──►│   │ ... ──recvmsg(MSG_ERRQUEUE)──► "sends 0..=41 done"
//!   kernel           └pin┘         └pin┘
//! ```
//!
//! Why the mapping and not a read buffer: MSG_ZEROCOPY saves the copy *into the socket
//! buffer*, from whatever user memory it is given. From a `pread` buffer the copy page cache
//! -> buffer would remain (and the buffer could not be reused until its completion came
//! back, so it would take a pool of them). From a mapping, the pages pinned are the
//! page-cache pages themselves: no CPU copy at all on a NIC that does scatter-gather, the
//! same as sendfile, but through a user pointer. The mapping's price is mmap's (SIGBUS if the
//! file is truncated, see `mmap.rs`), and the pages must not change until their completion
//! arrives: the log only appends, so bytes already sent never change.
//!
//! The protocol (Documentation/networking/msg_zerocopy.rst in the kernel):
//! - `setsockopt(SO_ZEROCOPY, 1)` once per socket; without it the kernel ignores the flag.
//! - each `send` that accepts bytes gets the next number of a per-socket counter (from 0).
//! - a completion is a `recvmsg(MSG_ERRQUEUE)` whose `IP_RECVERR` control message holds a
//!   `sock_extended_err` with `ee_origin == SO_EE_ORIGIN_ZEROCOPY`, `ee_errno == 0` and the
//!   inclusive range `ee_info..=ee_data` of send numbers it covers; the kernel merges
//!   consecutive ones. `ee_code & SO_EE_CODE_ZEROCOPY_COPIED` says the kernel copied the
//!   bytes after all (include/uapi/linux/errqueue.h).
//! - too many completions unread and `send` fails with `ENOBUFS` (they are charged to the
//!   socket's option memory, `net.core.optmem_max`): reap, then retry.
//!
//! On loopback every completion is COPIED: the receiving socket is on this host, and a
//! pinned user page may not wait in its receive queue for as long as the receiver likes, so
//! delivery calls `skb_orphan_frags_rx`, which copies the data into kernel pages
//! (`skb_copy_ubufs` in net/core/skbuff.c) and completes the send as copied. So here the
//! mode costs sendfile's copy plus the pinning and the completions: the kernel documents
//! MSG_ZEROCOPY as worth it only for sends of about 10 KB and more, to a real NIC.
//!
//! Caveats:
//! - `send` returns before the bytes leave: a completion arrives only when the kernel
//!   frees the packet, after the peer's ACK on TCP. `send` here waits for all of them
//!   before returning, so the caller may unmap and reuse; a peer that stops acknowledging
//!   makes that wait end with an error after [`COMPLETION_TIMEOUT`].
//! - a socket that is not TCP (or a kernel before 4.14) refuses `SO_ZEROCOPY`: an error.

use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};

use super::mmap::map_range;
use super::{Cause, Completions, Job, Mode, Syscall, Tally, Transfer, TransferError};

/// `SO_ZEROCOPY` (include/uapi/asm-generic/socket.h); libc does not export it.
const SO_ZEROCOPY: libc::c_int = 60;
/// `SO_EE_ORIGIN_ZEROCOPY` and `SO_EE_CODE_ZEROCOPY_COPIED` (include/uapi/linux/errqueue.h).
const SO_EE_ORIGIN_ZEROCOPY: u8 = 5;
const SO_EE_CODE_ZEROCOPY_COPIED: u8 = 1;

/// Sends between two non-blocking looks at the error queue. The kernel merges consecutive
/// completions, so one look usually collects all of them.
const REAP_EVERY: u64 = 16;

/// How long the last completions may take to arrive after the last send.
pub const COMPLETION_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends `chunk`-byte slices of a mapping with `MSG_ZEROCOPY`, reaping completions.
pub struct MsgZerocopySender {
    chunk: usize,
    tally: Tally,
}

impl MsgZerocopySender {
    /// Nothing to set up: the mapping and `SO_ZEROCOPY` belong to each transfer's range and
    /// socket.
    pub fn new(chunk: usize) -> Self {
        MsgZerocopySender {
            chunk,
            tally: Tally::default(),
        }
    }
}

/// The sends of one transfer still waiting for their completion, in the order made.
struct Pending {
    /// The kernel's number for the first send of this transfer, learnt from the first
    /// completion (the counter is per socket and starts wherever earlier transfers on the
    /// same socket left it; TCP completes in order, so the lowest number comes first).
    first_id: Option<u32>,
    /// Bytes of each send, by its position in this transfer; `None` once completed.
    bytes: VecDeque<Option<u64>>,
    /// Position (in this transfer) of `bytes[0]`.
    base: u64,
    /// Sends made in this transfer.
    made: u64,
    outstanding: u64,
}

impl Pending {
    fn new() -> Self {
        Pending {
            first_id: None,
            bytes: VecDeque::new(),
            base: 0,
            made: 0,
            outstanding: 0,
        }
    }

    fn sent(&mut self, n: usize) {
        self.bytes.push_back(Some(n as u64));
        self.made += 1;
        self.outstanding += 1;
    }

    /// Marks the sends `lo..=hi` complete and returns their bytes, or `None` if the range
    /// names a send this transfer did not make (or one already completed).
    fn complete(&mut self, lo: u32, hi: u32) -> Option<u64> {
        let first = *self.first_id.get_or_insert(lo);
        let start = u64::from(lo.wrapping_sub(first));
        let end = u64::from(hi.wrapping_sub(first));
        if end < start || end >= self.made {
            return None;
        }
        let mut total = 0;
        for pos in start..=end {
            let index = usize::try_from(pos.checked_sub(self.base)?).ok()?;
            let slot = self.bytes.get_mut(index)?;
            total += slot.take()?;
            self.outstanding -= 1;
        }
        while self.bytes.front() == Some(&None) {
            self.bytes.pop_front();
            self.base += 1;
        }
        Some(total)
    }
}

impl Transfer for MsgZerocopySender {
    fn mode(&self) -> Mode {
        Mode::MsgZerocopy
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
        let mut done = job.tally.zerocopy.unwrap_or_default();
        // Idempotent: a socket reused for the next segment just says yes again.
        job.call(Syscall::Setsockopt, None, || {
            nix::sys::socket::setsockopt(&sock, ZeroCopy, &true).map(|()| 0)
        })?;
        let map = map_range(&mut job, file, offset, len)?;
        let mut pending = Pending::new();
        let result = send_all(&mut job, &map, self.chunk, sock, &mut pending, &mut done)
            .and_then(|()| drain(&mut job, sock, &mut pending, &mut done));
        // Even on an error the pinned pages stay alive until the kernel unpins them, so
        // unmapping early cannot make it send freed memory.
        job.count(Syscall::Munmap);
        drop(map);
        job.tally.zerocopy = Some(done);
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
}

/// `send(MSG_ZEROCOPY)` every chunk of `map`, reaping whatever completions are ready every
/// [`REAP_EVERY`] sends, so that they rarely pile up to `ENOBUFS` and the reaping costs a
/// fraction of a syscall per chunk.
fn send_all(
    job: &mut Job<'_>,
    map: &[u8],
    chunk: usize,
    sock: BorrowedFd<'_>,
    pending: &mut Pending,
    done: &mut Completions,
) -> Result<(), TransferError> {
    for slice in map.chunks(chunk) {
        let mut rest = slice;
        while !rest.is_empty() {
            let n = match job.call(Syscall::Send, Some(sock), || zerocopy_send(sock, rest)) {
                Ok(n) => n,
                // The unread completions exceed the socket's option memory: wait for one.
                Err(e) if e.errno() == Some(Errno::ENOBUFS) && pending.outstanding > 0 => {
                    wait_for_completion(job, sock)?;
                    reap(job, sock, pending, done)?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Err(job.fail(Cause::WroteZero {
                    syscall: Syscall::Send,
                }));
            }
            job.sent(n);
            pending.sent(n);
            done.sends += 1;
            rest = &rest[n..];
            if pending.made % REAP_EVERY == 0 {
                reap(job, sock, pending, done)?;
            }
        }
    }
    Ok(())
}

/// Waits until every send of this transfer is completed.
fn drain(
    job: &mut Job<'_>,
    sock: BorrowedFd<'_>,
    pending: &mut Pending,
    done: &mut Completions,
) -> Result<(), TransferError> {
    let deadline = Instant::now() + COMPLETION_TIMEOUT;
    while pending.outstanding > 0 {
        if Instant::now() >= deadline {
            return Err(job.fail(Cause::Os {
                syscall: Syscall::Recvmsg,
                errno: Errno::ETIMEDOUT,
            }));
        }
        wait_for_completion(job, sock)?;
        reap(job, sock, pending, done)?;
    }
    Ok(())
}

/// One `send(2)` with `MSG_ZEROCOPY`. nix's `MsgFlags` has no such flag, hence libc.
fn zerocopy_send(sock: BorrowedFd<'_>, buf: &[u8]) -> nix::Result<usize> {
    // SAFETY: `buf` is a valid slice for its whole length; the kernel pins its pages, which
    // the caller keeps mapped until the completion arrives (see `drain`).
    let n = unsafe {
        libc::send(
            sock.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_ZEROCOPY,
        )
    };
    Errno::result(n).map(|n| n as usize)
}

/// Blocks (at most a second, so `drain` can keep its deadline) until the error queue has
/// something: `poll` reports a non-empty error queue as `POLLERR` whatever was asked.
fn wait_for_completion(job: &mut Job<'_>, sock: BorrowedFd<'_>) -> Result<(), TransferError> {
    job.call(Syscall::Poll, None, || {
        let mut fds = [PollFd::new(sock, PollFlags::empty())];
        poll(&mut fds, PollTimeout::from(1000u16)).map(|ready| ready as usize)
    })
    .map(drop)
}

/// Reads every completion waiting on the error queue, without blocking.
fn reap(
    job: &mut Job<'_>,
    sock: BorrowedFd<'_>,
    pending: &mut Pending,
    done: &mut Completions,
) -> Result<(), TransferError> {
    loop {
        job.count(Syscall::Recvmsg);
        let mut space = nix::cmsg_space!(libc::sock_extended_err, libc::sockaddr_in6);
        let msg = recvmsg::<()>(
            sock.as_raw_fd(),
            &mut [],
            Some(&mut space),
            MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
        );
        let msg = match msg {
            Ok(msg) => msg,
            Err(Errno::EAGAIN) => return Ok(()),
            Err(Errno::EINTR) => {
                job.tally.eintr += 1;
                continue;
            }
            Err(errno) => {
                return Err(job.fail(Cause::Os {
                    syscall: Syscall::Recvmsg,
                    errno,
                }));
            }
        };
        let Ok(cmsgs) = msg.cmsgs() else { continue };
        for cmsg in cmsgs {
            let err = match cmsg {
                ControlMessageOwned::Ipv4RecvErr(err, _)
                | ControlMessageOwned::Ipv6RecvErr(err, _) => err,
                _ => continue,
            };
            if err.ee_origin != SO_EE_ORIGIN_ZEROCOPY || err.ee_errno != 0 {
                // A real socket error (ICMP, say) travels the same queue: report it.
                let errno = Errno::from_raw(err.ee_errno as i32);
                return Err(job.fail(Cause::Os {
                    syscall: Syscall::Recvmsg,
                    errno,
                }));
            }
            let Some(bytes) = pending.complete(err.ee_info, err.ee_data) else {
                return Err(job.fail(Cause::Os {
                    syscall: Syscall::Recvmsg,
                    errno: Errno::EPROTO,
                }));
            };
            done.notifications += 1;
            done.completed_bytes += bytes;
            if err.ee_code & SO_EE_CODE_ZEROCOPY_COPIED != 0 {
                done.copied_notifications += 1;
                done.copied_bytes += bytes;
            }
        }
    }
}

/// The `SO_ZEROCOPY` socket option, for nix's typed `setsockopt`.
#[derive(Clone, Copy, Debug)]
struct ZeroCopy;

impl nix::sys::socket::SetSockOpt for ZeroCopy {
    type Val = bool;

    fn set<F: std::os::fd::AsFd>(&self, fd: &F, val: &bool) -> nix::Result<()> {
        let on: libc::c_int = (*val).into();
        // SAFETY: a valid fd, and a pointer to a c_int of the size passed.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_fd().as_raw_fd(),
                libc::SOL_SOCKET,
                SO_ZEROCOPY,
                (&raw const on).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        Errno::result(rc).map(drop)
    }
}

/// Whether this kernel takes `SO_ZEROCOPY` on a TCP socket; the reason and the fix if not.
pub fn supported() -> Result<(), String> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, setsockopt, socket};
    let sock = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| format!("cannot create a TCP socket to probe SO_ZEROCOPY: {e}"))?;
    setsockopt(&sock, ZeroCopy, &true).map_err(|e| {
        format!(
            "the kernel refused setsockopt(SO_ZEROCOPY) on a TCP socket ({e}); MSG_ZEROCOPY \
             needs Linux 4.14 or later"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    /// Every byte sent is covered by exactly one completion, and on loopback every one is
    /// flagged COPIED: delivery to a local socket copies the pinned pages.
    #[test]
    fn completions_account_for_every_byte_and_loopback_copies() {
        let len = 3 * MIB + 777;
        let data = pattern(len);
        let file = fixture(&data);
        let mut tx = MsgZerocopySender::new(64 * KIB);
        let got = send_and_collect(&mut tx, file.as_file(), 5, len - 5).unwrap();
        assert!(got == data[5..], "bytes differ");
        let tally = tx.tally();
        let zc = tally.zerocopy.expect("msg-zerocopy tallies completions");
        assert_eq!(tally.bytes_sent, (len - 5) as u64);
        assert_eq!(zc.completed_bytes, tally.bytes_sent, "{zc:?}");
        assert_eq!(zc.sends, tally.syscalls.send - tally.eagain, "{tally:?}");
        // The kernel merges consecutive completions: never more notifications than sends.
        assert!(
            zc.notifications >= 1 && zc.notifications <= zc.sends,
            "{zc:?}"
        );
        assert_eq!(
            zc.copied_bytes, zc.completed_bytes,
            "loopback copies: {zc:?}"
        );
        assert_eq!(zc.copied_notifications, zc.notifications, "{zc:?}");
        assert_eq!(tally.user_copied_bytes, 0);
    }

    /// The same socket used twice: the kernel's send numbers continue from the first
    /// transfer, and the second still accounts for exactly its own bytes.
    #[test]
    fn a_second_transfer_on_the_same_socket_accounts_for_its_own_sends() {
        use std::os::fd::AsFd;
        let data = pattern(2 * MIB);
        let file = fixture(&data);
        let (stream, reader) = connect();
        let mut tx = MsgZerocopySender::new(128 * KIB);
        tx.send(file.as_file(), 0, MIB as u64, stream.as_fd())
            .unwrap();
        tx.reset_tally();
        tx.send(file.as_file(), MIB as u64, MIB as u64, stream.as_fd())
            .unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(reader.join().unwrap() == data);
        let zc = tx.tally().zerocopy.unwrap();
        assert_eq!(zc.completed_bytes, MIB as u64, "{zc:?}");
    }

    #[test]
    fn pending_rejects_a_range_it_never_sent_and_a_double_completion() {
        let mut p = Pending::new();
        p.sent(10);
        p.sent(20);
        p.sent(30);
        assert_eq!(
            p.complete(7, 7),
            Some(10),
            "the first completion sets the base"
        );
        assert_eq!(p.complete(7, 7), None, "already completed");
        assert_eq!(p.complete(8, 9), Some(50));
        assert_eq!(p.complete(10, 10), None, "never sent");
        assert_eq!(p.outstanding, 0);
    }

    #[test]
    fn numbers_wrap_around_u32() {
        let mut p = Pending::new();
        p.sent(1);
        p.sent(2);
        assert_eq!(p.complete(u32::MAX, 0), Some(3));
    }

    #[test]
    fn this_kernel_supports_so_zerocopy() {
        supported().unwrap();
    }
}
