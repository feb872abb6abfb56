//! `zc bench write`: check the arguments, run the write-path benchmark, print the table,
//! write the exports.

use anyhow::{Context, Result};

use crate::bench::write::WriteConfig;
use crate::bench::write::runner::{self, Event};
use crate::cli::BenchWriteArgs;
use crate::error::UsageError;
use crate::progress;
use crate::report::{export, write_table};

pub fn run(args: BenchWriteArgs, quiet: bool) -> Result<()> {
    let cfg = WriteConfig {
        ways: args.way.clone(),
        batches: args.batch.clone(),
        size: args.size,
        record_size: args.record_size,
        runs: args.runs,
        warmup: args.warmup,
        dir: args.dir.clone(),
        keep: args.keep,
        max_seconds: args.max_seconds,
        counters: !args.no_counters,
    };
    cfg.validate()?;
    // Refuse a bad export now, not after minutes of measuring.
    for path in &args.export {
        super::bench::check_export(path)?;
        if export::format_for(path) == Ok(export::Format::Svg) {
            return Err(UsageError(format!(
                "--export {}: {}",
                path.display(),
                write_table::NO_CHART
            ))
            .into());
        }
    }
    let bar = progress::count_bar("writing", quiet);
    let report = runner::run(&cfg, &mut |event| match event {
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

    super::print(&write_table::render(&report, None))?;
    for path in &args.export {
        export::write(&report, path).with_context(|| format!("cannot write {}", path.display()))?;
        if !quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    if cfg.keep {
        // Always said, even with --quiet: the user asked for files to be left behind.
        eprintln!(
            "kept the logs in {} (one <way>-b<batch>/bench-0/ per row; delete it when done)",
            report.setup.dir.display()
        );
    }
    Ok(())
}
