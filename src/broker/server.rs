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

use std::fs::File;
use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::config::Limits;
use rustls::ServerConfig;

use super::handlers::{self, Context, Listener, Log, Reply};
use super::inspect::{InspectSpec, Inspector};
use super::memory::{self, RequestMemory, Wait};
use super::wire::{self, FetchSender, SetupError, Wire};
use crate::kafka::{self, DecodeError, Part};
use crate::net::{self, PeerCongestion};
use crate::transfer::{Mode, TransferError};

/// How often blocked threads look at the shutdown flag.
const TICK: Duration = Duration::from_millis(100);
/// How long the accept loop pauses after a failed accept (descriptors or memory ran out).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// The first step of a request buffer's growth.
const READ_CHUNK: usize = 64 << 10;
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

/// The sockets the broker accepts on: the plaintext listener, and the TLS one with its
/// configuration when `--tls` is on.
pub struct Listeners {
    pub plain: TcpListener,
    pub tls: Option<(TcpListener, Arc<ServerConfig>)>,
}

/// Serves until the context's shutdown flag is set, then waits (up to a bound) for the
/// connections to finish what they are writing and returns.
pub fn run(listeners: Listeners, ctx: Arc<Context>, path: FetchPath, limits: Limits) -> Result<()> {
    let log = &ctx.log;
    let mut sockets = vec![(listeners.plain, Listener::Plain, None)];
    if let Some((tls, config)) = listeners.tls {
        sockets.push((tls, Listener::Tls, Some(config)));
    }
    for (listener, _, _) in &sockets {
        listener
            .set_nonblocking(true)
            .context("cannot make the listener non-blocking")?;
    }
    memory::tune_allocator();
    let memory = Arc::new(RequestMemory::new(limits.max_queued_request_bytes));
    // One descriptor kept in reserve: when the process runs out, closing it lets the accept
    // loop take the waiting connection off the queue and close it, instead of leaving it
    // there to make every poll return at once.
    let mut spare_fd = File::open("/dev/null").ok();
    let (mut refusals, mut reclaims) = (RateLimited::default(), RateLimited::default());
    let mut connections: Vec<Running> = Vec::new();
    while !ctx.shutdown.load(SeqCst) {
        connections.retain(|c| !c.thread.is_finished());
        let mut idle = true;
        for (listener, via, tls) in &sockets {
            match listener.accept() {
                Ok((stream, peer)) => {
                    idle = false;
                    match admit(&connections, &limits, peer) {
                        Ok(None) => {}
                        Ok(Some(note)) => reclaims.log(log, note),
                        Err(why) => {
                            refusals.log(log, format!("{peer}: refused: {why}"));
                            continue;
                        }
                    }
                    let slot = Arc::new(Slot::default());
                    let conn = Connection {
                        ctx: ctx.clone(),
                        path: path.clone(),
                        limits: limits.clone(),
                        memory: memory.clone(),
                        slot: slot.clone(),
                        peer,
                        via: *via,
                        tls: tls.clone(),
                    };
                    // On failure the closure, and with it the socket, is dropped: that one
                    // client sees its connection closed and may retry; the others carry on.
                    match thread::Builder::new()
                        .name(format!("conn {peer}"))
                        .spawn(move || conn.serve(stream))
                    {
                        Ok(thread) => connections.push(Running { thread, slot, peer }),
                        Err(e) => refusals.log(
                            log,
                            format!(
                                "{peer}: refused: cannot start a connection thread ({e}); the \
                                 process may be at its thread limit (ulimit -u, the pids \
                                 cgroup, systemd's TasksMax): lower --max-connections or \
                                 raise the limit"
                            ),
                        ),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => idle = false,
                Err(e) => {
                    idle = false;
                    let out_of_fds = matches!(
                        e.raw_os_error(),
                        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                    );
                    if out_of_fds && spare_fd.take().is_some() {
                        if let Ok((stream, peer)) = listener.accept() {
                            drop(stream);
                            refusals.log(
                                log,
                                format!(
                                    "{peer}: refused: {e}; raise the descriptor limit (ulimit \
                                     -n, LimitNOFILE) or lower --max-connections / \
                                     --max-partitions"
                                ),
                            );
                        }
                        spare_fd = File::open("/dev/null").ok();
                    } else {
                        refusals.log(log, format!("accept failed: {e}"));
                    }
                    // A short pause: whatever ran out needs others to give some back first.
                    thread::sleep(ACCEPT_BACKOFF);
                }
            }
        }
        if idle {
            // Nothing to accept: wait for the next connection on any listener, or a tick
            // to look at the shutdown flag again, whichever comes first.
            let mut fds: Vec<PollFd> = sockets
                .iter()
                .map(|(l, _, _)| PollFd::new(l.as_fd(), PollFlags::POLLIN))
                .collect();
            let _ = poll(&mut fds, PollTimeout::from(TICK.as_millis() as u16));
        }
    }
    drop(sockets);
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while connections.iter().any(|c| !c.thread.is_finished()) && Instant::now() < deadline {
        thread::sleep(TICK / 2);
    }
    let stuck = connections
        .iter()
        .filter(|c| !c.thread.is_finished())
        .count();
    if stuck > 0 {
        log(format!(
            "{stuck} connection(s) still busy after {}s; closing the logs anyway",
            DRAIN_TIMEOUT.as_secs()
        ));
    }
    Ok(())
}

/// A connection the accept loop started: its thread, and what it shares with the loop.
struct Running {
    thread: JoinHandle<()>,
    slot: Arc<Slot>,
    peer: SocketAddr,
}

/// What the accept loop and a connection thread share.
#[derive(Default)]
struct Slot {
    /// Milliseconds since [`epoch`] when the connection last became idle (waiting for a
    /// request), 0 while it is receiving or answering one.
    idle_since_ms: AtomicU64,
    /// Set by the accept loop: close now if idle, to make room for a new connection.
    reclaim: AtomicBool,
}

/// Decides whether a new connection from `peer` may be served; at `--max-connections`,
/// asks the connection idle the longest to close, and admits the newcomer if it did (with
/// a line to log saying so).
fn admit(
    connections: &[Running],
    limits: &Limits,
    peer: SocketAddr,
) -> Result<Option<String>, String> {
    let from_peer = connections
        .iter()
        .filter(|c| c.peer.ip() == peer.ip())
        .count();
    if from_peer >= limits.max_connections_per_ip {
        return Err(format!(
            "already {from_peer} connections from {} (--max-connections-per-ip)",
            peer.ip()
        ));
    }
    if connections.len() < limits.max_connections {
        return Ok(None);
    }
    let idlest = connections
        .iter()
        .filter(|c| c.slot.idle_since_ms.load(Relaxed) > 0)
        .min_by_key(|c| c.slot.idle_since_ms.load(Relaxed));
    let Some(idlest) = idlest else {
        return Err(format!(
            "already {} connections, none idle (--max-connections)",
            connections.len()
        ));
    };
    let idle_for = Duration::from_millis(now_ms() - idlest.slot.idle_since_ms.load(Relaxed));
    idlest.slot.reclaim.store(true, SeqCst);
    let deadline = Instant::now() + 3 * TICK;
    while !idlest.thread.is_finished() && Instant::now() < deadline {
        thread::sleep(TICK / 10);
    }
    if idlest.thread.is_finished() {
        Ok(Some(format!(
            "{}: closed after {:.1}s idle, to make room for {peer} (--max-connections {})",
            idlest.peer,
            idle_for.as_secs_f64(),
            limits.max_connections
        )))
    } else {
        Err(format!(
            "already {} connections (--max-connections); the idlest did not close in time",
            connections.len()
        ))
    }
}

/// Whether the peer has closed its side (or reset): checked without reading.
fn hung_up(stream: &TcpStream) -> bool {
    let mut fds = [PollFd::new(
        stream.as_fd(),
        PollFlags::from_bits_retain(libc::POLLRDHUP) | PollFlags::POLLHUP,
    )];
    poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0)
}

/// Milliseconds since the first call, never 0 (0 means "busy" in [`Slot`]).
fn now_ms() -> u64 {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// Log lines that may come in floods (refusals under attack or exhaustion): at most one a
/// second, with a count of those left out.
#[derive(Default)]
struct RateLimited {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimited {
    fn log(&mut self, log: &Log, line: String) {
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            self.suppressed += 1;
            return;
        }
        let more = match std::mem::take(&mut self.suppressed) {
            0 => String::new(),
            n => format!(" ({n} similar line(s) left out in the last second)"),
        };
        log(format!("{line}{more}"));
        self.last = Some(Instant::now());
    }
}

struct Connection {
    ctx: Arc<Context>,
    path: FetchPath,
    limits: Limits,
    memory: Arc<RequestMemory>,
    slot: Arc<Slot>,
    peer: SocketAddr,
    /// The listener it came in on, and that listener's TLS configuration.
    via: Listener,
    tls: Option<Arc<ServerConfig>>,
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
    /// The TLS handshake (or a later record) failed: why, in words pointing at the fix,
    /// and rustls's own words.
    Tls(&'static str, String),
    /// A frame we cannot parse and have no error reply for.
    Undecodable(DecodeError),
    Send(io::Error),
    /// The transfer mode stopped part-way through a Fetch's record bytes.
    SendRecords(TransferError),
    /// Other requests held the request-memory budget for the whole idle timeout.
    NoRequestMemory {
        waited: Duration,
        budget: u64,
    },
    ShuttingDown,
}

/// A request's bytes and the part of the request-memory budget they hold, given back when
/// the request has been answered.
struct Frame<'a> {
    bytes: Vec<u8>,
    charged: u64,
    memory: &'a RequestMemory,
}

impl Drop for Frame<'_> {
    fn drop(&mut self) {
        self.memory.give_back(self.charged);
    }
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
            ConnError::Tls(why, detail) => write!(f, "TLS: {why} (rustls: {detail})"),
            ConnError::Undecodable(e) => write!(f, "{e}"),
            ConnError::Send(e) => write!(f, "cannot send the response: {e}"),
            ConnError::SendRecords(e) => write!(f, "cannot send the response: {e}"),
            ConnError::ShuttingDown => f.write_str("the broker is shutting down"),
            ConnError::NoRequestMemory { waited, budget } => write!(
                f,
                "waited {}s for request memory: other requests held all \
                 --max-queued-request-bytes ({budget})",
                waited.as_secs()
            ),
        }
    }
}

