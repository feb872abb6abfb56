//! The runner: repeat transfers of the whole log, bracket each with the probe, return data.
//!
//! One *run* sends every segment of the fixture, in offset order, over one fresh TCP
//! connection, as a consumer reading the log from the start would receive it. The timed
//! region starts right before the first call and ends when the sink's 16-byte trailer
//! arrives, i.e. when the receiver has every byte, not merely when the last byte was
//! handed to the socket buffer (which can hold megabytes).
//!
//! Everything that is not the transfer happens outside that region: connecting, setting
//! and reading back congestion control, opening files, building the sender (its buffer or
//! pipe), dropping or warming the page cache, measuring residency, reading socket buffer
//! sizes, and reporting progress.
//!
//! With `--consumers N` a run sends the whole log over N connections at once, to N sink
//! threads: one sender thread per connection, each with its own probe (a probe counts only
//! the thread that opened it), released together by a barrier. The run's record sums what
//! every sender counted, so a figure per GiB is per GiB delivered to all consumers, and the
//! timed region runs from the first sender's start to the last sink's trailer:
//!
//! ```text
//!   runner thread ── drop cache, residency, N sinks, N connects ── barrier ── join ──
//!   sender 1      ── open probe ──────────────────────────────────┤ start..send..stop
//!   sender N      ── open probe ──────────────────────────────────┤ start..send..stop
//! ```
//!
//! Runs are *interleaved*: each round runs every mode x chunk once, in an order rotated
//! from round to round, so slow drift on the machine (other work, thermal, page cache
//! pressure) hits every mode alike instead of whichever ran last.

use std::cell::Cell;
use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use super::config::BenchConfig;
use super::metrics;
use super::results::{
    BenchReport, CacheState, FixtureInfo, Row, RowProfile, RunRecord, SCHEMA, Setup, SinkPlace,
    keys,
};
use super::sink::{self, SinkReport};
use super::warnings::Warning;
use crate::bench::results::Metric;
use crate::bench::rounds;
use crate::log::fixture;
use crate::measure::{
    self, Probe, ProbeOptions, Reading, Sample, SystemCpu, ThreadCpu, ThreadProfile, ThreadSampler,
};
use crate::net::{self, Congestion};
use crate::transfer::{self, Mode, Tally, Transfer};

/// Runs whose throughput varies more than this share of the median are flagged as noisy.
const NOISY_SPREAD: f64 = 0.25;

/// One `.log` file of the fixture, opened once for all runs.
struct Segment {
    path: PathBuf,
    file: File,
    len: u64,
}

/// The log to send: its segment files in offset order, partition after partition.
pub struct Fixture {
    pub info: FixtureInfo,
    segments: Vec<Segment>,
}

impl Fixture {
    /// Opens the log at `path`. `known_hash` is the hash already checked by the caller
    /// (the default fixture); otherwise the log is hashed here (once per change of its
    /// files: see [`fixture::log_hash`]) and, when it has a
    /// `zc fixture gen` manifest, must match it: a damaged log is not benchmarked.
    pub fn open(path: &Path, known_hash: Option<String>) -> Result<Fixture> {
        let mut segments = Vec::new();
        for part in crate::log::check::partitions(path)? {
            for seg in crate::log::partition::list_segments(&part.path)? {
                let file = File::open(&seg.log)
                    .with_context(|| format!("cannot open {}", seg.log.display()))?;
                let len = file.metadata()?.len();
                segments.push(Segment {
                    path: seg.log,
                    file,
                    len,
                });
            }
        }
        let bytes = segments.iter().map(|s| s.len).sum();
        if bytes == 0 {
            bail!("{} holds no log bytes to send", path.display());
        }
        let default = known_hash.is_some();
        let blake3 = match known_hash {
            Some(h) => h,
            None => {
                let h = fixture::log_hash(path)?;
                if let Ok(manifest) = fixture::read_manifest(path)
                    && manifest.blake3 != h
                {
                    bail!(
                        "{} does not match its manifest ({}): the log changed since it was generated; \
                         run `zc fixture verify {}` to see where, or regenerate it",
                        path.display(),
                        fixture::MANIFEST,
                        path.display()
                    );
                }
                h
            }
        };
        Ok(Fixture {
            info: FixtureInfo {
                path: path.to_owned(),
                blake3,
                bytes,
                segments: segments.len(),
                default,
            },
            segments,
        })
    }

