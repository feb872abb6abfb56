//! One TCP connection to one broker: frames, correlation ids, timeouts, and the ApiVersions
//! handshake that decides which version of each API the two sides speak.
//!
//! ```text
//! client                                              broker
//!   │ ── [size][ApiVersions v3, corr 1] ───────────────► │
//!   │ ◄──────────────── [size][corr 1][error 0, ranges] ─ │   handshake: learn the ranges
//!   │ ── [size][Produce v8, corr 2][batch] ────────────► │
//!   │ ── [size][Produce v8, corr 3][batch] ────────────► │   pipelined: no waiting
//!   │ ◄────────────────────────────── [size][corr 2]... ─ │
//!   │ ◄────────────────────────────── [size][corr 3]... ─ │   answers come in request order
//! ```
//!
//! A response frame does not say which API it answers, only the correlation id of the
//! request. The broker answers in order, so the client keeps the requests it sent in order
//! too ([`Pending`]) and checks each answer's id against the oldest: a mismatch means the
//! two sides are out of step, and nothing after that point can be trusted.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::kafka::{
    ApiKey, ApiVersion, ApiVersionsRequest, ApiVersionsResponse, DecodeResponse, ErrorCode,
    RequestBody, SUPPORTED_APIS, decode_response, encode_request,
};

use super::error::ClientError;

/// How the client behaves on the network.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Sent in every request header; brokers log it.
    pub client_id: String,
    /// Limit for opening a TCP connection.
    pub connect_timeout: Duration,
    /// How long the broker may take to answer (Kafka's `request.timeout.ms`, 30 s). A
    /// Fetch may take its `max_wait` on top. It applies to each read and write.
    pub request_timeout: Duration,
    /// Largest response frame accepted. A broker (or anything else listening on the port)
    /// announcing more is refused before any memory is allocated for it.
    pub max_response_bytes: usize,
    /// How long to keep asking Metadata while a partition is not ready: no leader yet, or
    /// a topic the broker is still creating on first use (the Java producer's
    /// `max.block.ms`, 60 s). Zero: fail at the first answer.
    pub metadata_wait: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            client_id: "zc".into(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 100 << 20,
            metadata_wait: Duration::from_secs(60),
        }
    }
}

/// A request that was sent and whose response has not been read yet. Responses must be
/// received in the order the requests were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "the response to this request must be received before the next one"]
pub struct Pending {
    pub correlation_id: i32,
    pub api: ApiKey,
    pub version: i16,
}

/// A connection to one broker, after a successful ApiVersions handshake.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    /// The address as the caller gave it, for messages.
    broker: String,
    config: ClientConfig,
    next_correlation_id: i32,
    /// The broker's ranges, from the handshake.
    broker_apis: Vec<ApiVersion>,
    /// The ApiVersions version the handshake settled on.
    handshake_version: i16,
    /// The read timeout currently set on the socket, to avoid a syscall per response.
    read_timeout: Option<Duration>,
    /// The last response frame (after its size prefix); reused, and borrowed by decoded
    /// Fetch responses so that record bytes are never copied.
    frame: Vec<u8>,
}

impl Connection {
    /// Connects to `broker` (`host:port`) and performs the ApiVersions handshake.
    pub fn open(broker: &str, config: &ClientConfig) -> Result<Self, ClientError> {
        let stream = connect(broker, config.connect_timeout)?;
        let connect_error = |source| ClientError::Connect {
            broker: broker.to_owned(),
            source,
        };
        // Requests are small and answered one by one: without TCP_NODELAY, Nagle's
        // algorithm would hold a request back waiting for the previous one's ACK. Every
        // Kafka client sets it.
        stream.set_nodelay(true).map_err(connect_error)?;
        stream
            .set_write_timeout(Some(nonzero(config.request_timeout)))
            .map_err(connect_error)?;
        let mut conn = Connection {
            stream,
            broker: broker.to_owned(),
            config: config.clone(),
            next_correlation_id: 1,
            broker_apis: Vec::new(),
            handshake_version: 0,
            read_timeout: None,
            frame: Vec::new(),
        };
        conn.handshake()?;
        Ok(conn)
    }

    /// The broker's address, as given to [`Connection::open`].
    pub fn broker(&self) -> &str {
        &self.broker
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The address the socket is connected to.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.stream.peer_addr().ok()
    }

    /// The version of ApiVersions the handshake used.
    pub fn handshake_version(&self) -> i16 {
        self.handshake_version
    }

