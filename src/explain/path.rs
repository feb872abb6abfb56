//! The path of one chunk, per mode, as data: which syscalls are made, and inside each one
//! which step moves the bytes from where to where, and who does the moving (a DMA engine,
//! the CPU, or nobody: page references change hands).
//!
//! The diagram, the numbered step list and the totals are all drawn from this one list, and
//! a test checks the totals against [`Mode::model`], so the picture a student sees cannot
//! drift from the numbers the reports print as "model".

use crate::transfer::Mode;

/// Where bytes can be. The first two columns of the diagram are user space, the rest are
/// the kernel and the devices it drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Disk,
    PageCache,
    /// A buffer the program allocated (`read-write`).
    UserBuffer,
    /// The file's page-cache pages, mapped into the program's address space (`mmap`).
    Mapping,
    /// A pipe: a ring of page references (`splice`).
    Pipe,
    /// TLS records: the ciphertext rustls writes, in the program's memory (`tls`).
    TlsRecords,
    SocketBuffer,
    Nic,
}

impl Place {
    pub fn name(self) -> &'static str {
        match self {
            Place::Disk => "disk",
            Place::PageCache => "page cache",
            Place::UserBuffer => "user buffer",
            Place::Mapping => "our mapping",
            Place::Pipe => "pipe",
            Place::TlsRecords => "TLS records",
            Place::SocketBuffer => "socket buffer",
            Place::Nic => "NIC",
        }
    }

    /// Whether the program can touch these bytes with ordinary loads and stores.
    pub fn user_space(self) -> bool {
        matches!(self, Place::UserBuffer | Place::Mapping | Place::TlsRecords)
    }
}

/// Who moves the bytes in a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mover {
    /// A device copies to or from memory by itself (direct memory access); the CPU only
    /// sets it up.
    Dma,
    /// The CPU copies every byte (`memcpy` inside the kernel).
    Cpu,
    /// No byte moves: references to the same page-cache pages are handed on.
    PageRefs,
}

impl Mover {
    pub fn label(self) -> &'static str {
        match self {
            Mover::Dma => "DMA",
            Mover::Cpu => "CPU",
            Mover::PageRefs => "refs",
        }
    }
}

/// One movement of the chunk's bytes.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub mover: Mover,
    pub from: Place,
    pub to: Place,
    /// What happens, in a few words, for the numbered list under the diagram.
    pub what: &'static str,
    /// A CPU copy that scatter-gather DMA removes (the socket takes page references and the
    /// NIC gathers from the page cache).
    pub sg_removes: bool,
}

impl Step {
    /// Whether the step copies across the user/kernel boundary. Page references handed
    /// from user space to the kernel cross without a copy: MSG_ZEROCOPY pinning our mapping
    /// is a copy only without scatter-gather, and Linux TCP has it (the counts assume it, as
    /// zc's own tally of bytes through user space does).
    pub fn crosses(&self) -> bool {
        self.mover != Mover::PageRefs
            && !self.sg_removes
            && self.from.user_space() != self.to.user_space()
    }
}

/// How often a call is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    Chunk,
    /// Once per segment sent (the textbook counts these as if the file were one chunk).
    Segment,
    /// Once for many chunks (io_uring's batch, MSG_ZEROCOPY's completions).
    Batch,
}

impl Every {
    /// The heading the diagram puts over calls made this often.
    pub fn heading(self) -> &'static str {
        match self {
            Every::Chunk => "for every chunk:",
            Every::Segment => "once per segment:",
            Every::Batch => "once per batch of chunks:",
        }
    }
}

/// A line in the life of a chunk.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// The program enters the kernel with this call (one mode switch), the steps inside run,
    /// and it returns (another mode switch).
    Call {
        call: &'static str,
        /// How often the call is made: per chunk, or less often and so outside the
        /// per-chunk model.
        every: Every,
        steps: &'static [Step],
        /// Something the kernel does in the call that moves no bytes.
        note: Option<&'static str>,
    },
    /// Work the program does in user space, with no syscall and so no mode switch
    /// (rustls encrypting a chunk).
    Work {
        what: &'static str,
        steps: &'static [Step],
    },
}

