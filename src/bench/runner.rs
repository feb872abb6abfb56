//! The runner: repeat transfers of the whole log, bracket each with the probe, return data.
//!
//! One *run* sends every segment of the fixture, in offset order, over one fresh TCP
//! connection, as a consumer reading the log from the start would receive it. The timed
//! region starts right before the first call and ends when the sink's 16-byte trailer
//! arrives, i.e. when the receiver has every byte, not merely when the last byte was
//! handed to the socket buffer (which can hold megabytes).
//!
//! Everything that is not the transfer happens outside that region: connecting, setting
//! congestion control, opening files, building the sender (its buffer or pipe), dropping
//! or warming the page cache, measuring residency, and reporting progress.
//!
//! Runs are *interleaved*: each round runs every mode x chunk once, in an order rotated
//! from round to round, so slow drift on the machine (other work, thermal, page cache
//! pressure) hits every mode alike instead of whichever ran last.

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::thread::{self, JoinHandle};

use anyhow::{Context, Result, anyhow, bail};

use super::config::BenchConfig;
use super::metrics;
use super::results::{BenchReport, CacheState, FixtureInfo, Row, RunRecord, SCHEMA, Setup};
use super::sink::{self, SinkReport};
use super::warnings::Warning;
use crate::measure::{self, Probe, ProbeOptions, Reading, ThreadCpu};
use crate::net::{self, Congestion};
use crate::transfer::{self, Mode, Transfer};

/// Runs whose throughput varies more than this share of the median are flagged as noisy.
const NOISY_SPREAD: f64 = 0.25;

/// The log to send: its segment files in offset order, partition after partition.
pub struct Fixture {
    pub info: FixtureInfo,
    pub segments: Vec<(PathBuf, u64)>,
}

impl Fixture {
    /// Lists the `.log` segments of the log at `info.path`.
    pub fn load(info: FixtureInfo) -> Result<Fixture> {
        let mut segments = Vec::new();
        for part in crate::log::inspect::partitions(&info.path)? {
            for seg in crate::log::partition::list_segments(&part.path)? {
                let len = std::fs::metadata(&seg.log)
                    .with_context(|| format!("cannot stat {}", seg.log.display()))?
                    .len();
                segments.push((seg.log, len));
            }
        }
        let bytes = segments.iter().map(|s| s.1).sum();
        if bytes == 0 {
            bail!("{} holds no log bytes to send", info.path.display());
        }
        Ok(Fixture {
            info: FixtureInfo {
                bytes,
                segments: segments.len(),
                ..info
            },
            segments,
        })
    }

    fn bytes(&self) -> u64 {
        self.info.bytes
    }
}

/// What the runner tells its caller between runs (never inside one).
pub enum Event<'a> {
    /// A run finished: `done` of `total` runs, warm-ups included.
    Progress { done: u32, total: u32 },
    /// A round of measured runs finished; the report so far, for exports that must
    /// survive a crash.
    Round(&'a BenchReport),
}

/// The receiving end for one run, and how to collect what it saw.
enum SinkSide {
    InProcess(JoinHandle<io::Result<InProcessSink>>),
    Remote,
}

struct InProcessSink {
    cpu_ns: u64,
    receive_buffer: usize,
    cpu_id: Option<usize>,
}

