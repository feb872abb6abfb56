//! The report of `zc bench`, one file per output format: the terminal tables, the Markdown
//! and CSV exports, the SVG chart, the flame graph and the self-contained HTML page; JSON is
//! [`crate::report::json`]'s.

pub mod chart;
pub mod csv;
pub mod flame;
pub mod html;
pub mod markdown;
pub mod terminal;

use super::export::{Exportable, Format};
use crate::bench::send::results::BenchReport;

impl Exportable for BenchReport {
    fn render(&self, format: Format) -> anyhow::Result<Vec<u8>> {
        Ok(match format {
            Format::Json => super::json::render(self),
            Format::Csv => csv::render(self),
            Format::Markdown => markdown::render(self),
            Format::Svg => chart::render(self)?,
            Format::FlameGraph => flame::render(self)?,
            Format::Html => html::render(self)?,
        })
    }
}