    /// Asks "which versions do you speak?", starting with the newest we speak. A broker
    /// that does not speak it answers UNSUPPORTED_VERSION with a v0 body listing its own
    /// ApiVersions range (KIP-511; brokers before Kafka 2.4 list nothing, and v0 always
    /// works), and we ask again with the highest version both sides know. Every retry asks
    /// a lower version, so this ends after at most four round trips.
    fn handshake(&mut self) -> Result<(), ClientError> {
        let ours = ApiKey::ApiVersions.versions();
        let mut version = ours.max;
        loop {
            let request = RequestBody::ApiVersions(ApiVersionsRequest {
                client_software_name: "zc".into(),
                client_software_version: env!("CARGO_PKG_VERSION").into(),
                tagged_fields: Vec::new(),
            });
            let pending = self.send(version, &request)?;
            let response: ApiVersionsResponse = self.receive(pending, Duration::ZERO)?;
            match response.error_code {
                ErrorCode::None => {
                    self.broker_apis = response.api_keys;
                    self.handshake_version = version;
                    return Ok(());
                }
                ErrorCode::UnsupportedVersion => {
                    let theirs = range_of(&response.api_keys, ApiKey::ApiVersions);
                    let next = theirs.map_or(0, |(_, max)| max).min(version - 1);
                    if next < ours.min {
                        return Err(ClientError::Unsupported {
                            broker: self.broker.clone(),
                            api: ApiKey::ApiVersions,
                            theirs,
                        });
                    }
                    version = next;
                }
                code => {
                    return Err(ClientError::Broker {
                        broker: self.broker.clone(),
                        api: ApiKey::ApiVersions,
                        code,
                        topic: None,
                        partition: None,
                        message: None,
                    });
                }
            }
        }
    }

    /// The version to use for `api`: the highest that both we ([`SUPPORTED_APIS`]) and the
    /// broker (its handshake answer) speak.
    pub fn version(&self, api: ApiKey) -> Result<i16, ClientError> {
        let ours = api.versions();
        let theirs = range_of(&self.broker_apis, api);
        match theirs {
            Some((min, max)) if max.min(ours.max) >= min.max(ours.min) => Ok(max.min(ours.max)),
            _ => Err(ClientError::Unsupported {
                broker: self.broker.clone(),
                api,
                theirs,
            }),
        }
    }

    /// The version chosen for each API both sides speak, for a one-line summary.
    pub fn negotiated(&self) -> Vec<(ApiKey, i16)> {
        SUPPORTED_APIS
            .iter()
            .filter_map(|&(api, _)| self.version(api).ok().map(|v| (api, v)))
            .collect()
    }

    /// Writes one request frame at `version`. The response must then be read with
    /// [`Connection::receive`], in the order the requests were sent.
    pub fn send(&mut self, version: i16, body: &RequestBody<'_>) -> Result<Pending, ClientError> {
        let api = body.api_key();
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let frame = encode_request(correlation_id, Some(&self.config.client_id), version, body);
        if let Err(e) = self.stream.write_all(&frame) {
            return Err(self.io_error(api, self.config.request_timeout, e));
        }
        Ok(Pending {
            correlation_id,
            api,
            version,
        })
    }

    /// Reads the response to `pending`, which must be the oldest request not yet answered.
    /// The broker gets the request timeout plus `extra_wait` (a Fetch's long-poll time).
    /// The result may borrow from the connection's buffer (Fetch records do), so it must
    /// be dropped before the next call.
    pub fn receive<'c, T: DecodeResponse<'c>>(
        &'c mut self,
        pending: Pending,
        extra_wait: Duration,
    ) -> Result<T, ClientError> {
        let mut frame = std::mem::take(&mut self.frame);
        let read = self.read_response(pending, extra_wait, &mut frame);
        self.frame = frame;
        read?;
        self.decode(pending, &self.frame)
    }

    /// Like [`Connection::receive`], but into the caller's buffer `frame`: the result
    /// borrows `frame`, not the connection, so more requests can be sent while it is alive
    /// (a consumer sends its next Fetch before walking the records of this one).
    pub fn receive_into<'b, T: DecodeResponse<'b>>(
        &mut self,
        pending: Pending,
        extra_wait: Duration,
        frame: &'b mut Vec<u8>,
    ) -> Result<T, ClientError> {
        self.read_response(pending, extra_wait, frame)?;
        self.decode(pending, frame)
    }

    /// Reads the frame answering `pending` into `frame` and checks its correlation id.
    fn read_response(
        &mut self,
        pending: Pending,
        extra_wait: Duration,
        frame: &mut Vec<u8>,
    ) -> Result<(), ClientError> {
        let api = pending.api;
        self.read_frame(api, self.config.request_timeout + extra_wait, frame)?;
        // Check the id before decoding: the answer to another request would fail to decode
        // with a confusing message, or worse, decode.
        let id = match frame.first_chunk::<4>() {
            Some(id) => i32::from_be_bytes(*id),
            None => return Err(self.protocol(api, "frame shorter than a response header".into())),
        };
        if id != pending.correlation_id {
            return Err(self.protocol(
                api,
                format!(
                    "it answers correlation id {id} but the oldest request waiting is {}; \
                     responses must come in request order",
                    pending.correlation_id
                ),
            ));
        }
        Ok(())
    }

