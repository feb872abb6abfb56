//! One function per subcommand: turn parsed arguments into library calls and print the
//! result. This is the only layer (with `report`) that writes to stdout and stderr.

mod bench;
mod fixture;
mod sink;

use anyhow::Result;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Bench(args) => bench::run(args, cli.quiet),
        Command::Sink(args) => sink::run(args, cli.quiet),
        Command::Fixture(cmd) => fixture::run(cmd, cli.quiet),
    }
}