    fn bytes(&self) -> u64 {
        self.info.bytes
    }

    /// Calls of at most `chunk` bytes a run makes: each segment is sent on its own.
    fn chunks(&self, chunk: usize) -> u64 {
        self.segments
            .iter()
            .map(|s| s.len.div_ceil(chunk as u64))
            .sum()
    }
}

/// What the runner tells its caller between runs (never inside one).
pub type Event<'a> = rounds::Event<'a, BenchReport>;

/// What the in-process sink thread saw of its connection.
struct InProcessSink {
    cpu_ns: u64,
    receive_buffer: usize,
    congestion: String,
    cpu_id: Option<usize>,
    profile: Reading<ThreadProfile>,
}

/// Runs the whole benchmark. The calling thread is the sender: the probe counts it.
pub fn run(cfg: &BenchConfig, fixture: &Fixture, on: &mut dyn FnMut(Event)) -> Result<BenchReport> {
    cfg.validate()?;
    if let Some(pin) = cfg.pin {
        net::pin_current_thread(pin.sender)
            .with_context(|| format!("cannot pin the sender to CPU {}", pin.sender))?;
    }
    let peer_is_loopback = cfg.connect.is_none_or(|a| a.ip().is_loopback());
    let congestion = net::resolve_cc_flag(&cfg.cc, peer_is_loopback)?;
    let listener = match cfg.connect {
        None => Some(
            net::listen_with_congestion((Ipv4Addr::LOCALHOST, 0).into(), &congestion.name)
                .context("cannot bind the in-process sink")?,
        ),
        Some(_) => None,
    };
    let addr = match (&listener, cfg.connect) {
        (Some(l), _) => l.local_addr()?,
        (None, Some(a)) => a,
        (None, None) => unreachable!("either a listener or --connect"),
    };
    let expected_checksum = if cfg.verify {
        Some(checksum(fixture)?)
    } else {
        None
    };
    if cfg.cache == CacheState::Warm {
        read_all(fixture, |_| {})?;
    }

    // A mode this kernel (or this set-up) cannot run gets a row of n/a with the reason;
    // the others run as usual.
    let (runnable, unavailable) = availability(cfg);
    let combos = rounds::combinations(&runnable, &cfg.chunks);
    // One sender per consumer for each mode x chunk: each owns its buffer or pipe.
    let mut senders = combos
        .iter()
        .map(|&(m, c)| {
            (0..cfg.consumers)
                .map(|_| {
                    transfer::sender(m, c)
                        .with_context(|| format!("cannot set up {m} with chunk {c}"))
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let mut probe = Probe::open(&ProbeOptions {
        counters: cfg.counters,
        profile: cfg.profile,
    });
    let setup = setup(cfg, fixture, &combos, &congestion, &probe);
    let warnings = static_warnings(cfg, &congestion, &probe, peer_is_loopback);
    // The buffers of the last measured run; every report is made right after one.
    let buffers = Cell::new(Buffers {
        send: 0,
        receive: None,
    });
    let run = Run {
        cfg,
        congestion: &congestion.name,
        listener: listener.as_ref(),
        addr,
        fixture,
        expected_checksum,
    };
    rounds::interleaved(
        &combos,
        (cfg.warmup, cfg.runs),
        |i, (mode, chunk)| {
            let (record, after) = run
                .once(&mut probe, &mut senders[i])
                .with_context(|| format!("{mode} run with chunk {chunk} failed"))?;
            buffers.set(after);
            Ok(record)
        },
        |runs| {
            let mut report = report(&setup, buffers.get(), &warnings, &combos, runs, cfg);
            report
                .rows
                .extend(unavailable_rows(&unavailable, &cfg.chunks));
            report
        },
        on,
    )
}

/// The modes of `cfg` that can run here, and those that cannot, each with the reason.
fn availability(cfg: &BenchConfig) -> (Vec<Mode>, Vec<(Mode, String)>) {
    let mut runnable = Vec::new();
    let mut unavailable = Vec::new();
    for &mode in &cfg.modes {
        let why = mode.supported().err().or_else(|| {
            (mode.encrypts() && cfg.connect.is_some()).then(|| {
                format!(
                    "{mode} needs zc bench's in-process TLS sink (it trusts this process's \
                     throwaway certificate); run without --connect"
                )
            })
        });
        match why {
            None => runnable.push(mode),
            Some(why) => unavailable.push((mode, why)),
        }
    }
    (runnable, unavailable)
}

/// One row per chunk for each mode that cannot run: every figure n/a, with the reason.
fn unavailable_rows(unavailable: &[(Mode, String)], chunks: &[usize]) -> Vec<Row> {
    let mut rows = Vec::new();
    for (mode, why) in unavailable {
        for &chunk in chunks {
            let metrics = metrics::metrics(&[])
                .into_iter()
                .map(|m| Metric {
                    value: Reading::Unavailable(format!("{mode} cannot run here: {why}")),
                    ..m
                })
                .collect();
            rows.push(Row {
                mode: *mode,
                chunk,
                model: mode.model(),
                metrics,
                profile: RowProfile::of(&[]),
                runs: Vec::new(),
            });
        }
    }
    rows
}

/// The report of the runs kept so far: one row per mode x chunk, the warnings of the
/// setup and those each row's figures call for.
fn report(
    setup: &Setup,
    buffers: Buffers,
    warnings: &[Warning],
    combos: &[(Mode, usize)],
    runs: &[Vec<RunRecord>],
    cfg: &BenchConfig,
) -> BenchReport {
    let rows: Vec<Row> = combos
        .iter()
        .zip(runs)
        .map(|(&(mode, chunk), runs)| Row {
            mode,
            chunk,
            model: mode.model(),
            metrics: metrics::metrics(runs),
            profile: RowProfile::of(runs),
            runs: runs.clone(),
        })
        .collect();
    let mut warnings = warnings.to_vec();
    warnings.extend(rows.iter().flat_map(|r| row_warnings(r, cfg)));
    BenchReport {
        schema: SCHEMA,
        setup: Setup {
            send_buffer: buffers.send,
            receive_buffer: buffers.receive,
            ..setup.clone()
        },
        rows,
        warnings,
    }
}

/// The socket buffer sizes the kernel had grown to by the end of a run.
#[derive(Clone, Copy)]
struct Buffers {
    send: usize,
    /// Known only for the in-process sink.
    receive: Option<usize>,
}

/// The fixed ingredients of every run.
struct Run<'a> {
    cfg: &'a BenchConfig,
    congestion: &'a str,
    listener: Option<&'a TcpListener>,
    addr: SocketAddr,
    fixture: &'a Fixture,
    expected_checksum: Option<u32>,
}

impl Run<'_> {
    /// One transfer of the whole log to every consumer, bracketed by the probes. Returns
    /// the record (with `run` still 0) and the socket buffer sizes at the end.
    ///
    /// One consumer: the calling thread sends, counted by the runner's `probe`. Several:
    /// each consumer gets its own sender thread with its own probe (a probe counts only
    /// the thread that opened it), they start together at a barrier, and the record sums
    /// what every thread counted (see [`Sample::sum_of_threads`]).
    fn once(
        &self,
        probe: &mut Probe,
        senders: &mut [Box<dyn Transfer + Send>],
    ) -> Result<(RunRecord, Buffers)> {
        let consumers = senders.len();
        let paths: Vec<&PathBuf> = self.fixture.segments.iter().map(|s| &s.path).collect();
        // --- set-up, outside the timed region ---
        if self.cfg.cache == CacheState::Cold {
            for p in &paths {
                measure::drop_from_cache(p)
                    .with_context(|| format!("cannot drop {} from the page cache", p.display()))?;
            }
        }
        let residency = match measure::residency(&paths) {
            Ok(r) => Reading::Value(r.fraction()),
            Err(e) => Reading::unavailable(e.to_string()),
        };
        let chunk = senders[0].chunk();
        let encrypted = senders[0].mode().encrypts();
        let mut sink_threads = Vec::new();
        if let Some(l) = self.listener {
            for _ in 0..consumers {
                sink_threads.push(spawn_sink(l.try_clone()?, self.cfg, chunk, encrypted));
            }
        }
        let mut streams = Vec::with_capacity(consumers);
        for _ in 0..consumers {
            streams.push(self.connect()?);
        }

        // --- the timed region(s) ---
        let (lanes, system_cpu) = if consumers == 1 {
            let stream = streams.pop().expect("one stream");
            (
                vec![lane(self.fixture, probe, senders[0].as_mut(), stream, None)],
                None,
            )
        } else {
            self.lanes_in_threads(senders, streams)
        };

        // --- after: collect, check ---
        let sinks: Vec<Result<InProcessSink>> = sink_threads
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .map_err(|_| anyhow!("a sink thread panicked"))?
                    .context("the in-process sink failed")
            })
            .collect();
        let sink_errors: Vec<String> = sinks
            .iter()
            .filter_map(|s| s.as_ref().err().map(|e| format!("{e:#}")))
            .collect();
        let mut done = Vec::with_capacity(consumers);
        for lane in lanes {
            match lane {
                Ok(l) => done.push(l),
                Err(e) if sink_errors.is_empty() => return Err(e),
                Err(e) => return Err(e.context(sink_errors.join("; "))),
            }
        }
        if let Some(first) = sink_errors.first() {
            bail!("{first}");
        }
        let sinks: Vec<InProcessSink> = sinks.into_iter().collect::<Result<_>>()?;
        for s in &sinks {
            if s.congestion != self.congestion {
                bail!(
                    "the two ends disagree on congestion control: sender {}, sink {}",
                    self.congestion,
                    s.congestion
                );
            }
        }
        for lane in &done {
            self.check_received(&lane.received)?;
        }
        let record = self.record(done.as_slice(), &sinks, residency, system_cpu);
        let buffers = Buffers {
            send: done[0].send_buffer,
            receive: sinks.first().map(|s| s.receive_buffer),
        };
        Ok((record, buffers))
    }

    /// A connection to the sink, with the run's congestion control set and read back.
    fn connect(&self) -> Result<TcpStream> {
        let stream =
            net::connect_with_congestion(self.addr, self.congestion).with_context(|| {
                format!(
                    "cannot connect to the sink at {} with congestion control {}",
                    self.addr, self.congestion
                )
            })?;
        let in_force = net::congestion(stream.as_fd())?;
        if in_force != self.congestion {
            bail!(
                "asked for congestion control {}, the socket reports {in_force}",
                self.congestion
            );
        }
        Ok(stream)
    }

    /// Several consumers at once: one sender thread per stream, each with its own probe,
    /// released together by a barrier. Also returns the machine's busy CPU time from the
    /// release to the last thread's end, which no single thread's probe covers: it is
    /// read once every thread has opened its probe (a first barrier), so the set-up of N
    /// probes is not in it.
    fn lanes_in_threads(
        &self,
        senders: &mut [Box<dyn Transfer + Send>],
        streams: Vec<TcpStream>,
    ) -> (Vec<Result<Lane>>, Option<Reading<Duration>>) {
        let ready = Barrier::new(senders.len() + 1);
        let start = Barrier::new(senders.len() + 1);
        let (pin, fixture) = (self.cfg.pin, self.fixture);
        let options = ProbeOptions {
            counters: self.cfg.counters,
            profile: self.cfg.profile,
        };
        thread::scope(|scope| {
            let handles: Vec<_> = senders
                .iter_mut()
                .zip(streams)
                .map(|(sender, stream)| {
                    let (ready, start) = (&ready, &start);
                    scope.spawn(move || {
                        // Opened in the thread it counts, outside the timed region.
                        let pinned = pin.map_or(Ok(()), |p| {
                            net::pin_current_thread(p.sender)
                                .with_context(|| format!("cannot pin a sender to CPU {}", p.sender))
                        });
                        let mut probe = Probe::open(&options);
                        ready.wait();
                        if let Err(e) = pinned {
                            start.wait();
                            return Err(e);
                        }
                        lane(fixture, &mut probe, sender.as_mut(), stream, Some(start))
                    })
                })
                .collect();
            ready.wait();
            let before = SystemCpu::now();
            start.wait();
            let lanes = handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow!("a sender thread panicked")))
                })
                .collect();
            let system = match (before, SystemCpu::now()) {
                (Ok(a), Ok(b)) => b
                    .since(&a)
                    .map_or_else(Reading::Unavailable, Reading::Value),
                (Err(e), _) | (_, Err(e)) => {
                    Reading::Unavailable(format!("cannot read the CPU idle counters: {e}"))
                }
            };
            (lanes, Some(system))
        })
    }

    /// Fails unless the sink got the whole log, intact when `--verify` asked for a check.
    fn check_received(&self, received: &SinkReport) -> Result<()> {
        let bytes = self.fixture.bytes();
        if received.bytes != bytes {
            bail!(
                "the sink received {} bytes, expected {bytes}",
                received.bytes
            );
        }
        if let Some(expected) = self.expected_checksum {
            match received.checksum {
                Some(got) if got == expected => {}
                Some(got) => bail!(
                    "--verify: the sink's CRC-32C is {got:#010x}, the fixture's {expected:#010x}"
                ),
                None => bail!(
                    "--verify: the sink did not checksum (start the remote `zc sink` with --verify)"
                ),
            }
        }
        Ok(())
    }

    /// One record for the run: the lanes summed, their wall times put on one time line.
    fn record(
        &self,
        lanes: &[Lane],
        sinks: &[InProcessSink],
        residency: Reading<f64>,
        system_cpu: Option<Reading<Duration>>,
    ) -> RunRecord {
        let consumers = lanes.len() as u64;
        let first = lanes.iter().map(|l| l.started).min().expect("a lane");
        let last = lanes.iter().map(|l| l.ended).max().expect("a lane");
        let others: Vec<Sample> = lanes[1..].iter().map(|l| l.sample.clone()).collect();
        let system_cpu = system_cpu.unwrap_or_else(|| lanes[0].sample.system_cpu.clone());
        let tally = lanes
            .iter()
            .skip(1)
            .fold(lanes[0].tally, |sum, l| sum.plus(&l.tally));
        let sink_cpu_ns = (!sinks.is_empty()).then(|| sinks.iter().map(|s| s.cpu_ns).sum());
        let sink_profile = measure::sum_profiles(
            sinks.iter().map(|s| &s.profile),
            "a remote sink is not sampled",
        );
        RunRecord {
            run: 0,
            consumers: consumers as u32,
            bytes: consumers * self.fixture.bytes(),
            chunks: consumers * self.fixture.chunks(lanes[0].chunk),
            sample: Sample::sum_of_threads(
                lanes[0].sample.clone(),
                others,
                last - first,
                system_cpu,
            ),
            tally,
            sink_cpu_ns,
            sink_profile,
            residency_before: residency,
            sender_cpu: lanes[0].cpu,
            sink_cpu_id: sinks.first().and_then(|s| s.cpu_id),
        }
    }
}

