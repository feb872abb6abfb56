//! `zc sink --listen ADDR`: the receiving end of `zc bench --connect`, in its own process.

use anyhow::{Context, Result};

use crate::bench::send::sink;
use crate::cli::bench::SinkArgs;
use crate::net;

pub fn run(args: SinkArgs, quiet: bool) -> Result<()> {
    // Chosen on the listener, so accepted connections are cubic from their first packet.
    let cc = net::resolve_cc_flag(&args.cc, args.listen.ip().is_loopback())?;
    if let (Some(warning), false) = (&cc.warning, quiet) {
        eprintln!("zc sink: {warning}");
    }
    let listener = net::listen_with_congestion(args.listen, &cc.name)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    if !quiet {
        eprintln!(
            "zc sink: listening on {} ({} sink{}); send with `zc bench --connect {}`",
            listener.local_addr()?,
            args.sink,
            if args.verify { ", verifying" } else { "" },
            listener.local_addr()?
        );
    }
    sink::serve(
        listener,
        args.sink,
        args.verify,
        args.chunk,
        args.connections,
        |e| {
            let secs = e.elapsed.as_secs_f64();
            let rate = e.bytes as f64 / (1u64 << 30) as f64 / secs.max(1e-9);
            let crc = e
                .checksum
                .map_or_else(String::new, |c| format!(", crc32c {c:#010x}"));
            match &e.error {
                None => eprintln!(
                    "{}: {} bytes in {secs:.3} s ({rate:.2} GiB/s){crc}",
                    e.peer, e.bytes
                ),
                Some(err) => eprintln!("{}: broke after {} bytes: {err}", e.peer, e.bytes),
            }
        },
    )
    .context("the sink stopped")
}
