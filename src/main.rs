//! The `zc` binary: parse the command line, run the subcommand, map errors to exit codes
//! (1: the work failed; 2: the command line asked for something impossible).

use std::process::ExitCode;

use clap::Parser;
use zc::cli::Cli;
use zc::error::UsageError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match zc::cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("zc: error: {err:#}");
            if err.chain().any(|e| e.is::<UsageError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
