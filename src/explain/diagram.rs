//! Drawing the path of a chunk ([`super::path`]) for a terminal: time runs down the page,
//! user space is on the left, the kernel on the right, and every arrow that crosses the
//! `│` in the middle is a user<->kernel mode switch or a copy across the boundary.
//!
//! ```text
//!   USER SPACE (our program)            │ KERNEL and devices
//!            pread(file, buf, chunk) ─(1)─▶ [1] DMA  disk ──▶ page cache
//!               user buffer ◀─[2] CPU───┼── page cache
//! ```
//!
//! Two layouts, both from the same data: the diagram needs [`DIAGRAM_WIDTH`] columns; a
//! narrower terminal gets the same calls and steps as an indented list.

use super::paint::{Paint, Style};
use super::path::{Event, Every, Mover, Place, Step, events};
use crate::transfer::Mode;

/// Columns of user space, left of the boundary.
const USER: usize = 38;

/// The widest line the diagram draws; narrower terminals get the list layout.
pub const DIAGRAM_WIDTH: usize = 78;

/// The path of one chunk in `mode`, drawn for a terminal `width` columns wide.
pub fn draw(mode: Mode, width: usize, paint: &Paint) -> String {
    if width >= DIAGRAM_WIDTH {
        diagram(mode, paint)
    } else {
        list(mode, paint)
    }
}

/// A line made of styled pieces; its width counts characters, not colour codes.
#[derive(Default)]
struct Line(Vec<(String, Style)>);

impl Line {
    fn push(mut self, text: impl Into<String>, style: Style) -> Self {
        self.0.push((text.into(), style));
        self
    }

    fn plain(self, text: impl Into<String>) -> Self {
        self.push(text, Style::Plain)
    }

    fn width(&self) -> usize {
        self.0.iter().map(|(t, _)| t.chars().count()).sum()
    }

    /// Pads with spaces (on the left) so that the line so far ends at column `col`.
    fn right_align(self, col: usize) -> Self {
        let pad = col.saturating_sub(self.width());
        let mut pieces = vec![(" ".repeat(pad), Style::Plain)];
        pieces.extend(self.0);
        Line(pieces)
    }

    fn render(&self, paint: &Paint) -> String {
        let mut out: String = self.0.iter().map(|(t, s)| paint.paint(t, *s)).collect();
        out.push('\n');
        out
    }
}

fn mover_style(mover: Mover) -> Style {
    match mover {
        Mover::Dma => Style::Dma,
        Mover::Cpu => Style::Cpu,
        Mover::PageRefs => Style::Refs,
    }
}

/// `[2] CPU` with the mover coloured.
fn tag(n: usize, step: &Step) -> Line {
    Line::default().plain(format!("[{n}] ")).push(
        format!("{:<4}", step.mover.label()),
        mover_style(step.mover),
    )
}

fn diagram(mode: Mode, paint: &Paint) -> String {
    let mut lines = vec![
        Line::default()
            .push(
                format!("{:<USER$}", "  USER SPACE (our program)"),
                Style::Heading,
            )
            .plain("│ ")
            .push("KERNEL and devices", Style::Heading),
        Line::default().plain(format!("  {}┼{}", "─".repeat(USER - 2), "─".repeat(37))),
    ];
    let (mut switch, mut step_no) = (0, 0);
    // Headings only when some call is not per chunk; the first per-chunk call after others
    // says "then".
    let mixed = events(mode)
        .iter()
        .any(|e| matches!(e, Event::Call { every, .. } if *every != Every::Chunk));
    let mut last: Option<Every> = None;
    for event in events(mode) {
        let (call, every, steps, note) = match event {
            Event::Call {
                call,
                every,
                steps,
                note,
            } => (call, *every, steps, note),
            Event::Work { what, steps } => {
                // User-space work: no arrow into the kernel, no mode switch.
                lines.push(
                    Line::default()
                        .push(*what, Style::Call)
                        .right_align(USER)
                        .plain("│"),
                );
                for step in *steps {
                    step_no += 1;
                    lines.push(step_line(step_no, step));
                }
                continue;
            }
        };
        if mixed && last != Some(every) {
            let then = if every == Every::Chunk && last.is_some() {
                "then, "
            } else {
                ""
            };
            lines.push(Line::default().plain(format!("  {then}{}", every.heading())));
        }
        last = Some(every);
        switch += 1;
        // The call crosses into the kernel: one mode switch.
        lines.push(
            Line::default()
                .push(*call, Style::Call)
                .plain(" ─")
                .push(format!("({switch})"), Style::Switch)
                .plain("─▶")
                .right_align(USER)
                .plain("│"),
        );
        if let Some(note) = note {
            lines.push(
                Line::default()
                    .plain(format!("{:USER$}│ ", ""))
                    .plain(*note),
            );
        }
        for step in *steps {
            step_no += 1;
            lines.push(step_line(step_no, step));
            if step.sg_removes {
                lines.push(
                    Line::default()
                        .plain(format!("{:USER$}│      ", ""))
                        .push("with SG-DMA: refs, no copy", Style::Refs),
                );
            }
        }
        switch += 1;
        // The return to user space: the other mode switch of the call.
        lines.push(
            Line::default()
                .plain("return ◀─")
                .push(format!("({switch})"), Style::Switch)
                .plain("─")
                .right_align(USER)
                .plain("│"),
        );
    }
    lines.iter().map(|l| l.render(paint)).collect()
}

