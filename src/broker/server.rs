//! The server: a listener, one thread per connection, limits, and a graceful shutdown.
//!
//! Thread-per-connection with blocking sockets is the simplest model that keeps one slow
//! or broken client from stalling the others: each connection waits on its own socket.
//! (Kafka uses a few network threads with non-blocking sockets to serve tens of thousands
//! of connections; a classroom broker does not need that, and blocking code reads better.)
//!
//! A connection reads one frame (int32 size + payload), answers it, and only then reads
//! the next, so responses go out in request order even when clients pipeline
//! (docs/kafka-protocol.md §1). A Fetch answer is written part by part: header bytes with
//! `write`, record bytes with the broker's transfer mode straight from the segment file.
//!
//! Shutdown (Ctrl-C): stop accepting, let each connection finish the response it is
//! writing, then close the logs cleanly (indexes trimmed, a clean-shutdown marker).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::config::Limits;
use super::handlers::{self, Context, Reply};
use super::inspect::{InspectSpec, Inspector};
use crate::kafka::{self, DecodeError, Part};
use crate::net::{self, PeerCongestion};
use crate::transfer::{self, Mode, Transfer, TransferError, Watched};

/// How often blocked threads look at the shutdown flag.
const TICK: Duration = Duration::from_millis(100);
/// How long shutdown waits for connections to finish their responses.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How fetch responses move record bytes.
#[derive(Clone, Debug)]
pub struct FetchPath {
    pub mode: Mode,
    pub chunk: usize,
    /// `--inspect`: read every batch sent (needs a mode whose bytes reach user space;
    /// `zc serve` refuses the others before starting).
    pub inspect: Option<Arc<InspectSpec>>,
    /// Set on every accepted connection: the pacing of the data the broker sends.
    pub congestion: PeerCongestion,
}

/// The connection's transfer mode, and whether it watches the bytes it sends.
enum FetchSender {
    Plain(Box<dyn Transfer + Send>),
    Inspecting(Box<dyn Watched + Send>, Arc<InspectSpec>),
}

impl FetchSender {
    fn new(path: &FetchPath) -> Result<FetchSender, ConnError> {
        let cannot = |e| ConnError::TransferSetup(path.mode, e);
        match &path.inspect {
            None => transfer::sender(path.mode, path.chunk)
                .map(FetchSender::Plain)
                .map_err(cannot),
            Some(spec) => match transfer::watched_sender(path.mode, path.chunk).map_err(cannot)? {
                Some(s) => Ok(FetchSender::Inspecting(s, spec.clone())),
                None => Err(ConnError::CannotInspect(path.mode)),
            },
        }
    }

    fn transfer(&mut self) -> &mut dyn Transfer {
        match self {
            FetchSender::Plain(s) => s.as_mut(),
            FetchSender::Inspecting(s, _) => s.as_mut(),
        }
    }
}

/// Serves until the context's shutdown flag is set, then waits (up to a bound) for the
/// connections to finish what they are writing and returns.
pub fn run(
    listener: TcpListener,
    ctx: Arc<Context>,
    path: FetchPath,
    limits: Limits,
) -> Result<()> {
    let log = &ctx.log;
    listener
        .set_nonblocking(true)
        .context("cannot make the listener non-blocking")?;
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !ctx.shutdown.load(SeqCst) {
        connections.retain(|c| !c.is_finished());
        match listener.accept() {
            Ok((stream, peer)) => {
                if connections.len() >= limits.max_connections {
                    log(format!(
                        "{peer}: refused: already {} connections (--max-connections)",
                        connections.len()
                    ));
                    continue;
                }
                let conn = Connection {
                    ctx: ctx.clone(),
                    path: path.clone(),
                    limits: limits.clone(),
                    peer,
                };
                let handle = thread::Builder::new()
                    .name(format!("conn {peer}"))
                    .spawn(move || conn.serve(stream))
                    .context("cannot start a connection thread")?;
                connections.push(handle);
            }
            // Nothing to accept: wait for the next connection, or a tick to look at the
            // shutdown flag again, whichever comes first.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
                let _ = poll(&mut fds, PollTimeout::from(TICK.as_millis() as u16));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => log(format!("accept failed: {e}")),
        }
    }
    drop(listener);
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while connections.iter().any(|c| !c.is_finished()) && Instant::now() < deadline {
        thread::sleep(TICK / 2);
    }
    let stuck = connections.iter().filter(|c| !c.is_finished()).count();
    if stuck > 0 {
        log(format!(
            "{stuck} connection(s) still busy after {}s; closing the logs anyway",
            DRAIN_TIMEOUT.as_secs()
        ));
    }
    Ok(())
}

