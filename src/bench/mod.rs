//! The benchmark: validated configuration, the runner that repeats transfers and returns
//! plain data, what the results show (`analysis`), the sink at the receiving end, and typed
//! warnings; [`write`] is the same
//! for the write path (`zc bench write`). Nothing here prints.

pub mod analysis;
pub mod config;
pub(crate) mod metrics;
pub mod results;
pub mod runner;
#[cfg(test)]
pub(crate) mod sample;
pub mod sink;
pub mod warnings;
pub mod write;