    fn decode<'b, T: DecodeResponse<'b>>(
        &self,
        pending: Pending,
        frame: &'b [u8],
    ) -> Result<T, ClientError> {
        match decode_response::<T>(frame, pending.version) {
            Ok((_, body)) => Ok(body),
            Err(e) => Err(self.protocol(pending.api, format!("v{}: {e}", pending.version))),
        }
    }

    pub(super) fn protocol(&self, api: ApiKey, detail: String) -> ClientError {
        ClientError::Protocol {
            broker: self.broker.clone(),
            api,
            detail,
        }
    }

    /// An error code from the broker, named with this connection's address.
    pub(super) fn broker_error(
        &self,
        api: ApiKey,
        code: ErrorCode,
        topic: Option<&str>,
        message: Option<String>,
    ) -> ClientError {
        ClientError::Broker {
            broker: self.broker.clone(),
            api,
            code,
            topic: topic.map(str::to_owned),
            partition: None,
            message,
        }
    }

    /// Sends `body` at the negotiated version and waits for its (owned) response.
    pub fn call<T>(&mut self, body: &RequestBody<'_>) -> Result<T, ClientError>
    where
        T: for<'a> DecodeResponse<'a>,
    {
        let version = self.version(body.api_key())?;
        let pending = self.send(version, body)?;
        self.receive(pending, Duration::ZERO)
    }

    /// Reads one frame into `frame`: the int32 size, checked against the limit before
    /// anything is allocated, then exactly that many bytes.
    fn read_frame(
        &mut self,
        api: ApiKey,
        wait: Duration,
        frame: &mut Vec<u8>,
    ) -> Result<(), ClientError> {
        let wait = nonzero(wait);
        if self.read_timeout != Some(wait) {
            if let Err(e) = self.stream.set_read_timeout(Some(wait)) {
                return Err(self.io_error(api, wait, e));
            }
            self.read_timeout = Some(wait);
        }
        let mut size = [0u8; 4];
        if let Err(e) = self.stream.read_exact(&mut size) {
            return Err(self.io_error(api, wait, e));
        }
        let size = i32::from_be_bytes(size);
        let len = match usize::try_from(size) {
            Ok(n) if (4..=self.config.max_response_bytes).contains(&n) => n,
            _ => {
                return Err(ClientError::Protocol {
                    broker: self.broker.clone(),
                    api,
                    detail: format!(
                        "frame size {size} is outside 4..={} (is this port a Kafka broker?)",
                        self.config.max_response_bytes
                    ),
                });
            }
        };
        // The size is known and bounded: size the buffer once and read straight into it.
        // (`take(len).read_to_end` would grow it from 8 KiB by doubling, a read system call
        // per step: ~8 per MiB.) `resize` only zeroes bytes beyond the previous length, and
        // the buffer is reused, so a steady stream of 1 MiB responses zeroes nothing.
        frame.resize(len, 0);
        match self.stream.read_exact(frame) {
            Ok(()) => Ok(()),
            Err(e) => {
                frame.clear();
                Err(self.io_error(api, wait, e))
            }
        }
    }

    fn io_error(&self, api: ApiKey, waited: Duration, e: io::Error) -> ClientError {
        let broker = self.broker.clone();
        match e.kind() {
            // A socket timeout shows up as EAGAIN (WouldBlock) on Linux.
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClientError::Timeout {
                broker,
                api,
                waited,
            },
            io::ErrorKind::UnexpectedEof => ClientError::Closed { broker, api },
            _ => ClientError::Io {
                broker,
                api,
                source: e,
            },
        }
    }
}

/// The broker's `(min, max)` for `api`, if it listed it.
fn range_of(list: &[ApiVersion], api: ApiKey) -> Option<(i16, i16)> {
    list.iter()
        .find(|k| k.api_key == api.code())
        .map(|k| (k.min_version, k.max_version))
}

/// Socket timeouts of zero are refused by the OS (zero means "no timeout" to it).
fn nonzero(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

/// Resolves `broker` and tries each address in turn, like every Kafka client does.
fn connect(broker: &str, timeout: Duration) -> Result<TcpStream, ClientError> {
    let error = |source| ClientError::Connect {
        broker: broker.to_owned(),
        source,
    };
    let addrs: Vec<SocketAddr> = broker.to_socket_addrs().map_err(error)?.collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolves to no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, nonzero(timeout)) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(error(last))
}