impl Event {
    /// The steps of the event, whether in a call or in user space.
    pub fn steps(&self) -> &'static [Step] {
        match self {
            Event::Call { steps, .. } | Event::Work { steps, .. } => steps,
        }
    }
}

/// The life of one chunk in `mode`: the calls, in order, with their steps.
pub fn events(mode: Mode) -> &'static [Event] {
    match mode {
        Mode::ReadWrite => &READ_WRITE,
        Mode::Mmap => &MMAP,
        Mode::Sendfile => &SENDFILE,
        Mode::Splice => &SPLICE,
        Mode::MsgZerocopy => &MSG_ZEROCOPY,
        Mode::IoUring => &IO_URING,
        Mode::Tls => &TLS,
        Mode::Ktls => &KTLS,
    }
}

const DISK_TO_CACHE: Step = Step {
    mover: Mover::Dma,
    from: Place::Disk,
    to: Place::PageCache,
    what: "the disk controller writes the file's blocks into page-cache pages (only on a \
           cache miss: with a warm cache this happened long before)",
    sg_removes: false,
};

const SOCKET_TO_NIC: Step = Step {
    mover: Mover::Dma,
    from: Place::SocketBuffer,
    to: Place::Nic,
    what: "the NIC reads the packets out of memory by itself, asynchronously, often after \
           the call has returned (on loopback there is no NIC: the kernel hands them to the \
           receiving socket)",
    sg_removes: false,
};

/// The copy into our buffer that read-write and TLS both start with.
const PREAD: Event = Event::Call {
    call: "pread(file, buf, chunk)",
    every: Every::Chunk,
    steps: &[
        DISK_TO_CACHE,
        Step {
            mover: Mover::Cpu,
            from: Place::PageCache,
            to: Place::UserBuffer,
            what: "the kernel copies the chunk from the page cache into our buffer",
            sg_removes: false,
        },
    ],
    note: None,
};

const READ_WRITE: [Event; 2] = [
    PREAD,
    Event::Call {
        call: "write(sock, buf, chunk)",
        every: Every::Chunk,
        steps: &[
            Step {
                mover: Mover::Cpu,
                from: Place::UserBuffer,
                to: Place::SocketBuffer,
                what: "the kernel copies our buffer into the socket buffer",
                sg_removes: false,
            },
            SOCKET_TO_NIC,
        ],
        note: None,
    },
];

const MMAP: [Event; 2] = [
    Event::Call {
        call: "mmap(file)",
        every: Every::Segment,
        steps: &[],
        note: Some("maps the page cache: no copy"),
    },
    Event::Call {
        call: "write(sock, map+off, chunk)",
        every: Every::Chunk,
        steps: &[
            Step {
                what: "on the first touch of each page inside write, a page fault; on a cache \
                       miss the disk controller fills the page",
                ..DISK_TO_CACHE
            },
            Step {
                mover: Mover::Cpu,
                from: Place::Mapping,
                to: Place::SocketBuffer,
                what: "the kernel copies from our mapping (the page cache itself) into the \
                       socket buffer",
                sg_removes: false,
            },
            SOCKET_TO_NIC,
        ],
        note: None,
    },
];

const SENDFILE: [Event; 1] = [Event::Call {
    call: "sendfile(sock, file, chunk)",
    every: Every::Chunk,
    steps: &[
        DISK_TO_CACHE,
        Step {
            mover: Mover::Cpu,
            from: Place::PageCache,
            to: Place::SocketBuffer,
            what: "the kernel copies page cache to socket buffer; with scatter-gather DMA \
                   (Linux TCP on any SG-capable device, loopback included) it attaches \
                   references to the pages instead and copies nothing",
            sg_removes: true,
        },
        SOCKET_TO_NIC,
    ],
    note: None,
}];

