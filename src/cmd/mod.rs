//! One function per subcommand: turn parsed arguments into library calls and print the
//! result. This is the only layer (with `report`) that writes to stdout and stderr.

mod bench;
mod bench_write;
mod consume;
mod explain;
mod fixture;
mod groups;
mod measuring;
mod produce;
mod reference;
mod serve;
mod sink;
mod topics;

use std::io::Write;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Writes command output to stdout. A closed pipe (`zc fixture info ... | head`) is the
/// reader saying it has enough, not an error.
fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Bench(args) => bench::run(args, cli.quiet),
        Command::Serve(args) => serve::run(args, cli.quiet),
        Command::Sink(args) => sink::run(args, cli.quiet),
        Command::Fixture(cmd) => fixture::run(cmd, cli.quiet),
        Command::Produce(args) => produce::run(args, cli.quiet),
        Command::Consume(args) => consume::run(args, cli.quiet),
        Command::Topics(cmd) => topics::run(cmd),
        Command::Groups(cmd) => groups::run(cmd),
        Command::Explain(args) => explain::run(args),
        Command::Completions(args) => reference::completions(args),
        Command::Man(args) => reference::man(args, cli.quiet),
    }
}