impl From<SetupError> for ConnError {
    fn from(e: SetupError) -> Self {
        match e {
            SetupError::Transfer(mode, e) => ConnError::TransferSetup(mode, e),
            SetupError::CannotInspect(mode) => ConnError::CannotInspect(mode),
        }
    }
}

impl Connection {
    fn serve(self, stream: TcpStream) {
        self.ctx.stats.connections.fetch_add(1, Relaxed);
        let end = self.serve_requests(stream);
        self.ctx.stats.connections.fetch_sub(1, Relaxed);
        if let End::Because(why) = end {
            (self.ctx.log)(format!("{}: closed: {why}", self.peer));
        }
    }

    fn serve_requests(&self, stream: TcpStream) -> End {
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
        let mut wire = match Wire::new(stream, self.via, &self.path, self.tls.as_ref()) {
            Ok(w) => w,
            Err(why) => return End::Because(why.into()),
        };
        let stream = &mut wire;
        loop {
            let frame = match self.read_frame(stream) {
                Ok(Some(frame)) => frame,
                Ok(None) => return End::Quiet,
                Err(why) => return End::Because(why),
            };
            let reply = match kafka::decode_request(&frame.bytes) {
                Ok(request) => handlers::handle(&self.ctx, request, self.peer, self.via),
                // ApiVersions at a version we do not know gets the v0 error reply that
                // makes clients retry lower; anything else we cannot parse closes.
                Err(e) => match e.reply() {
                    Some(frame) => Reply::Frame(frame),
                    None => return End::Because(ConnError::Undecodable(e)),
                },
            };
            if let Err(e) = self.send(stream, reply) {
                return End::Because(e);
            }
        }
    }

