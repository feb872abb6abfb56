//! The runner: repeat transfers of the whole log, bracket each with the probe, return data.
//!
//! What one run does (the timed region, several consumers) is in `run`; the log it sends
//! in `payload`; which warnings a set-up or a row calls for in `warnings`. This file sets the benchmark up (pinning, congestion control, the
//! in-process sink's listener, one sender per mode x chunk, the probe), runs it, and turns
//! the runs kept so far into a report after every run.
//!
//! Runs are *interleaved*: each round runs every mode x chunk once, in an order rotated
//! from round to round, so slow drift on the machine (other work, thermal, page cache
//! pressure) hits every mode alike instead of whichever ran last.

use std::cell::Cell;
use std::net::Ipv4Addr;

use anyhow::{Context, Result};

use super::config::BenchConfig;
use super::metrics;
use super::payload::{self, Fixture};
use super::results::{
    BenchReport, CacheState, Row, RowProfile, RunRecord, SCHEMA, Setup, SinkPlace,
};
use super::run::{Buffers, Run};
use super::warnings::{self, Warning};
use crate::bench::results::Metric;
use crate::bench::rounds;
use crate::measure::{self, Probe, ProbeOptions, Reading};
use crate::net::{self, Congestion};
use crate::transfer::{self, Mode};

/// What the runner tells its caller between runs (never inside one).
pub type Event<'a> = rounds::Event<'a, BenchReport>;

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
        Some(payload::checksum(fixture)?)
    } else {
        None
    };
    if cfg.cache == CacheState::Warm {
        payload::read_all(fixture, |_| {})?;
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
    let warnings = warnings::static_warnings(cfg, &congestion, &probe, peer_is_loopback);
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
    warnings.extend(rows.iter().flat_map(|r| warnings::row_warnings(r, cfg)));
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
