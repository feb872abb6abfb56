//! `zc bench write`: check the arguments, run the write-path benchmark, print the table,
//! write the exports.

use anyhow::Result;

use super::measuring::{Progress, check_export};
use crate::bench::write::config::WriteConfig;
use crate::bench::write::runner;
use crate::cli::bench::BenchWriteArgs;
use crate::error::UsageError;
use crate::report::{export, write};

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
        check_export(path)?;
        if matches!(
            export::format_for(path),
            Ok(export::Format::Svg | export::Format::FlameGraph | export::Format::Html)
        ) {
            return Err(
                UsageError(format!("--export {}: {}", path.display(), write::NO_CHART)).into(),
            );
        }
    }
    let progress = Progress::new("writing", &args.export, quiet);
    let report = runner::run(&cfg, &mut |event| progress.on(event))?;
    progress.finish(&report, &write::terminal::render(&report, None))?;
    if cfg.keep {
        // Always said, even with --quiet: the user asked for files to be left behind.
        eprintln!(
            "kept the logs in {} (one <way>-b<batch>/bench-0/ per row; delete it when done)",
            report.setup.dir.display()
        );
    }
    Ok(())
}
