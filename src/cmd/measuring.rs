//! What `zc bench` and `zc bench write` do around their runner: refuse a bad `--export`
//! before measuring, show progress between runs, rewrite every export after each measured
//! run, then print the table and write the final exports.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::ProgressBar;

use crate::bench::rounds::Event;
use crate::error::UsageError;
use crate::progress;
use crate::report::export::{self, Exportable};

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

    /// What the runner said between two runs: the bar moves on after every run, and
    /// after a measured run every export is rewritten with the report so far. A failure
    /// to write is a warning here (the final write in [`Progress::finish`] is an error).
    pub(super) fn on(&self, event: Event<'_, impl Exportable>) {
        match event {
            Event::Progress { done, total } => {
                self.bar.set_length(u64::from(total));
                self.bar.set_position(u64::from(done));
            }
            Event::Measured(partial) => {
                for path in self.exports {
                    if let Err(e) = export::write(partial, path) {
                        self.bar.suspend(|| {
                            eprintln!("zc: warning: cannot write {}: {e:#}", path.display())
                        });
                    }
                }
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