struct Connection {
    ctx: Arc<Context>,
    path: FetchPath,
    limits: Limits,
    peer: SocketAddr,
}

/// Why a connection ends.
enum End {
    /// The client closed, went idle past the timeout, or the server is shutting down.
    Quiet,
    /// Something worth a log line.
    Because(ConnError),
}

/// What ends a connection early; each is one log line naming the peer.
#[derive(Debug)]
enum ConnError {
    SocketSetup(io::Error),
    TransferSetup(Mode, io::Error),
    /// `--inspect` with a mode that keeps the bytes in the kernel (refused at start-up too).
    CannotInspect(Mode),
    NegativeSize(i32),
    TooLarge {
        len: i32,
        max: u64,
    },
    ClosedMidRequest,
    StalledMidRequest(Duration),
    Read(io::Error),
    /// A frame we cannot parse and have no error reply for.
    Undecodable(DecodeError),
    Send(io::Error),
    /// The transfer mode stopped part-way through a Fetch's record bytes.
    SendRecords(TransferError),
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnError::SocketSetup(e) => write!(f, "socket set-up failed: {e}"),
            ConnError::TransferSetup(mode, e) => write!(f, "cannot set up {mode}: {e}"),
            ConnError::CannotInspect(mode) => {
                write!(
                    f,
                    "--inspect: {mode} never brings the bytes into user space"
                )
            }
            ConnError::NegativeSize(len) => {
                write!(f, "negative request size {len}: not a Kafka frame")
            }
            ConnError::TooLarge { len, max } => {
                write!(
                    f,
                    "request of {len} bytes exceeds --max-request-bytes ({max})"
                )
            }
            ConnError::ClosedMidRequest => {
                f.write_str("the client closed in the middle of a request")
            }
            ConnError::StalledMidRequest(idle) => {
                write!(
                    f,
                    "no data for {}s in the middle of a request",
                    idle.as_secs()
                )
            }
            ConnError::Read(e) => write!(f, "read failed: {e}"),
            ConnError::Undecodable(e) => write!(f, "{e}"),
            ConnError::Send(e) => write!(f, "cannot send the response: {e}"),
            ConnError::SendRecords(e) => write!(f, "cannot send the response: {e}"),
        }
    }
}

impl Connection {
    fn serve(self, mut stream: TcpStream) {
        self.ctx.stats.connections.fetch_add(1, Relaxed);
        let end = self.serve_requests(&mut stream);
        self.ctx.stats.connections.fetch_sub(1, Relaxed);
        if let End::Because(why) = end {
            (self.ctx.log)(format!("{}: closed: {why}", self.peer));
        }
    }

    fn serve_requests(&self, stream: &mut TcpStream) -> End {
        let setup = stream
            .set_nonblocking(false)
            // Like Kafka: a response's last small segment must not wait for the ACK of the
            // previous one (Nagle), or every fetch pays a delayed-ACK round trip.
            .and_then(|()| stream.set_nodelay(true))
            .and_then(|()| {
                let cc = self.path.congestion.for_peer(self.peer.ip());
                net::set_congestion(stream.as_fd(), cc)
            })
            .and_then(|()| stream.set_read_timeout(Some(TICK)))
            // A client that stops reading must not hold a thread forever on header writes.
            .and_then(|()| stream.set_write_timeout(Some(self.limits.idle_timeout)));
        if let Err(e) = setup {
            return End::Because(ConnError::SocketSetup(e));
        }
        let mut sender = match FetchSender::new(&self.path) {
            Ok(s) => s,
            Err(why) => return End::Because(why),
        };
        loop {
            let frame = match self.read_frame(stream) {
                Ok(Some(frame)) => frame,
                Ok(None) => return End::Quiet,
                Err(why) => return End::Because(why),
            };
            let reply = match kafka::decode_request(&frame) {
                Ok(request) => handlers::handle(&self.ctx, request),
                // ApiVersions at a version we do not know gets the v0 error reply that
                // makes clients retry lower; anything else we cannot parse closes.
                Err(e) => match e.reply() {
                    Some(frame) => Reply::Frame(frame),
                    None => return End::Because(ConnError::Undecodable(e)),
                },
            };
            if let Err(e) = self.send(stream, reply, &mut sender) {
                return End::Because(e);
            }
        }
    }

