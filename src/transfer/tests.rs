//! The modes against real files and sockets: every mode delivers the bytes exactly, and
//! counts what it did the way the kernel would.

use super::testing::*;
use super::*;

/// The modes a plain TCP reader can check: all but those that speak TLS (their own
/// tests use a TLS client) and those this kernel cannot run.
fn plaintext_modes() -> impl Iterator<Item = Mode> {
    Mode::ALL
        .into_iter()
        .filter(|m| !m.encrypts() && m.supported().is_ok())
}

#[test]
fn mode_names_match_cli_and_json() {
    use clap::ValueEnum;
    for mode in Mode::ALL {
        let cli = mode.to_possible_value().map(|v| v.get_name().to_owned());
        assert_eq!(cli.as_deref(), Some(mode.name()));
        let json = serde_json::to_string(&mode).unwrap();
        assert_eq!(json, format!("\"{}\"", mode.name()));
        assert_eq!(mode.to_string(), mode.name());
    }
    assert_eq!(Mode::from_str("read-write", false), Ok(Mode::ReadWrite));
}

/// A watched send shows the watcher exactly the bytes the socket got, in order, and
/// only the modes whose bytes reach user space can be watched.
#[test]
fn watched_senders_show_every_byte_sent_and_only_read_write_and_mmap_have_one() {
    use std::os::fd::AsFd;
    let len = MIB + 4321;
    let data = pattern(len);
    let file = fixture(&data);
    for mode in plaintext_modes() {
        let Some(mut tx) = watched_sender(mode, 64 * KIB).unwrap() else {
            assert!(!mode.bytes_reach_user_space(), "{mode}");
            continue;
        };
        assert!(mode.bytes_reach_user_space(), "{mode}");
        let (stream, reader) = connect();
        let mut seen = Vec::new();
        tx.send_watched(
            file.as_file(),
            100,
            (len - 100) as u64,
            stream.as_fd(),
            &mut |b| seen.extend_from_slice(b),
        )
        .unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let got = reader.join().unwrap();
        assert_eq!(got, &data[100..], "{mode}");
        assert_eq!(seen, got, "{mode}");
    }
}

#[test]
fn model_is_consistent() {
    for mode in Mode::ALL {
        let m = mode.model();
        assert_eq!(m.dma_copies, 2, "{mode}");
        assert_eq!(
            m.mode_switches,
            2 * m.syscalls_per_chunk,
            "{mode}: 2 per syscall"
        );
        assert!(!m.note.is_empty());
    }
    assert!(Mode::Sendfile.model().mode_switches < Mode::ReadWrite.model().mode_switches);
    assert_eq!(Mode::Splice.model().user_copies_per_byte, 0);
}

