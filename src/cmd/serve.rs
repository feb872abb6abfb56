//! `zc serve`: open (or make) a log directory, serve it to Kafka clients until Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::broker::config::{Limits, ServeConfig};
use crate::broker::fds;
use crate::broker::handlers::{Context, Log};
use crate::broker::server::{self, FetchPath};
use crate::broker::topics::Topics;
use crate::cli::serve::ServeArgs;
use crate::log::lock::DirLock;
use crate::log::partition::{self, LogConfig};
use crate::log::{fixture, index};
use crate::net::{self, PeerCongestion};

/// Set by SIGINT/SIGTERM; read by every server thread.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: the one kind of work that is safe inside a signal handler.
    STOP.store(true, SeqCst);
}

pub fn run(args: ServeArgs, quiet: bool) -> Result<()> {
    let cfg = ServeConfig {
        addr: args.addr,
        advertise: args.advertise,
        log_dir: args.log_dir,
        transfer: args.transfer,
        chunk: args.chunk,
        cc: args.cc,
        segment_bytes: args.segment_bytes,
        flush: args.flush,
        limits: Limits {
            max_connections: args.max_connections,
            max_connections_per_ip: args.max_connections_per_ip.unwrap_or(usize::MAX),
            max_request_bytes: args.max_request_bytes,
            max_queued_request_bytes: args.max_queued_request_bytes,
            idle_timeout: Duration::from_secs(args.idle_timeout),
        },
        auto_create: !args.no_auto_create,
        max_partitions: args.max_partitions,
        partitions: args.partitions,
        max_message_bytes: args.max_message_bytes,
        max_creations_per_request: args.max_creations_per_request,
        inspect: args.inspect,
        inspect_header: args.inspect_header,
    };
    cfg.validate()?;
    serve(&cfg, quiet)
}

fn serve(cfg: &ServeConfig, quiet: bool) -> Result<()> {
    let inspect = cfg.inspect_spec()?;
    let (fd_limit, _) = fds::raise_limit().context("cannot read the file descriptor limit")?;
    let congestion = PeerCongestion::resolve(&cfg.cc)?;
    // The loopback algorithm is set on the listener, before any connection exists, so
    // accepted sockets are born with it. Switching a socket away from bbr after it was
    // set up leaves bbr's pacing on (docs/how-zc-measures.md, "Congestion control is
    // chosen before the connection exists"); a remote client's socket is switched after accept, which is
    // harmless when it switches *to* bbr or keeps the listener's choice.
    let listener =
        net::listen_with_congestion(cfg.addr, &congestion.loopback.name).with_context(|| {
            format!(
                "cannot listen on {}: is another broker running there?",
                cfg.addr
            )
        })?;
    let bound = listener.local_addr()?;
    let advertised = cfg.advertised(bound)?;

    // Without --log-dir, a private copy of the default log: producing must not change
    // the cached original.
    let scratch;
    let log_dir: PathBuf = match &cfg.log_dir {
        Some(dir) => dir.clone(),
        None => {
            scratch = tempfile::Builder::new().prefix("zc-serve-").tempdir()?;
            copy_default_log(scratch.path(), quiet)?;
            scratch.path().to_owned()
        }
    };
    let config = LogConfig {
        segment_bytes: cfg.segment_bytes,
        index_interval_bytes: index::INDEX_INTERVAL_BYTES,
        flush: cfg.flush,
        max_message_bytes: cfg.max_message_bytes,
    };
    std::fs::create_dir_all(&log_dir)
        .with_context(|| format!("cannot create the log directory {}", log_dir.display()))?;
    // Held until the function returns, after the logs are closed.
    let _lock = DirLock::acquire(&log_dir)?;
    let limits = cfg.topic_limits();
    let (topics, recovered) = Topics::open(&log_dir, config, limits)?;
    let open = fds::open_count().unwrap_or(0);
    if open + limits.fd_reserve > fd_limit {
        eprintln!(
            "zc serve: warning: {open} of {fd_limit} file descriptors are open and \
             --max-connections {} may need {} more: connections past the limit will be \
             refused and no topic can be created. Raise the limit (ulimit -n, LimitNOFILE) \
             or lower --max-connections",
            cfg.limits.max_connections, limits.fd_reserve
        );
    }
    for (_, report) in recovered {
        // Lost data is always worth a line; the rest is for the curious.
        if report.lost_data() || !quiet {
            eprintln!("zc serve: opened {report}");
        }
    }

    install_signal_handlers()?;
    let shutdown = Arc::new(AtomicBool::new(false));
    let log: Log = Arc::new(|line| eprintln!("zc serve: {line}"));
    let ctx = Arc::new(Context::new(
        topics,
        advertised.clone(),
        cfg.auto_create,
        shutdown.clone(),
        log,
    )?);
    if !quiet {
        let names: Vec<String> = ctx.topics.all().into_iter().map(|(n, _)| n).collect();
        eprintln!(
            "zc serve: listening on {bound} (advertised as {}:{}), log {}, topics [{}], fetches sent with {}{}, TCP congestion control {}, up to {fd_limit} file descriptors; Ctrl-C to stop",
            advertised.0,
            advertised.1,
            log_dir.display(),
            names.join(", "),
            cfg.transfer,
            if cfg.inspect {
                ", every batch inspected"
            } else {
                ""
            },
            describe(&congestion, bound),
        );
    }
    for warning in [&congestion.loopback.warning, &congestion.remote.warning]
        .into_iter()
        .flatten()
    {
        eprintln!("zc serve: warning: --cc {}: {warning}", cfg.cc);
    }
    // The signal flag is a static; the server's flag is shared state it can own.
    let forward = {
        let shutdown = shutdown.clone();
        thread::spawn(move || {
            while !STOP.load(SeqCst) && !shutdown.load(SeqCst) {
                thread::sleep(Duration::from_millis(50));
            }
            shutdown.store(true, SeqCst);
        })
    };
    let header = inspect
        .as_ref()
        .map(|spec| spec.header.as_ref().map(|h| h.to_string()));
    let stats = (!quiet).then(|| spawn_stats(ctx.clone(), cfg.transfer.name(), header.clone()));
    let path = FetchPath {
        mode: cfg.transfer,
        chunk: cfg.chunk,
        inspect: inspect.clone().map(Arc::new),
        congestion,
    };
    let served = server::run(listener, ctx.clone(), path, cfg.limits.clone());
    shutdown.store(true, SeqCst);
    let _ = forward.join();
    if let Some(s) = stats {
        let _ = s.join();
    }
    served?;
    if let Some(header) = &header
        && !quiet
    {
        eprintln!(
            "zc serve: {} in all the fetches served",
            ctx.stats.snapshot().inspected(header.as_deref())
        );
    }
    match Arc::try_unwrap(ctx) {
        Ok(ctx) => ctx.topics.shutdown()?,
        Err(_) => bail!(
            "connections still hold the logs; they were not closed cleanly (the next start recovers them)"
        ),
    }
    if !quiet {
        eprintln!("zc serve: stopped; logs flushed and closed cleanly");
    }
    Ok(())
}

