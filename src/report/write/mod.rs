//! The report of `zc bench write`, one file per output format: the terminal tables, the
//! Markdown and CSV exports; JSON is [`crate::report::json`]'s. No chart: charts are for
//! `zc bench`.

pub mod csv;
pub mod markdown;
pub mod terminal;

use super::export::{Exportable, Format};
use crate::bench::write::results::WriteReport;

impl Exportable for WriteReport {
    fn render(&self, format: Format) -> anyhow::Result<Vec<u8>> {
        Ok(match format {
            Format::Json => super::json::render_any(self),
            Format::Csv => csv::render(self),
            Format::Markdown => markdown::render(self),
            Format::Svg | Format::FlameGraph | Format::Html => anyhow::bail!("{}", NO_CHART),
        })
    }
}

/// Why `zc bench write --export x.svg` is refused (before any run, and here as a backstop).
pub const NO_CHART: &str = "zc bench write draws no chart, flame graph or HTML page (those are for \
     zc bench); export .json, .csv or .md";
