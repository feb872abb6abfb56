//! `ktls`: kernel TLS. rustls does the handshake in user space, hands the session keys to
//! the kernel (`setsockopt(TCP_ULP, "tls")`, then `setsockopt(SOL_TLS, TLS_TX, keys)`), and
//! from then on the kernel frames and encrypts whatever the socket is given, so `sendfile`
//! works again under TLS.
//!
//! ```text
//!   disk ──DMA──► page cache ──CPU reads + AES──► ciphertext in new socket-buffer pages ──DMA──► NIC
//!                          └──────────── sendfile() ────────────┘
//!   (NIC TLS offload: the NIC encrypts, but the kernel first copies file pages to a bounce
//!    buffer unless the socket sets TLS_TX_ZEROCOPY_RO)
//! ```
//!
//! What it saves, against `tls`: both copies through user space and the two syscalls per
//! chunk become one. What it does not save: software kTLS still reads every byte and writes
//! ciphertext into fresh pages (net/tls/tls_sw.c), so the CPU pass of the cipher remains;
//! the page cache is never sent by reference as in plain sendfile.
//!
//! The kernel must have the `tls` upper-layer protocol: built with `CONFIG_TLS` and the
//! module loaded (`modprobe tls`). Without it `setsockopt(TCP_ULP, "tls")` answers
//! `ENOENT`, and the mode reports itself unsupported with that reason ([`supported`]). On
//! the machines zc is developed and tested on that is the case, so zc stops there: handing
//! rustls's keys to the kernel is not implemented, and the mode says so instead of
//! pretending.

use std::io;
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

/// Whether kernel TLS can run here; the reason and the fix if not.
pub fn supported() -> Result<(), String> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| format!("cannot create a TCP socket to probe the tls ULP: {e}"))?;
    // The kernel looks the ULP up by name before it checks the socket's state: ENOENT
    // means no `tls` ULP at all, ENOTCONN means it exists (it wants a connected socket).
    let name = b"tls";
    // SAFETY: a valid fd and a pointer to `name.len()` readable bytes.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_TCP,
            libc::TCP_ULP,
            name.as_ptr().cast(),
            name.len() as libc::socklen_t,
        )
    };
    match Errno::result(rc) {
        Err(Errno::ENOENT) => Err(
            "this kernel has no `tls` TCP ULP: setsockopt(TCP_ULP, \"tls\") answered ENOENT. \
             Load it with `modprobe tls`, or use a kernel built with CONFIG_TLS"
                .to_string(),
        ),
        Ok(_) | Err(Errno::ENOTCONN) => Err(
            "the kernel has the `tls` ULP, but zc does not hand rustls's session keys to it \
             (TLS_TX); only the probe is implemented"
                .to_string(),
        ),
        Err(e) => Err(format!("setsockopt(TCP_ULP, \"tls\") failed: {e}")),
    }
}

/// The sender for `ktls`: never built, for the reason [`supported`] gives.
pub fn sender_unavailable() -> io::Error {
    let why = supported().err().unwrap_or_default();
    io::Error::new(io::ErrorKind::Unsupported, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On this kernel the ULP is absent or the key hand-over is missing: either way the
    /// reason names the problem and the fix.
    #[test]
    fn unsupported_names_the_reason_and_the_fix() {
        let why = supported().expect_err("zc does not run kTLS");
        assert!(
            why.contains("ENOENT") && why.contains("modprobe tls") || why.contains("TLS_TX"),
            "{why}"
        );
    }
}
