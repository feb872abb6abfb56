//! The receiving end of a bench transfer: read everything the sender sends, as cheaply as
//! possible, then tell the sender what arrived.
//!
//! # Two ways to drain
//! - [`SinkKind::Splice`] moves the bytes socket -> pipe -> `/dev/null` with `splice(2)`:
//!   they never enter user space, so the receiver's cost stays small and does not drown the
//!   sender's costs, which are what we measure. (On loopback both ends share the CPUs.)
//! - [`SinkKind::Read`] `recv`s into a buffer, like a real consumer or iperf3's receiver.
//!   Each byte is copied once more, into user space.
//!
//! With `verify`, the sink reads the bytes into user space whatever the kind, and computes
//! the CRC-32C of everything received. That is an extra copy and a checksum pass: a
//! correctness check, not a configuration to time.
//!
//! # End-of-transfer handshake
//! The sender cannot know the sink has everything just because its last `write` returned:
//! that only means the bytes reached the sender's socket buffer. So:
//!
//! ```text
//!   sender                                  sink
//!   send the bytes ───────────────────────► drain until EOF
//!   shutdown(Write)  ──────── FIN ────────► (EOF)
//!   read_trailer()   ◄──── 16 bytes ─────── write_trailer(), close
//! ```
//!
//! The trailer is 16 bytes, all big-endian:
//!
//! | bytes | field                                                    |
//! |-------|----------------------------------------------------------|
//! | 0..8  | u64 bytes received                                       |
//! | 8..12 | u32 CRC-32C of those bytes (0 when not computed)         |
//! | 12..16| u32 flags: bit 0 = checksum valid; other bits must be 0  |
//!
//! A remote `zc sink` uses the same trailer to report its checksum to the sender.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, SpliceFFlags, fcntl, splice};
use serde::{Deserialize, Serialize};

/// How the sink drains the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SinkKind {
    /// socket -> pipe -> /dev/null with splice(2): no copy into user space.
    Splice,
    /// recv(2) into a buffer, like a real consumer.
    Read,
}

impl SinkKind {
    /// The name used on the command line and in JSON results.
    pub fn name(self) -> &'static str {
        match self {
            SinkKind::Splice => "splice",
            SinkKind::Read => "read",
        }
    }
}

impl std::fmt::Display for SinkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a sink received.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SinkReport {
    pub bytes: u64,
    /// CRC-32C of every byte received, when the sink was asked to verify.
    pub checksum: Option<u32>,
}

/// Reads `stream` until EOF, moving at most `chunk` bytes per call. With `verify`, reads
/// into user space (whatever `kind`) and checksums everything: not for timing. Expects a
/// blocking socket.
pub fn drain(
    stream: &mut TcpStream,
    kind: SinkKind,
    verify: bool,
    chunk: usize,
) -> io::Result<SinkReport> {
    let mut report = SinkReport::default();
    drain_counting(stream, kind, verify, chunk, &mut report)?;
    Ok(report)
}

/// [`drain`], keeping the count in `report` as it goes, so that a broken connection can
/// still say how much arrived.
fn drain_counting(
    stream: &mut TcpStream,
    kind: SinkKind,
    verify: bool,
    chunk: usize,
    report: &mut SinkReport,
) -> io::Result<()> {
    if chunk == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "sink chunk size must be at least 1 byte",
        ));
    }
    match (kind, verify) {
        (SinkKind::Splice, false) => splice_to_null(stream, chunk, report),
        (SinkKind::Read, _) | (_, true) => read_all(stream, chunk, verify, report),
    }
}

/// The sink of the modes that speak TLS: a rustls client trusting this process's
/// throwaway certificate decrypts everything, then counts and checksums the plaintext like
/// the `read` sink. The sender ends with a TCP half-close, not a TLS `close_notify` (see
/// src/transfer/tls.rs), so that end counts as the end.
pub fn drain_tls(stream: &mut TcpStream, verify: bool, chunk: usize) -> io::Result<SinkReport> {
    let config = crate::tls::client_trusting_throwaway().map_err(io::Error::other)?;
    let name = crate::tls::SERVER_NAME
        .try_into()
        .map_err(io::Error::other)?;
    let mut conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut tls = UntilTcpEnd(rustls::Stream::new(&mut conn, stream));
    let mut report = SinkReport::default();
    read_all(&mut tls, chunk, verify, &mut report)?;
    Ok(report)
}

