//! `zc bench --export profile.svg`: the sampled call chains of every mode as one flame
//! graph, drawn by inferno (the Rust port of Brendan Gregg's FlameGraph).
//!
//! How to read it: each bar is a kernel function, the bars above it the functions it
//! called, and a bar's width the CPU time spent in it and below (one sample is
//! [`PERIOD_NS`] of the thread's CPU). The bottom row holds one bar per mode and chunk
//! size, in report order; above it `sender` (zc's sending thread) and `receiver` (the
//! in-process sink thread). Every mode moved the same bytes, so widths compare CPU per
//! byte across modes. The kernel's copy routines ([`COPY_ROUTINES`]) are blue, so a
//! student sees at a glance where the copy went: read-write's sender is mostly blue,
//! sendfile's sender has almost none, and its receiver's is where the bytes are copied.
//! `[user]` is time in user mode (user call chains are not sampled).
//!
//! The graph is interactive in a browser (click a bar to zoom, Ctrl-F to search); the call
//! chains are kept in memory only, so it is drawn from a run, not from a JSON read back.

use anyhow::{Context as _, bail};
use inferno::flamegraph::color::{BasicPalette, Color, PaletteMap};
use inferno::flamegraph::{self, Options, Palette};

use super::chart::provenance;
use crate::bench::send::results::{BenchReport, chunks};
use crate::measure::{COPY_ROUTINES, PERIOD_NS, Reading, ThreadProfile};
use crate::units::format_size;

/// The copy routines' colour: blue among the hot palette's reds and yellows.
const COPY: Color = Color {
    r: 70,
    g: 130,
    b: 230,
};
/// The label bars (mode, sender, receiver): grey, they are no function.
const LABEL: Color = Color {
    r: 190,
    g: 190,
    b: 190,
};

/// The flame graph as the bytes of an SVG file.
pub fn render(report: &BenchReport) -> anyhow::Result<Vec<u8>> {
    let (lines, labels) = folded(report)?;
    let mut palette = PaletteMap::default();
    for f in COPY_ROUTINES {
        palette.insert(f, COPY);
    }
    for l in &labels {
        palette.insert(l, LABEL);
    }
    let [machine, conditions] = provenance(report);
    let mut opts = Options::default();
    opts.title = "zc bench: where the sender's and the receiver's CPU went (sampled)".into();
    opts.subtitle = Some(format!(
        "width = CPU time (1 sample = {} µs of the thread's CPU); blue = the kernel copying \
         bytes; every mode moved the same bytes. {machine}; {conditions}",
        PERIOD_NS / 1000
    ));
    opts.colors = Palette::Basic(BasicPalette::Hot);
    opts.palette_map = Some(&mut palette);
    opts.count_name = "samples".into();
    opts.name_type = "".into();
    // Report order (read-write, mmap, sendfile, splice; sender before receiver), not
    // alphabetical: inferno sorts the lines unless it draws a "flame chart", whose input
    // order it keeps (reversed). Our lines are grouped, every thread's chains sorted, so
    // equal prefixes are adjacent and merge exactly as in a sorted flame graph.
    opts.flame_chart = true;
    opts.deterministic = true;
    let mut svg = Vec::new();
    flamegraph::from_lines(&mut opts, lines.iter().rev().map(String::as_str), &mut svg)
        .context("cannot draw the flame graph")?;
    Ok(svg)
}

/// One folded line per call chain (`mode;sender;frame;…;leaf count`), rows in report
/// order, and the label bars' names.
fn folded(report: &BenchReport) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let several_chunks = chunks(&report.rows).len() > 1;
    let (mut lines, mut labels, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    for row in &report.rows {
        let root = if several_chunks {
            format!("{} {}", row.mode, format_size(row.chunk as u64))
        } else {
            row.mode.to_string()
        };
        for (side, profile) in [
            ("sender", &row.profile.sender),
            ("receiver", &row.profile.sink),
        ] {
            let label = format!("{root} {side}");
            match profile {
                Reading::Value(ThreadProfile { stacks, .. }) if !stacks.is_empty() => {
                    lines.extend(
                        stacks
                            .iter()
                            .map(|(stack, n)| format!("{root};{label};{stack} {n}")),
                    );
                    labels.push(label);
                }
                Reading::Value(_) => missing.push(format!("{label}: no call chains kept")),
                Reading::Unavailable(why) => missing.push(format!("{label}: {why}")),
            }
        }
        labels.push(root);
    }
    if lines.is_empty() {
        bail!(
            "no call chain was sampled, so there is no flame graph to draw ({}); run as root \
             without --no-profile, and export the flame graph from `zc bench` itself (a JSON \
             file keeps the top functions, not the call chains)",
            missing.join("; ")
        );
    }
    Ok((lines, labels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::send::results::RowProfile;
    use crate::bench::send::sample::sample_report;
    use std::collections::BTreeMap;

    fn profile(stacks: &[(&str, u64)]) -> Reading<ThreadProfile> {
        Reading::Value(ThreadProfile {
            samples: stacks.iter().map(|s| s.1).sum(),
            period_ns: PERIOD_NS,
            stacks: stacks
                .iter()
                .map(|&(s, n)| (s.to_owned(), n))
                .collect::<BTreeMap<_, _>>(),
            ..ThreadProfile::default()
        })
    }

    #[test]
    fn each_mode_has_a_sender_and_a_receiver_tower_with_blue_copies() {
        let mut report = sample_report();
        for row in &mut report.rows {
            row.profile = RowProfile {
                sender: profile(&[
                    ("entry_SYSCALL_64;ksys_read;_copy_to_iter", 30),
                    ("[user]", 2),
                ]),
                sink: profile(&[("entry_SYSCALL_64;tcp_recvmsg;_copy_to_iter", 10)]),
            };
        }
        let (lines, _) = folded(&report).unwrap();
        let first = report.rows[0].mode.to_string();
        assert_eq!(
            lines[0],
            format!("{first};{first} sender;[user] 2"),
            "{lines:?}"
        );
        let svg = String::from_utf8(render(&report).unwrap()).unwrap();
        let xml = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        let doc = roxmltree::Document::parse_with_options(&svg, xml).expect("valid XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(svg.contains(&format!("{first} receiver")), "{svg}");
        assert!(svg.contains("_copy_to_iter"));
        assert!(svg.contains("rgb(70,130,230)"), "copy routines drawn blue");
    }

    #[test]
    fn no_call_chains_is_an_error_that_says_why() {
        let err = render(&sample_report()).unwrap_err().to_string();
        assert!(err.contains("no call chain was sampled"), "{err}");
        assert!(err.contains("--no-profile"), "{err}");
    }
}
