//! `zc bench`: find the fixture, run the benchmark, print the table, write the exports.

use std::path::Path;

use anyhow::{Context, Result};

use crate::bench::config::BenchConfig;
use crate::bench::runner::{self, Event, Fixture};
use crate::cli::{BenchArgs, BenchCommand};
use crate::error::UsageError;
use crate::log::fixture;
use crate::progress;
use crate::report::{bench_table, export};

pub fn run(args: BenchArgs, quiet: bool) -> Result<()> {
    if let Some(BenchCommand::Write(write)) = args.command {
        return super::bench_write::run(write, quiet);
    }
    let cfg = BenchConfig {
        modes: args.mode.iter().flat_map(|m| m.modes()).collect(),
        chunks: args.chunk.clone(),
        runs: args.runs,
        warmup: args.warmup,
        cache: args.cache,
        sink: args.sink,
        connect: args.connect,
        verify: args.verify,
        cc: args.cc.clone(),
        pin: args.pin,
        counters: !args.no_counters,
        consumers: args.consumers,
    };
    cfg.validate()?;
    // Refuse a bad export now, not after minutes of measuring.
    for path in &args.export {
        check_export(path)?;
    }

    let fixture = open_fixture(args.fixture.as_deref(), quiet)?;
    let bar = progress::count_bar("measuring", quiet);
    let report = runner::run(&cfg, &fixture, &mut |event| match event {
        Event::Progress { done, total } => {
            bar.set_length(u64::from(total));
            bar.set_position(u64::from(done));
        }
        Event::Measured(partial) => {
            for path in &args.export {
                if let Err(e) = export::write(partial, path) {
                    bar.suspend(|| {
                        eprintln!("zc: warning: cannot write {}: {e:#}", path.display())
                    });
                }
            }
        }
    })?;
    bar.finish_and_clear();

    super::print(&bench_table::render(&report, None))?;
    for path in &args.export {
        export::write(&report, path).with_context(|| format!("cannot write {}", path.display()))?;
        if !quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// An export path needs a known extension and an existing directory.
pub(super) fn check_export(path: &Path) -> Result<(), UsageError> {
    export::format_for(path).map_err(UsageError)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(UsageError(format!(
            "--export {}: directory {} does not exist; create it first",
            path.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// The fixture the user named, or the embedded default (generated on first use).
fn open_fixture(dir: Option<&Path>, quiet: bool) -> Result<Fixture> {
    if let Some(dir) = dir {
        return Fixture::open(dir, None);
    }
    let spec = fixture::default_spec();
    let bar = progress::bytes_bar(spec.estimated_bytes(), "default log (first use)", quiet);
    let found = fixture::default_fixture(&mut |b| bar.set_position(b))?;
    bar.finish_and_clear();
    if let Some(why) = &found.regenerated
        && !quiet
    {
        eprintln!(
            "zc: generated the default log in {} ({why})",
            found.path.display()
        );
    }
    Fixture::open(&found.path, Some(found.manifest.blake3))
}