/// A TLS stream whose end without `close_notify` reads as an ordinary end of stream.
struct UntilTcpEnd<R>(R);

impl<R: Read> Read for UntilTcpEnd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        }
    }
}

/// `recv` into a buffer until EOF, checksumming if asked.
fn read_all(
    stream: &mut impl Read,
    chunk: usize,
    verify: bool,
    report: &mut SinkReport,
) -> io::Result<()> {
    let mut buf = vec![0; chunk];
    if verify {
        report.checksum = Some(0);
    }
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        report.bytes += n as u64;
        if let Some(crc) = &mut report.checksum {
            *crc = crc32c::crc32c_append(*crc, &buf[..n]);
        }
    }
}

/// socket -> pipe -> /dev/null until EOF. Nothing enters user space.
fn splice_to_null(stream: &TcpStream, chunk: usize, report: &mut SinkReport) -> io::Result<()> {
    let (pipe_read, pipe_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let capacity = size_pipe(&pipe_write, chunk);
    let null = File::options().write(true).open("/dev/null")?;
    loop {
        let received = retry_eintr(|| {
            splice(
                stream,
                None,
                &pipe_write,
                None,
                capacity,
                SpliceFFlags::SPLICE_F_MOVE,
            )
        })?;
        if received == 0 {
            return Ok(());
        }
        report.bytes += received as u64;
        let mut in_pipe = received;
        while in_pipe > 0 {
            in_pipe -= retry_eintr(|| {
                splice(
                    &pipe_read,
                    None,
                    &null,
                    None,
                    in_pipe,
                    SpliceFFlags::SPLICE_F_MOVE,
                )
            })?;
        }
    }
}

/// Asks for a pipe of `chunk` bytes and returns the capacity in force. Best effort: the
/// sink is not what we measure, and a smaller pipe only means more rounds, so a refusal
/// (above fs.pipe-max-size) keeps the default capacity.
fn size_pipe(pipe: &OwnedFd, chunk: usize) -> usize {
    let asked = libc::c_int::try_from(chunk).unwrap_or(libc::c_int::MAX);
    let granted =
        fcntl(pipe, FcntlArg::F_SETPIPE_SZ(asked)).or_else(|_| fcntl(pipe, FcntlArg::F_GETPIPE_SZ));
    // 4096 is the least a pipe can hold; it only matters if both calls failed.
    granted.map_or(4096, |n| n as usize)
}

fn retry_eintr(mut call: impl FnMut() -> nix::Result<usize>) -> io::Result<usize> {
    loop {
        match call() {
            Err(Errno::EINTR) => continue,
            other => return other.map_err(io::Error::from),
        }
    }
}

/// Size of the end-of-transfer trailer.
pub const TRAILER_LEN: usize = 16;
const FLAG_CHECKSUM: u32 = 1;

/// The trailer's bytes (format in the module documentation).
pub fn encode_trailer(report: &SinkReport) -> [u8; TRAILER_LEN] {
    let mut out = [0; TRAILER_LEN];
    out[0..8].copy_from_slice(&report.bytes.to_be_bytes());
    out[8..12].copy_from_slice(&report.checksum.unwrap_or(0).to_be_bytes());
    let flags = if report.checksum.is_some() {
        FLAG_CHECKSUM
    } else {
        0
    };
    out[12..16].copy_from_slice(&flags.to_be_bytes());
    out
}

/// Parses a trailer. Unknown flag bits are refused: they mean a newer or foreign peer.
pub fn decode_trailer(bytes: &[u8; TRAILER_LEN]) -> io::Result<SinkReport> {
    let word =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let mut count = [0; 8];
    count.copy_from_slice(&bytes[0..8]);
    let flags = word(12);
    if flags & !FLAG_CHECKSUM != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "sink trailer has unknown flags {flags:#x}: is the peer a zc sink of this version?"
            ),
        ));
    }
    Ok(SinkReport {
        bytes: u64::from_be_bytes(count),
        checksum: (flags & FLAG_CHECKSUM != 0).then(|| word(8)),
    })
}

/// Sink side: sends the trailer after reading to EOF. (std's `TcpStream` writes with
/// `MSG_NOSIGNAL`, so a vanished sender is `EPIPE`, never SIGPIPE.)
pub fn write_trailer(stream: &mut impl Write, report: &SinkReport) -> io::Result<()> {
    stream.write_all(&encode_trailer(report))?;
    stream.flush()
}