    /// The next request frame; `None` when the client closed between requests, stayed
    /// idle past the timeout, was asked to make room, or the server is shutting down.
    fn read_frame(&self, stream: &mut Wire) -> Result<Option<Frame<'_>>, ConnError> {
        let mut size = [0u8; 4];
        self.slot.idle_since_ms.store(now_ms(), Relaxed);
        let more = self.read_exact_or_quit(stream, &mut size, true);
        self.slot.idle_since_ms.store(0, Relaxed);
        self.slot.reclaim.store(false, SeqCst);
        if !more? {
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
        // The buffer grows as the bytes arrive (doubling, so a large request is copied a
        // few times at most), never to the announced size up front: announcing costs a
        // client four bytes, holding memory must cost it the bytes themselves.
        let len = len as usize;
        let mut frame = Frame {
            bytes: Vec::new(),
            charged: 0,
            memory: &self.memory,
        };
        while frame.bytes.len() < len {
            let filled = frame.bytes.len();
            let end = filled + filled.max(READ_CHUNK).min(len - filled);
            if end > memory::FREE_ALLOWANCE && frame.charged == 0 {
                self.reserve(stream, &mut frame, len)?;
            }
            frame.bytes.reserve_exact(end - filled);
            frame.bytes.resize(end, 0);
            if !self.read_exact_or_quit(stream, &mut frame.bytes[filled..], false)? {
                return Err(ConnError::ClosedMidRequest);
            }
        }
        Ok(Some(frame))
    }

