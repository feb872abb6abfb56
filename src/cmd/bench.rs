//! `zc bench`: find the fixture, run the benchmark, print the table, write the exports.

use std::io::Write;

use anyhow::{Context, Result};

use crate::bench::config::BenchConfig;
use crate::bench::results::FixtureInfo;
use crate::bench::runner::{self, Event, Fixture};
use crate::cli::BenchArgs;
use crate::log::fixture;
use crate::progress;
use crate::report::{bench_table, export};

pub fn run(args: BenchArgs, quiet: bool) -> Result<()> {
    let mut modes: Vec<_> = args.mode.iter().flat_map(|m| m.modes()).collect();
    modes.dedup();
    let mut chunks = args.chunk.clone();
    chunks.dedup();
    let cfg = BenchConfig {
        modes,
        chunks,
        runs: args.runs,
        warmup: args.warmup,
        cache: args.cache,
        sink: args.sink,
        connect: args.connect,
        verify: args.verify,
        cc: args.cc.clone(),
        pin: args.pin,
        counters: !args.no_counters,
    };
    cfg.validate()?;
    // Refuse a bad export name now, not after minutes of measuring.
    for path in &args.export {
        export::format_for(path).map_err(crate::error::UsageError)?;
    }

    let fixture = Fixture::load(fixture_info(args.fixture.as_deref(), quiet)?)?;
    let bar = progress::count_bar("measuring", quiet);
    let report = runner::run(&cfg, &fixture, &mut |event| match event {
        Event::Progress { done, total } => {
            bar.set_length(u64::from(total));
            bar.set_position(u64::from(done));
        }
        Event::Round(partial) => {
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

    let mut out = std::io::stdout().lock();
    out.write_all(bench_table::render(&report, None).as_bytes())?;
    for path in &args.export {
        export::write(&report, path).with_context(|| format!("cannot write {}", path.display()))?;
        if !quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// The fixture the user named, or the embedded default (generated on first use).
fn fixture_info(dir: Option<&std::path::Path>, quiet: bool) -> Result<FixtureInfo> {
    if let Some(dir) = dir {
        return Ok(FixtureInfo {
            path: dir.to_owned(),
            blake3: fixture::hash_log(dir)?,
            bytes: 0,
            segments: 0,
            default: false,
        });
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
    Ok(FixtureInfo {
        path: found.path,
        blake3: found.manifest.blake3,
        bytes: 0,
        segments: 0,
        default: true,
    })
}