/// Sender side: reads the trailer. A missing or short trailer is an error naming what came.
pub fn read_trailer(stream: &mut impl Read) -> io::Result<SinkReport> {
    let mut bytes = [0; TRAILER_LEN];
    let mut got = 0;
    while got < TRAILER_LEN {
        match stream.read(&mut bytes[got..]) {
            Ok(0) => return Err(missing_trailer(got)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    decode_trailer(&bytes)
}

fn missing_trailer(got: usize) -> io::Error {
    let what = if got == 0 {
        "the sink closed without sending its trailer (is the peer a zc sink, and did it \
         read to end of file?)"
            .to_owned()
    } else {
        format!("short sink trailer: got {got} of {TRAILER_LEN} bytes")
    };
    io::Error::new(io::ErrorKind::UnexpectedEof, what)
}

/// Sender side, after the last byte: half-close so the sink sees EOF, then wait for its
/// trailer. When this returns, the sink has received everything it reports.
pub fn finish(stream: &mut TcpStream) -> io::Result<SinkReport> {
    stream.shutdown(Shutdown::Write)?;
    read_trailer(stream)
}

/// One connection served by [`serve`].
#[derive(Debug)]
pub struct SinkEvent {
    pub peer: SocketAddr,
    /// Bytes received, also when the connection broke.
    pub bytes: u64,
    /// From accept to trailer sent (or to the failure).
    pub elapsed: Duration,
    /// CRC-32C of the bytes, when verifying and the connection completed.
    pub checksum: Option<u32>,
    /// Why the connection did not complete, if it did not.
    pub error: Option<io::Error>,
}

/// The body of `zc sink --listen ADDR`: accepts connections one after another, drains
/// each, sends its trailer and reports it through `log`. A broken connection is reported
/// and the server goes on. Stops after `max_connections` accepted connections (broken ones
/// included) if given; otherwise serves until accept fails for good.
///
/// Connections are served one at a time, so the sink never competes with itself for the
/// CPUs being measured; a client that connects and sends nothing holds up the next one.
pub fn serve(
    listener: TcpListener,
    kind: SinkKind,
    verify: bool,
    chunk: usize,
    max_connections: Option<u64>,
    mut log: impl FnMut(&SinkEvent),
) -> io::Result<()> {
    if chunk == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "sink chunk size must be at least 1 byte",
        ));
    }
    let mut served = 0;
    while max_connections.is_none_or(|max| served < max) {
        let (mut stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            // The client gave up before we accepted, or a signal arrived: not our failure.
            Err(e) if is_transient(&e) => continue,
            Err(e) => return Err(e),
        };
        served += 1;
        log(&serve_one(&mut stream, peer, kind, verify, chunk));
    }
    Ok(())
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
    )
}

