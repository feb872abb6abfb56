//! `zc bench`: send a Kafka log from a file to a TCP socket with each transfer mode, and
//! measure each with the kernel's own counters. `config` holds the validated settings,
//! `payload` the log every run sends, `runner` the transfers (in [`crate::bench::rounds`]'
//! interleaved rounds), `run` one of them, `sink` the receiving end, `metrics` turns runs
//! into figures, `results` holds them, `warnings` says what may have gone wrong with a
//! measurement, `analysis` what the figures show, and `crate::report::send` renders them.
//! Nothing here prints.

pub mod analysis;
pub mod config;
mod metrics;
pub mod payload;
pub mod results;
mod run;
pub mod runner;
#[cfg(test)]
pub(crate) mod sample;
pub mod sink;
pub mod warnings;
