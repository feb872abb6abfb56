//! `zc fixture gen | verify | info`.

use std::time::Instant;

use anyhow::{Result, bail};

use crate::cli::fixture::{FixtureCommand, GenArgs, InfoArgs};
use crate::log::check::{self, LogReport};
use crate::log::fixture::{self, Amount, GenSpec};
use crate::progress;
use crate::report;
use crate::units::format_size;

/// How many problems `verify` lists before summarising the rest.
const MAX_LISTED_PROBLEMS: usize = 50;

pub fn run(cmd: FixtureCommand, quiet: bool) -> Result<()> {
    match cmd {
        FixtureCommand::Gen(args) => gen_log(&args, quiet),
        FixtureCommand::Verify(args) => {
            let report = checked(&args.dir, false)?;
            super::print(&format!(
                "ok: {}: {} segments, {} batches, {} records, {}; every CRC, offset and index entry checks out\n",
                args.dir.display(),
                report.segments.len(),
                report.batches(),
                report.records(),
                format_size(report.bytes())
            ))
        }
        FixtureCommand::Info(InfoArgs { target, batches }) => {
            let report = checked(&target.dir, batches)?;
            let mut text = report::fixture::segments_table(&report);
            if batches {
                text.push_str(&report::fixture::batches_table(&report));
            }
            super::print(&text)
        }
    }
}

fn gen_log(args: &GenArgs, quiet: bool) -> Result<()> {
    let spec = GenSpec {
        topic: args.topic.clone(),
        partitions: args.partitions,
        amount: args
            .records
            .map_or(Amount::Bytes(args.size), Amount::Records),
        value_size: usize::try_from(args.value_size)?,
        key_size: usize::try_from(args.key_size)?,
        records_per_batch: args.records_per_batch,
        segment_bytes: args.segment_bytes,
        seed: args.seed,
    };
    spec.validate()?;
    let bar = progress::bytes_bar(spec.estimated_bytes(), "generating", quiet);
    let started = Instant::now();
    let manifest = fixture::generate(&spec, &args.out, args.force, &mut |b| bar.set_position(b))?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    super::print(&format!(
        "wrote {}: {} records, {} of .log in {:.2} s ({:.0} MiB/s), blake3 {}\n",
        args.out.display(),
        manifest.records,
        format_size(manifest.bytes),
        secs,
        manifest.bytes as f64 / (1 << 20) as f64 / secs,
        manifest.blake3
    ))
}

/// Inspects a log and turns any problem into an error that lists them all.
fn checked(dir: &std::path::Path, batches: bool) -> Result<LogReport> {
    let report = check::check_log(dir, batches)?;
    if report.problems.is_empty() {
        return Ok(report);
    }
    let mut msg = format!("{} problem(s) in {}:", report.problems.len(), dir.display());
    for p in report.problems.iter().take(MAX_LISTED_PROBLEMS) {
        msg.push_str(&format!("\n  {p}"));
    }
    if report.problems.len() > MAX_LISTED_PROBLEMS {
        msg.push_str(&format!(
            "\n  ... and {} more",
            report.problems.len() - MAX_LISTED_PROBLEMS
        ));
    }
    bail!(msg)
}
