//! What a connection reads requests from and writes answers to, and how it moves a Fetch's
//! record bytes: plain TCP with the broker's transfer mode (`--transfer`, sendfile by
//! default), or TLS, where the records cannot go by sendfile.
//!
//! Under TLS every byte must be encrypted in user space before the kernel sees it, so the
//! TLS listener's record bytes always go `pread` → encrypt (rustls) → `writev` (the `tls`
//! transfer mode's loop), whatever `--transfer` says. Apache Kafka does the same: its
//! `SslTransportLayer.transferFrom` reads the file into a buffer and writes it through the
//! `SSLEngine`, where `PlaintextTransportLayer.transferFrom` calls `FileChannel.transferTo`
//! (sendfile).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::sync::Arc;

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::handlers::Listener;
use super::inspect::InspectSpec;
use super::server::FetchPath;
use crate::transfer::{self, Mode, TlsSender, Transfer, TransferError, Watched};

/// The plaintext listener's transfer mode, and whether it watches the bytes it sends.
pub enum FetchSender {
    Plain(Box<dyn Transfer + Send>),
    Inspecting(Box<dyn Watched + Send>, Arc<InspectSpec>),
}

/// Why a connection could not set up its way of sending records.
#[derive(Debug)]
pub enum SetupError {
    Transfer(Mode, io::Error),
    /// `--inspect` with a mode that keeps the bytes in the kernel (refused at start-up too).
    CannotInspect(Mode),
}

impl FetchSender {
    fn new(path: &FetchPath) -> Result<FetchSender, SetupError> {
        let cannot = |e| SetupError::Transfer(path.mode, e);
        match &path.inspect {
            None => transfer::sender(path.mode, path.chunk)
                .map(FetchSender::Plain)
                .map_err(cannot),
            Some(spec) => match transfer::watched_sender(path.mode, path.chunk).map_err(cannot)? {
                Some(s) => Ok(FetchSender::Inspecting(s, spec.clone())),
                None => Err(SetupError::CannotInspect(path.mode)),
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

/// A TLS connection and the read-encrypt-write sender of its records.
pub struct TlsWire {
    pub stream: StreamOwned<ServerConnection, TcpStream>,
    sender: TlsSender,
}

impl TlsWire {
    /// Sends a file range as TLS records: never sendfile (see the module comment).
    pub fn send_file(&mut self, file: &File, at: u64, len: u64) -> Result<(), TransferError> {
        let sock = self.stream.sock.as_fd();
        self.sender
            .send_on(&mut self.stream.conn, file, at, len, sock)
    }
}

/// One client connection, plain or TLS.
pub enum Wire {
    Plain(TcpStream, FetchSender),
    Tls(Box<TlsWire>),
}

impl Wire {
    /// The connection for a socket accepted on `via`; `tls` is the TLS listener's
    /// configuration. The handshake happens on the first read.
    pub fn new(
        stream: TcpStream,
        via: Listener,
        path: &FetchPath,
        tls: Option<&Arc<ServerConfig>>,
    ) -> Result<Wire, SetupError> {
        match (via, tls) {
            (Listener::Tls, Some(config)) => {
                let conn = ServerConnection::new(config.clone())
                    .map_err(|e| SetupError::Transfer(Mode::Tls, io::Error::other(e)))?;
                let sender =
                    TlsSender::new(path.chunk).map_err(|e| SetupError::Transfer(Mode::Tls, e))?;
                Ok(Wire::Tls(Box::new(TlsWire {
                    stream: StreamOwned::new(conn, stream),
                    sender,
                })))
            }
            _ => Ok(Wire::Plain(stream, FetchSender::new(path)?)),
        }
    }

    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Wire::Plain(s, _) => s,
            Wire::Tls(t) => &t.stream.sock,
        }
    }

    /// The sender of Fetch records, for its tally.
    pub fn transfer(&mut self) -> &mut dyn Transfer {
        match self {
            Wire::Plain(_, s) => s.transfer(),
            Wire::Tls(t) => &mut t.sender,
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Wire::Tls(_))
    }

    /// Writes all of `bytes`, and under TLS pushes the records out to the socket.
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Wire::Plain(s, _) => s.write_all(bytes),
            Wire::Tls(t) => {
                t.stream.write_all(bytes)?;
                t.stream.flush()
            }
        }
    }
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(s, _) => s.read(buf),
            Wire::Tls(t) => t.stream.read(buf),
        }
    }
}

/// The TLS reason inside an I/O error from a TLS connection, if that is what it is: the
/// words of [`crate::tls::handshake_failure`] and rustls's own.
pub fn tls_failure(e: &io::Error) -> Option<(&'static str, String)> {
    let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some((crate::tls::handshake_failure(inner), inner.to_string()))
}