/// Runs the whole benchmark. The calling thread is the sender: the probe counts it.
pub fn run(cfg: &BenchConfig, fixture: &Fixture, on: &mut dyn FnMut(Event)) -> Result<BenchReport> {
    cfg.validate()?;
    if let Some(pin) = cfg.pin {
        net::pin_current_thread(pin.sender)
            .with_context(|| format!("cannot pin the sender to CPU {}", pin.sender))?;
    }
    let peer_is_loopback = cfg.connect.is_none_or(|a| a.ip().is_loopback());
    let congestion = net::resolve_congestion(&cfg.cc, peer_is_loopback)
        .context("--cc: cannot choose a congestion control")?;
    let listener = match cfg.connect {
        None => Some(
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .context("cannot bind the in-process sink")?,
        ),
        Some(_) => None,
    };
    let addr = match (&listener, cfg.connect) {
        (Some(l), _) => l.local_addr()?,
        (None, Some(a)) => a,
        (None, None) => unreachable!("either a listener or --connect"),
    };
    let files = fixture
        .segments
        .iter()
        .map(|(p, len)| {
            Ok((
                File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
                *len,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let paths: Vec<&PathBuf> = fixture.segments.iter().map(|(p, _)| p).collect();
    let expected_checksum = if cfg.verify {
        Some(checksum(&files)?)
    } else {
        None
    };
    if cfg.cache == CacheState::Warm {
        warm(&files)?;
    }

    let combos: Vec<(Mode, usize)> = cfg
        .modes
        .iter()
        .flat_map(|&m| cfg.chunks.iter().map(move |&c| (m, c)))
        .collect();
    let mut senders = combos
        .iter()
        .map(|&(m, c)| {
            transfer::sender(m, c).with_context(|| format!("cannot set up {m} with chunk {c}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut probe = Probe::open(&ProbeOptions {
        counters: cfg.counters,
    });
    let mut state = State {
        setup: setup(cfg, fixture, &congestion, &probe),
        runs: vec![Vec::new(); combos.len()],
        warnings: Vec::new(),
    };
    state
        .warnings
        .extend(static_warnings(cfg, &congestion, &probe, peer_is_loopback));

    let total = (cfg.warmup + cfg.runs) * combos.len() as u32;
    let mut done = 0;
    for round in 0..cfg.warmup + cfg.runs {
        let measured = round >= cfg.warmup;
        for k in 0..combos.len() {
            let i = (k + round as usize) % combos.len();
            let (mode, chunk) = combos[i];
            let record = one_run(
                cfg,
                &congestion,
                listener.as_ref(),
                addr,
                &files,
                &paths,
                &mut probe,
                senders[i].as_mut(),
                expected_checksum,
                fixture.bytes(),
            )
            .with_context(|| format!("{mode} run with chunk {chunk} failed"))?;
            if measured {
                let (record, buffers) = record;
                state.setup.send_buffer = buffers.send;
                state.setup.receive_buffer = buffers.receive;
                state.runs[i].push(RunRecord {
                    run: round - cfg.warmup,
                    ..record
                });
            }
            done += 1;
            on(Event::Progress { done, total });
        }
        if measured {
            on(Event::Round(&state.report(&combos, cfg)));
        }
    }
    Ok(state.report(&combos, cfg))
}

struct State {
    setup: Setup,
    runs: Vec<Vec<RunRecord>>,
    warnings: Vec<Warning>,
}

impl State {
    fn report(&self, combos: &[(Mode, usize)], cfg: &BenchConfig) -> BenchReport {
        let rows: Vec<Row> = combos
            .iter()
            .zip(&self.runs)
            .map(|(&(mode, chunk), runs)| Row {
                mode,
                chunk,
                model: mode.model(),
                metrics: metrics::metrics(runs, chunk),
                runs: runs.clone(),
            })
            .collect();
        let mut warnings = self.warnings.clone();
        warnings.extend(rows.iter().flat_map(|r| row_warnings(r, cfg)));
        BenchReport {
            schema: SCHEMA,
            setup: self.setup.clone(),
            rows,
            warnings,
        }
    }
}

/// The socket buffer sizes the kernel chose for a run's connection.
struct Buffers {
    send: usize,
    /// Known only for the in-process sink.
    receive: Option<usize>,
}

/// One transfer of the whole log, bracketed by the probe. Returns the record (with `run`
/// still 0) and the socket buffer sizes in force.
#[allow(clippy::too_many_arguments)] // the run's ingredients, kept explicit for readers
fn one_run(
    cfg: &BenchConfig,
    congestion: &Congestion,
    listener: Option<&TcpListener>,
    addr: SocketAddr,
    files: &[(File, u64)],
    paths: &[&PathBuf],
    probe: &mut Probe,
    sender: &mut (dyn Transfer + Send),
    expected_checksum: Option<u32>,
    bytes: u64,
) -> Result<(RunRecord, Buffers)> {
    // --- set-up, outside the timed region ---
    if cfg.cache == CacheState::Cold {
        for p in paths {
            measure::drop_from_cache(p)
                .with_context(|| format!("cannot drop {} from the page cache", p.display()))?;
        }
    }
    let residency = match measure::residency(paths) {
        Ok(r) => Reading::Value(r.fraction()),
        Err(e) => Reading::unavailable(e.to_string()),
    };
    let sink_side = match listener {
        Some(l) => SinkSide::InProcess(spawn_sink(
            l.try_clone()?,
            cfg,
            &congestion.name,
            sender.chunk(),
        )),
        None => SinkSide::Remote,
    };
    let mut stream = TcpStream::connect(addr)
        .with_context(|| format!("cannot connect to the sink at {addr}"))?;
    net::set_congestion(stream.as_fd(), &congestion.name)
        .with_context(|| format!("cannot set congestion control {}", congestion.name))?;
    let (send_buffer, _) = net::buffer_sizes(stream.as_fd())?;
    sender.reset_tally();

    // --- the timed region ---
    probe.start().context("cannot start the probe")?;
    let sent: Result<SinkReport> = (|| {
        for (file, len) in files {
            sender.send(file, 0, *len, stream.as_fd())?;
        }
        sink::finish(&mut stream).context("the sink did not confirm the transfer")
    })();
    let sample = probe.stop().context("cannot stop the probe")?;

    // --- after: collect, check ---
    let sender_cpu = net::current_cpu();
    let received = sent.map_err(|e| {
        anyhow!(
            "{e:#} (sent {} of {bytes} bytes)",
            sender.tally().bytes_sent
        )
    })?;
    let sink_result = match sink_side {
        SinkSide::InProcess(handle) => Some(
            handle
                .join()
                .map_err(|_| anyhow!("the sink thread panicked"))?
                .context("the in-process sink failed")?,
        ),
        SinkSide::Remote => None,
    };
    if received.bytes != bytes {
        bail!(
            "the sink received {} bytes, expected {bytes}",
            received.bytes
        );
    }
    if let Some(expected) = expected_checksum {
        match received.checksum {
            Some(got) if got == expected => {}
            Some(got) => {
                bail!("--verify: the sink's CRC-32C is {got:#010x}, the fixture's {expected:#010x}")
            }
            None => bail!(
                "--verify: the sink did not checksum (start the remote `zc sink` with --verify)"
            ),
        }
    }
    let record = RunRecord {
        run: 0,
        bytes,
        sample,
        tally: *sender.tally(),
        sink_cpu_ns: sink_result.as_ref().map(|s| s.cpu_ns),
        residency_before: residency,
        sender_cpu,
        sink_cpu_id: sink_result.as_ref().and_then(|s| s.cpu_id),
    };
    let buffers = Buffers {
        send: send_buffer,
        receive: sink_result.map(|s| s.receive_buffer),
    };
    Ok((record, buffers))
}

/// The in-process sink for one connection, on its own thread (so the probe, which counts
/// only the sender thread, does not see it); it measures its own CPU time.
fn spawn_sink(
    listener: TcpListener,
    cfg: &BenchConfig,
    congestion: &str,
    chunk: usize,
) -> JoinHandle<io::Result<InProcessSink>> {
    let (kind, verify, pin) = (cfg.sink, cfg.verify, cfg.pin);
    let congestion = congestion.to_owned();
    thread::spawn(move || {
        if let Some(pin) = pin {
            net::pin_current_thread(pin.sink)?;
        }
        let (mut stream, _) = listener.accept()?;
        net::set_congestion(stream.as_fd(), &congestion)?;
        let (_, receive_buffer) = net::buffer_sizes(stream.as_fd())?;
        let start = ThreadCpu::now()?;
        let report = sink::drain(&mut stream, kind, verify, chunk)?;
        let cpu = ThreadCpu::now()?.since(&start);
        sink::write_trailer(&mut stream, &report)?;
        Ok(InProcessSink {
            cpu_ns: u64::try_from(cpu.total.as_nanos()).unwrap_or(u64::MAX),
            receive_buffer,
            cpu_id: net::current_cpu(),
        })
    })
}

/// Reads every segment once so that warm runs find it in the page cache.
fn warm(files: &[(File, u64)]) -> Result<()> {
    read_all(files, |_| {})
}

/// CRC-32C of the whole log, the figure `--verify` compares with the sink's.
fn checksum(files: &[(File, u64)]) -> Result<u32> {
    let mut crc = 0;
    read_all(files, |b| crc = crc32c::crc32c_append(crc, b))?;
    Ok(crc)
}

fn read_all(files: &[(File, u64)], mut each: impl FnMut(&[u8])) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 1 << 20];
    for (file, len) in files {
        let mut at = 0;
        while at < *len {
            let n = file
                .read_at(&mut buf, at)
                .context("cannot read the fixture")?;
            if n == 0 {
                bail!("the fixture shrank while being read");
            }
            each(&buf[..n]);
            at += n as u64;
        }
    }
    Ok(())
}

fn setup(cfg: &BenchConfig, fixture: &Fixture, congestion: &Congestion, probe: &Probe) -> Setup {
    Setup {
        zc_version: env!("CARGO_PKG_VERSION"),
        environment: measure::environment(),
        counters: probe.availability(),
        fixture: fixture.info.clone(),
        cache: cfg.cache,
        sink: cfg.sink,
        sink_location: cfg
            .connect
            .map_or_else(|| "in-process thread".to_owned(), |a| a.to_string()),
        verify: cfg.verify,
        chunks: cfg.chunks.clone(),
        runs: cfg.runs,
        warmup: cfg.warmup,
        congestion: congestion.name.clone(),
        send_buffer: 0,
        receive_buffer: None,
        pin: cfg.pin,
    }
}

fn static_warnings(
    cfg: &BenchConfig,
    congestion: &Congestion,
    probe: &Probe,
    loopback: bool,
) -> Vec<Warning> {
    let mut w = Vec::new();
    if cfg.counters {
        // One warning per distinct reason, naming every counter it affects.
        let mut by_reason: Vec<(String, Vec<&str>)> = Vec::new();
        for (name, reading) in probe.availability() {
            if let Reading::Unavailable(why) = reading {
                match by_reason.iter_mut().find(|(r, _)| *r == why) {
                    Some((_, names)) => names.push(name),
                    None => by_reason.push((why, vec![name])),
                }
            }
        }
        w.extend(
            by_reason
                .into_iter()
                .map(|(reason, names)| Warning::CounterUnavailable {
                    counter: names.join(", "),
                    reason,
                }),
        );
    }
    if let Some(reason) = &congestion.warning {
        w.push(Warning::CongestionFallback {
            reason: reason.clone(),
        });
    }
    if loopback && net::is_pacing(&congestion.name) {
        w.push(Warning::PacingCongestion {
            algorithm: congestion.name.clone(),
        });
    }
    if cfg.cache == CacheState::Cold {
        w.push(Warning::ColdCache);
    }
    w
}

fn row_warnings(row: &Row, cfg: &BenchConfig) -> Vec<Warning> {
    let mut w = Vec::new();
    if cfg.cache == CacheState::Warm {
        if let Some(min) = row
            .metric("residency_before")
            .and_then(|m| m.value.value())
            .map(|s| s.min)
            && min < 0.99
        {
            w.push(Warning::NotInPageCache {
                mode: row.mode,
                chunk: row.chunk,
                residency: min,
            });
        }
        if let Some(max) = row
            .metric("storage_read_bytes")
            .and_then(|m| m.value.value())
            .map(|s| s.max)
            && max > 0.01 * row.runs.first().map_or(0, |r| r.bytes) as f64
        {
            w.push(Warning::StorageReads {
                mode: row.mode,
                chunk: row.chunk,
                bytes: max as u64,
            });
        }
    }
    if let Some(stat) = row.metric("throughput").and_then(|m| m.value.value())
        && stat.runs > 1
        && stat.spread() > NOISY_SPREAD
    {
        w.push(Warning::NoisyRuns {
            mode: row.mode,
            chunk: row.chunk,
            metric: "throughput".into(),
            spread: stat.spread(),
        });
    }
    w
}