const SPLICE: [Event; 2] = [
    Event::Call {
        call: "splice(file, pipe, chunk)",
        every: Every::Chunk,
        steps: &[
            DISK_TO_CACHE,
            Step {
                mover: Mover::PageRefs,
                from: Place::PageCache,
                to: Place::Pipe,
                what: "references to the page-cache pages go into the pipe; no byte is copied",
                sg_removes: false,
            },
        ],
        note: None,
    },
    Event::Call {
        call: "splice(pipe, sock, chunk)",
        every: Every::Chunk,
        steps: &[
            Step {
                mover: Mover::Cpu,
                from: Place::Pipe,
                to: Place::SocketBuffer,
                what: "the kernel copies the pipe's pages to the socket buffer; with \
                       scatter-gather DMA (Linux TCP on any SG-capable device, loopback \
                       included) it attaches the page references instead and copies nothing",
                sg_removes: true,
            },
            SOCKET_TO_NIC,
        ],
        note: None,
    },
];

const MSG_ZEROCOPY: [Event; 3] = [
    Event::Call {
        call: "mmap, setsockopt(SO_ZEROCOPY)",
        every: Every::Segment,
        steps: &[],
        note: Some("maps the page cache: no copy"),
    },
    Event::Call {
        call: "send(sock, map, MSG_ZEROCOPY)",
        every: Every::Chunk,
        steps: &[
            DISK_TO_CACHE,
            Step {
                mover: Mover::Cpu,
                from: Place::Mapping,
                to: Place::SocketBuffer,
                what: "the kernel pins our mapped pages (the page cache itself) and, with \
                       scatter-gather DMA, attaches references to them to the packets instead \
                       of copying; the pages stay pinned until the kernel is done with them \
                       (without scatter-gather it copies them, as for sendfile)",
                sg_removes: true,
            },
            SOCKET_TO_NIC,
        ],
        note: Some("loopback: delivery copies (COPIED)"),
    },
    Event::Call {
        call: "recvmsg(MSG_ERRQUEUE)",
        every: Every::Batch,
        steps: &[],
        note: Some("completions of many sends at once"),
    },
];

const IO_URING: [Event; 1] = [Event::Call {
    call: "io_uring_enter(2N requests)",
    every: Every::Batch,
    steps: &[
        DISK_TO_CACHE,
        Step {
            mover: Mover::Cpu,
            from: Place::PageCache,
            to: Place::UserBuffer,
            what: "READ_FIXED: the kernel copies the chunk into our registered buffer",
            sg_removes: false,
        },
        Step {
            mover: Mover::Cpu,
            from: Place::UserBuffer,
            to: Place::SocketBuffer,
            what: "SEND: the kernel copies our buffer into the socket buffer; then the next \
                   READ_FIXED of the linked chain starts, N chunks in all",
            sg_removes: false,
        },
        SOCKET_TO_NIC,
    ],
    note: Some("one call for N chunks (N = 32)"),
}];

const TLS: [Event; 3] = [
    PREAD,
    Event::Work {
        what: "rustls encrypts (no syscall)",
        steps: &[Step {
            mover: Mover::Cpu,
            from: Place::UserBuffer,
            to: Place::TlsRecords,
            what: "rustls reads every byte, encrypts it with AES-GCM and writes the ciphertext \
                   into TLS records of at most 16 KiB (22 bytes of framing and tag each)",
            sg_removes: false,
        }],
    },
    Event::Call {
        call: "writev(sock, records)",
        every: Every::Chunk,
        steps: &[
            Step {
                mover: Mover::Cpu,
                from: Place::TlsRecords,
                to: Place::SocketBuffer,
                what: "the kernel copies the records into the socket buffer",
                sg_removes: false,
            },
            SOCKET_TO_NIC,
        ],
        note: None,
    },
];

const KTLS: [Event; 2] = [
    Event::Call {
        call: "handshake, TCP_ULP, TLS_TX",
        every: Every::Segment,
        steps: &[],
        note: Some("rustls hands the keys to the kernel"),
    },
    Event::Call {
        call: "sendfile(sock, file, chunk)",
        every: Every::Chunk,
        steps: &[
            DISK_TO_CACHE,
            Step {
                mover: Mover::Cpu,
                from: Place::PageCache,
                to: Place::SocketBuffer,
                what: "the kernel reads the page-cache bytes, encrypts them and writes the \
                       ciphertext into new socket-buffer pages: no user-space copy, but \
                       still one pass over every byte. A NIC with TLS offload encrypts \
                       instead, after the kernel copies the pages to a bounce buffer unless \
                       TLS_TX_ZEROCOPY_RO is set",
                sg_removes: false,
            },
            SOCKET_TO_NIC,
        ],
        note: None,
    },
];

