//! The consumer's lane of `zc explain`: what the receiving end does with the bytes every
//! sending mode delivers. "Zero-copy" is a property of the sender; a real consumer still
//! reads every byte out of its socket, and on loopback that read is where the copy the
//! sender saved shows up (`zc bench --sink read` measures it in the receiver's column).
//!
//! Each sentence here was checked against Linux's source: `tcp_recvmsg_locked` copies with
//! `skb_copy_datagram_msg`; `tcp_splice_read` hands page references to the pipe;
//! `tcp_zerocopy_receive` maps only fragments `can_map_frag` accepts (one whole page at
//! offset 0, not part of a compound page, with no `page->mapping`, so never a page-cache
//! page) and copies the rest; io_uring's zero-copy receive (`io_uring/zcrx.c`) binds a
//! hardware receive queue of a NIC (`if_idx`, `if_rxq`, `CAP_NET_ADMIN`, a device with a
//! parent), and copies any fragment that is not from its area (`io_zcrx_copy_chunk`).

use super::paint::{Paint, Style};
use crate::text::wrap;

/// One way to consume a TCP stream: the call, what moves the bytes, and what it costs.
struct Way {
    call: &'static str,
    mover: Style,
    symbol: &'static str,
    what: &'static str,
}

const WAYS: [Way; 4] = [
    Way {
        call: "recv(sock, buf, n)",
        mover: Style::Cpu,
        symbol: "CPU ",
        what: "socket buffer -> user buffer: one CPU copy of every byte \
               (tcp_recvmsg -> skb_copy_datagram_iter -> _copy_to_iter). What every \
               Kafka client and `zc bench --sink read` do.",
    },
    Way {
        call: "splice(sock -> pipe)",
        mover: Style::Refs,
        symbol: "refs",
        what: "socket buffer -> pipe: no copy, the pipe gets references to the same pages \
               (tcp_splice_read). Only for bytes the program does not look at: a proxy \
               passing them to a file or another socket, or `zc bench --sink splice`, \
               which splices them on to /dev/null.",
    },
    Way {
        call: "TCP_ZEROCOPY_RECEIVE",
        mover: Style::Refs,
        symbol: "refs",
        what: "getsockopt on an mmap()ed socket: the kernel maps received pages into the \
               consumer's address space instead of copying, but only fragments that are \
               one whole page at offset 0 and belong to no file or compound page; the rest \
               is copied. That fits a NIC that splits headers from payload into whole \
               pages. On loopback the pages are the sender's (page-cache pages after \
               sendfile or splice, socket page fragments after a write), so nearly every \
               byte falls back to a copy.",
    },
    Way {
        call: "io_uring zero-copy receive",
        mover: Style::Dma,
        symbol: "DMA ",
        what: "the consumer registers its memory as the buffers of one hardware receive \
               queue of a NIC (needs CAP_NET_ADMIN, header/data split and a flow steered to \
               that queue); the NIC writes the payload there by DMA and the completion \
               says where. Loopback has no such queue, so it cannot be set up there; a \
               fragment from anywhere else is copied into the area.",
    },
];

/// The consumer's lane, as text at `width` columns.
pub fn section(width: usize, p: &Paint) -> String {
    let w = Some(width);
    let title = wrap(
        "THE CONSUMER: where the last copy of \"zero-copy\" happens",
        w,
        "",
        "",
    );
    let mut out = p.paint(title.trim_end(), Style::Heading);
    out.push('\n');
    out.push_str(&wrap(
        "Zero-copy is the sender's saving. A consumer still gets every byte out of its \
         socket, one of these ways:",
        w,
        "",
        "",
    ));
    for way in &WAYS {
        let lead = format!("  {} ", p.paint(way.symbol, way.mover));
        let body = wrap(
            &format!("{}: {}", way.call, way.what),
            w.map(|w| w.saturating_sub(7)),
            "",
            "",
        );
        for (i, line) in body.lines().enumerate() {
            out.push_str(if i == 0 { &lead } else { "       " });
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(&wrap(
        "Copies are not equal: the first time the CPU reads page-cache bytes from memory is \
         the expensive one, wherever it happens. After read-write or mmap the sender already \
         did it; after sendfile or splice the bytes reach the consumer untouched and its \
         recv() copy pays for it. Measure it: `zc bench --sink read` shows the sender's and \
         the receiver's kernel copy time side by side (sampled), and `--export profile.svg` \
         draws both.",
        w,
        "",
        "",
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_every_way_to_consume_and_how_to_measure_it() {
        let text = section(80, &Paint::plain());
        for width in [40, 80] {
            let narrow = section(width, &Paint::plain());
            assert!(
                narrow.lines().all(|l| l.chars().count() <= width),
                "{narrow}"
            );
        }
        for call in ["recv(", "splice(", "TCP_ZEROCOPY_RECEIVE", "io_uring"] {
            assert!(text.contains(call), "{call} missing:\n{text}");
        }
        assert!(text.contains("--sink read"), "{text}");
    }
}
