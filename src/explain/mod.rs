//! `zc explain`: the classroom view. For each transfer mode, where the bytes of one chunk
//! go (disk, page cache, user buffer, socket buffer, NIC), which copies a device does by DMA
//! and which the CPU does, where the program crosses into the kernel and back, the
//! textbook's totals, and the honest caveats; then, given a `zc bench --export` JSON file,
//! what was measured next to what the model predicts.
//!
//! - [`path`]: the path of a chunk per mode, as data (checked against [`Mode::model`]);
//! - [`consumer`]: the receiving end, where the copy the sender saved shows up;
//! - [`diagram`]: that data drawn for a terminal;
//! - [`results`]: reading a results file back, refusing bad ones;
//! - [`paint`]: colour only on a terminal, never with `NO_COLOR`.
//!
//! [`render`] builds the whole text in memory: the command prints it in one go, so a bad
//! results file can never leave half an explanation on the screen.

pub mod consumer;
pub mod diagram;
pub mod paint;
pub mod path;
pub mod results;

use clap::ValueEnum;

use crate::bench::send::results::{keys, modes};
use crate::measure::Reading;
use crate::report::table::stat_inline;
use crate::text::{count, wrap};
use crate::transfer::Mode;
use paint::{Paint, Style};
use path::{Counted, events};
use results::Results;

/// Where the articles' other claims about Kafka are measured, beyond one chunk of one
/// transfer.
const BEYOND_ONE_TRANSFER: &str = "Kafka's other tricks, measured: many consumers reading \
     one page cache (zc bench --consumers 10 --cache cold, docs/fan-out.md); the write path \
     (zc bench write, docs/write-path.md); a broker that reads what it sends, RocketMQ's \
     trade-off (zc serve --transfer mmap --inspect, docs/mmap-tradeoff.md); Apache Kafka \
     itself under the same loads (scripts/vs-kafka, docs/vs-kafka.md).";

/// What to explain, and how to draw it.
pub struct Request<'a> {
    pub modes: Vec<Mode>,
    /// Measured figures to show next to the model.
    pub results: Option<&'a Results>,
    /// Terminal columns; prose wraps here and the diagram needs
    /// [`diagram::DIAGRAM_WIDTH`] or falls back to a list.
    pub width: usize,
    pub paint: Paint,
}

/// The whole explanation, ready to print.
pub fn render(req: &Request) -> String {
    let w = Some(req.width);
    let p = &req.paint;
    let mut out = String::new();
    let title = wrap("zc explain: where the bytes of one chunk go", w, "", "");
    out.push_str(&p.paint(title.trim_end(), Style::Heading));
    out.push('\n');
    out.push_str(&legend(req.width, p));
    for &mode in &req.modes {
        out.push('\n');
        out.push_str(&mode_section(mode, req));
    }
    if req.modes.len() > 1 {
        out.push('\n');
        out.push_str(&totals_table(&req.modes, req.width, p));
    }
    out.push('\n');
    out.push_str(&consumer::section(req.width, p));
    out.push('\n');
    out.push_str(&wrap(BEYOND_ONE_TRANSFER, w, "", ""));
    out.push('\n');
    match req.results {
        Some(r) => out.push_str(&wrap(
            &format!(
                "Measured figures from {}; the lesson plan (docs/lesson-plan.md) says how \
                 to read them.",
                r.file
            ),
            w,
            "",
            "",
        )),
        None => {
            out.push_str(&wrap(
                "No measured figures shown. To put this machine's next to the model:",
                w,
                "",
                "",
            ));
            out.push_str("  zc bench --export results.json\n");
            out.push_str("  zc explain all --results results.json\n");
        }
    }
    out
}

