//! Rendering results for people and programs, one folder per report ([`send`] for
//! `zc bench`, [`write`](mod@write) for `zc bench write`) and in each one file per output format
//! (terminal, Markdown, CSV, chart). What the reports share sits here: the measured
//! tables ([`table`]), the provenance facts ([`provenance`]), the Markdown and CSV
//! building blocks, the JSON export and the atomic export writer. Nothing else in the
//! crate formats tables: comfy-table is used only here, plotters (the SVG chart) only in
//! `send::chart`.

pub mod csv;
pub mod export;
pub mod fixture;
pub mod grid;
pub mod json;
pub mod markdown;
pub mod provenance;
pub mod send;
pub mod table;
pub mod write;
