//! `zc completions` and `zc man`: shell completions and man pages generated from the clap
//! definition in `cli.rs`, so they can never disagree with `--help`.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};

pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "zc", &mut out);
    super::print(&String::from_utf8(out).context("completion script is not UTF-8")?)
}

pub fn man(args: ManArgs, quiet: bool) -> Result<()> {
    match args.out_dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            super::print(&String::from_utf8(out).context("man page is not UTF-8")?)
        }
        Some(dir) => write_pages(&dir, quiet),
    }
}

/// zc.1 and one page per subcommand, into an existing directory.
fn write_pages(dir: &Path, quiet: bool) -> Result<()> {
    if !dir.is_dir() {
        return Err(crate::error::UsageError(format!(
            "--out-dir {}: not a directory; create it first",
            dir.display()
        ))
        .into());
    }
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
    if !quiet {
        eprintln!("wrote man pages into {}", dir.display());
    }
    Ok(())
}