    /// The next request frame; `None` when the client closed between requests, stayed
    /// idle past the timeout, or the server is shutting down.
    fn read_frame(&self, stream: &mut TcpStream) -> Result<Option<Vec<u8>>, ConnError> {
        let mut size = [0u8; 4];
        if !self.read_exact_or_quit(stream, &mut size, true)? {
            return Ok(None);
        }
        let len = i32::from_be_bytes(size);
        if len < 0 {
            return Err(ConnError::NegativeSize(len));
        }
        if len as u64 > self.limits.max_request_bytes {
            return Err(ConnError::TooLarge {
                len,
                max: self.limits.max_request_bytes,
            });
        }
        let mut frame = vec![0u8; len as usize];
        if !self.read_exact_or_quit(stream, &mut frame, false)? {
            return Err(ConnError::ClosedMidRequest);
        }
        Ok(Some(frame))
    }

    /// Fills `buf`, waking every tick to check the shutdown flag and the idle timeout (the
    /// time since the last byte arrived, so a slow but steady client is not cut off).
    /// Returns false when the client closes or, between requests, at shutdown or after
    /// the idle timeout; an error for anything else.
    fn read_exact_or_quit(
        &self,
        stream: &mut TcpStream,
        buf: &mut [u8],
        between_requests: bool,
    ) -> Result<bool, ConnError> {
        let mut idle_deadline = Instant::now() + self.limits.idle_timeout;
        let mut filled = 0;
        while filled < buf.len() {
            match stream.read(&mut buf[filled..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    filled += n;
                    idle_deadline = Instant::now() + self.limits.idle_timeout;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    let idle = filled == 0 && between_requests;
                    if idle && self.ctx.shutdown.load(SeqCst) {
                        return Ok(false);
                    }
                    if Instant::now() >= idle_deadline {
                        return if idle {
                            Ok(false)
                        } else {
                            Err(ConnError::StalledMidRequest(self.limits.idle_timeout))
                        };
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(false),
                Err(e) => return Err(ConnError::Read(e)),
            }
        }
        Ok(true)
    }

    fn send(
        &self,
        stream: &mut TcpStream,
        reply: Reply,
        sender: &mut FetchSender,
    ) -> Result<(), ConnError> {
        match reply {
            Reply::Nothing => Ok(()),
            Reply::Frame(bytes) => stream.write_all(&bytes).map_err(ConnError::Send),
            Reply::Fetch { parts, files } => {
                sender.transfer().reset_tally();
                let (mut writes, mut header_bytes) = (0, 0);
                for part in parts {
                    match part {
                        Part::Bytes(bytes) => {
                            stream.write_all(&bytes).map_err(ConnError::Send)?;
                            writes += 1;
                            header_bytes += bytes.len() as u64;
                        }
                        Part::File(region) => {
                            let file = &files[region.segment];
                            let (at, len) = (region.position, region.len);
                            let sent = match sender {
                                FetchSender::Plain(s) => s.send(file, at, len, stream.as_fd()),
                                FetchSender::Inspecting(s, spec) => {
                                    let mut inspector = Inspector::new(spec);
                                    let sent = s.send_watched(
                                        file,
                                        at,
                                        len,
                                        stream.as_fd(),
                                        &mut |bytes| inspector.feed(bytes),
                                    );
                                    let (found, problems) = inspector.finish(sent.is_ok());
                                    self.ctx.stats.add_inspection(&found);
                                    for p in problems {
                                        (self.ctx.log)(format!(
                                            "{}: inspect: {p} (sent as it is: the consumer \
                                             checks the CRC too)",
                                            self.peer
                                        ));
                                    }
                                    sent
                                }
                            };
                            sent.map_err(ConnError::SendRecords)?;
                        }
                    }
                }
                self.ctx
                    .stats
                    .add_fetch(sender.transfer().tally(), writes, header_bytes);
                Ok(())
            }
        }
    }
}