/// "cubic", or "cubic for loopback clients, bbr for the others" when they differ and
/// clients can come from elsewhere.
fn describe(cc: &PeerCongestion, bound: std::net::SocketAddr) -> String {
    if cc.loopback.name == cc.remote.name || bound.ip().is_loopback() {
        cc.loopback.name.clone()
    } else {
        format!(
            "{} for loopback clients, {} for the others",
            cc.loopback.name, cc.remote.name
        )
    }
}

fn install_signal_handlers() -> Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { sigaction(signal, &action) }.context("cannot install the signal handler")?;
    }
    Ok(())
}

/// Copies the partition directories of the default log (generated on first use) into `to`.
fn copy_default_log(to: &Path, quiet: bool) -> Result<()> {
    let found = fixture::default_fixture(&mut |_| {})?;
    if !quiet {
        eprintln!(
            "zc serve: serving a copy of the default log ({})",
            found.path.display()
        );
    }
    for part in partition::list_partitions(&found.path)? {
        let target = to.join(
            part.path
                .file_name()
                .expect("a partition directory has a name"),
        );
        std::fs::create_dir_all(&target)?;
        for entry in std::fs::read_dir(&part.path)? {
            let entry = entry?;
            std::fs::copy(entry.path(), target.join(entry.file_name()))
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Prints the live stats line once a second until shutdown; `inspect` as in
/// [`crate::broker::stats::Snapshot::line`].
fn spawn_stats(
    ctx: Arc<Context>,
    mode: &'static str,
    inspect: Option<Option<String>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut last = ctx.stats.snapshot();
        let mut at = Instant::now();
        while !ctx.shutdown.load(SeqCst) {
            thread::sleep(Duration::from_millis(100));
            if at.elapsed() < Duration::from_secs(1) {
                continue;
            }
            let now = ctx.stats.snapshot();
            let inspect = inspect.as_ref().map(|h| h.as_deref());
            if let Some(line) = now.line(&last, at.elapsed().as_secs_f64(), mode, inspect) {
                eprintln!("zc serve: {line}");
            }
            (last, at) = (now, Instant::now());
        }
    })
}
