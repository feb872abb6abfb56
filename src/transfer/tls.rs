//! `tls`: what a broker does under TLS without kernel help (Kafka's `SslTransportLayer`):
//! `pread` the file into a user buffer, encrypt it into TLS 1.3 records in user space
//! (rustls), `writev` the records to the socket. Every byte is copied up, read and written
//! again by the cipher, and copied down: read-write plus a pass of AES-GCM.
//!
//! ```text
//!   disk ──DMA──► page cache ──CPU──► user buffer ──CPU+AES──► TLS records ──CPU──► socket buffer ──DMA──► NIC
//!                     pread() copies ─┘   rustls encrypts ─┘          writev() copies ─┘
//!
//!   user    ──pread──►│          │ encrypt │──writev──►│          │   per chunk: 2 syscalls
//!   kernel            └─ copy ───┘         │           └─ copy ───┘
//! ```
//!
//! The key: this process's throwaway self-signed certificate ([`crate::tls::throwaway`]),
//! which a receiver trusts exactly ([`crate::tls::client_trusting_throwaway`]), so nothing
//! here is valid beyond this process's peers. `zc serve --tls` sends its Fetch records
//! with the same loop over its own connections ([`TlsSender::send_on`]).
//!
//! The handshake happens on a connection's first `send`, and its calls are counted like the
//! rest; later sends on the same socket (the next segment) reuse the session. The sender
//! never sends `close_notify`: it does not know which send is the last, and the caller
//! closes the TCP connection, so a receiver sees end of stream without it (rustls says
//! `UnexpectedEof`), as it would from any plain-TCP mode.
//!
//! Caveats:
//! - a peer that does not speak TLS, or does not trust the certificate, fails the handshake:
//!   a [`TransferError`] saying which, and the caller goes on serving others.
//! - rustls encrypts into records of at most 16 KiB of plaintext, each 22 bytes longer on
//!   the wire (5 header, 1 content type, 16 tag): the socket gets slightly more bytes than
//!   the file has.

use std::fs::File;
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::BorrowedFd;
use std::sync::Arc;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use rustls::{ServerConfig, ServerConnection};

use super::{Cause, Job, Mode, Syscall, Tally, Transfer, TransferError};
use crate::tls::{SERVER_NAME, client_trusting_throwaway, handshake_failure, throwaway};

/// Reads a TLS stream to its end and returns the plaintext. The end of the TCP stream
/// without `close_notify` counts as the end (see the module comment).
pub fn read_decrypted(stream: std::net::TcpStream) -> io::Result<Vec<u8>> {
    let name = SERVER_NAME.try_into().expect("a valid DNS name");
    let config = client_trusting_throwaway().map_err(io::Error::other)?;
    let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let mut plain = Vec::new();
    match tls.read_to_end(&mut plain) {
        Ok(_) => Ok(plain),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(plain),
        Err(e) => Err(e),
    }
}

/// Sends through rustls: `pread` a chunk, encrypt it, `writev` the records.
pub struct TlsSender {
    chunk: usize,
    buf: Vec<u8>,
    config: Arc<ServerConfig>,
    /// The connection of the socket last sent to, by the socket's inode, so that the next
    /// segment to the same socket continues its TLS stream.
    session: Option<(u64, ServerConnection)>,
    tally: Tally,
}

impl TlsSender {
    /// Makes (or reuses) the throwaway identity and allocates the plaintext buffer.
    pub fn new(chunk: usize) -> io::Result<Self> {
        let config = throwaway().map_err(io::Error::other)?.server_config();
        let mut buf = Vec::new();
        buf.try_reserve_exact(chunk)
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e))?;
        buf.resize(chunk, 0xa5);
        Ok(TlsSender {
            chunk,
            buf,
            config,
            session: None,
            tally: Tally::default(),
        })
    }
}

impl TlsSender {
    /// Sends a file range over a connection whose handshake is done (`zc serve`'s TLS
    /// listener): the same read, encrypt, write loop, counted in this sender's tally.
    pub fn send_on(
        &mut self,
        conn: &mut ServerConnection,
        file: &File,
        offset: u64,
        len: u64,
        sock: BorrowedFd<'_>,
    ) -> Result<(), TransferError> {
        let mut job = Job::start(Mode::Tls, offset, len, &mut self.tally)?;
        if len == 0 {
            return Ok(());
        }
        encrypt_range(&mut job, conn, &mut self.buf, file, sock)
    }
}

