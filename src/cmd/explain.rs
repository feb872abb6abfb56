//! `zc explain`: load the results file (if any), draw everything in memory, print it once.

use anyhow::Result;

use crate::cli::ExplainArgs;
use crate::explain::{self, Request, paint::Paint, results};

pub fn run(args: ExplainArgs) -> Result<()> {
    // A bad file fails here, before a single line is printed.
    let results = args.results.as_deref().map(results::load).transpose()?;
    let text = explain::render(&Request {
        modes: args.mode.modes(),
        results: results.as_ref(),
        width: terminal_width(),
        paint: Paint::for_stdout(),
    });
    super::print(&text)
}

/// The width to draw for: the terminal's, else `$COLUMNS`, else 80; never below 40 (the
/// narrowest layout) nor above 100 (long lines are hard to read on a projector).
fn terminal_width() -> usize {
    let tty = {
        // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we pass; it is valid and
        // ours for the duration of the call.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
        (ok && ws.ws_col > 0).then_some(usize::from(ws.ws_col))
    };
    let env = || std::env::var("COLUMNS").ok()?.trim().parse::<usize>().ok();
    tty.or_else(env).unwrap_or(80).clamp(40, 100)
}
