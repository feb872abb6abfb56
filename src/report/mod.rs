//! Rendering results for people and programs. Nothing else in the crate formats tables;
//! comfy-table is used only here, and plotters
//! (the SVG chart) only in `chart`.

pub mod bench_table;
pub mod chart;
pub mod csv;
pub mod export;
pub mod fixture;
pub mod json;
pub mod markdown;
pub mod write_table;
