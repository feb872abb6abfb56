//! One run: a transfer of the whole log to every consumer, bracketed by the probes.
//!
//! A run sends every segment of the fixture, in offset order, over one fresh TCP
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
//! The in-process sink runs on threads of its own, so the sender's probe does not count
//! it; it measures its own CPU time.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Barrier;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use super::config::BenchConfig;
use super::payload::Fixture;
use super::results::{CacheState, RunRecord};
use super::sink::{self, SinkReport};
use crate::measure::{
    self, Probe, ProbeOptions, Reading, Sample, SystemCpu, ThreadCpu, ThreadProfile, ThreadSampler,
};
use crate::net;
use crate::transfer::{Tally, Transfer};

/// What the in-process sink thread saw of its connection.
struct InProcessSink {
    cpu_ns: u64,
    receive_buffer: usize,
    congestion: String,
    cpu_id: Option<usize>,
    profile: Reading<ThreadProfile>,
}

/// The socket buffer sizes the kernel had grown to by the end of a run.
#[derive(Clone, Copy)]
pub(super) struct Buffers {
    pub(super) send: usize,
    /// Known only for the in-process sink.
    pub(super) receive: Option<usize>,
}

/// The fixed ingredients of every run.
pub(super) struct Run<'a> {
    pub(super) cfg: &'a BenchConfig,
    pub(super) congestion: &'a str,
    pub(super) listener: Option<&'a TcpListener>,
    pub(super) addr: SocketAddr,
    pub(super) fixture: &'a Fixture,
    pub(super) expected_checksum: Option<u32>,
}

impl Run<'_> {
    /// One transfer of the whole log to every consumer, bracketed by the probes. Returns
    /// the record (with `run` still 0) and the socket buffer sizes at the end.
    ///
    /// One consumer: the calling thread sends, counted by the runner's `probe`. Several:
    /// each consumer gets its own sender thread with its own probe (a probe counts only
    /// the thread that opened it), they start together at a barrier, and the record sums
    /// what every thread counted (see [`Sample::sum_of_threads`]).
    pub(super) fn once(
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
