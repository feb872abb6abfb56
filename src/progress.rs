//! Progress bars on stderr that stay out of the way.
//!
//! A bar redraws itself from a timer; during a measured transfer those redraws would show
//! up in the very counters being read. So bars are only shown around untimed work, only
//! when stderr is a terminal, and never with `--quiet`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A byte-counting bar of `total` bytes, hidden when `quiet` or stderr is not a terminal.
pub fn bytes_bar(total: u64, message: &str, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), target(quiet));
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_message(message.to_owned());
    bar
}

/// A bar counting steps (runs), with the length set once known.
pub fn count_bar(message: &str, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target(quiet));
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} runs, eta {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(message.to_owned());
    bar
}

fn target(quiet: bool) -> ProgressDrawTarget {
    if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    }
}