/// The job's file range through `conn`: `pread` a buffer's worth, encrypt it, write the
/// records, until the range is sent.
fn encrypt_range(
    job: &mut Job<'_>,
    conn: &mut ServerConnection,
    buffer: &mut [u8],
    file: &File,
    sock: BorrowedFd<'_>,
) -> Result<(), TransferError> {
    while job.remaining() > 0 {
        let want = job.next_len(buffer.len());
        let buf = &mut buffer[..want];
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
        let mut plain = &buffer[..got];
        while !plain.is_empty() {
            // The encryption pass: plaintext in, ciphertext records out (rustls's buffer,
            // bounded at 64 KiB: it takes what fits, we flush and go on).
            let n = conn.writer().write(plain).map_err(|_| {
                job.fail(Cause::Tls {
                    reason: "rustls refused the plaintext",
                })
            })?;
            job.sent(n);
            plain = &plain[n..];
            // Copy 2: records -> socket buffer.
            flush(job, conn, sock)?;
        }
    }
    Ok(())
}

impl Transfer for TlsSender {
    fn mode(&self) -> Mode {
        Mode::Tls
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
        let conn = session(&mut job, &mut self.session, &self.config, sock)?;
        encrypt_range(&mut job, conn, &mut self.buf, file, sock)
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

/// The TLS connection for `sock`: the one kept from the last send if it is the same
/// socket, else a new one, handshaken now.
fn session<'s>(
    job: &mut Job<'_>,
    kept: &'s mut Option<(u64, ServerConnection)>,
    config: &Arc<ServerConfig>,
    sock: BorrowedFd<'_>,
) -> Result<&'s mut ServerConnection, TransferError> {
    let ino = job.call(Syscall::Fstat, None, || {
        nix::sys::stat::fstat(sock).map(|st| st.st_ino as usize)
    })? as u64;
    if kept.as_ref().is_none_or(|(kept_ino, _)| *kept_ino != ino) {
        let conn = ServerConnection::new(config.clone()).map_err(|_| {
            job.fail(Cause::Tls {
                reason: "rustls could not start a connection",
            })
        })?;
        *kept = Some((ino, conn));
        let (_, conn) = kept.as_mut().expect("just set");
        if let Err(e) = handshake(job, conn, sock) {
            *kept = None;
            return Err(e);
        }
    }
    Ok(&mut kept.as_mut().expect("kept or just made").1)
}

/// Runs the server side of the TLS 1.3 handshake to its end.
fn handshake(
    job: &mut Job<'_>,
    conn: &mut ServerConnection,
    sock: BorrowedFd<'_>,
) -> Result<(), TransferError> {
    while conn.is_handshaking() {
        if conn.wants_write() {
            flush(job, conn, sock)?;
            continue;
        }
        let mut io = SockIo::new(job, sock);
        let got = conn.read_tls(&mut io);
        let got = io.check(got)?;
        if got == 0 {
            return Err(job.fail(Cause::Tls {
                reason: "the peer closed the connection during the TLS handshake",
            }));
        }
        if let Err(e) = conn.process_new_packets() {
            // Tell the peer why (an alert), best effort, then report.
            let _ = flush(job, conn, sock);
            return Err(job.fail(Cause::Tls {
                reason: handshake_failure(&e),
            }));
        }
    }
    flush(job, conn, sock)
}

/// Writes every record rustls has ready to the socket.
fn flush(
    job: &mut Job<'_>,
    conn: &mut ServerConnection,
    sock: BorrowedFd<'_>,
) -> Result<(), TransferError> {
    while conn.wants_write() {
        let mut io = SockIo::new(job, sock);
        let wrote = conn.write_tls(&mut io);
        io.check(wrote)?;
    }
    Ok(())
}