/// The legend and one section per mode (title, diagram, steps, model, caveats) in plain
/// text at `width` columns, for a page that shows them beside measured figures
/// (`zc bench --export report.html`).
pub fn plain_sections(modes: &[Mode], width: usize) -> (String, Vec<String>) {
    let req = Request {
        modes: modes.to_vec(),
        results: None,
        width,
        paint: Paint::plain(),
    };
    let sections = modes.iter().map(|&m| mode_section(m, &req)).collect();
    (legend(width, &req.paint), sections)
}

/// The symbols, and the two meanings of "context switch".
fn legend(width: usize, p: &Paint) -> String {
    let w = Some(width);
    let mut out = String::new();
    let items = [
        (
            Style::Dma,
            "DMA ",
            "a device copies to or from memory by itself; the CPU only sets it up",
        ),
        (
            Style::Cpu,
            "CPU ",
            "the CPU copies every byte (a memcpy inside the kernel)",
        ),
        (
            Style::Refs,
            "refs",
            "no byte moves: references to the same page-cache pages change hands",
        ),
        (
            Style::Switch,
            "(n) ",
            "a user<->kernel mode switch, two per syscall (in and out). The zero-copy \
             articles call these \"context switches\"; perf's context-switches counts \
             something else, the scheduler giving the CPU to another task",
        ),
    ];
    for (style, sym, text) in items {
        let lead = format!("  {} ", p.paint(sym, style));
        // The painted symbol is wider in bytes than on screen: wrap the text on its own.
        let body = wrap(text, w.map(|w| w.saturating_sub(7)), "", "");
        for (i, line) in body.lines().enumerate() {
            if i == 0 {
                out.push_str(&lead);
            } else {
                out.push_str("       ");
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("in every mode:\n");
    for caveat in COMMON_CAVEATS {
        out.push_str(&wrap(caveat, w, "  - ", "    "));
    }
    out
}

fn rule(title: &str, width: usize, p: &Paint) -> String {
    let len = width.min(diagram::DIAGRAM_WIDTH);
    let head = format!("━━ {title} ");
    let fill = len.saturating_sub(head.chars().count());
    format!(
        "{}\n",
        p.paint(&format!("{head}{}", "━".repeat(fill)), Style::Heading)
    )
}

fn mode_section(mode: Mode, req: &Request) -> String {
    let w = Some(req.width);
    let p = &req.paint;
    let mut out = rule(mode.name(), req.width, p);
    // The one-line description is the CLI's help for the mode value: said once, in
    // src/transfer/mod.rs.
    if let Some(help) = mode
        .to_possible_value()
        .and_then(|v| v.get_help().map(|h| h.to_string()))
    {
        out.push_str(&wrap(&help, w, "", ""));
    }
    out.push('\n');
    out.push_str(&diagram::draw(mode, req.width, p));

    out.push_str("\nsteps:\n");
    let mut n = 0;
    for event in events(mode) {
        for step in event.steps() {
            n += 1;
            out.push_str(&wrap(
                &format!(
                    "[{n}] {} {} -> {}: {}",
                    step.mover.label(),
                    step.from.name(),
                    step.to.name(),
                    step.what
                ),
                w,
                "  ",
                "      ",
            ));
        }
    }

    out.push('\n');
    out.push_str(&model_lines(mode, req.width, p));
    out.push_str("caveats:\n");
    for caveat in mode.caveats() {
        out.push_str(&wrap(&caveat, w, "  - ", "    "));
    }
    if let Some(results) = req.results {
        out.push('\n');
        out.push_str(&measured(mode, results, req.width, p));
    }
    out
}

/// The textbook's figures, from [`Mode::model`], and the same counted from the diagram.
fn model_lines(mode: Mode, width: usize, p: &Paint) -> String {
    let w = Some(width);
    let m = mode.model();
    let c = Counted::of(mode);
    let mut out = p.paint("TEXTBOOK MODEL (not measured)", Style::Heading);
    out.push('\n');
    let crossings = match m.user_copies_per_byte {
        0 => "never crosses the user/kernel boundary".to_owned(),
        1 => "crosses the user/kernel boundary once".to_owned(),
        n => format!("crosses the user/kernel boundary {n} times"),
    };
    let mut facts = vec![format!(
        "per chunk: {} DMA + {} CPU = {} copies; {} mode switches ({}); each byte {crossings}.",
        m.dma_copies,
        m.cpu_copies,
        m.dma_copies + m.cpu_copies,
        m.mode_switches,
        count(m.syscalls_per_chunk as usize, "syscall", "syscalls"),
    )];
    if c.calls_once > 0 {
        facts.push(format!(
            "the articles count the whole file as one chunk: {} copies and {} mode switches, \
             the once-per-file call's switches included.",
            m.dma_copies + m.cpu_copies,
            c.textbook_switches()
        ));
    }
    if c.sg_removable > 0 {
        facts.push(format!(
            "with scatter-gather DMA: {} copies ({} DMA + {} CPU); the CPU copy becomes page \
             references.",
            m.dma_copies + m.cpu_copies - c.sg_removable,
            m.dma_copies,
            m.cpu_copies - c.sg_removable
        ));
    }
    facts.push(format!("note: {}", m.note));
    for fact in facts {
        out.push_str(&wrap(&fact, w, "  ", "    "));
    }
    out.push_str(&wrap(
        &format!("syscalls zc makes: {}", syscalls_made(mode)),
        w,
        "  ",
        "    ",
    ));
    out
}

/// The calls of one transfer, per chunk and once, as src/transfer makes them.
fn syscalls_made(mode: Mode) -> &'static str {
    match mode {
        Mode::ReadWrite => "pread + write per chunk (src/transfer/read_write.rs)",
        Mode::Mmap => {
            "fstat, mmap, madvise(MADV_SEQUENTIAL) once per segment, then write per chunk, \
             munmap at the end (src/transfer/mmap.rs)"
        }
        Mode::Sendfile => "sendfile per chunk (src/transfer/sendfile.rs)",
        Mode::Splice => {
            "pipe2 + fcntl(F_SETPIPE_SZ) once when the sender is built, then splice file->pipe \
             + splice pipe->socket per chunk (src/transfer/splice.rs)"
        }
        Mode::MsgZerocopy => {
            "setsockopt(SO_ZEROCOPY), fstat, mmap, madvise once per segment, then \
             send(MSG_ZEROCOPY) per chunk, a non-blocking recvmsg(MSG_ERRQUEUE) every 16 \
             sends, poll + recvmsg at the end until every completion is in \
             (src/transfer/msg_zerocopy.rs)"
        }
        Mode::IoUring => {
            "io_uring_setup and io_uring_register once when the sender is built, \
             getsockopt(SO_SNDTIMEO) once per segment, then one io_uring_enter per 32 chunks \
             (src/transfer/io_uring.rs)"
        }
        Mode::Tls => {
            "fstat once per segment (which connection?), the TLS handshake's read + writev \
             once per connection, then pread + writev per chunk (src/transfer/tls.rs)"
        }
        Mode::Ktls => {
            "none on this build: zc probes setsockopt(TCP_ULP, \"tls\") and stops there \
             (src/transfer/ktls.rs)"
        }
    }
}

/// What the textbook picture leaves out in every mode, said once.
const COMMON_CAVEATS: [&str; 2] = [
    "loopback (127.0.0.1) has no NIC and so no NIC DMA: the last step is the kernel handing \
     the packets to the receiving socket, on the same machine.",
    "with a warm cache the disk DMA happened before the run (zc bench --cache cold puts the \
     storage read back in every run; on a virtual disk the host serves it, and whatever DMA it \
     does is not visible from the guest).",
];

/// The figures of `mode` from a results file, each beside its model value where the model
/// has one.
fn measured(mode: Mode, results: &Results, width: usize, p: &Paint) -> String {
    let w = Some(width);
    let m = mode.model();
    let mut out = p.paint("MEASURED (not the model)", Style::Measured);
    out.push('\n');
    out.push_str(&wrap(
        &format!(
            "from {}: {}; medians, min–max in brackets",
            results.file, results.provenance
        ),
        w,
        "  ",
        "    ",
    ));
    let rows = results.rows_of(mode);
    if rows.is_empty() {
        let present: Vec<&str> = modes(&results.rows).into_iter().map(Mode::name).collect();
        out.push_str(&wrap(
            &format!(
                "{} has no {mode} rows (it measured {}): `zc bench --mode {mode} --export \
                 results.json` adds them.",
                results.file,
                present.join(", ")
            ),
            w,
            "  ",
            "    ",
        ));
        return out;
    }
    // (metric key, the model's figure for it)
    let shown: [(&str, Option<u32>); 10] = [
        (keys::THROUGHPUT, None),
        (keys::SENDER_CPU_PER_GIB, None),
        (keys::SENDER_COPY_CPU_PER_GIB, None),
        (keys::SINK_COPY_CPU_PER_GIB, None),
        (keys::SYSTEM_CPU_PER_GIB, None),
        (keys::SYSCALLS_PER_GIB, None),
        (keys::MODE_SWITCHES_PER_CHUNK, Some(m.mode_switches)),
        (keys::USER_COPIED_PER_BYTE, Some(m.user_copies_per_byte)),
        (keys::SCHED_SWITCHES_PER_GIB, None),
        (keys::MINOR_FAULTS_PER_GIB, None),
    ];
    for row in rows {
        out.push_str(&format!(
            "  {} chunks:\n",
            crate::units::format_size(row.chunk as u64)
        ));
        for (key, model) in shown {
            let Some(metric) = row.metric(key) else {
                out.push_str(&wrap(
                    &format!("{key}: not in this file"),
                    w,
                    "    ",
                    "      ",
                ));
                continue;
            };
            let value = match &metric.value {
                Reading::Value(s) => stat_inline(key, s),
                Reading::Unavailable(why) => format!("n/a ({why})"),
            };
            let model = model.map(|x| format!("; model {x}")).unwrap_or_default();
            // Aligned in columns when the line fits; wrapped (alignment lost) when not.
            let line = format!("    {:<27} {value}{model}", metric.label);
            if line.chars().count() <= width {
                out.push_str(&line);
                out.push('\n');
            } else {
                out.push_str(&wrap(line.trim_start(), w, "    ", "      "));
            }
        }
    }
    out
}

/// The textbook's totals of every mode shown, side by side.
fn totals_table(modes: &[Mode], width: usize, p: &Paint) -> String {
    let mut out = p.paint("TEXTBOOK TOTALS (not measured)", Style::Heading);
    out.push('\n');
    if width < 64 {
        for &mode in modes {
            let m = mode.model();
            let c = Counted::of(mode);
            out.push_str(&wrap(
                &format!(
                    "{mode}: {}+{}={} copies (DMA+CPU, no SG), {} with SG-DMA; {} switches per chunk, \
                     {} in the articles; {} syscalls per chunk",
                    m.dma_copies,
                    m.cpu_copies,
                    m.dma_copies + m.cpu_copies,
                    m.dma_copies + m.cpu_copies - c.sg_removable,
                    m.mode_switches,
                    c.textbook_switches(),
                    m.syscalls_per_chunk
                ),
                Some(width),
                "  ",
                "    ",
            ));
        }
        return out;
    }
    let header = [
        "mode",
        "copies",
        "copies",
        "switches",
        "articles'",
        "syscalls",
    ];
    let sub = ["", "no SG", "with SG", "/chunk", "switches", "/chunk"];
    let widths = [12, 10, 9, 10, 11, 9];
    let line = |cells: [String; 6]| -> String {
        let mut s = String::from(" ");
        for (cell, w) in cells.iter().zip(widths) {
            s.push_str(&format!(" {cell:<w$}"));
        }
        s.trim_end().to_owned() + "\n"
    };
    out.push_str(&line(header.map(String::from)));
    out.push_str(&line(sub.map(String::from)));
    for &mode in modes {
        let m = mode.model();
        let c = Counted::of(mode);
        out.push_str(&line([
            mode.name().to_owned(),
            format!(
                "{}+{}={}",
                m.dma_copies,
                m.cpu_copies,
                m.dma_copies + m.cpu_copies
            ),
            (m.dma_copies + m.cpu_copies - c.sg_removable).to_string(),
            m.mode_switches.to_string(),
            c.textbook_switches().to_string(),
            m.syscalls_per_chunk.to_string(),
        ]));
    }
    out.push_str(&wrap(
        "Both copy columns count every mode on one basis: DMA+CPU copies without \
         scatter-gather DMA (the textbook's figure), then with it (what Linux TCP does on any \
         SG-capable device, loopback included).",
        Some(width),
        "  ",
        "  ",
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(modes: Vec<Mode>, width: usize) -> Request<'static> {
        Request {
            modes,
            results: None,
            width,
            paint: Paint::plain(),
        }
    }

    #[test]
    fn every_line_fits_the_terminal() {
        for width in [40, 60, 80, 120] {
            let text = render(&request(Mode::ALL.to_vec(), width));
            for line in text.lines() {
                assert!(line.chars().count() <= width, "{width}: {line:?}");
            }
        }
    }

    #[test]
    fn all_shows_every_mode_the_totals_and_how_to_measure() {
        let text = render(&request(Mode::ALL.to_vec(), 80));
        for mode in Mode::ALL {
            assert!(text.contains(&format!("━━ {mode} ")), "{mode}");
        }
        assert!(text.contains("TEXTBOOK TOTALS"));
        assert!(text.contains("zc bench --export results.json"));
        assert!(!text.contains('\x1b'), "no colour when asked for none");
        // The caveats the lesson depends on.
        for must in ["SIGBUS", "kTLS", "no NIC DMA", "scheduler"] {
            assert!(text.contains(must), "{must}");
        }
    }

    /// The pointers to the other measured claims name commands and pages that exist.
    #[test]
    fn points_to_the_other_measured_claims_and_their_pages_exist() {
        let text = render(&request(vec![Mode::Sendfile], 200));
        for page in [
            "docs/fan-out.md",
            "docs/write-path.md",
            "docs/mmap-tradeoff.md",
            "docs/vs-kafka.md",
        ] {
            assert!(text.contains(page), "{page}: {text}");
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(page);
            assert!(path.is_file(), "{} is missing", path.display());
        }
        for command in [
            "zc bench --consumers",
            "zc bench write",
            "zc serve --transfer mmap --inspect",
            "scripts/vs-kafka",
        ] {
            assert!(text.contains(command), "{command}: {text}");
        }
    }

    #[test]
    fn measured_figures_sit_beside_the_model() {
        use crate::bench::send::sample::sample_report;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, crate::report::json::render(&sample_report())).unwrap();
        let results = results::load(&path).unwrap();
        let mut req = request(vec![Mode::ReadWrite, Mode::Splice], 80);
        req.results = Some(&results);
        let text = render(&req);
        assert!(text.contains("MEASURED (not the model)"), "{text}");
        assert!(
            text.contains("; model 4"),
            "read-write's 4 mode switches: {text}"
        );
        assert!(text.contains("no splice rows"), "{text}");
        assert!(!text.contains("No measured figures"), "{text}");
    }

    #[test]
    fn colour_is_only_escape_codes_around_words() {
        let mut req = request(vec![Mode::Sendfile], 80);
        req.paint = Paint::colored();
        let coloured = render(&req);
        assert!(coloured.contains("\x1b[32mDMA"), "DMA in green");
        let stripped = strip_ansi(&coloured);
        req.paint = Paint::plain();
        assert_eq!(stripped, render(&req));
    }

    fn strip_ansi(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}