fn serve_one(
    stream: &mut TcpStream,
    peer: SocketAddr,
    kind: SinkKind,
    verify: bool,
    chunk: usize,
) -> SinkEvent {
    let start = Instant::now();
    let mut report = SinkReport::default();
    let result = drain_counting(stream, kind, verify, chunk, &mut report)
        .and_then(|()| write_trailer(stream, &report));
    SinkEvent {
        peer,
        bytes: report.bytes,
        elapsed: start.elapsed(),
        // The checksum of a broken stream describes nothing the sender sent in full.
        checksum: report.checksum.filter(|_| result.is_ok()),
        error: result.err(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::os::fd::AsFd;
    use std::thread::{self, JoinHandle};

    use nix::sys::socket::{setsockopt, sockopt};

    const KINDS: [SinkKind; 2] = [SinkKind::Splice, SinkKind::Read];

    fn payload(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    /// Sends `data` to a sink thread running `drain`, half-closes, returns its report.
    fn drain_from(data: &[u8], kind: SinkKind, verify: bool) -> SinkReport {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let sink = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            drain(&mut stream, kind, verify, 64 * 1024).unwrap()
        });
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(data).unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        sink.join().unwrap()
    }

    #[test]
    fn drain_counts_exact_bytes_with_both_kinds() {
        let data = payload(3 * 1024 * 1024 + 17);
        for kind in KINDS {
            let report = drain_from(&data, kind, false);
            assert_eq!(report.bytes, data.len() as u64, "{kind}");
            assert_eq!(report.checksum, None, "{kind}");
        }
        assert_eq!(drain_from(&[], SinkKind::Splice, false).bytes, 0);
    }

    #[test]
    fn verify_checksums_what_was_sent_with_both_kinds() {
        let data = payload(1024 * 1024 + 5);
        let expected = crc32c::crc32c(&data);
        for kind in KINDS {
            let report = drain_from(&data, kind, true);
            assert_eq!(report.bytes, data.len() as u64, "{kind}");
            assert_eq!(report.checksum, Some(expected), "{kind}");
        }
    }

    #[test]
    fn trailer_round_trip() {
        for report in [
            SinkReport {
                bytes: 1 << 40,
                checksum: Some(0xdead_beef),
            },
            SinkReport {
                bytes: 7,
                checksum: None,
            },
        ] {
            let mut wire = Vec::new();
            write_trailer(&mut wire, &report).unwrap();
            assert_eq!(wire.len(), TRAILER_LEN);
            assert_eq!(read_trailer(&mut Cursor::new(wire)).unwrap(), report);
        }
        let bytes = encode_trailer(&SinkReport {
            bytes: 258,
            checksum: Some(1),
        });
        assert_eq!(bytes, [0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 1, 0, 0, 0, 1]);
    }

    #[test]
    fn missing_short_or_foreign_trailer_is_an_error() {
        let none = read_trailer(&mut Cursor::new(Vec::new())).unwrap_err();
        assert_eq!(none.kind(), io::ErrorKind::UnexpectedEof);
        assert!(
            none.to_string().contains("without sending its trailer"),
            "{none}"
        );
        let short = read_trailer(&mut Cursor::new(vec![0; 7])).unwrap_err();
        assert!(short.to_string().contains("got 7 of 16"), "{short}");
        let mut foreign = [0; TRAILER_LEN];
        foreign[15] = 2;
        let err = decode_trailer(&foreign).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    /// What the tests keep of a [`SinkEvent`].
    struct Logged {
        bytes: u64,
        checksum: Option<u32>,
        error: Option<io::ErrorKind>,
    }

    type Served = JoinHandle<(io::Result<()>, Vec<Logged>)>;

    /// Runs `serve` on a thread; the handle yields its result and the events it logged.
    fn spawn_serve(kind: SinkKind, verify: bool, max: u64) -> (SocketAddr, Served) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let mut events = Vec::new();
            let result = serve(listener, kind, verify, 64 * 1024, Some(max), |event| {
                events.push(Logged {
                    bytes: event.bytes,
                    checksum: event.checksum,
                    error: event.error.as_ref().map(io::Error::kind),
                })
            });
            (result, events)
        });
        (addr, server)
    }

    fn send_and_finish(addr: SocketAddr, data: &[u8]) -> SinkReport {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(data).unwrap();
        finish(&mut stream).unwrap()
    }

    #[test]
    fn serve_handles_two_connections_then_stops() {
        let (addr, server) = spawn_serve(SinkKind::Splice, true, 2);
        let first = payload(100_000);
        let second = payload(2 * 1024 * 1024);
        let reports = [
            send_and_finish(addr, &first),
            send_and_finish(addr, &second),
        ];
        let (result, events) = server.join().unwrap();
        result.unwrap();
        for (data, report) in [(&first, reports[0]), (&second, reports[1])] {
            assert_eq!(report.bytes, data.len() as u64);
            assert_eq!(report.checksum, Some(crc32c::crc32c(data)));
        }
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e.error.is_none()));
        assert_eq!(events[1].bytes, second.len() as u64);
        assert_eq!(events[1].checksum, reports[1].checksum);
    }

    #[test]
    fn client_vanishing_midway_does_not_stop_serve() {
        let (addr, server) = spawn_serve(SinkKind::Read, false, 2);
        let mut quitter = TcpStream::connect(addr).unwrap();
        quitter.write_all(&payload(10_000)).unwrap();
        // Linger 0: close() sends a reset instead of an orderly FIN, like a crashed client.
        let abort = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        setsockopt(&quitter.as_fd(), sockopt::Linger, &abort).unwrap();
        drop(quitter);
        let data = payload(50_000);
        let report = send_and_finish(addr, &data);
        assert_eq!(report.bytes, data.len() as u64);
        let (result, events) = server.join().unwrap();
        result.unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].error, Some(io::ErrorKind::ConnectionReset));
        assert!(events[1].error.is_none());
    }

    #[test]
    fn sink_kind_names() {
        use clap::ValueEnum;
        for kind in KINDS {
            let cli = kind.to_possible_value().map(|v| v.get_name().to_owned());
            assert_eq!(cli.as_deref(), Some(kind.name()));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
    }
}
