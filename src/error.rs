//! The one error type that changes the exit code.
//!
//! zc exits 0 on success, 1 when the work failed (a corrupt log, a vanished sink, an I/O
//! error) and 2 when the command line asked for something impossible, like clap's own
//! argument errors. Code that detects a bad argument returns a [`UsageError`]; `main`
//! finds it in the error chain and picks exit code 2.

use std::fmt;

/// A request that cannot be carried out as given; the message names the argument, the
/// allowed values and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