    /// Reserves the rest of a request of `len` bytes from the budget once it outgrows the
    /// free allowance, waiting while the budget is spent. The whole rest at once, as Kafka
    /// does: requests that each held part of the budget while waiting for more could wait
    /// for each other forever. Memory is still allocated only as the bytes arrive.
    fn reserve(&self, stream: &Wire, frame: &mut Frame<'_>, len: usize) -> Result<(), ConnError> {
        let due = len.saturating_sub(memory::FREE_ALLOWANCE) as u64;
        // A client that gives up while waiting is noticed, not waited for.
        let stop = || self.ctx.shutdown.load(SeqCst) || hung_up(stream.tcp());
        match self.memory.take(due, self.limits.idle_timeout, TICK, &stop) {
            Ok(()) => {
                frame.charged = due;
                Ok(())
            }
            Err(Wait::Stopped) if self.ctx.shutdown.load(SeqCst) => Err(ConnError::ShuttingDown),
            Err(Wait::Stopped) => Err(ConnError::ClosedMidRequest),
            Err(Wait::TimedOut) => Err(ConnError::NoRequestMemory {
                waited: self.limits.idle_timeout,
                budget: self.limits.max_queued_request_bytes,
            }),
        }
    }

    /// Fills `buf`, waking every tick to check the shutdown flag and the idle timeout (the
    /// time since the last byte arrived, so a slow but steady client is not cut off).
    /// Returns false when the client closes or, between requests, at shutdown, after the
    /// idle timeout, or when asked to make room; an error for anything else.
    fn read_exact_or_quit(
        &self,
        stream: &mut Wire,
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
                    if idle && (self.ctx.shutdown.load(SeqCst) || self.slot.reclaim.load(SeqCst)) {
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
                // A TLS client may close without close_notify, as it may close plain TCP.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof
                    ) =>
                {
                    return Ok(false);
                }
                Err(e) => {
                    return Err(match wire::tls_failure(&e) {
                        Some((why, detail)) => ConnError::Tls(why, detail),
                        None => ConnError::Read(e),
                    });
                }
            }
        }
        Ok(true)
    }

    fn send(&self, wire: &mut Wire, reply: Reply) -> Result<(), ConnError> {
        match reply {
            Reply::Nothing => Ok(()),
            Reply::Frame(bytes) => wire.write_all(&bytes).map_err(ConnError::Send),
            Reply::Fetch { parts, files } => {
                wire.transfer().reset_tally();
                let (mut writes, mut header_bytes) = (0, 0);
                for part in parts {
                    match part {
                        Part::Bytes(bytes) => {
                            wire.write_all(&bytes).map_err(ConnError::Send)?;
                            writes += 1;
                            header_bytes += bytes.len() as u64;
                        }
                        Part::File(region) => {
                            let file = &files[region.segment];
                            let (at, len) = (region.position, region.len);
                            let sent = match wire {
                                Wire::Tls(tls) => tls.send_file(file, at, len),
                                Wire::Plain(stream, FetchSender::Plain(s)) => {
                                    s.send(file, at, len, stream.as_fd())
                                }
                                Wire::Plain(stream, FetchSender::Inspecting(s, spec)) => {
                                    self.send_inspected(s.as_mut(), spec, stream, file, at, len)
                                }
                            };
                            sent.map_err(ConnError::SendRecords)?;
                        }
                    }
                }
                let tls = wire.is_tls();
                self.ctx
                    .stats
                    .add_fetch(wire.transfer().tally(), writes, header_bytes, tls);
                Ok(())
            }
        }
    }

    /// `--inspect`: sends a file range and reads every batch in it on the way.
    fn send_inspected(
        &self,
        sender: &mut (dyn crate::transfer::Watched + Send),
        spec: &InspectSpec,
        stream: &TcpStream,
        file: &File,
        at: u64,
        len: u64,
    ) -> Result<(), TransferError> {
        let mut inspector = Inspector::new(spec);
        let sent = sender.send_watched(file, at, len, stream.as_fd(), &mut |bytes| {
            inspector.feed(bytes)
        });
        let (found, problems) = inspector.finish(sent.is_ok());
        self.ctx.stats.add_inspection(&found);
        for p in problems {
            (self.ctx.log)(format!(
                "{}: inspect: {p} (sent as it is: the consumer checks the CRC too)",
                self.peer
            ));
        }
        sent
    }
}
