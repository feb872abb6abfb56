//! What the textbook picture leaves out, per mode: the caveats a classroom should hear
//! next to each diagram (SIGBUS under mmap, a blocking sendfile on a cold cache, what TLS
//! does to zero-copy, ...). `zc explain` prints them; each mode's file points here rather
//! than saying them again, so they are written once.

use super::{Mode, SENDFILE_MAX};

impl Mode {
    /// What the textbook picture leaves out for this mode, in sentences a classroom reads
    /// (`zc explain` prints them). The one place these caveats are written.
    pub fn caveats(self) -> Vec<String> {
        match self {
            Mode::ReadWrite => vec![
            "a TLS server without kernel TLS pays at least this: it must see the bytes to \
             encrypt them, so they come up into user space and go back down, and encrypting \
             writes them once more (Kafka under TLS reads into a buffer and encrypts it)."
                .into(),
            "short reads and writes are normal: the loop continues from where the call stopped."
                .into(),
        ],
            Mode::Mmap => vec![
            "SIGBUS: if another process truncates the file while it is mapped, touching a page \
             past the new end kills the program with SIGBUS. zc never reads the mapping itself \
             (only the kernel does, inside write, where the fault becomes EFAULT). Kafka maps \
             only its fixed-size index files; it writes the .log through a FileChannel and \
             serves it with sendfile."
                .into(),
            "page faults: the mapping starts empty and each first touch faults the page in; the \
             minor-faults counter shows them and the model does not count them."
                .into(),
            "unmapping flushes TLB entries, on every CPU that ran the process: a cost the \
             copy counts do not show."
                .into(),
        ],
            Mode::Sendfile => vec![
                "TLS defeats zero-copy: user-space TLS must encrypt every byte in user memory, so \
             servers fall back to read-write. Kernel TLS (kTLS) keeps the sendfile call, not the \
             zero copy: the kernel reads the pages and writes the ciphertext into new buffers, \
             unless the NIC encrypts (TLS offload)."
                    .into(),
                format!(
                    "one call moves at most {SENDFILE_MAX:#x} bytes (2 GiB - 4 KiB), whatever is \
                 asked; zc caps the chunk there."
                ),
                "on a page-cache miss the disk read happens inside the call: the sending thread \
             blocks (Kafka's network threads hit this, KAFKA-7504)."
                    .into(),
            ],
            Mode::Splice => vec![
                "the pipe's capacity bounds each round; zc sets it to the chunk with \
             F_SETPIPE_SZ, and an unprivileged process may not exceed \
             /proc/sys/fs/pipe-max-size (1 MiB by default)."
                    .into(),
                "same copies as sendfile, twice the syscalls: sendfile is splice through an \
             internal pipe inside one call."
                    .into(),
            ],
            Mode::MsgZerocopy => vec![
            "on loopback every completion is flagged COPIED: a pinned user page may not sit in \
             a local receiver's queue, so delivery copies it (skb_orphan_frags_rx -> \
             skb_copy_ubufs). Over veth between namespaces it is the same: the packet still \
             ends in a socket on this host. Only a real NIC sends the pinned pages."
                .into(),
            "the pages stay pinned until the peer acknowledges them: the caller may not \
             change them until the completion arrives (an append-only log never does)."
                .into(),
            "the kernel advises MSG_ZEROCOPY only for sends of about 10 KB and more: pinning \
             and completions cost more than copying a small buffer."
                .into(),
        ],
            Mode::IoUring => vec![
            "the same copies as read-write: the only saving is mode switches, and a mode switch \
             costs far less than copying 64 KiB, so CPU per GiB barely moves at large chunks."
                .into(),
            "a send that must wait (socket full) waits inside io_uring_enter, resumed by the \
             kernel in this thread: no extra syscall, no worker thread."
                .into(),
            "kernel.io_uring_disabled (1: root or kernel.io_uring_group only; 2: off) and \
             container seccomp profiles often forbid io_uring: the mode is then n/a."
                .into(),
            io_uring_probe(),
        ],
            Mode::Tls => vec![
                "this is Kafka under SSL: SslTransportLayer encrypts in the JVM, so \
             FileRecords.writeTo cannot use transferTo (sendfile) and reads into a buffer."
                    .into(),
                "the receiver needs zc's throwaway certificate: a fresh self-signed key per \
             process, trusted by zc's own TLS sink and nothing else."
                    .into(),
            ],
            Mode::Ktls => vec![
                "software kTLS still reads and encrypts every byte in the kernel; it saves the \
             trips through user space, not the pass over the data."
                    .into(),
                "NIC TLS offload encrypts on the card, but the kernel copies file pages to a \
             bounce buffer first unless the socket sets TLS_TX_ZEROCOPY_RO (the file must \
             not change while in flight)."
                    .into(),
            ],
        }
    }
}

/// What this kernel's io_uring says it supports (its probe, asked now): a fact of this
/// machine, not of the model.
fn io_uring_probe() -> String {
    match super::io_uring::supported_opcodes() {
        Ok(ops) => {
            let list: Vec<String> = ops
                .iter()
                .map(|(name, ok)| format!("{name} {}", if *ok { "yes" } else { "no" }))
                .collect();
            format!("this kernel's io_uring probe: {}.", list.join(", "))
        }
        Err(e) => format!("io_uring is n/a on this kernel: {e}."),
    }
}