/// Totals drawn from the events: what the diagram shows, counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    pub dma_copies: u32,
    pub cpu_copies: u32,
    /// CPU copies that scatter-gather DMA removes.
    pub sg_removable: u32,
    /// Copies into or out of user space.
    pub user_crossings: u32,
    /// Calls made for every chunk.
    pub calls_per_chunk: u32,
    /// Calls made once per segment (the textbook counts them as if the file were one chunk).
    pub calls_once: u32,
}

impl Counted {
    pub fn of(mode: Mode) -> Counted {
        let mut c = Counted {
            dma_copies: 0,
            cpu_copies: 0,
            sg_removable: 0,
            user_crossings: 0,
            calls_per_chunk: 0,
            calls_once: 0,
        };
        for event in events(mode) {
            match event {
                Event::Call {
                    every: Every::Segment,
                    ..
                } => c.calls_once += 1,
                Event::Call {
                    every: Every::Chunk,
                    ..
                } => c.calls_per_chunk += 1,
                // Amortised over many chunks: outside the whole-number model.
                Event::Call {
                    every: Every::Batch,
                    ..
                }
                | Event::Work { .. } => {}
            }
            for step in event.steps() {
                match step.mover {
                    Mover::Dma => c.dma_copies += 1,
                    Mover::Cpu => c.cpu_copies += 1,
                    Mover::PageRefs => {}
                }
                c.sg_removable += u32::from(step.sg_removes);
                c.user_crossings += u32::from(step.crosses());
            }
        }
        c
    }

    /// The textbook's whole-file count of mode switches: 2 per call, the once-per-file
    /// calls included (mmap: 2 per chunk plus the mmap call's 2 = 4).
    pub fn textbook_switches(&self) -> u32 {
        2 * (self.calls_per_chunk + self.calls_once)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The picture and the model (src/transfer) must tell the same story.
    #[test]
    fn diagram_counts_agree_with_the_transfer_model() {
        for mode in Mode::ALL {
            let m = mode.model();
            let c = Counted::of(mode);
            assert_eq!(c.dma_copies, m.dma_copies, "{mode}: DMA copies");
            assert_eq!(c.cpu_copies, m.cpu_copies, "{mode}: CPU copies");
            assert_eq!(c.calls_per_chunk, m.syscalls_per_chunk, "{mode}: syscalls");
            assert_eq!(2 * c.calls_per_chunk, m.mode_switches, "{mode}: switches");
            assert_eq!(
                c.user_crossings, m.user_copies_per_byte,
                "{mode}: crossings"
            );
        }
    }

    /// The figures the articles print: read-write 4 copies / 4 switches, mmap 3 / 4,
    /// sendfile 3 / 2 (2 copies with scatter-gather), splice like sendfile / 4 switches.
    /// Both copy columns are on one basis: without, then with scatter-gather DMA.
    #[test]
    fn textbook_totals_are_the_articles_figures() {
        let totals = |mode| {
            let c = Counted::of(mode);
            (
                c.dma_copies + c.cpu_copies,
                c.dma_copies + c.cpu_copies - c.sg_removable,
                c.textbook_switches(),
            )
        };
        assert_eq!(totals(Mode::ReadWrite), (4, 4, 4));
        assert_eq!(totals(Mode::Mmap), (3, 3, 4));
        assert_eq!(totals(Mode::Sendfile), (3, 2, 2));
        assert_eq!(totals(Mode::Splice), (3, 2, 4));
        // MSG_ZEROCOPY falls back to copying without scatter-gather (tcp_sendmsg_locked
        // only takes the zero-copy path on an SG-capable route), so it is counted like
        // sendfile; the articles count its per-segment mmap as a call, like mmap's.
        assert_eq!(totals(Mode::MsgZerocopy), (3, 2, 4));
    }
}