#[test]
fn zero_chunk_is_rejected() {
    for mode in Mode::ALL {
        let err = sender(mode, 0).err().expect("chunk 0 must fail");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}

#[test]
fn every_mode_sends_exact_bytes() {
    let data = pattern(3 * MIB + 123);
    let file = fixture(&data);
    // (offset, len, chunk): whole file; unaligned offset, len not a multiple of chunk;
    // chunk larger than len; a single byte at the very end.
    let cases = [
        (0, data.len(), 64 * KIB),
        (4097, 2 * MIB + 5, 64 * KIB),
        (10, 1000, MIB),
        (data.len() - 1, 1, 4096),
    ];
    for mode in plaintext_modes() {
        for (offset, len, chunk) in cases {
            let mut tx = sender(mode, chunk).unwrap();
            let got = send_and_collect(tx.as_mut(), file.as_file(), offset, len).unwrap();
            assert_eq!(
                got.len(),
                len,
                "{mode} offset {offset} len {len} chunk {chunk}"
            );
            assert!(got == data[offset..offset + len], "{mode}: bytes differ");
            assert_eq!(tx.tally().bytes_sent, len as u64);
        }
    }
}

#[test]
fn zero_length_sends_nothing_and_makes_no_syscall() {
    let file = fixture(&pattern(KIB));
    for mode in plaintext_modes() {
        let mut tx = sender(mode, 4096).unwrap();
        let got = send_and_collect(tx.as_mut(), file.as_file(), 100, 0).unwrap();
        assert!(got.is_empty(), "{mode}");
        assert_eq!(tx.tally().syscalls.total(), 0, "{mode}");
    }
}

#[test]
fn tally_is_cumulative_until_reset() {
    let file = fixture(&pattern(100 * KIB));
    for mode in plaintext_modes() {
        let mut tx = sender(mode, 16 * KIB).unwrap();
        send_and_collect(tx.as_mut(), file.as_file(), 0, 50 * KIB).unwrap();
        send_and_collect(tx.as_mut(), file.as_file(), 50 * KIB, 50 * KIB).unwrap();
        assert_eq!(tx.tally().bytes_sent, 100 * KIB as u64, "{mode}");
        tx.reset_tally();
        assert_eq!(*tx.tally(), Tally::default(), "{mode}");
    }
}

#[test]
fn file_shorter_than_asked_is_an_error() {
    let file = fixture(&pattern(10 * KIB));
    for mode in plaintext_modes() {
        let mut tx = sender(mode, 4 * KIB).unwrap();
        let err = send_and_collect(tx.as_mut(), file.as_file(), 8 * KIB, 4 * KIB)
            .expect_err("the file has only 2 KiB after the offset");
        assert_eq!(err.mode, mode);
        assert_eq!(err.len, 4 * KIB as u64);
        assert!(
            matches!(err.cause, Cause::FileTooShort { .. }),
            "{mode}: {err}"
        );
        // The modes that map the file check its length before sending anything; the
        // others send what exists.
        let expected = if matches!(mode, Mode::Mmap | Mode::MsgZerocopy) {
            0
        } else {
            2 * KIB as u64
        };
        assert_eq!(err.sent, expected, "{mode}");
    }
}

#[test]
fn range_past_off_t_is_an_error() {
    let file = fixture(&pattern(KIB));
    for mode in plaintext_modes() {
        let mut tx = sender(mode, 4096).unwrap();
        let err = send_and_collect(tx.as_mut(), file.as_file(), u64::MAX as usize - 1, 10)
            .expect_err("offset beyond i64::MAX");
        assert!(matches!(err.cause, Cause::RangeTooLarge { .. }), "{mode}");
        assert_eq!(tx.tally().syscalls.total(), 0);
    }
}

#[test]
fn sink_vanishing_mid_transfer_is_an_error_naming_mode_and_progress() {
    let len = 8 * MIB;
    let file = fixture(&pattern(len));
    for mode in plaintext_modes() {
        let mut tx = sender(mode, 64 * KIB).unwrap();
        let err = send_to_vanishing_sink(tx.as_mut(), file.as_file(), len)
            .expect_err("the sink closed early");
        assert_eq!(err.mode, mode);
        assert!(
            err.peer_gone(),
            "{mode}: want EPIPE or ECONNRESET, got {err}"
        );
        assert!(err.sent < len as u64, "{mode}: {err}");
        let text = err.to_string();
        assert!(text.starts_with(mode.name()), "{text}");
        assert!(text.contains(&format!("of {len} bytes")), "{text}");
    }
}

#[test]
fn non_blocking_socket_waits_in_poll_on_eagain() {
    use nix::sys::socket::{setsockopt, sockopt};
    use std::net::Shutdown;
    use std::os::fd::AsFd;

    let len = 4 * MIB;
    let data = pattern(len);
    let file = fixture(&data);
    for mode in plaintext_modes() {
        // A reader that keeps up would empty the buffers as fast as they fill: it
        // starts late so that the send buffer is full at least once.
        let (stream, reader) = connect_slow_reader(std::time::Duration::from_millis(100));
        setsockopt(&stream, sockopt::SndBuf, &(128 * KIB)).unwrap();
        stream.set_nonblocking(true).unwrap();
        let mut tx = sender(mode, 64 * KIB).unwrap();
        tx.send(file.as_file(), 0, len as u64, stream.as_fd())
            .unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        assert!(reader.join().unwrap() == data, "{mode}: bytes differ");
        let tally = tx.tally();
        if mode == Mode::IoUring {
            // io_uring waits for the socket itself, non-blocking or not: the full
            // buffer never reaches us as EAGAIN.
            assert_eq!(tally.eagain, 0, "{mode}");
            continue;
        }
        assert!(
            tally.eagain > 0,
            "{mode}: a 128 KiB send buffer must fill up"
        );
        // One poll per EAGAIN, plus any poll interrupted by a signal.
        assert!(tally.syscalls.poll >= tally.eagain, "{mode}");
    }
}

/// Regression (found by tests/broker.rs): `zc serve` sets SO_SNDTIMEO so that a consumer
/// that stops reading cannot hold a connection thread, but the modes answered the
/// timeout's EAGAIN by waiting in poll without a limit.
#[test]
fn blocking_socket_with_a_send_timeout_fails_instead_of_waiting_forever() {
    use nix::sys::socket::{setsockopt, sockopt};
    use std::os::fd::AsFd;
    use std::time::{Duration, Instant};

    let len = 8 * MIB;
    let file = fixture(&pattern(len));
    for mode in plaintext_modes() {
        // The receiver reads nothing until long after the sender has given up; it is
        // left to finish on its own.
        let (stream, _reader) = connect_slow_reader(Duration::from_secs(5));
        setsockopt(&stream, sockopt::SndBuf, &(128 * KIB)).unwrap();
        stream
            .set_write_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut tx = sender(mode, 64 * KIB).unwrap();
        let started = Instant::now();
        let err = tx
            .send(file.as_file(), 0, len as u64, stream.as_fd())
            .expect_err("nobody reads: the send must time out");
        assert!(started.elapsed() < Duration::from_secs(3), "{mode}");
        assert_eq!(err.errno(), Some(Errno::EAGAIN), "{mode}: {err}");
        assert!(err.to_string().contains("send timeout"), "{err}");
    }
}

#[test]
fn error_display_names_syscall_and_errno() {
    let err = TransferError {
        mode: Mode::Sendfile,
        sent: 10,
        len: 20,
        cause: Cause::Os {
            syscall: Syscall::Sendfile,
            errno: Errno::EPIPE,
        },
    };
    let text = err.to_string();
    assert!(text.contains("sendfile: sent 10 of 20 bytes"), "{text}");
    assert!(text.contains("sendfile failed: EPIPE"), "{text}");
    assert_eq!(err.syscall(), Some(Syscall::Sendfile));
}