/// What one consumer's connection brought back from a run.
struct Lane {
    sample: Sample,
    /// When the timed region began and ended, to put concurrent lanes on one time line.
    /// (Not `started + sample.wall`: a thread can lose its CPU between reading the clock
    /// and the probe's own start, and the span of all lanes must cover that too.)
    started: Instant,
    ended: Instant,
    tally: Tally,
    chunk: usize,
    received: SinkReport,
    send_buffer: usize,
    /// The CPU the sender ran on at the end.
    cpu: Option<usize>,
}

/// One consumer's transfer, timed by `probe` (which must belong to the calling thread).
/// With `start`, waits there first so that concurrent lanes begin together.
fn lane(
    fixture: &Fixture,
    probe: &mut Probe,
    sender: &mut (dyn Transfer + Send),
    mut stream: TcpStream,
    start: Option<&Barrier>,
) -> Result<Lane> {
    sender.reset_tally();
    if let Some(barrier) = start {
        barrier.wait();
    }
    let started = Instant::now();
    probe.start().context("cannot start the probe")?;
    let sent = send_log(fixture, sender, &mut stream);
    let sample = probe.stop().context("cannot stop the probe")?;
    let ended = Instant::now();
    let cpu = net::current_cpu();
    let (send_buffer, _) = net::buffer_sizes(stream.as_fd())?;
    if sent.is_err() {
        // Unblock the sink before the caller waits for it.
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
    Ok(Lane {
        sample,
        started,
        ended,
        tally: *sender.tally(),
        chunk: sender.chunk(),
        received: sent?,
        send_buffer,
        cpu,
    })
}

/// The timed work: every segment in order, then the end-of-transfer handshake.
fn send_log(
    fixture: &Fixture,
    sender: &mut (dyn Transfer + Send),
    stream: &mut TcpStream,
) -> Result<SinkReport> {
    for seg in &fixture.segments {
        if let Err(e) = sender.send(&seg.file, 0, seg.len, stream.as_fd()) {
            bail!(
                "segment {}: {e}; whole log: sent {} of {} bytes",
                seg.path.display(),
                sender.tally().bytes_sent,
                fixture.bytes()
            );
        }
    }
    sink::finish(stream).context("the sink did not confirm the transfer")
}

/// The in-process sink for one connection, on its own thread (so the probe, which counts
/// only the sender thread, does not see it); it measures its own CPU time.
/// With `encrypted` it is a rustls client that decrypts everything (and so pays for it in
/// its CPU time, as a TLS consumer does).
fn spawn_sink(
    listener: TcpListener,
    cfg: &BenchConfig,
    chunk: usize,
    encrypted: bool,
) -> JoinHandle<io::Result<InProcessSink>> {
    let (kind, verify, pin, profile) = (cfg.sink, cfg.verify, cfg.pin, cfg.profile);
    thread::spawn(move || {
        if let Some(pin) = pin {
            net::pin_current_thread(pin.sink)?;
        }
        // The accepted socket inherits the listener's congestion control; read it back.
        let (mut stream, _) = listener.accept()?;
        let congestion = net::congestion(stream.as_fd())?;
        let mut sampler = if profile {
            ThreadSampler::open(measure::perf_event_paranoid().into_value())
        } else {
            Reading::unavailable("sampling turned off (--no-profile)")
        };
        let start = ThreadCpu::now()?;
        if let Reading::Value(s) = &mut sampler {
            s.enable()?;
        }
        let report = if encrypted {
            sink::drain_tls(&mut stream, verify, chunk)?
        } else {
            sink::drain(&mut stream, kind, verify, chunk)?
        };
        if let Reading::Value(s) = &mut sampler {
            s.disable()?;
        }
        let cpu = ThreadCpu::now()?.since(&start);
        let profile = match &mut sampler {
            Reading::Value(s) => Reading::Value(s.drain()),
            Reading::Unavailable(why) => Reading::Unavailable(why.clone()),
        };
        let (_, receive_buffer) = net::buffer_sizes(stream.as_fd())?;
        sink::write_trailer(&mut stream, &report)?;
        Ok(InProcessSink {
            cpu_ns: u64::try_from(cpu.total.as_nanos()).unwrap_or(u64::MAX),
            receive_buffer,
            congestion,
            cpu_id: net::current_cpu(),
            profile,
        })
    })
}

/// CRC-32C of the whole log, the figure `--verify` compares with the sink's.
fn checksum(fixture: &Fixture) -> Result<u32> {
    let mut crc = 0;
    read_all(fixture, |b| crc = crc32c::crc32c_append(crc, b))?;
    Ok(crc)
}

/// Reads every segment once (which also leaves it in the page cache for warm runs).
fn read_all(fixture: &Fixture, mut each: impl FnMut(&[u8])) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; 1 << 20];
    for seg in &fixture.segments {
        let mut at = 0;
        while at < seg.len {
            let n = seg
                .file
                .read_at(&mut buf, at)
                .with_context(|| format!("cannot read {}", seg.path.display()))?;
            if n == 0 {
                bail!("{} shrank while being read", seg.path.display());
            }
            each(&buf[..n]);
            at += n as u64;
        }
    }
    Ok(())
}