/// One step: inside the kernel, or across the boundary with the user place on the left.
fn step_line(n: usize, step: &Step) -> Line {
    match (step.from.user_space(), step.to.user_space()) {
        (false, false) => {
            let mut line = Line::default().plain(format!("{:USER$}│ ", ""));
            line.0.extend(tag(n, step).0);
            line.plain(format!(" {} ──▶ {}", step.from.name(), step.to.name()))
        }
        (false, true) => cross(n, step, step.to, step.from, true),
        (true, false) => cross(n, step, step.from, step.to, false),
        (true, true) => Line::default().plain(format!(
            "{:>USER$}│",
            format!("{} ──▶ {}", step.from.name(), step.to.name())
        )),
    }
}

/// A copy across the boundary: `user buffer ◀─[2] CPU───┼── page cache`.
fn cross(n: usize, step: &Step, user: Place, kernel: Place, inward: bool) -> Line {
    let mut line = Line::default().plain(format!(
        "{} {}",
        user.name(),
        if inward { "◀─" } else { "──" }
    ));
    line.0.extend(tag(n, step).0);
    let line = line.plain("──").right_align(USER);
    if inward {
        line.plain(format!("┼── {}", kernel.name()))
    } else {
        line.plain(format!("┼─▶ {}", kernel.name()))
    }
}

/// The narrow layout: the same calls and steps as an indented list.
fn list(mode: Mode, paint: &Paint) -> String {
    let mut lines = Vec::new();
    let (mut switch, mut step_no) = (0, 0);
    for event in events(mode) {
        let (call, every, steps, note) = match event {
            Event::Call {
                call,
                every,
                steps,
                note,
            } => (call, *every, steps, note),
            Event::Work { what, steps } => {
                lines.push(Line::default().plain("  ").push(*what, Style::Call));
                for step in *steps {
                    step_no += 1;
                    let mut line = Line::default().plain("   ");
                    line.0.extend(tag(step_no, step).0);
                    lines.push(line.plain(format!(" {} -> {}", step.from.name(), step.to.name())));
                }
                continue;
            }
        };
        switch += 1;
        lines.push(
            Line::default()
                .plain("  ")
                .push(format!("({switch})"), Style::Switch)
                .plain(" ")
                .push(*call, Style::Call),
        );
        if every != Every::Chunk {
            lines.push(
                Line::default().plain(format!("    ({})", every.heading().trim_end_matches(':'))),
            );
        }
        if let Some(note) = note {
            lines.push(Line::default().plain(format!("    {note}")));
        }
        for step in *steps {
            step_no += 1;
            let mut line = Line::default().plain("   ");
            line.0.extend(tag(step_no, step).0);
            lines.push(line.plain(format!(" {} -> {}", step.from.name(), step.to.name())));
        }
        switch += 1;
        lines.push(
            Line::default()
                .plain("  ")
                .push(format!("({switch})"), Style::Switch)
                .plain(" return to user space"),
        );
    }
    lines.iter().map(|l| l.render(paint)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagram_fits_its_width_and_list_fits_40_columns() {
        let paint = Paint::plain();
        for mode in Mode::ALL {
            for line in draw(mode, 80, &paint).lines() {
                assert!(line.chars().count() <= DIAGRAM_WIDTH, "{mode}: {line:?}");
            }
            for line in draw(mode, 40, &paint).lines() {
                assert!(line.chars().count() <= 40, "{mode}: {line:?}");
            }
        }
    }

    /// Every arrow meets the boundary in the same column, or the picture lies.
    #[test]
    fn the_boundary_is_one_straight_line() {
        for mode in Mode::ALL {
            let text = draw(mode, 80, &Paint::plain());
            for line in text.lines().filter(|l| l.contains(['│', '┼'])) {
                let col = line.chars().position(|c| c == '│' || c == '┼');
                assert_eq!(col, Some(USER), "{mode}: {line:?}");
            }
        }
    }

    #[test]
    fn read_write_crosses_the_boundary_twice_and_switches_four_times() {
        let text = draw(Mode::ReadWrite, 80, &Paint::plain());
        assert_eq!(text.matches('┼').count(), 1 + 2, "{text}"); // header rule + 2 copies
        for n in 1..=4 {
            assert!(text.contains(&format!("({n})")), "{text}");
        }
        assert!(!text.contains("(5)"), "{text}");
        assert!(text.contains("user buffer ◀─[2] CPU"), "{text}");
    }

    #[test]
    fn sendfile_never_enters_user_space() {
        let text = draw(Mode::Sendfile, 80, &Paint::plain());
        assert_eq!(text.matches('┼').count(), 1, "only the header rule: {text}");
        assert!(text.contains("with SG-DMA: refs"), "{text}");
    }
}
