//! Colour for the terminal, or none. Colour helps a projected terminal (DMA green, CPU copies
//! red, mode switches yellow), but it must never reach a file or a pipe as escape codes, and
//! anyone may turn it off with `NO_COLOR` (<https://no-color.org>): the caller decides once,
//! with [`Paint::for_stdout`], and everything else asks this value.

use std::io::IsTerminal;

/// What a piece of text is, so that it can be coloured by meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    Heading,
    /// A syscall the program makes.
    Call,
    /// A user<->kernel mode switch.
    Switch,
    Dma,
    Cpu,
    Refs,
    /// Measured on a machine, as opposed to the model.
    Measured,
}

/// Paints text with ANSI colours, or leaves it plain.
#[derive(Clone, Copy, Debug)]
pub struct Paint {
    color: bool,
}

impl Paint {
    /// No colour: for files, pipes and tests.
    pub fn plain() -> Paint {
        Paint { color: false }
    }

    /// Colour whatever the output is (for tests and for `--color` style overrides).
    pub fn colored() -> Paint {
        Paint { color: true }
    }

    /// Colour only when stdout is a terminal and `NO_COLOR` is unset or empty.
    pub fn for_stdout() -> Paint {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Paint {
            color: !no_color && std::io::stdout().is_terminal(),
        }
    }

    pub fn paint(&self, text: &str, style: Style) -> String {
        let code = match style {
            Style::Plain => None,
            Style::Heading => Some("1"),
            Style::Call => Some("1;36"),
            Style::Switch => Some("33"),
            Style::Dma => Some("32"),
            Style::Cpu => Some("1;31"),
            Style::Refs => Some("35"),
            Style::Measured => Some("1;34"),
        };
        match code {
            Some(code) if self.color && !text.is_empty() => format!("\x1b[{code}m{text}\x1b[0m"),
            _ => text.to_owned(),
        }
    }
}
