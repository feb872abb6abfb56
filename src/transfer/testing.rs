//! Test helpers shared by the mode files: real files in a temp dir, real loopback sockets
//! on port 0, and a reader thread that collects whatever arrives.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::thread::{self, JoinHandle};

use nix::sys::socket::{setsockopt, sockopt};
use tempfile::NamedTempFile;

use super::{Transfer, TransferError};

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * KIB;

/// Bytes that differ from their neighbours, so an off-by-one offset cannot go unnoticed.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// A real file holding `data`.
pub fn fixture(data: &[u8]) -> NamedTempFile {
    let mut file = NamedTempFile::new().expect("create temp file");
    file.write_all(data).expect("write fixture");
    file.flush().expect("flush fixture");
    file
}

/// A connected loopback pair: the sending end, and a thread that reads the receiving end
/// to EOF and returns what it got.
pub fn connect() -> (TcpStream, JoinHandle<Vec<u8>>) {
    connect_slow_reader(std::time::Duration::ZERO)
}

/// Like [`connect`], but the reader waits `delay` before its first read, so the sender
/// reliably finds the socket buffers full (EAGAIN on a non-blocking socket).
pub fn connect_slow_reader(delay: std::time::Duration) -> (TcpStream, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let reader = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        thread::sleep(delay);
        let mut got = Vec::new();
        // A reset after a failed send is fine: the test checks what the sender reports.
        let _ = stream.read_to_end(&mut got);
        got
    });
    let stream = TcpStream::connect(addr).expect("connect");
    (stream, reader)
}

/// Sends `len` bytes at `offset` through `tx`, half-closes, and returns what the other end
/// received (or the sender's error).
pub fn send_and_collect(
    tx: &mut dyn Transfer,
    file: &File,
    offset: usize,
    len: usize,
) -> Result<Vec<u8>, TransferError> {
    let (stream, reader) = connect();
    let result = tx.send(file, offset as u64, len as u64, stream.as_fd());
    stream.shutdown(Shutdown::Write).expect("shutdown");
    let got = reader.join().expect("reader thread");
    result.map(|()| got)
}

/// Sends `len` bytes to a receiver that reads 64 KiB and then closes. Both socket buffers
/// are shrunk so the sender is certain to still be sending when the receiver leaves.
pub fn send_to_vanishing_sink(
    tx: &mut dyn Transfer,
    file: &File,
    len: usize,
) -> Result<(), TransferError> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    setsockopt(&listener, sockopt::RcvBuf, &(64 * KIB)).expect("SO_RCVBUF");
    let addr = listener.local_addr().expect("local addr");
    let reader = thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut first = vec![0; 64 * KIB];
        stream.read_exact(&mut first).expect("read the first bytes");
        // Dropping with unread data makes the kernel answer with a reset.
    });
    let stream = TcpStream::connect(addr).expect("connect");
    setsockopt(&stream, sockopt::SndBuf, &(64 * KIB)).expect("SO_SNDBUF");
    let result = tx.send(file, 0, len as u64, stream.as_fd());
    reader.join().expect("reader thread");
    result
}