fn setup(
    cfg: &BenchConfig,
    fixture: &Fixture,
    combos: &[(Mode, usize)],
    congestion: &Congestion,
    probe: &Probe,
) -> Setup {
    let mut chunks: Vec<usize> = combos.iter().map(|&(_, c)| c).collect();
    chunks.sort_unstable();
    chunks.dedup();
    Setup {
        zc_version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: measure::environment(),
        counters: crate::bench::results::counters(probe.availability()),
        fixture: fixture.info.clone(),
        cache: cfg.cache,
        sink: cfg.sink,
        sink_location: cfg
            .connect
            .map_or(SinkPlace::InProcess, |address| SinkPlace::Remote {
                address,
            }),
        verify: cfg.verify,
        chunks,
        runs: cfg.runs,
        warmup: cfg.warmup,
        consumers: cfg.consumers,
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
    if loopback && net::is_pacing(&congestion.name) {
        w.push(Warning::PacingCongestion {
            algorithm: congestion.name.clone(),
            why_not_cubic: congestion.warning.clone(),
        });
    } else if let Some(reason) = &congestion.warning {
        w.push(Warning::CongestionFallback {
            reason: reason.clone(),
        });
    }
    if cfg.cache == CacheState::Cold {
        w.push(Warning::ColdCache);
    }
    if cfg.warmup == 0 {
        w.push(Warning::NoWarmup);
    }
    if cfg.verify {
        w.push(Warning::VerifyCopies);
    }
    w
}

fn row_warnings(row: &Row, cfg: &BenchConfig) -> Vec<Warning> {
    let mut w = Vec::new();
    let stat = |key| row.metric(key).and_then(|m| m.value.value());
    if cfg.cache == CacheState::Warm {
        if let Some(min) = stat(keys::RESIDENCY_BEFORE).map(|s| s.min)
            && min < 0.99
        {
            w.push(Warning::NotInPageCache {
                mode: row.mode,
                chunk: row.chunk,
                residency: min,
            });
        }
        // One log's size: with several consumers a run delivers it several times.
        let bytes = row
            .runs
            .first()
            .map_or(0, |r| r.bytes / u64::from(r.consumers.max(1))) as f64;
        if let Some(max) = stat(keys::STORAGE_READ_BYTES).map(|s| s.max)
            && max > 0.01 * bytes
        {
            w.push(Warning::StorageReads {
                mode: row.mode,
                chunk: row.chunk,
                bytes: max as u64,
            });
        }
    }
    if let Some(s) = stat(keys::THROUGHPUT)
        && s.runs > 1
        && s.spread() > NOISY_SPREAD
    {
        w.push(Warning::NoisyRuns {
            mode: row.mode,
            chunk: row.chunk,
            metric: keys::THROUGHPUT.into(),
            spread: s.spread(),
        });
    }
    w
}
