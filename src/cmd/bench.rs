//! `zc bench`: find the fixture, run the benchmark, print the table, write the exports.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::ProgressBar;

use crate::bench::config::BenchConfig;
use crate::bench::runner::{self, Event, Fixture};
use crate::cli::{BenchArgs, BenchCommand};
use crate::error::UsageError;
use crate::log::fixture;
use crate::progress;
use crate::report::export::{self, Exportable};
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
    }

    let fixture = open_fixture(args.fixture.as_deref(), quiet)?;
    let progress = Progress::new("measuring", &args.export, quiet);
    let report = runner::run(&cfg, &fixture, &mut |event| match event {
        Event::Progress { done, total } => progress.ran(done, total),
        Event::Measured(partial) => progress.measured(partial),
    })?;
    progress.finish(&report, &terminal::render(&report, None))
}

/// What `zc bench` and `zc bench write` do around their runner: a progress bar between
/// runs, every `--export` rewritten after each measured run (so a crash or a Ctrl-C
/// still leaves the rounds that finished), then the table and the final exports.
pub(super) struct Progress<'a> {
    bar: ProgressBar,
    exports: &'a [PathBuf],
    quiet: bool,
}

impl<'a> Progress<'a> {
    pub(super) fn new(message: &str, exports: &'a [PathBuf], quiet: bool) -> Self {
        Progress {
            bar: progress::count_bar(message, quiet),
            exports,
            quiet,
        }
    }

    /// `done` of `total` runs finished, warm-ups included.
    pub(super) fn ran(&self, done: u32, total: u32) {
        self.bar.set_length(u64::from(total));
        self.bar.set_position(u64::from(done));
    }

    /// A measured run finished: rewrite every export with the report so far. A failure
    /// is a warning here (the final write below reports it as an error).
    pub(super) fn measured(&self, partial: &impl Exportable) {
        for path in self.exports {
            if let Err(e) = export::write(partial, path) {
                self.bar
                    .suspend(|| eprintln!("zc: warning: cannot write {}: {e:#}", path.display()));
            }
        }
    }

    /// Clears the bar, prints `table`, writes the final `report` to every export.
    pub(super) fn finish(self, report: &impl Exportable, table: &str) -> Result<()> {
        self.bar.finish_and_clear();
        super::print(table)?;
        for path in self.exports {
            export::write(report, path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            if !self.quiet {
                eprintln!("wrote {}", path.display());
            }
        }
        Ok(())
    }
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