/// The socket as `Read + Write` for rustls, making every call through the [`Job`], so that
/// it is counted and its errors keep their syscall.
struct SockIo<'a, 'j> {
    job: &'a mut Job<'j>,
    sock: BorrowedFd<'a>,
    failed: Option<TransferError>,
}

impl<'a, 'j> SockIo<'a, 'j> {
    fn new(job: &'a mut Job<'j>, sock: BorrowedFd<'a>) -> Self {
        SockIo {
            job,
            sock,
            failed: None,
        }
    }

    /// The result of a rustls call that used this socket, with the syscall's own error
    /// when one failed.
    fn check(self, r: io::Result<usize>) -> Result<usize, TransferError> {
        match (r, self.failed) {
            (Ok(n), _) => Ok(n),
            (Err(_), Some(e)) => Err(e),
            (Err(_), None) => Err(self.job.fail(Cause::Tls {
                reason: "rustls could not move records",
            })),
        }
    }

    fn stash(&mut self, e: TransferError) -> io::Error {
        self.failed = Some(e);
        io::Error::other("see the TransferError")
    }
}

impl Read for SockIo<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let sock = self.sock;
        loop {
            match self
                .job
                .call(Syscall::Read, None, || nix::unistd::read(sock, buf))
            {
                Ok(n) => return Ok(n),
                // A non-blocking socket with nothing yet: wait for the peer's bytes.
                Err(e) if e.errno() == Some(Errno::EAGAIN) => {
                    let waited = self.job.call(Syscall::Poll, None, || {
                        let mut fds = [PollFd::new(sock, PollFlags::POLLIN)];
                        poll(&mut fds, PollTimeout::NONE).map(|n| n as usize)
                    });
                    if let Err(e) = waited {
                        return Err(self.stash(e));
                    }
                }
                Err(e) => return Err(self.stash(e)),
            }
        }
    }
}

impl Write for SockIo<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let sock = self.sock;
        match self.job.call(Syscall::Writev, Some(sock), || {
            nix::sys::uio::writev(sock, bufs)
        }) {
            Ok(n) => {
                self.job.copied(n);
                Ok(n)
            }
            Err(e) => Err(self.stash(e)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::os::fd::AsFd;
    use std::thread;

    /// A receiver that decrypts: what it reads must be the file's bytes exactly.
    fn tls_pair() -> (TcpStream, thread::JoinHandle<io::Result<Vec<u8>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = thread::spawn(move || read_decrypted(TcpStream::connect(addr)?));
        let (server, _) = listener.accept().unwrap();
        (server, client)
    }

    #[test]
    fn a_rustls_client_decrypts_exactly_the_file_across_two_sends() {
        let len = 3 * MIB + 17;
        let data = pattern(len);
        let file = fixture(&data);
        let mut tx = TlsSender::new(64 * KIB).unwrap();
        let (sock, client) = tls_pair();
        let half = (len / 2) as u64;
        tx.send(file.as_file(), 0, half, sock.as_fd()).unwrap();
        tx.send(file.as_file(), half, len as u64 - half, sock.as_fd())
            .unwrap();
        sock.shutdown(Shutdown::Write).unwrap();
        let got = client.join().unwrap().unwrap();
        assert!(got == data, "decrypted bytes differ from the file");
        let tally = tx.tally();
        assert_eq!(tally.bytes_sent, len as u64);
        // pread copies every byte up, writev copies every byte (plus framing) down.
        assert!(tally.user_copied_bytes > 2 * len as u64, "{tally:?}");
        assert!(tally.user_copied_bytes < 2 * len as u64 + len as u64 / 100);
        assert_eq!(tally.syscalls.fstat, 2, "one socket lookup per send");
    }

    #[test]
    fn a_plaintext_peer_fails_the_handshake_with_a_reason() {
        let file = fixture(&pattern(64 * KIB));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
        });
        let (sock, _) = listener.accept().unwrap();
        let mut tx = TlsSender::new(64 * KIB).unwrap();
        let err = tx
            .send(file.as_file(), 0, 64 * KIB as u64, sock.as_fd())
            .expect_err("not a TLS client");
        drop(sock);
        peer.join().unwrap();
        assert!(err.to_string().contains("does not speak TLS"), "{err}");
        assert_eq!(err.sent, 0);
    }
}
