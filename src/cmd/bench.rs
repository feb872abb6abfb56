//! `zc bench`: find the fixture, run the benchmark, print the table, write the exports.

use std::path::Path;

use anyhow::Result;

use super::measuring::{Progress, check_export};
use crate::bench::send::config::BenchConfig;
use crate::bench::send::payload::Fixture;
use crate::bench::send::runner;
use crate::cli::bench::{BenchArgs, BenchCommand};
use crate::error::UsageError;
use crate::log::fixture;
use crate::progress;
use crate::report::export;
use crate::report::send::terminal;

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
        profile: !args.no_profile,
        consumers: args.consumers,
    };
    cfg.validate()?;
    // Refuse a bad export now, not after minutes of measuring.
    for path in &args.export {
        check_export(path)?;
        if args.no_profile && export::format_for(path) == Ok(export::Format::FlameGraph) {
            return Err(UsageError(format!(
                "--export {}: a flame graph is drawn from the sampled call chains, and \
                 --no-profile turns sampling off; drop one of the two",
                path.display()
            ))
            .into());
        }
    }

    let fixture = open_fixture(args.fixture.as_deref(), quiet)?;
    let progress = Progress::new("measuring", &args.export, quiet);
    let report = runner::run(&cfg, &fixture, &mut |event| progress.on(event))?;
    progress.finish(&report, &terminal::render(&report, None))
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
